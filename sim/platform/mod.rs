//! The simulated world: machines with their lifecycle and checks, the Machines API server side,
//! leases, edge proxies whose routing views lag the platform, and open-loop traffic.
//!
//! Everything here runs inside the event loop of [`crate::sim`]; the deploy code reaches it only
//! through [`client::SimApi`], which turns each call into two events (arrival at the server, reply
//! at the client) with sampled latency.

use std::rc::Rc;
use std::time::Duration;

use crate::engine::random::{Component, Stream};
use crate::engine::trace::Trace;
use crate::engine::{Clock, EventQueue, SimTime};
use crate::faults::FaultPlan;
use crate::observe::{Observation, Observers};
use crate::scenario::Scenario;

pub mod autostop;
pub mod call_log;
pub mod client;
pub mod deployer;
pub mod machines;
pub mod proxy;
pub mod server;
pub mod traffic;

pub use crate::observe::{DeployStep, FailureReason, MachineIndex, Step};
pub use machines::MachineRecord;

/// Events of the world, ordered by `(time, seq)` in the engine's queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// An API call reaches the server.
    CallArrives(u32),
    /// An API call's reply reaches the client.
    CallReplies(u32),
    /// A `wait` call's server-side timeout (`call` is its slot, `number` tells it from a later
    /// call in the same slot).
    WaitExpires { call: u32, number: u32 },
    /// A machine's pending lifecycle transition (stale when `generation` moved on).
    MachineTransition {
        machine: MachineIndex,
        generation: u32,
    },
    /// A machine's checks start passing (stale when `generation` moved on).
    ChecksPass {
        machine: MachineIndex,
        generation: u32,
    },
    /// A proxy learns a routing change (applied only if newer than what it knows).
    ProxyLearns {
        proxy: u32,
        machine: MachineIndex,
        version: u32,
        routable: bool,
    },
    /// The next request arrives at a region's proxy.
    RequestArrives { proxy: u32 },
    /// A proxy retries a refused request.
    RequestRetry { request: u32 },
    /// A request's service ends on `machine` (stale if the machine's process died: `incarnation`).
    RequestServed {
        request: u32,
        machine: MachineIndex,
        incarnation: u32,
    },
    /// A held request's hold timeout.
    HoldExpires { request: u32 },
    /// A deploy starts.
    DeployStarts { deploy: u32 },
    /// A deploy must have ended by now (`deploy-terminates`).
    DeployDeadline { deploy: u32 },
    /// A triggered fault fires.
    Fault { fault: u32 },
    /// A windowed fault's window opens (`start`) or closes.
    FaultEdge { fault: u32, start: bool },
    /// A triggered fault with a duration ends.
    FaultEnds { fault: u32 },
    /// A flapping check flips.
    ChecksFlap { fault: u32, failing: bool },
    /// An autostop machine's idle check (stale when its process changed).
    AutostopCheck {
        machine: MachineIndex,
        incarnation: u32,
    },
    /// A crash-looping machine crashes (stale when its process already changed).
    CrashLoopTick {
        machine: MachineIndex,
        incarnation: u32,
    },
    /// Traffic stops and the run winds down.
    TrafficEnds,
}

/// Something the event loop must do outside the world's borrow (it touches the executor).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    StartDeploy(u32),
    /// SIGKILL the deployer: drop all its tasks.
    KillDeploy(u32),
    /// Freeze the deployer's tasks (a stall).
    PauseDeploy(u32),
    ResumeDeploy(u32),
}

/// Why the run stopped before it finished on its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LimitHit {
    Time { limit: Duration },
    Events { limit: u64 },
    Requests { limit: u64 },
    Machines { limit: u32 },
    QueueFull { capacity: usize },
    Tasks { limit: usize },
    Livelock { polls: u64 },
}

impl LimitHit {
    /// The kind of limit, in one word (for signatures).
    pub fn kind(&self) -> &'static str {
        match self {
            LimitHit::Time { .. } => "time",
            LimitHit::Events { .. } => "events",
            LimitHit::Machines { .. } => "machines",
            LimitHit::QueueFull { .. } => "queue",
            LimitHit::Tasks { .. } => "tasks",
            LimitHit::Livelock { .. } => "livelock",
            LimitHit::Requests { .. } => "requests",
        }
    }
}

impl std::fmt::Display for LimitHit {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitHit::Time { limit } => {
                write!(
                    formatter,
                    "time limit of {} reached (run.time_limit)",
                    humantime::format_duration(*limit)
                )
            }
            LimitHit::Events { limit } => {
                write!(
                    formatter,
                    "event limit of {limit} reached (run.event_limit)"
                )
            }
            LimitHit::Requests { limit } => {
                write!(
                    formatter,
                    "request limit of {limit} reached (requests arrived)"
                )
            }
            LimitHit::Machines { limit } => write!(
                formatter,
                "machine limit of {limit} reached (machines created, run.machine_limit)"
            ),
            LimitHit::QueueFull { capacity } => {
                write!(
                    formatter,
                    "event queue capacity of {capacity} reached (events pending)"
                )
            }
            LimitHit::Tasks { limit } => {
                write!(
                    formatter,
                    "task limit of {limit} reached (tasks alive at once)"
                )
            }
            LimitHit::Livelock { polls } => {
                write!(
                    formatter,
                    "executor livelock: {polls} task polls at one instant of virtual time"
                )
            }
        }
    }
}

