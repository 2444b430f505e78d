package openapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/openapi"
)

// typedNow is the clients' clock: Thursday 10 April 2025, 10:00 CST.
func typedNow() time.Time { return time.Date(2025, 4, 10, 10, 0, 0, 0, openapi.CST) }

const typedToken = "ACCESS-TOKEN-typed-0123456789"

// scripted is an upstream that gives every analysis request the same
// answer and records the requests.
type scripted struct {
	srv *httptest.Server

	mu       sync.Mutex
	status   int
	ctype    string
	answer   string // %TOKEN% is replaced by the request's access token
	requests []scriptedRequest
}

type scriptedRequest struct{ path, token, body string }

func newScripted(t *testing.T, status int, answer string) *scripted {
	s := &scripted{status: status, ctype: "application/json; encoding=utf-8", answer: answer}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		tok := r.URL.Query().Get("access_token")
		s.mu.Lock()
		s.requests = append(s.requests, scriptedRequest{r.URL.Path, tok, string(b)})
		status, ctype, answer := s.status, s.ctype, s.answer
		s.mu.Unlock()
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		io.WriteString(w, strings.ReplaceAll(answer, "%TOKEN%", tok))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *scripted) client(t *testing.T) *openapi.Client {
	c, err := openapi.NewClient(openapi.StaticToken(typedToken), openapi.WithBaseURL(s.srv.URL),
		openapi.WithClock(typedNow), openapi.WithRetries(3, time.Millisecond))
	require.NoError(t, err)
	return c
}

func (s *scripted) sent() []scriptedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]scriptedRequest(nil), s.requests...)
}

// memoryParams asks for two days of memory figures on wifi.
func memoryParams() *openapi.PerformanceParams {
	begin := time.Date(2025, 3, 8, 0, 0, 0, 0, openapi.CST).Unix()
	return &openapi.PerformanceParams{Module: "10022", Time: openapi.PerformanceTime{BeginTimestamp: begin, EndTimestamp: begin + 86400},
		Params: []openapi.PerformanceParam{{Field: "networktype", Value: "wifi"}}}
}

func raw(t *testing.T, extra map[string]json.RawMessage, key string) string {
	t.Helper()
	v, ok := extra[key]
	require.True(t, ok, "Extra has no %q: %v", key, extra)
	return string(v)
}

