package handler

import (
	"context"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wxanalysis/wxanalysis/openapi"
)

// MaxBatch is the most events one batch or series answers.
const MaxBatch = 100

// batch answers {"action": "batch", "requests": [event, ...]}: each event
// as it would be answered alone, in order, in {"results": [...]}.
func (h *Handler) batch(ctx context.Context, ev map[string]any, env map[string]string, rec *record) ([]byte, *openapi.Error) {
	rec.action = "batch"
	if msg := unknownKey(ev, "batch", "requests", AuthorizerKey); msg != "" {
		return nil, actionError("batch", msg)
	}
	raw, ok := ev["requests"].([]any)
	switch {
	case !ok:
		return nil, actionError("batch", "requests must be an array of events, such as [{\"action\": \"getDailyVisitTrend\", \"beginDate\": \"20240101\", \"endDate\": \"20240101\"}]")
	case len(raw) == 0:
		return nil, actionError("batch", "requests must hold at least one event")
	case len(raw) > MaxBatch:
		return nil, actionError("batch", "requests holds "+strconv.Itoa(len(raw))+" events; the most is "+strconv.Itoa(MaxBatch))
	}
	items := make([]map[string]any, len(raw))
	for i, r := range raw {
		item, ok := r.(map[string]any)
		if !ok {
			return nil, actionError("batch", "requests["+strconv.Itoa(i)+"] must be an event object, not "+describe(r))
		}
		if a := item["action"]; a == "batch" || a == "series" {
			return nil, actionError("batch", "requests["+strconv.Itoa(i)+"] is a "+a.(string)+": batches do not nest")
		}
		if app, ok := ev[AuthorizerKey]; ok && item[AuthorizerKey] == nil {
			item[AuthorizerKey] = app // the batch's authorizer, unless the item names its own
		}
		items[i] = item
	}
	return h.fanOut(ctx, items, env, "batch", rec), nil
}

// series answers {"action": "series", "method": m, "beginDate": b,
// "endDate": e}: the batch of m's periods (days, weeks or months) from b to e.
func (h *Handler) series(ctx context.Context, ev map[string]any, env map[string]string, rec *record) ([]byte, *openapi.Error) {
	rec.action = "series"
	if msg := unknownKey(ev, "series", "method", "beginDate", "endDate", AuthorizerKey); msg != "" {
		return nil, actionError("series", msg)
	}
	name, ok := ev["method"].(string)
	if !ok {
		return nil, actionError("series", "method must be the name of a daily, weekly or monthly analysis method, such as getDailyVisitTrend")
	}
	m, ok := openapi.Lookup(name)
	if !ok {
		return nil, actionError("series", "method "+quote(name)+" is not an analysis method"+didYouMean(name, openapi.Names()))
	}
	var dates [2]string
	for i, k := range []string{"beginDate", "endDate"} {
		s, ok := ev[k].(string)
		if !ok {
			return nil, actionError("series", k+" must be a yyyymmdd string")
		}
		dates[i] = s
	}
	periods, err := m.Periods(dates[0], dates[1], MaxBatch)
	if err != nil {
		e := openapi.AsError(err)
		return nil, openapi.NewActionError("series", e.Code, e.Msg)
	}
	items := make([]map[string]any, len(periods))
	for i, p := range periods {
		items[i] = map[string]any{"action": m.Name, "beginDate": p[0], "endDate": p[1]}
		if app, ok := ev[AuthorizerKey]; ok {
			items[i][AuthorizerKey] = app
		}
	}
	return h.fanOut(ctx, items, env, "series", rec), nil
}

// fanOut answers items concurrently, at most SERIES_CONCURRENCY upstream at
// once, each exactly as it would be answered alone. Items not started before
// the deadline answer -601008; after a quota error, no new item starts.
//
// The items run on SERIES_CONCURRENCY goroutines that each take the next
// item until none is left, rather than on a goroutine per item: a goroutine
// grows its stack once, for its first item, not for every item.
func (h *Handler) fanOut(ctx context.Context, items []map[string]any, env map[string]string, name string, rec *record) []byte {
	rec.items = len(items)
	results := make([][]byte, len(items))
	var (
		mu    sync.Mutex
		quota *openapi.Error
	)
	// item answers items[i], unless the deadline has passed or an earlier
	// item hit the quota.
	item := func(i int) {
		mu.Lock()
		stop := quota
		mu.Unlock()
		if expired(ctx) || stop != nil {
			e := stop
			if e == nil {
				e = &openapi.Error{Code: openapi.CodeTimeout, Msg: "server-side request timed out: not started before the deadline"}
			}
			if api := itemAPI(items[i]); api != "" {
				e = e.WithAPI(api)
			}
			results[i] = e.Result()
			return
		}
		defer func() {
			// One item's panic is that item's -601001, as a single
			// event's would be, never the end of the process.
			if p := recover(); p != nil {
				e := h.panicked(p)
				if api := itemAPI(items[i]); api != "" {
					e = e.WithAPI(api)
				}
				results[i] = e.Result()
			}
		}()
		res, e := h.one(ctx, items[i], env, rec)
		if e != nil {
			if e.Code == openapi.CodeQuotaExhausted {
				mu.Lock()
				quota = &openapi.Error{Code: e.Code, Msg: "reach max api daily quota limit: not sent, an earlier item hit the quota"}
				mu.Unlock()
			}
			res = e.Result()
		}
		results[i] = res
	}
	each(len(items), h.cfg.Concurrency, item)
	size := 64
	for _, r := range results {
		size += len(r) + 1
	}
	if size > openapi.MaxResult {
		return openapi.NewActionError(name, openapi.CodeInternal, "system error: the results are "+strconv.Itoa(size)+
			" bytes, more than the "+strconv.Itoa(openapi.MaxResult)+" a cloud function may return; ask for fewer").Result()
	}
	out := make([]byte, 0, size)
	out = append(out, `{"results":[`...)
	for i, r := range results {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, r...)
	}
	out = append(out, `],"errMsg":"`...)
	out = append(out, name...)
	return append(out, `:ok","errCode":0}`...)
}

// expired reports whether ctx has ended or reached its deadline: the timer
// that ends it may not have fired yet.
func expired(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ctx.Err() != nil || ok && !time.Now().Before(dl)
}

// itemAPI is the API an item names, for its error's errMsg; "" if none.
func itemAPI(item map[string]any) string {
	action, _ := item["action"].(string)
	if m, ok := openapi.Lookup(action); ok {
		return m.API()
	}
	return ""
}

// unknownKey names a key of an event of action other than keys, or "".
func unknownKey(ev map[string]any, action string, keys ...string) string {
	var unknown []string
	for k := range ev {
		if ignored[k] || slices.Contains(keys, k) {
			continue
		}
		unknown = append(unknown, k)
	}
	if len(unknown) == 0 {
		return ""
	}
	sort.Strings(unknown)
	return "unknown parameter " + quote(unknown[0]) + " for " + action + didYouMean(unknown[0], keys)
}

// actionError is a malformed batch or series: errMsg "<action>:fail invalid args: ...".
func actionError(action, msg string) *openapi.Error {
	return openapi.NewActionError(action, openapi.CodeInvalidArgs, "invalid args: "+msg)
}

// each calls do(i) for every i in [0, n), on at most conc goroutines that
// each take the next index until none is left: the fan-out of batch, series
// and sync. do decides for itself whether an item still starts.
func each(n, conc int, do func(i int)) {
	var (
		wg   sync.WaitGroup
		next atomic.Int64
	)
	for range min(max(conc, 1), n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				do(i)
			}
		})
	}
	wg.Wait()
}
