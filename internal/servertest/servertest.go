// Package servertest runs a server process for a test: started on
// a free loopback port, ready when its log says so, killed with the test
// binary if that dies first. pgtest, mysqltest and redistest build on it.
package servertest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Timeout bounds a start or a stop that hangs; a healthy server takes
// seconds.
const Timeout = 60 * time.Second

// Need finds a server binary: it skips the test without it, or fails it
// when the environment has CI=true.
func Need(t testing.TB, bin, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(bin)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed, and CI=true requires it (Debian package %s)", bin, pkg)
		}
		t.Skipf("%s is not installed; install the Debian package %s to run this test", bin, pkg)
	}
	return path
}

// A Process is a running server.
type Process struct {
	cmd    *exec.Cmd
	exited chan struct{}
	out    *output
}

// Start starts cmd and waits until its output holds ready.
func Start(cmd *exec.Cmd, ready string) (*Process, error) {
	out := &output{ready: make(chan struct{}), line: []byte(ready)}
	cmd.Stdout, cmd.Stderr = out, out
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	setParentDeath(cmd.SysProcAttr)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, exited: make(chan struct{}), out: out}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	timer := time.NewTimer(Timeout)
	defer timer.Stop()
	select {
	case <-out.ready:
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("%s exited: %s", cmd.Path, out.text())
	case <-timer.C:
		p.Stop(syscall.SIGKILL)
		return nil, fmt.Errorf("%s not ready after %v: %s", cmd.Path, Timeout, out.text())
	}
}

// Stop sends sig and waits for the server to exit, killing it if it takes
// longer than Timeout.
func (p *Process) Stop(sig syscall.Signal) {
	_ = p.cmd.Process.Signal(sig)
	timer := time.NewTimer(Timeout)
	defer timer.Stop()
	select {
	case <-p.exited:
	case <-timer.C:
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// Run runs cmd to its end, with its output in the error if it fails.
func Run(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	setParentDeath(cmd.SysProcAttr)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", cmd.Path, err, bytes.TrimSpace(out))
	}
	return nil
}

// output is a server's log: kept for an error message until the ready
// line, then discarded.
type output struct {
	mu    sync.Mutex
	buf   []byte
	line  []byte
	ready chan struct{}
}

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
	if bytes.Contains(o.buf, o.line) {
		close(o.ready)
	}
	return len(b), nil
}

func (o *output) text() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return string(bytes.TrimSpace(o.buf))
}

// FreePort returns a loopback port free now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Retry starts a server up to three times: a free port can be taken before
// the server binds it.
func Retry(start func(port int) error) error {
	var errs []error
	for range 3 {
		port, err := FreePort()
		if err == nil {
			if err = start(port); err == nil {
				return nil
			}
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// A Server is a server process a test stops, crashes, and starts again on
// its port with its data: what pgtest and mysqltest share. Fill in its
// fields, then Start it (through Retry, for a free port).
type Server struct {
	Name        string         // the package running it, for messages
	StopSignal  syscall.Signal // a clean shutdown
	CrashSignal syscall.Signal // an abrupt one, as a crash, its data kept
	// Command is the server on port, and the log line that says it is ready.
	Command func(port int) (cmd *exec.Cmd, ready string)
	T       testing.TB // Restart fails it; nil outside a test

	mu   sync.Mutex
	port int
	proc *Process
}

// Start starts the server on port.
func (s *Server) Start(port int) error {
	cmd, ready := s.Command(port)
	p, err := Start(cmd, ready)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.port, s.proc = port, p
	s.mu.Unlock()
	return nil
}

// Port is the port the server was last started on.
func (s *Server) Port() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.port
}

// Stop stops the server with StopSignal. Stopping a stopped server does
// nothing.
func (s *Server) Stop() { s.halt(s.StopSignal) }

// Crash stops the server with CrashSignal, keeping its data.
func (s *Server) Crash() { s.halt(s.CrashSignal) }

func (s *Server) halt(sig syscall.Signal) {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil {
		p.Stop(sig)
	}
}

// Restart starts the stopped server again on its port, with its data.
func (s *Server) Restart() {
	s.T.Helper()
	s.Stop()
	if err := s.Start(s.Port()); err != nil {
		s.T.Fatalf("%s: restart: %v", s.Name, err)
	}
}
