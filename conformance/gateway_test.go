package conformance_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/cloudcall"
	"github.com/wxanalysis/wxanalysis/internal/expiring"
)

// gatewayGolden is one golden/gateway/<case>.json: what wx-server-sdk sent to the
// cloud-call gateway and what it made of the gateway's answer (harness.js).
type gatewayGolden struct {
	Name       string            `json:"name"`
	Process    map[string]string `json:"process"`
	Invocation map[string]string `json:"invocation"`
	APIName    string            `json:"apiName"`
	Wire       string            `json:"wire"`
	Now        int64             `json:"now"`
	Boundary   string            `json:"boundary"`
	TimeoutMs  int               `json:"timeoutMs"`
	Redirect   bool              `json:"redirect"`
	Answer     *gatewayAnswer    `json:"answer"`
	Request    *struct {
		Line    string   `json:"line"`
		Headers []string `json:"headers"` // "Name: value", in wire order
		Body    latin1   `json:"body"`
	} `json:"request"`
	Outcome struct {
		Result      json.RawMessage `json:"result"`
		RespData    latin1          `json:"respData"` // what the SDK decoded, on success
		ContentType string          `json:"contentType"`
		ErrCode     *int            `json:"errCode"`
		ErrMsg      string          `json:"errMsg"`
	} `json:"outcome"`
}

type gatewayAnswer struct {
	Kind    string   `json:"kind"` // reply, hang, close (no answer), cut (body cut short), raw (Body is all)
	Status  int      `json:"status"`
	Headers []string `json:"headers"` // "Name: value"
	Body    latin1   `json:"body"`
}

// latin1 is bytes written as a JSON string of one character per byte.
type latin1 []byte

func (b *latin1) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	*b = make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return fmt.Errorf("latin1: %U is not a byte", r)
		}
		*b = append(*b, byte(r))
	}
	return nil
}

// gatewayDifference is a differences.json entry "gateway/<case>": our outcome where
// it deliberately differs from the SDK's.
type gatewayDifference struct {
	Reason string `json:"reason"`
	Ours   struct {
		ErrCode int    `json:"errCode"`
		ErrMsg  string `json:"errMsg"`
		// SendsNothing: we refuse before sending, where the SDK sends a request.
		SendsNothing bool `json:"sendsNothing"`
	} `json:"ours"`
}

// recorded is one request as it reached the recorder.
type recorded struct {
	line    string
	headers map[string]string // lower-case name → value, framing headers left out
	body    []byte
}

// framing headers differ by transport (Node chunks and keeps alive; Go sends
// Content-Length) and carry no meaning for the gateway.
var framing = map[string]bool{"connection": true, "transfer-encoding": true, "content-length": true, "accept-encoding": true}

// gatewayRecorder is a loopback gateway for one case: it records each request and
// gives the case's answer, as harness.js's recorder does.
type gatewayRecorder struct {
	ln       net.Listener
	answer   gatewayAnswer
	mu       sync.Mutex
	requests []recorded
	conns    []net.Conn
	wg       sync.WaitGroup
	onHang   func() // called when a request gets no answer
}

func startRecorder(t *testing.T, answer *gatewayAnswer, onHang func()) *gatewayRecorder {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	r := &gatewayRecorder{ln: ln, onHang: onHang}
	if answer != nil {
		r.answer = *answer
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			r.conns = append(r.conns, c)
			r.mu.Unlock()
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				r.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		r.mu.Lock()
		for _, c := range r.conns {
			c.Close()
		}
		r.mu.Unlock()
		r.wg.Wait()
	})
	return r
}

func (r *gatewayRecorder) serve(c net.Conn) {
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		c.Close()
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		c.Close()
		return
	}
	rec := recorded{line: req.Method + " " + req.RequestURI + " " + req.Proto, headers: map[string]string{"host": req.Host}, body: body}
	for k, vs := range req.Header {
		if !framing[strings.ToLower(k)] {
			rec.headers[strings.ToLower(k)] = strings.Join(vs, "\x00") // a repeated header would show
		}
	}
	r.mu.Lock()
	r.requests = append(r.requests, rec)
	r.mu.Unlock()

	a := r.answer
	switch a.Kind {
	case "hang":
		if r.onHang != nil {
			r.onHang()
		}
		return // closed at cleanup
	case "close":
		c.Close()
		return
	case "raw":
		c.Write(a.Body)
		c.Close()
		return
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", a.Status, http.StatusText(a.Status))
	for _, h := range a.Headers {
		b.WriteString(h + "\r\n")
	}
	n := len(a.Body)
	if a.Kind == "cut" {
		n += 100
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\nConnection: close\r\n\r\n", n)
	b.Write(a.Body)
	c.Write(b.Bytes())
	c.Close()
}

func (r *gatewayRecorder) recorded() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.requests...)
}

