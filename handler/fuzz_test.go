package handler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/handler"
	"github.com/wxanalysis/wxanalysis/internal/badinput"
)

// answerAll is an in-memory WeChat for fuzzing: every call succeeds at once.
type answerAll struct{}

func (answerAll) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"ref_date":"x","list":[{"a_b":1}]}`)), Request: r}, nil
}

// fuzzHandler returns a handler for fuzzing and the buffer its logs go to.
func fuzzHandler() (*handler.Handler, *evidence) {
	logs := &evidence{}
	return handler.New(handler.Config{TokenMode: handler.ModeStatic, AccessToken: "fuzz-token",
		HTTPClient: &http.Client{Transport: answerAll{}}, HTTPAPIKeys: []string{badinput.APIKey},
		// Errors only: a recovered panic is logged at error level, and the
		// buffer must not grow with every input.
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelError}))}), logs
}

// panicked reports whether the handler logged a recovered panic.
func (e *evidence) panicked() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return bytes.Contains(e.buf.Bytes(), []byte(`"msg":"panic"`))
}

// checkResult asserts a cloud-call result is well formed: a numeric errCode,
// a string errMsg, and for a failure nothing else and a short message.
func checkResult(t *testing.T, out []byte) map[string]any {
	var res map[string]any
	require.NoError(t, json.Unmarshal(out, &res), "%q", out)
	code, ok := res["errCode"].(float64)
	require.True(t, ok, "errCode is a number: %q", out)
	msg, ok := res["errMsg"].(string)
	require.True(t, ok, "errMsg is a string: %q", out)
	if code != 0 {
		require.Len(t, res, 2, "a failure is {errCode, errMsg}: %q", out)
		require.LessOrEqual(t, len(msg), badinput.MaxErrMsg, "%q", out)
	}
	return res
}

func seedEvents(f *testing.F) {
	cases, err := badinput.Load("testdata/badinput")
	require.NoError(f, err)
	for _, c := range cases {
		if len(c.Bytes()) < 4096 {
			f.Add(c.Bytes())
		}
	}
	f.Add([]byte(weeklyEvent))
	f.Add([]byte(`{"action":"getPerformanceData","time":{"beginTimestamp":1609603200,"endTimestamp":1609689600},"module":10022,"params":[]}`))
}

// FuzzEvent: whatever the payload, the handler answers a well-formed result
// and never panics.
func FuzzEvent(f *testing.F) {
	seedEvents(f)
	h, logs := fuzzHandler()
	f.Fuzz(func(t *testing.T, payload []byte) {
		out, err := h.Invoke(context.Background(), payload)
		require.NoError(t, err)
		require.False(t, logs.panicked(), "panic for %q", payload)
		var probe struct {
			StatusCode *int   `json:"statusCode"`
			Body       string `json:"body"`
		}
		if json.Unmarshal(out, &probe) == nil && probe.StatusCode != nil {
			checkResult(t, []byte(probe.Body))
			return
		}
		checkResult(t, out)
	})
}

// FuzzHTTPEvent: whatever the request, an HTTP event gets an HTTP response
// with one of the documented statuses and a well-formed body.
func FuzzHTTPEvent(f *testing.F) {
	f.Add("POST", "/getWeeklyRetain", "Bearer "+badinput.APIKey, `{"beginDate":"20170306","endDate":"20170312"}`, false)
	f.Add("POST", "/", "Bearer "+badinput.APIKey, `{"action":"getDailyRetain","beginDate":"20170313","endDate":"20170313"}`, false)
	f.Add("GET", "/getWeeklyRetain", "", "", false)
	f.Add("POST", "/getWeeklyRetain", "Bearer "+badinput.APIKey, "eyJiZWdpbkRhdGUiOiIyMDE3MDMwNiJ9", true)
	f.Add("POST", "/a/b/getVisitPage", "Bearer x", "{", true)
	h, logs := fuzzHandler()
	allowed := map[int]bool{200: true, 400: true, 401: true, 403: true, 404: true, 405: true, 413: true, 500: true, 502: true}
	f.Fuzz(func(t *testing.T, method, path, auth, body string, b64 bool) {
		ev, err := json.Marshal(map[string]any{"httpMethod": method, "path": path,
			"headers": map[string]string{"Authorization": auth}, "body": body, "isBase64Encoded": b64})
		require.NoError(t, err)
		out, err := h.Invoke(context.Background(), ev)
		require.NoError(t, err)
		require.False(t, logs.panicked())
		var resp handler.HTTPResponse
		require.NoError(t, json.Unmarshal(out, &resp), "%q", out)
		require.True(t, allowed[resp.StatusCode], "status %d", resp.StatusCode)
		checkResult(t, []byte(resp.Body))
	})
}
