//! Property-based fuzzing: structured fuzz cases ([`case`]), the property ([`check`]), long
//! campaigns for `fleetsim fuzz` ([`campaign`]) and how fast they find known bugs
//! ([`discovery`]).
//!
//! The property: a deploy strategy, run on any generated case, keeps every invariant of
//! [`PROPERTY`] (or the subset `--property` names) — each judged under its attribution rule, so
//! that a fault the deployer could not have handled does not count — and the run stays within
//! its limits. A violation is a [`Failure`] that carries the scenario, so it can be written out as
//! a file that `fleetsim run` replays with the same verdict.

pub mod campaign;
pub mod case;
pub mod discovery;
pub mod known;
pub mod report;
pub mod scenario_text;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::check::{Invariant, Signature, Status, Verdict, Violation};
use crate::deploy::StrategyName;
use crate::observe::LeaseStep;
use crate::platform::{DeployStep, Step};
use crate::scenario::Scenario;
use crate::sim::{Extension, RunResult, Simulation};

pub use case::{fuzz_case, fuzz_input, FaultKind, FuzzCase, Swarm};

/// The safety invariants of the first fuzz property (issues 4 and 13).
/// `never-all-deleted` is in through its deployer-attributed form `deployer-never-deletes-all`:
/// a crash, failing checks or a manual destroy can empty the app whatever the deployer does, but
/// no deployer action may take away the last started, uncordoned and passing machine.
pub const SAFETY: [Invariant; 5] = [
    Invariant::NoMachineExplosion,
    Invariant::RollbackSparesBlue,
    Invariant::GreenKeptAfterSwitch,
    Invariant::DeployTerminates,
    Invariant::DeployerNeverDeletesAll,
];

/// The fuzz property: [`SAFETY`] and five more, each with its attribution rule (what keeps it
/// from firing on a fault the deployer could not have handled):
///
/// - `no-downtime`: only an outage or failed request a deployer caused counts — one that began
///   while a deployer's mutation was applied, or when a proxy learned that a machine a deployer
///   cordoned or stopped is gone (`check::Fleet::downtime_by_deployer`). Crashes, failing
///   checks and stale proxies alone do not.
/// - `idempotent-create`: only the deploy's own launches count against its blues; no fault
///   launches a machine for it.
/// - `lease-exclusion`: only the deployer's own mutation of a machine whose lease *it* held and
///   let lapse (a stall, lost refreshes): another owner's lease is a conflict, not a breach.
/// - `no-leftovers`: not judged when the last deploy was killed (a killed deployer leaves its
///   greens by design and nothing ran after it to clean up).
/// - `single-image-at-rest`: not judged at a success while another deploy is still running (its
///   greens are not this deploy's leftovers).
pub const PROPERTY: [Invariant; 10] = [
    Invariant::NoMachineExplosion,
    Invariant::RollbackSparesBlue,
    Invariant::GreenKeptAfterSwitch,
    Invariant::DeployTerminates,
    Invariant::DeployerNeverDeletesAll,
    Invariant::NoDowntime,
    Invariant::IdempotentCreate,
    Invariant::LeaseExclusion,
    Invariant::NoLeftovers,
    Invariant::SingleImageAtRest,
];

/// `--property`'s value: a subset of [`PROPERTY`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertyChoice(pub Vec<Invariant>);

/// Parses `--property a,b,…` (clap's value parser).
pub fn parse_property_choice(text: &str) -> Result<PropertyChoice, String> {
    parse_property(text).map(PropertyChoice)
}

/// Parses `--property a,b,…`: names from [`PROPERTY`], in PROPERTY order, each once.
pub fn parse_property(text: &str) -> Result<Vec<Invariant>, String> {
    let mut chosen = Vec::new();
    for name in text
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        let invariant: Invariant = name.parse()?;
        if !PROPERTY.contains(&invariant) {
            let names: Vec<&str> = PROPERTY.iter().map(|i| i.as_str()).collect();
            return Err(format!(
                "`{name}` is not in the fuzz property (choose from: {})",
                names.join(", ")
            ));
        }
        chosen.push(invariant);
    }
    if chosen.is_empty() {
        return Err("--property needs at least one invariant".to_string());
    }
    Ok(PROPERTY
        .into_iter()
        .filter(|invariant| chosen.contains(invariant))
        .collect())
}

