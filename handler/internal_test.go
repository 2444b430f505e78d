package handler

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestValidKeyRefusesShortKeysOnItsOwn: a key shorter than MinAPIKeyLength
// never lets a request in, even if the configuration check were skipped.
func TestValidKeyRefusesShortKeysOnItsOwn(t *testing.T) {
	h := &Handler{cfg: Config{HTTPAPIKeys: []string{"short", "k234567890123456"}}}
	assert.False(t, h.validKey("short"))
	assert.True(t, h.configuredShortKey("short"))
	assert.True(t, h.validKey("k234567890123456"))
	assert.False(t, h.configuredShortKey("k234567890123456"))
	assert.False(t, h.validKey("k23456789012345"))
}
