package cloudcall_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/cloudcall"
	"github.com/wxanalysis/wxanalysis/internal/expiring"
)

const api = "analysis.getWeeklyRetain"

var week = []byte(`{"begin_date":"20170306","end_date":"20170312"}`)

// Distinct secret values, so that a leak of any is visible in a message.
const (
	token        = "SECRET-wx-api-token"
	triggerToken = "SECRET-trigger-token"
	secretKey    = "SECRET-tencentcloud-key"
	sessionToken = "SECRET-session-token"
	tcbSession   = "SECRET-tcb-session"
	accessToken  = "SECRET-cloudbase-access"
)

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// scfProcess is a function instance's process environment in SCF.
var scfProcess = map[string]string{
	"TENCENTCLOUD_RUNENV": "SCF", "TENCENTCLOUD_REGION": "ap-shanghai", "SCF_NAMESPACE": "ns-1",
	"TENCENTCLOUD_SECRETID": "AKIDprocess", "TENCENTCLOUD_SECRETKEY": secretKey, "TENCENTCLOUD_SESSIONTOKEN": sessionToken,
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name       string
		invocation map[string]string
		process    map[string]string
		check      func(t *testing.T, e *cloudcall.Env)
	}{
		{"listed token", map[string]string{"WX_CONTEXT_KEYS": "WX_OPENID,WX_API_TOKEN", "WX_API_TOKEN": "tk"}, scfProcess,
			func(t *testing.T, e *cloudcall.Env) {
				assert.Equal(t, "tk", e.Token)
				assert.Equal(t, "WX_API_TOKEN", e.TokenSource)
				assert.Equal(t, "ns-1", e.EnvID)
				assert.Equal(t, "ap-shanghai", e.Region)
				assert.True(t, e.InSCF)
				assert.Equal(t, "scf", e.RunEnvTag)
				assert.Equal(t, "AKIDprocess", e.SecretID)
			}},
		{"unlisted token is absent", map[string]string{"WX_CONTEXT_KEYS": "WX_OPENID", "WX_API_TOKEN": "tk"}, scfProcess,
			func(t *testing.T, e *cloudcall.Env) { assert.Empty(t, e.Token); assert.Empty(t, e.TokenSource) }},
		{"keys are not trimmed", map[string]string{"WX_CONTEXT_KEYS": "WX_OPENID, WX_API_TOKEN", "WX_API_TOKEN": "tk"}, scfProcess,
			func(t *testing.T, e *cloudcall.Env) { assert.Empty(t, e.Token) }},
		{"a stale process token is never used", map[string]string{"WX_CONTEXT_KEYS": "WX_API_TOKEN"},
			merge(scfProcess, map[string]string{"WX_API_TOKEN": "stale", "WX_CONTEXT_KEYS": "WX_API_TOKEN", "TRIGGER_SRC": "timer", "WX_TRIGGER_API_TOKEN_V0": "stale", "TCB_CONTEXT_KEYS": "TCB_ENV", "TCB_ENV": "stale", "TCB_CONTEXT_CNFG": `{"URL":"http://stale/admin"}`}),
			func(t *testing.T, e *cloudcall.Env) {
				assert.Empty(t, e.Token)
				assert.Empty(t, e.TriggerSrc)
				assert.Equal(t, "ns-1", e.EnvID)
				assert.Empty(t, e.BaseURL)
			}},
		{"timer token first", map[string]string{"TRIGGER_SRC": "timer", "WX_TRIGGER_API_TOKEN_V0": "tt", "WX_CONTEXT_KEYS": "WX_API_TOKEN", "WX_API_TOKEN": "tk"}, scfProcess,
			func(t *testing.T, e *cloudcall.Env) {
				assert.Equal(t, "tt", e.Token)
				assert.Equal(t, "WX_TRIGGER_API_TOKEN_V0", e.TokenSource)
			}},
		{"timer falls back to the api token", map[string]string{"TRIGGER_SRC": "timer", "WX_TRIGGER_API_TOKEN_V0": "", "WX_CONTEXT_KEYS": "WX_API_TOKEN", "WX_API_TOKEN": "tk"}, scfProcess,
			func(t *testing.T, e *cloudcall.Env) {
				assert.Equal(t, "tk", e.Token)
				assert.Equal(t, "WX_API_TOKEN", e.TokenSource)
			}},
		{"trigger token outside a timer is ignored", map[string]string{"TRIGGER_SRC": "tcb", "WX_TRIGGER_API_TOKEN_V0": "tt"}, scfProcess,
			func(t *testing.T, e *cloudcall.Env) { assert.Empty(t, e.Token) }},
		{"listed per-invocation keys", map[string]string{
			"TCB_CONTEXT_KEYS": "TCB_ENV,TCB_SEQID,TCB_SESSIONTOKEN,TCB_SOURCE,TCB_TRACELOG", "WX_CONTEXT_KEYS": "WX_CLOUDBASE_ACCESSTOKEN",
			"TCB_ENV": "env-a", "TCB_SEQID": "seq", "TCB_SESSIONTOKEN": "ts", "TCB_SOURCE": "wx_client", "TCB_TRACELOG": "tr", "WX_CLOUDBASE_ACCESSTOKEN": "cb",
		}, scfProcess, func(t *testing.T, e *cloudcall.Env) {
			assert.Equal(t, "env-a", e.EnvID)
			assert.Equal(t, "seq", e.SeqIDPrefix)
			assert.Equal(t, "ts", e.TCBSessionToken)
			assert.Equal(t, "wx_client", e.Source)
			assert.Equal(t, "tr", e.Tracelog)
			assert.True(t, e.HasTracelog)
			assert.Equal(t, "cb", e.CloudbaseAccessToken)
		}},
		{"unlisted per-invocation keys", map[string]string{
			"TCB_ENV": "env-a", "TCB_SEQID": "seq", "TCB_SESSIONTOKEN": "ts", "TCB_SOURCE": "wx_client", "TCB_TRACELOG": "tr", "WX_CLOUDBASE_ACCESSTOKEN": "cb",
		}, scfProcess, func(t *testing.T, e *cloudcall.Env) {
			assert.Equal(t, &cloudcall.Env{EnvID: "ns-1", Region: "ap-shanghai", InSCF: true, RunEnvTag: "scf",
				SecretID: "AKIDprocess", SecretKey: secretKey, SessionToken: sessionToken, HasSessionToken: true}, e)
		}},
		{"empty TCB_ENV falls through", map[string]string{"TCB_CONTEXT_KEYS": "TCB_ENV", "TCB_ENV": ""}, scfProcess,
			func(t *testing.T, e *cloudcall.Env) { assert.Equal(t, "ns-1", e.EnvID) }},
		{"namespace from the invocation when the process lacks it", map[string]string{"SCF_NAMESPACE": "ns-2"}, map[string]string{},
			func(t *testing.T, e *cloudcall.Env) {
				assert.Equal(t, "ns-2", e.EnvID)
				assert.False(t, e.InSCF)
				assert.Equal(t, "unknown", e.RunEnvTag)
			}},
		{"credentials from the invocation, as a set", map[string]string{"TENCENTCLOUD_SECRETID": "AKIDinv", "TENCENTCLOUD_SECRETKEY": "invkey"}, scfProcess,
			func(t *testing.T, e *cloudcall.Env) {
				assert.Equal(t, "AKIDinv", e.SecretID)
				assert.Equal(t, "invkey", e.SecretKey)
				assert.False(t, e.HasSessionToken, "the process's session token belongs to the process's key")
			}},
		{"half the credentials in the invocation", map[string]string{"TENCENTCLOUD_SECRETID": "AKIDinv"}, scfProcess,
			func(t *testing.T, e *cloudcall.Env) {
				assert.Equal(t, "AKIDprocess", e.SecretID)
				assert.True(t, e.HasSessionToken)
			}},
		{"empty session token", nil, merge(scfProcess, map[string]string{"TENCENTCLOUD_SESSIONTOKEN": ""}),
			func(t *testing.T, e *cloudcall.Env) {
				assert.True(t, e.HasSessionToken)
				assert.Empty(t, e.SessionToken)
			}},
		{"no session token", nil, without(scfProcess, "TENCENTCLOUD_SESSIONTOKEN"),
			func(t *testing.T, e *cloudcall.Env) { assert.False(t, e.HasSessionToken) }},
		{"TCB_CONTEXT_CNFG", map[string]string{"TCB_CONTEXT_CNFG": `{"URL":"http://127.0.0.1:9/admin"}`}, scfProcess,
			func(t *testing.T, e *cloudcall.Env) { assert.Equal(t, "http://127.0.0.1:9/admin", e.BaseURL) }},
		{"TCB_CONTEXT_CNFG not JSON", map[string]string{"TCB_CONTEXT_CNFG": `{URL:`}, scfProcess,
			func(t *testing.T, e *cloudcall.Env) { assert.Empty(t, e.BaseURL) }},
		{"TCB_CONTEXT_CNFG URL not a string", map[string]string{"TCB_CONTEXT_CNFG": `{"URL":1}`}, scfProcess,
			func(t *testing.T, e *cloudcall.Env) { assert.Empty(t, e.BaseURL) }},
		{"Cloud Run", nil, map[string]string{"CBR_ENV_ID": "x"},
			func(t *testing.T, e *cloudcall.Env) { assert.True(t, e.InSCF); assert.Equal(t, "cbr", e.RunEnvTag) }},
		{"sumeru", nil, map[string]string{"SUMERU_ENV": "pre"},
			func(t *testing.T, e *cloudcall.Env) { assert.True(t, e.InSCF); assert.Equal(t, "sumeru", e.RunEnvTag) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, cloudcall.Resolve(tt.invocation, lookup(tt.process))) })
	}
	assert.NotPanics(t, func() { cloudcall.Resolve(nil, nil) })
}

