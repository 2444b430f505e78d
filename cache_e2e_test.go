package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/internal/redistest"
	"github.com/wxanalysis/wxanalysis/internal/resp"
	"github.com/wxanalysis/wxanalysis/internal/scf"
	"github.com/wxanalysis/wxanalysis/openapi"
)

const trendPath = "/datacube/getweanalysisappiddailyvisittrend"

// wechat is an emulator for one AppID, counting its analysis calls.
func wechat(t *testing.T, cfg emulator.Config) (*emulator.Emulator, []string) {
	e := emulator.New(cfg)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	appid, secret := cfg.AppID, cfg.Secret
	if appid == "" {
		appid, secret = emulator.DefaultAppID, emulator.DefaultSecret
	}
	return e, []string{"WECHAT_APPID=" + appid, "WECHAT_APPSECRET=" + secret, "WECHAT_API_BASE=" + srv.URL}
}

type seriesResult struct {
	Results []json.RawMessage `json:"results"`
	ErrMsg  string            `json:"errMsg"`
	ErrCode int               `json:"errCode"`
}

func series(t *testing.T, p *scf.Process, begin, end time.Time) seriesResult {
	t.Helper()
	out, err := p.Invoke(fmt.Appendf(nil, `{"action":"series","method":"getDailyVisitTrend","beginDate":%q,"endDate":%q}`,
		begin.Format("20060102"), end.Format("20060102")), invocation)
	require.NoError(t, err)
	var r seriesResult
	require.NoError(t, json.Unmarshal(out, &r), "%s", out)
	require.Equal(t, "series:ok", r.ErrMsg, "%s", out)
	return r
}

// TestSeriesAndSharedCache, through the built binary over the SCF protocol:
// a 30-day series equals the 30 single calls; the same series again costs no
// upstream call; a second instance on the same Redis costs none either; Redis
// stopped mid-run fails no invocation; another AppID never shares an entry.
func TestSeriesAndSharedCache(t *testing.T) {
	redis := redistest.Start(t)
	emu, env := wechat(t, emulator.Config{})
	shared := append(env, "CACHE_REDIS_URL="+redis.URL())
	yesterday := openapi.Today(time.Now()).AddDate(0, 0, -1)
	first := yesterday.AddDate(0, 0, -29)

	a := startFunction(t, shared...)
	got := series(t, a, first, yesterday)
	require.Len(t, got.Results, 30)
	assert.Equal(t, 30, emu.Requests(trendPath), "one upstream call a day")

	single := startFunction(t, append(env, "CACHE_MAX_BYTES=0")...) // no cache at all
	for i, r := range got.Results {
		day := first.AddDate(0, 0, i).Format("20060102")
		out, err := single.Invoke(fmt.Appendf(nil, `{"action":"getDailyVisitTrend","beginDate":%q,"endDate":%q}`, day, day), invocation)
		require.NoError(t, err)
		assert.Equal(t, string(out), string(r), "item %d is what the single call for %s answers", i, day)
	}
	assert.Equal(t, 60, emu.Requests(trendPath))

	again := series(t, a, first, yesterday)
	assert.Equal(t, got, again)
	assert.Equal(t, 60, emu.Requests(trendPath), "the same series again: no upstream call")

	b := startFunction(t, shared...)
	assert.Equal(t, got, series(t, b, first, yesterday))
	assert.Equal(t, 60, emu.Requests(trendPath), "a second instance on the same Redis: no upstream call")

	redis.Stop()
	down := series(t, b, first, yesterday)
	for i, r := range down.Results {
		assert.Contains(t, string(r), `"errCode":0`, "item %d: Redis down fails nothing", i)
	}
	assert.Equal(t, 90, emu.Requests(trendPath), "with Redis down, upstream answers")
	redis.Restart()

	other, otherEnv := wechat(t, emulator.Config{AppID: "wx0000000000other", Secret: "other-app-secret-value"})
	c := startFunction(t, append(otherEnv, "CACHE_REDIS_URL="+redis.URL())...)
	series(t, c, first, yesterday)
	assert.Equal(t, 30, other.Requests(trendPath), "another AppID never gets the first one's answers")
}

