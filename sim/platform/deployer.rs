//! The harness side of a deploy: its start, output, markers, end, kill and time bound.

use std::time::Duration;

use std::collections::BTreeMap;

use crate::api::Marker;
use crate::observe::{DeployOutcome, DeployStep, Limits, MachineIndex, Observation, Step};
use crate::platform::{Event, World};
use crate::scenario::DeploySpec;

/// `deploy-terminates`' bound when the scenario gives none: three wait phases (start, health,
/// stop) of one wait timeout each, plus six minutes for the rest — lease acquisition (≤ 1 min of
/// retries), the two 10 s sleeps, launch/uncordon/teardown retries and API latency.
pub fn derived_time_bound(spec: &DeploySpec) -> Duration {
    spec.wait_timeout
        .saturating_mul(3)
        .saturating_add(Duration::from_secs(6 * 60))
}

impl World {
    pub fn deploy_started(&mut self, deploy: u32) {
        let now = self.now();
        self.deploys[deploy as usize].started_at = Some(now);
        self.record(Step::Deploy {
            deploy,
            step: DeployStep::Started,
        });
        let spec = &self.scenario.deploys[deploy as usize];
        let bound = self
            .scenario
            .run
            .deploy_time_bound
            .unwrap_or_else(|| derived_time_bound(spec));
        // Once per deploy start, so a scan of the fleet is fine here.
        let blues: Vec<u32> = (0..self.machines.len() as u32)
            .filter(|machine| {
                let record = &self.machines[*machine as usize];
                record.is_alive() && record.created_by != Some(deploy)
            })
            .collect();
        let started_by_group = self.started_by_group(&blues);
        let limits = Limits::of(
            &self.pace_promises[deploy as usize],
            blues.len(),
            started_by_group,
        );
        self.observe(&Observation::DeployStarted {
            deploy,
            blues: &blues,
            limits: &limits,
        });
        self.schedule_after(bound, Event::DeployDeadline { deploy });
    }

    /// Per process group, the started machines among `blues` (for in-place strategies' I14).
    fn started_by_group(&self, blues: &[MachineIndex]) -> BTreeMap<String, usize> {
        let mut started_by_group = BTreeMap::<String, usize>::new();
        for machine in blues {
            let record = &self.machines[*machine as usize];
            if record.state == crate::api::MachineState::Started {
                *started_by_group
                    .entry(record.config.process_group().to_string())
                    .or_default() += 1;
            }
        }
        started_by_group
    }

    /// One printed line; a multi-line message (a joined error) becomes one line each.
    pub fn deploy_output(&mut self, deploy: u32, text: &str) {
        let now = self.now();
        for line in text.lines() {
            self.deploys[deploy as usize]
                .output
                .push((now, line.to_string()));
            self.record(Step::Output {
                deploy,
                line: line.to_string(),
            });
        }
    }

    pub fn deploy_marker(&mut self, deploy: u32, marker: Marker) {
        let step = match marker {
            Marker::PhaseStarted(phase) => {
                self.faults_on_phase(deploy, phase);
                DeployStep::Phase(phase)
            }
            Marker::GreenRecorded(id) => match self.machine_ids.get(&id.0) {
                Some(machine) => DeployStep::GreenRecorded(machine),
                None => return,
            },
            Marker::PointOfNoReturn => DeployStep::PointOfNoReturn,
            Marker::RollbackStarted => DeployStep::RollbackStarted,
            Marker::RollbackFinished { ok } => DeployStep::RollbackFinished { ok },
        };
        self.observe(&Observation::DeployStep {
            deploy,
            step: &step,
        });
        self.record(Step::Deploy { deploy, step });
    }

    /// The deploy ended by itself with `outcome` (its report stays with whoever ran it).
    pub fn deploy_finished(&mut self, deploy: u32, outcome: DeployOutcome) {
        if self.deploys[deploy as usize].ended_at.is_some() {
            return; // timed out and killed already
        }
        let now = self.now();
        self.deploys[deploy as usize].ended_at = Some(now);
        self.deploys[deploy as usize].outcome = Some(outcome);
        self.record(Step::Deploy {
            deploy,
            step: DeployStep::Finished(outcome),
        });
        let image = self.scenario.deploys[deploy as usize].image.clone();
        self.observe(&Observation::DeployFinished {
            deploy,
            outcome,
            image: &image,
        });
        self.deploy_ended(deploy);
    }
}
