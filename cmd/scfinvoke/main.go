// Command scfinvoke runs the function binary on this machine the way Tencent
// SCF runs it — _LAMBDA_SERVER_PORT, net/rpc, Function.Ping, Function.Invoke
// with a deadline of now plus the template's Timeout — and prints the result.
// `make run` and `make invoke` use it.
//
// With no WECHAT_* setting at all in the environment it starts the built-in
// WeChat emulator on loopback and points the function at it; with any, it
// passes them through untouched, so a wrong setting shows the function's own
// error. -mode cloud plays a CloudBase cloud call instead: no WECHAT_*
// setting, the emulator's cloud-call gateway, and a realistic invocation
// context from a Mini Program.
//
// The result goes to stdout as indented JSON; the exit status is 0 only for
// errCode 0.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/internal/scf"
	"github.com/wxanalysis/wxanalysis/internal/tcsam"
	"github.com/wxanalysis/wxanalysis/openapi"
)

const usage = `scfinvoke runs the wxanalysis function binary as Tencent SCF does and prints its result.

usage: scfinvoke [flags] (-event FILE | -last-week | -retained-week) [-chart]

With no WECHAT_* variable set it starts the built-in WeChat emulator on loopback and
points the function at it (AppID %s); with any WECHAT_* variable set, the
function gets your environment unchanged and calls the real WeChat API. -mode cloud
makes a CloudBase cloud call through the emulator's gateway instead, with no AppSecret.

flags:
`

func main() {
	code, err := run(os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "scfinvoke:", err)
	}
	os.Exit(code)
}

// demoOpenID is the Mini Program user of -mode cloud and -openid's default context.
const demoOpenID = "o-local-demo-user"

type options struct {
	bin, tmpl, eventFile, openid, mode string
	lastWeek, retained, table, chart   bool
}

