//! How deploys end and what they leave: `single-image-at-rest` (I9), `deploy-terminates`,
//! `abort-safety` (I15), `no-leftovers` (I12), and the liveness checks after heal,
//! `leases-released` and `fleet-converges`.

use crate::engine::SimTime;
use crate::observe::{DeployOutcome, Invariant, Observation, ObservationKind};

use super::judges;
use crate::check::{Action, Checker, Finding, Fleet};

/// Up to six items of a list, then "…".
fn shown(items: &[String]) -> String {
    let mut text = items
        .iter()
        .take(6)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > 6 {
        text.push_str(", …");
    }
    text
}

/// After a deploy reports success, every alive machine runs its image.
pub struct SingleImageAtRest;

impl Checker for SingleImageAtRest {
    judges!(Invariant::SingleImageAtRest);

    fn interests(&self) -> &'static [ObservationKind] {
        &[ObservationKind::DeployFinished]
    }

    fn observe(&mut self, fleet: &Fleet, _: SimTime, observation: &Observation) -> Option<Finding> {
        let Observation::DeployFinished {
            deploy,
            outcome: DeployOutcome::Succeeded,
            image,
        } = *observation
        else {
            return None;
        };
        // Attribution: another deploy still running has its own greens up; their image is not
        // this deploy's leftover (two deployers at once are judged by lease-exclusion).
        let others_running =
            (0..fleet.deploy_count()).any(|other| other != deploy && fleet.deploy(other).running());
        if others_running {
            return None;
        }
        let others: Vec<String> = fleet
            .alive_by_image()
            .iter()
            .filter(|(other, _)| other.as_str() != image)
            .map(|(other, count)| format!("{other} ({count})"))
            .collect();
        (!others.is_empty()).then(|| {
            Finding::new(format!(
                "deploy {deploy} succeeded but alive machines run other images: {}",
                others.join(", ")
            ))
        })
    }
}

/// Every deploy ends within its time bound.
pub struct DeployTerminates;

impl Checker for DeployTerminates {
    judges!(Invariant::DeployTerminates);

    fn interests(&self) -> &'static [ObservationKind] {
        &[ObservationKind::DeployTimedOut]
    }

    fn observe(&mut self, _: &Fleet, _: SimTime, observation: &Observation) -> Option<Finding> {
        let Observation::DeployTimedOut { deploy } = *observation else {
            return None;
        };
        Some(Finding::new(format!(
            "deploy {deploy} did not end within its time bound"
        )))
    }

    /// A deploy still running when the run went quiet never ended: it caused that itself.
    fn settled(&mut self, fleet: &Fleet, _: SimTime) -> Option<Finding> {
        let deploy = (0..fleet.deploy_count()).find(|deploy| fleet.deploy(*deploy).running())?;
        Some(
            Finding::new(format!("deploy {deploy} never ended (the run went quiet)"))
                .caused_by(fleet.cause_of(Some(deploy), Action::NeverEnded)),
        )
    }
}

/// An aborted deploy before its point of no return leaves no green alive and its blues
/// untouched; after it, its greens are kept (`green-kept-after-switch` says so).
pub struct AbortSafety;

impl Checker for AbortSafety {
    judges!(Invariant::AbortSafety);

    fn interests(&self) -> &'static [ObservationKind] {
        &[ObservationKind::DeployFinished]
    }

    fn observe(&mut self, fleet: &Fleet, _: SimTime, observation: &Observation) -> Option<Finding> {
        let Observation::DeployFinished { deploy, .. } = *observation else {
            return None;
        };
        let facts = fleet.deploy_facts(deploy);
        if !facts.aborted || facts.point_of_no_return {
            return None;
        }
        let greens = fleet.deploy_counts(deploy).greens_alive;
        let touched = fleet.deploy(deploy).first_blue_mutation.is_some();
        (greens > 0 || touched).then(|| {
            Finding::new(format!(
                "deploy {deploy} was aborted before its point of no return and left {greens} \
                 green(s) alive{}",
                if touched {
                    " and blues cordoned, stopped or destroyed"
                } else {
                    ""
                }
            ))
        })
    }
}

/// Every alive machine at the end is owned.
pub struct NoLeftovers;

impl Checker for NoLeftovers {
    judges!(Invariant::NoLeftovers);

    fn interests(&self) -> &'static [ObservationKind] {
        &[]
    }

    fn observe(&mut self, _: &Fleet, _: SimTime, _: &Observation) -> Option<Finding> {
        None
    }

    fn settled(&mut self, fleet: &Fleet, _: SimTime) -> Option<Finding> {
        let leftovers = fleet.leftovers();
        (!leftovers.is_empty()).then(|| {
            Finding::new(format!(
                "{} leftover machine(s) after the last deploy: {}",
                leftovers.len(),
                shown(leftovers)
            ))
        })
    }
}

/// No deployer lease is still held after heal.
pub struct LeasesReleased;

impl Checker for LeasesReleased {
    judges!(Invariant::LeasesReleased);

    fn interests(&self) -> &'static [ObservationKind] {
        &[]
    }

    fn observe(&mut self, _: &Fleet, _: SimTime, _: &Observation) -> Option<Finding> {
        None
    }

    fn settled(&mut self, fleet: &Fleet, _: SimTime) -> Option<Finding> {
        let held = &fleet.settled().leases_held;
        (!held.is_empty()).then(|| {
            Finding::new(format!(
                "deployer leases still held after heal: {}",
                held.join(", ")
            ))
        })
    }
}

/// Machines and proxies converge by the end of the settle period.
pub struct FleetConverges;

impl Checker for FleetConverges {
    judges!(Invariant::FleetConverges);

    fn interests(&self) -> &'static [ObservationKind] {
        &[]
    }

    fn observe(&mut self, _: &Fleet, _: SimTime, _: &Observation) -> Option<Finding> {
        None
    }

    fn settled(&mut self, fleet: &Fleet, _: SimTime) -> Option<Finding> {
        let unconverged = &fleet.settled().unconverged;
        (!unconverged.is_empty()).then(|| {
            Finding::new(format!(
                "{} thing(s) had not converged by the end of the settle period: {}",
                unconverged.len(),
                unconverged
                    .iter()
                    .take(6)
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })
    }
}
