//! The harness side of a deploy: its start, output, markers, end, kill and time bound.

use std::time::Duration;

use crate::api::Marker;
use crate::deploy::DeployReport;
use crate::platform::observe::{DeployStep, Step};
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
        let step_index = self.trace.count() - 1;
        // Once per deploy start, so a scan of the fleet is fine here.
        let blues: Vec<u32> = (0..self.machines.len() as u32)
            .filter(|machine| {
                let record = &self.machines[*machine as usize];
                record.is_alive() && record.created_by != Some(deploy)
            })
            .collect();
        self.checks.deploy_started(now, step_index, deploy, &blues);
        let limits = self.deploy_limits(deploy, &blues);
        self.checks.set_limits(deploy, limits);
        self.schedule_after(bound, Event::DeployDeadline { deploy });
    }

    /// One printed line; a multi-line message (a joined error) becomes one line each.
    /// The concurrency and unavailability bounds of a deploy's strategy (I13, I14).
    fn deploy_limits(&self, deploy: u32, blues: &[u32]) -> crate::check::guards::Limits {
        let spec = &self.scenario.deploys[deploy as usize];
        let defaults =
            crate::deploy::DeployParams::new(&self.scenario.app.name, &spec.image, spec.strategy);
        let max_concurrent = spec
            .max_concurrent
            .unwrap_or(defaults.max_concurrent)
            .max(1);
        let max_unavailable = spec.max_unavailable.unwrap_or(defaults.max_unavailable);
        let mut started_by_group = std::collections::BTreeMap::<String, usize>::new();
        for machine in blues {
            let record = &self.machines[*machine as usize];
            if record.state == crate::api::MachineState::Started {
                *started_by_group
                    .entry(record.config.process_group().to_string())
                    .or_default() += 1;
            }
        }
        crate::check::guards::Limits {
            bluegreen: spec.strategy.bluegreen_version().is_some(),
            // reference §2: max(1, min(ceil(N/3), max concurrent)).
            creates: blues.len().div_ceil(3).min(max_concurrent).max(1),
            pooled: max_concurrent,
            // reference §9: a count ≥ 1, or a fraction of each group's started machines; only
            // rolling and canary promise it (immediate updates everything at once).
            unavailable_by_group: started_by_group
                .into_iter()
                .filter(|_| {
                    matches!(
                        spec.strategy,
                        crate::deploy::StrategyName::Rolling | crate::deploy::StrategyName::Canary
                    )
                })
                .map(|(group, count)| {
                    let pool = if max_unavailable >= 1.0 {
                        max_unavailable as usize
                    } else {
                        (count as f64 * max_unavailable).ceil() as usize
                    };
                    (group, pool.max(1))
                })
                .collect(),
        }
    }

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
        self.checks.deploy_step(deploy, &step);
        self.record(Step::Deploy { deploy, step });
    }

    pub fn deploy_finished(&mut self, deploy: u32, report: DeployReport) {
        if self.deploys[deploy as usize].ended_at.is_some() {
            return; // timed out and killed already
        }
        let now = self.now();
        let outcome = report.outcome;
        self.deploys[deploy as usize].ended_at = Some(now);
        self.deploys[deploy as usize].report = Some(report);
        self.record(Step::Deploy {
            deploy,
            step: DeployStep::Finished(outcome),
        });
        let image = self.scenario.deploys[deploy as usize].image.clone();
        let step_index = self.trace.count() - 1;
        self.checks
            .deploy_finished(now, step_index, deploy, outcome, &image);
        self.deploy_ended(deploy);
    }
}
