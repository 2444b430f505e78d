package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A Token is an access token and when it expires.
type Token struct {
	AccessToken string
	Expiry      time.Time // zero: never expires
}

// A TokenSource is anything that can return an access token.
// Token must be safe for concurrent use by multiple goroutines.
type TokenSource interface {
	Token(ctx context.Context) (*Token, error)
}

// A forceRefresher can make WeChat replace a token that has been rejected.
type forceRefresher interface {
	ForceRefresh(ctx context.Context) (*Token, error)
}

// StaticToken returns a source that always returns tok, which never expires.
func StaticToken(tok string) TokenSource { return staticSource{&Token{AccessToken: tok}} }

type staticSource struct{ t *Token }

func (s staticSource) Token(context.Context) (*Token, error) { return s.t, nil }

// StableToken gets tokens from POST /cgi-bin/stable_token. In normal mode
// WeChat returns the same token until 5 minutes before it expires, so any
// number of instances can share an AppID without invalidating each other.
type StableToken struct {
	BaseURL    string // default: the client's WithBaseURL, else DefaultBaseURL
	AppID      string
	Secret     string
	HTTPClient *http.Client // default: the client's WithHTTPClient
}

// bind returns a copy of s that uses base and hc where s sets neither.
func (s *StableToken) bind(base string, hc *http.Client) (TokenSource, error) {
	cp := *s
	var err error
	cp.BaseURL, cp.HTTPClient, err = bindEndpoint("StableToken", s.BaseURL, base, s.HTTPClient, hc)
	return &cp, err
}

// Token fetches the current stable token.
func (s *StableToken) Token(ctx context.Context) (*Token, error) { return s.fetch(ctx, false) }

// ForceRefresh makes WeChat issue a new token. WeChat allows 20 a day per
// AppID, 30 s apart: a TokenCache spends them through its ForceBudget.
func (s *StableToken) ForceRefresh(ctx context.Context) (*Token, error) { return s.fetch(ctx, true) }

func (s *StableToken) secrets() []string { return []string{s.Secret} }

func (s *StableToken) fetch(ctx context.Context, force bool) (*Token, error) {
	body, err := json.Marshal(struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}{"client_credential", s.AppID, s.Secret, force})
	if err != nil {
		return nil, err
	}
	return fetchToken(ctx, s.HTTPClient, http.MethodPost, baseURL(s.BaseURL)+"/cgi-bin/stable_token", body, s.secrets())
}

// CredentialToken gets tokens from GET /cgi-bin/token. Each fetch invalidates
// the previous token within 5 minutes, so only one instance per AppID should
// use it; prefer StableToken.
type CredentialToken struct {
	BaseURL    string // default: the client's WithBaseURL, else DefaultBaseURL
	AppID      string
	Secret     string
	HTTPClient *http.Client // default: the client's WithHTTPClient
}

// bind returns a copy of s that uses base and hc where s sets neither.
func (s *CredentialToken) bind(base string, hc *http.Client) (TokenSource, error) {
	cp := *s
	var err error
	cp.BaseURL, cp.HTTPClient, err = bindEndpoint("CredentialToken", s.BaseURL, base, s.HTTPClient, hc)
	return &cp, err
}

// Token fetches a new token.
func (s *CredentialToken) Token(ctx context.Context) (*Token, error) {
	q := url.Values{"grant_type": {"client_credential"}, "appid": {s.AppID}, "secret": {s.Secret}}
	return fetchToken(ctx, s.HTTPClient, http.MethodGet, baseURL(s.BaseURL)+"/cgi-bin/token?"+q.Encode(), nil, s.secrets())
}

func (s *CredentialToken) secrets() []string { return []string{s.Secret} }

// URLToken gets tokens from a team's central token service: a GET of URL
// answers {"access_token": "...", "expires_in": seconds}, or a WeChat-style
// {"errcode", "errmsg"}.
type URLToken struct {
	URL        string
	HTTPClient *http.Client
}

// Token fetches the service's current token.
func (s *URLToken) Token(ctx context.Context) (*Token, error) {
	return fetchToken(ctx, s.HTTPClient, http.MethodGet, s.URL, nil, s.secrets())
}

