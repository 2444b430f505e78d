package resp

import (
	"context"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/internal/redistest"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func clientID(t *testing.T, c *Client) int64 {
	t.Helper()
	v, err := c.Do(testCtx(t), "", "CLIENT", "ID")
	require.NoError(t, err)
	return v.(int64)
}

// A pooled connection the server closed (CLIENT KILL, as its idle timeout
// does) is replaced without a failure.
func TestPooledConnectionKilled(t *testing.T) {
	s := redistest.Start(t)
	c := New(Options{Addr: s.Addr()})
	defer c.Close()
	admin := New(Options{Addr: s.Addr()})
	defer admin.Close()

	id := clientID(t, c) // its connection is pooled now
	killed, err := admin.Do(testCtx(t), "", "CLIENT", "KILL", "ID", strconv.FormatInt(id, 10))
	require.NoError(t, err)
	require.Equal(t, int64(1), killed)

	again := clientID(t, c)
	assert.NotEqual(t, id, again, "a new connection")
	assert.Equal(t, again, clientID(t, c), "pooled in turn")
}

// A connection idle longer than maxIdleTime is not used: a NAT gateway may
// have dropped it without a word, and a command on it would wait for its
// deadline.
func TestIdleConnectionDropped(t *testing.T) {
	s := redistest.Start(t)
	c := New(Options{Addr: s.Addr()})
	defer c.Close()
	now := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }

	id := clientID(t, c)
	now = now.Add(maxIdleTime)
	assert.Equal(t, id, clientID(t, c), "idle for maxIdleTime: used")
	now = now.Add(maxIdleTime + time.Second)
	assert.NotEqual(t, id, clientID(t, c), "idle for longer: replaced")
}

// A command is sent again only when its connection came from the pool and
// no byte of the reply came: a reply cut short is an error, and so is a new
// connection's failure.
func TestNoResendOnceAnswered(t *testing.T) {
	var commands atomic.Int32
	f := startFake(t, func(cn net.Conn, args []string) {
		switch commands.Add(1) {
		case 1:
			cn.Write([]byte("+PONG\r\n"))
		case 2:
			cn.Write([]byte("$4\r\nPO")) // and no more
			cn.Close()
		default:
			cn.Close()
		}
	})
	c := New(Options{Addr: f.addr()})
	defer c.Close()
	v, err := c.Do(testCtx(t), "", "PING")
	require.NoError(t, err)
	assert.Equal(t, []byte("PONG"), v)

	_, err = c.Do(testCtx(t), "", "PING")
	require.Error(t, err)
	assert.Equal(t, int32(2), commands.Load(), "not sent again")
	assert.Equal(t, 1, f.accepted())

	_, err = c.Do(testCtx(t), "", "PING") // a new connection, closed with nothing said
	require.Error(t, err)
	assert.Equal(t, int32(3), commands.Load(), "not sent again")
	assert.Equal(t, 2, f.accepted())
}

// A command written whole is never sent again, even on a pooled
// connection: the server may have run it before the connection ended.
func TestNoResendOnceWritten(t *testing.T) {
	var commands atomic.Int32
	f := startFake(t, func(cn net.Conn, args []string) {
		if commands.Add(1) == 1 {
			cn.Write([]byte("+PONG\r\n"))
			return
		}
		cn.Close() // ran it, and the connection ended before the reply
	})
	c := New(Options{Addr: f.addr()})
	defer c.Close()
	_, err := c.Do(testCtx(t), "", "PING")
	require.NoError(t, err)
	_, err = c.Do(testCtx(t), "", "INCR", "budget")
	require.Error(t, err)
	assert.Equal(t, int32(2), commands.Load(), "run once")
}

