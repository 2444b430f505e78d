package handler

import (
	"regexp"
	"strings"
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

// FuzzIsAppID: isAppID agrees with the pattern it replaces,
// ^wx[0-9A-Za-z]{8,30}$, on any string; the seeds are its edges.
func FuzzIsAppID(f *testing.F) {
	pattern := regexp.MustCompile(`^wx[0-9A-Za-z]{8,30}$`)
	for _, s := range []string{"", "wx", "wx1234567", "wx12345678", "wxabcdefgh", "wxABCDEFGH", "wx" + strings.Repeat("a", 30),
		"wx" + strings.Repeat("a", 31), "Wx12345678", "wx1234567_", "wx1234567\n", "wx12345678\n", "wx1234567é", " wx12345678"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		assert.Equal(t, pattern.MatchString(s), isAppID(s), "%q", s)
	})
}
