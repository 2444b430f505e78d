// Package redistest runs a real redis-server for tests: on a free loopback
// port, in the test's temporary directory, with no persistence.
package redistest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wxanalysis/wxanalysis/internal/servertest"
)

// startTimeout bounds waiting for a cluster to form; a healthy one takes
// well under a second.
const startTimeout = 10 * time.Second

// Server is a running redis-server.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	args []string // more arguments, e.g. for a cluster node
	tls  bool     // the port is a TLS port

	mu   sync.Mutex
	port int
	proc *servertest.Process // nil: stopped
}

// Start starts a redis-server and stops it when the test ends. Without
// redis-server on PATH the test is skipped, or fails when the environment
// has CI=true.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, lookPath(t, "redis-server"))
}

// lookPath finds a program of the Debian package redis-server, or skips the
// test (fails it when CI=true).
func lookPath(t testing.TB, name string) string {
	t.Helper()
	return servertest.Need(t, name, "redis-server")
}

func start(t testing.TB, bin string, args ...string) *Server {
	t.Helper()
	return startServer(t, &Server{t: t, bin: bin, dir: t.TempDir(), args: args})
}

func startServer(t testing.TB, s *Server) *Server {
	t.Helper()
	if err := servertest.Retry(s.start); err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Addr returns the server's host:port.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// Stop stops the server; its data is gone. Stopping a stopped server does
// nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil {
		p.Stop(syscall.SIGTERM)
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
	ports := []string{"--port", strconv.Itoa(port)}
	if s.tls {
		ports = []string{"--port", "0", "--tls-port", strconv.Itoa(port)}
	}
	cmd := exec.Command(s.bin, "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "")
	cmd.Args = append(append(cmd.Args, ports...), s.args...)
	p, err := servertest.Start(cmd, "Ready to accept connections")
	if err != nil {
		return fmt.Errorf("redis-server on port %d: %w", port, err)
	}
	s.mu.Lock()
	s.port, s.proc = port, p
	s.mu.Unlock()
	return nil
}

// Cluster is a running Redis Cluster of local nodes, each master of a third
// of the slots, without replicas.
type Cluster struct {
	Nodes []*Server
}

// StartCluster starts n (at least 3) redis-server nodes with cluster mode on,
// joins them with redis-cli --cluster create, waits until every node says
// the cluster is ok, and stops them when the test ends.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	bin := lookPath(t, "redis-server")
	cli := lookPath(t, "redis-cli")
	c := &Cluster{}
	args := []string{"--cluster", "create"}
	for range n {
		s := start(t, bin, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "5000")
		c.Nodes = append(c.Nodes, s)
		args = append(args, s.Addr())
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if err := servertest.Run(exec.Command(cli, args...)); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v", err)
	}
	deadline := time.Now().Add(startTimeout)
	for _, s := range c.Nodes {
		for {
			out, err := exec.Command(cli, "-h", "127.0.0.1", "-p", strconv.Itoa(s.port), "cluster", "info").Output()
			if err == nil && bytes.Contains(out, []byte("cluster_state:ok")) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("redistest: the cluster is not ok after %v: %s %v", startTimeout, out, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return c
}

// URL returns redis://host:port of the first node: a client reaches the
// others by the cluster's redirections.
func (c *Cluster) URL() string { return c.Nodes[0].URL() }

// StartTLS starts a redis-server that speaks TLS only, with a certificate
// for 127.0.0.1 of a CA made for the test, and that requires password. It
// returns the server (its URL is rediss://:password@127.0.0.1:port) and the
// CA's pool, for the client's RootCAs.
func StartTLS(t testing.TB, password string) (*Server, *x509.CertPool) {
	t.Helper()
	bin := lookPath(t, "redis-server")
	dir := t.TempDir()
	pool, certFile, keyFile := certificate(t, dir)
	s := &Server{t: t, bin: bin, dir: dir, tls: true, args: []string{"--tls-cert-file", certFile, "--tls-key-file", keyFile,
		"--tls-ca-cert-file", certFile, "--tls-auth-clients", "no", "--requirepass", password}}
	return startServer(t, s), pool
}

// URL returns redis://host:port, or rediss:// for a TLS server.
func (s *Server) URL() string {
	if s.tls {
		return "rediss://" + s.Addr()
	}
	return "redis://" + s.Addr()
}

// certificate writes a self-signed certificate for 127.0.0.1 and its key
// to dir, and returns a pool holding it.
func certificate(t testing.TB, dir string) (*x509.CertPool, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "redistest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool, certFile, keyFile
}
