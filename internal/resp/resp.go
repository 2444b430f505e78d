// Package resp is a small Redis client: RESP2 over TCP or TLS, AUTH and
// SELECT on connect, a pool of idle connections per node, and Redis
// Cluster's redirections (MOVED teaches the slot's node, ASK is followed
// once), so that one client works with a single server and with a cluster.
// It has what the cache needs and no more: commands, scripts by SHA with
// EVAL as the fallback, and bounds on a reply (its size, its arrays' length
// and depth), since a reply comes from the network.
//
// A pooled connection the server closed while it sat idle (a timeout, a
// restart) costs no failure: it is seen closed before it is used
// (internal/idleconn), and should it fail anyway before the command is
// written whole, the command goes once on a new connection. A command
// written whole is never sent again: the server may have run it (a script
// counting the force budget would count twice). A node that fails is forgotten:
// its slots go back to the address in Options until MOVED teaches them again.
//
// Its errors name a node's host:port, never a credential.
package resp

import (
	"bufio"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wxanalysis/wxanalysis/internal/idleconn"
)

// Options configure New.
type Options struct {
	Addr     string      // host:port of a server or of any node of a cluster
	TLS      *tls.Config // nil: plain TCP
	Username string      // AUTH username (Redis 6 ACL); "" with a Password: the default user
	Password string      // AUTH password; "": no AUTH
	DB       int         // SELECT this database when not 0 (a cluster has only 0)
	MaxIdle  int         // idle connections kept per node; <= 0: 4
	MaxReply int         // bytes one reply may allocate, all its strings and array elements; <= 0: 64 MiB
}

// ErrTooLarge is returned for a reply larger than Options.MaxReply, or with
// an array of more than 1024 elements; the connection it came on is closed
// rather than read to the end.
var ErrTooLarge = errors.New("resp: reply larger than the limit")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("resp: client closed")

// Nil is returned by Do for a missing value (a null bulk string or array).
var Nil = errors.New("resp: nil")

// An Error is an error reply of the server, such as "WRONGTYPE …".
type Error struct{ Msg string }

func (e *Error) Error() string { return "redis: " + e.Msg }

// A Client sends commands to one server or cluster. It is safe for
// concurrent use.
type Client struct {
	opts Options

	// time.Now and net.Dialer's DialContext; tests replace them.
	now  func() time.Time
	dial func(ctx context.Context, network, addr string) (net.Conn, error)

	mu     sync.Mutex
	idle   map[string][]*conn // node address → idle connections, the most recent last
	slots  []string           // slot → node address, learned from MOVED; nil until the first
	closed bool
}

// maxIdleTime is how long a pooled connection may sit idle before it is
// closed instead of used: servers and NAT gateways drop idle connections
// (Redis's timeout setting, a cloud NAT's idle timeout, an SCF instance
// frozen between invocations), and one they dropped fails the command sent
// on it.
const maxIdleTime = 30 * time.Second

// New returns a client for opts. It does not connect.
func New(opts Options) *Client {
	if opts.MaxIdle <= 0 {
		opts.MaxIdle = 4
	}
	if opts.MaxReply <= 0 {
		opts.MaxReply = 64 << 20
	}
	var d net.Dialer
	return &Client{opts: opts, now: time.Now, dial: d.DialContext, idle: make(map[string][]*conn)}
}

// maxRedirects bounds MOVED and ASK hops for one command.
const maxRedirects = 5

// Do sends the command args to the node that serves key's slot ("" for a
// command without a key: the node given in Options) and returns its reply:
// []byte for a bulk or simple string, int64, []any for an array; Nil for a
// null; an *Error for an error reply. Arguments are strings, []byte or
// integers. ctx bounds the whole command, connecting included.
//
// A command is sent a second time only when a pooled connection failed
// before the command was written whole (the server had closed it), or when
// a node learned from MOVED could not be connected to (to the address in
// Options then).
func (c *Client) Do(ctx context.Context, key string, args ...any) (any, error) {
	addr, asking := c.route(key), false
	for range maxRedirects + 1 {
		v, err := c.do(ctx, addr, asking, args)
		var re *Error
		if !errors.As(err, &re) {
			if failed(err) && addr != c.opts.Addr {
				// A node learned from MOVED failed: after a failover or a
				// replacement it may be gone for good. Its slots are
				// relearned through the address in Options, at once when
				// the command was not sent.
				c.forget(addr)
				if errors.As(err, new(*connectError)) && ctx.Err() == nil { // not sent
					addr, asking = c.opts.Addr, false
					continue
				}
			}
			return v, err
		}
		kind, rest, _ := strings.Cut(re.Msg, " ")
		if kind != "MOVED" && kind != "ASK" {
			return nil, err
		}
		slotText, to, ok := strings.Cut(rest, " ")
		slot, serr := strconv.Atoi(slotText)
		if !ok || serr != nil || slot < 0 || slot >= Slots || to == "" {
			return nil, err
		}
		if to[0] == ':' { // "MOVED 3999 :6381": the same host
			host, _, _ := net.SplitHostPort(addr)
			to = net.JoinHostPort(host, to[1:])
		}
		if kind == "MOVED" {
			c.learn(slot, to)
		}
		addr, asking = to, kind == "ASK"
	}
	return nil, fmt.Errorf("resp: more than %d cluster redirections for one command", maxRedirects)
}

