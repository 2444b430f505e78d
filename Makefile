# wxanalysis: a Go1 cloud function for Tencent SCF and CloudBase.
GO      ?= go
BIN     := main
GOFLAGS_BUILD := -trimpath -ldflags="-s -w"

.PHONY: all build zip webzip cloudbase test lint fuzz conformance bench run invoke emulator local clean frontend-deps generate sync

all: lint test build

## build: the deployable binary, static linux/amd64, named as template.yaml's Handler
build:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build $(GOFLAGS_BUILD) -o $(BIN) .

## zip: main.zip with the binary at its root, ready to upload (an SCF or CloudBase Event function)
zip: build
	$(GO) run ./internal/mkzip main.zip $(BIN)

## webzip: webfunc.zip, scf_bootstrap and the binary at its root (an SCF web function, port 9000)
webzip: build
	$(GO) run ./internal/mkzip webfunc.zip $(BIN) scf_bootstrap

## cloudbase: the binary where cloudbaserc.json's function folder wants it, for `tcb fn deploy analysis`
cloudbase: build
	cp $(BIN) functions/analysis/main

## run: build, then call getWeeklyRetain for the latest week with 4 weeks of retention, and draw 30 days of visits from one series call,
## through SCF's RPC protocol, against the built-in WeChat emulator unless a WECHAT_* setting is present;
## MODE=cloud makes the calls as CloudBase cloud calls (no AppSecret) through the emulator's gateway
run: local
	$(GO) run ./cmd/scfinvoke -bin bin/main -retained-week -table -chart $(if $(MODE),-mode $(MODE))

## invoke: invoke any event, e.g. make invoke EVENT=events/getVisitPage.json
invoke: local
	@test -n "$(EVENT)" || { echo "usage: make invoke EVENT=events/<file>.json"; exit 2; }
	$(GO) run ./cmd/scfinvoke -bin bin/main -event $(EVENT)

## emulator: the WeChat emulator alone, on 127.0.0.1:8090 (bin/wxemu -h for flags); it prints the
## settings that point the function at it
emulator:
	$(GO) build -o bin/wxemu ./cmd/wxemu
	exec bin/wxemu

## sync: the warehouse on this machine: the function built with SQLite (-tags sqlite) syncs the emulator's
## data into bin/wxanalysis.db through SCF's RPC protocol, then reads it back with SQL (a weekly retention
## cohort table, 30 days of visits); run it again: only what can still change is fetched. SINCE=yyyymmdd
sync:
	CGO_ENABLED=0 $(GO) build -tags sqlite -o bin/wxlocal .
	$(GO) run ./cmd/wxsync -bin bin/wxlocal -db bin/wxanalysis.db $(if $(SINCE),-since $(SINCE))

# local: the function for this machine, for run and invoke
local:
	$(GO) build -o bin/main .

## test: every test, with the race detector
test:
	$(GO) test -race ./...
	$(GO) test -run Allocations ./cache # allocation counts hold without the race detector's instrumentation only

# test's front-end half (frontend_test.go) needs miniprogram/node_modules: installed from
# miniprogram/package-lock.json when Node is present and they are missing
test: frontend-deps

frontend-deps:
	@if command -v npm >/dev/null && [ ! -d miniprogram/node_modules ]; then \
		cd miniprogram && npm ci --no-audit --no-fund --loglevel=error; fi

## generate: miniprogram/analysis.d.ts and rules.js from openapi's registry and types and cache/final.go
generate:
	$(GO) generate ./internal/tsgen

## lint: gofmt and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

FUZZTIME ?= 30s
## fuzz: each fuzz target for FUZZTIME (a duration, or a count such as 20000x; CI uses a
## count because Go 1.26 can fail a duration run at its deadline, golang/go#75804)
fuzz:
	$(GO) test ./casing -run '^$$' -fuzz '^FuzzToCamel$$' -fuzztime $(FUZZTIME)
	$(GO) test ./casing -run '^$$' -fuzz '^FuzzToSnake$$' -fuzztime $(FUZZTIME)
	$(GO) test ./openapi -run '^$$' -fuzz '^FuzzDateRange$$' -fuzztime $(FUZZTIME)
	$(GO) test ./handler -run '^$$' -fuzz '^FuzzEvent$$' -fuzztime $(FUZZTIME)
	$(GO) test ./handler -run '^$$' -fuzz '^FuzzHTTPEvent$$' -fuzztime $(FUZZTIME)
	$(GO) test ./handler -run '^$$' -fuzz '^FuzzDecodeFlat$$' -fuzztime $(FUZZTIME)
	$(GO) test ./handler -run '^$$' -fuzz '^FuzzIsAppID$$' -fuzztime $(FUZZTIME)
	$(GO) test ./cloudcall -run '^$$' -fuzz '^FuzzIsHostEnvID$$' -fuzztime $(FUZZTIME)
	$(GO) test ./wxcrypt -run '^$$' -fuzz '^FuzzPush$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/resp -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/h1 -run '^$$' -fuzz '^FuzzReadResponse$$' -fuzztime $(FUZZTIME)

## conformance: reinstall wx-server-sdk (conformance/package-lock.json), record its answers to
## conformance/cases.json again, fail if any golden file changed, and compare the function with them
conformance:
	cd conformance && npm ci --no-audit --no-fund --loglevel=error
	cd conformance && node harness.js
	@if ! git diff --quiet HEAD -- conformance/golden || \
		[ -n "$$(git ls-files --others --exclude-standard -- conformance/golden)" ]; then \
		echo "conformance: wx-server-sdk's answers differ from the committed golden files:"; \
		git status --short -- conformance/golden; exit 1; fi
	$(GO) test -count=1 -run '^(TestConformance|TestGateway)$$' ./conformance

## bench: measure the function against the floor and its peers (bench/, a module of its own)
## and rewrite BENCHMARKS.md; installs wx-server-sdk for the Node row
bench:
	cd conformance && npm ci --no-audit --no-fund --loglevel=error
	cd bench && $(GO) run ./driver -out ../BENCHMARKS.md

clean:
	rm -rf $(BIN) main.zip webfunc.zip bin conformance/node_modules functions/analysis/main
