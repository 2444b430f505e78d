package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/internal/badinput"
	"github.com/wxanalysis/wxanalysis/internal/scf"
)

const apiKey = "e2e-test-key-0123456789"

// startFunction builds the function as `make build` does and starts it the
// way SCF does, with env on top of a minimal environment.
func startFunction(t *testing.T, env ...string) *scf.Process {
	t.Helper()
	bin := buildFunction(t, runtime.GOOS, runtime.GOARCH)
	p, err := scf.Start(bin, env, 10*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

var invocation = scf.Invocation{FunctionName: "analysis", Namespace: "default", Timeout: 5 * time.Second, MemoryMB: 128}

// TestBinaryServesSCFProtocol drives the deployable binary the way SCF does:
// _LAMBDA_SERVER_PORT, net/rpc, Function.Ping, Function.Invoke.
func TestBinaryServesSCFProtocol(t *testing.T) {
	const token = "STATIC-TOKEN"
	wechat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/datacube/getweanalysisappidweeklyretaininfo" || r.URL.Query().Get("access_token") != token ||
			string(b) != `{"begin_date":"20170306","end_date":"20170312"}` {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ref_date":"20170306-20170312","visit_uv_new":[{"key":0,"value":0},{"key":1,"value":16853}],"visit_uv":[{"key":0,"value":0},{"key":1,"value":99310}]}`)
	}))
	defer wechat.Close()
	p := startFunction(t, "WECHAT_TOKEN_MODE=static", "WECHAT_ACCESS_TOKEN="+token, "WECHAT_API_BASE="+wechat.URL, "ADMIN_OPENIDS=o-admin")

	invoke := func(env map[string]string) string {
		inv := invocation
		inv.Environment = env
		out, err := p.Invoke([]byte(`{"action":"getWeeklyRetain","beginDate":"20170306","endDate":"20170312"}`), inv)
		require.NoError(t, err)
		return string(out)
	}
	want := `{"refDate":"20170306-20170312","visitUvNew":[{"key":0,"value":0},{"key":1,"value":16853}],` +
		`"visitUv":[{"key":0,"value":0},{"key":1,"value":99310}],"errMsg":"openapi.analysis.getWeeklyRetain:ok","errCode":0}`
	assert.Equal(t, want, invoke(nil))

	miniProgram := map[string]string{"WX_CONTEXT_KEYS": "WX_OPENID,WX_APPID", "WX_OPENID": "o-stranger", "WX_APPID": "wx1"}
	assert.JSONEq(t, `{"errCode":-601004,"errMsg":"openapi.analysis.getWeeklyRetain:fail api permission denied: the Mini Program user \"o-stranger\" may not read analytics; add this openid to ADMIN_OPENIDS, or set ALLOW_ANY_CALLER=true"}`,
		invoke(miniProgram))
	// scf-go-lib has now set WX_OPENID in the process for good; a direct
	// invocation must still be the account owner's.
	assert.Equal(t, want, invoke(map[string]string{}))
	miniProgram["WX_OPENID"] = "o-admin"
	assert.Equal(t, want, invoke(miniProgram))
}

