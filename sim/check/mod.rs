//! Invariant checkers and metrics. Checked incrementally as the run goes (counters updated by the
//! platform at each step, never a scan of the fleet per event): each verdict names the first
//! violating step, its index in the trace and its virtual time.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::api::{MachineState, Operation};
use crate::engine::SimTime;
pub use crate::observe::{Bounds, Invariant, InvariantKind, InvariantSet};
use crate::observe::{
    DeployOutcome, DeployStep, FailureReason, MachineIndex, Mutation, Observation, Observer,
};

pub mod custom;
pub mod guards;
pub mod machines;
pub mod signature;

pub use custom::{Checker, CustomCheckers};
use machines::{drain_order_breach, leftover_kind, slot, DeployFacts, DrainMargin, MachineTrack};
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
            while next < others.len() && others[next].1 <= *start {
                next += 1;
            }
            let mut from = *start;
            let mut index = next;
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

#[derive(Clone, Debug, Default)]
struct DeployTrack {
    first_blue_mutation: Option<(SimTime, u64, String)>,
    first_green_destroyed: Option<(SimTime, u64, String)>,
    started: bool,
    ended: bool,
}

/// The checkers of one run.
pub struct Checkers {
    /// The region of each proxy, by proxy index.
    proxy_regions: Vec<String>,
    /// The user's bounds of `bounded-mixing` and `no-machine-explosion`.
    bounds: Bounds,
    violations: [Option<Violation>; Invariant::ALL.len()],
    /// The deployer mutation the platform is applying right now (deploy, machine, mutation), if
    /// any: what a fall of the routable count to zero is attributed to.
    applying: Option<(u32, MachineIndex, Mutation)>,
    /// A deploy step other than a mutation being taken right now (a launch, a call sent, the
    /// deploy's end), or the end of the run: the cause of what breaks meanwhile.
    acting: Option<(Option<u32>, Action)>,
    /// Per deploy: the phase it last entered.
    phase_of: Vec<Option<crate::api::Phase>>,
    guards: guards::Guards,
    initial_machines: u32,
    alive: u32,
    alive_peak: u32,
    /// Alive machines integrated over time (µs), up to `alive_since`.
    alive_micros: u128,
    alive_since: SimTime,
    alive_by_image: BTreeMap<String, u32>,
    routable: u32,
    app_served: bool,
    /// Per proxy: serving now, and whether it ever served.
    proxy_serving: Vec<(bool, bool)>,
    proxies_down: u32,
    outage_since: Option<SimTime>,
    /// Closed outage windows, in time order.
    outages: Vec<(SimTime, SimTime)>,
    outage_longest: Duration,
    /// Lifetimes of the requests that failed.
    failing: Intervals,
    requests_ok: u64,
    requests_retried: u64,
    failures: BTreeMap<FailureReason, u64>,
    latency_micros: Histogram<u64>,
    deploys: Vec<DeployTrack>,
    deploy_durations: Vec<Option<Duration>>,
    deploy_started_at: Vec<Option<SimTime>>,
    machines: Vec<MachineTrack>,
    facts: Vec<DeployFacts>,
    drain: DrainMargin,
    leftovers: u32,
    /// The first outage or failed request the deployer caused (the attributed form of
    /// `no-downtime` the fuzz property judges; see [`Checkers::downtime_by_deployer`]).
    downtime_by_deployer: Option<Violation>,
    /// The machine a proxy just learned is no longer routable, while that news is applied.
    view_loss: Option<MachineIndex>,
}