// secrets are the values of the service URL's query and user info, which
// may hold a key.
func (s *URLToken) secrets() []string {
	u, err := url.Parse(s.URL)
	if err != nil {
		return nil
	}
	var out []string
	if p, ok := u.User.Password(); ok {
		out = append(out, p)
	}
	for _, vs := range u.Query() {
		out = append(out, vs...)
	}
	return out
}

// A boundSource talks to WeChat's API host: NewClient binds it to the
// client's base URL and HTTP client, so that one setting steers every request.
type boundSource interface {
	bind(base string, hc *http.Client) (TokenSource, error)
}

// bindEndpoint resolves a token source's base URL and HTTP client against
// the client's (clientBase "" when WithBaseURL was not given).
func bindEndpoint(name, own, clientBase string, ownHC, clientHC *http.Client) (string, *http.Client, error) {
	if ownHC == nil {
		ownHC = clientHC
	}
	switch {
	case clientBase == "":
		return own, ownHC, nil
	case own == "":
		return clientBase, ownHC, nil
	case strings.TrimSuffix(own, "/") != clientBase:
		return "", nil, errors.New("openapi: " + name + ".BaseURL and WithBaseURL differ: set one of them, so that one setting steers every request")
	}
	return own, ownHC, nil
}

// baseURL returns base, or DefaultBaseURL when it is empty.
func baseURL(base string) string {
	if base == "" {
		return DefaultBaseURL
	}
	return strings.TrimSuffix(base, "/")
}

// defaultTokenLifetime is assumed when an answer gives no expires_in.
const defaultTokenLifetime = 5 * time.Minute

// fetchToken asks a token endpoint. secrets are scrubbed from any text of
// its answer that an error repeats: an endpoint may echo what it was sent.
func fetchToken(ctx context.Context, hc *http.Client, method, rawURL string, body []byte, secrets []string) (*Token, error) {
	resp, e := send(ctx, hc, method, rawURL, body)
	if e != nil {
		e.Msg = "access_token: " + scrub(e.Msg, secrets)
		return nil, e
	}
	defer resp.Release()
	if resp.Status >= 500 {
		return nil, &Error{Code: CodeInternal, StatusCode: resp.Status, temporary: true,
			Msg: "access_token: token endpoint answered HTTP " + statusText(resp.Status)}
	}
	var ans struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   *json.Number    `json:"expires_in"`
		Errcode     int             `json:"errcode"`
		Errmsg      json.RawMessage `json:"errmsg"`
	}
	// The body may hold a token: never echo it.
	if err := json.Unmarshal(resp.Body, &ans); err != nil {
		return nil, &Error{Code: CodeInternal, StatusCode: resp.Status, Msg: "access_token: token endpoint answered HTTP " +
			statusText(resp.Status) + " with a body that is not a token answer"}
	}
	if ans.Errcode != 0 {
		e := wechatError(ans.Errcode, jsonText(ans.Errmsg))
		e.Msg = "access_token: " + scrub(e.Msg, secrets, []string{ans.AccessToken})
		e.StatusCode = resp.Status
		return nil, e
	}
	if ans.AccessToken == "" {
		return nil, &Error{Code: CodeInternal, StatusCode: resp.Status, Msg: "access_token: token endpoint answered without an access_token"}
	}
	lifetime := defaultTokenLifetime
	if ans.ExpiresIn != nil {
		n, err := ans.ExpiresIn.Int64()
		if err != nil || n <= 0 {
			// A token that is already expired, or of no stated life, would be
			// fetched again by every call.
			return nil, &Error{Code: CodeInternal, StatusCode: resp.Status,
				Msg: "access_token: token endpoint answered an expires_in that is not a positive number of seconds"}
		}
		lifetime = time.Duration(min(n, 1<<31)) * time.Second
	}
	return &Token{AccessToken: ans.AccessToken, Expiry: time.Now().Add(lifetime)}, nil
}

// jsonText returns the text of a JSON value as JavaScript's string
// concatenation would show it: a string's contents, other values as written,
// and nil when there is no value.
func jsonText(raw json.RawMessage) *string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return &s
	}
	s = string(raw)
	return &s
}

// DefaultRefreshMargin is how long before its expiry a cached token is
// replaced. WeChat rotates a stable token in its last 5 minutes and keeps the
// old one valid meanwhile, so refreshing then costs nothing and never fails a call.
const DefaultRefreshMargin = 5 * time.Minute

