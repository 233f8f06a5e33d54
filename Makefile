# ogpu: build, run, test.
BUILD_DIR ?= build
BINARY    := $(BUILD_DIR)/ogpud
# cgo stays on (go-ethereum's secp256k1, go-nvml); lazy binding lets the binary start where
# libnvidia-ml is absent
LDFLAGS   := -extldflags=-Wl,-z,lazy
GO        ?= go
LOCALNET  ?= .localnet

export CGO_ENABLED := 1
# go-nvml's header marks calls deprecated that it still binds; keep the build quiet
export CGO_CFLAGS ?= -O2 -g -Wno-deprecated-declarations

# packages tested in process; tests/e2e runs real ogpud processes
UNIT_PKGS := ./app/... ./x/... ./gpu/... ./sidecar/... ./client/... ./bench/... ./testutil/... ./cmd/...

.PHONY: build install dev test test-unit test-e2e fuzz contracts bench localnet localnet-stop proto lint clean

build:
	$(GO) build -ldflags='$(LDFLAGS)' -o $(BINARY) ./cmd/ogpud

install:
	$(GO) install -ldflags='$(LDFLAGS)' ./cmd/ogpud

# a fresh single-validator dev chain in a temporary directory (DEV_HOME=dir to keep one)
dev: build
	$(BINARY) dev $(if $(DEV_HOME),--home $(DEV_HOME))

# everything: unit and keeper tests, brief fuzzing, then the process-level tests (dev chain,
# 4-validator networks) with the network scenarios under their short load
test: build
	$(GO) test -count=1 $(UNIT_PKGS)
	$(MAKE) --no-print-directory fuzz FUZZTIME=300x
	OGPUD_BIN=$(abspath $(BINARY)) $(GO) test -count=1 -p 1 -short -timeout 40m ./tests/e2e/...

test-unit:
	$(GO) test -count=1 $(UNIT_PKGS)

# the fuzz tests, each for FUZZTIME (their seed corpora also run in `make test`). `make test`
# counts executions rather than seconds: on a loaded machine a short time limit can expire while
# the seed corpus is still being measured, and the fuzzer then fails with "context deadline exceeded"
FUZZTIME ?= 1m
fuzz:
	$(GO) test ./x/staking-gpu/types -run '^$$' -fuzz '^FuzzMsgRegisterProvider$$' -fuzztime $(FUZZTIME)
	$(GO) test ./x/staking-gpu/types -run '^$$' -fuzz '^FuzzParseComputeCapability$$' -fuzztime $(FUZZTIME)
	$(GO) test ./x/compute/types -run '^$$' -fuzz '^FuzzMsgCreateTask$$' -fuzztime $(FUZZTIME)
	$(GO) test ./x/compute/types -run '^$$' -fuzz '^FuzzMsgSubmitResult$$' -fuzztime $(FUZZTIME)
	$(GO) test ./x/compute/types -run '^$$' -fuzz '^FuzzVerifySample$$' -fuzztime $(FUZZTIME)
	$(GO) test ./x/compute/types -run '^$$' -fuzz '^FuzzSampleIndices$$' -fuzztime $(FUZZTIME)
	$(GO) test ./x/compute/types -run '^$$' -fuzz '^FuzzValidateReceipt$$' -fuzztime $(FUZZTIME)
	$(GO) test ./app/abci -run '^$$' -fuzz '^FuzzDecodeExtension$$' -fuzztime $(FUZZTIME)
	$(GO) test ./app/abci -run '^$$' -fuzz '^FuzzDecodeInjected$$' -fuzztime $(FUZZTIME)
	$(GO) test ./sidecar/blobauth -run '^$$' -fuzz '^FuzzParseRequest$$' -fuzztime $(FUZZTIME)
	$(GO) test ./sidecar -run '^$$' -fuzz '^FuzzReadStreamRequest$$' -fuzztime $(FUZZTIME)
	$(GO) test ./sidecar -run '^$$' -fuzz '^FuzzStreamHeaders$$' -fuzztime $(FUZZTIME)
	$(GO) test ./sidecar -run '^$$' -fuzz '^FuzzJournal$$' -fuzztime $(FUZZTIME)
	$(GO) test ./client/stream -run '^$$' -fuzz '^FuzzCheckReceipt$$' -fuzztime $(FUZZTIME)
	$(GO) test ./client/stream -run '^$$' -fuzz '^FuzzReadResult$$' -fuzztime $(FUZZTIME)
	$(GO) test ./client/stream -run '^$$' -fuzz '^FuzzRefusal$$' -fuzztime $(FUZZTIME)
	$(GO) test ./gpu/mlp -run '^$$' -fuzz '^FuzzDecodeModel$$' -fuzztime $(FUZZTIME)
	$(GO) test ./gpu/mlp -run '^$$' -fuzz '^FuzzDecodeRows$$' -fuzztime $(FUZZTIME)
	$(GO) test ./gpu/mlp -run '^$$' -fuzz '^FuzzDecodeDataset$$' -fuzztime $(FUZZTIME)
	$(GO) test ./gpu/mlp -run '^$$' -fuzz '^FuzzDecodeTrainBlobs$$' -fuzztime $(FUZZTIME)

# contracts/*.sol compiled with the pinned solc (from npm) into contracts/artifacts, and ICompute's
# ABI into the precompile; the outputs are committed, so only a change to a contract needs this
contracts:
	scripts/contracts.sh

# the process-level tests with the full load (more clients, larger tasks)
test-e2e: build
	OGPUD_BIN=$(abspath $(BINARY)) $(GO) test -count=1 -p 1 -v -timeout 60m ./tests/e2e/...

# every benchmark, one table of same-run ratios, written to build/bench (COMPARE=earlier.json)
bench: build
	$(BINARY) bench --out $(BUILD_DIR)/bench $(if $(COMPARE),--compare $(COMPARE))

localnet: build
	./scripts/localnet.sh start $(BINARY) $(LOCALNET)

localnet-stop:
	./scripts/localnet.sh stop $(BINARY) $(LOCALNET)

proto:
	./scripts/protocgen.sh

clean:
	rm -rf $(BUILD_DIR) $(LOCALNET)
