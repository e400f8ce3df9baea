//! The fault plan of a run (reference `deploy-systems.md` §3.7, F1–F15): which faults the
//! scenario asked for, resolved against the world as it runs.
//!
//! Every fault is one of three shapes: *windowed* (on from `start` for `duration`: API errors,
//! partitions, stale proxies…), *triggered* (fires at a time or when a deploy enters a phase:
//! kills, aborts, stalls, crashes, checks failing) or *standing* (a property of a machine: slow
//! boot, boot failure, crash loop, unhealthy). Windows and triggers are written to the trace when
//! they start and end. Faults draw from their own random stream, so turning one on does not shift
//! the randomness of traffic or latency. `heal` turns every fault off at once (the run's chaos
//! phase ends; liveness is judged after it).

use std::time::Duration;

use crate::engine::SimTime;
use crate::observe::{MachineIndex, Step};
use crate::platform::{Event, World};
use crate::scenario::{FaultSpec, MachineTarget, Trigger, Window};

mod api;
mod deployer;
mod machines;

/// The faults of a run, in scenario order, and which are on.
#[derive(Clone, Debug, Default)]
pub struct FaultPlan {
    pub specs: Vec<FaultSpec>,
    /// Windowed faults whose window is open now.
    active: Vec<bool>,
    /// Triggered faults that already fired (they fire once).
    fired: Vec<bool>,
    /// After `heal`, no fault acts any more.
    healed: bool,
    /// Call-counted faults: calls counted so far, per fault, operation and machine.
    call_counts:
        std::collections::BTreeMap<(usize, crate::api::Operation, Option<MachineIndex>), u32>,
}

impl FaultPlan {
    pub fn new(specs: Vec<FaultSpec>) -> FaultPlan {
        let count = specs.len();
        FaultPlan {
            specs,
            active: vec![false; count],
            fired: vec![false; count],
            healed: false,
            call_counts: std::collections::BTreeMap::new(),
        }
    }

    /// Counts one more call in scope of call-counted fault `index`; returns its number (1-based)
    /// among the calls of `operation` on `machine`.
    pub fn count_call(
        &mut self,
        index: usize,
        operation: crate::api::Operation,
        machine: Option<MachineIndex>,
    ) -> u32 {
        let count = self
            .call_counts
            .entry((index, operation, machine))
            .or_insert(0);
        *count = count.saturating_add(1);
        *count
    }

    /// Whether fault `index` acts now: its window is open (windowed) and the run is not healed.
    pub fn is_on(&self, index: usize) -> bool {
        !self.healed && (window_of(&self.specs[index]).is_none() || self.active[index])
    }

    pub fn healed(&self) -> bool {
        self.healed
    }
}

/// The window of a windowed fault.
pub fn window_of(spec: &FaultSpec) -> Option<Window> {
    match spec {
        FaultSpec::ApiError { window, .. }
        | FaultSpec::PropagationTail { window, .. }
        | FaultSpec::ApiAmbiguous { window, .. }
        | FaultSpec::ApiSlow { window, .. }
        | FaultSpec::ApiPartition { window, .. }
        | FaultSpec::StaleList { window, .. }
        | FaultSpec::EmptyImageRef { window, .. }
        | FaultSpec::HostNotOk { window, .. }
        | FaultSpec::ChecksFlap { window, .. }
        | FaultSpec::ProxyStale { window, .. } => Some(*window),
        _ => None,
    }
}

/// The trigger of a triggered fault, and the deploy whose phases it watches.
pub fn trigger_of(spec: &FaultSpec) -> Option<(u32, Trigger)> {
    match spec {
        FaultSpec::DeployerKill { deploy, trigger }
        | FaultSpec::DeployerAbort { deploy, trigger }
        | FaultSpec::DeployerStall {
            deploy, trigger, ..
        } => Some((*deploy, *trigger)),
        FaultSpec::ChecksFail {
            target, trigger, ..
        } => Some((target_deploy(*target), *trigger)),
        FaultSpec::MachineCrash { at, .. } | FaultSpec::ManualDestroy { at, .. } => {
            Some((0, Trigger::At(*at)))
        }
        _ => None,
    }
}

/// The deploy whose phases a machine-targeted trigger watches: the greens' deploy, or the first.
fn target_deploy(target: MachineTarget) -> u32 {
    match target {
        MachineTarget::Green { deploy, .. } | MachineTarget::AllGreens { deploy } => deploy,
        MachineTarget::Initial(_) => 0,
    }
}

