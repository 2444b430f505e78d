package openapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/openapi"
)

const secret = "s3cret-APPSECRET-value"

// wechat is a loopback stand-in for api.weixin.qq.com whose answers each
// test scripts.
type wechat struct {
	*httptest.Server
	mu         sync.Mutex
	tokenCalls atomic.Int64
	apiCalls   atomic.Int64
	forced     atomic.Int64
	token      func(n int64, force bool) (string, int)                         // n-th stable_token fetch → token, expires_in
	api        func(n int64, token string, w http.ResponseWriter, body []byte) // guarded by mu
	bodies     []string
}

func newWeChat(t *testing.T) *wechat {
	w := &wechat{
		token: func(int64, bool) (string, int) { return "TOKEN-1", 7200 },
		api: func(_ int64, _ string, rw http.ResponseWriter, _ []byte) {
			rw.Header().Set("Content-Type", "application/json; encoding=utf-8")
			io.WriteString(rw, `{"visit_uv":[],"ref_date":"20170306-20170312","visit_uv":[{"key":0,"value":12345678901234567890}]}`)
		},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cgi-bin/stable_token", func(rw http.ResponseWriter, r *http.Request) {
		var req struct {
			GrantType, AppID, Secret string
			ForceRefresh             bool `json:"force_refresh"`
		}
		require.NoError(t, json.NewDecoder(r.Body).Decode(&req))
		if req.Secret != secret {
			io.WriteString(rw, `{"errcode":40125,"errmsg":"invalid appsecret"}`)
			return
		}
		if req.ForceRefresh {
			w.forced.Add(1)
		}
		tok, exp := w.token(w.tokenCalls.Add(1), req.ForceRefresh)
		fmt.Fprintf(rw, `{"access_token":%q,"expires_in":%d}`, tok, exp)
	})
	mux.HandleFunc("POST /datacube/", func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		w.bodies = append(w.bodies, string(b))
		w.mu.Unlock()
		w.mu.Lock()
		api := w.api
		w.mu.Unlock()
		api(w.apiCalls.Add(1), r.URL.Query().Get("access_token"), rw, b)
	})
	w.Server = httptest.NewServer(mux)
	t.Cleanup(w.Close)
	return w
}

func (w *wechat) setAPI(f func(int64, string, http.ResponseWriter, []byte)) {
	w.mu.Lock()
	w.api = f
	w.mu.Unlock()
}

func (w *wechat) client(src openapi.TokenSource, opts ...openapi.Option) *openapi.Client {
	if src == nil {
		src = &openapi.StableToken{BaseURL: w.URL, AppID: "wx0123456789abcdef", Secret: secret}
	}
	c, err := openapi.NewClient(src, append([]openapi.Option{openapi.WithBaseURL(w.URL),
		openapi.WithRetries(openapi.DefaultMaxAttempts, time.Millisecond)}, opts...)...)
	if err != nil {
		panic(err)
	}
	return c
}

func weekly() (*openapi.Method, openapi.Params) {
	m, _ := openapi.Lookup("getWeeklyRetain")
	p := m.Params()
	if err := json.Unmarshal([]byte(`{"beginDate":"20170306","endDate":"20170312"}`), p); err != nil {
		panic(err)
	}
	return &m, p
}

func errcode(code int, msg string) func(int64, string, http.ResponseWriter, []byte) {
	return func(_ int64, _ string, rw http.ResponseWriter, _ []byte) {
		rw.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(rw, `{"errcode":%d,"errmsg":%q}`, code, msg)
	}
}

func callErr(t *testing.T, c *openapi.Client) *openapi.Error {
	t.Helper()
	m, p := weekly()
	out, err := c.Call(context.Background(), m, p)
	require.Error(t, err, "result %s", out)
	var e *openapi.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "analysis.getWeeklyRetain", e.API)
	return e
}

