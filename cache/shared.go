package cache

import (
	"context"
	"errors"
	"time"

	"github.com/wxanalysis/wxanalysis/internal/resp"
)

// Values is a view of a Redis for values other than answers, such as the
// third-party platform's ticket and tokens (openapi.SharedStore): sealed to
// their key like answers, but any bytes. Its keys live apart from answers'.
type Values struct{ r *Redis }

// Values returns r's view for values other than answers.
func (r *Redis) Values() *Values { return &Values{r} }

// sharedPrefix keeps shared values out of the answers' key space.
const sharedPrefix = "wxa:shared:"

func (s *Values) op(ctx context.Context, op string, key string, args ...any) (any, error) {
	if !s.r.ready() {
		return nil, ErrUnavailable
	}
	opCtx, cancel := context.WithTimeout(ctx, s.r.timeout)
	defer cancel()
	v, err := s.r.client.Do(opCtx, key, args...)
	if errors.Is(err, resp.Nil) {
		return nil, s.r.done(ctx, op, nil)
	}
	return v, s.r.done(ctx, op, err)
}

// Get returns key's value; ok is false when there is none, or when what is
// there is not a value stored under key.
func (s *Values) Get(ctx context.Context, key string) ([]byte, bool, error) {
	full := s.r.prefix + sharedPrefix + key
	v, err := s.op(ctx, "get", full, "GET", full)
	b, _ := v.([]byte)
	if err != nil || b == nil {
		return nil, false, err
	}
	out, why := unseal(full, b)
	if why != "" {
		s.r.bad(ctx, full, why)
		return nil, false, nil
	}
	return out, true, nil
}

// Set stores value for ttl.
func (s *Values) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	full := s.r.prefix + sharedPrefix + key
	_, err := s.op(ctx, "set", full, "SET", full, seal(full, value), "PX", max(ttl.Milliseconds(), 1))
	return err
}

// SetNX stores value for ttl only if key has no value, and reports whether
// it did: the lock by which one instance fetches a shared token while the
// others wait.
func (s *Values) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	full := s.r.prefix + sharedPrefix + key
	v, err := s.op(ctx, "setnx", full, "SET", full, seal(full, value), "PX", max(ttl.Milliseconds(), 1), "NX")
	return v != nil && err == nil, err
}

// Del removes key.
func (s *Values) Del(ctx context.Context, key string) error {
	full := s.r.prefix + sharedPrefix + key
	_, err := s.op(ctx, "del", full, "DEL", full)
	return err
}

// delIfEqual deletes KEYS[1] only if it holds ARGV[1].
var delIfEqual = resp.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)

// DelIfEqual removes key if its value is value, atomically, and reports
// whether it did: a fetch lock released only by its holder
// (openapi.ValueDeleter).
func (s *Values) DelIfEqual(ctx context.Context, key string, value []byte) (bool, error) {
	if !s.r.ready() {
		return false, ErrUnavailable
	}
	full := s.r.prefix + sharedPrefix + key
	opCtx, cancel := context.WithTimeout(ctx, s.r.timeout)
	defer cancel()
	v, err := s.r.client.Run(opCtx, delIfEqual, []string{full}, seal(full, value))
	n, _ := v.(int64)
	return n == 1, s.r.done(ctx, "del", err)
}
