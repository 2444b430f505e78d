package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// MaxSharedKey is the longest key Shared keeps (its column's width).
const MaxSharedKey = 191

// Shared is a key-value store with expiry in the database's wxa_shared
// table: what a third-party platform's instances share when there is no
// Redis (the verify ticket, the component and authorizer tokens, their
// fetch locks). It has the methods of openapi.SharedStore. Expiry is by the
// store's clock (Options.Now), so that every instance judges it alike and
// tests can move it; an expired row is absent to Get and is replaced by
// SetNX. It is safe for concurrent use, by any number of processes.
type Shared struct {
	s *Store
}

// Shared returns the store's key-value view.
func (s *Store) Shared() *Shared { return &Shared{s: s} }

func (sh *Shared) check(key string) error {
	if key == "" || len(key) > MaxSharedKey {
		return &Error{Op: "shared", Msg: fmt.Sprintf("a shared key must be 1 to %d bytes", MaxSharedKey)}
	}
	return nil
}

// Get returns key's value; ok is false when there is none or it expired.
func (sh *Shared) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := sh.check(key); err != nil {
		return nil, false, err
	}
	s := sh.s
	var v []byte
	err := s.db.QueryRowContext(ctx, s.rebind("SELECT value FROM wxa_shared WHERE name = ? AND expires_ms > ?"),
		key, s.now().UnixMilli()).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, s.fail("shared", "could not read wxa_shared", err)
	}
	return v, true, nil
}

// Set stores value for ttl (> 0), replacing what key held.
func (sh *Shared) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := sh.check(key); err != nil {
		return err
	}
	s := sh.s
	var q string
	switch s.dialect {
	case MySQL:
		q = "INSERT INTO wxa_shared (name, value, expires_ms) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value), expires_ms = VALUES(expires_ms)"
	default:
		q = "INSERT INTO wxa_shared (name, value, expires_ms) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value, expires_ms = excluded.expires_ms"
	}
	return sh.retry(ctx, func() error {
		_, err := s.db.ExecContext(ctx, s.rebind(q), key, nonNil(value), s.now().Add(ttl).UnixMilli())
		if err != nil {
			return s.fail("shared", "could not write wxa_shared", err)
		}
		return nil
	})
}

// SetNX stores value for ttl only if key has none, or has one that
// expired; it reports whether it did. It is one statement, atomic in every
// dialect: of any number of callers at once, exactly one wins.
func (sh *Shared) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := sh.check(key); err != nil {
		return false, err
	}
	s := sh.s
	var q string
	now := s.now().UnixMilli()
	args := []any{key, nonNil(value), s.now().Add(ttl).UnixMilli(), now}
	switch s.dialect {
	case MySQL:
		// No WHERE on ON DUPLICATE KEY UPDATE: each column keeps its value
		// unless the row expired. value is assigned first, while expires_ms
		// is still the old one. Rows affected: 1 inserted, 2 replaced, 0 kept.
		q = `INSERT INTO wxa_shared (name, value, expires_ms) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE
value = IF(expires_ms <= ?, VALUES(value), value), expires_ms = IF(expires_ms <= ?, VALUES(expires_ms), expires_ms)`
		args = append(args, now)
	default:
		q = `INSERT INTO wxa_shared (name, value, expires_ms) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET value = excluded.value, expires_ms = excluded.expires_ms WHERE wxa_shared.expires_ms <= ?`
	}
	var won bool
	err := sh.retry(ctx, func() error {
		res, err := s.db.ExecContext(ctx, s.rebind(q), args...)
		if err != nil {
			return s.fail("shared", "could not write wxa_shared", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return s.fail("shared", "could not write wxa_shared", err)
		}
		won = n > 0
		return nil
	})
	return won, err
}

// Del removes key.
func (sh *Shared) Del(ctx context.Context, key string) error {
	if err := sh.check(key); err != nil {
		return err
	}
	s := sh.s
	if _, err := s.db.ExecContext(ctx, s.rebind("DELETE FROM wxa_shared WHERE name = ?"), key); err != nil {
		return s.fail("shared", "could not delete from wxa_shared", err)
	}
	return nil
}

// DelIfEqual removes key if its value is value, in one statement, and
// reports whether it did: a fetch lock released only by its holder
// (openapi.ValueDeleter).
func (sh *Shared) DelIfEqual(ctx context.Context, key string, value []byte) (bool, error) {
	if err := sh.check(key); err != nil {
		return false, err
	}
	s := sh.s
	res, err := s.db.ExecContext(ctx, s.rebind("DELETE FROM wxa_shared WHERE name = ? AND value = ?"), key, nonNil(value))
	if err != nil {
		return false, s.fail("shared", "could not delete from wxa_shared", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, s.fail("shared", "could not delete from wxa_shared", err)
	}
	return n > 0, nil
}

// retry runs f again when the database aborted it for another
// transaction's sake (MySQL's deadlocks between concurrent upserts of one
// key): the statement's answer is then still the right one.
func (sh *Shared) retry(ctx context.Context, f func() error) error {
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		if err = f(); err == nil || !sh.s.conflict(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// nonNil is b, or an empty value for nil: the column is NOT NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
