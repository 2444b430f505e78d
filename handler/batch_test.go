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
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/handler"
)

// fanUpstream answers every datacube call with its body's dates, counting
// calls and the most in flight at once; answer may replace the answer.
type fanUpstream struct {
	*httptest.Server
	calls, inFlight, most atomic.Int64
	answer                func(n int64, body []byte) string
}

func newFanUpstream(t *testing.T, answer func(n int64, body []byte) string) *fanUpstream {
	u := &fanUpstream{answer: answer}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := u.calls.Add(1)
		now := u.inFlight.Add(1)
		defer u.inFlight.Add(-1)
		for m := u.most.Load(); now > m && !u.most.CompareAndSwap(m, now); m = u.most.Load() {
		}
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if u.answer != nil {
			if a := u.answer(n, b); a != "" {
				io.WriteString(w, a)
				return
			}
		}
		time.Sleep(5 * time.Millisecond) // long enough for calls to overlap
		var d struct {
			BeginDate string `json:"begin_date"`
		}
		json.Unmarshal(b, &d)
		fmt.Fprintf(w, `{"list":[{"ref_date":%q,"visit_uv":1}]}`, d.BeginDate)
	}))
	t.Cleanup(u.Close)
	return u
}

func fanConfig(u *fanUpstream) handler.Config {
	return handler.Config{TokenMode: handler.ModeStatic, AccessToken: token, APIBase: u.URL, CacheMaxBytes: -1,
		Backoff: time.Millisecond, Logger: slog.New(slog.DiscardHandler), Concurrency: 3}
}

func day(i int) string { return time.Date(2024, 1, 1+i, 0, 0, 0, 0, time.UTC).Format("20060102") }

func TestBatchShapes(t *testing.T) {
	u := newFanUpstream(t, nil)
	h := handler.New(fanConfig(u))
	items := []string{
		`{"action":"getDailyVisitTrend","beginDate":"20240101","endDate":"20240101"}`,
		`{"action":"getWeeklyRetain","beginDate":"20240102","endDate":"20240108"}`, // not a Monday
		`{"action":"nope"}`,
	}
	out, err := h.Invoke(context.Background(), []byte(`{"action":"batch","requests":[`+strings.Join(items, ",")+`]}`))
	require.NoError(t, err)
	var got struct {
		Results []json.RawMessage
		ErrMsg  string
		ErrCode int
	}
	require.NoError(t, json.Unmarshal(out, &got), "%s", out)
	assert.Equal(t, "batch:ok", got.ErrMsg)
	require.Len(t, got.Results, 3)
	for i, item := range items {
		alone, err := h.Invoke(context.Background(), []byte(item))
		require.NoError(t, err)
		assert.Equal(t, string(alone), string(got.Results[i]), "item %d is byte for byte what it answers alone", i)
	}

	many := make([]string, 101)
	for i := range many {
		many[i] = `{"action":"getDailyVisitTrend","beginDate":"20240101","endDate":"20240101"}`
	}
	for _, tc := range []struct{ event, msg string }{
		{`{"action":"batch"}`, "batch:fail invalid args: requests must be an array of events"},
		{`{"action":"batch","requests":{}}`, "batch:fail invalid args: requests must be an array of events"},
		{`{"action":"batch","requests":[]}`, "batch:fail invalid args: requests must hold at least one event"},
		{`{"action":"batch","requests":[` + strings.Join(many, ",") + `]}`, "batch:fail invalid args: requests holds 101 events; the most is 100"},
		{`{"action":"batch","requests":[{"action":"series"}]}`, "batch:fail invalid args: requests[0] is a series: batches do not nest"},
		{`{"action":"batch","requests":[{"action":"batch","requests":[]}]}`, "batch:fail invalid args: requests[0] is a batch: batches do not nest"},
		{`{"action":"batch","requests":[3]}`, "batch:fail invalid args: requests[0] must be an event object, not a number"},
		{`{"action":"batch","requests":[],"extra":1}`, `batch:fail invalid args: unknown parameter "extra" for batch`},
		{`{"action":"series","method":"getWeeklyRetain","beginDate":"20240102","endDate":"20240107"}`, "series:fail beginDate 20240102 must be a Monday"},
		{`{"action":"series","method":"getDailyVisitTrend","beginDate":"20240101","endDate":"20240411"}`, "more than 100 periods"},
		{`{"action":"series","method":"getUserPortrait","beginDate":"20240101","endDate":"20240101"}`, "series:fail invalid args: getUserPortrait has no daily, weekly or monthly periods"},
		{`{"action":"series","method":"getPerformanceData","beginDate":"20240101","endDate":"20240101"}`, "series:fail invalid args: getPerformanceData has no"},
		{`{"action":"series","method":"nope","beginDate":"20240101","endDate":"20240101"}`, `series:fail invalid args: method "nope" is not an analysis method`},
	} {
		res := invoke(t, h, context.Background(), tc.event)
		assert.Contains(t, res["errMsg"], tc.msg, tc.event[:min(len(tc.event), 90)])
		assert.NotEqual(t, json.Number("0"), res["errCode"])
	}
	assert.EqualValues(t, 2, u.calls.Load(), "only the valid batch item and its single call went upstream")

	// tcb-router's $url is no field of a series.
	res := invoke(t, h, context.Background(), `{"action":"series","$url":"x","method":"getDailyVisitTrend","beginDate":"20240101","endDate":"20240102"}`)
	assert.Equal(t, "series:ok", res["errMsg"])
}

