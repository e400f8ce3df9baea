//! Invariants and metrics. Every invariant, built-in or a user's, is a [`Checker`]: it takes the
//! world's observations one at a time and reads the [`Fleet`], the state the run keeps for all of
//! them, updated once per observation (never a scan of the fleet per event). Each verdict names
//! the first violating step, its index in the trace, its virtual time and who was acting.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::api::Operation;
use crate::engine::SimTime;
pub use crate::observe::{Bounds, Invariant, InvariantKind, InvariantSet};
use crate::observe::{Observation, ObservationKind, Observer};

pub mod builtin;
pub mod checker;
pub mod counts;
pub mod fleet;
pub mod machines;
pub mod outages;
pub mod signature;

pub use checker::{Checker, Finding};
pub use fleet::{Fleet, SettledFacts};
pub use signature::{Action, Cause, Signature};

/// The first step that broke an invariant.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    pub time_ms: u64,
    /// Index of the step in the trace.
    pub step: u64,
    pub detail: String,
    /// Who was acting when it happened: the deployer step and phase (see [`signature`]).
    pub cause: Cause,
}

/// How an invariant fared in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Status {
    #[serde(rename = "held")]
    Held,
    #[serde(rename = "violated")]
    Violated,
    /// The invariant does not apply to the run's strategies (they do not declare it): not judged.
    #[serde(rename = "n/a")]
    NotApplicable,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Held => "held",
            Status::Violated => "violated",
            Status::NotApplicable => "n/a",
        }
    }
}

/// An invariant's verdict for a run.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Verdict {
    pub invariant: String,
    /// What it promises, with the bound it judged (see [`Bounds`]).
    pub promise: String,
    pub status: Status,
    pub first_violation: Option<Violation>,
}

impl Verdict {
    pub fn held(&self) -> bool {
        self.status == Status::Held
    }

    pub fn violated(&self) -> bool {
        self.status == Status::Violated
    }

    pub fn applies(&self) -> bool {
        self.status != Status::NotApplicable
    }
}

/// The run's metrics. Each is named for what it measures (reports/README.md has every unit):
/// an *outage* is time with nothing to route to; *failed requests* are what users saw.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Metrics {
    /// Time during which some proxy (that had served) had no live routable machine.
    pub outage_total_ms: u64,
    pub outage_windows: u32,
    pub outage_longest_ms: u64,
    /// Time outside outages during which requests were failing: the union of the failed
    /// requests' lifetimes (arrival to failure), less the outage windows. Outage and degraded
    /// time never overlap.
    pub degraded_total_ms: u64,
    pub requests_total: u64,
    pub requests_ok: u64,
    pub requests_failed: u64,
    /// `requests_failed / requests_total` (0 when no request finished).
    pub error_rate: f64,
    /// Requests that needed a proxy retry or hold (they may still have succeeded).
    pub requests_retried: u64,
    pub failures_by_reason: BTreeMap<String, u64>,
    pub latency_p50_ms: f64,
    pub latency_p90_ms: f64,
    pub latency_p99_ms: f64,
    pub latency_max_ms: f64,
    /// Per deploy, in order: how long it ran (None: it never started).
    pub deploy_duration_ms: Vec<Option<u64>>,
    pub machines_initial: u32,
    pub machines_peak: u32,
    pub machines_final: u32,
    /// Machines alive integrated over the run's virtual time (machine-seconds: what the fleet costs).
    pub machine_seconds: f64,
    /// Alive machines no deploy owns at the end (`no-leftovers`).
    pub leftovers: u32,
    /// The smallest drain margin over blues: how long before a blue stopped accepting
    /// connections the last proxy forgot it (negative: a proxy still routed to it after).
    pub drain_margin_min_ms: Option<f64>,
    /// Blues some proxy still routed to after they stopped accepting connections.
    pub blues_routed_after_stop: u32,
    pub routed_after_stop_max_ms: u64,
}

/// Intervals of virtual time, kept disjoint and sorted, for intervals that arrive in order of
/// their end (a request's lifetime is known when it ends, and requests end in time order).
#[derive(Clone, Debug, Default)]
pub struct Intervals(Vec<(SimTime, SimTime)>);

