//! `scenarios/flyctl/`: one scenario per flyctl behaviour, each asserting it exactly (call counts,
//! output lines, outcome) and holding on five seeds, not only on the seed its file names.

use std::path::{Path, PathBuf};

use fleetsim::scenario::load;
use fleetsim::sim::Simulation;

const SEEDS: std::ops::RangeInclusive<u64> = 1..=5;

fn flyctl_scenarios() -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/flyctl");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .expect("scenarios/flyctl exists")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "toml")
        })
        .collect();
    files.sort();
    files
}

// Guards every flyctl behaviour scenario on five seeds: a behaviour that held only at the file's
// own seed would be a coincidence of latencies, not flyctl's behaviour.
#[test]
fn every_flyctl_scenario_holds_on_five_seeds() {
    let files = flyctl_scenarios();
    assert!(files.len() >= 20, "found {} flyctl scenarios", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let scenario = load(file).unwrap_or_else(|error| panic!("{error}"));
        for seed in SEEDS {
            let result = Simulation::new(&scenario).seed(seed).run();
            if !result.passed {
                let failed: Vec<String> = result
                    .expectations
                    .iter()
                    .filter(|check| !check.ok)
                    .map(|check| format!("{} ({})", check.expectation, check.detail))
                    .collect();
                failures.push(format!(
                    "{} seed {seed}: {}",
                    file.display(),
                    failed.join("; ")
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// Guards the form of the directory: each file names the flyctl behaviour it shows (and the
// flyctl function) in its header, and asserts more than invariants: calls or output lines.
#[test]
fn every_flyctl_scenario_names_its_behaviour_and_asserts_it() {
    for file in flyctl_scenarios() {
        let text = std::fs::read_to_string(&file).expect("readable");
        assert!(
            text.starts_with("# flyctl behaviour: "),
            "{}: the header must start with `# flyctl behaviour: `",
            file.display()
        );
        let header: String = text
            .lines()
            .take_while(|line| line.starts_with('#'))
            .collect();
        assert!(
            header.contains('`'),
            "{}: the header names the flyctl function",
            file.display()
        );
        let scenario = load(&file).expect("valid");
        let expect = &scenario.expect;
        let asserts_details = !expect.calls.is_empty()
            || !expect.machines.is_empty()
            || !expect.output_contains.is_empty();
        assert!(
            asserts_details,
            "{}: assert calls, machines or output",
            file.display()
        );
    }
}