// Script is a Lua script run by its SHA-1, loaded on first use.
type Script struct {
	src, sha string
}

// NewScript returns the script of src.
func NewScript(src string) *Script {
	sum := sha1.Sum([]byte(src))
	return &Script{src: src, sha: hex.EncodeToString(sum[:])}
}

// Run runs s with keys (all in one slot, for a cluster) and args, on the
// node of keys[0]: EVALSHA, then EVAL if the node does not know it yet.
func (c *Client) Run(ctx context.Context, s *Script, keys []string, args ...any) (any, error) {
	cmd := make([]any, 0, 3+len(keys)+len(args))
	cmd = append(cmd, "EVALSHA", s.sha, len(keys))
	for _, k := range keys {
		cmd = append(cmd, k)
	}
	cmd = append(cmd, args...)
	key := ""
	if len(keys) > 0 {
		key = keys[0]
	}
	v, err := c.Do(ctx, key, cmd...)
	var re *Error
	if errors.As(err, &re) && strings.HasPrefix(re.Msg, "NOSCRIPT") {
		cmd[0], cmd[1] = "EVAL", s.src
		return c.Do(ctx, key, cmd...)
	}
	return v, err
}

// Close closes the idle connections; connections in use close when their
// command ends.
func (c *Client) Close() error {
	c.mu.Lock()
	idle := c.idle
	c.idle, c.closed = nil, true
	c.mu.Unlock()
	for _, conns := range idle {
		for _, cn := range conns {
			cn.nc.Close()
		}
	}
	return nil
}

// route returns the node of key's slot, as far as MOVED has taught it.
func (c *Client) route(key string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.slots != nil && key != "" {
		if addr := c.slots[Slot(key)]; addr != "" {
			return addr
		}
	}
	return c.opts.Addr
}

// learn records that addr serves slot.
func (c *Client) learn(slot int, addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.slots == nil {
		c.slots = make([]string, Slots)
	}
	c.slots[slot] = addr
}

// forget sends the slots learned for addr back to the address in Options.
func (c *Client) forget(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, a := range c.slots {
		if a == addr {
			c.slots[i] = ""
		}
	}
}

// answered reports whether err, if any, is a whole reply: the connection
// is ready for the next command.
func answered(err error) bool {
	var re *Error
	return err == nil || errors.As(err, &re) || errors.Is(err, Nil)
}

// failed reports whether err says that a node or the connection to it
// failed, rather than the command or its reply.
func failed(err error) bool {
	return !answered(err) && !errors.Is(err, ErrTooLarge)
}

// A connectError is a failure to connect to a node: nothing was sent.
type connectError struct {
	addr string
	err  error
}

