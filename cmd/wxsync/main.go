// Command wxsync runs the function's sync on this machine, as `make sync`
// does: the local build of the function (-tags sqlite) over SCF's RPC
// protocol, against the built-in WeChat emulator, into a SQLite file. It
// prints the sync's summary, then reads the database back with SQL: a weekly
// retention cohort table and a 30-day visits chart.
//
//	wxsync [-bin bin/wxlocal] [-db bin/wxanalysis.db] [-since yyyymmdd] [-latency 0]
//
// Run it twice: the second run fetches only what can still change.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/handler"
	"github.com/wxanalysis/wxanalysis/internal/scf"
	"github.com/wxanalysis/wxanalysis/warehouse"
	_ "github.com/wxanalysis/wxanalysis/warehouse/sqlite"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "wxsync:", err)
		}
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wxsync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "bin/wxlocal", "the function built with -tags sqlite")
	db := fs.String("db", "bin/wxanalysis.db", "the SQLite file to sync into")
	since := fs.String("since", "", "SYNC_SINCE, yyyymmdd (default: the last 90 days)")
	latency := fs.Duration("latency", 0, "latency the emulator adds to every call, e.g. 100ms")
	timeout := fs.Duration("timeout", 60*time.Second, "the invocation's timeout (template.yaml's is 60 s)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	path, err := filepath.Abs(*db)
	if err != nil {
		return err
	}
	var calls atomic.Int64
	emu := emulator.New(emulator.Config{Latency: *latency})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/datacube/") {
			calls.Add(1)
		}
		emu.ServeHTTP(w, r)
	})}
	go srv.Serve(l)
	defer srv.Close()

	env := []string{"WECHAT_APPID=" + emulator.DefaultAppID, "WECHAT_APPSECRET=" + emulator.DefaultSecret,
		"WECHAT_API_BASE=http://" + l.Addr().String(), "DATABASE_URL=sqlite:" + path, "LOG_LEVEL=warn"}
	if *since != "" {
		env = append(env, "SYNC_SINCE="+*since)
	}
	p, err := scf.StartTo(stderr, *bin, env, 10*time.Second)
	if err != nil {
		return err
	}
	defer p.Close()
	start := time.Now()
	out, err := p.Invoke([]byte(`{"action":"sync"}`), scf.Invocation{FunctionName: "analysis", Namespace: "default",
		Timeout: *timeout, MemoryMB: 128})
	if err != nil {
		return err
	}
	took := time.Since(start)
	var res handler.SyncResult
	if err := json.Unmarshal(out, &res); err != nil {
		return fmt.Errorf("the sync answered %s", out)
	}
	fmt.Fprintf(stdout, "%s\n\n", out)
	if res.ErrCode != 0 {
		return errors.New(res.ErrMsg)
	}
	fmt.Fprintf(stdout, "sync into %s in %.1fs: %d upstream calls; %d periods stored, %d of them final; %d pending, %d not reached",
		*db, took.Seconds(), res.Fetched, res.Stored, res.Final, res.Pending, res.Remaining)
	if res.Stopped != "" {
		fmt.Fprintf(stdout, " (stopped: %s)", res.Stopped)
	}
	fmt.Fprintln(stdout, ".")
	if res.Skipped > 0 {
		fmt.Fprintf(stdout, "%d periods were already final in the database and were not fetched: this run needed %d upstream calls, not %d.\n",
			res.Skipped, res.Fetched, res.Fetched+res.Skipped)
	} else {
		fmt.Fprintln(stdout, "Run it again (make sync): only what can still change is fetched.")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := warehouse.Open(ctx, "sqlite:"+path, warehouse.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := cohorts(ctx, stdout, st, res.AppID); err != nil {
		return err
	}
	return visits(ctx, stdout, st, res.AppID)
}

// CohortSQL is the weekly retention cohort table's query.
const CohortSQL = `SELECT begin_date, key_no, value FROM wxa_retain
WHERE appid = ? AND granularity = 'week' AND cohort = 'active'
ORDER BY begin_date DESC, key_no LIMIT 40`

// cohorts prints the latest weeks' active users and the share of them who
// came back each week after.
func cohorts(ctx context.Context, w io.Writer, st *warehouse.Store, app string) error {
	rows, err := st.DB().QueryContext(ctx, CohortSQL, app)
	if err != nil {
		return err
	}
	defer rows.Close()
	type cohort struct {
		week   string
		values []int64
	}
	var list []*cohort
	for rows.Next() {
		var (
			week     any
			key, val int64
		)
		if err := rows.Scan(&week, &key, &val); err != nil {
			return err
		}
		wk := fmt.Sprint(week)
		if len(list) == 0 || list[len(list)-1].week != wk {
			list = append(list, &cohort{week: wk})
		}
		c := list[len(list)-1]
		c.values = append(c.values, val)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nweekly retention of active users, read back with:\n  %s\n\n", strings.ReplaceAll(CohortSQL, "\n", "\n  "))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "week of\tactive\t+1 week\t+2 weeks\t+3 weeks\t+4 weeks\t")
	for i := len(list) - 1; i >= 0; i-- {
		c := list[i]
		fmt.Fprintf(tw, "%s\t%d\t", c.week, c.values[0])
		for k := 1; k < 5; k++ {
			if k < len(c.values) && c.values[0] > 0 {
				fmt.Fprintf(tw, "%.1f%%\t", 100*float64(c.values[k])/float64(c.values[0]))
			} else {
				fmt.Fprint(tw, "\t")
			}
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// VisitsSQL is the 30-day visits chart's query.
const VisitsSQL = `SELECT ref_date, visit_uv FROM wxa_visit_trend
WHERE appid = ? AND granularity = 'day'
ORDER BY begin_date DESC LIMIT 30`

func visits(ctx context.Context, w io.Writer, st *warehouse.Store, app string) error {
	rows, err := st.DB().QueryContext(ctx, VisitsSQL, app)
	if err != nil {
		return err
	}
	defer rows.Close()
	type day struct {
		ref string
		uv  int64
	}
	var days []day
	top := int64(1)
	for rows.Next() {
		var d day
		if err := rows.Scan(&d.ref, &d.uv); err != nil {
			return err
		}
		days = append(days, d)
		top = max(top, d.uv)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nvisitors a day, the last 30 days, read back with:\n  %s\n\n", strings.ReplaceAll(VisitsSQL, "\n", "\n  "))
	for i := len(days) - 1; i >= 0; i-- {
		d := days[i]
		fmt.Fprintf(w, "%s %-40s %d\n", d.ref, strings.Repeat("█", int((d.uv*40+top-1)/top)), d.uv)
	}
	return nil
}
