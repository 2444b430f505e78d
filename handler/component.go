package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wxanalysis/wxanalysis/cache"
	"github.com/wxanalysis/wxanalysis/cloudcall"
	"github.com/wxanalysis/wxanalysis/openapi"
	"github.com/wxanalysis/wxanalysis/warehouse"
	"github.com/wxanalysis/wxanalysis/wxcrypt"
)

// 第三方调用: with WECHAT_TOKEN_MODE=component, the function is a third-party
// platform's, and each event names the Mini Program (the authorizer) whose
// data it reads; so it does with WECHAT_TOKEN_MODE=url when WECHAT_TOKEN_URL
// holds {appid}.

// ModeComponent: a third-party platform's authorizer_access_token per
// authorizer, from WECHAT_COMPONENT_APPID and WECHAT_COMPONENT_APPSECRET and
// the verify ticket WeChat pushes to ComponentPushPath.
const ModeComponent = "component"

// AuthorizerKey is the event field naming the authorizer whose data to read.
const AuthorizerKey = "authorizerAppid"

// ComponentPushPath is where WeChat pushes component_verify_ticket (the
// platform's authorization-event URL, 授权事件接收URL), in HTTP mode.
const ComponentPushPath = "/wechat/component"

// AppIDPlaceholder in WECHAT_TOKEN_URL is replaced by the authorizer's AppID.
const AppIDPlaceholder = "{appid}"

// maxAuthorizerClients bounds the clients kept in url mode, where the token
// service alone knows which AppIDs are real.
const maxAuthorizerClients = 10000

