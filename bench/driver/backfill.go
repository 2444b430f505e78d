package main

import (
	"context"
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
	"strings"
	"sync/atomic"
	"time"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/internal/mysqltest"
	"github.com/wxanalysis/wxanalysis/internal/pgtest"
	"github.com/wxanalysis/wxanalysis/internal/scf"
	"github.com/wxanalysis/wxanalysis/warehouse"
	_ "github.com/wxanalysis/wxanalysis/warehouse/mysql"
	_ "github.com/wxanalysis/wxanalysis/warehouse/postgres"
	_ "github.com/wxanalysis/wxanalysis/warehouse/sqlite"
)

var (
	backfillDays = flag.Int("backfill-days", 365, "days the warehouse backfill covers (0: skip it)")
	backfillOnly = flag.Bool("backfill-only", false, "measure the warehouse backfill alone and print its section")
)

// backfillRow is one store's backfill: the sync from an empty database, then
// a second sync.
type backfillRow struct {
	store   string
	wall    time.Duration
	calls   int64
	periods int
	rows    int64
	second  int64         // the second sync's upstream calls
	fast    time.Duration // the same sync with no upstream latency: the store's own pace
	err     string
}

type backfillResult struct {
	days      int
	since     string
	rows      []backfillRow
	loopWall  time.Duration
	loopCalls int64
	loopN     int
}

// backfill measures the sync against the emulator with *latency per call:
// *backfillDays of every method from an empty database, for each store
// (PostgreSQL and MariaDB through the deployed binary, SQLite through the
// local build), then a second sync; and the one-period-at-a-time loop that
// hand-written jobs run, over the same periods, through the same function.
func backfill(tmp, deployed string) *backfillResult {
	if *backfillDays <= 0 {
		return nil
	}
	local := filepath.Join(tmp, "wxlocal")
	cmd := exec.Command("go", "build", "-tags", "sqlite", "-trimpath", "-o", local, ".")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		log.Fatalf("backfill: go build -tags sqlite: %v\n%s", err, out)
	}
	cst := time.FixedZone("CST", 8*60*60)
	res := &backfillResult{days: *backfillDays, since: time.Now().In(cst).AddDate(0, 0, -*backfillDays).Format("20060102")}

	var calls atomic.Int64
	e := emulator.New(emulator.Config{Latency: *latency, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/datacube/") {
			calls.Add(1)
		}
		e.ServeHTTP(w, r)
	}))
	defer srv.Close()
	fastSrv := httptest.NewServer(emulator.New(emulator.Config{Logger: slog.New(slog.DiscardHandler)}))
	defer fastSrv.Close()
	creds := []string{"WECHAT_APPID=" + emulator.DefaultAppID, "WECHAT_APPSECRET=" + emulator.DefaultSecret, "WECHAT_API_BASE=" + srv.URL}

	type target struct {
		name, bin, url, fastURL string
		stop                    func()
	}
	var targets []target
	two := func(create func() (string, error)) (string, string, error) {
		a, err := create()
		if err != nil {
			return "", "", err
		}
		b, err := create()
		return a, b, err
	}
	if pg, err := pgtest.Launch(); err != nil {
		res.rows = append(res.rows, backfillRow{store: "PostgreSQL 15", err: err.Error()})
	} else if u, f, err := two(pg.CreateDatabase); err != nil {
		pg.Close()
		res.rows = append(res.rows, backfillRow{store: "PostgreSQL 15", err: err.Error()})
	} else {
		targets = append(targets, target{"PostgreSQL 15", deployed, u, f, pg.Close})
	}
	if my, err := mysqltest.Launch(filepath.Join(tmp, "mariadb")); err != nil {
		res.rows = append(res.rows, backfillRow{store: "MariaDB", err: err.Error()})
	} else if u, f, err := two(my.CreateDatabase); err != nil {
		my.Stop()
		res.rows = append(res.rows, backfillRow{store: "MariaDB", err: err.Error()})
	} else {
		targets = append(targets, target{"MariaDB", deployed, u, f, my.Stop})
	}
	targets = append(targets, target{"SQLite (local build)", local, "sqlite:" + filepath.Join(tmp, "backfill.db"),
		"sqlite:" + filepath.Join(tmp, "fast.db"), func() {}})

	var periods [][3]string
	for _, tg := range targets {
		log.Printf("backfill: %d days into %s", *backfillDays, tg.name)
		row := backfillRow{store: tg.name}
		p, err := scf.StartTo(io.Discard, tg.bin, append(creds, "DATABASE_URL="+tg.url, "SYNC_SINCE="+res.since), 10*time.Second)
		check(err)
		inv := scf.Invocation{FunctionName: "analysis", Timeout: 15 * time.Minute}
		before := calls.Load()
		start := time.Now()
		out, err := p.Invoke([]byte(`{"action":"sync"}`), inv)
		row.wall = time.Since(start)
		row.calls = calls.Load() - before
		check(err)
		var a struct {
			ErrCode, Stored, Remaining, Pending int
		}
		if json.Unmarshal(out, &a) != nil || a.ErrCode != 0 || a.Remaining+a.Pending != 0 {
			log.Fatalf("backfill: %s: %s", tg.name, out)
		}
		row.periods = a.Stored
		before = calls.Load()
		if _, err := p.Invoke([]byte(`{"action":"sync"}`), inv); err != nil {
			log.Fatal(err)
		}
		row.second = calls.Load() - before
		p.Close()

		// The same sync with no upstream latency, into an empty database.
		fastEnv := []string{"WECHAT_APPID=" + emulator.DefaultAppID, "WECHAT_APPSECRET=" + emulator.DefaultSecret,
			"WECHAT_API_BASE=" + fastSrv.URL, "DATABASE_URL=" + tg.fastURL, "SYNC_SINCE=" + res.since}
		p, err = scf.StartTo(io.Discard, tg.bin, fastEnv, 10*time.Second)
		check(err)
		start = time.Now()
		out, err = p.Invoke([]byte(`{"action":"sync"}`), inv)
		row.fast = time.Since(start)
		check(err)
		if json.Unmarshal(out, &a) != nil || a.ErrCode != 0 || a.Stored != row.periods {
			log.Fatalf("backfill: %s, no latency: %s", tg.name, out)
		}
		p.Close()

		st, err := warehouse.Open(context.Background(), tg.url, warehouse.Options{})
		check(err)
		for _, table := range warehouse.Tables() {
			var n int64
			check(st.DB().QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n))
			row.rows += n
		}
		if periods == nil {
			rs, err := st.DB().Query("SELECT method, begin_date, end_date FROM wxa_raw_answer")
			check(err)
			for rs.Next() {
				var m string
				var b, e any
				check(rs.Scan(&m, &b, &e))
				periods = append(periods, [3]string{m, compactDate(b), compactDate(e)})
			}
			rs.Close()
		}
		st.Close()
		tg.stop()
		res.rows = append(res.rows, row)
	}

	// The loop: the same periods, one single invocation after another, as
	// a scheduled job that calls the API per period does; nothing written.
	log.Printf("backfill: the one-period-at-a-time loop, %d periods", len(periods))
	p, err := scf.StartTo(io.Discard, deployed, append(creds, noStore), 10*time.Second)
	check(err)
	defer p.Close()
	before := calls.Load()
	start := time.Now()
	for _, q := range periods {
		ev := fmt.Sprintf(`{"action":%q,"beginDate":%q,"endDate":%q}`, q[0], q[1], q[2])
		out, err := p.Invoke([]byte(ev), scf.Invocation{FunctionName: "analysis", Timeout: 10 * time.Second})
		check(err)
		if !strings.HasSuffix(string(out), `"errCode":0}`) {
			log.Fatalf("backfill loop: %s: %s", ev, out)
		}
	}
	res.loopWall = time.Since(start)
	res.loopCalls = calls.Load() - before
	res.loopN = len(periods)
	return res
}

