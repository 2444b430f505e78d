package handler_test

// Regression tests for issue 10 (items 6, 7, 9, 10, 11 and the handler's
// claims of item 14). Expected values are literals, never the constants
// under test.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/handler"
)

const (
	dailyPath  = "/datacube/getweanalysisappiddailyretaininfo"
	dailyEvent = `{"action":"getDailyRetain","beginDate":"20170313","endDate":"20170313"}`
)

// loggedCallers returns the caller kind of each invocation line in logs.
func loggedCallers(t *testing.T, logs *evidence) []string {
	var kinds []string
	sc := bufio.NewScanner(strings.NewReader(logs.text(t)))
	for sc.Scan() {
		var line struct{ Msg, Caller string }
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line))
		if line.Msg == "invocation" {
			kinds = append(kinds, line.Caller)
		}
	}
	return kinds
}

// identityHandler returns a handler with the given allowlists whose log
// goes to logs.
func identityHandler(t *testing.T, u *upstream, logs *evidence, openids, uids []string, anyCaller bool) *handler.Handler {
	cfg := u.config()
	cfg.AdminOpenIDs, cfg.AdminUIDs, cfg.AllowAnyCaller = openids, uids, anyCaller
	cfg.CacheMaxBytes = -1
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	return handler.New(cfg)
}

// Item 6: only an invocation with no end-user key at all is the owner; a
// Mini Program user is checked against ADMIN_OPENIDS, a CloudBase web user
// against ADMIN_UIDS, an anonymous or unverifiable one is refused.
func TestIdentityFailsClosed(t *testing.T) {
	u := newUpstream(t)
	u.answers[dailyPath] = `{"visit_uv":[],"ref_date":"20170313"}`
	tests := []struct {
		name string
		env  map[string]string
		kind string
		ok   bool
	}{
		{"no environment", nil, "direct", true},
		{"a timer", map[string]string{"TRIGGER_SRC": "timer", "SCF_NAMESPACE": "default"}, "direct", true},
		{"listed WX_OPENID, an admin", map[string]string{"WX_CONTEXT_KEYS": "WX_OPENID,WX_APPID", "WX_OPENID": "o-admin"}, "miniprogram", true},
		{"listed WX_OPENID, not an admin", map[string]string{"WX_CONTEXT_KEYS": "WX_OPENID", "WX_OPENID": "o-other"}, "miniprogram", false},
		{"listed WX_OPENID, empty", map[string]string{"WX_CONTEXT_KEYS": "WX_OPENID,WX_APPID", "WX_OPENID": "", "WX_APPID": "wx1"}, "unverified", false},
		{"listed WX_OPENID, absent", map[string]string{"WX_CONTEXT_KEYS": "WX_OPENID,WX_APPID", "WX_APPID": "wx1"}, "unverified", false},
		{"WX_OPENID present, unlisted", map[string]string{"WX_OPENID": "o-admin"}, "unverified", false},
		{"only WX_FROM_OPENID, listed", map[string]string{"WX_CONTEXT_KEYS": "WX_FROM_OPENID", "WX_FROM_OPENID": "o-admin"}, "unverified", false},
		{"only WX_FROM_OPENID, unlisted", map[string]string{"WX_FROM_OPENID": "o-admin"}, "unverified", false},
		{"only WX_UNIONID", map[string]string{"WX_CONTEXT_KEYS": "WX_UNIONID", "WX_UNIONID": "un-admin"}, "unverified", false},
		{"TCB_UUID listed, in ADMIN_UIDS", map[string]string{"TCB_CONTEXT_KEYS": "TCB_UUID", "TCB_UUID": "u-admin"}, "webuser", true},
		{"TCB_UUID listed, not in ADMIN_UIDS", map[string]string{"TCB_CONTEXT_KEYS": "TCB_UUID", "TCB_UUID": "u-other"}, "webuser", false},
		{"TCB_UUID listed, in ADMIN_OPENIDS only", map[string]string{"TCB_CONTEXT_KEYS": "TCB_UUID", "TCB_UUID": "o-admin"}, "webuser", false},
		{"TCB_UUID unlisted", map[string]string{"TCB_UUID": "u-admin"}, "unverified", false},
		{"TCB_CUSTOM_USER_ID listed, in ADMIN_UIDS", map[string]string{"TCB_CONTEXT_KEYS": "TCB_UUID,TCB_CUSTOM_USER_ID",
			"TCB_UUID": "u-other", "TCB_CUSTOM_USER_ID": "u-admin"}, "webuser", true},
		{"TCB_CUSTOM_USER_ID listed, not in ADMIN_UIDS", map[string]string{"TCB_CONTEXT_KEYS": "TCB_UUID,TCB_CUSTOM_USER_ID",
			"TCB_UUID": "u-admin", "TCB_CUSTOM_USER_ID": "u-other"}, "webuser", false},
		{"anonymous", map[string]string{"TCB_CONTEXT_KEYS": "TCB_UUID,TCB_ISANONYMOUS_USER", "TCB_UUID": "u-admin",
			"TCB_ISANONYMOUS_USER": "true"}, "anonymous", false},
		{"anonymous, unlisted", map[string]string{"TCB_ISANONYMOUS_USER": "true"}, "anonymous", false},
		{"not anonymous", map[string]string{"TCB_CONTEXT_KEYS": "TCB_UUID,TCB_ISANONYMOUS_USER", "TCB_UUID": "u-admin",
			"TCB_ISANONYMOUS_USER": "false"}, "webuser", true},
	}
	for _, anyCaller := range []bool{false, true} {
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s/ALLOW_ANY_CALLER=%t", tc.name, anyCaller), func(t *testing.T) {
				logs := &evidence{}
				h := identityHandler(t, u, logs, []string{"o-admin"}, []string{"u-admin"}, anyCaller)
				res := invoke(t, h, withIdentity(tc.env), dailyEvent)
				if tc.ok || anyCaller {
					assert.Equal(t, json.Number("0"), res["errCode"], "%v", res)
				} else {
					assert.Equal(t, json.Number("-601004"), res["errCode"], "%v", res)
					assert.True(t, strings.HasPrefix(res["errMsg"].(string), "openapi.analysis.getDailyRetain:fail api permission denied: "))
				}
				assert.Equal(t, []string{tc.kind}, loggedCallers(t, logs))
			})
		}
	}
}

