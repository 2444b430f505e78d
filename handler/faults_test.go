package handler_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/handler"
)

// againstEmulator returns a handler whose WeChat is an emulator with faults.
func againstEmulator(t *testing.T, faults string) (*handler.Handler, *httptest.Server) {
	fs, err := emulator.ParseFaults(faults)
	require.NoError(t, err)
	emu := httptest.NewServer(emulator.New(emulator.Config{Faults: fs}))
	t.Cleanup(emu.Close)
	return handler.New(handler.Config{AppID: emulator.DefaultAppID, AppSecret: emulator.DefaultSecret,
		APIBase: emu.URL, Backoff: time.Millisecond}), emu
}

const weeklyEvent = `{"action":"getWeeklyRetain","beginDate":"20170306","endDate":"20170312"}`

// Each fault the emulator can inject, as the function meets it.
func TestEmulatorFaults(t *testing.T) {
	tests := []struct {
		faults string
		code   int
		msg    string // errMsg fragment
	}{
		{"errcode=-1*2", 0, ":ok"}, // a burst shorter than the retries
		{"errcode=-1*5", -1, ":fail system error rid: "},
		{"status=502*2", 0, ":ok"},
		{"status=503", -601001, ":fail wechat server internal error, HTTP 503 Service Unavailable"},
		{"reset*1", 0, ":ok"},
		{"reset", -601003, ":fail system network error: "},
		{"malformed", -601001, ":fail wechat server internal error, response body is invalid json: "},
		{"truncated", -601001, "response body is invalid json"},
		{"text", 0, ":ok"},
		{"errcode=45009*1", 45009, "reach max api daily quota limit"},
		{"expired*1", 0, ":ok"}, // one 42001: a fresh token and one more try
		{"expired", 42001, "access_token expired"},
	}
	for _, tc := range tests {
		t.Run(tc.faults, func(t *testing.T) {
			h, _ := againstEmulator(t, tc.faults)
			res := invoke(t, h, context.Background(), weeklyEvent)
			assert.Equal(t, json.Number(itoa(tc.code)), res["errCode"], "%v", res)
			assert.Contains(t, res["errMsg"], tc.msg)
			if tc.code == 0 {
				assert.Equal(t, "20170306-20170312", res["refDate"])
			}
			assert.NotContains(t, res["errMsg"], "access_token=emu_")
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestEmulatorQuotaAndDeadline(t *testing.T) {
	h, _ := againstEmulator(t, "quota-after=1")
	assert.Equal(t, json.Number("0"), invoke(t, h, context.Background(), weeklyEvent)["errCode"])
	assert.Equal(t, json.Number("45009"), invoke(t, h, context.Background(), weeklyEvent)["errCode"])

	h, _ = againstEmulator(t, "latency=3s")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	res := invoke(t, h, ctx, weeklyEvent)
	assert.Equal(t, json.Number("-601008"), res["errCode"])
	assert.Equal(t, "openapi.analysis.getWeeklyRetain:fail server-side request timed out", res["errMsg"])
	assert.Less(t, time.Since(start), 600*time.Millisecond, "within the deadline")
}

// Tokens invalidated or expired upstream are replaced without the caller noticing.
func TestEmulatorTokenChanges(t *testing.T) {
	h, emu := againstEmulator(t, "")
	ctx := context.Background()
	require.Equal(t, json.Number("0"), invoke(t, h, ctx, weeklyEvent)["errCode"])
	for _, admin := range []string{"/wxemu/rotate", "/wxemu/expire"} {
		resp, err := http.Post(emu.URL+admin, "text/plain", strings.NewReader(""))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, json.Number("0"), invoke(t, h, ctx, weeklyEvent)["errCode"], admin)
	}
}
