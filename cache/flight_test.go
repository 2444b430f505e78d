package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/wxanalysis/wxanalysis/internal/expiring"
)

// recv receives from ch, failing the test rather than hanging.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("nothing arrived within 10s: a caller hangs")
		panic("unreachable")
	}
}

// do runs c.Do on its own goroutine; its result arrives on the channel.
func do(c *Cache, ctx context.Context, fetch func(context.Context) ([]byte, error)) <-chan result {
	ch := make(chan result, 1)
	go func() {
		v, o, err := c.Do(ctx, "k", "getVisitPage", "20200101", "20200101", fetch)
		ch <- result{v, o, err}
	}()
	return ch
}

// upstreamTimeout is what the openapi client returns when its context's
// deadline passes: an error of its own that wraps the context's.
type upstreamTimeout struct{}

func (upstreamTimeout) Error() string { return "-601008 server-side request timed out" }
func (upstreamTimeout) Unwrap() error { return context.DeadlineExceeded }

// blocking is a fetch that reports each call's context, then answers what
// the test sends, or, once that context ends, an error as the openapi
// client does.
type blocking struct {
	started chan context.Context
	answers chan []byte
}

func newBlocking() *blocking {
	return &blocking{started: make(chan context.Context, 8), answers: make(chan []byte, 8)}
}

func (b *blocking) fetch(ctx context.Context) ([]byte, error) {
	b.started <- ctx
	select {
	case v := <-b.answers:
		return v, nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, upstreamTimeout{}
		}
		return nil, fmt.Errorf("request canceled: %w", ctx.Err())
	}
}

// TestDoJoinerLeaves: a joined caller whose context ends stops waiting and
// cancels nothing; the fetch goes on for the caller who runs it.
func TestDoJoinerLeaves(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c := New(NewMemory(1<<20, nil), Options{TTL: time.Hour})
	waiting := waitFor(c)
	b := newBlocking()
	first := do(c, context.Background(), b.fetch)
	fetchCtx := recv(t, b.started)

	ctx2, cancel2 := context.WithCancel(context.Background())
	second := do(c, ctx2, b.fetch)
	recv(t, waiting)
	cancel2()
	r := recv(t, second)
	assert.ErrorIs(t, r.err, context.Canceled)
	assert.Equal(t, Shared, r.outcome)
	assert.NoError(t, fetchCtx.Err(), "the fetch goes on")

	b.answers <- []byte("v")
	assert.Equal(t, result{[]byte("v"), Miss, nil}, recv(t, first))
	assert.Empty(t, b.started, "one fetch")
}

// TestDoFetcherLeaves: when the caller running the fetch leaves (cancelled,
// or its deadline passes first), its context's error is its own; a joiner
// whose context is still alive fetches under that context, the others join
// it, and all get the answer. The flight outlives its first caller.
func TestDoFetcherLeaves(t *testing.T) {
	for _, how := range []string{"cancelled", "deadline"} {
		t.Run(how, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			c := New(NewMemory(1<<20, nil), Options{TTL: time.Hour, Grace: time.Hour})
			waiting := waitFor(c)
			b := newBlocking()
			var (
				ctx1  context.Context
				leave func()
				want  error
			)
			if how == "cancelled" {
				ctx, cancel := context.WithCancel(context.Background())
				ctx1, leave, want = ctx, cancel, context.Canceled
			} else {
				ctx := expiring.New() // the caller with little time left
				ctx1, leave, want = ctx, ctx.Expire, upstreamTimeout{}
			}
			first := do(c, ctx1, b.fetch)
			assert.True(t, ctx1 == recv(t, b.started), "the first caller fetches under its own context")

			const joiners = 3
			later := make([]<-chan result, joiners)
			for i := range later {
				later[i] = do(c, context.Background(), b.fetch) // later deadlines
				recv(t, waiting)
			}
			leave()
			r := recv(t, first)
			assert.ErrorIs(t, r.err, want, "the leaver gets its own context's error")
			assert.Equal(t, Miss, r.outcome)

			takeover := recv(t, b.started)
			assert.True(t, ctx1 != takeover)
			assert.NoError(t, takeover.Err(), "a joiner whose context is alive fetches")
			for range joiners - 1 {
				recv(t, waiting) // the others join the new fetch
			}
			b.answers <- []byte("answer")
			outcomes := map[Outcome]int{}
			for _, ch := range later {
				r := recv(t, ch)
				require.NoError(t, r.err)
				assert.Equal(t, "answer", string(r.v))
				outcomes[r.outcome]++
			}
			assert.Equal(t, map[Outcome]int{Miss: 1, Shared: joiners - 1}, outcomes)
			assert.Empty(t, b.started, "two fetches in all")
			v, ok := c.Get(context.Background(), "k")
			assert.True(t, ok)
			assert.Equal(t, "answer", string(v), "stored")
			assert.Empty(t, c.flights)
		})
	}
}

