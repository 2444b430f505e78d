package openapi_test

// Regression tests for issue 10, one or more per numbered item, and for
// each README/SECURITY claim of its item 14. Expected values are literals,
// never the constants under test.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/openapi"
)

// waitFor bounds a wait that only a regression makes long.
const waitFor = 5 * time.Second

func daily() (*openapi.Method, openapi.Params) {
	m, _ := openapi.Lookup("getDailyRetain")
	p := m.Params()
	if err := json.Unmarshal([]byte(`{"beginDate":"20170313","endDate":"20170313"}`), p); err != nil {
		panic(err)
	}
	return &m, p
}

// stableSource behaves as /cgi-bin/stable_token: the same token until a
// force refresh replaces it.
type stableSource struct {
	clk    *clock
	hook   func(ctx context.Context, n int) error // called on the n-th Token, if set
	forced chan string                            // gets each forced token, if set

	mu     sync.Mutex
	cur    string
	calls  int
	forces int
}

func (s *stableSource) Token(ctx context.Context) (*openapi.Token, error) {
	s.mu.Lock()
	s.calls++
	n, tok := s.calls, s.cur
	s.mu.Unlock()
	if s.hook != nil {
		if err := s.hook(ctx, n); err != nil {
			return nil, err
		}
	}
	return &openapi.Token{AccessToken: tok, Expiry: s.clk.Now().Add(2 * time.Hour)}, nil
}

func (s *stableSource) ForceRefresh(context.Context) (*openapi.Token, error) {
	s.mu.Lock()
	s.forces++
	s.cur = fmt.Sprint("FORCED-", s.forces)
	tok := s.cur
	s.mu.Unlock()
	if s.forced != nil {
		s.forced <- tok
	}
	return &openapi.Token{AccessToken: tok, Expiry: s.clk.Now().Add(2 * time.Hour)}, nil
}

func (s *stableSource) forceCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.forces
}

// Item 1: an error shared by every waiter of a failed token fetch is never
// changed; each caller's result names its own method.
func TestSharedTokenErrorNamesEachCallersMethod(t *testing.T) {
	shared := &openapi.Error{Code: 40013, Msg: "access_token: invalid appid"}
	release := make(chan struct{})
	w := newWeChat(t)
	sources := map[string]openapi.TokenSource{
		"one error value for every fetch": tokenFunc(func(context.Context) (*openapi.Token, error) {
			<-release
			return nil, shared
		}),
		"one failed fetch for every waiter": &openapi.StableToken{BaseURL: w.URL, AppID: "wx1", Secret: "WRONG-secret"},
	}
	for name, src := range sources {
		t.Run(name, func(t *testing.T) {
			release = make(chan struct{})
			c := w.client(src)
			var started, done sync.WaitGroup
			for i := range 32 {
				started.Add(1)
				done.Go(func() {
					m, p := weekly()
					if i%2 == 1 {
						m, p = daily()
					}
					started.Done()
					_, err := c.Call(context.Background(), m, p)
					var e *openapi.Error
					if assert.ErrorAs(t, err, &e) {
						assert.Equal(t, "analysis."+m.Name, e.API)
						assert.True(t, strings.HasPrefix(e.ErrMsg(), "openapi.analysis."+m.Name+":fail access_token: "), e.ErrMsg())
					}
				})
			}
			started.Wait()
			close(release)
			done.Wait()
		})
	}
	assert.Empty(t, shared.API, "the source's error is never changed")
	assert.Equal(t, "openapi.analysis:fail access_token: invalid appid", shared.ErrMsg())
	assert.Zero(t, w.apiCalls.Load())
}

// Item 2: in a token's last minutes every call is served with it while the
// refresh stalls in the background.
func TestRefreshAheadNeverBlocksCallers(t *testing.T) {
	clk := newClock()
	var calls atomic.Int64
	stalled := make(chan struct{})
	defer close(stalled)
	src := tokenFunc(func(ctx context.Context) (*openapi.Token, error) {
		if calls.Add(1) > 1 {
			select { // a token endpoint that does not answer
			case <-stalled:
			case <-ctx.Done():
			}
			return nil, &openapi.Error{Code: openapi.CodeTimeout, Msg: "stalled"}
		}
		return &openapi.Token{AccessToken: "T1", Expiry: clk.Now().Add(2 * time.Hour)}, nil
	})
	w := newWeChat(t)
	var (
		mu   sync.Mutex
		seen []string
	)
	w.setAPI(func(_ int64, tok string, rw http.ResponseWriter, _ []byte) {
		mu.Lock()
		seen = append(seen, tok)
		mu.Unlock()
		io.WriteString(rw, `{"visit_uv":[]}`)
	})
	c := w.client(src, openapi.WithClock(clk.Now))
	m, p := weekly()
	_, err := c.Call(context.Background(), m, p)
	require.NoError(t, err)
	clk.advance(2*time.Hour - time.Minute) // due for refresh, still valid
	for range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		_, err := c.Call(ctx, m, p)
		cancel()
		require.NoError(t, err, "a valid cached token is served without waiting for its refresh")
	}
	mu.Lock()
	assert.Equal(t, []string{"T1", "T1", "T1", "T1", "T1", "T1"}, seen)
	mu.Unlock()
	require.Eventually(t, func() bool { return calls.Load() == 2 }, waitFor, time.Millisecond, "one refresh, in the background")
}