/// The random streams of the platform's components.
pub struct Streams {
    pub identifiers: Stream,
    pub api: Stream,
    pub machines: Stream,
    pub proxies: Stream,
    pub traffic: Stream,
    pub faults: Stream,
}

impl Streams {
    pub fn new(seed: u64) -> Streams {
        Streams {
            identifiers: Stream::new(seed, Component::Identifiers),
            api: Stream::new(seed, Component::Api),
            machines: Stream::new(seed, Component::Machines),
            proxies: Stream::new(seed, Component::Proxies),
            traffic: Stream::new(seed, Component::Traffic),
            faults: Stream::new(seed, Component::Faults),
        }
    }
}

/// A deploy's harness-side state.
#[derive(Clone, Debug, Default)]
pub struct DeployState {
    pub started_at: Option<SimTime>,
    pub ended_at: Option<SimTime>,
    pub abort_requested: bool,
    pub killed: bool,
    pub timed_out: bool,
    /// How it ended by itself (None while running, or when killed or timed out).
    pub outcome: Option<crate::observe::DeployOutcome>,
    /// Machines this deploy launched, in launch order (its greens, including duplicates).
    pub launched: Vec<MachineIndex>,
    /// Output lines with their virtual time.
    pub output: Vec<(SimTime, String)>,
}

/// The simulated world.
pub struct World {
    pub clock: Rc<Clock>,
    pub queue: EventQueue<Event>,
    pub trace: Trace<Step>,
    /// Who receives the world's observations (the checkers and metrics, a user's checkers).
    pub observers: Observers,
    pub scenario: Rc<Scenario>,
    pub streams: Streams,
    pub faults: FaultPlan,
    pub machines: Vec<MachineRecord>,
    pub machine_ids: machines::MachineIds,
    pub regions: Vec<String>,
    pub proxies: Vec<proxy::Proxy>,
    pub traffic: traffic::Traffic,
    pub calls: server::CallTable,
    /// What the deployers asked, for the scenario's expectations.
    pub call_log: call_log::CallLog,
    pub deploys: Vec<DeployState>,
    /// Per deploy, what its strategy promises about its pace (set by whoever assembles the run).
    pub pace_promises: Vec<crate::observe::PacePromise>,
    pub actions: Vec<Action>,
    pub limit_hit: Option<LimitHit>,
    /// The platform's wall clock at virtual time zero (Unix seconds).
    pub epoch_unix_seconds: i64,
    /// The scenario's seed as run (after `--seed`).
    pub seed: u64,
    /// N: machines in the initial fleet (indexes 0..N).
    pub initial_machine_count: u32,
    /// True while the world is built: routing changes reach the proxies at once.
    pub setting_up: bool,
    /// Per region, the stopped, uncordoned machines a proxy may autostart (F14).
    pub autostart_pool: Vec<proxy::IndexedSet>,
    /// Every machine's image over time, for reports: (when, machine, image) at creation and at
    /// each in-place update. Not part of the trace (the fingerprint does not depend on it).
    pub image_log: Vec<(SimTime, MachineIndex, String)>,
}

/// 2026-11-26 00:00:00 UTC: a fixed epoch, so lease expiries and deployment tags are reproducible.
pub const EPOCH_UNIX_SECONDS: i64 = 1_795_651_200;

impl World {
    pub fn now(&self) -> SimTime {
        self.clock.now()
    }

    /// Hands an observation to every observer, at the current time and the last step recorded.
    pub fn observe(&self, observation: &Observation<'_>) {
        let step = self.trace.count().saturating_sub(1);
        self.observers.emit(self.clock.now(), step, observation);
    }

    /// Records a step in the trace (and so in the fingerprint). Returns its index.
    pub fn record(&mut self, step: Step) -> u64 {
        let now = self.clock.now();
        self.trace.push(now, step);
        self.trace.count() - 1
    }

    /// Schedules an event; a full queue stops the run and says so.
    pub fn schedule(&mut self, time: SimTime, event: Event) {
        if !self.queue.schedule(time, event) && self.limit_hit.is_none() {
            self.limit_hit = Some(LimitHit::QueueFull {
                capacity: self.queue.len(),
            });
        }
    }

    pub fn schedule_after(&mut self, delay: Duration, event: Event) {
        let time = self.now() + delay;
        self.schedule(time, event);
    }

    /// The platform's wall clock, in Unix seconds.
    pub fn unix_seconds(&self) -> i64 {
        let since_start = i64::try_from(self.now().since_start().as_secs()).unwrap_or(i64::MAX);
        self.epoch_unix_seconds.saturating_add(since_start)
    }