// TestCacheRules, through the built binary: an answer that may still change
// is fetched again once CACHE_TTL has passed; an error is never cached.
func TestCacheRules(t *testing.T) {
	emu, env := wechat(t, emulator.Config{Faults: mustFaults(t, "errcode=45009*1")})
	p := startFunction(t, append(env, "CACHE_TTL=300ms")...)
	yesterday := openapi.Today(time.Now()).AddDate(0, 0, -1).Format("20060102")
	event := fmt.Appendf(nil, `{"action":"getDailyVisitTrend","beginDate":%q,"endDate":%q}`, yesterday, yesterday)

	out, err := p.Invoke(event, invocation)
	require.NoError(t, err)
	assert.Contains(t, string(out), `"errCode":45009`)
	out, err = p.Invoke(event, invocation)
	require.NoError(t, err)
	assert.Contains(t, string(out), `"errCode":0`, "the error was not cached")
	assert.Equal(t, 2, emu.Requests(trendPath))

	out2, err := p.Invoke(event, invocation)
	require.NoError(t, err)
	assert.Equal(t, string(out), string(out2))
	assert.Equal(t, 2, emu.Requests(trendPath), "yesterday's answer is cached for CACHE_TTL")
	require.Eventually(t, func() bool {
		_, err := p.Invoke(event, invocation)
		return err == nil && emu.Requests(trendPath) == 3
	}, 10*time.Second, 50*time.Millisecond, "yesterday's data may still change: fetched again after CACHE_TTL")
}

func mustFaults(t *testing.T, s string) []emulator.Fault {
	f, err := emulator.ParseFaults(s)
	require.NoError(t, err)
	return f
}

// TestGlitchNeverCached, through the built binary with the in-process cache
// on: a 200 answer that is no answer (text, null, [], a number, a {"result":
// …} wrapper, {}) fails the call with -601001 and is not kept, so the next
// call gets the real answer, which is kept.
func TestGlitchNeverCached(t *testing.T) {
	emu, env := wechat(t, emulator.Config{})
	srv := env[2][len("WECHAT_API_BASE="):]
	p := startFunction(t, env...)
	day := openapi.Today(time.Now()).AddDate(0, 0, -10)
	for i, glitch := range []string{"text", "null", "array", "number", "wrapper", "empty"} {
		t.Run(glitch, func(t *testing.T) {
			d := day.AddDate(0, 0, -i).Format("20060102") // a day of its own: no answer cached yet
			event := fmt.Appendf(nil, `{"action":"getDailyVisitTrend","beginDate":%q,"endDate":%q}`, d, d)
			resp, err := http.Post(srv+"/wxemu/faults", "text/plain", strings.NewReader("glitch="+glitch+"*1"))
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusNoContent, resp.StatusCode)
			before := emu.Requests(trendPath)

			out, err := p.Invoke(event, invocation)
			require.NoError(t, err)
			assert.Contains(t, string(out), `"errCode":-601001`)
			assert.Contains(t, string(out), "the answer is not a getDailyVisitTrend answer")

			good, err := p.Invoke(event, invocation)
			require.NoError(t, err)
			assert.Contains(t, string(good), `"list":[{"refDate":"`+d+`"`, "the real answer, not the glitch")
			assert.Contains(t, string(good), `"errCode":0`)
			again, err := p.Invoke(event, invocation)
			require.NoError(t, err)
			assert.Equal(t, string(good), string(again))
			assert.Equal(t, before+2, emu.Requests(trendPath), "the glitch was not kept; the answer was")
		})
	}
}

