# Cargo's target directory lives outside the clone so repeated runs reuse the build.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/roster/target

.PHONY: demo test lint bench server

## The demo: the reference server on its embedded default, a publisher and a subscriber.
demo:
	cargo run -q -p roster-examples --bin demo

## Every test, plus the format and lint checks CI enforces, and a smoke run of the
## benchmark (small sizes, debug build: proves it runs, not figures to quote).
test: lint
	cargo test --workspace
	cargo run -q -p roster-bench -- --quick

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

## The benchmark (release build); prints its figures and the machine.
bench:
	cargo run --release -p roster-bench

## The reference server with its defaults (127.0.0.1:9600, HTTP on 9601).
server:
	cargo run -p roster-server
