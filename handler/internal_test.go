package handler

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/wxanalysis/wxanalysis/openapi"
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

// TestSyncSinceDefault: without SYNC_SINCE a sync starts 90 days before
// today, China Standard Time; with it, on its day.
func TestSyncSinceDefault(t *testing.T) {
	now := time.Date(2024, 3, 1, 1, 0, 0, 0, time.UTC) // 09:00 on 1 March in China
	h := &Handler{}
	assert.Equal(t, time.Date(2023, 12, 2, 0, 0, 0, 0, openapi.CST), h.syncSince(now))
	h.cfg.SyncSince = "20240115"
	assert.Equal(t, time.Date(2024, 1, 15, 0, 0, 0, 0, openapi.CST), h.syncSince(now))
}
