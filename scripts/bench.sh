#!/usr/bin/env bash
# The benchmark of issue 6: release build, then `fleetsim bench`, which prints the table and writes
# reports/bench/latest.csv. Extra arguments go to `fleetsim bench` (e.g. --sizes 10,100,1000, or
# --quick to check that it runs). See reports/README.md, "Benchmarks", for what each figure means.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked --quiet
mkdir -p reports/bench
./target/release/fleetsim bench --csv reports/bench/latest.csv "$@"
