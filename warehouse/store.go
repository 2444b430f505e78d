package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// dateOf parses a yyyymmdd date.
func dateOf(s string) (time.Time, error) {
	t, err := time.Parse("20060102", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("warehouse: %q is not a yyyymmdd date", s)
	}
	return t, nil
}

// iso is a yyyymmdd date as SQL's yyyy-mm-dd.
func iso(s string) string {
	if len(s) != 8 {
		return s
	}
	return s[:4] + "-" + s[4:6] + "-" + s[6:]
}

// compact reads a DATE column back as yyyymmdd, whatever the driver gives.
func compact(v any) string {
	switch t := v.(type) {
	case time.Time:
		return t.Format("20060102")
	case []byte:
		return compact(string(t))
	case string:
		if len(t) >= 10 {
			return t[:4] + t[5:7] + t[8:10]
		}
		return t
	}
	return fmt.Sprint(v)
}

// Final returns the raw answer of p if the store holds it as final.
func (s *Store) Final(ctx context.Context, p Period) ([]byte, bool, error) {
	var body string
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT body FROM wxa_raw_answer
WHERE appid = ? AND method = ? AND begin_date = ? AND end_date = ? AND final = ?`),
		p.AppID, p.Method, iso(p.BeginDate), iso(p.EndDate), true).Scan(&body)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, s.fail("read", "could not read wxa_raw_answer", err)
	}
	return []byte(body), true, nil
}

// FinalPeriods returns the periods of appid the store holds as final.
func (s *Store) FinalPeriods(ctx context.Context, appid string) (map[Period]bool, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT method, begin_date, end_date FROM wxa_raw_answer
WHERE appid = ? AND final = ?`), appid, true)
	if err != nil {
		return nil, s.fail("read", "could not read wxa_raw_answer", err)
	}
	defer rows.Close()
	out := map[Period]bool{}
	for rows.Next() {
		var (
			method     string
			begin, end any
		)
		if err := rows.Scan(&method, &begin, &end); err != nil {
			return nil, s.fail("read", "could not read wxa_raw_answer", err)
		}
		out[Period{AppID: appid, Method: method, BeginDate: compact(begin), EndDate: compact(end)}] = true
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("read", "could not read wxa_raw_answer", err)
	}
	return out, nil
}

// Claim claims p for owner until expiry, so that no other sync fetches it
// meanwhile; from expiry on, by the store's clock, the claim has lapsed, as
// the run BeginRun recorded with the same expiry no longer counts as
// running. It reports false if another owner holds p, or if p was
// written at or after since (by a sync that ran while this one did): either
// way the caller leaves p alone. An owner may claim again what it holds: a
// run of its that lost the database could not release its claims.
func (s *Store) Claim(ctx context.Context, p Period, owner string, expiry, since time.Time) (bool, error) {
	args := []any{p.AppID, p.Method, iso(p.BeginDate), iso(p.EndDate), owner, expiry.UnixMilli(), int64(0)}
	var q string
	switch s.dialect {
	case MySQL:
		// Not INSERT IGNORE, which would also swallow errors that are not
		// the claim being held (a truncation, say).
		q = "INSERT INTO wxa_sync_claim (appid, method, begin_date, end_date, owner, expires_ms, fetched_ms) VALUES (?, ?, ?, ?, ?, ?, ?)"
	default:
		q = "INSERT INTO wxa_sync_claim (appid, method, begin_date, end_date, owner, expires_ms, fetched_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
	}
	res, err := s.db.ExecContext(ctx, s.rebind(q), args...)
	switch {
	case err != nil && !s.duplicate(err):
		return false, s.fail("claim", "could not claim "+p.String(), err)
	case err == nil:
		if n, _ := res.RowsAffected(); n == 1 {
			return true, nil
		}
	}
	res, err = s.db.ExecContext(ctx, s.rebind(`UPDATE wxa_sync_claim SET owner = ?, expires_ms = ?
WHERE appid = ? AND method = ? AND begin_date = ? AND end_date = ? AND (expires_ms <= ? OR owner = ?) AND fetched_ms < ?`),
		owner, expiry.UnixMilli(), p.AppID, p.Method, iso(p.BeginDate), iso(p.EndDate), s.now().UnixMilli(), owner, since.UnixMilli())
	if err != nil {
		return false, s.fail("claim", "could not claim "+p.String(), err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Release gives up owner's claim of p, leaving it for the next sync.
func (s *Store) Release(ctx context.Context, p Period, owner string) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`UPDATE wxa_sync_claim SET expires_ms = 0
WHERE appid = ? AND method = ? AND begin_date = ? AND end_date = ? AND owner = ?`),
		p.AppID, p.Method, iso(p.BeginDate), iso(p.EndDate), owner)
	if err != nil {
		return s.fail("claim", "could not release "+p.String(), err)
	}
	return nil
}

