// Package warehouse keeps a Mini Program's analytics history in SQL: every
// answer as WeChat sent it (wxa_raw_answer) and the same data typed and
// normalised, one table per kind (wxa_visit_trend, wxa_daily_summary,
// wxa_retain, wxa_visit_distribution, wxa_visit_page, wxa_user_portrait).
//
// Every row's primary key starts with appid, the Mini Program whose data it
// is: the caller decides it, the warehouse never guesses it, and rows of two
// AppIDs never mix. A period is written in one transaction, its raw answer
// and its typed rows together, replacing what the period held before, so
// that a reader never sees half of one. Versioned migrations (migrations/,
// one folder per dialect) are applied when a Store opens, under a lock, so
// that instances starting together apply each once.
//
// The package links no database driver. A driver package registers itself
// for its URL schemes: warehouse/postgres (lib/pq), warehouse/mysql
// (go-sql-driver/mysql) and warehouse/sqlite (modernc.org/sqlite), so that a
// binary carries only the drivers it imports.
package warehouse

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A Dialect is a family of SQL the warehouse speaks.
type Dialect int

// The dialects.
const (
	Postgres Dialect = iota + 1
	MySQL
	SQLite
)

func (d Dialect) String() string {
	switch d {
	case Postgres:
		return "postgres"
	case MySQL:
		return "mysql"
	case SQLite:
		return "sqlite"
	}
	return "unknown"
}

// A Driver connects to one kind of database for the URL schemes it is
// registered under.
type Driver struct {
	Dialect Dialect
	// Connect returns a connector for u. Its error must not quote u: it
	// may hold a password.
	Connect func(u *url.URL) (driver.Connector, error)
	// Setup, if set, tunes the pool (SQLite: a single connection).
	Setup func(db *sql.DB)
}

var (
	driversMu sync.Mutex
	drivers   = map[string]Driver{}
)

// Register makes d serve DATABASE_URLs of scheme. Driver packages call it
// from init.
func Register(scheme string, d Driver) {
	driversMu.Lock()
	defer driversMu.Unlock()
	drivers[scheme] = d
}

// Schemes are the URL schemes a database can be named by, registered or not.
var Schemes = []string{"postgres", "postgresql", "mysql", "sqlite"}

// An Error is a failure of the store. Its text never holds the URL's
// credentials: it has no cause to unwrap, since drivers' errors often quote
// their connection string.
type Error struct {
	Op  string // connect, migrate, read, write or claim
	Msg string
}

func (e *Error) Error() string { return "warehouse: " + e.Op + ": " + e.Msg }

// ErrClaimLost is returned by Put when the period's claim was taken over by
// another sync (it outlived its expiry): the other sync writes it.
var ErrClaimLost = errors.New("warehouse: the period's claim was taken over by another sync")

// CheckURL reports what is wrong with a DATABASE_URL, without quoting it.
func CheckURL(raw string) error {
	_, _, err := parseURL(raw)
	return err
}

func parseURL(raw string) (string, *url.URL, error) {
	scheme, _, ok := strings.Cut(raw, ":")
	scheme = strings.ToLower(scheme)
	if !ok || !containsString(Schemes, scheme) {
		return "", nil, errors.New("DATABASE_URL must start postgres://, postgresql://, mysql:// or sqlite:")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", nil, errors.New("DATABASE_URL is not a URL: check that a password's special characters are %-encoded")
	}
	switch scheme {
	case "sqlite":
		if u.Opaque == "" && u.Path == "" {
			return "", nil, errors.New("DATABASE_URL sqlite:PATH needs a file path, such as sqlite:wxanalysis.db")
		}
	default:
		if u.Host == "" {
			return "", nil, errors.New("DATABASE_URL " + scheme + "://user:password@host:port/database needs a host")
		}
		if strings.Trim(u.Path, "/") == "" {
			return "", nil, errors.New("DATABASE_URL " + scheme + "://user:password@host:port/database needs a database name")
		}
	}
	return scheme, u, nil
}

func containsString(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

// Options configure Open.
type Options struct {
	Now func() time.Time // nil: time.Now; the clock of fetched_at and claims
	// Version is the schema version Open migrates to; 0: the latest. Tests
	// start from an older one with it.
	Version int
}

// A Store is an opened, migrated database. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect Dialect
	now     func() time.Time
	secrets []string // the URL's credentials, scrubbed from every error
}

// Open connects to the database raw names, checks that it answers and
// applies the migrations it lacks. Errors name DATABASE_URL and never quote
// its credentials.
func Open(ctx context.Context, raw string, opts Options) (*Store, error) {
	scheme, u, err := parseURL(raw)
	if err != nil {
		return nil, &Error{Op: "connect", Msg: err.Error()}
	}
	driversMu.Lock()
	d, ok := drivers[scheme]
	driversMu.Unlock()
	if !ok {
		msg := "DATABASE_URL names a " + scheme + " database, and this build has no driver for it"
		if scheme == "sqlite" {
			msg += ": SQLite is in the local build (make sync, or go build -tags sqlite), not in the deployed function; use PostgreSQL or MySQL there"
		}
		return nil, &Error{Op: "connect", Msg: msg}
	}
	s := &Store{dialect: d.Dialect, now: opts.Now, secrets: secretsOf(u)}
	if s.now == nil {
		s.now = time.Now
	}
	c, err := d.Connect(u)
	if err != nil {
		return nil, s.fail("connect", "DATABASE_URL is not one the "+d.Dialect.String()+" driver accepts", err)
	}
	s.db = sql.OpenDB(c)
	s.db.SetConnMaxIdleTime(time.Minute)
	if d.Setup != nil {
		d.Setup(s.db)
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, s.fail("connect", "the database named by DATABASE_URL does not answer", err)
	}
	if err := s.MigrateTo(ctx, opts.Version); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the store's connections.
func (s *Store) Close() error { return s.db.Close() }

// Dialect returns the store's SQL dialect.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB returns the database, for reading the tables back.
func (s *Store) DB() *sql.DB { return s.db }

// secretsOf lists what of u must never be shown: the password, the user
// with it, and the query's values (lib/pq takes password= and sslpassword=
// there).
func secretsOf(u *url.URL) []string {
	var out []string
	if u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			out = append(out, p, url.QueryEscape(p), url.PathEscape(p))
		}
		out = append(out, u.User.String())
	}
	for _, vs := range u.Query() {
		out = append(out, vs...)
	}
	// A value too short to be a secret would garble every message.
	out = slices.DeleteFunc(out, func(v string) bool { return len(v) < 4 })
	// Longest first, so that a secret inside another is not half replaced.
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// Redact returns msg with the store's credentials replaced.
func (s *Store) Redact(msg string) string {
	for _, v := range s.secrets {
		if v != "" {
			msg = strings.ReplaceAll(msg, v, "xxxxx")
		}
	}
	return msg
}

// fail is a store failure: what happened, then the driver's reason, redacted.
func (s *Store) fail(op, what string, err error) *Error {
	if err == nil {
		return &Error{Op: op, Msg: what}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &Error{Op: op, Msg: what + ": " + err.Error()}
	}
	return &Error{Op: op, Msg: what + ": " + s.Redact(err.Error())}
}

// rebind turns ? placeholders into PostgreSQL's $1, $2, ...
func (s *Store) rebind(q string) string {
	if s.dialect != Postgres {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}
