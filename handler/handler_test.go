package handler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tencentyun/scf-go-lib/functioncontext"

	"github.com/wxanalysis/wxanalysis/handler"
	"github.com/wxanalysis/wxanalysis/openapi"
)

const (
	appSecret = "APPSECRET-do-not-leak"
	token     = "ACCESS-TOKEN-do-not-leak"
)

// upstream is a loopback WeChat that serves one canned answer per path.
type upstream struct {
	*httptest.Server
	calls   atomic.Int64
	mu      sync.Mutex
	answers map[string]string // path → body
	got     map[string][]byte // path → last request body
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{answers: map[string]string{}, got: map[string][]byte{}}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cgi-bin/stable_token" {
			var req map[string]any
			_ = json.NewDecoder(r.Body).Decode(&req)
			if req["secret"] != appSecret {
				io.WriteString(w, `{"errcode":40125,"errmsg":"invalid appsecret"}`)
				return
			}
			fmt.Fprintf(w, `{"access_token":%q,"expires_in":7200}`, token)
			return
		}
		u.calls.Add(1)
		assert.Equal(t, http.MethodPost, r.Method)
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		if r.URL.Query().Get("access_token") != token {
			io.WriteString(w, `{"errcode":40001,"errmsg":"invalid credential"}`)
			return
		}
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.got[r.URL.Path] = b
		answer, ok := u.answers[r.URL.Path]
		u.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json; encoding=utf-8")
		io.WriteString(w, answer)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) config() handler.Config {
	return handler.Config{AppID: "wx0123456789abcdef", AppSecret: appSecret, APIBase: u.URL, Backoff: time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)}
}

func invoke(t *testing.T, h *handler.Handler, ctx context.Context, event string) map[string]any {
	t.Helper()
	out, err := h.Invoke(ctx, []byte(event))
	require.NoError(t, err, "results are never function errors")
	var res map[string]any
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&res), "result %s", out)
	return res
}

type example struct {
	Event, Request, Upstream, Result json.RawMessage
}

func loadExamples(t *testing.T) map[string]example {
	files, err := filepath.Glob("testdata/examples/*.json")
	require.NoError(t, err)
	require.Len(t, files, 11, "one documented example per method")
	out := map[string]example{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var ex example
		require.NoError(t, json.Unmarshal(b, &ex))
		out[filepath.Base(f)] = ex
	}
	return out
}

// Every documented example answer of analysis-api.md converts to its
// documented cloud result, and the request reaches WeChat as documented.
func TestDocumentedExamples(t *testing.T) {
	u := newUpstream(t)
	h := handler.New(u.config())
	for name, ex := range loadExamples(t) {
		t.Run(name, func(t *testing.T) {
			var ev struct{ Action string }
			require.NoError(t, json.Unmarshal(ex.Event, &ev))
			m, ok := openapi.Lookup(ev.Action)
			require.True(t, ok)
			u.mu.Lock()
			u.answers[m.Path] = string(ex.Upstream)
			u.mu.Unlock()

			out, err := h.Invoke(context.Background(), ex.Event)
			require.NoError(t, err)
			assert.JSONEq(t, string(ex.Result), string(out))
			u.mu.Lock()
			assert.JSONEq(t, string(ex.Request), string(u.got[m.Path]))
			u.mu.Unlock()
		})
	}
}

// The seed documents' examples, byte for byte: upstream order kept, errMsg
// and errCode last.
func TestSeedExamplesExact(t *testing.T) {
	u := newUpstream(t)
	h := handler.New(u.config())
	u.answers["/datacube/getweanalysisappidweeklyretaininfo"] = `{
  "ref_date": "20170306-20170312",
  "visit_uv_new": [{"key": 0, "value": 0}, {"key": 1, "value": 16853}],
  "visit_uv": [{"key": 0, "value": 0}, {"key": 1, "value": 99310}]
}`
	u.answers["/datacube/getweanalysisappidmonthlyretaininfo"] = `{"visit_uv":[],"ref_date":"201702","visit_uv_new":[{"key":0,"value":346249}],"visit_uv":[{"key":0,"value":346249}]}`

	out, err := h.Invoke(context.Background(), []byte(`{"action":"getWeeklyRetain","beginDate":"20170306","endDate":"20170312"}`))
	require.NoError(t, err)
	assert.Equal(t, `{"refDate":"20170306-20170312","visitUvNew":[{"key":0,"value":0},{"key":1,"value":16853}],`+
		`"visitUv":[{"key":0,"value":0},{"key":1,"value":99310}],"errMsg":"openapi.analysis.getWeeklyRetain:ok","errCode":0}`, string(out))

	out, err = h.Invoke(context.Background(), []byte(`{"action":"openapi.analysis.getMonthlyRetain","beginDate":"20170201","endDate":"20170228","userInfo":{"appId":"wx1","openId":"o1"}}`))
	require.NoError(t, err)
	assert.Equal(t, `{"refDate":"201702","visitUvNew":[{"key":0,"value":346249}],"visitUv":[{"key":0,"value":346249}],`+
		`"errMsg":"openapi.analysis.getMonthlyRetain:ok","errCode":0}`, string(out))
}

