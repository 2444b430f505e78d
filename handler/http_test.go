package handler_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/handler"
)

const apiKey = "test-api-key-0123456789"

func httpEvent(method, path, auth, body string, b64 bool) string {
	headers := map[string]any{"content-type": "application/json", "x-forwarded-for": []string{"1.2.3.4", "5.6.7.8"}}
	if auth != "" {
		headers["Authorization"] = auth
	}
	if b64 {
		body = base64.StdEncoding.EncodeToString([]byte(body))
	}
	ev, _ := json.Marshal(map[string]any{"httpMethod": method, "path": path, "headers": headers,
		"queryString": map[string]any{}, "queryStringParameters": map[string]any{}, "body": body, "isBase64Encoded": b64,
		"requestContext": map[string]any{"requestId": "r1", "sourceIp": "1.2.3.4"}})
	return string(ev)
}

func TestHTTPEvents(t *testing.T) {
	u := newUpstream(t)
	u.answers["/datacube/getweanalysisappidweeklyretaininfo"] = `{"ref_date":"20170306-20170312","visit_uv":[{"key":0,"value":1}]}`
	cfg := u.config()
	cfg.HTTPAPIKeys = []string{"another-key-abcdefghij", apiKey}
	h := handler.New(cfg)
	const params = `{"beginDate":"20170306","endDate":"20170312"}`
	bearer := "Bearer " + apiKey
	tests := []struct {
		name, event string
		status      int
		errCode     int
		msg         string
	}{
		{"action in the path", httpEvent("POST", "/getWeeklyRetain", bearer, params, false), 200, 0, "openapi.analysis.getWeeklyRetain:ok"},
		{"action in the body", httpEvent("POST", "/", bearer, `{"action":"analysis.getWeeklyRetain","beginDate":"20170306","endDate":"20170312"}`, false), 200, 0, ":ok"},
		{"base64 body", httpEvent("POST", "/getWeeklyRetain", bearer, params, true), 200, 0, ":ok"},
		{"no key", httpEvent("POST", "/getWeeklyRetain", "", params, false), 401, -601004, "send the header Authorization: Bearer <key>"},
		{"wrong key", httpEvent("POST", "/getWeeklyRetain", "Bearer wrong-key-0123456789", params, false), 401, -601004, "the API key is not valid"},
		{"not bearer", httpEvent("POST", "/getWeeklyRetain", "Basic "+apiKey, params, false), 401, -601004, "Bearer"},
		{"GET", httpEvent("GET", "/getWeeklyRetain", bearer, "", false), 405, 40097, `use POST, not "GET"`},
		{"unknown action", httpEvent("POST", "/getFoo", bearer, params, false), 404, -604100, "API not found"},
		{"bad parameters", httpEvent("POST", "/getWeeklyRetain", bearer, `{"beginDate":"20170306","endDate":"20170311"}`, false), 400, 61501, "must be 20170312"},
		{"bad JSON", httpEvent("POST", "/getWeeklyRetain", bearer, `{"beginDate":`, false), 400, 40097, "the body must be a JSON object"},
		{"not base64", `{"httpMethod":"POST","path":"/getWeeklyRetain","headers":{"authorization":"` + bearer + `"},"body":"%%%","isBase64Encoded":true}`, 400, 40097, "not base64"},
		{"too large", httpEvent("POST", "/getWeeklyRetain", bearer, `{"x":"`+strings.Repeat("a", handler.MaxHTTPBody)+`"}`, false), 413, 40097, "larger than 64 KiB"},
		{"too large, base64", httpEvent("POST", "/getWeeklyRetain", bearer, `{"x":"`+strings.Repeat("a", handler.MaxHTTPBody)+`"}`, true), 413, 40097, "larger than 64 KiB"},
		{"path and body differ", httpEvent("POST", "/getWeeklyRetain", bearer, `{"action":"getDailyRetain"}`, false), 400, 40097, "differ"},
		{"malformed event", `{"httpMethod":"POST","headers":"x"}`, 400, 40097, "the HTTP event is malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := h.Invoke(context.Background(), []byte(tc.event))
			require.NoError(t, err)
			var resp handler.HTTPResponse
			require.NoError(t, json.Unmarshal(out, &resp), "%s", out)
			assert.Equal(t, tc.status, resp.StatusCode)
			assert.Equal(t, "application/json; charset=utf-8", resp.Headers["Content-Type"])
			var body struct {
				ErrCode int
				ErrMsg  string
			}
			require.NoError(t, json.Unmarshal([]byte(resp.Body), &body), resp.Body)
			assert.Equal(t, tc.errCode, body.ErrCode)
			assert.Contains(t, body.ErrMsg, tc.msg)
			assert.NotContains(t, string(out), apiKey)
		})
	}
}

