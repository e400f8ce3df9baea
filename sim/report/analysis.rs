//! A run's trace turned into what the report files show: per-window rows (`timeline.csv`), one
//! row per request (`requests.csv`), outage, degraded and fault intervals, deploy phase marks, and
//! coverage counters. Everything is derived from the trace in trace order, so the same run gives
//! the same analysis, byte for byte once rendered.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::api::MachineState;
use crate::check::outages::Outages;
use crate::engine::trace::Record;
use crate::observe::{DeployStep, FailureReason, LeaseStep, Step};
use crate::scenario::{FaultSpec, Scenario, Window};
use crate::sim::RunResult;

/// The machine states a timeline counts (every state in which a machine is alive).
pub const ALIVE_STATES: [MachineState; 7] = [
    MachineState::Created,
    MachineState::Starting,
    MachineState::Started,
    MachineState::Stopping,
    MachineState::Stopped,
    MachineState::Suspended,
    MachineState::Failed,
];

/// Request failure reasons, in column order.
pub const FAILURE_REASONS: [FailureReason; 3] = [
    FailureReason::NoRoutableMachine,
    FailureReason::ConnectionRefused,
    FailureReason::Killed,
];

/// One time window of the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowRow {
    pub start_us: u64,
    pub end_us: u64,
    /// Alive machines at the end of the window, per image (index into [`Analysis::images`]).
    pub alive_by_image: Vec<u32>,
    /// Alive machines at the end of the window, per state of [`ALIVE_STATES`].
    pub alive_by_state: Vec<u32>,
    /// The most machines alive at any instant of the window.
    pub alive_max: u32,
    /// Machines each proxy believes routable at the end of the window (index: proxy).
    pub routable_by_proxy: Vec<u32>,
    pub requests_arrived: u64,
    pub requests_ok: u64,
    pub requests_failed: u64,
    pub requests_retried: u64,
    /// Per reason of [`FAILURE_REASONS`].
    pub failed_by_reason: Vec<u64>,
    /// Latency of the successful requests that finished in the window (µs): p50, p99, max.
    pub latency_us: Option<(u64, u64, u64)>,
    /// Time in the window during which some proxy had no live routable machine (µs).
    pub outage_us: u64,
    /// Time in the window outside outages during which a request that failed was in flight (µs).
    pub degraded_us: u64,
    /// Windowed faults (API errors, propagation tails) active during part of the window.
    pub faults_active: u32,
    /// Instant faults that fired in the window (crashes, kills, aborts, leases taken...).
    pub fault_events: u32,
}

/// One request, from arrival to its end.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestRow {
    pub request: u32,
    pub proxy: u32,
    pub arrived_us: u64,
    pub done_us: u64,
    pub failure: Option<FailureReason>,
    /// The last machine the proxy sent it to (None: never routed).
    pub machine: Option<u32>,
    /// Connection attempts (routed or refused).
    pub attempts: u32,
    pub refusals: u32,
    pub held: bool,
}

impl RequestRow {
    pub fn latency_us(&self) -> u64 {
        self.done_us - self.arrived_us
    }

    pub fn retried(&self) -> bool {
        self.refusals > 0 || self.held
    }
}

/// A fault active over an interval.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultWindow {
    pub start_us: u64,
    pub end_us: u64,
    pub label: String,
}

/// A deploy phase starting.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseMark {
    pub time_us: u64,
    pub deploy: u32,
    pub phase: String,
}

/// The most rows a timeline has: a longer run, or a shorter window, gets a coarser window
/// (`timeline_window`), and the report says so.
pub const TIMELINE_WINDOWS_MAX: u64 = 100_000;