// TestJoinerKeepsItsOwnDeadline, through the built binary: an invocation
// with 10 s joins the upstream call of one with 1 s that the upstream leaves
// unanswered; the first fails with -601008 at its deadline, the second does
// not fail with it but gets the answer, fetched again within its own.
func TestJoinerKeepsItsOwnDeadline(t *testing.T) {
	emu, env := wechat(t, emulator.Config{Faults: mustFaults(t, "latency=30s*1")})
	p := startFunction(t, env...)
	day := openapi.Today(time.Now()).AddDate(0, 0, -3).Format("20060102")
	event := fmt.Appendf(nil, `{"action":"getDailyVisitTrend","beginDate":%q,"endDate":%q}`, day, day)

	short := invocation
	short.Timeout = time.Second
	first := make(chan string, 1)
	go func() {
		out, err := p.Invoke(event, short)
		assert.NoError(t, err)
		first <- string(out)
	}()
	require.Eventually(t, func() bool { return emu.Requests(trendPath) == 1 }, 10*time.Second, time.Millisecond,
		"the first invocation's upstream call arrives")
	long := invocation
	long.Timeout = 10 * time.Second
	out, err := p.Invoke(event, long) // joins the call in flight
	require.NoError(t, err)
	assert.Contains(t, string(out), `"errCode":0`, "the joined caller's own deadline holds")
	assert.Contains(t, string(out), `"refDate":"`+day+`"`)
	select {
	case out := <-first:
		assert.Contains(t, out, `"errCode":-601008`, "the first caller's deadline passed")
	case <-time.After(10 * time.Second):
		t.Fatal("the first invocation never answered")
	}
	assert.Equal(t, 2, emu.Requests(trendPath), "fetched again under the second caller's deadline")
}

// TestCorruptRedisEntryNeverServed, through the built binary: an 8 MB
// non-JSON value, or another key's entry, placed under a cache key in Redis
// is never served; the function fetches the answer again and stores it.
func TestCorruptRedisEntryNeverServed(t *testing.T) {
	srv := redistest.Start(t)
	admin := resp.New(resp.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = admin.Close() })
	do := func(args ...any) any {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		v, err := admin.Do(ctx, "", args...)
		require.NoError(t, err)
		return v
	}
	emu, env := wechat(t, emulator.Config{})
	p := startFunction(t, append(env, "CACHE_REDIS_URL="+srv.URL())...)
	days := []string{openapi.Today(time.Now()).AddDate(0, 0, -20).Format("20060102"),
		openapi.Today(time.Now()).AddDate(0, 0, -21).Format("20060102")}
	invoke := func(day string) string {
		t.Helper()
		out, err := p.Invoke(fmt.Appendf(nil, `{"action":"getDailyVisitTrend","beginDate":%q,"endDate":%q}`, day, day), invocation)
		require.NoError(t, err)
		return string(out)
	}
	first := invoke(days[0])
	require.Contains(t, first, `"errCode":0`)
	keys := do("KEYS", "wxa:v2:*").([]any)
	require.Len(t, keys, 1)
	key := string(keys[0].([]byte))
	invoke(days[1])
	require.Equal(t, 2, emu.Requests(trendPath))
	var other []byte
	for _, k := range do("KEYS", "wxa:v2:*").([]any) {
		if string(k.([]byte)) != key {
			other = do("GET", string(k.([]byte))).([]byte)
		}
	}
	require.NotNil(t, other)

	for i, bad := range [][]byte{bytes.Repeat([]byte("x"), 8<<20), other} {
		do("SET", key, bad)
		out := invoke(days[0])
		assert.Equal(t, first, out, "case %d: the real answer, not what was placed", i)
		assert.Less(t, len(out), 10_000)
		assert.Equal(t, 3+i, emu.Requests(trendPath), "case %d: fetched again", i)
	}
	assert.Equal(t, first, invoke(days[0]))
	assert.Equal(t, 4, emu.Requests(trendPath), "stored again: a hit")
}