// TestEndToEnd invokes every sample event through the binary and the RPC
// protocol against the emulator, and checks each result field by field
// against the documented cloud result of its method.
func TestEndToEnd(t *testing.T) {
	emu := httptest.NewServer(emulator.New(emulator.Config{}))
	defer emu.Close()
	p := startFunction(t, "WECHAT_APPID="+emulator.DefaultAppID, "WECHAT_APPSECRET="+emulator.DefaultSecret,
		"WECHAT_API_BASE="+emu.URL, "HTTP_API_KEYS="+apiKey)

	events, err := filepath.Glob("events/get*.json")
	require.NoError(t, err)
	require.Len(t, events, 11, "one sample event per method")
	for _, file := range events {
		action := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(action, func(t *testing.T) {
			event, err := os.ReadFile(file)
			require.NoError(t, err)
			out, err := p.Invoke(event, invocation)
			require.NoError(t, err)
			var got map[string]any
			require.NoError(t, json.Unmarshal(out, &got), "%s", out)
			assert.EqualValues(t, 0, got["errCode"], "%s", out)
			assert.Equal(t, "openapi.analysis."+action+":ok", got["errMsg"])

			// The documented cloud result's fields are all there, with the
			// same JSON types; the emulator may add documented fields the
			// examples leave out.
			doc := documented(t, action)
			gotShape, docShape := shape(got, ""), shape(doc, "")
			for path, typ := range docShape {
				assert.Equal(t, typ, gotShape[path], "field %s", path)
			}
			for path := range gotShape {
				if _, ok := docShape[path]; !ok {
					assert.Contains(t, []string{"list[].stayTimeUv"}, path, "undocumented field %s", path)
				}
			}
		})
	}

	for file, codes := range map[string][]float64{"events/batch.json": {0, 0, 61501}, "events/series.json": {0, 0, 0, 0}} {
		t.Run(file, func(t *testing.T) {
			event, err := os.ReadFile(file)
			require.NoError(t, err)
			out, err := p.Invoke(event, invocation)
			require.NoError(t, err)
			var got struct {
				Results []map[string]any
				ErrCode float64
			}
			require.NoError(t, json.Unmarshal(out, &got), "%s", out)
			var gotCodes []float64
			for _, r := range got.Results {
				gotCodes = append(gotCodes, r["errCode"].(float64))
			}
			assert.Equal(t, codes, gotCodes, "%s", out)
		})
	}

	t.Run("HTTP event", func(t *testing.T) {
		event, err := os.ReadFile("events/http-getWeeklyRetain.json")
		require.NoError(t, err)
		event = []byte(strings.Replace(string(event), "local-emulator-key-not-a-secret", apiKey, 1))
		out, err := p.Invoke(event, invocation)
		require.NoError(t, err)
		var resp struct {
			StatusCode int
			Headers    map[string]string
			Body       string
		}
		require.NoError(t, json.Unmarshal(out, &resp))
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "application/json; charset=utf-8", resp.Headers["Content-Type"])
		var body map[string]any
		require.NoError(t, json.Unmarshal([]byte(resp.Body), &body))
		assert.Equal(t, "20170306-20170312", body["refDate"])
		assert.EqualValues(t, 0, body["errCode"])
		assert.Len(t, body["visitUv"], 5)
	})
}

func documented(t *testing.T, action string) map[string]any {
	files, err := filepath.Glob("handler/testdata/examples/*_" + action + ".json")
	require.NoError(t, err)
	require.Len(t, files, 1)
	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	var ex struct{ Result map[string]any }
	require.NoError(t, json.Unmarshal(b, &ex))
	return ex.Result
}

// shape maps each field path of v (arrays as []) to its JSON type.
func shape(v any, path string) map[string]string {
	out := map[string]string{}
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch t := v.(type) {
		case map[string]any:
			out[path] = "object"
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(t[k], p)
			}
		case []any:
			out[path] = "array"
			for _, e := range t {
				walk(e, path+"[]")
			}
		default:
			out[path] = fmt.Sprintf("%T", v)
		}
	}
	walk(v, path)
	delete(out, "")
	return out
}

// TestBadInputThroughBinary runs the malformed-event corpus through the
// binary and the RPC protocol: the same answers as through the handler, and
// nothing reaches WeChat.
func TestBadInputThroughBinary(t *testing.T) {
	cases, err := badinput.Load("handler/testdata/badinput")
	require.NoError(t, err)
	var calls atomic.Int64
	wechat := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls.Add(1) }))
	defer wechat.Close()
	p := startFunction(t, "WECHAT_TOKEN_MODE=static", "WECHAT_ACCESS_TOKEN=corpus-token", "WECHAT_API_BASE="+wechat.URL,
		"HTTP_API_KEYS="+badinput.APIKey, "LOG_LEVEL=error")
	for _, c := range cases {
		out, err := p.Invoke(c.Bytes(), invocation)
		require.NoError(t, err, c.Name)
		assert.NoError(t, c.Check(out), c.Name)
	}
	assert.Zero(t, calls.Load())
}

