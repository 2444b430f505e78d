package handler_test

import (
	"bytes"
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tencentyun/scf-go-lib/functioncontext"
	"go.uber.org/goleak"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/handler"
)

// matrixSecret is the AppSecret of the fault matrix and the soak: the secret
// scan looks for it, and for "emu_", which begins every emulator token.
const matrixSecret = "MATRIX-app-secret-never-printed"

// evidence collects every log line and result for the secret scan, in
// memory or, where its own size would distort a measurement, in a file.
type evidence struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	file *os.File
}

// fileEvidence returns evidence kept in a file of t's temporary directory.
func fileEvidence(t *testing.T) *evidence {
	f, err := os.Create(filepath.Join(t.TempDir(), "evidence"))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return &evidence{file: f}
}

func (e *evidence) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.file != nil {
		return e.file.Write(p)
	}
	return e.buf.Write(p)
}

func (e *evidence) text(t *testing.T) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.file == nil {
		return e.buf.String()
	}
	b, err := os.ReadFile(e.file.Name())
	require.NoError(t, err)
	return string(b)
}

func (e *evidence) assertNoSecrets(t *testing.T) {
	text := e.text(t)
	require.NotEmpty(t, text)
	assert.NotContains(t, text, matrixSecret)
	assert.NotContains(t, text, emulator.DefaultSecret)
	assert.NotContains(t, text, "emu_", "an access token")
}

// rig is a handler against an emulator, with its own HTTP transport, so
// that a test can close everything and check that no goroutine is left.
type rig struct {
	h         *handler.Handler
	emu       *emulator.Emulator
	srv       *httptest.Server
	transport *http.Transport
}