func merge(a, b map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}

func without(a map[string]string, k string) map[string]string {
	m := merge(a, nil)
	delete(m, k)
	return m
}

func TestContext(t *testing.T) {
	_, ok := cloudcall.FromContext(context.Background())
	assert.False(t, ok)
	e := &cloudcall.Env{EnvID: "x"}
	got, ok := cloudcall.FromContext(cloudcall.NewContext(context.Background(), e))
	assert.True(t, ok)
	assert.Same(t, e, got)
}

// gateway is a loopback gateway answering with handler and counting requests.
type gateway struct {
	*httptest.Server
	requests atomic.Int32
	mu       sync.Mutex
	seen     []*http.Request
}

func newGateway(t *testing.T, handler http.HandlerFunc) *gateway {
	g := &gateway{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.requests.Add(1)
		g.mu.Lock()
		g.seen = append(g.seen, r)
		g.mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(g.Close)
	return g
}

// env is a resolved environment whose gateway is base.
func env(base string) *cloudcall.Env {
	return &cloudcall.Env{EnvID: "env-1", Region: "ap-shanghai", InSCF: true, RunEnvTag: "scf", BaseURL: base,
		Token: token, TokenSource: "WX_API_TOKEN", TCBSessionToken: tcbSession,
		SecretID: "AKIDtest", SecretKey: secretKey, SessionToken: sessionToken, HasSessionToken: true}
}

// commOpenAPIResp is a success answer carrying body.
func commOpenAPIResp(body, contentType string) []byte {
	b := append([]byte{0x0a, byte(len(body))}, body...)
	return append(append(b, 0x12, byte(len(contentType))), contentType...)
}

func ok(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(commOpenAPIResp(`{"ref_date":"x"}`, "application/json"))
}

func TestCallDefaultClient(t *testing.T) {
	g := newGateway(t, ok)
	resp, err := (&cloudcall.Client{}).Call(context.Background(), env(g.URL+"/admin"), api, week)
	require.NoError(t, err)
	assert.Equal(t, `{"ref_date":"x"}`, string(resp.Data))
	assert.Equal(t, "application/json", resp.ContentType)
	r := g.seen[0]
	assert.Empty(t, r.Header.Values("Accept-Encoding"), "the SDK asks for no compression")
	assert.Equal(t, "tcb-node-sdk/3.17.2", r.Header.Get("User-Agent"))
	assert.Equal(t, "wx-server-sdk/4.0.2", r.Header.Get("X-SDK-Version"))
	assert.Regexp(t, `^multipart/form-data; boundary=-{26}[0-9a-f]{24}$`, r.Header.Get("Content-Type"))
	assert.Regexp(t, `^/admin\?env=env-1&seqId=[0-9a-f]+_1$`, r.RequestURI)
}

func TestCallRefusesBeforeSending(t *testing.T) {
	tests := []struct {
		name string
		edit func(*cloudcall.Env)
		want error
	}{
		{"no token", func(e *cloudcall.Env) { e.Token = "" }, cloudcall.ErrNoToken},
		{"no secret id", func(e *cloudcall.Env) { e.SecretID = "" }, cloudcall.ErrNoCredentials},
		{"no secret key", func(e *cloudcall.Env) { e.SecretKey = "" }, cloudcall.ErrNoCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t, ok)
			e := env(g.URL + "/admin")
			tt.edit(e)
			_, err := (&cloudcall.Client{}).Call(context.Background(), e, api, week)
			require.ErrorIs(t, err, tt.want)
			var ce *cloudcall.Error
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, -501007, ce.Code)
			assert.Contains(t, ce.ErrMsg, "openapi.analysis.getWeeklyRetain:fail -501007 invalid parameters. ")
			assert.Zero(t, g.requests.Load(), "nothing is sent")
		})
	}
	t.Run("a Cloud Run access token is enough", func(t *testing.T) {
		g := newGateway(t, ok)
		e := env(g.URL + "/admin")
		e.Token, e.CloudbaseAccessToken = "", accessToken
		_, err := (&cloudcall.Client{}).Call(context.Background(), e, api, week)
		require.NoError(t, err)
		assert.EqualValues(t, 1, g.requests.Load())
	})
}