/// The built-in invariants and metrics consume the world's observations like any other
/// observer; each observation is dispatched to the counters it updates.
impl Observer for Checkers {
    fn observe(&mut self, now: SimTime, step: u64, observation: &Observation<'_>) {
        match *observation {
            Observation::MachineCreated {
                machine,
                image,
                by,
                shape,
                ..
            } => {
                self.machine_created(now, step, machine, image, by);
                self.machine_shape(machine, shape.clone());
            }
            Observation::MachineGone { machine, image } => {
                self.machine_gone(now, step, machine, image)
            }
            Observation::MachineImageChanged {
                machine,
                old_image,
                new_image,
                routable,
            } => self.machine_image_changed(machine, old_image, new_image, routable),
            Observation::PlatformRoutable { machine, routable } => {
                self.platform_routable(now, step, machine, routable)
            }
            Observation::MachineBack { machine } => self.machine_back(machine),
            Observation::MachineProven { machine } => self.machine_proven(machine),
            Observation::GreenBoots { machine } => self.green_boots(machine),
            Observation::MachineRetired { machine } => self.machine_retired(now, machine),
            Observation::MutationApplying {
                deploy,
                machine,
                mutation,
            } => self.mutation_applying(deploy, machine, mutation),
            Observation::MutationApplied => self.mutation_applied(),
            Observation::MutationWithLapsedLease { deploy, machine } => {
                self.lease_lapsed_mutation(now, step, deploy, machine)
            }
            Observation::DeployMutation {
                deploy,
                machine,
                state,
                mutation,
            } => self.deploy_mutation(now, step, deploy, machine, state, mutation),
            Observation::ProxyServing { proxy, serving } => {
                self.proxy_serving(now, step, proxy, serving)
            }
            Observation::ProxyView { machine, routable } => self.proxy_view(now, machine, routable),
            Observation::ProxyViewApplied => self.proxy_view_applied(),
            Observation::RequestDone {
                proxy,
                failure,
                latency,
                retried,
            } => self.request_done(now, step, proxy, failure, latency, retried),
            Observation::CallStarted { deploy, operation } => {
                self.call_started(now, step, deploy, operation)
            }
            Observation::CallFinished { deploy, operation } => {
                self.call_finished(deploy, operation)
            }
            Observation::DeployStarted {
                deploy,
                blues,
                limits,
            } => {
                self.deploy_started(now, step, deploy, blues);
                self.set_limits(deploy, limits.clone());
            }
            Observation::DeployStep { deploy, step } => self.deploy_step(deploy, step),
            Observation::DeployFinished {
                deploy,
                outcome,
                image,
            } => self.deploy_finished(now, step, deploy, outcome, image),
            Observation::DeployTimedOut { deploy } => self.deploy_timed_out(now, step, deploy),
            Observation::DeployAborted { deploy } => self.deploy_aborted(now, deploy),
            Observation::DeployKilled { deploy } => self.deploy_killed(now, deploy),
        }
    }
}

impl Checkers {
    /// `proxy_regions`: the region of each proxy, by proxy index (messages name proxies by region).
    pub fn new(
        bounds: Bounds,
        initial_machines: u32,
        proxy_regions: Vec<String>,
        deploys: usize,
    ) -> Checkers {
        let proxies = proxy_regions.len();
        Checkers {
            proxy_regions,
            bounds,
            violations: Default::default(),
            applying: None,
            acting: None,
            phase_of: vec![None; deploys],
            initial_machines,
            alive: 0,
            alive_peak: 0,
            alive_micros: 0,
            alive_since: SimTime::ZERO,
            alive_by_image: BTreeMap::new(),
            routable: 0,
            app_served: false,
            proxy_serving: vec![(false, false); proxies],
            proxies_down: 0,
            outage_since: None,
            outages: Vec::new(),
            outage_longest: Duration::ZERO,
            failing: Intervals::default(),
            requests_ok: 0,
            requests_retried: 0,
            failures: BTreeMap::new(),
            // 1 µs to 1 hour at 3 significant digits: a fixed size; longer latencies saturate at 1 hour.
            latency_micros: Histogram::new_with_bounds(1, LATENCY_MICROS_MAX, 3)
                .expect("valid histogram bounds"),
            deploys: vec![DeployTrack::default(); deploys],
            deploy_durations: vec![None; deploys],
            deploy_started_at: vec![None; deploys],
            machines: Vec::new(),
            facts: vec![DeployFacts::default(); deploys],
            drain: DrainMargin::default(),
            leftovers: 0,
            downtime_by_deployer: None,
            view_loss: None,
            guards: guards::Guards::new(deploys),
        }
    }

    /// The invariants violated so far with their first violation (`fleetsim serve`'s status,
    /// before the run's end judges the rest).
    pub fn violated_so_far(&self) -> impl Iterator<Item = (Invariant, &Violation)> {
        Invariant::ALL.into_iter().filter_map(|invariant| {
            self.violations[invariant.index()]
                .as_ref()
                .map(|violation| (invariant, violation))
        })
    }