/// The window a timeline of a run ending at `end_us` uses when `requested_us` was asked for: the
/// request, unless it would make more than [`TIMELINE_WINDOWS_MAX`] rows; then the shortest
/// 1-2-5 multiple of a millisecond that fits.
pub fn timeline_window(requested_us: u64, end_us: u64) -> u64 {
    let requested_us = requested_us.max(1);
    // `end_us / window + 1` rows: the last window holds the end instant.
    let needed_us = end_us / (TIMELINE_WINDOWS_MAX - 1) + 1;
    if requested_us >= needed_us {
        return requested_us;
    }
    let mut decade_us: u64 = 1_000;
    loop {
        for step in [1, 2, 5] {
            let window_us = decade_us.saturating_mul(step);
            if window_us >= needed_us {
                return window_us;
            }
        }
        decade_us = decade_us.saturating_mul(10);
    }
}

/// What the report files show about one run.
#[derive(Clone, Debug)]
pub struct Analysis {
    /// The timeline's window: `window_requested_us`, or coarser (`timeline_window`).
    pub window_us: u64,
    /// The window asked for (`--window`).
    pub window_requested_us: u64,
    pub end_us: u64,
    /// Where the report stops when the trace kept for it reached its limit (`Some(time)`: the
    /// timeline and request rows cover the run up to then only). None: the whole run.
    pub covered_until_us: Option<u64>,
    /// Every image the run saw; image `i` is labelled `v{i+1}`.
    pub images: Vec<String>,
    /// The region of each proxy.
    pub proxies: Vec<String>,
    pub windows: Vec<WindowRow>,
    pub requests: Vec<RequestRow>,
    /// Intervals (µs) during which some proxy that had served had no live routable machine.
    pub outages: Vec<(u64, u64)>,
    /// Intervals (µs) outside outages during which some request that failed was in flight.
    pub degraded: Vec<(u64, u64)>,
    pub fault_windows: Vec<FaultWindow>,
    /// Instant faults: (time µs, description).
    pub fault_events: Vec<(u64, String)>,
    pub phases: Vec<PhaseMark>,
    /// Per deploy that started: (deploy, start µs, end µs — the run's end if it never ended).
    pub deploy_spans: Vec<(u32, u64, u64)>,
    /// How often each kind of step happened (`api-call/launch`, `machine-state/started`, …).
    pub coverage: BTreeMap<String, u64>,
    /// The initial fleet's size (N).
    pub machines_initial: u32,
    /// `[check] explosion_factor` and the most machines alive it allows (`no-machine-explosion`).
    pub explosion_factor: f64,
    pub machines_max: u32,
}

impl Analysis {
    /// The label of image `index` (`v1`, `v2`, …).
    pub fn image_label(index: usize) -> String {
        format!("v{}", index + 1)
    }

    /// The short form of an image: its tag (after the last `:`), else the whole reference.
    pub fn image_short(image: &str) -> &str {
        image.rsplit_once(':').map_or(image, |(_, tag)| tag)
    }
}

/// The label of a windowed fault.
fn fault_label(spec: &FaultSpec) -> Option<(String, Window)> {
    match spec {
        FaultSpec::ApiError {
            operation,
            rate,
            status,
            window,
            calls: None,
            ..
        } => {
            let operation = operation.map_or("every call", |operation| operation.as_str());
            let status = status.map_or("transport error".to_string(), |code| code.to_string());
            Some((
                format!("API {status} on {operation} ({:.0}%)", rate * 100.0),
                *window,
            ))
        }
        FaultSpec::PropagationTail {
            probability,
            window,
            ..
        } => Some((
            format!("propagation tail ({:.0}% of changes)", probability * 100.0),
            *window,
        )),
        _ => None,
    }
}

/// The images in order of appearance: the app's, the fleet's, each deploy's, then any other.
fn image_order(scenario: &Scenario, result: &RunResult) -> Vec<String> {
    let mut images: Vec<String> = Vec::new();
    let mut add = |image: &str| {
        if !images.iter().any(|known| known == image) {
            images.push(image.to_string());
        }
    };
    for group in &scenario.fleet {
        add(group.image.as_deref().unwrap_or(&scenario.app.image));
    }
    for deploy in &scenario.deploys {
        add(&deploy.image);
    }
    for machine in &result.machines {
        for (_, image) in &machine.images {
            add(image);
        }
    }
    images
}

