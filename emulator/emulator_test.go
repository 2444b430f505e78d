package emulator_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/wxanalysis/wxanalysis/emulator"
)

// The tests' own China Standard Time: the emulator's is not exported.
var cst = time.FixedZone("CST", 8*60*60)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}
func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

type env struct {
	*httptest.Server
	appid string
	emu   *emulator.Emulator
	clock *clock
	logs  *bytes.Buffer
}

// today is the tests' default now: Tuesday 24 November 2026, 10:00 CST, so
// yesterday is Monday 20261123.
var today = time.Date(2026, 11, 24, 10, 0, 0, 0, cst)

func start(t *testing.T, faults string) *env { return startWith(t, emulator.Config{}, faults) }

func startWith(t *testing.T, cfg emulator.Config, faults string) *env {
	fs, err := emulator.ParseFaults(faults)
	require.NoError(t, err)
	c := &clock{t: today}
	if cfg.Now != nil {
		c.t = cfg.Now()
	}
	var logs bytes.Buffer
	var mu sync.Mutex
	cfg.Now, cfg.Faults = c.Now, fs
	cfg.Logger = slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, nil))
	emu := emulator.New(cfg)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return &env{srv, cmp.Or(cfg.AppID, emulator.DefaultAppID), emu, c, &logs}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

type answer struct {
	Errcode     int
	Errmsg      string
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	raw         string
	status      int
	header      http.Header
}

func (e *env) do(t *testing.T, method, path, body string, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, e.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{raw: string(b), status: resp.StatusCode, header: resp.Header}
	json.Unmarshal(b, &a)
	return a
}

func (e *env) stable(t *testing.T, force bool) answer {
	return e.do(t, "POST", "/cgi-bin/stable_token", fmt.Sprintf(`{"grant_type":"client_credential","appid":%q,"secret":%q,"force_refresh":%v}`,
		e.appid, emulator.DefaultSecret, force))
}

// post calls an analysis path with a fresh token.
func (e *env) post(t *testing.T, path, body string, header ...string) answer {
	t.Helper()
	return e.do(t, "POST", path+"?access_token="+url.QueryEscape(e.stable(t, false).AccessToken), body, header...)
}

const (
	weekly     = `{"begin_date":"20170306","end_date":"20170312"}`
	weeklyPath = "/datacube/getweanalysisappidweeklyretaininfo"
	pagePath   = "/datacube/getweanalysisappidvisitpage"
	portrait   = "/datacube/getweanalysisappiduserportrait"
	perfPath   = "/wxa/business/performance/boot"
)

func (e *env) weekly(t *testing.T, token string, header ...string) answer {
	return e.do(t, "POST", weeklyPath+"?access_token="+url.QueryEscape(token), weekly, header...)
}

func dates(begin, end string) string {
	return fmt.Sprintf(`{"begin_date":%q,"end_date":%q}`, begin, end)
}

func TestStableTokenSemantics(t *testing.T) {
	e := start(t, "")
	a := e.stable(t, false)
	require.NotEmpty(t, a.AccessToken)
	assert.Equal(t, 7200, a.ExpiresIn)
	// Same token until 5 minutes before it expires.
	e.clock.Add(7200*time.Second - 5*time.Minute - time.Second)
	b := e.stable(t, false)
	assert.Equal(t, a.AccessToken, b.AccessToken)
	assert.Equal(t, 301, b.ExpiresIn)
	// Then a new one; the old keeps working until it expires.
	e.clock.Add(time.Second)
	c := e.stable(t, false)
	assert.NotEqual(t, a.AccessToken, c.AccessToken)
	assert.Zero(t, e.weekly(t, a.AccessToken).Errcode)
	e.clock.Add(5 * time.Minute)
	assert.Equal(t, 42001, e.weekly(t, a.AccessToken).Errcode, "expired")
	assert.Zero(t, e.weekly(t, c.AccessToken).Errcode)

	// force_refresh: a new token at once, the old one dead; again within 30 s changes nothing.
	d := e.stable(t, true)
	assert.NotEqual(t, c.AccessToken, d.AccessToken)
	assert.Equal(t, 40001, e.weekly(t, c.AccessToken).Errcode)
	e.clock.Add(29 * time.Second)
	assert.Equal(t, d.AccessToken, e.stable(t, true).AccessToken)
	e.clock.Add(time.Second)
	assert.NotEqual(t, d.AccessToken, e.stable(t, true).AccessToken)
	// 20 a day.
	for range 18 {
		e.clock.Add(30 * time.Second)
		require.NotEmpty(t, e.stable(t, true).AccessToken)
	}
	e.clock.Add(30 * time.Second)
	assert.Equal(t, 45009, e.stable(t, true).Errcode)
}

func TestCredentialTokenSemantics(t *testing.T) {
	e := start(t, "")
	q := "/cgi-bin/token?grant_type=client_credential&appid=" + emulator.DefaultAppID + "&secret=" + emulator.DefaultSecret
	a := e.do(t, "GET", q, "")
	b := e.do(t, "GET", q, "")
	require.NotEqual(t, a.AccessToken, b.AccessToken, "every fetch is a new token")
	assert.Zero(t, e.weekly(t, a.AccessToken).Errcode, "the old one works for 5 minutes")
	e.clock.Add(5 * time.Minute)
	assert.Equal(t, 42001, e.weekly(t, a.AccessToken).Errcode)
	assert.Zero(t, e.weekly(t, b.AccessToken).Errcode)
	assert.Equal(t, 43002, e.do(t, "POST", q, "").Errcode)
}

func TestCredentialChecks(t *testing.T) {
	e := start(t, "")
	for body, code := range map[string]int{
		`{"grant_type":"client_credential","appid":"` + emulator.DefaultAppID + `","secret":"wrong"}`:                 40125,
		`{"grant_type":"client_credential","appid":"wx1","secret":"` + emulator.DefaultSecret + `"}`:                  40013,
		`{"grant_type":"password","appid":"` + emulator.DefaultAppID + `","secret":"` + emulator.DefaultSecret + `"}`: 40002,
		`{"grant_type":"client_credential","secret":"x"}`:                                                             41002,
		`{"grant_type":"client_credential","appid":"x"}`:                                                              41004,
		`not json`: 47001,
	} {
		assert.Equal(t, code, e.do(t, "POST", "/cgi-bin/stable_token", body).Errcode, body)
	}
	assert.Equal(t, 43002, e.do(t, "GET", "/cgi-bin/stable_token", "").Errcode)
}

