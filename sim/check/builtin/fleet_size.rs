//! How many machines there are: `no-machine-explosion` (I1 at every step), `idempotent-create`
//! (I11) and `fleet-size-kept` (I1 across deploys).

use crate::engine::SimTime;
use crate::observe::{Bounds, DeployOutcome, Invariant, Observation, ObservationKind};

use super::judges;
use crate::check::{Checker, Finding, Fleet};

/// Machines alive never exceed the bound × N.
pub struct NoMachineExplosion {
    pub bounds: Bounds,
}

impl Checker for NoMachineExplosion {
    judges!(Invariant::NoMachineExplosion, bounds);

    fn interests(&self) -> &'static [ObservationKind] {
        &[ObservationKind::MachineCreated]
    }

    fn observe(&mut self, fleet: &Fleet, _: SimTime, observation: &Observation) -> Option<Finding> {
        let Observation::MachineCreated { .. } = observation else {
            return None;
        };
        let alive = fleet.machines_alive();
        let bound = self.bounds.machines_max(fleet.machines_initial());
        (alive > bound).then(|| {
            let factor = self.bounds.explosion_factor;
            Finding::new(format!(
                "{alive} machines alive, more than {factor} × N = {bound}"
            ))
        })
    }
}

/// A deploy launches no more machines than it had blues (a duplicate from a retried, ambiguous
/// launch breaks it).
pub struct IdempotentCreate;

impl Checker for IdempotentCreate {
    judges!(Invariant::IdempotentCreate);

    fn interests(&self) -> &'static [ObservationKind] {
        &[ObservationKind::MachineCreated]
    }

    fn observe(&mut self, fleet: &Fleet, _: SimTime, observation: &Observation) -> Option<Finding> {
        let Observation::MachineCreated {
            by: Some(deploy), ..
        } = *observation
        else {
            return None;
        };
        let counts = fleet.deploy_counts(deploy);
        (counts.launched > counts.blues.max(1)).then(|| {
            Finding::new(format!(
                "deploy {deploy} launched {} machines for {} blues",
                counts.launched, counts.blues
            ))
        })
    }
}

/// A successful deploy replaces one for one.
pub struct FleetSizeKept;

impl Checker for FleetSizeKept {
    judges!(Invariant::FleetSizeKept);

    fn interests(&self) -> &'static [ObservationKind] {
        &[ObservationKind::DeployFinished]
    }

    fn observe(&mut self, fleet: &Fleet, _: SimTime, observation: &Observation) -> Option<Finding> {
        let Observation::DeployFinished {
            deploy,
            outcome: DeployOutcome::Succeeded,
            ..
        } = *observation
        else {
            return None;
        };
        // Leftovers a successful deploy adopted as blues stay in the count (reference
        // deploy-systems.md I1, S1).
        let (alive, initial) = (fleet.machines_alive(), fleet.machines_initial());
        (alive > initial).then(|| {
            Finding::new(format!(
                "deploy {deploy} succeeded with {alive} machines alive; the fleet started with \
                 {initial}"
            ))
        })
    }
}