// What a server says unasked, with a reply or while the connection is
// idle, is never read as the next command's reply: the connection is
// dropped.
func TestNothingUnaskedIsAReply(t *testing.T) {
	for name, unasked := range map[string]func(net.Conn, chan struct{}){
		"with a reply": func(cn net.Conn, _ chan struct{}) { cn.Write([]byte("+PONG\r\n+UNASKED\r\n")) },
		"while idle": func(cn net.Conn, idle chan struct{}) {
			cn.Write([]byte("+PONG\r\n"))
			wait(idle)
			cn.Write([]byte("+UNASKED\r\n"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			idle, said := make(chan struct{}), make(chan struct{})
			var commands atomic.Int32
			f := startFake(t, func(cn net.Conn, args []string) {
				if commands.Add(1) == 1 {
					unasked(cn, idle)
					close(said)
					return
				}
				cn.Write([]byte("+PONG\r\n"))
			})
			c := New(Options{Addr: f.addr()})
			defer c.Close()
			_, err := c.Do(testCtx(t), "", "PING")
			require.NoError(t, err)
			close(idle)
			wait(said)
			v, err := c.Do(testCtx(t), "", "PING")
			require.NoError(t, err)
			assert.Equal(t, []byte("PONG"), v, "its own reply")
			assert.Equal(t, 2, f.accepted(), "on a new connection")
		})
	}
}

// lateConn holds back the past deadline a cancelled context's AfterFunc
// sets, until the next command is written on the connection: the worst
// timing of a context that ends as its command does.
type lateConn struct {
	net.Conn
	cancel context.CancelFunc // once the first bytes of a reply are read; nil: never

	entered chan struct{} // closed when the past deadline arrives
	gate    chan struct{} // closed by the next Write, or by Close
	applied chan struct{} // closed when the past deadline is set
	once    sync.Once
}

// wait waits for ch, at most 5 seconds.
func wait(ch chan struct{}) {
	timer := time.NewTimer(5 * time.Second)
	defer timer.Stop()
	select {
	case <-ch:
	case <-timer.C:
	}
}

func (c *lateConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && c.cancel != nil {
		cancel := c.cancel
		c.cancel = nil
		cancel()
		wait(c.entered) // the AfterFunc has run; stop would report false
	}
	return n, err
}

func (c *lateConn) SetDeadline(t time.Time) error {
	if t.IsZero() || t.After(time.Unix(2, 0)) {
		return c.Conn.SetDeadline(t)
	}
	close(c.entered)
	wait(c.gate)
	err := c.Conn.SetDeadline(t)
	close(c.applied)
	return err
}

func (c *lateConn) Write(p []byte) (int, error) {
	select {
	case <-c.entered:
		c.once.Do(func() { close(c.gate) })
		wait(c.applied)
	default:
	}
	return c.Conn.Write(p)
}

func (c *lateConn) Close() error {
	c.once.Do(func() { close(c.gate) })
	return c.Conn.Close()
}

// A context that ends as its command does cannot leave a past deadline on a
// pooled connection for the next command.
func TestCancelledContextPoisonsNoConnection(t *testing.T) {
	f := startFake(t, func(cn net.Conn, _ []string) { cn.Write([]byte("+PONG\r\n")) })
	c := New(Options{Addr: f.addr()})
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var dialed atomic.Int32
	c.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		lc := &lateConn{Conn: nc, entered: make(chan struct{}), gate: make(chan struct{}), applied: make(chan struct{})}
		if dialed.Add(1) == 1 {
			lc.cancel = cancel
		}
		return lc, nil
	}

	v, err := c.Do(ctx, "", "PING")
	require.NoError(t, err, "the reply came before the context ended")
	assert.Equal(t, []byte("PONG"), v)
	require.Error(t, ctx.Err())

	v, err = c.Do(testCtx(t), "", "PING")
	require.NoError(t, err)
	assert.Equal(t, []byte("PONG"), v)
}

// A node learned from MOVED that fails is forgotten: its slots go back to
// the seed, which serves them after a failover.
func TestFailedNodeForgotten(t *testing.T) {
	var owns atomic.Bool // the seed serves the key's slot
	var other *fake
	seed := startFake(t, func(cn net.Conn, args []string) {
		if owns.Load() {
			cn.Write([]byte("+seed\r\n"))
			return
		}
		cn.Write([]byte("-MOVED " + strconv.Itoa(Slot(args[1])) + " " + other.addr() + "\r\n"))
	})
	get := func(c *Client) (any, error) { return c.Do(testCtx(t), "k", "GET", "k") }

	t.Run("gone", func(t *testing.T) {
		owns.Store(false)
		other = startFake(t, func(cn net.Conn, _ []string) { cn.Write([]byte("+other\r\n")) })
		c := New(Options{Addr: seed.addr()})
		defer c.Close()
		v, err := get(c)
		require.NoError(t, err)
		assert.Equal(t, []byte("other"), v)
		assert.Equal(t, other.addr(), c.route("k"), "learned")

		other.stop() // its port refuses connections now
		owns.Store(true)
		v, err = get(c)
		require.NoError(t, err, "through the seed at once: the command was never sent")
		assert.Equal(t, []byte("seed"), v)
		assert.Equal(t, seed.addr(), c.route("k"), "forgotten")
	})

	t.Run("failing", func(t *testing.T) {
		owns.Store(false)
		var broken atomic.Bool
		other = startFake(t, func(cn net.Conn, _ []string) {
			if broken.Load() {
				cn.Write([]byte("$5\r\not"))
				cn.Close()
				return
			}
			cn.Write([]byte("+other\r\n"))
		})
		c := New(Options{Addr: seed.addr()})
		defer c.Close()
		v, err := get(c)
		require.NoError(t, err)
		assert.Equal(t, []byte("other"), v)

		broken.Store(true)
		owns.Store(true)
		_, err = get(c)
		require.Error(t, err, "a command that may have run is not sent again")
		v, err = get(c)
		require.NoError(t, err)
		assert.Equal(t, []byte("seed"), v)
	})
}
