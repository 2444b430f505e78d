// Package h1 is a lean HTTP/1.1 client for the one kind of exchange the
// function makes upstream: a request with a small body in memory, answered by
// a bounded body read whole into a buffer, over pooled keep-alive connections.
//
// net/http's client does much more (streaming bodies, HTTP/2, proxies,
// redirects, cookies) and pays for it on every request: two goroutines per
// connection that each request is handed to and back from, and about forty
// allocations. Here the calling goroutine writes the request and reads the
// answer itself, and a request costs a handful of allocations. What it does
// not do, the caller leaves to net/http: Supported says which URLs it takes.
package h1

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wxanalysis/wxanalysis/internal/idleconn"
)

// ErrTooLarge is returned when an answer's body is longer than the limit
// given to Do. The connection is closed, not reused.
var ErrTooLarge = errors.New("h1: answer body over the limit")

// A ProtocolError is an answer that is not HTTP/1.x as this client reads it.
type ProtocolError struct{ What string }

func (e *ProtocolError) Error() string { return "h1: malformed answer: " + e.What }

// Client sends requests on keep-alive connections it pools per host. Its
// zero value is ready to use; it starts no goroutine. It is safe for
// concurrent use.
type Client struct {
	// TLS configures connections to https URLs; nil: the system's roots.
	// ServerName is set from the URL.
	TLS *tls.Config
	// MaxIdle is the number of idle connections kept per host; 0: 64.
	MaxIdle int
	// IdleTimeout closes connections idle longer than this before they are
	// used again; 0: 90 s, as net/http's default transport.
	IdleTimeout time.Duration
	// Now is the clock for idle times; nil: time.Now.
	Now func() time.Time

	mu    sync.Mutex
	hosts map[string]*host
}

// host is one scheme and authority's pool.
type host struct {
	idle  []*conn // most recently used last
	proxy bool    // the environment names a proxy for it: leave it to net/http
}

type conn struct {
	nc        net.Conn
	br        *bufio.Reader
	idleSince time.Time
	deadline  bool           // a deadline is set on nc
	idle      idleconn.Check // whether the server has said anything since the last answer
}

// A Response is an answer's status and the headers its callers read; the
// body is in the buffer given to Do.
type Response struct {
	Status      int
	ContentType string
	RetryAfter  string
}

// target is a URL split the way a request needs it.
type target struct {
	key        string // scheme://authority: the pool's key
	tls        bool
	authority  string // the Host header
	hostport   string // the address to dial
	serverName string
	uri        string // the request target: path and query
}

// split parses rawURL without allocating for the common case. ok is false for
// anything but http(s)://host[:port][/path][?query] without user information
// or fragment.
func split(rawURL string) (t target, ok bool) {
	rest := rawURL
	switch {
	case len(rest) > 8 && rest[:8] == "https://":
		t.tls, rest = true, rest[8:]
	case len(rest) > 7 && rest[:7] == "http://":
		rest = rest[7:]
	default:
		return t, false
	}
	end := len(rest)
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if c == '/' || c == '?' {
			end = i
			break
		}
		if c == '@' || c == '#' || c == '\\' || c <= ' ' || c >= 0x7f {
			return t, false
		}
	}
	t.authority, t.uri = rest[:end], rest[end:]
	if t.authority == "" {
		return t, false
	}
	for i := 0; i < len(t.uri); i++ {
		if c := t.uri[i]; c == '#' || c <= ' ' || c >= 0x7f {
			return t, false
		}
	}
	if t.uri == "" || t.uri[0] == '?' {
		t.uri = "/" + t.uri
	}
	t.key = rawURL[:len(rawURL)-len(rest)+end]
	hostname, port, err := net.SplitHostPort(t.authority)
	if err != nil {
		// No port: the authority is the host name, or a bracketed IPv6 literal.
		hostname, port = t.authority, "80"
		if t.tls {
			port = "443"
		}
		if len(hostname) > 1 && hostname[0] == '[' && hostname[len(hostname)-1] == ']' {
			hostname = hostname[1 : len(hostname)-1]
		}
		t.hostport = net.JoinHostPort(hostname, port)
	} else {
		if port == "" {
			return t, false
		}
		t.hostport = t.authority
	}
	if hostname == "" {
		return t, false
	}
	t.serverName = hostname
	return t, true
}