func TestBadInput(t *testing.T) {
	u := newUpstream(t)
	h := handler.New(u.config())
	tests := []struct {
		event string
		code  int
		msg   string // the whole errMsg, or a fragment after "…"
	}{
		{`[]`, 40097, "openapi.analysis:fail invalid args: the event must be a JSON object"},
		{`{"action":"getWeeklyRetain"} {}`, 40097, "the event must be a JSON object"},
		{`not json`, 40097, "the event must be a JSON object"},
		{`{}`, 40097, "openapi.analysis:fail invalid args: action is required: the analysis method to call, such as getWeeklyRetain"},
		{`{"action":7}`, 40097, "invalid args: action must be a string, not a number"},
		{`{"action":"getFoo"}`, -604100, "openapi.analysis.getFoo:fail API not found: action \"getFoo\" is not an analysis method; known: getDailyRetain,"},
		{`{"action":"` + strings.Repeat("x<", 5000) + `"}`, -604100, "openapi.analysis:fail API not found: action \"x<x<"},
		{`{"action":"getWeeklyRetain","begindate":"20170306","endDate":"20170312"}`, 40097,
			"openapi.analysis.getWeeklyRetain:fail invalid args: unknown parameter \"begindate\" for getWeeklyRetain; did you mean beginDate?"},
		{`{"action":"getWeeklyRetain","begin_date":"20170306","endDate":"20170312"}`, 40097, "did you mean beginDate?"},
		{`{"action":"getWeeklyRetain","beginDate":"20170306","endDate":"20170312","extra":1}`, 40097, "unknown parameter \"extra\" for getWeeklyRetain"},
		{`{"action":"getWeeklyRetain","beginDate":"20170306"}`, 40097, "openapi.analysis.getWeeklyRetain:fail invalid args: missing parameter endDate"},
		{`{"action":"getWeeklyRetain","beginDate":null,"endDate":"20170312"}`, 40097, "invalid args: beginDate must not be null"},
		{`{"action":"getWeeklyRetain","beginDate":20170306,"endDate":"20170312"}`, 40097, "invalid args: beginDate must be a string, not a number"},
		{`{"action":"getWeeklyRetain","beginDate":["20170306"],"endDate":"20170312"}`, 40097, "beginDate must be a string, not an array"},
		{`{"action":"getWeeklyRetain","beginDate":"2017-03-06","endDate":"20170312"}`, 61500,
			"openapi.analysis.getWeeklyRetain:fail beginDate \"2017-03-06\" must be a date in yyyymmdd format, such as 20170306"},
		{`{"action":"getWeeklyRetain","beginDate":"20170306","endDate":"20170311"}`, 61501,
			"openapi.analysis.getWeeklyRetain:fail endDate 20170311 must be 20170312, the Sunday of the week that begins on beginDate 20170306"},
		{`{"action":"getDailyRetain","beginDate":"` + strings.Repeat("9", 10000) + `","endDate":"20170312"}`, 61500, "must be a date in yyyymmdd format"},
		{`{"action":"getPerformanceData","time":{"beginTimestamp":1609603200},"module":"10022","params":[]}`, 40097, "missing parameter time.endTimestamp"},
		{`{"action":"getPerformanceData","time":{"beginTimestamp":"1609603200","endTimestamp":1609689600},"module":"10022","params":[]}`, 40097,
			"time.beginTimestamp must be an integer, not a string"},
		{`{"action":"getPerformanceData","time":{"beginTimestamp":1.5,"endTimestamp":1609689600},"module":"10022","params":[]}`, 40097,
			"time.beginTimestamp must be an integer, not a number with a fraction or exponent"},
		{`{"action":"getPerformanceData","time":"yesterday","module":"10022","params":[]}`, 40097, "time must be an object, not a string"},
		{`{"action":"getPerformanceData","time":{"beginTimestamp":1609603200,"endTimestamp":1609689600},"module":"10022","params":{}}`, 40097,
			"params must be an array, not an object"},
		{`{"action":"getPerformanceData","time":{"beginTimestamp":1609603200,"endTimestamp":1609689600},"module":"10022","params":[{"field":"device"}]}`, 40097,
			"missing parameter params[0].value"},
		{`{"action":"getPerformanceData","time":{"beginTimestamp":1609603200,"endTimestamp":1609689600},"module":"10022","params":[{"field":"device","value":null}]}`, 40097,
			"params[0].value must not be null"},
		{`{"action":"getPerformanceData","time":{"begin_timestamp":1609603200,"endTimestamp":1609689600},"module":"10022","params":[]}`, 40097,
			"unknown parameter \"time.begin_timestamp\" for getPerformanceData; did you mean time.beginTimestamp?"},
		{`{"action":"getPerformanceData","time":{"beginTimestamp":1609603200,"endTimestamp":1612281600},"module":"10022","params":[]}`, 61501,
			"spans 31.0 days; the most is 30"},
	}
	for _, tc := range tests {
		name := tc.event
		if len(name) > 60 {
			name = name[:60]
		}
		t.Run(name, func(t *testing.T) {
			res := invoke(t, h, context.Background(), tc.event)
			assert.Equal(t, json.Number(fmt.Sprint(tc.code)), res["errCode"])
			msg, _ := res["errMsg"].(string)
			if strings.HasPrefix(tc.msg, "openapi.") {
				assert.True(t, strings.HasPrefix(msg, tc.msg), "errMsg %q", msg)
			} else {
				assert.Contains(t, msg, tc.msg)
			}
			assert.Less(t, len(msg), 600, "only an excerpt of the input is echoed")
			assert.Len(t, res, 2, "a failure has errCode and errMsg only")
		})
	}
	assert.Zero(t, u.calls.Load(), "no bad request reached WeChat")
}

