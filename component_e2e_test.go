package main

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/internal/redistest"
	"github.com/wxanalysis/wxanalysis/internal/scf"
	"github.com/wxanalysis/wxanalysis/openapi"
)

// platform is an emulator playing the open platform, with three
// authorizers and a fourth that granted no analysis permission.
func platform(t *testing.T) (*emulator.Emulator, []string) {
	auths := append(emulator.DefaultAuthorizers(), emulator.Authorizer{AppID: "wx00000000noperms", Secret: "own-secret-of-noperms",
		RefreshToken: "refreshtoken@@@noperms-first", NoAnalysis: true})
	emu := emulator.New(emulator.Config{Component: &emulator.Component{Authorizers: auths}})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	p := emu.Platform()
	return emu, []string{"WECHAT_TOKEN_MODE=component", "WECHAT_COMPONENT_APPID=" + p.AppID, "WECHAT_COMPONENT_APPSECRET=" + p.Secret,
		"WECHAT_COMPONENT_TOKEN=" + p.Token, "WECHAT_COMPONENT_AES_KEY=" + p.AESKey, "WECHAT_API_BASE=" + srv.URL, "HTTP_API_KEYS=" + apiKey}
}

var bearer = map[string]string{"Authorization": "Bearer " + apiKey}

// lastWeek is the last whole Monday-to-Sunday week (CST) whose data is out.
func lastWeek() (string, string) {
	day := openapi.Today(time.Now()).AddDate(0, 0, -1)
	for day.Weekday() != time.Sunday {
		day = day.AddDate(0, 0, -1)
	}
	return day.AddDate(0, 0, -6).Format("20060102"), day.Format("20060102")
}