/// A short name for the trace.
pub fn kind_name(spec: &FaultSpec) -> &'static str {
    match spec {
        FaultSpec::ApiError { .. } => "api-error",
        FaultSpec::PropagationTail { .. } => "propagation-tail",
        FaultSpec::MachineCrash { .. } => "machine-crash",
        FaultSpec::Unhealthy { .. } => "unhealthy",
        FaultSpec::LeaseHeld { .. } => "lease-held",
        FaultSpec::DeployerKill { .. } => "deployer-kill",
        FaultSpec::DeployerAbort { .. } => "deployer-abort",
        FaultSpec::CapacityError { .. } => "capacity-error",
        FaultSpec::StopHangs { .. } => "stop-hangs",
        FaultSpec::ApiAmbiguous { .. } => "api-ambiguous",
        FaultSpec::ApiSlow { .. } => "api-slow",
        FaultSpec::ApiPartition { .. } => "api-partition",
        FaultSpec::StaleList { .. } => "stale-list",
        FaultSpec::EmptyImageRef { .. } => "empty-image-ref",
        FaultSpec::HostNotOk {
            status: crate::api::HostStatus::Unknown,
            ..
        } => "host-unknown",
        FaultSpec::HostNotOk { .. } => "host-unreachable",
        FaultSpec::DeployerStall { .. } => "deployer-stall",
        FaultSpec::SlowBoot { .. } => "slow-boot",
        FaultSpec::BootFailure { .. } => "boot-failure",
        FaultSpec::CrashLoop { .. } => "crash-loop",
        FaultSpec::OrgLimit { .. } => "org-limit",
        FaultSpec::ChecksFail { .. } => "checks-fail",
        FaultSpec::ChecksFlap { .. } => "checks-flap",
        FaultSpec::ProxyStale { .. } => "proxy-stale",
        FaultSpec::ManualDestroy { .. } => "manual-destroy",
    }
}

/// Whether `target` names the `index`-th green of `deploy`.
fn targets_green(target: MachineTarget, deploy: u32, index: u32) -> bool {
    match target {
        MachineTarget::Green {
            deploy: target_deploy,
            index: target_index,
        } => target_deploy == deploy && target_index == index,
        MachineTarget::AllGreens {
            deploy: target_deploy,
        } => target_deploy == deploy,
        MachineTarget::Initial(_) => false,
    }
}

fn fault_id(index: usize) -> u32 {
    u32::try_from(index).expect("faults fit in u32")
}

impl World {
    /// Applies the standing faults that hold from the start and schedules windows and triggers.
    pub fn install_faults(&mut self) {
        for index in 0..self.faults.specs.len() {
            let spec = self.faults.specs[index].clone();
            let fault = fault_id(index);
            if let Some(window) = window_of(&spec) {
                self.schedule(
                    SimTime::from_duration(window.start),
                    Event::FaultEdge { fault, start: true },
                );
                if let Some(duration) = window.duration {
                    let end = SimTime::from_duration(window.start) + duration;
                    self.schedule(
                        end,
                        Event::FaultEdge {
                            fault,
                            start: false,
                        },
                    );
                }
            }
            if let Some((_, Trigger::At(at))) = trigger_of(&spec) {
                self.schedule(SimTime::from_duration(at), Event::Fault { fault });
            }
            self.install_standing(index);
        }
    }

    /// Records a fault step in the trace.
    pub fn fault_step(&mut self, description: String) {
        self.record(Step::Fault { description });
    }

    pub fn machine_name(&self, machine: MachineIndex) -> String {
        self.machines[machine as usize].id.0.clone()
    }

    /// A window opens or closes.
    pub fn fault_edge(&mut self, fault: u32, start: bool) {
        let index = fault as usize;
        if self.faults.healed || self.faults.active[index] == start {
            return;
        }
        self.faults.active[index] = start;
        let spec = self.faults.specs[index].clone();
        let edge = if start { "starts" } else { "ends" };
        self.fault_step(format!("fault {fault} ({}) {edge}", kind_name(&spec)));
        self.window_effects(index, &spec, start);
    }