func TestCallSuccess(t *testing.T) {
	w := newWeChat(t)
	m, p := weekly()
	out, err := w.client(nil).Call(context.Background(), m, p)
	require.NoError(t, err)
	assert.Equal(t, `{"refDate":"20170306-20170312","visitUv":[{"key":0,"value":12345678901234567890}],`+
		`"errMsg":"openapi.analysis.getWeeklyRetain:ok","errCode":0}`, string(out))
	assert.Equal(t, []string{`{"begin_date":"20170306","end_date":"20170312"}`}, w.bodies)
}

func TestConcurrentColdCacheFetchesOneToken(t *testing.T) {
	w := newWeChat(t)
	w.token = func(int64, bool) (string, int) {
		time.Sleep(50 * time.Millisecond) // let every caller pile up behind the one fetch
		return "TOKEN-1", 7200
	}
	c := w.client(nil)
	m, p := weekly()
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for range 1000 {
		wg.Go(func() {
			_, err := c.Call(context.Background(), m, p)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, w.tokenCalls.Load())
	assert.EqualValues(t, 1000, w.apiCalls.Load())
}

func TestRejectedTokenRefreshesOnceAndRetriesOnce(t *testing.T) {
	w := newWeChat(t)
	tokens := []string{"OLD", "NEW"}
	var served atomic.Int64
	tokenSrv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(rw, `{"access_token":%q,"expires_in":7200}`, tokens[min(served.Add(1)-1, 1)])
	}))
	defer tokenSrv.Close()
	w.setAPI(func(n int64, tok string, rw http.ResponseWriter, b []byte) {
		if tok == "OLD" {
			errcode(40001, "invalid credential, access_token is invalid or not latest")(n, tok, rw, b)
			return
		}
		io.WriteString(rw, `{"visit_uv":[],"ref_date":"x"}`)
	})
	m, p := weekly()
	out, err := w.client(&openapi.URLToken{URL: tokenSrv.URL}).Call(context.Background(), m, p)
	require.NoError(t, err)
	assert.Contains(t, string(out), `"refDate":"x"`)
	assert.EqualValues(t, 2, served.Load(), "one refresh")
	assert.EqualValues(t, 2, w.apiCalls.Load(), "one retry")

	// A token that stays refused ends after the one retry: no loop.
	w.setAPI(errcode(42001, "access_token expired"))
	w.apiCalls.Store(0)
	served.Store(0)
	e := callErr(t, w.client(&openapi.URLToken{URL: tokenSrv.URL}))
	assert.Equal(t, 42001, e.Code)
	assert.Equal(t, "openapi.analysis.getWeeklyRetain:fail access_token expired", e.ErrMsg())
	assert.EqualValues(t, 2, w.apiCalls.Load())
	assert.EqualValues(t, 2, served.Load())
}

func TestRejectedTokenWithNothingBetterIsNotRetried(t *testing.T) {
	w := newWeChat(t)
	w.setAPI(errcode(40014, "invalid access_token"))
	e := callErr(t, w.client(openapi.StaticToken("STATIC")))
	assert.Equal(t, 40014, e.Code)
	assert.EqualValues(t, 1, w.apiCalls.Load())
}

func TestConcurrentRejectionsCauseOneRefresh(t *testing.T) {
	w := newWeChat(t)
	w.token = func(n int64, _ bool) (string, int) { return fmt.Sprintf("TOKEN-%d", n), 7200 }
	w.setAPI(func(n int64, tok string, rw http.ResponseWriter, b []byte) {
		if tok == "TOKEN-1" {
			time.Sleep(20 * time.Millisecond)
			errcode(40001, "invalid credential")(n, tok, rw, b)
			return
		}
		io.WriteString(rw, `{"visit_uv":[]}`)
	})
	// A stable source hands out the same token until it is rotated: force
	// refresh is its only way to replace a refused one.
	c := w.client(nil)
	m, p := weekly()
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			_, err := c.Call(context.Background(), m, p)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.EqualValues(t, 2, w.tokenCalls.Load(), "one fetch, one refresh")
}

