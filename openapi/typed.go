package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// The typed methods below take dates as WeChat does, yyyymmdd strings in
// China Standard Time, and check them against the method's rule before any
// request: a broken rule is an *Error with code 61500 (format) or 61501
// (range), for which errors.Is(err, ErrBadRequest) holds.

// DailyRetain returns the retention of one day's users (getDailyRetain).
// beginDate and endDate are the same day, yesterday at the latest; key k of
// the answer counts the users who came back k days later.
func (c *Client) DailyRetain(ctx context.Context, beginDate, endDate string) (*Retain, error) {
	return dated[Retain](ctx, c, "getDailyRetain", beginDate, endDate)
}

// WeeklyRetain returns the retention of one week's users (getWeeklyRetain).
// beginDate is a Monday and endDate the Sunday after, of a week that is
// over; key k of the answer counts the users who came back k weeks later.
func (c *Client) WeeklyRetain(ctx context.Context, beginDate, endDate string) (*Retain, error) {
	return dated[Retain](ctx, c, "getWeeklyRetain", beginDate, endDate)
}

// MonthlyRetain returns the retention of one month's users
// (getMonthlyRetain). beginDate is the first and endDate the last day of a
// month that is over; key 1 of the answer counts the users who came back the
// month after.
func (c *Client) MonthlyRetain(ctx context.Context, beginDate, endDate string) (*Retain, error) {
	return dated[Retain](ctx, c, "getMonthlyRetain", beginDate, endDate)
}

// DailySummary returns one day's total users and shares (getDailySummary).
// beginDate and endDate are the same day, yesterday at the latest.
func (c *Client) DailySummary(ctx context.Context, beginDate, endDate string) (*Summary, error) {
	return dated[Summary](ctx, c, "getDailySummary", beginDate, endDate)
}

// DailyVisitTrend returns one day's visits (getDailyVisitTrend). beginDate
// and endDate are the same day, yesterday at the latest.
func (c *Client) DailyVisitTrend(ctx context.Context, beginDate, endDate string) (*VisitTrend, error) {
	return dated[VisitTrend](ctx, c, "getDailyVisitTrend", beginDate, endDate)
}

// WeeklyVisitTrend returns one week's visits (getWeeklyVisitTrend).
// beginDate is a Monday and endDate the Sunday after, of a week that is over.
func (c *Client) WeeklyVisitTrend(ctx context.Context, beginDate, endDate string) (*VisitTrend, error) {
	return dated[VisitTrend](ctx, c, "getWeeklyVisitTrend", beginDate, endDate)
}

// MonthlyVisitTrend returns one month's visits (getMonthlyVisitTrend).
// beginDate is the first and endDate the last day of a month that is over:
// WeChat has no data for the current month.
func (c *Client) MonthlyVisitTrend(ctx context.Context, beginDate, endDate string) (*VisitTrend, error) {
	return dated[VisitTrend](ctx, c, "getMonthlyVisitTrend", beginDate, endDate)
}

// VisitDistribution returns how one day's visits spread over entry scenes,
// time spent and depth (getVisitDistribution). beginDate and endDate are the
// same day, yesterday at the latest.
func (c *Client) VisitDistribution(ctx context.Context, beginDate, endDate string) (*VisitDistribution, error) {
	return dated[VisitDistribution](ctx, c, "getVisitDistribution", beginDate, endDate)
}

// VisitPage returns one day's most visited pages, at most 200 (getVisitPage).
// beginDate and endDate are the same day, yesterday at the latest.
func (c *Client) VisitPage(ctx context.Context, beginDate, endDate string) (*VisitPage, error) {
	return dated[VisitPage](ctx, c, "getVisitPage", beginDate, endDate)
}

