//! A fuzz campaign: cases numbered from 1, each drawn and shrunk on its own, so that a case's
//! input, verdict, shrunk failure and saved file depend only on the fuzzer seed and the case
//! number — never on `--cases`, `--jobs`, shards, or which other cases failed. Used by
//! `fleetsim fuzz`, the tests and the benchmark.
//!
//! Case `k` of seed `s` is proptest's [`fuzz_input`](super::fuzz_input) drawn by a fresh
//! `TestRunner` whose ChaCha RNG is seeded with a mix of `(s, k)`, with fixed settings (not read
//! from `PROPTEST_*` variables).
//!
//! One bug, one report. A failing case shows one or more [`Signature`]s (one per broken
//! invariant, earliest first); the bug it is *about* — its **target** — is the first of them that
//! is not a known finding, so a case whose first bug is known is re-examined for the next one. A
//! case whose signatures are all known is counted as known. Otherwise, the first case of the
//! campaign with a given target is shrunk by our own loop over its value tree, a shrink step kept
//! only if it still has the same target (so the minimal case shows the bug the case was found
//! with, not another one it also had), and saved; a later case with the same target is a
//! **repeat**: counted, not shrunk again. The target depends only on the case and the known
//! findings, so the shrunk failure and its file depend only on the fuzzer seed and the case
//! number; whether a case is a repeat depends on the cases before it (in a shard: the shard's).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestRunner};

use super::known::{matching, KnownFinding};
use super::{add_coverage, check_on, Coverage, Failure, FuzzCase};
use crate::check::{Invariant, Signature};
use crate::deploy::StrategyName;
use crate::scenario::Scenario;
use crate::work::{run_in_order, Shard};

/// Cases in one campaign at most.
pub const CASES_MAX: u64 = 1 << 40;

/// How often flat-map shrinking may regenerate an inner value while complicating (proptest takes
/// it from `Config::cases`; fixed here so shrinking does not depend on the campaign's size).
const SHRINK_REGENERATIONS: u32 = 256;

/// What to fuzz and how.
#[derive(Clone, Debug, PartialEq)]
pub struct CampaignConfig {
    /// Cases 1..=cases (shrinking runs not counted).
    pub cases: u64,
    /// The fuzzer's seed: the same seed draws the same cases.
    pub seed: u64,
    pub strategy: StrategyName,
    /// Stop at the first new failure (after shrinking it) instead of going on.
    pub stop_at_first_failure: bool,
    /// Shrinking runs per failure at most.
    pub max_shrink_iters: u32,
    /// Fuzz on this scenario's fleet instead of generated ones (see `FuzzCase::on_fleet`).
    pub fleet: Option<Scenario>,
    /// Cases run in parallel (results identical to 1).
    pub jobs: usize,
    /// The cases of this shard only (case k is item k − 1).
    pub shard: Shard,
    /// Failures with these signatures are known: counted, not shrunk, not failing.
    pub known: Vec<KnownFinding>,
    /// The invariants judged (`--property`; default [`PROPERTY`](super::PROPERTY)).
    pub property: Vec<Invariant>,
    /// A user's strategy (run instead of `strategy`, which still shapes the generated cases)
    /// and checkers (judged beside `property`): fleetsim as a library.
    pub extension: Option<crate::sim::SharedExtension>,
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
            jobs: 1,
            shard: Shard::WHOLE,
            known: Vec::new(),
            property: super::PROPERTY.to_vec(),
            extension: None,
        }
    }

    /// How many cases this campaign (this shard of it) runs.
    pub fn planned(&self) -> u64 {
        self.shard.share(self.cases.min(CASES_MAX))
    }

    /// The case number at `position` of this shard's cases (case k is item k − 1).
    pub fn case_at(&self, position: u64) -> u64 {
        self.shard.item(position) + 1
    }
}

/// A failing case.
#[derive(Clone, Debug)]
pub struct Finding {
    /// The bug the case is about: its first signature that is not known (module docs), or its
    /// first signature when every one is known.
    pub signature: Signature,
    /// Every signature of the case, earliest first.
    pub signatures: Vec<Signature>,
    /// Every signature is known: the known finding of the first (an index into
    /// `CampaignConfig::known`).
    pub known: Option<usize>,
    /// An earlier case of the campaign had the same target: its number (counted, not shrunk).
    pub repeat_of: Option<u64>,
    /// The failure as generated.
    pub failure: Box<Failure>,
    /// The first failure with its target, shrunk (same target); None for a known one or a
    /// repeat.
    pub shrunk: Option<Box<Failure>>,
    pub shrink_runs: u64,
}

