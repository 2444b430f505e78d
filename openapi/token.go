package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
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

// ForceRefreshInterval is the least time between two force refreshes of a
// stable token: WeChat ignores a faster one and allows 20 a day.
const ForceRefreshInterval = 30 * time.Second

// StableToken gets tokens from POST /cgi-bin/stable_token. In normal mode
// WeChat returns the same token until 5 minutes before it expires, so any
// number of instances can share an AppID without invalidating each other.
type StableToken struct {
	BaseURL    string // e.g. https://api.weixin.qq.com
	AppID      string
	Secret     string
	HTTPClient *http.Client

	mu        sync.Mutex
	lastForce time.Time
}

// Token fetches the current stable token.
func (s *StableToken) Token(ctx context.Context) (*Token, error) { return s.fetch(ctx, false) }

// ForceRefresh makes WeChat issue a new token, at most once per
// ForceRefreshInterval; a call within that interval fails without a request.
func (s *StableToken) ForceRefresh(ctx context.Context) (*Token, error) {
	s.mu.Lock()
	if !s.lastForce.IsZero() && time.Since(s.lastForce) < ForceRefreshInterval {
		s.mu.Unlock()
		return nil, errForceLimited
	}
	s.lastForce = time.Now()
	s.mu.Unlock()
	return s.fetch(ctx, true)
}

var errForceLimited = errors.New("force_refresh of the stable token was used less than 30 s ago")

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
	return fetchToken(ctx, s.HTTPClient, http.MethodPost, s.BaseURL+"/cgi-bin/stable_token", body)
}

// CredentialToken gets tokens from GET /cgi-bin/token. Each fetch invalidates
// the previous token within 5 minutes, so only one instance per AppID should
// use it; prefer StableToken.
type CredentialToken struct {
	BaseURL    string
	AppID      string
	Secret     string
	HTTPClient *http.Client
}

// Token fetches a new token.
func (s *CredentialToken) Token(ctx context.Context) (*Token, error) {
	q := url.Values{"grant_type": {"client_credential"}, "appid": {s.AppID}, "secret": {s.Secret}}
	return fetchToken(ctx, s.HTTPClient, http.MethodGet, s.BaseURL+"/cgi-bin/token?"+q.Encode(), nil)
}

// URLToken gets tokens from a team's central token service: a GET of URL
// answers {"access_token": "...", "expires_in": seconds}, or a WeChat-style
// {"errcode", "errmsg"}.
type URLToken struct {
	URL        string
	HTTPClient *http.Client
}

// Token fetches the service's current token.
func (s *URLToken) Token(ctx context.Context) (*Token, error) {
	return fetchToken(ctx, s.HTTPClient, http.MethodGet, s.URL, nil)
}

// defaultTokenLifetime is assumed when an answer gives no expires_in.
const defaultTokenLifetime = 5 * time.Minute