// UserPortrait returns who the new and the active users are: province,
// city, gender, platform, device and age (getUserPortrait). endDate is
// yesterday at the latest and beginDate 0, 6 or 29 days before it, for the
// last 1, 7 or 30 days.
func (c *Client) UserPortrait(ctx context.Context, beginDate, endDate string) (*UserPortrait, error) {
	return dated[UserPortrait](ctx, c, "getUserPortrait", beginDate, endDate)
}

// PerformanceData returns launch and runtime performance figures
// (getPerformanceData) for p: a documented module, documented conditions,
// and a period of at most 30 days.
func (c *Client) PerformanceData(ctx context.Context, p *PerformanceParams) (*PerformanceData, error) {
	m, _ := Lookup("getPerformanceData")
	if p == nil {
		return nil, &Error{API: m.API(), Code: CodeInvalidArgs, Msg: "invalid args: PerformanceData needs its parameters, not nil"}
	}
	return typed[PerformanceData](ctx, c, &m, p)
}

// set fills a method's dates, so that each typed method takes its date rule
// from the registry rather than repeating it.
func (r *Dates[S]) set(beginDate, endDate string) { r.BeginDate, r.EndDate = beginDate, endDate }

// dated calls the datacube method name for beginDate..endDate.
func dated[T any](ctx context.Context, c *Client, name, beginDate, endDate string) (*T, error) {
	m, _ := Lookup(name)
	params := m.Params()
	d, ok := params.(interface{ set(begin, end string) })
	if !ok { // only if the registry gave a datacube method other parameters
		return nil, &Error{API: m.API(), Code: CodeInternal, Msg: "system error: " + name + " takes no dates"}
	}
	d.set(beginDate, endDate)
	return typed[T](ctx, c, &m, params)
}

// typed calls m and decodes WeChat's snake_case answer into a T, with
// secrets scrubbed as from Call's result. The answer goes through Call's
// checks first (their cloud-shaped result is dropped), so that both accept
// and refuse the same answers.
func typed[T any](ctx context.Context, c *Client, m *Method, p Params) (*T, error) {
	var status int
	raw, err := c.do(ctx, m, p, func(ctx context.Context, r *Response) ([]byte, *Error) {
		if _, e := answer(ctx, m, r); e != nil {
			return nil, e
		}
		status = r.Status
		return bytes.Clone(r.Body), nil
	})
	if err != nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		// Nothing is retried: the same answer would not fit the next time.
		return nil, &Error{API: m.API(), Code: CodeInternal, StatusCode: status, Body: raw[:min(len(raw), maxErrorBody)],
			Msg: fmt.Sprintf("wechat server internal error, the answer does not fit openapi.%s: %v",
				reflect.TypeFor[T]().Name(), err)}
	}
	return v, nil
}

// Retain is the answer of DailyRetain, WeeklyRetain and MonthlyRetain: for
// new and for active users, the number in the period (key 0) and how many of
// them came back 1, 2, ... periods later (keys 1, 2, ...; daily: 1-7, 14
// and 30). Keys whose period is not over yet are absent.
type Retain struct {
	RefDate    string     `json:"ref_date"`     // the period: "20170313", "20170306-20170312" or "201702"
	VisitUVNew []KeyValue `json:"visit_uv_new"` // new users
	VisitUV    []KeyValue `json:"visit_uv"`     // active users

	Extra map[string]json.RawMessage `json:"-"` // members the fields above do not name, as WeChat sent them
}

// KeyValue is a count (Value) for a key: a period in Retain, a scene or a
// bucket in Distribution.
type KeyValue struct {
	Key   json.Number `json:"key"`
	Value json.Number `json:"value"`

	Extra map[string]json.RawMessage `json:"-"` // e.g. access_source_visit_uv, which old documentation shows
}

// Summary is the answer of DailySummary.
type Summary struct {
	List []SummaryItem `json:"list"` // one item, for the day asked

	Extra map[string]json.RawMessage `json:"-"`
}

