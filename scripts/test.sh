#!/usr/bin/env bash
# The one test command: formatting, lints, every test, and every scenario file under scenarios/
# run against its own [expect] section. Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each phase prints its wall-clock seconds, so a slow CI run shows where the time went.
phase() { echo "== $1 (at ${SECONDS} s)"; }

phase "cargo fmt --check"
cargo fmt --all -- --check

phase "cargo clippy (warnings denied)"
cargo clippy --workspace --all-targets --locked -- -D warnings

phase "cargo test"
# Includes tests/scenario_fuzz.rs, the scenario loader's fuzz target: a bounded run of 1 000 cases
# per generator with a fixed seed (a long run: README.md, "Keeping it robust").
# --workspace: the library's example crate (examples/custom-strategy) and its tests too.
cargo test --locked --workspace --all-targets
cargo test --locked --workspace --doc

phase "cargo doc (warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc --locked --workspace --no-deps --quiet

phase "scenarios"
# The binary `cargo test` just built for the integration tests (test profile, opt-level 1): every
# scenario checks in well under a second with it, while a fat-LTO release build would add minutes
# of compiling to CI for nothing.
fleetsim=./target/debug/fleetsim
"$fleetsim" check --jobs 2 scenarios

phase "fuzz discovery canary"
# Every bluegreen version, 3 fuzzer seeds x 150 cases (a few seconds): fails if one of flyctl's
# three incidents is no longer found on its version (README, "How fast the fuzzer finds known bugs").
"$fleetsim" fuzz --discovery --seeds 3 --cases 150 --jobs 2 --known scenarios/fuzz-found
phase "done"