    pub fn region_index(&self, region: &str) -> Option<u32> {
        self.regions
            .iter()
            .position(|candidate| candidate == region)
            .and_then(|index| u32::try_from(index).ok())
    }

    /// The run is over once traffic stopped, every request finished and every deploy ended: what
    /// is left in the queue (deadlines of ended deploys) no longer matters.
    pub fn is_over(&self) -> bool {
        !self.traffic.running
            && self.traffic.in_flight == 0
            && self.deploys.iter().all(|state| state.ended_at.is_some())
    }

    /// What liveness needs at the end: leases a deployer still holds, and what has not
    /// converged (a proxy whose view disagrees with the platform, a machine mid-transition).
    /// Runs once, at the end of the run, so a scan of the fleet is fine here.
    pub fn liveness_facts(&self) -> (Vec<String>, Vec<String>) {
        let now = self.now();
        let leases: Vec<String> = self
            .machines
            .iter()
            .filter(|machine| {
                machine.is_alive()
                    && machine
                        .lease
                        .as_ref()
                        .is_some_and(|lease| lease.client.is_some() && lease.expires_at > now)
            })
            .map(|machine| machine.id.0.clone())
            .collect();
        let mut unconverged: Vec<String> = self
            .machines
            .iter()
            .filter(|machine| {
                matches!(
                    machine.state,
                    crate::api::MachineState::Starting
                        | crate::api::MachineState::Stopping
                        | crate::api::MachineState::Destroying
                )
            })
            .map(|machine| format!("machine {} still {}", machine.id, machine.state))
            .collect();
        for proxy in &self.proxies {
            let disagreeing = (0..self.machines.len() as MachineIndex)
                .filter(|machine| {
                    proxy.believes_routable(*machine) != self.machines[*machine as usize].routable
                })
                .count();
            if disagreeing > 0 {
                let region = &self.regions[proxy.region as usize];
                unconverged.push(format!(
                    "proxy {region} disagrees with the platform on {disagreeing} machine(s)"
                ));
            }
        }
        (leases, unconverged)
    }

    /// Dispatches one event.
    pub fn handle(&mut self, event: Event) {
        match event {
            Event::CallArrives(call) => self.call_arrives(call),
            Event::CallReplies(call) => self.call_replies(call),
            Event::WaitExpires { call, number } => self.wait_expires(call, number),
            Event::MachineTransition {
                machine,
                generation,
            } => self.machine_transition(machine, generation),
            Event::ChecksPass {
                machine,
                generation,
            } => self.checks_pass(machine, generation),
            Event::ProxyLearns {
                proxy,
                machine,
                version,
                routable,
            } => self.proxy_learns(proxy, machine, version, routable),
            Event::RequestArrives { proxy } => self.request_arrives(proxy),
            Event::RequestRetry { request } => self.request_attempt(request),
            Event::RequestServed {
                request,
                machine,
                incarnation,
            } => self.request_served(request, machine, incarnation),
            Event::HoldExpires { request } => self.hold_expires(request),
            Event::DeployStarts { deploy } => self.actions.push(Action::StartDeploy(deploy)),
            Event::DeployDeadline { deploy } => self.deploy_deadline(deploy),
            Event::Fault { fault } => self.fire_fault(fault),
            Event::FaultEdge { fault, start } => self.fault_edge(fault, start),
            Event::FaultEnds { fault } => self.fault_ends(fault),
            Event::ChecksFlap { fault, failing } => self.checks_flap(fault, failing),
            Event::AutostopCheck {
                machine,
                incarnation,
            } => self.autostop_check(machine, incarnation),
            Event::CrashLoopTick {
                machine,
                incarnation,
            } => self.crash_loop_tick(machine, incarnation),
            Event::TrafficEnds => self.traffic.running = false,
        }
    }

    fn deploy_deadline(&mut self, deploy: u32) {
        let state = &mut self.deploys[deploy as usize];
        if state.ended_at.is_some() {
            return;
        }
        state.timed_out = true;
        state.ended_at = Some(self.clock.now());
        self.record(Step::Deploy {
            deploy,
            step: DeployStep::TimedOut,
        });
        self.observe(&Observation::DeployTimedOut { deploy });
        self.actions.push(Action::KillDeploy(deploy));
        self.deploy_ended(deploy);
    }

    /// After a deploy ended (any way): start the next one or wind the run down.
    pub fn deploy_ended(&mut self, deploy: u32) {
        let next = deploy as usize + 1;
        if next < self.scenario.deploys.len() {
            if let crate::scenario::DeployStart::AfterPrevious(gap) =
                self.scenario.deploys[next].start
            {
                self.schedule_after(gap, Event::DeployStarts { deploy: deploy + 1 });
            }
        }
        let all_done = self.deploys.iter().all(|state| state.ended_at.is_some());
        if all_done {
            // Chaos ends with the last deploy; the settle period judges liveness.
            self.heal();
            let settle = self.scenario.run.settle;
            self.schedule_after(settle, Event::TrafficEnds);
        }
    }
}
