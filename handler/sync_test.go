package handler_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tencentyun/scf-go-lib/functioncontext"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/handler"
	"github.com/wxanalysis/wxanalysis/openapi"
	_ "github.com/wxanalysis/wxanalysis/warehouse/postgres"
	_ "github.com/wxanalysis/wxanalysis/warehouse/sqlite"
)

// syncNow is the rigs' starting time: 12:00 on 2024-06-15, China Standard
// Time. With SYNC_SINCE 20240501 a sync has 45 days of five daily methods,
// 5 weeks of two weekly ones, May of two monthly ones and 3 portraits.
var syncNow = time.Date(2024, 6, 15, 12, 0, 0, 0, openapi.CST)

const (
	syncSince = "20240501"
	syncJobs  = 45*5 + 5*2 + 1*2 + 3
)

// syncRig is an emulator and a database file, with one clock for both.
type syncRig struct {
	t     *testing.T
	emu   *emulator.Emulator
	srv   *httptest.Server
	db    string
	clock atomic.Int64 // Unix nanoseconds
	calls atomic.Int64 // analysis requests that reached the emulator
	block func(r *http.Request) bool
}

func newSyncRig(t *testing.T, cfg emulator.Config) *syncRig {
	r := &syncRig{t: t, db: "sqlite:" + filepath.Join(t.TempDir(), "w.db")}
	r.clock.Store(syncNow.UnixNano())
	cfg.Now = r.now
	cfg.Logger = slog.New(slog.DiscardHandler)
	r.emu = emulator.New(cfg)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/datacube/") {
			r.calls.Add(1)
		}
		r.emu.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *syncRig) now() time.Time { return time.Unix(0, r.clock.Load()) }

func (r *syncRig) advance(d time.Duration) { r.clock.Add(int64(d)) }

// handler is a fresh instance: its own token and answer caches.
func (r *syncRig) handler(extra func(*handler.Config)) *handler.Handler {
	cfg := handler.Config{AppID: emulator.DefaultAppID, AppSecret: emulator.DefaultSecret, APIBase: r.srv.URL,
		Backoff: time.Millisecond, Now: r.now, DatabaseURL: r.db, SyncSince: syncSince,
		Logger: slog.New(slog.DiscardHandler)}
	if extra != nil {
		extra(&cfg)
	}
	h := handler.New(cfg)
	return h
}

// runSync invokes h with event and decodes its answer, which must be
// exactly a handler.SyncResult: no member it does not declare.
func runSync(t *testing.T, h *handler.Handler, ctx context.Context, event string) handler.SyncResult {
	t.Helper()
	out, err := h.Invoke(ctx, []byte(event))
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	var res handler.SyncResult
	require.NoError(t, dec.Decode(&res), "%s", out)
	return res
}

func (r *syncRig) count(table string) int {
	db, err := sql.Open("sqlite", strings.TrimPrefix(r.db, "sqlite:"))
	require.NoError(r.t, err)
	defer db.Close()
	var n int
	require.NoError(r.t, db.QueryRow("SELECT COUNT(*) FROM "+table).Scan(&n))
	return n
}

