package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNoReflectiveMethodLookup: the deployed binary never looks a method up
// by reflection (reflect.Type.Method, reflect.Value.MethodByName...). Once
// one function in a program does, the linker keeps every exported method of
// every type converted to an interface; net/rpc did, and that was 1.7 MiB of
// the binary, which a cold start reads from disk (see internal/scfrpc). On
// failure the test names what reaches the lookup, from the linker's own
// dependency dump.
func TestNoReflectiveMethodLookup(t *testing.T) {
	if testing.Short() {
		t.Skip("links the binary")
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w -dumpdep", "-o", os.DevNull, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var deps bytes.Buffer
	cmd.Stderr = &deps
	require.NoError(t, cmd.Run(), deps.String())
	parent := map[string]string{} // symbol → the first symbol that reaches it
	var lookups []string
	sc := bufio.NewScanner(&deps)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		from, to, ok := strings.Cut(sc.Text(), " -> ")
		if !ok {
			continue
		}
		if _, seen := parent[to]; !seen {
			parent[to] = from
		}
		if strings.HasSuffix(to, " <ReflectMethod>") {
			lookups = append(lookups, to)
		}
	}
	require.NoError(t, sc.Err())
	require.Contains(t, parent, "main.main", "the linker's dependency dump is missing: nothing was checked")
	for _, sym := range lookups {
		chain := []string{sym}
		for s := sym; len(chain) < 12; {
			p, ok := parent[s]
			if !ok || p == "_" {
				break
			}
			chain, s = append(chain, p), p
		}
		assert.Fail(t, "the binary looks methods up by reflection", "reached by:\n  %s", strings.Join(chain, "\n  <- "))
	}
}
