package handler_test

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/handler"
)

// withWall has a handler read contexts' deadlines against c rather than
// the wall clock (handler.WithDeadlineClock).
func withWall(c *fakeClock) func(*handler.Config) {
	return func(cfg *handler.Config) { *cfg = handler.WithDeadlineClock(*cfg, c.now) }
}

// TestSyncReserve (README, "What a sync does": "it starts no period in the
// last fifth of the time left (at most 2 s)"): with one period at a time,
// each taking a second of the deadline's clock, a sync starts periods while
// more than its reserve is left, a fifth of the time left at its start
// capped at 2 s, and then none: the rest are remaining, and the answer says
// "deadline". The invocation's real deadline is an hour away; only the
// injected clock moves.
func TestSyncReserve(t *testing.T) {
	for _, tc := range []struct {
		name    string
		left    time.Duration // at the sync's start; 0: no deadline
		started int
	}{
		{"10 s left: the reserve is 2 s", 10 * time.Second, 8},
		{"5 s left: a fifth, 1 s", 5 * time.Second, 4},
		{"30 s left: a fifth would be 6 s, capped at 2 s", 30 * time.Second, 28},
		{"1 s left: a fifth, 200 ms", time.Second, 1},
		{"no deadline: every period", 0, syncJobs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newSyncRig(t, emulator.Config{})
			wall := &fakeClock{}
			next := r.srv.Config.Handler
			r.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if strings.HasPrefix(req.URL.Path, "/datacube/") {
					wall.advance(time.Second) // each period takes a second
				}
				next.ServeHTTP(w, req)
			})
			h := r.handler(func(c *handler.Config) { c.Concurrency = 1; withWall(wall)(c) })
			ctx := context.Background()
			if tc.left > 0 {
				deadline := time.Now().Add(time.Hour)
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, deadline)
				defer cancel()
				wall.set(deadline.Add(-handler.DeadlineMargin - tc.left)) // the sync's deadline is the invocation's less the margin
			}
			res := runSync(t, h, ctx, `{"action":"sync"}`)
			require.Equal(t, 0, res.ErrCode, "%+v", res)
			assert.Equal(t, tc.started, res.Fetched, "%+v", res)
			assert.Equal(t, int64(tc.started), r.calls.Load())
			assert.Equal(t, tc.started, res.Stored)
			assert.Equal(t, syncJobs-tc.started, res.Remaining, "the rest are left for the next run")
			if tc.started < syncJobs {
				assert.Equal(t, "deadline", res.Stopped)
			} else {
				assert.Empty(t, res.Stopped)
			}
		})
	}
}

// TestSyncClaimsOfADeadRunLapse (README, Faults: "claims of a run that died
// lapse a minute after its deadline"): a sync with 10 minutes left stops
// answering mid-period, as if its instance had died, holding the period it
// claimed. Its claim and its wxa_sync_run row expire at its deadline plus a
// minute, in the store's clock: another instance's sync a millisecond
// before leaves the period alone, and one at that moment takes it over and
// stores it. The store's clock (Config.Now) and the deadline's are both
// injected: nothing waits for time to pass.
func TestSyncClaimsOfADeadRunLapse(t *testing.T) {
	r := newSyncRig(t, emulator.Config{})
	entered, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	next := r.srv.Config.Handler
	r.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/datacube/") && first.CompareAndSwap(false, true) {
			close(entered)
			select { // the dead run's period: no answer
			case <-release:
			case <-req.Context().Done():
			}
			return
		}
		next.ServeHTTP(w, req)
	})
	var releaseOnce atomic.Bool
	unblock := func() {
		if releaseOnce.CompareAndSwap(false, true) {
			close(release)
		}
	}
	t.Cleanup(unblock)

	const left = 10 * time.Minute
	wall := &fakeClock{}
	deadline := time.Now().Add(time.Hour)
	wall.set(deadline.Add(-handler.DeadlineMargin - left))
	dead := r.handler(func(c *handler.Config) { c.Concurrency = 1; withWall(wall)(c) })
	ctx, kill := context.WithDeadline(context.Background(), deadline)
	defer kill()
	deadDone := make(chan []byte, 1)
	go func() {
		out, _ := dead.Invoke(ctx, []byte(`{"action":"sync"}`))
		deadDone <- out
	}()
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the first sync did not start a period")
	}

	// What the dead run holds, and until when: its deadline plus a minute.
	expiry := syncNow.Add(left + time.Minute)
	db, err := sql.Open("sqlite", strings.TrimPrefix(r.db, "sqlite:"))
	require.NoError(t, err)
	defer db.Close()
	var (
		method, begin, end string
		claimExpiry, runs  int64
	)
	require.NoError(t, db.QueryRow("SELECT method, begin_date, end_date, expires_ms FROM wxa_sync_claim WHERE expires_ms > 0").
		Scan(&method, &begin, &end, &claimExpiry))
	assert.Equal(t, expiry.UnixMilli(), claimExpiry, "the claim lapses a minute after the deadline")
	require.NoError(t, db.QueryRow("SELECT expires_ms FROM wxa_sync_run").Scan(&runs))
	assert.Equal(t, expiry.UnixMilli(), runs, "so does the run's record")
	held := func() int {
		var n int
		require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM wxa_raw_answer WHERE method = ? AND begin_date = ? AND end_date = ?",
			method, begin, end).Scan(&n))
		return n
	}

	other := r.handler(nil) // another instance: its own owner
	r.clock.Store(expiry.Add(-time.Millisecond).UnixNano())
	before := runSync(t, other, context.Background(), `{"action":"sync"}`)
	assert.Equal(t, 1, before.Remaining, "a millisecond before its expiry the claim still holds: %+v", before)
	assert.Equal(t, syncJobs-1, before.Stored)
	assert.Zero(t, held(), "%s %s-%s is left to the dead run", method, begin, end)

	r.clock.Store(expiry.UnixNano())
	at := runSync(t, other, context.Background(), `{"action":"sync"}`)
	assert.Zero(t, at.Remaining, "at its expiry it has lapsed: %+v", at)
	assert.Equal(t, 1, held(), "%s %s-%s is taken over and stored", method, begin, end)

	kill()
	unblock()
	select {
	case <-deadDone:
	case <-time.After(30 * time.Second):
		t.Fatal("the stuck sync did not end once cancelled")
	}
}
