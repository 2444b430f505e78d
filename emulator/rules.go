package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// This file is the emulator's own reading of what WeChat checks, written from
// the API documentation (shared/reference/analysis-api.md §2–3), not from the
// function's code: an end-to-end test then catches a rule the function gets
// wrong instead of agreeing with it.

// cst is China Standard Time, in which WeChat's dates are days.
var cst = time.FixedZone("CST", 8*60*60)

// A span is the date rule of a method's begin_date and end_date.
type span int

const (
	oneDay   span = iota // "限定查询1天数据": begin_date == end_date
	week                 // a Monday to the Sunday after
	month                // the first to the last day of one month
	recent               // user portrait: end - begin is 0, 6 or 29 days
	timeSpan             // getPerformanceData: time.begin/end_timestamp at most 30 days apart
)

type method struct {
	name, path string
	span       span
}

// methods are the analysis APIs: cloud-call name, upstream path, date rule.
var methods = []method{
	{"getDailyRetain", "/datacube/getweanalysisappiddailyretaininfo", oneDay},
	{"getWeeklyRetain", "/datacube/getweanalysisappidweeklyretaininfo", week},
	{"getMonthlyRetain", "/datacube/getweanalysisappidmonthlyretaininfo", month},
	{"getDailySummary", "/datacube/getweanalysisappiddailysummarytrend", oneDay},
	{"getDailyVisitTrend", "/datacube/getweanalysisappiddailyvisittrend", oneDay},
	{"getWeeklyVisitTrend", "/datacube/getweanalysisappidweeklyvisittrend", week},
	{"getMonthlyVisitTrend", "/datacube/getweanalysisappidmonthlyvisittrend", month},
	{"getVisitDistribution", "/datacube/getweanalysisappidvisitdistribution", oneDay},
	{"getVisitPage", "/datacube/getweanalysisappidvisitpage", oneDay},
	{"getUserPortrait", "/datacube/getweanalysisappiduserportrait", recent},
	{"getPerformanceData", "/wxa/business/performance/boot", timeSpan},
}

// methodByAPI finds a method by its cloud-call API name, "analysis.getWeeklyRetain".
func methodByAPI(api string) *method {
	for i := range methods {
		if "analysis."+methods[i].name == api {
			return &methods[i]
		}
	}
	return nil
}

// WeChat's errcodes for what it checks.
const (
	codeArgs       = 40097 // invalid args: a field missing or of the wrong type
	codeFormat     = 47001 // the body is not JSON
	codeDateFormat = 61500 // a date not yyyymmdd
	codeDateRange  = 61501 // dates that break the method's rule
	codeGame       = 61502 // a mini game has no data API
	codeNotReady   = 61503 // the period's data is not computed yet
)

// query is an analysis request body, as WeChat reads it (snake_case).
type query struct {
	BeginDate *string `json:"begin_date"`
	EndDate   *string `json:"end_date"`
	Time      *struct {
		Begin *json.Number `json:"begin_timestamp"`
		End   *json.Number `json:"end_timestamp"`
	} `json:"time"`
	Module *json.RawMessage `json:"module"` // documented as a number, sent as a string in the example
	Params *[]struct {
		Field *string `json:"field"`
		Value *string `json:"value"`
	} `json:"params"`

	begin, end time.Time // the dates, parsed by check
	module     string
}

// performanceParams are getPerformanceData's documented modules, and its
// params' fields with their values.
var (
	performanceModules = map[string]bool{"10016": true, "10017": true, "10021": true, "10022": true, "10023": true}
	performanceFields  = map[string][]string{
		"networktype":  {"-1", "3g", "4g", "wifi"},
		"device_level": {"-1", "1", "2", "3"},
		"device":       {"-1", "1", "2"},
	}
)

// parseQuery decodes body for m, or returns 47001 (not JSON) or 40097 (a
// required field missing or of the wrong type).
func parseQuery(m *method, body []byte) (*query, int) {
	var q query
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&q); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, codeArgs
		}
		return nil, codeFormat
	}
	if m.span != timeSpan {
		if q.BeginDate == nil || q.EndDate == nil {
			return nil, codeArgs
		}
		return &q, 0
	}
	if q.Time == nil || q.Time.Begin == nil || q.Time.End == nil || q.Module == nil || q.Params == nil {
		return nil, codeArgs
	}
	q.module = string(*q.Module)
	if s, err := strconv.Unquote(q.module); err == nil {
		q.module = s
	}
	if !performanceModules[q.module] {
		return nil, codeArgs
	}
	for _, p := range *q.Params {
		if p.Field == nil || p.Value == nil || !contains(performanceFields[*p.Field], *p.Value) {
			return nil, codeArgs
		}
	}
	return &q, 0
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// day parses a yyyymmdd date in CST.
func day(s string) (time.Time, bool) {
	if len(s) != 8 {
		return time.Time{}, false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
	}
	t, err := time.ParseInLocation("20060102", s, cst)
	return t, err == nil
}

// midnight is the start of t's day in CST.
func midnight(t time.Time) time.Time {
	y, m, d := t.In(cst).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, cst)
}

// check applies m's date rule at time now and returns 0, 40097, 61500 or
// 61501.
// It fills q.begin and q.end.
func (q *query) check(m *method, now time.Time) int {
	if m.span == timeSpan {
		b, errB := q.Time.Begin.Int64()
		e, errE := q.Time.End.Int64()
		switch {
		case errB != nil || errE != nil:
			return codeArgs // seconds are integers
		case b <= 0 || e < b || e-b > 30*24*60*60:
			return codeDateRange
		}
		q.begin, q.end = time.Unix(b, 0).In(cst), time.Unix(e, 0).In(cst)
		return 0
	}
	var okB, okE bool
	q.begin, okB = day(*q.BeginDate)
	q.end, okE = day(*q.EndDate)
	if !okB || !okE {
		return codeDateFormat
	}
	yesterday := midnight(now).AddDate(0, 0, -1)
	if q.end.Before(q.begin) || q.end.After(yesterday) {
		return codeDateRange
	}
	days := int(q.end.Sub(q.begin) / (24 * time.Hour)) // CST has no DST: whole days
	ok := true
	switch m.span {
	case oneDay:
		ok = days == 0
	case week:
		ok = q.begin.Weekday() == time.Monday && days == 6
	case month:
		ok = q.begin.Day() == 1 && q.end.Equal(q.begin.AddDate(0, 1, -1))
	case recent:
		ok = days == 0 || days == 6 || days == 29
	}
	if !ok {
		return codeDateRange
	}
	return 0
}