// TestDoLaterDeadlineJoinerSucceeds is the -601008 defect: a caller with
// time left joins a fetch begun by a caller whose deadline then passes; it
// gets the answer that arrives within its own deadline, not the first
// caller's timeout.
func TestDoLaterDeadlineJoinerSucceeds(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c := New(nil, Options{Grace: 30 * time.Millisecond})
	waiting := waitFor(c)
	b := newBlocking()
	short := expiring.New()
	first := do(c, short, b.fetch)
	recv(t, b.started)
	long, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	second := do(c, long, b.fetch)
	recv(t, waiting)

	short.Expire()
	assert.ErrorIs(t, recv(t, first).err, upstreamTimeout{})
	recv(t, b.started)
	b.answers <- []byte("in time")
	assert.Equal(t, result{[]byte("in time"), Miss, nil}, recv(t, second))
}

// TestDoSharesUpstreamErrors: an upstream error (not the fetcher's own
// context ending) is the flight's outcome, shared, never retried by joiners.
func TestDoSharesUpstreamErrors(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c := New(NewMemory(1<<20, nil), Options{TTL: time.Hour})
	waiting := waitFor(c)
	quota := errors.New("45009 reach max api daily quota limit")
	started, release := make(chan struct{}, 2), make(chan struct{})
	fetch := func(context.Context) ([]byte, error) {
		started <- struct{}{}
		<-release
		return nil, quota
	}
	first := do(c, context.Background(), fetch)
	recv(t, started)
	second := do(c, context.Background(), fetch)
	recv(t, waiting)
	close(release)
	assert.Same(t, quota, recv(t, first).err)
	assert.Equal(t, result{nil, Shared, quota}, recv(t, second))
	assert.Empty(t, started, "one fetch")
}

// TestDoLeaverNoJoiners: the fetcher leaves with nobody waiting; the flight
// ends and the next caller starts afresh.
func TestDoLeaverNoJoiners(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c := New(NewMemory(1<<20, nil), Options{TTL: time.Hour})
	b := newBlocking()
	ctx, cancel := context.WithCancel(context.Background())
	first := do(c, ctx, b.fetch)
	recv(t, b.started)
	cancel()
	assert.ErrorIs(t, recv(t, first).err, context.Canceled)
	assert.Empty(t, c.flights)

	next := do(c, context.Background(), b.fetch)
	recv(t, b.started)
	b.answers <- []byte("fresh")
	assert.Equal(t, result{[]byte("fresh"), Miss, nil}, recv(t, next))
}

// TestDoGrace: a joiner whose deadline has passed waits Grace more for the
// flight's outcome; without Grace it leaves at once.
func TestDoGrace(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, grace := range []time.Duration{time.Hour, 0} {
		c := New(nil, Options{Grace: grace})
		waiting := waitFor(c)
		b := newBlocking()
		first := do(c, context.Background(), b.fetch)
		recv(t, b.started)
		ctx := expiring.New()
		second := do(c, ctx, b.fetch)
		recv(t, waiting)
		ctx.Expire()
		if grace == 0 {
			assert.ErrorIs(t, recv(t, second).err, context.DeadlineExceeded, "no Grace: gone at its deadline")
		}
		b.answers <- []byte("late")
		assert.Equal(t, result{[]byte("late"), Miss, nil}, recv(t, first))
		if grace > 0 {
			assert.Equal(t, result{[]byte("late"), Shared, nil}, recv(t, second), "within Grace, the flight's answer")
		}
	}
}

// TestDoPanicShared: a panic in fetch is a *PanicError, with the stack, for
// the fetcher and its joiners alike; nothing is stored.
func TestDoPanicShared(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c := New(NewMemory(1<<20, nil), Options{TTL: time.Hour})
	waiting := waitFor(c)
	started, release := make(chan struct{}, 1), make(chan struct{})
	fetch := func(context.Context) ([]byte, error) {
		started <- struct{}{}
		<-release
		panic("bug")
	}
	first := do(c, context.Background(), fetch)
	recv(t, started)
	second := do(c, context.Background(), fetch)
	recv(t, waiting)
	close(release)
	for _, ch := range []<-chan result{first, second} {
		var pe *PanicError
		require.ErrorAs(t, recv(t, ch).err, &pe)
		assert.Equal(t, "bug", pe.Value)
		assert.Contains(t, string(pe.Stack), "flight_test.go")
	}
	_, ok := c.Get(context.Background(), "k")
	assert.False(t, ok)
}

// TestDoManyCallersRace: many callers, some leaving, none hanging; every
// one that stays gets the answer. For the race detector.
func TestDoManyCallersRace(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c := New(NewMemory(1<<20, nil), Options{})
	var wg sync.WaitGroup
	for i := range 64 {
		ctx, cancel := context.WithCancel(context.Background())
		if i%3 == 0 {
			cancel()
		}
		wg.Go(func() {
			defer cancel()
			v, _, err := c.Do(ctx, "k", "getVisitPage", "20200101", "20200101", func(ctx context.Context) ([]byte, error) {
				if i%5 == 0 {
					cancel() // the fetcher leaves mid-fetch
					return nil, ctx.Err()
				}
				return []byte("v"), nil
			})
			if ctx.Err() == nil {
				assert.NoError(t, err)
				assert.Equal(t, "v", string(v))
				v[0] = 'x' // each its own copy
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	recv(t, done)
	assert.Empty(t, c.flights)
}