func TestHTTPOffWithoutKeys(t *testing.T) {
	u := newUpstream(t)
	out, err := handler.New(u.config()).Invoke(context.Background(), []byte(httpEvent("POST", "/getWeeklyRetain", "Bearer "+apiKey, `{}`, false)))
	require.NoError(t, err)
	var resp handler.HTTPResponse
	require.NoError(t, json.Unmarshal(out, &resp))
	assert.Equal(t, 403, resp.StatusCode)
	assert.Contains(t, resp.Body, "HTTP access is off; set HTTP_API_KEYS to allow it")
}

func TestHTTPUpstreamFailureIs502(t *testing.T) {
	u := newUpstream(t)
	u.answers["/datacube/getweanalysisappidweeklyretaininfo"] = `{"errcode":45009,"errmsg":"reach max api daily quota limit"}`
	cfg := u.config()
	cfg.HTTPAPIKeys = []string{apiKey}
	out, err := handler.New(cfg).Invoke(context.Background(), []byte(httpEvent("POST", "/getWeeklyRetain", "Bearer "+apiKey, `{"beginDate":"20170306","endDate":"20170312"}`, false)))
	require.NoError(t, err)
	var resp handler.HTTPResponse
	require.NoError(t, json.Unmarshal(out, &resp))
	assert.Equal(t, 502, resp.StatusCode)
	assert.JSONEq(t, `{"errCode":45009,"errMsg":"openapi.analysis.getWeeklyRetain:fail reach max api daily quota limit"}`, resp.Body)
}

func TestShortAPIKeyIsAConfigurationError(t *testing.T) {
	res := invoke(t, handler.FromEnv(func(k string) string {
		return map[string]string{"WECHAT_TOKEN_MODE": "none", "HTTP_API_KEYS": "short"}[k]
	}), context.Background(), `{"action":"getWeeklyRetain"}`)
	assert.Equal(t, json.Number("-601002"), res["errCode"])
	assert.Contains(t, res["errMsg"], "HTTP_API_KEYS: key 1 is shorter than 16 characters")
	assert.NotContains(t, res["errMsg"], "short\"")
}

func TestHTTPPanicIsA500(t *testing.T) {
	h := handler.New(handler.Config{TokenMode: handler.ModeStatic, AccessToken: token, HTTPAPIKeys: []string{apiKey},
		HTTPClient: &http.Client{Transport: panicTransport{}}, Logger: slog.New(slog.DiscardHandler)})
	out, err := h.Invoke(context.Background(), []byte(httpEvent("POST", "/getWeeklyRetain", "Bearer "+apiKey,
		`{"beginDate":"20170306","endDate":"20170312"}`, false)))
	require.NoError(t, err)
	var resp handler.HTTPResponse
	require.NoError(t, json.Unmarshal(out, &resp), "%s", out)
	assert.Equal(t, 500, resp.StatusCode)
	assert.JSONEq(t, `{"errCode":-601001,"errMsg":"openapi.analysis.getWeeklyRetain:fail system error: internal error"}`, resp.Body)
}

// TestHTTPEventQuery: an HTTP event's query, in each form a platform sends
// it; a query that is not an object fails no event.
func TestHTTPEventQuery(t *testing.T) {
	for in, want := range map[string]url.Values{
		`{"queryString":{"a":"1","b":["2","3"],"c":true,"d":4}}`:              {"a": {"1"}, "b": {"2", "3"}, "c": {}, "d": {"4"}},
		`{"queryStringParameters":{"a":"1"}}`:                                 {"a": {"1"}},
		`{"queryString":{"a":"1"},"queryStringParameters":{"a":"x","b":"2"}}`: {"a": {"1"}, "b": {"2"}},
		`{"queryString":"a=1"}`:                                               {},
		`{"queryString":null}`:                                                {},
	} {
		var ev handler.HTTPRequest
		require.NoError(t, json.Unmarshal([]byte(in), &ev), in)
		assert.Equal(t, want, handler.EventQuery(&ev), in)
	}
}
