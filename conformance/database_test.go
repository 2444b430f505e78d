package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/internal/pgtest"
	"github.com/wxanalysis/wxanalysis/internal/scf"
	"github.com/wxanalysis/wxanalysis/warehouse"
	_ "github.com/wxanalysis/wxanalysis/warehouse/postgres"
)

// TestConformanceWithDatabase runs the cases with DATABASE_URL set, on a
// PostgreSQL that holds, as final, the answer of every case WeChat answered
// with data: those cases are answered from the database, with no upstream
// request, and must still equal wx-server-sdk's result; the others go
// upstream as without a database.
func TestConformanceWithDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	var cases []testCase
	load(t, "cases.json", &cases)
	diffs := map[string]difference{}
	var raw map[string]json.RawMessage
	load(t, "differences.json", &raw)
	for name, v := range raw {
		if name == "_about" || strings.HasPrefix(name, "gateway/") {
			continue
		}
		var d difference
		require.NoError(t, json.Unmarshal(v, &d), name)
		diffs[name] = d
	}
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := warehouse.Open(ctx, url, warehouse.Options{})
	require.NoError(t, err)
	defer st.Close()
	const appid = "wxconformance0000"
	// A period asked by one case only: the others share theirs, with
	// different answers, and must each reach upstream.
	askers := map[string]int{}
	for _, c := range cases {
		askers[c.Action+string(c.Data)]++
	}
	stored := map[string]bool{}
	for _, c := range cases {
		if askers[c.Action+string(c.Data)] > 1 {
			continue
		}
		var g golden
		load(t, filepath.Join("golden", c.Name+".json"), &g)
		var res struct{ ErrCode *int }
		var data struct{ BeginDate, EndDate any }
		json.Unmarshal(g.Result, &res)
		json.Unmarshal(c.Data, &data)
		b, _ := data.BeginDate.(string)
		e, _ := data.EndDate.(string)
		if g.Threw || res.ErrCode == nil || *res.ErrCode != 0 || !warehouse.Kept(c.Action) || c.Action == "getUserPortrait" {
			continue
		}
		served, _ := withData(t, c, g.Result)
		a, err := warehouse.Decode(warehouse.Period{AppID: appid, Method: c.Action, BeginDate: b, EndDate: e}, []byte(served.Body))
		if err != nil {
			continue // not an answer the warehouse keeps (not JSON of the method's shape)
		}
		require.NoError(t, st.Put(ctx, a, "", true, time.Now()), c.Name)
		stored[c.Name] = true
	}
	require.GreaterOrEqual(t, len(stored), 5, "the documented answers of distinct periods are kept")

	bin := filepath.Join(t.TempDir(), "main")
	require.NoError(t, scf.Build("..", bin, runtime.GOOS, runtime.GOARCH))
	up := &upstream{}
	srv := httptest.NewServer(up)
	defer srv.Close()
	p, err := scf.Start(bin, []string{"WECHAT_TOKEN_MODE=static", "WECHAT_ACCESS_TOKEN=conformance-token", "CACHE_MAX_BYTES=0",
		"WECHAT_API_BASE=" + srv.URL, "WECHAT_APPID=" + appid, "DATABASE_URL=" + url}, 10*time.Second)
	require.NoError(t, err)
	defer p.Close()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			var g golden
			load(t, filepath.Join("golden", c.Name+".json"), &g)
			served, want := withData(t, c, g.Result)
			up.mu.Lock()
			up.current, up.requests = served, nil
			up.mu.Unlock()
			event := append([]byte(fmt.Sprintf(`{"action":%q,`, c.Action)), bytes.TrimPrefix(bytes.TrimSpace(c.Data), []byte("{"))...)
			out, err := p.Invoke(event, scf.Invocation{FunctionName: "analysis", Timeout: 10 * time.Second})
			require.NoError(t, err)
			up.mu.Lock()
			requests := up.requests
			up.mu.Unlock()
			if stored[c.Name] {
				assert.Empty(t, requests, "answered from the database: %s", out)
			} else {
				assert.NotEmpty(t, requests, "the function called upstream: %s", out)
			}
			if d, ok := diffs[c.Name]; ok {
				_, want = withData(t, c, d.Ours)
			}
			assert.True(t, equalJSON(t, want, out), "result\nwant: %s\nours: %s", want, out)
		})
	}
}
