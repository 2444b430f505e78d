package main

// This file is issue 18's part of the driver: distinct requests with the
// cache on, allocation counts read from the running processes, cold starts
// from disk, series CPU per item, and an A/B mode for decisions. It is kept
// apart from main.go so that other changes to the driver merge cleanly.

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/internal/scf"
)

// weeklyPath is getWeeklyRetain's upstream path, whose requests the driver
// counts to prove that every invocation went upstream.
const weeklyPath = "/datacube/getweanalysisappidweeklyretaininfo"

// distinctWeeks returns every week from the first Monday of year 1 to the
// week of 2017-03-06, newest first: about 105,000 different requests, more
// than the function's default in-process cache (2 MiB) holds, so that
// asking for them in turn misses every time with the cache on, as deployed.
func distinctWeeks() []benchEvent {
	var evs []benchEvent
	first := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	for first.Weekday() != time.Monday {
		first = first.AddDate(0, 0, 1)
	}
	for monday := time.Date(2017, 3, 6, 0, 0, 0, 0, time.UTC); !monday.Before(first); monday = monday.AddDate(0, 0, -7) {
		b, e := monday.Format("20060102"), monday.AddDate(0, 0, 6).Format("20060102")
		evs = append(evs, benchEvent{fmt.Appendf(nil, `{"action":"getWeeklyRetain","beginDate":%q,"endDate":%q}`, b, e), b + "-" + e})
	}
	return evs
}

// A cursor is where one process's invokers are in events, across every run
// of its life: no request is asked twice before its cache has forgotten it.
type cursor struct{ atomic.Uint64 }

func (c *cursor) next() benchEvent { return events[c.Add(1)%uint64(len(events))] }

// A cell is one measured run: one contender, one concurrency, one round.
type cell struct {
	ops      int
	elapsed  time.Duration
	cpu      time.Duration
	objects  uint64 // heap allocations during the run, read from the process
	bytes    uint64
	upstream int // getWeeklyRetain requests the emulator saw during the run
}

func (c cell) tput() float64 { return float64(c.ops) / c.elapsed.Seconds() }

func (c cell) cpuPerCall() time.Duration { return c.cpu / time.Duration(max(c.ops, 1)) }

// countFile is the file a counted build answers SIGUSR1 into.
const countSource = `package main

// Added by the benchmark driver (go build -overlay): on SIGUSR1 the process
// writes its heap allocation counters to $BENCH_COUNTS. Nothing runs per
// invocation.

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/metrics"
	"syscall"
)

func init() {
	path := os.Getenv("BENCH_COUNTS")
	if path == "" {
		return
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	go func() {
		s := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}, {Name: "/gc/heap/tiny/allocs:objects"}, {Name: "/gc/heap/allocs:bytes"}}
		for n := 1; ; n++ {
			<-sig
			metrics.Read(s)
			os.WriteFile(path+".tmp", fmt.Appendf(nil, "%d %d %d\n", n, s[0].Value.Uint64()+s[1].Value.Uint64(), s[2].Value.Uint64()), 0o644)
			os.Rename(path+".tmp", path)
		}
	}()
}
`

// buildCounted builds the main package in dir (a directory of its module,
// moduleDir) as `make build` does, plus countSource: the binary the timed
// runs use, so that allocations are read from the very processes measured.
func buildCounted(tmp, moduleDir, pkg, out string) error {
	src := filepath.Join(tmp, "count.go")
	if err := os.WriteFile(src, []byte(countSource), 0o644); err != nil {
		return err
	}
	abs, err := filepath.Abs(filepath.Join(moduleDir, pkg))
	if err != nil {
		return err
	}
	ov, _ := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(abs, "zz_benchcount.go"): src}})
	overlay := filepath.Join(tmp, "overlay-"+filepath.Base(out)+".json")
	if err := os.WriteFile(overlay, ov, 0o644); err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-overlay", overlay, "-o", out, "./"+pkg)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s (counted): %v\n%s", abs, err, b)
	}
	return nil
}

// counts asks the counted process pid for its allocation counters.
func counts(pid int, file string, seq *int) (objects, bytes uint64) {
	*seq++
	check(syscall.Kill(pid, syscall.SIGUSR1))
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Microsecond) {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		var n int
		if _, err := fmt.Sscan(string(b), &n, &objects, &bytes); err == nil && n == *seq {
			return objects, bytes
		}
	}
	log.Fatalf("process %d did not write its allocation counts to %s", pid, file)
	return 0, 0
}

