package warehouse

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/wxanalysis/wxanalysis/openapi"
)

// A Period is one answer's key: whose (AppID), which method, which dates
// (yyyymmdd, as WeChat's begin_date and end_date).
type Period struct {
	AppID     string
	Method    string
	BeginDate string
	EndDate   string
}

func (p Period) String() string { return p.Method + " " + p.BeginDate + "-" + p.EndDate }

// An Answer is WeChat's answer for a period, decoded into the rows of its
// typed table.
type Answer struct {
	Period Period
	Body   []byte // as WeChat sent it
	table  *table
	rows   [][]any // the table's columns after the common ones
}

// Rows returns how many typed rows the answer holds: 0 for an empty answer.
func (a *Answer) Rows() int { return len(a.rows) }

// A table is a typed table: its name, its granularity (the value of its
// granularity column, "" if it has none) and its own columns, which follow
// appid, [granularity,] begin_date, end_date and precede final, fetched_at.
type table struct {
	name        string
	granularity string
	cols        []string
}

var (
	trendCols   = []string{"ref_date", "session_cnt", "visit_pv", "visit_uv", "visit_uv_new", "stay_time_uv", "stay_time_session", "visit_depth"}
	retainCols  = []string{"ref_date", "cohort", "key_no", "value"}
	summaryCols = []string{"ref_date", "visit_total", "share_pv", "share_uv"}
	distCols    = []string{"ref_date", "index_name", "key_no", "value"}
	pageCols    = []string{"ref_date", "item_no", "page_path", "page_visit_pv", "page_visit_uv", "page_staytime_pv", "entrypage_pv",
		"exitpage_pv", "page_share_pv", "page_share_uv"}
	portraitCols = []string{"span_days", "ref_date", "cohort", "dimension", "item_no", "id", "name", "value"}
)

// tables maps each method the warehouse keeps to its typed table.
var tables = map[string]*table{
	"getDailyVisitTrend":   {"wxa_visit_trend", "day", trendCols},
	"getWeeklyVisitTrend":  {"wxa_visit_trend", "week", trendCols},
	"getMonthlyVisitTrend": {"wxa_visit_trend", "month", trendCols},
	"getDailyRetain":       {"wxa_retain", "day", retainCols},
	"getWeeklyRetain":      {"wxa_retain", "week", retainCols},
	"getMonthlyRetain":     {"wxa_retain", "month", retainCols},
	"getDailySummary":      {"wxa_daily_summary", "", summaryCols},
	"getVisitDistribution": {"wxa_visit_distribution", "", distCols},
	"getVisitPage":         {"wxa_visit_page", "", pageCols},
	"getUserPortrait":      {"wxa_user_portrait", "", portraitCols},
}

// Kept reports whether the warehouse keeps method's answers.
func Kept(method string) bool { return tables[method] != nil }

// Tables lists the warehouse's tables, the raw answers' first.
func Tables() []string {
	return []string{"wxa_raw_answer", "wxa_visit_trend", "wxa_daily_summary", "wxa_retain", "wxa_visit_distribution",
		"wxa_visit_page", "wxa_user_portrait"}
}