// Item 14: ADMIN_OPENIDS and ADMIN_UIDS are compared exactly: no case
// folding, no prefixes, no trimming of the caller's id.
func TestAdminListsComparedExactly(t *testing.T) {
	u := newUpstream(t)
	u.answers[dailyPath] = `{"visit_uv":[],"ref_date":"20170313"}`
	cfg, err := handler.ConfigFromEnv(func(k string) string {
		return map[string]string{"WECHAT_APPID": "wx0123456789abcdef", "WECHAT_APPSECRET": appSecret, "WECHAT_API_BASE": u.URL,
			"ADMIN_OPENIDS": " o-Admin_1 , o2", "ADMIN_UIDS": "u-Admin_1", "CACHE_MAX_BYTES": "0"}[k]
	})
	require.NoError(t, err)
	cfg.Logger = slog.New(slog.DiscardHandler)
	h := handler.New(cfg)
	miniProgram := func(id string) map[string]string {
		return map[string]string{"WX_CONTEXT_KEYS": "WX_OPENID", "WX_OPENID": id}
	}
	webUser := func(id string) map[string]string {
		return map[string]string{"TCB_CONTEXT_KEYS": "TCB_UUID", "TCB_UUID": id}
	}
	for _, tc := range []struct {
		env map[string]string
		ok  bool
	}{
		{miniProgram("o-Admin_1"), true}, {miniProgram("o2"), true},
		{miniProgram("o-admin_1"), false}, {miniProgram("O-ADMIN_1"), false}, {miniProgram("o-Admin_"), false},
		{miniProgram("o-Admin_12"), false}, {miniProgram(" o-Admin_1"), false}, {miniProgram("o-Admin_1 "), false},
		{miniProgram("o"), false}, {miniProgram("o-Admin_1,o2"), false},
		{webUser("u-Admin_1"), true}, {webUser("u-admin_1"), false}, {webUser("u-Admin_"), false}, {webUser("u-Admin_10"), false},
	} {
		want := json.Number("-601004")
		if tc.ok {
			want = "0"
		}
		assert.Equal(t, want, invoke(t, h, withIdentity(tc.env), dailyEvent)["errCode"], "%q", tc.env)
	}
}

