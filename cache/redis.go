package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wxanalysis/wxanalysis/internal/resp"
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
	RootCAs *x509.CertPool   // for rediss://: the CAs to trust; nil: the system's
}

// Redis is a Store on a Redis server or Redis Cluster, shared by every
// instance that uses it. It never takes longer than its timeout: on a
// failure it logs one warning, answers ErrUnavailable for the back-off
// period without trying, then tries again, and logs once more when Redis
// answers again.
//
// What it reads is checked before it is served: each value is stored in an
// envelope that binds it to its key (see seal), and a value that is not
// one, belongs to another key, is damaged, larger than a result may be, or
// not a JSON object is a miss, with one warning for the first such entry.
// It is safe for concurrent use.
type Redis struct {
	client  *resp.Client
	addr    string
	prefix  string
	timeout time.Duration
	backoff time.Duration
	now     func() time.Time
	log     *slog.Logger
	warned  atomic.Bool // a bad entry has been reported

	mu      sync.Mutex
	down    bool      // since the last warning
	retryAt time.Time // while down: when to try again
}

// NewRedis returns a Redis for rawURL, redis://[user:password@]host[:port][/db]
// or rediss:// for TLS; host:port may be any node of a Redis Cluster. It
// does not connect: an unreachable server costs misses, not an error. Errors
// never contain the URL, which may hold a password.
func NewRedis(rawURL string, opts RedisOptions) (*Redis, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("cache: the Redis URL is not a URL (redis://[user:password@]host[:port][/db], or rediss:// for TLS)")
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("cache: the Redis URL's scheme %q must be redis or rediss", u.Scheme)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return nil, errors.New("cache: the Redis URL has no host")
	}
	if port == "" {
		port = "6379"
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, errors.New("cache: the Redis URL's port must be a number from 1 to 65535")
	}
	db := 0
	if p := u.Path; p != "" && p != "/" {
		if db, err = strconv.Atoi(p[1:]); err != nil || db < 0 {
			return nil, errors.New("cache: the Redis URL's path must be a database number such as /0: invalid database number")
		}
	}
	for name := range u.Query() {
		return nil, fmt.Errorf("cache: the Redis URL has an unexpected option: %.40q (timeouts are the cache's own)", name)
	}
	o := resp.Options{Addr: net.JoinHostPort(host, port), DB: db, MaxReply: maxValue + envelope}
	if u.User != nil {
		o.Username = u.User.Username()
		o.Password, _ = u.User.Password() // redis://:password@host for the default user
	}
	if u.Scheme == "rediss" {
		// The URL's host names the service: cluster nodes announced by
		// address are verified against it too.
		o.TLS = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host, RootCAs: opts.RootCAs}
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
	r.client = resp.New(o)
	return r, nil
}

// maxValue bounds what the cache stores and serves: SCF returns at most 6 MB
// from an invocation (openapi.MaxResult), so nothing larger is a result.
const maxValue = 6_000_000

// The envelope of a stored value: a 4-byte magic, the first 8 bytes of
// SHA-256 of the Redis key it was stored under, the value's length (4
// bytes) and CRC-32C (4 bytes), big-endian, then the value.
const envelope = 4 + 8 + 4 + 4

var magic = []byte("wxa\x02")

// castagnoli is the CRC-32C table, made on first use rather than when the
// package is initialized: making it takes about 0.3 ms (the SSE4.2 tables),
// which every cold start paid, with Redis or without.
var castagnoli = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })

// seal returns value in its envelope for key.
func seal(key string, value []byte) []byte {
	sum := sha256.Sum256([]byte(key))
	b := make([]byte, 0, envelope+len(value))
	b = append(b, magic...)
	b = append(b, sum[:8]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(value)))
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(value, castagnoli()))
	return append(b, value...)
}

// open returns the answer sealed in b for key, or why b is not one.
func open(key string, b []byte) ([]byte, string) {
	v, why := unseal(key, b)
	if why == "" && (len(v) == 0 || v[0] != '{' || !json.Valid(v)) {
		return nil, "not a JSON object"
	}
	return v, why
}

// unseal returns the value sealed in b for key, or why b is not one.
func unseal(key string, b []byte) ([]byte, string) {
	if len(b) < envelope || !bytes.Equal(b[:4], magic) {
		return nil, "not written by this cache"
	}
	sum := sha256.Sum256([]byte(key))
	if !bytes.Equal(b[4:12], sum[:8]) {
		return nil, "written for another key"
	}
	v := b[envelope:]
	switch {
	case int(binary.BigEndian.Uint32(b[12:16])) != len(v):
		return nil, "length does not match"
	case len(v) > maxValue:
		return nil, "larger than a result may be"
	case binary.BigEndian.Uint32(b[16:20]) != crc32.Checksum(v, castagnoli()):
		return nil, "checksum does not match"
	}
	return v, ""
}

// bad reports an entry that is not served: one warning, then debug lines.
func (r *Redis) bad(ctx context.Context, key, why string) {
	level := slog.LevelDebug
	if r.warned.CompareAndSwap(false, true) {
		level = slog.LevelWarn
	}
	r.log.Log(ctx, level, "cache: a Redis entry is not this cache's answer for its key; served as a miss (further ones at debug level)",
		"key", key, "reason", why)
}

// Get returns key's value, a copy; (nil, false, nil) when it is missing or
// not a value this cache stored for key.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if !r.ready() {
		return nil, false, ErrUnavailable
	}
	opCtx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	full := r.prefix + key
	reply, err := r.client.Do(opCtx, full, "GET", full)
	switch {
	case errors.Is(err, resp.Nil):
		return nil, false, r.done(ctx, "get", nil)
	case errors.Is(err, resp.ErrTooLarge):
		r.bad(ctx, full, "larger than a result may be")
		return nil, false, r.done(ctx, "get", nil)
	case err != nil:
		return nil, false, r.done(ctx, "get", err)
	}
	b, _ := reply.([]byte)
	v, why := open(full, b)
	if why != "" {
		r.bad(ctx, full, why)
		return nil, false, r.done(ctx, "get", nil)
	}
	return v, true, r.done(ctx, "get", nil)
}

// Set stores value for ttl, sealed for key; with ttl <= 0, or a value larger
// than a result may be, it stores nothing.
func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 || len(value) > maxValue {
		return nil
	}
	if !r.ready() {
		return ErrUnavailable
	}
	opCtx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	full := r.prefix + key
	_, err := r.client.Do(opCtx, full, "SET", full, seal(full, value), "PX", max(ttl.Milliseconds(), 1))
	return r.done(ctx, "set", err)
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
