#!/usr/bin/env bash
# A mutation campaign over every scenario file (examples/mutation_campaign.rs): thousands of
# variants, each run through the release binary under a timeout and a memory cap; prints how many
# ended with each exit status and keeps every variant that panicked, hung or crashed. Not part of
# CI (5 000 variants took 401 s on two busy cores). Arguments go to the campaign, e.g.
#   scripts/mutation-campaign.sh --variants 5000 --seed 1 --jobs 2 --timeout 60 --memory 2048
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet --bin fleetsim --example mutation_campaign
exec ./target/release/examples/mutation_campaign "$@"
