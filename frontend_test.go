package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/cache"
	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/openapi"
)

// The front end's tests (miniprogram/) run under `go test ./...` when Node is
// present, and must run under CI=true.

// needNode returns the path of node, skipping the test without it, or
// failing it under CI=true.
func needNode(t *testing.T, modules bool) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil && modules {
		_, err = os.Stat(filepath.Join("miniprogram", "node_modules", "typescript", "package.json"))
		if err != nil {
			err = errors.New("miniprogram/node_modules is not installed: run `npm ci` in miniprogram/")
		}
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the front end's tests must run under CI: %v", err)
		}
		t.Skipf("front-end tests need Node: %v", err)
	}
	return node
}

// runNode runs node with args in miniprogram/, bounded in time, and returns
// its standard output.
func runNode(t *testing.T, node string, stdin []byte, env []string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = "miniprogram"
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, err, "node %v:\n%s\n%s", args, stdout.String(), stderr.String())
	return stdout.Bytes()
}

type dateRange struct{ BeginDate, EndDate string }

type dateAnswers struct {
	Zone     string
	Offset   int
	Instants []struct {
		Now                             int64
		Today                           string
		Yesterday, Last1, Last7, Last30 dateRange
		LastWeek, LastMonth             dateRange
		RetainedWeek, RetainedMonth     dateRange
		FinalAt                         map[string]*int64
	}
	Days []struct {
		Day     string
		Ms      *int64
		ErrCode int
		ErrMsg  string
	}
}

// instants are the moments the date helpers are checked at: every day of
// 2023-12 to 2025-03 (a leap day, month and year ends, 69 week boundaries)
// just before, at and after 00:00 CST and at noon; the ends of February in
// 1900, 2000, 2096 and 2100; and random moments from 1970 to 2100.
func instants() []int64 {
	var out []int64
	at := func(day time.Time) {
		for _, d := range []time.Duration{-time.Millisecond, 0, time.Millisecond, 12 * time.Hour} {
			out = append(out, day.Add(d).UnixMilli())
		}
	}
	for d := time.Date(2023, 12, 1, 0, 0, 0, 0, openapi.CST); d.Before(time.Date(2025, 4, 1, 0, 0, 0, 0, openapi.CST)); d = d.AddDate(0, 0, 1) {
		at(d)
	}
	for _, y := range []int{1900, 2000, 2096, 2100} {
		for d := time.Date(y, 2, 26, 0, 0, 0, 0, openapi.CST); d.Month() != 4; d = d.AddDate(0, 0, 1) {
			at(d)
		}
	}
	rnd := rand.New(rand.NewPCG(19, 2024))
	lo, hi := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for range 1500 {
		out = append(out, lo+rnd.Int64N(hi-lo))
	}
	return out
}

// days are yyyymmdd strings for parse: calendar dates and not.
func days() []string {
	out := []string{"20240229", "20230229", "21000229", "20000229", "19000229", "20241231", "20241232", "20240431",
		"20240001", "20241301", "20240100", "00010101", "99991231", "2024-1-1", "2024011", "202401011", "2024O101", ""}
	for d := time.Date(2023, 12, 25, 0, 0, 0, 0, openapi.CST); d.Year() < 2025; d = d.AddDate(0, 0, 3) {
		out = append(out, d.Format(openapi.DateLayout))
	}
	return out
}

// check applies the date rule of method's parameters to r at now, as the
// function does, and returns the error code, 0 if none.
func check(t *testing.T, method string, r dateRange, now time.Time) int {
	t.Helper()
	m, ok := openapi.Lookup(method)
	require.True(t, ok)
	p := m.Params()
	b, err := json.Marshal(map[string]string{"beginDate": r.BeginDate, "endDate": r.EndDate})
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, p))
	var e *openapi.Error
	if err := p.Check(now); errors.As(err, &e) {
		return e.Code
	} else if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return 0
}