// Each typed method sends its dates to its path and decodes WeChat's
// documented answer exactly, keeping members its types do not name.
func TestTypedMethodsDecodeWeChatAnswers(t *testing.T) {
	tests := []struct {
		name, path, request, answer string
		call                        func(*openapi.Client) (any, error)
		check                       func(t *testing.T, v any)
	}{
		{
			name: "DailyRetain", path: "/datacube/getweanalysisappiddailyretaininfo",
			call: func(c *openapi.Client) (any, error) {
				return c.DailyRetain(context.Background(), "20250309", "20250309")
			},
			request: `{"begin_date":"20250309","end_date":"20250309"}`,
			answer: `{"ref_date":"20250309","visit_uv_new":[{"key":0,"value":12345678901234567890,"ratio":0.5}],
				"visit_uv":[{"key":0,"value":55500}],"new_metric":[1,2]}`,
			check: func(t *testing.T, v any) {
				r := v.(*openapi.Retain)
				assert.Equal(t, "20250309", r.RefDate)
				assert.Equal(t, json.Number("12345678901234567890"), r.VisitUVNew[0].Value, "more digits than a float64 holds")
				assert.Equal(t, "0.5", raw(t, r.VisitUVNew[0].Extra, "ratio"))
				assert.Equal(t, []openapi.KeyValue{{Key: "0", Value: "55500"}}, r.VisitUV)
				assert.Equal(t, "[1,2]", raw(t, r.Extra, "new_metric"))
			},
		},
		{
			name: "WeeklyRetain", path: "/datacube/getweanalysisappidweeklyretaininfo",
			call: func(c *openapi.Client) (any, error) {
				return c.WeeklyRetain(context.Background(), "20250303", "20250309")
			},
			request: `{"begin_date":"20250303","end_date":"20250309"}`,
			answer: `{"ref_date":"20250303-20250309","visit_uv_new":[{"key":0,"value":0},{"key":1,"value":16853}],
				"visit_uv":[{"key":0,"value":0},{"key":1,"value":99310}]}`,
			check: func(t *testing.T, v any) {
				r := v.(*openapi.Retain)
				assert.Equal(t, "20250303-20250309", r.RefDate)
				assert.Equal(t, []openapi.KeyValue{{Key: "0", Value: "0"}, {Key: "1", Value: "16853"}}, r.VisitUVNew)
				assert.Equal(t, json.Number("99310"), r.VisitUV[1].Value)
				assert.Nil(t, r.Extra)
			},
		},
		{
			name: "MonthlyRetain", path: "/datacube/getweanalysisappidmonthlyretaininfo",
			call: func(c *openapi.Client) (any, error) {
				return c.MonthlyRetain(context.Background(), "20250201", "20250228")
			},
			request: `{"begin_date":"20250201","end_date":"20250228"}`,
			answer:  `{"ref_date":"202502","visit_uv_new":[{"key":0,"value":346249}],"visit_uv":[{"key":0,"value":346249}]}`,
			check: func(t *testing.T, v any) {
				r := v.(*openapi.Retain)
				assert.Equal(t, "202502", r.RefDate)
				assert.Equal(t, json.Number("346249"), r.VisitUVNew[0].Value)
			},
		},
		{
			name: "DailySummary", path: "/datacube/getweanalysisappiddailysummarytrend",
			call: func(c *openapi.Client) (any, error) {
				return c.DailySummary(context.Background(), "20250309", "20250309")
			},
			request: `{"begin_date":"20250309","end_date":"20250309"}`,
			answer:  `{"list":[{"ref_date":"20250309","visit_total":391,"share_pv":572,"share_uv":383}]}`,
			check: func(t *testing.T, v any) {
				assert.Equal(t, []openapi.SummaryItem{{RefDate: "20250309", VisitTotal: "391", SharePV: "572", ShareUV: "383"}},
					v.(*openapi.Summary).List)
			},
		},
		{
			name: "DailyVisitTrend", path: "/datacube/getweanalysisappiddailyvisittrend",
			call: func(c *openapi.Client) (any, error) {
				return c.DailyVisitTrend(context.Background(), "20250309", "20250309")
			},
			request: `{"begin_date":"20250309","end_date":"20250309"}`,
			answer: `{"list":[{"ref_date":"20250309","session_cnt":142549,"visit_pv":472351,"visit_uv":55500,
				"visit_uv_new":5464,"stay_time_session":0,"visit_depth":1.9838}]}`,
			check: func(t *testing.T, v any) {
				assert.Equal(t, []openapi.VisitTrendItem{{RefDate: "20250309", SessionCnt: "142549", VisitPV: "472351",
					VisitUV: "55500", VisitUVNew: "5464", StayTimeSession: "0", VisitDepth: "1.9838"}}, v.(*openapi.VisitTrend).List,
					"stay_time_uv is absent, as in WeChat's example")
			},
		},
		{
			name: "WeeklyVisitTrend", path: "/datacube/getweanalysisappidweeklyvisittrend",
			call: func(c *openapi.Client) (any, error) {
				return c.WeeklyVisitTrend(context.Background(), "20250303", "20250309")
			},
			request: `{"begin_date":"20250303","end_date":"20250309"}`,
			answer: `{"list":[{"ref_date":"20250303-20250309","session_cnt":986780,"visit_pv":3251840,"visit_uv":189405,
				"visit_uv_new":45592,"stay_time_uv":284.1,"stay_time_session":54.5346,"visit_depth":1.9735}]}`,
			check: func(t *testing.T, v any) {
				it := v.(*openapi.VisitTrend).List[0]
				assert.Equal(t, json.Number("54.5346"), it.StayTimeSession)
				assert.Equal(t, json.Number("284.1"), it.StayTimeUV)
			},
		},
		{
			name: "MonthlyVisitTrend", path: "/datacube/getweanalysisappidmonthlyvisittrend",
			call: func(c *openapi.Client) (any, error) {
				return c.MonthlyVisitTrend(context.Background(), "20250301", "20250331")
			},
			request: `{"begin_date":"20250301","end_date":"20250331"}`,
			answer: `{"list":[{"ref_date":"202503","session_cnt":126513,"visit_pv":426113,"visit_uv":48659,
				"visit_uv_new":6726,"stay_time_session":56.4112,"visit_depth":2.0189}]}`,
			check: func(t *testing.T, v any) {
				it := v.(*openapi.VisitTrend).List[0]
				assert.Equal(t, "202503", it.RefDate)
				assert.Equal(t, json.Number("2.0189"), it.VisitDepth)
			},
		},
		{
			name: "VisitDistribution", path: "/datacube/getweanalysisappidvisitdistribution",
			call: func(c *openapi.Client) (any, error) {
				return c.VisitDistribution(context.Background(), "20250309", "20250309")
			},
			request: `{"begin_date":"20250309","end_date":"20250309"}`,
			answer: `{"ref_date":"20250309","list":[
				{"index":"access_source_session_cnt","item_list":[{"key":10,"value":5,"access_source_visit_uv":3},{"key":8,"value":687}]},
				{"index":"access_depth_info","item_list":[]}]}`,
			check: func(t *testing.T, v any) {
				d := v.(*openapi.VisitDistribution)
				assert.Equal(t, "20250309", d.RefDate)
				require.Len(t, d.List, 2)
				assert.Equal(t, "access_source_session_cnt", d.List[0].Index)
				assert.Equal(t, json.Number("10"), d.List[0].ItemList[0].Key)
				assert.Equal(t, "3", raw(t, d.List[0].ItemList[0].Extra, "access_source_visit_uv"))
				assert.Equal(t, json.Number("687"), d.List[0].ItemList[1].Value)
				assert.Empty(t, d.List[1].ItemList)
			},
		},
		{
			name: "VisitPage", path: "/datacube/getweanalysisappidvisitpage",
			call: func(c *openapi.Client) (any, error) {
				return c.VisitPage(context.Background(), "20250309", "20250309")
			},
			request: `{"begin_date":"20250309","end_date":"20250309"}`,
			answer: `{"ref_date":"20250309","list":[{"page_path":"pages\/main\/main.html","page_visit_pv":213429,
				"page_visit_uv":55423,"page_staytime_pv":8.139198,"entrypage_pv":117922,"exitpage_pv":61304,
				"page_share_pv":180,"page_share_uv":166}]}`,
			check: func(t *testing.T, v any) {
				assert.Equal(t, []openapi.Page{{PagePath: "pages/main/main.html", PageVisitPV: "213429", PageVisitUV: "55423",
					PageStayTimePV: "8.139198", EntryPagePV: "117922", ExitPagePV: "61304", PageSharePV: "180", PageShareUV: "166"}},
					v.(*openapi.VisitPage).List)
			},
		},
		{
			name: "UserPortrait", path: "/datacube/getweanalysisappiduserportrait",
			call: func(c *openapi.Client) (any, error) {
				return c.UserPortrait(context.Background(), "20250303", "20250309")
			},
			request: `{"begin_date":"20250303","end_date":"20250309"}`,
			answer: `{"ref_date":"20250303-20250309",
				"visit_uv_new":{"index":0,"province":[{"id":31,"name":"广东省","value":215}],"city":[],"genders":[],
					"platforms":[],"devices":[{"name":"OPPO R9","value":61}],"ages":[{"id":0,"name":"未知","value":1}]},
				"visit_uv":{"province":[],"city":[{"id":3102,"name":"广州","value":234}],"genders":[{"id":1,"name":"男","value":14534}],
					"platforms":[{"id":1,"name":"iPhone","value":21750}],"devices":[],"ages":[]}}`,
			check: func(t *testing.T, v any) {
				p := v.(*openapi.UserPortrait)
				assert.Equal(t, "20250303-20250309", p.RefDate)
				assert.Equal(t, []openapi.PortraitItem{{ID: "31", Name: "广东省", Value: "215"}}, p.VisitUVNew.Province)
				assert.Equal(t, []openapi.PortraitItem{{Name: "OPPO R9", Value: "61"}}, p.VisitUVNew.Devices, "devices have no id")
				assert.Equal(t, "0", raw(t, p.VisitUVNew.Extra, "index"))
				assert.Equal(t, "男", p.VisitUV.Genders[0].Name)
				assert.Empty(t, p.VisitUV.Province)
			},
		},
		{
			name: "PerformanceData", path: "/wxa/business/performance/boot",
			call: func(c *openapi.Client) (any, error) {
				return c.PerformanceData(context.Background(), memoryParams())
			},
			request: `{"time":{"begin_timestamp":1741363200,"end_timestamp":1741449600},"module":"10022",
				"params":[{"field":"networktype","value":"wifi"}]}`,
			answer: `{"errcode":0,"errmsg":"ok","data":{"body":{"tables":[{"id":"memorydiff","lines":[{"fields":[
				{"refdate":"20250308","value":"70.7778"},{"refdate":"20250309","value":"72.0446"}]}],"zh":"内存增长均值"}],"count":1}}}`,
			check: func(t *testing.T, v any) {
				p := v.(*openapi.PerformanceData)
				assert.Nil(t, p.Extra, "errcode and errmsg are the call's, not unknown members")
				body := p.Data.Body
				assert.Equal(t, json.Number("1"), body.Count)
				require.Len(t, body.Tables, 1)
				assert.Equal(t, "memorydiff", body.Tables[0].ID)
				assert.Equal(t, "内存增长均值", body.Tables[0].Name)
				assert.Equal(t, []openapi.PerformanceField{{RefDate: "20250308", Value: "70.7778"}, {RefDate: "20250309", Value: "72.0446"}},
					body.Tables[0].Lines[0].Fields, "string figures become numbers, digit for digit")
			},
		},
	}
	require.Len(t, tests, len(openapi.Names()), "one case per method")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newScripted(t, http.StatusOK, tt.answer)
			v, err := tt.call(up.client(t))
			require.NoError(t, err)
			sent := up.sent()
			require.Len(t, sent, 1)
			assert.Equal(t, tt.path, sent[0].path)
			assert.Equal(t, typedToken, sent[0].token)
			assert.JSONEq(t, tt.request, sent[0].body)
			tt.check(t, v)
		})
	}
}