func TestStableForceRefreshIsRateLimited(t *testing.T) {
	w := newWeChat(t)
	w.token = func(n int64, force bool) (string, int) {
		if force {
			return fmt.Sprintf("FORCED-%d", n), 7200
		}
		return "SAME", 7200
	}
	w.setAPI(func(n int64, tok string, rw http.ResponseWriter, b []byte) {
		errcode(40001, "invalid credential")(n, tok, rw, b)
	})
	c := w.client(nil)
	for range 3 {
		e := callErr(t, c)
		assert.Equal(t, 40001, e.Code)
	}
	assert.EqualValues(t, 1, w.forced.Load(), "force_refresh at most once per 30 s")
}

func TestSystemErrorRetriedAtMostThreeTimes(t *testing.T) {
	w := newWeChat(t)
	w.setAPI(errcode(-1, "system error"))
	e := callErr(t, w.client(nil))
	assert.Equal(t, -1, e.Code)
	assert.Equal(t, "openapi.analysis.getWeeklyRetain:fail system error", e.ErrMsg())
	assert.EqualValues(t, 3, w.apiCalls.Load())
	// The body is sent whole on every attempt.
	assert.Equal(t, []string{`{"begin_date":"20170306","end_date":"20170312"}`,
		`{"begin_date":"20170306","end_date":"20170312"}`, `{"begin_date":"20170306","end_date":"20170312"}`}, w.bodies)

	w.apiCalls.Store(0)
	w.setAPI(func(n int64, tok string, rw http.ResponseWriter, b []byte) {
		if n < 3 {
			errcode(-1, "system error")(n, tok, rw, b)
			return
		}
		io.WriteString(rw, `{"visit_uv":[],"ref_date":"ok"}`)
	})
	m, p := weekly()
	out, err := w.client(nil).Call(context.Background(), m, p)
	require.NoError(t, err)
	assert.Contains(t, string(out), `"refDate":"ok"`)
}

func TestNotRetried(t *testing.T) {
	for _, code := range []int{45009, 61500, 61501, 40097, 48001} {
		w := newWeChat(t)
		w.setAPI(errcode(code, "x"))
		e := callErr(t, w.client(nil))
		assert.Equal(t, code, e.Code)
		assert.EqualValues(t, 1, w.apiCalls.Load(), "errcode %d", code)
	}
}

func TestHTTPAndConnectionErrorsRetried(t *testing.T) {
	w := newWeChat(t)
	w.setAPI(func(n int64, _ string, rw http.ResponseWriter, _ []byte) {
		if n == 1 {
			rw.WriteHeader(http.StatusBadGateway)
			return
		}
		if n == 2 {
			// Drop the connection mid-answer.
			conn, _, err := rw.(http.Hijacker).Hijack()
			require.NoError(t, err)
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
			return
		}
		io.WriteString(rw, `{"visit_uv":[],"ref_date":"third time"}`)
	})
	m, p := weekly()
	out, err := w.client(nil).Call(context.Background(), m, p)
	require.NoError(t, err)
	assert.Contains(t, string(out), "third time")
	assert.EqualValues(t, 3, w.apiCalls.Load())

	w.apiCalls.Store(0)
	w.setAPI(func(_ int64, _ string, rw http.ResponseWriter, _ []byte) {
		rw.WriteHeader(http.StatusServiceUnavailable)
	})
	e := callErr(t, w.client(nil))
	assert.Equal(t, openapi.CodeInternal, e.Code)
	assert.Contains(t, e.Msg, "HTTP 503 Service Unavailable")
	assert.EqualValues(t, 3, w.apiCalls.Load())
}

