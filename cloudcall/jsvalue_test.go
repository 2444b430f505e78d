package cloudcall

import (
	"bytes"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestJSNumberString: JavaScript's String(n), the expected values printed by Node.js 20.
func TestJSNumberString(t *testing.T) {
	for _, tt := range []struct {
		f    float64
		want string
	}{
		{1e21, "1e+21"}, {1.5, "1.5"}, {0.000001, "0.000001"}, {1e-7, "1e-7"},
		{123456789012345680000, "123456789012345680000"}, {math.Copysign(0, -1), "0"}, {5e-324, "5e-324"},
		{1.7976931348623157e308, "1.7976931348623157e+308"}, {0.30000000000000004, "0.30000000000000004"}, {100, "100"},
		{1e20, "100000000000000000000"}, {123e-20, "1.23e-18"}, {-1.25e-10, "-1.25e-10"}, {4294967295, "4294967295"},
		{math.Inf(1), "Infinity"}, {math.NaN(), "NaN"},
	} {
		assert.Equal(t, tt.want, jsNumberString(tt.f), "%v", tt.f)
	}
}

// TestWriteBigint: request values as json-bigint writes them; integers beyond 2^53
// keep their digits.
func TestWriteBigint(t *testing.T) {
	for in, want := range map[string]string{
		`{ "b" : [1.0, -0, 1E2, 12345678901234567890, 1e400], "a": "\u00e9\u2028\u0085\/" }`: `{"b":[1,0,100,12345678901234567890,null],"a":"é\u2028\u0085/"}`,
		`{"k":1,"k":2,"0":0}`: `{"0":0,"k":2}`,
	} {
		v, err := parseJS([]byte(in))
		assert.NoError(t, err)
		var b bytes.Buffer
		writeBigint(&b, v)
		assert.Equal(t, want, b.String(), in)
	}
}
