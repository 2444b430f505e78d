// Package handler is the cloud function: it takes a wx.cloud.callFunction
// event such as {"action": "getWeeklyRetain", "beginDate": "20170306",
// "endDate": "20170312"} and returns what wx-server-sdk's
// cloud.openapi.analysis.getWeeklyRetain would have returned; and the
// actions batch and series, which answer many such events in one call.
package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/tencentyun/scf-go-lib/functioncontext"

	"github.com/wxanalysis/wxanalysis/cache"
	"github.com/wxanalysis/wxanalysis/cloudcall"
	"github.com/wxanalysis/wxanalysis/openapi"
)

// A Handler serves invocations. It implements scf-go-lib's
// cloudfunction.Handler; build it once per process, so that its token cache
// and answer cache outlive warm invocations.
type Handler struct {
	cfg       Config
	err       error // a configuration error, reported by every invocation
	client    *openapi.Client
	cache     *cache.Cache
	now       func() time.Time
	wall      func() time.Time // what deadlines are measured against: time.Now (Config.deadlineNow)
	log       *slog.Logger
	lookupEnv func(string) (string, bool)
	appScope  string          // the cache scope outside cloud mode: whose data this function reads (Check requires an AppID to share it)
	comp      *componentState // per-authorizer modes (component.go); nil otherwise
	wh        storeSlot       // the warehouse (DATABASE_URL), opened on first use
	line      io.Writer       // with the default logger: where logInvocation appends its line by hand (os.Stdout)
}

// New returns a handler for cfg. If cfg does not check out, the handler
// answers every invocation with the reason, rather than crash-looping.
func New(cfg Config) *Handler {
	err := cfg.Check()
	return newHandler(cfg, err)
}

// FromEnv returns a handler configured from the environment (see ConfigFromEnv).
func FromEnv(getenv func(string) string) *Handler {
	return newHandler(ConfigFromEnv(getenv))
}

// newHandler builds the handler of cfg, checked, whose error is err.
func newHandler(cfg Config, err error) *Handler {
	h := &Handler{cfg: cfg, err: err, now: cfg.Now, wall: cfg.deadlineNow, log: cfg.Logger, lookupEnv: cfg.LookupEnv}
	if h.now == nil {
		h.now = time.Now
	}
	if h.wall == nil {
		h.wall = time.Now
	}
	if h.log == nil {
		out := io.Writer(os.Stdout)
		if cfg.logOut != nil {
			out = cfg.logOut // tests
		}
		h.log = slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: cfg.LogLevel}))
		h.line = out
	}
	if h.lookupEnv == nil {
		h.lookupEnv = os.LookupEnv
	}
	if h.err != nil {
		h.logConfigError()
		return h
	}
	defer func() {
		if h.err != nil {
			h.logConfigError()
		}
	}()
	hc := cfg.HTTPClient
	if hc == nil {
		hc = openapi.DefaultHTTPClient()
	}
	h.appScope = "appid:" + h.cfg.AppID
	if h.client, h.err = h.cfg.client(hc, h.log, h.now); h.err != nil {
		return h
	}
	var store cache.Store
	var shared *cache.Redis // component.go keeps the ticket and tokens there too
	if h.cfg.CacheMaxBytes > 0 {
		store = cache.NewMemory(h.cfg.CacheMaxBytes, h.now)
	}
	if h.cfg.CacheRedisURL != "" {
		r, err := cache.NewRedis(h.cfg.CacheRedisURL, cache.RedisOptions{Logger: h.log, Now: h.now})
		if err != nil {
			// NewRedis names what is wrong, never the URL, which may hold a password.
			h.err = &SettingError{Setting: "CACHE_REDIS_URL", Rule: ": " + strings.TrimPrefix(err.Error(), "cache: ")}
			return h
		}
		store, shared = r, r
		if tokens := h.client.Tokens(); tokens != nil && h.cfg.TokenMode == ModeStable {
			// WeChat counts force refreshes per AppID: count them where every
			// instance sees them.
			tokens.SetForceBudget(r.ForceBudget(h.cfg.AppID, openapi.DefaultForcesPerDay, openapi.ForceRefreshInterval,
				openapi.MaxForceInterval, openapi.NewForceBudget(openapi.DefaultForcesPerDay, h.now)))
		}
	}
	h.cache = cache.New(store, cache.Options{TTL: h.cfg.CacheTTL, Now: h.now, Logger: h.log, Grace: fetchGrace})
	if h.cfg.perAuthorizer() {
		h.err = h.setupComponent(hc, shared)
	}
	return h
}

