package handler_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/handler"
	"github.com/wxanalysis/wxanalysis/openapi"
)

// randomFaults puts a random fault on a share of the analysis requests, and
// fails a share of the token requests itself.
func randomFaults(next http.Handler) http.Handler {
	faults := []string{"errcode=-1", "status=502", "reset", "truncated", "text", "malformed", "latency=20ms"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == stablePath && rand.IntN(100) < 20 {
			switch rand.IntN(3) {
			case 0:
				w.WriteHeader(http.StatusServiceUnavailable)
			case 1:
				w.Write([]byte(`{"errcode":-1,"errmsg":"system error"}`))
			default:
				panic(http.ErrAbortHandler) // the connection is cut
			}
			return
		}
		if r.URL.Path != stablePath && rand.IntN(100) < 10 {
			r.Header.Set("X-Wxemu-Fault", faults[rand.IntN(len(faults))])
		}
		next.ServeHTTP(w, r)
	})
}

// soakEvents are the methods the soak mixes, each with its own dates.
var soakEvents = []struct{ method, event string }{
	{"getWeeklyRetain", weeklyEvent},
	{"getDailyRetain", `{"action":"getDailyRetain","beginDate":"20170313","endDate":"20170313"}`},
	{"getDailySummary", `{"action":"getDailySummary","beginDate":"20170313","endDate":"20170313"}`},
	{"getMonthlyVisitTrend", `{"action":"getMonthlyVisitTrend","beginDate":"20170301","endDate":"20170331"}`},
	{"getVisitPage", `{"action":"getVisitPage","beginDate":"20170313","endDate":"20170313"}`},
}

// TestSoak sends 20 000 invocations of five methods at concurrency 64
// through the handler to the emulator, with random faults on the analysis and
// the token endpoints and a token rotated every half second; the cache is off,
// so that every invocation goes upstream.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak")
	}
	const (
		total       = 20000
		concurrency = 64
	)
	ev := fileEvidence(t) // every log line, kept out of the heap being measured
	emu := emulator.New(emulator.Config{Secret: matrixSecret, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(randomFaults(emu))
	defer srv.Close()
	h := handler.New(handler.Config{AppID: emulator.DefaultAppID, AppSecret: matrixSecret, APIBase: srv.URL,
		Backoff: time.Millisecond, CacheMaxBytes: -1, Logger: slog.New(slog.NewJSONHandler(ev, nil))})

	stop := make(chan struct{})
	var rotations atomic.Int64
	var rotator sync.WaitGroup
	rotator.Go(func() {
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				resp, err := http.Post(srv.URL+"/wxemu/rotate", "text/plain", nil)
				if err == nil {
					resp.Body.Close()
					rotations.Add(1)
				}
			}
		}
	})

	var (
		next    atomic.Int64
		codes   sync.Map // errCode → count
		heapMu  sync.Mutex
		heap    [2]uint64 // the least heap in use seen after a collection, in the first and the last quarter
		workers sync.WaitGroup
	)
	// Three samples a quarter; the least is what stays retained, where a leak shows.
	samples := map[int64]int{total / 8: 0, total * 3 / 16: 0, total / 4: 0, total * 3 / 4: 1, total * 13 / 16: 1, total * 7 / 8: 1}
	sample := func(i int) {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		heapMu.Lock()
		if heap[i] == 0 || m.HeapInuse < heap[i] {
			heap[i] = m.HeapInuse
		}
		heapMu.Unlock()
	}
	start := time.Now()
	for range concurrency {
		workers.Go(func() {
			for {
				n := next.Add(1)
				if n > total {
					return
				}
				if q, ok := samples[n]; ok {
					sample(q)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				call := soakEvents[n%int64(len(soakEvents))]
				out, err := h.Invoke(ctx, []byte(call.event))
				cancel()
				if !assert.NoError(t, err) {
					return
				}
				var res struct {
					ErrCode *int
					ErrMsg  *string
				}
				if !assert.NoError(t, json.Unmarshal(out, &res), "%s", out) || !assert.NotNil(t, res.ErrCode, "%s", out) ||
					!assert.NotNil(t, res.ErrMsg, "%s", out) {
					return
				}
				assert.True(t, strings.HasPrefix(*res.ErrMsg, "openapi.analysis."+call.method+":"),
					"the result names its own method: %s", *res.ErrMsg)
				c, _ := codes.LoadOrStore(*res.ErrCode, new(atomic.Int64))
				c.(*atomic.Int64).Add(1)
				ev.Write(append(out, '\n'))
			}
		})
	}
	workers.Wait()
	close(stop)
	rotator.Wait()
	elapsed := time.Since(start)

	summary := map[int]int64{}
	codes.Range(func(k, v any) bool { summary[k.(int)] = v.(*atomic.Int64).Load(); return true })
	t.Logf("%d invocations in %s, %d token rotations, %d token fetches, errCodes %v, heap in use %d → %d KiB",
		total, elapsed.Round(time.Millisecond), rotations.Load(), emu.Requests(stablePath), summary, heap[0]>>10, heap[1]>>10)
	var sum int64
	for code, n := range summary {
		sum += n
		// 40001: a token rotated away, and its refresh met a token-endpoint fault.
		assert.Contains(t, []int{0, openapi.CodeSystemError, openapi.CodeInternal, openapi.CodeNetwork, openapi.CodeInvalidCred}, code,
			"an errCode no injected fault explains")
	}
	assert.EqualValues(t, total, sum)
	assert.Greater(t, summary[0], int64(total*8/10), "most invocations succeed")
	assert.LessOrEqual(t, int64(emu.Requests(stablePath)), 1+2*rotations.Load(), "token fetches bounded by rotations")
	// No store: identical calls in flight at once still share one request.
	assert.Greater(t, emu.Requests(weeklyPath), 50, "the cache is off: invocations went upstream")
	assert.Less(t, heap[1], heap[0]+heap[0]/2+4<<20, "heap in use flat from the first to the last quarter")
	ev.assertNoSecrets(t)
}