/// One case's result.
#[derive(Clone, Debug)]
pub struct CaseResult {
    /// The case number, from 1.
    pub case: u64,
    /// The simulation seed the case drew.
    pub seed: u64,
    /// The run's fingerprint and each deploy's outcome (of the case as generated).
    pub fingerprint: String,
    pub outcomes: Vec<String>,
    /// Coverage counters of a passing case (empty for a failing one).
    pub coverage: Coverage,
    pub finding: Option<Finding>,
}

impl CaseResult {
    /// A failure that is not known.
    pub fn is_new_failure(&self) -> bool {
        self.finding
            .as_ref()
            .is_some_and(|finding| finding.known.is_none())
    }
}

/// What a campaign found (the results of the cases that ran, in case order).
#[derive(Clone, Debug, Default)]
pub struct CampaignReport {
    /// Cases run (shrinking runs not counted).
    pub cases: u64,
    /// Runs spent shrinking failures.
    pub shrink_runs: u64,
    /// Each new failure, shrunk, in case order.
    pub failures: Vec<Box<Failure>>,
    /// The case number of each new failure.
    pub failure_cases: Vec<u64>,
    /// (case, index of the known finding) of each known failure.
    pub known_cases: Vec<(u64, usize)>,
    /// (case, first case with the same target) of each repeat of a new failure.
    pub repeat_cases: Vec<(u64, u64)>,
    /// Coverage counters summed over the cases that passed.
    pub coverage: Coverage,
}

impl CampaignReport {
    fn add(&mut self, result: &CaseResult) {
        self.cases += 1;
        add_coverage(&mut self.coverage, &result.coverage);
        let Some(finding) = &result.finding else {
            return;
        };
        self.shrink_runs += finding.shrink_runs;
        match (finding.known, finding.repeat_of, &finding.shrunk) {
            (Some(known), _, _) => self.known_cases.push((result.case, known)),
            (None, Some(first), _) => self.repeat_cases.push((result.case, first)),
            (None, None, shrunk) => {
                self.failures
                    .push(shrunk.clone().unwrap_or_else(|| finding.failure.clone()));
                self.failure_cases.push(result.case);
            }
        }
    }
}

/// Progress reported while a campaign runs (from worker threads).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// One shrinking run.
    Shrink,
}