func TestSyncFillsServesAndResumes(t *testing.T) {
	r := newSyncRig(t, emulator.Config{})
	h := r.handler(nil)
	ctx := context.Background()
	first := runSync(t, h, ctx, `{"action":"sync"}`)
	assert.Equal(t, handler.SyncResult{ErrMsg: "sync:ok", AppID: emulator.DefaultAppID,
		SyncCounts: handler.SyncCounts{Fetched: syncJobs, Stored: syncJobs, Final: first.Final}, Errors: []string{}}, first)
	// Final at 2024-06-15: four daily methods to 06-12, daily retention to
	// 05-13, weekly trends to 06-09, weekly retention to 05-12, May's trend;
	// no retained month yet.
	assert.Equal(t, 43*4+13+5+1+1, first.Final)
	assert.Equal(t, int64(syncJobs), r.calls.Load())
	assert.Equal(t, syncJobs, r.count("wxa_raw_answer"))
	for _, table := range []string{"wxa_visit_trend", "wxa_daily_summary", "wxa_retain", "wxa_visit_distribution", "wxa_visit_page", "wxa_user_portrait"} {
		assert.NotZero(t, r.count(table), table)
	}

	r.advance(time.Minute)
	second := runSync(t, r.handler(nil), ctx, `{"action":"sync"}`)
	nonFinal := syncJobs - first.Final
	assert.Equal(t, nonFinal, second.Fetched, "only what can still change")
	assert.Equal(t, first.Final, second.Skipped)
	assert.Equal(t, int64(syncJobs+nonFinal), r.calls.Load())
	assert.Equal(t, syncJobs, r.count("wxa_raw_answer"), "idempotent: no period twice")

	// A fresh instance serves a final period from the database: no call.
	upstream := handler.New(handler.Config{AppID: emulator.DefaultAppID, AppSecret: emulator.DefaultSecret,
		APIBase: r.srv.URL, Now: r.now, CacheMaxBytes: -1, Logger: slog.New(slog.DiscardHandler)})
	for _, ev := range []string{
		`{"action":"getDailyVisitTrend","beginDate":"20240520","endDate":"20240520"}`,
		`{"action":"getWeeklyRetain","beginDate":"20240506","endDate":"20240512"}`,
		`{"action":"getVisitPage","beginDate":"20240601","endDate":"20240601"}`,
	} {
		want, err := upstream.Invoke(ctx, []byte(ev))
		require.NoError(t, err)
		before, tokens := r.calls.Load(), r.emu.Requests("/cgi-bin/stable_token")
		got, err := r.handler(nil).Invoke(ctx, []byte(ev))
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), ev)
		assert.Equal(t, before, r.calls.Load(), "served from the database: %s", ev)
		assert.Equal(t, tokens, r.emu.Requests("/cgi-bin/stable_token"), "no token fetched: %s", ev)
	}
	// A series too, item by item; a period not yet final goes upstream.
	before := r.calls.Load()
	_, err := r.handler(nil).Invoke(ctx, []byte(`{"action":"series","method":"getDailySummary","beginDate":"20240601","endDate":"20240614"}`))
	require.NoError(t, err)
	assert.Equal(t, int64(2), r.calls.Load()-before, "06-13 and 06-14 are not final")
}

func TestSyncPendingThenStored(t *testing.T) {
	// Yesterday's data is not out until 20:00: 61503 before.
	r := newSyncRig(t, emulator.Config{DataDelay: 20 * time.Hour})
	first := runSync(t, r.handler(nil), context.Background(), `{"action":"sync"}`)
	assert.Equal(t, 0, first.ErrCode)
	assert.Equal(t, 5+3, first.Pending, "five daily methods and three portraits end yesterday")
	assert.Equal(t, syncJobs-8, first.Stored)
	require.NotEmpty(t, first.Errors)
	assert.Contains(t, first.Errors[0], "61503")

	r.advance(10 * time.Hour)
	second := runSync(t, r.handler(nil), context.Background(), `{"action":"sync"}`)
	assert.Equal(t, 0, second.Pending)
	assert.Equal(t, syncJobs, r.count("wxa_raw_answer"))
}

func TestSyncEmptyDayAfterIsPending(t *testing.T) {
	r := newSyncRig(t, emulator.Config{})
	r.srv.Config.Handler = emptyYesterday(r.srv.Config.Handler)
	res := runSync(t, r.handler(nil), context.Background(), `{"action":"sync"}`)
	assert.Equal(t, 1, res.Pending, "%+v", res)
	assert.Contains(t, strings.Join(res.Errors, ";"), "empty answer on the day after")
	assert.Equal(t, syncJobs-1, r.count("wxa_raw_answer"))
}