    fn violate(&mut self, invariant: Invariant, now: SimTime, step: u64, detail: String) {
        if self.violations[invariant.index()].is_some() {
            return;
        }
        let cause = self.cause();
        self.violations[invariant.index()] = Some(Violation {
            time_ms: now.as_millis(),
            step,
            detail,
            cause,
        });
    }

    /// Who is acting now, for a violation found by another observer (a user's checker).
    pub fn cause_now(&self) -> Cause {
        self.cause()
    }

    /// Who is acting now: the step being taken, else the mutation being applied, else the
    /// platform during the lowest-numbered running deploy (module `signature`).
    fn cause(&self) -> Cause {
        let (deploy, action) = match (self.acting, self.applying) {
            (Some(acting), _) => acting,
            (None, Some((deploy, _, mutation))) => {
                (Some(deploy), Action::Call(mutation.operation()))
            }
            (None, None) => {
                let running = self
                    .deploys
                    .iter()
                    .position(|track| track.started && !track.ended);
                (running.map(|deploy| deploy as u32), Action::Platform)
            }
        };
        Cause {
            deploy,
            action,
            phase: deploy.and_then(|deploy| self.phase_of[deploy as usize]),
        }
    }

    /// Runs `check` with `deploy` (or the harness, when None) taking step `action`.
    fn acting_as<T>(
        &mut self,
        deploy: Option<u32>,
        action: Action,
        check: impl FnOnce(&mut Checkers) -> T,
    ) -> T {
        let before = self.acting.replace((deploy, action));
        let value = check(self);
        self.acting = before;
        value
    }

    pub fn machine_created(
        &mut self,
        now: SimTime,
        step: u64,
        machine: MachineIndex,
        image: &str,
        by: Option<u32>,
    ) {
        assert_eq!(
            slot(machine),
            self.machines.len(),
            "machines are created in index order"
        );
        self.machines.push(MachineTrack {
            created_by: by,
            alive: true,
            ..MachineTrack::default()
        });
        self.guard_machine_created(machine, image, by);
        let action = by.map_or(Action::Platform, |_| Action::Call(Operation::Launch));
        self.acting_as(by, action, |checks| {
            if let Some(deploy) = by {
                checks.guard_launch_count(now, step, deploy);
            }
            checks.integrate_alive(now);
            checks.alive += 1;
            checks.alive_peak = checks.alive_peak.max(checks.alive);
            *checks.alive_by_image.entry(image.to_string()).or_default() += 1;
            let bound = checks.bounds.machines_max(checks.initial_machines);
            if checks.alive > bound {
                let detail = format!(
                    "{} machines alive, more than {} × N = {bound}",
                    checks.alive, checks.bounds.explosion_factor
                );
                checks.violate(Invariant::NoMachineExplosion, now, step, detail);
            }
        });
    }

    pub fn machine_gone(&mut self, now: SimTime, _step: u64, machine: MachineIndex, image: &str) {
        assert!(self.alive > 0, "a machine went away that was never alive");
        self.integrate_alive(now);
        self.machines[slot(machine)].alive = false;
        self.guard_machine_gone(machine);
        self.alive -= 1;
        let count = self
            .alive_by_image
            .get_mut(image)
            .expect("every alive machine's image is counted");
        *count -= 1;
        if *count == 0 {
            self.alive_by_image.remove(image);
        }
    }

    fn integrate_alive(&mut self, now: SimTime) {
        let elapsed = now.as_micros().saturating_sub(self.alive_since.as_micros());
        self.alive_micros += u128::from(elapsed) * u128::from(self.alive);
        self.alive_since = now;
    }

    pub fn machine_image_changed(
        &mut self,
        machine: MachineIndex,
        old: &str,
        new: &str,
        routable: bool,
    ) {
        self.guard_image_changed(machine, new, routable);
        if let Some(count) = self.alive_by_image.get_mut(old) {
            *count -= 1;
            if *count == 0 {
                self.alive_by_image.remove(old);
            }
        }
        *self.alive_by_image.entry(new.to_string()).or_default() += 1;
    }

