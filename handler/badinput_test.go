package handler_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/handler"
	"github.com/wxanalysis/wxanalysis/internal/badinput"
)

// TestBadInputCorpus runs every malformed event of testdata/badinput
// through the handler: each gets its errCode and a clear message, and none
// reaches WeChat.
func TestBadInputCorpus(t *testing.T) {
	cases, err := badinput.Load("testdata/badinput")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(cases), 60)
	u := newUpstream(t)
	cfg := u.config()
	cfg.HTTPAPIKeys = []string{badinput.APIKey}
	h := handler.New(cfg)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			out, err := h.Invoke(context.Background(), c.Bytes())
			require.NoError(t, err)
			assert.NoError(t, c.Check(out))
		})
	}
	assert.Zero(t, u.calls.Load(), "no malformed event reached WeChat")
}
