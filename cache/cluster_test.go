package cache

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/internal/redistest"
)

// TestRedisCluster, against three local redis-server nodes in cluster mode:
// answers spread over every node's slots are stored and shared through any
// node's URL (the client follows MOVED), and the force budget's script, a
// multi-key operation, runs without CROSSSLOT.
func TestRedisCluster(t *testing.T) {
	ctx := context.Background()
	cluster := redistest.StartCluster(t, 3)
	clk := newClock(time.Date(2024, 3, 10, 23, 0, 0, 0, cst))
	l := &logs{}
	a := New(newRedis(t, cluster.URL(), clk, l), Options{TTL: time.Hour, Now: clk.Now})
	b := New(newRedis(t, cluster.Nodes[2].URL(), clk, l), Options{TTL: time.Hour, Now: clk.Now})
	answer := []byte(`{"list":[],"errMsg":"openapi.analysis.getVisitPage:ok","errCode":0}`)
	f := &counter{val: answer}
	const n = 30
	for i := range n {
		key := Key("appid:wx1", "getVisitPage", fmt.Appendf(nil, "%d", i))
		_, outcome, err := a.Do(ctx, key, "getVisitPage", "20200101", "20200101", f.fetch)
		require.NoError(t, err)
		assert.Equal(t, Miss, outcome)
		v, outcome, err := b.Do(ctx, key, "getVisitPage", "20200101", "20200101", f.fetch)
		require.NoError(t, err)
		assert.Equal(t, Hit, outcome, "key %d, stored through another node", i)
		assert.Equal(t, answer, v)
	}
	assert.Equal(t, int32(n), f.calls.Load())
	for _, node := range cluster.Nodes {
		keys := newAdmin(t, node.Addr()).do("", "DBSIZE").(int64)
		assert.Positive(t, keys, "every node holds some of the answers")
	}

	never := budgetFunc(func() bool { return false })
	budget := newRedis(t, cluster.URL(), clk, l).ForceBudget("wx1", 2, time.Hour, 4*time.Hour, never)
	other := newRedis(t, cluster.Nodes[1].URL(), clk, l).ForceBudget("wx1", 2, time.Hour, 4*time.Hour, never)
	ok, _ := budget.Take(ctx)
	assert.True(t, ok, "the script ran on the cluster")
	ok, next := other.Take(ctx)
	assert.False(t, ok, "and counts for every instance")
	assert.WithinDuration(t, clk.Now().Add(time.Hour), next, time.Minute)
	assert.Empty(t, l.messages(slog.LevelWarn), "no failure, no CROSSSLOT")
	assert.Empty(t, l.messages(slog.LevelDebug))
}
