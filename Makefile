# wxanalysis: a Go1 cloud function for Tencent SCF and CloudBase.
GO      ?= go
BIN     := main
GOFLAGS_BUILD := -trimpath -ldflags="-s -w"

.PHONY: all build zip test lint fuzz clean

all: lint test build

## build: the deployable binary, static linux/amd64, named as template.yaml's Handler
build:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build $(GOFLAGS_BUILD) -o $(BIN) .

## zip: main.zip with the binary at its root, ready to upload
zip: build
	$(GO) run ./internal/mkzip main.zip $(BIN)

## test: every test, with the race detector
test:
	$(GO) test -race ./...

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

clean:
	rm -f $(BIN) main.zip
