package cache

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/wxanalysis/wxanalysis/internal/redistest"
)

// budgetFunc is a fallback budget that says what it is told.
type budgetFunc func() bool

func (f budgetFunc) Take(context.Context) (bool, time.Time) { return f(), time.Time{} }

// TestForceBudgetShared: instances of one AppID share the day's force
// refreshes and the growing gap between them; other AppIDs count apart;
// with Redis down the instance's own budget decides.
func TestForceBudgetShared(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	clk := newClock(time.Date(2024, 3, 10, 23, 0, 0, 0, cst)) // 23:00 CST
	l := &logs{}
	admin := newAdmin(t, srv.Addr())
	never := budgetFunc(func() bool { return false })
	a := newRedis(t, srv.URL(), clk, l).ForceBudget("wx1", 2, time.Hour, 4*time.Hour, never)
	b := newRedis(t, srv.URL(), clk, l).ForceBudget("wx1", 2, time.Hour, 4*time.Hour, never)
	other := newRedis(t, srv.URL(), clk, l).ForceBudget("wx2", 2, time.Hour, 4*time.Hour, never)

	ok, _ := a.Take(ctx)
	assert.True(t, ok, "the first force at once")
	ok, next := b.Take(ctx)
	assert.False(t, ok, "another instance of the same AppID waits the gap")
	assert.WithinDuration(t, clk.Now().Add(time.Hour), next, time.Minute)
	ok, _ = other.Take(ctx)
	assert.True(t, ok, "another AppID counts apart")

	gap := prefix + keyPrefix + "force:{wx1}:gap"
	pttl := admin.pttl(gap)
	assert.InDelta(t, time.Hour.Seconds(), pttl.Seconds(), 60, "first gap: base")
	admin.do(gap, "DEL", gap) // as if the hour had passed
	ok, _ = b.Take(ctx)
	assert.True(t, ok)
	pttl = admin.pttl(gap)
	assert.InDelta(t, (2 * time.Hour).Seconds(), pttl.Seconds(), 60, "then twice as long")

	admin.do(gap, "DEL", gap)
	ok, next = a.Take(ctx)
	assert.False(t, ok, "two a day")
	assert.Equal(t, time.Date(2024, 3, 11, 0, 0, 0, 0, cst), next.In(cst), "the next CST day")

	srv.Stop()
	always := newRedis(t, srv.URL(), clk, l).ForceBudget("wx1", 2, time.Hour, 4*time.Hour, budgetFunc(func() bool { return true }))
	ok, _ = always.Take(ctx)
	assert.True(t, ok, "Redis down: the instance's own budget decides")
}