func run(args []string, stdout, stderr io.Writer) (int, error) {
	var o options
	fs := flag.NewFlagSet("scfinvoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, usage, emulator.DefaultAppID)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.bin, "bin", "bin/main", "the function binary")
	fs.StringVar(&o.tmpl, "template", "template.yaml", "the TCSAM template: function name, Timeout, MemorySize")
	fs.StringVar(&o.eventFile, "event", "", "the event JSON file, - for stdin")
	fs.BoolVar(&o.lastWeek, "last-week", false, "invoke getWeeklyRetain for the last complete week (China Standard Time)")
	fs.BoolVar(&o.retained, "retained-week", false, "invoke getWeeklyRetain for the latest week whose 4 weeks of retention are in")
	fs.BoolVar(&o.table, "table", false, "with -last-week or -retained-week: also print retention as a table")
	fs.BoolVar(&o.chart, "chart", false, "draw the last 30 days' visits from one series call, twice, counting upstream calls")
	fs.StringVar(&o.openid, "openid", "", "invoke as this Mini Program user (WX_CONTEXT_KEYS, WX_OPENID)")
	fs.StringVar(&o.mode, "mode", "", `"cloud": a CloudBase cloud call through the emulator's gateway, no AppSecret; "component": a third-party platform, two authorizers side by side`)
	if err := fs.Parse(args); err != nil {
		return 2, nil
	}
	if o.mode != "" && o.mode != "cloud" && o.mode != "component" {
		return 2, fmt.Errorf("-mode must be cloud, component or empty, not %q", o.mode)
	}
	if o.mode == "component" {
		return runComponent(o, stdout, stderr)
	}
	fn, err := tcsam.Load(o.tmpl)
	if err != nil {
		return 2, err
	}
	var events [][]byte
	if o.eventFile != "" || o.lastWeek || o.retained {
		weeksBack := -1
		switch {
		case o.lastWeek && o.retained:
			return 2, errors.New("give -last-week or -retained-week, not both")
		case o.lastWeek:
			weeksBack = 0
		case o.retained:
			weeksBack = 4 // retention keys run to 4 weeks after the week
		}
		event, err := readEvent(o.eventFile, weeksBack, time.Now())
		if err != nil {
			return 2, err
		}
		events = append(events, event)
	}
	if len(events) == 0 && !o.chart {
		fs.Usage()
		return 2, errors.New("give -event FILE (or - for stdin), -last-week, -retained-week or -chart")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env, inv, emu, err := setup(o, os.Environ(), stderr)
	if err != nil {
		return 2, err
	}
	if emu != nil {
		defer emu.close()
	}
	inv.FunctionName, inv.Namespace, inv.MemoryMB = fn.Name, fn.Namespace, int32(fn.Props.MemorySize)
	inv.Timeout = time.Duration(fn.Props.Timeout) * time.Second
	if inv.Timeout <= 0 {
		inv.Timeout = 3 * time.Second // SCF's default
	}
	p, err := scf.StartTo(stderr, o.bin, env, 10*time.Second)
	if err != nil {
		return 1, err
	}
	defer p.Close()
	go func() { <-ctx.Done(); p.Close() }()

	code := 0
	for _, event := range events {
		start := time.Now()
		out, err := p.Invoke(event, inv)
		if err != nil {
			return 1, err
		}
		c, err := show(stdout, out, o.table)
		if err != nil {
			return 1, err
		}
		fmt.Fprintf(stderr, "scfinvoke: %s answered in %s\n", fn.Name, time.Since(start).Round(time.Millisecond))
		code = max(code, c)
		if misconfigured(out) {
			// Every further call would answer the same: say it once.
			fmt.Fprintln(stderr, "scfinvoke: the function is misconfigured (errCode -601002, above); nothing more is invoked")
			return 1, nil
		}
	}
	if o.chart {
		c, err := chart(stdout, p, inv, emu, time.Now())
		if err != nil {
			return 1, err
		}
		code = max(code, c)
	}
	return code, nil
}

// local is the emulator a run starts, and how to count its analysis calls.
type local struct {
	e     *emulator.Emulator
	close func()
}

// calls returns how many analysis requests reached the emulator, directly or
// through its gateway.
func (l *local) calls() int {
	n := l.e.Requests("/admin")
	for _, m := range openapi.Methods() {
		n += l.e.Requests(m.Path)
	}
	return n
}

// setup decides the function's environment and invocation: the user's own
// settings when any WECHAT_* is set; otherwise the emulator.
func setup(o options, environ []string, stderr io.Writer) ([]string, scf.Invocation, *local, error) {
	var inv scf.Invocation
	var set []string
	for _, kv := range environ {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "WECHAT_") && v != "" {
			set = append(set, k)
		}
	}
	if o.openid != "" {
		inv.Environment = map[string]string{"WX_CONTEXT_KEYS": "WX_OPENID,WX_APPID,WX_UNIONID",
			"WX_OPENID": o.openid, "WX_APPID": emulator.DefaultAppID, "WX_UNIONID": ""}
	}
	if len(set) > 0 {
		if o.mode == "cloud" {
			return nil, inv, nil, fmt.Errorf("-mode cloud plays a cloud call, which needs no WeChat settings: unset %s", strings.Join(set, ", "))
		}
		fmt.Fprintf(stderr, "scfinvoke: %s set: the function gets your settings unchanged and calls %s; no emulator is started\n",
			strings.Join(set, ", "), apiBase(environ))
		return environ, inv, nil, nil
	}
	e := emulator.New(emulator.Config{})
	url, closeFn, err := serve(e)
	if err != nil {
		return nil, inv, nil, err
	}
	emu := &local{e: e, close: closeFn}
	env := append([]string(nil), environ...)
	if os.Getenv("HTTP_API_KEYS") == "" {
		env = append(env, "HTTP_API_KEYS="+LocalAPIKey)
	}
	if o.mode != "cloud" {
		fmt.Fprintf(stderr, "scfinvoke: no WECHAT_* setting: using the built-in emulator at %s (AppID %s)\n", url, emulator.DefaultAppID)
		env = append(env, "WECHAT_TOKEN_MODE=stable", "WECHAT_APPID="+emulator.DefaultAppID,
			"WECHAT_APPSECRET="+emulator.DefaultSecret, "WECHAT_API_BASE="+url)
		return env, inv, emu, nil
	}
	fmt.Fprintf(stderr, "scfinvoke: cloud call: no WECHAT_* setting, through the emulator's gateway at %s/admin\n", url)
	// What SCF gives a CloudBase function: role credentials and region in
	// the process, the caller and its cloud-call token per invocation.
	env = append(env, "TENCENTCLOUD_RUNENV=SCF", "TENCENTCLOUD_REGION=ap-shanghai", "SCF_NAMESPACE=wxemu-env-1a2b3c",
		"TENCENTCLOUD_SECRETID="+emulator.DefaultSecretID, "TENCENTCLOUD_SECRETKEY="+emulator.DefaultSecretKey,
		"TENCENTCLOUD_SESSIONTOKEN=wxemu-session-token", "ADMIN_OPENIDS="+demoOpenID)
	inv.Environment = map[string]string{
		"WX_CONTEXT_KEYS":  "WX_CLIENTIP,WX_CLIENTIPV6,WX_APPID,WX_OPENID,WX_API_TOKEN",
		"WX_CLIENTIP":      "127.0.0.1",
		"WX_CLIENTIPV6":    "::ffff:127.0.0.1",
		"WX_APPID":         emulator.DefaultAppID,
		"WX_OPENID":        demoOpenID,
		"WX_API_TOKEN":     emulator.DefaultCloudToken,
		"TCB_CONTEXT_KEYS": "TCB_ENV,TCB_SEQID,TRIGGER_SRC,TCB_SESSIONTOKEN,TCB_SOURCE,TCB_CONTEXT_CNFG",
		"TCB_ENV":          "wxemu-env-1a2b3c",
		"TCB_SEQID":        "1700000000000_0.5_33555268",
		"TRIGGER_SRC":      "tcb",
		"TCB_SESSIONTOKEN": "",
		"TCB_SOURCE":       "wx_client",
		"TCB_CONTEXT_CNFG": `{"URL":"` + url + `/admin"}`,
	}
	return env, inv, emu, nil
}

// apiBase names where a function given environ sends its calls: the host
// of WECHAT_API_BASE (never its path or credentials), else WeChat.
func apiBase(environ []string) string {
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "WECHAT_API_BASE="); ok && v != "" {
			if u, err := url.Parse(v); err == nil && u.Host != "" {
				return "WECHAT_API_BASE (" + u.Scheme + "://" + u.Host + ")"
			}
			return "WECHAT_API_BASE"
		}
	}
	return "WeChat (" + openapi.DefaultBaseURL + ")"
}

