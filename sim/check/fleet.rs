//! What the judges know of a run so far: the fleet as observed (machines alive, routable, per
//! image and region; each machine's life; each deploy's counts and facts), who is acting now, and
//! the run's metrics. Updated once per observation, before any [`super::Checker`] sees it, so a
//! checker reads the state *after* the observation and keeps only what is its own.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::api::{Operation, Phase};
use crate::engine::SimTime;
use crate::observe::{
    DeployOutcome, DeployStep, FailureReason, MachineIndex, Mutation, Observation,
};

use super::counts::{Counts, DeployCounts, MachineShape};
use super::machines::{leftover_kind, slot, DeployFacts, DrainMargin, MachineTrack};
use super::outages::Outages;
use super::{Action, Cause, Intervals, Metrics, Violation};

/// What a deploy has done so far, as the judges follow it.
#[derive(Clone, Debug, Default)]
pub struct DeployTrack {
    /// Its first cordon, stop or destroy of a blue: (time, step, which machine).
    pub first_blue_mutation: Option<(SimTime, u64, String)>,
    /// Its first destroy of its own green: (time, step, which machine).
    pub first_green_destroyed: Option<(SimTime, u64, String)>,
    pub started: bool,
    pub ended: bool,
}

impl DeployTrack {
    pub fn running(&self) -> bool {
        self.started && !self.ended
    }
}

/// What the world tells the judges only at the end of the settle period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SettledFacts {
    /// Leases the deployers still hold, described.
    pub leases_held: Vec<String>,
    /// Machines or proxies that have not converged, described.
    pub unconverged: Vec<String>,
}

/// The fleet as the judges see it (module docs).
pub struct Fleet {
    /// The region of each proxy, by proxy index.
    proxy_regions: Vec<String>,
    /// Machine regions, interned; `region_of` indexes them by machine.
    regions: Vec<String>,
    region_of: Vec<u32>,
    /// The deployer mutation the platform is applying right now (deploy, machine, mutation), if
    /// any: what a fall of the routable count to zero is attributed to.
    applying: Option<(u32, MachineIndex, Mutation)>,
    /// A deploy step other than a mutation being taken right now (a launch, a call sent, the
    /// deploy's end), or the end of the run: the cause of what breaks meanwhile.
    pub(super) acting: Option<(Option<u32>, Action)>,
    /// Per deploy: the phase it last entered.
    phase_of: Vec<Option<Phase>>,
    pub(super) counts: Counts,
    initial_machines: u32,
    alive: u32,
    alive_peak: u32,
    /// Alive machines integrated over time (µs), up to `alive_since`.
    alive_micros: u128,
    alive_since: SimTime,
    alive_by_image: BTreeMap<String, u32>,
    routable: u32,
    app_served: bool,
    /// Which proxies serve, and the open outage.
    proxies: Outages<SimTime>,
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
    pub(super) machines: Vec<MachineTrack>,
    facts: Vec<DeployFacts>,
    drain: DrainMargin,
    /// The first outage or failed request the deployer caused (the attributed form of
    /// `no-downtime` the fuzz property judges; see [`Fleet::downtime_by_deployer`]).
    downtime_by_deployer: Option<Violation>,
    /// The machine a proxy just learned is no longer routable, while that news is applied.
    view_loss: Option<MachineIndex>,
    /// Set at the end of the settle period.
    settled: SettledFacts,
    /// Alive machines no deploy owns, described; set at the end of the settle period.
    leftovers: Vec<String>,
}

/// The longest latency the histogram tells apart (1 hour), in microseconds.
const LATENCY_MICROS_MAX: u64 = 3_600_000_000;

impl Fleet {
    /// `proxy_regions`: the region of each proxy, by proxy index (messages name proxies by region).
    pub fn new(initial_machines: u32, proxy_regions: Vec<String>, deploys: usize) -> Fleet {
        let proxies = proxy_regions.len();
        Fleet {
            proxy_regions,
            regions: Vec::new(),
            region_of: Vec::new(),
            applying: None,
            acting: None,
            phase_of: vec![None; deploys],
            counts: Counts::new(deploys),
            initial_machines,
            alive: 0,
            alive_peak: 0,
            alive_micros: 0,
            alive_since: SimTime::ZERO,
            alive_by_image: BTreeMap::new(),
            routable: 0,
            app_served: false,
            proxies: Outages::new(proxies),
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
            downtime_by_deployer: None,
            view_loss: None,
            settled: SettledFacts::default(),
            leftovers: Vec::new(),
        }
    }

    // What a checker may read.

    /// The machines of the initial fleet (N).
    pub fn machines_initial(&self) -> u32 {
        self.initial_machines
    }

