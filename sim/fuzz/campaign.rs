//! A fuzz campaign: proptest's `TestRunner` over [`fuzz_input`](super::fuzz_input) with a fixed
//! seed (same seed, same cases), shrinking each failure to a minimal case, then going on with the
//! cases left. Used by `fleetsim fuzz` and by the canary test.

use std::cell::{Cell, RefCell};

use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestCaseError, TestError, TestRunner};

use super::{add_coverage, check_on, Coverage, Failure};
use crate::deploy::StrategyName;
use crate::scenario::Scenario;

/// What to fuzz and for how long.
#[derive(Clone, Debug, PartialEq)]
pub struct CampaignConfig {
    /// Cases to generate (shrinking runs not counted).
    pub cases: u64,
    /// The fuzzer's seed: the same seed draws the same cases.
    pub seed: u64,
    pub strategy: StrategyName,
    /// Stop at the first failure (after shrinking it) instead of going on.
    pub stop_at_first_failure: bool,
    /// Shrinking runs per failure at most.
    pub max_shrink_iters: u32,
    /// Fuzz on this scenario's fleet instead of generated ones (see `FuzzCase::on_fleet`).
    pub fleet: Option<Scenario>,
}

impl CampaignConfig {
    pub fn new(strategy: StrategyName, cases: u64, seed: u64) -> CampaignConfig {
        CampaignConfig {
            cases,
            seed,
            strategy,
            stop_at_first_failure: false,
            max_shrink_iters: 1_000,
            fleet: None,
        }
    }
}

/// What a campaign found.
#[derive(Clone, Debug, Default)]
pub struct CampaignReport {
    /// Cases generated and run (shrinking runs not counted).
    pub cases: u64,
    /// Runs spent shrinking failures.
    pub shrink_runs: u64,
    /// Each failure, shrunk, in the order found.
    pub failures: Vec<Box<Failure>>,
    /// The case number (1-based) of each failure before shrinking.
    pub failure_cases: Vec<u64>,
    /// Coverage counters summed over the generated cases that passed.
    pub coverage: Coverage,
}

/// Progress reported while a campaign runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// A generated case ran (`failed`: it broke the property).
    Case { failed: bool },
    /// One shrinking run.
    Shrink,
}

/// The per-round seed of proptest's RNG: round 0 is the campaign seed itself, later rounds (after
/// a failure) are derived from it (splitmix64).
fn round_seed(seed: u64, round: u64) -> u64 {
    if round == 0 {
        return seed;
    }
    let mut z = seed ^ round.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Runs the campaign, calling `progress` after every run.
pub fn run(config: &CampaignConfig, progress: &dyn Fn(Progress)) -> CampaignReport {
    let mut report = CampaignReport::default();
    let mut round = 0u64;
    while report.cases < config.cases {
        let remaining = config.cases - report.cases;
        let mut runner_config = Config {
            cases: u32::try_from(remaining).unwrap_or(u32::MAX),
            failure_persistence: None,
            max_shrink_iters: config.max_shrink_iters,
            rng_algorithm: RngAlgorithm::ChaCha,
            rng_seed: RngSeed::Fixed(round_seed(config.seed, round)),
            ..Config::default()
        };
        // Shrinking is bounded by iterations, not by the wall clock.
        runner_config.max_shrink_time = 0;
        let mut runner = TestRunner::new(runner_config);
        let cases = Cell::new(0u64);
        let shrinking = Cell::new(false);
        let shrink_runs = Cell::new(0u64);
        let coverage = RefCell::new(Coverage::new());
        let outcome = runner.run(&super::fuzz_input(), |(case, seed)| {
            let result = check_on(config.fleet.as_ref(), &case, config.strategy, seed);
            if shrinking.get() {
                shrink_runs.set(shrink_runs.get() + 1);
                progress(Progress::Shrink);
            } else {
                cases.set(cases.get() + 1);
                progress(Progress::Case {
                    failed: result.is_err(),
                });
            }
            match result {
                Ok(summary) => {
                    if !shrinking.get() {
                        add_coverage(&mut coverage.borrow_mut(), &summary.coverage);
                    }
                    Ok(())
                }
                Err(failure) => {
                    shrinking.set(true);
                    Err(TestCaseError::fail(failure.to_string()))
                }
            }
        });
        report.shrink_runs += shrink_runs.get();
        add_coverage(&mut report.coverage, &coverage.borrow());
        let before = report.cases;
        report.cases += cases.get();
        match outcome {
            Ok(()) => break,
            Err(TestError::Fail(_, (case, seed))) => {
                let failure = check_on(config.fleet.as_ref(), &case, config.strategy, seed)
                    .expect_err("a shrunk failing case fails again: runs are deterministic");
                report.failures.push(failure);
                report.failure_cases.push(before + cases.get());
                if config.stop_at_first_failure {
                    break;
                }
            }
            Err(TestError::Abort(reason)) => panic!("the fuzzer gave up: {reason}"),
        }
        round += 1;
    }
    report
}