// TestInvoker runs what `make run` runs: the invoker, starting the built
// function against the built-in emulator, printing the result and the table,
// and leaving no process behind.
func TestInvoker(t *testing.T) {
	bin := buildFunction(t, runtime.GOOS, runtime.GOARCH)
	invoker := filepath.Join(t.TempDir(), "scfinvoke")
	out, err := exec.Command("go", "build", "-o", invoker, "./cmd/scfinvoke").CombinedOutput()
	require.NoError(t, err, "%s", out)

	cmd := exec.Command(invoker, "-bin", bin, "-retained-week", "-table", "-chart")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")} // no WeChat credentials
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "%s", stderr.String())
	assert.Contains(t, stderr.String(), "using the built-in emulator")
	var res map[string]any
	end := strings.Index(stdout.String(), "\n}\n")
	require.Positive(t, end, stdout.String())
	require.NoError(t, json.Unmarshal(stdout.Bytes()[:end+2], &res))
	assert.EqualValues(t, 0, res["errCode"])
	assert.Equal(t, "openapi.analysis.getWeeklyRetain:ok", res["errMsg"])
	assert.Contains(t, stdout.String(), "1 week later", "a week with real retention")
	assert.Contains(t, stdout.String(), "came back a week later")
	assert.Regexp(t, `upstream calls: 30 the first time, 0 the second`, stdout.String(), "one series call, then the cache")

	// The function it started is gone.
	assert.Empty(t, processesRunning(t, bin), "a process is left behind")

	// make run MODE=cloud: cloud calls through the emulator's gateway, and
	// no secret of the invocation context in any output.
	cmd = exec.Command(invoker, "-bin", bin, "-retained-week", "-chart", "-mode", "cloud")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	stdout.Reset()
	stderr.Reset()
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "%s", stderr.String())
	assert.Contains(t, stderr.String(), "through the emulator's gateway")
	assert.Contains(t, stdout.String(), `"errMsg": "openapi.analysis.getWeeklyRetain:ok"`)
	assert.Contains(t, stdout.String(), "upstream calls: 30 the first time, 0 the second")
	for _, secret := range []string{emulator.DefaultCloudToken, emulator.DefaultSecretKey, "wxemu-session-token"} {
		assert.NotContains(t, stdout.String()+stderr.String(), secret)
	}
	assert.Empty(t, processesRunning(t, bin), "a process is left behind")
}

// processesRunning lists the pids whose command line starts with bin.
func processesRunning(t *testing.T, bin string) []string {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc to look for processes in")
	}
	var pids []string
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.HasPrefix(cmdline, []byte(bin+"\x00")) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// gatewayCase is a recorded wx-server-sdk cloud call (conformance/golden/gateway).
type gatewayCase struct {
	Process    map[string]string `json:"process"`
	Invocation map[string]string `json:"invocation"`
	Answer     struct {
		Status  int      `json:"status"`
		Headers []string `json:"headers"`
		Body    string   `json:"body"` // one character per byte
	} `json:"answer"`
	Outcome struct {
		Result json.RawMessage `json:"result"`
	} `json:"outcome"`
}

func latin1(s string) []byte {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = append(b, byte(r))
	}
	return b
}