    /// Machines alive now.
    pub fn machines_alive(&self) -> u32 {
        self.alive
    }

    /// Machines the platform would route to now: started, uncordoned and passing.
    pub fn machines_routable(&self) -> u32 {
        self.routable
    }

    /// Whether some machine was ever routable (the app has served).
    pub fn app_served(&self) -> bool {
        self.app_served
    }

    /// Alive machines per image.
    pub fn alive_by_image(&self) -> &BTreeMap<String, u32> {
        &self.alive_by_image
    }

    /// Images with at least one routable machine now.
    pub fn images_routable(&self) -> usize {
        self.counts.images_routable()
    }

    /// What is known of a machine, by its index.
    pub fn machine(&self, machine: MachineIndex) -> &MachineTrack {
        &self.machines[slot(machine)]
    }

    /// Whether `deploy` launched `machine` (it is one of its greens, not a blue).
    pub fn launched_by(&self, machine: MachineIndex, deploy: u32) -> bool {
        self.machine(machine).created_by == Some(deploy)
    }

    /// The region a machine runs in.
    pub fn region_of(&self, machine: MachineIndex) -> &str {
        &self.regions[self.region_of[slot(machine)] as usize]
    }

    /// A machine's process group and whether it has checks.
    pub fn shape_of(&self, machine: MachineIndex) -> &MachineShape {
        &self.counts.shapes[slot(machine)]
    }

    /// Proxies that served and have no live routable machine now.
    pub fn proxies_down(&self) -> u32 {
        self.proxies.down()
    }

    /// A proxy's region, by proxy index.
    pub fn proxy_region(&self, proxy: u32) -> &str {
        &self.proxy_regions[proxy as usize]
    }

    /// The deploys of the run (started or not).
    pub fn deploy_count(&self) -> u32 {
        self.deploys.len() as u32
    }

    /// What a deploy has done so far.
    pub fn deploy(&self, deploy: u32) -> &DeployTrack {
        &self.deploys[deploy as usize]
    }

    /// A deploy's switch, point of no return, outcome and abort.
    pub fn deploy_facts(&self, deploy: u32) -> &DeployFacts {
        &self.facts[deploy as usize]
    }

    /// A deploy's counts: blues, greens, calls in flight, limits.
    pub fn deploy_counts(&self, deploy: u32) -> &DeployCounts {
        &self.counts.deploys[deploy as usize]
    }

    /// The deployer mutation being applied now: (deploy, machine, mutation).
    pub fn applying(&self) -> Option<(u32, MachineIndex, Mutation)> {
        self.applying
    }

    /// What the world reported at the end of the settle period (empty before).
    pub fn settled(&self) -> &SettledFacts {
        &self.settled
    }

    /// Alive machines no deploy owns, described (set at the end of the settle period).
    pub fn leftovers(&self) -> &[String] {
        &self.leftovers
    }

    /// Who is acting now: the step being taken, else the mutation being applied, else the
    /// platform during the lowest-numbered running deploy (module `signature`).
    pub fn cause(&self) -> Cause {
        let (deploy, action) = match (self.acting, self.applying) {
            (Some(acting), _) => acting,
            (None, Some((deploy, _, mutation))) => {
                (Some(deploy), Action::Call(mutation.operation()))
            }
            (None, None) => {
                let running = self.deploys.iter().position(DeployTrack::running);
                (running.map(|deploy| deploy as u32), Action::Platform)
            }
        };
        self.cause_of(deploy, action)
    }

    /// `deploy` taking step `action`, in the phase it is in.
    pub fn cause_of(&self, deploy: Option<u32>, action: Action) -> Cause {
        Cause {
            deploy,
            action,
            phase: deploy.and_then(|deploy| self.phase_of[deploy as usize]),
        }
    }

    // Updates, one per observation.

