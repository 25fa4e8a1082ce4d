# Switchyard. `make help` lists the targets.
SHELL := /usr/bin/env bash -o pipefail
.DEFAULT_GOAL := help

TMP := $(abspath .tmp)
BIN := $(TMP)/bin
PROTODEPS := $(TMP)/protodeps
# web/node_modules, installed from web/package-lock.json by npm ci; the stamp is
# inside node_modules so that a removed node_modules is installed again.
WEB_DEPS := web/node_modules/.installed
SDKTS_DEPS := sdk-ts/node_modules/.installed
# What make generate writes from proto/.
GENERATED := gen web/src/gen sdk-ts/src/gen internal/server/openapi.json
export PATH := $(BIN):$(PATH)

# Tool and proto dependency versions, pinned in one place.
BUF_VERSION := v1.75.0
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_CONNECT_GO_VERSION := v1.21.1
PROTOVALIDATE_VERSION := v1.2.2
GOOGLE_PROTO_FILES_VERSION := 6.0.1
# protoc-gen-openapiv3 and openapiv3-merge: the OpenAPI 3.1 document of the REST routes.
GRPC_GATEWAY_VERSION := v2.33.0

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
quickstart: $(WEB_DEPS) ## Run the README's Quickstart as written, against the built binary, then see its run on the dashboard (needs curl, jq, port 8080 and chromium)
	.ci/quickstart

# The race detector needs cgo (a C compiler); without one the tests run without it.
RACE := $(if $(filter 1,$(shell go env CGO_ENABLED)),-race,)

.PHONY: test
test: $(BIN)/testprogress ## Run every test, with the race detector when cgo is available (Postgres variants need SWITCHYARD_TEST_DATABASE_URL); a line per package as it ends
	@if [ -z "$$SWITCHYARD_TEST_DATABASE_URL" ]; then echo "SWITCHYARD_TEST_DATABASE_URL is not set: Postgres variants will be skipped"; fi
	@if [ -z "$(RACE)" ]; then echo "cgo is not available: running without the race detector"; fi
	go test $(RACE) -count=1 -timeout 30m -json ./... | testprogress

.PHONY: test-quick
test-quick: $(BIN)/testprogress ## A quick check (under 3 minutes on 2 cores): every test on SQLite only, without the race detector, the slowest ones shortened (-short); tests mostly wait, so 4 at once
	SWITCHYARD_TEST_DATABASE_URL= go test -short -count=1 -p 4 -parallel 4 -timeout 10m -json ./... | testprogress

# testprogress formats go test -json: a line per package as it ends, the output of what failed.
$(BIN)/testprogress: internal/testprogress/main.go
	go build -o $@ ./internal/testprogress

.PHONY: bench
bench: ## Benchmark PushEvent, event-to-task latency, task throughput and BulkPushEvents; with SWITCHYARD_TEST_DATABASE_URL also Postgres, 10,000 durable waits woken at 500 events/s, the h2load push load against pgbench's ceiling, and the idle cost
	go test -run '^$$' -bench PushEvent -benchtime 3s ./internal/server/
	go test -run '^$$' -bench 'EventToTaskStart|TaskThroughput' -benchtime 1000x ./internal/server/
	go test -run '^$$' -bench BulkPushEvents -benchtime 40x ./internal/server/
	@if [ -n "$$SWITCHYARD_TEST_DATABASE_URL" ]; then go test -run '^$$' -bench DurableWake -benchtime 1x -timeout 20m ./internal/server/; else echo "SWITCHYARD_TEST_DATABASE_URL is not set: no durable-wait benchmark"; fi
	@if [ -n "$$SWITCHYARD_TEST_DATABASE_URL" ]; then .ci/loadbench; else echo "SWITCHYARD_TEST_DATABASE_URL is not set: no load benchmark against Postgres"; fi
	@if [ -n "$$SWITCHYARD_BENCH_GROWTH" ]; then $(MAKE) bench-growth; else echo "SWITCHYARD_BENCH_GROWTH is not set: no data growth benchmark (make bench-growth)"; fi

