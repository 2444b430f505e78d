package h1

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawServer accepts loopback connections and hands each, with its number
// (from 1), to serve; it closes them all and waits for serve at cleanup.
type rawServer struct {
	l     net.Listener
	conns atomic.Int64
}

func newRawServer(t *testing.T, serve func(c net.Conn, br *bufio.Reader, n int64)) *rawServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &rawServer{l: l}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			n := s.conns.Add(1)
			wg.Go(func() { defer c.Close(); serve(c, bufio.NewReader(c), n) })
		}
	})
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return s
}

func (s *rawServer) url() string { return "http://" + s.l.Addr().String() + "/wxa/x?access_token=T" }

// readRequest reads one request as net/http's server would; false at the
// connection's end.
func readRequest(br *bufio.Reader) (*http.Request, []byte, bool) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, nil, false
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, nil, false
	}
	return req, body, true
}

// answering answers every request on a connection with answer.
func answering(answer string) func(net.Conn, *bufio.Reader, int64) {
	return func(c net.Conn, br *bufio.Reader, _ int64) {
		for {
			if _, _, ok := readRequest(br); !ok {
				return
			}
			if _, err := io.WriteString(c, answer); err != nil {
				return
			}
		}
	}
}

func do(t *testing.T, c *Client, url string) (Response, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var buf bytes.Buffer
	r, err := c.Do(ctx, "POST", url, "application/json", []byte(`{"a":1}`), &buf, 1<<10)
	return r, buf.String(), err
}

func TestAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, answer, body, contentType string
		status                          int
		reused                          bool // a second request goes on the same connection
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
			`{"a":1}`, "application/json; charset=utf-8", 200, true},
		{"chunked, extensions and trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n3;x=y\r\n{\"a\r\n4\r\n\":1}\r\n0\r\nX-Trailer: 1\r\n\r\n",
			`{"a":1}`, "", 200, true},
		{"interim answers first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
			`{}`, "", 200, true},
		{"no content", "HTTP/1.1 204 No Content\r\n\r\n", "", "", 204, true},
		{"a bare LF and no reason phrase", "HTTP/1.1 500\nContent-Length: 2\nContent-Type: text/odd\n\nno",
			"no", "text/odd", 500, true},
		{"close", "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 2\r\n\r\n{}", `{}`, "", 200, false},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", `{}`, "", 200, false},
		{"HTTP/1.0 chunked", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", `{}`, "", 200, false},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n{}", `{}`, "", 200, true},
		{"repeated equal lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}", `{}`, "", 200, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newRawServer(t, answering(tc.answer))
			c := new(Client)
			for range 2 {
				r, body, err := do(t, c, s.url())
				require.NoError(t, err)
				assert.Equal(t, tc.status, r.Status)
				assert.Equal(t, tc.body, body)
				assert.Equal(t, tc.contentType, r.ContentType)
			}
			want := int64(2)
			if tc.reused {
				want = 1
			}
			assert.Equal(t, want, s.conns.Load(), "connections for two requests")
		})
	}
}

func TestAnswerToTheConnectionsEnd(t *testing.T) {
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader, _ int64) {
		if _, _, ok := readRequest(br); ok {
			io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\n{\"until\":\"the end\"}")
		}
	})
	c := new(Client)
	for range 2 {
		r, body, err := do(t, c, s.url())
		require.NoError(t, err)
		assert.Equal(t, 200, r.Status)
		assert.Equal(t, `{"until":"the end"}`, body)
	}
	assert.EqualValues(t, 2, s.conns.Load(), "a body that ends with its connection leaves none to reuse")
}