    /// Takes one observation into the state.
    #[inline]
    pub fn observe(&mut self, now: SimTime, step: u64, observation: &Observation<'_>) {
        match *observation {
            Observation::MachineCreated {
                machine,
                region,
                image,
                by,
                shape,
            } => self.machine_created(now, machine, (region, image), by, shape),
            Observation::MachineGone { machine, image } => self.machine_gone(now, machine, image),
            Observation::MachineImageChanged {
                machine,
                old_image,
                new_image,
                routable,
            } => self.machine_image_changed(machine, old_image, new_image, routable),
            Observation::PlatformRoutable { machine, routable } => {
                self.platform_routable(machine, routable)
            }
            Observation::MachineBack { .. } => {}
            Observation::MachineProven { machine } => self.machine_proven(machine),
            Observation::GreenBoots { machine } => self.green_boots(machine),
            Observation::MachineRetired { machine } => self.machine_retired(now, machine),
            Observation::MutationApplying {
                deploy,
                machine,
                mutation,
            } => self.applying = Some((deploy, machine, mutation)),
            Observation::MutationApplied => self.applying = None,
            Observation::MutationWithLapsedLease { .. } => {
                self.cover("mutation-after-lease-expired")
            }
            Observation::DeployMutation {
                deploy,
                machine,
                mutation,
                ..
            } => self.deploy_mutation(now, step, deploy, machine, mutation),
            Observation::ProxyServing { proxy, serving } => {
                self.proxy_serving(now, step, proxy, serving)
            }
            Observation::ProxyView { machine, routable } => self.proxy_view(now, machine, routable),
            Observation::ProxyViewApplied => self.view_loss = None,
            Observation::RequestDone {
                proxy,
                failure,
                latency,
                retried,
            } => self.request_done(now, step, proxy, failure, latency, retried),
            Observation::CallStarted { deploy, operation } => self.call_started(deploy, operation),
            Observation::CallFinished { deploy, operation } => {
                self.call_finished(deploy, operation)
            }
            Observation::DeployStarted {
                deploy,
                blues,
                limits,
            } => {
                self.deploy_started(now, deploy, blues);
                self.counts.deploys[deploy as usize].limits = limits.clone();
            }
            Observation::DeployStep { deploy, step } => self.deploy_step(deploy, step),
            Observation::DeployFinished {
                deploy, outcome, ..
            } => self.deploy_finished(now, deploy, outcome),
            Observation::DeployTimedOut { deploy } => self.end_deploy(now, deploy),
            Observation::DeployAborted { deploy } => self.facts[deploy as usize].aborted = true,
            Observation::DeployKilled { deploy } => {
                self.cover("deployer-killed");
                self.end_deploy(now, deploy);
            }
        }
    }

    fn machine_created(
        &mut self,
        now: SimTime,
        machine: MachineIndex,
        (region, image): (&str, &str),
        by: Option<u32>,
        shape: &MachineShape,
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
        // Regions are few (validated): a linear search beats a map.
        let region_index = match self.regions.iter().position(|known| known == region) {
            Some(index) => index,
            None => {
                self.regions.push(region.to_string());
                self.regions.len() - 1
            }
        };
        self.region_of.push(region_index as u32);
        self.count_machine_created(machine, image, by, shape);
        self.integrate_alive(now);
        self.alive += 1;
        self.alive_peak = self.alive_peak.max(self.alive);
        *self.alive_by_image.entry(image.to_string()).or_default() += 1;
    }