// Item 6: every row of handler.IdentityRules, which SECURITY.md's table
// shows, is what the function does with the row's invocation.
func TestIdentityRulesAgreeWithBehaviour(t *testing.T) {
	u := newUpstream(t)
	u.answers[dailyPath] = `{"visit_uv":[],"ref_date":"20170313"}`
	require.NotEmpty(t, handler.IdentityRules)
	for _, r := range handler.IdentityRules {
		t.Run(r.Kind, func(t *testing.T) {
			// Every value the row's invocation carries, in each allowlist.
			var ids []string
			for _, v := range r.Env {
				ids = append(ids, v)
			}
			always := r.Allowed == "always"
			if !always {
				assert.Contains(t, r.Allowed, "ALLOW_ANY_CALLER=true", "which lets every caller in")
			}
			for _, c := range []struct {
				name          string
				openids, uids []string
				anyCaller     bool
				want          bool
			}{
				{"no allowlist", nil, nil, false, always},
				{"in ADMIN_OPENIDS", ids, nil, false, always || strings.Contains(r.Allowed, "ADMIN_OPENIDS")},
				{"in ADMIN_UIDS", nil, ids, false, always || strings.Contains(r.Allowed, "ADMIN_UIDS")},
				{"ALLOW_ANY_CALLER", nil, nil, true, true},
			} {
				logs := &evidence{}
				res := invoke(t, identityHandler(t, u, logs, c.openids, c.uids, c.anyCaller), withIdentity(r.Env), dailyEvent)
				want := json.Number("-601004")
				if c.want {
					want = "0"
				}
				assert.Equal(t, want, res["errCode"], "%s: %v", c.name, res)
				assert.Equal(t, []string{r.Kind}, loggedCallers(t, logs), c.name)
			}
		})
	}
}

// identityTable renders handler.IdentityRules as the markdown table that
// SECURITY.md shows.
func identityTable(rules []handler.IdentityRule) string {
	var b strings.Builder
	b.WriteString("| context keys | caller kind | who is allowed |\n|---|---|---|\n")
	for _, r := range rules {
		fmt.Fprintf(&b, "| %s | `%s` | %s |\n", r.Keys, r.Kind, r.Allowed)
	}
	return b.String()
}

// Item 6: SECURITY.md's identity table is handler.IdentityRules, which the
// test above checks against the function's behaviour.
func TestSecurityMDShowsTheIdentityRules(t *testing.T) {
	doc, err := os.ReadFile("../SECURITY.md")
	require.NoError(t, err)
	assert.Contains(t, string(doc), identityTable(handler.IdentityRules),
		"SECURITY.md must hold the identity table rendered from handler.IdentityRules")
}

// httpStatus invokes h with an HTTP event and returns the status and body.
func httpStatus(t *testing.T, h *handler.Handler, event string) (int, string) {
	t.Helper()
	out, err := h.Invoke(context.Background(), []byte(event))
	require.NoError(t, err)
	var resp handler.HTTPResponse
	require.NoError(t, json.Unmarshal(out, &resp), "%s", out)
	return resp.StatusCode, resp.Body
}

// Items 7 and 14: a caller without a valid key learns nothing of the
// configuration; one with a key learns that it is broken, as HTTP 500.
func TestHTTPAndAMisconfiguration(t *testing.T) {
	const params = `{"beginDate":"20170306","endDate":"20170312"}`
	cfg, err := handler.ConfigFromEnv(func(k string) string {
		return map[string]string{"WECHAT_TOKEN_MODE": "none", "HTTP_API_KEYS": "Zq-short," + apiKey}[k]
	})
	require.Error(t, err)
	cfg.Logger = slog.New(slog.DiscardHandler)
	h := handler.New(cfg)
	for name, auth := range map[string]string{"no key": "", "a wrong key": "Bearer wrong-key-0123456789abc", "not bearer": "Basic " + apiKey} {
		status, body := httpStatus(t, h, httpEvent("POST", "/getWeeklyRetain", auth, params, false))
		assert.Equal(t, 401, status, name)
		for _, leak := range []string{"Zq", "HTTP_API_KEYS", "misconfigured", "shorter", "-601002"} {
			assert.NotContains(t, body, leak, name)
		}
	}
	status, body := httpStatus(t, h, httpEvent("POST", "/getWeeklyRetain", "Bearer "+apiKey, params, false))
	assert.Equal(t, 500, status, "a misconfiguration is the function's fault")
	assert.JSONEq(t, `{"errCode":-601002,"errMsg":"openapi.analysis.getWeeklyRetain:fail system args error: `+
		`the function is misconfigured: HTTP_API_KEYS: key 1 is shorter than 16 characters"}`, body)

	cfg = handler.Config{TokenMode: "magic", HTTPAPIKeys: []string{apiKey}, Logger: slog.New(slog.DiscardHandler)}
	status, body = httpStatus(t, handler.New(cfg), httpEvent("POST", "/getWeeklyRetain", "Bearer "+apiKey, params, false))
	assert.Equal(t, 500, status)
	assert.Contains(t, body, `"errCode":-601002`)
}