// Each typed method applies its own method's date rule before any request.
func TestTypedMethodsCheckFirst(t *testing.T) {
	tests := []struct {
		api  string
		call func(*openapi.Client, context.Context) (any, error)
		code int
	}{
		{"getDailyRetain", func(c *openapi.Client, ctx context.Context) (any, error) {
			return c.DailyRetain(ctx, "20250309", "20250310")
		}, openapi.CodeDateRange},
		{"getWeeklyRetain", func(c *openapi.Client, ctx context.Context) (any, error) {
			return c.WeeklyRetain(ctx, "20250304", "20250310")
		}, openapi.CodeDateRange},
		{"getMonthlyRetain", func(c *openapi.Client, ctx context.Context) (any, error) {
			return c.MonthlyRetain(ctx, "20250201", "20250227")
		}, openapi.CodeDateRange},
		{"getDailySummary", func(c *openapi.Client, ctx context.Context) (any, error) {
			return c.DailySummary(ctx, "2025-03-09", "2025-03-09")
		}, openapi.CodeDateFormat},
		{"getDailyVisitTrend", func(c *openapi.Client, ctx context.Context) (any, error) {
			return c.DailyVisitTrend(ctx, "20250410", "20250410")
		}, openapi.CodeDateRange},
		{"getWeeklyVisitTrend", func(c *openapi.Client, ctx context.Context) (any, error) {
			return c.WeeklyVisitTrend(ctx, "20250407", "20250413")
		}, openapi.CodeDateRange},
		{"getMonthlyVisitTrend", func(c *openapi.Client, ctx context.Context) (any, error) {
			return c.MonthlyVisitTrend(ctx, "20250301", "20250330")
		}, openapi.CodeDateRange},
		{"getVisitDistribution", func(c *openapi.Client, ctx context.Context) (any, error) {
			return c.VisitDistribution(ctx, "20250231", "20250231")
		}, openapi.CodeDateFormat},
		{"getVisitPage", func(c *openapi.Client, ctx context.Context) (any, error) {
			return c.VisitPage(ctx, "20250308", "20250309")
		}, openapi.CodeDateRange},
		{"getUserPortrait", func(c *openapi.Client, ctx context.Context) (any, error) {
			return c.UserPortrait(ctx, "20250307", "20250309")
		}, openapi.CodeDateRange},
		{"getPerformanceData", func(c *openapi.Client, ctx context.Context) (any, error) {
			p := memoryParams()
			p.Time.EndTimestamp = p.Time.BeginTimestamp + 31*86400
			return c.PerformanceData(ctx, p)
		}, openapi.CodeDateRange},
		{"getPerformanceData", func(c *openapi.Client, ctx context.Context) (any, error) {
			p := memoryParams()
			p.Module = "1"
			return c.PerformanceData(ctx, p)
		}, openapi.CodeInvalidArgs},
		{"getPerformanceData", func(c *openapi.Client, ctx context.Context) (any, error) { return c.PerformanceData(ctx, nil) }, openapi.CodeInvalidArgs},
	}
	up := newScripted(t, http.StatusOK, `{}`)
	c := up.client(t)
	for _, tt := range tests {
		t.Run(tt.api+"/"+strconv.Itoa(tt.code), func(t *testing.T) {
			v, err := tt.call(c, context.Background())
			require.Error(t, err)
			assert.True(t, reflect.ValueOf(v).IsNil(), "no result with an error")
			var e *openapi.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.code, e.Code, e.Msg)
			assert.Equal(t, "analysis."+tt.api, e.API)
			assert.ErrorIs(t, err, openapi.ErrBadRequest)
		})
	}
	assert.Empty(t, up.sent(), "nothing reaches WeChat")
}

