//! How many fuzz cases the canary needs to catch each historic bluegreen version: a campaign per
//! fuzzer seed (1 to 10 by default) that stops at the first failure; prints each count, the
//! median, and what was violated.
//!
//! Then the same for the invariant of each version's own incident (2023-06: no-machine-explosion,
//! 2024-02: deployer-never-deletes-all), counting generated cases without shrinking.
//!
//! cargo run --release --example canary_cases -- [SEEDS]

use fleetsim::check::Invariant;
use fleetsim::deploy::{BluegreenVersion, StrategyName};
use fleetsim::fuzz::campaign::{self, CampaignConfig};

fn median(mut values: Vec<u64>) -> f64 {
    values.sort_unstable();
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2] as f64,
        n => (values[n / 2 - 1] + values[n / 2]) as f64 / 2.0,
    }
}

/// Cases generated until `invariant` is violated (None: not within `budget`).
fn cases_until(
    strategy: StrategyName,
    invariant: Invariant,
    seed: u64,
    budget: u64,
) -> Option<u64> {
    (1..=budget).find(|number| {
        let (case, seed) = campaign::case_input(seed, *number);
        fleetsim::fuzz::check(&case, strategy, seed)
            .is_err_and(|failure| failure.violated.contains(&invariant))
    })
}

fn main() {
    let seeds: u64 = std::env::args()
        .nth(1)
        .map_or(10, |seeds| seeds.parse().expect("SEEDS is a number"));
    for version in [BluegreenVersion::V2023_06, BluegreenVersion::V2024_02] {
        let strategy = StrategyName::Bluegreen(version);
        let mut needed = Vec::new();
        for seed in 1..=seeds {
            let mut config = CampaignConfig::new(strategy, 10_000, seed);
            config.stop_at_first_failure = true;
            config.max_shrink_iters = 0;
            let report = campaign::run(&config, &|_| {});
            match (report.failure_cases.first(), report.failures.first()) {
                (Some(cases), Some(failure)) => {
                    let violated: Vec<&str> = failure.violated.iter().map(|i| i.as_str()).collect();
                    println!(
                        "{} seed {seed}: caught after {cases} case(s): {}",
                        strategy.as_str(),
                        violated.join(", ")
                    );
                    needed.push(*cases);
                }
                _ => println!(
                    "{} seed {seed}: not caught in 10000 cases",
                    strategy.as_str()
                ),
            }
        }
        needed.sort_unstable();
        let median = median(needed.clone());
        println!(
            "{}: median {median} case(s) over {} seed(s) (min {:?}, max {:?})\n",
            strategy.as_str(),
            needed.len(),
            needed.first(),
            needed.last()
        );
    }
    for (version, invariant) in [
        (BluegreenVersion::V2023_06, Invariant::NoMachineExplosion),
        (
            BluegreenVersion::V2024_02,
            Invariant::DeployerNeverDeletesAll,
        ),
    ] {
        let strategy = StrategyName::Bluegreen(version);
        let needed: Vec<u64> = (1..=seeds)
            .filter_map(|seed| cases_until(strategy, invariant, seed, 10_000))
            .collect();
        println!(
            "{} violates {invariant}: median {} case(s) over {} of {seeds} seed(s): {needed:?}",
            strategy.as_str(),
            median(needed.clone()),
            needed.len()
        );
    }
}
