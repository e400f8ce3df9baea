//! The fault plan of a run: which faults the scenario asked for, resolved against the world as it
//! runs. Faults draw from their own random stream, so turning one on does not shift the
//! randomness of traffic or latency.

use std::time::Duration;

use crate::api::ApiError;
use crate::api::Phase;
use crate::engine::SimTime;
use crate::platform::machines::LeaseRecord;
use crate::platform::observe::DeployStep;
use crate::platform::observe::{MachineIndex, Step};
use crate::platform::Action;
use crate::platform::{Event, World};
use crate::scenario::{FaultSpec, MachineTarget, Operation, Trigger, Window};

/// The faults of a run, in scenario order.
#[derive(Clone, Debug, Default)]
pub struct FaultPlan {
    pub specs: Vec<FaultSpec>,
    /// Phase-triggered faults that already fired (they fire once).
    fired: Vec<bool>,
}

impl FaultPlan {
    pub fn new(specs: Vec<FaultSpec>) -> FaultPlan {
        let fired = vec![false; specs.len()];
        FaultPlan { specs, fired }
    }
}

/// The deploy and trigger of a deployer fault.
fn deployer_trigger(spec: &FaultSpec) -> Option<(u32, Trigger)> {
    match spec {
        FaultSpec::DeployerKill { deploy, trigger }
        | FaultSpec::DeployerAbort { deploy, trigger } => Some((*deploy, *trigger)),
        _ => None,
    }
}

fn window_contains(window: &Window, now: SimTime) -> bool {
    let start = SimTime::from_duration(window.start);
    match window.duration {
        Some(duration) => now >= start && now < start + duration,
        None => now >= start,
    }
}

impl World {
    /// Applies the faults that hold from the start and schedules the timed ones.
    pub fn install_faults(&mut self) {
        for index in 0..self.faults.specs.len() {
            let spec = self.faults.specs[index].clone();
            match spec {
                FaultSpec::MachineCrash { at, .. }
                | FaultSpec::DeployerKill {
                    trigger: Trigger::At(at),
                    ..
                }
                | FaultSpec::DeployerAbort {
                    trigger: Trigger::At(at),
                    ..
                } => {
                    let fault = u32::try_from(index).expect("faults fit in u32");
                    self.schedule(SimTime::from_duration(at), Event::Fault { fault });
                }
                FaultSpec::LeaseHeld { target, owner, ttl } => {
                    for machine in self.resolve_target(target) {
                        self.hold_lease(machine, &owner, ttl);
                    }
                }
                FaultSpec::Unhealthy { target } => {
                    for machine in self.resolve_target(target) {
                        self.record(Step::Fault {
                            description: format!(
                                "unhealthy machine {}",
                                self.machines[machine as usize].id
                            ),
                        });
                        self.make_unhealthy(machine);
                    }
                }
                _ => {}
            }
        }
    }

    fn hold_lease(&mut self, machine: MachineIndex, owner: &str, ttl: Duration) {
        let nonce = self.fresh_identifier();
        let expires_at = self.now() + ttl;
        self.machines[machine as usize].lease = Some(LeaseRecord {
            nonce,
            owner: owner.to_string(),
            client: None,
            expires_at,
        });
        self.record(Step::Fault {
            description: format!(
                "lease on {} held by {owner} for {}",
                self.machines[machine as usize].id,
                humantime::format_duration(ttl)
            ),
        });
    }