func TestRequestChecks(t *testing.T) {
	e := start(t, "")
	tok := e.stable(t, false).AccessToken
	assert.Equal(t, 41001, e.do(t, "POST", weeklyPath, weekly).Errcode, "no token")
	assert.Equal(t, 40001, e.weekly(t, "not-a-token").Errcode)
	assert.Equal(t, 43002, e.do(t, "GET", weeklyPath+"?access_token="+tok, "").Errcode)
	for _, tc := range []struct {
		body string
		code int
	}{
		{"", 44002},
		{"  ", 44002},
		{"{", 47001},
		{`{"begin_date":"20170306"}`, 40097},
		{`{"end_date":"20170312"}`, 40097},
		{`{"begin_date":20170306,"end_date":"20170312"}`, 40097},
		{`{"begin_date":null,"end_date":"20170312"}`, 40097},
		{`["20170306","20170312"]`, 40097},
		{`{"beginDate":"20170306","endDate":"20170312"}`, 40097}, // WeChat reads snake_case only
		{weekly, 0},
	} {
		assert.Equal(t, tc.code, e.do(t, "POST", weeklyPath+"?access_token="+tok, tc.body).Errcode, "%q", tc.body)
	}
}

// TestDateRules checks each of WeChat's date rules on both sides of its
// boundary, at Tuesday 24 November 2026 10:00 CST.
func TestDateRules(t *testing.T) {
	e := start(t, "")
	paths := map[string]string{
		"day":     "/datacube/getweanalysisappiddailyvisittrend",
		"retain":  "/datacube/getweanalysisappiddailyretaininfo",
		"week":    weeklyPath,
		"wtrend":  "/datacube/getweanalysisappidweeklyvisittrend",
		"month":   "/datacube/getweanalysisappidmonthlyretaininfo",
		"mtrend":  "/datacube/getweanalysisappidmonthlyvisittrend",
		"recent":  portrait,
		"pages":   pagePath,
		"dist":    "/datacube/getweanalysisappidvisitdistribution",
		"summary": "/datacube/getweanalysisappiddailysummarytrend",
	}
	tests := []struct {
		name, method, begin, end string
		code                     int
	}{
		{"yyyymmdd", "day", "20170313", "20170313", 0},
		{"dashes", "day", "2017-03-13", "2017-03-13", 61500},
		{"seven digits", "day", "2017031", "2017031", 61500},
		{"nine digits", "day", "201703130", "201703130", 61500},
		{"no such day", "day", "20170229", "20170229", 61500},
		{"leap day", "day", "20160229", "20160229", 0},
		{"end not a date", "day", "20170313", "2017031x", 61500},
		{"one day: two days", "day", "20170313", "20170314", 61501},
		{"one day: begin after end", "day", "20170314", "20170313", 61501},
		{"yesterday", "day", "20261123", "20261123", 0},
		{"today", "day", "20261124", "20261124", 61501},
		{"retain yesterday", "retain", "20261123", "20261123", 0},
		{"retain today", "retain", "20261124", "20261124", 61501},
		{"summary: two days", "summary", "20170313", "20170314", 61501},
		{"pages: two days", "pages", "20170313", "20170314", 61501},
		{"distribution today", "dist", "20261124", "20261124", 61501},

		{"Monday to Sunday", "week", "20170306", "20170312", 0},
		{"Tuesday to Monday", "week", "20170307", "20170313", 61501},
		{"Sunday to Saturday", "week", "20170305", "20170311", 61501},
		{"Monday to Saturday", "week", "20170306", "20170311", 61501},
		{"Monday to the Monday after", "week", "20170306", "20170313", 61501},
		{"last week", "week", "20261116", "20261122", 0},
		{"this week, not over", "week", "20261123", "20261129", 61501},
		{"trend: Monday to Sunday", "wtrend", "20170306", "20170312", 0},
		{"trend: two weeks", "wtrend", "20170306", "20170319", 61501},

		{"a month", "month", "20170201", "20170228", 0},
		{"a month, short a day", "month", "20170201", "20170227", 61501},
		{"a month, from the 2nd", "month", "20170202", "20170228", 61501},
		{"two months", "month", "20170201", "20170331", 61501},
		{"a leap February", "month", "20240201", "20240229", 0},
		{"a leap February without its 29th", "month", "20240201", "20240228", 61501},
		{"last month", "month", "20261001", "20261031", 0},
		{"this month, not over", "month", "20261101", "20261130", 61501},
		{"trend: last month", "mtrend", "20261001", "20261031", 0},
		{"trend: this month", "mtrend", "20261101", "20261130", 61501},
		{"trend: a 31-day month", "mtrend", "20170301", "20170331", 0},
		{"trend: 30 days of a 31-day month", "mtrend", "20170301", "20170330", 61501},

		{"portrait: 1 day", "recent", "20261123", "20261123", 0},
		{"portrait: 7 days", "recent", "20261117", "20261123", 0},
		{"portrait: 30 days", "recent", "20261025", "20261123", 0},
		{"portrait: 6 days", "recent", "20261118", "20261123", 61501},
		{"portrait: 8 days", "recent", "20261116", "20261123", 61501},
		{"portrait: 29 days", "recent", "20261026", "20261123", 61501},
		{"portrait: 31 days", "recent", "20261024", "20261123", 61501},
		{"portrait: 7 days to today", "recent", "20261118", "20261124", 61501},
		{"portrait: an older week", "recent", "20170611", "20170617", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := e.post(t, paths[tc.method], dates(tc.begin, tc.end))
			assert.Equal(t, tc.code, a.Errcode, a.raw)
		})
	}
}

