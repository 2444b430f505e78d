package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/handler"
	"github.com/wxanalysis/wxanalysis/internal/pgtest"
	"github.com/wxanalysis/wxanalysis/openapi"
	"github.com/wxanalysis/wxanalysis/warehouse"
)

// authorizerOf is app's entry in a sync's answer.
func authorizerOf(t *testing.T, res handler.SyncResult, app string) handler.AuthorizerSync {
	t.Helper()
	for _, a := range res.Authorizers {
		if a.AuthorizerAppid == app {
			return a
		}
	}
	t.Fatalf("no entry for %s in %+v", app, res.Authorizers)
	return handler.AuthorizerSync{}
}

func postSync(t *testing.T, f *httpFunction, event string) (handler.SyncResult, string) {
	t.Helper()
	status, out := f.post(t, "/", event, bearer)
	require.Equal(t, http.StatusOK, status, out)
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields() // exactly a handler.SyncResult
	var a handler.SyncResult
	require.NoError(t, dec.Decode(&a), out)
	return a, out
}

// ownData calls WeChat (an emulator) for app's data with app's own token,
// as the Mini Program itself would: the raw answer.
func ownData(t *testing.T, base string, a emulator.Authorizer, method, begin, end string) string {
	t.Helper()
	resp, err := http.Post(base+"/cgi-bin/stable_token", "application/json",
		strings.NewReader(fmt.Sprintf(`{"grant_type":"client_credential","appid":%q,"secret":%q}`, a.AppID, a.Secret)))
	require.NoError(t, err)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	resp.Body.Close()
	m, ok := openapi.Lookup(method)
	require.True(t, ok)
	resp, err = http.Post(base+m.Path+"?access_token="+tok.AccessToken, "application/json",
		strings.NewReader(fmt.Sprintf(`{"begin_date":%q,"end_date":%q}`, begin, end)))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// componentSyncDays is how far back the platform's syncs go: every method,
// a few weeks, quick.
const componentSyncDays = 12

// TestComponentSyncThroughBinary: the binary in HTTP mode as a third-party
// platform, against the emulator, with a real database: a sync covers
// every authorizer, each through its own token, its rows equal to its own
// data and never another's; one authorizer's quota (45009) and another's
// missing permission (48001) stop those two only; the next run resumes the
// first; a sync may name one authorizer, and a timer covers all. No
// secret in any answer or log line.
func TestComponentSyncThroughBinary(t *testing.T) {
	pg := pgtest.Start(t)
	for _, st := range []struct{ name, url, bin string }{
		{"postgres", pg.NewDatabase(t), buildFunction(t, runtime.GOOS, runtime.GOARCH)},
		{"sqlite", "sqlite:" + filepath.Join(t.TempDir(), "w.db"), buildLocal(t)},
	} {
		t.Run(st.name, func(t *testing.T) {
			auths := append(emulator.DefaultAuthorizers(), emulator.Authorizer{AppID: "wx00000000noperms", Secret: "own-secret-of-noperms",
				RefreshToken: "refreshtoken@@@noperms-first", NoAnalysis: true})
			const quota = 20
			limited := auths[1].AppID
			u := newUpstream(t, emulator.Config{Component: &emulator.Component{Authorizers: auths},
				Faults: []emulator.Fault{{Kind: emulator.QuotaAfter, N: quota, AppID: limited}}})
			// The reference: the same Mini Programs, each called with its own token.
			ref := httptest.NewServer(emulator.New(emulator.Config{Component: &emulator.Component{Authorizers: auths}}))
			t.Cleanup(ref.Close)
			p := u.emu.Platform()
			f := startHTTPBin(t, st.bin, "WECHAT_TOKEN_MODE=component", "WECHAT_COMPONENT_APPID="+p.AppID, "WECHAT_COMPONENT_APPSECRET="+p.Secret,
				"WECHAT_COMPONENT_TOKEN="+p.Token, "WECHAT_COMPONENT_AES_KEY="+p.AESKey, "WECHAT_API_BASE="+u.srv.URL, "HTTP_API_KEYS="+apiKey,
				"DATABASE_URL="+st.url, "SYNC_SINCE="+openapi.Today(time.Now()).AddDate(0, 0, -componentSyncDays).Format(openapi.DateLayout),
				"HTTP_TIMEOUT=60s", "SERIES_CONCURRENCY=3")
			push, err := u.emu.NewTicketPush("")
			require.NoError(t, err)
			status, body := pushTo(t, f, push)
			require.Equal(t, http.StatusOK, status, body)
			var answers []string

			first, out := postSync(t, f, `{"action":"sync"}`)
			answers = append(answers, out)
			require.Equal(t, 0, first.ErrCode, out)
			require.Len(t, first.Authorizers, 4, out)
			for _, a := range []emulator.Authorizer{auths[0], auths[2]} {
				got := authorizerOf(t, first, a.AppID)
				assert.Empty(t, got.Stopped, "%s carries on: %s", a.AppID, out)
				assert.Zero(t, got.Remaining+got.Pending, out)
				assert.Positive(t, got.Stored, out)
			}
			q := authorizerOf(t, first, limited)
			assert.Equal(t, "quota", q.Stopped, out)
			assert.Equal(t, quota, q.Stored, "its first %d calls, then its quota: %s", quota, out)
			assert.Positive(t, q.Remaining, out)
			np := authorizerOf(t, first, "wx00000000noperms")
			assert.Equal(t, "permission", np.Stopped, out)
			assert.Contains(t, np.Reason, "wx00000000noperms")
			assert.Contains(t, np.Reason, "48001")
			assert.Contains(t, np.Reason, "permission set 18")
			assert.Zero(t, np.Stored)
			assert.Empty(t, first.Stopped, "nothing stopped the whole sync: %s", out)
			sum := 0
			for _, a := range first.Authorizers {
				sum += a.Stored
			}
			assert.Equal(t, sum, first.Stored, "the totals are the authorizers' sums")

			// Each authorizer's rows are its own data, byte for byte what its
			// own token reads, and no two are alike.
			db := openStore(t, st.url)
			rowsOf := func(app string) map[string]string {
				rows, err := db.DB().Query(rebind(db, "SELECT method, begin_date, end_date, body FROM wxa_raw_answer WHERE appid = ? AND method IN ('getDailyVisitTrend', 'getWeeklyRetain', 'getVisitPage')"), app)
				require.NoError(t, err)
				defer rows.Close()
				out := map[string]string{}
				for rows.Next() {
					var method, body string
					var begin, end any
					require.NoError(t, rows.Scan(&method, &begin, &end, &body))
					out[method+" "+compactDate(begin)+" "+compactDate(end)] = body
				}
				require.NoError(t, rows.Err())
				return out
			}
			seen := map[string]string{}
			for _, a := range auths[:3] {
				rows := rowsOf(a.AppID)
				require.NotEmpty(t, rows, a.AppID)
				for k, body := range rows {
					parts := strings.Fields(k)
					assert.Equal(t, ownData(t, ref.URL, a, parts[0], parts[1], parts[2]), body, "%s %s: its own data", a.AppID, k)
					if other, ok := seen[k+body]; ok {
						t.Errorf("%s and %s hold the same %s", a.AppID, other, k)
					}
					seen[k+body] = a.AppID
				}
			}
			var apps []string
			rows, err := db.DB().Query("SELECT DISTINCT appid FROM wxa_visit_trend ORDER BY appid")
			require.NoError(t, err)
			for rows.Next() {
				var a string
				require.NoError(t, rows.Scan(&a))
				apps = append(apps, a)
			}
			rows.Close()
			assert.Equal(t, []string{auths[0].AppID, auths[1].AppID, auths[2].AppID}, apps, "rows only for the authorizers read")

			// The quota is back: the next run resumes the stopped authorizer,
			// and fetches only what can still change of the others.
			resp, err := http.Post(u.srv.URL+"/wxemu/faults", "text/plain", strings.NewReader(""))
			require.NoError(t, err)
			resp.Body.Close()
			next, out := postSync(t, f, `{"Type":"Timer","TriggerName":"daily-sync","Time":"2024-05-01T03:30:00Z","Message":""}`)
			answers = append(answers, out)
			require.Equal(t, 0, next.ErrCode, out)
			require.Len(t, next.Authorizers, 4, "a timer covers every authorizer: %s", out)
			resumed := authorizerOf(t, next, limited)
			assert.Empty(t, resumed.Stopped, out)
			assert.Zero(t, resumed.Remaining+resumed.Pending, out)
			assert.Equal(t, q.Remaining+q.Stored-q.Final, resumed.Stored, "what the quota left, and what can still change: %s", out)
			full := authorizerOf(t, first, auths[0].AppID)
			assert.Equal(t, full.Stored-full.Final, authorizerOf(t, next, auths[0].AppID).Fetched, "only what can still change: %s", out)
			count := func(app string) int {
				var n int
				require.NoError(t, db.DB().QueryRow(rebind(db, "SELECT COUNT(*) FROM wxa_raw_answer WHERE appid = ?"), app).Scan(&n))
				return n
			}
			assert.Equal(t, count(auths[0].AppID), count(limited), "the resumed authorizer has every period")
			assert.Equal(t, full.Stored, count(auths[0].AppID))

			// One authorizer named: that one only.
			one, out := postSync(t, f, fmt.Sprintf(`{"action":"sync","authorizerAppid":%q}`, auths[2].AppID))
			answers = append(answers, out)
			require.Len(t, one.Authorizers, 1, out)
			assert.Equal(t, auths[2].AppID, one.Authorizers[0].AuthorizerAppid)
			_, out = f.post(t, "/", `{"action":"sync","authorizerAppid":"merchant1"}`, bearer)
			answers = append(answers, out)
			assert.Contains(t, out, `"errCode":40097`)
			assert.Contains(t, out, "authorizerAppid must be a Mini Program's AppID")

			for _, s := range u.emu.Secrets() {
				if s == "" {
					continue
				}
				for _, a := range answers {
					assert.NotContains(t, a, s)
				}
				assert.NotContains(t, f.logs.String(), s)
			}
			assert.NotContains(t, f.logs.String(), pgtest.Password)
		})
	}
}

// refuseAuthorizerToken answers WeChat's errcode code to every
// api_authorizer_token request for app, as WeChat does for a merchant who
// cancelled the authorization (61003) or whose refresh token is no longer
// valid (61023); every other request goes to next.
func refuseAuthorizerToken(next http.Handler, app string, code int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cgi-bin/component/api_authorizer_token" {
			body, _ := io.ReadAll(r.Body)
			var req struct {
				Authorizer string `json:"authorizer_appid"`
			}
			_ = json.Unmarshal(body, &req)
			if req.Authorizer == app {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"errcode":%d,"errmsg":"refused by the test rid: 1-2-3"}`, code)
				return
			}
			r.Body = io.NopCloser(strings.NewReader(string(body)))
		}
		next.ServeHTTP(w, r)
	})
}

// TestComponentSyncStopsOneAuthorizer (README, "sync over every
// authorizer", What stops what): an authorizer's quota (45009, 45011), a
// permission it did not grant (48001), an authorization it does not have
// or revoked (61003, 61023) or a mini game (61502) stop that authorizer
// only: its entry says why, naming it and the errcode; the other three
// finish, every period stored; the sync itself answers errCode 0 with
// nothing stopped at the top. Through the local build in HTTP mode, on
// SQLite (TestComponentSyncThroughBinary runs 45009 and 48001 on
// PostgreSQL too).
func TestComponentSyncStopsOneAuthorizer(t *testing.T) {
	bin := buildLocal(t)
	const victim = "wx00000000victim"
	since := "SYNC_SINCE=" + openapi.Today(time.Now()).AddDate(0, 0, -componentSyncDays).Format(openapi.DateLayout)
	for _, tc := range []struct {
		name    string
		code    int
		stopped string
		stored  int                                                // the victim's periods stored before it stopped
		setup   func(a *emulator.Authorizer, cfg *emulator.Config) // the victim's condition
		wrap    func(next http.Handler) http.Handler               // WeChat's answers changed in front of the emulator
		listed  bool                                               // the victim is in the platform's list; else SYNC_AUTHORIZERS names it
	}{
		{name: "45009 its quota", code: 45009, stopped: "quota", stored: 3, listed: true,
			setup: func(_ *emulator.Authorizer, cfg *emulator.Config) {
				cfg.Faults = []emulator.Fault{{Kind: emulator.QuotaAfter, N: 3, AppID: victim}}
			}},
		{name: "45011 its API frequency limit", code: 45011, stopped: "quota", listed: true,
			setup: func(_ *emulator.Authorizer, cfg *emulator.Config) {
				cfg.Faults = []emulator.Fault{{Kind: emulator.Errcode, N: 45011, AppID: victim}}
			}},
		{name: "48001 permission set 18 not granted", code: 48001, stopped: "permission", listed: true,
			setup: func(a *emulator.Authorizer, _ *emulator.Config) { a.NoAnalysis = true }},
		{name: "61003 authorization cancelled", code: 61003, stopped: "unauthorized", listed: true,
			wrap: func(next http.Handler) http.Handler { return refuseAuthorizerToken(next, victim, 61003) }},
		{name: "61003 not in the platform's list", code: 61003, stopped: "unauthorized", listed: false},
		{name: "61023 refresh token invalid", code: 61023, stopped: "unauthorized", listed: true,
			wrap: func(next http.Handler) http.Handler { return refuseAuthorizerToken(next, victim, 61023) }},
		{name: "61502 a mini game", code: 61502, stopped: "game", listed: true,
			setup: func(_ *emulator.Authorizer, cfg *emulator.Config) {
				cfg.Faults = []emulator.Fault{{Kind: emulator.Errcode, N: 61502, AppID: victim}}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auths := emulator.DefaultAuthorizers()
			v := emulator.Authorizer{AppID: victim, Secret: "own-secret-of-victim", RefreshToken: "refreshtoken@@@victim-first"}
			cfg := emulator.Config{}
			if tc.setup != nil {
				tc.setup(&v, &cfg)
			}
			if tc.listed {
				auths = append(auths, v)
			}
			cfg.Component = &emulator.Component{Authorizers: auths}
			emu := emulator.New(cfg)
			var front http.Handler = emu
			if tc.wrap != nil {
				front = tc.wrap(emu)
			}
			srv := httptest.NewServer(front)
			t.Cleanup(srv.Close)
			p := emu.Platform()
			env := []string{"WECHAT_TOKEN_MODE=component", "WECHAT_COMPONENT_APPID=" + p.AppID, "WECHAT_COMPONENT_APPSECRET=" + p.Secret,
				"WECHAT_COMPONENT_TOKEN=" + p.Token, "WECHAT_COMPONENT_AES_KEY=" + p.AESKey, "WECHAT_API_BASE=" + srv.URL,
				"HTTP_API_KEYS=" + apiKey, "DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "w.db"), since,
				"HTTP_TIMEOUT=60s", "SERIES_CONCURRENCY=3"}
			if !tc.listed {
				env = append(env, "SYNC_AUTHORIZERS="+auths[0].AppID+","+auths[1].AppID+","+victim+","+auths[2].AppID)
			}
			f := startHTTPBin(t, bin, env...)
			require.NoError(t, emu.PushTicket(t.Context(), http.DefaultClient, f.url+"/wechat/component"))

			res, out := postSync(t, f, `{"action":"sync"}`)
			require.Equal(t, 0, res.ErrCode, "one authorizer's error does not fail the sync: %s", out)
			assert.Empty(t, res.Stopped, "nothing stopped the whole sync: %s", out)
			require.Len(t, res.Authorizers, 4, out)
			got := authorizerOf(t, res, victim)
			assert.Equal(t, tc.stopped, got.Stopped, out)
			assert.Contains(t, got.Reason, victim, "the reason names the authorizer: %s", out)
			assert.Contains(t, got.Reason, fmt.Sprintf("(%d)", tc.code), "and the errcode: %s", out)
			assert.Equal(t, tc.stored, got.Stored, out)
			var full int
			defer func() { // once full is known
				assert.Equal(t, full, got.Stored+got.Remaining+got.Pending, "every period of %s stored or left for the next run: %s", victim, out)
			}()
			for _, a := range auths[:3] {
				other := authorizerOf(t, res, a.AppID)
				assert.Empty(t, other.Stopped, "%s carries on: %s", a.AppID, out)
				assert.Zero(t, other.Remaining+other.Pending, "%s finishes: %s", a.AppID, out)
				assert.Positive(t, other.Stored, out)
				if full == 0 {
					full = other.Stored
				}
				assert.Equal(t, full, other.Stored, "%s stores every period, as the others: %s", a.AppID, out)
			}
			for _, s := range emu.Secrets() {
				if s != "" {
					assert.NotContains(t, out, s)
					assert.NotContains(t, f.logs.String(), s)
				}
			}
		})
	}
}

// TestComponentSyncFairness: under a deadline that cuts the sync short,
// the authorizers share it: their periods are taken in turn, so that each
// has stored as many as the others, give or take what was in flight.
func TestComponentSyncFairness(t *testing.T) {
	pg := pgtest.Start(t)
	u := newUpstream(t, emulator.Config{Component: &emulator.Component{}, Latency: 30 * time.Millisecond})
	p := u.emu.Platform()
	f := startHTTP(t, "WECHAT_TOKEN_MODE=component", "WECHAT_COMPONENT_APPID="+p.AppID, "WECHAT_COMPONENT_APPSECRET="+p.Secret,
		"WECHAT_COMPONENT_TOKEN="+p.Token, "WECHAT_COMPONENT_AES_KEY="+p.AESKey, "WECHAT_API_BASE="+u.srv.URL, "HTTP_API_KEYS="+apiKey,
		"DATABASE_URL="+pg.NewDatabase(t), "SYNC_SINCE="+since(), "HTTP_TIMEOUT=2s", "SERIES_CONCURRENCY=2")
	require.NoError(t, u.emu.PushTicket(t.Context(), http.DefaultClient, f.url+"/wechat/component"))
	a, out := postSync(t, f, `{"action":"sync"}`)
	require.Equal(t, 0, a.ErrCode, out)
	assert.Equal(t, "deadline", a.Stopped, out)
	require.Len(t, a.Authorizers, 3)
	lo, hi := a.Authorizers[0].Stored, a.Authorizers[0].Stored
	for _, r := range a.Authorizers {
		lo, hi = min(lo, r.Stored), max(hi, r.Stored)
		assert.Positive(t, r.Remaining, out)
	}
	assert.Positive(t, lo, out)
	assert.LessOrEqual(t, hi-lo, 2, "each authorizer's share, give or take SERIES_CONCURRENCY's in flight: %s", out)
}

// TestComponentSharedThroughDatabase: with no Redis, two instances on one
// database share the ticket (pushed to one; the replay to the other is
// refused), the component token and each authorizer's token: each fetched once.
func TestComponentSharedThroughDatabase(t *testing.T) {
	pg := pgtest.Start(t)
	emu, env := platform(t)
	env = append(env, "DATABASE_URL="+pg.NewDatabase(t))
	a, b := startHTTP(t, env...), startHTTP(t, env...)
	push, err := emu.NewTicketPush("")
	require.NoError(t, err)
	status, body := pushTo(t, a, push)
	require.Equal(t, http.StatusOK, status, body)
	status, body = pushTo(t, b, push)
	assert.Equal(t, http.StatusBadRequest, status, "a replay to another instance is refused too: %s", body)

	var wg sync.WaitGroup
	for i, f := range []*httpFunction{b, a, b, a, a, b} {
		wg.Go(func() {
			app := emu.Platform().Authorizers[i%2].AppID
			day := openapi.Today(time.Now()).AddDate(0, 0, -1-i).Format("20060102")
			_, out := f.post(t, "/", fmt.Sprintf(`{"action":"getDailyVisitTrend","authorizerAppid":%q,"beginDate":%q,"endDate":%q}`, app, day, day), bearer)
			assert.Contains(t, out, `"errCode":0`, "call %d", i)
		})
	}
	wg.Wait()
	assert.Equal(t, 1, emu.ComponentTokenFetches(), "one component token for both instances")
	assert.Equal(t, 2, emu.Requests("/cgi-bin/component/api_authorizer_token"), "one token per authorizer for both instances")
	db := openStore(t, env[len(env)-1][len("DATABASE_URL="):])
	var n int
	require.NoError(t, db.DB().QueryRow("SELECT COUNT(*) FROM wxa_shared").Scan(&n))
	assert.Positive(t, n, "kept in wxa_shared")
	for _, s := range emu.Secrets() {
		if s != "" {
			assert.NotContains(t, a.logs.String(), s)
			assert.NotContains(t, b.logs.String(), s)
		}
	}
}

// tokenService is a platform's own token service on loopback: GET
// /token/{appid}?key=... answers that authorizer's token, which it gets
// from WeChat (the emulator) with the authorizer's own AppSecret.
type tokenService struct {
	*httptest.Server
	mu     sync.Mutex
	issued []string
	asked  map[string]int
}

const serviceKey = "token-service-key-0123456789"

func newTokenService(t *testing.T, wechat string, auths []emulator.Authorizer) *tokenService {
	s := &tokenService{asked: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		app := strings.TrimPrefix(r.URL.Path, "/token/")
		if r.URL.Query().Get("key") != serviceKey {
			http.Error(w, "bad key", http.StatusForbidden)
			return
		}
		for _, a := range auths {
			if a.AppID != app {
				continue
			}
			resp, err := http.Post(wechat+"/cgi-bin/stable_token", "application/json",
				strings.NewReader(fmt.Sprintf(`{"grant_type":"client_credential","appid":%q,"secret":%q}`, a.AppID, a.Secret)))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			json.Unmarshal(b, &tok)
			s.mu.Lock()
			s.issued = append(s.issued, tok.AccessToken)
			s.asked[app]++
			s.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.Write(b)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"errcode":40013,"errmsg":"invalid appid"}`)
	}))
	t.Cleanup(s.Close)
	return s
}