// Item 3: a rejection that arrives while a refresh-ahead fetch is under way
// is acted on: the refused token is force-refreshed, and the older fetch's
// answer does not bring it back.
func TestRejectionRacingARefreshIsNotLost(t *testing.T) {
	clk := newClock()
	third := make(chan struct{})
	secondDone := make(chan struct{})
	src := &stableSource{clk: clk, cur: "T0"}
	src.hook = func(ctx context.Context, n int) error {
		switch n {
		case 2: // the refresh-ahead fetch, held until the rejection's own fetch has begun
			defer close(secondDone)
			select {
			case <-third:
			case <-ctx.Done():
				return ctx.Err()
			}
		case 3:
			close(third)
		}
		return nil
	}
	c := openapi.NewTokenCache(src, 5*time.Minute)
	c.SetClock(clk.Now)
	tok, err := c.Token(context.Background())
	require.NoError(t, err)
	require.Equal(t, "T0", tok.AccessToken)
	clk.advance(2*time.Hour - time.Minute)
	tok, err = c.Token(context.Background()) // starts the refresh-ahead fetch
	require.NoError(t, err)
	require.Equal(t, "T0", tok.AccessToken)

	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	next, err := c.Reject(ctx, "T0")
	require.NoError(t, err, "the rejection does not wait for, nor reuse, the fetch begun before it")
	assert.Equal(t, "FORCED-1", next.AccessToken)
	select {
	case <-secondDone:
	case <-ctx.Done():
		t.Fatal("the refresh-ahead fetch never ended")
	}
	tok, err = c.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "FORCED-1", tok.AccessToken, "the older fetch's answer, the refused token, is not cached")
	assert.Equal(t, 1, src.forceCount())
}

// Item 3: a rejection that arrives while callers wait for a fetch (no
// valid token) starts a fetch that knows of it, rather than wait for one
// that would bring the refused token back.
func TestRejectionDuringAFetchIsNotLost(t *testing.T) {
	clk := newClock()
	secondStarted, third := make(chan struct{}), make(chan struct{})
	src := &stableSource{clk: clk, cur: "T0"}
	src.hook = func(ctx context.Context, n int) error {
		switch n {
		case 2:
			close(secondStarted)
			select {
			case <-third:
			case <-ctx.Done():
				return ctx.Err()
			}
		case 3:
			close(third)
		}
		return nil
	}
	c := openapi.NewTokenCache(src, 5*time.Minute)
	c.SetClock(clk.Now)
	_, err := c.Token(context.Background())
	require.NoError(t, err)
	clk.advance(2*time.Hour + time.Second) // T0 has expired: callers wait for a fetch
	waiter := make(chan error, 1)
	go func() {
		_, err := c.Token(context.Background())
		waiter <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	select {
	case <-secondStarted:
	case <-ctx.Done():
		t.Fatal("no fetch")
	}
	next, err := c.Reject(ctx, "T0") // a call made with T0 before it expired, refused
	require.NoError(t, err)
	assert.Equal(t, "FORCED-1", next.AccessToken)
	require.NoError(t, <-waiter)
	tok, err := c.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "FORCED-1", tok.AccessToken)
}

