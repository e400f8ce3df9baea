//! The trace vocabulary: every observable step of the simulated world, in a compact form (integer
//! indexes, rendered to names on demand).

use super::facts::DeployOutcome;
use crate::api::Operation;
use crate::api::{MachineState, Phase};
use crate::engine::trace::{put_str, put_u32, put_u8, Encode, Encoder};

/// Index of a machine in the platform's table (creation order).
pub type MachineIndex = u32;

/// Why a request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureReason {
    /// The proxy held it and never found a routable machine before its hold timeout.
    NoRoutableMachine,
    /// Every connection attempt was refused (the proxy's view was stale).
    ConnectionRefused,
    /// The machine serving it was killed or crashed mid-request.
    Killed,
}

impl FailureReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::NoRoutableMachine => "no-routable-machine",
            FailureReason::ConnectionRefused => "connection-refused",
            FailureReason::Killed => "killed",
        }
    }
}

/// A deploy's lifecycle steps.
#[derive(Clone, Debug, PartialEq)]
pub enum DeployStep {
    Started,
    Phase(Phase),
    GreenRecorded(MachineIndex),
    PointOfNoReturn,
    RollbackStarted,
    RollbackFinished {
        ok: bool,
    },
    AbortRequested,
    Killed,
    Finished(DeployOutcome),
    /// Did not end within its time bound; the harness killed it.
    TimedOut,
}

/// Lease events on the platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseStep {
    Acquired,
    Refreshed,
    Released,
    Conflict,
}

/// One observable step.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    MachineCreated {
        machine: MachineIndex,
        /// The deployer (client) that launched it; None for the initial fleet.
        by: Option<u32>,
    },
    MachineState {
        machine: MachineIndex,
        state: MachineState,
    },
    Cordoned {
        machine: MachineIndex,
        cordoned: bool,
    },
    ChecksPassing {
        machine: MachineIndex,
        passing: bool,
    },
    /// Routable by the platform's own state: started, uncordoned, checks passing.
    Routable {
        machine: MachineIndex,
        routable: bool,
    },
    /// A proxy learned a routing change.
    ProxyView {
        proxy: u32,
        machine: MachineIndex,
        routable: bool,
    },
    /// Whether a proxy knows at least one live routable machine.
    ProxyServing {
        proxy: u32,
        serving: bool,
    },
    ApiCall {
        call: u32,
        client: u32,
        operation: Operation,
        machine: Option<MachineIndex>,
    },
    /// Status 0 means success.
    ApiReply {
        call: u32,
        status: u16,
    },
    Lease {
        machine: MachineIndex,
        client: u32,
        step: LeaseStep,
    },
    RequestArrived {
        request: u32,
        proxy: u32,
    },
    RequestRouted {
        request: u32,
        machine: MachineIndex,
    },
    RequestRefused {
        request: u32,
        machine: MachineIndex,
    },
    RequestHeld {
        request: u32,
    },
    RequestDone {
        request: u32,
        failure: Option<FailureReason>,
    },
    Deploy {
        deploy: u32,
        step: DeployStep,
    },
    Output {
        deploy: u32,
        line: String,
    },
    Fault {
        description: String,
    },
}

fn put_bool(out: &mut Encoder, value: bool) {
    put_u8(out, u8::from(value));
}

fn put_option(out: &mut Encoder, value: Option<u32>) {
    match value {
        Some(value) => {
            put_u8(out, 1);
            put_u32(out, value);
        }
        None => put_u8(out, 0),
    }
}

impl Encode for DeployStep {
    fn encode(&self, out: &mut Encoder) {
        match self {
            DeployStep::Started => put_u8(out, 0),
            DeployStep::Phase(phase) => {
                put_u8(out, 1);
                put_str(out, phase.as_str());
            }
            DeployStep::GreenRecorded(machine) => {
                put_u8(out, 2);
                put_u32(out, *machine);
            }
            DeployStep::PointOfNoReturn => put_u8(out, 3),
            DeployStep::RollbackStarted => put_u8(out, 4),
            DeployStep::RollbackFinished { ok } => {
                put_u8(out, 5);
                put_bool(out, *ok);
            }
            DeployStep::AbortRequested => put_u8(out, 6),
            DeployStep::Killed => put_u8(out, 7),
            DeployStep::Finished(outcome) => {
                put_u8(out, 8);
                put_str(out, outcome.as_str());
            }
            DeployStep::TimedOut => put_u8(out, 9),
        }
    }
}

impl Encode for Step {
    fn encode(&self, out: &mut Encoder) {
        match self {
            Step::MachineCreated { machine, by } => {
                put_u8(out, 0);
                put_u32(out, *machine);
                put_option(out, *by);
            }
            Step::MachineState { machine, state } => {
                put_u8(out, 1);
                put_u32(out, *machine);
                put_str(out, state.as_str());
            }
            Step::Cordoned { machine, cordoned } => {
                put_u8(out, 2);
                put_u32(out, *machine);
                put_bool(out, *cordoned);
            }
            Step::ChecksPassing { machine, passing } => {
                put_u8(out, 3);
                put_u32(out, *machine);
                put_bool(out, *passing);
            }
            Step::Routable { machine, routable } => {
                put_u8(out, 4);
                put_u32(out, *machine);
                put_bool(out, *routable);
            }
            Step::ProxyView {
                proxy,
                machine,
                routable,
            } => {
                put_u8(out, 5);
                put_u32(out, *proxy);
                put_u32(out, *machine);
                put_bool(out, *routable);
            }
            Step::ProxyServing { proxy, serving } => {
                put_u8(out, 6);
                put_u32(out, *proxy);
                put_bool(out, *serving);
            }
            Step::ApiCall {
                call,
                client,
                operation,
                machine,
            } => {
                put_u8(out, 7);
                put_u32(out, *call);
                put_u32(out, *client);
                put_str(out, operation.as_str());
                put_option(out, *machine);
            }
            Step::ApiReply { call, status } => {
                put_u8(out, 8);
                put_u32(out, *call);
                put_u32(out, u32::from(*status));
            }
            Step::Lease {
                machine,
                client,
                step,
            } => {
                put_u8(out, 9);
                put_u32(out, *machine);
                put_u32(out, *client);
                put_u8(out, *step as u8);
            }
            Step::RequestArrived { request, proxy } => {
                put_u8(out, 10);
                put_u32(out, *request);
                put_u32(out, *proxy);
            }
            Step::RequestRouted { request, machine } => {
                put_u8(out, 11);
                put_u32(out, *request);
                put_u32(out, *machine);
            }
            Step::RequestRefused { request, machine } => {
                put_u8(out, 12);
                put_u32(out, *request);
                put_u32(out, *machine);
            }
            Step::RequestHeld { request } => {
                put_u8(out, 13);
                put_u32(out, *request);
            }
            Step::RequestDone { request, failure } => {
                put_u8(out, 14);
                put_u32(out, *request);
                put_option(out, failure.map(|reason| reason as u32));
            }
            Step::Deploy { deploy, step } => {
                put_u8(out, 15);
                put_u32(out, *deploy);
                step.encode(out);
            }
            Step::Output { deploy, line } => {
                put_u8(out, 16);
                put_u32(out, *deploy);
                put_str(out, line);
            }
            Step::Fault { description } => {
                put_u8(out, 17);
                put_str(out, description);
            }
        }
    }
}
