//! `cargo run --release -p custom-strategy [SCENARIO] [SEEDS] [CASES]`: compares
//! region-by-region with flyctl's bluegreen on a scenario of the repository (default
//! `scenarios/bluegreen-basic.toml`, seeds 1..=50; report files in `reports/custom-strategy/`),
//! then fuzzes it (200 cases).

use std::path::PathBuf;
use std::process::ExitCode;

use custom_strategy::study;

fn main() -> ExitCode {
    let mut arguments = std::env::args().skip(1);
    let path = arguments.next().map_or_else(
        || {
            let repository = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
            let repository = repository.canonicalize().unwrap_or(repository);
            repository.join("scenarios/bluegreen-basic.toml")
        },
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
    let out = PathBuf::from("reports/custom-strategy");
    let comparison = match study::compare(&scenario, 1..seeds + 1, Some(&out)) {
        Ok(comparison) => comparison,
        Err(error) => {
            eprintln!("{}: {error}", out.display());
            return ExitCode::from(2);
        }
    };
    print!("{}", fleetsim::report::compare::table_text(&comparison));
    for (strategy, dark) in study::regions_left_dark(&comparison) {
        println!(
            "  {strategy}: a region left without a routable machine in {}",
            dark.percent()
        );
    }
    println!("  (compare.html and the CSV files: {})", out.display());
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
