// Package cache keeps WeChat's analysis answers: final ones (whose period's
// data no longer changes, see FinalAt) for long, others briefly, in process
// (Memory) or shared between instances (Redis); and it makes identical calls
// in flight at the same time share one upstream fetch.
//
// # Sharing a fetch
//
// Calls with the same key that miss the store at the same time form one
// flight. The rule, for Cache.Do:
//
//   - Who fetches: the first caller, on its own goroutine and under its own
//     context (its deadline, its values, so its invocation's cloud-call
//     credentials). No goroutine is started per miss.
//   - Who waits: every later caller joins the flight and waits for its
//     outcome, or for its own context to end, whichever comes first (after
//     its deadline, Grace longer). Each caller keeps its own deadline: none
//     ever fails because another's deadline passed.
//   - What is shared: the fetch's outcome, an answer or an upstream error,
//     unless the fetching caller's context ended first. Then the outcome
//     (most likely that context's error) belongs to that caller alone: the
//     flight ends without an outcome and each joiner whose context has not
//     ended starts over; the first to do so fetches under its own context,
//     the others join it. So a caller who leaves, by deadline or by
//     cancellation, never makes another caller fail; it only hands the
//     fetch on.
//   - A leaving joiner just stops waiting: nothing is cancelled.
//   - Cloud-call credentials: a fetch uses the credentials of the caller who
//     runs it, and only while that caller is there (its context is the
//     fetch's). Flights are shared across invocations, as stored answers
//     are: the key holds the scope (whose data: an AppID, or a CloudBase
//     environment with its WX_APPID), not the invoking user, so a caller of
//     another invocation of the same scope may get an answer fetched with
//     the first caller's token, exactly as it would get it from the store a
//     moment later. Every caller is authorised before it reaches the cache.
//   - A success is stored before the joiners get it; an error is never
//     stored. A panic in fetch is an error (*PanicError), shared like one.
//
// Every wait is bounded by the waiting caller's own context (plus Grace),
// provided fetch returns once its context ends, as an HTTP call does.
package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// Store holds answers. Get reports (nil, false, nil) for a miss and returns a
// slice the caller owns; Set keeps its own copy of value. Implementations are
// safe for concurrent use.
type Store interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
}

// Defaults for Options, applied by the caller (TTL) or by New (FinalTTL).
const (
	DefaultTTL      = 10 * time.Minute
	DefaultFinalTTL = 30 * 24 * time.Hour
)

// Options configure New.
type Options struct {
	TTL      time.Duration    // for answers not yet final; 0: not cached (DefaultTTL is the usual value)
	FinalTTL time.Duration    // for final answers; <= 0: DefaultFinalTTL
	Now      func() time.Time // nil: time.Now; the clock of finality
	Logger   *slog.Logger     // nil: slog.Default(); store errors at debug level
	// Grace is how long a caller whose deadline has passed still waits for
	// a fetch in flight: the fetch has the same deadline, and its own answer
	// to it (a timeout error of the upstream, say) is worth more than the
	// bare context error. 0: none.
	Grace time.Duration
}

// Outcome is where an answer came from, for the invocation's log line.
type Outcome string

// Outcomes of Do.
const (
	Hit    Outcome = "hit"    // from the store
	Miss   Outcome = "miss"   // this call fetched it
	Shared Outcome = "shared" // an identical call in flight fetched it
)

// Cache puts a Store, the finality rules and call sharing together. It is
// safe for concurrent use.
type Cache struct {
	store         Store
	ttl, finalTTL time.Duration
	grace         time.Duration
	now           func() time.Time
	log           *slog.Logger

	mu      sync.Mutex
	flights map[string]*flight
	onWait  func(key string) // tests: a caller joins a flight
}

// A flight is one fetch in progress and the callers waiting for it.
type flight struct {
	// Guarded by Cache.mu: done is made by the first joiner (a flight
	// nobody joins costs no channel), and closed when the outcome is set.
	done   chan struct{}
	joined bool

	// Set before done is closed, read-only after.
	val  []byte
	err  error
	none bool // the fetcher's context ended first: no outcome to share
}