impl Intervals {
    /// Adds `[start, end]`; `end` is at or after the end of every interval added before.
    pub fn add(&mut self, start: SimTime, end: SimTime) {
        assert!(start <= end, "an interval ends after it starts");
        assert!(
            self.0.last().is_none_or(|last| last.1 <= end),
            "intervals are added in order of their end"
        );
        let mut start = start;
        // Every interval that overlaps the new one ends at or after `start`: they are the last ones.
        while let Some(last) = self.0.last() {
            if last.1 < start {
                break;
            }
            start = start.min(last.0);
            self.0.pop();
        }
        self.0.push((start, end));
    }

    pub fn as_slice(&self) -> &[(SimTime, SimTime)] {
        &self.0
    }

    /// Total length.
    pub fn total(&self) -> Duration {
        self.0.iter().map(|(start, end)| *end - *start).sum()
    }

    /// The parts of these intervals that lie outside `others` (sorted and disjoint too).
    pub fn outside(&self, others: &[(SimTime, SimTime)]) -> Vec<(SimTime, SimTime)> {
        let mut parts = Vec::new();
        let mut next = 0;
        for (start, end) in &self.0 {
            // Others that end before this interval starts end before every later one too.
            // (Skipping them only saves time: the loop below would pass over them unchanged, so
            // cargo-mutants' `next < others.len()` → `>`, which never skips, is equivalent.)
            while next < others.len() && others[next].1 <= *start {
                next += 1;
            }
            let mut from = *start;
            let mut index = next;
            // `others[index].0 < *end` → `<=` (cargo-mutants) is equivalent: an other starting
            // at `end` pushes the same last part here that the check after the loop would.
            while index < others.len() && others[index].0 < *end {
                if others[index].0 > from {
                    parts.push((from, others[index].0));
                }
                from = from.max(others[index].1);
                index += 1;
            }
            if from < *end {
                parts.push((from, *end));
            }
        }
        parts
    }

    /// Length of the part of these intervals that lies outside `others`.
    pub fn total_outside(&self, others: &[(SimTime, SimTime)]) -> Duration {
        self.outside(others)
            .iter()
            .map(|(start, end)| *end - *start)
            .sum()
    }
}

/// The checkers of one run — the built-in invariants, then a user's — over the one [`Fleet`]
/// they all read, and the first violation of each. It is the world's observer: each observation
/// updates the fleet, then goes to the checkers that want its kind.
pub struct Checkers {
    fleet: Fleet,
    checkers: Vec<Box<dyn Checker>>,
    /// Per observation kind: the checkers that want it, in registration order.
    wanted_by: Vec<Vec<usize>>,
    /// Per checker: its first violation.
    violations: Vec<Option<Violation>>,
}

/// Who acts while an observation is judged, when the observation itself says: a launch, a call
/// sent, a deploy's end or time-out. None: the fleet's current cause.
fn acting_in(observation: &Observation<'_>) -> Option<(Option<u32>, Action)> {
    match *observation {
        Observation::MachineCreated { by, .. } => Some((
            by,
            by.map_or(Action::Platform, |_| Action::Call(Operation::Launch)),
        )),
        Observation::CallStarted { deploy, operation } => {
            Some((Some(deploy), Action::Call(operation)))
        }
        Observation::DeployFinished { deploy, .. } => Some((Some(deploy), Action::Finish)),
        Observation::DeployTimedOut { deploy } => Some((Some(deploy), Action::TimedOut)),
        _ => None,
    }
}

impl Observer for Checkers {
    fn observe(&mut self, now: SimTime, step: u64, observation: &Observation<'_>) {
        self.fleet.observe(now, step, observation);
        let wanted_by = &self.wanted_by[observation.kind().index()];
        if wanted_by.is_empty() {
            return;
        }
        self.fleet.acting = acting_in(observation);
        for &index in wanted_by {
            if let Some(finding) = self.checkers[index].observe(&self.fleet, now, observation) {
                record(&mut self.violations[index], &self.fleet, now, step, finding);
            }
        }
        self.fleet.acting = None;
    }
}

/// Keeps the first violation only.
fn record(
    violation: &mut Option<Violation>,
    fleet: &Fleet,
    now: SimTime,
    step: u64,
    finding: Finding,
) {
    if violation.is_some() {
        return;
    }
    *violation = Some(Violation {
        time_ms: finding.at.unwrap_or(now).as_millis(),
        step,
        detail: finding.detail,
        cause: finding.cause.unwrap_or_else(|| fleet.cause()),
    });
}

