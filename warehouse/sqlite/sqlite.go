// Package sqlite registers SQLite for the warehouse: DATABASE_URL
// sqlite:PATH, a file on this machine, through modernc.org/sqlite (pure Go).
// It is the local build's (make sync, go build -tags sqlite): the driver
// adds about 4 MB, which the deployed function's size budget has no room
// for, and a serverless instance's disk does not last anyway.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"net/url"
	"strings"
	"time"

	"modernc.org/sqlite"

	"github.com/wxanalysis/wxanalysis/warehouse"
)

func init() {
	warehouse.Register("sqlite", warehouse.Driver{Dialect: warehouse.SQLite, Connect: connect, Setup: setup})
}

// pragmas: wait for the file's lock rather than fail at once; a write-ahead
// log, so that readers do not block the writer; transactions take the write
// lock at BEGIN, so that two never deadlock upgrading.
const pragmas = "?_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"

func connect(u *url.URL) (driver.Connector, error) {
	path := u.Opaque
	if path == "" {
		path = u.Path
	}
	return connector{dsn: "file:" + path + pragmas}, nil
}

// setup: SQLite has a single writer; one connection per process keeps this
// process's writers in line without busy waits.
func setup(db *sql.DB) { db.SetMaxOpenConns(1) }

type connector struct{ dsn string }

// Connect opens a connection. Two processes opening a new file at once can
// meet SQLITE_BUSY while one switches it to WAL, which busy_timeout does
// not cover: that is tried again while ctx allows, for at most 20 s.
func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	giveUp := time.Now().Add(20 * time.Second)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		conn, err := (&sqlite.Driver{}).Open(c.dsn)
		if err == nil || !strings.Contains(err.Error(), "SQLITE_BUSY") || time.Now().After(giveUp) {
			return conn, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
	}
}

func (c connector) Driver() driver.Driver { return &sqlite.Driver{} }