func shift(t *testing.T, r dateRange, days, months int) dateRange {
	t.Helper()
	b, err := time.ParseInLocation(openapi.DateLayout, r.BeginDate, openapi.CST)
	require.NoError(t, err)
	e, err := time.ParseInLocation(openapi.DateLayout, r.EndDate, openapi.CST)
	require.NoError(t, err)
	b = b.AddDate(0, months, days)
	if months != 0 { // the last day of the month months after
		e = time.Date(b.Year(), b.Month()+1, 0, 0, 0, 0, 0, openapi.CST)
	} else {
		e = e.AddDate(0, 0, days)
	}
	return dateRange{b.Format(openapi.DateLayout), e.Format(openapi.DateLayout)}
}

// TestDateHelpersFollowTheFunctionsRules runs miniprogram/analysis.js's
// dates in several time zones at the same moments and checks each answer
// with the function's own code: the method's Check accepts it and refuses
// the next period, cache.IsFinal agrees on the retained periods, and finalAt
// is cache.FinalAt.
func TestDateHelpersFollowTheFunctionsRules(t *testing.T) {
	node := needNode(t, false)
	in, err := json.Marshal(map[string]any{"instants": instants(), "days": days()})
	require.NoError(t, err)

	var first []byte
	// Each zone with getTimezoneOffset() on 2024-01-15, which proves node ran in it.
	for _, zone := range []struct {
		name   string
		offset int
	}{{"Asia/Shanghai", -480}, {"UTC", 0}, {"America/Los_Angeles", 480}, {"America/St_Johns", 210}, {"Pacific/Kiritimati", -840},
		{"Pacific/Pago_Pago", 660}, {"Australia/Lord_Howe", -660}, {"Asia/Kathmandu", -345}} {
		out := runNode(t, node, in, []string{"TZ=" + zone.name}, "test/dates-answers.js")
		var got dateAnswers
		require.NoError(t, json.Unmarshal(out, &got))
		require.Equal(t, zone.offset, got.Offset, "node runs in %s", zone.name)
		if first == nil {
			first = out
			checkDateAnswers(t, &got)
			continue
		}
		var want dateAnswers
		require.NoError(t, json.Unmarshal(first, &want))
		want.Zone, want.Offset = got.Zone, got.Offset
		require.Equal(t, want, got, "the same answers in %s as in Asia/Shanghai", zone.name)
	}
}