impl Checkers {
    /// The built-in invariants under `bounds`, then `custom` (a user's own, which may not take a
    /// built-in invariant's name). `proxy_regions`: the region of each proxy, by proxy index.
    pub fn new(
        bounds: Bounds,
        initial_machines: u32,
        proxy_regions: Vec<String>,
        deploys: usize,
        custom: Vec<Box<dyn Checker>>,
    ) -> Checkers {
        for checker in &custom {
            assert!(
                checker.name().parse::<Invariant>().is_err(),
                "a checker may not take a built-in invariant's name: {}",
                checker.name()
            );
        }
        let mut checkers = builtin::checkers(bounds);
        checkers.extend(custom);
        let mut wanted_by = vec![Vec::new(); ObservationKind::ALL.len()];
        for (index, checker) in checkers.iter().enumerate() {
            for kind in checker.interests() {
                wanted_by[kind.index()].push(index);
            }
        }
        Checkers {
            fleet: Fleet::new(initial_machines, proxy_regions, deploys),
            violations: vec![None; checkers.len()],
            checkers,
            wanted_by,
        }
    }

    /// What every checker reads.
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// The built-in invariants violated so far with their first violation (`fleetsim serve`'s
    /// status, before the run's end judges the rest).
    pub fn violated_so_far(&self) -> impl Iterator<Item = (Invariant, &Violation)> {
        Invariant::ALL
            .into_iter()
            .zip(&self.violations)
            .filter_map(|(invariant, violation)| Some((invariant, violation.as_ref()?)))
    }

    /// The end of the settle period: what the world reports then, liveness judged, windows
    /// closed. Returns the verdicts of the built-in invariants (those outside `applicable`, what
    /// the run's strategies declare, are `n/a`), then those of a user's checkers (always judged),
    /// and the metrics.
    pub fn finish(
        &mut self,
        now: SimTime,
        step: u64,
        facts: SettledFacts,
        applicable: InvariantSet,
    ) -> (Vec<Verdict>, Vec<Verdict>, Metrics) {
        self.fleet.settle(now, facts);
        self.fleet.acting = Some((None, Action::Settled));
        for (checker, violation) in self.checkers.iter_mut().zip(&mut self.violations) {
            if let Some(finding) = checker.settled(&self.fleet, now) {
                record(violation, &self.fleet, now, step, finding);
            }
        }
        self.fleet.acting = None;
        let mut verdicts: Vec<Verdict> = self
            .checkers
            .iter()
            .zip(&self.violations)
            .map(|(checker, violation)| {
                let applies = checker
                    .name()
                    .parse::<Invariant>()
                    .map_or(true, |invariant| applicable.contains(invariant));
                let status = match violation {
                    _ if !applies => Status::NotApplicable,
                    None => Status::Held,
                    Some(_) => Status::Violated,
                };
                Verdict {
                    invariant: checker.name().to_string(),
                    promise: checker.promise(),
                    status,
                    first_violation: violation.clone().filter(|_| applies),
                }
            })
            .collect();
        let custom = verdicts.split_off(Invariant::ALL.len());
        (verdicts, custom, self.fleet.metrics())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::FailureReason;

    fn at(seconds: u64) -> SimTime {
        SimTime::from_micros(seconds * 1_000_000)
    }

    // Guards `Invariant::index`: the enum is declared in `ALL`'s order, so the cast is the position.
    #[test]
    fn invariant_index_is_the_position_in_all() {
        for (position, invariant) in Invariant::ALL.iter().enumerate() {
            assert_eq!(invariant.index(), position, "{invariant}");
        }
    }

    // Guards the set: membership, union, and iteration in ALL order.
    #[test]
    fn invariant_sets() {
        let set = InvariantSet::EMPTY
            .with(Invariant::DrainOrder)
            .with(Invariant::NoMachineExplosion);
        assert!(set.contains(Invariant::DrainOrder));
        assert!(!set.contains(Invariant::MaxUnavailable));
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            vec![Invariant::NoMachineExplosion, Invariant::DrainOrder]
        );
        assert_eq!(InvariantSet::ALL.iter().count(), Invariant::ALL.len());
        assert!(InvariantSet::EVERY_STRATEGY
            .union(set)
            .contains(Invariant::DrainOrder));
    }

