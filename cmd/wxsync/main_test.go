package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMakeSync is `make sync` twice: the local build syncs the emulator into
// a SQLite file, the summary and the tables read back with SQL are printed,
// and the second run fetches only what can still change.
func TestMakeSync(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "wxlocal")
	cmd := exec.Command("go", "build", "-tags", "sqlite", "-o", bin, "../..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	db := filepath.Join(dir, "w.db")

	var first, second, stderr bytes.Buffer
	require.NoError(t, run([]string{"-bin", bin, "-db", db}, &first, &stderr), stderr.String())
	assert.Contains(t, first.String(), `"errCode":0,"errMsg":"sync:ok"`)
	assert.Contains(t, first.String(), "Run it again (make sync)")
	assert.Contains(t, first.String(), "week of  active  +1 week")
	assert.Contains(t, first.String(), "visitors a day, the last 30 days")
	assert.Equal(t, 30, strings.Count(first.String(), "█ ")+strings.Count(first.String(), "█\t"), "30 bars")

	require.NoError(t, run([]string{"-bin", bin, "-db", db}, &second, &stderr), stderr.String())
	assert.Regexp(t, `\d+ periods were already final in the database and were not fetched: this run needed \d+ upstream calls, not \d+`, second.String())
	assert.Contains(t, second.String(), `"final":0`, "the second run fetches only what is not final")
}
