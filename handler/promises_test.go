package handler_test

// README and SECURITY promises that mutation testing found untested
// (issue 16, "Promises with no test").

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/handler"
	"github.com/wxanalysis/wxanalysis/internal/redistest"
)

const weeklyEvent16 = `{"action":"getWeeklyRetain","beginDate":"20170306","endDate":"20170312"}`

// cloudInvocation is a cloud-call invocation through srv's gateway with
// extra context keys.
func cloudInvocation(srv *httptest.Server, extra map[string]string) context.Context {
	env := map[string]string{"WX_CONTEXT_KEYS": "WX_API_TOKEN", "WX_API_TOKEN": emulator.DefaultCloudToken,
		"TCB_CONTEXT_CNFG": `{"URL":"` + srv.URL + `/admin"}`}
	for k, v := range extra {
		if k == "WX_CONTEXT_KEYS" {
			v = env[k] + "," + v
		}
		env[k] = v
	}
	return withIdentity(env)
}

// The cloud cache scope includes the caller's WX_APPID (two Mini Programs
// sharing one environment never share answers), and only a listed WX_APPID
// counts: an unlisted one is anyone's to write.
func TestCloudCacheScopeIsTheListedAppID(t *testing.T) {
	emu := emulator.New(emulator.Config{})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	h := handler.New(handler.Config{TokenMode: handler.ModeCloud,
		LookupEnv: func(k string) (string, bool) { v, ok := cloudProcess[k]; return v, ok },
		Logger:    slog.New(slog.DiscardHandler)})
	call := func(extra map[string]string) {
		res := invoke(t, h, cloudInvocation(srv, extra), weeklyEvent16)
		require.Equal(t, json.Number("0"), res["errCode"], "%v", res)
	}
	call(map[string]string{"WX_CONTEXT_KEYS": "WX_APPID", "WX_APPID": "wxA"})
	call(map[string]string{"WX_CONTEXT_KEYS": "WX_APPID", "WX_APPID": "wxA"})
	assert.Equal(t, 1, emu.Requests("/admin"), "the same Mini Program: from the cache")
	call(map[string]string{"WX_CONTEXT_KEYS": "WX_APPID", "WX_APPID": "wxB"})
	assert.Equal(t, 2, emu.Requests("/admin"), "another Mini Program in the same environment: its own answer")

	call(map[string]string{"WX_APPID": "wxC"}) // unlisted: no AppID
	assert.Equal(t, 3, emu.Requests("/admin"))
	call(map[string]string{"WX_APPID": "wxD"}) // unlisted too: the same scope as wxC's
	assert.Equal(t, 3, emu.Requests("/admin"), "an unlisted WX_APPID keys nothing")
}

// forceCounter is a WeChat whose stable tokens are all refused by the
// analysis API, counting force refreshes.
type forceCounter struct {
	*httptest.Server
	forces atomic.Int64
}