// Decode decodes WeChat's answer body for p into its typed rows. The body
// must be a successful answer (no errcode), valid UTF-8 (the databases'
// text columns hold nothing else).
func Decode(p Period, body []byte) (*Answer, error) {
	t := tables[p.Method]
	if t == nil {
		return nil, fmt.Errorf("warehouse: %s is not kept", p.Method)
	}
	if !utf8.Valid(body) {
		return nil, errors.New("warehouse: the answer is not valid UTF-8")
	}
	if _, err := dateOf(p.BeginDate); err != nil {
		return nil, err
	}
	if _, err := dateOf(p.EndDate); err != nil {
		return nil, err
	}
	a := &Answer{Period: p, Body: body, table: t}
	var err error
	switch t.name {
	case "wxa_visit_trend":
		var v openapi.VisitTrend
		if err = json.Unmarshal(body, &v); err == nil {
			for _, it := range v.List {
				a.rows = append(a.rows, []any{it.RefDate, count(it.SessionCnt), count(it.VisitPV), count(it.VisitUV),
					count(it.VisitUVNew), number(it.StayTimeUV), number(it.StayTimeSession), number(it.VisitDepth)})
			}
		}
	case "wxa_retain":
		var v openapi.Retain
		if err = json.Unmarshal(body, &v); err == nil {
			for _, c := range []struct {
				name string
				list []openapi.KeyValue
			}{{"new", v.VisitUVNew}, {"active", v.VisitUV}} {
				for _, kv := range c.list {
					a.rows = append(a.rows, []any{v.RefDate, c.name, count(kv.Key), count(kv.Value)})
				}
			}
		}
	case "wxa_daily_summary":
		var v openapi.Summary
		if err = json.Unmarshal(body, &v); err == nil {
			for _, it := range v.List {
				a.rows = append(a.rows, []any{it.RefDate, count(it.VisitTotal), count(it.SharePV), count(it.ShareUV)})
			}
		}
	case "wxa_visit_distribution":
		var v openapi.VisitDistribution
		if err = json.Unmarshal(body, &v); err == nil {
			for _, d := range v.List {
				for _, kv := range d.ItemList {
					a.rows = append(a.rows, []any{v.RefDate, d.Index, count(kv.Key), count(kv.Value)})
				}
			}
		}
	case "wxa_visit_page":
		var v openapi.VisitPage
		if err = json.Unmarshal(body, &v); err == nil {
			for i, pg := range v.List {
				a.rows = append(a.rows, []any{v.RefDate, int64(i + 1), pg.PagePath, count(pg.PageVisitPV), count(pg.PageVisitUV),
					number(pg.PageStayTimePV), count(pg.EntryPagePV), count(pg.ExitPagePV), count(pg.PageSharePV), count(pg.PageShareUV)})
			}
		}
	case "wxa_user_portrait":
		var v openapi.UserPortrait
		if err = json.Unmarshal(body, &v); err == nil {
			b, _ := dateOf(p.BeginDate)
			e, _ := dateOf(p.EndDate)
			span := int64(e.Sub(b).Hours()/24) + 1
			for _, c := range []struct {
				name string
				p    openapi.Portrait
			}{{"new", v.VisitUVNew}, {"active", v.VisitUV}} {
				for _, d := range []struct {
					name  string
					items []openapi.PortraitItem
				}{{"province", c.p.Province}, {"city", c.p.City}, {"genders", c.p.Genders}, {"platforms", c.p.Platforms},
					{"devices", c.p.Devices}, {"ages", c.p.Ages}} {
					for i, it := range d.items {
						a.rows = append(a.rows, []any{span, v.RefDate, c.name, d.name, int64(i + 1), count(it.ID), it.Name, count(it.Value)})
					}
				}
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("warehouse: the answer of %s does not decode: %v", p.Method, err)
	}
	return a, nil
}

// count is a JSON count as an int64, or NULL when absent.
func count(n json.Number) any {
	if n == "" {
		return nil
	}
	if v, err := n.Int64(); err == nil {
		return v
	}
	if f, err := n.Float64(); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		return int64(math.Round(f))
	}
	return nil
}

// number is a JSON number as a float64, or NULL when absent.
func number(n json.Number) any {
	if n == "" {
		return nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return nil
	}
	return f
}

// Granularity returns the period of method's answers: "day", "week" or
// "month"; "" for a method the warehouse does not keep or whose period is a
// span of recent days (getUserPortrait).
func Granularity(method string) string {
	t := tables[method]
	switch {
	case t == nil || t.name == "wxa_user_portrait":
		return ""
	case t.granularity != "":
		return t.granularity
	}
	return "day"
}
