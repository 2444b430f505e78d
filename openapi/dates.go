package openapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CST is China Standard Time, the zone WeChat's dates are in. It is a fixed
// zone because a cloud function's runtime may have no tzdata.
var CST = time.FixedZone("CST", 8*60*60)

// DateLayout is the layout of WeChat's dates, yyyymmdd, for time.Time's
// Format and time.ParseInLocation with CST.
const DateLayout = "20060102"

// A span is the shape of date range a method accepts; each is a type, so
// that the rule is part of the parameters' type rather than their data.
type span interface{ shape() shape }

type shape int

const (
	oneDay        shape = iota // beginDate == endDate
	oneWeek                    // Monday..Sunday of one week
	oneMonth                   // first..last day of one month
	completeMonth              // oneMonth, and the month is over
	recentDays                 // the last 1, 7 or 30 days ending on endDate
)

// The date rules a Dates can follow.
type (
	Day           struct{} // beginDate == endDate
	Week          struct{} // a Monday to the Sunday after
	Month         struct{} // the first to the last day of a month
	FinishedMonth struct{} // Month, for a month that is over
	Recent        struct{} // the last 1, 7 or 30 days
)

func (Day) shape() shape           { return oneDay }
func (Week) shape() shape          { return oneWeek }
func (Month) shape() shape         { return oneMonth }
func (FinishedMonth) shape() shape { return completeMonth }
func (Recent) shape() shape        { return recentDays }

// Dates are the parameters of every datacube method, yyyymmdd in China
// Standard Time; S is the method's rule, e.g. Dates[Week] for getWeeklyRetain.
type Dates[S span] struct {
	BeginDate string `mapstructure:"beginDate" json:"beginDate"`
	EndDate   string `mapstructure:"endDate" json:"endDate"`
}

// newParams returns a constructor of empty P for a registry row.
func newParams[P any, PP interface {
	*P
	Params
}]() Params {
	return PP(new(P))
}

// Check applies the method's date rule: yyyymmdd calendar dates, the range
// shape, and no date after yesterday in China Standard Time.
func (r *Dates[S]) Check(now time.Time) error {
	var s S
	return checkDates(s.shape(), r.BeginDate, r.EndDate, now)
}

func checkDates(sh shape, beginDate, endDate string, now time.Time) error {
	begin, err := parseDate("beginDate", beginDate)
	if err != nil {
		return err
	}
	end, err := parseDate("endDate", endDate)
	if err != nil {
		return err
	}
	b, e := begin.Format(DateLayout), end.Format(DateLayout)
	switch sh {
	case oneDay:
		if !end.Equal(begin) {
			return rangeError("endDate %s must equal beginDate %s: this method covers exactly one day", e, b)
		}
	case oneWeek:
		if begin.Weekday() != time.Monday {
			return rangeError("beginDate %s must be a Monday, not a %s", b, begin.Weekday())
		}
		if sunday := begin.AddDate(0, 0, 6); !end.Equal(sunday) {
			return rangeError("endDate %s must be %s, the Sunday of the week that begins on beginDate %s",
				e, sunday.Format(DateLayout), b)
		}
	case oneMonth, completeMonth:
		if begin.Day() != 1 {
			return rangeError("beginDate %s must be the first day of a month, such as %s",
				b, begin.AddDate(0, 0, 1-begin.Day()).Format(DateLayout))
		}
		if last := begin.AddDate(0, 1, -1); !end.Equal(last) {
			return rangeError("endDate %s must be %s, the last day of the month that begins on beginDate %s",
				e, last.Format(DateLayout), b)
		}
	case recentDays:
		if d := days(begin, end); d != 0 && d != 6 && d != 29 {
			return rangeError("endDate %s must be 0, 6 or 29 days after beginDate %s (the last 1, 7 or 30 days), not %d",
				e, b, d)
		}
	}
	today := Today(now)
	yesterday := today.AddDate(0, 0, -1)
	if !end.After(yesterday) {
		return nil
	}
	switch sh {
	case completeMonth:
		latest := time.Date(today.Year(), today.Month()-1, 1, 0, 0, 0, 0, CST)
		return rangeError("the month of beginDate %s is not complete: the latest month with data is %s (%s to %s)",
			b, latest.Format("200601"), latest.Format(DateLayout), latest.AddDate(0, 1, -1).Format(DateLayout))
	case oneWeek:
		monday, sunday := LatestWeek(now)
		return rangeError("the week %s to %s is not over: the latest complete week is %s to %s (China Standard Time)",
			b, e, monday.Format(DateLayout), sunday.Format(DateLayout))
	case oneMonth:
		return rangeError("the month %s to %s is not over: the latest complete month ends on %s (China Standard Time)",
			b, e, today.AddDate(0, 0, -today.Day()).Format(DateLayout))
	}
	return rangeError("endDate %s is after yesterday, %s in China Standard Time: WeChat publishes a day's data the day after",
		e, yesterday.Format(DateLayout))
}