// The typed methods accept and refuse the answers Call does, and report
// failures as an *Error with the HTTP status and body.
func TestTypedAnswers(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		ctype   string
		answer  string
		code    int    // 0: success
		kind    error  // for errors.Is
		msg     string // contained in the message
		tries   int
		visitUV []openapi.KeyValue
	}{
		{name: "errcode 0 is success", status: 200, answer: `{"errcode":0,"errmsg":"ok","ref_date":"x","visit_uv":[{"key":0,"value":7}]}`,
			tries: 1, visitUV: []openapi.KeyValue{{Key: "0", Value: "7"}}},
		{name: "null lists", status: 200, answer: `{"ref_date":"x","visit_uv":null}`, tries: 1},
		{name: "JSON sent as text/plain", status: 200, ctype: "text/plain", answer: `{"visit_uv":[{"key":1,"value":2}]}`,
			tries: 1, visitUV: []openapi.KeyValue{{Key: "1", Value: "2"}}},
		{name: "quota", status: 200, answer: `{"errcode":45009,"errmsg":"reach max api daily quota limit rid: 1-2-3"}`,
			code: 45009, kind: openapi.ErrQuota, msg: "reach max api daily quota limit rid: 1-2-3", tries: 1},
		{name: "data not ready", status: 200, answer: `{"errcode":61503,"errmsg":"data not ready, please try later"}`,
			code: 61503, kind: openapi.ErrNotReady, msg: "data not ready", tries: 1},
		{name: "token refused", status: 200, answer: `{"errcode":40001,"errmsg":"invalid credential"}`,
			code: 40001, kind: openapi.ErrTokenRefused, msg: "invalid credential", tries: 1},
		{name: "system error is retried", status: 200, answer: `{"errcode":-1,"errmsg":"system error"}`,
			code: -1, msg: "system error", tries: 3},
		{name: "HTTP 502 is retried", status: 502, answer: ``, code: openapi.CodeInternal, msg: "HTTP 502 Bad Gateway", tries: 3},
		{name: "not JSON", status: 200, answer: `<html>busy</html>`, code: openapi.CodeInternal,
			msg: "response body is invalid json: <html>busy</html>", tries: 1},
		{name: "not JSON as text/plain", status: 200, ctype: "text/plain", answer: `busy`, code: openapi.CodeInternal,
			kind: openapi.ErrNotAnswer, msg: "the answer is not a getWeeklyRetain answer, a JSON object with visit_uv_new or visit_uv: busy", tries: 1},
		{name: "null", status: 200, answer: `null`, code: openapi.CodeInternal, kind: openapi.ErrNotAnswer,
			msg: "the answer is not a getWeeklyRetain answer", tries: 1},
		{name: "another method's answer", status: 200, answer: `{"list":[]}`, code: openapi.CodeInternal, kind: openapi.ErrNotAnswer,
			msg: "the answer is not a getWeeklyRetain answer", tries: 1},
		{name: "wrong shape", status: 200, answer: `{"ref_date":"x","visit_uv_new":[],"visit_uv":{"key":0}}`, code: openapi.CodeInternal,
			msg: "the answer does not fit openapi.Retain: json: cannot unmarshal object", tries: 1},
		{name: "not a number", status: 200, answer: `{"visit_uv":[{"key":0,"value":"many"}]}`, code: openapi.CodeInternal,
			msg: "the answer does not fit openapi.Retain", tries: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newScripted(t, tt.status, tt.answer)
			if tt.ctype != "" {
				up.ctype = tt.ctype
			}
			r, err := up.client(t).WeeklyRetain(context.Background(), "20250303", "20250309")
			assert.Len(t, up.sent(), tt.tries, "requests")
			if tt.code == 0 {
				require.NoError(t, err)
				assert.Equal(t, tt.visitUV, r.VisitUV)
				assert.Nil(t, r.Extra)
				return
			}
			require.Error(t, err)
			assert.Nil(t, r)
			var e *openapi.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.code, e.Code)
			assert.Equal(t, "analysis.getWeeklyRetain", e.API)
			assert.Contains(t, e.Msg, tt.msg)
			assert.Equal(t, tt.status, e.StatusCode)
			assert.Equal(t, tt.answer, string(e.Body))
			if tt.kind != nil {
				assert.ErrorIs(t, err, tt.kind)
			}
		})
	}
}

