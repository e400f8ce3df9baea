//! The incident scenarios (scenarios/incidents/): every per-strategy expectation holds for each of
//! 20 seeds. This is how fleetsim shows its checkers can fail: the historic version violates the
//! invariant of its incident, the fixed one holds it.

use std::path::{Path, PathBuf};

use fleetsim::scenario::load;
use fleetsim::sim::Simulation;

const SEEDS: std::ops::RangeInclusive<u64> = 1..=20;

fn incident_files() -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/incidents");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .expect("scenarios/incidents exists")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "toml")
        })
        .collect();
    files.sort();
    files
}

fn check_incident(name: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/incidents")
        .join(format!("{name}.toml"));
    let scenario = load(&path).expect("valid incident scenario");
    assert!(
        scenario.expect.by_strategy.len() >= 2,
        "an incident compares at least two strategies"
    );
    let mut failures = Vec::new();
    for strategy in scenario.expect.by_strategy.keys() {
        for seed in SEEDS {
            let result = Simulation::new(&scenario)
                .strategy(*strategy)
                .seed(seed)
                .run();
            for check in result.expectations.iter().filter(|check| !check.ok) {
                failures.push(format!(
                    "{name} --strategy {strategy} --seed {seed}: {} ({})",
                    check.expectation, check.detail
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// Guards that every incident file is covered by a test below.
#[test]
fn every_incident_scenario_has_a_test() {
    let names: Vec<String> = incident_files()
        .iter()
        .map(|path| {
            path.file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let tested = [
        "machine-explosion",
        "propagation-downtime-long-tail",
        "propagation-downtime",
        "rollback-nukes-all",
    ];
    assert_eq!(names, tested);
}

// Guards incident 1: 2023-06 explodes, 2024-05 stops growing but leaks, bluegreen does neither.
#[test]
fn machine_explosion_over_20_seeds() {
    check_incident("machine-explosion");
}

// Guards incident 2: 2023-06 loses requests at the switch; bluegreen's 10 s waits cover a tail
// under 10 s.
#[test]
fn propagation_downtime_over_20_seeds() {
    check_incident("propagation-downtime");
}

// Guards the limit of the fix: past both 10 s waits, the current bluegreen loses requests too.
#[test]
fn propagation_downtime_long_tail_over_20_seeds() {
    check_incident("propagation-downtime-long-tail");
}

// Guards incident 3: 2024-02's broad rollback leaves nothing routable; later versions keep greens.
#[test]
fn rollback_nukes_all_over_20_seeds() {
    check_incident("rollback-nukes-all");
}