func newForceCounter(t *testing.T) *forceCounter {
	f := &forceCounter{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cgi-bin/stable_token" {
			var req struct {
				ForceRefresh bool `json:"force_refresh"`
			}
			_ = json.NewDecoder(r.Body).Decode(&req)
			n := int64(0)
			if req.ForceRefresh {
				n = f.forces.Add(1)
			}
			fmt.Fprintf(w, `{"access_token":"refused-token-%d","expires_in":7200}`, n)
			return
		}
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"errcode":40001,"errmsg":"invalid credential"}`)
	}))
	t.Cleanup(f.Close)
	return f
}

func forceHandler(t *testing.T, f *forceCounter, redisURL string, now func() time.Time) *handler.Handler {
	h := handler.New(handler.Config{AppID: "wx0123456789abcdef", AppSecret: appSecret, APIBase: f.URL, Backoff: time.Millisecond,
		CacheRedisURL: redisURL, Now: now, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, h.Err())
	return h
}

// The Redis-shared force budget is wired in: one instance's force refresh
// counts for every instance of the AppID on that Redis.
func TestForceBudgetSharedOnRedis(t *testing.T) {
	srv := redistest.Start(t)
	f := newForceCounter(t)
	now := func() time.Time { return time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC) }
	a, b := forceHandler(t, f, srv.URL(), now), forceHandler(t, f, srv.URL(), now)
	res := invoke(t, a, context.Background(), weeklyEvent16)
	assert.Equal(t, json.Number("40001"), res["errCode"])
	require.Equal(t, int64(1), f.forces.Load(), "the first instance forces once")
	res = invoke(t, b, context.Background(), weeklyEvent16)
	assert.Equal(t, json.Number("40001"), res["errCode"])
	assert.Equal(t, int64(1), f.forces.Load(), "the second instance sees the first one's force: not 30 s since")
}

// While Redis is down, the budget is the instance's own, never unlimited.
func TestForceBudgetFallsBackWhileRedisIsDown(t *testing.T) {
	srv := redistest.Start(t)
	url := srv.URL()
	srv.Stop()
	f := newForceCounter(t)
	var elapsed atomic.Int64
	start := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	h := forceHandler(t, f, url, func() time.Time { return start.Add(time.Duration(elapsed.Load())) })
	for range 3 {
		res := invoke(t, h, context.Background(), weeklyEvent16)
		assert.Equal(t, json.Number("40001"), res["errCode"])
		// Past the 10 s Redis is left alone after a failure, so that the
		// next force asks it again, and fails; not past the 30 s gap.
		elapsed.Add(int64(11 * time.Second))
	}
	assert.Equal(t, int64(1), f.forces.Load(), "one force, then 30 s to wait on the instance's own budget")
}

// An HTTP event's response over 6 MB is refused, not returned.
func TestHTTPEventResponseOverTheLimit(t *testing.T) {
	big := `{"ref_date":"20170306-20170312","visit_uv":[],"list":[{"page_path":"` + strings.Repeat(`\"`, 2_600_000) + `"}]}`
	u := newUpstream(t)
	u.answers["/datacube/getweanalysisappidweeklyretaininfo"] = big
	cfg := u.config()
	cfg.HTTPAPIKeys = []string{apiKey}
	status, body := httpStatus(t, handler.New(cfg), httpEvent("POST", "/getWeeklyRetain", "Bearer "+apiKey,
		`{"beginDate":"20170306","endDate":"20170312"}`, false))
	assert.Equal(t, http.StatusBadGateway, status)
	assert.Contains(t, body, "more than the 6000000 a cloud function may return")
}

// The HTTP server answers within HTTP_TIMEOUT less its 100 ms margin:
// before the request's own deadline, whatever upstream does.
func TestHTTPServerAnswersWithinItsMargin(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	const timeout = 600 * time.Millisecond
	h := handler.New(handler.Config{TokenMode: handler.ModeStatic, AccessToken: token, APIBase: slow.URL,
		HTTPAPIKeys: []string{apiKey}, HTTPTimeout: timeout, Logger: slog.New(slog.DiscardHandler)})
	addr := serveLoopback(t, h)
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/getWeeklyRetain", strings.NewReader(`{"beginDate":"20170306","endDate":"20170312"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+apiKey)
	deadline := time.Now().Add(timeout)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusGatewayTimeout, resp.StatusCode)
	assert.True(t, time.Now().Before(deadline), "answered before HTTP_TIMEOUT ran out")
}

// TCB_ISANONYMOUS_USER present and not "false" is an anonymous user,
// whatever else it holds; "false" (any case) is not.
func TestAnonymousIsAnythingButFalse(t *testing.T) {
	u := newUpstream(t)
	cfg := u.config()
	cfg.AdminUIDs = []string{"u-admin"}
	logs := &evidence{}
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	h := handler.New(cfg)
	for value, anonymous := range map[string]bool{"true": true, "1": true, "": true, "TRUE": true, "yes": true,
		"false": false, "FALSE": false, "False": false} {
		res := invoke(t, h, withIdentity(map[string]string{"TCB_CONTEXT_KEYS": "TCB_UUID,TCB_ISANONYMOUS_USER",
			"TCB_UUID": "u-admin", "TCB_ISANONYMOUS_USER": value}), `{"action":"getDailyRetain","beginDate":"20170313","endDate":"20170313"}`)
		if anonymous {
			assert.Equal(t, json.Number("-601004"), res["errCode"], "%q", value)
			assert.Contains(t, res["errMsg"], "anonymous users may not read analytics", "%q", value)
		} else {
			assert.NotContains(t, res["errMsg"], "anonymous", "%q: the web user u-admin", value)
		}
	}
}

// pastDeadline is a context whose deadline has passed but whose timer has
// not fired yet: Err is still nil.
type pastDeadline struct{ context.Context }

func (pastDeadline) Deadline() (time.Time, bool) { return time.Now().Add(-time.Millisecond), true }

// An item is not started once the deadline has passed, even before the
// context's timer fires.
func TestItemNotStartedPastTheDeadline(t *testing.T) {
	u := newUpstream(t)
	h := handler.New(u.config())
	res := invoke(t, h, pastDeadline{context.Background()},
		`{"action":"series","method":"getDailyRetain","beginDate":"20170313","endDate":"20170314"}`)
	require.Equal(t, json.Number("0"), res["errCode"], "%v", res)
	for _, r := range res["results"].([]any) {
		assert.Contains(t, r.(map[string]any)["errMsg"], "not started before the deadline")
	}
	assert.Zero(t, u.calls.Load())
}