// measured is a process under load whose allocations can be counted.
type measured struct {
	proc      *scf.Process
	countFile string
	seq       int
	emu       *emulator.Emulator
	cur       cursor
}

func startMeasured(tmp, name, bin string, env []string, emu *emulator.Emulator) *measured {
	f := filepath.Join(tmp, "counts-"+strings.NewReplacer("/", "_", " ", "_").Replace(name))
	p, err := scf.StartTo(io.Discard, bin, append(slices.Clip(env), "BENCH_COUNTS="+f), 10*time.Second)
	check(err)
	return &measured{proc: p, countFile: f, emu: emu}
}

// load invokes m from conc goroutines for d with distinct requests (want:
// the ref_date every answer must name, "" for the event's own) and returns
// the cell.
func (m *measured) load(conc int, d time.Duration, fixedRef string, lats *[]time.Duration) cell {
	var (
		mu sync.Mutex
		wg sync.WaitGroup
		c  cell
	)
	pid := m.proc.PID()
	o0, b0 := counts(pid, m.countFile, &m.seq)
	up0 := m.emu.Requests(weeklyPath)
	cpu := cpuTime(pid)
	start := time.Now()
	stop := start.Add(d)
	for range conc {
		wg.Go(func() {
			var ls []time.Duration
			for time.Now().Before(stop) {
				ev := m.cur.next()
				want := ev.ref
				if fixedRef != "" {
					want = fixedRef
				}
				t := time.Now()
				res, err := m.proc.Invoke(ev.payload, scf.Invocation{FunctionName: "analysis", Timeout: 10 * time.Second})
				if err != nil || !bytes.Contains(res, []byte(want)) {
					log.Fatalf("pid %d: %v %s", pid, err, res)
				}
				ls = append(ls, time.Since(t))
			}
			mu.Lock()
			c.ops += len(ls)
			if lats != nil {
				*lats = append(*lats, ls...)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	c.elapsed = time.Since(start)
	c.cpu = cpuTime(pid) - cpu
	c.upstream = m.emu.Requests(weeklyPath) - up0
	o1, b1 := counts(pid, m.countFile, &m.seq)
	c.objects, c.bytes = o1-o0, b1-b0
	return c
}

// coldFromDisk starts bin with env and times it to its first answer, after
// evicting bin's pages from the page cache (fsync, then
// POSIX_FADV_DONTNEED on that file alone, checked with mincore; if pages
// stay resident, the whole page cache is dropped as root can), so that the
// start reads the binary from disk as an SCF cold start reads its code
// package. It reports whether the file was out of the cache.
func coldFromDisk(bin string, env []string, ev benchEvent) (time.Duration, bool) {
	cold := evict(bin)
	if !cold {
		if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("1"), 0); err == nil {
			cold = resident(bin) == 0
		}
	}
	start := time.Now()
	p, err := scf.StartTo(io.Discard, bin, env, 10*time.Second)
	check(err)
	res, err := p.Invoke(ev.payload, scf.Invocation{FunctionName: "analysis", Timeout: 5 * time.Second})
	took := time.Since(start)
	p.Close()
	check(err)
	if !bytes.Contains(res, []byte(ev.ref)) {
		log.Fatalf("%s answered %s", bin, res)
	}
	return took, cold
}

// evict drops path's pages from the page cache and reports whether none
// are left.
func evict(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	f.Sync()
	const fadvDontNeed = 4
	syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, fadvDontNeed, 0, 0)
	return resident(path) == 0
}

// resident counts path's pages in the page cache (mincore of a mapping).
func resident(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return -1
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return -1
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return -1
	}
	defer syscall.Munmap(data)
	pages := (len(data) + os.Getpagesize() - 1) / os.Getpagesize()
	vec := make([]byte, pages)
	if _, _, e := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&data[0])), uintptr(len(data)),
		uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		return -1
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// seriesCPU runs `series` invocations of perSeries days of
// getDailyVisitTrend, each over days no earlier invocation asked for (every
// item a cache miss, the cache on as deployed), from conc invokers for d, and
// returns the function's CPU time per item and the items answered.
func seriesCPU(bin string, env []string, emu *emulator.Emulator, tmp string, conc, perSeries int, d time.Duration) (time.Duration, cell) {
	m := startMeasured(tmp, "series", bin, env, emu)
	defer m.proc.Close()
	var next atomic.Int64
	end := time.Date(2017, 3, 6, 0, 0, 0, 0, time.UTC)
	invoke := func() int {
		last := end.AddDate(0, 0, -perSeries*int(next.Add(1)))
		first := last.AddDate(0, 0, 1-perSeries)
		payload := fmt.Sprintf(`{"action":"series","method":"getDailyVisitTrend","beginDate":%q,"endDate":%q}`,
			first.Format("20060102"), last.Format("20060102"))
		res, err := m.proc.Invoke([]byte(payload), scf.Invocation{FunctionName: "analysis", Timeout: 30 * time.Second})
		if err != nil || !bytes.HasSuffix(res, []byte(`"errMsg":"series:ok","errCode":0}`)) {
			log.Fatalf("series: %v %.300s", err, res)
		}
		return perSeries
	}
	for range 4 { // warm up: connections, token
		invoke()
	}
	pid := m.proc.PID()
	o0, b0 := counts(pid, m.countFile, &m.seq)
	up0 := emu.Requests(dailyPath)
	cpu := cpuTime(pid)
	start := time.Now()
	var items atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for time.Since(start) < d {
				items.Add(int64(invoke()))
			}
		})
	}
	wg.Wait()
	c := cell{ops: int(items.Load()), elapsed: time.Since(start), cpu: cpuTime(pid) - cpu, upstream: emu.Requests(dailyPath) - up0}
	o1, b1 := counts(pid, m.countFile, &m.seq)
	c.objects, c.bytes = o1-o0, b1-b0
	if c.upstream != c.ops {
		log.Fatalf("series: %d items but %d upstream calls: some answers came from the cache", c.ops, c.upstream)
	}
	return c.cpuPerCall(), c
}

