// Package openapi calls WeChat's Mini Program analysis API and shapes its
// answers as wx-server-sdk's cloud call does: camelCase keys plus
// errMsg "openapi.analysis.X:ok" and errCode 0, or an *Error.
package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wxanalysis/wxanalysis/casing"
)

// DefaultBaseURL is WeChat's API host.
const DefaultBaseURL = "https://api.weixin.qq.com"

// Retry defaults: at most DefaultMaxAttempts attempts per call, the second
// after about DefaultBackoff, each later one after twice as long, with jitter.
const (
	DefaultMaxAttempts = 3
	DefaultBackoff     = 200 * time.Millisecond
)

// maxAnswer caps an upstream answer; the largest analysis answer, the top
// 200 pages, is about 100 KB.
const maxAnswer = 8 << 20

// A Client calls the analysis methods. Its zero value calls WeChat with no
// access token; set Tokens for a token-managed call. It is safe for
// concurrent use.
type Client struct {
	BaseURL     string        // default DefaultBaseURL
	HTTPClient  *http.Client  // default: a shared client with keep-alive
	Tokens      *TokenCache   // nil: no access_token, as for WeChat Cloud Run's open-API service
	MaxAttempts int           // default DefaultMaxAttempts
	Backoff     time.Duration // default DefaultBackoff
}

// DefaultHTTPClient keeps enough idle connections for a busy instance.
var DefaultHTTPClient = func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: t}
}()

// Call sends params, already checked, to m and returns the cloud-call result
// as JSON. It retries errcode -1, HTTP 5xx and network errors with backoff,
// within ctx's deadline, and a call refused for its access token once with a
// fresh token. Any error is an *Error.
func (c *Client) Call(ctx context.Context, m *Method, params Params) ([]byte, error) {
	body, err := RequestBody(params)
	if err != nil {
		return nil, &Error{API: m.API(), Code: CodeInvalidArgs, Msg: "invalid args: " + err.Error()}
	}
	out, e := c.call(ctx, m, body)
	if e != nil {
		e.API = m.API()
		return nil, e
	}
	return out, nil
}

// RequestBody returns the snake_case JSON body WeChat receives for params.
func RequestBody(params Params) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // values go upstream exactly as given
	if err := enc.Encode(params); err != nil {
		return nil, err
	}
	return casing.ToSnake.Append(make([]byte, 0, buf.Len()+16), bytes.TrimSpace(buf.Bytes()))
}

func (c *Client) call(ctx context.Context, m *Method, body []byte) ([]byte, *Error) {
	maxAttempts := c.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	stats, _ := ctx.Value(statsKey{}).(*CallStats)
	if stats == nil {
		stats = new(CallStats)
	}
	refreshed := false
	for attempt := 1; ; {
		tok, err := c.token(ctx)
		var out []byte
		if err == nil {
			stats.Attempts++
			var r *response
			if r, err = send(ctx, c.httpClient(), http.MethodPost, c.url(m.Path, tok), body); err == nil {
				out, err = answer(m, r)
				r.release()
			}
		}
		if err == nil {
			return out, nil
		}
		if tokenRefused(err.Code) && c.Tokens != nil && tok != "" && !refreshed {
			// One fresh token and one more try, never a loop: a source that
			// has nothing better ends it here.
			refreshed = true
			if _, rerr := c.Tokens.Reject(ctx, tok); rerr == nil {
				stats.TokenRefreshes++
				continue
			}
			return nil, err
		}
		if !err.temporary || attempt >= maxAttempts || !c.pause(ctx, attempt) {
			return nil, err
		}
		attempt++
	}
}

// CallStats is what one call did upstream, for its log line.
type CallStats struct {
	Attempts       int // requests sent to the API
	TokenRefreshes int // tokens rejected and replaced
}

type statsKey struct{}

// WithStats returns a context in which Call records its work in s.
func WithStats(ctx context.Context, s *CallStats) context.Context {
	return context.WithValue(ctx, statsKey{}, s)
}

func tokenRefused(code int) bool {
	return code == CodeInvalidCred || code == CodeInvalidToken || code == CodeTokenExpired
}

func (c *Client) token(ctx context.Context) (string, *Error) {
	if c.Tokens == nil {
		return "", nil
	}
	t, err := c.Tokens.Token(ctx)
	if err != nil {
		if e, ok := err.(*Error); ok {
			return "", e
		}
		return "", &Error{Code: CodeInternal, Msg: "access_token: " + Redact(err).Error(), err: err}
	}
	return t.AccessToken, nil
}

// pause waits before attempt+1 and reports whether that attempt can still
// be made before ctx's deadline.
func (c *Client) pause(ctx context.Context, attempt int) bool {
	base := c.Backoff
	if base <= 0 {
		base = DefaultBackoff
	}
	d := base << (attempt - 1)
	d = d/2 + rand.N(d/2+1) // jitter, so instances that failed together do not retry together
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (c *Client) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return DefaultHTTPClient
}

func (c *Client) url(path, tok string) string {
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	if tok == "" {
		return base + path
	}
	return base + path + "?access_token=" + url.QueryEscape(tok)
}

type response struct {
	status int
	ctype  string
	body   []byte
	buf    *bytes.Buffer // body's buffer, for release
}

func (r *response) statusText() string {
	return strconv.Itoa(r.status) + " " + http.StatusText(r.status)
}

func (r *response) ok() bool { return r.status >= 200 && r.status < 300 }