func withIdentity(env map[string]string) context.Context {
	return functioncontext.NewContext(context.Background(), &functioncontext.FunctionContext{Environment: env})
}

func TestCallerIdentity(t *testing.T) {
	u := newUpstream(t)
	u.answers["/datacube/getweanalysisappiddailyretaininfo"] = `{"visit_uv":[],"ref_date":"20170313"}`
	cfg := u.config()
	cfg.AdminOpenIDs = []string{"o-admin"}
	cfg.CacheMaxBytes = -1 // every call allowed goes upstream
	h := handler.New(cfg)
	event := `{"action":"getDailyRetain","beginDate":"20170313","endDate":"20170313","userInfo":{"openId":"o-admin","appId":"wx1"}}`
	miniProgram := func(openid string) context.Context {
		return withIdentity(map[string]string{"WX_CONTEXT_KEYS": "WX_OPENID,WX_APPID,WX_UNIONID", "WX_OPENID": openid, "WX_APPID": "wx1"})
	}

	// The account owner: console, API, timer, local invoker.
	assert.Equal(t, json.Number("0"), invoke(t, h, context.Background(), event)["errCode"])
	assert.Equal(t, json.Number("0"), invoke(t, h, withIdentity(map[string]string{"TRIGGER_SRC": "timer"}), event)["errCode"])
	// An admin.
	assert.Equal(t, json.Number("0"), invoke(t, h, miniProgram("o-admin"), event)["errCode"])
	// Anyone else, whatever the event's userInfo claims.
	res := invoke(t, h, miniProgram("o-stranger"), event)
	assert.Equal(t, json.Number("-601004"), res["errCode"])
	assert.Equal(t, `openapi.analysis.getDailyRetain:fail api permission denied: the Mini Program user "o-stranger" may not read analytics; `+
		"add this openid to ADMIN_OPENIDS, or set ALLOW_ANY_CALLER=true", res["errMsg"])
	// WX_OPENID counts only when this invocation lists it; unlisted, it is an
	// end user who cannot be verified, never the owner.
	assert.Equal(t, json.Number("-601004"), invoke(t, h, withIdentity(map[string]string{"WX_OPENID": "o-admin"}), event)["errCode"])
	// A stale process environment from an earlier invocation is not the caller.
	t.Setenv("WX_OPENID", "o-admin")
	t.Setenv("WX_CONTEXT_KEYS", "WX_OPENID")
	assert.Equal(t, json.Number("-601004"), invoke(t, h, miniProgram("o-stranger"), event)["errCode"])

	cfg.AllowAnyCaller = true
	assert.Equal(t, json.Number("0"), invoke(t, handler.New(cfg), miniProgram("o-stranger"), event)["errCode"])
	assert.EqualValues(t, 4, u.calls.Load())
}

