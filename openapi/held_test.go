package openapi_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/openapi"
)

// TestHeldRefusedTokenIsNotSent: while a refused token waits for the next
// allowed force refresh, calls fail at once, sending nothing upstream, and
// no token fetch is made; once a force is allowed the token is replaced.
func TestHeldRefusedTokenIsNotSent(t *testing.T) {
	clk := newClock()
	src := &stableSource{clk: clk, cur: "T0"}
	tokens := openapi.NewTokenCache(src, 5*time.Minute)
	tokens.SetClock(clk.Now)
	var sent atomic.Int64
	w := newWeChat(t)
	w.setAPI(func(n int64, tok string, rw http.ResponseWriter, b []byte) {
		sent.Add(1)
		errcode(40001, "invalid credential")(n, tok, rw, b) // every token refused
	})
	c := w.client(tokens, openapi.WithClock(clk.Now))
	callErr(t, c) // T0 refused, forced to FORCED-1, refused again
	callErr(t, c) // FORCED-1 refused; no force allowed for 30 s: held
	before, fetches := sent.Load(), tokenFetches(src)
	for range 5 {
		e := callErr(t, c)
		assert.Equal(t, 40001, e.Code)
		assert.True(t, errors.Is(e, openapi.ErrTokenRefused))
		assert.Contains(t, e.Msg, "no force refresh is allowed before")
	}
	assert.Equal(t, before, sent.Load(), "a held refused token is never sent")
	assert.Equal(t, fetches, tokenFetches(src), "nor fetched again")

	clk.advance(30 * time.Second) // the next force is allowed
	m, p := weekly()
	_, err := c.Call(context.Background(), m, p)
	require.Error(t, err)
	assert.Greater(t, sent.Load(), before, "the token is used again once a force is allowed")
	assert.Equal(t, 2, src.forceCount())
}

func tokenFetches(s *stableSource) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}