// Item 4: force refreshes are rationed per day (China Standard Time), 30 s
// apart at first and twice as long after each, at most an hour.
func TestForceBudgetPerDayWithBackoff(t *testing.T) {
	clk := newClock() // 2026-11-24 10:00 CST
	b := openapi.NewForceBudget(10, clk.Now)
	take := func() (bool, time.Time) { return b.Take(context.Background()) }
	ok, _ := take()
	require.True(t, ok)
	for i, d := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
		16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour} {
		ok, next := take()
		require.False(t, ok, "force %d", i+2)
		require.Equal(t, clk.Now().Add(d), next, "force %d waits %s", i+2, d)
		clk.advance(d - time.Second)
		ok, _ = take()
		require.False(t, ok)
		clk.advance(time.Second)
		ok, _ = take()
		require.True(t, ok, "force %d after %s", i+2, d)
	}
	clk.advance(time.Hour)
	ok, next := take()
	require.False(t, ok, "10 a day")
	assert.Equal(t, time.Date(2026, 11, 25, 0, 0, 0, 0, openapi.CST), next)
	clk.advance(next.Sub(clk.Now()))
	ok, _ = take()
	assert.True(t, ok, "a new day, a new budget")
}

// Items 4 and 14: a TokenCache force-refreshes a refused stable token at
// most once per 30 s, then with backoff, 10 times a day; a refused token
// it may not force yet is kept only until it may.
func TestRefusedStableTokenForcedWithinTheBudget(t *testing.T) {
	clk := newClock()
	src := &stableSource{clk: clk, cur: "T0"}
	c := openapi.NewTokenCache(src, 5*time.Minute) // the default budget
	c.SetClock(clk.Now)
	ctx := context.Background()
	tok, err := c.Token(ctx)
	require.NoError(t, err)
	reject := func() error {
		next, err := c.Reject(ctx, tok.AccessToken)
		if err == nil {
			tok = next
		}
		return err
	}
	require.NoError(t, reject())
	assert.Equal(t, "FORCED-1", tok.AccessToken)

	clk.advance(29 * time.Second)
	require.Error(t, reject(), "a second force within 30 s")
	assert.Equal(t, 1, src.forceCount())
	assert.Equal(t, clk.Now().Add(time.Second), c.RefreshAt(), "the refused token is kept only until the next force")
	clk.advance(time.Second)
	require.NoError(t, reject())
	assert.Equal(t, "FORCED-2", tok.AccessToken)

	for i, d := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
		16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour} {
		clk.advance(d - time.Second)
		require.Error(t, reject(), "force %d before %s", i+3, d)
		clk.advance(time.Second)
		require.NoError(t, reject(), "force %d after %s", i+3, d)
	}
	assert.Equal(t, 10, src.forceCount())
	clk.advance(time.Hour)
	require.Error(t, reject(), "at most 10 a day")
	assert.Equal(t, time.Date(2026, 11, 25, 0, 0, 0, 0, openapi.CST), c.RefreshAt())
	assert.Equal(t, 10, src.forceCount())
}

// Item 4: when the next force is allowed, a kept refused token is replaced
// without waiting for another rejection.
func TestRefusedTokenReplacedWhenTheNextForceIsAllowed(t *testing.T) {
	clk := newClock()
	src := &stableSource{clk: clk, cur: "T0", forced: make(chan string, 4)}
	c := openapi.NewTokenCache(src, 5*time.Minute)
	c.SetClock(clk.Now)
	ctx := context.Background()
	_, err := c.Token(ctx)
	require.NoError(t, err)
	_, err = c.Reject(ctx, "T0")
	require.NoError(t, err)
	require.Equal(t, "FORCED-1", <-src.forced)
	_, err = c.Reject(ctx, "FORCED-1")
	require.Error(t, err, "no force allowed yet")

	clk.advance(30 * time.Second)
	tok, err := c.Token(ctx)
	require.NoError(t, err)
	assert.Equal(t, "FORCED-1", tok.AccessToken, "served while it is replaced")
	select {
	case forced := <-src.forced:
		assert.Equal(t, "FORCED-2", forced)
	case <-time.After(waitFor):
		t.Fatal("the refused token was not force-refreshed once allowed")
	}
	require.Eventually(t, func() bool {
		tok, err := c.Token(ctx)
		return err == nil && tok.AccessToken == "FORCED-2"
	}, waitFor, time.Millisecond)
}

