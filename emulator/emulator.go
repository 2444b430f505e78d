// Package emulator is a stand-in for api.weixin.qq.com on loopback: the
// token endpoints with WeChat's semantics, every analysis endpoint with the
// checks WeChat makes, deterministic data that looks like a real Mini
// Program's, and injectable faults. It lets the function run, and be tested,
// with no WeChat account.
package emulator

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/wxanalysis/wxanalysis/casing"
	"github.com/wxanalysis/wxanalysis/openapi"
)

// The credentials the emulator accepts unless configured otherwise.
const (
	DefaultAppID  = "wx00000000emulator"
	DefaultSecret = "emulator-app-secret"
)

// Token rules, as WeChat documents them.
const (
	TokenLifetime   = 7200 * time.Second
	rotationWindow  = 5 * time.Minute  // a stable token is replaced in its last 5 minutes
	credentialGrace = 5 * time.Minute  // a replaced /cgi-bin/token token still works this long
	forceInterval   = 30 * time.Second // force_refresh is ignored within 30 s of the last
	forceDailyLimit = 20
	maxRequestBody  = 1 << 20
	contentTypeJSON = "application/json; encoding=utf-8"
	headerFault     = "X-Wxemu-Fault" // per-request faults, in Fault syntax
)

// Config configures an Emulator.
type Config struct {
	AppID   string           // default DefaultAppID
	Secret  string           // default DefaultSecret
	Now     func() time.Time // default time.Now
	Logger  *slog.Logger     // default: discard
	Faults  []Fault          // applied to analysis requests, in order
	Latency time.Duration    // added to every request
}

// An Emulator is an http.Handler that answers like api.weixin.qq.com.
type Emulator struct {
	cfg Config
	mux *http.ServeMux

	mu         sync.Mutex
	tokens     map[string]time.Time // token → expiry
	stable     string               // the current stable token
	credential string               // the latest /cgi-bin/token token
	lastForce  time.Time
	forceDay   string
	forces     int
	calls      int            // analysis calls that reached the data
	requests   map[string]int // requests per path
	faults     []Fault
}

// Requests returns how many requests path has received.
func (e *Emulator) Requests(path string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.requests[path]
}

// New returns an emulator for cfg.
func New(cfg Config) *Emulator {
	if cfg.AppID == "" {
		cfg.AppID = DefaultAppID
	}
	if cfg.Secret == "" {
		cfg.Secret = DefaultSecret
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	e := &Emulator{cfg: cfg, mux: http.NewServeMux(), tokens: map[string]time.Time{}, requests: map[string]int{},
		faults: append([]Fault(nil), cfg.Faults...)}
	e.mux.HandleFunc("/cgi-bin/stable_token", e.stableToken)
	e.mux.HandleFunc("/cgi-bin/token", e.credentialToken)
	for i := range openapi.Analysis {
		m := &openapi.Analysis[i]
		e.mux.HandleFunc(m.Path, func(w http.ResponseWriter, r *http.Request) { e.analysis(w, r, m) })
	}
	e.mux.HandleFunc("POST /wxemu/rotate", e.rotate)
	e.mux.HandleFunc("POST /wxemu/expire", e.expire)
	e.mux.HandleFunc("POST /wxemu/faults", e.setFaults)
	return e
}

// ServeHTTP logs each request: method, path, errcode and latency, never a
// query string (it holds the token) nor a body (it may hold the secret).
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if e.cfg.Latency > 0 {
		time.Sleep(e.cfg.Latency)
	}
	e.mu.Lock()
	e.requests[r.URL.Path]++
	e.mu.Unlock()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	e.mux.ServeHTTP(rec, r)
	e.cfg.Logger.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
		"errcode", rec.errcode, "latency_ms", time.Since(start).Milliseconds())
}

type recorder struct {
	http.ResponseWriter
	status  int
	errcode int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection, for resets.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", contentTypeJSON)
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own maps and structs get here
	}
	w.Write(b)
}

func writeErr(w http.ResponseWriter, code int) {
	if rec, ok := w.(*recorder); ok {
		rec.errcode = code
	}
	writeJSON(w, map[string]any{"errcode": code, "errmsg": errmsg(code)})
}

// errmsg is WeChat's text for code, with a request id as WeChat adds.
func errmsg(code int) string {
	return openapi.Description(code) + " rid: " + newID()[:24]
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (e *Emulator) newToken(expiry time.Time) string {
	t := "emu_" + newID() + newID()
	e.tokens[t] = expiry
	return t
}

// stableToken is POST /cgi-bin/stable_token: the same token until 5 minutes
// before it expires; force_refresh replaces it at once, at most every 30 s
// and 20 times a day.
func (e *Emulator) stableToken(w http.ResponseWriter, r *http.Request) {
	if e.inject(w, r, e.takeFaults(true)) {
		return
	}
	if r.Method != http.MethodPost {
		writeErr(w, 43002)
		return
	}
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxRequestBody)).Decode(&req); err != nil {
		writeErr(w, 47001)
		return
	}
	if code := e.checkCredentials(req.GrantType, req.AppID, req.Secret); code != 0 {
		writeErr(w, code)
		return
	}
	now := e.cfg.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	exp, ok := e.tokens[e.stable]
	switch {
	case req.ForceRefresh && (e.lastForce.IsZero() || now.Sub(e.lastForce) >= forceInterval):
		if day := now.Format("20060102"); day != e.forceDay {
			e.forceDay, e.forces = day, 0
		}
		if e.forces >= forceDailyLimit {
			writeErr(w, 45009)
			return
		}
		e.forces++
		e.lastForce = now
		delete(e.tokens, e.stable) // the old token stops working at once
		e.stable = e.newToken(now.Add(TokenLifetime))
	case !ok || !now.Before(exp.Add(-rotationWindow)):
		// First fetch, or the last 5 minutes: a new token; the old one
		// keeps working until it expires.
		e.stable = e.newToken(now.Add(TokenLifetime))
	}
	writeJSON(w, map[string]any{"access_token": e.stable, "expires_in": int(e.tokens[e.stable].Sub(now).Seconds())})
}

