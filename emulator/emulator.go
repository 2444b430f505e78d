// Package emulator is a stand-in for api.weixin.qq.com on loopback: the
// token endpoints with WeChat's semantics, every analysis endpoint with the
// checks WeChat makes, deterministic data that looks like a real Mini
// Program's, and injectable faults. It also plays the CloudBase cloud-call
// gateway (POST /admin) and WeChat Cloud Run's open API service. It lets the
// function run, and be tested, with no WeChat account.
//
// It shares no code with the function: its method table, date rules, error
// texts and time zone are its own, written from WeChat's documentation, so
// that a test against it checks the function instead of agreeing with it.
package emulator

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
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
	contentTypeJSON = "application/json; encoding=utf-8" // WeChat's, sic
	headerFault     = "X-Wxemu-Fault"                    // per-request faults, in Fault syntax
)

// Config configures an Emulator. The zero value is a working emulator.
type Config struct {
	AppID   string           // default DefaultAppID
	Secret  string           // default DefaultSecret
	Now     func() time.Time // default time.Now
	Logger  *slog.Logger     // default: discard
	Faults  []Fault          // applied to analysis requests, in order
	Latency time.Duration    // added to every analysis call, direct or through the gateway

	// Component makes the emulator play the open platform (第三方平台) too:
	// its component endpoints, and Mini Programs that authorized it, each
	// with data of its own. Nil: no open platform.
	Component *Component

	Game       bool          // the AppID is a mini game: analysis calls answer 61502
	DataDelay  time.Duration // a period's data is out this long after it ends (CST); before, 61503
	HintSuffix bool          // errmsg ends " hint: [...]", as older WeChat servers wrote, instead of " rid: ..."

	// OpenAPIService makes the analysis endpoints answer requests that carry
	// no token, as WeChat Cloud Run's open API service does.
	OpenAPIService bool
	// CloudbaseTokens are accepted as ?cloudbase_access_token= (Cloud Run's
	// WeChat token) and as a cloud call's wxCloudbaseAccesstoken; default
	// [DefaultCloudbaseToken].
	CloudbaseTokens []string

	// The cloud-call gateway, POST /admin.
	SecretID      string   // the TC3 key id it accepts; default DefaultSecretID
	SecretKey     string   // the TC3 key; default DefaultSecretKey
	CloudTokens   []string // valid wxCloudApiToken (WX_API_TOKEN) values; default [DefaultCloudToken]
	TimerTokens   []string // valid timer tokens (WX_TRIGGER_API_TOKEN_V0); default [DefaultTimerToken]
	PermittedAPIs []string // if any, the only apiNames allowed ("analysis.getWeeklyRetain"); others -604101
}

// An Emulator is an http.Handler that answers like api.weixin.qq.com.
type Emulator struct {
	cfg Config
	mux *http.ServeMux

	mu         sync.Mutex
	tokens     map[string]time.Time // token → expiry
	stable     map[string]string    // AppID → its current stable token
	owner      map[string]string    // token → the AppID whose data it reads, when not cfg.AppID
	platform   *platform            // the open platform, when cfg.Component is set
	credential string               // the latest /cgi-bin/token token
	lastForce  time.Time
	forceDay   string
	forces     int
	calls      int            // analysis calls that reached the data
	appCalls   map[string]int // of them, per AppID whose data they read
	requests   map[string]int // requests per path
	faults     []Fault
	gateway    []GatewayRequest // the last gatewayKept, oldest first
}

// Requests returns how many requests path has received.
func (e *Emulator) Requests(path string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.requests[path]
}

// New returns an emulator for cfg.
func New(cfg Config) *Emulator {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&cfg.AppID, DefaultAppID)
	def(&cfg.Secret, DefaultSecret)
	def(&cfg.SecretID, DefaultSecretID)
	def(&cfg.SecretKey, DefaultSecretKey)
	defList := func(l *[]string, v string) {
		if *l == nil {
			*l = []string{v}
		}
	}
	defList(&cfg.CloudTokens, DefaultCloudToken)
	defList(&cfg.TimerTokens, DefaultTimerToken)
	defList(&cfg.CloudbaseTokens, DefaultCloudbaseToken)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Emulator{cfg: cfg, mux: http.NewServeMux(), tokens: map[string]time.Time{}, requests: map[string]int{},
		faults: append([]Fault(nil), cfg.Faults...), stable: map[string]string{}, owner: map[string]string{},
		appCalls: map[string]int{}}
	e.servePlatform()
	e.mux.HandleFunc("/cgi-bin/stable_token", e.stableToken)
	e.mux.HandleFunc("/cgi-bin/token", e.credentialToken)
	for i := range methods {
		m := &methods[i]
		e.mux.HandleFunc(m.path, func(w http.ResponseWriter, r *http.Request) { e.analysis(w, r, m) })
	}
	e.mux.HandleFunc(GatewayPath, e.serveGateway)
	e.mux.HandleFunc("POST /wxemu/rotate", e.rotate)
	e.mux.HandleFunc("POST /wxemu/expire", e.expire)
	e.mux.HandleFunc("POST /wxemu/faults", e.setFaults)
	return e
}

