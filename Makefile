# sluice: build, demo, test, bench.
GO       ?= go
BIN      ?= bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
# The one build command: the Dockerfile runs the same (see test/chart).
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# A count, not a duration: Go's fuzzer can report its own deadline as a
# failure when it stops on a timer.
FUZZTIME ?= 150000x

.PHONY: all build demo demo-cluster test unit race fuzz vet bench bench-scale clean controlplane helm chart corpus

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/sluice ./cmd/sluice
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/demo-backend ./hack/demo/backend

# Runs sluice on hack/demo/seed.cfg in front of four demo backends.
demo: build
	BIN=$(BIN) hack/demo/run.sh

# Runs `sluice controller` against a real kube-apiserver and etcd on 127.0.0.1
# serving hack/demo/cluster/example.yaml (the control plane is built once by
# hack/controlplane/build.sh); prints curl commands; Ctrl-C stops everything.
demo-cluster: build controlplane
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/demo-cluster ./hack/demo/cluster
	$(BIN)/demo-cluster -sluice $(BIN)/sluice

# Every test: vet and gofmt, unit and integration tests, the race detector on the
# dataplane, end-to-end tests against the built binary, bounded fuzzing.
test: vet controlplane helm chart unit race fuzz

# A real kube-apiserver and etcd, built from Go modules once and cached
# under $HOME/.cache/sluice (6-15 minutes the first time on 2 cores).
controlplane:
	hack/controlplane/build.sh

# go vet, and gofmt: a file that is not formatted fails the test.
vet:
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt -l: not formatted:"; echo "$$unformatted"; exit 1; fi

# Helm 3 and 4, built from Go modules once and cached under
# $HOME/.cache/sluice/helm (4-7 minutes the first time on 2 cores).
helm:
	hack/helm/install.sh

# The Helm chart, the Dockerfile and least-privilege RBAC, against a real
# kube-apiserver.
chart: controlplane helm
	$(GO) test -count=1 ./test/chart/

unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v '/test/chart$$')

race:
	$(GO) test -race -count=1 ./dataplane/...
	SLUICE_E2E_RACE=1 $(GO) test -count=1 ./test/e2e/

fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./config
	$(GO) test -run='^$$' -fuzz='^FuzzParseRequest$$' -fuzztime=$(FUZZTIME) ./dataplane/h1
	$(GO) test -run='^$$' -fuzz='^FuzzCopyChunked$$' -fuzztime=$(FUZZTIME) ./dataplane/h1

# Micro-benchmarks, then sluice side by side with other proxies, then the
# controller at scale, in that order.
bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./config ./dataplane/... ./controllers/...
	$(MAKE) bench-side
	$(MAKE) bench-scale

# sluice side by side with HAProxy, nginx and Go's ReverseProxy (Caddy too
# when it is on PATH), each alone on one pinned core, load and backends on
# the other; a markdown table per scenario. Needs two cores and haproxy,
# nginx, libnginx-mod-stream and wrk (installed when run as root on Debian).
# More knobs (BENCH_WARMUP, BENCH_TARGETS, BENCH_OUT, BENCH_SLUICE) in
# hack/bench/run.sh.
BENCH_ROUNDS    ?= 3
BENCH_DURATION  ?= 10
BENCH_SCENARIOS ?= http-small,http-16k,http-close,http-small-c1,l4-bulk,l4-conn
.PHONY: bench-side
bench-side:
	GO=$(GO) BENCH_ROUNDS=$(BENCH_ROUNDS) BENCH_DURATION=$(BENCH_DURATION) \
	BENCH_SCENARIOS=$(BENCH_SCENARIOS) hack/bench/run.sh

# The controller against a real API server with 1, 100, 1,000 and 10,000
# Ingresses (SLUICE_SCALE_SIZES, SLUICE_SCALE_CHANGES to change): start-up
# to ready, change to serving, CPU per change, memory, stable-route failures.
bench-scale: controlplane
	$(GO) test -run='^$$' -bench=ControllerScale -benchtime=1x -timeout=60m ./test/scale

# What `sluice translate --any-class` makes of each manifest file of CORPUS
# (real-world Ingresses and TCP services ConfigMaps): routes, honored
# annotations, Events.
CORPUS ?= ../shared/corpus/ingress
corpus: build
	SLUICE=$(BIN)/sluice hack/corpus/run.sh $(CORPUS)

clean:
	rm -rf $(BIN)
