package cache

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestKey(t *testing.T) {
	params := []byte(`{"beginDate":"20240101","endDate":"20240101"}`)
	k := Key("appid:wx1111", "getDailyVisitTrend", params)
	assert.Regexp(t, `^wxa:v2:[0-9a-f]{64}$`, k)
	assert.Equal(t, k, Key("appid:wx1111", "getDailyVisitTrend", params), "deterministic")
	for name, other := range map[string]string{
		"another AppID":    Key("appid:wx2222", "getDailyVisitTrend", params),
		"another env":      Key("env:prod:wx1111", "getDailyVisitTrend", params),
		"another method":   Key("appid:wx1111", "getDailySummary", params),
		"another period":   Key("appid:wx1111", "getDailyVisitTrend", []byte(`{"beginDate":"20240102","endDate":"20240102"}`)),
		"moved boundaries": Key("appid:wx1111getDaily", "VisitTrend", params),
		"no params":        Key("appid:wx1111", "getDailyVisitTrend", nil),
	} {
		assert.NotEqual(t, k, other, name)
	}
	// Lengths keep the parts apart: these would hash the same bytes without them.
	assert.NotEqual(t, Key("s\x01", "m", params), Key("s", "\x01", append([]byte("m"), params...)))
	assert.NotEqual(t, Key("s", "mx", params), Key("s", "m", append([]byte("x"), params...)))
	secret := Key("appid:wx1111:s3cr3t-token", "getDailyVisitTrend", params)
	assert.NotContains(t, secret, "s3cr3t")
	assert.NotContains(t, secret, "wx1111")
}

func BenchmarkKey(b *testing.B) {
	params := []byte(`{"beginDate":"20240101","endDate":"20240101"}`)
	b.ReportAllocs()
	for b.Loop() {
		Key("env:prod-1a2b3c:wx0123456789abcdef", "getDailyVisitTrend", params)
	}
}

// TestPutFinality: an answer is kept for FinalTTL once final, else for TTL,
// on both sides of the final instant.
func TestPutFinality(t *testing.T) {
	ctx := context.Background()
	final := time.Date(2024, 3, 3, 0, 0, 0, 0, time.FixedZone("CST", 8*3600)) // getDailyVisitTrend of 20240229
	for _, tc := range []struct {
		name       string
		at         time.Time
		ttl        time.Duration
		keptFor    time.Duration // 0: not kept
		method     string
		begin, end string
	}{
		{"not final: TTL", final.Add(-time.Second), 10 * time.Minute, 10 * time.Minute, "getDailyVisitTrend", "20240229", "20240229"},
		{"final: FinalTTL", final, 10 * time.Minute, 30 * 24 * time.Hour, "getDailyVisitTrend", "20240229", "20240229"},
		{"not final, TTL 0: not kept", final.Add(-time.Second), 0, 0, "getDailyVisitTrend", "20240229", "20240229"},
		{"final, TTL 0: FinalTTL", final, 0, 30 * 24 * time.Hour, "getDailyVisitTrend", "20240229", "20240229"},
		{"never final: TTL", final.AddDate(1, 0, 0), 10 * time.Minute, 10 * time.Minute, "getUserPortrait", "20240229", "20240229"},
		{"unknown method: TTL", final.AddDate(1, 0, 0), 10 * time.Minute, 10 * time.Minute, "getSomething", "20240229", "20240229"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock(tc.at)
			c := New(NewMemory(1<<20, clk.Now), Options{TTL: tc.ttl, FinalTTL: 30 * 24 * time.Hour, Now: clk.Now})
			c.Put(ctx, "k", tc.method, tc.begin, tc.end, []byte("answer"))
			if tc.keptFor == 0 {
				_, ok := c.Get(ctx, "k")
				assert.False(t, ok)
				return
			}
			clk.Add(tc.keptFor - time.Nanosecond)
			v, ok := c.Get(ctx, "k")
			assert.True(t, ok, "just before its TTL")
			assert.Equal(t, "answer", string(v))
			clk.Add(time.Nanosecond)
			_, ok = c.Get(ctx, "k")
			assert.False(t, ok, "at its TTL")
		})
	}
}

