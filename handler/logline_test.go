package handler

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tencentyun/scf-go-lib/functioncontext"

	"github.com/wxanalysis/wxanalysis/cache"
	"github.com/wxanalysis/wxanalysis/openapi"
)

// stamped gives every record the time t, so that slog's line can be compared
// byte for byte.
type stamped struct {
	slog.Handler
	t time.Time
}

func (s stamped) Handle(ctx context.Context, r slog.Record) error {
	r.Time = s.t
	return s.Handler.Handle(ctx, r)
}

// TestLogLineAsSlog: the hand-appended invocation line is the line slog's
// JSON handler writes for the same invocation, byte for byte, redaction
// included.
func TestLogLineAsSlog(t *testing.T) {
	scf := functioncontext.NewContext(context.Background(), &functioncontext.FunctionContext{RequestID: "req-\"1\"\n"})
	var allBytes strings.Builder
	for c := range 256 {
		allBytes.WriteByte(byte(c))
	}
	cfgErr := &SettingError{Setting: "LOG_LEVEL", Rule: "must be debug, info, warn or error"}
	tests := []struct {
		name    string
		ctx     context.Context
		rec     *record
		err     error // the handler's configuration error
		latency time.Duration
	}{
		{name: "success under SCF", ctx: scf, latency: 1234567 * time.Nanosecond,
			rec: &record{caller: KindOwner, action: "getWeeklyRetain", cache: cache.Miss, stats: openapi.CallStats{Attempts: 1}}},
		{name: "no request id, zero latency", ctx: context.Background(), rec: &record{caller: KindOwner, action: "batch", items: 3}},
		{name: "an authorizer's call", ctx: context.Background(),
			rec: &record{caller: KindOwner, action: "getWeeklyRetain", whose: "wx1234567890abcdef,wxfedcba0987654321", cache: cache.Hit}},
		{name: "HTTP request id and status", ctx: context.Background(), latency: 5 * time.Second,
			rec: &record{requestID: "r-1", caller: KindHTTP, action: "getDailySummary", status: 401, code: -601006, reason: "unauthorized"}},
		{name: "refusal names the caller in both forms", ctx: scf, latency: time.Microsecond,
			rec: &record{caller: KindMiniProgram, id: `o"penid`, action: "getWeeklyRetain", code: -604101,
				reason: `api permission denied: the Mini Program user "o\"penid" may not read analytics; o"penid`}},
		{name: "escapes", ctx: scf, latency: 3 * time.Hour,
			rec: &record{caller: KindOwner, action: "x\u2028y\u2029", code: 40097,
				reason: "tab\t cr\r nl\n quote\" backslash\\ <html>&amp; \x00\x1f\x7f bad\xff\xfe utf8 日本 \u2028" + allBytes.String(),
				stats:  openapi.CallStats{Attempts: 3, TokenRefreshes: 2}, cache: cache.Shared}},
		{name: "long reason is cut", ctx: scf, rec: &record{caller: KindOwner, action: "a", code: 1, reason: strings.Repeat("é", 400)}},
		{name: "configuration error by its settings", ctx: scf, err: cfgErr,
			rec: &record{caller: KindOwner, action: "getWeeklyRetain", code: openapi.CodeConfig, reason: "system args error: LOG_LEVEL must be debug"}},
	}
	now := time.Date(2026, 11, 24, 8, 8, 1, 123456789, time.FixedZone("CST", 8*3600))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want bytes.Buffer
			h := &Handler{err: tt.err, log: slog.New(stamped{slog.NewJSONHandler(&want, nil), now})}
			h.logInvocation(tt.ctx, tt.rec, tt.latency)
			level := slog.LevelInfo
			if tt.rec.code != 0 {
				level = slog.LevelWarn
			}
			got := h.appendLine(nil, now, tt.ctx, level, tt.rec, tt.latency)
			assert.Equal(t, want.String(), string(got))
		})
	}
}

// TestJSONFloatAsSlog: latency_ms is formatted as encoding/json (slog)
// formats a float.
func TestJSONFloatAsSlog(t *testing.T) {
	for _, f := range []float64{0, 0.001, 1, 12.5, 1234.567, 1e-7, 1.5e-9, 1e20, 123456789.25, 1e21, 123456789012345678901234.0, -0.25} {
		var want bytes.Buffer
		slog.New(slog.NewJSONHandler(&want, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey {
				return slog.Attr{}
			}
			return a
		}})).Info("", "f", f)
		assert.Equal(t, want.String(), `{"f":`+string(appendJSONFloat(nil, f))+"}\n", "%v", f)
	}
}

// TestLogLineDefaultLogger: with the default logger, the line is written by
// hand, once per invocation, at LOG_LEVEL's level: a success at info, a
// failure at warn.
func TestLogLineDefaultLogger(t *testing.T) {
	for _, tt := range []struct {
		level          slog.Level
		success, fails int // lines written
	}{
		{slog.LevelDebug, 1, 1},
		{slog.LevelInfo, 1, 1},
		{slog.LevelWarn, 0, 1},
		{slog.LevelError, 0, 0},
	} {
		t.Run(tt.level.String(), func(t *testing.T) {
			var buf bytes.Buffer
			h := New(Config{TokenMode: ModeStatic, AccessToken: "t", AppID: "wx1234567890abcdef", LogLevel: tt.level,
				CacheMaxBytes: -1, logOut: &buf})
			require.NoError(t, h.Err())
			require.NotNil(t, h.line, "the default logger appends the line by hand")
			h.logInvocation(context.Background(), &record{caller: KindOwner, action: "getWeeklyRetain"}, time.Millisecond)
			assert.Equal(t, tt.success, strings.Count(buf.String(), "\n"), buf.String())
			buf.Reset()
			h.logInvocation(context.Background(), &record{caller: KindOwner, action: "getWeeklyRetain", code: 40097, reason: "bad"}, time.Millisecond)
			assert.Equal(t, tt.fails, strings.Count(buf.String(), "\n"), buf.String())
			if tt.fails > 0 {
				assert.Contains(t, buf.String(), `"level":"WARN","msg":"invocation"`)
			}
		})
	}
}
