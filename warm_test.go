package main

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/internal/scf"
)

// TestBinaryConcurrentInvocations: through the SCF protocol, invocations in
// flight at once (more than the binary's warm workers) each get the answer to
// their own event, and each writes exactly one invocation log line, whole,
// with its own request id.
func TestBinaryConcurrentInvocations(t *testing.T) {
	emu := httptest.NewServer(emulator.New(emulator.Config{}))
	defer emu.Close()
	var logs syncBuffer
	bin := buildFunction(t, runtime.GOOS, runtime.GOARCH)
	p, err := scf.StartTo(&logs, bin, []string{"WECHAT_APPID=" + emulator.DefaultAppID, "WECHAT_APPSECRET=" + emulator.DefaultSecret,
		"WECHAT_API_BASE=" + emu.URL}, 10*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })

	const callers, each = 80, 5
	var wg sync.WaitGroup
	for g := range callers {
		wg.Go(func() {
			for i := range each {
				monday := time.Date(2017, 3, 6, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -7*(g*each+i))
				b, e := monday.Format("20060102"), monday.AddDate(0, 0, 6).Format("20060102")
				out, err := p.Invoke(fmt.Appendf(nil, `{"action":"getWeeklyRetain","beginDate":%q,"endDate":%q}`, b, e), invocation)
				if assert.NoError(t, err) {
					assert.Contains(t, string(out), `"refDate":"`+b+"-"+e+`"`)
					assert.Contains(t, string(out), `"errCode":0}`)
				}
			}
		})
	}
	wg.Wait()

	ids := map[string]bool{}
	require.Eventually(t, func() bool { return strings.Count(logs.String(), `"msg":"invocation"`) >= callers*each },
		5*time.Second, 5*time.Millisecond, "one line per invocation")
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if !strings.Contains(line, `"msg":"invocation"`) {
			continue
		}
		var l map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &l), "a whole JSON line: %s", line)
		assert.Equal(t, "INFO", l["level"])
		assert.Equal(t, "getWeeklyRetain", l["action"])
		assert.Equal(t, "direct", l["caller"])
		assert.EqualValues(t, 0, l["errCode"])
		assert.Equal(t, "miss", l["cache"])
		id, _ := l["request_id"].(string)
		assert.NotEmpty(t, id)
		assert.False(t, ids[id], "request id %s logged twice", id)
		ids[id] = true
	}
	assert.Len(t, ids, callers*each)
}
