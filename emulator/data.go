package emulator

import (
	"encoding/json"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"

	"github.com/wxanalysis/wxanalysis/openapi"
)

// The answers below are synthetic but shaped like a real Mini Program's: the
// same AppID and dates always give the same numbers, retention falls with
// the key, and keys reach only as far as time has passed.

const layout = "20060102"

// request holds what a generator needs of any method's parameters.
type request struct {
	BeginDate, EndDate string
	Time               struct{ BeginTimestamp, EndTimestamp int64 }
	Module             json.Number
}

// gen is one answer's generator: a random source seeded by what was asked.
type gen struct {
	appBase    float64 // the app's daily active users on an ordinary day
	rnd        *rand.Rand
	begin, end time.Time
	yesterday  time.Time
}

func seed(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

func generate(appid string, m *openapi.Method, params openapi.Params, now time.Time) []byte {
	var req request
	b, _ := json.Marshal(params)
	_ = json.Unmarshal(b, &req) // our own parameters: they always decode
	g := &gen{
		appBase:   float64(8000 + seed(appid)%40000),
		rnd:       rand.New(rand.NewPCG(seed(appid, m.Name, req.BeginDate, req.EndDate), seed(string(req.Module)))),
		yesterday: openapi.Today(now).AddDate(0, 0, -1),
	}
	g.begin, _ = time.ParseInLocation(layout, req.BeginDate, openapi.CST)
	g.end, _ = time.ParseInLocation(layout, req.EndDate, openapi.CST)
	var v any
	switch m.Name {
	case "getDailyRetain":
		v = g.retain(g.begin.Format(layout), g.dau(g.begin), []int{0, 1, 2, 3, 4, 5, 6, 7, 14, 30}, 0, 0, 1)
	case "getWeeklyRetain":
		v = g.retain(g.rangeDate(), 3.1*g.dau(g.begin), []int{0, 1, 2, 3, 4}, 0, 7, 0)
	case "getMonthlyRetain":
		v = g.retain(g.begin.Format("200601"), 6.5*g.dau(g.begin), []int{0, 1}, 1, 0, 0)
	case "getDailySummary":
		v = g.summary()
	case "getDailyVisitTrend":
		v = g.trend(g.begin.Format(layout), 1)
	case "getWeeklyVisitTrend":
		v = g.trend(g.rangeDate(), 3.1)
	case "getMonthlyVisitTrend":
		v = g.trend(g.begin.Format("200601"), 6.5)
	case "getVisitDistribution":
		v = g.distribution()
	case "getVisitPage":
		v = g.pages()
	case "getUserPortrait":
		v = g.portrait()
	case "getPerformanceData":
		v = g.performance(req)
	}
	out, _ := json.Marshal(v) // structs and slices of our own: always encode
	return out
}

func (g *gen) rangeDate() string { return g.begin.Format(layout) + "-" + g.end.Format(layout) }

// dau is the app's daily active users on day: busier at weekends, a little
// noise, the same every time for the same day.
func (g *gen) dau(day time.Time) float64 {
	r := rand.New(rand.NewPCG(uint64(day.Unix()), uint64(g.appBase)))
	f := 1.0
	if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
		f = 1.25
	}
	return g.appBase * f * (0.9 + 0.2*r.Float64())
}

func (g *gen) jitter(v float64) int { return int(math.Round(v * (0.96 + 0.08*g.rnd.Float64()))) }

type keyValue struct {
	Key   int `json:"key"`
	Value int `json:"value"`
}

type retainAnswer struct {
	RefDate    string     `json:"ref_date"`
	VisitUvNew []keyValue `json:"visit_uv_new"`
	VisitUv    []keyValue `json:"visit_uv"`
}

