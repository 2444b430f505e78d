package redistest

import (
	"bufio"
	"net"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ping sends PING and returns the reply line, or the error.
func ping(addr string) (string, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

func TestStartStopRestart(t *testing.T) {
	s := Start(t)
	addr := s.Addr()
	assert.Equal(t, "redis://"+addr, s.URL())
	reply, err := ping(addr)
	require.NoError(t, err)
	assert.Equal(t, "+PONG\r\n", reply)

	s.Stop()
	_, err = ping(addr)
	require.Error(t, err, "stopped")
	s.Stop() // idempotent

	s.Restart()
	assert.Equal(t, addr, s.Addr(), "same port")
	reply, err = ping(addr)
	require.NoError(t, err)
	assert.Equal(t, "+PONG\r\n", reply)
}

// fakeTB records Skip and Fatal, which end the goroutine as testing's do.
type fakeTB struct {
	testing.TB
	skipped, failed bool
}

func (f *fakeTB) Helper()               {}
func (f *fakeTB) Skip(...any)           { f.skipped = true; runtime.Goexit() }
func (f *fakeTB) Fatal(...any)          { f.failed = true; runtime.Goexit() }
func (f *fakeTB) Fatalf(string, ...any) { f.failed = true; runtime.Goexit() }
func (f *fakeTB) Skipf(string, ...any)  { f.skipped = true; runtime.Goexit() }

func TestWithoutRedisServer(t *testing.T) {
	for _, tc := range []struct {
		ci            string
		skip, failure bool
	}{
		{ci: "", skip: true},
		{ci: "false", skip: true},
		{ci: "true", failure: true},
	} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv("PATH", t.TempDir())
			t.Setenv("CI", tc.ci)
			f := &fakeTB{TB: t}
			var wg sync.WaitGroup
			wg.Go(func() { Start(f) })
			wg.Wait()
			assert.Equal(t, tc.skip, f.skipped, "skipped")
			assert.Equal(t, tc.failure, f.failed, "failed")
		})
	}
}

func TestCluster(t *testing.T) {
	c := StartCluster(t, 3)
	require.Len(t, c.Nodes, 3)
	for _, n := range c.Nodes {
		reply, err := ping(n.Addr())
		require.NoError(t, err)
		assert.Equal(t, "+PONG\r\n", reply)
	}
	assert.Equal(t, c.Nodes[0].URL(), c.URL())
}