func sign(parts ...string) string {
	sort.Strings(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

func pushTo(t *testing.T, f *httpFunction, push emulator.TicketPush) (int, string) {
	status, body, err := push.Send(context.Background(), http.DefaultClient, f.url+"/wechat/component")
	require.NoError(t, err)
	return status, body
}

// TestComponentThroughBinary: the binary in HTTP mode, as a third-party
// platform against the emulator: the ticket push and its refusals, each
// authorizer's data equal to what its own token reads, the errors, the
// rotated refresh token, who may call, and no secret anywhere.
func TestComponentThroughBinary(t *testing.T) {
	emu, env := platform(t)
	f := startHTTP(t, env...)
	begin, end := lastWeek()
	weekly := func(app string) string {
		return fmt.Sprintf(`{"action":"getWeeklyRetain","authorizerAppid":%q,"beginDate":%q,"endDate":%q}`, app, begin, end)
	}
	var results []string
	post := func(body string) (int, string) {
		status, out := f.post(t, "/", body, bearer)
		results = append(results, out)
		return status, out
	}
	auths := emu.Platform().Authorizers

	// Before any ticket: the error says where the push must go.
	_, out := post(weekly(auths[0].AppID))
	assert.Contains(t, out, `"errCode":61006`)
	assert.Contains(t, out, "/wechat/component")

	// Refused pushes, each logged with its reason; nothing stored.
	good, err := emu.NewTicketPush("")
	require.NoError(t, err)
	tampered := good
	tampered.Body = []byte(strings.Replace(string(good.Body), "<Encrypt><![CDATA[", "<Encrypt><![CDATA[AAAA", 1))
	misaddressed, err := emu.NewTicketPush("wx0000000000other")
	require.NoError(t, err)
	stale, err := emu.NewTicketPush("")
	require.NoError(t, err)
	old := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	enc := string(stale.Body)
	enc = enc[strings.Index(enc, "<Encrypt><![CDATA[")+len("<Encrypt><![CDATA["):]
	enc = enc[:strings.Index(enc, "]]>")]
	stale.Query = cloneQuery(stale.Query)
	stale.Query.Set("timestamp", old)
	stale.Query.Set("msg_signature", sign(emu.Platform().Token, old, stale.Query.Get("nonce"), enc))
	for _, tc := range []struct {
		name   string
		push   emulator.TicketPush
		reason string
	}{{"tampered", tampered, "signature"}, {"mis-addressed", misaddressed, "appid"}, {"stale", stale, "timestamp"}} {
		status, body := pushTo(t, f, tc.push)
		assert.Equal(t, http.StatusBadRequest, status, tc.name)
		assert.NotContains(t, body, "success", tc.name)
		logged(t, f, `"msg":"component push refused","reason":"`+tc.reason+`"`)
	}
	_, out = post(weekly(auths[0].AppID))
	assert.Contains(t, out, `"errCode":61006`, "no refused push stored a ticket")

	status, body := pushTo(t, f, good)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "success", body)
	status, body = pushTo(t, f, good)
	assert.Equal(t, http.StatusBadRequest, status, "a replayed push: %s", body)
	logged(t, f, `"reason":"replay"`)

	// Three authorizers: each one's data, equal to its own token's.
	seen := map[string]string{}
	for _, a := range auths[:3] {
		status, out := post(weekly(a.AppID))
		require.Equal(t, http.StatusOK, status, out)
		require.Contains(t, out, `"errCode":0`)
		own := startFunction(t, "WECHAT_APPID="+a.AppID, "WECHAT_APPSECRET="+a.Secret, "WECHAT_API_BASE="+env[5][len("WECHAT_API_BASE="):])
		want, err := own.Invoke([]byte(fmt.Sprintf(`{"action":"getWeeklyRetain","beginDate":%q,"endDate":%q}`, begin, end)), invocation)
		require.NoError(t, err)
		assert.Equal(t, string(want), out, "%s: the same as with its own token", a.AppID)
		for other, o := range seen {
			assert.NotEqual(t, o, out, "%s and %s never mix", a.AppID, other)
		}
		seen[a.AppID] = out
	}
	defaultApp := startFunction(t, "WECHAT_APPID="+emulator.DefaultAppID, "WECHAT_APPSECRET="+emulator.DefaultSecret,
		"WECHAT_API_BASE="+env[5][len("WECHAT_API_BASE="):])
	def, err := defaultApp.Invoke([]byte(fmt.Sprintf(`{"action":"getWeeklyRetain","beginDate":%q,"endDate":%q}`, begin, end)), invocation)
	require.NoError(t, err)
	for app, o := range seen {
		assert.NotEqual(t, string(def), o, "%s differs from the default app", app)
	}

	// The errors.
	_, out = post(fmt.Sprintf(`{"action":"getWeeklyRetain","beginDate":%q,"endDate":%q}`, begin, end))
	assert.Contains(t, out, `"errCode":40097`)
	assert.Contains(t, out, "authorizerAppid is required")
	_, out = post(weekly("wx0000000notmine"))
	assert.Contains(t, out, `"errCode":61003`)
	assert.Contains(t, out, "authorizer wx0000000notmine has not authorized this platform")
	_, out = post(weekly("wx00000000noperms"))
	assert.Contains(t, out, `"errCode":48001`)
	assert.Contains(t, out, "wx00000000noperms")
	assert.Contains(t, out, "permission set 18")

	// Batch items and series name their authorizer; a batch's is the default.
	_, out = post(fmt.Sprintf(`{"action":"batch","authorizerAppid":%q,"requests":[%s,{"action":"getWeeklyRetain","beginDate":%q,"endDate":%q},{"action":"getWeeklyRetain","beginDate":%q,"endDate":%q}]}`,
		auths[1].AppID, weekly(auths[0].AppID), begin, end, begin, end))
	var batch struct{ Results []json.RawMessage }
	require.NoError(t, json.Unmarshal([]byte(out), &batch), out)
	require.Len(t, batch.Results, 3)
	assert.JSONEq(t, seen[auths[0].AppID], string(batch.Results[0]))
	assert.JSONEq(t, seen[auths[1].AppID], string(batch.Results[1]))
	_, out = post(fmt.Sprintf(`{"action":"series","method":"getWeeklyRetain","authorizerAppid":%q,"beginDate":%q,"endDate":%q}`, auths[2].AppID, begin, end))
	require.NoError(t, json.Unmarshal([]byte(out), &batch), out)
	require.Len(t, batch.Results, 1)
	assert.JSONEq(t, seen[auths[2].AppID], string(batch.Results[0]))
	logged(t, f, `"authorizer":"`+auths[2].AppID+`"`)

	// The rotated refresh token is used next time: every token expires,
	// the next call needs a new one, and only the rotated refresh token
	// gets it (the first answers 61023).
	rotated := emu.RefreshToken(auths[0].AppID)
	require.NotEqual(t, auths[0].RefreshToken, rotated)
	resp, err := http.Post(env[5][len("WECHAT_API_BASE="):]+"/wxemu/expire", "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	day := openapi.Today(time.Now()).AddDate(0, 0, -1).Format("20060102")
	status, out = post(fmt.Sprintf(`{"action":"getDailyVisitTrend","authorizerAppid":%q,"beginDate":%q,"endDate":%q}`, auths[0].AppID, day, day))
	assert.Equal(t, http.StatusOK, status, out)
	assert.NotEqual(t, rotated, emu.RefreshToken(auths[0].AppID), "rotated again: the rotated one was sent")

	// No secret in any result or log line.
	secrets := emu.Secrets()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, r := range results {
			assert.NotContains(t, r, s)
		}
		assert.NotContains(t, f.logs.String(), s)
	}
	assert.Greater(t, len(secrets), 10)
}

// logged waits, bounded, for the process's output to show s: its pipe is
// read by another goroutine.
func logged(t *testing.T, f *httpFunction, s string) {
	t.Helper()
	assert.Eventually(t, func() bool { return strings.Contains(f.logs.String(), s) }, 5*time.Second, 5*time.Millisecond, "the log shows %s", s)
}

func cloneQuery(q map[string][]string) map[string][]string {
	out := make(map[string][]string, len(q))
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// TestComponentCallers (SECURITY.md, 第三方调用, "Who may call"): a caller
// with an end-user identity never reads a merchant's data, nor runs its
// sync, even when ADMIN_OPENIDS, ADMIN_UIDS or ALLOW_ANY_CALLER=true lets
// that very caller into a function of one Mini Program (the control, each
// row's settings without component mode). Through the binary, over SCF's
// protocol.
func TestComponentCallers(t *testing.T) {
	emu, env := platform(t)
	base := env[5][len("WECHAT_API_BASE="):]
	begin, end := lastWeek()
	weekly := fmt.Sprintf(`{"action":"getWeeklyRetain","beginDate":%q,"endDate":%q}`, begin, end)
	named := fmt.Sprintf(`{"action":"getWeeklyRetain","authorizerAppid":"wx00000000merchant1","beginDate":%q,"endDate":%q}`, begin, end)
	var results []string
	for _, tc := range []struct {
		name    string
		setting string
		caller  map[string]string // the invocation's environment
	}{
		{"a Mini Program user in ADMIN_OPENIDS", "ADMIN_OPENIDS=o-admin",
			map[string]string{"WX_CONTEXT_KEYS": "WX_OPENID,WX_APPID", "WX_OPENID": "o-admin", "WX_APPID": "wx1"}},
		{"a web user in ADMIN_UIDS by TCB_CUSTOM_USER_ID", "ADMIN_UIDS=u-admin",
			map[string]string{"TCB_CONTEXT_KEYS": "TCB_CUSTOM_USER_ID,TCB_UUID", "TCB_CUSTOM_USER_ID": "u-admin", "TCB_UUID": "u-other"}},
		{"a web user in ADMIN_UIDS by TCB_UUID", "ADMIN_UIDS=u-admin",
			map[string]string{"TCB_CONTEXT_KEYS": "TCB_UUID", "TCB_UUID": "u-admin"}},
		{"an anonymous web user with ALLOW_ANY_CALLER", "ALLOW_ANY_CALLER=true",
			map[string]string{"TCB_CONTEXT_KEYS": "TCB_UUID,TCB_ISANONYMOUS_USER", "TCB_UUID": "u-anon", "TCB_ISANONYMOUS_USER": "true"}},
		{"an unverified user with ALLOW_ANY_CALLER", "ALLOW_ANY_CALLER=true",
			map[string]string{"WX_FROM_OPENID": "o-someone"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := invocation
			inv.Environment = tc.caller

			// The control: the setting lets this caller into a function of
			// one Mini Program.
			own := startFunction(t, "WECHAT_APPID="+emulator.DefaultAppID, "WECHAT_APPSECRET="+emulator.DefaultSecret,
				"WECHAT_API_BASE="+base, tc.setting)
			out, err := own.Invoke([]byte(weekly), inv)
			require.NoError(t, err)
			require.Contains(t, string(out), `"errCode":0`, "%s is let in without component mode", tc.name)

			p := startFunction(t, append(env, tc.setting)...)
			for _, ev := range []string{named, `{"action":"sync"}`} {
				out, err := p.Invoke([]byte(ev), inv)
				require.NoError(t, err)
				results = append(results, string(out))
				assert.Contains(t, string(out), `"errCode":-601004`, ev)
				assert.Contains(t, string(out), "third-party platform", ev)
			}
		})
	}
	p := startFunction(t, append(env, "ADMIN_OPENIDS=o-admin", "ADMIN_UIDS=u-admin", "ALLOW_ANY_CALLER=true")...)
	out, err := p.Invoke([]byte(named), scf.Invocation{FunctionName: "analysis", Timeout: 5 * time.Second})
	require.NoError(t, err)
	assert.Contains(t, string(out), `"errCode":61006`, "the console may call; there is no ticket yet")
	for _, s := range emu.Secrets() {
		for _, r := range results {
			if s != "" {
				assert.NotContains(t, r, s)
			}
		}
	}
}

// TestComponentSharedThroughRedis: two instances on one redis-server share
// the ticket (pushed to one), the component token and each authorizer's
// token: each fetched once.
func TestComponentSharedThroughRedis(t *testing.T) {
	redis := redistest.Start(t)
	emu, env := platform(t)
	env = append(env, "CACHE_REDIS_URL="+redis.URL())
	a, b := startHTTP(t, env...), startHTTP(t, env...)
	push, err := emu.NewTicketPush("")
	require.NoError(t, err)
	status, body := pushTo(t, a, push)
	require.Equal(t, http.StatusOK, status, body)
	status, body = pushTo(t, b, push)
	assert.Equal(t, http.StatusBadRequest, status, "a replay to another instance is refused too: %s", body)

	begin, end := lastWeek()
	for i, f := range []*httpFunction{b, a, b, a} {
		app := emu.Platform().Authorizers[i%2].AppID
		day := openapi.Today(time.Now()).AddDate(0, 0, -1-i).Format("20060102")
		_, out := f.post(t, "/", fmt.Sprintf(`{"action":"getDailyVisitTrend","authorizerAppid":%q,"beginDate":%q,"endDate":%q}`, app, day, day), bearer)
		require.Contains(t, out, `"errCode":0`, "call %d", i)
	}
	_ = begin
	_ = end
	assert.Equal(t, 1, emu.ComponentTokenFetches(), "one component token for both instances")
	assert.Equal(t, 2, emu.Requests("/cgi-bin/component/api_authorizer_token"), "one token per authorizer for both instances")
	for _, s := range emu.Secrets() {
		if s != "" {
			assert.NotContains(t, a.logs.String(), s)
			assert.NotContains(t, b.logs.String(), s)
		}
	}
}

// TestComponentPushAsHTTPEvent: deployed as an event function behind a
// function URL, the binary takes WeChat's ticket push as an HTTP event on
// any path ending in /wechat/component, its query as either form SCF sends
// (queryString, queryStringParameters): "success", the ticket stored, an
// authorizer's call answered with it; a replay and a tampered push refused.
func TestComponentPushAsHTTPEvent(t *testing.T) {
	emu, env := platform(t)
	p := startFunction(t, env...)
	event := func(push emulator.TicketPush, path string, params bool) []byte {
		ev := map[string]any{"httpMethod": "POST", "path": path, "headers": map[string]string{"content-type": "text/xml"},
			"body": string(push.Body), "isBase64Encoded": false}
		if params {
			flat := map[string]string{}
			for k := range push.Query {
				flat[k] = push.Query.Get(k)
			}
			ev["queryStringParameters"] = flat
		} else {
			ev["queryString"] = push.Query
		}
		b, err := json.Marshal(ev)
		require.NoError(t, err)
		return b
	}
	send := func(ev []byte) (int, string) {
		out, err := p.Invoke(ev, invocation)
		require.NoError(t, err)
		var resp struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
		}
		require.NoError(t, json.Unmarshal(out, &resp), "%s", out)
		return resp.StatusCode, resp.Body
	}
	begin, end := lastWeek()
	app := emu.Platform().Authorizers[0].AppID
	call := []byte(fmt.Sprintf(`{"action":"getWeeklyRetain","authorizerAppid":%q,"beginDate":%q,"endDate":%q}`, app, begin, end))
	out, err := p.Invoke(call, invocation)
	require.NoError(t, err)
	assert.Contains(t, string(out), `"errCode":61006`, "no ticket yet")

	tampered, err := emu.NewTicketPush("")
	require.NoError(t, err)
	tampered.Body = []byte(strings.Replace(string(tampered.Body), "<Encrypt><![CDATA[", "<Encrypt><![CDATA[AAAA", 1))
	status, body := send(event(tampered, "/release/wechat/component", false))
	assert.Equal(t, http.StatusBadRequest, status, body)
	out, err = p.Invoke(call, invocation)
	require.NoError(t, err)
	assert.Contains(t, string(out), `"errCode":61006`, "a refused push stores nothing")

	for i, params := range []bool{false, true} {
		good, err := emu.NewTicketPush("")
		require.NoError(t, err)
		status, body = send(event(good, "/release/wechat/component", params))
		assert.Equal(t, http.StatusOK, status, "push %d", i)
		assert.Equal(t, "success", body, "push %d", i)
		status, body = send(event(good, "/wechat/component", params))
		assert.Equal(t, http.StatusBadRequest, status, "push %d again", i)
		assert.Equal(t, "refused: replay\n", body, "push %d again", i)
	}
	out, err = p.Invoke(call, invocation)
	require.NoError(t, err)
	assert.Contains(t, string(out), `"errCode":0`, "the pushed ticket serves the call: %s", out)
}