    // Guards the merging of failed requests' lifetimes: overlapping ones merge, later ones that
    // start before an earlier one swallow it, disjoint ones stay apart.
    #[test]
    fn intervals_merge_in_order_of_their_end() {
        let mut intervals = Intervals::default();
        intervals.add(at(1), at(2));
        intervals.add(at(4), at(5));
        intervals.add(at(3), at(6)); // swallows [4, 5]
        intervals.add(at(10), at(11));
        assert_eq!(
            intervals.as_slice(),
            &[(at(1), at(2)), (at(3), at(6)), (at(10), at(11))]
        );
        intervals.add(at(0), at(12)); // swallows everything
        assert_eq!(intervals.as_slice(), &[(at(0), at(12))]);
        assert_eq!(intervals.total(), Duration::from_secs(12));
    }

    // Guards degraded time: the part of the failing intervals outside the outage windows.
    #[test]
    fn time_outside_other_intervals() {
        let mut failing = Intervals::default();
        failing.add(at(1), at(3));
        failing.add(at(5), at(9));
        let outages = [(at(2), at(6)), (at(8), at(20))];
        // [1,3] loses [2,3]; [5,9] loses [5,6] and [8,9]: 1 s + 2 s remain.
        assert_eq!(
            failing.outside(&outages),
            vec![(at(1), at(2)), (at(6), at(8))]
        );
        assert_eq!(failing.total_outside(&outages), Duration::from_secs(3));
        assert_eq!(failing.total_outside(&[]), Duration::from_secs(6));
    }

    // Guards the edges of the merging and of `outside`: intervals that touch merge into one;
    // others wholly before an interval are skipped (all of them, to the end of the list); a part
    // is never empty where another starts exactly at its start or ends exactly at its end.
    #[test]
    fn intervals_at_their_edges() {
        let mut touching = Intervals::default();
        touching.add(at(1), at(2));
        touching.add(at(2), at(3));
        assert_eq!(touching.as_slice(), &[(at(1), at(3))]);
        let mut failing = Intervals::default();
        failing.add(at(5), at(9));
        assert_eq!(
            failing.outside(&[(at(1), at(2)), (at(6), at(7))]),
            vec![(at(5), at(6)), (at(7), at(9))],
            "the first other is wholly before"
        );
        assert_eq!(
            failing.outside(&[(at(1), at(2)), (at(3), at(4))]),
            vec![(at(5), at(9))],
            "every other is wholly before"
        );
        assert_eq!(
            failing.outside(&[(at(5), at(6)), (at(8), at(9))]),
            vec![(at(6), at(8))],
            "others at both edges leave no empty part"
        );
    }

    fn millis(value: u64) -> SimTime {
        SimTime::from_micros(value * 1_000)
    }

    /// A request that ends at `done_ms` after `lasting_ms`, failed or not.
    fn request(checks: &mut Checkers, done_ms: u64, lasting_ms: u64, failed: bool) {
        let observation = Observation::RequestDone {
            proxy: 0,
            failure: failed.then_some(FailureReason::ConnectionRefused),
            latency: Duration::from_millis(lasting_ms),
            retried: failed,
        };
        checks.observe(millis(done_ms), 0, &observation);
    }

    fn proxy_serving(checks: &mut Checkers, at_ms: u64, proxy: u32, serving: bool) {
        let observation = Observation::ProxyServing { proxy, serving };
        checks.observe(millis(at_ms), 0, &observation);
    }

    /// Two proxies that serve from the start; the run ends at 60 s.
    fn serving_checkers() -> Checkers {
        let mut checks = Checkers::new(
            Bounds::default(),
            2,
            vec!["iad".to_string(), "ams".to_string()],
            0,
            Vec::new(),
        );
        proxy_serving(&mut checks, 0, 0, true);
        proxy_serving(&mut checks, 0, 1, true);
        checks
    }

    fn metrics_at_end(mut checks: Checkers) -> Metrics {
        checks
            .finish(
                millis(60_000),
                0,
                SettledFacts::default(),
                InvariantSet::ALL,
            )
            .2
    }