// SummaryItem is one day's summary.
type SummaryItem struct {
	RefDate    string      `json:"ref_date"`    // yyyymmdd
	VisitTotal json.Number `json:"visit_total"` // users ever
	SharePV    json.Number `json:"share_pv"`    // shares
	ShareUV    json.Number `json:"share_uv"`    // users who shared

	Extra map[string]json.RawMessage `json:"-"`
}

// VisitTrend is the answer of DailyVisitTrend, WeeklyVisitTrend and
// MonthlyVisitTrend.
type VisitTrend struct {
	List []VisitTrendItem `json:"list"` // one item, for the period asked

	Extra map[string]json.RawMessage `json:"-"`
}

// VisitTrendItem is one period's visits. Weekly and monthly counts of users
// are of distinct users within the period.
type VisitTrendItem struct {
	RefDate         string      `json:"ref_date"`          // "20170313", "20170306-20170312" or "201703"
	SessionCnt      json.Number `json:"session_cnt"`       // opens
	VisitPV         json.Number `json:"visit_pv"`          // visits
	VisitUV         json.Number `json:"visit_uv"`          // visitors
	VisitUVNew      json.Number `json:"visit_uv_new"`      // new visitors
	StayTimeUV      json.Number `json:"stay_time_uv"`      // seconds spent per visitor; often absent
	StayTimeSession json.Number `json:"stay_time_session"` // seconds spent per open
	VisitDepth      json.Number `json:"visit_depth"`       // pages per open

	Extra map[string]json.RawMessage `json:"-"`
}

// VisitDistribution is the answer of VisitDistribution.
type VisitDistribution struct {
	RefDate string         `json:"ref_date"` // yyyymmdd
	List    []Distribution `json:"list"`

	Extra map[string]json.RawMessage `json:"-"`
}

// Distribution is one distribution of a day's visits. Index names it:
// access_source_session_cnt (opens by entry scene: key 1 history list, 2
// search, 3 chat, ...), access_source_visit_uv (visitors by entry scene),
// access_staytime_info (time spent: key 1 is 0-2 s ... 8 over 100 s) or
// access_depth_info (pages visited: key 1 is 1 page ... 7 over 10).
type Distribution struct {
	Index    string     `json:"index"`
	ItemList []KeyValue `json:"item_list"`

	Extra map[string]json.RawMessage `json:"-"`
}

// VisitPage is the answer of VisitPage: the day's pages by visits, most
// visited first.
type VisitPage struct {
	RefDate string `json:"ref_date"` // yyyymmdd
	List    []Page `json:"list"`

	Extra map[string]json.RawMessage `json:"-"`
}

// Page is one page's visits in a day.
type Page struct {
	PagePath       string      `json:"page_path"`        // e.g. "pages/index/index"
	PageVisitPV    json.Number `json:"page_visit_pv"`    // visits
	PageVisitUV    json.Number `json:"page_visit_uv"`    // visitors
	PageStayTimePV json.Number `json:"page_staytime_pv"` // seconds spent per visit
	EntryPagePV    json.Number `json:"entrypage_pv"`     // visits that began here
	ExitPagePV     json.Number `json:"exitpage_pv"`      // visits that ended here
	PageSharePV    json.Number `json:"page_share_pv"`    // shares
	PageShareUV    json.Number `json:"page_share_uv"`    // users who shared

	Extra map[string]json.RawMessage `json:"-"`
}

// UserPortrait is the answer of UserPortrait.
type UserPortrait struct {
	RefDate    string   `json:"ref_date"`     // the first day, or "yyyymmdd-yyyymmdd"
	VisitUVNew Portrait `json:"visit_uv_new"` // new users
	VisitUV    Portrait `json:"visit_uv"`     // active users

	Extra map[string]json.RawMessage `json:"-"`
}

