package cache

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/wxanalysis/wxanalysis/internal/redistest"
)

// TestForceBudgetFallbackDecides (issue 16, promises): while Redis fails —
// the operation failing, or Redis left alone after a failure — the
// instance's own budget decides, never an unlimited one.
func TestForceBudgetFallbackDecides(t *testing.T) {
	srv := redistest.Start(t)
	srv.Stop()
	clk := newClock(time.Date(2024, 3, 10, 12, 0, 0, 0, cst))
	never := budgetFunc(func() bool { return false })
	b := newRedis(t, srv.URL(), clk, &logs{}).ForceBudget("wx1", 2, time.Hour, 4*time.Hour, never)
	ok, _ := b.Take(context.Background()) // Redis is tried, and fails
	assert.False(t, ok, "the operation failed: the fallback decides")
	ok, _ = b.Take(context.Background()) // Redis is left alone
	assert.False(t, ok, "Redis backing off: the fallback decides")
}
