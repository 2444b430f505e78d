package handler

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/wxanalysis/wxanalysis/cache"
	"github.com/wxanalysis/wxanalysis/cloudcall"
	"github.com/wxanalysis/wxanalysis/openapi"
	"github.com/wxanalysis/wxanalysis/warehouse"
)

// timerSync turns a timer trigger's event, {"Type": "Timer", "TriggerName":
// ..., "Time": ..., "Message": ...} with no action (SCF's and CloudBase's),
// into {"action": "sync"}; any other event is returned as it is.
func timerSync(ev map[string]any) map[string]any {
	if ev == nil || ev["Type"] != "Timer" {
		return ev
	}
	if _, ok := ev["action"]; ok {
		return ev
	}
	if _, ok := ev["TriggerName"]; !ok {
		return ev
	}
	return map[string]any{"action": "sync"}
}

// A syncJob is one period to fetch and store.
type syncJob struct {
	m openapi.Method
	p warehouse.Period
}

// syncRun is one sync's progress, shared by its workers.
type syncRun struct {
	mu        sync.Mutex
	fetched   int // upstream requests sent
	stored    int // periods written
	final     int // of them, final
	pending   int // not published yet, or failed: retried next run
	remaining int // not reached: the deadline, the quota, or another sync has it
	skipped   int // already final in the database
	stopped   string
	reasons   []string
	fatal     *openapi.Error // ends the run: a mini game, the database lost
}

// maxReasons bounds the failures a sync's result quotes.
const maxReasons = 5

func (r *syncRun) add(f func(r *syncRun)) {
	r.mu.Lock()
	f(r)
	r.mu.Unlock()
}

func (r *syncRun) reason(j *syncJob, msg string) {
	if len(r.reasons) < maxReasons {
		r.reasons = append(r.reasons, j.p.Method+" "+j.p.BeginDate+"-"+j.p.EndDate+": "+msg)
	}
}

// stop ends the run for reason: no new period starts.
func (r *syncRun) stop(reason string, fatal *openapi.Error) {
	if r.stopped == "" {
		r.stopped = reason
	}
	if fatal != nil && r.fatal == nil {
		r.fatal = fatal
	}
}

// sync answers {"action": "sync"}: it fetches every period from SYNC_SINCE
// that the warehouse does not hold as final, most recent first, and writes
// each. It stops starting periods before the deadline, on a quota error, on
// a mini game's 61502 and when the database fails; a period that fails on
// its own is pending, and the next run tries it again.
func (h *Handler) sync(ctx context.Context, ev map[string]any, env map[string]string, caller Caller, rec *record) ([]byte, *openapi.Error) {
	rec.action = "sync"
	if msg := unknownKey(ev, "sync"); msg != "" {
		return nil, actionError("sync", msg)
	}
	if caller.Kind != KindOwner && caller.Kind != KindHTTP {
		return nil, openapi.NewActionError("sync", openapi.CodePermission,
			"api permission denied: only the account owner may sync (a timer, the console, or an HTTP client with an API key), not an end user")
	}
	if h.cfg.DatabaseURL == "" {
		return nil, openapi.NewActionError("sync", openapi.CodeConfig,
			"system args error: DATABASE_URL is not set: sync writes to a database (postgres://, mysql:// or sqlite:)")
	}
	cenv, _ := cloudcall.FromContext(ctx)
	app, e := h.appID("", cenv, env)
	if e != nil {
		return nil, openapi.NewActionError("sync", e.Code, e.Msg)
	}
	if !h.wh.syncing.TryLock() {
		return nil, openapi.NewActionError("sync", openapi.CodeSystemError,
			"system error: a sync is already running in this instance; the next run carries on")
	}
	defer h.wh.syncing.Unlock()
	st, err := h.store(ctx, true)
	if err != nil {
		return nil, openapi.NewActionError("sync", openapi.CodeInternal, "system error: "+err.Error()+"; nothing was fetched")
	}
	start := h.now()
	finals, err := st.FinalPeriods(ctx, app)
	if err != nil {
		return nil, openapi.NewActionError("sync", openapi.CodeInternal, "system error: "+err.Error()+"; nothing was fetched")
	}
	run := &syncRun{}
	jobs := h.plan(app, start, finals, run)
	rec.items = len(jobs)
	h.runSync(ctx, st, jobs, start, cenv, env, run)
	rec.add(openapi.CallStats{Attempts: run.fetched}, "")
	out := run.result(app)
	if run.fatal != nil {
		rec.fail(openapi.NewActionError("sync", run.fatal.Code, run.fatal.Msg))
	}
	return out, nil
}