// logConfigError logs the configuration error once, when the handler is
// built: the settings to change and the rules they break, never a value.
func (h *Handler) logConfigError() {
	h.log.Error("configuration", "settings", Settings(h.err), "error", strings.ReplaceAll(h.err.Error(), "\n", "; "))
}

// Err returns the configuration error every invocation answers with, or nil.
func (h *Handler) Err() error { return h.err }

// Mode returns the token mode in use, auto resolved.
func (h *Handler) Mode() string { return h.cfg.TokenMode }

// internalError is the message of a panic: the details go to the log only.
const internalError = "system error: internal error"

// panicked logs a panic with its stack and returns what the caller sees.
func (h *Handler) panicked(p any) *openapi.Error {
	h.log.Error("panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	return &openapi.Error{Code: openapi.CodeInternal, Msg: internalError}
}

// fetchGrace is how long past its deadline an upstream call's own error is
// awaited (cache.Options.Grace); it comes out of deadlineMargin.
const fetchGrace = 30 * time.Millisecond

// deadlineMargin is kept back from the invocation's deadline, so that the
// function answers before the platform cuts it off.
const deadlineMargin = 100 * time.Millisecond

// record is what an invocation's log line says.
type record struct {
	mu        sync.Mutex // batch items report concurrently
	requestID string     // the HTTP server's, for a request served directly
	caller    string
	id        string // the caller's openid or user id: kept out of the log line
	whose     string // the authorizer(s) whose data, in the per-authorizer modes
	action    string
	code      int    // errCode
	reason    string // the failure's errMsg, secret-free
	status    int    // HTTP status, for an HTTP event
	cache     cache.Outcome
	items     int
	stats     openapi.CallStats
}

func (r *record) add(s openapi.CallStats, o cache.Outcome) {
	r.mu.Lock()
	r.stats.Attempts += s.Attempts
	r.stats.TokenRefreshes += s.TokenRefreshes
	if r.cache == "" || o == cache.Miss {
		r.cache = o
	}
	r.mu.Unlock()
}

// noteAction records the action ev asks for, and returns its method.
func (r *record) noteAction(ev map[string]any) (openapi.Method, bool) {
	action, _ := ev["action"].(string)
	r.action = excerpt(action, 64)
	m, ok := openapi.Lookup(action)
	if ok {
		r.action = m.Name
	}
	return m, ok
}

func (r *record) fail(e *openapi.Error) {
	r.code, r.reason = e.Code, e.ErrMsg()
}

// Invoke serves one invocation. Success and failure alike are the function's
// result, shaped as wx-server-sdk's: never a function error, never a panic.
func (h *Handler) Invoke(ctx context.Context, payload []byte) (out []byte, err error) {
	start := time.Now()
	rec := &record{caller: KindOwner}
	defer func() {
		if p := recover(); p != nil {
			e := h.panicked(p)
			out = e.Result()
			rec.fail(e)
			if rec.caller == KindHTTP {
				rec.status = http.StatusInternalServerError
				out = httpResponse(rec.status, out)
			}
		}
		h.logInvocation(ctx, rec, time.Since(start))
	}()
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) > 2*deadlineMargin {
		parent := ctx
		if _, scf := functioncontext.FromContext(ctx); scf {
			// scf-go-lib's context ends at its deadline, after ours, or once
			// Invoke has returned: not inheriting its cancellation keeps it
			// from making a Done channel and a map of children per call.
			parent = context.WithoutCancel(ctx)
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(parent, dl.Add(-deadlineMargin))
		defer cancel()
	}
	var env map[string]string
	if fc, ok := functioncontext.FromContext(ctx); ok {
		env = fc.Environment
	}
	ev, e := decodeEvent(payload)
	if e == nil && isHTTP(ev) {
		rec.caller = KindHTTP
		return h.serveHTTP(ctx, payload, rec), nil
	}
	res, e := h.serve(ctx, ev, e, callerOf(env), env, rec)
	if e != nil {
		rec.fail(e)
		return e.Result(), nil
	}
	return res, nil
}

// serve answers a decoded event (or its decoding error) from caller.
func (h *Handler) serve(ctx context.Context, ev map[string]any, decodeErr *openapi.Error, caller Caller,
	env map[string]string, rec *record) ([]byte, *openapi.Error) {
	rec.caller, rec.id = caller.Kind, caller.ID
	ev = timerSync(ev)
	api := "analysis"
	if ev != nil {
		if m, ok := rec.noteAction(ev); ok {
			api = m.API()
		}
	}
	// Who calls first: a caller who may not call learns nothing more, not
	// even that the function is misconfigured.
	if e := h.authorize(caller); e != nil {
		return nil, e.WithAPI(api)
	}
	if e := h.componentCaller(caller); e != nil {
		return nil, e.WithAPI(api)
	}
	switch {
	case h.err != nil:
		return nil, h.configError().WithAPI(api)
	case decodeErr != nil:
		return nil, decodeErr
	}
	if h.cfg.TokenMode == ModeCloud {
		ctx = cloudcall.NewContext(ctx, cloudcall.Resolve(env, h.lookupEnv))
	}
	switch ev["action"] {
	case "sync":
		return h.sync(ctx, ev, env, caller, rec)
	case "batch":
		return h.batch(ctx, ev, env, rec)
	case "series":
		return h.series(ctx, ev, env, rec)
	}
	return h.one(ctx, ev, env, rec)
}

func (h *Handler) configError() *openapi.Error {
	return &openapi.Error{Code: openapi.CodeConfig,
		Msg: "system args error: the function is misconfigured: " + strings.ReplaceAll(h.err.Error(), "\n", "; ")}
}

// one serves a single-call event: the action, its parameters, then the
// answer, from the cache when it has it. Batch items come this way too.
func (h *Handler) one(ctx context.Context, ev map[string]any, env map[string]string, rec *record) ([]byte, *openapi.Error) {
	m, e := method(ev)
	if e != nil {
		return nil, e
	}
	app, client, e := h.callAs(ctx, ev, rec)
	if e != nil {
		return nil, e.WithAPI(m.API())
	}
	if !h.cfg.allows(&m) {
		return nil, &openapi.Error{API: m.API(), Code: openapi.CodeAPINotAllowed,
			Msg: "function has no permission to call this API: add " + m.Name + " to ALLOWED_APIS"}
	}
	params, e := decodeParams(&m, ev)
	if e == nil {
		e = openapi.AsError(client.Check(&m, params))
	}
	if e != nil {
		return nil, e.WithAPI(m.API())
	}
	cenv, cloud := cloudcall.FromContext(ctx)
	if cloud {
		// Before the cache: what the platform would not authorise gets nothing.
		if e := openapi.CloudCallReady(cenv, &m); e != nil {
			return nil, e
		}
	}
	body, err := openapi.RequestBody(params)
	if err != nil {
		return nil, invalidArgs("parameters do not encode as JSON").WithAPI(m.API())
	}
	var begin, end string
	if d, ok := params.(interface{ Range() (string, string) }); ok {
		begin, end = d.Range()
	}
	// The cache calls fetch on this goroutine only (its package rule), so
	// stats need no lock; it turns a panic into a *cache.PanicError.
	var stats openapi.CallStats
	out, outcome, err := h.cache.Do(ctx, cache.Key(h.scopeOf(app, cenv, env), m.Name, body), m.Name, begin, end,
		func(ctx context.Context) ([]byte, error) {
			return h.fetch(openapi.WithStats(ctx, &stats), client, app, &m, body, begin, end, cenv, env)
		})
	rec.add(stats, outcome)
	var pe *cache.PanicError
	if errors.As(err, &pe) {
		if outcome == cache.Miss { // logged once, by the caller whose fetch it was
			h.log.Error("panic", "panic", fmt.Sprint(pe.Value), "stack", string(pe.Stack))
		}
		return nil, &openapi.Error{API: m.API(), Code: openapi.CodeInternal, Msg: internalError}
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return nil, &openapi.Error{API: m.API(), Code: openapi.CodeTimeout, Msg: "server-side request timed out"}
		}
		e := openapi.AsError(err)
		if cloud && m.Name == "getPerformanceData" && errors.As(err, new(*cloudcall.Error)) {
			e = e.WithNote(performanceByCloudCall)
		}
		return nil, h.explain(app, e)
	}
	return out, nil
}

