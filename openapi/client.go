package openapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/wxanalysis/wxanalysis/casing"
)

// DefaultBaseURL is WeChat's API host.
const DefaultBaseURL = "https://api.weixin.qq.com"

// Retry defaults: at most DefaultMaxAttempts requests per call, counting the
// one after a token refresh; the second after about DefaultBackoff, each
// later one after twice as long, with jitter.
const (
	DefaultMaxAttempts = 3
	DefaultBackoff     = 200 * time.Millisecond
)

// MaxAnswer caps an upstream answer, and MaxResult a result: SCF returns at
// most 6 MB from a synchronous invocation, and a result is about as large as
// the answer it comes from. The largest analysis answer, the top 200 pages,
// is about 100 KB.
const (
	MaxAnswer = 6 << 20
	MaxResult = 6_000_000
)

// bigAnswer is the size above which answers are converted one at a time;
// the largest real one, the top 200 pages, is about 100 KB.
const bigAnswer = 1 << 20

var bigAnswers = make(chan struct{}, 1)

// A Client calls the analysis methods. Make one with NewClient; it is safe
// for concurrent use.
type Client struct {
	transport   Transport
	tokens      *TokenCache // nil: requests carry no token
	maxAttempts int
	backoff     time.Duration
	now         func() time.Time
	sleep       func(ctx context.Context, d time.Duration) bool
	jitter      func(n int64) int64

	baseURL    string
	httpClient *http.Client
	tokenParam string
	logger     *slog.Logger
	margin     time.Duration
}

// An Option configures a Client.
type Option func(*Client) error

// NoToken is the TokenSource of a Client whose requests carry no access
// token: WeChat Cloud Run's open API service adds it, and the cloud-call
// gateway authorises calls by other means.
var NoToken TokenSource = noToken{}

type noToken struct{}

func (noToken) Token(context.Context) (*Token, error) {
	return nil, errors.New("openapi: NoToken has no token")
}

// NewClient returns a client whose requests carry tokens from src, cached by
// a TokenCache (pass one to share it). src must be given: NoToken says
// explicitly that requests go without one.
//
// One setting steers every request the client makes: a StableToken or
// CredentialToken without a BaseURL or HTTPClient of its own uses the
// client's (WithBaseURL, WithHTTPClient), through a copy, never changing
// src; one whose BaseURL differs from WithBaseURL's is an error. A
// TokenCache passed in keeps its source as it is, since it may be shared.
func NewClient(src TokenSource, opts ...Option) (*Client, error) {
	if src == nil {
		return nil, errors.New("openapi: NewClient needs a TokenSource: StableToken, CredentialToken, URLToken, " +
			"StaticToken, a TokenCache, or NoToken for a transport that needs none")
	}
	c := &Client{maxAttempts: DefaultMaxAttempts, backoff: DefaultBackoff, now: time.Now,
		sleep: sleep, jitter: rand.Int64N, margin: DefaultRefreshMargin}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.transport == nil {
		c.transport = &HTTPTransport{BaseURL: c.baseURL, TokenParam: c.tokenParam, HTTPClient: c.httpClient}
	}
	switch s := src.(type) {
	case noToken:
	case *TokenCache:
		c.tokens = s
	default:
		if b, ok := s.(boundSource); ok {
			var err error
			if s, err = b.bind(c.baseURL, c.httpClient); err != nil {
				return nil, err
			}
		}
		c.tokens = NewTokenCache(s, c.margin)
		c.tokens.now = c.now
		if c.logger != nil {
			c.tokens.SetLogger(c.logger, sourceName(s))
		}
	}
	return c, nil
}

// WithBaseURL sets where WeChat's API is, default DefaultBaseURL.
func WithBaseURL(base string) Option {
	return func(c *Client) error {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			return errors.New("openapi: WithBaseURL needs an absolute http or https URL without a query, such as https://api.weixin.qq.com")
		}
		c.baseURL = strings.TrimSuffix(base, "/")
		return nil
	}
}

// WithHTTPClient sets the HTTP client of the default transport. Redirects
// are refused whatever its CheckRedirect says.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error { c.httpClient = hc; return nil }
}