// Item 5: one call sends at most 3 requests, the retry after a token
// refresh included.
func TestAtMostThreeRequestsIncludingTheRetryAfterARefresh(t *testing.T) {
	for name, codes := range map[string][]int{
		"-1, 40001, -1":  {-1, 40001, -1, -1},
		"40001, -1, -1":  {40001, -1, -1, -1},
		"-1, -1, 40001":  {-1, -1, 40001, -1},
		"40001 then 503": {40001, 503, 503, 503},
	} {
		t.Run(name, func(t *testing.T) {
			w := newWeChat(t)
			w.setAPI(func(n int64, tok string, rw http.ResponseWriter, b []byte) {
				code := codes[min(int(n), len(codes))-1]
				if code == 503 {
					rw.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				errcode(code, "x")(n, tok, rw, b)
			})
			var n atomic.Int64
			src := tokenFunc(func(context.Context) (*openapi.Token, error) {
				return &openapi.Token{AccessToken: fmt.Sprint("T", n.Add(1))}, nil
			})
			var stats openapi.CallStats
			m, p := weekly()
			_, err := w.client(src).Call(openapi.WithStats(context.Background(), &stats), m, p)
			require.Error(t, err)
			assert.EqualValues(t, 3, w.apiCalls.Load())
			assert.Equal(t, 3, stats.Attempts)
		})
	}
}

// pauses records the client's waits between attempts instead of sleeping.
type pauses struct {
	mu sync.Mutex
	d  []time.Duration
}

func (p *pauses) sleep(_ context.Context, d time.Duration) bool {
	p.mu.Lock()
	p.d = append(p.d, d)
	p.mu.Unlock()
	return true
}

func (p *pauses) all() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Duration(nil), p.d...)
}

func noJitter(int64) int64 { return 0 }

// Items 5 and 14: a 429 is retried, after at least its Retry-After, given in
// seconds or as an HTTP date; one that would end past the deadline is not.
func TestTooManyRequestsHonoursRetryAfter(t *testing.T) {
	clk := newClock()
	tests := []struct {
		name, retryAfter string
		want             []time.Duration
	}{
		{"none: the backoff", "", []time.Duration{100 * time.Millisecond}},
		{"seconds", "7", []time.Duration{7 * time.Second}},
		{"HTTP date", clk.Now().Add(9 * time.Second).UTC().Format(http.TimeFormat), []time.Duration{9 * time.Second}},
		{"HTTP date passed", clk.Now().Add(-time.Minute).UTC().Format(http.TimeFormat), []time.Duration{100 * time.Millisecond}},
		{"shorter than the backoff", "0", []time.Duration{100 * time.Millisecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWeChat(t)
			w.setAPI(func(n int64, _ string, rw http.ResponseWriter, _ []byte) {
				if n == 1 {
					if tc.retryAfter != "" {
						rw.Header().Set("Retry-After", tc.retryAfter)
					}
					rw.WriteHeader(http.StatusTooManyRequests)
					return
				}
				io.WriteString(rw, `{"visit_uv":[],"ref_date":"second"}`)
			})
			p := &pauses{}
			c := w.client(nil, openapi.WithClock(clk.Now), openapi.WithRetries(3, 200*time.Millisecond), openapi.WithPause(p.sleep, noJitter))
			m, params := weekly()
			out, err := c.Call(context.Background(), m, params)
			require.NoError(t, err, "a 429 is retried")
			assert.Contains(t, string(out), `"refDate":"second"`)
			assert.Equal(t, tc.want, p.all())
			assert.EqualValues(t, 2, w.apiCalls.Load())
		})
	}

	t.Run("past the deadline", func(t *testing.T) {
		w := newWeChat(t)
		w.setAPI(func(_ int64, _ string, rw http.ResponseWriter, _ []byte) {
			rw.Header().Set("Retry-After", "60")
			rw.WriteHeader(http.StatusTooManyRequests)
		})
		p := &pauses{}
		// The real clock: the deadline is the context's.
		c := w.client(nil, openapi.WithRetries(3, 200*time.Millisecond), openapi.WithPause(p.sleep, noJitter))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		e := callErrCtx(t, ctx, c)
		assert.Equal(t, "openapi.analysis.getWeeklyRetain:fail wechat server internal error, HTTP 429 Too Many Requests", e.ErrMsg())
		assert.Empty(t, p.all(), "no pause that would end past the deadline")
		assert.EqualValues(t, 1, w.apiCalls.Load())
	})
}

func callErrCtx(t *testing.T, ctx context.Context, c *openapi.Client) *openapi.Error {
	t.Helper()
	m, p := weekly()
	out, err := c.Call(ctx, m, p)
	require.Error(t, err, "result %s", out)
	var e *openapi.Error
	require.ErrorAs(t, err, &e)
	return e
}

