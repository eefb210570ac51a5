# Cargo's target directory lives outside the clone so repeated runs reuse the build.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/roster/target
# One cargo build of the whole workspace (`make build`) makes every binding's native library
# and every binary: cargo unifies features over the packages of one build, so a build of one
# package alone (`cargo build -p roster-node`, ...) would compile the core and its
# dependencies again with other features. The bindings' own builds (npm's build.js, Maven,
# CMake) take the prebuilt libraries when ROSTER_PREBUILT is set.
export ROSTER_PREBUILT := 1
# Where napi-derive writes the Node addon's type definitions (build.js reads them). It
# writes them only into a folder that exists, and only while it compiles the crate (so
# `make build` compiles it again when they are missing).
export NAPI_TYPE_DEF_TMP_FOLDER := $(CARGO_TARGET_DIR)/napi-type-def/roster-node
$(shell mkdir -p $(NAPI_TYPE_DEF_TMP_FOLDER))
BIN := $(CARGO_TARGET_DIR)/debug

PIP := python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore
NPM := npm install --no-audit --no-fund --loglevel=error
MVN := mvn -B -q --no-transfer-progress -Dstyle.color=never

.PHONY: build demo demo-cluster demo-sofa test lint chaos fuzz fuzz-test fuzz-tools python-test node-test java-test java-install c-test c-header kotlin-test swift-generate sofa-test bench bench-python bench-node bench-java server cluster

## The demo: the reference server on its embedded default, a publisher and subscribers,
## three of them a Python, a Node.js and a Java process (so those packages are installed
## first, from the libraries `make build` made).
demo: java-install
	$(PIP) ./bindings/python
	cd bindings/node && $(NPM) --omit=dev
	$(BIN)/demo --python --node --java

## The same walkthrough on a three-node Raft cluster (in-process, free ports) whose leader
## stops half-way.
demo-cluster: java-install
	$(PIP) ./bindings/python
	cd bindings/node && $(NPM) --omit=dev
	$(BIN)/demo --cluster --python --node --java

## Every library (the bindings' native libraries included) and binary of the workspace, in
## one cargo build.
build:
	@test -e $(NAPI_TYPE_DEF_TMP_FOLDER)/roster-node || touch bindings/node/src/lib.rs
	@echo "make build: one cargo build of the workspace (cold: about 10 minutes on 2 cores; then seconds)"
	cargo build --workspace --lib --bins

## Python and SOFARegistry's own Java client exchanging addresses through a real
## SOFARegistry 6.3.0 (started here; needs Java 17 and Maven, and its ports 9600-9630 free).
demo-sofa:
	$(PIP) ./bindings/python
	scripts/sofa-test.sh demo

## Every test, plus the format and lint checks CI enforces, and a smoke run of the
## benchmark (small sizes, debug build: proves it runs, not figures to quote).
test: lint build
	cargo test --workspace
	$(BIN)/roster-bench --quick
	$(MAKE) python-test
	$(MAKE) node-test
	$(MAKE) java-test
	$(MAKE) c-test
	$(MAKE) kotlin-test
	$(MAKE) sofa-test
	$(MAKE) fuzz-test

## Long chaos runs (RELIABILITY.md): CHAOS_SECONDS of random operations and faults on a
## single node, then a 3-node and a 5-node cluster. `cargo test` runs short ones.
CHAOS_SECONDS ?= 1800
CHAOS_SEED ?= 1
chaos: build
	set -e; for n in 1 3 5; do $(BIN)/roster-chaos run --nodes $$n --seconds $(CHAOS_SECONDS) --seed $(CHAOS_SEED); done

## The fuzz targets (fuzz/README.md; nightly Rust and cargo-fuzz): each run for
## FUZZ_SECONDS from the committed corpus. `fuzz-test` (CI) keeps what it finds out of the
## clone; `fuzz` adds it to fuzz/corpus.
FUZZ_SECONDS ?= 20
FUZZ_TARGETS := registry client_pushes sofa_codec appmeta
FUZZ := cargo +nightly fuzz
FUZZ_DIRS := --fuzz-dir fuzz --target-dir $(CARGO_TARGET_DIR)/fuzz
## Nightly Rust and cargo-fuzz, installed when missing.
fuzz-tools:
	@rustup run nightly rustc --version > /dev/null 2>&1 || rustup toolchain install nightly --profile minimal
	@command -v cargo-fuzz > /dev/null 2>&1 || cargo install -q cargo-fuzz --locked
fuzz-test: fuzz-tools
	$(FUZZ) build $(FUZZ_DIRS)
	set -e; for t in $(FUZZ_TARGETS); do \
	  new=$$(mktemp -d); \
	  if ! $(FUZZ) run $(FUZZ_DIRS) $$t $$new fuzz/corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 > $$new.log 2>&1; then \
	    tail -60 $$new.log; echo "fuzz target $$t failed (its input is in fuzz/artifacts/$$t)" >&2; exit 1; \
	  fi; \
	  echo "$$t: $$(grep -E '^Done' $$new.log)"; rm -rf $$new $$new.log; \
	done
fuzz: fuzz-tools
	set -e; for t in $(FUZZ_TARGETS); do \
	  $(FUZZ) run $(FUZZ_DIRS) $$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048; \
	done

## The Node.js binding: install it as npm does (its build.js runs cargo), check that the
## committed loader and types match a fresh generation, type-check the .d.ts and the
## TypeScript example (tsc --strict), run its node --test suite, the demo with a Node
## subscriber and a smoke run of its benchmark.
node-test: build
	cd bindings/node && $(NPM)
	cd bindings/node && node build.js --codegen && git diff --exit-code -- native.js native.d.ts \
	  || { echo "bindings/node/native.js or native.d.ts changed: commit them (npm run codegen)" >&2; exit 1; }
	cd bindings/node && npx tsc -p tsconfig.json
	cd bindings/node && node --test test/
	$(BIN)/demo --ephemeral --node > /dev/null
	node --expose-gc bindings/node/bench.js --quick > /dev/null