// abRun is -ab: contenders given as label=moduleDir[+ENV=V...], each built
// from its own module directory, measured interleaved with the floor for
// *rounds rounds at c=16 and c=64; it prints per-round-paired medians of
// throughput against the floor and of CPU and allocations per call, and
// each process's peak RSS at c=64 as make bench measures it (warmRuns). For
// decisions between versions on a busy machine.
func abRun(tmp string, creds []string, emu *emulator.Emulator, emuURL string) {
	type variant struct {
		label string
		bin   string
		env   []string
		m     *measured
		cells map[int][]cell
		rss   int64 // KiB: the largest peak RSS over the c=64 runs
	}
	var vs []*variant
	floorBin := filepath.Join(tmp, "floor-counted")
	check(buildCounted(tmp, ".", "floor", floorBin))
	vs = append(vs, &variant{label: "floor", bin: floorBin, env: []string{"FLOOR_URL=" + emuURL + weeklyPath + "?access_token=" + stableToken(emuURL)}})
	for i, ab := range parseAB(*abSpec) {
		bin := filepath.Join(tmp, fmt.Sprintf("ab%d", i))
		check(buildCounted(tmp, ab.module, ".", bin))
		vs = append(vs, &variant{label: ab.label, bin: bin, env: append(slices.Clip(creds), ab.env...)})
	}
	for _, v := range vs {
		v.m = startMeasured(tmp, v.label, v.bin, v.env, emu)
		v.cells = map[int][]cell{}
		ref := ""
		if v.label == "floor" {
			ref = fixedRef
		}
		v.m.load(8, 300*time.Millisecond, ref, nil)
	}
	for r := range *rounds {
		for _, conc := range []int{16, 64} {
			for i := range vs {
				v := vs[(i+r)%len(vs)]
				ref := ""
				if v.label == "floor" {
					ref = fixedRef
				}
				reset := conc == 64 && resetPeakRSS(v.m.proc.PID())
				v.cells[conc] = append(v.cells[conc], v.m.load(conc, *duration, ref, nil))
				if reset || conc == 64 {
					v.rss = max(v.rss, peakRSS(v.m.proc.PID()))
				}
			}
		}
	}
	for _, v := range vs {
		v.m.proc.Close()
	}
	series := map[string][]float64{}
	for range 3 {
		for _, v := range vs[1:] {
			per, _ := seriesCPU(v.bin, v.env, emu, tmp, 1, seriesDays, *duration)
			series[v.label] = append(series[v.label], float64(per.Nanoseconds())/1000)
		}
	}
	for _, v := range vs[1:] {
		fmt.Printf("series: %-12s %.1f µs CPU per item (%s)\n", v.label, medianF(series[v.label]), fmtList(series[v.label]))
	}
	for _, conc := range []int{16, 64} {
		fmt.Printf("c=%d (medians of %d rounds)\n", conc, *rounds)
		for _, v := range vs {
			var ratio, cpu, objs, kb []float64
			for r, c := range v.cells[conc] {
				ratio = append(ratio, c.tput()/vs[0].cells[conc][r].tput())
				cpu = append(cpu, float64(c.cpuPerCall().Nanoseconds())/1000)
				objs = append(objs, float64(c.objects)/float64(c.ops))
				kb = append(kb, float64(c.bytes)/float64(c.ops)/1024)
			}
			up := ""
			if v.label != "floor" {
				var ops, ups int
				for _, c := range v.cells[conc] {
					ops, ups = ops+c.ops, ups+c.upstream
				}
				up = fmt.Sprintf(", upstream %d of %d", ups, ops)
			}
			var cpuRatio []float64
			for r, c := range v.cells[conc] {
				cpuRatio = append(cpuRatio, float64(c.cpuPerCall())/float64(vs[0].cells[conc][r].cpuPerCall()))
			}
			rss := ""
			if conc == 64 {
				rss = "  peak RSS " + mb(v.rss<<10)
			}
			fmt.Printf("  %-12s %.3f× floor  CPU %.1f µs/call (%.2f× floor's)  %.1f allocs %.2f KB/call%s%s   ratios %s\n", v.label, medianF(ratio),
				medianF(cpu), medianF(cpuRatio), medianF(objs), medianF(kb), up, rss, fmtList(ratio))
		}
	}
}