// isAppID reports whether s is shaped as a Mini Program's AppID: "wx" and 8
// to 30 ASCII letters and digits (^wx[0-9A-Za-z]{8,30}$). By hand rather than
// with regexp, which would bring 0.24 MiB to the binary for two checks.
func isAppID(s string) bool {
	if len(s) < 2+8 || len(s) > 2+30 || s[:2] != "wx" {
		return false
	}
	for i := 2; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// perAuthorizer reports whether events name their authorizer.
func (c *Config) perAuthorizer() bool {
	return c.TokenMode == ModeComponent || c.TokenMode == ModeURL && strings.Contains(c.TokenURL, AppIDPlaceholder)
}

// readComponent reads the component settings.
func (c *Config) readComponent(getenv func(string) string) {
	c.ComponentAppID = strings.TrimSpace(getenv("WECHAT_COMPONENT_APPID"))
	c.ComponentSecret = strings.TrimSpace(getenv("WECHAT_COMPONENT_APPSECRET"))
	c.ComponentToken = strings.TrimSpace(getenv("WECHAT_COMPONENT_TOKEN"))
	c.ComponentAESKey = strings.TrimSpace(getenv("WECHAT_COMPONENT_AES_KEY"))
	c.SyncAuthorizers = list(getenv("SYNC_AUTHORIZERS"))
}

// componentSettings are what WECHAT_TOKEN_MODE=component requires.
var componentSettings = []*required{
	{"WECHAT_COMPONENT_APPID", func(c *Config) string { return c.ComponentAppID }},
	{"WECHAT_COMPONENT_APPSECRET", func(c *Config) string { return c.ComponentSecret }},
	{"WECHAT_COMPONENT_TOKEN", func(c *Config) string { return c.ComponentToken }},
	{"WECHAT_COMPONENT_AES_KEY", func(c *Config) string { return c.ComponentAESKey }},
}

// checkComponent reports what is wrong with the component settings beyond
// their presence.
func (c *Config) checkComponent() error {
	if c.ComponentAESKey == "" {
		return nil // reported as required
	}
	if len(c.ComponentAESKey) != wxcrypt.KeyLength {
		return settingError("WECHAT_COMPONENT_AES_KEY", "must be the platform's 43-character EncodingAESKey (消息加解密Key)")
	}
	if _, err := wxcrypt.New("t", c.ComponentAESKey, "a"); err != nil {
		return settingError("WECHAT_COMPONENT_AES_KEY", "must be 43 characters of base64 (A-Z, a-z, 0-9, + and /)")
	}
	return nil
}

// componentState serves the per-authorizer modes.
type componentState struct {
	comp     *openapi.Component // nil in url mode
	crypt    *wxcrypt.Crypter   // nil in url mode
	store    openapi.SharedStore
	redis    *cache.Redis // the force budgets' home, when shared
	tokenURL string
	hc       *http.Client
	opts     []openapi.Option

	mu      sync.Mutex
	clients map[string]*openapi.Client
}

// setupComponent builds the per-authorizer state. shared is the store every
// instance sees (CACHE_REDIS_URL), or nil: then DATABASE_URL's wxa_shared
// table is, if set, else this process's memory.
func (h *Handler) setupComponent(hc *http.Client, shared *cache.Redis) error {
	cfg := &h.cfg
	cs := &componentState{tokenURL: cfg.TokenURL, hc: hc, clients: map[string]*openapi.Client{}, redis: shared,
		opts: []openapi.Option{openapi.WithBaseURL(cfg.APIBase), openapi.WithHTTPClient(hc), openapi.WithClock(h.now),
			openapi.WithLogger(h.log)}}
	if cfg.Backoff > 0 {
		cs.opts = append(cs.opts, openapi.WithRetries(openapi.DefaultMaxAttempts, cfg.Backoff))
	}
	switch {
	case shared != nil:
		cs.store = shared.Values()
	case cfg.DatabaseURL != "":
		cs.store = dbShared{h}
	default:
		cs.store = openapi.NewMemoryStore(h.now)
	}
	if cfg.TokenMode == ModeComponent {
		cs.comp = &openapi.Component{BaseURL: cfg.APIBase, AppID: cfg.ComponentAppID, Secret: cfg.ComponentSecret,
			HTTPClient: hc, Store: cs.store, Now: h.now, Logger: h.log}
		var err error
		if cs.crypt, err = wxcrypt.New(cfg.ComponentToken, cfg.ComponentAESKey, cfg.ComponentAppID); err != nil {
			return errors.New("WECHAT_COMPONENT_AES_KEY is not a valid EncodingAESKey")
		}
		cs.crypt.Now = h.now
	}
	h.comp = cs
	return nil
}

// whose resolves, once per event, whose data it reads: in the
// per-authorizer modes the event's authorizerAppid (taken out of the
// event), otherwise the function's own WECHAT_APPID ("" in cloud mode,
// where the invocation says). The cache key, the log, the force budget and
// a warehouse row all follow it.
func (h *Handler) whose(ev map[string]any) (string, *openapi.Error) {
	if h.comp == nil {
		return h.cfg.AppID, nil // an authorizerAppid is left for decodeParams to refuse as unknown
	}
	raw, ok := ev[AuthorizerKey]
	delete(ev, AuthorizerKey)
	if !ok {
		return "", invalidArgs(AuthorizerKey + " is required: the AppID of the Mini Program whose data to read, such as \"wx1234567890abcdef\"; " +
			"this function serves a third-party platform's authorizers (WECHAT_TOKEN_MODE=" + h.cfg.TokenMode + ")")
	}
	s, ok := raw.(string)
	if !ok || !isAppID(s) {
		return "", invalidArgs(AuthorizerKey + " must be a Mini Program's AppID: wx followed by letters and digits, not " + describe(raw))
	}
	return s, nil
}

// authorizerClient returns the client that calls as authorizer app.
func (h *Handler) authorizerClient(ctx context.Context, app string) (*openapi.Client, *openapi.Error) {
	cs := h.comp
	if cs.comp != nil {
		if err := cs.comp.Check(ctx, app); err != nil {
			return nil, openapi.AsError(err)
		}
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c, ok := cs.clients[app]; ok {
		return c, nil
	}
	if len(cs.clients) >= maxAuthorizerClients {
		return nil, &openapi.Error{Code: openapi.CodeInternal, Msg: "system error: more than 10000 authorizers in one instance"}
	}
	var src openapi.TokenSource
	if cs.comp != nil {
		tc := cs.comp.AuthorizerTokens(app)
		if cs.redis != nil {
			// WeChat counts force refreshes per AppID: count them where
			// every instance sees them.
			tc.SetForceBudget(cs.redis.ForceBudget(app, openapi.DefaultForcesPerDay, openapi.ForceRefreshInterval,
				openapi.MaxForceInterval, openapi.NewForceBudget(openapi.DefaultForcesPerDay, h.now)))
		}
		src = tc
	} else {
		src = &openapi.URLToken{URL: strings.ReplaceAll(cs.tokenURL, AppIDPlaceholder, url.QueryEscape(app)), HTTPClient: cs.hc}
	}
	c, err := openapi.NewClient(src, cs.opts...)
	if err != nil {
		return nil, openapi.AsError(err)
	}
	cs.clients[app] = c
	return c, nil
}

// explain names the authorizer in WeChat's open-platform errors, in the
// per-authorizer modes; elsewhere WeChat's own words stay, as wx-server-sdk
// gives them.
func (h *Handler) explain(app string, e *openapi.Error) *openapi.Error {
	if h.comp == nil {
		return e
	}
	if ce := openapi.ComponentError(e.Code, app); ce != nil && !strings.HasPrefix(e.Msg, "component: ") {
		ce.API = e.API
		return ce
	}
	return e
}

// componentCaller refuses, in the per-authorizer modes, every caller with
// an end-user identity, whatever ADMIN_OPENIDS or ALLOW_ANY_CALLER say: a
// Mini Program user must never read a merchant's data.
func (h *Handler) componentCaller(c Caller) *openapi.Error {
	if h.comp == nil || c.Kind == KindOwner || c.Kind == KindHTTP {
		return nil
	}
	return &openapi.Error{Code: openapi.CodePermission, Msg: "api permission denied: a third-party platform's function " +
		"answers only callers with no end-user identity (the console, a timer, the platform's backend) and HTTP callers with an API key"}
}

// Authorizers returns the AppIDs a sync covers: in component mode the
// platform's authorizers, read from WeChat's list (at most once per
// openapi.DefaultListInterval); nil, nil in the other modes, where the
// caller supplies them (SYNC_AUTHORIZERS).
func (h *Handler) Authorizers(ctx context.Context) ([]string, error) {
	if h.err != nil {
		return nil, h.err
	}
	if h.comp == nil || h.comp.comp == nil {
		return nil, nil
	}
	return h.comp.comp.Authorizers(ctx)
}

// pushes reports whether the function takes WeChat's pushes: as a
// third-party platform with its message key.
func (h *Handler) pushes() bool { return h.comp != nil && h.comp.crypt != nil }

// pushEvent answers a push that came as an HTTP event (a function URL):
// servePush's answer, as the event's.
func (h *Handler) pushEvent(ctx context.Context, ev *HTTPRequest, body []byte, rec *record) []byte {
	rec.action = "componentPush"
	r, err := http.NewRequestWithContext(ctx, ev.HTTPMethod, "/", bytes.NewReader(body))
	if err != nil {
		r, _ = http.NewRequestWithContext(ctx, "INVALID", "/", bytes.NewReader(body)) // refused: "method"
	}
	r.URL.Path, r.URL.RawQuery = ev.Path, ev.values().Encode()
	w := &eventWriter{header: http.Header{}}
	h.servePush(w, r)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	rec.status = w.status
	resp := HTTPResponse{StatusCode: w.status, Headers: map[string]string{}, Body: w.body.String()}
	for k := range w.header {
		resp.Headers[k] = w.header.Get(k)
	}
	out, _ := json.Marshal(resp) // strings and a map of strings always encode
	return out
}

// eventWriter keeps what servePush answers, for an HTTP event's answer.
type eventWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *eventWriter) Header() http.Header { return w.header }

func (w *eventWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

func (w *eventWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

// servePush answers WeChat's pushes to the authorization-event URL:
// "success" for a good one, a refusal (logged with its reason) otherwise.
func (h *Handler) servePush(w http.ResponseWriter, r *http.Request) {
	cs := h.comp
	refuse := func(status int, reason, msg string) {
		h.log.Warn("component push refused", "reason", reason, "detail", msg)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		io.WriteString(w, "refused: "+reason+"\n")
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		refuse(http.StatusMethodNotAllowed, "method", "WeChat pushes with POST")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, wxcrypt.MaxPush))
	if err != nil {
		refuse(http.StatusBadRequest, "format", "the body could not be read, or is larger than 64 KiB")
		return
	}
	q := r.URL.Query()
	push := wxcrypt.Push{MsgSignature: q.Get("msg_signature"), Timestamp: q.Get("timestamp"), Nonce: q.Get("nonce"), Body: body}
	msg, err := cs.crypt.Open(push)
	if err != nil {
		var e *wxcrypt.Error
		if errors.As(err, &e) {
			refuse(http.StatusBadRequest, string(e.Reason), e.Msg)
		} else {
			refuse(http.StatusBadRequest, "format", "the push could not be read")
		}
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	// A captured push replayed within the window is refused: its signature
	// is remembered, by every instance sharing the store, as long as its
	// timestamp can pass. A timestamp T passes from T-window to T+window,
	// both included, so a push first seen at T-window can come again 2
	// windows later: remembered a second more (timestamps are in seconds),
	// it is still refused then.
	window := 2*wxcrypt.DefaultWindow + time.Second
	if fresh, err := cs.store.SetNX(ctx, "wxanalysis:component:"+h.cfg.ComponentAppID+":push:"+push.MsgSignature, []byte("1"), window); err == nil && !fresh {
		refuse(http.StatusBadRequest, "replay", "this push (its msg_signature) was already received")
		return
	}
	t, err := wxcrypt.ParseTicket(msg)
	switch {
	case errors.Is(err, wxcrypt.ErrNotTicket):
		// authorized, updateauthorized, unauthorized: the list is read again
		// when an authorizer is not in it.
		h.log.Info("component push", "event", strings.TrimPrefix(err.Error(), wxcrypt.ErrNotTicket.Error()+": "))
	case err != nil:
		var e *wxcrypt.Error
		errors.As(err, &e)
		refuse(http.StatusBadRequest, "format", e.Msg)
		return
	default:
		if err := cs.comp.SaveTicket(ctx, t.Ticket, t.CreateTime); err != nil {
			h.log.Error("component ticket not stored", "err", openapi.AsError(err).Msg)
			w.WriteHeader(http.StatusServiceUnavailable) // WeChat pushes again
			return
		}
		h.log.Info("component ticket received", "create_time", t.CreateTime.Unix())
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "success")
}

// callAs resolves whose data ev reads and the client that reads it.
func (h *Handler) callAs(ctx context.Context, ev map[string]any, rec *record) (string, *openapi.Client, *openapi.Error) {
	app, e := h.whose(ev)
	if e != nil || h.comp == nil {
		return app, h.client, e
	}
	rec.addWhose(app)
	client, e := h.authorizerClient(ctx, app)
	return app, client, e
}

// addWhose adds app to the authorizers the invocation's log line names,
// each once, within 200 characters.
func (rec *record) addWhose(app string) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	switch rec.whose {
	case "", app:
		rec.whose = app
	default:
		if !strings.Contains(","+rec.whose+",", ","+app+",") && len(rec.whose) < 200 {
			rec.whose += "," + app
		}
	}
}

// checkSyncAuthorizers checks SYNC_AUTHORIZERS: AppIDs, each once, in the
// per-authorizer modes only; required where the function cannot list the
// authorizers itself (url mode with {appid}) and a sync is possible
// (DATABASE_URL).
func (c *Config) checkSyncAuthorizers() []error {
	var errs []error
	if len(c.SyncAuthorizers) > 0 && !c.perAuthorizer() {
		return []error{settingError("SYNC_AUTHORIZERS", "applies only to a third-party platform's authorizers: WECHAT_TOKEN_MODE=component, "+
			"or url with a WECHAT_TOKEN_URL holding "+AppIDPlaceholder+"; a sync of the function's own Mini Program needs no list")}
	}
	for i, app := range c.SyncAuthorizers {
		switch {
		case !isAppID(app):
			errs = append(errs, &SettingError{Setting: "SYNC_AUTHORIZERS", Rule: fmt.Sprintf(
				": entry %d is not a Mini Program's AppID (wx followed by 8 to 30 letters and digits); separate AppIDs with commas", i+1)})
		case slices.Index(c.SyncAuthorizers, app) < i:
			errs = append(errs, &SettingError{Setting: "SYNC_AUTHORIZERS", Rule: fmt.Sprintf(
				": entry %d repeats entry %d", i+1, slices.Index(c.SyncAuthorizers, app)+1)})
		}
	}
	if len(c.SyncAuthorizers) == 0 && c.DatabaseURL != "" && c.TokenMode == ModeURL && c.perAuthorizer() {
		errs = append(errs, settingError("SYNC_AUTHORIZERS", "is required with DATABASE_URL and a WECHAT_TOKEN_URL holding "+AppIDPlaceholder+
			": only the token service knows the authorizers, so list the AppIDs sync covers, separated by commas"))
	}
	return errs
}

// scopeOf is the cache scope of a call reading app's data: per authorizer
// in the per-authorizer modes.
func (h *Handler) scopeOf(app string, cenv *cloudcall.Env, env map[string]string) string {
	if h.comp != nil {
		return "authorizer:" + app
	}
	return h.scope(cenv, env)
}

// dbShared is the warehouse's wxa_shared table as the platform's shared
// store, when there is no Redis: the database is opened on first use, as
// for a sync, and retried as serving does after a failure (the ticket then
// cannot be read, and a push is answered 503 so that WeChat sends it again).
type dbShared struct{ h *Handler }

func (d dbShared) shared(ctx context.Context) (*warehouse.Shared, error) {
	st, err := d.h.store(ctx, false)
	if err != nil {
		return nil, err
	}
	return st.Shared(), nil
}

func (d dbShared) Get(ctx context.Context, key string) ([]byte, bool, error) {
	sh, err := d.shared(ctx)
	if err != nil {
		return nil, false, err
	}
	return sh.Get(ctx, key)
}

func (d dbShared) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	sh, err := d.shared(ctx)
	if err != nil {
		return err
	}
	return sh.Set(ctx, key, value, ttl)
}

func (d dbShared) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	sh, err := d.shared(ctx)
	if err != nil {
		return false, err
	}
	return sh.SetNX(ctx, key, value, ttl)
}

func (d dbShared) Del(ctx context.Context, key string) error {
	sh, err := d.shared(ctx)
	if err != nil {
		return err
	}
	return sh.Del(ctx, key)
}

var _ openapi.SharedStore = dbShared{}
