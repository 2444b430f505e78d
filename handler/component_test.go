package handler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/handler"
	"github.com/wxanalysis/wxanalysis/internal/redistest"
	"github.com/wxanalysis/wxanalysis/openapi"
)

// fakeClock is a clock that moves only when told: a test's calendar
// (Config.Now) or the wall clock deadlines are read against (withWall).
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// componentConfig is a third-party platform's function against emu's open
// platform at base, on clock now.
func componentConfig(emu *emulator.Emulator, base string, now func() time.Time) handler.Config {
	p := emu.Platform()
	return handler.Config{TokenMode: handler.ModeComponent, ComponentAppID: p.AppID, ComponentSecret: p.Secret,
		ComponentToken: p.Token, ComponentAESKey: p.AESKey, APIBase: base, Backoff: time.Millisecond, Now: now,
		Logger: slog.New(slog.DiscardHandler)}
}

// push sends push to h's authorization-event URL and returns what h
// answers: "success", or the reason of its refusal.
func push(t *testing.T, h *handler.Handler, p emulator.TicketPush) string {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	status, body, err := p.Send(context.Background(), srv.Client(), srv.URL+handler.ComponentPushPath)
	require.NoError(t, err)
	if status == http.StatusOK {
		return body
	}
	assert.Equal(t, http.StatusBadRequest, status, body)
	return strings.TrimSpace(strings.TrimPrefix(body, "refused: "))
}

