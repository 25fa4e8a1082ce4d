# Switchyard. `make help` lists the targets.
SHELL := /usr/bin/env bash -o pipefail
.DEFAULT_GOAL := help

TMP := $(abspath .tmp)
BIN := $(TMP)/bin
PROTODEPS := $(TMP)/protodeps
# web/node_modules, installed from web/package-lock.json by npm ci; the stamp is
# inside node_modules so that a removed node_modules is installed again.
WEB_DEPS := web/node_modules/.installed
export PATH := $(BIN):$(PATH)

# Tool and proto dependency versions, pinned in one place.
BUF_VERSION := v1.75.0
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_CONNECT_GO_VERSION := v1.21.1
PROTOVALIDATE_VERSION := v1.2.2
GOOGLE_PROTO_FILES_VERSION := 6.0.1

.PHONY: help
help: ## Describe the useful make targets
	@grep -E '^[a-zA-Z0-9_-]+:.*?## .*$$' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "%-16s %s\n", $$1, $$2}'

.PHONY: run
run: ## Run the server on the embedded SQLite default (data in ./.switchyard)
	go run ./cmd/switchyard serve

.PHONY: build
build: ## Build the switchyard binary and the example workers into .tmp/bin
	go build -o $(BIN)/ ./cmd/switchyard ./examples/...

.PHONY: quickstart
quickstart: ## Run the README's Quickstart as written, against the built binary (needs curl, jq and port 8080)
	.ci/quickstart

# The race detector needs cgo (a C compiler); without one the tests run without it.
RACE := $(if $(filter 1,$(shell go env CGO_ENABLED)),-race,)

.PHONY: test
test: ## Run every test, with the race detector when cgo is available (Postgres variants need SWITCHYARD_TEST_DATABASE_URL)
	@if [ -z "$$SWITCHYARD_TEST_DATABASE_URL" ]; then echo "SWITCHYARD_TEST_DATABASE_URL is not set: Postgres variants will be skipped"; fi
	@if [ -z "$(RACE)" ]; then echo "cgo is not available: running without the race detector"; fi
	go test $(RACE) -count=1 -timeout 30m ./...

.PHONY: bench
bench: ## Benchmark PushEvent, event-to-task latency and task throughput (Postgres too when SWITCHYARD_TEST_DATABASE_URL is set)
	go test -run '^$$' -bench PushEvent -benchtime 3s ./internal/server/
	go test -run '^$$' -bench 'EventToTaskStart|TaskThroughput' -benchtime 1000x ./internal/server/

.PHONY: e2e
e2e: $(WEB_DEPS) ## Browser tests of the dashboard in headless Chromium (needs chromium and npm)
	npm run --prefix web e2e

.PHONY: lint
lint: $(BIN)/buf $(PROTODEPS)/.done ## Run buf lint, gofmt and go vet
	buf lint proto
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/'))" || (gofmt -l $$(git ls-files '*.go' | grep -v '^gen/'); echo "gofmt needed"; exit 1)
	go vet ./...

.PHONY: generate
generate: $(BIN)/buf $(BIN)/protoc-gen-go $(BIN)/protoc-gen-connect-go $(PROTODEPS)/.done $(WEB_DEPS) ## Regenerate gen/ (Go) and web/src/gen (TypeScript) from proto/
	rm -rf gen web/src/gen
	buf generate

.PHONY: checkgenerate
checkgenerate: generate ## Fail when gen/ or web/src/gen differs from what make generate produces
	@git add -N gen web/src/gen && git diff --exit-code -- gen web/src/gen || (echo "gen/ or web/src/gen is out of date: run make generate and commit"; exit 1)
	@test -z "$$(git status --porcelain -- gen web/src/gen)" || (git status --porcelain -- gen web/src/gen; echo "gen/ or web/src/gen is out of date"; exit 1)

.PHONY: web
web: $(WEB_DEPS) ## Type-check the dashboard and build it into internal/dashboard/dist (embedded in the binary; committed)
	npm run --prefix web build

.PHONY: webtest
webtest: $(WEB_DEPS) ## Unit tests of the dashboard (vitest)
	npm test --prefix web

.PHONY: checkweb
checkweb: web ## Fail when internal/dashboard/dist differs from what make web builds
	@test -z "$$(git status --porcelain --untracked-files=all -- internal/dashboard/dist)" || (git status --porcelain --untracked-files=all -- internal/dashboard/dist; echo "internal/dashboard/dist is out of date: run make web and commit"; exit 1)

$(WEB_DEPS): web/package.json web/package-lock.json
	npm ci --prefix web
	touch $@

$(BIN)/buf:
	GOBIN=$(BIN) go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)

$(BIN)/protoc-gen-go:
	GOBIN=$(BIN) go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)

$(BIN)/protoc-gen-connect-go:
	GOBIN=$(BIN) go install connectrpc.com/connect/cmd/protoc-gen-connect-go@$(PROTOC_GEN_CONNECT_GO_VERSION)

# Third-party protos come from package registries at generate time: validate.proto
# from the protovalidate Go module, the googleapis HTTP annotations from npm.
$(PROTODEPS)/.done: Makefile
	rm -rf $(PROTODEPS) && mkdir -p $(PROTODEPS)/protovalidate/buf/validate $(PROTODEPS)/googleapis/google/api
	dir=$$(go mod download -json github.com/bufbuild/protovalidate@$(PROTOVALIDATE_VERSION) | sed -n 's/.*"Dir": "\(.*\)".*/\1/p') && \
		cp "$$dir/proto/protovalidate/buf/validate/validate.proto" $(PROTODEPS)/protovalidate/buf/validate/
	cd $(PROTODEPS) && npm pack --silent google-proto-files@$(GOOGLE_PROTO_FILES_VERSION) >/dev/null && \
		tar -xzf google-proto-files-$(GOOGLE_PROTO_FILES_VERSION).tgz package/google/api/annotations.proto package/google/api/http.proto && \
		cp package/google/api/*.proto googleapis/google/api/ && rm -rf package *.tgz
	touch $@