// Portrait is how a group of users divides by each attribute. A list may be
// empty, and an attribute's value may be "未知" (unknown).
type Portrait struct {
	Province  []PortraitItem `json:"province"`
	City      []PortraitItem `json:"city"`
	Genders   []PortraitItem `json:"genders"`
	Platforms []PortraitItem `json:"platforms"`
	Devices   []PortraitItem `json:"devices"` // the top 20, without ID
	Ages      []PortraitItem `json:"ages"`

	Extra map[string]json.RawMessage `json:"-"`
}

// PortraitItem is how many users (Value) have one value of an attribute.
type PortraitItem struct {
	ID    json.Number `json:"id"`   // "" for devices
	Name  string      `json:"name"` // e.g. "广东省", "男", "iPhone", "18-24岁"
	Value json.Number `json:"value"`

	Extra map[string]json.RawMessage `json:"-"`
}

// PerformanceData is the answer of PerformanceData, as WeChat nests it:
// Data.Body.Tables.
type PerformanceData struct {
	Data PerformanceResult `json:"data"`

	Extra map[string]json.RawMessage `json:"-"`
}

// PerformanceResult is the data member of PerformanceData.
type PerformanceResult struct {
	Body PerformanceBody `json:"body"`

	Extra map[string]json.RawMessage `json:"-"`
}

// PerformanceBody holds the tables of figures.
type PerformanceBody struct {
	Tables []PerformanceTable `json:"tables"`
	Count  json.Number        `json:"count"` // the number of tables

	Extra map[string]json.RawMessage `json:"-"`
}

// PerformanceTable is one indicator's figures.
type PerformanceTable struct {
	ID    string            `json:"id"` // e.g. "memory"
	Name  string            `json:"zh"` // its Chinese name, e.g. "内存均值"
	Lines []PerformanceLine `json:"lines"`

	Extra map[string]json.RawMessage `json:"-"`
}

// PerformanceLine is a series of daily figures.
type PerformanceLine struct {
	Fields []PerformanceField `json:"fields"`

	Extra map[string]json.RawMessage `json:"-"`
}

// PerformanceField is one day's figure. WeChat sends it as a string, such
// as "70.7778"; Value keeps its digits.
type PerformanceField struct {
	RefDate string      `json:"refdate"` // yyyymmdd
	Value   json.Number `json:"value"`

	Extra map[string]json.RawMessage `json:"-"`
}

// Each UnmarshalJSON below decodes WeChat's JSON, keeping in Extra the
// members the type does not name, so that nothing WeChat adds is lost.

// UnmarshalJSON decodes r, keeping unknown members in Extra.
func (r *Retain) UnmarshalJSON(b []byte) error {
	type plain Retain
	return keep(b, (*plain)(r), &r.Extra)
}

// UnmarshalJSON decodes r, keeping unknown members in Extra.
func (r *KeyValue) UnmarshalJSON(b []byte) error {
	type plain KeyValue
	return keep(b, (*plain)(r), &r.Extra)
}

// UnmarshalJSON decodes r, keeping unknown members in Extra.
func (r *Summary) UnmarshalJSON(b []byte) error {
	type plain Summary
	return keep(b, (*plain)(r), &r.Extra)
}

// UnmarshalJSON decodes r, keeping unknown members in Extra.
func (r *SummaryItem) UnmarshalJSON(b []byte) error {
	type plain SummaryItem
	return keep(b, (*plain)(r), &r.Extra)
}

// UnmarshalJSON decodes r, keeping unknown members in Extra.
func (r *VisitTrend) UnmarshalJSON(b []byte) error {
	type plain VisitTrend
	return keep(b, (*plain)(r), &r.Extra)
}

// UnmarshalJSON decodes r, keeping unknown members in Extra.
func (r *VisitTrendItem) UnmarshalJSON(b []byte) error {
	type plain VisitTrendItem
	return keep(b, (*plain)(r), &r.Extra)
}

// UnmarshalJSON decodes r, keeping unknown members in Extra.
func (r *VisitDistribution) UnmarshalJSON(b []byte) error {
	type plain VisitDistribution
	return keep(b, (*plain)(r), &r.Extra)
}

