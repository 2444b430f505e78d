package openapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/openapi"
)

// A caller still holding an older token (T0) reports its refusal while a
// fetch that knows of the newer refusal (FORCED-1) is under way: that stale
// rejection must neither replace the record of FORCED-1 nor detach the
// informed fetch, lest a fetch that knows only of T0 cache the refused
// FORCED-1 with its full life.
func TestStaleRejectionDoesNotResurrectARefusedToken(t *testing.T) {
	clk := newClock()
	gate, started := make(chan struct{}), make(chan struct{})
	src := &stableSource{clk: clk, cur: "T0"}
	src.hook = func(ctx context.Context, n int) error {
		if n == 3 {
			close(started)
			select {
			case <-gate:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	c := openapi.NewTokenCache(src, 5*time.Minute)
	c.SetClock(clk.Now)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	_, err := c.Token(ctx)
	require.NoError(t, err)
	next, err := c.Reject(ctx, "T0")
	require.NoError(t, err)
	require.Equal(t, "FORCED-1", next.AccessToken)
	clk.advance(31 * time.Second)
	a := make(chan error, 1)
	go func() { _, err := c.Reject(ctx, "FORCED-1"); a <- err }()
	<-started
	b := make(chan error, 1)
	go func() { _, err := c.Reject(ctx, "T0"); b <- err }()
	select {
	case err := <-b: // a stale rejection answered at once, by a fetch that knows only of T0, is the bug
		b <- err
	case <-time.After(100 * time.Millisecond): // or b waits for the informed fetch
	}
	close(gate)
	require.NoError(t, <-a)
	require.NoError(t, <-b)
	tok, err := c.Token(context.Background())
	require.NoError(t, err)
	assert.NotEqual(t, "FORCED-1", tok.AccessToken, "the token WeChat refused is cached again")
}
