package openapi

import (
	"slices"
	"strings"
	"time"
)

// A Method is one API of the analysis family: its cloud-call name, its
// upstream path and its parameters, with the rule they must follow.
type Method struct {
	Name   string        // cloud-call method name, e.g. "getWeeklyRetain"
	Path   string        // upstream path, POSTed with ?access_token=
	Params func() Params // returns the method's empty parameters
	Answer Shape         // what every answer of the method holds
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

// analysis lists the analysis methods. Adding one is adding a row.
var analysis = []Method{
	{"getDailyRetain", "/datacube/getweanalysisappiddailyretaininfo", newParams[Dates[Day]], shapeOf[Retain]()},
	{"getWeeklyRetain", "/datacube/getweanalysisappidweeklyretaininfo", newParams[Dates[Week]], shapeOf[Retain]()},
	{"getMonthlyRetain", "/datacube/getweanalysisappidmonthlyretaininfo", newParams[Dates[Month]], shapeOf[Retain]()},
	{"getDailySummary", "/datacube/getweanalysisappiddailysummarytrend", newParams[Dates[Day]], shapeOf[Summary]()},
	{"getDailyVisitTrend", "/datacube/getweanalysisappiddailyvisittrend", newParams[Dates[Day]], shapeOf[VisitTrend]()},
	{"getWeeklyVisitTrend", "/datacube/getweanalysisappidweeklyvisittrend", newParams[Dates[Week]], shapeOf[VisitTrend]()},
	{"getMonthlyVisitTrend", "/datacube/getweanalysisappidmonthlyvisittrend", newParams[Dates[FinishedMonth]], shapeOf[VisitTrend]()},
	{"getVisitDistribution", "/datacube/getweanalysisappidvisitdistribution", newParams[Dates[Day]], shapeOf[VisitDistribution]()},
	{"getVisitPage", "/datacube/getweanalysisappidvisitpage", newParams[Dates[Day]], shapeOf[VisitPage]()},
	{"getUserPortrait", "/datacube/getweanalysisappiduserportrait", newParams[Dates[Recent]], shapeOf[UserPortrait]()},
	{"getPerformanceData", "/wxa/business/performance/boot", newParams[PerformanceParams], shapeOf[PerformanceData]()},
}

// Lookup finds a method by the name a caller gives: "getWeeklyRetain",
// "analysis.getWeeklyRetain" or "openapi.analysis.getWeeklyRetain".
func Lookup(action string) (Method, bool) {
	name := strings.TrimPrefix(strings.TrimPrefix(action, "openapi."), "analysis.")
	for _, m := range analysis {
		if m.Name == name {
			return m, true
		}
	}
	return Method{}, false
}

// Methods returns the analysis methods, in registry order.
func Methods() []Method { return slices.Clone(analysis) }

// Names returns the method names, in registry order.
func Names() []string {
	names := make([]string, len(analysis))
	for i, m := range analysis {
		names[i] = m.Name
	}
	return names
}
