package main

// Issue 16 through the built binaries: a misconfigured deploy is unhealthy;
// the invoker says a misconfiguration once; the emulator's settings work
// with the invoker, which says where it calls.

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBinaryMisconfiguredHTTPIsUnhealthy: a misconfigured HTTP deploy logs
// the error once at start naming the setting, never its value, says so
// instead of looking healthy, and answers /healthz with 503.
func TestBinaryMisconfiguredHTTPIsUnhealthy(t *testing.T) {
	for _, tc := range []struct {
		env      []string
		settings string
	}{
		{[]string{"WECHAT_APPID=wxZq0123456789"}, `["WECHAT_APPSECRET"]`}, // auto: a cloud call, with half a pair
		{[]string{"WECHAT_TOKEN_MODE=none", "LOG_LEVEL=Zq-verbose"}, `["LOG_LEVEL"]`},
		{[]string{"WECHAT_TOKEN_MODE=stabel", "WECHAT_APPID=wxZq1", "WECHAT_APPSECRET=Zq-secret"}, `["WECHAT_TOKEN_MODE"]`},
		{[]string{"WECHAT_TOKEN_MODE=none", "HTTP_API_KEYS=Zq-short"}, `["HTTP_API_KEYS"]`},
	} {
		f := startHTTP(t, tc.env...)
		resp, err := http.Get(f.url + "/healthz")
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%v: %s", tc.env, body)
		assert.JSONEq(t, `{"status":"misconfigured","settings":`+tc.settings+`}`, string(body))

		status, _ := f.post(t, "/getWeeklyRetain", `{"beginDate":"20170306","endDate":"20170312"}`,
			map[string]string{"Authorization": "Bearer " + apiKey})
		assert.NotEqual(t, http.StatusOK, status)
		logs := f.logs.String()
		assert.Contains(t, logs, "wxanalysis: misconfigured ("+strings.Trim(strings.ReplaceAll(tc.settings, `"`, ""), "[]")+")")
		assert.NotContains(t, logs, "(token mode", "it does not present itself as serving normally")
		assert.Equal(t, 1, strings.Count(logs, `"msg":"configuration"`), logs)
		assert.NotContains(t, logs, "Zq", "never a value")
	}
}

// buildInvoker builds cmd/scfinvoke into a temporary directory.
func buildInvoker(t *testing.T) string {
	invoker := filepath.Join(t.TempDir(), "scfinvoke")
	out, err := exec.Command("go", "build", "-o", invoker, "./cmd/scfinvoke").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return invoker
}

// TestInvokerSaysAMisconfigurationOnce: `WECHAT_APPID=wx123 make run` shows
// the -601002 message once in the result (and once in the function's
// start-up log), not once per invocation and log line.
func TestInvokerSaysAMisconfigurationOnce(t *testing.T) {
	bin := buildFunction(t, runtime.GOOS, runtime.GOARCH)
	cmd := exec.Command(buildInvoker(t), "-bin", bin, "-retained-week", "-table", "-chart")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "WECHAT_APPID=wx123"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "%s", out.String())
	assert.Equal(t, 1, exit.ExitCode())
	assert.Equal(t, 2, strings.Count(out.String(), "WECHAT_APPSECRET is missing"),
		"the function's start-up log and the result: %s", out.String())
	assert.Contains(t, out.String(), "nothing more is invoked")
	assert.Empty(t, processesRunning(t, bin), "a process is left behind")
}

// TestEmulatorSettingsWorkWithTheInvoker: every setting line the standalone
// emulator prints works with `make invoke`, and the invoker says it calls
// WECHAT_API_BASE, not WeChat.
func TestEmulatorSettingsWorkWithTheInvoker(t *testing.T) {
	bin := buildFunction(t, runtime.GOOS, runtime.GOARCH)
	wxemu := filepath.Join(t.TempDir(), "wxemu")
	out, err := exec.Command("go", "build", "-o", wxemu, "./cmd/wxemu").CombinedOutput()
	require.NoError(t, err, "%s", out)
	emu := exec.Command(wxemu, "-addr", "127.0.0.1:0")
	stderr, err := emu.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, emu.Start())
	t.Cleanup(func() { emu.Process.Kill(); emu.Wait() })

	settings := regexp.MustCompile(`^\s+((?:[A-Z_]+=\S+\s*)+)$`)
	lines := make(chan []string, 1)
	go func() {
		var found []string
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := settings.FindStringSubmatch(sc.Text()); m != nil {
				found = append(found, strings.TrimSpace(m[1]))
			}
			if strings.Contains(sc.Text(), "make run MODE=cloud") {
				break
			}
		}
		lines <- found
		io.Copy(io.Discard, stderr)
	}()
	var found []string
	select {
	case found = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatal("the emulator printed no settings")
	}
	require.NotEmpty(t, found)
	invoker := buildInvoker(t)
	for _, line := range found {
		cmd := exec.Command(invoker, "-bin", bin, "-event", "events/getDailySummary.json")
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, strings.Fields(line)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		assert.NoError(t, cmd.Run(), "%s: %s %s", line, stdout.String(), stderr.String())
		assert.Contains(t, stdout.String(), `"errCode": 0`, line)
		assert.Regexp(t, `calls WECHAT_API_BASE \(http://127\.0\.0\.1:[0-9]+\)`, stderr.String())
		assert.NotContains(t, stderr.String(), "calls WeChat")
	}
}
