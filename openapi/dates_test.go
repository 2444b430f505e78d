package openapi_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/openapi"
)

func check(t *testing.T, method string, now time.Time, begin, end string) error {
	t.Helper()
	m, ok := openapi.Lookup(method)
	require.True(t, ok, method)
	return dateParams(t, &m, begin, end).Check(now)
}

// dateParams returns m's parameters holding begin and end.
func dateParams(t *testing.T, m *openapi.Method, begin, end string) openapi.Params {
	b, err := json.Marshal(map[string]string{"beginDate": begin, "endDate": end})
	require.NoError(t, err)
	p := m.Params()
	require.NoError(t, json.Unmarshal(b, p))
	return p
}

// cst builds an instant from a China Standard Time wall clock.
func cst(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, openapi.CST)
	if err != nil {
		panic(err)
	}
	return t
}

func TestDateRules(t *testing.T) {
	now := cst("2026-11-24 10:00") // a Tuesday
	tests := []struct {
		method, begin, end string
		code               int    // 0: accepted
		msg                string // a fragment of the message
	}{
		// Format and calendar.
		{"getDailyRetain", "2017-03-06", "20170306", 61500, `beginDate "2017-03-06" must be a date in yyyymmdd format`},
		{"getDailyRetain", "20170306", "", 61500, `endDate "" must be a date in yyyymmdd format`},
		{"getDailyRetain", "20170230", "20170230", 61500, "beginDate 20170230 is not a calendar date"},
		{"getDailyRetain", "99999999", "99999999", 61500, "not a calendar date"},
		{"getDailyRetain", "２０１７0306", "20170306", 61500, "yyyymmdd"},
		{"getDailyRetain", "+2017030", "20170306", 61500, "yyyymmdd"},
		// One day.
		{"getDailyRetain", "20170313", "20170313", 0, ""},
		{"getDailySummary", "20170313", "20170314", 61501, "endDate 20170314 must equal beginDate 20170313"},
		{"getVisitPage", "20170313", "20170312", 61501, "must equal beginDate"},
		// Weekly: Monday to Sunday.
		{"getWeeklyRetain", "20170306", "20170312", 0, ""},
		{"getWeeklyRetain", "20170306", "20170311", 61501,
			"endDate 20170311 must be 20170312, the Sunday of the week that begins on beginDate 20170306"},
		{"getWeeklyVisitTrend", "20170305", "20170311", 61501, "beginDate 20170305 must be a Monday, not a Sunday"},
		{"getWeeklyVisitTrend", "20170307", "20170313", 61501, "must be a Monday, not a Tuesday"},
		// Monthly: first to last day; leap years.
		{"getMonthlyRetain", "20170201", "20170228", 0, ""},
		{"getMonthlyRetain", "20240201", "20240229", 0, ""},
		{"getMonthlyRetain", "20240201", "20240228", 61501, "endDate 20240228 must be 20240229, the last day of the month"},
		{"getMonthlyRetain", "20230201", "20230229", 61500, "endDate 20230229 is not a calendar date"},
		{"getMonthlyRetain", "20230201", "20230228", 0, ""},
		{"getMonthlyRetain", "20170202", "20170228", 61501, "beginDate 20170202 must be the first day of a month, such as 20170201"},
		{"getMonthlyVisitTrend", "20170301", "20170331", 0, ""},
		{"getMonthlyVisitTrend", "20170301", "20170330", 61501, "must be 20170331"},
		// User portrait: the last 1, 7 or 30 days.
		{"getUserPortrait", "20170617", "20170617", 0, ""},
		{"getUserPortrait", "20170611", "20170617", 0, ""},
		{"getUserPortrait", "20170519", "20170617", 0, ""},
		{"getUserPortrait", "20170612", "20170617", 61501, "must be 0, 6 or 29 days after beginDate 20170612 (the last 1, 7 or 30 days), not 5"},
		{"getUserPortrait", "20170518", "20170617", 61501, "not 30"},
		{"getUserPortrait", "20170618", "20170617", 61501, "not -1"},
		// No date after yesterday, in China Standard Time.
		{"getDailyVisitTrend", "20261123", "20261123", 0, ""},
		{"getDailyVisitTrend", "20261124", "20261124", 61501, "endDate 20261124 is after yesterday, 20261123 in China Standard Time"},
		{"getVisitDistribution", "20261125", "20261125", 61501, "after yesterday"},
		{"getUserPortrait", "20261025", "20261123", 0, ""},
		{"getUserPortrait", "20261026", "20261124", 61501, "after yesterday"},
		{"getWeeklyRetain", "20261116", "20261122", 0, ""},
		{"getWeeklyRetain", "20261123", "20261129", 61501,
			"the week 20261123 to 20261129 is not over: the latest complete week is 20261116 to 20261122"},
		{"getMonthlyRetain", "20261001", "20261031", 0, ""},
		{"getMonthlyRetain", "20261101", "20261130", 61501, "the latest complete month ends on 20261031"},
		{"getMonthlyVisitTrend", "20261001", "20261031", 0, ""},
		{"getMonthlyVisitTrend", "20261101", "20261130", 61501, "the latest month with data is 202610 (20261001 to 20261031)"},
	}
	for _, tc := range tests {
		t.Run(tc.method+"/"+tc.begin+"-"+tc.end, func(t *testing.T) {
			err := check(t, tc.method, now, tc.begin, tc.end)
			if tc.code == 0 {
				require.NoError(t, err)
				return
			}
			var e *openapi.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.code, e.Code)
			assert.Contains(t, e.Msg, tc.msg)
		})
	}
}