// An answer that echoes the access token does not hand it on.
func TestTypedResultsHoldNoToken(t *testing.T) {
	up := newScripted(t, http.StatusOK, `{"ref_date":"20250309","list":[{"page_path":"pages/x?access_token=%TOKEN%","page_visit_pv":1}]}`)
	r, err := up.client(t).VisitPage(context.Background(), "20250309", "20250309")
	require.NoError(t, err)
	assert.Equal(t, "pages/x?access_token=REDACTED", r.List[0].PagePath)

	up = newScripted(t, http.StatusOK, `{"visit_uv":"%TOKEN%"}`)
	_, err = up.client(t).WeeklyRetain(context.Background(), "20250303", "20250309")
	var e *openapi.Error
	require.ErrorAs(t, err, &e)
	assert.NotContains(t, string(e.Body)+e.Error(), typedToken)
}

// json.Unmarshal of a stored answer fills the types as a call does.
func TestTypedUnmarshal(t *testing.T) {
	var r openapi.Retain
	require.NoError(t, json.Unmarshal([]byte(`{"ref_date":"201702","visit_uv":[{"key":0,"value":1e3}],"a":{"b":null},"c":null}`), &r))
	assert.Equal(t, []openapi.KeyValue{{Key: "0", Value: "1e3"}}, r.VisitUV)
	assert.Equal(t, map[string]json.RawMessage{"a": json.RawMessage(`{"b":null}`), "c": json.RawMessage(`null`)}, r.Extra)
	require.NoError(t, json.Unmarshal([]byte(`{"ref_date":"201703"}`), &r))
	assert.Nil(t, r.Extra, "a second decode leaves nothing of the first")
	assert.Error(t, json.Unmarshal([]byte(`[1]`), &r))
}