// send makes one HTTP request. The body is a bytes.Reader, so the request
// can be sent again (GetBody) by net/http itself.
func send(ctx context.Context, hc *http.Client, method, rawURL string, body []byte) (*response, *Error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return nil, &Error{Code: CodeConfig, Msg: "invalid request: " + Redact(err).Error()}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, transportError(ctx, err)
	}
	defer resp.Body.Close()
	buf := buffers.Get().(*bytes.Buffer)
	buf.Reset()
	if n := resp.ContentLength; n > 0 && n <= maxAnswer {
		buf.Grow(int(n)) // one allocation at most, and none once the pool is warm
	}
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxAnswer+1)); err != nil {
		putBuffer(buf)
		return nil, transportError(ctx, err)
	}
	if buf.Len() > maxAnswer {
		putBuffer(buf)
		return nil, newError(CodeInternal, "wechat server internal error, answer larger than %d bytes", maxAnswer)
	}
	return &response{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), body: buf.Bytes(), buf: buf}, nil
}

// buffers hold upstream answers while they are converted; nothing refers to
// an answer's bytes after that.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putBuffer returns buf to the pool, unless it grew for a rare huge answer.
func putBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= maxAnswer/8 {
		buffers.Put(buf)
	}
}

// release returns the answer's buffer to the pool. r.body is invalid after.
func (r *response) release() {
	if r.buf != nil {
		putBuffer(r.buf)
	}
	r.buf, r.body = nil, nil
}

// answer turns an upstream answer into a cloud-call result, as wx-server-sdk
// does: an errcode that is truthy is a failure; otherwise errcode and errmsg
// go, keys turn camelCase, and errMsg and errCode 0 are added.
func answer(m *Method, r *response) ([]byte, *Error) {
	if len(r.body) == 0 && !r.ok() {
		return nil, httpError(r)
	}
	mediaType, _, _ := strings.Cut(r.ctype, ";") // no need for package mime and its tables
	mediaType = strings.ToLower(strings.TrimSpace(mediaType))
	out, code, err := convert(m, r.body)
	switch {
	case err != nil && !r.ok():
		return nil, httpError(r)
	case err != nil && mediaType == "text/plain":
		// wx-server-sdk: a text answer that is not JSON is the result itself.
		out = append(append([]byte(nil), `{"result":`...), jsonString(r.body)...)
		return appendOK(out, m, 1), nil
	case err != nil:
		// The SDK's message, with at most 200 characters of the body.
		return nil, newError(CodeInternal, "wechat server internal error, response body is invalid json: %s",
			truncate(string(r.body), 200))
	case code != nil:
		return nil, code
	case !r.ok():
		return nil, httpError(r)
	}
	return out, nil
}

func httpError(r *response) *Error {
	return &Error{Code: CodeInternal, Msg: "wechat server internal error, HTTP " + r.statusText(),
		temporary: r.status >= 500 || r.status == http.StatusTooManyRequests}
}

// convert converts a JSON answer. It returns the result, or the failure the
// answer's errcode stands for, or the syntax error of a body that is not JSON.
func convert(m *Method, body []byte) ([]byte, *Error, error) {
	var (
		errcode, errmsg []byte
		hasCode, hasMsg bool
	)
	out := make([]byte, 0, len(body)+64)
	i := 0
	for i < len(body) && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r') {
		i++
	}
	if i == len(body) || body[i] != '{' {
		// Not an object: no analysis answer looks like this. Rather than
		// spread it into numbered keys as the SDK does, keep it whole.
		out = append(out, `{"result":`...)
		out, err := casing.ToCamel.Append(out, body)
		if err != nil {
			return nil, nil, err
		}
		return appendOK(out, m, 1), nil, nil
	}
	out = append(out, '{')
	out, n, err := casing.ToCamel.AppendMembers(out, body, func(key, value []byte) bool {
		switch string(key) {
		case "errcode":
			errcode, hasCode = append(errcode[:0], value...), true
			return true
		case "errmsg":
			errmsg, hasMsg = append(errmsg[:0], value...), true
			return true
		case "errMsg", "errCode":
			return true // the SDK's own fields replace them
		}
		return false
	})
	if err != nil {
		return nil, nil, err
	}
	if hasCode && truthy(errcode) {
		return nil, failure(errcode, errmsg, hasMsg), nil
	}
	return appendOK(out, m, n), nil, nil
}

// truthy reports whether a JSON value is true for JavaScript's if.
func truthy(v []byte) bool {
	switch v[0] {
	case 'n', 'f':
		return false
	case '"':
		return len(v) > 2
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		f, err := strconv.ParseFloat(string(v), 64)
		return err != nil || f != 0
	}
	return true // true, objects and arrays
}

func failure(errcode, errmsg []byte, hasMsg bool) *Error {
	var msg *string
	if hasMsg {
		msg = jsonText(errmsg)
	}
	code, err := strconv.Atoi(string(errcode))
	if err != nil {
		return newError(CodeInternal, "wechat server internal error, errcode %s is not an integer",
			truncate(string(errcode), 40))
	}
	return wechatError(code, msg)
}

// appendOK closes a result object of n members with errMsg and errCode.
func appendOK(out []byte, m *Method, n int) []byte {
	if n > 0 {
		out = append(out, ',')
	}
	out = append(out, `"errMsg":"openapi.analysis.`...)
	out = append(out, m.Name...)
	return append(out, `:ok","errCode":0}`...)
}

// jsonString encodes text as a JSON string, replacing invalid UTF-8 as
// Node's decoding of the answer would.
func jsonString(text []byte) []byte {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(string(text)) // a string always encodes
	return []byte(strings.TrimSuffix(b.String(), "\n"))
}