// counter is a fetch that counts its calls.
type counter struct {
	calls atomic.Int32
	val   []byte
	err   error
}

func (f *counter) fetch(context.Context) ([]byte, error) {
	f.calls.Add(1)
	return bytes.Clone(f.val), f.err // fresh bytes, as from an upstream call
}

func TestDoHitMiss(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	c := New(NewMemory(1<<20, clk.Now), Options{TTL: 10 * time.Minute, Now: clk.Now})
	answer := []byte(`{"list":[{"refDate":"20240229","visitTotal":3}],"errMsg":"openapi.analysis.getDailyVisitTrend:ok","errCode":0}`)
	f := &counter{val: answer}
	for i, want := range []Outcome{Miss, Hit, Hit} {
		v, outcome, err := c.Do(ctx, "k", "getDailyVisitTrend", "20240229", "20240229", f.fetch)
		require.NoError(t, err)
		assert.Equal(t, want, outcome, "call %d", i)
		assert.Equal(t, answer, v, "byte-identical")
		v[0] = 'X' // the caller's own copy
	}
	assert.Equal(t, int32(1), f.calls.Load())
	assert.Equal(t, byte('{'), answer[0])

	clk.Add(10 * time.Minute) // not final: refetched after TTL
	_, outcome, err := c.Do(ctx, "k", "getDailyVisitTrend", "20240229", "20240229", f.fetch)
	require.NoError(t, err)
	assert.Equal(t, Miss, outcome)
	assert.Equal(t, int32(2), f.calls.Load())
}

func TestDoErrorsNotCached(t *testing.T) {
	ctx := context.Background()
	c := New(NewMemory(1<<20, nil), Options{TTL: time.Hour})
	boom := errors.New("upstream: -1 system error")
	f := &counter{err: boom}
	for range 3 {
		v, outcome, err := c.Do(ctx, "k", "getDailyVisitTrend", "20200101", "20200101", f.fetch)
		assert.Same(t, boom, err, "as-is")
		assert.Nil(t, v)
		assert.Equal(t, Miss, outcome)
	}
	assert.Equal(t, int32(3), f.calls.Load())
}

func TestDoPanic(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c := New(NewMemory(1<<20, nil), Options{TTL: time.Hour})
	_, _, err := c.Do(context.Background(), "k", "getDailyVisitTrend", "20200101", "20200101",
		func(context.Context) ([]byte, error) { panic("bug") })
	require.ErrorContains(t, err, "cache: fetch panicked: bug")
	_, ok := c.Get(context.Background(), "k")
	assert.False(t, ok)
}

// waitFor makes c report its waiting callers on a channel.
func waitFor(c *Cache) <-chan string {
	ch := make(chan string, 64)
	c.onWait = func(key string) { ch <- key }
	return ch
}

type result struct {
	v       []byte
	outcome Outcome
	err     error
}

func TestDoShares(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, tc := range []struct {
		name  string
		val   []byte
		err   error
		store Store
	}{
		{"value", []byte(`{"visitUv":[{"key":0,"value":7}]}`), nil, NewMemory(1<<20, nil)},
		{"value, no store", []byte(`{"a":1}`), nil, nil},
		{"error", nil, errors.New("upstream: 45009 reach max api daily quota limit"), NewMemory(1<<20, nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 8
			c := New(tc.store, Options{TTL: time.Hour})
			waiting := waitFor(c)
			release := make(chan struct{})
			var calls atomic.Int32
			fetch := func(context.Context) ([]byte, error) {
				calls.Add(1)
				<-release
				return bytes.Clone(tc.val), tc.err
			}
			results := make([]result, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					v, o, err := c.Do(context.Background(), "k", "getDailyRetain", "20200101", "20200101", fetch)
					results[i] = result{v, o, err}
				})
			}
			for range n - 1 { // the first fetches
				recv(t, waiting)
			}
			close(release)
			wg.Wait()

			assert.Equal(t, int32(1), calls.Load(), "one upstream call")
			outcomes := map[Outcome]int{}
			for _, r := range results {
				outcomes[r.outcome]++
				if tc.err != nil {
					assert.Same(t, tc.err, r.err, "the one error, as-is")
					continue
				}
				require.NoError(t, r.err)
				assert.Equal(t, tc.val, r.v)
			}
			assert.Equal(t, map[Outcome]int{Miss: 1, Shared: n - 1}, outcomes)
			if tc.err == nil {
				results[0].v[0] = 'X'
				for _, r := range results[1:] {
					assert.Equal(t, tc.val, r.v, "each caller has its own copy")
				}
				assert.Equal(t, byte('{'), tc.val[0], "fetch's slice untouched")
			}
			assert.Empty(t, c.flights, "no call left in flight")
		})
	}
}