// Items 5 and 8: a redirect, even to itself forever, is one request and an
// error, whatever HTTP client the function is given.
func TestRedirectLoopIsOneRequestAndAnError(t *testing.T) {
	for name, hc := range map[string]*http.Client{"default client": nil, "client that follows redirects": {}} {
		t.Run(name, func(t *testing.T) {
			w := newWeChat(t)
			w.setAPI(func(_ int64, _ string, rw http.ResponseWriter, _ []byte) {
				rw.Header().Set("Location", weeklyPath)
				rw.WriteHeader(http.StatusFound)
			})
			var opts []openapi.Option
			if hc != nil {
				opts = append(opts, openapi.WithHTTPClient(hc))
			}
			e := callErr(t, w.client(openapi.StaticToken("STATIC-token-1"), opts...))
			assert.Equal(t, openapi.CodeInternal, e.Code)
			assert.Equal(t, "openapi.analysis.getWeeklyRetain:fail wechat server internal error, HTTP 302 Found: "+
				"a redirect, which WeChat never sends; not followed", e.ErrMsg())
			assert.EqualValues(t, 1, w.apiCalls.Load())
		})
	}
}

const weeklyPath = "/datacube/getweanalysisappidweeklyretaininfo"

// elsewhere is a host a redirect points to; it must never be asked.
func elsewhere(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		rw.Header().Set("Content-Type", "application/json")
		io.WriteString(rw, `{"access_token":"STOLEN-token-1","expires_in":7200,"ref_date":"from elsewhere"}`)
	}))
	t.Cleanup(s.Close)
	return s, &hits
}

// Item 8: a 307 from the token endpoint does not re-POST the AppSecret to
// another host; a 302 from an analysis endpoint is an error, not the other
// host's answer.
func TestRedirectsAreRefused(t *testing.T) {
	for name, hc := range map[string]*http.Client{"default client": nil, "client that follows redirects": {}} {
		t.Run(name, func(t *testing.T) {
			other, hits := elsewhere(t)
			redirector := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				http.Redirect(rw, r, other.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
			}))
			defer redirector.Close()

			src := &openapi.StableToken{BaseURL: redirector.URL, AppID: "wx1", Secret: secret, HTTPClient: hc}
			_, err := src.Token(context.Background())
			var e *openapi.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, "access_token: wechat server internal error, HTTP 307 Temporary Redirect: a redirect, which WeChat never sends; not followed", e.Msg)
			assert.NotContains(t, e.Error(), secret)

			w := newWeChat(t)
			w.setAPI(func(_ int64, _ string, rw http.ResponseWriter, _ []byte) {
				rw.Header().Set("Location", other.URL+weeklyPath)
				rw.WriteHeader(http.StatusFound)
				io.WriteString(rw, `{"visit_uv":[],"ref_date":"the redirect's own body"}`)
			})
			var opts []openapi.Option
			if hc != nil {
				opts = append(opts, openapi.WithHTTPClient(hc))
			}
			e = callErr(t, w.client(nil, opts...))
			assert.Equal(t, openapi.CodeInternal, e.Code)
			assert.Contains(t, e.Msg, "HTTP 302 Found: a redirect")
			assert.Zero(t, hits.Load(), "the other host is never asked")
		})
	}
}

// Item 9: an errmsg or an answer that echoes the access token or the
// AppSecret is scrubbed, in the message and in the body kept.
func TestEchoedSecretsAreScrubbed(t *testing.T) {
	const tok = "TOKEN-echoed-abc123"
	w := newWeChat(t)
	w.token = func(int64, bool) (string, int) { return tok, 7200 }
	w.setAPI(errcode(40097, "invalid args: access_token="+tok+" appsecret="+secret))
	e := callErr(t, w.client(nil))
	assert.Equal(t, "openapi.analysis.getWeeklyRetain:fail invalid args: access_token=REDACTED appsecret=REDACTED", e.ErrMsg())
	assert.NotContains(t, string(e.Body), tok)
	assert.NotContains(t, string(e.Body), secret)

	w.setAPI(func(_ int64, _ string, rw http.ResponseWriter, _ []byte) {
		fmt.Fprintf(rw, `{"visit_uv":[],"ref_date":%q,"note":%q}`, tok, secret)
	})
	m, p := weekly()
	out, err := w.client(nil).Call(context.Background(), m, p)
	require.NoError(t, err)
	assert.Equal(t, `{"visitUv":[],"refDate":"REDACTED","note":"REDACTED","errMsg":"openapi.analysis.getWeeklyRetain:ok","errCode":0}`, string(out))

	// The token endpoint may echo what it was sent.
	echo := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(rw, `{"errcode":40125,"errmsg":%q}`, "invalid appsecret, request "+string(b))
	}))
	defer echo.Close()
	_, err = (&openapi.StableToken{BaseURL: echo.URL, AppID: "wx1", Secret: secret}).Token(context.Background())
	require.ErrorAs(t, err, &e)
	assert.Contains(t, e.Msg, `"secret":"REDACTED"`)
	assert.NotContains(t, e.Error(), secret)
}

