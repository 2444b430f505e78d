package openapi_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/openapi"
)

// outsideMain is a program in another module that uses openapi as a Go
// developer would: only its exported API, against the WeChat API at
// $WX_BASE.
const outsideMain = `package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/wxanalysis/wxanalysis/openapi"
)

func main() {
	ctx := context.Background()
	base := os.Getenv("WX_BASE")
	client, err := openapi.NewClient(
		&openapi.StableToken{BaseURL: base, AppID: os.Getenv("WX_APPID"), Secret: os.Getenv("WX_SECRET")},
		openapi.WithBaseURL(base))
	if err != nil {
		fail(err)
	}
	r, err := client.WeeklyRetain(ctx, "20250303", "20250309")
	if err != nil {
		fail(err)
	}
	fmt.Print("retain ", r.RefDate)
	for _, kv := range r.VisitUV {
		fmt.Printf(" %s:%s", kv.Key, kv.Value)
	}
	fmt.Println()
	pages, err := client.VisitPage(ctx, "20250309", "20250309")
	if err != nil {
		fail(err)
	}
	fmt.Println("pages", pages.RefDate, len(pages.List), pages.List[0].PagePath, pages.List[0].PageVisitPV)
	_, err = client.DailySummary(ctx, "20250309", "20250310")
	var e *openapi.Error
	fmt.Println("two days", errors.Is(err, openapi.ErrBadRequest), errors.As(err, &e) && e.Code == openapi.CodeDateRange)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
`

// A program in a module of its own builds against this one with a replace
// directive, calls two methods through the exported API and gets typed
// results: the same ones as a call from here.
func TestOutsideModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program in a temporary module")
	}
	goBin, err := exec.LookPath("go")
	require.NoError(t, err)
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	dir := t.TempDir()
	goMod := "module example.com/wxuser\n\ngo 1.26\n\nrequire github.com/wxanalysis/wxanalysis v0.0.0\n\n" +
		"replace github.com/wxanalysis/wxanalysis => " + root + "\n"
	for name, text := range map[string]string{"go.mod": goMod, "go.sum": string(sum), "main.go": outsideMain} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}

	emu := emulator.New(emulator.Config{Now: typedNow})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	cmd := exec.CommandContext(t.Context(), goBin, "run", ".")
	cmd.Dir = dir
	// Only the local module cache: no network, no workspace, no other toolchain.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOSUMDB=off", "GOWORK=off", "GOTOOLCHAIN=local",
		"WX_BASE="+srv.URL, "WX_APPID="+emulator.DefaultAppID, "WX_SECRET="+emulator.DefaultSecret)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "go run in %s:\n%s", dir, stderr.String())

	// The same calls from inside, printed the same way.
	c, err := openapi.NewClient(&openapi.StableToken{BaseURL: srv.URL, AppID: emulator.DefaultAppID, Secret: emulator.DefaultSecret},
		openapi.WithBaseURL(srv.URL))
	require.NoError(t, err)
	r, err := c.WeeklyRetain(context.Background(), "20250303", "20250309")
	require.NoError(t, err)
	pages, err := c.VisitPage(context.Background(), "20250309", "20250309")
	require.NoError(t, err)
	var want strings.Builder
	fmt.Fprint(&want, "retain ", r.RefDate)
	for _, kv := range r.VisitUV {
		fmt.Fprintf(&want, " %s:%s", kv.Key, kv.Value)
	}
	fmt.Fprintln(&want)
	fmt.Fprintln(&want, "pages", pages.RefDate, len(pages.List), pages.List[0].PagePath, pages.List[0].PageVisitPV)
	fmt.Fprintln(&want, "two days", true, true)
	require.Equal(t, want.String(), string(out))
	require.Contains(t, string(out), "retain 20250303-20250309 0:", "a typed retention answer")
	require.Equal(t, 2, emu.Requests("/datacube/getweanalysisappidweeklyretaininfo"), "one call from each side")
}