func TestMalformedAnswers(t *testing.T) {
	long := "HTTP/1.1 200 OK\r\nX-Long: " + strings.Repeat("a", 5000) + "\r\n\r\n"
	many := "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-A: 1\r\n", 200) + "\r\n"
	for _, tc := range []struct {
		name, answer string
		protocol     bool // a *ProtocolError, rather than the connection's end
	}{
		{"not HTTP", "SSH-2.0-OpenSSH\r\n\r\n", true},
		{"HTTP/2 preface", "HTTP/2 200\r\n\r\n", true},
		{"status code", "HTTP/1.1 2x0 OK\r\n\r\n", true},
		{"status code under 100", "HTTP/1.1 099 OK\r\n\r\n", true},
		{"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x", true},
		{"negative length", "HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\n", true},
		{"signed length", "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\n{}", true},
		{"length and chunks", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", true},
		{"gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", true},
		{"chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", true},
		{"signed chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+2\r\n{}\r\n0\r\n\r\n", true},
		{"chunk end", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}xx\r\n0\r\n\r\n", true},
		{"folded header", "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 0\r\n\r\n", true},
		{"header without a name", "HTTP/1.1 200 OK\r\n: 1\r\n\r\n", true},
		{"switching protocols", "HTTP/1.1 101 Switching Protocols\r\n\r\n", true},
		{"endless interim answers", strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 20), true},
		{"head line too long", long, true},
		{"too many header fields", many, true},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", false},
		{"head cut off", "HTTP/1.1 200 OK\r\nContent-Le", false},
		{"chunks cut off", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newRawServer(t, func(c net.Conn, br *bufio.Reader, _ int64) {
				if _, _, ok := readRequest(br); ok {
					io.WriteString(c, tc.answer)
				}
			})
			c := new(Client)
			_, _, err := do(t, c, s.url())
			require.Error(t, err)
			var pe *ProtocolError
			assert.Equal(t, tc.protocol, errors.As(err, &pe), "%v", err)
			assert.EqualValues(t, 1, s.conns.Load(), "a connection that answered is never asked again")
			assert.Zero(t, c.idle(s.url()), "nothing pooled after a bad answer")
		})
	}
}

func TestLimit(t *testing.T) {
	big := strings.Repeat("x", 2000)
	for name, answer := range map[string]string{
		"length":  "HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" + big,
		"chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n" + big[:1000] + "\r\n3e8\r\n" + big[:1000] + "\r\n0\r\n\r\n",
		"to EOF":  "HTTP/1.1 200 OK\r\n\r\n" + big,
	} {
		t.Run(name, func(t *testing.T) {
			s := newRawServer(t, func(c net.Conn, br *bufio.Reader, _ int64) {
				if _, _, ok := readRequest(br); ok {
					io.WriteString(c, answer)
				}
			})
			c := new(Client)
			_, body, err := do(t, c, s.url())
			require.ErrorIs(t, err, ErrTooLarge)
			assert.LessOrEqual(t, len(body), 1<<10+1)
			assert.Zero(t, c.idle(s.url()))
		})
	}
}

// TestRequest: what net/http's server reads of a request.
func TestRequest(t *testing.T) {
	type seen struct {
		method, uri, host, contentType, userAgent, body string
		length                                          int64
	}
	got := make(chan seen, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.RequestURI, r.Host, r.Header.Get("Content-Type"), r.UserAgent(), string(b), r.ContentLength}
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	c := new(Client)
	ctx := context.Background()
	var buf bytes.Buffer
	_, err := c.Do(ctx, "POST", srv.URL+"/wxa/getweanalysisappidweeklyretaininfo?access_token=A%2BB", "application/json", []byte(`{"begin_date":"20170306"}`), &buf, 100)
	require.NoError(t, err)
	assert.Equal(t, seen{"POST", "/wxa/getweanalysisappidweeklyretaininfo?access_token=A%2BB", srv.Listener.Addr().String(),
		"application/json", "wxanalysis", `{"begin_date":"20170306"}`, 25}, <-got)

	_, err = c.Do(ctx, "GET", srv.URL+"?q=1", "", nil, &buf, 100)
	require.NoError(t, err)
	assert.Equal(t, seen{"GET", "/?q=1", srv.Listener.Addr().String(), "", "wxanalysis", "", 0}, <-got)
}

func TestSupported(t *testing.T) {
	c := new(Client)
	for url, want := range map[string]bool{
		"https://api.weixin.qq.com/wxa/x?access_token=T": true,
		"http://127.0.0.1:8090/wxa/x":                    true,
		"http://[::1]:8090/wxa/x":                        true,
		"https://[::1]":                                  true,
		"http://host":                                    true,
		"http://user:pass@host/x":                        false,
		"ftp://host/x":                                   false,
		"http://host/x#frag":                             false,
		"http:///x":                                      false,
		"http://host:/x":                                 false,
		"http://ho st/x":                                 false,
		"http://host/a b":                                false,
		"HTTP://host/x":                                  false,
		"":                                               false,
	} {
		assert.Equal(t, want, c.Supported(url), url)
	}
}

