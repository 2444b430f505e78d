package handler

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
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

// A syncJob is one period to fetch and store, for its run's AppID.
type syncJob struct {
	m   openapi.Method
	p   warehouse.Period
	run *syncRun
}

// syncRun is one AppID's part of a sync: the function's own, or one
// authorizer's in the per-authorizer modes. Its counts are guarded by the
// sync's lock (all.mu).
type syncRun struct {
	all    *syncAll
	app    string
	client *openapi.Client // calls as app: its own token, its own quota
	since  time.Time       // Claim's: the start of the earliest sync of app still running
	jobs   []syncJob

	fetched   int // upstream requests sent
	stored    int // periods written
	final     int // of them, final
	pending   int // not published yet, or failed: retried next run
	remaining int // not reached: the deadline, the quota, or another sync has it
	skipped   int // already final in the database
	stopped   string
	stopMsg   string // why, in WeChat's words explained, for an authorizer
	reasons   []string
}

// syncAll is one sync over every AppID it covers, shared by its workers.
type syncAll struct {
	mu      sync.Mutex
	runs    []*syncRun
	perApp  bool           // the per-authorizer modes: the answer breaks the counts down by authorizer
	stopped string         // what stopped every run: the deadline, the database, the platform
	fatal   *openapi.Error // ends the sync: a mini game, the database lost, the platform refused
}

// maxReasons bounds the failures a sync's result quotes (per authorizer).
const maxReasons = 5

func (r *syncRun) add(f func(r *syncRun)) {
	r.all.mu.Lock()
	f(r)
	r.all.mu.Unlock()
}

func (r *syncRun) reason(j *syncJob, msg string) {
	if len(r.reasons) < maxReasons {
		r.reasons = append(r.reasons, j.p.Method+" "+j.p.BeginDate+"-"+j.p.EndDate+": "+msg)
	}
}

// stop ends the run for reason: no new period of it starts. In the
// per-authorizer modes the others carry on; otherwise it is the only run,
// and the sync stops. Callers hold all.mu.
func (r *syncRun) stop(reason, msg string) {
	if r.stopped == "" {
		r.stopped, r.stopMsg = reason, msg
	}
	if !r.all.perApp {
		r.all.stop(reason, nil)
	}
}

// stop ends every run for reason: no new period starts. Callers hold mu.
func (a *syncAll) stop(reason string, fatal *openapi.Error) {
	if a.stopped == "" {
		a.stopped = reason
	}
	if fatal != nil && a.fatal == nil {
		a.fatal = fatal
	}
}

// sync answers {"action": "sync"}: it fetches every period from SYNC_SINCE
// that the warehouse does not hold as final, most recent first, and writes
// each. It stops starting periods before the deadline, on a quota error, on
// a mini game's 61502 and when the database fails; a period that fails on
// its own is pending, and the next run tries it again.
//
// In the per-authorizer modes it covers every authorizer (the event's
// authorizerAppid, else SYNC_AUTHORIZERS, else the platform's list), each
// through its own client: their periods are taken in turn, one of each, so
// that they share the deadline and SERIES_CONCURRENCY fairly, and what
// stops one authorizer (its quota, its permissions, its authorization, a
// mini game) leaves the others running.
func (h *Handler) sync(ctx context.Context, ev map[string]any, env map[string]string, caller Caller, rec *record) ([]byte, *openapi.Error) {
	rec.action = "sync"
	var named string
	if h.comp != nil {
		if _, ok := ev[AuthorizerKey]; ok {
			var e *openapi.Error
			if named, e = h.whose(ev); e != nil {
				return nil, openapi.NewActionError("sync", e.Code, e.Msg)
			}
		}
	}
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
	apps, e := h.syncApps(ctx, named, cenv, env)
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
	all := &syncAll{perApp: h.comp != nil}
	for _, app := range apps {
		run := &syncRun{all: all, app: app, client: h.client}
		all.runs = append(all.runs, run)
		finals, err := st.FinalPeriods(ctx, app)
		if err != nil {
			return nil, openapi.NewActionError("sync", openapi.CodeInternal, "system error: "+err.Error()+"; nothing was fetched")
		}
		// Planned first, so that an authorizer stopped before its first
		// period reports what it leaves (remaining), as any other does.
		run.jobs = h.plan(run, start, finals)
		rec.items += len(run.jobs)
		if h.comp != nil {
			rec.addWhose(app)
			var e *openapi.Error
			if run.client, e = h.authorizerClient(ctx, app); e != nil {
				h.authorizerStopped(run, h.explain(app, e))
			}
		}
	}
	if all.fatal == nil {
		h.runSync(ctx, st, all, start, cenv, env)
	}
	fetched := 0
	for _, r := range all.runs {
		fetched += r.fetched
	}
	rec.add(openapi.CallStats{Attempts: fetched}, "")
	out := all.result()
	if all.fatal != nil {
		rec.fail(openapi.NewActionError("sync", all.fatal.Code, all.fatal.Msg))
	}
	return out, nil
}

