package openapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// 第三方调用: a third-party platform (服务商) calls the analysis APIs of the
// Mini Programs that authorized it, with each one's authorizer_access_token.
// WeChat's errcodes of the open platform, as Component explains them.
const (
	CodeNotAuthorized   = 61003 // the Mini Program has not authorized the platform
	CodeIPNotAllowed    = 61004 // the platform's IP is not on its whitelist
	CodeTicketExpired   = 61005 // component_verify_ticket expired
	CodeTicketInvalid   = 61006 // component_verify_ticket invalid
	CodeRefreshInvalid  = 61023 // authorizer_refresh_token invalid
	CodeAPIUnauthorized = 48001 // the API's permission set was not granted
)

// A SharedStore keeps values that every instance of the function sees: the
// verify ticket, the component token and the authorizers' tokens. Redis
// fits it; NewMemoryStore is one for a single process. Implementations must
// be safe for concurrent use.
type SharedStore interface {
	// Get returns key's value; ok is false when there is none.
	Get(ctx context.Context, key string) (value []byte, ok bool, err error)
	// Set stores value for ttl (> 0).
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// SetNX stores value for ttl only if key has none; it reports whether it did.
	SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// Del removes key.
	Del(ctx context.Context, key string) error
}

// A ValueDeleter is a SharedStore that can remove a key only while it holds
// a given value, atomically (Redis: a script comparing GET with the value
// before DEL). A Component releases its fetch locks with it when the store
// has it; otherwise with a Get then a Del, which can, in the instant
// between them, remove a lock that another instance has just taken after
// this one's expired: that instance's fetch then is not alone, which costs
// one more token fetch, never a wrong token.
type ValueDeleter interface {
	// DelIfEqual removes key if its value is value, and reports whether it did.
	DelIfEqual(ctx context.Context, key string, value []byte) (bool, error)
}

// NewMemoryStore returns a SharedStore in this process's memory; now is its
// clock (nil: time.Now).
func NewMemoryStore(now func() time.Time) SharedStore {
	if now == nil {
		now = time.Now
	}
	return &memoryStore{now: now, m: map[string]memoryEntry{}}
}

type memoryStore struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]memoryEntry
}

type memoryEntry struct {
	v   []byte
	exp time.Time
}

func (s *memoryStore) getLocked(key string) ([]byte, bool) {
	e, ok := s.m[key]
	if ok && !s.now().Before(e.exp) {
		delete(s.m, key)
		return nil, false
	}
	return e.v, ok
}

func (s *memoryStore) Get(_ context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.getLocked(key)
	return slices.Clone(v), ok, nil
}

func (s *memoryStore) Set(_ context.Context, key string, v []byte, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = memoryEntry{slices.Clone(v), s.now().Add(ttl)}
	return nil
}

func (s *memoryStore) SetNX(_ context.Context, key string, v []byte, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.getLocked(key); ok {
		return false, nil
	}
	s.m[key] = memoryEntry{slices.Clone(v), s.now().Add(ttl)}
	return true, nil
}

func (s *memoryStore) Del(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

func (s *memoryStore) DelIfEqual(_ context.Context, key string, value []byte) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.getLocked(key); !ok || !bytes.Equal(v, value) {
		return false, nil
	}
	delete(s.m, key)
	return true, nil
}