// extras returns the paths of the Extra maps that hold anything in v.
func extras(v reflect.Value, path string) []string {
	var out []string
	switch v.Kind() {
	case reflect.Pointer:
		return extras(v.Elem(), path)
	case reflect.Slice:
		for i := range v.Len() {
			out = append(out, extras(v.Index(i), path+"["+strconv.Itoa(i)+"]")...)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if f.Name == "Extra" && v.Field(i).Len() > 0 {
				out = append(out, path+".Extra")
			} else if f.Name != "Extra" {
				out = append(out, extras(v.Field(i), path+"."+f.Name)...)
			}
		}
	}
	return out
}

// Against the emulator, every method succeeds, and the types name every
// member it answers.
func TestTypedMethodsAgainstEmulator(t *testing.T) {
	srv := httptest.NewServer(emulator.New(emulator.Config{Now: typedNow}))
	t.Cleanup(srv.Close)
	c, err := openapi.NewClient(&openapi.StableToken{BaseURL: srv.URL, AppID: emulator.DefaultAppID, Secret: emulator.DefaultSecret},
		openapi.WithBaseURL(srv.URL), openapi.WithClock(typedNow))
	require.NoError(t, err)
	ctx := context.Background()
	calls := map[string]func() (any, error){
		"DailyRetain":       func() (any, error) { return c.DailyRetain(ctx, "20250309", "20250309") },
		"WeeklyRetain":      func() (any, error) { return c.WeeklyRetain(ctx, "20250303", "20250309") },
		"MonthlyRetain":     func() (any, error) { return c.MonthlyRetain(ctx, "20250201", "20250228") },
		"DailySummary":      func() (any, error) { return c.DailySummary(ctx, "20250309", "20250309") },
		"DailyVisitTrend":   func() (any, error) { return c.DailyVisitTrend(ctx, "20250309", "20250309") },
		"WeeklyVisitTrend":  func() (any, error) { return c.WeeklyVisitTrend(ctx, "20250303", "20250309") },
		"MonthlyVisitTrend": func() (any, error) { return c.MonthlyVisitTrend(ctx, "20250301", "20250331") },
		"VisitDistribution": func() (any, error) { return c.VisitDistribution(ctx, "20250309", "20250309") },
		"VisitPage":         func() (any, error) { return c.VisitPage(ctx, "20250309", "20250309") },
		"UserPortrait":      func() (any, error) { return c.UserPortrait(ctx, "20250212", "20250313") },
		"PerformanceData":   func() (any, error) { return c.PerformanceData(ctx, memoryParams()) },
	}
	require.Len(t, calls, len(openapi.Names()))
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			v, err := call()
			require.NoError(t, err)
			assert.False(t, reflect.ValueOf(v).Elem().IsZero(), "an empty result")
			assert.Empty(t, extras(reflect.ValueOf(v), name), "members the types do not name")
		})
	}
	_, err = c.WeeklyRetain(ctx, "20250407", "20250413")
	assert.True(t, errors.Is(err, openapi.ErrBadRequest), "%v", err)
}
