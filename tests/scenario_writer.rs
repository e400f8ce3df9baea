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

// Guards the writer against a fault kind (or a field of one) it does not write back.
#[test]
fn every_fault_kind_round_trips() {
    let text = format!("{}{}", common::MINIMAL_SCENARIO, common::EVERY_FAULT);
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
