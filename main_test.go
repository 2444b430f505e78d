package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"
)

// TestBinaryServesSCFProtocol builds the function as it is deployed and
// drives it the way SCF does: _LAMBDA_SERVER_PORT, net/rpc, Function.Ping,
// Function.Invoke.
func TestBinaryServesSCFProtocol(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "main")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

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

	port := freePort(t)
	cmd := exec.Command(bin)
	cmd.Env = []string{
		"_LAMBDA_SERVER_PORT=" + strconv.Itoa(port),
		"WECHAT_TOKEN_MODE=static", "WECHAT_ACCESS_TOKEN=" + token, "WECHAT_API_BASE=" + wechat.URL,
		"ADMIN_OPENIDS=o-admin",
	}
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()

	client := dial(t, port)
	defer client.Close()
	require.NoError(t, client.Call("Function.Ping", &messages.PingRequest{}, &messages.PingResponse{}))

	invoke := func(env map[string]string) string {
		envJSON, err := json.Marshal(env)
		require.NoError(t, err)
		deadline := time.Now().Add(3 * time.Second)
		req := &messages.InvokeRequest{
			Payload:      []byte(`{"action":"getWeeklyRetain","beginDate":"20170306","endDate":"20170312"}`),
			RequestId:    "req-1",
			Deadline:     messages.InvokeRequest_Timestamp{Seconds: deadline.Unix(), Nanos: int64(deadline.Nanosecond())},
			FunctionName: "analysis",
			Environment:  string(envJSON),
		}
		var resp messages.InvokeResponse
		require.NoError(t, client.Call("Function.Invoke", req, &resp))
		require.Nil(t, resp.Error)
		return string(resp.Payload)
	}

	want := `{"refDate":"20170306-20170312","visitUvNew":[{"key":0,"value":0},{"key":1,"value":16853}],` +
		`"visitUv":[{"key":0,"value":0},{"key":1,"value":99310}],"errMsg":"openapi.analysis.getWeeklyRetain:ok","errCode":0}`
	assert.Equal(t, want, invoke(nil))

	miniProgram := map[string]string{"WX_CONTEXT_KEYS": "WX_OPENID,WX_APPID", "WX_OPENID": "o-stranger", "WX_APPID": "wx1"}
	assert.JSONEq(t, `{"errCode":-601004,"errMsg":"openapi.analysis:fail api permission denied: the Mini Program user o-stranger may not read analytics; add this openid to ADMIN_OPENIDS, or set ALLOW_ANY_CALLER=true"}`,
		invoke(miniProgram))
	// scf-go-lib has now set WX_OPENID in the process for good; a direct
	// invocation must still be the account owner's.
	assert.Equal(t, want, invoke(map[string]string{}))
	miniProgram["WX_OPENID"] = "o-admin"
	assert.Equal(t, want, invoke(miniProgram))
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func dial(t *testing.T, port int) *rpc.Client {
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(20 * time.Millisecond) {
		if c, err := rpc.Dial("tcp", addr); err == nil {
			return c
		}
	}
	t.Fatalf("the function did not listen on %s", addr)
	return nil
}