func TestCallRejectsBadInput(t *testing.T) {
	g := newGateway(t, ok)
	for _, tt := range []struct{ data, want string }{
		{`[1]`, "data must be a JSON object"},
		{`{"a":`, "data is not JSON"},
		{`{} {}`, "data is not JSON"},
	} {
		_, err := (&cloudcall.Client{}).Call(context.Background(), env(g.URL+"/admin"), api, []byte(tt.data))
		assert.ErrorContains(t, err, tt.want, tt.data)
	}
	e := env(g.URL + "/admin")
	e.EnvID = "a b"
	_, err := (&cloudcall.Client{}).Call(context.Background(), e, api, week)
	assert.ErrorContains(t, err, "the env id")
	e = env("ftp://x/admin")
	_, err = (&cloudcall.Client{}).Call(context.Background(), e, api, week)
	assert.ErrorContains(t, err, "the gateway URL (TCB_CONTEXT_CNFG's URL, or one made from TENCENTCLOUD_REGION) is not an absolute http(s) URL")
	e = env(g.URL + "/admin")
	e.Source = "wx\nclient"
	_, err = (&cloudcall.Client{}).Call(context.Background(), e, api, week)
	assert.ErrorContains(t, err, `Invalid character in header content ["X-TCB-Source"]`)
	_, err = (&cloudcall.Client{}).Call(context.Background(), nil, api, week)
	assert.ErrorContains(t, err, "Call needs an Env")
	assert.Zero(t, g.requests.Load())
}