func TestAllowedAPIs(t *testing.T) {
	u := newUpstream(t)
	cfg := u.config()
	cfg.AllowedAPIs = []string{"getDailyRetain", "analysis.getWeeklyRetain"}
	res := invoke(t, handler.New(cfg), context.Background(), `{"action":"getVisitPage","beginDate":"20170313","endDate":"20170313"}`)
	assert.Equal(t, json.Number("-604101"), res["errCode"])
	assert.Equal(t, "openapi.analysis.getVisitPage:fail function has no permission to call this API: add getVisitPage to ALLOWED_APIS", res["errMsg"])
}

func TestConfiguration(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	tests := []struct {
		env  func(string) string
		want string // fragment of the errMsg; "" means the configuration is good
		not  string // a value given that the message must not repeat
	}{
		{env(), "", ""}, // auto: a cloud call, which needs no setting
		{env("WECHAT_APPID", "wx1", "WECHAT_APPSECRET", appSecret), "", ""},
		{env("WECHAT_APPID", "wx1"), "WECHAT_APPSECRET is missing: set both WECHAT_APPID and WECHAT_APPSECRET", "wx1"},
		{env("WECHAT_TOKEN_MODE", "stable"), "WECHAT_APPID and WECHAT_APPSECRET are both required with WECHAT_TOKEN_MODE=stable", ""},
		{env("WECHAT_TOKEN_MODE", "credential", "WECHAT_APPID", "wx1"), "WECHAT_APPID and WECHAT_APPSECRET are both required with WECHAT_TOKEN_MODE=credential", "wx1"},
		{env("WECHAT_TOKEN_MODE", "static"), "WECHAT_ACCESS_TOKEN is required with WECHAT_TOKEN_MODE=static", ""},
		{env("WECHAT_TOKEN_MODE", "static", "WECHAT_ACCESS_TOKEN", token), "", ""},
		{env("WECHAT_TOKEN_MODE", "url"), "WECHAT_TOKEN_URL is required", ""},
		{env("WECHAT_TOKEN_MODE", "url", "WECHAT_TOKEN_URL", "ftp://tokens?secret="+appSecret), "WECHAT_TOKEN_URL must be an absolute http or https URL", "ftp://tokens"},
		{env("WECHAT_TOKEN_MODE", "none"), "", ""},
		{env("WECHAT_TOKEN_MODE", "cloud"), "", ""},
		{env("WECHAT_TOKEN_MODE", "magic"), "WECHAT_TOKEN_MODE must be one of auto, stable, credential, static, url, none, cloudbase, cloud", "magic"},
		{env("WECHAT_TOKEN_MODE", "none", "WECHAT_API_BASE", "api.weixin.qq.com"), "WECHAT_API_BASE must be an absolute http or https URL, such as https://api.weixin.qq.com (it has no scheme: add http:// or https://)", "api.weixin.qq.com;"},
		{env("WECHAT_TOKEN_MODE", "none", "ALLOW_ANY_CALLER", "maybe"), "ALLOW_ANY_CALLER must be true or false", "maybe"},
		{env("WECHAT_TOKEN_MODE", "none", "ALLOWED_APIS", "getDailyRetain, getFoo"), "ALLOWED_APIS: entry 2 is not an analysis method", "getFoo\""},
		{env("WECHAT_TOKEN_MODE", "none", "HTTP_API_KEYS", "short-key"), "HTTP_API_KEYS: key 1 is shorter than 16 characters", "short-key"},
		{env("WECHAT_TOKEN_MODE", "none", "CACHE_REDIS_URL", "http://u:"+appSecret+"@h"), "CACHE_REDIS_URL must be a redis:// or rediss:// URL", "http://u"},
	}
	for _, tc := range tests {
		h := handler.FromEnv(tc.env)
		// Every invocation reports the configuration, not just the first.
		for range 2 {
			res := invoke(t, h, context.Background(), `{"action":"getFoo"}`)
			if tc.want == "" {
				assert.Equal(t, json.Number("-604100"), res["errCode"], "the configuration is good: the action is what is wrong")
				continue
			}
			assert.Equal(t, json.Number("-601002"), res["errCode"])
			assert.Contains(t, res["errMsg"], "the function is misconfigured: "+tc.want)
			assert.NotContains(t, res["errMsg"], appSecret)
			if tc.not != "" {
				assert.NotContains(t, res["errMsg"], tc.not, "a configuration error names the setting, never its value")
			}
		}
	}
}

type panicTransport struct{}