// Items 9 and 14: URL redaction covers every credential-bearing query
// name, and caller-facing messages hold no URL at all.
func TestURLRedaction(t *testing.T) {
	for in, want := range map[string]string{
		"http://h/p?appsecret=s1":                        "http://h/p?appsecret=REDACTED",
		"http://h/p?token=t1&x=1":                        "http://h/p?token=REDACTED&x=1",
		"http://h/p?key=k1":                              "http://h/p?key=REDACTED",
		"http://h/p?client_secret=c1&client_id=i":        "http://h/p?client_id=i&client_secret=REDACTED",
		"http://h/p?api_key=a&service_token=b&Secret=c":  "http://h/p?Secret=REDACTED&api_key=REDACTED&service_token=REDACTED",
		"http://h/p?authorizer_access_token=a&appid=wx1": "http://h/p?appid=wx1&authorizer_access_token=REDACTED",
	} {
		assert.Equal(t, want, openapi.RedactURL(in), in)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := "http://" + l.Addr().String()
	l.Close()
	_, err = (&openapi.URLToken{URL: dead + "/token?key=KEY-0123456789abcdef"}).Token(context.Background())
	var e *openapi.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, openapi.CodeNetwork, e.Code)
	assert.NotContains(t, e.Error(), "KEY-0123456789abcdef")
	assert.NotContains(t, e.Error(), dead, "no URL in a caller-facing message")
	var ue *url.Error
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, ue.Error(), "key=REDACTED")
}

// Items 12 and 14: an answer over 6 MiB, or one whose result would be over
// the 6 000 000 bytes a function may return, is a clear error.
func TestAnswerSizeCaps(t *testing.T) {
	over := `{"visit_uv":[],"ref_date":"` + strings.Repeat("a", 6<<20) + `"}`
	for name, chunked := range map[string]bool{"with Content-Length": false, "chunked": true} {
		t.Run(name, func(t *testing.T) {
			w := newWeChat(t)
			w.setAPI(func(_ int64, _ string, rw http.ResponseWriter, _ []byte) {
				if !chunked {
					rw.Header().Set("Content-Length", strconv.Itoa(len(over)))
				}
				io.WriteString(rw, over[:100])
				rw.(http.Flusher).Flush()
				io.WriteString(rw, over[100:])
			})
			e := callErr(t, w.client(nil))
			assert.Equal(t, openapi.CodeInternal, e.Code)
			assert.Equal(t, "openapi.analysis.getWeeklyRetain:fail wechat server internal error, answer larger than 6 MiB, "+
				"more than a cloud function may return", e.ErrMsg())
			assert.EqualValues(t, 1, w.apiCalls.Load())
		})
	}

	t.Run("answer under the cap, result over the limit", func(t *testing.T) {
		// The result is the string and 86 bytes: {"visitUv":[],"refDate":"…","errMsg":"openapi.analysis.getWeeklyRetain:ok","errCode":0}
		answer := func(n int) func(int64, string, http.ResponseWriter, []byte) {
			return func(_ int64, _ string, rw http.ResponseWriter, _ []byte) {
				io.WriteString(rw, `{"visit_uv":[],"ref_date":"`+strings.Repeat("a", n)+`"}`)
			}
		}
		w := newWeChat(t)
		w.setAPI(answer(6_000_000 - 86 + 1))
		e := callErr(t, w.client(nil))
		assert.Equal(t, openapi.CodeInternal, e.Code)
		assert.Equal(t, "system error: the result is 6000001 bytes, more than the 6000000 a cloud function may return", e.Msg)

		w.setAPI(answer(6_000_000 - 86))
		m, p := weekly()
		out, err := w.client(nil).Call(context.Background(), m, p)
		require.NoError(t, err)
		assert.Len(t, out, 6_000_000)
	})
}