// Today returns the current date in China Standard Time, at midnight.
func Today(now time.Time) time.Time {
	y, m, d := now.In(CST).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, CST)
}

// LatestWeek returns the Monday and Sunday of the latest complete week at
// now, in China Standard Time: the latest week getWeeklyRetain can answer.
func LatestWeek(now time.Time) (monday, sunday time.Time) {
	yesterday := Today(now).AddDate(0, 0, -1)
	sunday = yesterday.AddDate(0, 0, -int(yesterday.Weekday()))
	return sunday.AddDate(0, 0, -6), sunday
}

func days(from, to time.Time) int {
	return int(to.Sub(from).Hours() / 24) // CST has no daylight saving: days are 24 hours
}

func parseDate(field, s string) (time.Time, error) {
	if len(s) != len(DateLayout) || strings.Trim(s, "0123456789") != "" {
		return time.Time{}, &Error{Code: CodeDateFormat,
			Msg: fmt.Sprintf("%s %s must be a date in yyyymmdd format, such as 20170306", field, Excerpt(s, 24))}
	}
	y, _ := strconv.Atoi(s[:4])
	m, _ := strconv.Atoi(s[4:6])
	d, _ := strconv.Atoi(s[6:])
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, CST)
	if t.Year() != y || int(t.Month()) != m || t.Day() != d {
		return time.Time{}, &Error{Code: CodeDateFormat,
			Msg: fmt.Sprintf("%s %s is not a calendar date", field, s)}
	}
	return t, nil
}

func rangeError(format string, args ...any) *Error {
	return newError(CodeDateRange, format, args...)
}

// PerformanceParams are getPerformanceData's parameters.
type PerformanceParams struct {
	Time   PerformanceTime    `mapstructure:"time" json:"time"`
	Module any                `mapstructure:"module" json:"module"` // a number, or a string of digits as in WeChat's example
	Params []PerformanceParam `mapstructure:"params" json:"params"`
}

// PerformanceTime is the queried period, as Unix timestamps in seconds.
type PerformanceTime struct {
	BeginTimestamp int64 `mapstructure:"beginTimestamp" json:"beginTimestamp"`
	EndTimestamp   int64 `mapstructure:"endTimestamp" json:"endTimestamp"`
}

// PerformanceParam is one query condition.
type PerformanceParam struct {
	Field string `mapstructure:"field" json:"field"`
	Value string `mapstructure:"value" json:"value"`
}

// performanceModules are the documented modules; performanceFields the
// documented conditions with their values.
var (
	performanceModules = []int{10016, 10017, 10021, 10022, 10023}
	performanceFields  = map[string][]string{
		"networktype":  {"-1", "3g", "4g", "wifi"},
		"device_level": {"-1", "1", "2", "3"},
		"device":       {"-1", "1", "2"},
	}
)

// maxPerformanceSpan is the longest period getPerformanceData accepts, in
// seconds: plain integers, which cannot overflow as a Duration would.
const maxPerformanceSpan = 30 * 24 * 60 * 60

