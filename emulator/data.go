package emulator

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"
)

// The answers below are synthetic but shaped like a real Mini Program's: the
// same AppID and dates always give the same numbers, an AppID's size sets
// them (one in four is a small app with a few pages and sparse portraits),
// retention falls with the key, and keys reach only as far as data is out.

const layout = "20060102"

// app is what an AppID's data looks like; its size sets the numbers and how
// many pages it has.
type app struct {
	dau   float64 // daily active users on an ordinary weekday
	pages int     // distinct pages visited in a day; WeChat lists the top 200
}

func profile(appid string) app {
	h := seed(appid)
	if h%4 == 0 { // one app in four is small
		return app{dau: float64(3 + h/4%40), pages: int(2 + h/4%9)}
	}
	return app{dau: float64(8000 + h%40000), pages: 200}
}

// gen is one answer's generator: a random source seeded by what was asked.
type gen struct {
	app
	rnd        *rand.Rand
	begin, end time.Time
	lastDay    time.Time // the last day whose data is out
}

func seed(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// generate answers q for m as WeChat's JSON; lastDay is the last day whose
// data is out.
func generate(appid string, m *method, q *query, lastDay time.Time) []byte {
	g := &gen{app: profile(appid), begin: q.begin, end: q.end, lastDay: lastDay,
		rnd: rand.New(rand.NewPCG(seed(appid, m.name, q.begin.Format(layout), q.end.Format(layout)), seed(q.module)))}
	var v any
	switch m.name {
	case "getDailyRetain":
		v = g.retain(g.begin.Format(layout), g.dayUsers(g.begin), []int{0, 1, 2, 3, 4, 5, 6, 7, 14, 30},
			func(k int) time.Time { return g.begin.AddDate(0, 0, k) })
	case "getWeeklyRetain":
		v = g.retain(g.rangeDate(), 3.1*g.dayUsers(g.begin), []int{0, 1, 2, 3, 4},
			func(k int) time.Time { return g.end.AddDate(0, 0, 7*k) })
	case "getMonthlyRetain":
		v = g.retain(g.begin.Format("200601"), 6.5*g.dayUsers(g.begin), []int{0, 1},
			func(k int) time.Time { return g.begin.AddDate(0, k+1, -1) })
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
		v = g.pageList()
	case "getUserPortrait":
		v = g.portrait()
	case "getPerformanceData":
		v = g.performance(q.module)
	}
	return marshal(v)
}

// marshal writes JSON as WeChat does: non-ASCII as raw UTF-8, and "/" as
// "\/" (it can only occur inside strings, so every one is escaped).
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only our own maps and structs get here
	}
	return bytes.ReplaceAll(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("/"), []byte(`\/`))
}

func (g *gen) rangeDate() string { return g.begin.Format(layout) + "-" + g.end.Format(layout) }

// dayUsers is the app's active users on day: more at weekends, a little
// noise, the same every time for the same day.
func (g *gen) dayUsers(day time.Time) float64 {
	r := rand.New(rand.NewPCG(uint64(day.Unix()), uint64(g.dau)))
	f := 1.0
	if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
		f = 1.25
	}
	return g.dau * f * (0.9 + 0.2*r.Float64())
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

// retain builds a retention answer. Key 0 counts the period's new and active
// users, key k those of them who came back k periods later (ending on
// periodEnd(k)); a key is there only once its period's data is out.
// Retention falls steeply at first, then flattens, new users faster.
func (g *gen) retain(ref string, active float64, keys []int, periodEnd func(k int) time.Time) retainAnswer {
	a := retainAnswer{RefDate: ref, VisitUvNew: []keyValue{}, VisitUv: []keyValue{}}
	newUsers := active * 0.14
	for _, k := range keys {
		if periodEnd(k).After(g.lastDay) {
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
	return a
}

type summaryItem struct {
	RefDate    string `json:"ref_date"`
	VisitTotal int    `json:"visit_total"`
	SharePv    int    `json:"share_pv"`
	ShareUv    int    `json:"share_uv"`
}

func (g *gen) summary() any {
	launch := time.Date(2017, 1, 9, 0, 0, 0, 0, cst) // the day Mini Programs launched
	days := max(1, g.begin.Sub(launch).Hours()/24)
	shareUv := g.jitter(g.dayUsers(g.begin) * 0.021)
	return struct {
		List []summaryItem `json:"list"`
	}{[]summaryItem{{g.begin.Format(layout), int(g.dau * (20 + days*0.35)), g.jitter(float64(shareUv) * 1.5), shareUv}}}
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
	uv := g.jitter(scale * g.dayUsers(g.begin))
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
	sessions := g.dayUsers(g.begin) * 2.7
	spread := func(keys []int, total float64, skew float64) []keyValue {
		items := []keyValue{}
		w := shares(len(keys), skew)
		for i, k := range keys {
			if v := g.jitter(total * w[i]); v > 0 {
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
		{"access_source_visit_uv", spread(sceneKeys, sessions/2.7, 1.6)},
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

// pageList is the app's pages by page_visit_pv, at most the top 200, as
// WeChat serves them.
func (g *gen) pageList() any {
	pv := g.dayUsers(g.begin) * 2.7 * 3.3
	items := make([]pageItem, 0, g.pages)
	w := shares(g.pages, 1.1)
	for i := range g.pages {
		path := pageTemplates[i%len(pageTemplates)]
		if i >= len(pageTemplates) {
			path += strconv.Itoa(i / len(pageTemplates))
		}
		p := max(1, g.jitter(pv*w[i]))
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
	users := g.dayUsers(g.end) * (1 + 0.45*float64(days-1))
	build := func(total float64) portrait {
		// Attributes no user had are left out: a small app's lists can be empty.
		list := func(attrs []named, skew float64) []attr {
			out := []attr{}
			w := shares(len(attrs), skew)
			for i, a := range attrs {
				if v := g.jitter(total * w[i]); v > 0 {
					out = append(out, attr{ID: &a.id, Name: a.name, Value: v})
				}
			}
			return out
		}
		p := portrait{Province: list(provinces, 0.8), City: list(cities, 0.9), Genders: list(genders, 1.5),
			Platforms: list(platforms, 2.5), Ages: list(ages, 0.9), Devices: []attr{}}
		w := shares(len(devices), 0.7)
		for i, d := range devices { // the top 20, a third of the users; no id, as WeChat answers
			if v := g.jitter(total * 0.35 * w[i]); v > 0 {
				p.Devices = append(p.Devices, attr{Name: d, Value: v})
			}
		}
		return p
	}
	return struct {
		RefDate    string   `json:"ref_date"`
		VisitUvNew portrait `json:"visit_uv_new"`
		VisitUv    portrait `json:"visit_uv"`
	}{ref, build(users * 0.14), build(users)}
}

// shares are n shares that fall off with skew and add up to 1.
func shares(n int, skew float64) []float64 {
	out := make([]float64, n)
	sum := 0.0
	for i := range out {
		out[i] = math.Pow(float64(i+1), -skew)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
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

func (g *gen) performance(module string) any {
	tables := []perfTable{}
	for _, ind := range performanceIndicators[module] {
		t := perfTable{ID: ind.id, Zh: ind.zh}
		t.Lines = make([]struct {
			Fields []perfField `json:"fields"`
		}, 1)
		for day := g.begin; !day.After(g.end); day = day.Add(24 * time.Hour) {
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