// TokenFetchTimeout bounds one fetch, whoever waits for it.
const TokenFetchTimeout = 10 * time.Second

// failedFetchRetry is how soon a failed refresh is tried again while the
// cached token still serves.
const failedFetchRetry = time.Minute

// A TokenCache reuses the tokens of a source until shortly before they
// expire, then refreshes them in the background while the cached token still
// serves; callers wait only when there is no valid token. However many
// callers wait, one fetch is in flight at a time. A token that WeChat
// rejected is evicted only if it is still the cached one, so a burst of
// failures causes one refresh, not one each; if the source hands out the
// refused token again, it is force-refreshed when the ForceBudget allows,
// and otherwise kept only until the next allowed force.
type TokenCache struct {
	src    TokenSource
	margin time.Duration
	log    *slog.Logger
	name   string // the source's kind, for the log
	now    func() time.Time
	budget ForceBudget

	mu        sync.Mutex
	tok       *Token
	refreshAt time.Time // when tok is to be replaced; zero: never
	latest    string    // the token last cached, even if evicted since
	heldUntil time.Time // tok was refused and cannot be force-refreshed before then
	refused   []string  // the tokens WeChat refused lately, since the last good one
	flight    *flight
	known     atomic.Pointer[[]string] // secrets: the source's, and recent tokens
}

type flight struct {
	done    chan struct{}
	tok     *Token
	err     error
	refused []string // what was refused when it began
}

// maxRefused bounds the refused tokens remembered.
const maxRefused = 4

// NewTokenCache returns a cache in front of src that refreshes tokens margin
// before they expire, or halfway through their life if that is sooner.
func NewTokenCache(src TokenSource, margin time.Duration) *TokenCache {
	c := &TokenCache{src: src, margin: margin, log: slog.New(slog.DiscardHandler), name: sourceName(src), now: time.Now}
	c.budget = NewForceBudget(DefaultForcesPerDay, func() time.Time { return c.now() })
	known := []string{}
	if s, ok := src.(interface{ secrets() []string }); ok {
		known = s.secrets()
	}
	c.known.Store(&known)
	return c
}

func sourceName(src TokenSource) string {
	switch src.(type) {
	case *StableToken:
		return "stable"
	case *CredentialToken:
		return "credential"
	case *URLToken:
		return "url"
	case staticSource:
		return "static"
	}
	return fmt.Sprintf("%T", src)
}

// SetLogger makes the cache log each fetch: the source, why, how long it
// took and any errCode. Never the token.
func (c *TokenCache) SetLogger(l *slog.Logger, source string) {
	c.log, c.name = l, source
}

// SetClock sets the cache's clock; call it before first use.
func (c *TokenCache) SetClock(now func() time.Time) { c.now = now }

// SetForceBudget replaces the default budget of force refreshes, e.g. by one
// shared between instances; call it before first use.
func (c *TokenCache) SetForceBudget(b ForceBudget) { c.budget = b }

// secrets returns the source's credentials and the tokens handed out lately.
func (c *TokenCache) secrets() []string { return *c.known.Load() }

// Token returns a valid token, fetching one if there is none. A caller whose
// ctx ends stops waiting; the fetch goes on for the others, bounded by
// TokenFetchTimeout.
func (c *TokenCache) Token(ctx context.Context) (*Token, error) {
	c.mu.Lock()
	now := c.now()
	if t := c.tok; t != nil && (t.Expiry.IsZero() || now.Before(t.Expiry)) {
		if now.Before(c.heldUntil) {
			// WeChat refused it and no force refresh is allowed yet: sending
			// it would only waste a call of the day's quota.
			held := c.heldUntil
			c.mu.Unlock()
			return nil, &Error{Code: CodeInvalidCred, Msg: "access_token: WeChat refused the current access token, " +
				"and no force refresh is allowed before " + held.In(CST).Format("15:04:05") + " China Standard Time"}
		}
		if !c.refreshAt.IsZero() && !now.Before(c.refreshAt) && c.flight == nil {
			c.startLocked() // refresh ahead, in the background
		}
		c.mu.Unlock()
		return t, nil
	}
	f := c.flight
	if f == nil {
		f = c.startLocked()
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return nil, transportError(ctx, ctx.Err())
	}
}