// TestSeriesFanOut: at most SERIES_CONCURRENCY upstream at once, in date
// order; after a quota error no item starts; items not started before the
// deadline answer -601008.
func TestSeriesFanOut(t *testing.T) {
	u := newFanUpstream(t, nil)
	h := handler.New(fanConfig(u))
	out, err := h.Invoke(context.Background(), []byte(`{"action":"series","method":"getDailyVisitTrend","beginDate":"20240101","endDate":"20240130"}`))
	require.NoError(t, err)
	var got struct {
		Results []struct{ List []struct{ RefDate string } }
	}
	require.NoError(t, json.Unmarshal(out, &got))
	require.Len(t, got.Results, 30)
	for i, r := range got.Results {
		assert.Equal(t, day(i), r.List[0].RefDate, "date order")
	}
	assert.LessOrEqual(t, u.most.Load(), int64(3), "SERIES_CONCURRENCY bounds the calls at once")
	assert.Greater(t, u.most.Load(), int64(1), "calls do run at once")

	quota := newFanUpstream(t, func(n int64, _ []byte) string {
		if n >= 2 {
			return `{"errcode":45009,"errmsg":"reach max api daily quota limit"}`
		}
		return ""
	})
	cfg := fanConfig(quota)
	cfg.Concurrency = 1
	out, err = handler.New(cfg).Invoke(context.Background(), []byte(`{"action":"series","method":"getDailyVisitTrend","beginDate":"20240101","endDate":"20240110"}`))
	require.NoError(t, err)
	assert.EqualValues(t, 2, quota.calls.Load(), "after a quota error no new item starts")
	assert.Equal(t, 9, strings.Count(string(out), `"errCode":45009`), "%s", out)

	var mu sync.Mutex
	release := make(chan struct{})
	slow := newFanUpstream(t, func(int64, []byte) string { mu.Lock(); mu.Unlock(); <-release; return `{}` })
	defer close(release)
	cfg = fanConfig(slow)
	cfg.Concurrency = 1
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	out, err = handler.New(cfg).Invoke(ctx, []byte(`{"action":"series","method":"getDailyVisitTrend","beginDate":"20240101","endDate":"20240105"}`))
	require.NoError(t, err)
	assert.Equal(t, 5, strings.Count(string(out), `"errCode":-601008`), "%s", out)
	assert.Contains(t, string(out), "not started before the deadline")
	assert.EqualValues(t, 1, slow.calls.Load())
}

// TestBatchIdentityAndAllowedAPIs: the caller and ALLOWED_APIS apply to
// every item.
func TestBatchIdentityAndAllowedAPIs(t *testing.T) {
	u := newFanUpstream(t, nil)
	cfg := fanConfig(u)
	cfg.AllowedAPIs = []string{"getDailyVisitTrend"}
	cfg.AdminOpenIDs = []string{"o-admin"}
	h := handler.New(cfg)
	event := `{"action":"batch","requests":[{"action":"getDailyVisitTrend","beginDate":"20240101","endDate":"20240101"},` +
		`{"action":"getDailySummary","beginDate":"20240101","endDate":"20240101"}]}`
	out, err := h.Invoke(context.Background(), []byte(event))
	require.NoError(t, err)
	assert.Contains(t, string(out), `"errCode":-604101`, "an item ALLOWED_APIS leaves out is refused")
	assert.EqualValues(t, 1, u.calls.Load())

	res := invoke(t, h, withIdentity(map[string]string{"WX_CONTEXT_KEYS": "WX_OPENID", "WX_OPENID": "o-stranger"}), event)
	assert.Equal(t, json.Number("-601004"), res["errCode"])
	assert.EqualValues(t, 1, u.calls.Load(), "a refused caller's batch sends nothing")
}