// TestBinaryMakesCloudCalls: the built binary, with no WECHAT_* setting, in
// a CloudBase-like invocation context whose TCB_CONTEXT_CNFG points at a
// loopback recorder, answers getWeeklyRetain exactly as wx-server-sdk did in
// the same setting; the recorder sees one request, whose TC3 signature the
// emulator's gateway (an implementation of its own) verifies with the
// secret key. Without a cloud-call token it sends nothing.
func TestBinaryMakesCloudCalls(t *testing.T) {
	var g gatewayCase
	b, err := os.ReadFile("conformance/golden/gateway/base-url.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &g))
	emu := emulator.New(emulator.Config{SecretID: g.Process["TENCENTCLOUD_SECRETID"],
		SecretKey: g.Process["TENCENTCLOUD_SECRETKEY"], CloudTokens: []string{g.Invocation["WX_API_TOKEN"]}})
	var requests atomic.Int64
	verified := make(chan string, 8)
	recorder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		body, _ := io.ReadAll(r.Body)
		check := httptest.NewRecorder()
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(bytes.NewReader(body))
		emu.ServeHTTP(check, r2)
		verified <- fmt.Sprintf("%d %s %s", check.Code, check.Header().Get("Content-Type"), check.Body.Bytes())
		for _, h := range g.Answer.Headers {
			k, v, _ := strings.Cut(h, ": ")
			w.Header().Set(k, v)
		}
		w.WriteHeader(g.Answer.Status)
		w.Write(latin1(g.Answer.Body))
	}))
	defer recorder.Close()

	var env []string
	for k, v := range g.Process {
		env = append(env, k+"="+v)
	}
	var logs syncBuffer
	bin := buildFunction(t, runtime.GOOS, runtime.GOARCH)
	p, err := scf.StartTo(&logs, bin, env, 10*time.Second)
	require.NoError(t, err)
	defer p.Close()
	inv := invocation
	inv.Environment = map[string]string{}
	for k, v := range g.Invocation {
		inv.Environment[k] = v
	}
	inv.Environment["TCB_CONTEXT_CNFG"] = `{"URL":"` + recorder.URL + `/admin"}`
	event := []byte(`{"action":"getWeeklyRetain","beginDate":"20170306","endDate":"20170312"}`)
	out, err := p.Invoke(event, inv)
	require.NoError(t, err)
	assert.JSONEq(t, string(g.Outcome.Result), string(out), "what wx-server-sdk answered in the same setting")
	assert.EqualValues(t, 1, requests.Load(), "one request")
	v := <-verified
	assert.True(t, strings.HasPrefix(v, "200 application/octet-stream"), "the emulator's gateway accepts the signature: %s", v)

	// The same event with no cloud-call token: a clear error, nothing sent.
	delete(inv.Environment, "WX_API_TOKEN")
	out, err = p.Invoke(event, inv)
	require.NoError(t, err)
	var res struct {
		ErrCode int    `json:"errCode"`
		ErrMsg  string `json:"errMsg"`
	}
	require.NoError(t, json.Unmarshal(out, &res))
	assert.Equal(t, -501007, res.ErrCode)
	for _, want := range []string{"openapi.analysis.getWeeklyRetain:fail -501007 invalid parameters. missing wxCloudApiToken",
		"carries no WX_API_TOKEN", "from a Mini Program", "set WECHAT_APPID and WECHAT_APPSECRET"} {
		assert.Contains(t, res.ErrMsg, want)
	}
	assert.EqualValues(t, 1, requests.Load(), "nothing sent")

	// A timer set up in WeChat DevTools carries its own token.
	inv.Environment["TRIGGER_SRC"] = "timer"
	out, err = p.Invoke(event, inv)
	require.NoError(t, err)
	assert.Contains(t, string(out), "carries no WX_TRIGGER_API_TOKEN_V0")
	for _, secret := range []string{g.Process["TENCENTCLOUD_SECRETKEY"], g.Process["TENCENTCLOUD_SESSIONTOKEN"], g.Invocation["WX_API_TOKEN"]} {
		assert.NotContains(t, logs.String(), secret, "no secret in the function's log")
	}
}

// syncBuffer collects a process's output, safe to read while it writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// httpFunction is the built binary serving HTTP, as in WeChat Cloud Run.
type httpFunction struct {
	cmd  *exec.Cmd
	url  string
	logs *syncBuffer
	done chan error
}

// startHTTP starts the binary with PORT=0 and env, and waits until it serves.
func startHTTP(t *testing.T, env ...string) *httpFunction {
	t.Helper()
	return startHTTPBin(t, buildFunction(t, runtime.GOOS, runtime.GOARCH), env...)
}

// startHTTPBin is startHTTP with the binary bin (buildLocal's, for SQLite).
func startHTTPBin(t *testing.T, bin string, env ...string) *httpFunction {
	t.Helper()
	f := &httpFunction{cmd: exec.Command(bin), logs: new(syncBuffer), done: make(chan error, 1)}
	f.cmd.Env = append([]string{"PORT=0", "PATH=" + os.Getenv("PATH")}, env...)
	f.cmd.Stdout, f.cmd.Stderr = f.logs, f.logs
	require.NoError(t, f.cmd.Start())
	go func() { f.done <- f.cmd.Wait() }()
	t.Cleanup(func() {
		f.cmd.Process.Kill()
		<-f.done
	})
	re := regexp.MustCompile(`serving HTTP on \[::\]:([0-9]+)`)
	require.Eventually(t, func() bool {
		m := re.FindStringSubmatch(f.logs.String())
		if m != nil {
			f.url = "http://127.0.0.1:" + m[1]
		}
		return m != nil
	}, 10*time.Second, 5*time.Millisecond, "the function says where it serves: %s", f.logs)
	return f
}