// Open-platform defaults.
const (
	// TicketLife is how long WeChat accepts a component_verify_ticket; it
	// pushes a new one every 10 minutes.
	TicketLife = 12 * time.Hour
	// DefaultListInterval is the least time between two reads of the
	// authorizer list that an unknown AppID causes: a wrong AppID, asked for
	// in a loop, costs one read a minute, not one a call.
	DefaultListInterval = time.Minute
	// DefaultFailureInterval is how long a failed read of the authorizer
	// list, or a failed fetch of a token, is answered from memory with the
	// same error before WeChat is asked again: an IP off the whitelist, an
	// invalid refresh token or an upstream outage costs each instance one
	// request per interval, not one per call.
	DefaultFailureInterval = 30 * time.Second
	// AuthorizerPage is the most authorizers api_get_authorizer_list answers at once.
	AuthorizerPage = 500
	// refreshTokenLife keeps a rotated refresh token in the store; WeChat's
	// do not expire while the authorization stands, and the list gives the
	// current one again.
	refreshTokenLife = 90 * 24 * time.Hour
	// sharedWait is how often an instance waiting for another's fetch looks.
	sharedWait = 25 * time.Millisecond
)

// Component is a third-party platform (第三方平台): it keeps the
// component_verify_ticket that WeChat pushes, gets the
// component_access_token from it, reads the list of authorizers (the Mini
// Programs that authorized the platform) and gives each authorizer a
// TokenCache of its authorizer_access_token. The ticket and every token live
// in Store, so that any number of instances fetch each token once; a rotated
// authorizer_refresh_token is kept there too. Set the fields, then use it;
// it is safe for concurrent use.
type Component struct {
	BaseURL    string // default DefaultBaseURL
	AppID      string // component_appid
	Secret     string // component_appsecret
	HTTPClient *http.Client
	Store      SharedStore      // nil: NewMemoryStore, this process only
	Prefix     string           // prepended to Store keys; default "wxanalysis:component:"
	Now        func() time.Time // nil: time.Now
	Logger     *slog.Logger     // nil: discard
	// ListInterval bounds re-reads of the authorizer list; 0: DefaultListInterval.
	ListInterval time.Duration
	// FailureInterval: a failed list read or token fetch is answered with
	// its error this long, in this instance, before WeChat is asked again;
	// 0: DefaultFailureInterval.
	FailureInterval time.Duration
	// Margin: tokens are refreshed this long before they expire; 0: DefaultRefreshMargin.
	Margin time.Duration

	once     sync.Once
	token    *TokenCache
	tokenSrc *sharedSource

	mu       sync.Mutex
	listed   map[string]string // authorizer AppID → refresh token, from the last list read
	order    []string          // the listed AppIDs, in the list's order
	listedAt time.Time         // zero: never read
	listErr  pastFailure       // the last list read, if it failed
	caches   map[string]*TokenCache

	listMu sync.Mutex // one list read at a time
}

func (c *Component) init() {
	c.once.Do(func() {
		if c.Store == nil {
			c.Store = NewMemoryStore(c.Now)
		}
		if c.Now == nil {
			c.Now = time.Now
		}
		if c.Logger == nil {
			c.Logger = slog.New(slog.DiscardHandler)
		}
		if c.Prefix == "" {
			c.Prefix = "wxanalysis:component:"
		}
		if c.ListInterval <= 0 {
			c.ListInterval = DefaultListInterval
		}
		if c.Margin <= 0 {
			c.Margin = DefaultRefreshMargin
		}
		if c.FailureInterval <= 0 {
			c.FailureInterval = DefaultFailureInterval
		}
		c.caches = map[string]*TokenCache{}
		c.tokenSrc = &sharedSource{c: c, key: c.key("token"), fetch: c.fetchComponentToken, seen: []string{c.Secret}}
		c.token = c.newCache(c.tokenSrc, "component")
	})
}

func (c *Component) newCache(src TokenSource, name string) *TokenCache {
	tc := NewTokenCache(src, c.Margin)
	tc.SetClock(c.Now)
	tc.SetLogger(c.Logger, name)
	return tc
}

func (c *Component) key(parts ...string) string {
	return c.Prefix + c.AppID + ":" + strings.Join(parts, ":")
}

type storedTicket struct {
	Ticket  string `json:"ticket"`
	Created int64  `json:"created"`
}