// syncSince is the first day sync fetches at now.
func (h *Handler) syncSince(now time.Time) time.Time {
	if t, err := time.ParseInLocation(openapi.DateLayout, h.cfg.SyncSince, openapi.CST); err == nil && h.cfg.SyncSince != "" {
		return t
	}
	return openapi.Today(now).AddDate(0, 0, -DefaultSyncDays)
}

// plan lists the periods to fetch at now: each kept method's periods (the
// expansion series uses) from SYNC_SINCE to the last WeChat can have
// published, and the last 1, 7 and 30 days' portraits; without those the
// database holds as final; most recent first, so that a run cut short has
// done the newest and the next one carries on back.
func (h *Handler) plan(app string, now time.Time, finals map[warehouse.Period]bool, run *syncRun) []syncJob {
	since := h.syncSince(now)
	yesterday := openapi.Today(now).AddDate(0, 0, -1)
	var jobs []syncJob
	for _, m := range openapi.Methods() {
		if !warehouse.Kept(m.Name) || m.Name == "getUserPortrait" {
			continue
		}
		begin, end := since, yesterday
		switch warehouse.Granularity(m.Name) {
		case "week":
			for begin.Weekday() != time.Monday {
				begin = begin.AddDate(0, 0, 1)
			}
			_, end = openapi.LatestWeek(now)
		case "month":
			if begin.Day() != 1 {
				begin = time.Date(begin.Year(), begin.Month()+1, 1, 0, 0, 0, 0, openapi.CST)
			}
			end = openapi.Today(now).AddDate(0, 0, -openapi.Today(now).Day())
		}
		if end.Before(begin) {
			continue
		}
		periods, err := m.Periods(begin.Format(openapi.DateLayout), end.Format(openapi.DateLayout), 1<<20)
		if err != nil {
			continue // cannot happen: the range is aligned above
		}
		for _, p := range periods {
			jobs = append(jobs, syncJob{m: m, p: warehouse.Period{AppID: app, Method: m.Name, BeginDate: p[0], EndDate: p[1]}})
		}
	}
	portrait, _ := openapi.Lookup("getUserPortrait")
	for _, days := range []int{1, 7, 30} {
		b := yesterday.AddDate(0, 0, 1-days)
		jobs = append(jobs, syncJob{m: portrait, p: warehouse.Period{AppID: app, Method: portrait.Name,
			BeginDate: b.Format(openapi.DateLayout), EndDate: yesterday.Format(openapi.DateLayout)}})
	}
	kept := jobs[:0]
	for _, j := range jobs {
		if finals[j.p] {
			run.skipped++
			continue
		}
		kept = append(kept, j)
	}
	sort.SliceStable(kept, func(i, k int) bool { return kept[i].p.EndDate > kept[k].p.EndDate })
	return kept
}

// syncReserve is the part of the time left that a sync keeps back: no
// period starts in it, so that those in flight finish and the answer goes
// out before the deadline.
func syncReserve(ctx context.Context) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	return min(2*time.Second, time.Until(dl)/5)
}

