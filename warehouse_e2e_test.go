package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/handler"
	"github.com/wxanalysis/wxanalysis/internal/mysqltest"
	"github.com/wxanalysis/wxanalysis/internal/pgtest"
	"github.com/wxanalysis/wxanalysis/internal/scf"
	"github.com/wxanalysis/wxanalysis/openapi"
	"github.com/wxanalysis/wxanalysis/warehouse"
	_ "github.com/wxanalysis/wxanalysis/warehouse/mysql"
	_ "github.com/wxanalysis/wxanalysis/warehouse/postgres"
	_ "github.com/wxanalysis/wxanalysis/warehouse/sqlite"
)

var localBuild struct {
	once sync.Once
	bin  string
	err  error
}

// buildLocal builds the local function, `go build -tags sqlite`: the
// deployed one plus SQLite, as make sync does.
func buildLocal(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	localBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "wxanalysis-local")
		if err != nil {
			localBuild.err = err
			return
		}
		localBuild.bin = filepath.Join(dir, "wxlocal")
		cmd := exec.Command("go", "build", "-tags", "sqlite", "-trimpath", "-o", localBuild.bin, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			localBuild.err = fmt.Errorf("go build -tags sqlite: %v\n%s", err, out)
		}
	})
	require.NoError(t, localBuild.err)
	return localBuild.bin
}

// store is one of the three databases, through the binary that speaks it.
type store struct {
	name  string
	url   string
	bin   string
	crash func()
	start func()
}

// stores starts a PostgreSQL and a MariaDB; SQLite is a file, through the
// local build.
func stores(t *testing.T) []store {
	pg := pgtest.Start(t)
	my := mysqltest.Start(t)
	deployed := buildFunction(t, runtime.GOOS, runtime.GOARCH)
	return []store{
		{"postgres", pg.NewDatabase(t), deployed, pg.Crash, pg.Restart},
		{"mysql", my.NewDatabase(t), deployed, my.Crash, my.Restart},
		{"sqlite", "sqlite:" + filepath.Join(t.TempDir(), "w.db"), buildLocal(t), nil, nil},
	}
}

// upstreamRig is the emulator behind a counter of analysis calls, and a
// switch that answers 61503 for yesterday's periods.
type upstreamRig struct {
	emu      *emulator.Emulator
	srv      *httptest.Server
	calls    atomic.Int64
	notReady atomic.Bool
}

func newUpstream(t *testing.T, cfg emulator.Config) *upstreamRig {
	u := &upstreamRig{emu: emulator.New(cfg)}
	yesterday := []byte(openapi.Today(time.Now()).AddDate(0, 0, -1).Format(openapi.DateLayout))
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/datacube/") {
			u.calls.Add(1)
			if u.notReady.Load() {
				var buf bytes.Buffer
				buf.ReadFrom(r.Body)
				if bytes.Contains(buf.Bytes(), []byte(`"end_date":"`+string(yesterday)+`"`)) {
					w.Header().Set("Content-Type", "application/json")
					fmt.Fprint(w, `{"errcode":61503,"errmsg":"data not ready, please try later rid: 1-2-3"}`)
					return
				}
				r.Body = io.NopCloser(&buf)
			}
		}
		u.emu.ServeHTTP(w, r)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

// syncSinceDays is how far back the binary tests sync: 45 days.
const syncSinceDays = 45

func since() string {
	return openapi.Today(time.Now()).AddDate(0, 0, -syncSinceDays).Format(openapi.DateLayout)
}

