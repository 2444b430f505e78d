package cloudcall

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// maxResponse bounds the gateway answer read; WeChat's analysis answers are a few KiB.
	maxResponse = 8 << 20
	// defaultTimeout is the SDK's default, for a ctx without a deadline.
	defaultTimeout = 15 * time.Second
	// maxAttempts bounds the tries of a request that never reached the gateway.
	maxAttempts = 3

	// firstBackoff is the wait before the second attempt; it doubles after.
	firstBackoff = 50 * time.Millisecond
)

// Call sends one wx.openApi request for apiName (e.g. "analysis.getWeeklyRetain") with
// data, the snake_case JSON object to send: one CommApiData pair per top-level key in
// order, its value the JSON text of that value as json-bigint's stringify writes it
// (§3.3). It waits no longer than ctx's deadline (15 s without one, the SDK's
// default). Success (§5 row 12) gives the Response; every other row of §5 gives an
// *Error. Without a token or credentials it sends nothing and gives an *Error
// wrapping ErrNoToken or ErrNoCredentials; bad input (data not a JSON object, an env
// id or base URL the gateway URL cannot carry) is a plain error, nothing sent.
func (c *Client) Call(ctx context.Context, env *Env, apiName string, data []byte) (*Response, error) {
	if env == nil {
		return nil, errors.New("cloudcall: Call needs an Env (see Resolve)")
	}
	if env.Token == "" && env.CloudbaseAccessToken == "" {
		e := errorStyle(apiName, -501007, ErrNoToken.Error())
		e.err = ErrNoToken
		return nil, e
	}
	if env.SecretID == "" || env.SecretKey == "" {
		e := errorStyle(apiName, -501007, ErrNoCredentials.Error())
		e.err = ErrNoCredentials
		return nil, e
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	wr, err := build(env, apiName, data, c.now(), c.seq.Add(1), c.boundary())
	if err != nil {
		return nil, err
	}
	hc := c.httpClient()
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		resp, e, retry := send(ctx, hc, wr, apiName)
		if e == nil {
			return resp, nil
		}
		// Only a request that never reached the gateway is tried again, with the same
		// bytes (as the SDK's own retries), and only while the deadline allows.
		if !retry || attempt == maxAttempts {
			return nil, e
		}
		if d, _ := ctx.Deadline(); time.Until(d) <= backoff {
			return nil, e
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, e
		case <-t.C:
		}
		backoff *= 2
	}
}

// send makes one attempt. retry reports a failure before any connection was made.
func send(ctx context.Context, hc *http.Client, wr *wireRequest, api string) (*Response, *Error, bool) {
	var connected atomic.Bool
	trace := &httptrace.ClientTrace{
		ConnectDone: func(_, _ string, err error) {
			if err == nil {
				connected.Store(true)
			}
		},
		GotConn: func(httptrace.GotConnInfo) { connected.Store(true) },
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, wr.url.String(), bytes.NewReader(wr.body))
	if err != nil {
		return nil, errorStyle(api, -501001, "invalid gateway URL"), false
	}
	req.Host = wr.host
	for _, h := range wr.headers {
		req.Header[h.name] = []string{h.value} // the SDK's spelling, sent as is
	}
	resp, err := hc.Do(req)
	if err != nil {
		e := transportError(ctx, api, err, connected.Load())
		return nil, e, e.Temporary && ctx.Err() == nil && isDialError(err)
	}
	defer resp.Body.Close()
	// Node reads the whole body before looking at the status.
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		if ctx.Err() != nil || isTimeout(err) {
			return nil, timeoutError(ctx, api, true), false
		}
		return nil, errorStyle(api, -501001, "aborted"), false // Node's text for a body cut short
	}
	if len(body) > maxResponse {
		return nil, errorStyle(api, -501001, fmt.Sprintf("gateway response larger than %d bytes, not read", maxResponse)), false
	}
	if resp.StatusCode != http.StatusOK {
		// Row 3; the SDK appends " | [<url>]", which we leave out: the URL is no
		// business of the caller's.
		text, ok := statusText[resp.StatusCode]
		if !ok {
			text = "undefined"
		}
		return nil, errorStyle(api, -501001, strconv.Itoa(resp.StatusCode)+" "+text), false
	}
	r, e := decide(api, resp.Header.Get("Content-Type"), body)
	return r, e, false
}

// transportError is rows 1 and 2: Node's message for what went wrong, never Go's
// *url.Error text, which carries the URL.
func transportError(ctx context.Context, api string, err error, connected bool) *Error {
	if ctx.Err() != nil || isTimeout(err) {
		return timeoutError(ctx, api, connected)
	}
	e := errorStyle(api, -501001, nodeErrorText(err))
	e.Temporary = !connected
	return e
}

func timeoutError(ctx context.Context, api string, connected bool) *Error {
	text := "request timeout"
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		text = "request aborted by client"
	case !connected:
		text = "connect timeout"
	}
	e := errorStyle(api, -501001, text)
	e.Temporary = !connected
	return e
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isDialError(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &dns) || (errors.As(err, &op) && op.Op == "dial")
}

// nodeErrorText is the message Node.js gives for a socket error.
func nodeErrorText(err error) string {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		code := "EAI_AGAIN"
		if dns.IsNotFound {
			code = "ENOTFOUND"
		}
		return "getaddrinfo " + code + " " + dns.Name
	}
	var errno syscall.Errno
	hasErrno := errors.As(err, &errno)
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" && hasErrno {
		return "connect " + errnoName(errno) + " " + nodeAddr(op.Addr)
	}
	switch {
	case hasErrno && errno == syscall.ECONNRESET:
		return "read ECONNRESET"
	case hasErrno && errno == syscall.EPIPE:
		return "write EPIPE"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "socket hang up"
	case strings.Contains(err.Error(), "malformed HTTP response"):
		return "Parse Error: Expected HTTP/, RTSP/ or ICE/" // Node's llhttp on a status line that is not HTTP
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

func errnoName(e syscall.Errno) string {
	switch e {
	case syscall.ECONNREFUSED:
		return "ECONNREFUSED"
	case syscall.EHOSTUNREACH:
		return "EHOSTUNREACH"
	case syscall.ENETUNREACH:
		return "ENETUNREACH"
	case syscall.ETIMEDOUT:
		return "ETIMEDOUT"
	case syscall.ECONNRESET:
		return "ECONNRESET"
	case syscall.EADDRNOTAVAIL:
		return "EADDRNOTAVAIL"
	case syscall.EACCES:
		return "EACCES"
	}
	return e.Error()
}

// nodeAddr prints an address as Node does: "127.0.0.1:80", "::1:80".
func nodeAddr(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String() + ":" + strconv.Itoa(t.Port)
	}
	if a == nil {
		return ""
	}
	return a.String()
}