func TestPerformanceRules(t *testing.T) {
	e := start(t, "")
	const day = 24 * 60 * 60
	body := func(begin, end any, module, params string) string {
		return fmt.Sprintf(`{"time":{"begin_timestamp":%v,"end_timestamp":%v},"module":%s,"params":%s}`, begin, end, module, params)
	}
	tests := []struct {
		name, body string
		code       int
	}{
		{"the documented example", body(1609603200, 1609689600, `"10022"`, `[{"field":"networktype","value":"wifi"},{"field":"device_level","value":"1"},{"field":"device","value":"1"}]`), 0},
		{"module as a number", body(1609603200, 1609689600, `10022`, `[]`), 0},
		{"30 days", body(1609603200, 1609603200+30*day, `"10016"`, `[]`), 0},
		{"30 days and a second", body(1609603200, 1609603200+30*day+1, `"10016"`, `[]`), 61501},
		{"end before begin", body(1609689600, 1609603200, `"10016"`, `[]`), 61501},
		{"seconds with a fraction", body(1609603200.5, 1609689600, `"10016"`, `[]`), 40097},
		{"an undocumented module", body(1609603200, 1609689600, `"10018"`, `[]`), 40097},
		{"an undocumented field", body(1609603200, 1609689600, `"10016"`, `[{"field":"os","value":"1"}]`), 40097},
		{"an undocumented value", body(1609603200, 1609689600, `"10016"`, `[{"field":"networktype","value":"5g"}]`), 40097},
		{"no params", `{"time":{"begin_timestamp":1609603200,"end_timestamp":1609689600},"module":"10016"}`, 40097},
		{"no time", `{"module":"10016","params":[]}`, 40097},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := e.post(t, perfPath, tc.body)
			assert.Equal(t, tc.code, a.Errcode, a.raw)
		})
	}
	// Every day of the range, ends included.
	a := e.post(t, perfPath, tests[0].body)
	assert.Contains(t, a.raw, `"refdate":"20210103"`)
	assert.Contains(t, a.raw, `"refdate":"20210104"`)
	assert.Contains(t, a.raw, `"zh":"内存均值"`)
}

func TestGameAndDataNotReady(t *testing.T) {
	game := startWith(t, emulator.Config{Game: true}, "")
	a := game.post(t, weeklyPath, weekly)
	assert.Equal(t, 61502, a.Errcode)
	assert.True(t, strings.HasPrefix(a.Errmsg, "this is game miniprogram, data api is not supported rid: "), a.Errmsg)

	// Data for a period is out 8 hours after it ends, CST.
	e := startWith(t, emulator.Config{DataDelay: 8 * time.Hour, Now: func() time.Time { return today }}, "")
	yesterday, before := dates("20261123", "20261123"), dates("20261122", "20261122")
	const day = "/datacube/getweanalysisappiddailyvisittrend"
	e.clock.Set(time.Date(2026, 11, 24, 7, 59, 59, 0, cst))
	a = e.post(t, day, yesterday)
	assert.Equal(t, 61503, a.Errcode)
	assert.True(t, strings.HasPrefix(a.Errmsg, "data not ready, please try later rid: "), a.Errmsg)
	assert.Zero(t, e.post(t, day, before).Errcode)
	e.clock.Set(time.Date(2026, 11, 24, 8, 0, 0, 0, cst))
	assert.Zero(t, e.post(t, day, yesterday).Errcode)
	lastWeek := dates("20261116", "20261122")
	e.clock.Set(time.Date(2026, 11, 23, 7, 59, 59, 0, cst))
	assert.Equal(t, 61503, e.post(t, weeklyPath, lastWeek).Errcode, "Monday morning: last week is not out")
	e.clock.Set(time.Date(2026, 11, 23, 8, 0, 0, 0, cst))
	assert.Zero(t, e.post(t, weeklyPath, lastWeek).Errcode)

	// A fault gives 61503 too.
	assert.Equal(t, 61503, e.post(t, day, yesterday, "X-Wxemu-Fault", "errcode=61503").Errcode)
}

var ridSuffix = regexp.MustCompile(` rid: ([0-9a-f]{8})-[0-9a-f]{8}-[0-9a-f]{8}$`)

func TestErrmsgSuffixes(t *testing.T) {
	e := start(t, "")
	a := e.weekly(t, "bogus")
	require.Equal(t, 40001, a.Errcode)
	m := ridSuffix.FindStringSubmatch(a.Errmsg)
	require.NotNil(t, m, a.Errmsg)
	assert.Equal(t, fmt.Sprintf("%08x", today.Unix()), m[1], "a rid starts with the time in hex")
	assert.Contains(t, a.raw, `more details at https:\/\/mmbizurl.cn\/s\/JtxxFh33r rid: `, "WeChat escapes / in strings")

	old := startWith(t, emulator.Config{HintSuffix: true}, "")
	a = old.weekly(t, "bogus")
	assert.Regexp(t, `^invalid credential, .* hint: \[[0-9A-Za-z]{14}\]$`, a.Errmsg)
}

func TestOpenAPIService(t *testing.T) {
	e := startWith(t, emulator.Config{OpenAPIService: true, CloudbaseTokens: []string{"cb-token"}}, "")
	a := e.do(t, "POST", weeklyPath, weekly)
	assert.Zero(t, a.Errcode, a.raw)
	assert.Contains(t, a.raw, `"ref_date":"20170306-20170312"`)
	assert.NotEmpty(t, a.header.Get("X-Openapi-Seqid"), "the open API service marks what it relayed")
	assert.Equal(t, 40001, e.weekly(t, "bogus").Errcode, "a token sent is still checked")
	assert.Zero(t, e.do(t, "POST", weeklyPath+"?cloudbase_access_token=cb-token", weekly).Errcode)
	assert.Equal(t, 40001, e.do(t, "POST", weeklyPath+"?cloudbase_access_token=other", weekly).Errcode)

	off := start(t, "")
	assert.Equal(t, 41001, off.do(t, "POST", weeklyPath, weekly).Errcode, "without the service a token is needed")
	assert.Zero(t, off.do(t, "POST", weeklyPath+"?cloudbase_access_token="+emulator.DefaultCloudbaseToken, weekly).Errcode,
		"the default cloudbase token")
}