func TestDoCancelledBefore(t *testing.T) {
	c := New(nil, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := &counter{val: []byte("v")}
	_, _, err := c.Do(ctx, "k", "getVisitPage", "20200101", "20200101", f.fetch)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, f.calls.Load())
}

// TestDoFinalAtAsking: an answer asked for before its final instant is not
// final, even if it arrives after.
func TestDoFinalAtAsking(t *testing.T) {
	ctx := context.Background()
	final := time.Date(2024, 3, 2, 16, 0, 0, 0, time.UTC) // getDailyVisitTrend of 20240229
	clk := newClock(final.Add(-time.Second))
	c := New(NewMemory(1<<20, clk.Now), Options{TTL: 10 * time.Minute, Now: clk.Now})
	_, _, err := c.Do(ctx, "k", "getDailyVisitTrend", "20240229", "20240229", func(context.Context) ([]byte, error) {
		clk.Add(2 * time.Second)
		return []byte("v"), nil
	})
	require.NoError(t, err)
	clk.Add(10 * time.Minute)
	_, ok := c.Get(ctx, "k")
	assert.False(t, ok, "kept for TTL only")
}

// failing is a Store that always fails.
type failing struct{}

func (failing) Get(context.Context, string) ([]byte, bool, error) {
	return nil, false, errors.New("down")
}
func (failing) Set(context.Context, string, []byte, time.Duration) error { return errors.New("down") }

func TestStoreErrorIsMiss(t *testing.T) {
	l := &logs{}
	c := New(failing{}, Options{TTL: time.Hour, Logger: slog.New(l)})
	f := &counter{val: []byte("v")}
	for range 2 {
		v, outcome, err := c.Do(context.Background(), "k", "getVisitPage", "20200101", "20200101", f.fetch)
		require.NoError(t, err)
		assert.Equal(t, "v", string(v))
		assert.Equal(t, Miss, outcome)
	}
	assert.Equal(t, int32(2), f.calls.Load())
	assert.Empty(t, l.messages(slog.LevelWarn), "the store reports its own failures")
	assert.True(t, strings.HasPrefix(strings.Join(l.messages(slog.LevelDebug), ","), "cache: get failed"))
}

func BenchmarkDoHit(b *testing.B) {
	ctx := context.Background()
	c := New(NewMemory(16<<20, nil), Options{TTL: time.Hour})
	key := Key("appid:wx0123456789abcdef", "getDailyVisitTrend", []byte(`{"beginDate":"20240101","endDate":"20240101"}`))
	fetch := func(context.Context) ([]byte, error) { return make([]byte, 400), nil }
	_, _, _ = c.Do(ctx, key, "getDailyVisitTrend", "20240101", "20240101", fetch)
	b.ReportAllocs()
	for b.Loop() {
		if _, o, _ := c.Do(ctx, key, "getDailyVisitTrend", "20240101", "20240101", fetch); o != Hit {
			b.Fatal(o)
		}
	}
}

// BenchmarkDoMiss: a call that nobody shares and nothing stores (a TTL of 0
// for an answer that is not final), the path of every distinct call.
func BenchmarkDoMiss(b *testing.B) {
	ctx := context.Background()
	c := New(NewMemory(16<<20, nil), Options{})
	key := Key("appid:wx0123456789abcdef", "getDailyVisitTrend", []byte(`{"beginDate":"20240101","endDate":"20240101"}`))
	answer := make([]byte, 400)
	fetch := func(context.Context) ([]byte, error) { return answer, nil }
	b.ReportAllocs()
	for b.Loop() {
		if _, o, _ := c.Do(ctx, key, "getUserPortrait", "20240101", "20240101", fetch); o != Miss {
			b.Fatal(o)
		}
	}
}