// WithTokenParam names the token's query parameter, default access_token;
// WeChat Cloud Run's own token goes as cloudbase_access_token.
func WithTokenParam(name string) Option {
	return func(c *Client) error {
		if name == "" {
			return errors.New("openapi: WithTokenParam needs a name")
		}
		c.tokenParam = name
		return nil
	}
}

// WithTransport replaces WeChat's HTTPS API by another way of carrying calls.
func WithTransport(t Transport) Option {
	return func(c *Client) error {
		if t == nil {
			return errors.New("openapi: WithTransport needs a Transport")
		}
		c.transport = t
		return nil
	}
}

// WithRetries sets the most requests per call (at least 1) and the first
// retry's delay (more than 0).
func WithRetries(maxAttempts int, backoff time.Duration) Option {
	return func(c *Client) error {
		if maxAttempts < 1 || backoff <= 0 {
			return errors.New("openapi: WithRetries needs at least 1 attempt and a backoff above 0")
		}
		c.maxAttempts, c.backoff = maxAttempts, backoff
		return nil
	}
}

// WithClock sets the clock for date rules, token expiry and deadlines.
func WithClock(now func() time.Time) Option {
	return func(c *Client) error {
		if now == nil {
			return errors.New("openapi: WithClock needs a clock")
		}
		c.now = now
		return nil
	}
}

// WithLogger makes the token cache log each fetch (never the token).
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error { c.logger = l; return nil }
}

// Tokens returns the client's token cache, nil when requests carry none.
func (c *Client) Tokens() *TokenCache { return c.tokens }

// Check checks params against m's rules at the client's time.
func (c *Client) Check(m *Method, params Params) error {
	if err := params.Check(c.now()); err != nil {
		return withAPI(err, m.API())
	}
	return nil
}

// Call checks params, sends them to m and returns the cloud-call result as
// JSON. It retries errcode -1, HTTP 5xx and 429 and network errors with
// backoff, within ctx's deadline, and a call refused for its access token
// once with a fresh token: at most the client's attempts in all. Any error
// is an *Error.
func (c *Client) Call(ctx context.Context, m *Method, params Params) ([]byte, error) {
	return c.do(ctx, m, params, cloudShaped(m))
}

// CallBody is Call for parameters already checked with Check and encoded
// with RequestBody, as a caller that keys a cache by the body has them.
func (c *Client) CallBody(ctx context.Context, m *Method, body []byte) ([]byte, error) {
	return c.send(ctx, m, body, cloudShaped(m))
}

// cloudShaped decodes an answer into the cloud-call result.
func cloudShaped(m *Method) func(context.Context, *Response) ([]byte, *Error) {
	return func(ctx context.Context, r *Response) ([]byte, *Error) { return answer(ctx, m, r) }
}

// do checks and encodes params, then sends them.
func (c *Client) do(ctx context.Context, m *Method, params Params,
	decode func(context.Context, *Response) ([]byte, *Error)) ([]byte, error) {
	if c == nil || c.transport == nil {
		return nil, errNoTransport
	}
	if err := c.Check(m, params); err != nil {
		return nil, err
	}
	body, err := RequestBody(params)
	if err != nil {
		return nil, &Error{API: m.API(), Code: CodeInvalidArgs, Msg: "invalid args: parameters do not encode as JSON"}
	}
	return c.send(ctx, m, body, decode)
}

// send sends body to m and hands each answer to decode.
func (c *Client) send(ctx context.Context, m *Method, body []byte,
	decode func(context.Context, *Response) ([]byte, *Error)) ([]byte, error) {
	if c == nil || c.transport == nil {
		return nil, errNoTransport
	}
	out, e := c.call(ctx, m, body, decode)
	if e != nil {
		return nil, e.WithAPI(m.API())
	}
	return out, nil
}

// RequestBody returns the snake_case JSON body WeChat receives for params.
func RequestBody(params Params) ([]byte, error) {
	b, err := marshal(params)
	if err != nil {
		return nil, err
	}
	return casing.ToSnake.Append(make([]byte, 0, len(b)+16), b)
}

// marshal encodes v as JSON without HTML escaping: values go upstream
// exactly as given.
func marshal(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}

