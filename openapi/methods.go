package openapi

import (
	"strings"
	"time"
)

// A Method is one API of the analysis family: its cloud-call name, its
// upstream path and its parameters, with the rule they must follow.
type Method struct {
	Name   string        // cloud-call method name, e.g. "getWeeklyRetain"
	Path   string        // upstream path, POSTed with ?access_token=
	Params func() Params // returns the method's empty parameters
}

// API returns the cloud-call API name, e.g. "analysis.getWeeklyRetain".
func (m *Method) API() string { return "analysis." + m.Name }

// Params are a method's typed parameters, decoded from the caller's
// camelCase fields. They encode to the camelCase JSON a Node cloud function
// would pass to the SDK.
type Params interface {
	// Check reports the first rule the parameters break at time now, as an
	// *Error with code 61500 (date format), 61501 (date range) or 40097.
	Check(now time.Time) error
}

// Analysis lists the analysis methods. Adding one is adding a row.
var Analysis = []Method{
	{"getDailyRetain", "/datacube/getweanalysisappiddailyretaininfo", newParams[Dates[day]]},
	{"getWeeklyRetain", "/datacube/getweanalysisappidweeklyretaininfo", newParams[Dates[week]]},
	{"getMonthlyRetain", "/datacube/getweanalysisappidmonthlyretaininfo", newParams[Dates[month]]},
	{"getDailySummary", "/datacube/getweanalysisappiddailysummarytrend", newParams[Dates[day]]},
	{"getDailyVisitTrend", "/datacube/getweanalysisappiddailyvisittrend", newParams[Dates[day]]},
	{"getWeeklyVisitTrend", "/datacube/getweanalysisappidweeklyvisittrend", newParams[Dates[week]]},
	{"getMonthlyVisitTrend", "/datacube/getweanalysisappidmonthlyvisittrend", newParams[Dates[finishedMonth]]},
	{"getVisitDistribution", "/datacube/getweanalysisappidvisitdistribution", newParams[Dates[day]]},
	{"getVisitPage", "/datacube/getweanalysisappidvisitpage", newParams[Dates[day]]},
	{"getUserPortrait", "/datacube/getweanalysisappiduserportrait", newParams[Dates[recent]]},
	{"getPerformanceData", "/wxa/business/performance/boot", newParams[PerformanceParams]},
}

// Lookup finds a method by the name a caller gives: "getWeeklyRetain",
// "analysis.getWeeklyRetain" or "openapi.analysis.getWeeklyRetain".
func Lookup(action string) (*Method, bool) {
	name := strings.TrimPrefix(strings.TrimPrefix(action, "openapi."), "analysis.")
	for i := range Analysis {
		if Analysis[i].Name == name {
			return &Analysis[i], true
		}
	}
	return nil, false
}

// Names returns the method names, in registry order.
func Names() []string {
	names := make([]string, len(Analysis))
	for i, m := range Analysis {
		names[i] = m.Name
	}
	return names
}