// Item 14: an HTTP API key has at least 16 characters.
func TestAPIKeyMinimumIsSixteen(t *testing.T) {
	for key, ok := range map[string]bool{"k23456789012345": false, "k234567890123456": true, "k2345678901234567": true} {
		_, err := handler.ConfigFromEnv(func(k string) string {
			return map[string]string{"WECHAT_TOKEN_MODE": "none", "HTTP_API_KEYS": "another-key-abcdefghij," + key}[k]
		})
		if ok {
			assert.NoError(t, err, "%d characters", len(key))
			continue
		}
		require.Error(t, err, "%d characters", len(key))
		assert.Equal(t, "HTTP_API_KEYS: key 2 is shorter than 16 characters", err.Error())
	}
}

// Item 7: a configuration error names the setting, never its value: not in
// the error, the result, nor the log.
func TestConfigErrorsNeverRepeatValues(t *testing.T) {
	bogus := map[string]string{}
	for _, k := range handler.EnvVars {
		bogus[k] = "Zq-" + strings.ToLower(k)
	}
	for _, env := range []map[string]string{
		bogus,
		{"WECHAT_TOKEN_MODE": "stable", "WECHAT_APPID": "Zq-appid"},
		{"WECHAT_TOKEN_MODE": "credential", "WECHAT_APPSECRET": "Zq-secret"},
		{"WECHAT_APPID": "Zq-appid-alone"},
		{"WECHAT_APPSECRET": "Zq-secret-alone"},
		{"WECHAT_TOKEN_MODE": "url", "WECHAT_TOKEN_URL": "ftp://Zq-host/token?key=Zq-key"},
		{"WECHAT_TOKEN_MODE": "url", "WECHAT_TOKEN_URL": "Zq-host/token"},
		{"WECHAT_TOKEN_MODE": "none", "WECHAT_API_BASE": "http//Zq-host"},
		{"WECHAT_TOKEN_MODE": "none", "HTTP_API_KEYS": "Zq-short,Zq-also-short"},
		{"WECHAT_TOKEN_MODE": "none", "ALLOWED_APIS": "getDailyRetain,Zq-getFoo"},
		{"WECHAT_TOKEN_MODE": "none", "CACHE_REDIS_URL": "http://Zq-user:Zq-pass@Zq-host"},
		{"WECHAT_TOKEN_MODE": "none", "CACHE_REDIS_URL": "redis://Zq-user:Zq-pass@Zq-host:6379/Zq-db"},
		{"WECHAT_TOKEN_MODE": "none", "CACHE_TTL": "-Zq", "CACHE_MAX_BYTES": "Zq1", "SERIES_CONCURRENCY": "Zq9",
			"HTTP_TIMEOUT": "Zq1s", "LOG_LEVEL": "Zq-loud", "ALLOW_ANY_CALLER": "Zq-yes", "WECHAT_CLOUDRUN": "Zq-no"},
	} {
		cfg, err := handler.ConfigFromEnv(func(k string) string { return env[k] })
		if err != nil {
			assert.NotContains(t, err.Error(), "Zq", "%v", env)
		}
		// What the function answers and logs: New checks the configuration
		// again, and adds what only building it finds.
		logs := &evidence{}
		cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
		res := invoke(t, handler.New(cfg), context.Background(), `{"action":"getFoo"}`)
		if err == nil {
			assert.Equal(t, json.Number("-601002"), res["errCode"], "%v: %v", env, res)
		}
		assert.NotContains(t, res["errMsg"], "Zq", "%v", env)
		assert.NotContains(t, logs.text(t), "Zq")
	}
}