/// The seed of case `case`'s RNG: splitmix64 of the fuzzer seed and the case number.
pub fn case_seed(seed: u64, case: u64) -> u64 {
    let mut z = seed ^ case.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The runner that draws case `case` of fuzzer seed `seed`: every setting fixed here.
fn case_runner(seed: u64, case: u64) -> TestRunner {
    TestRunner::new(Config {
        cases: SHRINK_REGENERATIONS,
        max_flat_map_regens: 1_000_000,
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(case_seed(seed, case)),
        ..Config::default()
    })
}

/// The input of case `case` of fuzzer seed `seed` (and its simulation seed).
pub fn case_input(seed: u64, case: u64) -> (FuzzCase, u64) {
    super::fuzz_input()
        .new_tree(&mut case_runner(seed, case))
        .expect("the fuzz input has no filters")
        .current()
}

/// The lowest case number seen so far with each target, shared by the worker threads: a worker
/// does not shrink a case whose target a lower-numbered case already has (it will be a repeat).
type Claims = Mutex<BTreeMap<Signature, u64>>;

/// Runs case `case` alone: draw, check, and shrink a new failure.
pub fn run_case(
    config: &CampaignConfig,
    case: u64,
    progress: &(dyn Fn(Progress) + Sync),
) -> CaseResult {
    run_claimed_case(config, case, progress, &Claims::default())
}

fn run_claimed_case(
    config: &CampaignConfig,
    case: u64,
    progress: &(dyn Fn(Progress) + Sync),
    claims: &Claims,
) -> CaseResult {
    let mut tree = super::fuzz_input()
        .new_tree(&mut case_runner(config.seed, case))
        .expect("the fuzz input has no filters");
    let (input, seed) = tree.current();
    let fleet = config.fleet.as_ref();
    let extension = config.extension.as_ref().map(|shared| &*shared.0);
    match check_on(
        extension,
        fleet,
        &input,
        config.strategy,
        seed,
        &config.property,
    ) {
        Ok(summary) => CaseResult {
            case,
            seed,
            fingerprint: summary.fingerprint,
            outcomes: summary.outcomes,
            coverage: summary.coverage,
            finding: None,
        },
        Err(failure) => {
            let target = failure.target(&config.known).cloned();
            let known = match &target {
                Some(_) => None,
                None => matching(&config.known, &failure.signature),
            };
            let claimed_before = target.as_ref().and_then(|target| {
                let mut claims = claims.lock().unwrap_or_else(|poison| poison.into_inner());
                let first = claims.entry(target.clone()).or_insert(case);
                *first = (*first).min(case);
                (*first < case).then_some(*first)
            });
            let (shrunk, shrink_runs) = match (&target, claimed_before) {
                (Some(target), None) => {
                    let (shrunk, runs) = shrink(config, &mut tree, &failure, target, progress);
                    (Some(shrunk), runs)
                }
                _ => (None, 0),
            };
            CaseResult {
                case,
                seed,
                fingerprint: failure.fingerprint.clone(),
                outcomes: failure.outcomes.clone(),
                coverage: Coverage::new(),
                finding: Some(Finding {
                    signature: target.unwrap_or_else(|| failure.signature.clone()),
                    signatures: failure.signatures.clone(),
                    known,
                    repeat_of: claimed_before,
                    failure,
                    shrunk,
                    shrink_runs,
                }),
            }
        }
    }
}

/// Shrinks a failing case (proptest's simplify/complicate walk), keeping a step only if it fails
/// with the same target (its first signature that is not known); at most `max_shrink_iters`
/// runs. Returns the smallest failure found and the runs spent.
fn shrink(
    config: &CampaignConfig,
    tree: &mut impl ValueTree<Value = (FuzzCase, u64)>,
    failure: &Failure,
    target: &Signature,
    progress: &(dyn Fn(Progress) + Sync),
) -> (Box<Failure>, u64) {
    let mut smallest = Box::new(failure.clone());
    let mut runs = 0u64;
    if !tree.simplify() {
        return (smallest, runs);
    }
    while runs < u64::from(config.max_shrink_iters) {
        runs += 1;
        progress(Progress::Shrink);
        let (input, seed) = tree.current();
        let still_fails = check_on(
            config.extension.as_ref().map(|shared| &*shared.0),
            config.fleet.as_ref(),
            &input,
            config.strategy,
            seed,
            &config.property,
        )
        .err()
        .filter(|candidate| candidate.target(&config.known) == Some(target));
        let moved = match still_fails {
            Some(candidate) => {
                smallest = candidate;
                tree.simplify()
            }
            None => tree.complicate(),
        };
        if !moved {
            break;
        }
    }
    (smallest, runs)
}

/// Runs the campaign on `config.jobs` threads. `on_case` sees each case's result in case order;
/// no new case starts once `keep_going` says no (the cases run are then a prefix of the
/// campaign's, so `--cases` with the last case number replays them).
pub fn run_with(
    config: &CampaignConfig,
    progress: &(dyn Fn(Progress) + Sync),
    keep_going: &(dyn Fn() -> bool + Sync),
    mut on_case: impl FnMut(&CaseResult),
) -> CampaignReport {
    let stopped = AtomicBool::new(false);
    let claims = Claims::default();
    let go_on = || keep_going() && !stopped.load(Ordering::SeqCst);
    let work = |position: u64| {
        let result = run_claimed_case(config, config.case_at(position), progress, &claims);
        if config.stop_at_first_failure && result.is_new_failure() {
            stopped.store(true, Ordering::SeqCst);
        }
        result
    };
    let mut report = CampaignReport::default();
    let mut done = false;
    let mut first_case_of: BTreeMap<Signature, u64> = BTreeMap::new();
    run_in_order(
        config.planned(),
        config.jobs,
        &go_on,
        &work,
        |mut result| {
            // With several jobs, cases after the first new failure may have run: drop them, so the
            // report is the one a serial campaign gives.
            if done {
                return;
            }
            settle_repeat(&mut result, &mut first_case_of);
            report.add(&result);
            on_case(&result);
            done = config.stop_at_first_failure && result.is_new_failure();
        },
    );
    report
}

/// Decides, in case order, whether a new failure is the first with its target or a repeat (a
/// worker that ran ahead may have shrunk a repeat too: that work is dropped, so the results are
/// those of one job).
fn settle_repeat(result: &mut CaseResult, first_case_of: &mut BTreeMap<Signature, u64>) {
    let Some(finding) = result.finding.as_mut() else {
        return;
    };
    if finding.known.is_some() {
        return;
    }
    match first_case_of.get(&finding.signature) {
        Some(first) => {
            finding.repeat_of = Some(*first);
            finding.shrunk = None;
            finding.shrink_runs = 0;
        }
        None => {
            assert!(
                finding.repeat_of.is_none(),
                "a lower-numbered case claimed this target, so it came first"
            );
            first_case_of.insert(finding.signature.clone(), result.case);
        }
    }
}

/// Runs the whole campaign.
pub fn run(config: &CampaignConfig, progress: &(dyn Fn(Progress) + Sync)) -> CampaignReport {
    run_with(config, progress, &|| true, |_| {})
}
