package handler_test

// Tests for issue 16, items 5 to 16: each fails without its fix.

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/handler"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// Item 5: every token mode that can share a cache can; cloudbase keys it by
// WECHAT_APPID without an AppSecret, and an error names the mode in use.
func TestEveryModeThatCanShareACacheCan(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cloudbase_access_token")
	require.NoError(t, os.WriteFile(file, []byte("token"), 0o600))
	const redis = "redis://127.0.0.1:1"
	for _, env := range []map[string]string{
		{"WECHAT_TOKEN_MODE": "stable", "WECHAT_APPID": "wx1", "WECHAT_APPSECRET": "s"},
		{"WECHAT_TOKEN_MODE": "credential", "WECHAT_APPID": "wx1", "WECHAT_APPSECRET": "s"},
		{"WECHAT_TOKEN_MODE": "static", "WECHAT_APPID": "wx1", "WECHAT_ACCESS_TOKEN": "t"},
		{"WECHAT_TOKEN_MODE": "url", "WECHAT_APPID": "wx1", "WECHAT_TOKEN_URL": "https://tokens.example/t"},
		{"WECHAT_TOKEN_MODE": "none", "WECHAT_APPID": "wx1"},
		{"WECHAT_TOKEN_MODE": "cloudbase", "WECHAT_APPID": "wx1"},
		{"WECHAT_TOKEN_FILE": file, "WECHAT_APPID": "wx1"}, // auto: cloudbase
		{"CBR_ENV_ID": "prod-1", "WECHAT_APPID": "wx1"},    // auto: none
		{"WECHAT_TOKEN_MODE": "cloud"},                     // keyed per invocation
	} {
		env["CACHE_REDIS_URL"] = redis
		_, err := handler.ConfigFromEnv(envOf(env))
		assert.NoError(t, err, "%v", env)
	}

	_, err := handler.ConfigFromEnv(envOf(map[string]string{"WECHAT_TOKEN_MODE": "cloudbase", "CACHE_REDIS_URL": redis}))
	require.Error(t, err)
	assert.Equal(t, "CACHE_REDIS_URL needs WECHAT_APPID with WECHAT_TOKEN_MODE=cloudbase, so that one Mini Program's answers are never served to another", err.Error())
	assert.Equal(t, []string{"CACHE_REDIS_URL"}, handler.Settings(err))

	// auto fell through to a cloud call: the mode named is the one in use.
	_, err = handler.ConfigFromEnv(envOf(map[string]string{"WECHAT_APPID": "wx1", "WECHAT_TOKEN_FILE": filepath.Join(t.TempDir(), "none")}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "WECHAT_APPSECRET is missing")
	assert.Contains(t, err.Error(), "WECHAT_TOKEN_MODE=auto, which chose cloud")
	assert.NotContains(t, err.Error(), "cloudbase")
}

// Item 6: LOG_LEVEL=verbose and WECHAT_TOKEN_MODE=stabel are configuration
// errors, each naming its setting; a library user's out-of-range settings too.
func TestConfigErrorsNameTheSetting(t *testing.T) {
	for _, tc := range []struct {
		env     map[string]string
		setting string
	}{
		{map[string]string{"LOG_LEVEL": "verbose"}, "LOG_LEVEL"},
		{map[string]string{"LOG_LEVEL": "info+2"}, "LOG_LEVEL"},
		{map[string]string{"WECHAT_TOKEN_MODE": "stabel"}, "WECHAT_TOKEN_MODE"},
		{map[string]string{"SERIES_CONCURRENCY": "0"}, "SERIES_CONCURRENCY"},
		{map[string]string{"SERIES_CONCURRENCY": "65"}, "SERIES_CONCURRENCY"},
		{map[string]string{"HTTP_TIMEOUT": "150ms"}, "HTTP_TIMEOUT"},
		{map[string]string{"CACHE_TTL": "-1s"}, "CACHE_TTL"},
		{map[string]string{"HTTP_API_KEYS": "short"}, "HTTP_API_KEYS"},
		{map[string]string{"SYNC_SINCE": "2024-01-01"}, "SYNC_SINCE"},
		{map[string]string{"DATABASE_URL": "ftp://u:p@h/db", "WECHAT_APPID": "wx1234567890abcdef"}, "DATABASE_URL"},
		// Rows name whose data they are: outside cloud mode, WECHAT_APPID.
		{map[string]string{"DATABASE_URL": "postgres://u:p@h/db"}, "WECHAT_APPID"},
	} {
		tc.env["WECHAT_ACCESS_TOKEN"] = "t"
		_, err := handler.ConfigFromEnv(envOf(tc.env))
		require.Error(t, err, "%v", tc.env)
		assert.Equal(t, []string{tc.setting}, handler.Settings(err), "%v", tc.env)
		var se *handler.SettingError
		require.ErrorAs(t, err, &se)
		assert.True(t, strings.HasPrefix(err.Error(), tc.setting), err.Error())
	}
	for _, c := range []handler.Config{{TokenMode: handler.ModeNone, Concurrency: 65}, {TokenMode: handler.ModeNone, Concurrency: -1},
		{TokenMode: handler.ModeNone, HTTPTimeout: time.Millisecond}} {
		assert.Error(t, c.Check(), "%+v", c)
	}
}

// The documented defaults and the 1–64 range of SERIES_CONCURRENCY.
func TestConfigDefaults(t *testing.T) {
	cfg, err := handler.ConfigFromEnv(envOf(map[string]string{"WECHAT_TOKEN_MODE": "none"}))
	require.NoError(t, err)
	assert.Equal(t, 10*time.Minute, cfg.CacheTTL)
	assert.Equal(t, 6, cfg.Concurrency)
	assert.Equal(t, int64(2<<20), cfg.CacheMaxBytes)
	assert.Equal(t, 10*time.Second, cfg.HTTPTimeout)
	for n, ok := range map[string]bool{"0": false, "1": true, "64": true, "65": false} {
		_, err := handler.ConfigFromEnv(envOf(map[string]string{"WECHAT_TOKEN_MODE": "none", "SERIES_CONCURRENCY": n}))
		assert.Equal(t, ok, err == nil, "SERIES_CONCURRENCY=%s: %v", n, err)
	}
	cfg, err = handler.ConfigFromEnv(envOf(map[string]string{"WECHAT_TOKEN_MODE": "none", "CACHE_TTL": "0"}))
	require.NoError(t, err)
	assert.Zero(t, cfg.CacheTTL, "0 keeps nothing that may change")
}

// misconfigured is a handler whose LOG_LEVEL is wrong, logging to logs.
func misconfigured(t *testing.T, env map[string]string, logs io.Writer) *handler.Handler {
	cfg, err := handler.ConfigFromEnv(envOf(env))
	require.Error(t, err)
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	return handler.New(cfg)
}

// Item 6: a bad configuration is logged once, when the handler is built,
// naming the setting and never its value; invocations do not repeat it; the
// HTTP server's /healthz answers 503 naming the setting.
func TestMisconfigurationLoggedOnceAndUnhealthy(t *testing.T) {
	logs := &evidence{}
	h := misconfigured(t, map[string]string{"WECHAT_TOKEN_MODE": "none", "LOG_LEVEL": "Zq-verbose"}, logs)
	require.Error(t, h.Err())
	for range 3 {
		res := invoke(t, h, context.Background(), `{"action":"getWeeklyRetain","beginDate":"20170306","endDate":"20170312"}`)
		assert.Equal(t, json.Number("-601002"), res["errCode"])
	}
	text := logs.text(t)
	assert.Equal(t, 1, strings.Count(text, `"msg":"configuration"`), text)
	assert.Equal(t, 1, strings.Count(text, "LOG_LEVEL must be debug, info, warn or error"), "the rule once, at start: %s", text)
	assert.Contains(t, text, `"settings":["LOG_LEVEL"]`)
	assert.NotContains(t, text, "Zq")

	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + handler.HealthPath)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.JSONEq(t, `{"status":"misconfigured","settings":["LOG_LEVEL"]}`, string(body))

	good := handler.New(handler.Config{TokenMode: handler.ModeNone, Logger: slog.New(slog.DiscardHandler)})
	rec := httptest.NewRecorder()
	good.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, handler.HealthPath, nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"status":"ok"}`, rec.Body.String())
}

// Item 7: HTTP_API_KEYS=short alone is a configuration error naming the
// key's position; the client holding that key is told so, not "not valid".
func TestShortKeyIsAConfigurationError(t *testing.T) {
	h := misconfigured(t, map[string]string{"WECHAT_TOKEN_MODE": "none", "HTTP_API_KEYS": "short"}, io.Discard)
	status, body := httpStatus(t, h, httpEvent("POST", "/getWeeklyRetain", "Bearer short", `{}`, false))
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.Contains(t, body, `"errCode":-601002`)
	assert.Contains(t, body, "HTTP_API_KEYS: key 1 is shorter than 16 characters")
	status, body = httpStatus(t, h, httpEvent("POST", "/getWeeklyRetain", "Bearer shorter", `{}`, false))
	assert.Equal(t, http.StatusUnauthorized, status, "another key learns nothing: %s", body)
	assert.NotContains(t, body, "HTTP_API_KEYS")
}

// validKey refuses a short key on its own, even if the configuration check
// were skipped.
func TestShortKeyNeverLetsIn(t *testing.T) {
	u := newUpstream(t)
	u.answers["/datacube/getweanalysisappidweeklyretaininfo"] = `{"ref_date":"20170306-20170312","visit_uv":[]}`
	cfg := u.config()
	cfg.HTTPAPIKeys = []string{"short"}
	h := handler.New(cfg)
	require.Error(t, h.Err())
	status, body := httpStatus(t, h, httpEvent("POST", "/getWeeklyRetain", "Bearer short", `{"beginDate":"20170306","endDate":"20170312"}`, false))
	assert.NotEqual(t, http.StatusOK, status, body)
	assert.Zero(t, u.calls.Load())
}

// serveLoopback serves h with handler.Serve on a loopback port until the test ends.
func serveLoopback(t *testing.T, h *handler.Handler) string {
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- handler.Serve(ctx, h, "127.0.0.1:0", time.Second, func(a net.Addr) { addr <- a }) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case a := <-addr:
		return a.String()
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	}
	return ""
}

// Item 8: one HTTP contract: POST /getWeeklyRetain with the parameters as
// the body works on the HTTP server as for function-URL events; a front
// end's own path with the action in the body still works.
func TestOneHTTPContract(t *testing.T) {
	u := newUpstream(t)
	u.answers["/datacube/getweanalysisappidweeklyretaininfo"] = `{"ref_date":"20170306-20170312","visit_uv":[]}`
	cfg := u.config()
	cfg.HTTPAPIKeys = []string{apiKey}
	h := handler.New(cfg)
	srv := httptest.NewServer(h)
	defer srv.Close()
	const params = `{"beginDate":"20170306","endDate":"20170312"}`
	for _, tc := range []struct {
		path, body string
		status     int
		want       string
	}{
		{"/getWeeklyRetain", params, 200, "openapi.analysis.getWeeklyRetain:ok"},
		{"/v1/analysis.getWeeklyRetain", params, 200, "openapi.analysis.getWeeklyRetain:ok"},
		{"/analysis", `{"action":"getWeeklyRetain","beginDate":"20170306","endDate":"20170312"}`, 200, ":ok"},
		{"/getWeeklyRetain", `{"action":"getDailyRetain","beginDate":"20170306","endDate":"20170306"}`, 400, "differ"},
		{"/getWeeklyRetains", params, 404, "did you mean getWeeklyRetain?"},
	} {
		req, err := http.NewRequest(http.MethodPost, srv.URL+tc.path, strings.NewReader(tc.body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+apiKey)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, tc.status, resp.StatusCode, "%s: %s", tc.path, b)
		assert.Contains(t, string(b), tc.want, tc.path)
		// The same request as a function-URL event gets the same answer.
		status, body := httpStatus(t, h, httpEvent("POST", tc.path, "Bearer "+apiKey, tc.body, false))
		assert.Equal(t, tc.status, status, tc.path)
		assert.Equal(t, string(b), body, tc.path)
	}
}

// rawRequest writes a POST whose Content-Length promises more than is sent,
// then (cut) half-closes the connection, and returns the status line and body.
func rawRequest(t *testing.T, addr string, cut bool) (string, string) {
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second))) // bounds the test, asserts nothing
	_, err = io.WriteString(conn, "POST /getWeeklyRetain HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+apiKey+
		"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"beginDate\":")
	require.NoError(t, err)
	if cut {
		require.NoError(t, conn.(*net.TCPConn).CloseWrite())
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Status, string(b)
}

// Item 9 and the read-timeout promise: a body that cannot be read — a
// client slower than HTTP_TIMEOUT, a connection cut mid-body — is answered
// with what happened, not 400 "action is required".
func TestUnreadableBody(t *testing.T) {
	h := handler.New(handler.Config{TokenMode: handler.ModeStatic, AccessToken: token, HTTPAPIKeys: []string{apiKey},
		HTTPTimeout: 300 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	addr := serveLoopback(t, h)

	status, body := rawRequest(t, addr, false)
	assert.Equal(t, "408 Request Timeout", status, body)
	assert.Contains(t, body, "the body did not arrive within HTTP_TIMEOUT (300ms)")
	assert.NotContains(t, body, "action is required")

	status, body = rawRequest(t, addr, true)
	assert.Equal(t, "400 Bad Request", status, body)
	assert.Contains(t, body, "the connection ended before the whole body arrived")
	assert.NotContains(t, body, "action is required")
}

// Item 10: the Authorization scheme is case-insensitive (RFC 9110).
func TestBearerSchemeCaseInsensitive(t *testing.T) {
	u := newUpstream(t)
	u.answers["/datacube/getweanalysisappidweeklyretaininfo"] = `{"ref_date":"20170306-20170312","visit_uv":[]}`
	cfg := u.config()
	cfg.HTTPAPIKeys = []string{apiKey}
	h := handler.New(cfg)
	for _, scheme := range []string{"Bearer", "bearer", "BEARER", "bEaReR"} {
		status, body := httpStatus(t, h, httpEvent("POST", "/getWeeklyRetain", scheme+" "+apiKey, `{"beginDate":"20170306","endDate":"20170312"}`, false))
		assert.Equal(t, http.StatusOK, status, "%s: %s", scheme, body)
	}
	status, _ := httpStatus(t, h, httpEvent("POST", "/getWeeklyRetain", "Basic "+apiKey, `{}`, false))
	assert.Equal(t, http.StatusUnauthorized, status)
}

// Item 11: the HTTP server's log lines carry a request id (the proxy's, or
// a new one, also sent back), and a refused request logs the action it asked for.
func TestHTTPServerLogLines(t *testing.T) {
	logs := &evidence{}
	h := handler.New(handler.Config{TokenMode: handler.ModeStatic, AccessToken: token, HTTPAPIKeys: []string{apiKey},
		Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	srv := httptest.NewServer(h)
	defer srv.Close()
	post := func(path, body string, header map[string]string) *http.Response {
		req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	r1 := post("/getWeeklyRetain", `{}`, map[string]string{"X-Request-Id": "proxy-id-1"})
	r2 := post("/", `{"action":"analysis.getDailyRetain"}`, nil)
	assert.Equal(t, http.StatusUnauthorized, r1.StatusCode)
	assert.Equal(t, "proxy-id-1", r1.Header.Get("X-Request-Id"))
	generated := r2.Header.Get("X-Request-Id")
	assert.Len(t, generated, 24)

	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.text(t)), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m))
		lines = append(lines, m)
	}
	require.Len(t, lines, 2)
	assert.Equal(t, "proxy-id-1", lines[0]["request_id"])
	assert.Equal(t, "getWeeklyRetain", lines[0]["action"], "a refusal logs what was asked for")
	assert.Equal(t, generated, lines[1]["request_id"])
	assert.Equal(t, "getDailyRetain", lines[1]["action"])
}

// Item 13: every form of the caller's id that a message holds — raw, cut to
// 40 characters, escaped — is kept out of the log.
func TestCallerIDNeverLoggedInAnyForm(t *testing.T) {
	u := newUpstream(t)
	logs := &evidence{}
	cfg := u.config()
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	h := handler.New(cfg)
	longUID := "custom-user-" + strings.Repeat("0123456789", 4) + "XY" // 54 characters
	require.Len(t, longUID, 54)
	quoted := `o-with"quote\and-backslash`
	event := `{"action":"getDailyRetain","beginDate":"20170313","endDate":"20170313"}`
	res := invoke(t, h, withIdentity(map[string]string{"TCB_CONTEXT_KEYS": "TCB_CUSTOM_USER_ID", "TCB_CUSTOM_USER_ID": longUID}), event)
	assert.Contains(t, res["errMsg"], longUID[:40], "the caller is shown the id to add")
	res = invoke(t, h, withIdentity(map[string]string{"WX_CONTEXT_KEYS": "WX_OPENID", "WX_OPENID": quoted}), event)
	assert.Contains(t, res["errMsg"], strconv.Quote(quoted))
	text := logs.text(t)
	for _, leak := range []string{longUID[:40], "custom-user-0123", "o-with", "quote", "and-backslash"} {
		assert.NotContains(t, text, leak)
	}
	assert.Equal(t, 2, strings.Count(text, "<caller>"), text)
}