// insertBatch bounds the rows of one INSERT: every database's limit on
// placeholders stays far away.
const insertBatch = 200

// Put writes a, final or not, fetched at at: its raw answer and its typed
// rows, replacing what the period held, in one transaction. With an owner,
// the period must be claimed by it (else ErrClaimLost and nothing is
// written), and the claim ends, marked written.
func (s *Store) Put(ctx context.Context, a *Answer, owner string, final bool, at time.Time) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = s.put(ctx, a, owner, final, at)
		if err == nil || attempt == 3 || !s.conflict(err) || ctx.Err() != nil {
			return err
		}
	}
}

// duplicate reports MySQL's duplicate-key error (1062): the row is there.
func (s *Store) duplicate(err error) bool {
	return s.dialect == MySQL && strings.Contains(err.Error(), "Error 1062")
}

// conflict reports a transaction the database chose to abort for another's
// sake (a deadlock, a serialization failure): tried again, it succeeds.
func (s *Store) conflict(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	for _, code := range []string{"Error 1213", "Error 1205", "40001", "40P01", "deadlock detected", "could not serialize access"} {
		if strings.Contains(e.Msg, code) {
			return true
		}
	}
	return false
}

func (s *Store) put(ctx context.Context, a *Answer, owner string, final bool, at time.Time) error {
	p := a.Period
	var opts *sql.TxOptions
	if s.dialect == MySQL {
		// No gap locks: two periods' DELETE and INSERT never deadlock.
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return s.fail("write", "could not begin a transaction", err)
	}
	defer tx.Rollback()
	if owner != "" {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE wxa_sync_claim SET expires_ms = 0, fetched_ms = ?
WHERE appid = ? AND method = ? AND begin_date = ? AND end_date = ? AND owner = ?`),
			s.now().UnixMilli(), p.AppID, p.Method, iso(p.BeginDate), iso(p.EndDate), owner)
		if err != nil {
			return s.fail("write", "could not update wxa_sync_claim", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrClaimLost
		}
	}
	at = at.UTC().Truncate(time.Millisecond)
	var upsert string
	switch s.dialect {
	case MySQL:
		upsert = `INSERT INTO wxa_raw_answer (appid, method, begin_date, end_date, body, final, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?)
ON DUPLICATE KEY UPDATE body = VALUES(body), final = VALUES(final), fetched_at = VALUES(fetched_at)`
	default:
		upsert = `INSERT INTO wxa_raw_answer (appid, method, begin_date, end_date, body, final, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (appid, method, begin_date, end_date) DO UPDATE SET body = excluded.body, final = excluded.final, fetched_at = excluded.fetched_at`
	}
	if _, err := tx.ExecContext(ctx, s.rebind(upsert), p.AppID, p.Method, iso(p.BeginDate), iso(p.EndDate), string(a.Body), final, s.timeArg(at)); err != nil {
		return s.fail("write", "could not write wxa_raw_answer", err)
	}
	t := a.table
	key := []any{p.AppID}
	where := "appid = ?"
	lead := []string{"appid"}
	if t.granularity != "" {
		key = append(key, t.granularity)
		where += " AND granularity = ?"
		lead = append(lead, "granularity")
	}
	key = append(key, iso(p.BeginDate), iso(p.EndDate))
	where += " AND begin_date = ? AND end_date = ?"
	lead = append(lead, "begin_date", "end_date")
	if _, err := tx.ExecContext(ctx, s.rebind("DELETE FROM "+t.name+" WHERE "+where), key...); err != nil {
		return s.fail("write", "could not replace the rows of "+t.name, err)
	}
	cols := append(append(lead, t.cols...), "final", "fetched_at")
	one := "(" + strings.Repeat("?, ", len(cols)-1) + "?)"
	for start := 0; start < len(a.rows); start += insertBatch {
		batch := a.rows[start:min(len(a.rows), start+insertBatch)]
		args := make([]any, 0, len(batch)*len(cols))
		values := make([]string, len(batch))
		for i, r := range batch {
			args = append(append(append(args, key...), r...), final, s.timeArg(at))
			values[i] = one
		}
		q := "INSERT INTO " + t.name + " (" + strings.Join(cols, ", ") + ") VALUES " + strings.Join(values, ", ")
		if _, err := tx.ExecContext(ctx, s.rebind(q), args...); err != nil {
			return s.fail("write", "could not write "+t.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return s.fail("write", "could not commit "+p.String(), err)
	}
	return nil
}

// timeArg is a timestamp as the dialect stores it: SQLite as ISO 8601 text
// in UTC, which sorts and compares as time does.
func (s *Store) timeArg(t time.Time) any {
	if s.dialect == SQLite {
		return t.Format("2006-01-02T15:04:05.000Z")
	}
	return t
}

// BeginRun records that owner syncs appid from start until expiry, and
// returns since for Claim: the start of the earliest sync of appid still
// running, this one included. What a sync running alongside wrote is left
// alone, even if it began first.
func (s *Store) BeginRun(ctx context.Context, appid, owner string, start, expiry time.Time) (time.Time, error) {
	var q string
	switch s.dialect {
	case MySQL:
		q = `INSERT INTO wxa_sync_run (appid, owner, started_ms, expires_ms) VALUES (?, ?, ?, ?)
ON DUPLICATE KEY UPDATE started_ms = VALUES(started_ms), expires_ms = VALUES(expires_ms)`
	default:
		q = `INSERT INTO wxa_sync_run (appid, owner, started_ms, expires_ms) VALUES (?, ?, ?, ?)
ON CONFLICT (appid, owner) DO UPDATE SET started_ms = excluded.started_ms, expires_ms = excluded.expires_ms`
	}
	if _, err := s.db.ExecContext(ctx, s.rebind(q), appid, owner, start.UnixMilli(), expiry.UnixMilli()); err != nil {
		return time.Time{}, s.fail("claim", "could not record the sync in wxa_sync_run", err)
	}
	var first sql.NullInt64
	err := s.db.QueryRowContext(ctx, s.rebind("SELECT MIN(started_ms) FROM wxa_sync_run WHERE appid = ? AND expires_ms > ?"),
		appid, s.now().UnixMilli()).Scan(&first)
	if err != nil {
		return time.Time{}, s.fail("claim", "could not read wxa_sync_run", err)
	}
	if first.Valid && first.Int64 < start.UnixMilli() {
		return time.UnixMilli(first.Int64), nil
	}
	return start, nil
}

// EndRun records that owner's sync of appid has ended.
func (s *Store) EndRun(ctx context.Context, appid, owner string) error {
	_, err := s.db.ExecContext(ctx, s.rebind("DELETE FROM wxa_sync_run WHERE appid = ? AND owner = ?"), appid, owner)
	if err != nil {
		return s.fail("claim", "could not update wxa_sync_run", err)
	}
	return nil
}