// Supported reports whether Do takes rawURL: an http or https URL with no
// user information, for a host the environment names no proxy for
// (HTTPS_PROXY, HTTP_PROXY, NO_PROXY).
func (c *Client) Supported(rawURL string) bool {
	t, ok := split(rawURL)
	if !ok {
		return false
	}
	return !c.host(t).proxy
}

func (c *Client) host(t target) *host {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.hosts[t.key]
	if h == nil {
		h = &host{proxy: proxied(t)}
		if c.hosts == nil {
			c.hosts = make(map[string]*host)
		}
		// A copy: t.key is part of a URL that may carry a token.
		c.hosts[strings.Clone(t.key)] = h
	}
	return h
}

// proxied asks net/http's reading of the environment, once per host.
func proxied(t target) bool {
	u := &url.URL{Scheme: "http", Host: t.authority}
	if t.tls {
		u.Scheme = "https"
	}
	p, err := http.ProxyFromEnvironment(&http.Request{URL: u})
	return err != nil || p != nil
}

// Do sends method rawURL with body (Content-Type contentType; no body when
// nil) and appends the answer's body to dst, at most limit bytes. It honours
// ctx's deadline and cancellation. An idle connection is used again only if
// the server has sent nothing on it since its last answer (no close, no
// unsolicited answer such as an idle 408); should the server close it anyway
// before the request is written whole, the request goes once on a new
// connection. Once written, a request is never sent again: the server may
// have acted on it. Errors never contain the URL.
func (c *Client) Do(ctx context.Context, method, rawURL, contentType string, body []byte, dst *bytes.Buffer, limit int64) (Response, error) {
	t, ok := split(rawURL)
	if !ok {
		return Response{}, errors.New("h1: unsupported URL")
	}
	h := c.host(t)
	for fresh := false; ; fresh = true {
		cn, reused, err := c.get(ctx, h, t, fresh)
		if err != nil {
			return Response{}, err
		}
		r, keep, sent, err := c.exchange(ctx, cn, t, method, contentType, body, dst, limit)
		if err == nil && keep && cn.br.Buffered() == 0 {
			c.put(h, cn)
		} else {
			cn.nc.Close()
		}
		if err != nil && reused && !sent && ctx.Err() == nil && stale(err) {
			continue
		}
		return r, err
	}
}

// stale reports whether err is what a connection the server had closed gives.
func stale(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// get returns an idle connection to t, or a new one when there is none or
// fresh is set.
func (c *Client) get(ctx context.Context, h *host, t target, fresh bool) (*conn, bool, error) {
	if !fresh {
		timeout := c.IdleTimeout
		if timeout <= 0 {
			timeout = 90 * time.Second
		}
		now := c.now()
		for {
			var expired []*conn
			c.mu.Lock()
			n := len(h.idle)
			if n == 0 {
				c.mu.Unlock()
				break
			}
			cn := h.idle[n-1]
			h.idle[n-1] = nil
			h.idle = h.idle[:n-1]
			if now.Sub(cn.idleSince) >= timeout {
				// The rest are older still.
				expired = append(slices.Clone(h.idle), cn)
				clear(h.idle)
				h.idle = h.idle[:0]
			}
			c.mu.Unlock()
			if expired == nil && cn.idle.Quiet() {
				return cn, true, nil
			}
			// Closed outside the lock: a TLS close writes.
			cn.nc.Close()
			for _, old := range expired {
				old.nc.Close()
			}
		}
	}
	cn, err := c.dial(ctx, t)
	if err != nil {
		return nil, false, c.cause(ctx, err)
	}
	return cn, false, nil
}

func (c *Client) put(h *host, cn *conn) {
	max := c.MaxIdle
	if max <= 0 {
		max = 64
	}
	cn.idleSince = c.now()
	c.mu.Lock()
	if len(h.idle) < max {
		h.idle = append(h.idle, cn)
		cn = nil
	}
	c.mu.Unlock()
	if cn != nil {
		cn.nc.Close()
	}
}

var dialer = &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}

