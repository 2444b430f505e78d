package cache

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// present lists which of keys m holds.
func present(m *Memory, keys ...string) []string {
	var got []string
	for _, k := range keys {
		if _, ok, _ := m.Get(context.Background(), k); ok {
			got = append(got, k)
		}
	}
	return got
}

func TestMemoryLRU(t *testing.T) {
	ctx := context.Background()
	ten := []byte("123456789") // with a 1-byte key: 10 bytes
	for _, tc := range []struct {
		name string
		run  func(m *Memory)
		want []string
		size int64
	}{
		{"fits", func(m *Memory) {
			for _, k := range []string{"a", "b", "c"} {
				require.NoError(t, m.Set(ctx, k, ten, time.Hour))
			}
		}, []string{"a", "b", "c"}, 30},
		{"evicts the least recently set", func(m *Memory) {
			for _, k := range []string{"a", "b", "c", "d"} {
				require.NoError(t, m.Set(ctx, k, ten, time.Hour))
			}
		}, []string{"b", "c", "d"}, 30},
		{"a get makes recent", func(m *Memory) {
			for _, k := range []string{"a", "b", "c"} {
				require.NoError(t, m.Set(ctx, k, ten, time.Hour))
			}
			present(m, "a")
			require.NoError(t, m.Set(ctx, "d", ten, time.Hour))
		}, []string{"a", "c", "d"}, 30},
		{"evicts as many as needed", func(m *Memory) {
			for _, k := range []string{"a", "b", "c"} {
				require.NoError(t, m.Set(ctx, k, ten, time.Hour))
			}
			require.NoError(t, m.Set(ctx, "d", make([]byte, 19), time.Hour))
		}, []string{"c", "d"}, 30},
		{"too large for the store: kept out, nothing evicted", func(m *Memory) {
			require.NoError(t, m.Set(ctx, "a", ten, time.Hour))
			require.NoError(t, m.Set(ctx, "d", make([]byte, 30), time.Hour))
		}, []string{"a"}, 10},
		{"replacing counts the new size only", func(m *Memory) {
			require.NoError(t, m.Set(ctx, "a", make([]byte, 29), time.Hour))
			require.NoError(t, m.Set(ctx, "a", []byte("1"), time.Hour))
			require.NoError(t, m.Set(ctx, "b", ten, time.Hour))
			require.NoError(t, m.Set(ctx, "c", ten, time.Hour))
		}, []string{"a", "b", "c"}, 22},
		{"an unkeepable value removes the old one", func(m *Memory) {
			require.NoError(t, m.Set(ctx, "a", ten, time.Hour))
			require.NoError(t, m.Set(ctx, "b", ten, time.Hour))
			require.NoError(t, m.Set(ctx, "a", ten, 0))
			require.NoError(t, m.Set(ctx, "b", make([]byte, 40), time.Hour))
		}, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory(30, newClock(t0).Now)
			tc.run(m)
			assert.Equal(t, tc.want, present(m, "a", "b", "c", "d"))
			assert.Equal(t, tc.size, m.Bytes())
		})
	}
}

func TestMemoryTTL(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		ttl, after time.Duration
		hit        bool
	}{
		{10 * time.Minute, 0, true},
		{10 * time.Minute, 10*time.Minute - time.Nanosecond, true},
		{10 * time.Minute, 10 * time.Minute, false},
		{10 * time.Minute, time.Hour, false},
		{0, 0, false},
		{-time.Second, 0, false},
	} {
		t.Run(fmt.Sprintf("ttl %v after %v", tc.ttl, tc.after), func(t *testing.T) {
			clk := newClock(t0)
			m := NewMemory(1<<20, clk.Now)
			require.NoError(t, m.Set(ctx, "k", []byte("v"), tc.ttl))
			clk.Add(tc.after)
			v, ok, err := m.Get(ctx, "k")
			require.NoError(t, err)
			assert.Equal(t, tc.hit, ok)
			if tc.hit {
				assert.Equal(t, []byte("v"), v)
			} else {
				assert.Nil(t, v)
				assert.Zero(t, m.Bytes(), "an expired entry found is dropped")
			}
		})
	}
}

func TestMemoryCopies(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(1<<20, nil)
	in := []byte(`{"a":1}`)
	require.NoError(t, m.Set(ctx, "k", in, time.Hour))
	in[0] = 'X'
	out, ok, err := m.Get(ctx, "k")
	require.NoError(t, err)
	require.True(t, ok)
	out[0] = 'Y'
	again, _, _ := m.Get(ctx, "k")
	assert.Equal(t, `{"a":1}`, string(again))

	require.NoError(t, m.Set(ctx, "empty", []byte{}, time.Hour))
	v, ok, _ := m.Get(ctx, "empty")
	assert.True(t, ok)
	assert.Empty(t, v)
}

func TestMemoryConcurrent(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(1000, nil)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				k := strconv.Itoa((g*7 + i) % 50)
				_ = m.Set(ctx, k, []byte(k+"-value"), time.Hour)
				if v, ok, _ := m.Get(ctx, k); ok {
					assert.Equal(t, k+"-value", string(v))
				}
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, m.Bytes(), int64(1000))
}

func BenchmarkMemoryGet(b *testing.B) {
	ctx := context.Background()
	m := NewMemory(16<<20, nil)
	key, value := Key("appid:wx0123456789abcdef", "getDailyVisitTrend", []byte(`{"beginDate":"20240101","endDate":"20240101"}`)), make([]byte, 400)
	_ = m.Set(ctx, key, value, time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, _ := m.Get(ctx, key); !ok {
			b.Fatal("miss")
		}
	}
}

func BenchmarkMemoryPut(b *testing.B) {
	ctx := context.Background()
	m := NewMemory(1<<20, nil) // small enough to evict
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = Key("appid:wx0123456789abcdef", "getDailyVisitTrend", []byte(strconv.Itoa(i)))
	}
	value := make([]byte, 400)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = m.Set(ctx, keys[i%len(keys)], value, time.Hour)
		i++
	}
}
