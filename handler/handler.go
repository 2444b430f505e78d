// Package handler is the cloud function: it takes a wx.cloud.callFunction
// event such as {"action": "getWeeklyRetain", "beginDate": "20170306",
// "endDate": "20170312"} and returns what wx-server-sdk's
// cloud.openapi.analysis.getWeeklyRetain would have returned.
package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/tencentyun/scf-go-lib/functioncontext"

	"github.com/wxanalysis/wxanalysis/openapi"
)

// A Handler serves invocations. It implements scf-go-lib's
// cloudfunction.Handler; build it once per process, so that its token cache
// outlives warm invocations.
type Handler struct {
	cfg    Config
	err    error // a configuration error, reported by every invocation
	client *openapi.Client
	now    func() time.Time
	log    *slog.Logger
}

// New returns a handler for cfg. If cfg does not check out, the handler
// answers every invocation with the reason, rather than crash-looping.
func New(cfg Config) *Handler {
	h := &Handler{cfg: cfg, now: cfg.Now, log: cfg.Logger}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	}
	if h.err = h.cfg.Check(); h.err != nil {
		return h
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = openapi.DefaultHTTPClient
	}
	tokens := h.cfg.tokens(hc)
	if tokens != nil {
		tokens.SetLogger(h.log, h.cfg.TokenMode)
	}
	h.client = &openapi.Client{BaseURL: h.cfg.APIBase, HTTPClient: hc, Tokens: tokens, Backoff: cfg.Backoff}
	return h
}

// FromEnv returns a handler configured from the environment (see ConfigFromEnv).
func FromEnv(getenv func(string) string) *Handler {
	cfg, err := ConfigFromEnv(getenv)
	h := New(cfg)
	if err != nil {
		h.err = err
	}
	return h
}

// deadlineMargin is kept back from the invocation's deadline, so that the
// function answers before the platform cuts it off.
const deadlineMargin = 100 * time.Millisecond

// record is what an invocation's log line says.
type record struct {
	caller string // "miniprogram", "http" or "direct"
	action string
	code   int // errCode
	status int // HTTP status, for an HTTP event
	stats  openapi.CallStats
}

// Invoke serves one invocation. Success and failure alike are the function's
// result, shaped as wx-server-sdk's: never a function error, never a panic.
func (h *Handler) Invoke(ctx context.Context, payload []byte) (out []byte, err error) {
	start := time.Now()
	rec := &record{caller: "direct"}
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			e := &openapi.Error{Code: openapi.CodeInternal, Msg: "system error: internal error"}
			out, rec.code = e.Result(), e.Code
			if rec.caller == "http" {
				rec.status = http.StatusInternalServerError
				out = httpResponse(rec.status, out)
			}
		}
		h.logInvocation(ctx, rec, time.Since(start))
	}()
	ctx = openapi.WithStats(ctx, &rec.stats)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) > 2*deadlineMargin {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-deadlineMargin))
		defer cancel()
	}
	res, e := h.serve(ctx, payload, rec)
	if e != nil {
		rec.code = e.Code
		return e.Result(), nil
	}
	return res, nil
}

// logInvocation writes the invocation's one log line: never a token, a
// secret, a parameter value or the caller's openid.
func (h *Handler) logInvocation(ctx context.Context, rec *record, d time.Duration) {
	level := slog.LevelInfo
	if rec.code != 0 {
		level = slog.LevelWarn
	}
	if !h.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 9)
	if fc, ok := functioncontext.FromContext(ctx); ok {
		attrs = append(attrs, slog.String("request_id", fc.RequestID))
	}
	attrs = append(attrs, slog.String("caller", rec.caller), slog.String("action", rec.action),
		slog.Int("errCode", rec.code), slog.Int("attempts", rec.stats.Attempts),
		slog.Float64("latency_ms", float64(d.Microseconds())/1000))
	if rec.stats.TokenRefreshes > 0 {
		attrs = append(attrs, slog.Int("token_refreshes", rec.stats.TokenRefreshes))
	}
	if rec.status != 0 {
		attrs = append(attrs, slog.Int("status", rec.status))
	}
	h.log.LogAttrs(ctx, level, "invocation", attrs...)
}