// Item 15: a panic inside a batch or series item's goroutine is that item's
// -601001, as a single event's is; the process goes on.
func TestPanicInAnItemIsThatItems(t *testing.T) {
	u := newUpstream(t)
	var boom atomic.Bool
	cfg := u.config()
	cfg.Now = func() time.Time {
		if boom.Load() {
			panic("clock exploded")
		}
		return time.Now()
	}
	logs := &evidence{}
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	h := handler.New(cfg)
	boom.Store(true)
	for _, event := range []string{
		`{"action":"batch","requests":[{"action":"getDailyRetain","beginDate":"20170313","endDate":"20170313"},{"action":"nope"}]}`,
		`{"action":"series","method":"getDailyVisitTrend","beginDate":"20170313","endDate":"20170314"}`,
	} {
		res := invoke(t, h, context.Background(), event)
		require.Equal(t, json.Number("0"), res["errCode"], "%v", res)
		first := res["results"].([]any)[0].(map[string]any)
		assert.Equal(t, json.Number("-601001"), first["errCode"], "%v", first)
		assert.Contains(t, first["errMsg"], ":fail system error: internal error")
	}
	assert.Contains(t, logs.text(t), "clock exploded", "the panic is logged with its stack")
}

// Item 16: a mistyped action gets "did you mean", as parameters do; series
// says "unknown parameter" as methods do, and suggests a method.
func TestDidYouMean(t *testing.T) {
	h := handler.New(handler.Config{TokenMode: handler.ModeStatic, AccessToken: token, Logger: slog.New(slog.DiscardHandler)})
	for event, want := range map[string]string{
		`{"action":"getWeeklyRetains"}`:         `action "getWeeklyRetains" is not an analysis method; did you mean getWeeklyRetain?`,
		`{"action":"analysis.getdailyretain"}`:  "did you mean getDailyRetain?",
		`{"action":"serie"}`:                    "did you mean series?",
		`{"action":"getSomethingElseEntirely"}`: "is not an analysis method; known:",
		`{"action":"series","method":"getDailyVisitTrends","beginDate":"20170313","endDate":"20170313"}`: `method "getDailyVisitTrends" is not an analysis method; did you mean getDailyVisitTrend?`,
		`{"action":"series","method":"getDailyVisitTrend","begindate":"20170313","endDate":"20170313"}`:  `series:fail invalid args: unknown parameter "begindate" for series; did you mean beginDate?`,
		`{"action":"batch","request":[]}`: `unknown parameter "request" for batch; did you mean requests?`,
	} {
		res := invoke(t, h, context.Background(), event)
		assert.Contains(t, res["errMsg"], want, event)
		assert.NotContains(t, res["errMsg"], "unknown field", event)
	}
	res := invoke(t, h, context.Background(), `{"action":"getSomethingElseEntirely"}`)
	assert.NotContains(t, res["errMsg"], "did you mean")
}