// runSync fetches and stores jobs, at most SERIES_CONCURRENCY at once, as
// batch and series do.
func (h *Handler) runSync(ctx context.Context, st *warehouse.Store, jobs []syncJob, start time.Time,
	cenv *cloudcall.Env, env map[string]string, run *syncRun) {
	owner := h.syncOwner()
	expiry := start.Add(15 * time.Minute)
	startCtx := ctx
	if dl, ok := ctx.Deadline(); ok {
		expiry = start.Add(time.Until(dl) + time.Minute) // a crashed run's claims lapse soon after; in the store's clock
		var cancel context.CancelFunc
		startCtx, cancel = context.WithDeadline(ctx, dl.Add(-syncReserve(ctx)))
		defer cancel()
	}
	if len(jobs) == 0 {
		return
	}
	app := jobs[0].p.AppID
	since, err := st.BeginRun(ctx, app, owner, start, expiry)
	if err != nil {
		run.add(func(r *syncRun) { r.remaining += len(jobs); r.stop("database", dbFailure(err)) })
		return
	}
	defer st.EndRun(context.WithoutCancel(ctx), app, owner)
	sem := make(chan struct{}, h.cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range jobs {
		acquired := false
		select {
		case sem <- struct{}{}:
			acquired = true
		case <-startCtx.Done():
		}
		run.mu.Lock()
		stopped := run.stopped != ""
		if !stopped && expired(startCtx) {
			run.stop("deadline", nil)
			stopped = true
		}
		if stopped {
			run.remaining += len(jobs) - i
		}
		run.mu.Unlock()
		if stopped {
			if acquired {
				<-sem
			}
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			h.syncOne(ctx, st, &jobs[i], owner, expiry, since, cenv, env, run)
		})
	}
	wg.Wait()
}

// syncOwner is this instance's name in the claims: one per process, and
// its syncs run one at a time, so that a run can take back the claims of
// one before it that lost the database and could not release them.
func (h *Handler) syncOwner() string {
	h.wh.mu.Lock()
	defer h.wh.mu.Unlock()
	if h.wh.owner == "" {
		b := make([]byte, 12)
		rand.Read(b)
		h.wh.owner = hex.EncodeToString(b)
	}
	return h.wh.owner
}

// syncOne fetches and stores one period, unless another sync has it.
func (h *Handler) syncOne(ctx context.Context, st *warehouse.Store, j *syncJob, owner string, expiry, since time.Time,
	cenv *cloudcall.Env, env map[string]string, run *syncRun) {
	ok, err := st.Claim(ctx, j.p, owner, expiry, since)
	if err != nil {
		run.add(func(r *syncRun) { r.remaining++; r.stop("database", dbFailure(err)) })
		return
	}
	if !ok {
		run.add(func(r *syncRun) { r.remaining++ }) // another sync has it
		return
	}
	release := func() { _ = st.Release(context.WithoutCancel(ctx), j.p, owner) }
	if _, final, err := st.Final(ctx, j.p); err == nil && final {
		release()
		run.add(func(r *syncRun) { r.skipped++ })
		return
	}
	params, e := decodeParams(&j.m, map[string]any{"action": j.m.Name, "beginDate": j.p.BeginDate, "endDate": j.p.EndDate})
	if e == nil {
		e = openapi.AsError(h.client.Check(&j.m, params))
	}
	var body []byte
	if e == nil {
		if body, err = openapi.RequestBody(params); err != nil {
			e = invalidArgs("parameters do not encode as JSON")
		}
	}
	if e != nil {
		release()
		run.add(func(r *syncRun) { r.pending++; r.reason(j, e.ErrMsg()) })
		return
	}
	asked := h.now()
	var stats openapi.CallStats
	raw, result, err := h.client.CallRaw(openapi.WithStats(ctx, &stats), &j.m, body)
	run.add(func(r *syncRun) { r.fetched += stats.Attempts })
	if err != nil {
		release()
		h.syncFailed(ctx, j, openapi.AsError(err), run)
		return
	}
	a, err := warehouse.Decode(j.p, raw)
	if err != nil {
		release()
		run.add(func(r *syncRun) { r.pending++; r.reason(j, err.Error()) })
		return
	}
	if a.Rows() == 0 && j.p.EndDate == openapi.Today(asked).AddDate(0, 0, -1).Format(openapi.DateLayout) {
		// WeChat answers an empty list for a day it has not published yet.
		release()
		run.add(func(r *syncRun) { r.pending++; r.reason(j, "empty answer on the day after: not published yet") })
		return
	}
	final := cache.IsFinal(j.m.Name, j.p.BeginDate, j.p.EndDate, asked)
	switch err := st.Put(ctx, a, owner, final, asked); {
	case errors.Is(err, warehouse.ErrClaimLost):
		run.add(func(r *syncRun) { r.remaining++ })
		return
	case err != nil:
		release()
		run.add(func(r *syncRun) { r.remaining++; r.stop("database", dbFailure(err)) })
		return
	}
	run.add(func(r *syncRun) {
		r.stored++
		if final {
			r.final++
		}
	})
	// The answer cache gets it too: a call for it next is a hit.
	h.cache.Put(ctx, cache.Key(h.scope(cenv, env), j.m.Name, body), j.m.Name, j.p.BeginDate, j.p.EndDate, result)
}

