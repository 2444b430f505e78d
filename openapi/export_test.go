package openapi

import (
	"context"
	"time"
)

// WithPause replaces the client's wait between attempts and, unless nil,
// its jitter, so that tests see each pause without sleeping.
func WithPause(sleep func(ctx context.Context, d time.Duration) bool, jitter func(n int64) int64) Option {
	return func(c *Client) error {
		c.sleep = sleep
		if jitter != nil {
			c.jitter = jitter
		}
		return nil
	}
}

// RefreshAt returns when the cached token is due to be replaced.
func (c *TokenCache) RefreshAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refreshAt
}
