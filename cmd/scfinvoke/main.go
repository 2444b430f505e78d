// Command scfinvoke runs the function binary on this machine the way Tencent
// SCF runs it — _LAMBDA_SERVER_PORT, net/rpc, Function.Ping, Function.Invoke
// with a deadline of now plus the template's Timeout — and prints the result.
//
//	scfinvoke [-bin bin/main] [-template template.yaml] (-event FILE | -last-week) [-openid OPENID] [-table]
//
// With no WeChat credentials in the environment (WECHAT_APPID and
// WECHAT_APPSECRET, or WECHAT_ACCESS_TOKEN, or WECHAT_TOKEN_URL) it starts the
// built-in WeChat emulator on loopback and points the function at it.
// -openid makes the invocation come from that Mini Program user, as
// wx.cloud.callFunction does (WX_CONTEXT_KEYS, WX_OPENID, WX_APPID).
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
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/internal/scf"
	"github.com/wxanalysis/wxanalysis/internal/tcsam"
	"github.com/wxanalysis/wxanalysis/openapi"
)

func main() {
	code, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "scfinvoke:", err)
	}
	os.Exit(code)
}

func run() (int, error) {
	bin := flag.String("bin", "bin/main", "the function binary")
	tmpl := flag.String("template", "template.yaml", "the TCSAM template: function name, Timeout, MemorySize")
	eventFile := flag.String("event", "", "the event JSON file, - for stdin")
	lastWeek := flag.Bool("last-week", false, "invoke getWeeklyRetain for the last complete week (China Standard Time)")
	openid := flag.String("openid", "", "invoke as this Mini Program user")
	table := flag.Bool("table", false, "also print retention as a table")
	flag.Parse()

	fn, err := tcsam.Load(*tmpl)
	if err != nil {
		return 2, err
	}
	event, err := readEvent(*eventFile, *lastWeek)
	if err != nil {
		return 2, err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := os.Environ()
	if !hasCredentials() {
		url, shutdown, err := startEmulator()
		if err != nil {
			return 1, err
		}
		defer shutdown()
		fmt.Fprintf(os.Stderr, "scfinvoke: no WeChat credentials set: using the built-in emulator at %s\n", url)
		env = append(env, "WECHAT_TOKEN_MODE=stable", "WECHAT_APPID="+emulator.DefaultAppID,
			"WECHAT_APPSECRET="+emulator.DefaultSecret, "WECHAT_API_BASE="+url)
		if os.Getenv("HTTP_API_KEYS") == "" {
			env = append(env, "HTTP_API_KEYS="+LocalAPIKey)
		}
	}

	p, err := scf.Start(*bin, env, 10*time.Second)
	if err != nil {
		return 1, err
	}
	defer p.Close()
	go func() { <-ctx.Done(); p.Close() }()

	inv := scf.Invocation{FunctionName: fn.Name, Namespace: fn.Namespace, MemoryMB: int32(fn.Props.MemorySize),
		Timeout: time.Duration(fn.Props.Timeout) * time.Second}
	if inv.Timeout <= 0 {
		inv.Timeout = 3 * time.Second // SCF's default
	}
	if *openid != "" {
		inv.Environment = map[string]string{"WX_CONTEXT_KEYS": "WX_OPENID,WX_APPID,WX_UNIONID",
			"WX_OPENID": *openid, "WX_APPID": emulator.DefaultAppID, "WX_UNIONID": ""}
	}
	start := time.Now()
	out, err := p.Invoke(event, inv)
	if err != nil {
		return 1, err
	}
	elapsed := time.Since(start)

	var pretty bytes.Buffer
	if err := json.Indent(&pretty, out, "", "  "); err != nil {
		return 1, fmt.Errorf("the function answered something that is not JSON: %q", out)
	}
	fmt.Println(pretty.String())
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
			fmt.Printf("body:\n%s\n", pretty.String())
		}
		if res.StatusCode == 200 {
			return 0, nil
		}
		return 1, nil
	}
	if *table && len(res.VisitUv) > 0 {
		printTable(os.Stdout, res.RefDate, res.VisitUvNew, res.VisitUv)
	}
	fmt.Fprintf(os.Stderr, "scfinvoke: %s answered in %s\n", fn.Name, elapsed.Round(time.Millisecond))
	if res.ErrCode == nil || *res.ErrCode != 0 {
		return 1, nil
	}
	return 0, nil
}

// LocalAPIKey is the HTTP API key of a function run against the emulator,
// as events/http-*.json present it. It guards nothing real.
const LocalAPIKey = "local-emulator-key-not-a-secret"

func hasCredentials() bool {
	set := func(k string) bool { return os.Getenv(k) != "" }
	return (set("WECHAT_APPID") && set("WECHAT_APPSECRET")) || set("WECHAT_ACCESS_TOKEN") || set("WECHAT_TOKEN_URL") ||
		os.Getenv("WECHAT_TOKEN_MODE") == "none"
}

func readEvent(file string, lastWeek bool) ([]byte, error) {
	switch {
	case lastWeek && file != "":
		return nil, errors.New("give -event or -last-week, not both")
	case lastWeek:
		monday, sunday := LastWeek(time.Now())
		return fmt.Appendf(nil, `{"action":"getWeeklyRetain","beginDate":%q,"endDate":%q}`, monday, sunday), nil
	case file == "":
		return nil, errors.New("give -event FILE (or - for stdin) or -last-week")
	case file == "-":
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(file)
}

// LastWeek returns the Monday and Sunday of the last complete week in China
// Standard Time, as yyyymmdd.
func LastWeek(now time.Time) (string, string) {
	today := openapi.Today(now)
	sunday := today.AddDate(0, 0, -int(today.Weekday()))
	if sunday.Equal(today) {
		sunday = sunday.AddDate(0, 0, -7) // today's week is not over
	}
	return sunday.AddDate(0, 0, -6).Format("20060102"), sunday.Format("20060102")
}

func startEmulator() (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: emulator.New(emulator.Config{}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	return "http://" + l.Addr().String(), func() { srv.Close() }, nil
}

type keyValue struct{ Key, Value int }

// printTable shows retention: users per key, and as a share of key 0.
func printTable(w io.Writer, ref string, newUsers, active []keyValue) {
	fmt.Fprintf(w, "\nretention for %s\n", ref)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "key\tnew users\t% of key 0\tactive users\t% of key 0\t")
	pct := func(list []keyValue, i int) (string, string) {
		if i >= len(list) {
			return "", ""
		}
		if list[0].Value == 0 {
			return fmt.Sprint(list[i].Value), "-"
		}
		return fmt.Sprint(list[i].Value), fmt.Sprintf("%.1f%%", 100*float64(list[i].Value)/float64(list[0].Value))
	}
	for i := range max(len(newUsers), len(active)) {
		key := active[min(i, len(active)-1)].Key
		n, np := pct(newUsers, i)
		a, ap := pct(active, i)
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t\n", key, n, np, a, ap)
	}
	tw.Flush()
}