    pub fn platform_routable(
        &mut self,
        now: SimTime,
        step: u64,
        machine: MachineIndex,
        routable: bool,
    ) {
        self.guard_routable(now, step, machine, routable);
        if routable {
            self.routable += 1;
            self.app_served = true;
            return;
        }
        assert!(self.routable > 0);
        self.routable -= 1;
        if self.routable == 0 && self.app_served {
            let detail = "no machine is started, uncordoned and passing".to_string();
            self.violate(Invariant::NeverAllDeleted, now, step, detail);
            if let Some((deploy, machine, mutation)) = self.applying {
                let detail = format!(
                    "deploy {deploy} {} #{machine} took away the last started, uncordoned and \
                     passing machine",
                    mutation.as_str()
                );
                self.violate(Invariant::DeployerNeverDeletesAll, now, step, detail);
            }
        }
    }

    /// The platform starts applying a deployer's mutation: a fall of the routable count to zero
    /// until [`Checkers::mutation_applied`] is that deployer's doing (`deployer-never-deletes-all`).
    /// Only a fall to zero counts: when nothing was routable already, the deployer's actions do
    /// not cause it (the platform did, e.g. failing checks or a crash).
    pub fn mutation_applying(&mut self, deploy: u32, machine: MachineIndex, mutation: Mutation) {
        self.applying = Some((deploy, machine, mutation));
    }

    /// The platform finished applying the current deployer call.
    pub fn mutation_applied(&mut self) {
        self.applying = None;
    }

    pub fn proxy_serving(&mut self, now: SimTime, step: u64, proxy: u32, serving: bool) {
        let (current, ever) = &mut self.proxy_serving[proxy as usize];
        *current = serving;
        if serving {
            let counted = *ever;
            *ever = true;
            if counted {
                self.proxies_down -= 1;
                if self.proxies_down == 0 {
                    self.close_outage(now);
                }
            }
            return;
        }
        assert!(*ever, "a proxy stopped serving before it served");
        let detail = format!(
            "proxy {} has no live routable machine",
            self.proxy_regions[proxy as usize]
        );
        self.downtime(now, step, detail.clone());
        self.proxies_down += 1;
        if self.proxies_down == 1 {
            self.outage_since = Some(now);
            self.violate(Invariant::NoDowntime, now, step, detail);
        }
    }

    /// Attribution rule of `no-downtime` in the fuzz property: an outage or a failed request
    /// counts only when a deployer caused it — it began while a deployer's mutation was being
    /// applied (a destroy, stop or cordon taking the last live machine a proxy knew), or when a
    /// proxy learned that a machine a deployer cordoned or stopped is no longer routable (the
    /// deployer moved on before the proxies knew the greens: incident 2's mechanism). An outage
    /// from a crash, failing checks, a proxy gone stale or a machine the platform took away is
    /// the platform's: the metrics count it, the attributed form does not.
    fn downtime_cause(&self) -> Cause {
        let cause = self.cause();
        if cause.action != Action::Platform {
            return cause;
        }
        let Some(machine) = self.view_loss else {
            return cause;
        };
        let track = &self.machines[slot(machine)];
        let action = match (track.stop_requested, track.cordon_requested) {
            (true, _) => Operation::Stop,
            (false, true) => Operation::Cordon,
            (false, false) => return cause,
        };
        let Some(deploy) = track.last_blue_of else {
            return cause;
        };
        Cause {
            deploy: Some(deploy),
            action: Action::Call(action),
            phase: self.phase_of[deploy as usize],
        }
    }

    fn downtime(&mut self, now: SimTime, step: u64, detail: String) {
        if self.downtime_by_deployer.is_some() {
            return;
        }
        let cause = self.downtime_cause();
        if cause.action == Action::Platform {
            return;
        }
        self.downtime_by_deployer = Some(Violation {
            time_ms: now.as_millis(),
            step,
            detail,
            cause,
        });
    }

    /// The first outage or failed request a deployer caused (`downtime_cause`), if any.
    pub fn downtime_by_deployer(&self) -> Option<Violation> {
        self.downtime_by_deployer.clone()
    }

    /// A proxy finished applying what it learned about a machine.
    pub fn proxy_view_applied(&mut self) {
        self.view_loss = None;
    }

