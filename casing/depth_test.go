package casing_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/casing"
)

// TestDepthLimitOfObjects (issue 16, promises): objects count toward
// MaxDepth as arrays do, alone and mixed with arrays; one level more is a
// SyntaxError naming the limit, not a deeper recursion.
func TestDepthLimitOfObjects(t *testing.T) {
	objects := func(n int) string { return strings.Repeat(`{"a_b":`, n) + "1" + strings.Repeat("}", n) }
	mixed := func(n int) string {
		return strings.Repeat(`[{"a_b":`, n/2) + "1" + strings.Repeat("}]", n/2)
	}
	for name, doc := range map[string]func(int) string{"objects": objects, "mixed": mixed} {
		out, err := casing.Camel([]byte(doc(casing.MaxDepth)))
		require.NoError(t, err, name)
		assert.Contains(t, string(out), `"aB":`, name)
		_, err = casing.Camel([]byte(doc(casing.MaxDepth + 2)))
		var se *casing.SyntaxError
		require.ErrorAs(t, err, &se, name)
		assert.ErrorContains(t, err, "nesting deeper than 1000", name)
	}
}