// countingClient dials through a counter.
func countingClient(dials *atomic.Int32, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Client {
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	return &http.Client{Transport: &http.Transport{DisableCompression: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return dial(ctx, network, addr)
		}}}
}

// TestCallRetries: only a request that never reached the gateway is tried again.
func TestCallRetries(t *testing.T) {
	hangUp := func(w http.ResponseWriter, r *http.Request) {
		c, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			c.Close()
		}
	}
	tests := []struct {
		name      string
		handler   http.HandlerFunc // nil: nothing listens
		timeout   time.Duration
		dials     int32
		temporary bool
		msg       string
	}{
		{"refused", nil, 5 * time.Second, 3, true, "connect ECONNREFUSED 127.0.0.1:1"},
		{"refused, the deadline too close for a retry", nil, 20 * time.Millisecond, 1, true, ""},
		{"closed after the request", hangUp, 5 * time.Second, 1, false, "socket hang up"},
		{"HTTP 503", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }, 5 * time.Second, 1, false, "503 Service Unavailable"},
		{"gateway error", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Write([]byte(`{"code":"SERVER_TIMEOUT","message":"busy"}`))
		}, 5 * time.Second, 1, false, "-501002 resource server timeout. busy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := "http://127.0.0.1:1/admin"
			var g *gateway
			if tt.handler != nil {
				g = newGateway(t, tt.handler)
				base = g.URL + "/admin"
			}
			var dials atomic.Int32
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			_, err := (&cloudcall.Client{HTTPClient: countingClient(&dials, nil)}).Call(ctx, env(base), api, week)
			var ce *cloudcall.Error
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tt.dials, dials.Load(), "dials")
			if g != nil {
				assert.EqualValues(t, 1, g.requests.Load(), "requests")
			}
			assert.Equal(t, tt.temporary, ce.Temporary)
			assert.Contains(t, ce.ErrMsg, tt.msg)
		})
	}
}

