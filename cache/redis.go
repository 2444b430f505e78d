package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Defaults of RedisOptions.
const (
	DefaultRedisTimeout = 50 * time.Millisecond
	DefaultRedisBackoff = 10 * time.Second
)

// ErrUnavailable is what Redis returns, without trying, while it backs off
// after a failure.
var ErrUnavailable = errors.New("cache: redis unavailable, backing off")

// RedisOptions configure NewRedis.
type RedisOptions struct {
	Timeout time.Duration    // budget of one operation, dialing included; 0: DefaultRedisTimeout
	Backoff time.Duration    // how long to leave Redis alone after a failure; 0: DefaultRedisBackoff
	Logger  *slog.Logger     // nil: slog.Default()
	Now     func() time.Time // nil: time.Now; the clock of the back-off
	Prefix  string           // prepended to every key, e.g. "wxanalysis:"
}

// Redis is a Store on a Redis server, shared by every instance that uses the
// same server. It never takes longer than its timeout: on a failure it logs
// one warning, answers ErrUnavailable for the back-off period without trying,
// then tries again, and logs once more when Redis answers again. It is safe
// for concurrent use.
type Redis struct {
	client  *redis.Client
	addr    string
	prefix  string
	timeout time.Duration
	backoff time.Duration
	now     func() time.Time
	log     *slog.Logger

	mu      sync.Mutex
	down    bool      // since the last warning
	retryAt time.Time // while down: when to try again
}

// NewRedis returns a Redis for rawURL, redis://[user:password@]host[:port][/db]
// or rediss:// for TLS. It does not connect: an unreachable server costs
// misses, not an error. Errors never contain the URL, which may hold a
// password.
//
// go-redis has one logger for the whole process; NewRedis sends its lines to
// opts.Logger at debug level, so that a server going down is the one warning
// of Redis and not a line per attempt on stderr.
func NewRedis(rawURL string, opts RedisOptions) (*Redis, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("cache: the Redis URL is not a URL (redis://[user:password@]host[:port][/db], or rediss:// for TLS)")
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("cache: the Redis URL's scheme %q must be redis or rediss", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, errors.New("cache: the Redis URL has no host")
	}
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("cache: the Redis URL: %w", err) // about its path or query, not its password
	}
	r := &Redis{
		addr: o.Addr, prefix: opts.Prefix, timeout: opts.Timeout, backoff: opts.Backoff,
		now: opts.Now, log: opts.Logger,
	}
	if r.timeout <= 0 {
		r.timeout = DefaultRedisTimeout
	}
	if r.backoff <= 0 {
		r.backoff = DefaultRedisBackoff
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	// One attempt within the budget, whatever the URL's query asks: a cache
	// that waits is worse than none.
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = r.timeout, r.timeout, r.timeout, r.timeout
	o.ContextTimeoutEnabled = true
	o.MaxRetries = -1
	o.DialerRetries = 1
	// No extra round trips on connect.
	o.DisableIdentity = true
	o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	redis.SetLogger(debugLog{r.log})
	r.client = redis.NewClient(o)
	return r, nil
}

// Get returns key's value, a copy; (nil, false, nil) when it is missing.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if !r.ready() {
		return nil, false, ErrUnavailable
	}
	opCtx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	// Result, not Bytes: Bytes aliases the reply string's memory.
	s, err := r.client.Get(opCtx, r.prefix+key).Result()
	if errors.Is(err, redis.Nil) {
		return nil, false, r.done(ctx, "get", nil)
	}
	if err != nil {
		return nil, false, r.done(ctx, "get", err)
	}
	return []byte(s), true, r.done(ctx, "get", nil)
}

// Set stores value for ttl; with ttl <= 0 it stores nothing.
func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	if !r.ready() {
		return ErrUnavailable
	}
	opCtx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	return r.done(ctx, "set", r.client.Set(opCtx, r.prefix+key, value, ttl).Err())
}

// Close closes the connections.
func (r *Redis) Close() error { return r.client.Close() }

// ready reports whether to try Redis: not while backing off.
func (r *Redis) ready() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.down || !r.now().Before(r.retryAt)
}

// done records the outcome of an operation and returns its error, wrapped.
// The caller's context ending is not Redis failing.
func (r *Redis) done(ctx context.Context, op string, err error) error {
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("cache: redis %s: %w", op, ctx.Err())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		if r.down {
			r.down = false
			r.log.Info("cache: Redis answers again", "addr", r.addr)
		}
		return nil
	}
	if !r.down {
		r.down = true
		r.log.Warn("cache: Redis failed; serving without it and trying again periodically",
			"addr", r.addr, "op", op, "err", err.Error(), "retry_every", r.backoff.String())
	}
	r.retryAt = r.now().Add(r.backoff)
	return fmt.Errorf("cache: redis %s: %w", op, err)
}

// debugLog carries go-redis's own log lines to a slog.Logger at debug level.
type debugLog struct{ l *slog.Logger }

func (d debugLog) Printf(ctx context.Context, format string, v ...any) {
	if d.l.Enabled(ctx, slog.LevelDebug) {
		d.l.DebugContext(ctx, fmt.Sprintf(format, v...))
	}
}
