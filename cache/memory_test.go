package cache

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
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
	// Key and value lengths add up to allocation size classes (16, 32, 48
	// bytes), so that each entry counts exactly its length plus
	// EntryOverhead: with a 1-byte key, fifteen occupies one unit.
	fifteen := []byte("123456789abcdef")
	const unit = 16 + EntryOverhead
	for _, tc := range []struct {
		name string
		run  func(m *Memory)
		want []string
		size int64
	}{
		{"fits", func(m *Memory) {
			for _, k := range []string{"a", "b", "c"} {
				require.NoError(t, m.Set(ctx, k, fifteen, time.Hour))
			}
		}, []string{"a", "b", "c"}, 3 * unit},
		{"evicts the least recently set", func(m *Memory) {
			for _, k := range []string{"a", "b", "c", "d"} {
				require.NoError(t, m.Set(ctx, k, fifteen, time.Hour))
			}
		}, []string{"b", "c", "d"}, 3 * unit},
		{"a get makes recent", func(m *Memory) {
			for _, k := range []string{"a", "b", "c"} {
				require.NoError(t, m.Set(ctx, k, fifteen, time.Hour))
			}
			present(m, "a")
			require.NoError(t, m.Set(ctx, "d", fifteen, time.Hour))
		}, []string{"a", "c", "d"}, 3 * unit},
		{"evicts as many as needed", func(m *Memory) {
			for _, k := range []string{"a", "b", "c"} {
				require.NoError(t, m.Set(ctx, k, fifteen, time.Hour))
			}
			require.NoError(t, m.Set(ctx, "d", make([]byte, 31), time.Hour)) // 32 + EntryOverhead: more than one unit
		}, []string{"c", "d"}, unit + 32 + EntryOverhead},
		{"too large for the store: kept out, nothing evicted", func(m *Memory) {
			require.NoError(t, m.Set(ctx, "a", fifteen, time.Hour))
			require.NoError(t, m.Set(ctx, "d", make([]byte, 3*unit), time.Hour))
		}, []string{"a"}, unit},
		{"the overhead counts: three units of bytes alone do not fit", func(m *Memory) {
			require.NoError(t, m.Set(ctx, "a", fifteen, time.Hour))
			require.NoError(t, m.Set(ctx, "d", make([]byte, 3*unit-1-EntryOverhead/2), time.Hour))
		}, []string{"a"}, unit},
		{"a value counts its size class", func(m *Memory) {
			require.NoError(t, m.Set(ctx, "a", make([]byte, 16), time.Hour)) // 17 bytes take 24
		}, []string{"a"}, 24 + EntryOverhead},
		{"replacing counts the new size only", func(m *Memory) {
			require.NoError(t, m.Set(ctx, "a", make([]byte, 47), time.Hour))
			require.NoError(t, m.Set(ctx, "a", fifteen, time.Hour))
			require.NoError(t, m.Set(ctx, "b", fifteen, time.Hour))
			require.NoError(t, m.Set(ctx, "c", fifteen, time.Hour))
		}, []string{"a", "b", "c"}, 3 * unit},
		{"an unkeepable value removes the old one", func(m *Memory) {
			require.NoError(t, m.Set(ctx, "a", fifteen, time.Hour))
			require.NoError(t, m.Set(ctx, "b", fifteen, time.Hour))
			require.NoError(t, m.Set(ctx, "a", fifteen, 0))
			require.NoError(t, m.Set(ctx, "b", make([]byte, 4*unit), time.Hour))
		}, nil, 0},
		{"slots are reused", func(m *Memory) {
			for i := range 3 * slabLen {
				require.NoError(t, m.Set(ctx, string(rune('a'+i%4)), fifteen, time.Hour))
			}
			assert.Len(t, m.slabs, 1, "one chunk of slots for at most four entries")
		}, []string{"b", "c", "d"}, 3 * unit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory(3*unit, newClock(t0).Now)
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
		{math.MaxInt64, 100 * 365 * 24 * time.Hour, true},
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

	for _, key := range []string{"empty", ""} {
		require.NoError(t, m.Set(ctx, key, []byte{}, time.Hour))
		v, ok, _ := m.Get(ctx, key)
		assert.True(t, ok, "%q", key)
		assert.Empty(t, v)
	}
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

// BenchmarkMemorySet stores new keys into a full Memory: every Set evicts.
func BenchmarkMemorySet(b *testing.B) {
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

// heapAlloc returns the bytes of live heap objects, after collecting
// garbage.
func heapAlloc() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// memoryHeap fills a Memory of bound bytes with three times that of
// entries of a Key-sized key and values of lo to hi bytes, and returns how
// much the live heap grew, and the entries held.
func memoryHeap(bound int64, lo, hi int) (grown int64, entries int) {
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(1, 2))
	src := make([]byte, hi)
	keyBuf := make([]byte, 0, 32)
	before := heapAlloc()
	m := NewMemory(bound, nil)
	for stored := int64(0); stored < 3*bound; {
		n := lo + rnd.IntN(hi-lo+1)
		keyBuf = strconv.AppendInt(keyBuf[:0], stored, 10)
		key := Key("appid:wx0123456789abcdef", "getWeeklyRetain", keyBuf)
		_ = m.Set(ctx, key, src[:n], time.Hour)
		stored += int64(len(key) + n)
	}
	grown = heapAlloc() - before
	entries = len(m.items)
	runtime.KeepAlive(m)
	return grown, entries
}

func TestMemoryHeapWithinBound(t *testing.T) {
	const bound = 8 << 20
	for _, tc := range []struct {
		name   string
		lo, hi int
	}{
		{"answers of 200 B to 2 KB", 200, 2000},
		{"empty answers", 0, 0},
		{"small answers", 1, 100},
		{"large answers", 20 << 10, 100 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			grown, entries := memoryHeap(bound, tc.lo, tc.hi)
			t.Logf("%d entries, heap grown by %d bytes (%.3f of the bound)", entries, grown, float64(grown)/bound)
			// The margin is for whatever else the test process holds.
			assert.LessOrEqual(t, grown, int64(bound+bound/32))
			assert.Greater(t, grown, int64(bound/2), "the overhead is not counted grossly: most of the bound is used")
		})
	}
}