// fixedRef is the ref_date of the floor's one request.
const fixedRef = "20170306-20170312"

func medianF(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtList(xs []float64) string {
	var parts []string
	for _, x := range xs {
		parts = append(parts, strconv.FormatFloat(x, 'f', 2, 64))
	}
	return strings.Join(parts, " ")
}

// perfFields are a contender's issue-18 measurements.
type perfFields struct {
	module, pkg string // where it is built from: a module directory and its main package ("" the module's root)
	counted     string // the timed build: as deployed plus countSource
	m           *measured
	cells       map[int][]cell // per concurrency, one per round
	coldEvicted int            // cold starts whose binary was out of the page cache
	rssNoStore  int64          // KiB: peak RSS at c=64 with no answers stored
}

// buildContenders builds each contender twice: as deployed (bin, whose size
// and cold start are reported; for wxanalysis `make build`, so whatever the
// product's build puts in the binary is counted) and counted (the timed runs).
func buildContenders(tmp string, cs []*contender) {
	buildDeployed(tmp, cs)
	for _, c := range cs {
		c.counted = c.bin + "-counted"
		check(buildCounted(tmp, c.module, cmp.Or(c.pkg, "."), c.counted))
	}
}

// buildDeployed builds each contender as deployed into tmp (c.bin) and
// records its size.
func buildDeployed(tmp string, cs []*contender) {
	for i, c := range cs {
		c.bin = filepath.Join(tmp, fmt.Sprintf("c%d", i))
		if c.pkg == "" {
			abs, err := filepath.Abs(c.bin)
			check(err)
			cmd := exec.Command("make", "-s", "build", "BIN="+abs)
			cmd.Dir = c.module
			if b, err := cmd.CombinedOutput(); err != nil {
				log.Fatalf("make build in %s: %v\n%s", c.module, err, b)
			}
		} else {
			check(build("./"+c.pkg, c.bin))
		}
		fi, err := os.Stat(c.bin)
		check(err)
		c.size = fi.Size()
		c.reset()
	}
}

// coldStarts times *colds cold starts from disk of each contender, in turn,
// the contenders in a different order each round.
func coldStarts(cs []*contender) {
	for r := range *colds {
		for i := range cs {
			c := cs[(i+r)%len(cs)]
			took, evicted := coldFromDisk(c.bin, c.env, events[0])
			c.cold = append(c.cold, took)
			if evicted {
				c.coldEvicted++
			}
		}
	}
}

// resetPeakRSS sets pid's VmHWM back to its current RSS (clear_refs 5) and
// reports whether it could, so that the next peakRSS is that of what follows.
func resetPeakRSS(pid int) bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
}