func TestLatencyIsPerAnalysisCall(t *testing.T) {
	e := startWith(t, emulator.Config{Latency: time.Hour}, "")
	// Token requests are not delayed: an hour's wait would fail this.
	tok := e.stable(t, false).AccessToken
	require.NotEmpty(t, tok)
	// Analysis calls are, and a caller that gives up frees the handler.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", e.URL+weeklyPath+"?access_token="+tok, strings.NewReader(weekly))
	_, err := http.DefaultClient.Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestDataIsDeterministicAndPlausible(t *testing.T) {
	e := start(t, "")
	a, b := e.post(t, weeklyPath, weekly), e.post(t, weeklyPath, weekly)
	assert.Equal(t, a.raw, b.raw, "same AppID and dates, same numbers")
	var ret struct {
		RefDate string                     `json:"ref_date"`
		New     []struct{ Key, Value int } `json:"visit_uv_new"`
		Active  []struct{ Key, Value int } `json:"visit_uv"`
	}
	require.NoError(t, json.Unmarshal([]byte(a.raw), &ret))
	assert.Equal(t, "20170306-20170312", ret.RefDate)
	require.Len(t, ret.Active, 5, "keys 0 to 4: all those weeks are over")
	for i := 1; i < len(ret.Active); i++ {
		assert.Less(t, ret.Active[i].Value, ret.Active[i-1].Value, "retention falls with the key")
		assert.Less(t, ret.New[i].Value, ret.New[i-1].Value)
		assert.Equal(t, i, ret.Active[i].Key)
	}
	// Real decay: a fifth to two thirds come back the next week, fewer of the new users.
	for _, r := range [][]struct{ Key, Value int }{ret.New, ret.Active} {
		ratio := float64(r[1].Value) / float64(r[0].Value)
		assert.True(t, ratio > 0.2 && ratio < 0.67, "week-1 retention %.2f", ratio)
	}
	assert.Less(t, float64(ret.New[1].Value)/float64(ret.New[0].Value), float64(ret.Active[1].Value)/float64(ret.Active[0].Value))

	// Keys only as far as time has passed: two weeks ago has keys 0 and 1, five weeks ago all five.
	for begin, keys := range map[string]int{"20261109": 2, "20261019": 5, "20261116": 1} {
		monday, _ := time.ParseInLocation("20060102", begin, cst)
		r := e.post(t, weeklyPath, dates(begin, monday.AddDate(0, 0, 6).Format("20060102")))
		require.NoError(t, json.Unmarshal([]byte(r.raw), &ret), r.raw)
		assert.Len(t, ret.Active, keys, begin)
	}

	pages := e.post(t, pagePath, dates("20170313", "20170313"))
	var vp struct {
		List []struct {
			PagePath string `json:"page_path"`
			Pv       int    `json:"page_visit_pv"`
		}
	}
	require.NoError(t, json.Unmarshal([]byte(pages.raw), &vp))
	require.Len(t, vp.List, 200, "a big app: the top 200 pages")
	for i := 1; i < len(vp.List); i++ {
		assert.LessOrEqual(t, vp.List[i].Pv, vp.List[i-1].Pv, "sorted by page_visit_pv")
	}

	dist := e.post(t, "/datacube/getweanalysisappidvisitdistribution", dates("20170313", "20170313"))
	var vd struct {
		List []struct {
			Index    string
			ItemList []struct{ Key, Value int } `json:"item_list"`
		}
	}
	require.NoError(t, json.Unmarshal([]byte(dist.raw), &vd))
	var indexes []string
	for _, l := range vd.List {
		indexes = append(indexes, l.Index)
	}
	assert.Equal(t, []string{"access_source_session_cnt", "access_source_visit_uv", "access_staytime_info", "access_depth_info"}, indexes)
	for _, it := range vd.List[0].ItemList {
		assert.True(t, it.Key >= 1 && it.Key <= 57, "a documented scene key: %d", it.Key)
	}
	assert.Less(t, vd.List[1].ItemList[0].Value, vd.List[0].ItemList[0].Value, "fewer visitors than sessions")
}

// TestAnswersLookLikeWeChats: the bytes, not just the values, are WeChat's.
func TestAnswersLookLikeWeChats(t *testing.T) {
	e := start(t, "")
	pages := e.post(t, pagePath, dates("20170313", "20170313"))
	assert.Contains(t, pages.raw, `"page_path":"pages\/index\/index"`, "/ is written \\/")
	assert.NotContains(t, pages.raw, `pages/`)
	assert.Equal(t, "application/json; encoding=utf-8", pages.header.Get("Content-Type"))

	p := e.post(t, portrait, dates("20170611", "20170617"))
	assert.Contains(t, p.raw, `"name":"广东省"`, "Chinese as raw UTF-8")
	assert.NotContains(t, p.raw, `\u`)
	assert.Contains(t, p.raw, `"ref_date":"20170611-20170617"`)
	assert.Contains(t, p.raw, `"devices":[{"name":`, "devices have no id")

	// Every answer is valid JSON.
	for _, path := range []string{weeklyPath, pagePath, portrait} {
		body := weekly
		if path != weeklyPath {
			body = dates("20170313", "20170313")
		}
		a := e.post(t, path, body)
		assert.True(t, json.Valid([]byte(a.raw)), path)
	}
}

// TestSmallApps: one AppID in four is a small app: few pages, sparse
// portraits; the same every time.
func TestSmallApps(t *testing.T) {
	e := startWith(t, emulator.Config{AppID: "wx2"}, "")
	pages := e.post(t, pagePath, dates("20170313", "20170313"))
	assert.Equal(t, pages.raw, e.post(t, pagePath, dates("20170313", "20170313")).raw, "deterministic")
	var vp struct{ List []json.RawMessage }
	require.NoError(t, json.Unmarshal([]byte(pages.raw), &vp))
	assert.True(t, len(vp.List) > 0 && len(vp.List) < 20, "a small app has a few pages: %d", len(vp.List))

	p := e.post(t, portrait, dates("20261123", "20261123"))
	var pr struct {
		New map[string][]json.RawMessage `json:"visit_uv_new"`
	}
	require.NoError(t, json.Unmarshal([]byte(p.raw), &pr), p.raw)
	require.Contains(t, pr.New, "province")
	empty := 0
	for _, l := range pr.New {
		if len(l) == 0 {
			empty++
		}
	}
	assert.Positive(t, empty, "some attribute lists are empty: %s", p.raw)
	assert.NotContains(t, p.raw, "null", "empty lists are [], not null")
}

func TestFaults(t *testing.T) {
	e := start(t, "errcode=-1*2,quota-after=3")
	tok := e.stable(t, false).AccessToken
	assert.Equal(t, -1, e.weekly(t, tok).Errcode)
	assert.Equal(t, -1, e.weekly(t, tok).Errcode)
	for range 3 {
		assert.Zero(t, e.weekly(t, tok).Errcode, "the burst is spent")
	}
	assert.Equal(t, 45009, e.weekly(t, tok).Errcode, "quota spent after 3 calls")

	e = start(t, "")
	tok = e.stable(t, false).AccessToken
	assert.Equal(t, 502, e.weekly(t, tok, "X-Wxemu-Fault", "status=502").status)
	assert.Equal(t, 42001, e.weekly(t, tok, "X-Wxemu-Fault", "expired").Errcode)
	a := e.weekly(t, tok, "X-Wxemu-Fault", "text")
	assert.Equal(t, "text/plain", a.header.Get("Content-Type"))
	assert.True(t, json.Valid([]byte(a.raw)))
	assert.False(t, json.Valid([]byte(e.weekly(t, tok, "X-Wxemu-Fault", "truncated").raw)))
	assert.False(t, json.Valid([]byte(e.weekly(t, tok, "X-Wxemu-Fault", "malformed").raw)))
	assert.Zero(t, e.weekly(t, tok, "X-Wxemu-Fault", "gateway.errcode=-604101").Errcode, "gateway faults stay at the gateway")
	for name, body := range map[string]string{"text": "upstream busy, try later", "null": "null", "array": "[]",
		"number": "0", "wrapper": `{"result":"upstream busy, try later"}`, "empty": "{}"} {
		g := e.weekly(t, tok, "X-Wxemu-Fault", "glitch="+name)
		assert.Equal(t, 200, g.status, name)
		assert.Equal(t, body, g.raw, name)
	}

	req, _ := http.NewRequest("POST", e.URL+weeklyPath+"?access_token="+tok, strings.NewReader(weekly))
	req.Header.Set("X-Wxemu-Fault", "reset")
	_, err := http.DefaultClient.Do(req)
	require.Error(t, err, "the connection is reset")

	assert.Equal(t, 400, e.weekly(t, tok, "X-Wxemu-Fault", "bogus").status)
	for spec, msg := range map[string]string{
		"errcode=x":        `fault "errcode=x"`,
		"reset*0":          "positive integer",
		"badtoken":         "gateway.badtoken",
		"gateway.text":     `fault "gateway.text": not a gateway fault`,
		"gateway.expired":  "not a gateway fault",
		"gateway.bogus=1":  "unknown kind",
		"latency=fortnite": `fault "latency=fortnite"`,
		"glitch=html":      "glitch takes text, null, array, number, wrapper or empty",
		"glitch":           "glitch takes",
	} {
		_, err = emulator.ParseFaults(spec)
		assert.ErrorContains(t, err, msg, spec)
	}
}

func TestLogsNeverHoldSecrets(t *testing.T) {
	e := start(t, "")
	tok := e.stable(t, false).AccessToken
	e.weekly(t, tok)
	e.weekly(t, "bogus-token")
	logs := e.logs.String()
	assert.Contains(t, logs, `"path":"/datacube/getweanalysisappidweeklyretaininfo"`)
	assert.Contains(t, logs, `"errcode":40001`)
	assert.Contains(t, logs, `"latency_ms"`)
	assert.NotContains(t, logs, tok)
	assert.NotContains(t, logs, "bogus-token")
	assert.NotContains(t, logs, emulator.DefaultSecret)
}

// A cloud call as wx-server-sdk sends it (cloudcall.md §3), signed by the
// tests' own TC3 signer (§4), which TestGatewayTestVector checks against the
// reference's worked example.
type cloudCall struct {
	host, query string
	headers     [][2]string // signed headers, but content-type and host
	fields      [][2]string // name, value; in order
	ts          int64
	secretID    string
	secretKey   string
	auth        string   // when set, sent instead of the signature of the fields
	extra       []string // unsigned header name, value pairs
}

const boundary = "--------------------------0123456789abcdef01234567"

// vectorCall is §4's test vector.
func vectorCall(t *testing.T) cloudCall {
	data, err := hex.DecodeString("080012320a180a0a626567696e5f64617465120a223230313730333036220a160a08656e645f64617465120a22323031373033313222")
	require.NoError(t, err)
	return cloudCall{
		host:  "test-env-1a2b3c.internal.ap-shanghai.tcb-api.tencentcloudapi.com",
		query: "env=test-env-1a2b3c&seqId=18bcfe5687b_1",
		headers: [][2]string{{"User-Agent", "tcb-node-sdk/3.17.2"}, {"X-TCB-Source", ",scf"}, {"X-Client-Timestamp", "1700000000123"},
			{"X-SDK-Version", "wx-server-sdk/4.0.2"}, {"X-TCB-Region", "ap-shanghai"}},
		fields: [][2]string{{"action", "wx.openApi"}, {"apiName", "analysis.getWeeklyRetain"}, {"requestData", string(data)},
			{"envName", "test-env-1a2b3c"}, {"wxCloudApiToken", "wxapitoken-abc"}, {"tcb_sessionToken", ""},
			{"sessionToken", "testsessiontoken"}, {"crossAuthorizationToken", ""}},
		ts: 1699999999, secretID: "AKIDtestsecretid", secretKey: "testsecretkey",
	}
}

var vectorNow = time.UnixMilli(1700000000123)

func (c *cloudCall) set(name, value string) {
	for i := range c.fields {
		if c.fields[i][0] == name {
			c.fields[i][1] = value
			return
		}
	}
	c.fields = append(c.fields, [2]string{name, value})
}

// commAPIData encodes a CommApiData with apiType OPEN_API and these pairs.
func commAPIData(pairs ...string) string {
	var open []byte
	for i := 0; i+1 < len(pairs); i += 2 {
		var kv []byte
		kv = protowire.AppendTag(kv, 1, protowire.BytesType)
		kv = protowire.AppendString(kv, pairs[i])
		kv = protowire.AppendTag(kv, 2, protowire.BytesType)
		kv = protowire.AppendString(kv, pairs[i+1])
		open = protowire.AppendTag(open, 1, protowire.BytesType)
		open = protowire.AppendBytes(open, kv)
	}
	b := protowire.AppendTag(nil, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, 0)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	return string(protowire.AppendBytes(b, open))
}

func (c cloudCall) body() []byte {
	var b bytes.Buffer
	for _, f := range c.fields {
		fmt.Fprintf(&b, "--%s\r\nContent-Disposition: form-data; name=%q\r\n", boundary, f[0])
		if f[0] == "requestData" {
			b.WriteString("Content-Type: application/octet-stream\r\n")
		}
		fmt.Fprintf(&b, "\r\n%s\r\n", f[1])
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes()
}

// signature is the tests' own reading of §4.
func (c cloudCall) signature() (auth, canonical string) {
	headers := map[string]string{"content-type": "multipart/form-data", "host": c.host}
	for _, h := range c.headers {
		headers[strings.ToLower(h[0])] = strings.ToLower(strings.TrimSpace(h[1]))
	}
	names := slices.Sorted(maps.Keys(headers))
	canonical = "post\n//" + c.host + "/admin\n" + c.query + "\n"
	for _, n := range names {
		canonical += n + ":" + headers[n] + "\n"
	}
	signedHeaders := strings.Join(names, ";")
	params := map[string]string{}
	for _, f := range c.fields {
		if v := strings.TrimSpace(f[1]); v != "" || f[0] == "requestData" {
			params[strings.ToLower(f[0])] = v
		}
	}
	var payload string
	pnames := slices.Sorted(maps.Keys(params))
	for _, n := range pnames {
		payload += "&" + n + "=" + params[n] + "\r\n"
	}
	canonical += "\n" + signedHeaders + "\n" + hexSHA(payload)
	date := time.Unix(c.ts, 0).UTC().Format("2006-01-02")
	toSign := fmt.Sprintf("TC3-HMAC-SHA256\n%d\n%s/tcb/tc3_request\n%s", c.ts, date, hexSHA(canonical))
	key := hmacSHA(hmacSHA(hmacSHA([]byte("TC3"+c.secretKey), date), "tcb"), "tc3_request")
	return fmt.Sprintf("TC3-HMAC-SHA256 Credential=%s/%s/tcb/tc3_request, SignedParams=%s, SignedHeaders=%s, Signature=%x",
		c.secretID, date, strings.Join(pnames, ";"), signedHeaders, hmacSHA(key, toSign)), canonical
}

func hexSHA(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
func hmacSHA(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// gatewayAnswer is the gateway's answer: a CommOpenApiResp or a JSON error.
type gatewayAnswer struct {
	status              int
	ctype, raw          string
	Code, Message       string // a JSON error
	RequestID           string `json:"requestId"`
	protobuf            bool   // a CommOpenApiResp, and its fields:
	respData, respCtype string
	errorCode, httpCode int
}

// request is c to the gateway at base.
func (c cloudCall) request(ctx context.Context, base string) *http.Request {
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/admin?"+c.query, bytes.NewReader(c.body()))
	if err != nil {
		panic(err)
	}
	req.Host = c.host
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	for _, h := range c.headers {
		req.Header.Set(h[0], h[1])
	}
	for i := 0; i+1 < len(c.extra); i += 2 {
		req.Header.Set(c.extra[i], c.extra[i+1])
	}
	auth, _ := c.signature()
	req.Header.Set("Authorization", cmp.Or(c.auth, auth))
	req.Header.Set("X-Signature-Expires", "600")
	req.Header.Set("X-Timestamp", strconv.FormatInt(c.ts, 10))
	return req
}

func (e *env) call(t *testing.T, c cloudCall) gatewayAnswer {
	t.Helper()
	resp, err := http.DefaultClient.Do(c.request(context.Background(), e.URL))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := gatewayAnswer{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), raw: string(b)}
	if a.ctype == "application/json; charset=utf-8" {
		require.NoError(t, json.Unmarshal(b, &a))
		return a
	}
	a.protobuf = a.status == 200
	for len(b) > 0 && a.protobuf {
		num, typ, n := protowire.ConsumeTag(b)
		if a.protobuf = n > 0; !a.protobuf {
			break
		}
		b = b[n:]
		switch typ {
		case protowire.BytesType:
			var v []byte
			v, n = protowire.ConsumeBytes(b)
			if num == 1 {
				a.respData = string(v)
			} else if num == 2 {
				a.respCtype = string(v)
			}
		case protowire.VarintType:
			var v uint64
			v, n = protowire.ConsumeVarint(b)
			if num == 3 {
				a.errorCode = int(int32(v))
			} else if num == 4 {
				a.httpCode = int(v)
			}
		default:
			n = -1
		}
		if a.protobuf = n > 0; a.protobuf {
			b = b[n:]
		}
	}
	return a
}

func vectorConfig() emulator.Config {
	return emulator.Config{SecretID: "AKIDtestsecretid", SecretKey: "testsecretkey", CloudTokens: []string{"wxapitoken-abc"},
		Now: func() time.Time { return vectorNow }}
}

// TestGatewayTestVector: the gateway accepts the reference's worked example
// and answers the weekly retention in a CommOpenApiResp.
func TestGatewayTestVector(t *testing.T) {
	c := vectorCall(t)
	auth, canonical := c.signature()
	assert.Equal(t, "8466e2e5a508d497c394cff028a70b313dc2e6a4962a548cf3faf09253d7bb99", hexSHA(canonical), "the tests' canonical request")
	require.Equal(t, "TC3-HMAC-SHA256 Credential=AKIDtestsecretid/2023-11-14/tcb/tc3_request, SignedParams=action;apiname;envname;requestdata;sessiontoken;wxcloudapitoken, "+
		"SignedHeaders=content-type;host;user-agent;x-client-timestamp;x-sdk-version;x-tcb-region;x-tcb-source, "+
		"Signature=289b09499bcf96ef94dce14fc494969ed0bfb4dad1e8332aa521ddf69fd863db", auth, "the tests' signer")

	e := startWith(t, vectorConfig(), "")
	c.auth = auth // sent verbatim
	a := e.call(t, c)
	require.Equal(t, 200, a.status)
	assert.Equal(t, "application/octet-stream", a.ctype)
	assert.Zero(t, a.errorCode)
	assert.Equal(t, 200, a.httpCode)
	assert.Equal(t, "application/json; encoding=utf-8", a.respCtype)
	direct := e.post(t, weeklyPath, weekly)
	assert.Equal(t, direct.raw, a.respData, "the body of the emulator's own analysis endpoint")
	assert.Equal(t, 1, e.emu.Requests(emulator.GatewayPath))

	reqs := e.emu.GatewayRequests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, "env=test-env-1a2b3c&seqId=18bcfe5687b_1", r.Query)
	assert.Equal(t, []string{"action", "apiName", "requestData", "envName", "wxCloudApiToken", "tcb_sessionToken", "sessionToken", "crossAuthorizationToken"}, r.Fields)
	assert.Equal(t, "wx.openApi", r.Action)
	assert.Equal(t, "analysis.getWeeklyRetain", r.APIName)
	assert.Equal(t, "test-env-1a2b3c", r.EnvName)
	assert.Equal(t, "api", r.TokenKind)
	assert.True(t, r.SessionToken)
	assert.Equal(t, 0, r.APIType)
	assert.Equal(t, []emulator.Pair{{"begin_date", `"20170306"`}, {"end_date", `"20170312"`}}, r.Pairs)
	assert.Equal(t, "AKIDtestsecretid/2023-11-14/tcb/tc3_request", r.Credential)
	assert.Equal(t, []string{"action", "apiname", "envname", "requestdata", "sessiontoken", "wxcloudapitoken"}, r.SignedParams)
	assert.Equal(t, "wx-server-sdk/4.0.2", r.Header.Get("X-SDK-Version"))
	assert.Empty(t, r.Refused)
	// Never a secret in what the hook keeps.
	kept, err := json.Marshal(reqs)
	require.NoError(t, err)
	for _, secret := range []string{"wxapitoken-abc", "testsessiontoken", "testsecretkey", "289b09499bcf"} {
		assert.NotContains(t, string(kept), secret)
		assert.NotContains(t, e.logs.String(), secret)
	}
}

// TestGatewaySignature: each part of the request is signed.
func TestGatewaySignature(t *testing.T) {
	other := commAPIData("begin_date", `"20170313"`, "end_date", `"20170319"`)
	tests := []struct {
		name   string
		change func(*cloudCall)
		now    time.Time
		reason string // "" accepted
	}{
		{"as signed", func(*cloudCall) {}, vectorNow, ""},
		{"signed 600 s ago", func(*cloudCall) {}, time.Unix(1699999999+600, 0), ""},
		{"signed 601 s ago", func(*cloudCall) {}, time.Unix(1699999999+601, 0), "signature is expired"},
		{"signed 600 s ahead", func(*cloudCall) {}, time.Unix(1699999999-600, 0), ""},
		{"signed 601 s ahead", func(*cloudCall) {}, time.Unix(1699999999-601, 0), "signature is expired"},
		{"signed with another key", func(c *cloudCall) { c.secretKey = "another" }, vectorNow, "signature mismatch"},
		{"another secret id", func(c *cloudCall) { c.secretID = "AKIDother" }, vectorNow, "secret id error"},
		{"no Authorization", func(c *cloudCall) { c.auth = "none" }, vectorNow, "missing or malformed Authorization"},
		{"body changed after signing", func(c *cloudCall) {
			c.auth, _ = c.signature()
			c.set("requestData", other)
		}, vectorNow, "signature mismatch"},
		{"apiName changed after signing", func(c *cloudCall) {
			c.auth, _ = c.signature()
			c.set("apiName", "analysis.getDailyRetain")
		}, vectorNow, "signature mismatch"},
		{"a field added after signing", func(c *cloudCall) {
			c.auth, _ = c.signature()
			c.set("appid", "wx1")
		}, vectorNow, "signed params do not match the body"},
		{"a signed header changed", func(c *cloudCall) {
			c.auth, _ = c.signature()
			c.headers[4][1] = "ap-guangzhou"
		}, vectorNow, "signature mismatch"},
		{"the query changed", func(c *cloudCall) {
			c.auth, _ = c.signature()
			c.query = "env=another-env&seqId=18bcfe5687b_1"
		}, vectorNow, "signature mismatch"},
		{"an unsigned header added", func(c *cloudCall) { c.extra = []string{"X-Forwarded-For", "10.0.0.1"} }, vectorNow, ""},
		{"a new body, signed", func(c *cloudCall) { c.set("requestData", other) }, vectorNow, ""},
		{"an empty field is not signed", func(c *cloudCall) { c.set("tcb_sessionToken", "  ") }, vectorNow, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := startWith(t, vectorConfig(), "")
			e.clock.Set(tc.now)
			c := vectorCall(t)
			tc.change(&c)
			a := e.call(t, c)
			require.Equal(t, 200, a.status)
			if tc.reason == "" {
				assert.Equal(t, "application/octet-stream", a.ctype, a.raw)
				assert.Contains(t, a.respData, `"ref_date":"2017`)
				return
			}
			assert.Equal(t, "application/json; charset=utf-8", a.ctype)
			assert.Equal(t, "SIGN_PARAM_INVALID", a.Code)
			assert.Equal(t, tc.reason, a.Message)
			assert.Equal(t, "18bcfe5687b_1", a.RequestID, "the requestId is the seqId")
			assert.Equal(t, "SIGN_PARAM_INVALID: "+tc.reason, e.emu.GatewayRequests()[0].Refused)
		})
	}
}

// TestGatewayRows: the gateway's answers besides success, each one of the
// SDK's decision table (cloudcall.md §5), by configuration or injected.
func TestGatewayRows(t *testing.T) {
	json := "application/json; charset=utf-8"
	tests := []struct {
		name      string
		cfg       func(*emulator.Config)
		faults    string // configured (-faults)
		change    func(*cloudCall)
		ctype     string
		code      string // JSON error
		message   string
		errorCode int // CommOpenApiResp
		inner     string
		noToken   bool // no valid token
	}{
		{name: "an invalid token", change: func(c *cloudCall) { c.set("wxCloudApiToken", "stolen") },
			ctype: json, code: "INVALID_PARAM", message: "Invalid wxCloudApiToken", noToken: true},
		{name: "no token", change: func(c *cloudCall) { c.set("wxCloudApiToken", "") },
			ctype: json, code: "INVALID_PARAM", message: "missing wxCloudApiToken", noToken: true},
		{name: "a timer token", cfg: func(c *emulator.Config) { c.TimerTokens = []string{"timer-abc"} },
			change: func(c *cloudCall) { c.set("wxCloudApiToken", "timer-abc") }, inner: `"ref_date"`},
		{name: "a cloudbase token", cfg: func(c *emulator.Config) { c.CloudbaseTokens = []string{"cb-abc"} },
			change: func(c *cloudCall) { c.set("wxCloudApiToken", ""); c.set("wxCloudbaseAccesstoken", "cb-abc") }, inner: `"ref_date"`},
		{name: "not in the permitted APIs", cfg: func(c *emulator.Config) { c.PermittedAPIs = []string{"analysis.getDailyRetain"} },
			errorCode: -604101},
		{name: "in the permitted APIs", cfg: func(c *emulator.Config) { c.PermittedAPIs = []string{"analysis.getWeeklyRetain"} },
			inner: `"ref_date"`},
		{name: "an unknown API", change: func(c *cloudCall) { c.set("apiName", "analysis.getEverything") }, errorCode: -604100},
		{name: "another action", change: func(c *cloudCall) { c.set("action", "wx.api") }, ctype: json, code: "INVALID_PARAM", message: "invalid action"},
		{name: "requestData not protobuf", change: func(c *cloudCall) { c.set("requestData", "\xff\xff") }, ctype: json, code: "INVALID_PARAM", message: "invalid requestData"},
		{name: "camelCase data: WeChat's 40097 inside", change: func(c *cloudCall) {
			c.set("requestData", commAPIData("beginDate", `"20170306"`, "endDate", `"20170312"`))
		}, inner: `"errcode":40097`},
		{name: "injected: bad token", faults: "gateway.badtoken*1", ctype: json, code: "INVALID_PARAM", message: "Invalid wxCloudApiToken"},
		{name: "injected: no permission", faults: "gateway.errcode=-604101", errorCode: -604101},
		{name: "injected: WeChat's 40001 inside", faults: "errcode=40001", inner: `"errcode":40001`},
		{name: "injected: WeChat as text/plain", faults: "text", inner: `"ref_date"`},
		{name: "a game", cfg: func(c *emulator.Config) { c.Game = true }, inner: `"errcode":61502`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := vectorConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			e := startWith(t, cfg, tc.faults)
			c := vectorCall(t)
			if tc.change != nil {
				tc.change(&c)
			}
			a := e.call(t, c)
			require.Equal(t, 200, a.status)
			assert.Equal(t, cmp.Or(tc.ctype, "application/octet-stream"), a.ctype, a.raw)
			assert.Equal(t, tc.code, a.Code)
			assert.Equal(t, tc.message, a.Message)
			assert.Equal(t, tc.errorCode, a.errorCode)
			if tc.inner != "" {
				assert.Contains(t, a.respData, tc.inner)
			} else {
				assert.Empty(t, a.respData)
			}
			if tc.faults == "text" {
				assert.Equal(t, "text/plain", a.respCtype)
			}
			r := e.emu.GatewayRequests()[0]
			switch want := map[string]string{"a timer token": "timer", "a cloudbase token": "cloudbase"}[tc.name]; {
			case tc.noToken:
				assert.Empty(t, r.TokenKind)
			case want != "":
				assert.Equal(t, want, r.TokenKind)
			default:
				assert.Equal(t, "api", r.TokenKind)
			}
			assert.Equal(t, tc.inner == "", r.Refused != "", r.Refused)
		})
	}
}

