package emulator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/openapi"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	*httptest.Server
	clock *clock
	logs  *bytes.Buffer
}

func start(t *testing.T, faults string) *env {
	fs, err := emulator.ParseFaults(faults)
	require.NoError(t, err)
	c := &clock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, openapi.CST)}
	var logs bytes.Buffer
	var mu sync.Mutex
	emu := emulator.New(emulator.Config{Now: c.Now, Faults: fs,
		Logger: slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, nil))})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return &env{srv, c, &logs}
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
	ctype       string
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
	a := answer{raw: string(b), status: resp.StatusCode, ctype: resp.Header.Get("Content-Type")}
	json.Unmarshal(b, &a)
	return a
}

func (e *env) stable(t *testing.T, force bool) answer {
	return e.do(t, "POST", "/cgi-bin/stable_token", fmt.Sprintf(`{"grant_type":"client_credential","appid":%q,"secret":%q,"force_refresh":%v}`,
		emulator.DefaultAppID, emulator.DefaultSecret, force))
}

const weekly = `{"begin_date":"20170306","end_date":"20170312"}`

func (e *env) weekly(t *testing.T, token string, header ...string) answer {
	return e.do(t, "POST", "/datacube/getweanalysisappidweeklyretaininfo?access_token="+url.QueryEscape(token), weekly, header...)
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

func TestAnalysisChecks(t *testing.T) {
	e := start(t, "")
	tok := e.stable(t, false).AccessToken
	post := func(path, body, token string) int {
		return e.do(t, "POST", path+"?access_token="+token, body).Errcode
	}
	const week = "/datacube/getweanalysisappidweeklyretaininfo"
	assert.Equal(t, 41001, e.do(t, "POST", week, weekly).Errcode, "no token")
	assert.Equal(t, 40001, post(week, weekly, "not-a-token"))
	assert.Equal(t, 43002, e.do(t, "GET", week+"?access_token="+tok, "").Errcode)
	assert.Equal(t, 44002, post(week, "", tok))
	assert.Equal(t, 47001, post(week, "{", tok))
	assert.Equal(t, 40097, post(week, `{"begin_date":"20170306"}`, tok))
	assert.Equal(t, 40097, post(week, `{"begin_date":20170306,"end_date":"20170312"}`, tok))
	assert.Equal(t, 61500, post(week, `{"begin_date":"2017-03-06","end_date":"20170312"}`, tok))
	assert.Equal(t, 61501, post(week, `{"begin_date":"20170306","end_date":"20170311"}`, tok))
	assert.Equal(t, 61501, post(week, `{"begin_date":"20261123","end_date":"20261129"}`, tok), "the week is not over")
	assert.Equal(t, 61501, post("/datacube/getweanalysisappiddailyretaininfo", `{"begin_date":"20261124","end_date":"20261124"}`, tok), "today")
	assert.Equal(t, 61501, post("/datacube/getweanalysisappiduserportrait", `{"begin_date":"20170610","end_date":"20170617"}`, tok))
	assert.Equal(t, 61501, post("/wxa/business/performance/boot",
		`{"time":{"begin_timestamp":1609603200,"end_timestamp":1612281600},"module":"10022","params":[]}`, tok))
	assert.Zero(t, post("/wxa/business/performance/boot",
		`{"time":{"begin_timestamp":1609603200,"end_timestamp":1609689600},"module":"10022","params":[{"field":"device","value":"1"}]}`, tok))
	for _, m := range openapi.Analysis {
		body := `{"begin_date":"20170313","end_date":"20170313"}`
		switch m.Name {
		case "getWeeklyRetain", "getWeeklyVisitTrend":
			body = weekly
		case "getMonthlyRetain", "getMonthlyVisitTrend":
			body = `{"begin_date":"20170201","end_date":"20170228"}`
		case "getPerformanceData":
			continue
		}
		a := e.do(t, "POST", m.Path+"?access_token="+tok, body)
		assert.Zero(t, a.Errcode, m.Name)
		assert.Equal(t, "application/json; encoding=utf-8", a.ctype)
		assert.True(t, json.Valid([]byte(a.raw)), m.Name)
	}

	// Tokens rotated by another server, and expired ones.
	assert.Zero(t, post(week, weekly, tok))
	e.do(t, "POST", "/wxemu/expire", "")
	assert.Equal(t, 42001, post(week, weekly, tok))
	e.do(t, "POST", "/wxemu/rotate", "")
	assert.Equal(t, 40001, post(week, weekly, tok))
}

func TestDataIsDeterministicAndPlausible(t *testing.T) {
	e := start(t, "")
	tok := e.stable(t, false).AccessToken
	a, b := e.weekly(t, tok), e.weekly(t, tok)
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
	// Keys only as far as time has passed: the week before last has key 1 at most.
	recent := e.do(t, "POST", "/datacube/getweanalysisappidweeklyretaininfo?access_token="+tok, `{"begin_date":"20261109","end_date":"20261115"}`)
	require.NoError(t, json.Unmarshal([]byte(recent.raw), &ret))
	assert.Len(t, ret.Active, 2)

	pages := e.do(t, "POST", "/datacube/getweanalysisappidvisitpage?access_token="+tok, `{"begin_date":"20170313","end_date":"20170313"}`)
	var vp struct {
		List []struct {
			PagePath string `json:"page_path"`
			Pv       int    `json:"page_visit_pv"`
		}
	}
	require.NoError(t, json.Unmarshal([]byte(pages.raw), &vp))
	require.Len(t, vp.List, 200, "the top 200 pages")
	for i := 1; i < len(vp.List); i++ {
		assert.LessOrEqual(t, vp.List[i].Pv, vp.List[i-1].Pv, "sorted by page_visit_pv")
	}

	dist := e.do(t, "POST", "/datacube/getweanalysisappidvisitdistribution?access_token="+tok, `{"begin_date":"20170313","end_date":"20170313"}`)
	var vd struct {
		List []struct {
			Index    string
			ItemList []struct{ Key, Value int } `json:"item_list"`
		}
	}
	require.NoError(t, json.Unmarshal([]byte(dist.raw), &vd))
	require.Len(t, vd.List, 3)
	assert.Equal(t, []string{"access_source_session_cnt", "access_staytime_info", "access_depth_info"},
		[]string{vd.List[0].Index, vd.List[1].Index, vd.List[2].Index})
	for _, it := range vd.List[0].ItemList {
		assert.True(t, it.Key >= 1 && it.Key <= 57, "a documented scene key: %d", it.Key)
	}
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
	assert.Equal(t, "text/plain", a.ctype)
	assert.True(t, json.Valid([]byte(a.raw)))
	assert.False(t, json.Valid([]byte(e.weekly(t, tok, "X-Wxemu-Fault", "truncated").raw)))
	assert.False(t, json.Valid([]byte(e.weekly(t, tok, "X-Wxemu-Fault", "malformed").raw)))
	start := time.Now()
	e.weekly(t, tok, "X-Wxemu-Fault", "latency=150ms")
	assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)

	req, _ := http.NewRequest("POST", e.URL+"/datacube/getweanalysisappidweeklyretaininfo?access_token="+tok, strings.NewReader(weekly))
	req.Header.Set("X-Wxemu-Fault", "reset")
	_, err := http.DefaultClient.Do(req)
	require.Error(t, err, "the connection is reset")

	assert.Equal(t, 400, e.weekly(t, tok, "X-Wxemu-Fault", "bogus").status)
	_, err = emulator.ParseFaults("errcode=x")
	assert.ErrorContains(t, err, `fault "errcode=x"`)
	_, err = emulator.ParseFaults("reset*0")
	assert.ErrorContains(t, err, "positive integer")
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
