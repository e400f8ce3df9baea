#!/usr/bin/env bash
# The one test command: formatting, lints, every test, and every scenario file under scenarios/
# run against its own [expect] section. Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings denied)"
cargo clippy --all-targets --locked -- -D warnings

echo "== cargo test"
# Includes tests/scenario_fuzz.rs, the scenario loader's fuzz target: a bounded run of 1 000 cases
# per generator with a fixed seed (a long run: README.md, "Keeping it robust").
cargo test --locked --all-targets
cargo test --locked --doc

echo "== scenarios"
cargo build --release --locked --quiet
./target/release/fleetsim check --jobs 2 scenarios

echo "== fuzz discovery canary"
# Every bluegreen version, 3 fuzzer seeds x 150 cases (a few seconds): fails if one of flyctl's
# three incidents is no longer found on its version (README, "How fast the fuzzer finds known bugs").
./target/release/fleetsim fuzz --discovery --seeds 3 --cases 150 --jobs 2 --known scenarios/fuzz-found