## The Java jar installed in the local Maven repository (mvn install, with the native library
## `make build` made), without its tests, and the examples built against it by coordinates.
java-install: build
	$(MVN) -f bindings/java install -DskipTests
	$(MVN) -f examples/java package -DskipTests

## The Java binding: check its format (Spotless with palantir-java-format), build and install
## the jar as a user would (its JUnit 5 suite runs under -Xcheck:jni on the way), build the
## examples against the installed jar by its coordinates and run their test, the demo with a
## Java subscriber and a smoke run of its benchmark.
java-test: build
	$(MVN) -f bindings/java spotless:check install
	$(MVN) -f examples/java spotless:check package
	$(BIN)/demo --ephemeral --java > /dev/null
	java -Droster.log=warn -cp examples/java/target/roster-examples.jar dev.roster.bench.Bench --quick > /dev/null

# CMake's build tree stays in the clone: its cache records the source path, so one shared
# with another clone would be refused.
FFI_BUILD := build/cmake-ffi

## The C API: the committed header matches a fresh generation (cbindgen, tools/gen-c-header),
## CMake builds the C tests and the C and C++ examples against the library, ctest runs them
## (each on an in-process server), then valgrind checks them all.
c-test: build c-header
	git diff --exit-code -- ffi/include/roster.h \
	  || { echo "ffi/include/roster.h changed: commit it (make c-header writes it)" >&2; exit 1; }
	cmake -S ffi -B $(FFI_BUILD) -DCMAKE_BUILD_TYPE=Debug > /dev/null
	cmake --build $(FFI_BUILD) > /dev/null
	ctest --test-dir $(FFI_BUILD) --output-on-failure
	scripts/c-valgrind.sh $(FFI_BUILD)

## ffi/include/roster.h from ffi/src (cbindgen).
c-header:
	cargo run -q --manifest-path tools/Cargo.toml --bin gen-c-header

## Kotlin through uniffi: Maven builds the library, generates the Kotlin sources from it,
## compiles them with the hand-written extensions and runs the JUnit 5 suite; Spotless (ktfmt)
## checks the hand-written Kotlin; the committed Swift sources match a fresh generation.
kotlin-test: build
	$(MVN) -f bindings/kotlin spotless:check verify
	$(MAKE) swift-generate
	git diff --exit-code -- bindings/swift \
	  || { echo "bindings/swift changed: commit it (make swift-generate)" >&2; exit 1; }

## The Swift sources (Swift cannot be compiled here: they are generated and committed).
swift-generate: build
	cargo build -q --manifest-path tools/Cargo.toml --bin uniffi-bindgen
	$(CARGO_TARGET_DIR)/debug/uniffi-bindgen generate --library $(CARGO_TARGET_DIR)/debug/libroster_uniffi.so \
	  --language swift --no-format --out-dir bindings/swift/Sources/Roster > /dev/null

## Against a real SOFARegistry 6.3.0, started and stopped here (Java 17 and Maven; skipped
## with a loud line without them): the SOFA transport tests from Rust (one at a time: its
## ports are fixed), the cross-client tests with its Java client, and the Python, Node and Java ones.
sofa-test: build
	$(PIP) ./bindings/python
	cd bindings/node && $(NPM) --omit=dev
	scripts/sofa-test.sh

## The Python binding: install it as a user would (pip builds it with maturin), check its
## format and lint (ruff) and its types (mypy --strict), and run its pytest suite.
python-test: build
	$(PIP) ./bindings/python 'pytest>=7' 'ruff>=0.6' 'mypy>=1.10'
	python3 -m ruff format --check bindings/python examples/python
	python3 -m ruff check bindings/python examples/python
	python3 -m mypy --strict bindings/python/python/roster
	python3 -m pytest -q bindings/python/tests
	$(BIN)/demo --ephemeral --python > /dev/null
	python3 bindings/python/bench.py --quick > /dev/null

lint:
	cargo fmt --manifest-path fuzz/Cargo.toml --check
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

## The benchmark (release build); prints its figures and the machine.
bench:
	cargo run --release -p roster-bench

## The Python binding's benchmark (compare with `cargo run --release -p roster-bench -- --only h,i`).
bench-python:
	$(PIP) ./bindings/python
	python3 bindings/python/bench.py

## The Node.js binding's benchmark (the same scenarios).
bench-node:
	cd bindings/node && $(NPM) --omit=dev
	node --expose-gc bindings/node/bench.js

## The Java binding's benchmark (the same scenarios).
bench-java: java-install
	java -Xmx2g -Droster.log=warn -cp examples/java/target/roster-examples.jar dev.roster.bench.Bench

## The reference server with its defaults (127.0.0.1:9600, HTTP on 9601).
server:
	cargo run -p roster-server

## A three-node cluster as three processes on 127.0.0.1:9700-9702 (HTTP 9710-9712), data
## under ./roster-data; Ctrl-C stops them all.
cluster:
	cargo build -q -p roster-server
	trap 'kill 0' INT TERM EXIT; \
	for i in 1 2 3; do \
	  $(CARGO_TARGET_DIR)/debug/roster-server --node-id $$i \
	    --peers 1=127.0.0.1:9700,2=127.0.0.1:9701,3=127.0.0.1:9702 \
	    --http-listen 127.0.0.1:971$$((i-1)) --data-dir roster-data/node-$$i & \
	done; wait