// TestGatewayInjectedRows: faults per request, with the X-Wxemu-Fault
// header, which is not signed.
func TestGatewayInjectedRows(t *testing.T) {
	e := startWith(t, vectorConfig(), "")
	send := func(fault string) gatewayAnswer {
		c := vectorCall(t)
		c.extra = []string{"X-Wxemu-Fault", fault}
		return e.call(t, c)
	}
	a := send("gateway.status=502")
	assert.Equal(t, 502, a.status)
	assert.Equal(t, "text/html", a.ctype)

	a = send("gateway.malformed")
	assert.Equal(t, 200, a.status)
	assert.False(t, json.Valid([]byte(a.raw)), "garbage: not JSON")
	assert.False(t, a.protobuf, "garbage: not protobuf")

	a = send("gateway.badtoken")
	assert.Equal(t, "INVALID_PARAM", a.Code)
	a = send("gateway.errcode=-604101")
	assert.Equal(t, -604101, a.errorCode)
	noPermission := int32(-604101)
	want := protowire.AppendVarint(protowire.AppendTag(nil, 3, protowire.VarintType), uint64(int64(noPermission)))
	assert.Equal(t, string(want), a.raw, "a negative int32 is a 10-byte varint")
	a = send("errcode=-1")
	assert.Contains(t, a.respData, `"errcode":-1,`)
	a = send("status=503")
	assert.Equal(t, 503, a.httpCode, "WeChat's status inside")
	assert.Equal(t, "text/html", a.respCtype)
	a = send("token.errcode=40013")
	assert.Contains(t, a.respData, `"ref_date"`, "token faults do not reach the gateway")

	c := vectorCall(t)
	c.extra = []string{"X-Wxemu-Fault", "gateway.reset"}
	_, err := http.DefaultClient.Do(c.request(context.Background(), e.URL))
	assert.Error(t, err, "the connection is reset")

	assert.Equal(t, 8, e.emu.Requests(emulator.GatewayPath), "every gateway request counted")

	// Configured faults with a count are spent, then the gateway answers.
	e = startWith(t, vectorConfig(), "gateway.errcode=-604101*1")
	assert.Equal(t, -604101, e.call(t, vectorCall(t)).errorCode)
	assert.Contains(t, e.call(t, vectorCall(t)).respData, `"ref_date"`)
	// And the latency of an analysis call applies to cloud calls too.
	cfg := vectorConfig()
	cfg.Latency = time.Hour
	e = startWith(t, cfg, "")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = http.DefaultClient.Do(vectorCall(t).request(ctx, e.URL))
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

// TestFaultsPerAppID: a fault with @appid applies to that Mini Program's
// data only, and its quota-after counts that Mini Program's calls: one
// authorizer's quota runs out while the others' and the default app's do not.
func TestFaultsPerAppID(t *testing.T) {
	auths := emulator.DefaultAuthorizers()
	e := startWith(t, emulator.Config{Component: &emulator.Component{Authorizers: auths}},
		"quota-after=2@"+auths[1].AppID+",errcode=-1@"+auths[2].AppID+"*1")
	tokenOf := func(appid, secret string) string {
		a := e.do(t, "POST", "/cgi-bin/stable_token", fmt.Sprintf(`{"grant_type":"client_credential","appid":%q,"secret":%q}`, appid, secret))
		require.NotEmpty(t, a.AccessToken)
		return a.AccessToken
	}
	own := e.stable(t, false).AccessToken
	first, second, third := tokenOf(auths[0].AppID, auths[0].Secret), tokenOf(auths[1].AppID, auths[1].Secret), tokenOf(auths[2].AppID, auths[2].Secret)
	for range 3 {
		assert.Zero(t, e.weekly(t, first).Errcode, "another authorizer's quota")
		assert.Zero(t, e.weekly(t, own).Errcode, "the default app")
	}
	assert.Zero(t, e.weekly(t, second).Errcode)
	assert.Zero(t, e.weekly(t, second).Errcode)
	assert.Equal(t, 45009, e.weekly(t, second).Errcode, "its own third call")
	assert.Zero(t, e.weekly(t, first).Errcode)
	assert.Equal(t, -1, e.weekly(t, third).Errcode, "its fault, spent by its own request")
	assert.Zero(t, e.weekly(t, third).Errcode)
	assert.Equal(t, 45009, e.weekly(t, own, "X-Wxemu-Fault", "quota-after=0@"+emulator.DefaultAppID).Errcode, "a header fault for the app")
	assert.Zero(t, e.weekly(t, first, "X-Wxemu-Fault", "quota-after=0@"+emulator.DefaultAppID).Errcode, "not for another")
	_, err := emulator.ParseFaults("token.errcode=-1@wx1")
	assert.ErrorContains(t, err, "@appid applies to analysis faults only")
	_, err = emulator.ParseFaults("errcode=-1@")
	assert.ErrorContains(t, err, "an AppID must follow @")
}
