//! The served world's thread: the simulation's single-threaded, seeded core, advanced to
//! wall-clock time × speed. HTTP handlers send it [`Message`]s over a bounded channel and await
//! the replies; nothing else touches the world.

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "serve mode advances the world to wall-clock time × speed: that is its point; the world itself stays on virtual time"
)]

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::oneshot;

use crate::api::{ApiError, ApiResult, Marker};
use crate::check::InvariantSet;
use crate::deploy::{DeployOutcome, DeployReport};
use crate::engine::SimTime;
use crate::platform::server::{CallReply, CallRequest};
use crate::scenario::Scenario;
use crate::sim::{ExternalRun, RunResult};

/// The external deployer is the scenario's first (and only) deploy: client 0.
pub const CLIENT: u32 = 0;

/// The longest the thread sleeps between looks at the clock: a due event is handled at most this
/// late in wall-clock time.
const IDLE_WAIT_MAX: Duration = Duration::from_millis(20);

/// What an HTTP handler asks of the world.
pub enum Message {
    Call {
        request: CallRequest,
        reply: oneshot::Sender<ApiResult<CallReply>>,
    },
    Status {
        reply: oneshot::Sender<Status>,
    },
    /// End the run (`POST /_fleetsim/stop`, Ctrl-C): the deployer is done, with this outcome.
    Stop {
        outcome: DeployOutcome,
    },
}

/// `GET /_fleetsim/status`.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    pub scenario: String,
    pub seed: u64,
    pub speed: f64,
    /// Virtual time since the run started.
    pub time_ms: u64,
    /// The platform's clock (Unix seconds).
    pub platform_unix_seconds: i64,
    pub deploy_started_ms: Option<u64>,
    pub calls_in_flight: usize,
    pub machines: Vec<StatusMachine>,
    /// Invariants violated so far (the others are judged when the run ends).
    pub violations: Vec<StatusViolation>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StatusMachine {
    pub id: String,
    pub state: String,
    pub region: String,
    pub image: String,
    pub cordoned: bool,
    /// The external deployer created it.
    pub created_by_deployer: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct StatusViolation {
    pub invariant: String,
    pub time_ms: u64,
    pub detail: String,
}

/// Why the served run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// `POST /_fleetsim/stop` or Ctrl-C.
    Stopped,
    /// The world ended on its own (the deploy's time bound passed and the run settled, or a limit
    /// was hit).
    RunEnded,
    /// Wall-clock × speed reached the scenario's `run.time_limit`.
    TimeLimit,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Stopped => "stopped",
            EndReason::RunEnded => "run ended",
            EndReason::TimeLimit => "time limit reached (run.time_limit)",
        }
    }
}

/// A call submitted to the world, awaiting its reply event.
struct Pending {
    reply: oneshot::Sender<ApiResult<CallReply>>,
    is_launch: bool,
}