    /// A triggered fault fires (at its time, or after its phase started).
    pub fn fire_fault(&mut self, fault: u32) {
        let index = fault as usize;
        if self.faults.healed {
            return;
        }
        let spec = self.faults.specs[index].clone();
        self.fault_step(format!("fault {fault} ({}) fires", kind_name(&spec)));
        match spec {
            FaultSpec::MachineCrash { target, .. } => {
                for machine in self.resolve_target(target) {
                    self.crash_machine(machine);
                }
            }
            FaultSpec::ManualDestroy { target, .. } => {
                for machine in self.resolve_target(target) {
                    self.destroy_machine(machine);
                }
            }
            FaultSpec::DeployerKill { deploy, .. } => self.kill_deployer(deploy),
            FaultSpec::DeployerAbort { deploy, .. } => self.abort_deployer(deploy),
            FaultSpec::DeployerStall {
                deploy, duration, ..
            } => self.stall_deployer(fault, deploy, duration),
            FaultSpec::ChecksFail {
                target, duration, ..
            } => self.checks_fail(fault, target, duration),
            _ => {}
        }
    }

    /// A triggered fault with a duration ends.
    pub fn fault_ends(&mut self, fault: u32) {
        let spec = self.faults.specs[fault as usize].clone();
        self.fault_step(format!("fault {fault} ({}) ends", kind_name(&spec)));
        match spec {
            FaultSpec::DeployerStall { deploy, .. } => self.resume_deployer(deploy),
            FaultSpec::ChecksFail { target, .. } => {
                for machine in self.resolve_target(target) {
                    self.make_healthy(machine);
                }
            }
            _ => {}
        }
    }

    /// The chaos phase ends: every fault stops acting (windows close, stalls end, held stops and
    /// failing checks recover); liveness is judged from here.
    pub fn heal(&mut self) {
        if self.faults.healed {
            return;
        }
        self.fault_step("heal: every fault ends".to_string());
        for index in 0..self.faults.specs.len() {
            let spec = self.faults.specs[index].clone();
            if self.faults.active[index] {
                self.faults.active[index] = false;
                self.window_effects(index, &spec, false);
            }
            self.heal_standing(&spec);
        }
        self.faults.healed = true;
    }

    /// The machines a target names now (a green that does not exist yet names nothing).
    pub fn resolve_target(&self, target: MachineTarget) -> Vec<MachineIndex> {
        match target {
            MachineTarget::Initial(index) => {
                let in_fleet = index < self.initial_machine_count;
                if in_fleet {
                    vec![index]
                } else {
                    Vec::new()
                }
            }
            MachineTarget::Green { deploy, index } => self
                .deploys
                .get(deploy as usize)
                .and_then(|state| state.launched.get(index as usize))
                .copied()
                .into_iter()
                .collect(),
            MachineTarget::AllGreens { deploy } => self
                .deploys
                .get(deploy as usize)
                .map(|state| state.launched.clone())
                .unwrap_or_default(),
        }
    }

    /// Whether `target` names `machine`, including greens not launched when the fault was read.
    pub fn target_names(&self, target: MachineTarget, machine: MachineIndex) -> bool {
        match target {
            MachineTarget::Initial(index) => index == machine && index < self.initial_machine_count,
            MachineTarget::Green { .. } | MachineTarget::AllGreens { .. } => {
                let record = &self.machines[machine as usize];
                let Some(deploy) = record.created_by else {
                    return false;
                };
                let launched = &self.deploys[deploy as usize].launched;
                let index = launched
                    .iter()
                    .position(|launched| *launched == machine)
                    .unwrap_or(launched.len());
                targets_green(target, deploy, index as u32)
            }
        }
    }

    /// The faults of `kind` that are on and name `machine`.
    pub fn machine_faults(&self, machine: MachineIndex) -> Vec<&FaultSpec> {
        self.faults
            .specs
            .iter()
            .enumerate()
            .filter(|(index, _)| self.faults.is_on(*index))
            .filter(|(_, spec)| {
                spec_target(spec).is_some_and(|target| self.target_names(target, machine))
            })
            .map(|(_, spec)| spec)
            .collect()
    }
}

/// The machine target of a machine fault.
fn spec_target(spec: &FaultSpec) -> Option<MachineTarget> {
    match spec {
        FaultSpec::MachineCrash { target, .. }
        | FaultSpec::Unhealthy { target }
        | FaultSpec::LeaseHeld { target, .. }
        | FaultSpec::StopHangs { target, .. }
        | FaultSpec::EmptyImageRef { target, .. }
        | FaultSpec::HostNotOk { target, .. }
        | FaultSpec::SlowBoot { target, .. }
        | FaultSpec::BootFailure { target }
        | FaultSpec::CrashLoop { target, .. }
        | FaultSpec::ChecksFail { target, .. }
        | FaultSpec::ChecksFlap { target, .. }
        | FaultSpec::ManualDestroy { target, .. } => Some(*target),
        _ => None,
    }
}

/// A duration for messages.
fn human(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}