// syncApps lists the AppIDs a sync covers: the function's own (WECHAT_APPID,
// or the cloud invocation's); in the per-authorizer modes named (the
// event's authorizerAppid) if given, else SYNC_AUTHORIZERS, else every
// authorizer of the platform.
func (h *Handler) syncApps(ctx context.Context, named string, cenv *cloudcall.Env, env map[string]string) ([]string, *openapi.Error) {
	switch {
	case h.comp == nil:
		app, e := h.appID("", cenv, env)
		if e != nil {
			return nil, e
		}
		return []string{app}, nil
	case named != "":
		return []string{named}, nil
	case len(h.cfg.SyncAuthorizers) > 0:
		return h.cfg.SyncAuthorizers, nil
	}
	apps, err := h.Authorizers(ctx)
	if err != nil {
		e := openapi.AsError(err)
		return nil, &openapi.Error{Code: e.Code, Msg: e.Msg + "; the list of authorizers to sync could not be read, nothing was fetched"}
	}
	if apps == nil && h.comp.comp == nil {
		// url mode: checkSyncAuthorizers requires the list with DATABASE_URL.
		return nil, &openapi.Error{Code: openapi.CodeConfig, Msg: "system args error: SYNC_AUTHORIZERS is not set: with a WECHAT_TOKEN_URL holding {appid}, list the AppIDs sync covers, or name one in authorizerAppid"}
	}
	return apps, nil
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
func (h *Handler) plan(run *syncRun, now time.Time, finals map[warehouse.Period]bool) []syncJob {
	app := run.app
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
			jobs = append(jobs, syncJob{m: m, run: run, p: warehouse.Period{AppID: app, Method: m.Name, BeginDate: p[0], EndDate: p[1]}})
		}
	}
	portrait, _ := openapi.Lookup("getUserPortrait")
	for _, days := range []int{1, 7, 30} {
		b := yesterday.AddDate(0, 0, 1-days)
		jobs = append(jobs, syncJob{m: portrait, run: run, p: warehouse.Period{AppID: app, Method: portrait.Name,
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

// maxSyncReserve caps syncReserve.
const maxSyncReserve = 2 * time.Second

// syncReserve is the part of the time left at a sync's start that it keeps
// back: a fifth, at most maxSyncReserve. No period starts in it, so that
// those in flight finish and the answer goes out before the deadline.
func syncReserve(left time.Duration) time.Duration {
	return max(0, min(maxSyncReserve, left/5))
}

// interleave orders the runs' jobs round-robin: the first of each run,
// then the second of each, and so on; each run's own order (most recent
// first) is kept. Every run thus has its newest periods done first and an
// equal share of a sync cut short by the deadline.
func interleave(runs []*syncRun) []*syncJob {
	var out []*syncJob
	for i := 0; ; i++ {
		more := false
		for _, r := range runs {
			if i < len(r.jobs) {
				out = append(out, &r.jobs[i])
				more = true
			}
		}
		if !more {
			return out
		}
	}
}

// runSync fetches and stores the runs' jobs, taken in turn across runs, at
// most SERIES_CONCURRENCY at once over all of them, as batch and series do.
// A stopped run's jobs are passed over (remaining); the deadline and the
// database stop them all.
func (h *Handler) runSync(ctx context.Context, st *warehouse.Store, all *syncAll, start time.Time,
	cenv *cloudcall.Env, env map[string]string) {
	owner := h.syncOwner()
	expiry := start.Add(15 * time.Minute)
	var startBy time.Time // no period starts from then on; zero: no deadline
	if dl, ok := ctx.Deadline(); ok {
		left := dl.Sub(h.wall())
		// A crashed run's claims lapse a minute after its deadline, in the
		// store's clock (start is h.now's; the deadline is the wall clock's).
		expiry = start.Add(left + time.Minute)
		startBy = dl.Add(-syncReserve(left))
	}
	for _, r := range all.runs {
		if len(r.jobs) == 0 || r.stopped != "" {
			continue
		}
		since, err := st.BeginRun(ctx, r.app, owner, start, expiry)
		if err != nil {
			for _, r := range all.runs {
				r.remaining += len(r.jobs)
			}
			all.stop("database", dbFailure(err))
			return
		}
		r.since = since
		defer st.EndRun(context.WithoutCancel(ctx), r.app, owner)
	}
	// The fan-out batch and series use: a period starts only before the
	// reserve, and only while its authorizer and the sync go on; the rest
	// are counted as remaining.
	queue := interleave(all.runs)
	each(len(queue), h.cfg.Concurrency, func(i int) {
		j := queue[i]
		all.mu.Lock()
		if all.stopped == "" && (ctx.Err() != nil || !startBy.IsZero() && !h.wall().Before(startBy)) {
			all.stop("deadline", nil)
		}
		skip := all.stopped != "" || j.run.stopped != ""
		if skip {
			j.run.remaining++
		}
		all.mu.Unlock()
		if !skip {
			h.syncOne(ctx, st, j, owner, expiry, cenv, env)
		}
	})
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

// syncOne fetches and stores one period, unless another sync has it,
// through its run's client.
func (h *Handler) syncOne(ctx context.Context, st *warehouse.Store, j *syncJob, owner string, expiry time.Time,
	cenv *cloudcall.Env, env map[string]string) {
	run := j.run
	ok, err := st.Claim(ctx, j.p, owner, expiry, run.since)
	if err != nil {
		run.add(func(r *syncRun) { r.remaining++; r.all.stop("database", dbFailure(err)) })
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
		e = openapi.AsError(run.client.Check(&j.m, params))
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
	raw, result, err := run.client.CallRaw(openapi.WithStats(ctx, &stats), &j.m, body)
	run.add(func(r *syncRun) { r.fetched += stats.Attempts })
	if err != nil {
		release()
		h.syncFailed(ctx, j, openapi.AsError(err))
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
		run.add(func(r *syncRun) { r.remaining++; r.all.stop("database", dbFailure(err)) })
		return
	}
	run.add(func(r *syncRun) {
		r.stored++
		if final {
			r.final++
		}
	})
	// The answer cache gets it too, in the AppID's scope: a call for it next is a hit.
	h.cache.Put(ctx, cache.Key(h.scopeOf(run.app, cenv, env), j.m.Name, body), j.m.Name, j.p.BeginDate, j.p.EndDate, result)
}

// authorizerStops are the errcodes that stop one authorizer's part of a
// sync, and the word its answer gives: every further period of it would
// fail alike, and the other authorizers are not concerned.
var authorizerStops = map[int]string{
	openapi.CodeQuotaExhausted:  "quota",
	45011:                       "quota",
	openapi.CodeAPIUnauthorized: "permission",
	openapi.CodeNotAuthorized:   "unauthorized",
	openapi.CodeRefreshInvalid:  "unauthorized",
	openapi.CodeGameNoData:      "game",
}

// stopReason is what the answer says stopped run app's part: the error,
// naming the authorizer, its errcode and what to do. The open platform's
// own errors (61003, 61023, 48001) say so already (openapi.ComponentError).
func stopReason(app string, e *openapi.Error) string {
	if strings.HasPrefix(e.Msg, "component: ") {
		return e.ErrMsg()
	}
	who := "authorizer " + app
	switch e.Code {
	case openapi.CodeQuotaExhausted:
		return who + " has spent its daily quota of this API (45009): WeChat counts it per Mini Program; the next run carries on"
	case 45011:
		return who + " called this API more often than WeChat allows (45011): the next run carries on"
	case openapi.CodeGameNoData:
		return who + " is a mini game: WeChat's analysis API does not serve mini games (61502), so there is nothing to sync; leave it out of SYNC_AUTHORIZERS"
	}
	return who + ": " + strconv.Itoa(e.Code) + " " + e.ErrMsg()
}

// platformStops are the errcodes that concern the platform itself, not an
// authorizer: no authorizer can be read, and the sync ends with the error.
var platformStops = map[int]bool{openapi.CodeIPNotAllowed: true, openapi.CodeTicketExpired: true, openapi.CodeTicketInvalid: true}

// authorizerStopped stops run for e, which its client's token or a call
// answered: its authorizer alone, unless e concerns the whole platform.
// Callers do not hold all.mu.
func (h *Handler) authorizerStopped(run *syncRun, e *openapi.Error) {
	run.add(func(r *syncRun) { h.stopFor(r, e) })
}

// stopFor is authorizerStopped with all.mu held.
func (h *Handler) stopFor(r *syncRun, e *openapi.Error) {
	if platformStops[e.Code] && h.comp != nil {
		r.all.stop("platform", e)
		return
	}
	word, ok := authorizerStops[e.Code]
	if !ok {
		word = "error"
	}
	r.stop(word, stopReason(r.app, e))
}

// syncFailed sorts an upstream failure: a quota stops the run, a mini game
// ends it, the deadline leaves the period for the next run, anything else
// makes it pending. In the per-authorizer modes what concerns one
// authorizer (its quota, its permission, its authorization, a mini game)
// stops that authorizer alone; what concerns the platform (61004, 61005,
// 61006) ends the sync.
func (h *Handler) syncFailed(ctx context.Context, j *syncJob, e *openapi.Error) {
	run := j.run
	e = h.explain(run.app, e)
	run.all.mu.Lock()
	defer run.all.mu.Unlock()
	_, stops := authorizerStops[e.Code]
	switch {
	case e.Code == openapi.CodeGameNoData && h.comp == nil:
		run.remaining++
		run.all.stop("game", &openapi.Error{Code: e.Code, Msg: "this AppID is a mini game: WeChat's analysis API does not serve mini games (61502), so there is nothing to sync"})
	case e.Code == openapi.CodeQuotaExhausted || e.Code == 45011:
		run.remaining++
		run.stop("quota", stopReason(run.app, e))
		run.reason(j, e.ErrMsg())
	case h.comp != nil && (stops || platformStops[e.Code]):
		run.remaining++
		h.stopFor(run, e)
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

// SyncResult is the answer of {"action": "sync"}, for those who decode it.
type SyncResult struct {
	ErrCode int    `json:"errCode"`
	ErrMsg  string `json:"errMsg"`
	// AppID is whose rows the sync kept; in the per-authorizer modes each
	// has its own entry in Authorizers instead, and the counts are sums.
	AppID string `json:"appid,omitempty"`
	SyncCounts
	Stopped     string           `json:"stopped,omitempty"` // deadline, quota, database, game or platform
	Errors      []string         `json:"errors"`            // at most maxReasons failures, quoted
	Authorizers []AuthorizerSync `json:"authorizers,omitempty"`
}

// AuthorizerSync is one authorizer's part of a SyncResult.
type AuthorizerSync struct {
	AuthorizerAppid string `json:"authorizerAppid"`
	SyncCounts
	Stopped string   `json:"stopped,omitempty"` // quota, permission, unauthorized, game or error
	Reason  string   `json:"reason,omitempty"`  // the error that stopped it
	Errors  []string `json:"errors"`
}

// SyncCounts are a sync's numbers (README: the warehouse).
type SyncCounts struct {
	Fetched   int `json:"fetched"`   // upstream calls made
	Stored    int `json:"stored"`    // periods written
	Final     int `json:"final"`     // of those, final
	Pending   int `json:"pending"`   // not published yet, or failing: tried next run
	Remaining int `json:"remaining"` // not reached before the deadline or a stop
	Skipped   int `json:"skipped"`   // already final in the database
}

func (r *syncRun) counts() SyncCounts {
	return SyncCounts{Fetched: r.fetched, Stored: r.stored, Final: r.final, Pending: r.pending,
		Remaining: r.remaining, Skipped: r.skipped}
}

// result is the sync's answer: errCode 0 "sync:ok" unless a mini game, the
// database or the platform ended it, and the counts either way: the
// function's AppID's, or in the per-authorizer modes their sums, then one
// entry per authorizer.
func (a *syncAll) result() []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	res := SyncResult{ErrMsg: "sync:ok", Stopped: a.stopped, Errors: []string{}}
	if a.fatal != nil {
		res.ErrCode, res.ErrMsg = a.fatal.Code, "sync:fail "+a.fatal.Msg
	}
	for _, r := range a.runs {
		c := r.counts()
		res.Fetched += c.Fetched
		res.Stored += c.Stored
		res.Final += c.Final
		res.Pending += c.Pending
		res.Remaining += c.Remaining
		res.Skipped += c.Skipped
		if !a.perApp {
			res.AppID, res.Errors = r.app, append(res.Errors, r.reasons...)
			continue
		}
		if r.stopMsg != "" && len(res.Errors) < maxReasons {
			res.Errors = append(res.Errors, r.app+": stopped: "+r.stopMsg)
		}
		for _, s := range r.reasons {
			if len(res.Errors) < maxReasons {
				res.Errors = append(res.Errors, r.app+": "+s)
			}
		}
		entry := AuthorizerSync{AuthorizerAppid: r.app, SyncCounts: c, Stopped: r.stopped, Errors: append([]string{}, r.reasons...)}
		if r.stopped != "" {
			entry.Reason = r.stopMsg
		}
		res.Authorizers = append(res.Authorizers, entry)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // as the function's other answers
	_ = enc.Encode(res)      // strings and numbers always encode
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