/// Runs the world until it ends or is told to stop, then judges `applicable` and returns the
/// run's result. Blocks: run it on its own thread.
pub fn serve_world(
    scenario: &Scenario,
    seed: Option<u64>,
    speed: f64,
    applicable: InvariantSet,
    messages: Receiver<Message>,
) -> (RunResult, EndReason) {
    assert!(speed > 0.0 && speed.is_finite(), "a positive speed");
    let mut run = ExternalRun::new(scenario, seed);
    let started = Instant::now();
    let time_limit = SimTime::from_duration(scenario.run.time_limit);
    let mut pending: BTreeMap<u32, Pending> = BTreeMap::new();
    let mut outcome = DeployOutcome::Succeeded;
    let reason = loop {
        let horizon = SimTime::from_duration(started.elapsed().mul_f64(speed));
        if horizon > time_limit {
            break EndReason::TimeLimit;
        }
        let ended = run.run_until(horizon);
        deliver(&run, &mut pending);
        if ended {
            break EndReason::RunEnded;
        }
        let wait = run
            .next_time()
            .map(|next| next.saturating_since(horizon).div_f64(speed))
            .unwrap_or(IDLE_WAIT_MAX)
            .min(IDLE_WAIT_MAX);
        match messages.recv_timeout(wait) {
            Ok(Message::Call { request, reply }) => submit(&run, &mut pending, request, reply),
            Ok(Message::Status { reply }) => {
                let _ = reply.send(status(&run, scenario, speed, pending.len()));
            }
            Ok(Message::Stop { outcome: told }) => {
                outcome = told;
                break EndReason::Stopped;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break EndReason::Stopped,
        }
    };
    for (slot, call) in std::mem::take(&mut pending) {
        run.world().borrow_mut().call_dropped(slot, false);
        let _ = call.reply.send(Err(ApiError::status(
            503,
            format!("fleetsim: the run has ended ({})", reason.as_str()),
        )));
    }
    deployer_done(&run, outcome);
    (run.finish(applicable), reason)
}

/// The first call starts the external deploy (its time bound runs from there).
fn submit(
    run: &ExternalRun,
    pending: &mut BTreeMap<u32, Pending>,
    request: CallRequest,
    reply: oneshot::Sender<ApiResult<CallReply>>,
) {
    let mut world = run.world().borrow_mut();
    if world.deploys[CLIENT as usize].started_at.is_none() {
        world.deploy_started(CLIENT);
    }
    // A deploy past its time bound has ended for the harness; the platform still answers its
    // calls, as Fly would, and judges them as before.
    let is_launch = matches!(request, CallRequest::Launch(_));
    let slot = world.submit_call(CLIENT, request);
    pending.insert(slot, Pending { reply, is_launch });
}

/// Answers every call whose reply event has happened. A launch whose reply reached the deployer
/// makes the machine one of its greens: an external deployer knows what it was told, and that is
/// all `no-leftovers` may hold it to (a launch whose reply was lost leaves an untracked green, as
/// in flyctl).
fn deliver(run: &ExternalRun, pending: &mut BTreeMap<u32, Pending>) {
    let delivered: Vec<u32> = {
        let world = run.world().borrow();
        pending
            .keys()
            .copied()
            .filter(|slot| world.calls[*slot].delivered)
            .collect()
    };
    for slot in delivered {
        let call = pending.remove(&slot).expect("a pending slot");
        let mut world = run.world().borrow_mut();
        let reply = world.calls[slot]
            .reply
            .take()
            .expect("a delivered call has a reply");
        world.call_dropped(slot, true);
        if let (true, Ok(CallReply::Machine(machine))) = (call.is_launch, &reply) {
            world.deploy_marker(CLIENT, Marker::GreenRecorded(machine.id.clone()));
        }
        drop(world);
        let _ = call.reply.send(reply);
    }
}

/// The deployer is done: its deploy ends with `outcome` (unless it timed out already), and the
/// run winds down as after any last deploy.
fn deployer_done(run: &ExternalRun, outcome: DeployOutcome) {
    let mut world = run.world().borrow_mut();
    if world.deploys[CLIENT as usize].started_at.is_none() {
        world.deploy_started(CLIENT);
    }
    let greens = world.deploys[CLIENT as usize]
        .launched
        .iter()
        .map(|machine| world.machines[*machine as usize].id.clone())
        .collect();
    let report = DeployReport {
        outcome,
        exit_status: i32::from(outcome != DeployOutcome::Succeeded),
        error: None,
        blues: Vec::new(),
        greens,
        hanging: Vec::new(),
    };
    drop(world);
    run.deploy_finished(CLIENT, report);
}

fn status(run: &ExternalRun, scenario: &Scenario, speed: f64, in_flight: usize) -> Status {
    let world = run.world().borrow();
    let machines = world
        .machines
        .iter()
        .map(|machine| StatusMachine {
            id: machine.id.0.clone(),
            state: machine.state.as_str().to_string(),
            region: world.regions[machine.region as usize].clone(),
            image: machine.config.image.clone(),
            cordoned: machine.cordoned,
            created_by_deployer: machine.created_by == Some(CLIENT),
        })
        .collect();
    let violations = run
        .checkers()
        .violated_so_far()
        .map(|(invariant, violation)| StatusViolation {
            invariant: invariant.as_str().to_string(),
            time_ms: violation.time_ms,
            detail: violation.detail.clone(),
        })
        .collect();
    Status {
        scenario: scenario.name.clone(),
        seed: world.seed,
        speed,
        time_ms: run.now().as_millis(),
        platform_unix_seconds: world.unix_seconds(),
        deploy_started_ms: world.deploys[CLIENT as usize]
            .started_at
            .map(SimTime::as_millis),
        calls_in_flight: in_flight,
        machines,
        violations,
    }
}