    /// The machines a target names now (a green that does not exist yet names nothing).
    pub fn resolve_target(&self, target: MachineTarget) -> Vec<MachineIndex> {
        match target {
            MachineTarget::Initial(index) => {
                let in_fleet = (index as usize) < self.initial_machine_count as usize;
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

    /// A deployer just launched `machine`: apply the faults that target its greens.
    pub fn faults_on_machine_created(&mut self, machine: MachineIndex) {
        let Some(deploy) = self.machines[machine as usize].created_by else {
            return;
        };
        // launch() records the machine in `launched` right after this returns.
        let index = self.deploys[deploy as usize].launched.len() as u32;
        let unhealthy = self.faults.specs.iter().any(|spec| match spec {
            FaultSpec::Unhealthy { target } => targets_green(*target, deploy, index),
            _ => false,
        });
        if unhealthy {
            self.record(Step::Fault {
                description: format!("unhealthy machine {}", self.machines[machine as usize].id),
            });
            self.machines[machine as usize].never_healthy = true;
        }
    }

    /// A timed fault fires.
    pub fn fire_fault(&mut self, fault: u32) {
        let spec = self.faults.specs[fault as usize].clone();
        match spec {
            FaultSpec::MachineCrash { target, .. } => {
                for machine in self.resolve_target(target) {
                    self.record(Step::Fault {
                        description: format!(
                            "crash machine {}",
                            self.machines[machine as usize].id
                        ),
                    });
                    self.crash_machine(machine);
                }
            }
            FaultSpec::DeployerKill { deploy, .. } => self.kill_deployer(deploy),
            FaultSpec::DeployerAbort { deploy, .. } => self.abort_deployer(deploy),
            _ => {}
        }
    }

    /// A deploy started `phase`: arm the deployer faults waiting for it.
    pub fn faults_on_phase(&mut self, deploy: u32, phase: Phase) {
        for index in 0..self.faults.specs.len() {
            let Some((
                target,
                Trigger::Phase {
                    phase: wanted,
                    after,
                },
            )) = deployer_trigger(&self.faults.specs[index])
            else {
                continue;
            };
            if target != deploy || wanted != phase || self.faults.fired[index] {
                continue;
            }
            self.faults.fired[index] = true;
            let fault = u32::try_from(index).expect("faults fit in u32");
            self.schedule_after(after, Event::Fault { fault });
        }
    }

    /// SIGKILL: the deployer's tasks are dropped (by the event loop); nothing after runs and its
    /// leases lapse at their TTL.
    fn kill_deployer(&mut self, deploy: u32) {
        let state = &self.deploys[deploy as usize];
        if state.started_at.is_none() || state.ended_at.is_some() {
            self.record(Step::Fault {
                description: format!("kill deployer {deploy}: not running, no effect"),
            });
            return;
        }
        let now = self.now();
        let state = &mut self.deploys[deploy as usize];
        state.killed = true;
        state.ended_at = Some(now);
        self.record(Step::Deploy {
            deploy,
            step: DeployStep::Killed,
        });
        self.checks.deploy_killed(now, deploy);
        self.actions.push(Action::KillDeploy(deploy));
        self.deploy_ended(deploy);
    }

    /// Ctrl-C: flyctl's abort flag (reference §6); the deploy code notices it where it checks.
    fn abort_deployer(&mut self, deploy: u32) {
        let state = &mut self.deploys[deploy as usize];
        if state.started_at.is_none() || state.ended_at.is_some() {
            self.record(Step::Fault {
                description: format!("abort deployer {deploy}: not running, no effect"),
            });
            return;
        }
        state.abort_requested = true;
        self.record(Step::Deploy {
            deploy,
            step: DeployStep::AbortRequested,
        });
    }

    /// A capacity error for a launch by `client`, if a fault says its launches now fail.
    pub fn injected_capacity_error(&mut self, client: u32) -> Option<ApiError> {
        let launched = self.deploys[client as usize].launched.len() as u32;
        self.faults.specs.iter().find_map(|spec| match spec {
            FaultSpec::CapacityError {
                deploy,
                after_creates,
                status,
            } if deploy.is_none_or(|deploy| deploy == client) && launched >= *after_creates => {
                Some(ApiError::status(
                    *status,
                    "could not reserve resource for machine: insufficient memory available to \
                     fulfill request",
                ))
            }
            _ => None,
        })
    }

    /// How long `machine` hangs in `stopping` when stopped, if a fault says so (None: it does
    /// not hang; Some(None): until destroyed).
    pub fn stop_hang(&self, machine: MachineIndex) -> Option<Option<Duration>> {
        self.faults.specs.iter().find_map(|spec| match spec {
            FaultSpec::StopHangs { target, duration }
                if self.resolve_target(*target).contains(&machine) =>
            {
                Some(*duration)
            }
            _ => None,
        })
    }

    /// An injected error for a call of `operation` by `client` on `machine`, arriving now, if a
    /// fault says so.
    pub fn injected_api_error(
        &mut self,
        operation: Operation,
        client: u32,
        machine: Option<MachineIndex>,
    ) -> Option<ApiError> {
        let now = self.now();
        for index in 0..self.faults.specs.len() {
            let FaultSpec::ApiError {
                operation: only,
                window,
                deploy,
                machine: target,
                ..
            } = &self.faults.specs[index]
            else {
                continue;
            };
            if only.is_some_and(|only| only != operation)
                || !window_contains(window, now)
                || deploy.is_some_and(|deploy| deploy != client)
            {
                continue;
            }
            if let Some(target) = target {
                let hit =
                    machine.is_some_and(|machine| self.resolve_target(*target).contains(&machine));
                if !hit {
                    continue;
                }
            }
            let FaultSpec::ApiError { rate, status, .. } = &self.faults.specs[index] else {
                unreachable!("matched above");
            };
            let (rate, status) = (*rate, *status);
            if self.streams.faults.chance(rate) {
                return Some(ApiError::status(
                    status,
                    format!("injected {status} on {}", operation.as_str()),
                ));
            }
        }
        None
    }

    /// A propagation delay for one routing change to one proxy: the scenario's distribution, or a
    /// tail fault's when it fires.
    pub fn propagation_delay(&mut self) -> Duration {
        let now = self.now();
        // The base draw always happens, so a tail fault does not shift the proxies' stream.
        let base = self.scenario.proxy.propagation.clone();
        let base_delay = self.streams.proxies.sample(&base);
        for index in 0..self.faults.specs.len() {
            let FaultSpec::PropagationTail {
                probability,
                delay,
                window,
            } = &self.faults.specs[index]
            else {
                continue;
            };
            if !window_contains(window, now) {
                continue;
            }
            let (probability, delay) = (*probability, delay.clone());
            if self.streams.faults.chance(probability) {
                return self.streams.faults.sample(&delay);
            }
        }
        base_delay
    }
}

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