func (c *Client) call(ctx context.Context, m *Method, body []byte,
	decode func(context.Context, *Response) ([]byte, *Error)) ([]byte, *Error) {
	stats, _ := ctx.Value(statsKey{}).(*CallStats)
	if stats == nil {
		stats = new(CallStats)
	}
	req := &Request{Method: m, Body: body}
	refreshed := false
	for attempt := 1; ; attempt++ {
		if c.tokens != nil {
			t, err := c.tokens.Token(ctx)
			if err != nil {
				return nil, AsError(err)
			}
			req.Token = t.AccessToken
		}
		stats.Attempts++
		out, e, noRetry := c.attempt(ctx, req, decode)
		if e == nil {
			return out, nil
		}
		if attempt >= c.maxAttempts || noRetry {
			return nil, e
		}
		if tokenRefused(e.Code) && c.tokens != nil && req.Token != "" && !refreshed {
			// One fresh token and one more try, never a loop: a source that
			// has nothing better ends it here.
			refreshed = true
			if _, rerr := c.tokens.Reject(ctx, req.Token); rerr != nil {
				return nil, e
			}
			stats.TokenRefreshes++
			continue
		}
		if !e.temporary || !c.pause(ctx, attempt, e.retryAfter) {
			return nil, e
		}
	}
}

// attempt sends req once and decodes the answer, with every secret the
// request carried or the client knows scrubbed from what it returns.
func (c *Client) attempt(ctx context.Context, req *Request,
	decode func(context.Context, *Response) ([]byte, *Error)) ([]byte, *Error, bool) {
	r, err := c.transport.RoundTrip(ctx, req)
	if err != nil {
		return nil, c.scrubError(AsError(err), nil), false
	}
	defer r.Release()
	out, e := decode(ctx, r)
	if e != nil {
		// Answers that failed are rare: copy what the caller may inspect.
		e = c.scrubError(e, r.Secrets)
		if e.StatusCode == 0 {
			e.StatusCode = r.Status
		}
		if e.Body == nil {
			e.Body = []byte(c.scrub(string(r.Body[:min(len(r.Body), maxErrorBody)]), r.Secrets))
		}
		if r.Status == http.StatusTooManyRequests {
			e.retryAfter = retryAfter(r.Header, c.now())
		}
		return nil, e, r.NoRetry
	}
	if len(out) > MaxResult {
		return nil, &Error{Code: CodeInternal, StatusCode: r.Status, Msg: "system error: the result is " +
			strconv.Itoa(len(out)) + " bytes, more than the " + strconv.Itoa(MaxResult) + " a cloud function may return"}, true
	}
	return c.scrubResult(out, r.Secrets), nil, false
}

// maxErrorBody caps the answer kept in an Error, as go-github caps error bodies.
const maxErrorBody = 1 << 20

// CallStats is what one call did upstream, for its log line.
type CallStats struct {
	Attempts       int // requests sent to the API
	TokenRefreshes int // tokens rejected and replaced
}

type statsKey struct{}

// WithStats returns a context in which Call records its work in s. A
// context's stats must not be shared by concurrent calls.
func WithStats(ctx context.Context, s *CallStats) context.Context {
	return context.WithValue(ctx, statsKey{}, s)
}

func tokenRefused(code int) bool {
	return code == CodeInvalidCred || code == CodeInvalidToken || code == CodeTokenExpired
}

