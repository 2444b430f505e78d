package openapi_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/wxanalysis/wxanalysis/openapi"
)

// TestExcerpt: a value echoed in a message is quoted, and at most n runes
// and 2n bytes of it, whatever quoting makes of them.
func TestExcerpt(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"getFoo", `"getFoo"`},
		{"", `""`},
		{strings.Repeat("a", 10), `"aaaaaaaaaa"`},
		{strings.Repeat("a", 11), `"aaaaaaaaaa"…`},
		{"周报周报周报", `"周报周报周报"`},                                 // 18 bytes: within 20
		{"周报周报周报周报", `"周报周报周报"…`},                              // 24 bytes: over
		{strings.Repeat("\u2028", 5), `"\u2028\u2028\u2028"…`}, // 6 bytes each once quoted
		{"\xc1\xc1\xc1\xc1\xc1\xc1", `"\xc1\xc1\xc1\xc1\xc1"…`},
		{`a"b`, `"a\"b"`},
	} {
		got := openapi.Excerpt(tc.in, 10)
		assert.Equal(t, tc.want, got, "%q", tc.in)
		assert.LessOrEqual(t, len(strings.TrimSuffix(got, "…")), 2*10+2, "%q", tc.in)
	}
}