// TestComponentPushWindow (README, 第三方调用: a push's "timestamp within 5
// minutes of the function's clock; a push seen before (same
// msg_signature, remembered 10 minutes by every instance sharing the
// store) is refused"): one push, made at T, delivered when the function's
// clock says otherwise. Its timestamp is accepted from T-5m to T+5m, 10
// minutes end to end, and its msg_signature is remembered for all of them:
// delivered at T-5m, then again at T+5m, the second is a replay, in this
// instance (the memory store) and in another sharing the database.
func TestComponentPushWindow(t *testing.T) {
	at := time.Date(2024, 6, 15, 12, 0, 0, 0, openapi.CST)
	emu := emulator.New(emulator.Config{Now: func() time.Time { return at }, Component: &emulator.Component{},
		Logger: slog.New(slog.DiscardHandler)})
	wechat := httptest.NewServer(emu)
	t.Cleanup(wechat.Close)
	type delivery struct {
		to   int           // which instance: 0, or 1 (another sharing the store)
		skew time.Duration // the function's clock less the push's timestamp
		want string        // "success" or the reason of the refusal
	}
	for _, tc := range []struct {
		name   string
		shared bool // the instances share a database; else each has its memory
		sends  []delivery
	}{
		{"5 minutes early: accepted", false, []delivery{{0, -5 * time.Minute, "success"}}},
		{"5 minutes late: accepted", false, []delivery{{0, 5 * time.Minute, "success"}}},
		{"a second earlier: refused", false, []delivery{{0, -5*time.Minute - time.Second, "timestamp"}}},
		{"a second later: refused", false, []delivery{{0, 5*time.Minute + time.Second, "timestamp"}}},
		{"again at once: a replay", false, []delivery{{0, 0, "success"}, {0, 0, "replay"}}},
		{"again 10 minutes later, its timestamp still accepted: a replay", false,
			[]delivery{{0, -5 * time.Minute, "success"}, {0, 5 * time.Minute, "replay"}}},
		{"again 10 minutes later to another instance on the database: a replay", true,
			[]delivery{{0, -5 * time.Minute, "success"}, {1, 5 * time.Minute, "replay"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := emu.NewTicketPush("")
			require.NoError(t, err)
			clock := newFakeClock(at)
			db := "sqlite:" + filepath.Join(t.TempDir(), "w.db")
			var instances [2]*handler.Handler
			for i := range instances {
				cfg := componentConfig(emu, wechat.URL, clock.now)
				if tc.shared {
					cfg.DatabaseURL = db
				}
				instances[i] = handler.New(cfg)
				require.NoError(t, instances[i].Err())
			}
			for i, d := range tc.sends {
				clock.set(at.Add(d.skew))
				assert.Equal(t, d.want, push(t, instances[d.to], p), "delivery %d, %v from its timestamp", i+1, d.skew)
			}
		})
	}
}

// forceCount counts, in a handler's JSON log, the token refreshes of app's
// authorizer_access_token that were force refreshes.
func forceCount(t *testing.T, logs *evidence, app string) int {
	t.Helper()
	n := 0
	for _, line := range strings.Split(logs.text(t), "\n") {
		if line == "" {
			continue
		}
		var l struct {
			Msg        string
			Authorizer string
			Forced     bool
		}
		require.NoError(t, json.Unmarshal([]byte(line), &l), line)
		if l.Msg == "token refresh" && l.Authorizer == app && l.Forced {
			n++
		}
	}
	return n
}

// TestComponentForceBudgetPerAuthorizer (README, 第三方调用: "The cache
// key, the log line and the force-refresh budget are per authorizer"):
// WeChat counts force refreshes per AppID, and so does the function. Every
// token of two authorizers is refused (40001). One authorizer spends its
// whole day's budget, 10 force refreshes, with the intervals between them
// passed on the clock, and then gets none; the other still gets its own
// first force refresh at once. With Redis the budgets are shared by every
// instance, still one per authorizer: one authorizer waiting out its
// interval does not hold up the other's force refresh.
func TestComponentForceBudgetPerAuthorizer(t *testing.T) {
	start := time.Date(2024, 6, 15, 0, 10, 0, 0, openapi.CST) // ten hours of forces stay within the day
	for _, tc := range []struct {
		name     string
		redis    bool
		spendAll bool // spend the first authorizer's day (the clock moves past each interval); else one force
	}{
		{"in the instance", false, true},
		{"on Redis", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock(start)
			auths := emulator.DefaultAuthorizers()
			a, b := auths[0].AppID, auths[1].AppID
			emu := emulator.New(emulator.Config{Now: clock.now, Logger: slog.New(slog.DiscardHandler),
				Component: &emulator.Component{Authorizers: auths},
				Faults:    []emulator.Fault{{Kind: emulator.Errcode, N: 40001, AppID: a}, {Kind: emulator.Errcode, N: 40001, AppID: b}}})
			wechat := httptest.NewServer(emu)
			t.Cleanup(wechat.Close)
			logs := &evidence{}
			cfg := componentConfig(emu, wechat.URL, clock.now)
			cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
			if tc.redis {
				cfg.CacheRedisURL = redistest.Start(t).URL()
			}
			h := handler.New(cfg)
			require.NoError(t, h.Err())
			ticket, err := emu.NewTicketPush("")
			require.NoError(t, err)
			require.Equal(t, "success", push(t, h, ticket))
			call := func(app string) map[string]any {
				day := openapi.Today(clock.now()).AddDate(0, 0, -3).Format(openapi.DateLayout)
				return invoke(t, h, context.Background(), fmt.Sprintf(
					`{"action":"getDailyVisitTrend","authorizerAppid":%q,"beginDate":%q,"endDate":%q}`, app, day, day))
			}

			res := call(a)
			assert.Equal(t, json.Number("40001"), res["errCode"], "%v", res)
			require.Equal(t, 1, forceCount(t, logs, a), "the first refusal: a force refresh at once")
			call(a)
			res = call(a)
			assert.Contains(t, res["errMsg"], "no force refresh is allowed before", "then the interval: %v", res)
			assert.Equal(t, 1, forceCount(t, logs, a), "no other force in the interval")
			if tc.spendAll {
				for i := 2; i <= openapi.DefaultForcesPerDay; i++ {
					clock.advance(openapi.MaxForceInterval + time.Second)
					call(a)
					require.Equal(t, i, forceCount(t, logs, a), "force %d, its interval passed", i)
				}
				clock.advance(openapi.MaxForceInterval + time.Second)
				call(a)
				res = call(a)
				assert.Contains(t, res["errMsg"], "no force refresh is allowed before 00:00:00", "the day's 10 are spent: %v", res)
				assert.Equal(t, openapi.DefaultForcesPerDay, forceCount(t, logs, a))
			}

			res = call(b)
			assert.Equal(t, json.Number("40001"), res["errCode"], "%v", res)
			assert.Equal(t, 1, forceCount(t, logs, b), "the other authorizer's budget is its own: %v", res)
			assert.NotContains(t, logs.text(t), "emu_", "no token in the log")
			assert.NotContains(t, logs.text(t), emu.Platform().Secret)
		})
	}
}