// Items 13 and 14: getPerformanceData's span is plain integer arithmetic;
// module is digits only; timestamps are seconds up to 10^11.
func TestPerformanceSpanModuleAndTimestamps(t *testing.T) {
	tests := []struct {
		name string
		p    *openapi.PerformanceParams
		code int
		msg  string
	}{
		{"ten billion seconds", perf("10022", 1600000000, 11600000000), 61501, "spans 115740.7 days; the most is 30"},
		{"plus sign", perf("+10022", 1609603200, 1609603200), 40097, `module "+10022" must be one of`},
		{"minus sign", perf("-10022", 1609603200, 1609603200), 40097, "must be one of"},
		{"space", perf(" 10022", 1609603200, 1609603200), 40097, "must be one of"},
		{"largest seconds", perf("10022", 100000000000, 100000000000), 0, ""},
		{"beyond seconds", perf("10022", 100000000001, 100000000001), 61500, "time.beginTimestamp 100000000001 must be in seconds, not milliseconds"},
		{"milliseconds of 2001", perf("10022", 978307200000, 978307200000), 61500, "must be in seconds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Check(time.Now())
			if tc.code == 0 {
				require.NoError(t, err)
				return
			}
			var e *openapi.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.code, e.Code)
			assert.Contains(t, e.Msg, tc.msg)
		})
	}
}

// Item 14: the default refresh margin is 5 minutes, or half of a shorter
// life; a token is refreshed once its margin begins.
func TestDefaultRefreshMargin(t *testing.T) {
	for _, tc := range []struct {
		life, refreshAfter time.Duration
	}{
		{2 * time.Hour, 2*time.Hour - 5*time.Minute},
		{11 * time.Minute, 6 * time.Minute},
		{8 * time.Minute, 4 * time.Minute},
	} {
		t.Run(tc.life.String(), func(t *testing.T) {
			clk := newClock()
			fetched := make(chan struct{}, 2)
			src := tokenFunc(func(context.Context) (*openapi.Token, error) {
				fetched <- struct{}{}
				return &openapi.Token{AccessToken: "T", Expiry: clk.Now().Add(tc.life)}, nil
			})
			c, err := openapi.NewClient(src, openapi.WithClock(clk.Now))
			require.NoError(t, err)
			_, err = c.Tokens().Token(context.Background())
			require.NoError(t, err)
			<-fetched
			assert.Equal(t, clk.Now().Add(tc.refreshAfter), c.Tokens().RefreshAt())

			clk.advance(tc.refreshAfter)
			_, err = c.Tokens().Token(context.Background())
			require.NoError(t, err)
			select {
			case <-fetched:
			case <-time.After(waitFor):
				t.Fatal("no refresh once the margin began")
			}
		})
	}
}

// Item 14: each token fetch is bounded by 10 s, whoever waits for it.
func TestTokenFetchTimeoutIsTenSeconds(t *testing.T) {
	var (
		deadline time.Time
		ok       bool
	)
	src := tokenFunc(func(ctx context.Context) (*openapi.Token, error) {
		deadline, ok = ctx.Deadline()
		return &openapi.Token{AccessToken: "T"}, nil
	})
	before := time.Now()
	_, err := openapi.NewTokenCache(src, 5*time.Minute).Token(context.Background())
	after := time.Now()
	require.NoError(t, err)
	require.True(t, ok, "the fetch has a deadline though its caller has none")
	assert.WithinRange(t, deadline, before.Add(10*time.Second), after.Add(10*time.Second))
}

// Item 14: a token answer must give a positive whole number of seconds.
func TestExpiresInMustBePositive(t *testing.T) {
	for _, tc := range []struct {
		expiresIn string
		ok        bool
	}{
		{`7200`, true}, {`1`, true}, {`0`, false}, {`-5`, false}, {`7200.5`, false}, {`null`, true},
	} {
		t.Run(tc.expiresIn, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
				fmt.Fprintf(rw, `{"access_token":"TOKEN-x","expires_in":%s}`, tc.expiresIn)
			}))
			defer srv.Close()
			tok, err := (&openapi.URLToken{URL: srv.URL}).Token(context.Background())
			if tc.ok {
				require.NoError(t, err)
				assert.Equal(t, "TOKEN-x", tok.AccessToken)
				return
			}
			var e *openapi.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, openapi.CodeInternal, e.Code)
			assert.Contains(t, e.Msg, "access_token: token endpoint answered")
		})
	}
}

// Item 14: 40001, 40014 and 42001 are token refusals: the token is replaced
// and the call retried once.
func TestTokenRefusalCodes(t *testing.T) {
	for _, code := range []int{40001, 40014, 42001} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			w := newWeChat(t)
			w.setAPI(func(n int64, tok string, rw http.ResponseWriter, b []byte) {
				if tok == "T1" {
					errcode(code, "refused")(n, tok, rw, b)
					return
				}
				io.WriteString(rw, `{"visit_uv":[],"ref_date":"with `+tok+`"}`)
			})
			var n atomic.Int64
			src := tokenFunc(func(context.Context) (*openapi.Token, error) {
				return &openapi.Token{AccessToken: fmt.Sprint("T", n.Add(1))}, nil
			})
			var stats openapi.CallStats
			m, p := weekly()
			out, err := w.client(src).Call(openapi.WithStats(context.Background(), &stats), m, p)
			require.NoError(t, err)
			assert.Contains(t, string(out), `"refDate":"with T2"`)
			assert.Equal(t, 1, stats.TokenRefreshes)
			assert.EqualValues(t, 2, w.apiCalls.Load())
		})
	}
}