    fn close_outage(&mut self, now: SimTime) {
        if let Some(since) = self.outage_since.take() {
            self.outage_longest = self.outage_longest.max(now - since);
            self.outages.push((since, now));
        }
    }

    pub fn request_done(
        &mut self,
        now: SimTime,
        step: u64,
        proxy: u32,
        failure: Option<FailureReason>,
        latency: Duration,
        retried: bool,
    ) {
        if retried {
            self.requests_retried += 1;
        }
        match failure {
            None => {
                self.requests_ok += 1;
                let micros = u64::try_from(latency.as_micros())
                    .unwrap_or(u64::MAX)
                    .max(1);
                self.latency_micros.saturating_record(micros);
            }
            Some(reason) => {
                *self.failures.entry(reason).or_default() += 1;
                let arrived = SimTime::from_micros(
                    now.as_micros()
                        .saturating_sub(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX)),
                );
                self.failing.add(arrived, now);
                let detail = format!(
                    "a request at proxy {} failed: {}",
                    self.proxy_regions[proxy as usize],
                    reason.as_str()
                );
                self.downtime(now, step, detail.clone());
                self.violate(Invariant::NoDowntime, now, step, detail);
            }
        }
    }

    /// `blues`: the machines alive when the deploy started that it did not create.
    pub fn deploy_started(
        &mut self,
        now: SimTime,
        _step: u64,
        deploy: u32,
        blues: &[MachineIndex],
    ) {
        self.deploys[deploy as usize].started = true;
        self.deploy_started_at[deploy as usize] = Some(now);
        for machine in blues {
            self.machines[slot(*machine)].last_blue_of = Some(deploy);
        }
        self.guards.counts[deploy as usize].blues = blues.len() as u32;
    }

    pub fn deploy_step(&mut self, deploy: u32, step: &DeployStep) {
        match step {
            DeployStep::Phase(phase) => self.phase_of[deploy as usize] = Some(*phase),
            DeployStep::RollbackStarted => self.cover("rollback-started"),
            DeployStep::RollbackFinished { ok: false } => self.cover("rollback-failed"),
            DeployStep::GreenRecorded(machine) => {
                self.machines[slot(*machine)].recorded_by = Some(deploy);
                self.guard_green_recorded(deploy, *machine);
            }
            DeployStep::PointOfNoReturn => {
                self.cover("point-of-no-return-reached");
                self.facts[deploy as usize].point_of_no_return = true;
            }
            _ => {}
        }
    }

    /// A proxy's view of `machine` changed.
    pub fn proxy_view(&mut self, now: SimTime, machine: MachineIndex, routable: bool) {
        self.view_loss = (!routable).then_some(machine);
        let track = &mut self.machines[slot(machine)];
        if routable {
            track.routing_proxies += 1;
            return;
        }
        track.routing_proxies -= 1;
        if track.routing_proxies == 0 {
            track.forgotten_at = Some(now);
            if let Some(retired_at) = track.retired_at {
                self.drain.record(retired_at, now);
            }
        }
    }

    /// A blue stopped accepting connections after a deploy stopped or destroyed it: the drain
    /// margin is how long before that the last proxy forgot it (negative: after).
    pub fn machine_retired(&mut self, now: SimTime, machine: MachineIndex) {
        let track = &mut self.machines[slot(machine)];
        if track.retired_at.is_some() || !(track.stop_requested || track.cordon_requested) {
            return;
        }
        track.retired_at = Some(now);
        // A machine no proxy ever routed to (a cordoned orphan) has no margin to speak of.
        if let (0, Some(forgotten_at)) = (track.routing_proxies, track.forgotten_at) {
            self.drain.record(now, forgotten_at);
        }
    }

    /// A deployer's mutation, before it is applied (`state` is the machine's state then): a blue
    /// is any machine the deployer did not launch itself.
    pub fn deploy_mutation(
        &mut self,
        now: SimTime,
        step: u64,
        deploy: u32,
        machine: MachineIndex,
        state: MachineState,
        mutation: Mutation,
    ) {
        let own_green = self.machines[slot(machine)].created_by == Some(deploy);
        if own_green {
            self.green_mutation(now, step, deploy, machine, mutation);
        } else {
            self.blue_mutation(now, step, deploy, machine, state, mutation);
        }
        self.check_rollback_spares_blue(now, step, deploy);
    }

    fn green_mutation(
        &mut self,
        now: SimTime,
        step: u64,
        deploy: u32,
        machine: MachineIndex,
        mutation: Mutation,
    ) {
        match mutation {
            Mutation::Uncordon => {
                self.guard_uncordon(now, step, deploy, machine);
                if self.facts[deploy as usize].switched_at.is_none() {
                    self.guard_vacuous_health(now, step, deploy);
                }
                self.facts[deploy as usize].switched_at.get_or_insert(now);
            }
            Mutation::Destroy => {
                let event = (now, step, format!("machine #{machine}"));
                self.deploys[deploy as usize]
                    .first_green_destroyed
                    .get_or_insert(event);
                if let Some(switched_at) = self.facts[deploy as usize].switched_at {
                    let detail = format!(
                        "deploy {deploy} destroyed its green machine #{machine} after its first \
                         uncordon succeeded at {switched_at}"
                    );
                    self.violate(Invariant::GreenKeptAfterSwitch, now, step, detail);
                }
            }
            _ => {}
        }
    }

    fn blue_mutation(
        &mut self,
        now: SimTime,
        step: u64,
        deploy: u32,
        machine: MachineIndex,
        state: MachineState,
        mutation: Mutation,
    ) {
        let is_stop = matches!(mutation, Mutation::Stop);
        if matches!(mutation, Mutation::Stop | Mutation::Destroy) {
            if let Some(breach) = drain_order_breach(&self.machines[slot(machine)], is_stop, state)
            {
                let detail = format!("deploy {deploy}: blue machine #{machine} {breach}");
                self.violate(Invariant::DrainOrder, now, step, detail);
            }
        }
        let track = &mut self.machines[slot(machine)];
        match mutation {
            Mutation::Cordon => track.cordon_requested = true,
            Mutation::Stop => track.stop_requested = true,
            Mutation::Update => {
                track.updated_by = Some(deploy);
                if state == MachineState::Started {
                    self.guard_update(now, step, deploy, machine);
                }
            }
            _ => {}
        }
        if matches!(
            mutation,
            Mutation::Cordon | Mutation::Stop | Mutation::Destroy
        ) {
            let event = (now, step, format!("machine #{machine}"));
            self.deploys[deploy as usize]
                .first_blue_mutation
                .get_or_insert(event);
        }
    }

    fn check_rollback_spares_blue(&mut self, now: SimTime, step: u64, deploy: u32) {
        let track = &self.deploys[deploy as usize];
        if let (Some(blue), Some(green)) =
            (&track.first_blue_mutation, &track.first_green_destroyed)
        {
            let detail = format!(
                "deploy {deploy} destroyed its green {} after it had cordoned, stopped or \
                 destroyed blue {} at {}",
                green.2, blue.2, blue.0
            );
            self.violate(Invariant::RollbackSparesBlue, now, step, detail);
        }
    }

    pub fn deploy_finished(
        &mut self,
        now: SimTime,
        step: u64,
        deploy: u32,
        outcome: DeployOutcome,
        image: &str,
    ) {
        self.end_deploy(now, deploy);
        self.facts[deploy as usize].outcome = Some(outcome);
        self.acting_as(Some(deploy), Action::Finish, |checks| {
            checks.judge_deploy_end(now, step, deploy, outcome, image);
        });
    }

    /// What a deploy's end can tell: abort safety, and after a success the fleet's size and
    /// images.
    fn judge_deploy_end(
        &mut self,
        now: SimTime,
        step: u64,
        deploy: u32,
        outcome: DeployOutcome,
        image: &str,
    ) {
        self.guard_abort(now, step, deploy);
        if outcome != DeployOutcome::Succeeded {
            return;
        }
        // I1 across deploys: a successful deploy replaces one for one, so leftovers it adopted as
        // blues stay in the count (reference deploy-systems.md I1, S1).
        if self.alive > self.initial_machines {
            let detail = format!(
                "deploy {deploy} succeeded with {} machines alive; the fleet started with {}",
                self.alive, self.initial_machines
            );
            self.violate(Invariant::FleetSizeKept, now, step, detail);
        }
        // Attribution: another deploy still running has its own greens up; their image is not
        // this deploy's leftover (two deployers at once are judged by lease-exclusion).
        let others_running = self
            .deploys
            .iter()
            .enumerate()
            .any(|(other, track)| other != deploy as usize && track.started && !track.ended);
        if others_running {
            return;
        }
        let others: Vec<String> = self
            .alive_by_image
            .iter()
            .filter(|(other, _)| other.as_str() != image)
            .map(|(other, count)| format!("{other} ({count})"))
            .collect();
        if !others.is_empty() {
            let detail = format!(
                "deploy {deploy} succeeded but alive machines run other images: {}",
                others.join(", ")
            );
            self.violate(Invariant::SingleImageAtRest, now, step, detail);
        }
    }

    pub fn deploy_timed_out(&mut self, now: SimTime, step: u64, deploy: u32) {
        let detail = format!("deploy {deploy} did not end within its time bound");
        self.acting_as(Some(deploy), Action::TimedOut, |checks| {
            checks.violate(Invariant::DeployTerminates, now, step, detail);
        });
        self.end_deploy(now, deploy);
    }

    pub fn deploy_aborted(&mut self, _now: SimTime, deploy: u32) {
        self.facts[deploy as usize].aborted = true;
    }

    pub fn deploy_killed(&mut self, now: SimTime, deploy: u32) {
        self.cover("deployer-killed");
        self.end_deploy(now, deploy);
    }

    fn end_deploy(&mut self, now: SimTime, deploy: u32) {
        self.deploys[deploy as usize].ended = true;
        if let Some(started) = self.deploy_started_at[deploy as usize] {
            self.deploy_durations[deploy as usize] = Some(now - started);
        }
    }

    /// Closes open windows and checks what only the end can tell (a deploy that never ended).
    /// Invariants outside `applicable` (what the run's strategies declare) are `n/a`.
    pub fn finish(
        &mut self,
        now: SimTime,
        step: u64,
        applicable: InvariantSet,
    ) -> (Vec<Verdict>, Metrics) {
        self.close_outage(now);
        self.integrate_alive(now);
        for deploy in 0..self.deploys.len() {
            let track = &self.deploys[deploy];
            if track.started && !track.ended {
                let detail = format!("deploy {deploy} never ended (the run went quiet)");
                self.acting_as(Some(deploy as u32), Action::NeverEnded, |checks| {
                    checks.violate(Invariant::DeployTerminates, now, step, detail);
                });
            }
        }
        self.acting_as(None, Action::Settled, |checks| {
            checks.check_leftovers(now, step);
        });
        let verdicts = Invariant::ALL
            .iter()
            .map(|invariant| {
                let violation = self.violations[invariant.index()].clone();
                let status = match &violation {
                    _ if !applicable.contains(*invariant) => Status::NotApplicable,
                    None => Status::Held,
                    Some(_) => Status::Violated,
                };
                Verdict {
                    invariant: invariant.as_str().to_string(),
                    promise: invariant.promise(&self.bounds),
                    status,
                    first_violation: violation.filter(|_| status == Status::Violated),
                }
            })
            .collect();
        (verdicts, self.metrics())
    }

    /// `no-leftovers`, once at the end: every alive machine must be owned.
    fn check_leftovers(&mut self, now: SimTime, step: u64) {
        let leftovers: Vec<String> = self
            .machines
            .iter()
            .enumerate()
            .filter_map(|(index, track)| {
                leftover_kind(track, &self.facts).map(|kind| format!("#{index} ({kind})"))
            })
            .collect();
        self.leftovers = leftovers.len() as u32;
        if !leftovers.is_empty() {
            let shown: Vec<&str> = leftovers.iter().take(6).map(String::as_str).collect();
            let more = if leftovers.len() > 6 { ", …" } else { "" };
            let detail = format!(
                "{} leftover machine(s) after the last deploy: {}{more}",
                leftovers.len(),
                shown.join(", ")
            );
            self.violate(Invariant::NoLeftovers, now, step, detail);
        }
    }

    fn metrics(&self) -> Metrics {
        let failed: u64 = self.failures.values().sum();
        let percentile = |quantile: f64| {
            if self.latency_micros.is_empty() {
                0.0
            } else {
                self.latency_micros.value_at_quantile(quantile) as f64 / 1_000.0
            }
        };
        let total = self.requests_ok + failed;
        let outage_total: Duration = self.outages.iter().map(|(start, end)| *end - *start).sum();
        Metrics {
            outage_total_ms: millis(outage_total),
            outage_windows: self.outages.len() as u32,
            outage_longest_ms: millis(self.outage_longest),
            degraded_total_ms: millis(self.failing.total_outside(&self.outages)),
            requests_total: total,
            requests_ok: self.requests_ok,
            requests_failed: failed,
            error_rate: if total == 0 {
                0.0
            } else {
                failed as f64 / total as f64
            },
            requests_retried: self.requests_retried,
            failures_by_reason: self
                .failures
                .iter()
                .map(|(reason, count)| (reason.as_str().to_string(), *count))
                .collect(),
            latency_p50_ms: percentile(0.5),
            latency_p90_ms: percentile(0.9),
            latency_p99_ms: percentile(0.99),
            latency_max_ms: if self.latency_micros.is_empty() {
                0.0
            } else {
                self.latency_micros.max() as f64 / 1_000.0
            },
            deploy_duration_ms: self
                .deploy_durations
                .iter()
                .map(|d| d.map(millis))
                .collect(),
            machines_initial: self.initial_machines,
            machines_peak: self.alive_peak,
            machines_final: self.alive,
            machine_seconds: self.alive_micros as f64 / 1e6,
            leftovers: self.leftovers,
            drain_margin_min_ms: self
                .drain
                .margin_min_micros
                .map(|micros| micros as f64 / 1_000.0),
            blues_routed_after_stop: self.drain.routed_after_stop,
            routed_after_stop_max_ms: millis(self.drain.routed_after_stop_max),
        }
    }

    /// The latency histogram of successful requests, in microseconds.
    pub fn latency_histogram(&self) -> &Histogram<u64> {
        &self.latency_micros
    }
}