// abVariant is one -ab contender: label=moduleDir[+ENV=V...].
type abVariant struct {
	label, module string
	env           []string // added to the credentials
}

// parseAB parses -ab's label=moduleDir[+ENV=V...],... list.
func parseAB(spec string) []abVariant {
	var vs []abVariant
	for _, item := range strings.Split(spec, ",") {
		label, rest, ok := strings.Cut(item, "=")
		if !ok || label == "" || rest == "" {
			log.Fatalf("-ab: %q is not label=moduleDir[+ENV=V...]", item)
		}
		parts := strings.Split(rest, "+")
		vs = append(vs, abVariant{label: label, module: parts[0], env: parts[1:]})
	}
	return vs
}

// coldRun is -cold-only: the floor and each -ab variant (default: this
// module as wxanalysis) built as deployed (make build), then *colds cold
// starts from disk of each, interleaved (coldStarts); it prints each one's
// median, its ratio to the floor's median and the median of the ratios
// within each round, and the stripped size.
func coldRun(tmp string, creds []string, emuURL string) {
	spec := cmp.Or(*abSpec, "wxanalysis=..")
	cs := []*contender{{name: "floor", fixed: true, perfFields: perfFields{module: ".", pkg: "floor"},
		env: []string{"FLOOR_URL=" + emuURL + weeklyPath + "?access_token=" + stableToken(emuURL)}}}
	for _, v := range parseAB(spec) {
		cs = append(cs, &contender{name: v.label, perfFields: perfFields{module: v.module}, env: append(slices.Clip(creds), v.env...)})
	}
	log.Print("building")
	buildDeployed(tmp, cs)
	log.Printf("%d cold starts from disk of each", *colds)
	coldStarts(cs)
	floor := cs[0]
	for _, c := range cs {
		var paired []float64
		for r := range c.cold {
			paired = append(paired, float64(c.cold[r])/float64(floor.cold[r]))
		}
		fmt.Printf("%-12s cold start median %s (p25 %s, p75 %s)  %.3f× the floor's median, paired median %.3f×  from disk %d of %d  stripped %d bytes (%s)\n",
			c.name, ms(median(c.cold)), ms(percentile(c.cold, 0.25)), ms(percentile(c.cold, 0.75)),
			float64(median(c.cold))/float64(median(floor.cold)), medianF(paired), c.coldEvicted, len(c.cold), c.size, mb(c.size))
	}
}

// warmRuns starts every contender's counted build, warms it up, then runs
// *rounds rounds of every concurrency, the contenders in a different order
// each round. Peak RSS is the largest VmHWM over the c=64 runs, reset before
// each (clear_refs), else over the process's life.
func warmRuns(tmp string, cs []*contender, emu *emulator.Emulator) {
	for _, c := range cs {
		c.m = startMeasured(tmp, c.name, c.counted, c.env, emu)
		c.proc = c.m.proc
		run(c, 8, 300*time.Millisecond) // warm up: connections, token
		c.reset()
		c.cells = nil
	}
	for r := range *rounds {
		for _, conc := range levels {
			for i := range cs {
				c := cs[(i+r)%len(cs)]
				reset := conc == 64 && resetPeakRSS(c.proc.PID())
				run(c, conc, *duration)
				if reset || conc == 64 {
					c.rss = max(c.rss, peakRSS(c.proc.PID()))
				}
			}
		}
	}
	for _, c := range cs {
		c.proc.Close()
	}
	cs[0].rssNoStore = rssWithoutAnswers(tmp, cs[0], emu)
}

// rssWithoutAnswers is wx's peak RSS at c=64 on a fresh process that keeps
// no answers (noStore): what the invocations themselves hold, comparable with
// the floor, which stores nothing.
func rssWithoutAnswers(tmp string, wx *contender, emu *emulator.Emulator) int64 {
	m := startMeasured(tmp, "nostore", wx.counted, append(slices.Clip(wx.env), noStore), emu)
	defer m.proc.Close()
	m.load(8, 300*time.Millisecond, "", nil)
	m.load(64, *duration, "", nil)
	return peakRSS(m.proc.PID())
}

// medianOf is the median over c's rounds at conc of f.
func (c *contender) medianOf(conc int, f func(cell) float64) float64 {
	var xs []float64
	for _, cl := range c.cells[conc] {
		xs = append(xs, f(cl))
	}
	return medianF(xs)
}