// syncFailed sorts an upstream failure: a quota stops the run, a mini game
// ends it, the deadline leaves the period for the next run, anything else
// makes it pending.
func (h *Handler) syncFailed(ctx context.Context, j *syncJob, e *openapi.Error, run *syncRun) {
	run.mu.Lock()
	defer run.mu.Unlock()
	switch {
	case e.Code == openapi.CodeQuotaExhausted || e.Code == 45011:
		run.remaining++
		run.stop("quota", nil)
		run.reason(j, e.ErrMsg())
	case e.Code == openapi.CodeGameNoData:
		run.remaining++
		run.stop("game", &openapi.Error{Code: e.Code, Msg: "this AppID is a mini game: WeChat's analysis API does not serve mini games (61502), so there is nothing to sync"})
	case e.Code == openapi.CodeTimeout || ctx.Err() != nil:
		run.remaining++
	default:
		run.pending++
		run.reason(j, strconv.Itoa(e.Code)+" "+e.ErrMsg())
	}
}

func dbFailure(err error) *openapi.Error {
	return &openapi.Error{Code: openapi.CodeInternal, Msg: "system error: the database failed during the sync (" + err.Error() +
		"); every period written before is whole, and the next run carries on"}
}

// result is the sync's answer: errCode 0 "sync:ok" unless a mini game or
// the database ended it, and the counts either way.
func (r *syncRun) result(app string) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := make([]byte, 0, 256)
	b = append(b, `{"errCode":`...)
	if r.fatal != nil {
		b = strconv.AppendInt(b, int64(r.fatal.Code), 10)
		b = append(b, `,"errMsg":`...)
		b = append(b, quoteJSON("sync:fail "+r.fatal.Msg)...)
	} else {
		b = append(b, `0,"errMsg":"sync:ok"`...)
	}
	b = append(b, `,"appid":`...)
	b = append(b, quoteJSON(app)...)
	for _, f := range []struct {
		k string
		v int
	}{{"fetched", r.fetched}, {"stored", r.stored}, {"final", r.final}, {"pending", r.pending},
		{"remaining", r.remaining}, {"skipped", r.skipped}} {
		b = append(b, `,"`...)
		b = append(b, f.k...)
		b = append(b, `":`...)
		b = strconv.AppendInt(b, int64(f.v), 10)
	}
	if r.stopped != "" {
		b = append(b, `,"stopped":`...)
		b = append(b, quoteJSON(r.stopped)...)
	}
	b = append(b, `,"errors":[`...)
	for i, s := range r.reasons {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, quoteJSON(s)...)
	}
	return append(b, "]}"...)
}

// quoteJSON is s as a JSON string.
func quoteJSON(s string) []byte {
	b, _ := json.Marshal(s) // a string always encodes
	return b
}