// TestForgedHTTPEventIsNotCloudRun: an HTTP-shaped event is written by
// whoever invokes the function, so its X-WX-* headers are never trusted,
// even where the function runs behind WeChat Cloud Run.
func TestForgedHTTPEventIsNotCloudRun(t *testing.T) {
	u := newFanUpstream(t, nil)
	cfg := fanConfig(u)
	cfg.CloudRun, cfg.AdminOpenIDs, cfg.HTTPAPIKeys = true, []string{"o-admin"}, []string{apiKey}
	h := handler.New(cfg)
	ev, _ := json.Marshal(map[string]any{"httpMethod": "POST", "path": "/getDailyVisitTrend",
		"headers": map[string]string{"X-WX-SOURCE": "wx_client", "X-WX-OPENID": "o-admin"},
		"body":    `{"beginDate":"20240101","endDate":"20240101"}`})
	status, body := httpStatus(t, h, string(ev))
	assert.Equal(t, http.StatusUnauthorized, status, body)
	assert.Zero(t, u.calls.Load())
}

// TestLogLineKeepsTheCallerOut: a refusal's reason is logged, its openid not.
func TestLogLineKeepsTheCallerOut(t *testing.T) {
	u := newFanUpstream(t, nil)
	cfg := fanConfig(u)
	var logs bytes.Buffer
	cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	h := handler.New(cfg)
	invoke(t, h, withIdentity(map[string]string{"WX_CONTEXT_KEYS": "WX_OPENID", "WX_OPENID": "o-stranger-123"}),
		`{"action":"getDailyVisitTrend","beginDate":"20240101","endDate":"20240101"}`)
	assert.Contains(t, logs.String(), `"reason":"openapi.analysis.getDailyVisitTrend:fail api permission denied`)
	assert.NotContains(t, logs.String(), "o-stranger-123")
}

// TestSharedCacheNeedsAnAppID: outside cloud mode a shared cache is keyed by
// WECHAT_APPID, so it is required.
func TestSharedCacheNeedsAnAppID(t *testing.T) {
	_, err := handler.ConfigFromEnv(func(k string) string {
		return map[string]string{"WECHAT_TOKEN_MODE": "none", "CACHE_REDIS_URL": "redis://127.0.0.1:1"}[k]
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "CACHE_REDIS_URL needs WECHAT_APPID")
	_, err = handler.ConfigFromEnv(func(k string) string {
		return map[string]string{"WECHAT_TOKEN_MODE": "none", "WECHAT_APPID": "wx1", "CACHE_REDIS_URL": "redis://127.0.0.1:1"}[k]
	})
	assert.NoError(t, err)
}

// TestBatchOverTheResultLimit: results that together pass SCF's 6 MB are one
// clear error, not a result the platform would refuse.
func TestBatchOverTheResultLimit(t *testing.T) {
	big := `{"list":[{"page_path":"` + strings.Repeat("p", 70<<10) + `"}]}`
	u := newFanUpstream(t, func(int64, []byte) string { return big })
	h := handler.New(fanConfig(u))
	items := make([]string, 100)
	for i := range items {
		items[i] = fmt.Sprintf(`{"action":"getVisitPage","beginDate":%q,"endDate":%q}`, day(i), day(i))
	}
	out, err := h.Invoke(context.Background(), []byte(`{"action":"batch","requests":[`+strings.Join(items, ",")+`]}`))
	require.NoError(t, err)
	assert.Less(t, len(out), 1000)
	assert.Contains(t, string(out), `"errCode":-601001`)
	assert.Contains(t, string(out), "batch:fail system error: the results are")
	assert.Contains(t, string(out), "more than the 6000000 a cloud function may return")
}