func TestCallTimeouts(t *testing.T) {
	t.Run("connect timeout", func(t *testing.T) {
		ctx := expiring.New()
		var dials atomic.Int32
		hang := func(dctx context.Context, _, _ string) (net.Conn, error) {
			ctx.Expire() // the deadline passes while connecting
			<-dctx.Done()
			return nil, dctx.Err()
		}
		_, err := (&cloudcall.Client{HTTPClient: countingClient(&dials, hang)}).Call(ctx, env("http://gateway.invalid/admin"), api, week)
		var ce *cloudcall.Error
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, "openapi.analysis.getWeeklyRetain:fail -501001 resource system error. connect timeout", ce.ErrMsg)
		assert.True(t, ce.Temporary)
		assert.EqualValues(t, 1, dials.Load())
	})
	t.Run("request timeout", func(t *testing.T) {
		ctx := expiring.New()
		release := make(chan struct{})
		g := newGateway(t, func(http.ResponseWriter, *http.Request) {
			ctx.Expire() // the deadline passes while the gateway works
			<-release
		})
		defer close(release)
		_, err := (&cloudcall.Client{}).Call(ctx, env(g.URL+"/admin"), api, week)
		var ce *cloudcall.Error
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, "openapi.analysis.getWeeklyRetain:fail -501001 resource system error. request timeout", ce.ErrMsg)
		assert.False(t, ce.Temporary)
		assert.EqualValues(t, 1, g.requests.Load())
	})
	t.Run("canceled", func(t *testing.T) {
		g := newGateway(t, ok)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := (&cloudcall.Client{}).Call(ctx, env(g.URL+"/admin"), api, week)
		var ce *cloudcall.Error
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, "openapi.analysis.getWeeklyRetain:fail -501001 resource system error. request aborted by client", ce.ErrMsg)
	})
}

func TestCallRefusesRedirects(t *testing.T) {
	elsewhere := newGateway(t, ok)
	g := newGateway(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/admin", http.StatusTemporaryRedirect)
	})
	// A client that would follow redirects by itself.
	_, err := (&cloudcall.Client{HTTPClient: &http.Client{}}).Call(context.Background(), env(g.URL+"/admin"), api, week)
	var ce *cloudcall.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "openapi.analysis.getWeeklyRetain:fail -501001 resource system error. 307 Temporary Redirect", ce.ErrMsg)
	assert.Zero(t, elsewhere.requests.Load())
}

func TestCallBoundsTheAnswer(t *testing.T) {
	g := newGateway(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(make([]byte, 8<<20+1))
	})
	_, err := (&cloudcall.Client{}).Call(context.Background(), env(g.URL+"/admin"), api, week)
	var ce *cloudcall.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "openapi.analysis.getWeeklyRetain:fail -501001 resource system error. gateway response larger than 8388608 bytes, not read", ce.ErrMsg)
}