// TestSupportedHonoursProxies: a host the environment names a proxy for is
// left to net/http. net/http reads the environment once per process, hence
// a child process.
func TestSupportedHonoursProxies(t *testing.T) {
	if os.Getenv("H1_PROXY_CHILD") == "1" {
		c := new(Client)
		assert.False(t, c.Supported("https://api.weixin.qq.com/x"), "HTTPS_PROXY applies")
		assert.True(t, c.Supported("https://direct.example/x"), "NO_PROXY applies")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSupportedHonoursProxies$", "-test.count=1")
	cmd.Env = append(os.Environ(), "H1_PROXY_CHILD=1", "HTTPS_PROXY=http://proxy.example:3128", "NO_PROXY=direct.example")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// TestStaleConnectionReplaced: a kept connection the server closed while it
// was idle is replaced, once, and the request answered.
func TestStaleConnectionReplaced(t *testing.T) {
	closed := make(chan struct{}, 3)
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader, _ int64) {
		if _, _, ok := readRequest(br); ok {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
		}
		c.Close() // though it said nothing of closing
		closed <- struct{}{}
	})
	c := new(Client)
	for range 3 {
		_, body, err := do(t, c, s.url())
		require.NoError(t, err)
		assert.Equal(t, `{}`, body)
		waitFor(t, closed)
	}
	assert.EqualValues(t, 3, s.conns.Load())
}

// waitFor waits for a signal on ch, at most 10 s.
func waitFor(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no signal from the server")
	}
}

// TestNothingUnsolicitedIsAnAnswer: what a server sends on a connection
// beyond the answer asked for (more bytes, an idle 408 before it closes, a
// body on a 204) is never read as the next request's answer; the
// connection is dropped and the next request gets its own.
func TestNothingUnsolicitedIsAnAnswer(t *testing.T) {
	answer := "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"n\":1}"
	for name, tc := range map[string]struct {
		first  string // the first answer and what comes with it
		later  string // sent once the client has its answer, while the connection is idle
		closes bool   // then the server closes
	}{
		"more bytes with an answer": {first: answer + "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"stray\":1}"},
		"a 204 with a body":         {first: "HTTP/1.1 204 No Content\r\n\r\n{\"stray\":1}"},
		"bytes while idle":          {first: answer, later: "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"stray\":1}"},
		"an idle 408":               {first: answer, later: "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", closes: true},
	} {
		t.Run(name, func(t *testing.T) {
			answered, sent := make(chan struct{}, 1), make(chan struct{}, 1)
			s := newRawServer(t, func(c net.Conn, br *bufio.Reader, n int64) {
				for i := 0; ; i++ {
					if _, _, ok := readRequest(br); !ok {
						return
					}
					if n == 1 && i == 0 {
						io.WriteString(c, tc.first)
						waitFor(t, answered)
						io.WriteString(c, tc.later)
						if tc.closes {
							c.Close()
						}
						sent <- struct{}{}
						continue
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"n\":2}")
				}
			})
			c := new(Client)
			_, _, err := do(t, c, s.url())
			require.NoError(t, err)
			answered <- struct{}{}
			waitFor(t, sent)
			r, body, err := do(t, c, s.url())
			require.NoError(t, err)
			assert.Equal(t, 200, r.Status)
			assert.Equal(t, `{"n":2}`, body, "the second request's own answer")
			assert.EqualValues(t, 2, s.conns.Load())
		})
	}
}