func fetchToken(ctx context.Context, hc *http.Client, method, rawURL string, body []byte) (*Token, error) {
	if hc == nil {
		hc = DefaultHTTPClient
	}
	resp, err := send(ctx, hc, method, rawURL, body)
	if err != nil {
		return nil, err
	}
	defer resp.release()
	if resp.status >= 500 {
		return nil, &Error{Code: CodeInternal, Msg: "access_token: token endpoint answered HTTP " + resp.statusText(),
			temporary: true}
	}
	var ans struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.Number     `json:"expires_in"`
		Errcode     int             `json:"errcode"`
		Errmsg      json.RawMessage `json:"errmsg"`
	}
	// The body may hold a token: never echo it.
	if err := json.Unmarshal(resp.body, &ans); err != nil {
		return nil, &Error{Code: CodeInternal, Msg: "access_token: token endpoint answered HTTP " + resp.statusText() +
			" with a body that is not a token answer"}
	}
	if ans.Errcode != 0 {
		e := wechatError(ans.Errcode, jsonText(ans.Errmsg))
		e.Msg = "access_token: " + e.Msg
		return nil, e
	}
	if ans.AccessToken == "" {
		return nil, &Error{Code: CodeInternal, Msg: "access_token: token endpoint answered without an access_token"}
	}
	lifetime := defaultTokenLifetime
	if n, err := ans.ExpiresIn.Int64(); err == nil && n > 0 {
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

// tokenFetchTimeout bounds one fetch, whoever waits for it.
const tokenFetchTimeout = 10 * time.Second

// A TokenCache reuses the tokens of a source until shortly before they
// expire. However many callers wait, one fetch is in flight at a time. A
// token that WeChat rejected is evicted only if it is still the cached one,
// so a burst of failures causes one refresh, not one each.
type TokenCache struct {
	src    TokenSource
	margin time.Duration
	log    *slog.Logger
	name   string // the source's kind, for the log

	mu        sync.Mutex
	tok       *Token
	refreshAt time.Time // when tok is to be replaced; zero: never
	rejected  string    // the last token WeChat rejected
	flight    *flight
}

type flight struct {
	done chan struct{}
	tok  *Token
	err  error
}

// NewTokenCache returns a cache in front of src that refreshes tokens margin
// before they expire, or halfway through their life if that is sooner.
func NewTokenCache(src TokenSource, margin time.Duration) *TokenCache {
	return &TokenCache{src: src, margin: margin, log: slog.New(slog.DiscardHandler), name: fmt.Sprintf("%T", src)}
}

// SetLogger makes the cache log each fetch: the source, why, how long it
// took and any errCode. Never the token.
func (c *TokenCache) SetLogger(l *slog.Logger, source string) {
	c.log, c.name = l, source
}

// Token returns a valid token, fetching one if the cached token is missing
// or due for refresh. A caller whose ctx ends stops waiting; the fetch goes
// on for the others, bounded by its own timeout.
func (c *TokenCache) Token(ctx context.Context) (*Token, error) {
	c.mu.Lock()
	if c.tok != nil && (c.refreshAt.IsZero() || time.Now().Before(c.refreshAt)) {
		t := c.tok
		c.mu.Unlock()
		return t, nil
	}
	f := c.flight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		c.flight = f
		go c.fetch(f, c.tok, c.rejected)
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return nil, transportError(ctx, ctx.Err())
	}
}

// Reject reports that WeChat refused tok (40001, 40014, 42001). It evicts tok
// if it is still the cached token and returns the token to retry with; the
// error is non-nil when there is none, or no other than tok.
func (c *TokenCache) Reject(ctx context.Context, tok string) (*Token, error) {
	c.mu.Lock()
	if c.tok != nil && c.tok.AccessToken == tok {
		c.tok, c.rejected = nil, tok
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

var errSameToken = errors.New("the token source has no other token")

func (c *TokenCache) fetch(f *flight, old *Token, rejected string) {
	ctx, cancel := context.WithTimeout(context.Background(), tokenFetchTimeout)
	defer cancel()
	start := time.Now()
	reason := "first"
	switch {
	case rejected != "":
		reason = "rejected"
	case old != nil:
		reason = "expiring"
	}
	t, err := c.sourceToken(ctx)
	forced := false
	if err == nil && rejected != "" && t.AccessToken == rejected {
		// The source still hands out the token WeChat refused: for a stable
		// token, only a force refresh replaces it.
		if fr, ok := c.src.(forceRefresher); ok {
			if t2, err2 := fr.ForceRefresh(ctx); err2 == nil {
				t, forced = t2, true
			}
		}
	}
	attrs := []any{"source", c.name, "reason", reason, "forced", forced, "latency_ms", time.Since(start).Milliseconds()}
	if err != nil {
		var e *Error
		code := CodeInternal
		if errors.As(err, &e) {
			code = e.Code
		}
		c.log.Warn("token refresh failed", append(attrs, "errCode", code)...)
	} else {
		if !t.Expiry.IsZero() {
			attrs = append(attrs, "expires_in", int(time.Until(t.Expiry).Seconds()))
		}
		c.log.Info("token refresh", attrs...)
	}
	now := time.Now()
	c.mu.Lock()
	switch {
	case err == nil:
		c.tok, c.refreshAt = t, c.refreshTime(now, t)
		if t.AccessToken != rejected {
			c.rejected = ""
		}
	case old != nil && now.Before(old.Expiry):
		// Keep serving the old token while it is still valid: the fetch
		// failed, the token did not.
		t, err = old, nil
		c.refreshAt = now.Add(min(time.Minute, old.Expiry.Sub(now)/2))
	}
	c.flight = nil
	c.mu.Unlock()
	f.tok, f.err = t, err
	close(f.done)
}

// sourceToken calls the source, turning a panic into an error: this runs
// on a goroutine of its own, where a panic would end the process.
func (c *TokenCache) sourceToken(ctx context.Context) (t *Token, err error) {
	defer func() {
		if p := recover(); p != nil {
			t, err = nil, &Error{Code: CodeInternal, Msg: "access_token: the token source failed"}
		}
	}()
	t, err = c.src.Token(ctx)
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