func (c *Client) dial(ctx context.Context, t target) (*conn, error) {
	nc, err := dialer.DialContext(ctx, "tcp", t.hostport)
	if err != nil {
		return nil, err
	}
	if t.tls {
		cfg := &tls.Config{}
		if c.TLS != nil {
			cfg = c.TLS.Clone()
		}
		cfg.ServerName = t.serverName
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	cn := &conn{nc: nc, br: bufio.NewReaderSize(nc, 4096)}
	cn.idle.Init(nc)
	return cn, nil
}

// past is a deadline that has passed: setting it interrupts a blocked read.
var past = time.Unix(1, 0)

// exchange writes one request on cn and reads its answer. sent says whether
// the request was written whole; keep whether cn may carry another request.
func (c *Client) exchange(ctx context.Context, cn *conn, t target, method, contentType string, body []byte,
	dst *bytes.Buffer, limit int64) (r Response, keep, sent bool, err error) {
	if d, ok := ctx.Deadline(); ok {
		err = cn.nc.SetDeadline(d)
		cn.deadline = true
	} else if cn.deadline {
		err = cn.nc.SetDeadline(time.Time{})
		cn.deadline = false
	}
	if err != nil {
		return r, false, false, err
	}
	if done := ctx.Done(); done != nil {
		stop := context.AfterFunc(ctx, func() { _ = cn.nc.SetDeadline(past) })
		defer func() {
			if !stop() {
				// Cancelled: the deadline may be in the past now, whatever
				// was read. The connection is not used again.
				keep = false
				if err == nil && ctx.Err() != nil {
					err = ctx.Err()
				}
			}
		}()
	}
	wb := writeBuffers.Get().(*[]byte)
	b := appendRequest((*wb)[:0], t, method, contentType, body)
	_, err = cn.nc.Write(b)
	*wb = b
	if cap(b) <= 64<<10 {
		writeBuffers.Put(wb)
	}
	if err != nil {
		return r, false, false, c.cause(ctx, err)
	}
	r, keep, err = readResponse(cn.br, method, dst, limit)
	if err != nil {
		err = c.cause(ctx, err)
	}
	return r, keep, true, err
}

// cause names ctx's end as the error when it ended the exchange, and
// returns only once ctx says so too (ctx.Err() != nil), as net/http does:
// callers, the cache among them, tell a caller's own deadline from an
// upstream failure by ctx.Err(). A connection's only deadlines are ctx's, so
// a timeout at or after ctx's deadline is ctx's doing, even when ctx's own
// timer has not fired yet; it is firing, so the wait is short.
func (c *Client) cause(ctx context.Context, err error) error {
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		return err
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		if done := ctx.Done(); done != nil {
			// Bounded, for a Context whose Done disagrees with its Deadline.
			t := time.NewTimer(time.Second)
			defer t.Stop()
			select {
			case <-done:
				return ctx.Err()
			case <-t.C:
			}
		}
		return context.DeadlineExceeded
	}
	return err // the dialer's own timeout
}

var writeBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func appendRequest(b []byte, t target, method, contentType string, body []byte) []byte {
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, t.uri...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, t.authority...)
	b = append(b, "\r\nUser-Agent: wxanalysis\r\n"...)
	if body != nil {
		if contentType != "" {
			b = append(b, "Content-Type: "...)
			b = append(b, contentType...)
			b = append(b, "\r\n"...)
		}
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, body...)
}