// TestGateway runs cloudcall.Client on every recorded case, given the SDK's clock,
// boundary, sequence and environment: the request must be the SDK's, byte for byte
// (method, target, every header but framing, the body), and the outcome the SDK's
// errCode and errMsg (§5), but for the deliberate differences of differences.json.
func TestGateway(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("golden", "gateway", "*.json"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 40)
	var raw map[string]json.RawMessage
	load(t, "differences.json", &raw)
	diffs := map[string]gatewayDifference{}
	for name, v := range raw {
		if c, ok := strings.CutPrefix(name, "gateway/"); ok {
			var d gatewayDifference
			require.NoError(t, json.Unmarshal(v, &d), name)
			require.NotEmpty(t, d.Reason, name)
			diffs[c] = d
		}
	}
	seen := map[string]bool{}
	for _, f := range files {
		var g gatewayGolden
		load(t, f, &g)
		require.Equal(t, strings.TrimSuffix(filepath.Base(f), ".json"), g.Name)
		seen[g.Name] = true
		t.Run(g.Name, func(t *testing.T) {
			t.Parallel()
			testGatewayCase(t, &g, diffs)
		})
	}
	for name := range diffs {
		assert.True(t, seen[name], "differences.json names gateway/%s, which is not a gateway case", name)
	}
}

func testGatewayCase(t *testing.T, g *gatewayGolden, diffs map[string]gatewayDifference) {
	var ctx context.Context
	var onHang func()
	if g.Answer != nil && g.Answer.Kind == "hang" {
		// The SDK's timeout passes with no answer; ours passes once the gateway has
		// the request, whatever the clock says.
		e := expiring.New()
		ctx, onHang = e, e.Expire
	} else {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), time.Duration(g.TimeoutMs)*time.Millisecond)
		defer cancel()
	}
	rec := startRecorder(t, g.Answer, onHang)
	tr := &http.Transport{DisableCompression: true}
	if g.Redirect {
		// Every connection goes to the recorder; the URL, the Host header and so the
		// signature stay the production ones.
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, rec.ln.Addr().String())
		}
	}
	t.Cleanup(tr.CloseIdleConnections)
	client := &cloudcall.Client{
		HTTPClient: &http.Client{Transport: tr},
		Now:        func() time.Time { return time.UnixMilli(g.Now) },
		Boundary:   func() string { return g.Boundary },
	}
	env := cloudcall.Resolve(g.Invocation, func(k string) (string, bool) { v, ok := g.Process[k]; return v, ok })
	resp, err := client.Call(ctx, env, g.APIName, []byte(g.Wire))

	d, differs := diffs[g.Name]
	requests := rec.recorded()
	switch {
	case differs && d.Ours.SendsNothing:
		assert.Empty(t, requests, "we send nothing here")
	case g.Request == nil:
		assert.Empty(t, requests)
	default:
		require.Len(t, requests, 1)
		got := requests[0]
		assert.Equal(t, g.Request.Line, got.line, "request line")
		want := map[string]string{}
		for _, h := range g.Request.Headers {
			name, value, found := strings.Cut(h, ": ")
			require.True(t, found, h)
			if name = strings.ToLower(name); !framing[name] {
				_, dup := want[name]
				require.False(t, dup, "the SDK sent %s twice", name)
				want[name] = value
			}
		}
		assert.Equal(t, want, got.headers, "headers")
		assert.Equal(t, want["authorization"], got.headers["authorization"], "Authorization")
		assert.Equal(t, string(g.Request.Body), string(got.body), "body")
	}

	if g.Outcome.ErrCode == nil { // the SDK succeeded (row 12)
		require.NoError(t, err)
		assert.Equal(t, string(g.Outcome.RespData), string(resp.Data), "respData")
		assert.Equal(t, g.Outcome.ContentType, resp.ContentType, "contentType")
		return
	}
	var ce *cloudcall.Error
	require.True(t, errors.As(err, &ce), "want a *cloudcall.Error, got %v", err)
	if differs {
		assert.Equal(t, d.Ours.ErrCode, ce.Code, "deliberate difference (%s)", d.Reason)
		assert.Equal(t, d.Ours.ErrMsg, ce.ErrMsg, "deliberate difference (%s)", d.Reason)
		assert.False(t, *g.Outcome.ErrCode == ce.Code && g.Outcome.ErrMsg == ce.ErrMsg,
			"the SDK now agrees: remove gateway/%s from differences.json", g.Name)
		return
	}
	assert.Equal(t, *g.Outcome.ErrCode, ce.Code, "errCode")
	assert.Equal(t, g.Outcome.ErrMsg, ce.ErrMsg, "errMsg")
}