/// Per-machine state tracked while walking the trace.
#[derive(Clone, Copy)]
struct MachineNow {
    alive: bool,
    state: MachineState,
    image: usize,
}

/// Per-request state tracked while walking the trace.
#[derive(Clone, Copy)]
struct Pending {
    proxy: u32,
    arrived_us: u64,
    machine: Option<u32>,
    attempts: u32,
    refusals: u32,
    held: bool,
}

struct Walker<'a> {
    result: &'a RunResult,
    window_us: u64,
    images: Vec<String>,
    machines: Vec<MachineNow>,
    alive: u32,
    alive_max_in_window: u32,
    alive_by_image: Vec<u32>,
    alive_by_state: Vec<u32>,
    /// Per proxy: the machines it believes routable.
    proxy_views: Vec<std::collections::BTreeSet<u32>>,
    /// Which proxies serve, and the open outage (the checkers' definition).
    proxies: Outages<u64>,
    outages: Vec<(u64, u64)>,
    pending: BTreeMap<u32, Pending>,
    requests: Vec<RequestRow>,
    current: WindowRow,
    windows: Vec<WindowRow>,
    latency: Histogram<u64>,
    fault_events: Vec<(u64, String)>,
    phases: Vec<PhaseMark>,
    deploy_starts: BTreeMap<u32, u64>,
    deploy_ends: BTreeMap<u32, u64>,
    coverage: BTreeMap<String, u64>,
}

/// The latency histogram's range, as the checkers' (1 µs to 1 hour, 3 significant digits).
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