/// Coverage counters of one run or a campaign: how often rare situations happened. Reported,
/// never judged.
pub type Coverage = BTreeMap<&'static str, u64>;

/// What a run that kept the property did.
#[derive(Clone, Debug)]
pub struct RunSummary {
    pub fingerprint: String,
    /// Each deploy's outcome, in order.
    pub outcomes: Vec<String>,
    pub coverage: Coverage,
}

/// A run that broke the property.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The safety invariants violated, in `SAFETY` order.
    pub violated: Vec<Invariant>,
    /// The earliest first violation among them and the user's checkers that broke (by name).
    pub first: Option<(String, Violation)>,
    /// The limit the run hit, if it did.
    pub limit_hit: Option<String>,
    /// What broke first, by which deployer step, in which phase (`check::signature`).
    pub signature: Signature,
    /// A user's checkers that broke ([`crate::check::Checker`]), by name.
    pub custom_violated: Vec<String>,
    /// The strategy that ran: `strategy`, or a user's own (`Extension`).
    pub strategy_name: String,
    /// Every signature the run shows, earliest first (`signature` is the first).
    pub signatures: Vec<Signature>,
    pub strategy: StrategyName,
    pub seed: u64,
    pub fingerprint: String,
    /// Each deploy's outcome, in order.
    pub outcomes: Vec<String>,
    /// The scenario of the case, `[run] seed` and `[expect] hold` set: its file replays the run.
    pub scenario: Scenario,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let violated: Vec<&str> = self
            .violated
            .iter()
            .map(|i| i.as_str())
            .chain(self.custom_violated.iter().map(String::as_str))
            .collect();
        write!(
            f,
            "{} seed {}: {}; violated [{}]",
            self.strategy_name,
            self.seed,
            self.signature,
            violated.join(", ")
        )?;
        if self.signatures.len() > 1 {
            let later: Vec<String> = self.signatures[1..]
                .iter()
                .map(ToString::to_string)
                .collect();
            write!(f, "; then [{}]", later.join(", "))?;
        }
        if let Some((invariant, violation)) = &self.first {
            write!(
                f,
                "; first {invariant} at {} ms: {}",
                violation.time_ms, violation.detail
            )?;
        }
        if let Some(limit) = &self.limit_hit {
            write!(f, "; limit hit: {limit}")?;
        }
        write!(f, "; outcomes [{}]", self.outcomes.join(", "))
    }
}

impl Failure {
    /// Every signature the run shows, earliest first.
    pub fn signatures(&self) -> Vec<Signature> {
        self.signatures.clone()
    }

    /// The bug this failure is about, given the known findings: its first signature that is not
    /// known (None: every one is). A case is re-examined past a known first bug for the next.
    pub fn target(&self, known: &[known::KnownFinding]) -> Option<&Signature> {
        self.signatures
            .iter()
            .find(|signature| known::matching(known, signature).is_none())
    }

    /// The scenario file: a comment saying what broke, then the scenario.
    pub fn to_toml(&self) -> String {
        let mut text = String::new();
        text.push_str(
            "# Found by the fleetsim fuzzer. `fleetsim run` on this file replays the run:\n",
        );
        for line in self.to_string().lines() {
            text.push_str(&format!("# {line}\n"));
        }
        text.push_str(&format!("# fingerprint {}\n\n", self.fingerprint));
        text.push_str(&crate::scenario::writer::to_toml(&self.scenario));
        text
    }

    /// A file name that tells failures apart.
    pub fn file_name(&self) -> String {
        format!(
            "{}-seed{}-{}.toml",
            self.strategy.as_str().replace('@', "-"),
            self.seed,
            self.fingerprint
        )
    }

    /// Writes the scenario file into `directory` (created if needed); returns its path.
    pub fn write(&self, directory: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(directory)?;
        let path = directory.join(self.file_name());
        std::fs::write(&path, self.to_toml())?;
        Ok(path)
    }
}

