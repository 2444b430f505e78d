package cloudcall

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// FuzzIsHostEnvID: isHostEnvID agrees with the pattern it replaces,
// ^[a-z0-9_-]{1,40}$, on any string; the seeds are its edges.
func FuzzIsHostEnvID(f *testing.F) {
	pattern := regexp.MustCompile(`^[a-z0-9_-]{1,40}$`)
	for _, s := range []string{"", "a", "prod-1a2b3c", "test_env", strings.Repeat("a", 40), strings.Repeat("a", 41), "Prod",
		"prod.1", "prod\n", "a b", "环境", "-", "_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		assert.Equal(t, pattern.MatchString(s), isHostEnvID(s), "%q", s)
	})
}
