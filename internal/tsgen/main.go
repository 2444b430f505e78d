// Command tsgen writes the Mini Program client's generated files from the
// function's own Go code, so that the front end has no second copy of a rule:
//
//   - miniprogram/analysis.d.ts: every event and result type, from openapi's
//     registry (methods.go), its parameter types and its typed results
//     (typed.go), with the camelCase keys the function answers with (casing);
//   - miniprogram/rules.js: the registry (method names, each one's date rule)
//     and cache/final.go's finality table, as data that analysis.js reads.
//
// Run it with `go generate ./internal/tsgen`; its test fails when the
// committed files differ from what it would write.
package main

//go:generate go run . -dir ../../miniprogram

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	dir := flag.String("dir", "miniprogram", "the folder to write analysis.d.ts and rules.js into")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "tsgen:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	files, err := Generate()
	if err != nil {
		return err
	}
	for name, b := range files {
		path := filepath.Join(dir, name)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
			continue
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Generate returns the generated files' contents by name.
func Generate() (map[string][]byte, error) {
	model, err := readModel()
	if err != nil {
		return nil, err
	}
	dts, err := model.typescript()
	if err != nil {
		return nil, err
	}
	rules, err := model.rules()
	if err != nil {
		return nil, err
	}
	return map[string][]byte{"analysis.d.ts": dts, "rules.js": rules}, nil
}
