// Package mysqltest runs a real MariaDB server for tests (Debian's
// mariadb-server package): mariadb-install-db, then mariadbd --user=root, in
// the test's temporary directory with its own socket, on a free loopback
// port, and stopped when the test ends. A user with a password is created
// for the tests to connect as.
package mysqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/wxanalysis/wxanalysis/internal/servertest"
)

// User and Password are the account tests connect as: distinctive, so that
// a test can look for them in output.
const (
	User     = "wxa_tester"
	Password = "mysqltest-Pa55-word"
)

// Server is a running MariaDB.
type Server struct {
	servertest.Server // Stop (SIGTERM), Crash (SIGKILL), Restart

	dir string
	bin string
}

// Start starts a server and stops it when the test ends. Without the
// binaries the test is skipped, or fails under CI=true.
func Start(t testing.TB) *Server {
	t.Helper()
	servertest.Need(t, "mariadbd", "mariadb-server")
	servertest.Need(t, "mariadb-install-db", "mariadb-server")
	s, err := Launch(t.TempDir())
	if err != nil {
		t.Fatalf("mysqltest: %v", err)
	}
	s.T = t
	t.Cleanup(s.Stop)
	return s
}

// Launch starts a server in dir outside a test (the benchmarks); Stop stops it.
func Launch(dir string) (*Server, error) {
	bin, err := exec.LookPath("mariadbd")
	if err != nil {
		return nil, errors.New("mariadbd is not installed (Debian package mariadb-server)")
	}
	s := &Server{dir: dir, bin: bin}
	s.Server = servertest.Server{Name: "mysqltest", StopSignal: syscall.SIGTERM, CrashSignal: syscall.SIGKILL, Command: s.command}
	cmd := exec.Command("mariadb-install-db", "--no-defaults", "--datadir="+filepath.Join(s.dir, "data"), "--user=root",
		"--auth-root-authentication-method=normal", "--skip-test-db")
	if err := servertest.Run(cmd); err != nil {
		return nil, err
	}
	if err := servertest.Retry(s.Start); err != nil {
		return nil, err
	}
	root, err := s.root()
	if err != nil {
		s.Stop()
		return nil, err
	}
	defer root.Close()
	for _, q := range []string{
		"CREATE USER '" + User + "'@'%' IDENTIFIED BY '" + Password + "'",
		"GRANT ALL ON *.* TO '" + User + "'@'%'",
	} {
		if _, err := root.Exec(q); err != nil {
			s.Stop()
			return nil, fmt.Errorf("%s: %v", q, err)
		}
	}
	return s, nil
}

func (s *Server) socket() string { return filepath.Join(s.dir, "sock") }

// root connects as root over the socket.
func (s *Server) root() (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = "root", "unix", s.socket()
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(c), nil
}

func (s *Server) command(port int) (*exec.Cmd, string) {
	cmd := exec.Command(s.bin, "--no-defaults", "--datadir="+filepath.Join(s.dir, "data"), "--user=root",
		"--port="+strconv.Itoa(port), "--bind-address=127.0.0.1", "--socket="+s.socket(),
		"--skip-name-resolve", "--skip-log-bin", "--innodb-flush-log-at-trx-commit=0",
		"--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M", "--max-connections=300")
	return cmd, "ready for connections"
}

// URL returns mysql://<User>:<Password>@127.0.0.1:<port>/<db>.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("mysql://%s:%s@127.0.0.1:%d/%s", User, Password, s.Port(), db)
}

// NewDatabase creates an empty database and returns its URL.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	u, err := s.CreateDatabase()
	if err != nil {
		t.Fatalf("mysqltest: %v", err)
	}
	return u
}

// CreateDatabase creates an empty database and returns its URL.
func (s *Server) CreateDatabase() (string, error) {
	b := make([]byte, 6)
	rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	root, err := s.root()
	if err != nil {
		return "", err
	}
	defer root.Close()
	if _, err := root.ExecContext(context.Background(), "CREATE DATABASE "+name+" CHARACTER SET utf8mb4"); err != nil {
		return "", fmt.Errorf("create database: %v", err)
	}
	return s.URL(name), nil
}