func TestDeadlineIsRespected(t *testing.T) {
	w := newWeChat(t)
	release := make(chan struct{})
	defer close(release)
	w.setAPI(func(int64, string, http.ResponseWriter, []byte) {
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	m, p := weekly()
	start := time.Now()
	_, err := w.client(nil).Call(ctx, m, p)
	var e *openapi.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, openapi.CodeTimeout, e.Code)
	assert.Equal(t, "openapi.analysis.getWeeklyRetain:fail server-side request timed out", e.ErrMsg())
	assert.True(t, errors.Is(err, context.DeadlineExceeded))
	assert.Less(t, time.Since(start), 2*time.Second, "the call ends with its context")

	// No retry is started that could not end before the deadline.
	w.setAPI(errcode(-1, "system error"))
	w.apiCalls.Store(0)
	c := w.client(nil, openapi.WithRetries(3, time.Second))
	ctx, cancel = context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err = c.Call(ctx, m, p)
	require.ErrorAs(t, err, &e)
	assert.Equal(t, -1, e.Code)
	assert.EqualValues(t, 1, w.apiCalls.Load())
}

func TestTokensNeverInErrors(t *testing.T) {
	// A port nothing listens on: the transport error names the URL.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := "http://" + l.Addr().String()
	l.Close()

	w := newWeChat(t)
	w.token = func(int64, bool) (string, int) { return "SECRET-TOKEN-abc123", 7200 }
	c := w.client(nil)
	c.Tokens().Token(context.Background()) // cache the token, then lose the API host
	c, err = openapi.NewClient(c.Tokens(), openapi.WithBaseURL(dead), openapi.WithRetries(1, time.Millisecond))
	require.NoError(t, err)
	e := callErr(t, c)
	assert.Equal(t, openapi.CodeNetwork, e.Code)
	assert.NotContains(t, e.Error(), "SECRET-TOKEN")
	assert.NotContains(t, e.Error(), dead, "no URL in a caller-facing message")
	var ue *url.Error
	require.ErrorAs(t, e, &ue)
	assert.NotContains(t, ue.Error(), "SECRET-TOKEN")

	// The credential endpoint puts the AppSecret in its URL.
	cred := &openapi.CredentialToken{BaseURL: dead, AppID: "wx1", Secret: secret}
	_, err = cred.Token(context.Background())
	require.Error(t, err)
	assert.NotContains(t, err.Error(), secret)
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, ue.Error(), "secret=REDACTED")

	// A wrong secret is reported by code, and not echoed.
	bad := &openapi.StableToken{BaseURL: w.URL, AppID: "wx1", Secret: "WRONG-secret"}
	e = callErr(t, w.client(bad))
	assert.Equal(t, 40125, e.Code)
	assert.Equal(t, "openapi.analysis.getWeeklyRetain:fail access_token: invalid appsecret", e.ErrMsg())
	assert.NotContains(t, e.Error(), "WRONG-secret")
}