// TestURLModePerAuthorizerThroughBinary: WECHAT_TOKEN_URL with {appid},
// through the binary in HTTP mode against the emulator and a token service
// on loopback: each authorizer's answers equal the same calls made with its
// own token, never another's; an AppID the service does not know is its
// error; a sync covers SYNC_AUTHORIZERS, each one's rows its own; and the
// service's key and the tokens appear nowhere.
func TestURLModePerAuthorizerThroughBinary(t *testing.T) {
	pg := pgtest.Start(t)
	auths := emulator.DefaultAuthorizers()
	emu := emulator.New(emulator.Config{Component: &emulator.Component{Authorizers: auths}})
	wechat := httptest.NewServer(emu)
	t.Cleanup(wechat.Close)
	svc := newTokenService(t, wechat.URL, auths)
	dbURL := pg.NewDatabase(t)
	f := startHTTP(t, "WECHAT_TOKEN_MODE=url", "WECHAT_TOKEN_URL="+svc.URL+"/token/{appid}?key="+serviceKey,
		"WECHAT_API_BASE="+wechat.URL, "HTTP_API_KEYS="+apiKey, "DATABASE_URL="+dbURL,
		"SYNC_AUTHORIZERS="+auths[0].AppID+","+auths[2].AppID,
		"SYNC_SINCE="+openapi.Today(time.Now()).AddDate(0, 0, -componentSyncDays).Format(openapi.DateLayout), "HTTP_TIMEOUT=60s")
	begin, end := lastWeek()
	day := openapi.Today(time.Now()).AddDate(0, 0, -2).Format("20060102")
	var answers []string
	seen := map[string]string{}
	for _, a := range auths {
		own := startFunction(t, "WECHAT_APPID="+a.AppID, "WECHAT_APPSECRET="+a.Secret, "WECHAT_API_BASE="+wechat.URL)
		for _, ev := range []string{
			fmt.Sprintf(`{"action":"getWeeklyRetain","beginDate":%q,"endDate":%q}`, begin, end),
			fmt.Sprintf(`{"action":"getVisitPage","beginDate":%q,"endDate":%q}`, day, day),
			fmt.Sprintf(`{"action":"getUserPortrait","beginDate":%q,"endDate":%q}`, day, day),
		} {
			want, err := own.Invoke([]byte(ev), invocation)
			require.NoError(t, err)
			require.Contains(t, string(want), `"errCode":0`)
			named := strings.Replace(ev, "{", fmt.Sprintf(`{"authorizerAppid":%q,`, a.AppID), 1)
			status, got := f.post(t, "/", named, bearer)
			answers = append(answers, got)
			require.Equal(t, http.StatusOK, status, got)
			assert.Equal(t, string(want), got, "%s: the same as with its own token", named)
			if other, ok := seen[got]; ok {
				t.Errorf("%s answers what %s does: %s", a.AppID, other, ev)
			}
			seen[got] = a.AppID
		}
	}
	_, out := f.post(t, "/", fmt.Sprintf(`{"action":"getWeeklyRetain","beginDate":%q,"endDate":%q}`, begin, end), bearer)
	answers = append(answers, out)
	assert.Contains(t, out, "authorizerAppid is required")
	_, out = f.post(t, "/", fmt.Sprintf(`{"action":"getWeeklyRetain","authorizerAppid":"wx0000000notmine","beginDate":%q,"endDate":%q}`, begin, end), bearer)
	answers = append(answers, out)
	assert.Contains(t, out, `"errCode":40013`, "the token service's answer for an AppID it does not know")

	a, out := postSync(t, f, `{"action":"sync"}`)
	answers = append(answers, out)
	require.Equal(t, 0, a.ErrCode, out)
	require.Len(t, a.Authorizers, 2, "SYNC_AUTHORIZERS: %s", out)
	db := openStore(t, dbURL)
	for _, auth := range []emulator.Authorizer{auths[0], auths[2]} {
		r := authorizerOf(t, a, auth.AppID)
		assert.Zero(t, r.Remaining+r.Pending, out)
		var body string
		require.NoError(t, db.DB().QueryRow("SELECT body FROM wxa_raw_answer WHERE appid = $1 AND method = 'getWeeklyRetain' ORDER BY begin_date DESC LIMIT 1", auth.AppID).Scan(&body))
		assert.Equal(t, ownData(t, wechat.URL, auth, "getWeeklyRetain", begin, end), body, "%s's own rows", auth.AppID)
	}
	var n int
	require.NoError(t, db.DB().QueryRow("SELECT COUNT(*) FROM wxa_raw_answer WHERE appid = $1", auths[1].AppID).Scan(&n))
	assert.Zero(t, n, "an authorizer not listed is not synced")

	svc.mu.Lock()
	secrets := append([]string{serviceKey}, svc.issued...)
	svc.mu.Unlock()
	assert.Greater(t, len(secrets), 3)
	for _, s := range append(secrets, emu.Secrets()...) {
		if s == "" {
			continue
		}
		for _, r := range answers {
			assert.NotContains(t, r, s)
		}
		assert.NotContains(t, f.logs.String(), s)
	}
}

func rebind(s *warehouse.Store, q string) string {
	if s.Dialect() == warehouse.Postgres {
		return strings.Replace(q, "?", "$1", 1)
	}
	return q
}

// compactDate reads a DATE column as yyyymmdd, whatever the driver gives.
func compactDate(v any) string {
	switch d := v.(type) {
	case time.Time:
		return d.Format("20060102")
	case []byte:
		return compactDate(string(d))
	case string:
		return strings.ReplaceAll(d[:min(len(d), 10)], "-", "")
	}
	return fmt.Sprint(v)
}