// retain builds a retention answer. Key k is k periods after the first; it
// is present only if that period is over (months, days of a week, days).
func (g *gen) retain(ref string, active float64, keys []int, months, days, step int) retainAnswer {
	a := retainAnswer{RefDate: ref}
	newUsers := active * 0.14
	for _, k := range keys {
		periodEnd := g.end.AddDate(0, 0, k*days+k*step)
		if months > 0 {
			periodEnd = time.Date(g.begin.Year(), g.begin.Month()+time.Month(k)+1, 0, 0, 0, 0, 0, openapi.CST)
		}
		if periodEnd.After(g.yesterday) {
			break
		}
		fNew, fActive := 1.0, 1.0
		if k > 0 {
			fNew = 0.30 * math.Pow(float64(k), -0.45)
			fActive = 0.52 * math.Pow(float64(k), -0.3)
		}
		a.VisitUvNew = append(a.VisitUvNew, keyValue{k, g.jitter(newUsers * fNew)})
		a.VisitUv = append(a.VisitUv, keyValue{k, g.jitter(active * fActive)})
	}
	if a.VisitUvNew == nil {
		a.VisitUvNew, a.VisitUv = []keyValue{}, []keyValue{}
	}
	return a
}

type summaryItem struct {
	RefDate    string `json:"ref_date"`
	VisitTotal int    `json:"visit_total"`
	SharePv    int    `json:"share_pv"`
	ShareUv    int    `json:"share_uv"`
}

func (g *gen) summary() any {
	launch := time.Date(2017, 1, 9, 0, 0, 0, 0, openapi.CST) // the day Mini Programs launched
	days := max(1, g.begin.Sub(launch).Hours()/24)
	shareUv := g.jitter(g.dau(g.begin) * 0.021)
	return struct {
		List []summaryItem `json:"list"`
	}{[]summaryItem{{g.begin.Format(layout), int(g.appBase * (20 + days*0.35)), g.jitter(float64(shareUv) * 1.5), shareUv}}}
}