func checkDateAnswers(t *testing.T, got *dateAnswers) {
	require.Len(t, got.Instants, len(instants()))
	for _, a := range got.Instants {
		now := time.UnixMilli(a.Now)
		today := openapi.Today(now)
		yesterday := today.AddDate(0, 0, -1).Format(openapi.DateLayout)
		ok := assert.Equal(t, today.Format(openapi.DateLayout), a.Today, "format") &&
			assert.Equal(t, dateRange{yesterday, yesterday}, a.Yesterday) &&
			assert.Zero(t, check(t, "getDailyVisitTrend", a.Yesterday, now), "yesterday") &&
			assert.Equal(t, openapi.CodeDateRange, check(t, "getDailyVisitTrend", shift(t, a.Yesterday, 1, 0), now), "the day after yesterday") &&
			assert.Equal(t, a.Last1, a.Yesterday) &&
			assert.Zero(t, check(t, "getUserPortrait", a.Last1, now), "last 1 day") &&
			assert.Zero(t, check(t, "getUserPortrait", a.Last7, now), "last 7 days") &&
			assert.Zero(t, check(t, "getUserPortrait", a.Last30, now), "last 30 days") &&
			assert.Equal(t, yesterday, a.Last30.EndDate) &&
			assert.Zero(t, check(t, "getWeeklyVisitTrend", a.LastWeek, now), "last week") &&
			assert.Equal(t, openapi.CodeDateRange, check(t, "getWeeklyVisitTrend", shift(t, a.LastWeek, 7, 0), now), "the week after last week") &&
			assert.Zero(t, check(t, "getMonthlyVisitTrend", a.LastMonth, now), "last month") &&
			assert.Equal(t, openapi.CodeDateRange, check(t, "getMonthlyVisitTrend", shift(t, a.LastMonth, 0, 1), now), "the month after last month") &&
			assert.Zero(t, check(t, "getWeeklyRetain", a.RetainedWeek, now), "retained week") &&
			assert.True(t, cache.IsFinal("getWeeklyRetain", a.RetainedWeek.BeginDate, a.RetainedWeek.EndDate, now), "retained week final") &&
			assert.False(t, cache.IsFinal("getWeeklyRetain", shift(t, a.RetainedWeek, 7, 0).BeginDate, shift(t, a.RetainedWeek, 7, 0).EndDate, now), "the week after the retained week is not final") &&
			assert.Zero(t, check(t, "getMonthlyRetain", a.RetainedMonth, now), "retained month") &&
			assert.True(t, cache.IsFinal("getMonthlyRetain", a.RetainedMonth.BeginDate, a.RetainedMonth.EndDate, now), "retained month final") &&
			assert.False(t, cache.IsFinal("getMonthlyRetain", shift(t, a.RetainedMonth, 0, 1).BeginDate, shift(t, a.RetainedMonth, 0, 1).EndDate, now), "the month after the retained month is not final")
		for _, name := range openapi.Names() {
			at, final := cache.FinalAt(name, yesterday, yesterday)
			if final {
				ok = ok && assert.NotNil(t, a.FinalAt[name], name) && assert.Equal(t, at.UnixMilli(), *a.FinalAt[name], "finalAt %s", name)
			} else {
				ok = ok && assert.Nil(t, a.FinalAt[name], "%s is never final", name)
			}
		}
		if !ok {
			t.Fatalf("at %s (%d ms) the helpers answered %+v", now.In(openapi.CST), a.Now, a)
		}
	}
	require.Len(t, got.Days, len(days()))
	for _, d := range got.Days {
		code := check(t, "getDailyVisitTrend", dateRange{d.Day, d.Day}, time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC).AddDate(1, 0, 0))
		if code == openapi.CodeDateFormat {
			assert.Equal(t, openapi.CodeDateFormat, d.ErrCode, "parse(%q): %s", d.Day, d.ErrMsg)
			assert.Nil(t, d.Ms, "parse(%q)", d.Day)
			continue
		}
		require.Zero(t, code, d.Day)
		want, err := time.ParseInLocation(openapi.DateLayout, d.Day, openapi.CST)
		require.NoError(t, err)
		if assert.NotNil(t, d.Ms, "parse(%q): %s", d.Day, d.ErrMsg) {
			assert.Equal(t, want.UnixMilli(), *d.Ms, "parse(%q)", d.Day)
		}
	}
}

// TestFrontEnd runs miniprogram/'s Node tests (node --test): the client
// against this binary serving HTTP on loopback over the emulator, through a
// wx stand-in; the dashboard component under miniprogram-simulate; tsc
// --strict on a sample page and on the binary's answers; the npm package.
func TestFrontEnd(t *testing.T) {
	node := needNode(t, true)
	emu := httptest.NewServer(emulator.New(emulator.Config{}))
	defer emu.Close()
	f := startHTTP(t, "WECHAT_APPID="+emulator.DefaultAppID, "WECHAT_APPSECRET="+emulator.DefaultSecret,
		"WECHAT_API_BASE="+emu.URL, "HTTP_API_KEYS="+apiKey)
	files, err := filepath.Glob("miniprogram/test/*.test.js")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	args := []string{"--test", "--test-reporter=spec"}
	for _, f := range files {
		args = append(args, filepath.Join("test", filepath.Base(f)))
	}
	out := runNode(t, node, nil, []string{"ANALYSIS_URL=" + f.url, "ANALYSIS_KEY=" + apiKey, "CI=true"}, args...)
	t.Logf("%s", out)
}