// Check applies getPerformanceData's rules: a known module, known conditions,
// and a period of at most 30 days given in seconds.
func (p *PerformanceParams) Check(time.Time) error {
	if err := checkModule(p.Module); err != nil {
		return err
	}
	for i, c := range p.Params {
		values, ok := performanceFields[c.Field]
		if !ok {
			return newError(CodeInvalidArgs, "params[%d].field %s must be one of device, device_level, networktype",
				i, Excerpt(c.Field, 24))
		}
		if !slices.Contains(values, c.Value) {
			return newError(CodeInvalidArgs, "params[%d].value %s must be one of %s for field %s",
				i, Excerpt(c.Value, 24), strings.Join(values, ", "), c.Field)
		}
	}
	begin, end := p.Time.BeginTimestamp, p.Time.EndTimestamp
	for _, ts := range []struct {
		name string
		v    int64
	}{{"time.beginTimestamp", begin}, {"time.endTimestamp", end}} {
		if ts.v <= 0 {
			return newError(CodeDateFormat, "%s %d must be a positive Unix timestamp in seconds", ts.name, ts.v)
		}
		if ts.v > 1e11 {
			return newError(CodeDateFormat, "%s %d must be in seconds, not milliseconds", ts.name, ts.v)
		}
	}
	if end < begin {
		return rangeError("time.endTimestamp %d must not be before time.beginTimestamp %d", end, begin)
	}
	if span := end - begin; span > maxPerformanceSpan {
		return rangeError("the period from time.beginTimestamp %d to time.endTimestamp %d spans %.1f days; the most is 30",
			begin, end, float64(span)/(24*60*60))
	}
	return nil
}

func checkModule(m any) error {
	var text string
	switch v := m.(type) {
	case json.Number:
		text = v.String()
	case string:
		text = v
	case int:
		text = strconv.Itoa(v)
	case int64:
		text = strconv.FormatInt(v, 10)
	default:
		return newError(CodeInvalidArgs, "module must be a number or a string of digits")
	}
	n, err := strconv.Atoi(text)
	if err != nil || strings.Trim(text, "0123456789") != "" || !slices.Contains(performanceModules, n) {
		return newError(CodeInvalidArgs, "module %s must be one of 10016, 10017, 10021, 10022, 10023", Excerpt(text, 24))
	}
	return nil
}

func (*Dates[S]) shape() shape {
	var s S
	return s.shape()
}

// Range returns the dates, for a cache that knows when a period's data is final.
func (r *Dates[S]) Range() (beginDate, endDate string) { return r.BeginDate, r.EndDate }

// Periods splits [beginDate, endDate] into m's periods, in date order: days
// for the daily methods, Monday to Sunday weeks for the weekly ones, calendar
// months for the monthly ones. The range must start and end on period
// boundaries (61501) and hold at most limit periods. getUserPortrait and
// getPerformanceData have no periods (40097).
func (m *Method) Periods(beginDate, endDate string, limit int) ([][2]string, error) {
	var sh shape = -1
	if d, ok := m.Params().(interface{ shape() shape }); ok {
		sh = d.shape()
	}
	var step func(time.Time) time.Time // the first day of the next period
	switch sh {
	case oneDay:
		step = func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
	case oneWeek:
		step = func(t time.Time) time.Time { return t.AddDate(0, 0, 7) }
	case oneMonth, completeMonth:
		step = func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }
	default:
		return nil, newError(CodeInvalidArgs, "invalid args: %s has no daily, weekly or monthly periods", m.Name)
	}
	begin, err := parseDate("beginDate", beginDate)
	if err != nil {
		return nil, err
	}
	end, err := parseDate("endDate", endDate)
	if err != nil {
		return nil, err
	}
	if end.Before(begin) {
		return nil, rangeError("endDate %s must not be before beginDate %s", endDate, beginDate)
	}
	switch {
	case sh == oneWeek && begin.Weekday() != time.Monday:
		return nil, rangeError("beginDate %s must be a Monday: %s's periods are Monday to Sunday weeks", beginDate, m.Name)
	case sh == oneWeek && end.Weekday() != time.Sunday:
		return nil, rangeError("endDate %s must be a Sunday: %s's periods are Monday to Sunday weeks", endDate, m.Name)
	case (sh == oneMonth || sh == completeMonth) && begin.Day() != 1:
		return nil, rangeError("beginDate %s must be the first day of a month: %s's periods are calendar months", beginDate, m.Name)
	case (sh == oneMonth || sh == completeMonth) && end.AddDate(0, 0, 1).Day() != 1:
		return nil, rangeError("endDate %s must be the last day of a month: %s's periods are calendar months", endDate, m.Name)
	}
	var out [][2]string
	for t := begin; !t.After(end); t = step(t) {
		if len(out) == limit {
			return nil, rangeError("beginDate %s to endDate %s holds more than %d periods of %s", beginDate, endDate, limit, m.Name)
		}
		out = append(out, [2]string{t.Format(DateLayout), step(t).AddDate(0, 0, -1).Format(DateLayout)})
	}
	return out, nil
}