func newRig(t *testing.T, faults string, ev *evidence) *rig {
	fs, err := emulator.ParseFaults(faults)
	require.NoError(t, err)
	r := &rig{emu: emulator.New(emulator.Config{Secret: matrixSecret, Faults: fs,
		Logger: slog.New(slog.NewJSONHandler(ev, nil))})}
	r.srv = httptest.NewServer(r.emu)
	r.transport = http.DefaultTransport.(*http.Transport).Clone()
	r.h = handler.New(handler.Config{AppID: emulator.DefaultAppID, AppSecret: matrixSecret, APIBase: r.srv.URL,
		HTTPClient: &http.Client{Transport: r.transport}, Backoff: 5 * time.Millisecond, CacheMaxBytes: -1,
		Logger: slog.New(slog.NewJSONHandler(ev, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	return r
}

func (r *rig) close() {
	r.srv.Close()
	r.transport.CloseIdleConnections()
}

func (r *rig) invoke(t *testing.T, ev *evidence, timeout time.Duration) (map[string]any, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	out, err := r.h.Invoke(ctx, []byte(weeklyEvent))
	elapsed := time.Since(start)
	require.NoError(t, err)
	ev.Write(append(out, '\n'))
	res := checkResult(t, out)
	if msg := res["errMsg"].(string); res["errCode"] != 0.0 {
		assert.True(t, strings.HasPrefix(msg, "openapi.analysis.getWeeklyRetain:fail "), msg)
	} else {
		assert.Equal(t, "openapi.analysis.getWeeklyRetain:ok", msg)
	}
	return res, elapsed
}

const (
	weeklyEvent = `{"action":"getWeeklyRetain","beginDate":"20170306","endDate":"20170312"}`
	weeklyPath  = "/datacube/getweanalysisappidweeklyretaininfo"
	stablePath  = "/cgi-bin/stable_token"
)

// TestFaultMatrix: for every fault the emulator can inject, the function
// answers a well-formed result within the invocation's deadline, with a
// bounded number of upstream requests, and leaves no goroutine behind.
func TestFaultMatrix(t *testing.T) {
	ev := &evidence{}
	tests := []struct {
		name     string
		faults   string
		before   string        // an emulator admin call after a first, successful invocation
		deadline time.Duration // the invocation's; default 3s
		code     int
		msg      string
		attempts int // most analysis requests for the (second) invocation
		fetches  int // most token requests in all
	}{
		{"latency past the deadline", "latency=2s", "", 400 * time.Millisecond, -601008, "server-side request timed out", 1, 1},
		{"-1 burst shorter than the retries", "errcode=-1*2", "", 0, 0, ":ok", 3, 1},
		{"-1 throughout", "errcode=-1", "", 0, -1, "system error", 3, 1},
		{"HTTP 502 once", "status=502*1", "", 0, 0, ":ok", 2, 1},
		{"HTTP 503 throughout", "status=503", "", 0, -601001, "HTTP 503 Service Unavailable", 3, 1},
		{"connection reset twice", "reset*2", "", 0, 0, ":ok", 3, 1},
		{"connection reset throughout", "reset", "", 0, -601003, "system network error", 3, 1},
		{"truncated JSON", "truncated", "", 0, -601001, "response body is invalid json", 1, 1},
		{"malformed JSON", "malformed", "", 0, -601001, "response body is invalid json", 1, 1},
		{"text/plain answer", "text", "", 0, 0, ":ok", 1, 1},
		{"45009 quota", "quota-after=0", "", 0, 45009, "reach max api daily quota limit", 1, 1},
		{"40001: token rotated elsewhere", "", "/wxemu/rotate", 0, 0, ":ok", 2, 2},
		{"42001: token expired", "", "/wxemu/expire", 0, 0, ":ok", 2, 2},
		{"42001 with no better token", "expired", "", 0, 42001, "access_token expired", 2, 3},
		{"token endpoint down", "token.reset", "", 0, -601003, "system network error", 0, 3},
		{"token endpoint HTTP 503", "token.status=503", "", 0, -601001, "access_token: token endpoint answered HTTP 503", 0, 3},
		{"token endpoint -1", "token.errcode=-1", "", 0, -1, "access_token: system error", 0, 3},
		{"token endpoint refuses the AppID", "token.errcode=40013", "", 0, 40013, "access_token: invalid appid", 0, 1},
		{"token endpoint past the deadline", "token.latency=1s", "", 300 * time.Millisecond, -601008, "server-side request timed out", 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			r := newRig(t, tc.faults, ev)
			defer r.close()
			deadline := tc.deadline
			if deadline == 0 {
				deadline = 3 * time.Second
			}
			before := 0
			if tc.before != "" {
				res, _ := r.invoke(t, ev, deadline)
				require.EqualValues(t, 0, res["errCode"])
				resp, err := http.Post(r.srv.URL+tc.before, "text/plain", nil)
				require.NoError(t, err)
				resp.Body.Close()
				before = r.emu.Requests(weeklyPath)
			}
			res, elapsed := r.invoke(t, ev, deadline)
			assert.EqualValues(t, tc.code, res["errCode"], "%v", res)
			assert.Contains(t, res["errMsg"], tc.msg)
			assert.Less(t, elapsed, deadline+100*time.Millisecond, "answered within the deadline")
			assert.LessOrEqual(t, r.emu.Requests(weeklyPath)-before, tc.attempts, "analysis requests")
			assert.LessOrEqual(t, r.emu.Requests(stablePath), tc.fetches, "token requests")
		})
	}
	ev.assertNoSecrets(t)
	assert.Contains(t, ev.text(t), `"msg":"token refresh"`)
	assert.Contains(t, ev.text(t), `"msg":"invocation"`)
}

// cloudProcess is what SCF gives a CloudBase function's process.
var cloudProcess = map[string]string{"TENCENTCLOUD_RUNENV": "SCF", "TENCENTCLOUD_REGION": "ap-shanghai",
	"SCF_NAMESPACE": "wxemu-env", "TENCENTCLOUD_SECRETID": emulator.DefaultSecretID,
	"TENCENTCLOUD_SECRETKEY": emulator.DefaultSecretKey, "TENCENTCLOUD_SESSIONTOKEN": "matrix-session-token-0123456789"}

// TestGatewayFaultMatrix: in cloud mode, every failure of the cloud-call
// gateway gives wx-server-sdk's errCode and errMsg within the deadline; a
// request that may have reached WeChat is never sent again; no secret of the
// invocation is logged or returned.
func TestGatewayFaultMatrix(t *testing.T) {
	ev := &evidence{}
	tests := []struct {
		name     string
		faults   string
		deadline time.Duration
		code     int
		msg      string // the whole errMsg, or its start with a trailing "…"
		attempts int    // gateway requests
	}{
		{"success", "", 0, 0, "openapi.analysis.getWeeklyRetain:ok", 1},
		{"token refused", "gateway.badtoken", 0, -501007, "openapi.analysis.getWeeklyRetain:fail -501007 invalid parameters. Invalid wxCloudApiToken", 1},
		{"no permission", "gateway.errcode=-604101", 0, -604101, "system error: error code: -604101", 1},
		{"HTTP 500", "gateway.status=500", 0, -501001, "openapi.analysis.getWeeklyRetain:fail -501001 resource system error. 500 Internal Server Error", 1},
		{"garbage", "gateway.malformed", 0, -601001, "analysis.getWeeklyRetain:fail unknown wx response received: …", 1},
		{"connection cut", "gateway.reset", 0, -501001, "openapi.analysis.getWeeklyRetain:fail -501001 resource system error. …", 1},
		{"past the deadline", "gateway.latency=2s", 400 * time.Millisecond, -501001, "openapi.analysis.getWeeklyRetain:fail -501001 resource system error. request timeout", 1},
		{"-1 inside: not sent again", "errcode=-1", 0, -1, "openapi.analysis.getWeeklyRetain:fail system error …", 1},
		{"40001 inside: returned as it is", "errcode=40001", 0, 40001, "openapi.analysis.getWeeklyRetain:fail invalid credential…", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			fs, err := emulator.ParseFaults(tc.faults)
			require.NoError(t, err)
			emu := emulator.New(emulator.Config{Faults: fs, Logger: slog.New(slog.NewJSONHandler(ev, nil))})
			srv := httptest.NewServer(emu)
			defer srv.Close()
			transport := http.DefaultTransport.(*http.Transport).Clone()
			defer transport.CloseIdleConnections()
			h := handler.New(handler.Config{TokenMode: handler.ModeCloud, CacheMaxBytes: -1,
				HTTPClient: &http.Client{Transport: transport},
				LookupEnv:  func(k string) (string, bool) { v, ok := cloudProcess[k]; return v, ok },
				Logger:     slog.New(slog.NewJSONHandler(ev, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			deadline := cmp.Or(tc.deadline, 3*time.Second)
			ctx, cancel := context.WithTimeout(functioncontext.NewContext(context.Background(), &functioncontext.FunctionContext{
				Environment: map[string]string{"WX_CONTEXT_KEYS": "WX_API_TOKEN", "WX_API_TOKEN": emulator.DefaultCloudToken,
					"TCB_CONTEXT_CNFG": `{"URL":"` + srv.URL + `/admin"}`}}), deadline)
			defer cancel()
			out, err := h.Invoke(ctx, []byte(weeklyEvent))
			require.NoError(t, err)
			ev.Write(append(out, '\n'))
			res := checkResult(t, out)
			assert.EqualValues(t, tc.code, res["errCode"], "%s", out)
			if prefix, ok := strings.CutSuffix(tc.msg, "…"); ok {
				assert.True(t, strings.HasPrefix(res["errMsg"].(string), prefix), "%s", out)
			} else {
				assert.Equal(t, tc.msg, res["errMsg"])
			}
			assert.Equal(t, tc.attempts, emu.Requests("/admin"), "gateway requests")
		})
	}
	ev.assertNoSecrets(t)
	text := ev.text(t)
	for _, secret := range []string{emulator.DefaultCloudToken, emulator.DefaultSecretKey, cloudProcess["TENCENTCLOUD_SESSIONTOKEN"], "TC3-HMAC-SHA256 Credential"} {
		assert.NotContains(t, text, secret)
	}
}
