package resp

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSlot(t *testing.T) {
	// CRC-16/XMODEM's check value, and the examples of the cluster spec.
	assert.Equal(t, 0x31C3%Slots, Slot("123456789"))
	for _, tc := range []struct{ a, b string }{
		{"{user1000}.following", "{user1000}.followers"},
		{"wxa:v2:force:{wx1}:20240310", "wxa:v2:force:{wx1}:gap"},
		{"p{x}wxa:v2:force:{wx1}:20240310", "p{x}wxa:v2:force:{wx1}:gap"},
		{"foo{}{bar}", "foo{}{bar}"},
	} {
		assert.Equal(t, Slot(tc.a), Slot(tc.b), tc.a)
	}
	assert.Equal(t, Slot("user1000"), Slot("{user1000}.x"), "the tag alone is hashed")
	assert.Equal(t, Slot("{}x"), int(crc16("{}x"))%Slots, "an empty tag: the whole key")
}