type trendItem struct {
	RefDate         string  `json:"ref_date"`
	SessionCnt      int     `json:"session_cnt"`
	VisitPv         int     `json:"visit_pv"`
	VisitUv         int     `json:"visit_uv"`
	VisitUvNew      int     `json:"visit_uv_new"`
	StayTimeUv      float64 `json:"stay_time_uv"`
	StayTimeSession float64 `json:"stay_time_session"`
	VisitDepth      float64 `json:"visit_depth"`
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

func (g *gen) trend(ref string, scale float64) any {
	uv := g.jitter(scale * g.dau(g.begin))
	sessions := g.jitter(float64(uv) * 2.7)
	pv := g.jitter(float64(sessions) * 3.3)
	staySession := round(40+30*g.rnd.Float64(), 4)
	return struct {
		List []trendItem `json:"list"`
	}{[]trendItem{{ref, sessions, pv, uv, g.jitter(float64(uv) * 0.13),
		round(staySession*float64(sessions)/float64(uv), 4), staySession, round(float64(pv)/float64(sessions), 4)}}}
}

// sceneKeys are the documented keys of access_source_session_cnt, most
// common first.
var sceneKeys = []int{1, 3, 2, 7, 8, 4, 16, 18, 11, 22, 23, 10, 46, 29, 35, 36, 6, 5, 13, 27, 30, 33, 37, 41, 42, 45,
	47, 48, 9, 12, 14, 15, 17, 19, 20, 21, 24, 25, 26, 28, 31, 32, 34, 38, 39, 40, 43, 44, 49, 50, 51, 52, 53, 54, 55, 56, 57}

type distribution struct {
	Index    string     `json:"index"`
	ItemList []keyValue `json:"item_list"`
}

func (g *gen) distribution() any {
	sessions := g.dau(g.begin) * 2.7
	spread := func(keys []int, total float64, skew float64) []keyValue {
		var items []keyValue
		for i, k := range keys {
			if v := g.jitter(total * math.Pow(float64(i+1), -skew) * 0.35); v > 0 {
				items = append(items, keyValue{k, v})
			}
		}
		return items
	}
	return struct {
		RefDate string         `json:"ref_date"`
		List    []distribution `json:"list"`
	}{g.begin.Format(layout), []distribution{
		{"access_source_session_cnt", spread(sceneKeys, sessions, 1.6)},
		{"access_staytime_info", spread([]int{3, 4, 2, 5, 6, 1, 7, 8}, sessions, 0.6)},
		{"access_depth_info", spread([]int{1, 2, 3, 4, 5, 6, 7}, sessions, 1.1)},
	}}
}

type pageItem struct {
	PagePath       string  `json:"page_path"`
	PageVisitPv    int     `json:"page_visit_pv"`
	PageVisitUv    int     `json:"page_visit_uv"`
	PageStaytimePv float64 `json:"page_staytime_pv"`
	EntrypagePv    int     `json:"entrypage_pv"`
	ExitpagePv     int     `json:"exitpage_pv"`
	PageSharePv    int     `json:"page_share_pv"`
	PageShareUv    int     `json:"page_share_uv"`
}

var pageTemplates = []string{
	"pages/index/index", "pages/goods/detail", "pages/category/category", "pages/cart/cart", "pages/search/search",
	"pages/user/user", "pages/order/list", "pages/order/detail", "pages/address/list", "pages/coupon/coupon",
	"packageA/pages/article/article", "packageA/pages/topic/topic", "packageB/pages/live/live", "packageB/pages/shop/shop",
}

// pages is the top 200 pages by page_visit_pv, as WeChat serves them.
func (g *gen) pages() any {
	pv := g.dau(g.begin) * 2.7 * 3.3
	items := make([]pageItem, 0, 200)
	for i := range 200 {
		path := pageTemplates[i%len(pageTemplates)]
		if i >= len(pageTemplates) {
			path += strconv.Itoa(i / len(pageTemplates))
		}
		p := max(1, g.jitter(pv*0.3*math.Pow(float64(i+1), -1.1)))
		uv := max(1, g.jitter(float64(p)*0.38))
		items = append(items, pageItem{path, p, uv, round(3+40*g.rnd.Float64(), 6),
			g.jitter(float64(p) * 0.2), g.jitter(float64(p) * 0.22), g.jitter(float64(p) * 0.004), g.jitter(float64(p) * 0.003)})
	}
	sort.SliceStable(items, func(a, b int) bool { return items[a].PageVisitPv > items[b].PageVisitPv })
	return struct {
		RefDate string     `json:"ref_date"`
		List    []pageItem `json:"list"`
	}{g.begin.Format(layout), items}
}

type attr struct {
	ID    *int   `json:"id,omitempty"`
	Name  string `json:"name"`
	Value int    `json:"value"`
}

type portrait struct {
	Province  []attr `json:"province"`
	City      []attr `json:"city"`
	Genders   []attr `json:"genders"`
	Platforms []attr `json:"platforms"`
	Devices   []attr `json:"devices"`
	Ages      []attr `json:"ages"`
}

type named struct {
	id   int
	name string
}

var (
	provinces = []named{{31, "广东省"}, {25, "江苏省"}, {23, "浙江省"}, {27, "山东省"}, {32, "四川省"}, {21, "上海"},
		{11, "北京"}, {28, "河南省"}, {30, "湖北省"}, {26, "福建省"}}
	cities = []named{{3102, "广州"}, {3103, "深圳"}, {2101, "上海"}, {1101, "北京"}, {2301, "杭州"}, {3201, "成都"},
		{2501, "南京"}, {3001, "武汉"}, {2601, "厦门"}, {2701, "青岛"}}
	genders   = []named{{2, "女"}, {1, "男"}, {0, "未知"}}
	platforms = []named{{2, "android"}, {1, "iPhone"}, {3, "其他"}}
	ages      = []named{{3, "25-29岁"}, {4, "30-39岁"}, {2, "18-24岁"}, {5, "40-49岁"}, {6, "50岁以上"}, {1, "17岁以下"}, {0, "未知"}}
	devices   = []string{"苹果 iPhone 15", "苹果 iPhone 14", "华为 Mate 60 Pro", "苹果 iPhone 13", "OPPO Reno11", "vivo X100",
		"小米 14", "华为 nova 12", "荣耀 Magic6", "苹果 iPhone 15 Pro Max", "OPPO R9", "vivo S18", "小米 Redmi K70",
		"华为 P60", "一加 12", "苹果 iPhone 12", "荣耀 90", "realme GT5", "华为 Mate X5", "小米 Civi 4"}
)

func (g *gen) portrait() any {
	days := int(g.end.Sub(g.begin).Hours()/24) + 1
	ref := g.begin.Format(layout)
	if days > 1 {
		ref = g.rangeDate()
	}
	users := g.dau(g.end) * (1 + 0.45*float64(days-1))
	build := func(total float64) portrait {
		list := func(attrs []named, skew float64) []attr {
			out := make([]attr, len(attrs))
			for i, a := range attrs {
				out[i] = attr{ID: &a.id, Name: a.name, Value: g.jitter(total * 0.4 * math.Pow(float64(i+1), -skew))}
			}
			return out
		}
		p := portrait{Province: list(provinces, 0.8), City: list(cities, 0.9), Genders: list(genders, 1.5),
			Platforms: list(platforms, 2.5), Ages: list(ages, 0.9)}
		for i, d := range devices {
			p.Devices = append(p.Devices, attr{Name: d, Value: g.jitter(total * 0.08 * math.Pow(float64(i+1), -0.7))})
		}
		return p
	}
	return struct {
		RefDate    string   `json:"ref_date"`
		VisitUvNew portrait `json:"visit_uv_new"`
		VisitUv    portrait `json:"visit_uv"`
	}{ref, build(users * 0.14), build(users)}
}

type perfTable struct {
	ID    string `json:"id"`
	Lines []struct {
		Fields []perfField `json:"fields"`
	} `json:"lines"`
	Zh string `json:"zh"`
}

type perfField struct {
	Refdate string `json:"refdate"`
	Value   string `json:"value"`
}

// performanceIndicators are the tables each module answers with: id, name,
// typical value.
var performanceIndicators = map[string][]struct {
	id, zh string
	base   float64
}{
	"10016": {{"openrate", "打开率", 92.5}},
	"10017": {{"startup_total", "启动总耗时", 1850}, {"download_pkg", "代码包下载耗时", 420}, {"first_render", "首次渲染耗时", 610}},
	"10021": {{"page_switch", "页面切换耗时", 380}},
	"10022": {{"memorydiff", "内存增长均值", 71}, {"memory", "内存均值", 308}},
	"10023": {{"memory_abnormal", "内存异常率", 0.42}},
}

func (g *gen) performance(req request) any {
	var tables []perfTable
	for _, ind := range performanceIndicators[string(req.Module)] {
		t := perfTable{ID: ind.id, Zh: ind.zh}
		t.Lines = make([]struct {
			Fields []perfField `json:"fields"`
		}, 1)
		for ts := req.Time.BeginTimestamp; ts <= req.Time.EndTimestamp; ts += 24 * 60 * 60 {
			day := time.Unix(ts, 0).In(openapi.CST)
			v := ind.base * (0.95 + 0.1*g.rnd.Float64())
			t.Lines[0].Fields = append(t.Lines[0].Fields, perfField{day.Format(layout), strconv.FormatFloat(round(v, 4), 'f', -1, 64)})
		}
		tables = append(tables, t)
	}
	type body struct {
		Tables []perfTable `json:"tables"`
		Count  int         `json:"count"`
	}
	return struct {
		Errcode int    `json:"errcode"`
		Errmsg  string `json:"errmsg"`
		Data    struct {
			Body body `json:"body"`
		} `json:"data"`
	}{Errmsg: "ok", Data: struct {
		Body body `json:"body"`
	}{body{tables, len(tables)}}}
}