    // Guards the outage definition: time during which some proxy has nothing to route to; a request
    // that fails inside the outage adds no degraded time.
    #[test]
    fn an_outage_is_time_a_proxy_has_nothing_to_route_to() {
        let mut checks = serving_checkers();
        proxy_serving(&mut checks, 10_000, 0, false);
        request(&mut checks, 12_500, 2_000, true); // in flight 10.5 s .. 12.5 s
        proxy_serving(&mut checks, 13_000, 0, true);
        request(&mut checks, 20_000, 20, false);
        let metrics = metrics_at_end(checks);
        assert_eq!(metrics.outage_total_ms, 3_000);
        assert_eq!(metrics.outage_windows, 1);
        assert_eq!(metrics.degraded_total_ms, 0);
        assert_eq!((metrics.requests_failed, metrics.requests_total), (1, 2));
        assert_eq!(metrics.error_rate, 0.5);
    }

    // Guards the degraded definition: requests failing while every proxy still had something to
    // route to (refused connections to machines a proxy wrongly believed alive) count as degraded
    // time, the union of the failing requests' lifetimes, and never as outage.
    #[test]
    fn degraded_is_failing_requests_without_an_outage() {
        let mut checks = serving_checkers();
        request(&mut checks, 20_200, 200, true); // 20.0 .. 20.2
        request(&mut checks, 20_500, 400, true); // 20.1 .. 20.5: overlaps the first
        request(&mut checks, 30_000, 100, true); // 29.9 .. 30.0
        for done in 31_000..31_010 {
            request(&mut checks, done, 20, false);
        }
        let metrics = metrics_at_end(checks);
        assert_eq!(metrics.outage_total_ms, 0);
        assert_eq!(metrics.outage_windows, 0);
        assert_eq!(metrics.degraded_total_ms, 600);
        assert_eq!((metrics.requests_failed, metrics.requests_total), (3, 13));
    }

    // Guards the split: a failing request that straddles the end of an outage is outage time up
    // to the recovery and degraded time after it; the two never overlap.
    #[test]
    fn outage_and_degraded_never_overlap() {
        let mut checks = serving_checkers();
        proxy_serving(&mut checks, 10_000, 1, false);
        proxy_serving(&mut checks, 13_000, 1, true);
        request(&mut checks, 14_000, 2_000, true); // 12 s .. 14 s: 1 s inside, 1 s after
                                                   // A second outage still open at the end of the run is closed there.
        proxy_serving(&mut checks, 50_000, 0, false);
        let metrics = metrics_at_end(checks);
        assert_eq!(metrics.outage_total_ms, 3_000 + 10_000);
        assert_eq!(metrics.outage_windows, 2);
        assert_eq!(metrics.outage_longest_ms, 10_000);
        assert_eq!(metrics.degraded_total_ms, 1_000);
    }

    // Guards applicability: an invariant outside the strategy's set is n/a, never held, even
    // when nothing broke it; inside the set a verdict is held or violated.
    #[test]
    fn invariants_outside_the_applicable_set_are_not_judged() {
        let mut checks = serving_checkers();
        proxy_serving(&mut checks, 10_000, 0, false);
        let applicable = InvariantSet::EVERY_STRATEGY;
        let (verdicts, _, _) =
            checks.finish(millis(60_000), 0, SettledFacts::default(), applicable);
        for verdict in &verdicts {
            let invariant: Invariant = verdict.invariant.parse().expect("known");
            if !applicable.contains(invariant) {
                assert_eq!(verdict.status, Status::NotApplicable, "{invariant}");
                assert!(verdict.first_violation.is_none());
            }
        }
        let no_downtime = verdicts
            .iter()
            .find(|verdict| verdict.invariant == "no-downtime")
            .expect("a verdict");
        assert!(no_downtime.violated());
        let drain = verdicts
            .iter()
            .find(|verdict| verdict.invariant == "drain-order")
            .expect("a verdict");
        assert!(!drain.held() && !drain.violated() && !drain.applies());
        let leases = verdicts
            .iter()
            .find(|verdict| verdict.invariant == "leases-released")
            .expect("a verdict");
        assert!(leases.held() && !leases.violated() && leases.applies());
    }