// Item 12: X-WX-* headers are trusted only when WECHAT_CLOUDRUN=true says
// so: the platform's CBR_ENV_ID picks auto's mode but trusts no header,
// since WeChat does not document that its gateway drops a client's own
// X-WX-SOURCE and X-WX-OPENID on public access. A refusal says why.
func TestCloudRunTrustIsExplicit(t *testing.T) {
	u := newUpstream(t)
	u.answers["/datacube/getweanalysisappidweeklyretaininfo"] = `{"ref_date":"20170306-20170312","visit_uv":[]}`
	wx := map[string]string{"X-WX-SOURCE": "wx_client", "X-WX-OPENID": "o-admin"}
	serveWith := func(env map[string]string) (int, string) {
		env["WECHAT_TOKEN_MODE"], env["WECHAT_ACCESS_TOKEN"], env["WECHAT_API_BASE"], env["ADMIN_OPENIDS"] = "static", token, u.URL, "o-admin"
		cfg, err := handler.ConfigFromEnv(envOf(env))
		require.NoError(t, err)
		cfg.Logger = slog.New(slog.DiscardHandler)
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/getWeeklyRetain", strings.NewReader(`{"beginDate":"20170306","endDate":"20170312"}`))
		for k, v := range wx {
			req.Header.Set(k, v)
		}
		handler.New(cfg).ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	status, body := serveWith(map[string]string{"CBR_ENV_ID": "prod-1"})
	assert.Equal(t, http.StatusForbidden, status, body)
	assert.Contains(t, body, "X-WX-* headers are trusted only with WECHAT_CLOUDRUN=true")
	assert.Zero(t, u.calls.Load())

	status, body = serveWith(map[string]string{"CBR_ENV_ID": "prod-1", "WECHAT_CLOUDRUN": "true"})
	assert.Equal(t, http.StatusOK, status, body)

	cfg, err := handler.ConfigFromEnv(envOf(map[string]string{"CBR_ENV_ID": "prod-1"}))
	require.NoError(t, err)
	assert.Equal(t, handler.ModeNone, cfg.TokenMode, "the platform still picks auto's mode")
	assert.False(t, cfg.CloudRun)
}

// Item 19: in cloud mode, the gateway's refusal of getPerformanceData says
// that WeChat's page for it says 本接口不支持云调用, and names the way out;
// another method's refusal is the gateway's answer as it is.
func TestPerformanceDataByCloudCallNamesTheWayOut(t *testing.T) {
	emu := emulator.New(emulator.Config{PermittedAPIs: []string{"analysis.getWeeklyRetain"}})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	h := handler.New(handler.Config{TokenMode: handler.ModeCloud, CacheMaxBytes: -1,
		LookupEnv: func(k string) (string, bool) { v, ok := cloudProcess[k]; return v, ok },
		Logger:    slog.New(slog.DiscardHandler)})
	ctx := withIdentity(map[string]string{"WX_CONTEXT_KEYS": "WX_API_TOKEN", "WX_API_TOKEN": emulator.DefaultCloudToken,
		"TCB_CONTEXT_CNFG": `{"URL":"` + srv.URL + `/admin"}`})
	begin := time.Now().Add(-72 * time.Hour).Unix()
	res := invoke(t, h, ctx, `{"action":"getPerformanceData","time":{"beginTimestamp":`+strconv.FormatInt(begin, 10)+
		`,"endTimestamp":`+strconv.FormatInt(begin+3600, 10)+`},"module":"10022","params":[]}`)
	assert.Equal(t, json.Number("-604101"), res["errCode"], "%v", res)
	assert.Contains(t, res["errMsg"], "本接口不支持云调用")
	assert.Contains(t, res["errMsg"], "set WECHAT_APPID and WECHAT_APPSECRET")

	res = invoke(t, h, ctx, `{"action":"getDailyRetain","beginDate":"20170313","endDate":"20170313"}`)
	assert.Equal(t, json.Number("-604101"), res["errCode"], "%v", res)
	assert.NotContains(t, res["errMsg"], "本接口不支持云调用")
}
