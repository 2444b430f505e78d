// Package redistest runs a real redis-server for tests: on a free loopback
// port, in the test's temporary directory, with no persistence.
package redistest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds a start or stop that hangs; a healthy server takes
// milliseconds.
const startTimeout = 10 * time.Second

// Server is a running redis-server.
type Server struct {
	t   testing.TB
	bin string
	dir string

	mu   sync.Mutex
	port int
	proc *process // nil: stopped
}

type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start starts a redis-server and stops it when the test ends. Without
// redis-server on PATH the test is skipped, or fails when the environment
// has CI=true.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redistest: redis-server is not on PATH, and CI=true requires it (Debian package redis-server)")
		}
		t.Skip("redistest: redis-server is not on PATH; install the Debian package redis-server to run this test")
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	var errs []error
	for range 3 { // a free port can be taken before redis-server binds it
		port, err := freePort()
		if err == nil {
			if err = s.start(port); err == nil {
				t.Cleanup(s.Stop)
				return s
			}
		}
		errs = append(errs, err)
	}
	t.Fatalf("redistest: %v", errors.Join(errs...))
	return nil
}

// Addr returns the server's host:port.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// URL returns redis://host:port.
func (s *Server) URL() string { return "redis://" + s.Addr() }

// Stop stops the server; its data is gone. Stopping a stopped server does
// nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil {
		p.stop()
	}
}

// Restart stops the server if it runs and starts an empty one on the same
// port. Call it from the test's goroutine: it fails the test if it cannot.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(s.port); err != nil {
		s.t.Fatalf("redistest: restart: %v", err)
	}
}

func (s *Server) start(port int) error {
	out := &output{ready: make(chan struct{})}
	cmd := exec.Command(s.bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", s.dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "")
	cmd.Stdout, cmd.Stderr = out, out
	setParentDeath(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-out.ready:
		s.mu.Lock()
		s.port, s.proc = port, p
		s.mu.Unlock()
		return nil
	case <-p.exited:
		return fmt.Errorf("redis-server on port %d exited: %s", port, out.text())
	case <-timer.C:
		p.stop()
		return fmt.Errorf("redis-server on port %d not ready after %v: %s", port, startTimeout, out.text())
	}
}

func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-p.exited:
	case <-timer.C:
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// output is redis-server's log: kept for an error message until the server
// says it is ready, then discarded.
type output struct {
	mu    sync.Mutex
	buf   []byte
	ready chan struct{} // closed on the ready line
}

var readyLine = []byte("Ready to accept connections")

func (o *output) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	select {
	case <-o.ready:
		return len(b), nil
	default:
	}
	if len(o.buf) < 1<<16 {
		o.buf = append(o.buf, b...)
	}
	if bytes.Contains(o.buf, readyLine) {
		close(o.ready)
	}
	return len(b), nil
}

func (o *output) text() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return string(bytes.TrimSpace(o.buf))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