// credentialToken is GET /cgi-bin/token: every fetch issues a new token, and
// the previous one works for 5 more minutes.
func (e *Emulator) credentialToken(w http.ResponseWriter, r *http.Request) {
	if e.inject(w, r, e.takeFaults(true)) {
		return
	}
	if r.Method != http.MethodGet {
		writeErr(w, 43002) // WeChat answers GET only here; any other method is refused
		return
	}
	q := r.URL.Query()
	if code := e.checkCredentials(q.Get("grant_type"), q.Get("appid"), q.Get("secret")); code != 0 {
		writeErr(w, code)
		return
	}
	now := e.cfg.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if exp, ok := e.tokens[e.credential]; ok && exp.After(now.Add(credentialGrace)) {
		e.tokens[e.credential] = now.Add(credentialGrace)
	}
	e.credential = e.newToken(now.Add(TokenLifetime))
	writeJSON(w, map[string]any{"access_token": e.credential, "expires_in": int(TokenLifetime.Seconds())})
}

func (e *Emulator) checkCredentials(grantType, appid, secret string) int {
	switch {
	case appid == "":
		return 41002
	case secret == "":
		return 41004
	case grantType != "client_credential":
		return 40002
	case appid != e.cfg.AppID:
		return 40013
	case secret != e.cfg.Secret:
		return 40125
	}
	return 0
}

// checkToken returns 0 for a valid token, or WeChat's code for the problem.
func (e *Emulator) checkToken(tok string) int {
	if tok == "" {
		return 41001
	}
	e.mu.Lock()
	exp, ok := e.tokens[tok]
	e.mu.Unlock()
	switch {
	case !ok:
		return 40001
	case !e.cfg.Now().Before(exp):
		return 42001
	}
	return 0
}

// rotate is what another server's force refresh does: every token stops
// working at once, so the next call gets 40001.
func (e *Emulator) rotate(w http.ResponseWriter, _ *http.Request) {
	e.mu.Lock()
	clear(e.tokens)
	e.stable, e.credential = "", ""
	e.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// expire makes every token expired: the next call gets 42001.
func (e *Emulator) expire(w http.ResponseWriter, _ *http.Request) {
	past := e.cfg.Now().Add(-time.Second)
	e.mu.Lock()
	for t := range e.tokens {
		e.tokens[t] = past
	}
	e.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// setFaults replaces the faults, from a body in Fault syntax.
func (e *Emulator) setFaults(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 4096))
	faults, err := ParseFaults(string(b))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	e.faults = faults
	e.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (e *Emulator) analysis(w http.ResponseWriter, r *http.Request, m *openapi.Method) {
	if r.Method != http.MethodPost {
		writeErr(w, 43002)
		return
	}
	faults, err := ParseFaults(r.Header.Get(headerFault))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// Read the body first: only then does net/http notice a client that
	// gives up during an injected latency.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil {
		return
	}
	faults = append(faults, e.takeFaults(false)...)
	if done := e.inject(w, r, faults); done {
		return
	}
	if code := e.checkToken(r.URL.Query().Get("access_token")); code != 0 {
		writeErr(w, code)
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		writeErr(w, 44002)
		return
	}
	params, code := decode(m, body)
	if code == 0 {
		if err := params.Check(e.cfg.Now()); err != nil {
			var oe *openapi.Error
			code = openapi.CodeInvalidArgs
			if errors.As(err, &oe) {
				code = oe.Code
			}
		}
	}
	if code != 0 {
		writeErr(w, code)
		return
	}
	e.mu.Lock()
	e.calls++
	quota := e.calls
	e.mu.Unlock()
	for _, f := range faults {
		if f.Kind == QuotaAfter && quota > f.N {
			writeErr(w, 45009)
			return
		}
	}
	answer := generate(e.cfg.AppID, m, params, e.cfg.Now())
	for _, f := range faults {
		switch f.Kind {
		case TextPlain:
			w.Header().Set("Content-Type", "text/plain")
			w.Write(answer)
			return
		case Truncated:
			w.Header().Set("Content-Type", contentTypeJSON)
			w.Write(answer[:len(answer)/2])
			return
		}
	}
	w.Header().Set("Content-Type", contentTypeJSON)
	w.Write(answer)
}

// decode reads a snake_case request body into m's parameters, as WeChat
// reads its fields: a body that is not JSON is 47001, a missing or mistyped
// field 40097.
func decode(m *openapi.Method, body []byte) (openapi.Params, int) {
	camel, err := casing.Camel(body)
	if err != nil {
		return nil, 47001
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(camel, &fields) != nil {
		return nil, 47001
	}
	params := m.Params()
	dec := json.NewDecoder(bytes.NewReader(camel))
	dec.UseNumber()
	if err := dec.Decode(params); err != nil {
		return nil, openapi.CodeInvalidArgs
	}
	required := []string{"beginDate", "endDate"}
	if m.Name == "getPerformanceData" {
		required = []string{"time", "module", "params"}
	}
	for _, f := range required {
		if v, ok := fields[f]; !ok || string(v) == "null" {
			return nil, openapi.CodeInvalidArgs
		}
	}
	return params, 0
}