// New returns a Cache on store; a nil store caches nothing but still shares
// calls.
func New(store Store, opts Options) *Cache {
	c := &Cache{store: store, ttl: opts.TTL, finalTTL: opts.FinalTTL, grace: opts.Grace, now: opts.Now, log: opts.Logger,
		flights: make(map[string]*flight)}
	if c.finalTTL <= 0 {
		c.finalTTL = DefaultFinalTTL
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	return c
}

// keyPrefix names the format of keys and of the answers under them: change it
// when either changes, so that no instance reads what another wrote in a
// different shape.
const keyPrefix = "wxa:v2:"

// Key returns the store key of everything that selects an answer: scope (who,
// e.g. "appid:wx…" or "env:<envid>:<WX_APPID>"), method, and params, the
// canonical JSON of its parameters. It is a SHA-256, so that nothing of them,
// secret or long, is in the key.
func Key(scope, method string, params []byte) string {
	var stack [256]byte
	b := stack[:0]
	// Lengths first, so that no two different triples hash the same bytes.
	b = binary.AppendUvarint(b, uint64(len(scope)))
	b = append(b, scope...)
	b = binary.AppendUvarint(b, uint64(len(method)))
	b = append(b, method...)
	b = append(b, params...)
	sum := sha256.Sum256(b)
	var out [len(keyPrefix) + 2*sha256.Size]byte
	copy(out[:], keyPrefix)
	hex.Encode(out[len(keyPrefix):], sum[:])
	return string(out[:])
}

// Get returns the stored answer for key, a copy the caller owns. A store
// error is a miss.
func (c *Cache) Get(ctx context.Context, key string) ([]byte, bool) {
	if c.store == nil {
		return nil, false
	}
	v, ok, err := c.store.Get(ctx, key)
	if err != nil {
		c.log.DebugContext(ctx, "cache: get failed", "err", err.Error())
		return nil, false
	}
	return v, ok
}

// Put stores value, a successful answer of method for [beginDate, endDate],
// for FinalTTL if it is final now, else for TTL (not at all if TTL is 0).
// Errors must not be put.
func (c *Cache) Put(ctx context.Context, key, method, beginDate, endDate string, value []byte) {
	c.put(ctx, key, method, beginDate, endDate, value, c.now())
}

// put is Put with the time the answer was asked for: final only if it was
// final then.
func (c *Cache) put(ctx context.Context, key, method, beginDate, endDate string, value []byte, asked time.Time) {
	ttl := c.ttl
	if IsFinal(method, beginDate, endDate, asked) {
		ttl = c.finalTTL
	}
	if c.store == nil || ttl <= 0 {
		return
	}
	if err := c.store.Set(ctx, key, value, ttl); err != nil {
		c.log.DebugContext(ctx, "cache: set failed", "err", err.Error())
	}
}

// Do returns the answer for key: from the store if it is there (Hit), else
// from fetch, which Do then puts as Put does (Miss), or from an identical
// call's fetch (Shared), by the rule in the package comment. fetch is only
// ever called on Do's own goroutine, with Do's ctx.
//
// The caller whose fetch it was gets fetch's own slice; every other caller
// its own copy, byte-identical. An error is never stored, and is returned as-is to every caller that shared
// it: callers must not mutate it.
func (c *Cache) Do(ctx context.Context, key, method, beginDate, endDate string,
	fetch func(ctx context.Context) ([]byte, error)) ([]byte, Outcome, error) {
	if v, ok := c.Get(ctx, key); ok {
		return v, Hit, nil
	}
	outcome := Miss
	for {
		if err := ctx.Err(); err != nil {
			return nil, outcome, err
		}
		c.mu.Lock()
		f := c.flights[key]
		if f == nil {
			f = &flight{}
			c.flights[key] = f
			c.mu.Unlock()
			v, err := c.fetch(ctx, f, key, method, beginDate, endDate, fetch)
			return v, Miss, err
		}
		if f.done == nil {
			f.done = make(chan struct{})
		}
		f.joined = true
		done := f.done
		c.mu.Unlock()
		if c.onWait != nil {
			c.onWait(key)
		}
		outcome = Shared
		if !c.wait(ctx, done) {
			return nil, Shared, ctx.Err()
		}
		if !f.none {
			if f.err != nil {
				return nil, Shared, f.err
			}
			return bytes.Clone(f.val), Shared, nil
		}
		// The fetcher left before the answer came: fetch under our own
		// context, or join whoever got there first.
		outcome = Miss
	}
}

// wait waits for done until ctx ends and, past its deadline, Grace more. It
// reports whether done was closed.
func (c *Cache) wait(ctx context.Context, done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	case <-ctx.Done():
	}
	if c.grace <= 0 || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return false
	}
	t := time.NewTimer(c.grace)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// fetch runs fetch for flight f under ctx, stores a success, then hands the
// outcome to f's joiners, if any.
func (c *Cache) fetch(ctx context.Context, f *flight, key, method, beginDate, endDate string,
	fetch func(ctx context.Context) ([]byte, error)) ([]byte, error) {
	asked := c.now()
	v, err := protect(ctx, fetch)
	switch {
	case err == nil:
		// Stored even if ctx has just ended: the store has its own budget.
		c.put(context.WithoutCancel(ctx), key, method, beginDate, endDate, v, asked)
	case ctx.Err() != nil:
		f.none = true // our deadline or cancellation, not the upstream's answer
	}
	c.mu.Lock()
	if c.flights[key] == f {
		delete(c.flights, key)
	}
	done, joined := f.done, f.joined
	c.mu.Unlock()
	if joined {
		// Joiners copy from f.val while our caller owns v: never the same
		// bytes.
		f.val, f.err = bytes.Clone(v), err
		close(done)
	}
	return v, err
}

// A PanicError is what Do returns when fetch panicked: to the caller whose
// fetch it was and to those who shared it. Stack is the panicking
// goroutine's, for the log.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("cache: fetch panicked: %v", e.Value) }

func protect(ctx context.Context, fetch func(ctx context.Context) ([]byte, error)) (v []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			v, err = nil, &PanicError{Value: p, Stack: debug.Stack()}
		}
	}()
	return fetch(ctx)
}
