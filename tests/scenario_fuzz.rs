//! The scenario loader's fuzz target: arbitrary input gives a scenario or a `ScenarioError` with a
//! position, never a panic; and a scenario that loads runs (to a small event limit) without one.
//!
//! Two generators: arbitrary bytes, and the scenario files of `scenarios/` with values replaced by
//! arbitrary TOML values (extreme numbers, NaN, durations, machine targets, tables, arrays),
//! keys removed or added. Every run of this test draws the same cases (a fixed seed).
//!
//! Budget: `PROPTEST_CASES` cases per generator (default 1 000, about 2 s; part of
//! `scripts/test.sh`). A long run: `PROPTEST_CASES=200000 cargo test --test scenario_fuzz` (20 000
//! cases per generator took 82 s on a busy two-core machine); `PROPTEST_RNG_SEED=N` draws other
//! cases.

use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestCaseError, TestRunner};

use fleetsim::fuzz::scenario_text::{arbitrary_text, mutated_scenario, scenario_tables};
use fleetsim::scenario::{parse_with_warnings, ScenarioError};
use fleetsim::sim::Simulation;

/// The seed every run of this test uses unless `PROPTEST_RNG_SEED` says otherwise.
const SEED: u64 = 11;
/// Cases per generator unless `PROPTEST_CASES` says otherwise.
const CASES: u32 = 1_000;
/// Events a loaded scenario may run: enough to build the world and start the deploys.
const EVENTS_MAX: u64 = 20_000;

fn config(name: &'static str) -> Config {
    let mut config = Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|cases| cases.parse().ok())
            .unwrap_or(CASES),
        failure_persistence: None,
        source_file: Some(file!()),
        test_name: Some(name),
        rng_algorithm: RngAlgorithm::ChaCha,
        ..Config::default()
    };
    if config.rng_seed == RngSeed::Random {
        config.rng_seed = RngSeed::Fixed(SEED);
    }
    config
}

/// An error points into the text: a 1-based line within it (or just past its end), a column, a
/// field and a message.
fn check_position(error: &ScenarioError, text: &str) -> Result<(), TestCaseError> {
    let lines = text.lines().count() + 1;
    prop_assert!(
        error.line >= 1 && error.line <= lines && error.column >= 1,
        "no position: {error}"
    );
    prop_assert!(!error.field.is_empty(), "no field: {error}");
    prop_assert!(!error.message.is_empty(), "no message: {error}");
    Ok(())
}

/// The property: load `text`; an error has a position; a scenario runs without a panic.
fn load_and_run(text: &str) -> Result<(), TestCaseError> {
    match parse_with_warnings(Path::new("fuzz.toml"), text) {
        Err(error) => check_position(&error, text),
        Ok((mut scenario, warnings)) => {
            for warning in &warnings {
                check_position(warning, text)?;
            }
            scenario.run.event_limit = scenario.run.event_limit.min(EVENTS_MAX);
            let result = Simulation::new(&scenario).run();
            prop_assert!(result.events <= EVENTS_MAX);
            Ok(())
        }
    }
}

fn run(name: &'static str, strategy: impl Strategy<Value = String>) {
    let mut runner = TestRunner::new(config(name));
    if let Err(error) = runner.run(&strategy, |text| load_and_run(&text)) {
        panic!("{error}");
    }
}

// Guards the loader against any byte string: no panic, every error located.
#[test]
fn arbitrary_bytes_load_or_fail_with_a_position() {
    run(
        "arbitrary_bytes_load_or_fail_with_a_position",
        arbitrary_text(),
    );
}

// Guards the loader and the simulator against any value in any place of a real scenario file: the
// class of the crashes of issue 11 (a tiny rate, an extreme skew, an absurd timeout).
#[test]
fn mutated_scenario_files_load_or_fail_with_a_position_and_run_without_a_panic() {
    let tables = scenario_tables(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"));
    assert!(
        tables.len() >= 20,
        "found only {} scenario files",
        tables.len()
    );
    run(
        "mutated_scenario_files_load_or_fail_with_a_position_and_run_without_a_panic",
        mutated_scenario(tables),
    );
}
