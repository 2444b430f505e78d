package cache

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/internal/redistest"
)

// TestRedisEntriesChecked: what Redis holds is served only if this cache
// stored it for that key, whole, at most 6 MB, and a JSON object; anything
// else is a miss (the fetch's answer then replaces it), with one warning for
// the first bad entry and none after.
func TestRedisEntriesChecked(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	l := &logs{}
	r := newRedis(t, srv.URL(), newClock(t0), l)
	c := New(r, Options{TTL: time.Hour})
	admin := newAdmin(t, srv.Addr())
	good := []byte(`{"list":[{"refDate":"20200101","visitPv":7}],"errMsg":"openapi.analysis.getVisitPage:ok","errCode":0}`)
	require.NoError(t, r.Set(ctx, "source", good, time.Hour))
	stored := admin.get(prefix + "source")

	flipped := bytes.Clone(stored)
	flipped[len(flipped)-3] ^= 0x20
	for _, tc := range []struct {
		name  string
		value []byte
	}{
		{"8 MB of text", bytes.Repeat([]byte("x"), 8<<20)},
		{"another key's entry", stored},
		{"a plain JSON answer", good},
		{"damaged", flipped},
		{"cut short", stored[:len(stored)-10]},
		{"sealed, not JSON", seal(prefix+"k", []byte("upstream busy"))},
		{"sealed, not an object", seal(prefix+"k", []byte(`[1,2]`))},
		{"sealed, over 6 MB", seal(prefix+"k", append(append([]byte(`{"a":"`), bytes.Repeat([]byte("x"), maxValue)...), `"}`...))},
		{"empty", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			admin.do(prefix+"k", "SET", prefix+"k", tc.value)
			f := &counter{val: good}
			v, outcome, err := c.Do(ctx, "k", "getVisitPage", "20200101", "20200101", f.fetch)
			require.NoError(t, err)
			assert.Equal(t, Miss, outcome, "never served")
			assert.Equal(t, string(good), string(v))
			assert.Equal(t, int32(1), f.calls.Load())

			v, outcome, err = c.Do(ctx, "k", "getVisitPage", "20200101", "20200101", f.fetch)
			require.NoError(t, err)
			assert.Equal(t, Hit, outcome, "the fetched answer replaced it")
			assert.Equal(t, string(good), string(v))
		})
	}
	assert.Len(t, l.messages(slog.LevelWarn), 1, "one warning, not one per entry")
	assert.Contains(t, l.messages(slog.LevelWarn)[0], "not this cache's answer")
	v, ok, err := r.Get(ctx, "source")
	require.NoError(t, err)
	assert.True(t, ok, "Redis was never taken for down")
	assert.Equal(t, string(good), string(v))
}

// TestRedisSetBounded: a value larger than a result may be is not stored.
func TestRedisSetBounded(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	r := newRedis(t, srv.URL(), newClock(t0), &logs{})
	big := append(append([]byte(`{"a":"`), bytes.Repeat([]byte("x"), maxValue)...), `"}`...)
	require.NoError(t, r.Set(ctx, "big", big, time.Hour))
	assert.Nil(t, newAdmin(t, srv.Addr()).get(prefix+"big"))
}