// TestWrittenRequestNeverResent: a request written whole may have been
// acted on, so a connection that ends before its answer, or in the middle
// of it, is an error, not a reason to send it again.
func TestWrittenRequestNeverResent(t *testing.T) {
	for name, tc := range map[string]struct {
		second string // what the server says to the second request before it closes
		err    error
	}{
		"closed before answering": {"", io.EOF},
		"closed mid-answer":       {"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}", io.ErrUnexpectedEOF},
	} {
		t.Run(name, func(t *testing.T) {
			var requests atomic.Int64
			s := newRawServer(t, func(c net.Conn, br *bufio.Reader, n int64) {
				for i := 0; ; i++ {
					if _, _, ok := readRequest(br); !ok {
						return
					}
					requests.Add(1)
					if n == 1 && i == 1 {
						io.WriteString(c, tc.second)
						return // acted on, never answered whole
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
				}
			})
			c := new(Client)
			_, _, err := do(t, c, s.url())
			require.NoError(t, err)
			_, _, err = do(t, c, s.url())
			require.ErrorIs(t, err, tc.err)
			assert.EqualValues(t, 2, requests.Load(), "sent once")
			_, body, err := do(t, c, s.url())
			require.NoError(t, err)
			assert.Equal(t, `{}`, body)
			assert.EqualValues(t, 3, requests.Load())
		})
	}
}

// TestNoBody: HEAD and 304 answers have no body, whatever their
// Content-Length says, and leave the connection usable.
func TestNoBody(t *testing.T) {
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader, _ int64) {
		for {
			req, _, ok := readRequest(br)
			if !ok {
				return
			}
			if req.Method == "HEAD" {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
				continue
			}
			io.WriteString(c, "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n")
		}
	})
	c := new(Client)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, method := range []string{"HEAD", "GET", "HEAD"} {
		var buf bytes.Buffer
		r, err := c.Do(ctx, method, s.url(), "", nil, &buf, 100)
		require.NoError(t, err, method)
		assert.Zero(t, buf.Len())
		assert.NotZero(t, r.Status)
	}
	assert.EqualValues(t, 1, s.conns.Load())
}

// TestDeadlineCleared: a request without a deadline after one with a
// deadline that has since passed is not cut short by the old one.
func TestDeadlineCleared(t *testing.T) {
	s := newRawServer(t, answering("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"))
	c := new(Client)
	var buf bytes.Buffer
	deadline := time.Now().Add(100 * time.Millisecond)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	_, err := c.Do(ctx, "POST", s.url(), "", []byte(`{}`), &buf, 100)
	require.NoError(t, err)
	<-ctx.Done() // the deadline the connection was given has passed
	_, err = c.Do(context.Background(), "POST", s.url(), "", []byte(`{}`), &buf, 100)
	require.NoError(t, err)
	assert.EqualValues(t, 1, s.conns.Load())
}

func TestIdleTimeout(t *testing.T) {
	s := newRawServer(t, answering("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"))
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	c := &Client{IdleTimeout: time.Minute, Now: func() time.Time { return now }}
	_, _, err := do(t, c, s.url())
	require.NoError(t, err)
	now = now.Add(59 * time.Second)
	_, _, err = do(t, c, s.url())
	require.NoError(t, err)
	assert.EqualValues(t, 1, s.conns.Load(), "idle under a minute: reused")
	now = now.Add(time.Minute)
	_, _, err = do(t, c, s.url())
	require.NoError(t, err)
	assert.EqualValues(t, 2, s.conns.Load(), "idle a minute: replaced")
	assert.Equal(t, 1, c.idle(s.url()))
}

func TestMaxIdle(t *testing.T) {
	release := make(chan struct{})
	var arrived sync.WaitGroup
	arrived.Add(3)
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader, _ int64) {
		for first := true; ; first = false {
			if _, _, ok := readRequest(br); !ok {
				return
			}
			if first {
				arrived.Done()
				<-release
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
		}
	})
	c := &Client{MaxIdle: 2}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { _, _, err := do(t, c, s.url()); assert.NoError(t, err) })
	}
	arrived.Wait() // three requests at once: three connections
	close(release)
	wg.Wait()
	assert.EqualValues(t, 3, s.conns.Load())
	assert.Equal(t, 2, c.idle(s.url()), "at most MaxIdle kept")
}

func TestContext(t *testing.T) {
	hang := make(chan struct{})
	arrived := make(chan struct{}, 3)
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader, _ int64) {
		if _, _, ok := readRequest(br); ok {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{")
			arrived <- struct{}{}
			select { // bounded, should the client not honour its context
			case <-hang:
			case <-time.After(10 * time.Second):
			}
		}
	})
	defer close(hang)
	c := new(Client)
	var buf bytes.Buffer

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Do(ctx, "POST", s.url(), "", []byte(`{}`), &buf, 100)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// A context whose timer fires late: Do's deadline error comes only once
	// the context says so too, for callers that ask it whose deadline it was.
	late := &lateContext{Context: context.Background(), deadline: time.Now().Add(50 * time.Millisecond), done: make(chan struct{})}
	time.AfterFunc(150*time.Millisecond, func() { late.err.Store(true); close(late.done) })
	_, err = c.Do(late, "POST", s.url(), "", []byte(`{}`), &buf, 100)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorIs(t, late.Err(), context.DeadlineExceeded, "the context is done when Do returns its deadline")

	for len(arrived) > 0 {
		<-arrived
	}
	ctx, cancel = context.WithCancel(context.Background())
	go func() {
		select { // cancelled once the request is with the server, its answer begun
		case <-arrived:
		case <-time.After(10 * time.Second):
		}
		cancel()
	}()
	_, err = c.Do(ctx, "POST", s.url(), "", []byte(`{}`), &buf, 100)
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, c.idle(s.url()), "a connection interrupted is not kept")

	_, err = c.Do(ctx, "POST", s.url(), "", []byte(`{}`), &buf, 100)
	require.ErrorIs(t, err, context.Canceled, "a context already done")
}

