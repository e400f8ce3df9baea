//! Faults of the deployer process (F5 stalls, F12 kill and abort): armed at a time or when the
//! deploy enters a phase.

use std::time::Duration;

use crate::api::Phase;
use crate::observe::{DeployStep, Observation, Step};
use crate::platform::{Action, Event, World};
use crate::scenario::Trigger;

use super::{fault_id, human, trigger_of};

impl World {
    /// A deploy started `phase`: arm the faults waiting for it (each fires once).
    pub fn faults_on_phase(&mut self, deploy: u32, phase: Phase) {
        for index in 0..self.faults.specs.len() {
            let Some((
                target,
                Trigger::Phase {
                    phase: wanted,
                    after,
                },
            )) = trigger_of(&self.faults.specs[index])
            else {
                continue;
            };
            if target != deploy || wanted != phase || self.faults.fired[index] {
                continue;
            }
            self.faults.fired[index] = true;
            let fault = fault_id(index);
            self.schedule_after(after, Event::Fault { fault });
        }
    }

    fn deployer_running(&self, deploy: u32) -> bool {
        let state = &self.deploys[deploy as usize];
        state.started_at.is_some() && state.ended_at.is_none()
    }

    /// SIGKILL: the deployer's tasks are dropped (by the event loop); nothing after runs and its
    /// leases lapse at their TTL.
    pub(super) fn kill_deployer(&mut self, deploy: u32) {
        if !self.deployer_running(deploy) {
            self.fault_step(format!("kill deployer {deploy}: not running, no effect"));
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
        self.observe(&Observation::DeployKilled { deploy });
        self.actions.push(Action::KillDeploy(deploy));
        self.deploy_ended(deploy);
    }

    /// Ctrl-C: flyctl's abort flag (reference §6); the deploy code notices it where it checks.
    pub(super) fn abort_deployer(&mut self, deploy: u32) {
        if !self.deployer_running(deploy) {
            self.fault_step(format!("abort deployer {deploy}: not running, no effect"));
            return;
        }
        self.deploys[deploy as usize].abort_requested = true;
        self.record(Step::Deploy {
            deploy,
            step: DeployStep::AbortRequested,
        });
        self.observe(&Observation::DeployAborted { deploy });
    }

    /// F5: the deployer freezes for `duration` (a GC pause, a suspended laptop, a CI runner
    /// starved of CPU): none of its tasks runs, its leases can lapse.
    pub(super) fn stall_deployer(&mut self, fault: u32, deploy: u32, duration: Duration) {
        if !self.deployer_running(deploy) {
            self.fault_step(format!("stall deployer {deploy}: not running, no effect"));
            return;
        }
        self.fault_step(format!("deployer {deploy} stalls for {}", human(duration)));
        self.actions.push(Action::PauseDeploy(deploy));
        self.schedule_after(duration, Event::FaultEnds { fault });
    }

    pub(super) fn resume_deployer(&mut self, deploy: u32) {
        self.actions.push(Action::ResumeDeploy(deploy));
    }
}