// ServeHTTP logs each request: method, path, errcode and latency, never a
// query string (it holds the token) nor a body (it may hold the secret).
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
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
	w.Write(marshal(v))
}

func (e *Emulator) writeErr(w http.ResponseWriter, code int) {
	if rec, ok := w.(*recorder); ok {
		rec.errcode = code
	}
	writeJSON(w, map[string]any{"errcode": code, "errmsg": e.errmsg(code)})
}

// errmsgs are WeChat's texts for the errcodes the emulator answers.
var errmsgs = map[int]string{
	-1:    "system error",
	40001: "invalid credential, access_token is invalid or not latest, could get access_token by getStableAccessToken, more details at https://mmbizurl.cn/s/JtxxFh33r",
	40002: "invalid grant_type",
	40013: "invalid appid",
	40097: "invalid args",
	40125: "invalid appsecret",
	41001: "access_token missing",
	41002: "appid missing",
	41004: "appsecret missing",
	42001: "access_token expired",
	43002: "require POST method",
	44002: "empty post data",
	45009: "reach max api daily quota limit",
	45011: "api minute-quota reach limit  mustslower  retry next minute",
	47001: "data format error",
	48001: "api unauthorized",
	61500: "date format error",
	61501: "date range error",
	61502: "this is game miniprogram, data api is not supported",
	61503: "data not ready, please try later",
}

// errmsg is WeChat's text for code with the suffix WeChat adds: a request id
// "rid: <unix time in hex>-<hex>-<hex>", or on older servers "hint: [...]".
func (e *Emulator) errmsg(code int) string {
	msg, ok := errmsgs[code]
	if !ok {
		msg = fmt.Sprintf("errcode %d", code)
	}
	if e.cfg.HintSuffix {
		return msg + " hint: [" + randomText(14) + "]"
	}
	r := newID()
	return fmt.Sprintf("%s rid: %08x-%s-%s", msg, uint32(e.cfg.Now().Unix()), r[:8], r[8:16])
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func randomText(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// sleep waits d, or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
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

func (e *Emulator) newToken(expiry time.Time) string {
	t := "emu_" + newID() + newID()
	e.tokens[t] = expiry
	return t
}

// newTokenFor is newToken for the data of appid.
func (e *Emulator) newTokenFor(appid string, expiry time.Time) string {
	t := e.newToken(expiry)
	if appid != e.cfg.AppID {
		e.owner[t] = appid
	}
	return t
}

// stableToken is POST /cgi-bin/stable_token: the same token until 5 minutes
// before it expires; force_refresh replaces it at once, at most every 30 s
// and 20 times a day.
func (e *Emulator) stableToken(w http.ResponseWriter, r *http.Request) {
	if e.inject(w, r, e.takeFaults(toToken, "")) {
		return
	}
	if r.Method != http.MethodPost {
		e.writeErr(w, 43002)
		return
	}
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxRequestBody)).Decode(&req); err != nil {
		e.writeErr(w, 47001)
		return
	}
	if code := e.checkCredentials(req.GrantType, req.AppID, req.Secret); code != 0 {
		e.writeErr(w, code)
		return
	}
	now := e.cfg.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	stable := e.stable[req.AppID]
	defer func() { e.stable[req.AppID] = stable }()
	exp, ok := e.tokens[stable]
	switch {
	case req.ForceRefresh && (e.lastForce.IsZero() || now.Sub(e.lastForce) >= forceInterval):
		if day := now.In(cst).Format("20060102"); day != e.forceDay { // quotas reset at midnight CST
			e.forceDay, e.forces = day, 0
		}
		if e.forces >= forceDailyLimit {
			e.writeErr(w, 45009)
			return
		}
		e.forces++
		e.lastForce = now
		delete(e.tokens, stable) // the old token stops working at once
		stable = e.newTokenFor(req.AppID, now.Add(TokenLifetime))
	case !ok || !now.Before(exp.Add(-rotationWindow)):
		// First fetch, or the last 5 minutes: a new token; the old one
		// keeps working until it expires.
		stable = e.newTokenFor(req.AppID, now.Add(TokenLifetime))
	}
	writeJSON(w, map[string]any{"access_token": stable, "expires_in": int(e.tokens[stable].Sub(now).Seconds())})
}