// The day turns at midnight China Standard Time, whatever the machine's zone.
func TestYesterdayTurnsAtMidnightCST(t *testing.T) {
	// 23:59 on the 24th in CST: the 23rd is yesterday, the 24th is today.
	late := cst("2026-11-24 23:59")
	require.NoError(t, check(t, "getDailyRetain", late, "20261123", "20261123"))
	require.Error(t, check(t, "getDailyRetain", late, "20261124", "20261124"))
	// 00:00 on the 25th in CST is still the 24th in UTC: the 24th is now yesterday.
	midnight := cst("2026-11-25 00:00")
	assert.Equal(t, 24, midnight.UTC().Day())
	require.NoError(t, check(t, "getDailyRetain", midnight.UTC(), "20261124", "20261124"))
	require.Error(t, check(t, "getDailyRetain", midnight.UTC(), "20261125", "20261125"))
	// Sunday vs Saturday: a week is over once its Sunday is yesterday.
	monday := cst("2026-11-23 00:00")
	require.NoError(t, check(t, "getWeeklyRetain", monday, "20261116", "20261122"))
	sunday := cst("2026-11-22 23:59")
	require.Error(t, check(t, "getWeeklyRetain", sunday, "20261116", "20261122"))
	// The first of a month makes the month before complete.
	first := cst("2026-12-01 00:00")
	require.NoError(t, check(t, "getMonthlyVisitTrend", first, "20261101", "20261130"))
	require.Error(t, check(t, "getMonthlyVisitTrend", first.Add(-time.Minute), "20261101", "20261130"))
}

func perf(module any, begin, end int64, params ...openapi.PerformanceParam) *openapi.PerformanceParams {
	return &openapi.PerformanceParams{Module: module, Time: openapi.PerformanceTime{BeginTimestamp: begin, EndTimestamp: end},
		Params: params}
}

func TestPerformanceRules(t *testing.T) {
	const day = 24 * 60 * 60
	begin := int64(1609603200)
	tests := []struct {
		name string
		p    *openapi.PerformanceParams
		code int
		msg  string
	}{
		{"documented example", perf("10022", begin, begin+day,
			openapi.PerformanceParam{Field: "networktype", Value: "wifi"},
			openapi.PerformanceParam{Field: "device_level", Value: "1"},
			openapi.PerformanceParam{Field: "device", Value: "1"}), 0, ""},
		{"module as number", perf(json.Number("10016"), begin, begin), 0, ""},
		{"exactly 30 days", perf("10017", begin, begin+30*day), 0, ""},
		{"31 days", perf("10017", begin, begin+31*day), 61501, "spans 31.0 days; the most is 30"},
		{"30 days and a second", perf("10017", begin, begin+30*day+1), 61501, "the most is 30"},
		{"end before begin", perf("10017", begin, begin-1), 61501, "time.endTimestamp 1609603199 must not be before"},
		{"milliseconds", perf("10017", begin*1000, begin*1000), 61500, "time.beginTimestamp 1609603200000 must be in seconds"},
		{"zero", perf("10017", 0, begin), 61500, "time.beginTimestamp 0 must be a positive Unix timestamp"},
		{"unknown module", perf("10099", begin, begin), 40097, `module "10099" must be one of 10016`},
		{"module not digits", perf("abc", begin, begin), 40097, "must be one of"},
		{"module of another type", perf(true, begin, begin), 40097, "module must be a number or a string of digits"},
		{"unknown field", perf("10022", begin, begin, openapi.PerformanceParam{Field: "os", Value: "1"}), 40097,
			`params[0].field "os" must be one of device, device_level, networktype`},
		{"unknown value", perf("10022", begin, begin, openapi.PerformanceParam{Field: "networktype", Value: "5g"}), 40097,
			`params[0].value "5g" must be one of -1, 3g, 4g, wifi for field networktype`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Check(time.Now())
			if tc.code == 0 {
				require.NoError(t, err)
				return
			}
			var e *openapi.Error
			require.True(t, errors.As(err, &e), "%v", err)
			assert.Equal(t, tc.code, e.Code)
			assert.Contains(t, e.Msg, tc.msg)
		})
	}
}