func TestAnswers(t *testing.T) {
	const notAnswer = "wechat server internal error, the answer is not a getWeeklyRetain answer, a JSON object with visit_uv_new or visit_uv: "
	tests := []struct {
		name, ctype, body string
		status            int
		want              string // result, or
		code              int    // failure code
		msg               string
	}{
		{name: "errcode 0 and errmsg ok", ctype: "application/json", body: `{"errcode":0,"errmsg":"ok","ref_date":"x","visit_uv":[]}`,
			want: `{"refDate":"x","visitUv":[],"errMsg":"openapi.analysis.getWeeklyRetain:ok","errCode":0}`},
		{name: "text/plain JSON", ctype: "text/plain", body: `{"ref_date":"x","visit_uv_new":[]}`,
			want: `{"refDate":"x","visitUvNew":[],"errMsg":"openapi.analysis.getWeeklyRetain:ok","errCode":0}`},
		// A 200 answer that is not a JSON object of the method's shape is a
		// glitch (a proxy's page, a broken upstream), never a result.
		{name: "text/plain text", ctype: "text/plain; charset=utf-8", body: "upstream busy, try later",
			code: openapi.CodeInternal, msg: notAnswer + "upstream busy, try later"},
		{name: "upstream errMsg replaced", ctype: "application/json", body: `{"err_msg":"a","errMsg":"b","errCode":5,"visit_uv":[]}`,
			want: `{"visitUv":[],"errMsg":"openapi.analysis.getWeeklyRetain:ok","errCode":0}`},
		{name: "empty object", ctype: "application/json", body: ` {} `, code: openapi.CodeInternal, msg: notAnswer + " {} "},
		{name: "top-level array", ctype: "application/json", body: `[{"a_b":1}]`, code: openapi.CodeInternal, msg: notAnswer + `[{"a_b":1}]`},
		{name: "empty array", ctype: "application/json", body: `[]`, code: openapi.CodeInternal, msg: notAnswer + `[]`},
		{name: "null", ctype: "application/json", body: `null`, code: openapi.CodeInternal, msg: notAnswer + `null`},
		{name: "number", ctype: "application/json", body: `0`, code: openapi.CodeInternal, msg: notAnswer + `0`},
		{name: "string", ctype: "application/json", body: `"busy"`, code: openapi.CodeInternal, msg: notAnswer + `"busy"`},
		{name: "result wrapper", ctype: "application/json", body: `{"result":"upstream busy"}`, code: openapi.CodeInternal,
			msg: notAnswer + `{"result":"upstream busy"}`},
		{name: "errcode 0 alone", ctype: "application/json", body: `{"errcode":0,"errmsg":"ok"}`, code: openapi.CodeInternal,
			msg: notAnswer + `{"errcode":0,"errmsg":"ok"}`},
		{name: "a member of the wrong kind", ctype: "application/json", body: `{"visit_uv":"busy"}`, code: openapi.CodeInternal,
			msg: notAnswer + `{"visit_uv":"busy"}`},
		{name: "null member", ctype: "application/json", body: `{"visit_uv":null}`,
			want: `{"visitUv":null,"errMsg":"openapi.analysis.getWeeklyRetain:ok","errCode":0}`},
		{name: "errcode without errmsg", ctype: "application/json", body: `{"errcode":45009}`,
			code: 45009, msg: "reach max api daily quota limit"},
		{name: "errcode with null errmsg", ctype: "application/json", body: `{"errcode":61501,"errmsg":null}`,
			code: 61501, msg: "date range error"},
		{name: "unknown errcode without errmsg", ctype: "application/json", body: `{"errcode":12345}`,
			code: 12345, msg: "errcode 12345"},
		{name: "numeric errmsg", ctype: "application/json", body: `{"errcode":1,"errmsg":42}`, code: 1, msg: "42"},
		{name: "errcode in text/plain", ctype: "text/plain", body: `{"errcode":40001,"errmsg":"invalid credential rid: 1"}`,
			code: 40001, msg: "invalid credential rid: 1"},
		{name: "invalid JSON", ctype: "application/json", body: `{"ref_date":`, code: openapi.CodeInternal,
			msg: `wechat server internal error, response body is invalid json: {"ref_date":`},
		{name: "long invalid JSON", ctype: "application/json", body: `[` + strings.Repeat("1,", 150), code: openapi.CodeInternal,
			msg: `wechat server internal error, response body is invalid json: [` + strings.Repeat("1,", 99) + `1…`},
		{name: "empty answer", ctype: "application/json", body: ``, code: openapi.CodeInternal,
			msg: "wechat server internal error, response body is invalid json: "},
		{name: "empty text", ctype: "text/plain", body: ``, code: openapi.CodeInternal, msg: notAnswer},
		{name: "HTML error page", ctype: "text/html", body: `<html>404</html>`, status: 404, code: openapi.CodeInternal,
			msg: "wechat server internal error, HTTP 404 Not Found"},
		{name: "non-integer errcode", ctype: "application/json", body: `{"errcode":"E1"}`, code: openapi.CodeInternal,
			msg: `wechat server internal error, errcode "E1" is not an integer`},
		{name: "falsy errcode", ctype: "application/json", body: `{"errcode":"","x_y":1,"visit_uv":[]}`,
			want: `{"xY":1,"visitUv":[],"errMsg":"openapi.analysis.getWeeklyRetain:ok","errCode":0}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWeChat(t)
			w.setAPI(func(_ int64, _ string, rw http.ResponseWriter, _ []byte) {
				rw.Header().Set("Content-Type", tc.ctype)
				if tc.status != 0 {
					rw.WriteHeader(tc.status)
				}
				io.WriteString(rw, tc.body)
			})
			m, p := weekly()
			out, err := w.client(nil).Call(context.Background(), m, p)
			if tc.want != "" {
				require.NoError(t, err)
				assert.Equal(t, tc.want, string(out))
				return
			}
			var e *openapi.Error
			require.ErrorAs(t, err, &e, "result %s", out)
			assert.Equal(t, tc.code, e.Code)
			assert.Equal(t, "openapi.analysis.getWeeklyRetain:fail "+tc.msg, e.ErrMsg())
			assert.Equal(t, strings.HasPrefix(tc.msg, notAnswer), errors.Is(err, openapi.ErrNotAnswer), "ErrNotAnswer")
		})
	}
}

func TestRedactURL(t *testing.T) {
	tests := map[string]string{
		"https://api.weixin.qq.com/x?access_token=abc":                            "https://api.weixin.qq.com/x?access_token=REDACTED",
		"https://api.weixin.qq.com/cgi-bin/token?appid=wx1&secret=s&grant_type=c": "https://api.weixin.qq.com/cgi-bin/token?appid=wx1&grant_type=c&secret=REDACTED",
		"http://h/p?cloudbase_access_token=t&ACCESS_TOKEN=u":                      "http://h/p?ACCESS_TOKEN=REDACTED&cloudbase_access_token=REDACTED",
		"http://user:pass@h/p":        "http://REDACTED@h/p",
		"http://h/p?x=1":              "http://h/p?x=1",
		"http://h/p":                  "http://h/p",
		"http://h/%zz?access_token=t": "(unparseable URL)",
	}
	for in, want := range tests {
		assert.Equal(t, want, openapi.RedactURL(in), in)
	}
}

// clock is a settable clock for time-based rules.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, openapi.CST)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestTokenCacheRefreshesAheadInTheBackground(t *testing.T) {
	clk := newClock()
	var calls atomic.Int64
	gate := make(chan struct{})
	done := make(chan struct{}, 10)
	fail := atomic.Bool{}
	src := tokenFunc(func(ctx context.Context) (*openapi.Token, error) {
		n := calls.Add(1)
		failing := fail.Load()
		defer func() { done <- struct{}{} }()
		if n == 2 {
			select { // a stalled token endpoint, until the test lets it answer
			case <-gate:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if failing {
			return nil, &openapi.Error{Code: -1, Msg: "system error"}
		}
		return &openapi.Token{AccessToken: fmt.Sprint("T", n), Expiry: clk.Now().Add(2 * time.Hour)}, nil
	})
	c := openapi.NewTokenCache(src, openapi.DefaultRefreshMargin)
	c.SetClock(clk.Now)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	t1, err := c.Token(ctx)
	require.NoError(t, err)
	<-done
	clk.advance(2*time.Hour - 5*time.Minute - time.Second)
	t2, _ := c.Token(ctx)
	assert.Equal(t, t1.AccessToken, t2.AccessToken, "reused until 5 minutes before expiry")
	assert.EqualValues(t, 1, calls.Load())

	fail.Store(true)
	clk.advance(2 * time.Second) // inside the last 5 minutes
	for range 3 {
		t3, err := c.Token(ctx)
		require.NoError(t, err, "the cached token is valid: served while the refresh stalls")
		assert.Equal(t, "T1", t3.AccessToken)
	}
	close(gate) // the refresh fails; T1 is still valid and still served
	<-done
	assert.EqualValues(t, 2, calls.Load(), "one refresh, in the background")
	t4, err := c.Token(ctx)
	require.NoError(t, err)
	assert.Equal(t, "T1", t4.AccessToken)

	// Past T1's expiry there is no valid token: callers wait for a fetch.
	fail.Store(false)
	clk.advance(5 * time.Minute)
	t5, err := c.Token(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, "T1", t5.AccessToken)
}

type tokenFunc func(context.Context) (*openapi.Token, error)

func (f tokenFunc) Token(ctx context.Context) (*openapi.Token, error) { return f(ctx) }

func TestErrorText(t *testing.T) {
	e := &openapi.Error{API: "analysis.getWeeklyRetain", Code: 40001, Msg: "invalid credential"}
	assert.Equal(t, "errCode: 40001 | errMsg: openapi.analysis.getWeeklyRetain:fail invalid credential", e.Error())
	assert.Equal(t, "reach max api daily quota limit", openapi.Description(45009))
	assert.True(t, strings.HasPrefix(openapi.Description(7), "errcode 7"))
}
