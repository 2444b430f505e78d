package openapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/wxanalysis/wxanalysis/internal/h1"
)

// A Transport carries one request of a call to WeChat and returns its
// answer. The Client decides what the answer means and whether to try again;
// a Transport only moves bytes. Implementations must be safe for concurrent use.
type Transport interface {
	RoundTrip(ctx context.Context, req *Request) (*Response, error)
}

// A Request is one attempt of a call.
type Request struct {
	Method *Method // the method called
	Body   []byte  // its snake_case JSON parameters
	Token  string  // the access token to send; "" when the Client has no token source
}

// A Response is WeChat's answer to a Request.
type Response struct {
	Status      int         // HTTP status; 200 for an answer relayed by a gateway
	ContentType string      // the answer's media type, as sent
	Body        []byte      // the answer, valid until Release
	Header      http.Header // its header fields; from the default client, only Retry-After

	// NoRetry is set by transports whose requests must not be sent again once
	// answered (the cloud-call gateway): the Client then returns errcode -1
	// and HTTP 5xx answers as they are.
	NoRetry bool
	// Secrets are values the request carried that no result or error may
	// show, whatever the answer echoes.
	Secrets []string

	buf *bytes.Buffer // holds Body, returned to the pool by Release
}

// Release returns the answer's buffer; Body is invalid after.
func (r *Response) Release() {
	if r.buf != nil {
		putBuffer(r.buf)
	}
	r.buf, r.Body = nil, nil
}

// HTTPTransport calls WeChat's HTTPS API directly: POST BaseURL+path with
// the token as a query parameter. It never follows a redirect: WeChat sends
// none, and following one would hand the request to another host.
type HTTPTransport struct {
	BaseURL    string       // default DefaultBaseURL
	TokenParam string       // the token's query parameter; default "access_token"
	HTTPClient *http.Client // default DefaultHTTPClient()
}

// RoundTrip sends req.
func (t *HTTPTransport) RoundTrip(ctx context.Context, req *Request) (*Response, error) {
	u := baseURL(t.BaseURL) + req.Method.Path
	var secrets []string
	if req.Token != "" {
		param := t.TokenParam
		if param == "" {
			param = "access_token"
		}
		u += "?" + param + "=" + url.QueryEscape(req.Token)
		secrets = []string{req.Token}
	}
	r, e := send(ctx, t.HTTPClient, http.MethodPost, u, req.Body)
	if e != nil {
		return nil, e
	}
	r.Secrets = secrets
	return r, nil
}

var defaultHTTPClient = sync.OnceValue(func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: t, CheckRedirect: refuseRedirect}
})

// DefaultHTTPClient returns the shared client used when none is given: keep-alive
// with enough idle connections for a busy instance, and no redirects.
func DefaultHTTPClient() *http.Client { return defaultHTTPClient() }

func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// noRedirects returns hc, or a shallow copy of it that follows no redirect.
func noRedirects(hc *http.Client) *http.Client {
	if hc == nil {
		return DefaultHTTPClient()
	}
	if hc == defaultHTTPClient() {
		return hc
	}
	c := *hc
	c.CheckRedirect = refuseRedirect
	return &c
}

// lean carries the default client's requests: see package h1 for why.
var lean h1.Client

// send makes one HTTP request and reads the answer, at most MaxAnswer
// bytes. A redirect is an error, never followed. The default client's
// requests go through package h1 unless they need what only net/http does
// (a proxy); a client of the caller's own is used as it is.
func send(ctx context.Context, hc *http.Client, method, rawURL string, body []byte) (*Response, *Error) {
	if (hc == nil || hc == defaultHTTPClient()) && lean.Supported(rawURL) {
		return sendLean(ctx, method, rawURL, body)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return nil, &Error{Code: CodeConfig, Msg: "invalid request URL"}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := noRedirects(hc).Do(req)
	if err != nil {
		return nil, transportError(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return nil, redirected(resp.StatusCode)
	}
	buf := buffers.Get().(*bytes.Buffer)
	buf.Reset()
	if n := resp.ContentLength; n > MaxAnswer {
		putBuffer(buf)
		return nil, tooLarge(resp.StatusCode)
	} else if n > 0 {
		buf.Grow(int(n)) // one allocation at most, and none once the pool is warm
	}
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, MaxAnswer+1)); err != nil {
		putBuffer(buf)
		return nil, transportError(ctx, err)
	}
	if buf.Len() > MaxAnswer {
		putBuffer(buf)
		return nil, tooLarge(resp.StatusCode)
	}
	return &Response{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Header: resp.Header,
		Body: buf.Bytes(), buf: buf}, nil
}

func sendLean(ctx context.Context, method, rawURL string, body []byte) (*Response, *Error) {
	buf := buffers.Get().(*bytes.Buffer)
	buf.Reset()
	contentType := ""
	if body != nil {
		contentType = "application/json"
	}
	r, err := lean.Do(ctx, method, rawURL, contentType, body, buf, MaxAnswer)
	if err != nil {
		putBuffer(buf)
		if errors.Is(err, h1.ErrTooLarge) {
			return nil, tooLarge(r.Status)
		}
		// As net/http's client reports it, so that errors.As finds a
		// *url.Error either way; transportError redacts its URL.
		return nil, transportError(ctx, &url.Error{Op: opName(method), URL: rawURL, Err: err})
	}
	if r.Status >= 300 && r.Status < 400 {
		putBuffer(buf)
		return nil, redirected(r.Status)
	}
	var h http.Header
	if r.RetryAfter != "" {
		h = http.Header{"Retry-After": {r.RetryAfter}}
	}
	return &Response{Status: r.Status, ContentType: r.ContentType, Header: h, Body: buf.Bytes(), buf: buf}, nil
}

// opName is the Op of a *url.Error, as net/http names it.
func opName(method string) string {
	if method == http.MethodPost {
		return "Post"
	}
	return "Get"
}

func redirected(status int) *Error {
	return &Error{Code: CodeInternal, StatusCode: status,
		Msg: "wechat server internal error, HTTP " + statusText(status) + ": a redirect, which WeChat never sends; not followed"}
}

func tooLarge(status int) *Error {
	return &Error{Code: CodeInternal, StatusCode: status,
		Msg: "wechat server internal error, answer larger than " + strconv.Itoa(MaxAnswer>>20) + " MiB, more than a cloud function may return"}
}

func statusText(status int) string { return strconv.Itoa(status) + " " + http.StatusText(status) }

// buffers hold upstream answers while they are converted; nothing refers to
// an answer's bytes after that.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putBuffer returns buf to the pool, unless it grew for a rare huge answer.
func putBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= 1<<20 {
		buffers.Put(buf)
	}
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(min(n, 3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), time.Hour)
	}
	return 0
}

// errNoTransport is returned by a Client built without NewClient.
var errNoTransport = &Error{Code: CodeConfig, Msg: "system args error: a Client must be made with NewClient"}