// pause waits before attempt+1, at least retryAfter, and reports whether
// that attempt can still be made before ctx's deadline.
func (c *Client) pause(ctx context.Context, attempt int, retryAfter time.Duration) bool {
	d := c.backoff << (attempt - 1)
	d = d/2 + time.Duration(c.jitter(int64(d/2)+1)) // jitter: instances that failed together do not retry together
	d = max(d, retryAfter)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d { // deadlines are the wall clock's
		return false
	}
	return c.sleep(ctx, d)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// answer turns an upstream answer into a cloud-call result, as wx-server-sdk
// does: an errcode that is truthy is a failure; otherwise errcode and errmsg
// go, keys turn camelCase, and errMsg and errCode 0 are added.
func answer(ctx context.Context, m *Method, r *Response) ([]byte, *Error) {
	ok := r.Status >= 200 && r.Status < 300
	if len(r.Body) == 0 && !ok {
		return nil, httpError(r.Status)
	}
	mediaType, _, _ := strings.Cut(r.ContentType, ";") // no need for package mime and its tables
	mediaType = strings.ToLower(strings.TrimSpace(mediaType))
	if len(r.Body) > bigAnswer {
		// Converting a huge answer takes several times its size: one at a
		// time, so that concurrent calls cannot exhaust a small instance.
		select {
		case bigAnswers <- struct{}{}:
			defer func() { <-bigAnswers }()
		case <-ctx.Done():
			return nil, transportError(ctx, ctx.Err())
		}
	}
	out, code, err := convert(ctx, m, r.Body)
	var syntax *casing.SyntaxError
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, transportError(ctx, ctx.Err())
	case err != nil && !errors.As(err, &syntax):
		return nil, tooLarge(r.Status)
	case err != nil && !ok:
		return nil, httpError(r.Status)
	case err != nil && mediaType == "text/plain":
		// wx-server-sdk makes a text answer that is not JSON the result
		// itself; no analysis answer is text: a proxy's page, a glitch.
		return nil, notAnswer(m, r.Body)
	case err != nil:
		// The SDK's message, with at most 200 characters of the body.
		return nil, newError(CodeInternal, "wechat server internal error, response body is invalid json: %s",
			truncate(strings.ToValidUTF8(string(r.Body), "\uFFFD"), 200))
	case code != nil:
		return nil, code
	case !ok:
		return nil, httpError(r.Status)
	case out == nil:
		return nil, notAnswer(m, r.Body)
	}
	return out, nil
}

func httpError(status int) *Error {
	return &Error{Code: CodeInternal, StatusCode: status, Msg: "wechat server internal error, HTTP " + statusText(status),
		temporary: status >= 500 || status == http.StatusTooManyRequests}
}

// convert converts a JSON answer. It returns the result, or the failure the
// answer's errcode stands for, or the syntax error of a body that is not JSON;
// or none of them (nil, nil, nil) for JSON that is not of m's shape.
func convert(ctx context.Context, m *Method, body []byte) ([]byte, *Error, error) {
	var (
		errcode, errmsg []byte
		hasCode, hasMsg bool
		found           uint64
	)
	i := 0
	for i < len(body) && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r') {
		i++
	}
	if i == len(body) || body[i] != '{' {
		// Not an object (null, [], a number, a string): no analysis answer
		// looks like this. Still JSON, or an invalid body's error.
		_, err := casing.ToCamel.AppendContext(ctx, nil, body)
		return nil, nil, err
	}
	out := make([]byte, 0, len(body)+64)
	out = append(out, '{')
	out, n, err := casing.ToCamel.AppendMembersContext(ctx, out, body, func(key, value []byte) bool {
		found = m.Answer.seen(found, key, value[0])
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
	if !m.Answer.complete(found) {
		return nil, nil, nil
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
			truncate(strings.ToValidUTF8(string(errcode), "\uFFFD"), 40))
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
	b, _ := marshal(string(text)) // a string always encodes
	return b
}

// secrets returns what the client knows that must never be shown: its
// source's credentials and the tokens it has handed out.
func (c *Client) secrets() []string {
	if c.tokens == nil {
		return nil
	}
	return c.tokens.secrets()
}

func (c *Client) scrub(s string, extra []string) string { return scrub(s, extra, c.secrets()) }

// scrubError returns e with every secret scrubbed from its message, copied
// if anything had to change.
func (c *Client) scrubError(e *Error, extra []string) *Error {
	msg := c.scrub(e.Msg, extra)
	errMsg := c.scrub(e.errMsg, extra)
	if msg == e.Msg && errMsg == e.errMsg {
		return e
	}
	cp := *e
	cp.Msg, cp.errMsg = msg, errMsg
	return &cp
}

// scrubResult replaces secrets an answer echoed; a result rarely holds one,
// so the common case is a few failed searches.
func (c *Client) scrubResult(out []byte, extra []string) []byte {
	known := c.secrets()
	if len(extra) == 0 && len(known) == 0 {
		return out
	}
	// Read only, and only for the search: no copy of the result.
	text := unsafe.String(unsafe.SliceData(out), len(out))
	for _, list := range [][]string{extra, known} {
		for _, v := range list {
			if len(v) >= minSecret && strings.Contains(text, v) {
				return []byte(scrub(text, extra, known))
			}
		}
	}
	return out
}