func (e *connectError) Error() string { return "redis " + e.addr + ": connect: " + e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

// do sends one command to addr, preceded by ASKING when asking.
func (c *Client) do(ctx context.Context, addr string, asking bool, args []any) (any, error) {
	cn, pooled, err := c.get(ctx, addr)
	if err != nil {
		return nil, err
	}
	v, unsent, err := c.exchange(ctx, addr, cn, asking, args)
	if unsent && pooled {
		// The server closed the connection while it was idle, and the
		// command never reached it whole: once more on a new one.
		if cn, err = c.connect(ctx, addr); err != nil {
			return nil, err
		}
		v, _, err = c.exchange(ctx, addr, cn, asking, args)
	}
	return v, err
}

// exchange sends a command on cn and reads its reply, then pools cn, or
// closes it if it failed. unsent reports a failure to write the command
// whole, other than the context's or a timeout.
func (c *Client) exchange(ctx context.Context, addr string, cn *conn, asking bool, args []any) (v any, unsent bool, err error) {
	dl, _ := ctx.Deadline() // none: the zero time, no deadline
	cn.nc.SetDeadline(dl)
	stop := func() bool { return true }
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { cn.nc.SetDeadline(time.Unix(1, 0)) })
	}
	if asking {
		cn.write([]any{"ASKING"})
	}
	cn.write(args)
	if err = cn.w.Flush(); err != nil {
		var ne net.Error
		unsent = !errors.As(err, &ne) || !ne.Timeout()
	} else if asking {
		_, aerr := cn.read(c.opts.MaxReply) // ASKING's +OK
		v, err = cn.read(c.opts.MaxReply)
		if aerr != nil && err == nil {
			err = aerr
		}
	} else {
		v, err = cn.read(c.opts.MaxReply)
	}
	// stop before pooling: an AfterFunc that has started may set its past
	// deadline at any time, on the next command's connection if this one
	// were pooled.
	stopped := stop()
	if answered(err) {
		if stopped && cn.r.Buffered() == 0 { // nothing unasked for left to read as the next reply
			c.put(addr, cn)
		} else {
			cn.nc.Close()
		}
		return v, false, err
	}
	cn.nc.Close() // its state is unknown, or a reply is left unread: never reused
	if ctx.Err() != nil {
		return nil, false, fmt.Errorf("redis %s: %w", addr, ctx.Err())
	}
	return nil, unsent, fmt.Errorf("redis %s: %w", addr, err)
}

// get returns an idle connection to addr, pooled reporting so, or a new
// one. Connections idle longer than maxIdleTime are closed on the way.
func (c *Client) get(ctx context.Context, addr string) (cn *conn, pooled bool, err error) {
	var stale []*conn
	defer func() {
		for _, s := range stale {
			s.nc.Close()
		}
	}()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, false, ErrClosed
	}
	now := c.now()
	for conns := c.idle[addr]; len(conns) > 0; conns = c.idle[addr] {
		cn := conns[len(conns)-1]
		c.idle[addr] = conns[:len(conns)-1]
		if now.Sub(cn.idleSince) <= maxIdleTime && cn.idle.Quiet() {
			c.mu.Unlock()
			return cn, true, nil
		}
		stale = append(stale, cn) // too old, closed by the server, or holding what nobody asked for
	}
	c.mu.Unlock()
	cn, err = c.connect(ctx, addr)
	return cn, false, err
}

// connect returns a new connection to addr.
func (c *Client) connect(ctx context.Context, addr string) (*conn, error) {
	cn, err := c.dialNode(ctx, addr)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, &connectError{addr: addr, err: err}
	}
	return cn, nil
}