func startWith(t *testing.T, bin string, out *syncBuffer, env ...string) *scf.Process {
	t.Helper()
	p, err := scf.StartTo(out, bin, env, 10*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

func functionEnv(u *upstreamRig, url string, extra ...string) []string {
	return append([]string{"WECHAT_APPID=" + emulator.DefaultAppID, "WECHAT_APPSECRET=" + emulator.DefaultSecret,
		"WECHAT_API_BASE=" + u.srv.URL, "DATABASE_URL=" + url, "SYNC_SINCE=" + since()}, extra...)
}

func invokeSync(t *testing.T, p *scf.Process, timeout time.Duration) (handler.SyncResult, string) {
	t.Helper()
	inv := invocation
	inv.Timeout = timeout
	out, err := p.Invoke([]byte(`{"action":"sync"}`), inv)
	require.NoError(t, err)
	var a handler.SyncResult
	require.NoError(t, json.Unmarshal(out, &a), "%s", out)
	return a, string(out)
}

func openStore(t *testing.T, url string) *warehouse.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := warehouse.Open(ctx, url, warehouse.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// TestWarehouseThroughBinary drives the built function over SCF's RPC
// protocol against the emulator, for each store: a sync from empty fills
// every table with rows equal to the single calls' answers; a second sync
// fetches only what is not final; a fresh instance answers final periods
// from the database, with no upstream call, identical to upstream's answer.
func TestWarehouseThroughBinary(t *testing.T) {
	for _, st := range stores(t) {
		t.Run(st.name, func(t *testing.T) {
			u := newUpstream(t, emulator.Config{})
			out := &syncBuffer{}
			p := startWith(t, st.bin, out, functionEnv(u, st.url)...)
			first, raw := invokeSync(t, p, 60*time.Second)
			require.Equal(t, 0, first.ErrCode, raw)
			assert.Zero(t, first.Pending, raw)
			assert.Zero(t, first.Remaining, raw)
			assert.Equal(t, first.Stored, first.Fetched)
			assert.Equal(t, int64(first.Fetched), u.calls.Load())
			assert.Greater(t, first.Final, 0)

			db := openStore(t, st.url)
			var periods int
			require.NoError(t, db.DB().QueryRow("SELECT COUNT(*) FROM wxa_raw_answer").Scan(&periods))
			assert.Equal(t, first.Stored, periods)
			for _, table := range warehouse.Tables() {
				var n int
				require.NoError(t, db.DB().QueryRow("SELECT COUNT(*) FROM "+table).Scan(&n))
				assert.Positive(t, n, "%s is filled", table)
			}

			// The rows equal the single calls' answers, from a function
			// with no database.
			plain := startWith(t, st.bin, out, functionEnv(u, "")[:3]...)
			for _, c := range rowChecks() {
				res, err := plain.Invoke([]byte(c.event), invocation)
				require.NoError(t, err)
				want := c.expect(t, res)
				got := selectRows(t, db, c.query, c.args...)
				assert.Equal(t, want, got, c.event)
			}

			// The second sync: only what can still change.
			before := u.calls.Load()
			second, raw := invokeSync(t, p, 60*time.Second)
			require.Equal(t, 0, second.ErrCode, raw)
			assert.Equal(t, first.Stored-first.Final, second.Fetched, raw)
			assert.Equal(t, first.Final, second.Skipped, raw)
			assert.Equal(t, int64(second.Fetched), u.calls.Load()-before)

			// A fresh instance, empty caches: final periods from the database.
			fresh := startWith(t, st.bin, out, functionEnv(u, st.url)...)
			day := openapi.Today(time.Now()).AddDate(0, 0, -10).Format(openapi.DateLayout)
			monday, sunday := openapi.LatestWeek(time.Now())
			monday, sunday = monday.AddDate(0, 0, -7), sunday.AddDate(0, 0, -7)
			for _, ev := range []string{
				`{"action":"getDailyVisitTrend","beginDate":"` + day + `","endDate":"` + day + `"}`,
				`{"action":"getVisitPage","beginDate":"` + day + `","endDate":"` + day + `"}`,
				`{"action":"getVisitDistribution","beginDate":"` + day + `","endDate":"` + day + `"}`,
				`{"action":"getWeeklyVisitTrend","beginDate":"` + monday.Format(openapi.DateLayout) + `","endDate":"` + sunday.Format(openapi.DateLayout) + `"}`,
			} {
				want, err := plain.Invoke([]byte(ev), invocation)
				require.NoError(t, err)
				calls, tokens := u.calls.Load(), u.emu.Requests("/cgi-bin/stable_token")
				got, err := fresh.Invoke([]byte(ev), invocation)
				require.NoError(t, err)
				assert.Equal(t, string(want), string(got), ev)
				assert.Equal(t, calls, u.calls.Load(), "no upstream call: %s", ev)
				assert.Equal(t, tokens, u.emu.Requests("/cgi-bin/stable_token"), "no token: %s", ev)
			}
			batch := `{"action":"series","method":"getDailySummary","beginDate":"` + day + `","endDate":"` + day + `"}`
			want, err := plain.Invoke([]byte(batch), invocation)
			require.NoError(t, err)
			calls := u.calls.Load()
			got, err := fresh.Invoke([]byte(batch), invocation)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got))
			assert.Equal(t, calls, u.calls.Load(), "a series item from the database")
			for _, secret := range []string{pgtest.Password, mysqltest.Password, emulator.DefaultSecret} {
				assert.NotContains(t, out.String(), secret)
			}
		})
	}
}

// A rowCheck compares a single call's answer with the rows the sync wrote.
type rowCheck struct {
	event  string
	query  string
	args   []any
	expect func(t *testing.T, result []byte) [][]any
}

func rowChecks() []rowCheck {
	day := openapi.Today(time.Now()).AddDate(0, 0, -3).Format(openapi.DateLayout)
	iso := day[:4] + "-" + day[4:6] + "-" + day[6:]
	mon, sun := openapi.LatestWeek(time.Now())
	week := [2]string{mon.Format(openapi.DateLayout), sun.Format(openapi.DateLayout)}
	ev := func(m, b, e string) string {
		return `{"action":"` + m + `","beginDate":"` + b + `","endDate":"` + e + `"}`
	}
	list := func(t *testing.T, res []byte, path ...string) []map[string]any {
		var v any
		d := json.NewDecoder(bytes.NewReader(res))
		d.UseNumber()
		require.NoError(t, d.Decode(&v), "%s", res)
		for _, k := range path {
			v = v.(map[string]any)[k]
		}
		var out []map[string]any
		for _, e := range v.([]any) {
			out = append(out, e.(map[string]any))
		}
		return out
	}
	pick := func(rows []map[string]any, keys ...string) [][]any {
		var out [][]any
		for _, r := range rows {
			var row []any
			for _, k := range keys {
				row = append(row, norm(r[k]))
			}
			out = append(out, row)
		}
		return out
	}
	return []rowCheck{
		{ev("getDailyVisitTrend", day, day),
			"SELECT ref_date, session_cnt, visit_pv, visit_uv, visit_uv_new, stay_time_uv, stay_time_session, visit_depth FROM wxa_visit_trend WHERE granularity = 'day' AND begin_date = '" + iso + "'", nil,
			func(t *testing.T, res []byte) [][]any {
				return pick(list(t, res, "list"), "refDate", "sessionCnt", "visitPv", "visitUv", "visitUvNew", "stayTimeUv", "stayTimeSession", "visitDepth")
			}},
		{ev("getDailySummary", day, day),
			"SELECT ref_date, visit_total, share_pv, share_uv FROM wxa_daily_summary WHERE begin_date = '" + iso + "'", nil,
			func(t *testing.T, res []byte) [][]any {
				return pick(list(t, res, "list"), "refDate", "visitTotal", "sharePv", "shareUv")
			}},
		{ev("getDailyRetain", day, day),
			"SELECT key_no, value FROM wxa_retain WHERE granularity = 'day' AND cohort = 'active' AND begin_date = '" + iso + "' ORDER BY key_no", nil,
			func(t *testing.T, res []byte) [][]any { return pick(list(t, res, "visitUv"), "key", "value") }},
		{ev("getWeeklyRetain", week[0], week[1]),
			"SELECT key_no, value FROM wxa_retain WHERE granularity = 'week' AND cohort = 'new' ORDER BY begin_date DESC, key_no LIMIT 1", nil,
			func(t *testing.T, res []byte) [][]any { return pick(list(t, res, "visitUvNew"), "key", "value") }},
		{ev("getVisitPage", day, day),
			"SELECT page_path, page_visit_pv, page_visit_uv, page_staytime_pv, entrypage_pv, exitpage_pv, page_share_pv, page_share_uv FROM wxa_visit_page WHERE begin_date = '" + iso + "' ORDER BY item_no", nil,
			func(t *testing.T, res []byte) [][]any {
				return pick(list(t, res, "list"), "pagePath", "pageVisitPv", "pageVisitUv", "pageStaytimePv", "entrypagePv", "exitpagePv", "pageSharePv", "pageShareUv")
			}},
		{ev("getVisitDistribution", day, day),
			"SELECT key_no, value FROM wxa_visit_distribution WHERE index_name = 'access_source_session_cnt' AND begin_date = '" + iso + "' ORDER BY key_no", nil,
			func(t *testing.T, res []byte) [][]any {
				for _, d := range list(t, res, "list") {
					if d["index"] == "access_source_session_cnt" {
						rows := pick(toMaps(d["itemList"]), "key", "value")
						sortRows(rows)
						return rows
					}
				}
				return nil
			}},
	}
}

func toMaps(v any) []map[string]any {
	var out []map[string]any
	for _, e := range v.([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

func sortRows(rows [][]any) {
	for i := 1; i < len(rows); i++ {
		for j := i; j > 0 && rows[j][0].(float64) < rows[j-1][0].(float64); j-- {
			rows[j], rows[j-1] = rows[j-1], rows[j]
		}
	}
}

// norm makes a JSON or SQL value comparable: numbers as float64, text as string.
func norm(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case int64:
		return float64(x)
	case float64:
		return x
	case []byte:
		return normText(string(x))
	case string:
		return normText(x)
	}
	return v
}

func normText(s string) any {
	var f float64
	if _, err := fmt.Sscan(s, &f); err == nil && strings.Trim(s, "0123456789.-e") == "" {
		return f
	}
	return s
}

func selectRows(t *testing.T, s *warehouse.Store, q string, args ...any) [][]any {
	t.Helper()
	rows, err := s.DB().Query(q, args...)
	require.NoError(t, err, q)
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		for i := range vals {
			vals[i] = norm(vals[i])
		}
		out = append(out, vals)
	}
	require.NoError(t, rows.Err())
	return out
}

// whole checks that the database holds whole periods only: every raw
// answer has its typed rows (the emulator's answers are never empty), and
// no typed rows lack their raw answer.
func whole(t *testing.T, s *warehouse.Store) {
	t.Helper()
	var orphans, missing int
	for _, table := range warehouse.Tables()[1:] {
		q := "SELECT COUNT(*) FROM " + table + " t WHERE NOT EXISTS (SELECT 1 FROM wxa_raw_answer r WHERE r.appid = t.appid AND r.begin_date = t.begin_date AND r.end_date = t.end_date)"
		var n int
		require.NoError(t, s.DB().QueryRow(q).Scan(&n), q)
		orphans += n
	}
	q := `SELECT COUNT(*) FROM wxa_raw_answer r WHERE NOT EXISTS (SELECT 1 FROM wxa_visit_trend t WHERE t.appid = r.appid AND t.begin_date = r.begin_date AND t.end_date = r.end_date)
AND NOT EXISTS (SELECT 1 FROM wxa_retain t WHERE t.appid = r.appid AND t.begin_date = r.begin_date AND t.end_date = r.end_date)
AND NOT EXISTS (SELECT 1 FROM wxa_daily_summary t WHERE t.appid = r.appid AND t.begin_date = r.begin_date AND t.end_date = r.end_date)
AND NOT EXISTS (SELECT 1 FROM wxa_visit_distribution t WHERE t.appid = r.appid AND t.begin_date = r.begin_date AND t.end_date = r.end_date)
AND NOT EXISTS (SELECT 1 FROM wxa_visit_page t WHERE t.appid = r.appid AND t.begin_date = r.begin_date AND t.end_date = r.end_date)
AND NOT EXISTS (SELECT 1 FROM wxa_user_portrait t WHERE t.appid = r.appid AND t.begin_date = r.begin_date AND t.end_date = r.end_date)`
	require.NoError(t, s.DB().QueryRow(q).Scan(&missing))
	assert.Zero(t, orphans, "typed rows without their raw answer")
	assert.Zero(t, missing, "raw answers without typed rows")
}

// periodsOf counts the raw answers per method and period: each once.
func periodsOf(t *testing.T, s *warehouse.Store) (total, distinct int) {
	require.NoError(t, s.DB().QueryRow("SELECT COUNT(*) FROM wxa_raw_answer").Scan(&total))
	require.NoError(t, s.DB().QueryRow("SELECT COUNT(*) FROM (SELECT DISTINCT appid, method, begin_date, end_date FROM wxa_raw_answer) d").Scan(&distinct))
	return total, distinct
}

// TestWarehouseFaultsThroughBinary: the database killed mid-sync and
// restarted, two syncs at once, the deadline mid-sync, the quota, and 61503
// then published.
func TestWarehouseFaultsThroughBinary(t *testing.T) {
	all := stores(t)
	for _, st := range all {
		t.Run(st.name, func(t *testing.T) {
			t.Run("two syncs at once", func(t *testing.T) {
				url := freshLike(t, st)
				u := newUpstream(t, emulator.Config{Latency: 2 * time.Millisecond})
				out := &syncBuffer{}
				a := startWith(t, st.bin, out, functionEnv(u, url)...)
				b := startWith(t, st.bin, out, functionEnv(u, url)...)
				var wg sync.WaitGroup
				res := make([]handler.SyncResult, 2)
				for i, p := range []*scf.Process{a, b} {
					wg.Go(func() {
						inv := invocation
						inv.Timeout = 60 * time.Second
						out, err := p.Invoke([]byte(`{"action":"sync"}`), inv)
						assert.NoError(t, err)
						assert.NoError(t, json.Unmarshal(out, &res[i]))
					})
				}
				wg.Wait()
				s := openStore(t, url)
				total, distinct := periodsOf(t, s)
				assert.Equal(t, total, distinct)
				assert.Equal(t, total, res[0].Stored+res[1].Stored, "%+v", res)
				assert.Equal(t, int64(total), u.calls.Load(), "no period fetched twice")
				whole(t, s)
			})

			t.Run("deadline mid-sync, then the next run", func(t *testing.T) {
				url := freshLike(t, st)
				u := newUpstream(t, emulator.Config{Latency: 40 * time.Millisecond})
				p := startWith(t, st.bin, &syncBuffer{}, functionEnv(u, url, "SERIES_CONCURRENCY=2")...)
				first, raw := invokeSync(t, p, 1500*time.Millisecond)
				assert.Equal(t, 0, first.ErrCode, raw)
				assert.Equal(t, "deadline", first.Stopped, raw)
				s := openStore(t, url)
				total, _ := periodsOf(t, s)
				assert.Equal(t, first.Stored, total, "progress kept")
				assert.Positive(t, total)
				next, raw := invokeSync(t, p, 60*time.Second)
				require.Equal(t, 0, next.ErrCode, raw)
				assert.Zero(t, next.Remaining, raw)
				whole(t, s)
			})

			t.Run("quota stops, the next run resumes", func(t *testing.T) {
				url := freshLike(t, st)
				u := newUpstream(t, emulator.Config{Faults: []emulator.Fault{{Kind: emulator.QuotaAfter, N: 25}}})
				p := startWith(t, st.bin, &syncBuffer{}, functionEnv(u, url, "SERIES_CONCURRENCY=2")...)
				first, raw := invokeSync(t, p, 60*time.Second)
				assert.Equal(t, 0, first.ErrCode, raw)
				assert.Equal(t, "quota", first.Stopped, raw)
				assert.Positive(t, first.Remaining)
				assert.LessOrEqual(t, u.calls.Load(), int64(25+2))
				resp, err := http.Post(u.srv.URL+"/wxemu/faults", "text/plain", strings.NewReader(""))
				require.NoError(t, err)
				resp.Body.Close()
				next, raw := invokeSync(t, p, 60*time.Second)
				assert.Empty(t, next.Stopped, raw)
				assert.Zero(t, next.Remaining+next.Pending, raw)
			})

			t.Run("61503 pending, then stored", func(t *testing.T) {
				url := freshLike(t, st)
				u := newUpstream(t, emulator.Config{})
				u.notReady.Store(true)
				p := startWith(t, st.bin, &syncBuffer{}, functionEnv(u, url)...)
				first, raw := invokeSync(t, p, 60*time.Second)
				assert.Equal(t, 0, first.ErrCode, raw)
				assert.Equal(t, 5+3, first.Pending, raw)
				u.notReady.Store(false)
				next, raw := invokeSync(t, p, 60*time.Second)
				assert.Zero(t, next.Pending, raw)
				s := openStore(t, url)
				var n int
				y := openapi.Today(time.Now()).AddDate(0, 0, -1).Format("2006-01-02")
				require.NoError(t, s.DB().QueryRow("SELECT COUNT(*) FROM wxa_raw_answer WHERE end_date = '"+y+"'").Scan(&n))
				assert.Equal(t, 5+3, n)
			})

			if st.crash == nil {
				return // SQLite is a file: nothing to kill
			}
			t.Run("database killed mid-sync, then restarted", func(t *testing.T) {
				url := freshLike(t, st)
				u := newUpstream(t, emulator.Config{Latency: 20 * time.Millisecond})
				out := &syncBuffer{}
				p := startWith(t, st.bin, out, functionEnv(u, url, "SERIES_CONCURRENCY=2")...)
				done := make(chan handler.SyncResult, 1)
				go func() {
					inv := invocation
					inv.Timeout = 60 * time.Second
					var a handler.SyncResult
					if out, err := p.Invoke([]byte(`{"action":"sync"}`), inv); err == nil {
						json.Unmarshal(out, &a)
					} else {
						a.ErrMsg = err.Error()
					}
					done <- a
				}()
				deadline := time.Now().Add(30 * time.Second)
				for u.calls.Load() < 40 && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				st.crash()
				var first handler.SyncResult
				select {
				case first = <-done:
				case <-time.After(90 * time.Second):
					t.Fatal("the sync did not end after the database died")
				}
				assert.NotEqual(t, 0, first.ErrCode, "%+v", first)
				assert.Contains(t, first.ErrMsg, "the database failed")
				st.start()
				next, raw := invokeSync(t, p, 60*time.Second)
				require.Equal(t, 0, next.ErrCode, raw)
				assert.Zero(t, next.Remaining+next.Pending, raw)
				s := openStore(t, url)
				total, distinct := periodsOf(t, s)
				assert.Equal(t, total, distinct, "no period twice")
				plan := first.Stored + next.Stored + next.Skipped
				assert.GreaterOrEqual(t, plan, total)
				whole(t, s)
				for _, secret := range []string{pgtest.Password, mysqltest.Password} {
					assert.NotContains(t, out.String(), secret)
					assert.NotContains(t, first.ErrMsg, secret)
				}
			})
		})
	}
}

// freshLike is a new empty database on st's server.
func freshLike(t *testing.T, st store) string {
	switch st.name {
	case "sqlite":
		return "sqlite:" + filepath.Join(t.TempDir(), "w.db")
	}
	// A database of its own on the same server: the URL with another name.
	s := openStore(t, st.url)
	name := fmt.Sprintf("f_%d", time.Now().UnixNano())
	_, err := s.DB().Exec("CREATE DATABASE " + name)
	require.NoError(t, err)
	i := strings.LastIndex(st.url, "/")
	rest := st.url[i+1:]
	q := ""
	if j := strings.Index(rest, "?"); j >= 0 {
		q = rest[j:]
	}
	return st.url[:i+1] + name + q
}