/// The longest latency the histogram tells apart (1 hour), in microseconds.
const LATENCY_MICROS_MAX: u64 = 3_600_000_000;

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn millis(value: u64) -> SimTime {
        SimTime::from_micros(value * 1_000)
    }

    /// A request that ends at `done_ms` after `lasting_ms`, failed or not.
    fn request(checks: &mut Checkers, done_ms: u64, lasting_ms: u64, failed: bool) {
        let failure = failed.then_some(FailureReason::ConnectionRefused);
        let latency = Duration::from_millis(lasting_ms);
        checks.request_done(millis(done_ms), 0, 0, failure, latency, failed);
    }

    /// Two proxies that serve from the start; the run ends at 60 s.
    fn serving_checkers() -> Checkers {
        let mut checks = Checkers::new(
            Bounds::default(),
            2,
            vec!["iad".to_string(), "ams".to_string()],
            0,
        );
        checks.proxy_serving(millis(0), 0, 0, true);
        checks.proxy_serving(millis(0), 0, 1, true);
        checks
    }

    fn metrics_at_end(mut checks: Checkers) -> Metrics {
        checks.finish(millis(60_000), 0, InvariantSet::ALL).1
    }

    // Guards the outage definition: time during which some proxy has nothing to route to; a request
    // that fails inside the outage adds no degraded time.
    #[test]
    fn an_outage_is_time_a_proxy_has_nothing_to_route_to() {
        let mut checks = serving_checkers();
        checks.proxy_serving(millis(10_000), 0, 0, false);
        request(&mut checks, 12_500, 2_000, true); // in flight 10.5 s .. 12.5 s
        checks.proxy_serving(millis(13_000), 0, 0, true);
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
        checks.proxy_serving(millis(10_000), 0, 1, false);
        checks.proxy_serving(millis(13_000), 0, 1, true);
        request(&mut checks, 14_000, 2_000, true); // 12 s .. 14 s: 1 s inside, 1 s after
                                                   // A second outage still open at the end of the run is closed there.
        checks.proxy_serving(millis(50_000), 0, 0, false);
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
        checks.proxy_serving(millis(10_000), 0, 0, false);
        let applicable = InvariantSet::EVERY_STRATEGY;
        let (verdicts, _) = checks.finish(millis(60_000), 0, applicable);
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
    }
}