// SaveTicket keeps a component_verify_ticket that WeChat pushed, created at
// created, unless the store has a newer one.
func (c *Component) SaveTicket(ctx context.Context, ticket string, created time.Time) error {
	c.init()
	if ticket == "" {
		return &Error{Code: CodeInvalidArgs, Msg: "component: an empty ticket"}
	}
	if b, ok, err := c.Store.Get(ctx, c.key("ticket")); err == nil && ok {
		var old storedTicket
		if json.Unmarshal(b, &old) == nil && old.Created > created.Unix() {
			return nil
		}
	}
	b, _ := json.Marshal(storedTicket{ticket, created.Unix()})
	ttl := created.Add(TicketLife).Sub(c.Now())
	if ttl <= 0 {
		return &Error{Code: CodeTicketExpired, Msg: "component: the ticket is older than 12 hours"}
	}
	if err := c.Store.Set(ctx, c.key("ticket"), b, ttl); err != nil {
		return &Error{Code: CodeInternal, Msg: "component: the ticket could not be stored: " + scrub(err.Error(), []string{ticket})}
	}
	// A new ticket may cure a failure remembered here (61005, 61006, or
	// none received yet): the instance that receives it tries at once; the
	// others within FailureInterval.
	c.tokenSrc.failed.forget()
	c.mu.Lock()
	c.listErr = pastFailure{}
	c.mu.Unlock()
	return nil
}

// A pastFailure is a failed upstream request remembered, so that the same
// error answers the calls that follow for a while instead of new requests.
// Its error is never handed out itself, only copies: callers may be given
// it at once by many goroutines.
type pastFailure struct {
	err error
	at  time.Time // by the Component's clock
}

// recent returns a copy of the remembered error if it is younger than d at
// now, else nil.
func (f pastFailure) recent(now time.Time, d time.Duration) error {
	if f.err == nil {
		return nil
	}
	if age := now.Sub(f.at); age < 0 || age >= d {
		return nil
	}
	return freshCopy(f.err)
}

// remembered returns the failure of err at now, its message saying until
// when it stands.
func remembered(err error, now time.Time, d time.Duration) pastFailure {
	var e *Error
	if errors.As(err, &e) {
		err = e.WithNote("this answer is given again, without asking WeChat, until " +
			now.Add(d).In(CST).Format("15:04:05") + " China Standard Time")
	}
	return pastFailure{err: err, at: now}
}

// freshCopy returns a copy of err when it is an *Error, which a caller may
// change (Error.API); other errors are returned as they are.
func freshCopy(err error) error {
	if e, ok := err.(*Error); ok {
		c := *e
		return &c
	}
	return err
}

// unasked is a fetch's failure that asked WeChat nothing (no ticket yet,
// an authorizer of no list read yet): it is not remembered, since trying
// again costs no request and may succeed at once. The sharedSource hands
// out the error inside.
type unasked struct{ err error }

func (u unasked) Error() string { return u.err.Error() }

// lockedFailure is a pastFailure behind a mutex.
type lockedFailure struct {
	mu sync.Mutex
	f  pastFailure
}

func (l *lockedFailure) get() pastFailure {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f
}

func (l *lockedFailure) set(f pastFailure) {
	l.mu.Lock()
	l.f = f
	l.mu.Unlock()
}

func (l *lockedFailure) forget() { l.set(pastFailure{}) }

func (c *Component) ticket(ctx context.Context) (string, error) {
	b, ok, err := c.Store.Get(ctx, c.key("ticket"))
	var t storedTicket
	if err == nil && ok && json.Unmarshal(b, &t) == nil && t.Ticket != "" {
		return t.Ticket, nil
	}
	msg := "no component_verify_ticket has been received yet"
	if err != nil {
		msg = "the component_verify_ticket cannot be read from the shared store"
	}
	return "", &Error{Code: CodeTicketInvalid, Msg: "component: " + msg + ": WeChat pushes one every 10 minutes to the " +
		"platform's authorization-event URL, which must point at this function's /wechat/component (allow up to 10 minutes after setting it)"}
}