impl<'a> Walker<'a> {
    fn new(scenario: &Scenario, result: &'a RunResult, window_us: u64) -> Walker<'a> {
        let images = image_order(scenario, result);
        let proxies = result.proxy_regions.len();
        let empty = WindowRow {
            start_us: 0,
            end_us: window_us,
            alive_by_image: Vec::new(),
            alive_by_state: Vec::new(),
            alive_max: 0,
            routable_by_proxy: Vec::new(),
            requests_arrived: 0,
            requests_ok: 0,
            requests_failed: 0,
            requests_retried: 0,
            failed_by_reason: vec![0; FAILURE_REASONS.len()],
            latency_us: None,
            outage_us: 0,
            degraded_us: 0,
            faults_active: 0,
            fault_events: 0,
        };
        Walker {
            result,
            window_us,
            alive_by_image: vec![0; images.len()],
            images,
            machines: Vec::new(),
            alive: 0,
            alive_max_in_window: 0,
            alive_by_state: vec![0; ALIVE_STATES.len()],
            proxy_views: vec![std::collections::BTreeSet::new(); proxies],
            proxies: Outages::new(proxies),
            outages: Vec::new(),
            pending: BTreeMap::new(),
            requests: Vec::new(),
            current: empty,
            windows: Vec::new(),
            latency: latency_histogram(),
            fault_events: Vec::new(),
            phases: Vec::new(),
            deploy_starts: BTreeMap::new(),
            deploy_ends: BTreeMap::new(),
            coverage: BTreeMap::new(),
        }
    }

    fn count(&mut self, key: String) {
        *self.coverage.entry(key).or_default() += 1;
    }

    fn image_index(&self, image: &str) -> usize {
        self.images
            .iter()
            .position(|known| known == image)
            .expect("every image is in the image order")
    }

    fn state_slot(state: MachineState) -> Option<usize> {
        ALIVE_STATES.iter().position(|alive| *alive == state)
    }

    /// Closes every window that ends at or before `time`.
    fn advance(&mut self, time: u64) {
        while self.current.end_us <= time {
            self.close_window();
        }
    }

    fn close_window(&mut self) {
        let mut row = self.current.clone();
        row.alive_by_image = self.alive_by_image.clone();
        row.alive_by_state = self.alive_by_state.clone();
        row.alive_max = self.alive_max_in_window.max(self.alive);
        row.routable_by_proxy = self
            .proxy_views
            .iter()
            .map(|view| view.len() as u32)
            .collect();
        if !self.latency.is_empty() {
            row.latency_us = Some((
                self.latency.value_at_quantile(0.5),
                self.latency.value_at_quantile(0.99),
                self.latency.max(),
            ));
        }
        self.latency.reset();
        self.windows.push(row);
        let start = self.current.end_us;
        self.current = WindowRow {
            start_us: start,
            end_us: start + self.window_us,
            alive_by_image: Vec::new(),
            alive_by_state: Vec::new(),
            alive_max: self.alive,
            routable_by_proxy: Vec::new(),
            requests_arrived: 0,
            requests_ok: 0,
            requests_failed: 0,
            requests_retried: 0,
            failed_by_reason: vec![0; FAILURE_REASONS.len()],
            latency_us: None,
            outage_us: 0,
            degraded_us: 0,
            faults_active: 0,
            fault_events: 0,
        };
        self.alive_max_in_window = self.alive;
    }

    fn machine_created(&mut self, machine: u32) {
        let info = &self.result.machines[machine as usize];
        let image = info
            .images
            .first()
            .map(|(_, image)| self.image_index(image))
            .unwrap_or(0);
        let state = info.initial_state;
        let alive = state.is_active();
        assert_eq!(machine as usize, self.machines.len());
        self.machines.push(MachineNow {
            alive,
            state,
            image,
        });
        if alive {
            self.alive += 1;
            self.alive_max_in_window = self.alive_max_in_window.max(self.alive);
            self.alive_by_image[image] += 1;
            if let Some(slot) = Walker::state_slot(state) {
                self.alive_by_state[slot] += 1;
            }
        }
    }

    fn machine_state(&mut self, machine: u32, state: MachineState) {
        let now = self.machines[machine as usize];
        if now.alive {
            if let Some(slot) = Walker::state_slot(now.state) {
                self.alive_by_state[slot] -= 1;
            }
        }
        let alive = state.is_active();
        if now.alive && !alive {
            self.alive -= 1;
            self.alive_by_image[now.image] -= 1;
        } else if !now.alive && alive {
            self.alive += 1;
            self.alive_max_in_window = self.alive_max_in_window.max(self.alive);
            self.alive_by_image[now.image] += 1;
        }
        if alive {
            if let Some(slot) = Walker::state_slot(state) {
                self.alive_by_state[slot] += 1;
            }
        }
        self.machines[machine as usize] = MachineNow {
            alive,
            state,
            image: now.image,
        };
    }

    fn machine_image(&mut self, machine: u32, image: &str) {
        let image = self.image_index(image);
        let now = &mut self.machines[machine as usize];
        if now.alive {
            self.alive_by_image[now.image] -= 1;
            self.alive_by_image[image] += 1;
        }
        now.image = image;
    }

    fn proxy_serving(&mut self, time: u64, proxy: u32, serving: bool) {
        if let Some(window) = self.proxies.proxy_serving(time, proxy, serving) {
            self.outages.push(window);
        }
    }

    fn request_done(&mut self, time: u64, request: u32, failure: Option<FailureReason>) {
        let Some(pending) = self.pending.remove(&request) else {
            return; // arrived before the kept part of the trace
        };
        let row = RequestRow {
            request,
            proxy: pending.proxy,
            arrived_us: pending.arrived_us,
            done_us: time,
            failure,
            machine: pending.machine,
            attempts: pending.attempts,
            refusals: pending.refusals,
            held: pending.held,
        };
        if row.retried() {
            self.current.requests_retried += 1;
        }
        match failure {
            None => {
                self.current.requests_ok += 1;
                self.latency.saturating_record(row.latency_us().max(1));
            }
            Some(reason) => {
                self.current.requests_failed += 1;
                let slot = FAILURE_REASONS
                    .iter()
                    .position(|known| *known == reason)
                    .expect("every failure reason has a column");
                self.current.failed_by_reason[slot] += 1;
            }
        }
        self.requests.push(row);
    }

    fn step(&mut self, record: &Record<crate::platform::Step>) {
        let time = record.time.as_micros();
        match &record.step {
            Step::MachineCreated { machine, by } => {
                self.machine_created(*machine);
                let key = if by.is_some() { "deployer" } else { "initial" };
                self.count(format!("machine-created/{key}"));
            }
            Step::MachineState { machine, state } => {
                self.machine_state(*machine, *state);
                self.count(format!("machine-state/{}", state.as_str()));
            }
            Step::Cordoned { cordoned, .. } => {
                let key = if *cordoned { "cordoned" } else { "uncordoned" };
                self.count(format!("cordon/{key}"));
            }
            Step::ChecksPassing { passing, .. } => {
                let key = if *passing { "passing" } else { "failing" };
                self.count(format!("checks/{key}"));
            }
            Step::Routable { routable, .. } => {
                let key = if *routable { "routable" } else { "unroutable" };
                self.count(format!("platform-routable/{key}"));
            }
            Step::ProxyView {
                proxy,
                machine,
                routable,
            } => {
                let view = &mut self.proxy_views[*proxy as usize];
                if *routable {
                    view.insert(*machine);
                } else {
                    view.remove(machine);
                }
                let key = if *routable { "routable" } else { "unroutable" };
                self.count(format!("proxy-view/{key}"));
            }
            Step::ProxyServing { proxy, serving } => {
                self.proxy_serving(time, *proxy, *serving);
                let key = if *serving { "serving" } else { "not-serving" };
                self.count(format!("proxy-serving/{key}"));
            }
            Step::ApiCall { operation, .. } => {
                self.count(format!("api-call/{}", operation.as_str()));
            }
            Step::ApiReply { status, .. } => {
                let key = if *status == 0 {
                    "ok".to_string()
                } else {
                    status.to_string()
                };
                self.count(format!("api-reply/{key}"));
            }
            Step::Lease { step, .. } => {
                let key = match step {
                    LeaseStep::Acquired => "acquired",
                    LeaseStep::Refreshed => "refreshed",
                    LeaseStep::Released => "released",
                    LeaseStep::Conflict => "conflict",
                };
                self.count(format!("lease/{key}"));
            }
            Step::RequestArrived { request, proxy } => {
                self.current.requests_arrived += 1;
                self.pending.insert(
                    *request,
                    Pending {
                        proxy: *proxy,
                        arrived_us: time,
                        machine: None,
                        attempts: 0,
                        refusals: 0,
                        held: false,
                    },
                );
                self.count("request/arrived".to_string());
            }
            Step::RequestRouted { request, machine } => {
                if let Some(pending) = self.pending.get_mut(request) {
                    pending.machine = Some(*machine);
                    pending.attempts += 1;
                }
                self.count("request/routed".to_string());
            }
            Step::RequestRefused { request, machine } => {
                if let Some(pending) = self.pending.get_mut(request) {
                    pending.machine = Some(*machine);
                    pending.attempts += 1;
                    pending.refusals += 1;
                }
                self.count("request/refused".to_string());
            }
            Step::RequestHeld { request } => {
                if let Some(pending) = self.pending.get_mut(request) {
                    pending.held = true;
                }
                self.count("request/held".to_string());
            }
            Step::RequestDone { request, failure } => {
                self.request_done(time, *request, *failure);
                let key = failure.map_or("ok", FailureReason::as_str);
                self.count(format!("request-done/{key}"));
            }
            Step::Deploy { deploy, step } => self.deploy_step(time, *deploy, step),
            Step::Output { .. } => self.count("output/line".to_string()),
            Step::Fault { description } => {
                self.current.fault_events += 1;
                self.fault_events.push((time, description.clone()));
                self.count("fault/fired".to_string());
            }
        }
    }

    fn deploy_step(&mut self, time: u64, deploy: u32, step: &DeployStep) {
        let key = match step {
            DeployStep::Started => {
                self.deploy_starts.insert(deploy, time);
                "started".to_string()
            }
            DeployStep::Phase(phase) => {
                self.phases.push(PhaseMark {
                    time_us: time,
                    deploy,
                    phase: phase.as_str().to_string(),
                });
                format!("phase/{}", phase.as_str())
            }
            DeployStep::GreenRecorded(_) => "green-recorded".to_string(),
            DeployStep::PointOfNoReturn => "point-of-no-return".to_string(),
            DeployStep::RollbackStarted => "rollback-started".to_string(),
            DeployStep::RollbackFinished { ok } => format!("rollback-finished/{ok}"),
            DeployStep::AbortRequested => {
                self.current.fault_events += 1;
                self.fault_events
                    .push((time, format!("abort deployer {deploy}")));
                "abort-requested".to_string()
            }
            DeployStep::Killed => {
                self.current.fault_events += 1;
                self.fault_events
                    .push((time, format!("kill deployer {deploy}")));
                self.deploy_ends.insert(deploy, time);
                "killed".to_string()
            }
            DeployStep::Finished(outcome) => {
                self.deploy_ends.insert(deploy, time);
                format!("finished/{}", outcome.as_str())
            }
            DeployStep::TimedOut => {
                self.deploy_ends.insert(deploy, time);
                "timed-out".to_string()
            }
        };
        self.count(format!("deploy/{key}"));
    }
}

/// Analyses a run kept with its trace (`Simulation::keep_trace(true)`), in windows of
/// `window_requested_us` microseconds (or coarser: `timeline_window`).
pub fn analyse(scenario: &Scenario, result: &RunResult, window_requested_us: u64) -> Analysis {
    assert!(window_requested_us > 0, "a window lasts some time");
    let end_us = result
        .trace
        .last()
        .map_or(0, |record| record.time.as_micros())
        .max(result.end_time_ms * 1_000);
    let window_us = timeline_window(window_requested_us, end_us);
    let covered_until_us = result
        .trace_truncated_at
        .map(|time| time.as_micros().min(end_us));
    let mut walker = Walker::new(scenario, result, window_us);
    // In-place image changes (not in the trace), merged in by time.
    let mut updates: Vec<(u64, u32, &str)> = result
        .machines
        .iter()
        .enumerate()
        .flat_map(|(machine, info)| {
            info.images
                .iter()
                .skip(1)
                .map(move |(time, image)| (time.as_micros(), machine as u32, image.as_str()))
        })
        .collect();
    updates.sort();
    let mut next_update = 0;
    for record in &result.trace {
        let time = record.time.as_micros();
        walker.advance(time);
        while next_update < updates.len() && updates[next_update].0 <= time {
            let (_, machine, image) = updates[next_update];
            if (machine as usize) < walker.machines.len() {
                walker.machine_image(machine, image);
            }
            next_update += 1;
        }
        walker.step(record);
    }
    match covered_until_us {
        // The last window holds the run's end instant.
        None => {
            while walker.windows.is_empty() || walker.current.start_us <= end_us {
                walker.close_window();
            }
        }
        // The trace stops at `cut`: so do the windows, the last one cut short there.
        Some(cut) => {
            walker.advance(cut);
            if walker.windows.is_empty() || walker.current.start_us < cut {
                walker.current.end_us = cut;
                walker.close_window();
            }
        }
    }
    if let Some(window) = walker.proxies.close(covered_until_us.unwrap_or(end_us)) {
        walker.outages.push(window);
    }
    let degraded = degraded_intervals(&walker.requests, &walker.outages);
    let fault_windows: Vec<FaultWindow> = scenario
        .faults
        .iter()
        .filter_map(fault_label)
        .map(|(label, window)| {
            let start_us = crate::engine::time::duration_micros(window.start).min(end_us);
            let end = window.duration.map_or(end_us, |duration| {
                start_us.saturating_add(crate::engine::time::duration_micros(duration))
            });
            FaultWindow {
                start_us,
                end_us: end.min(end_us),
                label,
            }
        })
        .collect();
    let mut windows = walker.windows;
    let outage_us = time_in_windows(&walker.outages, &windows);
    let degraded_us = time_in_windows(&degraded, &windows);
    for ((row, outage_us), degraded_us) in windows.iter_mut().zip(outage_us).zip(degraded_us) {
        row.outage_us = outage_us;
        row.degraded_us = degraded_us;
        row.faults_active = fault_windows
            .iter()
            .filter(|fault| {
                overlap((fault.start_us, fault.end_us), (row.start_us, row.end_us)) > 0
                    || (fault.start_us == fault.end_us
                        && fault.start_us >= row.start_us
                        && fault.start_us < row.end_us)
            })
            .count() as u32;
    }
    let deploy_spans = walker
        .deploy_starts
        .iter()
        .map(|(deploy, start)| {
            let end = walker.deploy_ends.get(deploy).copied().unwrap_or(end_us);
            (*deploy, *start, end)
        })
        .collect();
    Analysis {
        window_us,
        window_requested_us,
        end_us,
        covered_until_us,
        images: walker.images,
        proxies: result.proxy_regions.clone(),
        windows,
        requests: walker.requests,
        outages: walker.outages,
        degraded,
        fault_windows,
        fault_events: walker.fault_events,
        phases: walker.phases,
        deploy_spans,
        coverage: walker.coverage,
        machines_initial: result.metrics.machines_initial,
        explosion_factor: scenario.check.explosion_factor,
        machines_max: scenario.check.machines_max(result.metrics.machines_initial),
    }
}

/// Degraded time as the checkers define it: the failed requests' lifetimes (arrival to failure),
/// merged, outside the outage windows. Requests are in the order they finished.
fn degraded_intervals(requests: &[RequestRow], outages: &[(u64, u64)]) -> Vec<(u64, u64)> {
    use crate::engine::SimTime;
    let mut failing = crate::check::Intervals::default();
    for request in requests.iter().filter(|request| request.failure.is_some()) {
        failing.add(
            SimTime::from_micros(request.arrived_us),
            SimTime::from_micros(request.done_us),
        );
    }
    let outages: Vec<(SimTime, SimTime)> = outages
        .iter()
        .map(|(start, end)| (SimTime::from_micros(*start), SimTime::from_micros(*end)))
        .collect();
    failing
        .outside(&outages)
        .into_iter()
        .map(|(start, end)| (start.as_micros(), end.as_micros()))
        .collect()
}

/// The time each window overlaps `intervals` (sorted by start, as outages and degraded time are):
/// one merge pass, where a scan of every interval per window would be quadratic on a long run.
fn time_in_windows(intervals: &[(u64, u64)], windows: &[WindowRow]) -> Vec<u64> {
    let mut first = 0;
    windows
        .iter()
        .map(|row| {
            while intervals
                .get(first)
                .is_some_and(|(_, end)| *end <= row.start_us)
            {
                first += 1;
            }
            intervals[first..]
                .iter()
                .take_while(|(start, _)| *start < row.end_us)
                .map(|(start, end)| overlap((*start, *end), (row.start_us, row.end_us)))
                .sum()
        })
        .collect()
}

fn overlap(a: (u64, u64), b: (u64, u64)) -> u64 {
    let start = a.0.max(b.0);
    let end = a.1.min(b.1);
    end.saturating_sub(start)
}