// performanceByCloudCall is added to the gateway's refusal of
// getPerformanceData: WeChat's current page for it says that it has no cloud
// call, although an older example shows one.
const performanceByCloudCall = "WeChat's page for getPerformanceData says 本接口不支持云调用 (no cloud call): " +
	"set WECHAT_APPID and WECHAT_APPSECRET so that the function calls it with a token of its own"

// scope is whose data a call reads, for the cache key: one Mini Program's
// answers must never be served to another.
func (h *Handler) scope(cenv *cloudcall.Env, env map[string]string) string {
	if cenv != nil {
		l := cloudcall.ListedKeys(env)
		app, _ := l.Get(env, "WX_APPID")
		from, _ := l.Get(env, "WX_FROM_APPID")
		return "env:" + cenv.EnvID + ":" + app + ":" + from
	}
	return h.appScope
}

// logInvocation writes the invocation's one log line: never a token, a
// secret or the caller's id; parameters only as a failure's reason quotes them.
// With the default logger the line is appended by hand (logline.go), the
// same bytes slog's JSON handler would write, at a fraction of the cost.
func (h *Handler) logInvocation(ctx context.Context, rec *record, d time.Duration) {
	level := slog.LevelInfo
	if rec.code != 0 {
		level = slog.LevelWarn
	}
	if h.line != nil {
		if level >= h.cfg.LogLevel {
			h.writeLine(ctx, level, rec, d)
		}
		return
	}
	if !h.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 12)
	if id, ok := logRequestID(ctx, rec); ok {
		attrs = append(attrs, slog.String("request_id", id))
	}
	attrs = append(attrs, slog.String("caller", rec.caller), slog.String("action", rec.action),
		slog.Int("errCode", rec.code), slog.Int("attempts", rec.stats.Attempts),
		slog.Float64("latency_ms", latencyMs(d)))
	if rec.reason != "" {
		attrs = append(attrs, slog.String("reason", h.logReason(rec)))
	}
	if rec.cache != "" {
		attrs = append(attrs, slog.String("cache", string(rec.cache)))
	}
	if rec.items > 0 {
		attrs = append(attrs, slog.Int("items", rec.items))
	}
	if rec.stats.TokenRefreshes > 0 {
		attrs = append(attrs, slog.Int("token_refreshes", rec.stats.TokenRefreshes))
	}
	if rec.status != 0 {
		attrs = append(attrs, slog.Int("status", rec.status))
	}
	if rec.whose != "" {
		attrs = append(attrs, slog.String("authorizer", rec.whose))
	}
	h.log.LogAttrs(ctx, level, "invocation", attrs...)
}