// lateContext reports its deadline, but its Done closes only later.
type lateContext struct {
	context.Context
	deadline time.Time
	done     chan struct{}
	err      atomic.Bool
}

func (c *lateContext) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *lateContext) Done() <-chan struct{}       { return c.done }
func (c *lateContext) Err() error {
	if c.err.Load() {
		return context.DeadlineExceeded
	}
	return nil
}

func TestTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "HTTP/1.1", r.Proto)
		w.Write([]byte(`{"tls":true}`))
	}))
	var conns atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	srv.StartTLS()
	defer srv.Close()

	_, _, err := do(t, new(Client), srv.URL)
	var unknown x509.UnknownAuthorityError
	require.ErrorAs(t, err, &unknown, "the certificate is checked")

	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	c := &Client{TLS: srv.Client().Transport.(*http.Transport).TLSClientConfig}
	c.TLS.RootCAs = roots
	for range 3 {
		_, body, err := do(t, c, srv.URL+"/x")
		require.NoError(t, err)
		assert.Equal(t, `{"tls":true}`, body)
	}
	assert.EqualValues(t, 2, conns.Load(), "one refused, one kept for three requests")

	// A server that would speak HTTP/2 is asked for HTTP/1.1 alone, whatever
	// the configuration given offers.
	h2 := httptest.NewUnstartedServer(srv.Config.Handler)
	h2.EnableHTTP2 = true
	h2.StartTLS()
	defer h2.Close()
	roots2 := x509.NewCertPool()
	roots2.AddCert(h2.Certificate())
	c2 := &Client{TLS: &tls.Config{RootCAs: roots2, NextProtos: []string{"h2", "http/1.1"}}}
	_, body, err := do(t, c2, h2.URL)
	require.NoError(t, err)
	assert.Equal(t, `{"tls":true}`, body)

	// The certificate is for 127.0.0.1 and example.com: another name fails.
	c = &Client{TLS: c.TLS}
	_, _, err = do(t, c, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1))
	var host x509.HostnameError
	require.ErrorAs(t, err, &host)
}

func FuzzReadResponse(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;a=b\r\n{}\r\n0\r\nT: 1\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\nabc",
		"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var buf bytes.Buffer
		r, _, err := readResponse(bufio.NewReaderSize(bytes.NewReader(data), 4096), "POST", &buf, 64)
		if err != nil {
			return
		}
		if buf.Len() > 64 {
			t.Fatalf("read %d bytes, over the limit of 64", buf.Len())
		}
		if r.Status < 200 || r.Status > 999 {
			t.Fatalf("status %d answered", r.Status)
		}
	})
}

func BenchmarkDo(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`{"list":[{"ref_date":"20170306-20170312","visit_uv_new":[{"key":0,"value":0}]}]}`))
	}))
	defer srv.Close()
	body := []byte(`{"begin_date":"20170306","end_date":"20170312"}`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()

	b.Run("h1", func(b *testing.B) {
		c := new(Client)
		var buf bytes.Buffer
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			if _, err := c.Do(ctx, "POST", srv.URL+"/wxa/x?access_token=T", "application/json", body, &buf, 1<<20); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("net-http", func(b *testing.B) {
		hc := srv.Client()
		var buf bytes.Buffer
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/wxa/x?access_token=T", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			buf.ReadFrom(resp.Body)
			resp.Body.Close()
		}
	})
}

// idle is the number of connections pooled for url's host.
func (c *Client) idle(url string) int {
	t, _ := split(url)
	c.mu.Lock()
	defer c.mu.Unlock()
	if h := c.hosts[t.key]; h != nil {
		return len(h.idle)
	}
	return 0
}