func (c *TokenCache) startLocked() *flight {
	f := &flight{done: make(chan struct{}), refused: slices.Clone(c.refused)}
	c.flight = f
	go c.fetch(f, c.tok)
	return f
}

// Reject reports that WeChat refused tok (40001, 40014, 42001). It evicts tok
// if it is still the cached token and returns the token to retry with; the
// error is non-nil when there is none, or no other than tok.
func (c *TokenCache) Reject(ctx context.Context, tok string) (*Token, error) {
	c.mu.Lock()
	if c.tok != nil && c.tok.AccessToken == tok {
		c.tok = nil
	}
	// A token older than the latest was already replaced: nothing to do.
	if c.tok == nil && tok == c.latest {
		if !slices.Contains(c.refused, tok) {
			c.refused = append(c.refused, tok)
			if len(c.refused) > maxRefused {
				c.refused = c.refused[1:]
			}
		}
		// A fetch begun before this rejection would not know of it, and
		// could bring the refused token back: later callers wait for one
		// that does.
		if c.flight != nil && !slices.Contains(c.flight.refused, tok) {
			c.detachLocked()
		}
	}
	c.mu.Unlock()
	t, err := c.Token(ctx)
	if err != nil {
		return nil, err
	}
	if t.AccessToken == tok {
		return nil, errSameToken
	}
	return t, nil
}

// detachLocked leaves the flight in progress, if any, to its own waiters:
// its answer will not be cached.
func (c *TokenCache) detachLocked() { c.flight = nil }

var errSameToken = errors.New("the token source has no other token")

func (c *TokenCache) fetch(f *flight, old *Token) {
	ctx, cancel := context.WithTimeout(context.Background(), TokenFetchTimeout)
	defer cancel()
	start := c.now()
	reason := "first"
	switch {
	case len(f.refused) > 0:
		reason = "rejected"
	case old != nil:
		reason = "expiring"
	}
	t, err := c.sourceToken(ctx, false)
	forced, held := false, time.Time{}
	if err == nil && slices.Contains(f.refused, t.AccessToken) {
		// The source still hands out the token WeChat refused: for a stable
		// token, only a force refresh replaces it.
		if _, ok := c.src.(forceRefresher); ok {
			if ok, next := c.budget.Take(ctx); ok {
				if t2, err2 := c.sourceToken(ctx, true); err2 == nil {
					t, forced = t2, true
				}
			} else {
				held = next
			}
		}
	}
	attrs := []slog.Attr{slog.String("source", c.name), slog.String("reason", reason), slog.Bool("forced", forced),
		slog.Int64("latency_ms", c.now().Sub(start).Milliseconds())}
	if err != nil {
		code := CodeInternal
		var e *Error
		if errors.As(err, &e) {
			code = e.Code
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "token refresh failed", append(attrs, slog.Int("errCode", code))...)
	} else {
		if !t.Expiry.IsZero() {
			attrs = append(attrs, slog.Int("expires_in", int(t.Expiry.Sub(c.now()).Seconds())))
		}
		c.log.LogAttrs(ctx, slog.LevelInfo, "token refresh", attrs...)
	}
	now := c.now()
	c.mu.Lock()
	if c.flight == f {
		c.flight = nil
		switch {
		case err == nil:
			c.tok, c.refreshAt, c.latest, c.heldUntil = t, c.refreshTime(now, t), t.AccessToken, time.Time{}
			switch {
			case !slices.Contains(c.refused, t.AccessToken):
				c.refused = nil
			case !held.IsZero():
				// Refused, and no force allowed yet: keep it only until one
				// is, and send it nowhere meanwhile.
				c.refreshAt, c.heldUntil = held, held
			}
			c.remember(t.AccessToken)
		case old != nil && (old.Expiry.IsZero() || now.Before(old.Expiry)) && len(f.refused) == 0:
			// Keep serving the old token while it is still valid: the fetch
			// failed, the token did not.
			c.tok = old
			c.refreshAt = now.Add(min(failedFetchRetry, old.Expiry.Sub(now)/2))
		}
	}
	c.mu.Unlock()
	f.tok, f.err = t, err
	close(f.done)
}

