package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/openapi"
)

func TestLastWeekEvent(t *testing.T) {
	tests := []struct{ now, monday, sunday string }{
		{"2026-11-24 10:00", "20261116", "20261122"}, // Tuesday
		{"2026-11-23 00:00", "20261116", "20261122"}, // Monday: last week just ended
		{"2026-11-22 23:59", "20261109", "20261115"}, // Sunday: this week is not over
		{"2026-11-29 12:00", "20261116", "20261122"}, // the next Sunday
	}
	for _, tc := range tests {
		now, err := time.ParseInLocation("2006-01-02 15:04", tc.now, openapi.CST)
		require.NoError(t, err)
		ev, err := readEvent("", 0, now.UTC()) // the machine's zone must not matter
		require.NoError(t, err)
		assert.JSONEq(t, `{"action":"getWeeklyRetain","beginDate":"`+tc.monday+`","endDate":"`+tc.sunday+`"}`, string(ev), tc.now)
	}
}

// TestEmulatorOnlyWithoutSettings: the emulator stands in only when no
// WECHAT_* setting is present; a partial or wrong one is passed through.
func TestEmulatorOnlyWithoutSettings(t *testing.T) {
	for _, tc := range []struct {
		environ []string
		calls   string
	}{
		{[]string{"WECHAT_APPID=wx1"}, "calls WeChat (https://api.weixin.qq.com)"},
		{[]string{"WECHAT_TOKEN_MODE=bogus"}, "calls WeChat (https://api.weixin.qq.com)"},
		// Issue 16, item 18: pointed at an emulator, it does not claim to call WeChat.
		{[]string{"WECHAT_API_BASE=http://user:pw@127.0.0.1:1/x"}, "calls WECHAT_API_BASE (http://127.0.0.1:1)"},
	} {
		var stderr bytes.Buffer
		env, _, emu, err := setup(options{}, append([]string{"PATH=/bin"}, tc.environ...), &stderr)
		require.NoError(t, err)
		assert.Nil(t, emu, "%v: no emulator", tc.environ)
		assert.Equal(t, append([]string{"PATH=/bin"}, tc.environ...), env, "the user's settings, untouched")
		assert.Contains(t, stderr.String(), "the function gets your settings unchanged and "+tc.calls)
		assert.NotContains(t, stderr.String(), "pw", "never the URL's credentials")
	}
	env, _, emu, err := setup(options{}, []string{"PATH=/bin", "WECHAT_APPID="}, new(bytes.Buffer))
	require.NoError(t, err)
	require.NotNil(t, emu, "empty settings are no settings")
	emu.close()
	assert.Contains(t, env, "WECHAT_TOKEN_MODE=stable")

	_, _, _, err = setup(options{mode: "cloud"}, []string{"WECHAT_APPID=wx1"}, new(bytes.Buffer))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unset WECHAT_APPID")
}

func TestUsageDescribes(t *testing.T) {
	var stderr bytes.Buffer
	code, _ := run([]string{"-h"}, new(bytes.Buffer), &stderr)
	assert.Equal(t, 2, code)
	for _, want := range []string{"runs the wxanalysis function binary as Tencent SCF does", "emulator", "WECHAT_*", "-mode"} {
		assert.True(t, strings.Contains(stderr.String(), want), "usage mentions %q:\n%s", want, stderr.String())
	}
}

func TestRetainedWeekHasFourWeeksOfRetention(t *testing.T) {
	now, err := time.ParseInLocation("2006-01-02 15:04", "2026-11-24 10:00", openapi.CST)
	require.NoError(t, err)
	ev, err := readEvent("", 4, now)
	require.NoError(t, err)
	assert.JSONEq(t, `{"action":"getWeeklyRetain","beginDate":"20261019","endDate":"20261025"}`, string(ev))
}

func TestRetentionTable(t *testing.T) {
	var out bytes.Buffer
	printTable(&out, "20261116-20261122", []keyValue{{0, 1000}, {1, 250}, {2, 120}}, []keyValue{{0, 5000}, {1, 2100}, {2, 1500}})
	s := out.String()
	assert.Contains(t, s, "1 week later")
	assert.Contains(t, s, "2 weeks later")
	assert.Contains(t, s, "25.0%")
	assert.Contains(t, s, "1000 new users that week; 25.0% came back a week later.")
}
