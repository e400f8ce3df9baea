//! `cargo run --release -p custom-strategy [SCENARIO] [SEEDS] [CASES]`: compares
//! region-by-region with flyctl's bluegreen on a scenario of the repository (default
//! `scenarios/bluegreen-basic.toml`, seeds 1..=50), then fuzzes it (200 cases).

use std::path::PathBuf;
use std::process::ExitCode;

use custom_strategy::study;

fn main() -> ExitCode {
    let mut arguments = std::env::args().skip(1);
    let path = arguments.next().map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/bluegreen-basic.toml"),
        PathBuf::from,
    );
    let numbers: Result<Vec<u64>, _> = arguments.map(|text| text.parse::<u64>()).collect();
    let Ok(numbers) = numbers else {
        eprintln!("usage: custom-strategy [SCENARIO] [SEEDS] [CASES] (SEEDS and CASES: counts)");
        return ExitCode::from(2);
    };
    let seeds = numbers.first().copied().unwrap_or(50).max(1);
    let cases = numbers.get(1).copied().unwrap_or(200);
    let scenario = match fleetsim::scenario::load(&path) {
        Ok(scenario) => scenario,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    println!("{} on seeds 1..={seeds}:", path.display());
    println!(
        "  {:<18} {:>24} {:>24} {:>24} {:>12}",
        "strategy", "lost requests", "a region left dark", "deploy failed", "deploy p50"
    );
    for row in study::compare(&scenario, 1..=seeds) {
        println!(
            "  {:<18} {:>24} {:>24} {:>24} {:>10.1} s",
            row.strategy,
            row.lost_requests.percent(),
            row.region_left_dark.percent(),
            row.deploy_failed.percent(),
            row.deploy_duration_median_ms as f64 / 1000.0
        );
    }
    let report = study::fuzz(cases, 1);
    println!(
        "\nfuzz: {} case(s), {} new failure(s), {} shrink run(s)",
        report.cases,
        report.failures.len(),
        report.shrink_runs
    );
    for failure in &report.failures {
        println!("  {failure}");
    }
    ExitCode::SUCCESS
}