func compactDate(v any) string {
	s := fmt.Sprint(v)
	if t, ok := v.(time.Time); ok {
		return t.Format("20060102")
	}
	if b, ok := v.([]byte); ok {
		s = string(b)
	}
	return strings.ReplaceAll(s[:min(10, len(s))], "-", "")
}

// reportBackfill writes the warehouse's section.
func reportBackfill(b *strings.Builder, r *backfillResult) {
	if r == nil {
		return
	}
	fmt.Fprintf(b, "\n## Warehouse: backfilling %d days of every method\n\n", r.days)
	fmt.Fprintf(b, "`{\"action\":\"sync\"}` from an empty database with `SYNC_SINCE=%s`: every period of the nine period methods "+
		"and three portraits, through the SCF protocol, against an emulator that adds %s to every analysis call; the function as "+
		"deployed (default `SERIES_CONCURRENCY`), PostgreSQL and MariaDB started by the run (fsync off), SQLite through the local "+
		"build. The loop is what hand-written jobs run: the same periods, one single invocation after another, on the same function "+
		"with no stored answers, writing nothing (so it is the loop's best case). Rows are every row in the seven tables. The "+
		"sync's own rows/s is bounded by the upstream latency; the last two columns are the same sync into another empty database "+
		"against an emulator with no latency, where the store sets the pace.\n\n", r.since, *latency)
	b.WriteString("| store | wall time | upstream calls | periods | rows | rows/s | second sync's upstream calls | vs the loop | no latency: wall time | rows/s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	best := 0.0
	for _, row := range r.rows {
		if row.err != "" {
			fmt.Fprintf(b, "| %s | not measured: %s | | | | | | | | |\n", row.store, row.err)
			continue
		}
		x := r.loopWall.Seconds() / row.wall.Seconds()
		best = max(best, x)
		fmt.Fprintf(b, "| %s | %s | %d | %d | %d | %.0f | %d | %s | %s | %.0f |\n", row.store, secs(row.wall), row.calls, row.periods, row.rows,
			float64(row.rows)/row.wall.Seconds(), row.second, times(x), secs(row.fast), float64(row.rows)/row.fast.Seconds())
	}
	fmt.Fprintf(b, "| one period at a time (loop) | %s | %d | %d | | | | 1× | | |\n\n", secs(r.loopWall), r.loopCalls, r.loopN)
	worst := 0.0
	for _, row := range r.rows {
		if row.err == "" {
			x := r.loopWall.Seconds() / row.wall.Seconds()
			if worst == 0 || x < worst {
				worst = x
			}
		}
	}
	fmt.Fprintf(b, "**The sync backfills %s to %s faster than the loop** (target ≥ 5×: %s, on every store).\n\n",
		times(worst), times(best), metWord(worst >= 5))
}
