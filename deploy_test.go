package main

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/wxanalysis/wxanalysis/handler"
	"github.com/wxanalysis/wxanalysis/internal/scf"
	"github.com/wxanalysis/wxanalysis/internal/tcsam"
)

var builds sync.Map // "goos/goarch" → path

// buildFunction builds the function as `make build` does, for goos/goarch.
func buildFunction(t *testing.T, goos, goarch string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	key := goos + "/" + goarch
	if p, ok := builds.Load(key); ok {
		return p.(string)
	}
	dir, err := os.MkdirTemp("", "wxanalysis-build")
	require.NoError(t, err)
	bin := filepath.Join(dir, "main")
	require.NoError(t, scf.Build(".", bin, goos, goarch))
	builds.Store(key, bin)
	return bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	builds.Range(func(_, p any) bool { os.RemoveAll(filepath.Dir(p.(string))); return true })
	os.Exit(code)
}

// allowed are the keys TCSAM's validator (scfcli tcsam schema) accepts.
var allowed = map[string][]string{
	"top":        {"Resources", "Globals"},
	"function":   {"Type", "Properties"},
	"properties": {"CodeUri", "Handler", "Runtime", "Type", "Description", "Role", "MemorySize", "Timeout", "Environment", "VpcConfig", "Events", "LocalZipFile"},
}

func keys(n *yaml.Node) []string {
	var out []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, n.Content[i].Value)
	}
	return out
}

func child(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func TestTemplate(t *testing.T) {
	b, err := os.ReadFile("template.yaml")
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(b, &doc))
	root := doc.Content[0]
	assert.Subset(t, allowed["top"], keys(root))
	resources := child(root, "Resources")
	require.NotNil(t, resources)
	require.Equal(t, []string{"default"}, keys(resources))
	ns := child(resources, "default")
	assert.Equal(t, "TencentCloud::Serverless::Namespace", child(ns, "Type").Value)
	fn := child(ns, "analysis")
	require.NotNil(t, fn, "the function is named analysis")
	assert.Subset(t, allowed["function"], keys(fn))
	assert.Equal(t, "TencentCloud::Serverless::Function", child(fn, "Type").Value)
	props := child(fn, "Properties")
	assert.Subset(t, allowed["properties"], keys(props))
	for _, k := range []string{"Handler", "Runtime", "CodeUri", "MemorySize", "Timeout"} {
		assert.NotNil(t, child(props, k), k)
	}
	assert.Equal(t, "Go1", child(props, "Runtime").Value)

	vars := child(child(props, "Environment"), "Variables")
	for i := 0; i+1 < len(vars.Content); i += 2 {
		v := vars.Content[i+1]
		assert.Equal(t, "!!str", v.Tag, "%s must be a string", vars.Content[i].Value)
		assert.Contains(t, []yaml.Style{yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle}, v.Style, "%s is quoted", vars.Content[i].Value)
	}
	declared := keys(vars)
	sort.Strings(declared)
	read := slices.DeleteFunc(readEnvVars(t), func(v string) bool { return slices.Contains(handler.PlatformVars, v) })
	assert.Equal(t, read, declared, "template.yaml declares exactly the variables the code reads")
	want := append([]string(nil), handler.EnvVars...)
	sort.Strings(want)
	assert.Equal(t, read, want, "handler.EnvVars lists them")

	f, err := tcsam.Load("template.yaml")
	require.NoError(t, err)
	assert.Equal(t, "main", f.Props.Handler)
	assert.Equal(t, "./main.zip", f.Props.CodeUri)
	assert.Greater(t, f.Props.Timeout, 0)
	assert.Zero(t, f.Props.MemorySize%128)
}

// readEnvVars finds every getenv("NAME") in the function's source.
func readEnvVars(t *testing.T) []string {
	files, err := filepath.Glob("handler/*.go")
	require.NoError(t, err)
	files = append(files, "main.go")
	re := regexp.MustCompile(`(?i)getenv\("([A-Z0-9_]+)"\)`)
	var names []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range re.FindAllSubmatch(src, -1) {
			if name := string(m[1]); !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	require.NotEmpty(t, names)
	return names
}

// TestZip checks what `make zip` uploads: the template's Handler, a static
// linux/amd64 executable, at the zip's root.
func TestZip(t *testing.T) {
	bin := buildFunction(t, "linux", "amd64")
	zipPath := filepath.Join(t.TempDir(), "main.zip")
	out, err := exec.Command("go", "run", "./internal/mkzip", zipPath, bin).CombinedOutput()
	require.NoError(t, err, "%s", out)

	zr, err := zip.OpenReader(zipPath)
	require.NoError(t, err)
	defer zr.Close()
	require.Len(t, zr.File, 1)
	f := zr.File[0]
	fn, err := tcsam.Load("template.yaml")
	require.NoError(t, err)
	assert.Equal(t, fn.Props.Handler, f.Name, "the Handler is the binary at the root")
	assert.Equal(t, os.FileMode(0o755), f.Mode().Perm())
	rc, err := f.Open()
	require.NoError(t, err)
	data, err := io.ReadAll(rc)
	rc.Close()
	require.NoError(t, err)
	exe, err := elf.NewFile(bytes.NewReader(data))
	require.NoError(t, err)
	assert.Equal(t, elf.EM_X86_64, exe.Machine)
	assert.Equal(t, elf.ELFOSABI_NONE, exe.OSABI)
	for _, p := range exe.Progs {
		assert.NotEqual(t, elf.PT_INTERP, p.Type, "static: no dynamic loader")
	}
	assert.Less(t, len(data), 20<<20, "the binary stays small")
}
