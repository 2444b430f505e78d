package cloudcall

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
)

// TestWireAsProtowire: the hand-written encoding is protowire's, varints of
// every length and fields longer than 127 bytes included.
func TestWireAsProtowire(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 255, 300, 16383, 16384, 1 << 21, 1<<28 - 1, 1 << 35, 1 << 56, math.MaxInt64, math.MaxUint64} {
		assert.Equal(t, protowire.AppendVarint([]byte{9}, v), appendVarint([]byte{9}, v), "varint %d", v)
	}
	for _, num := range []uint64{1, 2, 15, 16, 2047, 2048, 1<<29 - 1} {
		assert.Equal(t, protowire.AppendTag(nil, protowire.Number(num), protowire.BytesType), appendTag(nil, num, wireBytes), "tag %d", num)
		assert.Equal(t, protowire.AppendTag(nil, protowire.Number(num), protowire.VarintType), appendTag(nil, num, wireVarint), "tag %d", num)
	}
	for _, n := range []int{0, 1, 127, 128, 20000} {
		s := strings.Repeat("x", n)
		assert.Equal(t, protowire.AppendString([]byte{7}, s), appendString([]byte{7}, s), "string of %d", n)
		assert.Equal(t, protowire.AppendBytes([]byte{7}, []byte(s)), appendBytes([]byte{7}, []byte(s)), "bytes of %d", n)
	}
}

// TestCommAPIDataAsProtowire: CommApiData for data with long keys and
// values, built with protowire, is commAPIData's.
func TestCommAPIDataAsProtowire(t *testing.T) {
	long := strings.Repeat("v", 300)
	pb, err := commAPIData([]byte(`{"begin_date":"20170306","page":{"k":"` + long + `"},"` + strings.Repeat("k", 200) + `":1}`))
	require.NoError(t, err)
	pair := func(k, v string) []byte {
		b := protowire.AppendTag(nil, 1, protowire.BytesType)
		b = protowire.AppendString(b, k)
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		return protowire.AppendString(b, v)
	}
	var pairs []byte
	for _, p := range [][2]string{{"begin_date", `"20170306"`}, {"page", `{"k":"` + long + `"}`}, {strings.Repeat("k", 200), "1"}} {
		pairs = protowire.AppendTag(pairs, 1, protowire.BytesType)
		pairs = protowire.AppendBytes(pairs, pair(p[0], p[1]))
	}
	want := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 0)
	want = protowire.AppendBytes(protowire.AppendTag(want, 2, protowire.BytesType), pairs)
	assert.Equal(t, want, pb)
}