    fn machine_gone(&mut self, now: SimTime, machine: MachineIndex, image: &str) {
        assert!(self.alive > 0, "a machine went away that was never alive");
        self.integrate_alive(now);
        self.machines[slot(machine)].alive = false;
        self.count_machine_gone(machine);
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

    fn machine_image_changed(
        &mut self,
        machine: MachineIndex,
        old: &str,
        new: &str,
        routable: bool,
    ) {
        self.count_image_changed(machine, new, routable);
        if let Some(count) = self.alive_by_image.get_mut(old) {
            *count -= 1;
            if *count == 0 {
                self.alive_by_image.remove(old);
            }
        }
        *self.alive_by_image.entry(new.to_string()).or_default() += 1;
    }

    fn platform_routable(&mut self, machine: MachineIndex, routable: bool) {
        self.count_routable(machine, routable);
        if routable {
            self.routable += 1;
            self.app_served = true;
            return;
        }
        assert!(self.routable > 0);
        self.routable -= 1;
    }

    fn proxy_serving(&mut self, now: SimTime, step: u64, proxy: u32, serving: bool) {
        if !serving {
            assert!(
                self.proxies.ever_served(proxy),
                "a proxy stopped serving before it served"
            );
            let detail = proxy_down(self.proxy_region(proxy));
            self.downtime(now, step, detail);
        }
        if let Some(window) = self.proxies.proxy_serving(now, proxy, serving) {
            self.outage_closed(window);
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
        self.cause_of(Some(deploy), Action::Call(action))
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

    fn outage_closed(&mut self, (since, until): (SimTime, SimTime)) {
        self.outage_longest = self.outage_longest.max(until - since);
        self.outages.push((since, until));
    }

    fn request_done(
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
        let latency_micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        let Some(reason) = failure else {
            self.requests_ok += 1;
            self.latency_micros.saturating_record(latency_micros.max(1));
            return;
        };
        *self.failures.entry(reason).or_default() += 1;
        let arrived = SimTime::from_micros(now.as_micros().saturating_sub(latency_micros));
        self.failing.add(arrived, now);
        let detail = request_failed(self.proxy_region(proxy), reason);
        self.downtime(now, step, detail);
    }

    /// `blues`: the machines alive when the deploy started that it did not create.
    fn deploy_started(&mut self, now: SimTime, deploy: u32, blues: &[MachineIndex]) {
        self.deploys[deploy as usize].started = true;
        self.deploy_started_at[deploy as usize] = Some(now);
        for machine in blues {
            self.machines[slot(*machine)].last_blue_of = Some(deploy);
        }
        self.counts.deploys[deploy as usize].blues = blues.len() as u32;
    }

    fn deploy_step(&mut self, deploy: u32, step: &DeployStep) {
        match step {
            DeployStep::Phase(phase) => self.phase_of[deploy as usize] = Some(*phase),
            DeployStep::RollbackStarted => self.cover("rollback-started"),
            DeployStep::RollbackFinished { ok: false } => self.cover("rollback-failed"),
            DeployStep::GreenRecorded(machine) => {
                self.machines[slot(*machine)].recorded_by = Some(deploy);
                self.count_green_recorded(deploy, *machine);
            }
            DeployStep::PointOfNoReturn => {
                self.cover("point-of-no-return-reached");
                self.facts[deploy as usize].point_of_no_return = true;
            }
            _ => {}
        }
    }

    /// A proxy's view of `machine` changed.
    fn proxy_view(&mut self, now: SimTime, machine: MachineIndex, routable: bool) {
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
    fn machine_retired(&mut self, now: SimTime, machine: MachineIndex) {
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

    /// A deployer's mutation, before it is applied: a blue is any machine the deployer did not
    /// launch itself. (The machine's state then matters to the judges only.)
    fn deploy_mutation(
        &mut self,
        now: SimTime,
        step: u64,
        deploy: u32,
        machine: MachineIndex,
        mutation: Mutation,
    ) {
        let event = || (now, step, format!("machine #{machine}"));
        let own_green = self.launched_by(machine, deploy);
        let track = &mut self.deploys[deploy as usize];
        if own_green {
            match mutation {
                Mutation::Uncordon => {
                    self.facts[deploy as usize].switched_at.get_or_insert(now);
                }
                Mutation::Destroy => {
                    track.first_green_destroyed.get_or_insert_with(event);
                }
                _ => {}
            }
            return;
        }
        let machine_track = &mut self.machines[slot(machine)];
        match mutation {
            Mutation::Cordon => machine_track.cordon_requested = true,
            Mutation::Stop => machine_track.stop_requested = true,
            Mutation::Update => machine_track.updated_by = Some(deploy),
            _ => {}
        }
        if matches!(
            mutation,
            Mutation::Cordon | Mutation::Stop | Mutation::Destroy
        ) {
            track.first_blue_mutation.get_or_insert_with(event);
        }
    }

    fn deploy_finished(&mut self, now: SimTime, deploy: u32, outcome: DeployOutcome) {
        self.end_deploy(now, deploy);
        let facts = &mut self.facts[deploy as usize];
        facts.outcome = Some(outcome);
        if facts.aborted {
            let situation = if facts.point_of_no_return {
                "abort-after-point-of-no-return"
            } else {
                "abort-before-point-of-no-return"
            };
            self.cover(situation);
        }
    }

    fn end_deploy(&mut self, now: SimTime, deploy: u32) {
        self.deploys[deploy as usize].ended = true;
        if let Some(started) = self.deploy_started_at[deploy as usize] {
            self.deploy_durations[deploy as usize] = Some(now - started);
        }
    }

    /// The end of the settle period: closes open windows, takes what the world reports and finds
    /// the leftovers (every alive machine, once).
    pub fn settle(&mut self, now: SimTime, facts: SettledFacts) {
        if let Some(window) = self.proxies.close(now) {
            self.outage_closed(window);
        }
        self.integrate_alive(now);
        self.settled = facts;
        self.leftovers = self
            .machines
            .iter()
            .enumerate()
            .filter_map(|(index, track)| {
                leftover_kind(track, &self.facts).map(|kind| format!("#{index} ({kind})"))
            })
            .collect();
    }

    /// The run's metrics (complete after [`Fleet::settle`]).
    pub fn metrics(&self) -> Metrics {
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
            leftovers: self.leftovers.len() as u32,
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

/// What a proxy without a live routable machine tells (`no-downtime`'s detail, and the
/// attributed form's).
pub fn proxy_down(proxy_region: &str) -> String {
    format!("proxy {proxy_region} has no live routable machine")
}

/// What a failed request tells (`no-downtime`'s detail, and the attributed form's).
pub fn request_failed(proxy_region: &str, reason: FailureReason) -> String {
    format!(
        "a request at proxy {proxy_region} failed: {}",
        reason.as_str()
    )
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