// remember adds tok to the secrets, keeping the last few tokens: an answer
// may echo a token that was just replaced.
func (c *TokenCache) remember(tok string) {
	old := *c.known.Load()
	if slices.Contains(old, tok) {
		return
	}
	next := append(slices.Clone(old), tok)
	if n := len(next); n > 16 {
		next = append(next[:0:0], next[n-16:]...)
	}
	c.known.Store(&next)
}

// sourceToken calls the source, turning a panic into an error: this runs
// on a goroutine of its own, where a panic would end the process.
func (c *TokenCache) sourceToken(ctx context.Context, force bool) (t *Token, err error) {
	defer func() {
		if p := recover(); p != nil {
			t, err = nil, &Error{Code: CodeInternal, Msg: "access_token: the token source failed"}
		}
	}()
	if force {
		t, err = c.src.(forceRefresher).ForceRefresh(ctx)
	} else {
		t, err = c.src.Token(ctx)
	}
	if err == nil && (t == nil || t.AccessToken == "") {
		err = &Error{Code: CodeInternal, Msg: "access_token: the token source returned no token"}
	}
	return t, err
}

func (c *TokenCache) refreshTime(now time.Time, t *Token) time.Time {
	if t.Expiry.IsZero() {
		return time.Time{}
	}
	life := t.Expiry.Sub(now)
	return t.Expiry.Add(-min(c.margin, life/2))
}

// A ForceBudget rations force refreshes of a stable token, which WeChat
// allows 20 times a day per AppID, 30 s apart, across every instance.
type ForceBudget interface {
	// Take spends one force refresh if one is allowed now; otherwise it
	// reports when the next one will be.
	Take(ctx context.Context) (ok bool, next time.Time)
}

// Force refresh defaults: half of WeChat's daily 20, leaving the rest for a
// manual rotation; 30 s apart at first, twice as long after each.
const (
	DefaultForcesPerDay  = 10
	ForceRefreshInterval = 30 * time.Second
	MaxForceInterval     = time.Hour
)

// NewForceBudget returns a budget of perDay force refreshes a day (China
// Standard Time, as WeChat counts), the first ForceRefreshInterval after the
// last, each later one twice as long after the one before, for one process.
func NewForceBudget(perDay int, now func() time.Time) ForceBudget {
	return &forceBudget{perDay: perDay, now: now}
}

type forceBudget struct {
	perDay int
	now    func() time.Time

	mu    sync.Mutex
	day   time.Time // the CST day counted
	used  int
	last  time.Time
	delay time.Duration
}

func (b *forceBudget) Take(context.Context) (bool, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if day := Today(now); !day.Equal(b.day) {
		b.day, b.used, b.delay = day, 0, 0
	}
	if b.used >= b.perDay {
		return false, b.day.AddDate(0, 0, 1)
	}
	if !b.last.IsZero() && now.Sub(b.last) < b.delay {
		return false, b.last.Add(b.delay)
	}
	b.used++
	b.last = now
	b.delay = min(max(2*b.delay, ForceRefreshInterval), MaxForceInterval)
	return true, time.Time{}
}

// CloudbaseTokenFile is where WeChat Cloud Run mounts the service's
// cloudbase_access_token when token push is on: valid 30 minutes, rewritten
// every 10.
const CloudbaseTokenFile = "/.tencentcloudbase/wx/cloudbase_access_token"

// fileTokenLife is how long a token read from a file is trusted before the
// file is read again: the platform may rewrite it at any time.
const fileTokenLife = time.Minute

// FileToken reads a token from a file that the platform rewrites, such as
// CloudbaseTokenFile; each Token reads it again. Send it with
// WithTokenParam("cloudbase_access_token").
type FileToken struct {
	Path string
}

// Token reads the file.
func (s *FileToken) Token(context.Context) (*Token, error) {
	b, err := os.ReadFile(s.Path)
	if err != nil {
		reason := err
		var pe *fs.PathError
		if errors.As(err, &pe) {
			reason = pe.Err // the path is the configuration's, not the caller's business
		}
		return nil, &Error{Code: CodeConfig, Msg: "system args error: the token file cannot be read: " + reason.Error()}
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return nil, &Error{Code: CodeConfig, Msg: "system args error: the token file is empty"}
	}
	return &Token{AccessToken: tok, Expiry: time.Now().Add(fileTokenLife)}, nil
}