// Token returns the component_access_token.
func (c *Component) Token(ctx context.Context) (*Token, error) {
	c.init()
	return c.token.Token(ctx)
}

func (c *Component) fetchComponentToken(ctx context.Context) (*Token, []string, error) {
	ticket, err := c.ticket(ctx)
	if err != nil {
		return nil, nil, unasked{err}
	}
	body, _ := json.Marshal(map[string]string{"component_appid": c.AppID, "component_appsecret": c.Secret,
		"component_verify_ticket": ticket})
	var ans struct {
		Token     string `json:"component_access_token"`
		ExpiresIn int64  `json:"expires_in"`
	}
	secrets := []string{c.Secret, ticket}
	if e := c.post(ctx, "/cgi-bin/component/api_component_token", "", body, secrets, &ans, ""); e != nil {
		return nil, secrets, e
	}
	t, e := tokenOf(ans.Token, ans.ExpiresIn, c.Now())
	if e != nil {
		return nil, secrets, e
	}
	return t, secrets, nil
}

func tokenOf(tok string, expiresIn int64, now time.Time) (*Token, *Error) {
	if tok == "" || expiresIn <= 0 {
		return nil, &Error{Code: CodeInternal, Msg: "component: the token endpoint answered without a token and a positive expires_in"}
	}
	return &Token{AccessToken: tok, Expiry: now.Add(time.Duration(min(expiresIn, 1<<31)) * time.Second)}, nil
}

// post sends a component endpoint's request and decodes its answer into
// out; errors name the authorizer (if any) and the fix, and repeat none of
// secrets nor the component token.
func (c *Component) post(ctx context.Context, path, componentToken string, body []byte, secrets []string, out any, authorizer string) *Error {
	u := baseURL(c.BaseURL) + path
	if componentToken != "" {
		u += "?component_access_token=" + url.QueryEscape(componentToken)
		secrets = append(secrets, componentToken)
	}
	resp, e := send(ctx, c.HTTPClient, http.MethodPost, u, body)
	if e != nil {
		e.Msg = "component: " + scrub(e.Msg, secrets)
		return e
	}
	defer resp.Release()
	if resp.Status >= 500 {
		return &Error{Code: CodeInternal, StatusCode: resp.Status, temporary: true,
			Msg: "component: " + path + " answered HTTP " + statusText(resp.Status)}
	}
	var ans struct {
		Errcode int             `json:"errcode"`
		Errmsg  json.RawMessage `json:"errmsg"`
	}
	if json.Unmarshal(resp.Body, &ans) != nil || json.Unmarshal(resp.Body, out) != nil {
		return &Error{Code: CodeInternal, StatusCode: resp.Status, Msg: "component: " + path + " answered HTTP " +
			statusText(resp.Status) + " with a body that is not JSON of the expected shape"}
	}
	if ans.Errcode != 0 {
		e := ComponentError(ans.Errcode, authorizer)
		if e == nil {
			e = wechatError(ans.Errcode, jsonText(ans.Errmsg))
			e.Msg = "component: " + path + ": " + scrub(e.Msg, secrets)
		}
		e.StatusCode = resp.Status
		return e
	}
	return nil
}