// UnmarshalJSON decodes r, keeping unknown members in Extra.
func (r *Distribution) UnmarshalJSON(b []byte) error {
	type plain Distribution
	return keep(b, (*plain)(r), &r.Extra)
}

// UnmarshalJSON decodes r, keeping unknown members in Extra.
func (r *VisitPage) UnmarshalJSON(b []byte) error {
	type plain VisitPage
	return keep(b, (*plain)(r), &r.Extra)
}

// UnmarshalJSON decodes r, keeping unknown members in Extra.
func (r *Page) UnmarshalJSON(b []byte) error {
	type plain Page
	return keep(b, (*plain)(r), &r.Extra)
}

// UnmarshalJSON decodes r, keeping unknown members in Extra.
func (r *UserPortrait) UnmarshalJSON(b []byte) error {
	type plain UserPortrait
	return keep(b, (*plain)(r), &r.Extra)
}

// UnmarshalJSON decodes r, keeping unknown members in Extra.
func (r *Portrait) UnmarshalJSON(b []byte) error {
	type plain Portrait
	return keep(b, (*plain)(r), &r.Extra)
}

// UnmarshalJSON decodes r, keeping unknown members in Extra.
func (r *PortraitItem) UnmarshalJSON(b []byte) error {
	type plain PortraitItem
	return keep(b, (*plain)(r), &r.Extra)
}

// UnmarshalJSON decodes r, keeping unknown members in Extra.
func (r *PerformanceData) UnmarshalJSON(b []byte) error {
	type plain PerformanceData
	return keep(b, (*plain)(r), &r.Extra)
}

// UnmarshalJSON decodes r, keeping unknown members in Extra.
func (r *PerformanceResult) UnmarshalJSON(b []byte) error {
	type plain PerformanceResult
	return keep(b, (*plain)(r), &r.Extra)
}

// UnmarshalJSON decodes r, keeping unknown members in Extra.
func (r *PerformanceBody) UnmarshalJSON(b []byte) error {
	type plain PerformanceBody
	return keep(b, (*plain)(r), &r.Extra)
}

// UnmarshalJSON decodes r, keeping unknown members in Extra.
func (r *PerformanceTable) UnmarshalJSON(b []byte) error {
	type plain PerformanceTable
	return keep(b, (*plain)(r), &r.Extra)
}

// UnmarshalJSON decodes r, keeping unknown members in Extra.
func (r *PerformanceLine) UnmarshalJSON(b []byte) error {
	type plain PerformanceLine
	return keep(b, (*plain)(r), &r.Extra)
}

// UnmarshalJSON decodes r, keeping unknown members in Extra.
func (r *PerformanceField) UnmarshalJSON(b []byte) error {
	type plain PerformanceField
	return keep(b, (*plain)(r), &r.Extra)
}

// keep decodes the JSON object b into v, a struct without an UnmarshalJSON
// method, and sets extra to the members none of its fields names, or nil.
func keep[T any](b []byte, v *T, extra *map[string]json.RawMessage) error {
	if err := json.Unmarshal(b, v); err != nil {
		return err
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(b, &members); err != nil {
		return err
	}
	known := fieldNames(reflect.TypeFor[T]())
	for k := range members {
		if known[k] {
			delete(members, k)
		}
	}
	*extra = nil
	if len(members) > 0 {
		*extra = members
	}
	return nil
}

var fieldNamesOf sync.Map // reflect.Type → map[string]bool

// fieldNames returns the JSON names of t's fields, with errcode and errmsg:
// the answer's status, which the call has read.
func fieldNames(t reflect.Type) map[string]bool {
	if names, ok := fieldNamesOf.Load(t); ok {
		return names.(map[string]bool)
	}
	names := map[string]bool{"errcode": true, "errmsg": true}
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			names[name] = true
		}
	}
	actual, _ := fieldNamesOf.LoadOrStore(t, names)
	return actual.(map[string]bool)
}
