package cache

import "time"

// cst is China Standard Time, as cst: a fixed zone, for runtimes
// without tzdata. Not imported, so that cache depends on no client code.
var cst = time.FixedZone("CST", 8*60*60)

// lastDay is, for one method, the last day (China Standard Time) whose data
// its answer for a period ending on end depends on.
type lastDay func(end time.Time) time.Time

// finality is the one table of when an answer stops changing. A nil rule:
// never final.
var finality = map[string]lastDay{
	// Trends, summaries, distributions and pages describe the period alone.
	"getDailySummary":      periodEnd,
	"getDailyVisitTrend":   periodEnd,
	"getWeeklyVisitTrend":  periodEnd,
	"getMonthlyVisitTrend": periodEnd,
	"getVisitDistribution": periodEnd,
	"getVisitPage":         periodEnd,
	// Retention grows a key at a time after the period (analysis-api.md
	// §3.1–3.3): daily keys run to 30 (30 days after the day), weekly to 4
	// (the fourth week after, whose Sunday is 28 days after the period's),
	// monthly to 1 (the next month, to its last day).
	"getDailyRetain":   func(end time.Time) time.Time { return end.AddDate(0, 0, 30) },
	"getWeeklyRetain":  func(end time.Time) time.Time { return end.AddDate(0, 0, 28) },
	"getMonthlyRetain": func(end time.Time) time.Time { return time.Date(end.Year(), end.Month()+2, 0, 0, 0, 0, 0, cst) },
	// A portrait is "the last 1, 7 or 30 days" as WeChat counts them now, and
	// performance data has no documented publication time.
	"getUserPortrait":    nil,
	"getPerformanceData": nil,
}

func periodEnd(end time.Time) time.Time { return end }

// settleDays is how many days after a day begins its data is taken as final.
// WeChat publishes a day's data during the next day at an undocumented hour
// (analysis-api.md §8), so by the end of it: 2 days; one more is the margin
// for late corrections.
const settleDays = 3

// FinalAt returns when the answer of method for [beginDate, endDate]
// (yyyymmdd, China Standard Time) stops changing. ok is false for a method
// that is never final, an unknown method, a date that is not a calendar date
// or endDate before beginDate.
func FinalAt(method, beginDate, endDate string) (t time.Time, ok bool) {
	rule := finality[method]
	if rule == nil {
		return time.Time{}, false
	}
	begin, err1 := time.ParseInLocation("20060102", beginDate, cst)
	end, err2 := time.ParseInLocation("20060102", endDate, cst)
	if err1 != nil || err2 != nil || end.Before(begin) {
		return time.Time{}, false
	}
	return rule(end).AddDate(0, 0, settleDays), true
}

// IsFinal reports whether the answer of method for [beginDate, endDate] no
// longer changes at now.
func IsFinal(method, beginDate, endDate string, now time.Time) bool {
	t, ok := FinalAt(method, beginDate, endDate)
	return ok && !now.Before(t)
}