// misconfigured reports whether a result is the function's configuration
// error, -601002, as a cloud call or inside an HTTP response.
func misconfigured(out []byte) bool {
	var res struct {
		ErrCode *int    `json:"errCode"`
		Body    *string `json:"body"`
	}
	if json.Unmarshal(out, &res) != nil {
		return false
	}
	if res.Body != nil {
		return misconfigured([]byte(*res.Body))
	}
	return res.ErrCode != nil && *res.ErrCode == -601002
}

func serve(h http.Handler) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	return "http://" + l.Addr().String(), func() { srv.Close() }, nil
}

// LocalAPIKey is the HTTP API key of a function run against the emulator,
// as events/http-*.json present it. It guards nothing real.
const LocalAPIKey = "local-emulator-key-not-a-secret"

// readEvent reads the event file, or with weeksBack >= 0 makes the
// getWeeklyRetain event of the latest complete week, weeksBack weeks before.
func readEvent(file string, weeksBack int, now time.Time) ([]byte, error) {
	switch {
	case weeksBack >= 0 && file != "":
		return nil, errors.New("give -event or a week, not both")
	case weeksBack >= 0:
		monday, sunday := openapi.LatestWeek(now)
		monday, sunday = monday.AddDate(0, 0, -7*weeksBack), sunday.AddDate(0, 0, -7*weeksBack)
		return fmt.Appendf(nil, `{"action":"getWeeklyRetain","beginDate":%q,"endDate":%q}`,
			monday.Format("20060102"), sunday.Format("20060102")), nil
	case file == "-":
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(file)
}

// show prints a result and reports the exit code it stands for.
func show(w io.Writer, out []byte, table bool) (int, error) {
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, out, "", "  "); err != nil {
		return 1, fmt.Errorf("the function answered something that is not JSON: %q", out)
	}
	fmt.Fprintln(w, pretty.String())
	var res struct {
		ErrCode    *int `json:"errCode"`
		VisitUvNew []keyValue
		VisitUv    []keyValue
		RefDate    string
		StatusCode int
		Body       *string
	}
	_ = json.Unmarshal(out, &res)
	if res.Body != nil { // an HTTP response: show its body too
		pretty.Reset()
		if json.Indent(&pretty, []byte(*res.Body), "", "  ") == nil {
			fmt.Fprintf(w, "body:\n%s\n", pretty.String())
		}
		if res.StatusCode == 200 {
			return 0, nil
		}
		return 1, nil
	}
	if table && len(res.VisitUv) > 0 {
		printTable(w, res.RefDate, res.VisitUvNew, res.VisitUv)
	}
	if res.ErrCode == nil || *res.ErrCode != 0 {
		return 1, nil
	}
	return 0, nil
}