.PHONY: bench-growth
bench-growth: ## Benchmark push and list pages with 1,000,000 events and ended runs stored against an empty database (SWITCHYARD_BENCH_GROWTH rows; takes about 10 minutes per engine)
	SWITCHYARD_BENCH_GROWTH=$${SWITCHYARD_BENCH_GROWTH:-1000000} go test -run '^$$' -bench DataGrowth -benchtime 1x -timeout 2h -v ./internal/server/

.PHONY: e2e
e2e: $(WEB_DEPS) ## Browser tests of the dashboard in headless Chromium (needs chromium and npm)
	npm run --prefix web e2e

.PHONY: lint
lint: $(BIN)/buf $(PROTODEPS)/.done ## Run buf lint, gofmt and go vet
	buf lint proto
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/'))" || (gofmt -l $$(git ls-files '*.go' | grep -v '^gen/'); echo "gofmt needed"; exit 1)
	go vet ./...

.PHONY: generate
generate: $(BIN)/buf $(BIN)/protoc-gen-go $(BIN)/protoc-gen-connect-go $(BIN)/protoc-gen-openapiv3 $(BIN)/openapiv3-merge $(PROTODEPS)/.done $(WEB_DEPS) $(SDKTS_DEPS) ## Regenerate gen/ (Go), web/src/gen and sdk-ts/src/gen (TypeScript) and internal/server/openapi.json from proto/
	rm -rf $(GENERATED) $(TMP)/openapi
	buf generate
	openapiv3-merge $$(find $(TMP)/openapi -name '*.openapi.json' | LC_ALL=C sort) | jq -f internal/server/openapi.jq > internal/server/openapi.json

.PHONY: checkgenerate
checkgenerate: generate ## Fail when gen/, web/src/gen, sdk-ts/src/gen or internal/server/openapi.json differs from what make generate produces
	@git add -N $(GENERATED) && git diff --exit-code -- $(GENERATED) || (echo "$(GENERATED): out of date: run make generate and commit"; exit 1)
	@test -z "$$(git status --porcelain -- $(GENERATED))" || (git status --porcelain -- $(GENERATED); echo "$(GENERATED): out of date"; exit 1)

.PHONY: web
web: $(WEB_DEPS) ## Type-check the dashboard and build it into internal/dashboard/dist (embedded in the binary; committed)
	npm run --prefix web build

.PHONY: webtest
webtest: $(WEB_DEPS) ## Unit tests of the dashboard (vitest)
	npm test --prefix web

.PHONY: tstest
tstest: $(SDKTS_DEPS) ## Build the TypeScript SDK and examples/imagepipeline-ts, run the SDK's tests against a real switchyard serve (needs go and node)
	npm run --prefix sdk-ts build
	npm ci --prefix examples/imagepipeline-ts
	npm run --prefix examples/imagepipeline-ts build
	npm test --prefix sdk-ts

.PHONY: checkweb
checkweb: web ## Fail when internal/dashboard/dist differs from what make web builds
	@test -z "$$(git status --porcelain --untracked-files=all -- internal/dashboard/dist)" || (git status --porcelain --untracked-files=all -- internal/dashboard/dist; echo "internal/dashboard/dist is out of date: run make web and commit"; exit 1)

$(WEB_DEPS): web/package.json web/package-lock.json
	npm ci --prefix web
	touch $@

$(SDKTS_DEPS): sdk-ts/package.json sdk-ts/package-lock.json
	npm ci --prefix sdk-ts
	touch $@

$(BIN)/protoc-gen-openapiv3:
	GOBIN=$(BIN) go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv3@$(GRPC_GATEWAY_VERSION)

$(BIN)/openapiv3-merge:
	GOBIN=$(BIN) go install github.com/grpc-ecosystem/grpc-gateway/v2/openapiv3-merge@$(GRPC_GATEWAY_VERSION)

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
