// Command driver measures the function against the floor and its peers on
// one WeChat emulator, interleaving the contenders, and writes BENCHMARKS.md.
// Run it from bench/ (make bench does).
//
// Contenders, each a Go1 function driven through SCF's RPC protocol:
//   - wxanalysis: this repository's function, as deployed;
//   - floor: one POST with a known token, the raw body back;
//   - silenceper: the same function written with github.com/silenceper/wechat/v2.
//
// And, per conversion, wx-server-sdk's own key conversion in Node against
// this repository's casing package; and a dashboard: a month of daily visits
// as single invocations against one series invocation, with upstream latency.
//
// With -profile DIR it writes nothing else: it runs bench/profiled, the
// function with CPU and allocation profiles, under the c=16 load.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/handler"
	"github.com/wxanalysis/wxanalysis/internal/fixture"
	"github.com/wxanalysis/wxanalysis/internal/scf"
)

var (
	out      = flag.String("out", "../BENCHMARKS.md", "the report to write")
	duration = flag.Duration("duration", time.Second, "length of one measuring round per contender and concurrency")
	rounds   = flag.Int("rounds", 5, "interleaved rounds")
	colds    = flag.Int("cold", 15, "cold starts per contender")
	goBench  = flag.String("benchtime", "1s", "-benchtime for the Go benchmarks")
	latency  = flag.Duration("latency", 100*time.Millisecond, "upstream latency the emulator adds per analysis call, for the dashboard")
	days     = flag.Int("days", 30, "days of visits the dashboard draws")
	profile  = flag.String("profile", "", "instead of the report: write cpu.pprof and allocs.pprof of the function under the c=16 load to this directory")
	abSpec   = flag.String("ab", "", "instead of the report: label=moduleDir[+ENV=V...],... measured against the floor at c=16 and c=64 (paired medians)")
	coldOnly = flag.Bool("cold-only", false, "instead of the report: only -cold cold starts from disk of the floor and of each -ab variant (default wxanalysis=..), built as deployed")
)

// levels are the concurrencies measured; profiled is the one -profile loads.
var levels = []int{1, 16, 64}

const profiled = 16

// A benchEvent is one invocation's payload and the ref_date its answer names.
type benchEvent struct {
	payload []byte
	ref     string
}

// events are the getWeeklyRetain weeks the invokers ask for in turn: all
// different (distinctWeeks), so that no two invocations share one upstream
// call and, with the cache on, none is answered from it.
var events = distinctWeeks()

// noStore keeps the function from answering from its cache, so that every
// invocation makes its own upstream call, as the floor's does.
const noStore = "CACHE_MAX_BYTES=0"

type contender struct {
	name, bin string
	env       []string
	fixed     bool // answers events[0] whatever it is asked (the floor)
	perfFields
	size    int64
	cold    []time.Duration
	lat     map[int][]time.Duration // concurrency → latencies
	ops     map[int]int
	elapsed map[int]time.Duration
	cpu     map[int]time.Duration // the function process's CPU time during the measured runs
	rss     int64                 // KiB
	proc    *scf.Process
}

func (c *contender) reset() {
	c.lat, c.ops, c.elapsed, c.cpu = map[int][]time.Duration{}, map[int]int{}, map[int]time.Duration{}, map[int]time.Duration{}
}

func (c *contender) tput(conc int) float64 { return float64(c.ops[conc]) / c.elapsed[conc].Seconds() }

// cpuPerCall is the function's CPU time per invocation at conc.
func (c *contender) cpuPerCall(conc int) time.Duration {
	return c.cpu[conc] / time.Duration(max(c.ops[conc], 1))
}