// ComponentError explains an open-platform errcode for authorizer ("" when
// none is concerned) and says what to do; nil for other codes. It repeats
// no secret: WeChat's errmsg is left out.
func ComponentError(code int, authorizer string) *Error {
	who := "the authorizer"
	if authorizer != "" {
		who = "authorizer " + authorizer
	}
	var msg string
	switch code {
	case CodeNotAuthorized:
		msg = who + " has not authorized this platform (61003): the Mini Program's administrator must authorize it, granting permission set 18 or 21"
	case CodeIPNotAllowed:
		msg = "the platform's outbound IP is not on its whitelist (61004): add this server's IP in the open platform's development settings (IP白名单)"
	case CodeTicketExpired, CodeTicketInvalid:
		state := "expired"
		if code == CodeTicketInvalid {
			state = "invalid"
		}
		msg = "the component_verify_ticket is " + state + " (" + strconv.Itoa(code) + "): has the authorization-event URL been set to this function's /wechat/component, with the same token and EncodingAESKey? WeChat pushes a ticket every 10 minutes; refused pushes are logged with the reason"
	case CodeRefreshInvalid:
		msg = who + "'s authorizer_refresh_token is invalid (61023): the Mini Program's administrator must authorize the platform again"
	case CodeAPIUnauthorized:
		msg = who + " has not granted this API to the platform (48001): the Mini Program's administrator must grant permission set 18 (小程序开发与数据分析) or 21 when authorizing"
	default:
		return nil
	}
	return &Error{Code: code, Msg: "component: " + msg}
}

// Authorizers returns the AppIDs of the Mini Programs that authorized the
// platform, in the list's order, reading the list if it has never been read
// or was read more than ListInterval ago. A sync over every authorizer
// iterates them.
func (c *Component) Authorizers(ctx context.Context) ([]string, error) {
	c.init()
	c.mu.Lock()
	fresh := !c.listedAt.IsZero() && c.Now().Sub(c.listedAt) < c.ListInterval
	order := slices.Clone(c.order)
	c.mu.Unlock()
	if fresh {
		return order, nil
	}
	if err := c.readList(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.order), nil
}

// Check reports whether appid has authorized the platform. An AppID not in
// the list read last makes the list be read again, at most once per
// ListInterval whatever is asked: a wrong AppID cannot cause a storm of reads.
func (c *Component) Check(ctx context.Context, appid string) error {
	c.init()
	c.mu.Lock()
	_, ok := c.listed[appid]
	stale := c.listedAt.IsZero() || c.Now().Sub(c.listedAt) >= c.ListInterval
	c.mu.Unlock()
	if ok {
		return nil
	}
	if stale {
		if err := c.readList(ctx); err != nil {
			return err
		}
		c.mu.Lock()
		_, ok = c.listed[appid]
		c.mu.Unlock()
		if ok {
			return nil
		}
	}
	e := ComponentError(CodeNotAuthorized, appid)
	e.Msg += "; the list of authorizers is read again at most every " + c.ListInterval.String()
	return e
}

// readList reads every page of the authorizer list, once at a time. A
// failed read is remembered for FailureInterval, and its error answers
// meanwhile: WeChat is not asked again for every call that a wrong AppID,
// a missing whitelist entry or an outage would otherwise send.
func (c *Component) readList(ctx context.Context) error {
	c.listMu.Lock()
	defer c.listMu.Unlock()
	c.mu.Lock()
	now := c.Now()
	if !c.listedAt.IsZero() && now.Sub(c.listedAt) < c.ListInterval {
		c.mu.Unlock()
		return nil // read while this caller waited
	}
	if err := c.listErr.recent(now, c.FailureInterval); err != nil {
		c.mu.Unlock()
		return err
	}
	c.mu.Unlock()
	err := c.readPages(ctx)
	if err != nil && ctx.Err() == nil {
		// The caller's own cancellation or deadline says nothing of WeChat.
		f := remembered(err, c.Now(), c.FailureInterval)
		c.mu.Lock()
		c.listErr = f
		c.mu.Unlock()
		return freshCopy(f.err)
	}
	return err
}