    // Guards the statuses' names: reports print `as_str`, JSON writes serde's name; they agree.
    #[test]
    fn a_status_has_one_name() {
        for (status, name) in [
            (Status::Held, "held"),
            (Status::Violated, "violated"),
            (Status::NotApplicable, "n/a"),
        ] {
            assert_eq!(status.as_str(), name);
            let json = serde_json::to_string(&status).expect("serializable");
            assert_eq!(json, format!("\"{name}\""));
        }
    }

    fn create(checks: &mut Checkers, machine: u32, by: Option<u32>) {
        let shape = crate::observe::MachineShape::default();
        let observation = Observation::MachineCreated {
            machine,
            region: "iad",
            image: "img:1",
            by,
            shape: &shape,
        };
        checks.observe(millis(machine.into()), 0, &observation);
    }

    fn cause_of(verdicts: &[Verdict], invariant: Invariant) -> Cause {
        let verdict = verdicts
            .iter()
            .find(|verdict| verdict.invariant == invariant.as_str())
            .expect("a verdict");
        verdict.first_violation.as_ref().expect("violated").cause
    }

    // Guards `acting_in`: a violation found at a launch, a call sent, a deploy's end or its
    // time-out is caused by that step of that deploy, not by whoever the fleet says is acting
    // (the platform, during the running deploy); and `violated_so_far`, what broke before the end.
    #[test]
    fn a_violation_is_caused_by_the_step_its_observation_takes() {
        use crate::observe::{DeployOutcome, Limits};
        let mut checks = Checkers::new(Bounds::default(), 1, Vec::new(), 2, Vec::new());
        create(&mut checks, 0, None);
        let limits = Limits {
            bluegreen: true,
            creates: 1,
            pooled: 1,
            ..Limits::default()
        };
        for deploy in [0, 1] {
            let observation = Observation::DeployStarted {
                deploy,
                blues: &[0],
                limits: &limits,
            };
            checks.observe(millis(1), 0, &observation);
        }
        create(&mut checks, 1, None);
        create(&mut checks, 2, None); // three machines alive of 2 × 1: no-machine-explosion
        create(&mut checks, 3, Some(0));
        create(&mut checks, 4, Some(0)); // two launches for one blue: idempotent-create
        for _ in 0..2 {
            let observation = Observation::CallStarted {
                deploy: 0,
                operation: Operation::Cordon,
            };
            checks.observe(millis(10), 0, &observation);
        }
        let observation = Observation::DeployFinished {
            deploy: 0,
            outcome: DeployOutcome::Succeeded,
            image: "img:1",
        };
        checks.observe(millis(20), 0, &observation);
        checks.observe(millis(30), 0, &Observation::DeployTimedOut { deploy: 1 });
        // What `fleetsim serve` reports before the end, in Invariant::ALL's order.
        let so_far: Vec<Invariant> = checks
            .violated_so_far()
            .map(|(invariant, _)| invariant)
            .collect();
        assert_eq!(
            so_far,
            [
                Invariant::NoMachineExplosion,
                Invariant::DeployTerminates,
                Invariant::IdempotentCreate,
                Invariant::FleetSizeKept,
                Invariant::ConcurrencyLimit,
            ]
        );
        let (verdicts, _, _) =
            checks.finish(millis(60), 0, SettledFacts::default(), InvariantSet::ALL);
        let cause = |deploy, action| Cause {
            deploy,
            action,
            phase: None,
        };
        let launch = Action::Call(Operation::Launch);
        assert_eq!(
            cause_of(&verdicts, Invariant::IdempotentCreate),
            cause(Some(0), launch)
        );
        assert_eq!(
            cause_of(&verdicts, Invariant::NoMachineExplosion),
            cause(None, Action::Platform),
            "the platform's own machine, while deploy 0 runs"
        );
        assert_eq!(
            cause_of(&verdicts, Invariant::ConcurrencyLimit),
            cause(Some(0), Action::Call(Operation::Cordon))
        );
        assert_eq!(
            cause_of(&verdicts, Invariant::FleetSizeKept),
            cause(Some(0), Action::Finish)
        );
        assert_eq!(
            cause_of(&verdicts, Invariant::DeployTerminates),
            cause(Some(1), Action::TimedOut)
        );
    }
}