type keyValue struct{ Key, Value int }

// printTable shows weekly retention: users per week after, and as a share of
// the week itself, then one line of summary.
func printTable(w io.Writer, ref string, newUsers, active []keyValue) {
	fmt.Fprintf(w, "\nweekly retention, week %s\n", ref)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tnew users\tretained\tactive users\tretained\t")
	cell := func(list []keyValue, i int) (string, string) {
		if i >= len(list) {
			return "", ""
		}
		if list[0].Value == 0 {
			return fmt.Sprint(list[i].Value), "-"
		}
		return fmt.Sprint(list[i].Value), fmt.Sprintf("%.1f%%", 100*float64(list[i].Value)/float64(list[0].Value))
	}
	for i := range max(len(newUsers), len(active)) {
		label := "that week"
		if key := active[min(i, len(active)-1)].Key; key == 1 {
			label = "1 week later"
		} else if key > 1 {
			label = fmt.Sprintf("%d weeks later", key)
		}
		n, np := cell(newUsers, i)
		a, ap := cell(active, i)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", label, n, np, a, ap)
	}
	tw.Flush()
	if len(newUsers) > 1 && newUsers[0].Value > 0 {
		fmt.Fprintf(w, "%d new users that week; %.1f%% came back a week later.\n",
			newUsers[0].Value, 100*float64(newUsers[1].Value)/float64(newUsers[0].Value))
	}
}

// chart draws the last 30 days' visitors from one series call, made twice:
// the second is answered from the function's cache.
func chart(w io.Writer, p *scf.Process, inv scf.Invocation, emu *local, now time.Time) (int, error) {
	yesterday := openapi.Today(now).AddDate(0, 0, -1)
	first := yesterday.AddDate(0, 0, -29)
	event := fmt.Appendf(nil, `{"action":"series","method":"getDailyVisitTrend","beginDate":%q,"endDate":%q}`,
		first.Format("20060102"), yesterday.Format("20060102"))
	var out []byte
	calls := make([]int, 2)
	for i := range calls {
		before := 0
		if emu != nil {
			before = emu.calls()
		}
		var err error
		if out, err = p.Invoke(event, inv); err != nil {
			return 1, err
		}
		if emu != nil {
			calls[i] = emu.calls() - before
		}
	}
	var res struct {
		ErrCode int    `json:"errCode"`
		ErrMsg  string `json:"errMsg"`
		Results []struct {
			ErrCode int    `json:"errCode"`
			ErrMsg  string `json:"errMsg"`
			List    []struct {
				RefDate string `json:"refDate"`
				VisitUv int    `json:"visitUv"`
			} `json:"list"`
		} `json:"results"`
	}
	if err := json.Unmarshal(out, &res); err != nil || res.ErrCode != 0 {
		fmt.Fprintf(w, "series failed: %s\n", out)
		return 1, nil
	}
	fmt.Fprintf(w, "\nvisitors a day, %s to %s: one series call\n", first.Format("20060102"), yesterday.Format("20060102"))
	top := 1
	for _, r := range res.Results {
		for _, d := range r.List {
			top = max(top, d.VisitUv)
		}
	}
	code := 0
	for _, r := range res.Results {
		if r.ErrCode != 0 {
			fmt.Fprintf(w, "  %s\n", r.ErrMsg)
			code = 1
			continue
		}
		for _, d := range r.List {
			fmt.Fprintf(w, "%s %-40s %d\n", d.RefDate, strings.Repeat("█", (d.VisitUv*40+top-1)/top), d.VisitUv)
		}
	}
	if emu != nil {
		fmt.Fprintf(w, "upstream calls: %d the first time, %d the second (answered from the cache)\n", calls[0], calls[1])
	}
	return code, nil
}