func main() {
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("bench: ")
	if *days < 1 || *days > 100 {
		log.Fatal("-days must be from 1 to 100: a series answers at most 100 periods")
	}
	tmp, err := os.MkdirTemp("", "wxanalysis-bench")
	check(err)
	defer os.RemoveAll(tmp)

	emuHandler := emulator.New(emulator.Config{Logger: slog.New(slog.DiscardHandler)})
	emu := httptest.NewServer(emuHandler)
	defer emu.Close()
	creds := []string{"WECHAT_APPID=" + emulator.DefaultAppID, "WECHAT_APPSECRET=" + emulator.DefaultSecret, "WECHAT_API_BASE=" + emu.URL}

	if *profile != "" {
		profileRun(tmp, creds, emuHandler)
		return
	}
	if *coldOnly {
		coldRun(tmp, creds, emu.URL)
		return
	}
	if *abSpec != "" {
		abRun(tmp, creds, emuHandler, emu.URL)
		return
	}
	if *backfillOnly {
		bin := filepath.Join(tmp, "wxanalysis")
		check(scf.Build("..", bin, runtime.GOOS, runtime.GOARCH))
		var b strings.Builder
		reportBackfill(&b, backfill(tmp, bin))
		fmt.Print(b.String())
		return
	}

	log.Print("building")
	cs := []*contender{
		{name: "wxanalysis", env: creds, perfFields: perfFields{module: ".."}},
		{name: "floor", fixed: true, perfFields: perfFields{module: ".", pkg: "floor"},
			env: []string{"FLOOR_URL=" + emu.URL + weeklyPath + "?access_token=" + stableToken(emu.URL)}},
		{name: "silenceper/wechat v2.1.10", perfFields: perfFields{module: ".", pkg: "silenceper"}, env: creds},
	}
	buildContenders(tmp, cs)
	log.Print("cold starts from disk")
	coldStarts(cs)
	log.Print("warm runs")
	warmRuns(tmp, cs, emuHandler)
	log.Print("series CPU per item")
	ser := seriesRun(tmp, cs[0], emuHandler)

	log.Printf("dashboard: %d days, %s upstream latency", *days, *latency)
	dash := dashboard(cs[0].bin)
	ser.dash = dash

	bf := backfill(tmp, cs[0].bin)

	log.Print("Node: wx-server-sdk")
	node := nodeBench(tmp)
	log.Print("Go benchmarks")
	gb := goBenchmarks()
	log.Print("binary size by package")
	sizes := sizeByPackage(tmp)

	var b strings.Builder
	report(&b, cs, dash, node, gb, sizes, ser)
	reportBackfill(&b, bf)
	check(os.WriteFile(*out, []byte(b.String()), 0o644))
	log.Printf("wrote %s", *out)
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func build(pkg, out string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// stableToken fetches a token for the floor, which manages none.
func stableToken(base string) string {
	body := fmt.Sprintf(`{"grant_type":"client_credential","appid":%q,"secret":%q}`, emulator.DefaultAppID, emulator.DefaultSecret)
	resp, err := http.Post(base+"/cgi-bin/stable_token", "application/json", strings.NewReader(body))
	check(err)
	defer resp.Body.Close()
	var t struct {
		AccessToken string `json:"access_token"`
	}
	check(json.NewDecoder(resp.Body).Decode(&t))
	return t.AccessToken
}

// run invokes c from conc goroutines for d with distinct requests,
// recording every latency, the function's CPU time and its allocations
// (perf.go: measured.load).
func run(c *contender, conc int, d time.Duration) {
	ref := ""
	if c.fixed {
		ref = fixedRef
	}
	var lats []time.Duration
	cl := c.m.load(conc, d, ref, &lats)
	c.lat[conc] = append(c.lat[conc], lats...)
	c.ops[conc] += cl.ops
	c.elapsed[conc] += cl.elapsed
	c.cpu[conc] += cl.cpu
	if c.cells == nil {
		c.cells = map[int][]cell{}
	}
	c.cells[conc] = append(c.cells[conc], cl)
	if !c.fixed && c.name != "silenceper/wechat v2.1.10" && cl.upstream != cl.ops {
		log.Fatalf("%s: %d invocations but %d upstream calls: some were answered from the cache", c.name, cl.ops, cl.upstream)
	}
}

// profileRun runs bench/profiled, the function with profiles, as deployed
// (cache on, distinct requests), under the c=16 load for rounds × duration,
// and leaves its profiles in *profile.
func profileRun(tmp string, creds []string, emu *emulator.Emulator) {
	dir, err := filepath.Abs(*profile)
	check(err)
	check(os.MkdirAll(dir, 0o755))
	c := &contender{name: "profiled", bin: filepath.Join(tmp, "profiled"), env: append(creds,
		"CPUPROFILE="+filepath.Join(dir, "cpu.pprof"), "MEMPROFILE="+filepath.Join(dir, "allocs.pprof"))}
	check(buildCounted(tmp, ".", "profiled", c.bin))
	c.reset()
	c.m = startMeasured(tmp, c.name, c.bin, c.env, emu)
	c.proc = c.m.proc
	run(c, 8, 300*time.Millisecond)
	c.reset()
	run(c, profiled, time.Duration(*rounds)*(*duration))
	pid := c.proc.PID()
	check(syscall.Kill(pid, syscall.SIGTERM))
	for deadline := time.Now().Add(10 * time.Second); syscall.Kill(pid, 0) == nil && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	c.proc.Close()
	cl := c.cells[profiled][0]
	log.Printf("c=%d: %.0f req/s, %.1f µs CPU, %.1f allocations, %.2f KB per call; go tool pprof -top %s", profiled, c.tput(profiled),
		float64(c.cpuPerCall(profiled).Nanoseconds())/1000, float64(cl.objects)/float64(cl.ops), float64(cl.bytes)/float64(cl.ops)/1024,
		filepath.Join(dir, "cpu.pprof"))
}

// dash is the dashboard's measurements: a chart of daily visits drawn from
// single invocations, from one series invocation, and from it again, cached.
type dash struct {
	begin, end                string // yyyymmdd, China Standard Time
	singles, series, cached   time.Duration
	singleUp, seriesUp, cacUp int // upstream analysis calls
}

const dailyPath = "/datacube/getweanalysisappiddailyvisittrend"

// dashboard draws *days of getDailyVisitTrend, ending yesterday in China
// Standard Time, from bin as deployed (its default cache), against an
// emulator that adds *latency to every analysis call: day by day on one fresh
// process, then with one series call on another, then that call again.
func dashboard(bin string) dash {
	e := emulator.New(emulator.Config{Latency: *latency, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(e)
	defer srv.Close()
	env := []string{"WECHAT_APPID=" + emulator.DefaultAppID, "WECHAT_APPSECRET=" + emulator.DefaultSecret, "WECHAT_API_BASE=" + srv.URL}
	inv := scf.Invocation{FunctionName: "analysis", Timeout: 30 * time.Second}
	yesterday := time.Now().In(time.FixedZone("CST", 8*60*60)).AddDate(0, 0, -1)
	d := dash{begin: yesterday.AddDate(0, 0, 1-*days).Format("20060102"), end: yesterday.Format("20060102")}
	// timed invokes payload on p, checks the answer and counts its upstream calls.
	timed := func(p *scf.Process, payload string, took *time.Duration, up *int) []byte {
		before := e.Requests(dailyPath)
		start := time.Now()
		res, err := p.Invoke([]byte(payload), inv)
		*took += time.Since(start)
		*up += e.Requests(dailyPath) - before
		if err != nil || !bytes.HasSuffix(res, []byte(`"errCode":0}`)) {
			log.Fatalf("dashboard: %s: %v %s", payload, err, res)
		}
		return res
	}

	p, err := scf.StartTo(io.Discard, bin, env, 10*time.Second)
	check(err)
	var singles [][]byte
	for i := range *days {
		day := yesterday.AddDate(0, 0, i+1-*days).Format("20060102")
		singles = append(singles, timed(p, fmt.Sprintf(`{"action":"getDailyVisitTrend","beginDate":%q,"endDate":%q}`, day, day), &d.singles, &d.singleUp))
	}
	p.Close()

	p, err = scf.StartTo(io.Discard, bin, env, 10*time.Second)
	check(err)
	defer p.Close()
	series := fmt.Sprintf(`{"action":"series","method":"getDailyVisitTrend","beginDate":%q,"endDate":%q}`, d.begin, d.end)
	first := timed(p, series, &d.series, &d.seriesUp)
	again := timed(p, series, &d.cached, &d.cacUp)
	want := `{"results":[` + string(bytes.Join(singles, []byte(","))) + `],"errMsg":"series:ok","errCode":0}`
	if string(first) != want || string(again) != want {
		log.Fatalf("dashboard: the series answers differ from the %d single answers:\n%s\n%s\n%s", *days, first, again, want)
	}
	return d
}

func peakRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// cpuTime returns the user and system CPU time pid has used.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses: utime and stime are the 12th and 13th.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond // clock ticks of 100 Hz
}

type nodeResult struct {
	Node        string  `json:"node"`
	SDK         string  `json:"sdk"`
	RequireMs   float64 `json:"require_ms"`
	SeedBytes   int     `json:"seed_bytes"`
	SeedConvert float64 `json:"seed_convert_ns"`
	SeedText    float64 `json:"seed_text_ns"`
	PageBytes   int     `json:"page_bytes"`
	PageConvert float64 `json:"page_convert_ns"`
	PageText    float64 `json:"page_text_ns"`
}

func nodeBench(tmp string) *nodeResult {
	seed, page := filepath.Join(tmp, "seed.json"), filepath.Join(tmp, "page.json")
	check(os.WriteFile(seed, fixture.SeedWeekly, 0o644))
	check(os.WriteFile(page, fixture.VisitPage(), 0o644))
	cmd := exec.Command("node", "node/convert.js", seed, page)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		log.Printf("Node benchmark skipped: %v (run make conformance first to install the SDK)", err)
		return nil
	}
	var r nodeResult
	check(json.Unmarshal(b, &r))
	return &r
}

type goResult struct {
	name                    string
	nsPerOp, mbPerS         float64
	bytesPerOp, allocsPerOp int64
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+([\d.]+) MB/s)?(?:\s+(\d+) B/op\s+(\d+) allocs/op)?`)

func goBenchmarks() map[string]goResult {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", *goBench,
		"./casing", "./handler", "./openapi", "./internal/h1", "./internal/scfrpc")
	cmd.Dir = ".."
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	check(err)
	res := map[string]goResult{}
	for _, line := range strings.Split(string(b), "\n") {
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		r := goResult{name: m[1]}
		r.nsPerOp, _ = strconv.ParseFloat(m[2], 64)
		r.mbPerS, _ = strconv.ParseFloat(m[3], 64)
		r.bytesPerOp, _ = strconv.ParseInt(m[4], 10, 64)
		r.allocsPerOp, _ = strconv.ParseInt(m[5], 10, 64)
		res[r.name] = r
	}
	return res
}

// sizeByPackage builds the function unstripped and sums its symbol sizes by
// package, to say where the bytes of the binary go.
func sizeByPackage(tmp string) []pkgSize {
	bin := filepath.Join(tmp, "unstripped")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	check(cmd.Run())
	nm, err := exec.Command("go", "tool", "nm", "-size", bin).Output()
	check(err)
	sums := map[string]int64{}
	for _, line := range strings.Split(string(nm), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.Contains("TtRr", f[2]) {
			continue // code and read-only data only: data symbols include zero-filled ones not in the file
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		sums[pkgOf(f[3])] += size
	}
	var out []pkgSize
	for p, n := range sums {
		out = append(out, pkgSize{p, n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].size > out[j].size })
	return out
}

type pkgSize struct {
	pkg  string
	size int64
}

// pkgOf groups a symbol by its module-ish prefix.
func pkgOf(sym string) string {
	if strings.HasPrefix(sym, "go:func.") || strings.HasPrefix(sym, "runtime.") && strings.Contains(sym, "tab") {
		return "runtime metadata (function tables)"
	}
	sym = strings.TrimPrefix(sym, "go:")
	sym = strings.TrimPrefix(sym, "type:")
	sym = strings.TrimPrefix(sym, "*")
	if i := strings.IndexAny(sym, "(["); i > 0 {
		sym = sym[:i]
	}
	if i := strings.LastIndex(sym, "/"); i >= 0 {
		if j := strings.Index(sym[i:], "."); j > 0 {
			sym = sym[:i+j]
		}
	} else if j := strings.Index(sym, "."); j > 0 {
		sym = sym[:j]
	}
	switch {
	case strings.HasPrefix(sym, "crypto/"), sym == "crypto", strings.HasPrefix(sym, "vendor/golang.org/x/crypto"):
		return "crypto (TLS to WeChat)"
	case strings.HasPrefix(sym, "net/http"), strings.HasPrefix(sym, "vendor/golang.org/x/net"):
		return "net/http"
	case strings.HasPrefix(sym, "github.com/wxanalysis/"):
		return "wxanalysis"
	}
	return sym
}

func percentile(lats []time.Duration, p float64) time.Duration {
	if len(lats) == 0 {
		return 0
	}
	s := slices.Clone(lats)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func median(ds []time.Duration) time.Duration { return percentile(ds, 0.5) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d.Nanoseconds())/1000) }

func mb(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }

func secs(d time.Duration) string {
	if d < time.Second {
		return ms(d)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func report(b *strings.Builder, cs []*contender, d dash, node *nodeResult, gb map[string]goResult, sizes []pkgSize, ser seriesResult) {
	goVersion, _ := exec.Command("go", "version").Output()
	fmt.Fprintf(b, "# Benchmarks\n\nWritten by `make bench` on %s, every figure and sentence from that one run. Do not edit: run it again.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(b, "- Machine: %s, %d cores, %s memory, %s/%s\n", cpuModel(), runtime.NumCPU(), memTotal(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(b, "- Go: %s\n", strings.TrimSpace(strings.TrimPrefix(string(goVersion), "go version ")))
	if node != nil {
		fmt.Fprintf(b, "- Node.js: %s, wx-server-sdk %s\n", node.Node, node.SDK)
	}
	fmt.Fprintf(b, "- Method: each contender is a Go1 function binary started and invoked as SCF does (`_LAMBDA_SERVER_PORT`, "+
		"net/rpc `Function.Invoke`), calling getWeeklyRetain on one WeChat emulator over loopback HTTP. wxanalysis runs in its "+
		"default configuration, in-process cache on; each process's invokers ask for %d different weeks in turn, more than "+
		"its cache holds, so that every invocation misses and makes its own upstream call, as the floor's does (the driver "+
		"checks it: upstream calls counted by the emulator equal invocations, every run). %s of %s per contender and "+
		"concurrency, the contenders in a different order each round; throughput against the floor is the median over the "+
		"rounds of the ratio within each round, so that a round disturbed by other work on the machine moves both; "+
		"latencies are per invocation, measured by the invoker; CPU is the function process's user and system time.\n\n",
		len(events), plural(*rounds, "round"), *duration)

	wx, floor := cs[0], cs[1]
	vsFloor := func(conc int) float64 { return wx.vsFloor(floor, conc) }
	cpuGap := func(conc int) string {
		return fmt.Sprintf("its process spends %s of CPU per call against the floor's %s", us(wx.medCPU(conc)), us(floor.medCPU(conc)))
	}
	b.WriteString("## Through the SCF protocol\n\n")
	for _, conc := range []int{16, 64} {
		fmt.Fprintf(b, "**At concurrency %d wxanalysis reaches %.2f× the floor's throughput** (target ≥ 0.85×: %s); %s.\n\n",
			conc, vsFloor(conc), metWord(vsFloor(conc) >= 0.85), cpuGap(conc))
	}
	b.WriteString("| concurrency | function | req/s | vs floor | p50 | p99 | function CPU per call |\n|---:|---|---:|---:|---:|---:|---:|\n")
	for _, conc := range levels {
		for _, c := range cs {
			fmt.Fprintf(b, "| %d | %s | %.0f | %.2f× | %s | %s | %s |\n", conc, c.name, c.tput(conc), c.vsFloor(floor, conc),
				us(percentile(c.lat[conc], 0.5)), us(percentile(c.lat[conc], 0.99)), us(c.medCPU(conc)))
		}
	}
	b.WriteString("\n")
	reportPerInvocation(b, cs, ser)
	reportStartSize(b, cs)
	b.WriteString("The floor does no checking, no conversion and no token management: its cost is the runtime protocol " +
		"plus one loopback HTTP call. silenceper/wechat returns typed structs (snake_case JSON), not the cloud-call shape.\n\n")

	fmt.Fprintf(b, "## Dashboard: %d days of visits\n\n", *days)
	fmt.Fprintf(b, "getDailyVisitTrend for the %d days %s–%s (ending yesterday, China Standard Time), through the SCF protocol, the "+
		"function as deployed (default cache and `SERIES_CONCURRENCY`), against an emulator that adds %s to every analysis call. "+
		"Singles: %d invocations one after another on a fresh process, as a phone would make them. Series: one `series` invocation "+
		"on another fresh process (cold cache), then the same invocation again; both answers are checked byte for byte against the singles'. "+
		"Wall time is measured by the invoker, upstream calls by the emulator.\n\n",
		*days, d.begin, d.end, *latency, *days)
	b.WriteString("| invocations | wall time | upstream calls | faster than the singles | upstream calls saved |\n|---|---:|---:|---:|---:|\n")
	dashRow := func(name string, took time.Duration, up int) {
		fmt.Fprintf(b, "| %s | %s | %d | %s | %d of %d |\n", name, secs(took), up, times(d.singles.Seconds()/took.Seconds()), d.singleUp-up, d.singleUp)
	}
	dashRow(fmt.Sprintf("%d single invocations", *days), d.singles, d.singleUp)
	dashRow("one `series`, cold cache", d.series, d.seriesUp)
	dashRow("the same `series` again, cached", d.cached, d.cacUp)
	b.WriteString("\n")

	b.WriteString("## Key conversion, per answer\n\n")
	b.WriteString("| answer | wxanalysis casing (Go) | wx-server-sdk convertCase (Node) | wx-server-sdk parse + convert + stringify | speed-up, text to text |\n|---|---:|---:|---:|---:|\n")
	seed, page := gb["BenchmarkCamelSeedWeekly"], gb["BenchmarkCamelVisitPage100KB"]
	if node != nil {
		fmt.Fprintf(b, "| seed weekly answer (%d B) | %.0f ns (%.0f MB/s) | %.0f ns | %.0f ns | %.0f× |\n", node.SeedBytes,
			seed.nsPerOp, seed.mbPerS, node.SeedConvert, node.SeedText, node.SeedText/seed.nsPerOp)
		fmt.Fprintf(b, "| getVisitPage top 200 (%d B) | %.0f µs (%.0f MB/s) | %.0f µs | %.0f µs | %.0f× |\n", node.PageBytes,
			page.nsPerOp/1000, page.mbPerS, node.PageConvert/1000, node.PageText/1000, node.PageText/page.nsPerOp)
		fmt.Fprintf(b, "\nCold-start anchor: `require('wx-server-sdk')` alone takes %.0f ms in Node (median of 7 fresh processes); "+
			"the whole Go function starts and answers its first call, token fetch included, in %s.\n\n", node.RequireMs, ms(median(wx.cold)))
	} else {
		b.WriteString("| (Node.js or the SDK was missing: run `make conformance` first) | | | | |\n\n")
	}

	b.WriteString("## Go benchmarks\n\n| benchmark | ns/op | MB/s | B/op | allocs/op |\n|---|---:|---:|---:|---:|\n")
	names := make([]string, 0, len(gb))
	for n := range gb {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		r := gb[n]
		mbs := ""
		if r.mbPerS > 0 {
			mbs = fmt.Sprintf("%.0f", r.mbPerS)
		}
		fmt.Fprintf(b, "| %s | %.0f | %s | %d | %d |\n", n, r.nsPerOp, mbs, r.bytesPerOp, r.allocsPerOp)
	}
	overhead := gb["BenchmarkHandlerSeedWeekly"].nsPerOp - gb["BenchmarkHTTPClientOnly"].nsPerOp

	b.WriteString("\n## Targets\n\n| target | measured | met |\n|---|---|---|\n")
	row := func(name, measured string, ok bool, whyNot string) {
		mark := "yes"
		if !ok {
			mark = "**no**: " + whyNot
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", name, measured, mark)
	}
	row("casing, seed answer: < 1 µs, ≤ 4 allocations", fmt.Sprintf("%.0f ns, %d allocs", seed.nsPerOp, seed.allocsPerOp),
		seed.nsPerOp < 1000 && seed.allocsPerOp <= 4, "see the Go benchmarks")
	row("casing, 100 KB answer: ≥ 300 MB/s", fmt.Sprintf("%.0f MB/s", page.mbPerS), page.mbPerS >= 300, "see the Go benchmarks")
	row("handler overhead in process: < 15 µs", fmt.Sprintf("%.1f µs (handler %.1f µs − bare HTTP client %.1f µs)", overhead/1000,
		gb["BenchmarkHandlerSeedWeekly"].nsPerOp/1000, gb["BenchmarkHTTPClientOnly"].nsPerOp/1000), overhead < 15000, "see the Go benchmarks")
	for _, conc := range []int{16, 64} {
		row(fmt.Sprintf("through RPC at c=%d, every call upstream: ≥ 0.85 × the floor", conc), fmt.Sprintf("%.2f×", vsFloor(conc)),
			vsFloor(conc) >= 0.85, cpuGap(conc))
	}
	coldRatio := float64(median(wx.cold)) / float64(median(floor.cold))
	row("cold start from disk: ≤ 1.3 × the floor's", fmt.Sprintf("%s, %.2f× the floor's %s", ms(median(wx.cold)), coldRatio, ms(median(floor.cold))),
		coldRatio <= 1.3, "see the cold start column")
	row("deployed binary, stripped: ≤ 12 MiB", fmt.Sprintf("%s (%d bytes); the floor %s", mb(wx.size), wx.size, mb(floor.size)), wx.size <= 12<<20,
		fmt.Sprintf("%d bytes over", wx.size-12<<20))
	row("peak RSS at c=64: < 25 MiB", fmt.Sprintf("%s in the default configuration, its in-process cache full (%s of memory, "+
		"each answer's overhead counted); %s with no answers stored (`%s`)", mb(wx.rss<<10), mb(handler.DefaultCacheMaxBytes),
		mb(wx.rssNoStore<<10), noStore), wx.rss<<10 < 25<<20, "see the peak RSS column")
	speedup := d.singles.Seconds() / d.series.Seconds()
	row(fmt.Sprintf("dashboard: one series of %d days ≥ 4× faster than %d single invocations", *days, *days),
		fmt.Sprintf("%s (%s against %s)", times(speedup), secs(d.series), secs(d.singles)), speedup >= 4,
		fmt.Sprintf("%d upstream calls of %s, %d at a time, take at least %s", d.seriesUp, *latency, defaultConcurrency,
			time.Duration((d.seriesUp+defaultConcurrency-1)/defaultConcurrency)*(*latency)))
	row("dashboard: a cached series makes 0 upstream calls", strconv.Itoa(d.cacUp), d.cacUp == 0, "the second series reached upstream")
	row("dashboard: a cached series answers in < 10 ms", ms(d.cached), d.cached < 10*time.Millisecond, "see the dashboard table")

	b.WriteString("\n## Where the binary's bytes go\n\nCode and read-only data of the unstripped build, by package " +
		"(`go tool nm -size`); the stripped binary drops the symbol tables but keeps these:\n\n| package | size |\n|---|---:|\n")
	for _, s := range sizes[:min(12, len(sizes))] {
		fmt.Fprintf(b, "| %s | %s |\n", s.pkg, mb(s.size))
	}
	b.WriteString("\n## Reproduce\n\n```sh\nmake bench   # builds everything, installs the SDK with npm ci, rewrites BENCHMARKS.md\n" +
		"cd bench && go run ./driver -profile /tmp/prof   # CPU and allocation profiles of the function under the c=16 load\n" +
		"cd bench && go run ./driver -ab base=/tmp/old,new=..   # two versions of the module against the floor, paired medians\n```\n\n" +
		"`bench/` is a Go module of its own, so that the peers it measures never enter the product's `go.mod`. " +
		"Numbers move with the machine: compare ratios, not absolutes. Why a target is missed, from a profile: " +
		"[bench/NOTES.md](bench/NOTES.md), written by hand about the run it names.\n")
}

// defaultConcurrency is the function's default SERIES_CONCURRENCY, for the
// dashboard's explanation.
const defaultConcurrency = 6

// times formats a ratio: one decimal while it is small.
func times(x float64) string {
	if x >= 100 {
		return fmt.Sprintf("%.0f×", x)
	}
	return fmt.Sprintf("%.1f×", x)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

func metWord(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown CPU"
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
		}
	}
	return "unknown"
}