/// The property on one case: run it with `strategy` and `seed`; Ok unless a judged invariant is
/// violated or the run hit a limit. (The failure is boxed: it carries a scenario.)
pub fn check(
    case: &FuzzCase,
    strategy: StrategyName,
    seed: u64,
) -> Result<RunSummary, Box<Failure>> {
    check_scenario(case.to_scenario(strategy, seed), strategy)
}

/// The property (`property`'s invariants, and a user's checkers) on one case on the fleet of
/// `fleet` (see [`FuzzCase::on_fleet`]), or on its own generated fleet when `fleet` is None;
/// with a user's strategy when `extension` gives one.
pub fn check_on(
    extension: Option<&dyn Extension>,
    fleet: Option<&Scenario>,
    case: &FuzzCase,
    strategy: StrategyName,
    seed: u64,
    property: &[Invariant],
) -> Result<RunSummary, Box<Failure>> {
    let scenario = match fleet {
        Some(fleet) => case.on_fleet(fleet, strategy, seed),
        None => case.to_scenario(strategy, seed),
    };
    check_scenario_extended(scenario, strategy, property, extension)
}

/// The whole property on a scenario (the fuzzer's, or one read back from a file).
pub fn check_scenario(
    scenario: Scenario,
    strategy: StrategyName,
) -> Result<RunSummary, Box<Failure>> {
    check_scenario_judging(scenario, strategy, &PROPERTY)
}

/// The invariants of `property` on a scenario, each under its attribution rule.
pub fn check_scenario_judging(
    scenario: Scenario,
    strategy: StrategyName,
    property: &[Invariant],
) -> Result<RunSummary, Box<Failure>> {
    check_scenario_extended(scenario, strategy, property, None)
}

/// [`check_scenario_judging`] with a user's strategy and checkers (`extension`): the invariants
/// of `property` the strategy declares, and every user checker, are judged.
pub fn check_scenario_extended(
    mut scenario: Scenario,
    strategy: StrategyName,
    property: &[Invariant],
    extension: Option<&dyn Extension>,
) -> Result<RunSummary, Box<Failure>> {
    let mut simulation = Simulation::new(&scenario)
        .strategy(strategy)
        .keep_trace(true);
    if let Some(extension) = extension {
        simulation = extension.configure(simulation);
    }
    let result = simulation.run();
    let judged = judged_verdicts(&result);
    let violated = violated_in(&judged, property);
    let custom_violated: Vec<String> = judged
        .iter()
        .filter(|verdict| verdict.violated() && verdict.invariant.parse::<Invariant>().is_err())
        .map(|verdict| verdict.invariant.clone())
        .collect();
    let outcomes: Vec<String> = result.deploys.iter().map(|d| d.outcome.clone()).collect();
    let fingerprint = result.fingerprint.to_string();
    if violated.is_empty() && custom_violated.is_empty() && result.limit_hit.is_none() {
        let mut coverage = coverage(&result);
        if verdict(&result, Invariant::NeverAllDeleted).is_some_and(|verdict| verdict.violated()) {
            coverage.insert("runs emptied by the platform (never-all-deleted)", 1);
        }
        if verdict(&result, Invariant::NoDowntime).is_some_and(|verdict| verdict.violated()) {
            coverage.insert("runs with downtime the platform caused", 1);
        }
        return Ok(RunSummary {
            fingerprint,
            outcomes,
            coverage,
        });
    }
    // The earliest violation among the property's invariants, then a user's checkers (ties go
    // to that order).
    let first = violated
        .iter()
        .map(|invariant| invariant.as_str())
        .chain(custom_violated.iter().map(String::as_str))
        .filter_map(|name| {
            let verdict = judged.iter().find(|verdict| verdict.invariant == name)?;
            Some((name.to_string(), verdict.first_violation.clone()?))
        })
        .min_by_key(|(_, violation)| violation.step);
    let signatures = Signature::all_of(&judged, result.limit_kind, property);
    let signature = signatures
        .first()
        .cloned()
        .expect("a run that broke the property has a signature");
    // The saved file expects what `fleetsim run` judges the same way as the property: an
    // invariant whose attribution rule excused a plain violation is left out of `hold`.
    scenario.expect.hold = property
        .iter()
        .copied()
        .filter(|invariant| {
            let plain = verdict(&result, *invariant).is_some_and(Verdict::violated);
            plain == violated.contains(invariant)
        })
        .collect();
    scenario.expect.hold_explicit = true;
    Err(Box::new(Failure {
        violated,
        custom_violated,
        strategy_name: result
            .strategy
            .clone()
            .unwrap_or_else(|| strategy.to_string()),
        first,
        limit_hit: result.limit_hit.clone(),
        signature,
        signatures,
        strategy,
        seed: result.seed,
        fingerprint,
        outcomes,
        scenario,
    }))
}

