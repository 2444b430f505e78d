package main

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/wxanalysis/wxanalysis/handler"
	"github.com/wxanalysis/wxanalysis/internal/scf"
	"github.com/wxanalysis/wxanalysis/internal/tcsam"
	"github.com/wxanalysis/wxanalysis/openapi"
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
	assert.Equal(t, strconv.Itoa(handler.DefaultCacheMaxBytes), f.Props.Environment.Variables["CACHE_MAX_BYTES"],
		"the template deploys the default in-process cache, whose peak memory make bench measures")
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

// TestCloudBaseConfig keeps cloudbaserc.json (tcb fn deploy) and the
// function's config.json (WeChat DevTools' permissions.openapi) consistent
// with template.yaml and the code.
func TestCloudBaseConfig(t *testing.T) {
	var rc struct {
		FunctionRoot string `json:"functionRoot"`
		Functions    []struct {
			Name              string            `json:"name"`
			Runtime           string            `json:"runtime"`
			Handler           string            `json:"handler"`
			Timeout           int               `json:"timeout"`
			MemorySize        int               `json:"memorySize"`
			InstallDependency *bool             `json:"installDependency"`
			EnvVariables      map[string]string `json:"envVariables"`
		} `json:"functions"`
	}
	b, err := os.ReadFile("cloudbaserc.json")
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&struct {
		Version      string `json:"version"`
		EnvID        string `json:"envId"`
		FunctionRoot string `json:"functionRoot"`
		Functions    []json.RawMessage
	}{}), "cloudbaserc.json has only the keys tcb reads")
	require.NoError(t, json.Unmarshal(b, &rc))
	require.Len(t, rc.Functions, 1)
	fn := rc.Functions[0]
	tmpl, err := tcsam.Load("template.yaml")
	require.NoError(t, err)
	assert.Equal(t, "Go1", fn.Runtime)
	assert.Equal(t, tmpl.Props.Handler, fn.Handler, "the handler is the binary's name, as in template.yaml")
	assert.Equal(t, tmpl.Props.Timeout, fn.Timeout)
	assert.Equal(t, tmpl.Props.MemorySize, fn.MemorySize)
	require.NotNil(t, fn.InstallDependency)
	assert.False(t, *fn.InstallDependency, "nothing to install for a Go binary")
	for k := range fn.EnvVariables {
		assert.Contains(t, handler.EnvVars, k, "envVariables names a setting the code reads")
		for _, p := range []string{"SCF_", "QCLOUD_", "TENCENTCLOUD_"} {
			assert.False(t, strings.HasPrefix(k, p), "SCF forbids the prefix %s", p)
		}
	}

	var cfg struct {
		Permissions struct {
			OpenAPI []string `json:"openapi"`
		} `json:"permissions"`
	}
	b, err = os.ReadFile(filepath.Join(rc.FunctionRoot, fn.Name, "config.json"))
	require.NoError(t, err, "config.json sits in the function's folder, where DevTools reads it")
	require.NoError(t, json.Unmarshal(b, &cfg))
	var want []string
	for _, m := range openapi.Methods() {
		want = append(want, m.API())
	}
	assert.ElementsMatch(t, want, cfg.Permissions.OpenAPI, "permissions.openapi lists the eleven analysis APIs")
}

// TestContainerFiles keeps the Dockerfile, container.config.json (WeChat
// Cloud Run) and scf_bootstrap (SCF web functions) consistent with the
// Makefile and the code: build flags, port, settings.
func TestContainerFiles(t *testing.T) {
	mk, err := os.ReadFile("Makefile")
	require.NoError(t, err)
	flags := regexp.MustCompile(`(?m)^GOFLAGS_BUILD := (.+)$`).FindSubmatch(mk)
	require.NotNil(t, flags)
	docker, err := os.ReadFile("Dockerfile")
	require.NoError(t, err)
	build := regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build (.+) -o /out/main \.)$`).FindSubmatch(docker)
	require.NotNil(t, build, "the Dockerfile builds as make build does")
	assert.Equal(t, string(flags[1]), string(build[2]), "the same build flags as make build")
	assert.Regexp(t, `(?m)^USER [1-9][0-9]*$`, string(docker), "the image runs as a user that is not root")
	assert.Contains(t, string(docker), "ca-certificates", "HTTPS to api.weixin.qq.com needs CA certificates")
	port := regexp.MustCompile(`(?m)^ENV PORT=([0-9]+)$`).FindSubmatch(docker)
	require.NotNil(t, port, "the image says which port the function serves")
	assert.Regexp(t, `(?m)^EXPOSE `+string(port[1])+`$`, string(docker))

	var cc map[string]any
	b, err := os.ReadFile("container.config.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &cc))
	known := []string{"remark", "dockerfilePath", "buildDir", "minNum", "maxNum", "cpu", "mem", "policyType",
		"policyThreshold", "envParams", "containerPort", "initialDelaySeconds", "flowRatio"}
	for k := range cc {
		assert.Contains(t, known, k, "container.config.json: %s is not in WeChat's schema", k)
	}
	assert.EqualValues(t, mustAtoi(t, string(port[1])), cc["containerPort"], "Cloud Run routes to the port the image serves")
	assert.Equal(t, "Dockerfile", cc["dockerfilePath"])
	for k := range cc["envParams"].(map[string]any) {
		assert.Contains(t, handler.EnvVars, k, "envParams names a setting the code reads")
	}

	st, err := os.Stat("scf_bootstrap")
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o111), st.Mode().Perm()&0o111, "SCF runs scf_bootstrap: it must be executable")
	boot, err := os.ReadFile("scf_bootstrap")
	require.NoError(t, err)
	assert.NotContains(t, string(boot), "\r", "scf_bootstrap ends its lines with LF")
	assert.True(t, strings.HasPrefix(string(boot), "#!/bin/bash\n"))
	assert.Regexp(t, `(?m)^export PORT=9000$`, string(boot), "SCF web functions are called on port 9000")
	fn, err := tcsam.Load("template.yaml")
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^exec \./`+fn.Props.Handler+`$`, string(boot), "it starts the binary make build writes")
	assert.Contains(t, handler.PlatformVars, "PORT")
}

func mustAtoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}