// Item 7: what a caller sent is echoed only as a short excerpt: its openid
// or web user id, and the path of a null deep in a huge event.
func TestEchoesAreCapped(t *testing.T) {
	u := newUpstream(t)
	h := handler.New(u.config())
	long := strings.Repeat("o", 10000) + "END"
	deep := strings.Repeat(`{"a":`, 3000) + "null" + strings.Repeat("}", 3000)
	for name, c := range map[string]struct {
		env   map[string]string
		event string
	}{
		"openid":                {map[string]string{"WX_CONTEXT_KEYS": "WX_OPENID", "WX_OPENID": long}, dailyEvent},
		"web user id":           {map[string]string{"TCB_CONTEXT_KEYS": "TCB_UUID", "TCB_UUID": long}, dailyEvent},
		"null under a long key": {nil, `{"action":"getDailyRetain","beginDate":"20170313","endDate":"20170313","x":{"` + long + `":null}}`},
		"deep null":             {nil, `{"action":"getDailyRetain","beginDate":"20170313","endDate":"20170313","x":` + deep + `}`},
		"long null key":         {nil, `{"action":"getDailyRetain","` + long + `":null}`},
		"long unknown key":      {nil, `{"action":"getDailyRetain","beginDate":"20170313","endDate":"20170313","` + long + `":1}`},
	} {
		t.Run(name, func(t *testing.T) {
			res := invoke(t, h, withIdentity(c.env), c.event)
			msg := res["errMsg"].(string)
			assert.NotEqual(t, json.Number("0"), res["errCode"])
			assert.Less(t, len(msg), 400, "%.400s", msg)
			assert.NotContains(t, msg, "END")
		})
	}
	assert.Zero(t, u.calls.Load())
}

// Item 9: an errmsg or an answer echoing the access token or the AppSecret
// is scrubbed in the result and in the log.
func TestEchoedSecretsScrubbedInResultsAndLogs(t *testing.T) {
	u := newUpstream(t)
	logs := &evidence{}
	cfg := u.config()
	cfg.CacheMaxBytes = -1
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := handler.New(cfg)
	u.mu.Lock()
	u.answers[dailyPath] = `{"errcode":40097,"errmsg":"invalid args: access_token=` + token + ` appsecret=` + appSecret + `"}`
	u.mu.Unlock()
	res := invoke(t, h, context.Background(), dailyEvent)
	assert.Equal(t, json.Number("40097"), res["errCode"])
	assert.Equal(t, "openapi.analysis.getDailyRetain:fail invalid args: access_token=REDACTED appsecret=REDACTED", res["errMsg"])

	u.mu.Lock()
	u.answers[dailyPath] = `{"visit_uv":[],"ref_date":"` + token + `","note":"` + appSecret + `"}`
	u.mu.Unlock()
	out, err := h.Invoke(context.Background(), []byte(dailyEvent))
	require.NoError(t, err)
	assert.Equal(t, `{"visitUv":[],"refDate":"REDACTED","note":"REDACTED","errMsg":"openapi.analysis.getDailyRetain:ok","errCode":0}`, string(out))

	text := logs.text(t)
	assert.Contains(t, text, "appsecret=REDACTED")
	assert.NotContains(t, text, token)
	assert.NotContains(t, text, appSecret)
}

// Item 14: what the platform or tcb-router adds to an event is not a
// parameter: tcbContext, userInfo and $url are ignored.
func TestPlatformFieldsIgnored(t *testing.T) {
	u := newUpstream(t)
	u.answers[dailyPath] = `{"visit_uv":[],"ref_date":"20170313"}`
	h := handler.New(u.config())
	res := invoke(t, h, context.Background(), `{"action":"getDailyRetain","beginDate":"20170313","endDate":"20170313",`+
		`"tcbContext":{"env":"prod-1"},"userInfo":{"appId":"wx1","openId":"o1"},"$url":"/analysis"}`)
	assert.Equal(t, json.Number("0"), res["errCode"], "%v", res)
	u.mu.Lock()
	defer u.mu.Unlock()
	assert.Equal(t, `{"begin_date":"20170313","end_date":"20170313"}`, string(u.got[dailyPath]))
}