func (panicTransport) RoundTrip(*http.Request) (*http.Response, error) { panic("boom") }

func TestPanicNeverEscapes(t *testing.T) {
	var logs bytes.Buffer
	cfg := handler.Config{TokenMode: handler.ModeStatic, AccessToken: token, HTTPClient: &http.Client{Transport: panicTransport{}},
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	res := invoke(t, handler.New(cfg), context.Background(), `{"action":"getDailyRetain","beginDate":"20170313","endDate":"20170313"}`)
	assert.Equal(t, json.Number("-601001"), res["errCode"])
	assert.Equal(t, "openapi.analysis.getDailyRetain:fail system error: internal error", res["errMsg"])
	assert.Contains(t, logs.String(), `"msg":"panic","panic":"boom"`)
	assert.NotContains(t, logs.String(), token)
}

// A wrong AppSecret is named by WeChat's code; neither it nor a token
// appears in any result.
func TestSecretsNotInResults(t *testing.T) {
	u := newUpstream(t)
	cfg := u.config()
	cfg.AppSecret = "WRONG-" + appSecret
	res := invoke(t, handler.New(cfg), context.Background(), `{"action":"getDailyRetain","beginDate":"20170313","endDate":"20170313"}`)
	assert.Equal(t, json.Number("40125"), res["errCode"])
	assert.Equal(t, "openapi.analysis.getDailyRetain:fail access_token: invalid appsecret", res["errMsg"])

	cfg = u.config()
	u.Close() // the host is gone: the transport error names the URL
	res = invoke(t, handler.New(cfg), context.Background(), `{"action":"getDailyRetain","beginDate":"20170313","endDate":"20170313"}`)
	assert.Equal(t, json.Number("-601003"), res["errCode"])
	out, _ := json.Marshal(res)
	assert.NotContains(t, string(out), appSecret)
	assert.NotContains(t, string(out), token)
}

func TestDeadlineMargin(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-time.After(3 * time.Second):
		}
	}))
	defer slow.Close()
	defer close(release) // before Close, which waits for the handler
	h := handler.New(handler.Config{TokenMode: handler.ModeStatic, AccessToken: token, APIBase: slow.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	dl, _ := ctx.Deadline()
	res := invoke(t, h, ctx, `{"action":"getDailyRetain","beginDate":"20170313","endDate":"20170313"}`)
	assert.Equal(t, json.Number("-601008"), res["errCode"])
	assert.True(t, time.Now().Before(dl), "answered before the platform's deadline")
}

// TestAutoMode: auto picks stable with an AppID and AppSecret, WeChat Cloud
// Run's token when its file exists, else a cloud call; each with its base URL.
func TestAutoMode(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cloudbase_access_token")
	tests := []struct {
		env        map[string]string
		mode, base string
	}{
		{map[string]string{}, handler.ModeCloud, "https://api.weixin.qq.com"},
		{map[string]string{"WECHAT_APPID": "wx1", "WECHAT_APPSECRET": "s"}, handler.ModeStable, "https://api.weixin.qq.com"},
		{map[string]string{"WECHAT_TOKEN_FILE": file}, handler.ModeCloudbase, "https://api.weixin.qq.com"},
		{map[string]string{"WECHAT_TOKEN_MODE": "none"}, handler.ModeNone, "http://api.weixin.qq.com"},
		{map[string]string{"WECHAT_ACCESS_TOKEN": "t"}, handler.ModeStatic, "https://api.weixin.qq.com"},
		{map[string]string{"CBR_ENV_ID": "prod-1"}, handler.ModeNone, "http://api.weixin.qq.com"},
		{map[string]string{"CBR_ENV_ID": "prod-1", "WECHAT_TOKEN_FILE": file}, handler.ModeCloudbase, "https://api.weixin.qq.com"},
	}
	require.NoError(t, os.WriteFile(file, []byte("token"), 0o600))
	for _, tc := range tests {
		cfg, err := handler.ConfigFromEnv(func(k string) string { return tc.env[k] })
		require.NoError(t, err, "%v", tc.env)
		assert.Equal(t, tc.mode, cfg.TokenMode, "%v", tc.env)
		assert.Equal(t, tc.base, cfg.APIBase, "%v", tc.env)
	}
	require.NoError(t, os.Remove(file))
	cfg, err := handler.ConfigFromEnv(func(k string) string { return map[string]string{"WECHAT_TOKEN_FILE": file}[k] })
	require.NoError(t, err)
	assert.Equal(t, handler.ModeCloud, cfg.TokenMode, "no file: a cloud call")
}