// readPages reads every page of the authorizer list and keeps it.
func (c *Component) readPages(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, TokenFetchTimeout)
	defer cancel()
	listed, order := map[string]string{}, []string{}
	for offset := 0; ; {
		var page struct {
			Total int `json:"total_count"`
			List  []struct {
				AppID   string `json:"authorizer_appid"`
				Refresh string `json:"refresh_token"`
			} `json:"list"`
		}
		body, _ := json.Marshal(map[string]any{"component_appid": c.AppID, "offset": offset, "count": AuthorizerPage})
		if err := c.withComponentToken(ctx, func(tok string) *Error {
			return c.post(ctx, "/cgi-bin/component/api_get_authorizer_list", tok, body, []string{c.Secret}, &page, "")
		}); err != nil {
			return err
		}
		for _, a := range page.List {
			if _, dup := listed[a.AppID]; !dup && a.AppID != "" {
				order = append(order, a.AppID)
			}
			listed[a.AppID] = a.Refresh
		}
		offset += len(page.List)
		if len(page.List) == 0 || offset >= page.Total {
			break
		}
	}
	c.mu.Lock()
	c.listed, c.order, c.listedAt, c.listErr = listed, order, c.Now(), pastFailure{}
	c.mu.Unlock()
	c.Logger.Info("component: authorizer list read", "authorizers", len(order))
	return nil
}

// withComponentToken calls f with the component token, and once more with
// a new one if WeChat refused it.
func (c *Component) withComponentToken(ctx context.Context, f func(tok string) *Error) error {
	t, err := c.token.Token(ctx)
	if err != nil {
		return err
	}
	e := f(t.AccessToken)
	if e != nil && tokenRefused(e.Code) {
		if t, err = c.token.Reject(ctx, t.AccessToken); err != nil {
			return e
		}
		e = f(t.AccessToken)
	}
	if e != nil {
		return e
	}
	return nil
}

// AuthorizerTokens returns the TokenCache of appid's authorizer_access_token,
// the same one every time; check appid with Check first. Give it to
// NewClient to call the analysis APIs as that Mini Program.
func (c *Component) AuthorizerTokens(appid string) *TokenCache {
	c.init()
	c.mu.Lock()
	defer c.mu.Unlock()
	if tc, ok := c.caches[appid]; ok {
		return tc
	}
	src := &sharedSource{c: c, key: c.key("authorizer", appid, "token"), seen: []string{c.Secret},
		fetch: func(ctx context.Context) (*Token, []string, error) { return c.fetchAuthorizerToken(ctx, appid) }}
	tc := NewTokenCache(src, c.Margin)
	tc.SetClock(c.Now)
	tc.SetLogger(c.Logger.With("authorizer", appid), "authorizer")
	c.caches[appid] = tc
	return tc
}

