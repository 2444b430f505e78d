package cache

import (
	"context"
	"time"
)

// SetNX stores value for ttl only if key has no value, and reports whether
// it did: the lock by which one instance fetches a shared token while the
// others wait (openapi.SharedStore).
func (r *Redis) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if !r.ready() {
		return false, ErrUnavailable
	}
	opCtx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	ok, err := r.client.SetNX(opCtx, r.prefix+key, value, ttl).Result()
	return ok, r.done(ctx, "setnx", err)
}

// Del removes key.
func (r *Redis) Del(ctx context.Context, key string) error {
	if !r.ready() {
		return ErrUnavailable
	}
	opCtx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	return r.done(ctx, "del", r.client.Del(opCtx, r.prefix+key).Err())
}
