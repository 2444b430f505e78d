// Package cache keeps WeChat's analysis answers: final ones (whose period's
// data no longer changes, see FinalAt) for long, others briefly, in process
// (Memory) or shared between instances (Redis); and it makes identical calls
// in flight at the same time share one upstream call.
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

	mu     sync.Mutex
	calls  map[string]*call
	onWait func(key string) // tests: a caller waits for a call
}

// A call is one fetch in flight and the callers waiting for it.
type call struct {
	done    chan struct{} // closed when val and err are set
	val     []byte        // read-only once done
	err     error
	waiters int // guarded by Cache.mu
	cancel  context.CancelFunc
}

// New returns a Cache on store; a nil store caches nothing but still shares
// calls.
func New(store Store, opts Options) *Cache {
	c := &Cache{store: store, ttl: opts.TTL, finalTTL: opts.FinalTTL, grace: opts.Grace, now: opts.Now, log: opts.Logger,
		calls: make(map[string]*call)}
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
const keyPrefix = "wxa:v1:"

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
// from fetch, which Do then puts as Put does (Miss). Identical calls (same
// key) in flight at the same time share the first one's fetch (Shared); the
// others' fetch is not called.
//
// The fetch runs on its own goroutine with a context that keeps the first
// caller's values and deadline but not its cancellation: a caller whose ctx
// is cancelled returns ctx.Err() at once (after its deadline, Grace later),
// and the fetch goes on for those still waiting; it is cancelled when no
// caller waits any more, so it lives as long as the longest-waiting caller
// and no longer. The answer is stored before the callers get it, so that the
// next call finds it.
//
// Each caller gets its own copy of the value, byte-identical to fetch's. An
// error is never stored, and is returned as-is to every caller that shared
// it: callers must not mutate it. A panic in fetch becomes an error.
func (c *Cache) Do(ctx context.Context, key, method, beginDate, endDate string,
	fetch func(ctx context.Context) ([]byte, error)) ([]byte, Outcome, error) {
	if v, ok := c.Get(ctx, key); ok {
		return v, Hit, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, Miss, err
	}
	outcome := Shared
	c.mu.Lock()
	cl := c.calls[key]
	if cl == nil {
		outcome = Miss
		var (
			fctx   context.Context
			cancel context.CancelFunc
		)
		if dl, ok := ctx.Deadline(); ok {
			fctx, cancel = context.WithDeadline(context.WithoutCancel(ctx), dl)
		} else {
			fctx, cancel = context.WithCancel(context.WithoutCancel(ctx))
		}
		cl = &call{done: make(chan struct{}), cancel: cancel}
		c.calls[key] = cl
		go c.run(fctx, cl, key, method, beginDate, endDate, fetch)
	}
	cl.waiters++
	c.mu.Unlock()
	if c.onWait != nil {
		c.onWait(key)
	}
	select {
	case <-cl.done:
		return cl.result(outcome)
	case <-ctx.Done():
		if c.grace > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t := time.NewTimer(c.grace)
			select {
			case <-cl.done:
				t.Stop()
				return cl.result(outcome)
			case <-t.C:
			}
		}
		c.mu.Lock()
		if cl.waiters--; cl.waiters == 0 {
			cl.cancel()
			if c.calls[key] == cl {
				delete(c.calls, key) // the next caller starts afresh
			}
		}
		c.mu.Unlock()
		return nil, outcome, ctx.Err()
	}
}

// result is cl's outcome for one caller: its own copy of the value.
func (cl *call) result(o Outcome) ([]byte, Outcome, error) {
	if cl.err != nil {
		return nil, o, cl.err
	}
	return bytes.Clone(cl.val), o, nil
}

// run fetches for cl, stores a success, then hands the outcome to the waiters.
func (c *Cache) run(ctx context.Context, cl *call, key, method, beginDate, endDate string,
	fetch func(ctx context.Context) ([]byte, error)) {
	asked := c.now()
	cl.val, cl.err = protect(ctx, fetch)
	if cl.err == nil {
		// Stored even if every caller has left: Redis has its own budget.
		c.put(context.WithoutCancel(ctx), key, method, beginDate, endDate, cl.val, asked)
	}
	c.mu.Lock()
	if c.calls[key] == cl {
		delete(c.calls, key)
	}
	c.mu.Unlock()
	cl.cancel()
	close(cl.done)
}

func protect(ctx context.Context, fetch func(ctx context.Context) ([]byte, error)) (v []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			v, err = nil, fmt.Errorf("cache: fetch panicked: %v", p)
		}
	}()
	return fetch(ctx)
}