// Item 10: reserved keys are matched decoded, and invalid UTF-8 in an
// answer becomes U+FFFD, as Node's decoding of it would.
func TestAnswersThatAreNotWhatTheySeem(t *testing.T) {
	u := newUpstream(t)
	cfg := u.config()
	cfg.CacheMaxBytes = -1
	h := handler.New(cfg)
	tests := []struct {
		name, answer, want string
	}{
		{"escaped errcode", `{"err\u0063ode":40001,"errmsg":"invalid credential"}`,
			`{"errCode":40001,"errMsg":"openapi.analysis.getDailyRetain:fail invalid credential"}`},
		{"escaped errcode and errmsg", `{"\u0065rrcode":45009,"errms\u0067":"quota"}`,
			`{"errCode":45009,"errMsg":"openapi.analysis.getDailyRetain:fail quota"}`},
		{"escaped errMsg twice", `{"errMsg":"a","err\u004dsg":"b","err\u0043ode":7,"ref_date":"x","visit_uv":[]}`,
			`{"refDate":"x","visitUv":[],"errMsg":"openapi.analysis.getDailyRetain:ok","errCode":0}`},
		{"invalid UTF-8", "{\"visit_uv\":[],\"ref_date\":\"a\xffb\",\"k\xfe_y\":\"\xe4\xb8\"}",
			"{\"visitUv\":[],\"refDate\":\"a\uFFFDb\",\"k\uFFFDY\":\"\uFFFD\",\"errMsg\":\"openapi.analysis.getDailyRetain:ok\",\"errCode\":0}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u.mu.Lock()
			u.answers[dailyPath] = tc.answer
			u.mu.Unlock()
			out, err := h.Invoke(context.Background(), []byte(dailyEvent))
			require.NoError(t, err)
			assert.True(t, utf8.Valid(out) && json.Valid(out), "%q", out)
			assert.Equal(t, tc.want, string(out))
		})
	}
}

// Item 11: an answer of 3 000 escaped keys (about 48 KB) is converted whole,
// every key counted, well within an invocation's deadline.
func TestManyEscapedKeysConverted(t *testing.T) {
	u := newUpstream(t)
	var b bytes.Buffer
	b.WriteString(`{"visit_uv":[],`)
	for i := range 3000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"\u0061_b%04d":%d`, i, i)
	}
	b.WriteString(`}`)
	u.answers[dailyPath] = b.String()
	h := handler.New(u.config())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	res := invoke(t, h, ctx, dailyEvent)
	require.Equal(t, json.Number("0"), res["errCode"], "%.300v", res)
	assert.Len(t, res, 3000+3) // and visitUv, errMsg, errCode
	assert.Equal(t, json.Number("2999"), res["aB2999"])
}

// The fuzz corpora must be there: a crasher saved in one is a regression
// test, and a missing one fails rather than passes silently.
func TestFuzzCorporaPresent(t *testing.T) {
	for _, name := range []string{"FuzzEvent", "FuzzHTTPEvent"} {
		dir := filepath.Join("testdata", "fuzz", name)
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.NotEmpty(t, entries, name)
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			assert.True(t, bytes.HasPrefix(b, []byte("go test fuzz v1")), e.Name())
		}
	}
}

// Items 7 and 12: the path of a null deep in an event is built no longer
// than its echo: a 300 KB event must not cost hundreds of megabytes.
func TestNullPathBoundedMemory(t *testing.T) {
	h := handler.New(handler.Config{TokenMode: handler.ModeStatic, AccessToken: token, APIBase: "http://127.0.0.1:1",
		Logger: slog.New(slog.DiscardHandler)})
	key := strings.Repeat("k", 300)
	event := []byte(`{"action":"getDailyRetain","x":` + strings.Repeat(`{"`+key+`":`, 1000) + "null" + strings.Repeat("}", 1000) + `}`)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	out, err := h.Invoke(context.Background(), event)
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	assert.Contains(t, string(out), "must not be null")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(32<<20), "bytes allocated for a %d-byte event", len(event))
}
