//! The scenario writer: `parse(to_toml(s)) == s` (but for `path`) for every scenario file of the
//! repository and for the scenarios the fuzzer generates.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fleetsim::deploy::StrategyName;
use fleetsim::fuzz::fuzz_input;
use fleetsim::scenario::writer::duration;
use fleetsim::scenario::{fault_kinds, load, parse, to_toml, Scenario};
use proptest::prelude::*;

mod common;

fn round_trip(scenario: &Scenario) {
    let text = to_toml(scenario);
    let parsed = parse(&scenario.path, &text)
        .unwrap_or_else(|error| panic!("the written scenario does not parse: {error}\n{text}"));
    assert_eq!(&parsed, scenario, "written as:\n{text}");
}

fn scenario_files(directory: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(directory).expect("readable directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            scenario_files(&path, files);
        } else if path
            .extension()
            .is_some_and(|extension| extension == "toml")
        {
            files.push(path);
        }
    }
}

// Guards the writer against every field the repository's own scenario files use (checks,
// metadata, per-operation latency, per-strategy expectations, output_contains, faults).
#[test]
fn every_scenario_file_round_trips() {
    let mut files = Vec::new();
    scenario_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"),
        &mut files,
    );
    assert!(files.len() >= 8, "found {} scenario files", files.len());
    for file in files {
        let scenario = load(&file).expect("valid scenario file");
        round_trip(&scenario);
    }
}

/// One `[[faults]]` entry of every kind, each field a kind takes used at least once (a rate and
/// a call count, a time and a phase as the trigger).
const EVERY_FAULT: &str = r#"
[[faults]]
kind = "api-error"
operation = "launch"
rate = 0.25
status = "none"
start = "1s"
duration = "2s"
deploy = 0
machine = "blue:1"

[[faults]]
kind = "api-error"
calls = "2..4"
status = 429

[[faults]]
kind = "propagation-tail"
probability = 0.5
delay = { kind = "uniform", min = "1s", max = "2s" }
start = "3s"

[[faults]]
kind = "machine-crash"
machine = "green:0"
at = "20s"

[[faults]]
kind = "unhealthy"
machine = "deploy[0].green:*"

[[faults]]
kind = "lease-held"
machine = "blue:0"
owner = "someone"
ttl = "1m"

[[faults]]
kind = "deployer-kill"
deploy = 0
phase = "stop-blues"
after = "1500ms"

[[faults]]
kind = "deployer-abort"
at = "30s"

[[faults]]
kind = "capacity-error"
after_creates = 1
status = 409
deploy = 0

[[faults]]
kind = "stop-hangs"
machine = "blue:1"
duration = "1m"

[[faults]]
kind = "api-ambiguous"
rate = 1.0
status = 408

[[faults]]
kind = "api-ambiguous"
calls = "3.."
operation = "stop"

[[faults]]
kind = "api-slow"
extra = { kind = "exponential", mean = "100ms", max = "1s" }
operation = "wait"
deploy = 0
start = "5s"
duration = "10s"

[[faults]]
kind = "api-partition"
deploy = 0
start = "7s"

[[faults]]
kind = "api-partition"
operation = "set-metadata"
calls = "1"

[[faults]]
kind = "stale-list"
lag = "3s"

[[faults]]
kind = "empty-image-ref"
machine = "blue:0"
duration = "1h"

[[faults]]
kind = "host-unreachable"
machine = "blue:1"

[[faults]]
kind = "host-unknown"
machine = "blue:0"
start = "1s"

[[faults]]
kind = "deployer-stall"
duration = "20s"
at = "12s"

[[faults]]
kind = "slow-boot"
machine = "green:1"
delay = { kind = "constant", value = "7s" }

[[faults]]
kind = "boot-failure"
machine = "green:0"

[[faults]]
kind = "crash-loop"
machine = "blue:0"
period = "45s"

[[faults]]
kind = "org-limit"

[[faults]]
kind = "checks-fail"
machine = "green:1"
phase = "wait-healthy"
duration = "5s"

[[faults]]
kind = "checks-flap"
machine = "blue:1"
period = "2s"
start = "4s"

[[faults]]
kind = "proxy-stale"
region = "iad"
duration = "30s"

[[faults]]
kind = "manual-destroy"
machine = "blue:0"
at = "9s"
"#;

// Guards the writer against a fault kind (or a field of one) it does not write back.
#[test]
fn every_fault_kind_round_trips() {
    let text = format!("{}{EVERY_FAULT}", common::MINIMAL_SCENARIO);
    let scenario = parse(Path::new("every-fault.toml"), &text).expect("a valid scenario");
    let written: Vec<&str> = scenario
        .faults
        .iter()
        .map(fleetsim::faults::kind_name)
        .collect();
    for kind in fault_kinds() {
        assert!(written.contains(&kind.name), "no `{}` fault", kind.name);
    }
    round_trip(&scenario);
}

// Guards exact durations: each is written in the largest unit that divides it, never rounded.
#[test]
fn durations_are_written_exactly() {
    let cases = [
        (Duration::ZERO, "0s"),
        (Duration::from_secs(7200), "2h"),
        (Duration::from_secs(300), "5m"),
        (Duration::from_secs(90), "90s"),
        (Duration::from_millis(1500), "1500ms"),
        (Duration::from_micros(123_456), "123456us"),
        (Duration::from_nanos(1_000_000_007), "1000000007ns"),
    ];
    for (value, text) in cases {
        assert_eq!(duration(value), text);
        assert_eq!(humantime::parse_duration(text), Ok(value), "{text}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    // Guards the writer against every fuzz case: fleets, propagation, faults and triggers.
    #[test]
    fn fuzz_scenarios_round_trip(
        (case, seed) in fuzz_input(),
        strategy in prop::sample::select(StrategyName::ALL.to_vec()),
    ) {
        round_trip(&case.to_scenario(strategy, seed));
    }

    // Guards arbitrary durations (nanosecond precision) through the writer and humantime.
    #[test]
    fn any_duration_round_trips(nanos in 0u64..=u64::MAX / 4) {
        let value = Duration::from_nanos(nanos);
        prop_assert_eq!(humantime::parse_duration(&duration(value)), Ok(value));
    }
}
