package warehouse

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations
var migrationFiles embed.FS

// A Migration is one version of the schema: the statements that take a
// database from the version before to it.
type Migration struct {
	Version    int
	Name       string
	Statements []string
}

// Migrations returns d's migrations in version order: files named
// migrations/<dialect>/NNNN_name.sql, statements ending in ";" at a line's end.
func Migrations(d Dialect) ([]Migration, error) {
	dir := path.Join("migrations", d.String())
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s is not named NNNN_name.sql", e.Name())
		}
		b, err := migrationFiles.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		m := Migration{Version: v, Name: name}
		for _, st := range strings.Split(string(b), ";\n") {
			if hasSQL(st) {
				m.Statements = append(m.Statements, strings.TrimSpace(st))
			}
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrations of %s: version %d follows %d", d, m.Version, i)
		}
	}
	return out, nil
}

// hasSQL reports whether a statement is more than comments and space.
func hasSQL(st string) bool {
	for _, line := range strings.Split(st, "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "--") {
			return true
		}
	}
	return false
}

// migrationLock names the lock migrations take: PostgreSQL's advisory lock
// key, MySQL's GET_LOCK name.
const (
	migrationLockKey  = 0x77786131 // "wxa1"
	migrationLockName = "wxa_migrate"
)

// Migrate applies the migrations the database lacks, in order, each
// recorded in wxa_schema_migrations. It holds a lock while it does, so that
// instances starting together apply each migration once: PostgreSQL an
// advisory lock (and each migration is one transaction), MySQL GET_LOCK
// (its DDL commits itself; the statements are written to be re-run), SQLite
// its write lock (BEGIN IMMEDIATE).
func (s *Store) Migrate(ctx context.Context) error {
	return s.MigrateTo(ctx, 0)
}

// MigrateTo is Migrate up to version, 0 for the latest: for tests that
// start from an older schema.
func (s *Store) MigrateTo(ctx context.Context, version int) error {
	all, err := Migrations(s.dialect)
	if err != nil {
		return &Error{Op: "migrate", Msg: err.Error()}
	}
	if version > 0 && version < len(all) {
		all = all[:version]
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return s.fail("migrate", "no connection to the database", err)
	}
	defer conn.Close()
	unlock, err := s.lockMigrations(ctx, conn)
	if err != nil {
		return s.fail("migrate", "could not take the migration lock", err)
	}
	err = s.migrate(ctx, conn, all)
	if uerr := unlock(err == nil); err == nil && uerr != nil {
		return s.fail("migrate", "could not release the migration lock", uerr)
	}
	return err
}

// lockMigrations takes the lock under which migrations run; unlock releases
// it, ok saying whether they succeeded.
func (s *Store) lockMigrations(ctx context.Context, conn *sql.Conn) (unlock func(ok bool) error, err error) {
	switch s.dialect {
	case Postgres:
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
			return nil, err
		}
		return func(bool) error {
			_, err := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockKey)
			return err
		}, nil
	case MySQL:
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 60)", migrationLockName).Scan(&got); err != nil {
			return nil, err
		}
		if got.Int64 != 1 {
			return nil, fmt.Errorf("GET_LOCK(%s) timed out after 60 s: another instance is migrating", migrationLockName)
		}
		return func(bool) error {
			_, err := conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK(?)", migrationLockName)
			return err
		}, nil
	default:
		if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			return nil, err
		}
		// SQLite's lock is the migration's transaction: a failed migration
		// is rolled back whole, never kept half done and unrecorded.
		return func(ok bool) error {
			end := "COMMIT"
			if !ok {
				end = "ROLLBACK"
			}
			_, err := conn.ExecContext(context.WithoutCancel(ctx), end)
			return err
		}, nil
	}
}

const versionsTable = `CREATE TABLE IF NOT EXISTS wxa_schema_migrations (
  version INTEGER NOT NULL PRIMARY KEY,
  name VARCHAR(64) NOT NULL
)`

func (s *Store) migrate(ctx context.Context, conn *sql.Conn, all []Migration) error {
	if _, err := conn.ExecContext(ctx, versionsTable); err != nil {
		return s.fail("migrate", "could not create wxa_schema_migrations", err)
	}
	applied := map[int]bool{}
	rows, err := conn.QueryContext(ctx, "SELECT version FROM wxa_schema_migrations")
	if err != nil {
		return s.fail("migrate", "could not read wxa_schema_migrations", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return s.fail("migrate", "could not read wxa_schema_migrations", err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s.fail("migrate", "could not read wxa_schema_migrations", err)
	}
	for _, m := range all {
		if applied[m.Version] {
			continue
		}
		if err := s.apply(ctx, conn, m); err != nil {
			return s.fail("migrate", fmt.Sprintf("migration %d (%s) failed", m.Version, m.Name), err)
		}
	}
	return nil
}

// apply runs m's statements and records it: in one transaction where DDL is
// transactional (PostgreSQL; SQLite is already inside BEGIN IMMEDIATE).
func (s *Store) apply(ctx context.Context, conn *sql.Conn, m Migration) error {
	type execer interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	}
	var ex execer = conn
	var tx *sql.Tx
	if s.dialect == Postgres {
		var err error
		if tx, err = conn.BeginTx(ctx, nil); err != nil {
			return err
		}
		defer tx.Rollback()
		ex = tx
	}
	for _, st := range m.Statements {
		if _, err := ex.ExecContext(ctx, st); err != nil {
			if s.dialect == MySQL && isDuplicateIndex(err) {
				continue // a run that died after this statement already made it
			}
			return err
		}
	}
	if _, err := ex.ExecContext(ctx, s.rebind("INSERT INTO wxa_schema_migrations (version, name) VALUES (?, ?)"), m.Version, m.Name); err != nil {
		return err
	}
	if tx != nil {
		return tx.Commit()
	}
	return nil
}

// isDuplicateIndex reports MySQL's error 1061, "Duplicate key name".
func isDuplicateIndex(err error) bool { return strings.Contains(err.Error(), "1061") }

// Version returns the highest migration applied.
func (s *Store) Version(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT MAX(version) FROM wxa_schema_migrations").Scan(&v); err != nil {
		return 0, s.fail("read", "could not read wxa_schema_migrations", err)
	}
	return int(v.Int64), nil
}