// emptyYesterday answers getDailySummary for 20240614 with an empty list.
func emptyYesterday(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/datacube/getweanalysisappiddailysummarytrend" {
			var b strings.Builder
			buf := make([]byte, 512)
			n, _ := req.Body.Read(buf)
			b.Write(buf[:n])
			if strings.Contains(b.String(), "20240614") {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"list":[]}`))
				return
			}
			req.Body = readCloser{strings.NewReader(b.String()), req.Body}
		}
		next.ServeHTTP(w, req)
	})
}

type readCloser struct {
	*strings.Reader
	c interface{ Close() error }
}

func (r readCloser) Close() error { return r.c.Close() }

func TestSyncQuotaStopsThenResumes(t *testing.T) {
	r := newSyncRig(t, emulator.Config{Faults: []emulator.Fault{{Kind: emulator.QuotaAfter, N: 30}}})
	h := r.handler(func(c *handler.Config) { c.Concurrency = 2 })
	res := runSync(t, h, context.Background(), `{"action":"sync"}`)
	assert.Equal(t, 0, res.ErrCode, "a clean stop")
	assert.Equal(t, "quota", res.Stopped)
	assert.LessOrEqual(t, res.Stored, 30)
	assert.Positive(t, res.Remaining)
	assert.Equal(t, syncJobs, res.Stored+res.Remaining+res.Pending, "%+v", res)
	assert.LessOrEqual(t, r.calls.Load(), int64(30+2), "no new period after the quota")

	resp, err := http.Post(r.srv.URL+"/wxemu/faults", "text/plain", strings.NewReader(""))
	require.NoError(t, err)
	resp.Body.Close()
	r.advance(time.Minute)
	next := runSync(t, r.handler(nil), context.Background(), `{"action":"sync"}`)
	assert.Empty(t, next.Stopped)
	assert.Equal(t, syncJobs, r.count("wxa_raw_answer"), "the next run completes")
}

func TestSyncMiniGameStops(t *testing.T) {
	r := newSyncRig(t, emulator.Config{Game: true})
	res := runSync(t, r.handler(func(c *handler.Config) { c.Concurrency = 1 }), context.Background(), `{"action":"sync"}`)
	assert.Equal(t, 61502, res.ErrCode)
	assert.Contains(t, res.ErrMsg, "sync:fail this AppID is a mini game")
	assert.Equal(t, 1, res.Fetched)
	assert.Equal(t, 0, res.Stored)
}

func TestSyncDeadlineKeepsProgress(t *testing.T) {
	r := newSyncRig(t, emulator.Config{Latency: 20 * time.Millisecond})
	h := r.handler(func(c *handler.Config) { c.Concurrency = 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	res := runSync(t, h, ctx, `{"action":"sync"}`)
	assert.Equal(t, 0, res.ErrCode)
	assert.Equal(t, "deadline", res.Stopped)
	assert.Positive(t, res.Stored)
	assert.Positive(t, res.Remaining)
	assert.Equal(t, res.Stored, r.count("wxa_raw_answer"), "what it stored is kept")

	r.advance(time.Minute)
	next := runSync(t, r.handler(nil), context.Background(), `{"action":"sync"}`)
	assert.Equal(t, syncJobs, r.count("wxa_raw_answer"))
	assert.Equal(t, 0, next.Remaining)
}

func TestSyncTwoAtOnce(t *testing.T) {
	r := newSyncRig(t, emulator.Config{Latency: 2 * time.Millisecond})
	var wg sync.WaitGroup
	results := make([]handler.SyncResult, 2)
	for i := range results {
		wg.Go(func() { results[i] = runSync(t, r.handler(nil), context.Background(), `{"action":"sync"}`) })
	}
	wg.Wait()
	assert.Equal(t, syncJobs, results[0].Stored+results[1].Stored, "%+v", results)
	assert.Equal(t, int64(syncJobs), r.calls.Load(), "no period fetched twice")
	assert.Equal(t, syncJobs, r.count("wxa_raw_answer"))
}

func TestSyncWho(t *testing.T) {
	r := newSyncRig(t, emulator.Config{})
	h := r.handler(func(c *handler.Config) { c.AdminOpenIDs = []string{"o-admin"} })
	admin := functioncontext.NewContext(context.Background(), &functioncontext.FunctionContext{Environment: map[string]string{
		"WX_CONTEXT_KEYS": "WX_OPENID,WX_APPID", "WX_OPENID": "o-admin", "WX_APPID": "wx1"}})
	res := runSync(t, h, admin, `{"action":"sync"}`)
	assert.Equal(t, openapi.CodePermission, res.ErrCode)
	assert.Contains(t, res.ErrMsg, "only the account owner may sync")
	assert.Zero(t, r.calls.Load())

	timer := runSync(t, h, context.Background(), `{"Type":"Timer","TriggerName":"daily-sync","Time":"2024-06-15T03:30:00Z","Message":""}`)
	assert.Equal(t, syncJobs, timer.Stored, "a timer's event runs the sync")

	bad := runSync(t, h, context.Background(), `{"action":"sync","since":"20240101"}`)
	assert.Equal(t, openapi.CodeInvalidArgs, bad.ErrCode)
	assert.Contains(t, bad.ErrMsg, `unknown parameter "since" for sync`)

	none := runSync(t, r.handler(func(c *handler.Config) { c.DatabaseURL = "" }), context.Background(), `{"action":"sync"}`)
	assert.Equal(t, openapi.CodeConfig, none.ErrCode)
	assert.Contains(t, none.ErrMsg, "DATABASE_URL is not set")
}

func TestSyncDatabaseDownAtStart(t *testing.T) {
	r := newSyncRig(t, emulator.Config{})
	const pw = "Secret-Pa55"
	h := r.handler(func(c *handler.Config) { c.DatabaseURL = "postgres://u:" + pw + "@127.0.0.1:1/db?sslmode=disable" })
	out, err := h.Invoke(context.Background(), []byte(`{"action":"sync"}`))
	require.NoError(t, err)
	assert.Contains(t, string(out), "DATABASE_URL does not answer")
	assert.Contains(t, string(out), "nothing was fetched")
	assert.NotContains(t, string(out), pw)
	assert.Zero(t, r.calls.Load())
}

// TestSyncCloudTimer: in cloud mode a timer's sync makes cloud calls with the
// timer's own token and keys its rows by WECHAT_APPID; a Mini Program's
// invocation naming another AppID in WX_APPID is never answered from them.
func TestSyncCloudTimer(t *testing.T) {
	r := newSyncRig(t, emulator.Config{})
	r.clock.Store(time.Now().UnixNano())
	since := openapi.Today(time.Now()).AddDate(0, 0, -8).Format(openapi.DateLayout)
	cloudProcessEnv := func(k string) (string, bool) { v, ok := cloudProcess[k]; return v, ok }
	h := handler.New(handler.Config{TokenMode: handler.ModeCloud, AppID: emulator.DefaultAppID, DatabaseURL: r.db,
		SyncSince: since, LookupEnv: cloudProcessEnv, Now: r.now, Logger: slog.New(slog.DiscardHandler)})
	gateway := `{"URL":"` + r.srv.URL + `/admin"}`
	timer := functioncontext.NewContext(context.Background(), &functioncontext.FunctionContext{Environment: map[string]string{
		"TRIGGER_SRC": "timer", "WX_TRIGGER_API_TOKEN_V0": emulator.DefaultTimerToken, "TCB_CONTEXT_CNFG": gateway}})
	res := runSync(t, h, timer, `{"Type":"Timer","TriggerName":"daily-sync","Time":"2026-01-01T03:30:00Z","Message":"sync"}`)
	require.Equal(t, 0, res.ErrCode, "%+v", res)
	assert.Equal(t, emulator.DefaultAppID, res.AppID)
	assert.Positive(t, res.Stored)
	assert.Equal(t, res.Fetched, r.emu.Requests("/admin"), "cloud calls through the gateway")

	day := openapi.Today(time.Now()).AddDate(0, 0, -5).Format(openapi.DateLayout)
	ev := `{"action":"getDailySummary","beginDate":"` + day + `","endDate":"` + day + `"}`
	own := functioncontext.NewContext(context.Background(), &functioncontext.FunctionContext{Environment: map[string]string{
		"WX_CONTEXT_KEYS": "WX_API_TOKEN,WX_APPID", "WX_API_TOKEN": emulator.DefaultCloudToken, "WX_APPID": emulator.DefaultAppID,
		"TCB_CONTEXT_CNFG": gateway}})
	before := r.emu.Requests("/admin")
	_, err := h.Invoke(own, []byte(ev))
	require.NoError(t, err)
	assert.Equal(t, before, r.emu.Requests("/admin"), "its own AppID's final period: from the database")

	other := functioncontext.NewContext(context.Background(), &functioncontext.FunctionContext{Environment: map[string]string{
		"WX_CONTEXT_KEYS": "WX_API_TOKEN,WX_APPID", "WX_API_TOKEN": emulator.DefaultCloudToken, "WX_APPID": "wx0000000000other",
		"TCB_CONTEXT_CNFG": gateway}})
	_, err = h.Invoke(other, []byte(ev))
	require.NoError(t, err)
	assert.Equal(t, before+1, r.emu.Requests("/admin"), "another AppID's call is never answered from these rows")
}

// TestSyncUpstreamFaultsPending: periods whose calls fail (HTTP 502 through
// all 3 requests of each) are pending, never lost: the others are stored,
// and the next run stores them.
func TestSyncUpstreamFaultsPending(t *testing.T) {
	fs, err := emulator.ParseFaults("status=502*9")
	require.NoError(t, err)
	r := newSyncRig(t, emulator.Config{Faults: fs})
	res := runSync(t, r.handler(func(c *handler.Config) { c.Concurrency = 1 }), context.Background(), `{"action":"sync"}`)
	assert.Equal(t, 0, res.ErrCode)
	assert.Equal(t, 3, res.Pending, "%+v", res)
	assert.Equal(t, syncJobs-3, res.Stored)
	assert.Len(t, res.Errors, 3)
	assert.Equal(t, syncJobs+6, res.Fetched, "each failing period tried 3 times")
	r.advance(time.Minute)
	next := runSync(t, r.handler(nil), context.Background(), `{"action":"sync"}`)
	assert.Zero(t, next.Pending, "%+v", next)
	assert.Equal(t, syncJobs, r.count("wxa_raw_answer"))
}

// TestServingNeverWaitsOnASyncsOpen: while a sync waits to open a database
// that accepts connections and never answers, a single call is answered
// from upstream within its own lookup budget, not held behind the sync.
func TestServingNeverWaitsOnASyncsOpen(t *testing.T) {
	r := newSyncRig(t, emulator.Config{})
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	hangUp := func() {
		silent.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}
	t.Cleanup(hangUp)
	h := r.handler(func(c *handler.Config) {
		c.DatabaseURL = "postgres://u:p@" + silent.Addr().String() + "/db?sslmode=disable"
	})
	syncCtx, stopSync := context.WithCancel(context.Background())
	syncDone := make(chan struct{})
	go func() {
		defer close(syncDone)
		_, _ = h.Invoke(syncCtx, []byte(`{"action":"sync"}`))
	}()
	t.Cleanup(func() {
		stopSync()
		hangUp() // a driver may not watch the context while it dials
		select {
		case <-syncDone:
		case <-time.After(20 * time.Second):
			t.Error("the sync did not end once cancelled")
		}
	})
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(conns) > 0
	}, 10*time.Second, 5*time.Millisecond, "the sync is opening the database")

	answered := make(chan []byte, 1)
	go func() {
		out, _ := h.Invoke(context.Background(), []byte(`{"action":"getDailySummary","beginDate":"20240510","endDate":"20240510"}`))
		answered <- out
	}()
	select {
	case out := <-answered:
		assert.Contains(t, string(out), `"errCode":0`)
	case <-time.After(20 * time.Second):
		t.Fatal("a single call waited on the sync's open of the database")
	}
}

// TestSyncQuotesAtMostFiveErrors: seven failing periods are all pending,
// and the answer quotes five of their errors.
func TestSyncQuotesAtMostFiveErrors(t *testing.T) {
	fs, err := emulator.ParseFaults("status=502*21") // 7 periods, each tried 3 times
	require.NoError(t, err)
	r := newSyncRig(t, emulator.Config{Faults: fs})
	res := runSync(t, r.handler(func(c *handler.Config) { c.Concurrency = 1 }), context.Background(), `{"action":"sync"}`)
	assert.Equal(t, 0, res.ErrCode)
	assert.Equal(t, 7, res.Pending, "%+v", res)
	assert.Len(t, res.Errors, 5)
}