// logRequestID is the invocation's request id for its log line: SCF's, or the
// HTTP server's.
func logRequestID(ctx context.Context, rec *record) (string, bool) {
	if fc, ok := functioncontext.FromContext(ctx); ok {
		return fc.RequestID, true
	}
	return rec.requestID, rec.requestID != ""
}

func latencyMs(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// logReason is a failure's reason as the log line says it: the caller's id
// redacted in every form, a configuration error by its settings only.
func (h *Handler) logReason(rec *record) string {
	reason := rec.reason
	if rec.code == openapi.CodeConfig && h.err != nil {
		// Logged whole once, at start: here only what to change.
		reason = "the function is misconfigured (logged at start): " + strings.Join(Settings(h.err), ", ")
	}
	for _, form := range idForms(rec.id) {
		reason = strings.ReplaceAll(reason, form, "<caller>") // a refusal names whom it refused
	}
	return excerpt(reason, 300)
}

// decodeEvent parses the event, keeping numbers as written.
func decodeEvent(payload []byte) (map[string]any, *openapi.Error) {
	if ev, ok := decodeFlat(payload); ok {
		return ev, nil
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var ev map[string]any
	if err := dec.Decode(&ev); err != nil || ev == nil || dec.More() {
		return nil, invalidArgs("the event must be a JSON object such as {\"action\": \"getWeeklyRetain\", \"beginDate\": \"20170306\", \"endDate\": \"20170312\"}")
	}
	return ev, nil
}

func method(ev map[string]any) (openapi.Method, *openapi.Error) {
	raw, ok := ev["action"]
	if !ok {
		return openapi.Method{}, invalidArgs("action is required: the analysis method to call, such as getWeeklyRetain, or batch or series")
	}
	action, ok := raw.(string)
	if !ok {
		return openapi.Method{}, invalidArgs("action must be a string, not " + describe(raw))
	}
	m, ok := openapi.Lookup(action)
	if !ok {
		return openapi.Method{}, &openapi.Error{API: apiName(action), Code: openapi.CodeAPINotFound, Msg: fmt.Sprintf(
			"API not found: action %s is not an analysis method%s; known: %s, and batch and series", quote(action),
			didYouMean(action, append(openapi.Names(), "batch", "series")), strings.Join(openapi.Names(), ", "))}
	}
	return m, nil
}

// apiName names an unknown action in errMsg only if it looks like a name.
func apiName(action string) string {
	name := strings.TrimPrefix(strings.TrimPrefix(action, "openapi."), "analysis.")
	if name == "" || len(name) > 64 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != "" {
		return "analysis"
	}
	return "analysis." + name
}

func invalidArgs(msg string) *openapi.Error {
	return &openapi.Error{Code: openapi.CodeInvalidArgs, Msg: "invalid args: " + msg}
}

// excerpt cuts s to n runes for a log line or message.
func excerpt(s string, n int) string { return openapi.Truncate(strings.ToValidUTF8(s, "\uFFFD"), n) }