// vsFloor is the median over rounds of c's throughput over the floor's in
// the same round: paired, so that a round disturbed by other work on the
// machine moves both.
func (c *contender) vsFloor(floor *contender, conc int) float64 {
	var xs []float64
	for r, cl := range c.cells[conc] {
		xs = append(xs, cl.tput()/floor.cells[conc][r].tput())
	}
	return medianF(xs)
}

func (c *contender) medCPU(conc int) time.Duration {
	return time.Duration(c.medianOf(conc, func(cl cell) float64 { return float64(cl.cpuPerCall()) }))
}

func (c *contender) medAllocs(conc int) (objects, kb float64) {
	return c.medianOf(conc, func(cl cell) float64 { return float64(cl.objects) / float64(max(cl.ops, 1)) }),
		c.medianOf(conc, func(cl cell) float64 { return float64(cl.bytes) / float64(max(cl.ops, 1)) / 1024 })
}

// seriesResult is the series measurement.
type seriesResult struct {
	perItem   time.Duration
	c         cell
	perSeries int
	dash      dash
}

const seriesDays = 30

// seriesRun measures wx's CPU per series item.
func seriesRun(tmp string, wx *contender, emu *emulator.Emulator) seriesResult {
	per, c := seriesCPU(wx.counted, wx.env, emu, tmp, 1, seriesDays, 3*(*duration))
	return seriesResult{perItem: per, c: c, perSeries: seriesDays}
}

// reportPerInvocation writes the CPU and allocations per invocation table.
func reportPerInvocation(b *strings.Builder, cs []*contender, ser seriesResult) {
	b.WriteString("### Per invocation\n\nCPU: the function process's user and system time (from `/proc`) over its invocations. " +
		"Allocations: the Go runtime's own counters (`runtime/metrics`: `/gc/heap/allocs:objects`, tiny ones included, and " +
		"`/gc/heap/allocs:bytes`), read from the very processes measured: the timed builds are the deployed ones plus one file, " +
		"added with `go build -overlay`, that writes those counters to a file when the process gets SIGUSR1, before and " +
		"after each run; it does nothing per invocation. Medians over the rounds.\n\n")
	b.WriteString("| concurrency | function | CPU per call | vs floor | allocations per call | bytes per call |\n|---:|---|---:|---:|---:|---:|\n")
	floor := cs[1]
	for _, conc := range []int{16, 64} {
		for _, c := range cs {
			o, kb := c.medAllocs(conc)
			fmt.Fprintf(b, "| %d | %s | %s | %.2f× | %.0f | %.1f KB |\n", conc, c.name, us1(c.medCPU(conc)),
				float64(c.medCPU(conc))/float64(floor.medCPU(conc)), o, kb)
		}
	}
	fmt.Fprintf(b, "\n`series` of %d days of getDailyVisitTrend, every item a cache miss (each invocation asks for days no earlier one "+
		"asked for), one invocation at a time for %s: **%s of CPU per item**, %.0f allocations and %.1f KB per item (%d items, "+
		"%d upstream calls).\n\n", ser.perSeries, ser.c.elapsed.Round(100*time.Millisecond), us1(ser.perItem),
		float64(ser.c.objects)/float64(max(ser.c.ops, 1)), float64(ser.c.bytes)/float64(max(ser.c.ops, 1))/1024, ser.c.ops, ser.c.upstream)
}

// reportStartSize writes the cold start, RSS and size table.
func reportStartSize(b *strings.Builder, cs []*contender) {
	b.WriteString("| function | cold start from disk | peak RSS at c=64 | stripped binary |\n|---|---:|---:|---:|\n")
	for _, c := range cs {
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", c.name, ms(median(c.cold)), mb(c.rss<<10), mb(c.size))
	}
	fmt.Fprintf(b, "\nCold start: process start to first result, first token fetch included, median of %d, each from disk: "+
		"before each start the binary's pages were evicted from the page cache (fsync, `POSIX_FADV_DONTNEED` on that file, "+
		"checked with `mincore`; else the whole cache dropped), as an SCF cold start reads its code package "+
		"(%d of %d starts of wxanalysis were from disk). Binary: `make build` for wxanalysis (static, `-trimpath -s -w`), "+
		"the same flags for the others. Peak RSS: the largest `VmHWM` over the c=64 runs, reset before each.\n\n",
		*colds, cs[0].coldEvicted, len(cs[0].cold))
}

func us1(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d.Nanoseconds())/1000) }