// put pools cn, or closes it when the pool of addr is full.
func (c *Client) put(addr string, cn *conn) {
	c.mu.Lock()
	if !c.closed && len(c.idle[addr]) < c.opts.MaxIdle {
		cn.idleSince = c.now()
		c.idle[addr] = append(c.idle[addr], cn)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	cn.nc.Close()
}

// dialNode connects to addr, with TLS if configured, then authenticates and
// selects the database in one round trip.
func (c *Client) dialNode(ctx context.Context, addr string) (*conn, error) {
	nc, err := c.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if c.opts.TLS != nil {
		cfg := c.opts.TLS.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName, _, _ = net.SplitHostPort(addr)
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	cn := &conn{nc: nc, r: bufio.NewReader(nc), w: bufio.NewWriter(nc)}
	cn.idle.Init(nc)
	var n int
	if c.opts.Password != "" {
		if c.opts.Username != "" {
			cn.write([]any{"AUTH", c.opts.Username, c.opts.Password})
		} else {
			cn.write([]any{"AUTH", c.opts.Password})
		}
		n++
	}
	if c.opts.DB != 0 {
		cn.write([]any{"SELECT", c.opts.DB})
		n++
	}
	if n == 0 {
		return cn, nil
	}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	err = cn.w.Flush()
	for ; err == nil && n > 0; n-- {
		_, err = cn.read(1 << 10)
	}
	if err != nil {
		nc.Close()
		var re *Error
		if errors.As(err, &re) { // e.g. WRONGPASS: the server never echoes the password
			return nil, fmt.Errorf("AUTH or SELECT refused: %w", err)
		}
		return nil, err
	}
	return cn, nil
}

// conn is one connection; used by one command at a time.
type conn struct {
	nc  net.Conn
	r   *bufio.Reader
	w   *bufio.Writer
	num []byte

	idleSince time.Time      // when it was pooled
	idle      idleconn.Check // whether the server has closed it, or said anything, since
}

// write buffers a command as a RESP array of bulk strings.
func (cn *conn) write(args []any) {
	cn.header('*', len(args))
	for _, a := range args {
		switch v := a.(type) {
		case string:
			cn.header('$', len(v))
			cn.w.WriteString(v)
		case []byte:
			cn.header('$', len(v))
			cn.w.Write(v)
		case int:
			cn.bulkInt(int64(v))
		case int64:
			cn.bulkInt(v)
		default:
			panic(fmt.Sprintf("resp: argument of type %T", a))
		}
		cn.w.WriteString("\r\n")
	}
}

func (cn *conn) bulkInt(v int64) {
	var buf [20]byte
	b := strconv.AppendInt(buf[:0], v, 10)
	cn.header('$', len(b))
	cn.w.Write(b)
}

func (cn *conn) header(kind byte, n int) {
	cn.w.WriteByte(kind)
	cn.num = strconv.AppendInt(cn.num[:0], int64(n), 10)
	cn.w.Write(cn.num)
	cn.w.WriteString("\r\n")
}

// Limits on a reply besides Options.MaxReply. The cache reads strings and
// arrays of two; a wider or deeper reply comes from a confused or hostile
// server, and refusing it early keeps one reply from taking memory or stack.
const (
	maxArray = 1024 // elements of one array
	maxDepth = 4    // arrays within arrays, the outermost included
	slotSize = 16   // bytes an array element (an interface value) takes, counted against MaxReply
)

// read reads one reply. All it allocates, bulk and simple strings and array
// elements alike, is counted against max before it is allocated.
func (cn *conn) read(max int) (any, error) {
	left := max
	return cn.value(&left, 0)
}

// value reads one value within depth enclosing arrays, spending *left.
func (cn *conn) value(left *int, depth int) (any, error) {
	line, err := cn.line()
	if err != nil {
		return nil, err
	}
	if len(line) == 0 {
		return nil, errors.New("resp: empty reply line")
	}
	switch line[0] {
	case '+':
		if err := spend(left, len(line)-1, "a simple string"); err != nil {
			return nil, err
		}
		return []byte(line[1:]), nil
	case '-':
		if err := spend(left, len(line)-1, "an error"); err != nil {
			return nil, err
		}
		return nil, &Error{Msg: string(line[1:])}
	case ':':
		n, err := strconv.ParseInt(string(line[1:]), 10, 64)
		if err != nil {
			return nil, errors.New("resp: bad integer reply")
		}
		return n, nil
	case '$':
		n, err := strconv.Atoi(string(line[1:]))
		switch {
		case err != nil || n < -1:
			return nil, errors.New("resp: bad bulk length")
		case n == -1:
			return nil, Nil
		}
		if err := spend(left, n, fmt.Sprintf("a bulk string of %d bytes", n)); err != nil {
			return nil, err
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(cn.r, b); err != nil {
			return nil, err
		}
		if b[n] != '\r' || b[n+1] != '\n' {
			return nil, errors.New("resp: bulk string not ended by CRLF")
		}
		return b[:n:n], nil
	case '*':
		n, err := strconv.Atoi(string(line[1:]))
		switch {
		case err != nil || n < -1:
			return nil, errors.New("resp: bad array length")
		case n == -1:
			return nil, Nil
		case n > maxArray:
			return nil, fmt.Errorf("%w: an array of %d elements, at most %d", ErrTooLarge, n, maxArray)
		case depth >= maxDepth:
			return nil, fmt.Errorf("resp: arrays nested deeper than %d", maxDepth)
		}
		if err := spend(left, n*slotSize, fmt.Sprintf("an array of %d elements", n)); err != nil {
			return nil, err
		}
		out := make([]any, n)
		var first error // an element's error reply (a script's), after reading the rest
		for i := range out {
			v, err := cn.value(left, depth+1)
			var re *Error
			switch {
			case errors.Is(err, Nil):
			case errors.As(err, &re):
				first = cmpOr(first, err)
			case err != nil:
				return nil, err
			}
			out[i] = v
		}
		return out, first
	}
	return nil, fmt.Errorf("resp: unknown reply type %q", line[0])
}

// spend takes n bytes from what is left of a reply's limit, or refuses what.
func spend(left *int, n int, what string) error {
	if n > *left {
		return fmt.Errorf("%w: %s, with %d bytes left of the reply's limit", ErrTooLarge, what, *left)
	}
	*left -= n
	return nil
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// line reads a line without its CRLF, at most the reader's buffer (4 KiB).
func (cn *conn) line() ([]byte, error) {
	line, err := cn.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, errors.New("resp: reply line too long")
	}
	if err != nil {
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, errors.New("resp: reply line not ended by CRLF")
	}
	return line[:len(line)-2], nil
}
