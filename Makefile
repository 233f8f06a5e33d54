# ogpu: build, run, test.
BUILD_DIR ?= build
BINARY    := $(BUILD_DIR)/ogpud
# cgo stays on (go-ethereum's secp256k1, go-nvml); lazy binding lets the binary start where
# libnvidia-ml is absent
LDFLAGS   := -extldflags=-Wl,-z,lazy
GO        ?= go
LOCALNET  ?= .localnet

export CGO_ENABLED := 1

.PHONY: build install dev test test-unit test-e2e bench localnet localnet-stop proto lint clean

build:
	$(GO) build -ldflags='$(LDFLAGS)' -o $(BINARY) ./cmd/ogpud

install:
	$(GO) install -ldflags='$(LDFLAGS)' ./cmd/ogpud

# a fresh single-validator dev chain in a temporary directory (DEV_HOME=dir to keep one)
dev: build
	$(BINARY) dev $(if $(DEV_HOME),--home $(DEV_HOME))

# everything: unit and keeper tests, then the process-level tests (dev chain, 4 validators)
test: build
	$(GO) test -count=1 ./app/... ./x/... ./cmd/...
	OGPUD_BIN=$(abspath $(BINARY)) $(GO) test -count=1 -p 1 -timeout 30m ./tests/e2e/...

test-unit:
	$(GO) test -count=1 ./app/... ./x/... ./cmd/...

test-e2e: build
	OGPUD_BIN=$(abspath $(BINARY)) $(GO) test -count=1 -p 1 -v -timeout 30m ./tests/e2e/...

# bank-send throughput on a fresh dev chain
bench: build
	$(BINARY) bench bank

localnet: build
	./scripts/localnet.sh start $(BINARY) $(LOCALNET)

localnet-stop:
	./scripts/localnet.sh stop $(BINARY) $(LOCALNET)

proto:
	./scripts/protocgen.sh

clean:
	rm -rf $(BUILD_DIR) $(LOCALNET)