func TestLookup(t *testing.T) {
	for _, name := range []string{"getWeeklyRetain", "analysis.getWeeklyRetain", "openapi.analysis.getWeeklyRetain"} {
		m, ok := openapi.Lookup(name)
		require.True(t, ok, name)
		assert.Equal(t, "/datacube/getweanalysisappidweeklyretaininfo", m.Path)
		assert.Equal(t, "analysis.getWeeklyRetain", m.API())
	}
	for _, name := range []string{"", "getweeklyretain", "openapi.getWeeklyRetain.x", "analysis.", "security.msgSecCheck"} {
		_, ok := openapi.Lookup(name)
		assert.False(t, ok, name)
	}
	assert.Len(t, openapi.Names(), 11)
}

func FuzzDateRange(f *testing.F) {
	for _, s := range [][2]string{{"20170306", "20170312"}, {"20240201", "20240229"}, {"2017-03-06", "x"}, {"00000000", "99999999"}} {
		f.Add(s[0], s[1], int64(0))
	}
	now := cst("2026-11-24 10:00")
	f.Fuzz(func(t *testing.T, begin, end string, offset int64) {
		for _, m := range openapi.Methods() {
			if m.Name == "getPerformanceData" {
				continue
			}
			err := dateParams(t, &m, begin, end).Check(now.Add(time.Duration(offset % (1 << 50))))
			if err == nil {
				continue
			}
			var e *openapi.Error
			require.ErrorAs(t, err, &e)
			require.Contains(t, []int{61500, 61501}, e.Code)
			require.Less(t, len(e.Msg), 300, "messages echo only an excerpt")
		}
	})
}

func TestPeriods(t *testing.T) {
	tests := []struct {
		method, begin, end string
		want               [][2]string
		code               int
	}{
		{"getDailyVisitTrend", "20240228", "20240301", [][2]string{{"20240228", "20240228"}, {"20240229", "20240229"}, {"20240301", "20240301"}}, 0},
		{"getWeeklyRetain", "20240226", "20240310", [][2]string{{"20240226", "20240303"}, {"20240304", "20240310"}}, 0},
		{"getMonthlyVisitTrend", "20231201", "20240229", [][2]string{{"20231201", "20231231"}, {"20240101", "20240131"}, {"20240201", "20240229"}}, 0},
		{"getWeeklyRetain", "20240227", "20240310", nil, 61501},  // not a Monday
		{"getWeeklyRetain", "20240226", "20240309", nil, 61501},  // not a Sunday
		{"getMonthlyRetain", "20240102", "20240229", nil, 61501}, // not the first
		{"getMonthlyRetain", "20240101", "20240228", nil, 61501}, // not the last
		{"getDailyRetain", "20240102", "20240101", nil, 61501},   // backwards
		{"getDailyRetain", "2024010", "20240101", nil, 61500},
		{"getDailyRetain", "20240101", "20240410", nil, 61501}, // 101 days
		{"getUserPortrait", "20240101", "20240101", nil, 40097},
		{"getPerformanceData", "20240101", "20240101", nil, 40097},
	}
	for _, tc := range tests {
		m, ok := openapi.Lookup(tc.method)
		require.True(t, ok)
		got, err := m.Periods(tc.begin, tc.end, 100)
		if tc.code != 0 {
			var e *openapi.Error
			require.ErrorAs(t, err, &e, "%s %s %s", tc.method, tc.begin, tc.end)
			assert.Equal(t, tc.code, e.Code, e.Msg)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.want, got)
	}
	m, _ := openapi.Lookup("getDailyVisitTrend")
	got, err := m.Periods("20240101", "20240409", 100)
	require.NoError(t, err)
	assert.Len(t, got, 100, "100 periods is the most, and allowed")
}
