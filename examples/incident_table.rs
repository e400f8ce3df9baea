//! Prints, for each incident scenario and each strategy it lists, the invariants violated and the
//! median and worst outage, failed requests and peak machines over 20 seeds.
//!
//! cargo run --release --example incident_table

use std::path::Path;

use fleetsim::scenario::load;
use fleetsim::sim::Simulation;

fn median_and_worst(mut values: Vec<u64>) -> (u64, u64) {
    values.sort_unstable();
    (values[values.len() / 2], *values.last().expect("20 seeds"))
}

fn main() {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/incidents");
    let mut files: Vec<_> = std::fs::read_dir(directory)
        .expect("incidents")
        .map(|entry| entry.expect("entry").path())
        .collect();
    files.sort();
    println!("| incident | strategy | violated (seeds) | outage ms p50 / worst | failed requests p50 / worst | peak machines p50 / worst | expectations |");
    println!("|---|---|---|---|---|---|---|");
    for path in files {
        let scenario = load(&path).expect("valid");
        for strategy in scenario.expect.by_strategy.keys() {
            let results: Vec<_> = (1..=20)
                .map(|seed| {
                    Simulation::new(&scenario)
                        .strategy(*strategy)
                        .seed(seed)
                        .run()
                })
                .collect();
            let mut violated = std::collections::BTreeMap::<String, u32>::new();
            for result in &results {
                for verdict in result.verdicts.iter().filter(|verdict| verdict.violated()) {
                    *violated.entry(verdict.invariant.clone()).or_default() += 1;
                }
            }
            let violated: Vec<String> = violated
                .iter()
                .map(|(name, count)| format!("{name} ({count}/20)"))
                .collect();
            let outage =
                median_and_worst(results.iter().map(|r| r.metrics.outage_total_ms).collect());
            let failed =
                median_and_worst(results.iter().map(|r| r.metrics.requests_failed).collect());
            let peak = median_and_worst(
                results
                    .iter()
                    .map(|r| u64::from(r.metrics.machines_peak))
                    .collect(),
            );
            let passed = results.iter().filter(|result| result.passed).count();
            println!(
                "| {} | {} | {} | {} / {} | {} / {} | {} / {} | {passed}/20 hold |",
                scenario.name,
                strategy,
                if violated.is_empty() {
                    "none".to_string()
                } else {
                    violated.join(", ")
                },
                outage.0,
                outage.1,
                failed.0,
                failed.1,
                peak.0,
                peak.1
            );
        }
    }
}