func (c *Component) refreshToken(ctx context.Context, appid string) string {
	if b, ok, err := c.Store.Get(ctx, c.key("authorizer", appid, "refresh")); err == nil && ok && len(b) > 0 {
		return string(b)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.listed[appid]
}

// listedRefresh is appid's refresh token in the authorizer list, read
// again first if it is older than ListInterval.
func (c *Component) listedRefresh(ctx context.Context, appid string) string {
	c.mu.Lock()
	stale := c.listedAt.IsZero() || c.Now().Sub(c.listedAt) >= c.ListInterval
	c.mu.Unlock()
	if stale {
		_ = c.readList(ctx) // a failed read leaves the list as it was
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.listed[appid]
}

func (c *Component) fetchAuthorizerToken(ctx context.Context, appid string) (*Token, []string, error) {
	refresh := c.refreshToken(ctx, appid)
	secrets := []string{c.Secret, refresh}
	if refresh == "" {
		return nil, secrets, unasked{ComponentError(CodeNotAuthorized, appid)} // not in a list read yet
	}
	var ans struct {
		Token     string `json:"authorizer_access_token"`
		ExpiresIn int64  `json:"expires_in"`
		Refresh   string `json:"authorizer_refresh_token"`
	}
	ask := func(refresh string) error {
		body, _ := json.Marshal(map[string]string{"component_appid": c.AppID, "authorizer_appid": appid,
			"authorizer_refresh_token": refresh})
		return c.withComponentToken(ctx, func(tok string) *Error {
			return c.post(ctx, "/cgi-bin/component/api_authorizer_token", tok, body, secrets, &ans, appid)
		})
	}
	err := ask(refresh)
	var e *Error
	if errors.As(err, &e) && e.Code == CodeRefreshInvalid {
		// A merchant who authorized the platform again has a new refresh
		// token, which the list holds and the store does not: read the list
		// (at most once per ListInterval) and try its token once.
		if listed := c.listedRefresh(ctx, appid); listed != "" && listed != refresh {
			refresh = listed
			secrets = append(secrets, refresh)
			err = ask(refresh)
			if err == nil && ans.Refresh == "" {
				ans.Refresh = refresh // kept in the store below, over the invalid one
			}
		}
	}
	if err != nil {
		return nil, secrets, err
	}
	secrets = append(secrets, ans.Refresh)
	if ans.Refresh != "" && ans.Refresh != refresh {
		// The old refresh token may stop working at once: keep the new one
		// before anything else.
		c.mu.Lock()
		if _, ok := c.listed[appid]; ok {
			c.listed[appid] = ans.Refresh
		}
		c.mu.Unlock()
		if err := c.Store.Set(ctx, c.key("authorizer", appid, "refresh"), []byte(ans.Refresh), refreshTokenLife); err != nil {
			c.Logger.Warn("component: the rotated refresh token could not be stored; kept in this process", "authorizer", appid)
		}
	}
	t, e := tokenOf(ans.Token, ans.ExpiresIn, c.Now())
	if e != nil {
		return nil, secrets, e
	}
	return t, secrets, nil
}

// sharedSource is a token kept in the Component's store: read from there
// while it has more than the margin to live, else fetched by one instance
// at a time (a SetNX lock) while the others wait for it to appear. A failed
// fetch answers with its error for FailureInterval without another: the
// TokenCache in front asks its source again at every call while it has no
// token, and would otherwise send one request upstream per call (61023, an
// authorizer's refresh token invalid, until the merchant authorizes again).
// This is the source's rule, not TokenCache's, whose other sources keep
// theirs.
type sharedSource struct {
	c      *Component
	key    string
	fetch  func(ctx context.Context) (*Token, []string, error)
	failed lockedFailure // the last fetch, if it failed
	mu     sync.Mutex
	seen   []string // credentials, and the last fetches' tickets and refresh tokens
}

type storedToken struct {
	Token  string `json:"token"`
	Expiry int64  `json:"expiry"` // Unix milliseconds
}

func (s *sharedSource) Token(ctx context.Context) (*Token, error) { return s.get(ctx, "") }

// ForceRefresh fetches a new token whatever the store holds: the cache calls
// it when WeChat refused the stored one.
func (s *sharedSource) ForceRefresh(ctx context.Context) (*Token, error) {
	t := s.load(ctx)
	refused := "-"
	if t != nil {
		refused = t.AccessToken
	}
	return s.get(ctx, refused)
}

func (s *sharedSource) load(ctx context.Context) *Token {
	b, ok, err := s.c.Store.Get(ctx, s.key)
	var st storedToken
	if err != nil || !ok || json.Unmarshal(b, &st) != nil || st.Token == "" {
		return nil
	}
	return &Token{AccessToken: st.Token, Expiry: time.UnixMilli(st.Expiry)}
}

// usable: a stored token other than refused, with more than the margin to live.
func (s *sharedSource) usable(t *Token, refused string) bool {
	return t != nil && t.AccessToken != refused && t.Expiry.Sub(s.c.Now()) > s.c.Margin
}

// sharedWaitLimit bounds a wait for another instance's fetch, by the
// Component's clock and in real time alike: a little longer than that
// instance's lock lives, so that the lock of one that died is seen to
// expire and taken over.
const sharedWaitLimit = TokenFetchTimeout + time.Second

// get returns the stored token unless it is refused ("" for none), else
// fetches one, or waits for the instance that does.
func (s *sharedSource) get(ctx context.Context, refused string) (*Token, error) {
	if t := s.load(ctx); refused == "" && s.usable(t, "") {
		return t, nil
	}
	if err := s.failed.get().recent(s.c.Now(), s.c.FailureInterval); err != nil {
		return nil, err
	}
	lock := s.key + ":lock"
	// The lock's value is this fetch's own, so that releasing it never
	// removes a lock that another instance took after this one's expired.
	mine := []byte(rand.Text())
	// The deadline is the injectable clock's, as the store's lock expiry
	// is; the timer bounds the wait in real time too, should that clock stand still.
	deadline := s.c.Now().Add(sharedWaitLimit)
	wait, stop := context.WithTimeout(ctx, sharedWaitLimit)
	defer stop()
	for {
		won, err := s.c.Store.SetNX(ctx, lock, mine, TokenFetchTimeout)
		if err != nil || won {
			if won {
				defer s.unlock(context.WithoutCancel(ctx), lock, mine)
				if t := s.load(ctx); s.usable(t, refused) {
					return t, nil // another instance fetched it meanwhile
				}
			}
			// Without the store (err), fetch alone: a token is worth more than sharing it.
			return s.fetchAndStore(ctx)
		}
		if !sleep(wait, sharedWait) || s.c.Now().After(deadline) {
			return nil, &Error{Code: CodeTimeout, Msg: "component: another instance's token fetch did not finish in time"}
		}
		if t := s.load(ctx); s.usable(t, refused) {
			return t, nil
		}
	}
}

// unlock releases the fetch lock if it still holds mine: atomically when
// the store is a ValueDeleter, else by a Get and a Del (see ValueDeleter
// for the instant between them).
func (s *sharedSource) unlock(ctx context.Context, lock string, mine []byte) {
	if d, ok := s.c.Store.(ValueDeleter); ok {
		if _, err := d.DelIfEqual(ctx, lock, mine); err != nil {
			s.c.Logger.Warn("component: a fetch lock could not be released; it expires by itself", "key", lock)
		}
		return
	}
	if v, ok, err := s.c.Store.Get(ctx, lock); err != nil || !ok || !bytes.Equal(v, mine) {
		return // expired, and perhaps another instance's now
	}
	if err := s.c.Store.Del(ctx, lock); err != nil {
		s.c.Logger.Warn("component: a fetch lock could not be released; it expires by itself", "key", lock)
	}
}

func (s *sharedSource) fetchAndStore(ctx context.Context) (*Token, error) {
	t, secrets, err := s.fetch(ctx)
	s.mu.Lock()
	s.seen = append(slices.Clone(s.seen), secrets...)
	if n := len(s.seen); n > 16 {
		s.seen = append(s.seen[:1:1], s.seen[n-15:]...) // the component secret stays
	}
	s.mu.Unlock()
	if err != nil {
		if u, ok := err.(unasked); ok {
			return nil, u.err
		}
		if ctx.Err() != nil {
			return nil, err // cancelled: says nothing of WeChat
		}
		f := remembered(err, s.c.Now(), s.c.FailureInterval)
		s.failed.set(f)
		return nil, freshCopy(f.err)
	}
	s.failed.forget()
	b, _ := json.Marshal(storedToken{t.AccessToken, t.Expiry.UnixMilli()})
	if ttl := t.Expiry.Sub(s.c.Now()); ttl > 0 {
		if err := s.c.Store.Set(ctx, s.key, b, ttl); err != nil {
			s.c.Logger.Warn("component: a token could not be shared through the store; this instance keeps it", "key", s.key)
		}
	}
	return t, nil
}

// secrets are the component secret, the tickets and refresh tokens seen:
// the TokenCache scrubs them from what an answer echoes.
func (s *sharedSource) secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seen)
}

var _ forceRefresher = (*sharedSource)(nil)