// Item 14: the pause before attempt n+1 is backoff·2^(n-1), half of it
// fixed and half jitter.
func TestBackoffIsExponentialWithJitter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		jitter func(n int64) int64
		want   []time.Duration
	}{
		{"least jitter", noJitter, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}},
		{"most jitter", func(n int64) int64 { return n - 1 }, []time.Duration{200 * time.Millisecond, 400 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWeChat(t)
			w.setAPI(errcode(-1, "system error"))
			p := &pauses{}
			callErr(t, w.client(nil, openapi.WithRetries(3, 200*time.Millisecond), openapi.WithPause(p.sleep, tc.jitter)))
			assert.Equal(t, tc.want, p.all())
		})
	}

	t.Run("default jitter varies", func(t *testing.T) {
		w := newWeChat(t)
		w.setAPI(errcode(-1, "system error"))
		p := &pauses{}
		c := w.client(nil, openapi.WithRetries(2, 200*time.Millisecond), openapi.WithPause(p.sleep, nil))
		for range 8 {
			callErr(t, c)
		}
		got := p.all()
		require.Len(t, got, 8)
		distinct := map[time.Duration]bool{}
		for _, d := range got {
			assert.GreaterOrEqual(t, d, 100*time.Millisecond)
			assert.LessOrEqual(t, d, 200*time.Millisecond)
			distinct[d] = true
		}
		assert.Greater(t, len(distinct), 1, "instances that failed together do not retry together")
	})
}

// Item 14: no retry is begun whose pause would end past the deadline.
func TestDeadlineCheckedBeforeAPause(t *testing.T) {
	w := newWeChat(t)
	w.setAPI(errcode(-1, "system error"))
	p := &pauses{}
	c := w.client(nil, openapi.WithRetries(3, 4*time.Second), openapi.WithPause(p.sleep, noJitter))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	e := callErrCtx(t, ctx, c)
	assert.Equal(t, -1, e.Code)
	assert.Empty(t, p.all(), "a 2 s pause cannot end before a 1 s deadline")
	assert.EqualValues(t, 1, w.apiCalls.Load())
}

// expiring is a context that ends when told: a deadline reached at a
// chosen point rather than at a time.
type expiring struct {
	context.Context
	done chan struct{}
	once sync.Once
}

func newExpiring() *expiring {
	return &expiring{Context: context.Background(), done: make(chan struct{})}
}

func (c *expiring) Done() <-chan struct{} { return c.done }

func (c *expiring) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

func (c *expiring) expire() { c.once.Do(func() { close(c.done) }) }

// answerThenExpire answers body, and the call's deadline passes as it does.
type answerThenExpire struct {
	ctx  *expiring
	body []byte
}

func (a answerThenExpire) RoundTrip(context.Context, *openapi.Request) (*openapi.Response, error) {
	a.ctx.expire()
	return &openapi.Response{Status: 200, ContentType: "application/json", Body: a.body}, nil
}

// Item 11: a long conversion notices the deadline: a large answer received
// just as the deadline passes is -601008, not a late success.
func TestConversionNoticesTheDeadline(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`{`)
	for i := range 5000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"\u0061_b%04d":%d`, i, i)
	}
	b.WriteString(`}`)
	for name, body := range map[string][]byte{"object": b.Bytes(), "array": append(append([]byte(`[`), b.Bytes()...), ']')} {
		t.Run(name, func(t *testing.T) {
			ctx := newExpiring()
			c, err := openapi.NewClient(openapi.NoToken, openapi.WithTransport(answerThenExpire{ctx, body}))
			require.NoError(t, err)
			m, p := weekly()
			out, err := c.Call(ctx, m, p)
			var e *openapi.Error
			require.ErrorAs(t, err, &e, "result of %d bytes", len(out))
			assert.Equal(t, openapi.CodeTimeout, e.Code)
		})
	}
}

// The fuzz corpus of FuzzDateRange must be there: a missing one fails.
func TestDateFuzzCorpusPresent(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDateRange")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		assert.True(t, bytes.HasPrefix(b, []byte("go test fuzz v1")), e.Name())
	}
}
