// Package pgtest runs a real PostgreSQL server for tests (Debian's
// postgresql package): initdb and postgres as the postgres user, which the
// package creates (initdb refuses root), in a temporary directory, on a free
// loopback port, with a password, and stopped when the test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	_ "github.com/lib/pq" // to create databases

	"github.com/wxanalysis/wxanalysis/internal/servertest"
)

// BinDir is where Debian's postgresql-15 puts its programs.
var BinDir = "/usr/lib/postgresql/15/bin"

// Password is the postgres user's password on every server pgtest starts:
// distinctive, so that a test can look for it in output.
const Password = "pgtest-Pa55-word"

// Server is a running PostgreSQL.
type Server struct {
	servertest.Server // Stop (a fast shutdown), Crash (an immediate one: no checkpoint, recovery at the next start), Restart

	dir  string
	cred *syscall.Credential
	bin  string
}

// Start starts a server and stops it when the test ends. Without the
// binaries the test is skipped, or fails under CI=true.
func Start(t testing.TB) *Server {
	t.Helper()
	servertest.Need(t, filepath.Join(BinDir, "postgres"), "postgresql")
	if _, err := user.Lookup("postgres"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pgtest: no postgres user (Debian package postgresql creates it)")
		}
		t.Skip("pgtest: no postgres user; install the Debian package postgresql")
	}
	s, err := Launch()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	s.T = t
	t.Cleanup(s.Close)
	return s
}

// Launch starts a server outside a test (the benchmarks); Close stops it
// and removes its files.
func Launch() (*Server, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("no postgres user: install the Debian package postgresql")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	// Not t.TempDir: its parents are root's and closed to postgres.
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, bin: filepath.Join(BinDir, "postgres")}
	s.Server = servertest.Server{Name: "pgtest", StopSignal: syscall.SIGINT, CrashSignal: syscall.SIGQUIT, Command: s.command}
	fail := func(err error) (*Server, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	if os.Getuid() == 0 {
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return fail(err)
		}
	}
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(Password+"\n"), 0o600); err != nil {
		return fail(err)
	}
	if s.cred != nil {
		os.Chown(pw, uid, gid)
	}
	initdb := exec.Command(filepath.Join(BinDir, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "postgres",
		"--pwfile", pw, "-A", "scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	if err := servertest.Run(initdb); err != nil {
		return fail(fmt.Errorf("initdb: %v", err))
	}
	if err := servertest.Retry(s.Start); err != nil {
		return fail(err)
	}
	return s, nil
}

// Close stops the server and removes its files.
func (s *Server) Close() {
	s.Stop()
	os.RemoveAll(s.dir)
}

func (s *Server) command(port int) (*exec.Cmd, string) {
	cmd := exec.Command(s.bin, "-D", filepath.Join(s.dir, "data"), "-p", strconv.Itoa(port), "-k", s.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=200", "-c", "shared_buffers=32MB")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	return cmd, "database system is ready to accept connections"
}

// URL returns postgres://postgres:<Password>@127.0.0.1:<port>/<db>?sslmode=disable.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/%s?sslmode=disable", Password, s.Port(), db)
}

// NewDatabase creates an empty database and returns its URL.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	u, err := s.CreateDatabase()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

// CreateDatabase creates an empty database and returns its URL.
func (s *Server) CreateDatabase() (string, error) {
	b := make([]byte, 6)
	rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	db, err := sql.Open("postgres", s.URL("postgres"))
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database: %v", err)
	}
	return s.URL(name), nil
}