/// The run's verdicts with each property invariant under its attribution rule ([`PROPERTY`]).
pub fn judged_verdicts(result: &RunResult) -> Vec<Verdict> {
    let last_killed = result
        .deploys
        .last()
        .is_some_and(|deploy| deploy.outcome == "killed");
    result
        .verdicts
        .iter()
        .map(|verdict| {
            let mut verdict = verdict.clone();
            if !verdict.applies() {
                return verdict;
            }
            if verdict.invariant == Invariant::NoDowntime.as_str() {
                verdict.first_violation = result.downtime_by_deployer.clone();
            } else if verdict.invariant == Invariant::NoLeftovers.as_str() && last_killed {
                verdict.first_violation = None;
            } else {
                return verdict;
            }
            verdict.status = match verdict.first_violation {
                Some(_) => Status::Violated,
                None => Status::Held,
            };
            verdict
        })
        .collect()
}

/// The invariants of `judged` violated in `verdicts`, in `judged` order.
fn violated_in(verdicts: &[Verdict], judged: &[Invariant]) -> Vec<Invariant> {
    judged
        .iter()
        .copied()
        .filter(|invariant| {
            verdicts
                .iter()
                .any(|verdict| verdict.invariant == invariant.as_str() && verdict.violated())
        })
        .collect()
}

fn verdict(result: &RunResult, invariant: Invariant) -> Option<&crate::check::Verdict> {
    result
        .verdicts
        .iter()
        .find(|verdict| verdict.invariant == invariant.as_str())
}

/// Coverage counters of a run (it must have kept its trace).
pub fn coverage(result: &RunResult) -> Coverage {
    let mut counters = Coverage::new();
    let mut add = |name: &'static str, count: u64| *counters.entry(name).or_insert(0) += count;
    for deploy in &result.deploys {
        let name = match deploy.outcome.as_str() {
            "succeeded" => "deploys succeeded",
            "rolled-back" => "deploys rolled back",
            "failed" => "deploys failed",
            "rollback-failed" => "deploys whose rollback failed",
            "killed" => "deploys killed",
            "timed-out" => "deploys timed out",
            _ => "deploys not finished",
        };
        add(name, 1);
    }
    for record in &result.trace {
        match &record.step {
            Step::Deploy { step, .. } => match step {
                DeployStep::AbortRequested => add("aborts", 1),
                DeployStep::PointOfNoReturn => add("point of no return reached", 1),
                DeployStep::RollbackStarted => add("rollbacks started", 1),
                _ => {}
            },
            Step::Lease {
                step: LeaseStep::Conflict,
                ..
            } => add("leases conflicted", 1),
            Step::ApiReply { status, .. } if *status != 0 => add("API calls failed", 1),
            Step::Fault { .. } => add("faults fired", 1),
            _ => {}
        }
    }
    add("requests failed", result.metrics.requests_failed);
    if result.metrics.requests_failed > 0 {
        add("runs with failed requests", 1);
    }
    if result.metrics.leftovers > 0 {
        add("runs with leftovers", 1);
    }
    counters
}

/// Adds `run`'s counters into `total`.
pub fn add_coverage(total: &mut Coverage, run: &Coverage) {
    for (name, count) in run {
        *total.entry(name).or_insert(0) += count;
    }
}