// credentialToken is GET /cgi-bin/token: every fetch issues a new token, and
// the previous one works for 5 more minutes.
func (e *Emulator) credentialToken(w http.ResponseWriter, r *http.Request) {
	if e.inject(w, r, e.takeFaults(toToken, "")) {
		return
	}
	if r.Method != http.MethodGet {
		e.writeErr(w, 43002) // WeChat answers GET only here; any other method is refused
		return
	}
	q := r.URL.Query()
	if code := e.checkCredentials(q.Get("grant_type"), q.Get("appid"), q.Get("secret")); code != 0 {
		e.writeErr(w, code)
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
		if a := e.authorizerApp(appid); a != nil {
			if secret != a.Secret {
				return 40125
			}
			return 0
		}
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
	clear(e.stable)
	e.credential = ""
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

// analysis serves an analysis endpoint called directly, as
// api.weixin.qq.com is: injected faults first, then the credential, then
// the answer.
func (e *Emulator) analysis(w http.ResponseWriter, r *http.Request, m *method) {
	if r.Method != http.MethodPost {
		e.writeErr(w, 43002)
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
	q := r.URL.Query()
	appid := e.cfg.AppID
	if tok := q.Get("access_token"); tok != "" {
		e.mu.Lock()
		if a, ok := e.owner[tok]; ok {
			appid = a
		}
		e.mu.Unlock()
	}
	faults = slices.DeleteFunc(only(faults, toAnalysis), func(f Fault) bool { return f.AppID != "" && f.AppID != appid })
	faults = append(faults, e.takeFaults(toAnalysis, appid)...)
	if e.inject(w, r, faults) {
		return
	}
	if code := e.authorize(q); code != 0 {
		e.writeErr(w, code)
		return
	}
	if q.Get("access_token") == "" && q.Get("cloudbase_access_token") == "" {
		w.Header().Set("X-Openapi-Seqid", newID()[:20]) // the open API service marks what it relayed
	}
	if a := e.authorizerApp(appid); a != nil && a.NoAnalysis && e.isAuthorizerToken(q.Get("access_token")) {
		e.writeErr(w, 48001) // the merchant granted the platform neither permission set 18 nor 21
		return
	}
	e.answer(w, r, m, appid, body, faults)
}

// only returns the faults aimed at t.
func only(faults []Fault, t target) []Fault {
	var out []Fault
	for _, f := range faults {
		if f.target() == t {
			out = append(out, f)
		}
	}
	return out
}

// authorize checks an analysis request's credential: an access_token, Cloud
// Run's cloudbase_access_token, or none at all under the open API service.
func (e *Emulator) authorize(q url.Values) int {
	switch tok, cloudbase := q.Get("access_token"), q.Get("cloudbase_access_token"); {
	case tok != "":
		return e.checkToken(tok)
	case cloudbase != "":
		if slices.Contains(e.cfg.CloudbaseTokens, cloudbase) {
			return 0
		}
		return 40001
	case e.cfg.OpenAPIService:
		return 0
	}
	return 41001
}

// lastDay is the last day whose data is out at now.
func (e *Emulator) lastDay(now time.Time) time.Time {
	return midnight(now.Add(-e.cfg.DataDelay)).AddDate(0, 0, -1)
}

// answer answers an authorised analysis call for m: after the configured
// latency, WeChat's checks of the account and the body, then the data, with
// the faults that change an answer applied.
func (e *Emulator) answer(w http.ResponseWriter, r *http.Request, m *method, appid string, body []byte, faults []Fault) {
	if !sleep(r.Context(), e.cfg.Latency) {
		return
	}
	if e.cfg.Game {
		e.writeErr(w, codeGame)
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		e.writeErr(w, 44002)
		return
	}
	now := e.cfg.Now()
	q, code := parseQuery(m, body)
	if code == 0 {
		code = q.check(m, now)
	}
	if code == 0 && m.span != timeSpan && q.end.After(e.lastDay(now)) {
		code = codeNotReady
	}
	if code != 0 {
		e.writeErr(w, code)
		return
	}
	e.mu.Lock()
	e.calls++
	e.appCalls[appid]++
	calls, own := e.calls, e.appCalls[appid]
	e.mu.Unlock()
	for _, f := range faults {
		n := calls
		if f.AppID != "" {
			n = own // that Mini Program's quota
		}
		if f.Kind == QuotaAfter && n > f.N {
			e.writeErr(w, 45009)
			return
		}
	}
	data := generate(appid, m, q, e.lastDay(now))
	ctype := contentTypeJSON
	for _, f := range faults {
		switch f.Kind {
		case TextPlain:
			ctype = "text/plain"
		case Truncated:
			data = data[:len(data)/2]
		}
	}
	w.Header().Set("Content-Type", ctype)
	w.Write(data)
}