// TestCallKeepsSecretsOut: no token, credential, Authorization header or URL in any
// failure's message.
func TestCallKeepsSecretsOut(t *testing.T) {
	var auth atomic.Value
	answer := func(status int, contentType, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			auth.Store(r.Header.Get("Authorization"))
			w.Header().Set("Content-Type", contentType)
			w.WriteHeader(status)
			w.Write([]byte(body))
		}
	}
	handlers := map[string]http.HandlerFunc{
		"500":      answer(500, "text/plain", "boom"),
		"302":      func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", 302) },
		"json":     answer(200, "application/json; charset=utf-8", `{"code":"INVALID_PARAM","message":"Invalid wxCloudApiToken"}`),
		"errcode":  answer(200, "application/json; charset=utf-8", `{"errcode":40001}`),
		"garbage":  answer(200, "text/html", "<html>"),
		"protobuf": answer(200, "application/octet-stream", "\x18\xbb\x8f\xdb\xff\xff\xff\xff\xff\xff\x01"),
		"bad header": func(w http.ResponseWriter, _ *http.Request) {
			if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
				c.Write([]byte("HTTP/1.1 200 OK\r\nBad Header\r\n\r\n"))
				c.Close()
			}
		},
		"cut": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", "100")
			w.Write([]byte("abc"))
		},
	}
	envs := map[string]func(string) *cloudcall.Env{
		"token": env,
		"trigger token": func(b string) *cloudcall.Env {
			e := env(b)
			e.Token, e.TokenSource = triggerToken, "WX_TRIGGER_API_TOKEN_V0"
			return e
		},
		"access token": func(b string) *cloudcall.Env {
			e := env(b)
			e.Token, e.CloudbaseAccessToken = "", accessToken
			return e
		},
	}
	for name, h := range handlers {
		for ename, mk := range envs {
			t.Run(name+"/"+ename, func(t *testing.T) {
				g := newGateway(t, h)
				_, err := (&cloudcall.Client{}).Call(context.Background(), mk(g.URL+"/admin"), api, week)
				require.Error(t, err)
				var ce *cloudcall.Error
				require.ErrorAs(t, err, &ce)
				a, _ := auth.Load().(string)
				for _, text := range []string{err.Error(), ce.ErrMsg, fmt.Sprintf("%+v", err)} {
					for _, s := range []string{token, triggerToken, secretKey, sessionToken, tcbSession, accessToken, "http://", "seqId", g.Listener.Addr().String()} {
						assert.NotContains(t, text, s)
					}
					if a != "" {
						assert.NotContains(t, text, a)
					}
				}
			})
		}
	}
	t.Run("refused", func(t *testing.T) {
		_, err := (&cloudcall.Client{}).Call(context.Background(), env("http://127.0.0.1:1/admin"), api, week)
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "http://")
		assert.NotContains(t, err.Error(), secretKey)
	})
}

// TestCallConcurrent: one counter per Client, each call its own sequence number.
func TestCallConcurrent(t *testing.T) {
	var mu sync.Mutex
	seqs := map[string]bool{}
	g := newGateway(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seqs[r.URL.Query().Get("seqId")] = true
		mu.Unlock()
		ok(w, r)
	})
	c := &cloudcall.Client{Now: func() time.Time { return time.UnixMilli(1700000000123) }}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Call(context.Background(), env(g.URL+"/admin"), api, week)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	want := map[string]bool{}
	for i := 1; i <= 20; i++ {
		want[fmt.Sprintf("18bcfe5687b_%x", i)] = true
	}
	assert.Equal(t, want, seqs)
}

func TestErrorText(t *testing.T) {
	e := &cloudcall.Error{Code: -604101, ErrMsg: "system error: error code: -604101"}
	assert.Equal(t, "errCode -604101: system error: error code: -604101", e.Error())
	assert.False(t, errors.Is(e, cloudcall.ErrNoToken))
	assert.True(t, strings.HasPrefix(cloudcall.ErrNoToken.Error(), "missing wxCloudApiToken"))
}
