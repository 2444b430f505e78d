// Package conformance holds the test that compares the function with the
// official wx-server-sdk: golden/ is what the SDK sent upstream and returned
// for each case of cases.json (recorded by harness.js, `make conformance`);
// this test runs the built function on the same cases, through SCF's RPC
// protocol, against an upstream that serves each case's answer.
package conformance_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/casing"
	"github.com/wxanalysis/wxanalysis/internal/scf"
	"github.com/wxanalysis/wxanalysis/openapi"
)

type testCase struct {
	Name        string
	Action      string
	Data        json.RawMessage
	ContentType string
	Body        string
}

type golden struct {
	APIName string          `json:"apiName"`
	Request json.RawMessage `json:"request"`
	Threw   bool            `json:"threw"`
	Result  json.RawMessage `json:"result"`
}

type difference struct {
	Reason string          `json:"reason"`
	Ours   json.RawMessage `json:"ours"`
}

func load(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v), path)
}

// upstream serves the current case's answer and records what reaches it.
type upstream struct {
	mu       sync.Mutex
	current  testCase
	requests []string
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	defer u.mu.Unlock()
	u.requests = append(u.requests, string(b))
	w.Header().Set("Content-Type", u.current.ContentType)
	io.WriteString(w, u.current.Body)
}

func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	var cases []testCase
	load(t, "cases.json", &cases)
	require.GreaterOrEqual(t, len(cases), 60)
	diffs := map[string]difference{}
	var raw map[string]json.RawMessage
	load(t, "differences.json", &raw)
	for name, v := range raw {
		if name == "_about" || strings.HasPrefix(name, "gateway/") { // gateway/: TestGateway's
			continue
		}
		var d difference
		require.NoError(t, json.Unmarshal(v, &d), name)
		require.NotEmpty(t, d.Reason, name)
		diffs[name] = d
	}

	bin := filepath.Join(t.TempDir(), "main")
	require.NoError(t, scf.Build("..", bin, runtime.GOOS, runtime.GOARCH))
	up := &upstream{}
	srv := httptest.NewServer(up)
	defer srv.Close()
	p, err := scf.Start(bin, []string{"WECHAT_TOKEN_MODE=static", "WECHAT_ACCESS_TOKEN=conformance-token", "CACHE_MAX_BYTES=0",
		"WECHAT_API_BASE=" + srv.URL}, 10*time.Second)
	require.NoError(t, err)
	defer p.Close()

	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.Name] = true
		t.Run(c.Name, func(t *testing.T) {
			var g golden
			load(t, filepath.Join("golden", c.Name+".json"), &g)
			require.Equal(t, "analysis."+c.Action, g.APIName)

			served, result := withData(t, c, g.Result)
			up.mu.Lock()
			up.current, up.requests = served, nil
			up.mu.Unlock()
			event := append([]byte(fmt.Sprintf(`{"action":%q,`, c.Action)), bytes.TrimPrefix(bytes.TrimSpace(c.Data), []byte("{"))...)
			out, err := p.Invoke(event, scf.Invocation{FunctionName: "analysis", Timeout: 10 * time.Second})
			require.NoError(t, err)

			up.mu.Lock()
			requests := up.requests
			up.mu.Unlock()
			require.NotEmpty(t, requests, "the function called upstream: %s", out)
			assert.True(t, equalJSON(t, g.Request, []byte(requests[0])), "request\nSDK:  %s\nours: %s", g.Request, requests[0])

			if d, ok := diffs[c.Name]; ok {
				_, ours := withData(t, c, d.Ours)
				assert.True(t, equalJSON(t, ours, out), "deliberate difference (%s)\nwant: %s\ngot:  %s", d.Reason, ours, out)
				assert.False(t, equalJSON(t, result, out), "the SDK now agrees: remove %s from differences.json", c.Name)
				return
			}
			assert.True(t, equalJSON(t, result, out), "result\nSDK:  %s\nours: %s", result, out)
		})
	}
	for name := range diffs {
		assert.True(t, seen[name], "differences.json names %s, which is not a case", name)
	}
}

// withData returns c with a data member of its method's answer added to an
// object answer that has none, and the SDK's result with that member added
// as the SDK converts it: the function refuses a 200 answer that is not of
// the method's shape (a glitch, never cached), and most cases probe key
// conversion with answers of no method's shape. Nothing else changes.
func withData(t *testing.T, c testCase, result json.RawMessage) (testCase, json.RawMessage) {
	m, ok := openapi.Lookup(c.Action)
	require.True(t, ok, c.Action)
	var members map[string]json.RawMessage
	if json.Unmarshal([]byte(c.Body), &members) != nil || members == nil {
		return c, result
	}
	for _, f := range m.Answer {
		if _, ok := members[f.Name]; ok {
			return c, result
		}
	}
	f := m.Answer[0]
	empty := map[byte]string{'[': "[]", '{': "{}"}[f.Kind]
	body := strings.TrimSpace(c.Body)
	sep := ","
	if strings.TrimSpace(body[1:]) == "}" {
		sep = ""
	}
	c.Body = `{"` + f.Name + `":` + empty + sep + body[1:]
	var r map[string]json.RawMessage
	if json.Unmarshal(result, &r) == nil && string(r["errCode"]) == "0" {
		r[casing.CamelKey(f.Name)] = json.RawMessage(empty)
		result, _ = json.Marshal(r)
	}
	return c, result
}

// equalJSON compares two JSON documents as values: object members in any
// order, numbers by exact decimal value (1e3 equals 1000; 2^63 does not
// equal 2^63+1).
func equalJSON(t *testing.T, a, b []byte) bool {
	return equalValue(decode(t, a), decode(t, b))
}

func decode(t *testing.T, b []byte) any {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v), "%s", b)
	return v
}

func equalValue(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if v, ok := y[k]; !ok || !equalValue(x[k], v) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		fx, _, errx := big.ParseFloat(x.String(), 10, 512, big.ToNearestEven)
		fy, _, erry := big.ParseFloat(y.String(), 10, 512, big.ToNearestEven)
		return errx == nil && erry == nil && fx.Cmp(fy) == 0
	default:
		return a == b
	}
}