func (h *Handler) serve(ctx context.Context, payload []byte, rec *record) ([]byte, *openapi.Error) {
	ev, e := decodeEvent(payload)
	switch {
	case e == nil && isHTTP(ev):
		rec.caller = "http"
		return h.serveHTTP(ctx, payload, rec), nil
	case h.err != nil:
		return nil, h.configError()
	case e != nil:
		return nil, e
	}
	if e := h.authorize(ctx, rec); e != nil {
		return nil, e
	}
	return h.call(ctx, ev, rec)
}

func (h *Handler) configError() *openapi.Error {
	return &openapi.Error{Code: openapi.CodeConfig,
		Msg: "the function is misconfigured: " + strings.ReplaceAll(h.err.Error(), "\n", "; ")}
}

// call serves an authorised event: the action, then its parameters.
func (h *Handler) call(ctx context.Context, ev map[string]any, rec *record) ([]byte, *openapi.Error) {
	m, e := method(ev)
	if e != nil {
		return nil, e
	}
	rec.action = m.Name
	if !h.cfg.allows(m) {
		return nil, &openapi.Error{API: m.API(), Code: openapi.CodeAPINotAllowed,
			Msg: "function has no permission to call this API: add " + m.Name + " to ALLOWED_APIS"}
	}
	params, e := decodeParams(m, ev)
	if e == nil {
		e = asError(params.Check(h.now()))
	}
	if e != nil {
		e.API = m.API()
		return nil, e
	}
	res, err := h.client.Call(ctx, m, params)
	return res, asError(err)
}

func asError(err error) *openapi.Error {
	if err == nil {
		return nil
	}
	var e *openapi.Error
	if errors.As(err, &e) {
		return e
	}
	return &openapi.Error{Code: openapi.CodeInternal, Msg: "system error: " + openapi.Redact(err).Error()}
}

// authorize lets through the account owner (an invocation with no WeChat
// identity: console, API, timer, local invoker) and the Mini Program users
// in ADMIN_OPENIDS, or every user with ALLOW_ANY_CALLER=true.
//
// The identity is the invocation's own environment, WX_OPENID as listed in
// WX_CONTEXT_KEYS. Not os.Getenv: scf-go-lib copies each invocation's
// environment into the process and never clears it, so a warm instance would
// still see the previous caller. Not the event's userInfo: the caller writes it.
func (h *Handler) authorize(ctx context.Context, rec *record) *openapi.Error {
	openid := callerOpenID(ctx)
	if openid != "" {
		rec.caller = "miniprogram"
	}
	if openid == "" || h.cfg.AllowAnyCaller || slices.Contains(h.cfg.AdminOpenIDs, openid) {
		return nil
	}
	return &openapi.Error{Code: openapi.CodePermission, Msg: fmt.Sprintf(
		"api permission denied: the Mini Program user %s may not read analytics; add this openid to ADMIN_OPENIDS, or set ALLOW_ANY_CALLER=true",
		openid)}
}

func callerOpenID(ctx context.Context) string {
	fc, ok := functioncontext.FromContext(ctx)
	if !ok {
		return ""
	}
	for _, k := range strings.Split(fc.Environment["WX_CONTEXT_KEYS"], ",") {
		if strings.TrimSpace(k) == "WX_OPENID" {
			return fc.Environment["WX_OPENID"]
		}
	}
	return ""
}

// decodeEvent parses the event, keeping numbers as written.
func decodeEvent(payload []byte) (map[string]any, *openapi.Error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var ev map[string]any
	if err := dec.Decode(&ev); err != nil || ev == nil || dec.More() {
		return nil, invalidArgs("the event must be a JSON object such as {\"action\": \"getWeeklyRetain\", \"beginDate\": \"20170306\", \"endDate\": \"20170312\"}")
	}
	return ev, nil
}

func method(ev map[string]any) (*openapi.Method, *openapi.Error) {
	raw, ok := ev["action"]
	if !ok {
		return nil, invalidArgs("action is required: the analysis method to call, such as getWeeklyRetain")
	}
	action, ok := raw.(string)
	if !ok {
		return nil, invalidArgs("action must be a string, not " + describe(raw))
	}
	m, ok := openapi.Lookup(action)
	if !ok {
		return nil, &openapi.Error{API: apiName(action), Code: openapi.CodeAPINotFound, Msg: fmt.Sprintf(
			"API not found: action %s is not an analysis method; known: %s", quote(action), strings.Join(openapi.Names(), ", "))}
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
