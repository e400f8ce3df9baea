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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::builtin::judged::{detail, Judged};
    use crate::observe::Limits;

    // Guards the bound of no-machine-explosion: 2 × N machines alive are allowed (not `>=`),
    // one more is not, and every creation up to the bound is judged (not `<`).
    #[test]
    fn no_machine_explosion_allows_exactly_the_bound() {
        let mut judged = Judged::new(
            NoMachineExplosion {
                bounds: Bounds::default(),
            },
            2,
            1,
        );
        for by in [None, None, Some(0), Some(0)] {
            assert_eq!(judged.create("img:1", by), None, "4 alive of 2 × 2");
        }
        assert_eq!(
            detail(judged.create("img:2", Some(0))),
            "5 machines alive, more than 2 × N = 4"
        );
    }

    // Guards idempotent-create: a deploy may launch one machine per blue (not `>=`), judged at
    // every launch (not `<`), and not one more.
    #[test]
    fn idempotent_create_allows_one_launch_per_blue() {
        let mut judged = Judged::new(IdempotentCreate, 2, 1);
        judged.create("img:1", None);
        judged.create("img:1", None);
        judged.start(0, &[0, 1], &Limits::default());
        assert_eq!(judged.create("img:2", Some(0)), None);
        assert_eq!(
            judged.create("img:2", Some(0)),
            None,
            "two launches for two blues"
        );
        assert_eq!(
            detail(judged.create("img:2", Some(0))),
            "deploy 0 launched 3 machines for 2 blues"
        );
    }

    // Guards fleet-size-kept: a successful deploy may leave N machines or fewer (not `>=`, not
    // `<`), not more.
    #[test]
    fn fleet_size_kept_allows_n_machines_or_fewer() {
        let mut judged = Judged::new(FleetSizeKept, 2, 3);
        judged.create("img:1", None);
        assert_eq!(
            judged.finish(0, DeployOutcome::Succeeded, "img:1"),
            None,
            "1 of 2"
        );
        judged.create("img:1", None);
        assert_eq!(
            judged.finish(1, DeployOutcome::Succeeded, "img:1"),
            None,
            "2 of 2"
        );
        judged.create("img:2", Some(2));
        assert_eq!(
            detail(judged.finish(2, DeployOutcome::Succeeded, "img:2")),
            "deploy 2 succeeded with 3 machines alive; the fleet started with 2"
        );
    }
}