func (f *httpFunction) post(t *testing.T, path, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.url+path, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestBinaryServesHTTP: started with PORT, the binary answers callContainer
// requests as the RPC path answers the same event; WeChat Cloud Run's X-WX-*
// headers count only behind Cloud Run and with X-WX-SOURCE, else an API key
// is needed; mode none reaches the emulator's open API service tokenless.
func TestBinaryServesHTTP(t *testing.T) {
	emu := httptest.NewServer(emulator.New(emulator.Config{OpenAPIService: true}))
	defer emu.Close()
	common := []string{"WECHAT_TOKEN_MODE=none", "WECHAT_API_BASE=" + emu.URL, "ADMIN_OPENIDS=o-admin", "HTTP_API_KEYS=" + apiKey}
	event := `{"action":"getWeeklyRetain","beginDate":"20170306","endDate":"20170312"}`
	wx := map[string]string{"X-WX-SOURCE": "wx_client", "X-WX-OPENID": "o-admin", "X-WX-APPID": "wx1", "X-WX-SERVICE": "analysis"}

	rpc := startFunction(t, common...)
	want, err := rpc.Invoke([]byte(event), scf.Invocation{FunctionName: "analysis", Timeout: 5 * time.Second,
		Environment: map[string]string{"WX_CONTEXT_KEYS": "WX_OPENID,WX_APPID", "WX_OPENID": "o-admin", "WX_APPID": "wx1"}})
	require.NoError(t, err)
	require.Contains(t, string(want), `"errCode":0`)

	cloudRun := startHTTP(t, append(common, "WECHAT_CLOUDRUN=true")...)
	status, body := cloudRun.post(t, "/any/path/the/front/end/chose", event, wx)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, string(want), body, "the same result as the RPC path")

	stranger := map[string]string{"X-WX-SOURCE": "wx_client", "X-WX-OPENID": "o-stranger"}
	status, body = cloudRun.post(t, "/", event, stranger)
	assert.Equal(t, http.StatusForbidden, status, body)
	assert.Contains(t, body, `"errCode":-601004`)

	noSource := map[string]string{"X-WX-OPENID": "o-admin"}
	status, body = cloudRun.post(t, "/", event, noSource)
	assert.Equal(t, http.StatusUnauthorized, status, "without X-WX-SOURCE the headers are anyone's: %s", body)

	plain := startHTTP(t, common...) // not behind Cloud Run
	status, body = plain.post(t, "/", event, wx)
	assert.Equal(t, http.StatusUnauthorized, status, "X-WX-* headers are ignored outside Cloud Run: %s", body)
	status, body = plain.post(t, "/", event, map[string]string{"Authorization": "Bearer " + apiKey})
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, string(want), body)

	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"action":`, http.StatusBadRequest},
		{`{"action":"getWeeklyRetain","beginDate":"20170307","endDate":"20170312"}`, http.StatusBadRequest},
		{`{"action":"nope"}`, http.StatusNotFound},
		{`{"action":"getWeeklyRetain","pad":"` + strings.Repeat("x", 70<<10) + `"}`, http.StatusRequestEntityTooLarge},
	} {
		status, body = cloudRun.post(t, "/", tc.body, wx)
		assert.Equal(t, tc.status, status, body)
		assert.Contains(t, body, `"errCode":`, "errors are JSON")
	}
	resp, err := http.Get(cloudRun.url + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the platform's probe")
	req, err := http.NewRequest(http.MethodGet, cloudRun.url+"/", nil)
	require.NoError(t, err)
	for k, v := range wx {
		req.Header.Set(k, v)
	}
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

// TestBinaryFinishesInFlightOnSIGTERM: SIGTERM lets a request in flight
// finish, then the process exits cleanly.
func TestBinaryFinishesInFlightOnSIGTERM(t *testing.T) {
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		io.WriteString(w, `{"ref_date":"20170306-20170312","visit_uv":[]}`)
	}))
	defer upstream.Close()
	f := startHTTP(t, "WECHAT_TOKEN_MODE=none", "WECHAT_API_BASE="+upstream.URL, "HTTP_API_KEYS="+apiKey)
	type answer struct {
		status int
		body   string
	}
	got := make(chan answer, 1)
	go func() {
		s, b := f.post(t, "/", `{"action":"getWeeklyRetain","beginDate":"20170306","endDate":"20170312"}`,
			map[string]string{"Authorization": "Bearer " + apiKey})
		got <- answer{s, b}
	}()
	<-arrived
	require.NoError(t, f.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-f.done:
		t.Fatalf("exited with a request in flight: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	a := <-got
	assert.Equal(t, http.StatusOK, a.status, a.body)
	assert.Contains(t, a.body, `"refDate":"20170306-20170312"`)
	require.NoError(t, <-f.done, "a clean exit")
	f.done <- nil // for the cleanup
}

// TestBinaryReadsCloudbaseTokenFile: WeChat Cloud Run's token file; auto
// picks it when it exists, and a token the platform rewrites is read again.
func TestBinaryReadsCloudbaseTokenFile(t *testing.T) {
	e := emulator.New(emulator.Config{})
	emu := httptest.NewServer(e)
	defer emu.Close()
	file := filepath.Join(t.TempDir(), "cloudbase_access_token")
	require.NoError(t, os.WriteFile(file, []byte("stale-token-0123456789\n"), 0o600))
	var logs syncBuffer
	bin := buildFunction(t, runtime.GOOS, runtime.GOARCH)
	p, err := scf.StartTo(&logs, bin, []string{"WECHAT_TOKEN_FILE=" + file, "WECHAT_API_BASE=" + emu.URL}, 10*time.Second)
	require.NoError(t, err)
	defer p.Close()
	assert.Zero(t, e.Requests("/datacube/getweanalysisappidweeklyretaininfo"), "nothing called at start-up")
	event := []byte(`{"action":"getWeeklyRetain","beginDate":"20170306","endDate":"20170312"}`)
	out, err := p.Invoke(event, invocation)
	require.NoError(t, err)
	assert.NotContains(t, string(out), `"errCode":0`, "the emulator refuses a token it did not issue: %s", out)

	require.NoError(t, os.WriteFile(file, []byte(emulator.DefaultCloudbaseToken+"\n"), 0o600))
	out, err = p.Invoke(event, invocation)
	require.NoError(t, err)
	assert.Contains(t, string(out), `"errCode":0`, "the rewritten file is read again: %s", out)
	assert.Contains(t, string(out), `"errMsg":"openapi.analysis.getWeeklyRetain:ok"`)
	for _, secret := range []string{"stale-token-0123456789", emulator.DefaultCloudbaseToken} {
		assert.NotContains(t, logs.String(), secret)
		assert.NotContains(t, string(out), secret)
	}
}

// TestBinaryHTTPDeadline: each HTTP request has HTTP_TIMEOUT; past it the
// caller gets 504 and a JSON error, whatever upstream does.
func TestBinaryHTTPDeadline(t *testing.T) {
	release := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer upstream.Close()
	defer close(release)
	f := startHTTP(t, "WECHAT_TOKEN_MODE=none", "WECHAT_API_BASE="+upstream.URL, "HTTP_API_KEYS="+apiKey, "HTTP_TIMEOUT=500ms")
	status, body := f.post(t, "/", `{"action":"getWeeklyRetain","beginDate":"20170306","endDate":"20170312"}`,
		map[string]string{"Authorization": "Bearer " + apiKey})
	assert.Equal(t, http.StatusGatewayTimeout, status, body)
	assert.Contains(t, body, `"errCode":-601008`)
}

// TestBinaryByHandSaysWhatItWaitsFor: neither SCF's port nor PORT.
func TestBinaryByHandSaysWhatItWaitsFor(t *testing.T) {
	bin := buildFunction(t, runtime.GOOS, runtime.GOARCH)
	cmd := exec.Command(bin)
	cmd.Env = []string{}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 2, exit.ExitCode())
	assert.Contains(t, string(out), "_LAMBDA_SERVER_PORT")
	assert.Contains(t, string(out), "set PORT")
}
