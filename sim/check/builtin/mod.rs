//! The 21 built-in invariants, each a [`Checker`] like a user's: it reads the [`super::Fleet`] after
//! each observation it wants and keeps only the state that is its own. Grouped by what they
//! follow: the fleet's size, routing, the order of a deploy's steps, and how deploys end.

use crate::observe::{Bounds, Invariant};

use super::Checker;

pub mod ending;
pub mod fleet_size;
pub mod order;
pub mod routing;

pub use ending::{
    AbortSafety, DeployTerminates, FleetConverges, LeasesReleased, NoLeftovers, SingleImageAtRest,
};
pub use fleet_size::{FleetSizeKept, IdempotentCreate, NoMachineExplosion};
pub use order::{
    ConcurrencyLimit, DrainOrder, GreenKeptAfterSwitch, HealthGatedSwitch, LeaseExclusion,
    MaxUnavailable, NoVacuousHealth, RollbackSparesBlue,
};
pub use routing::{BoundedMixing, DeployerNeverDeletesAll, NeverAllDeleted, NoDowntime};

/// A built-in checker's name, kind and promise: its [`Invariant`]'s. With `bounds`, the promise
/// prints the bound the checker judges (`self.bounds`).
macro_rules! judges {
    ($invariant:expr) => {
        judges!($invariant, promise: |_: &Self| $invariant.description().to_string());
    };
    ($invariant:expr, bounds) => {
        judges!($invariant, promise: |checker: &Self| $invariant.promise(&checker.bounds));
    };
    ($invariant:expr, promise: $promise:expr) => {
        fn name(&self) -> &str {
            $invariant.as_str()
        }

        fn kind(&self) -> crate::observe::InvariantKind {
            $invariant.kind()
        }

        fn promise(&self) -> String {
            let promise = $promise;
            promise(self)
        }
    };
}
pub(crate) use judges;

/// The built-in checkers, in [`Invariant::ALL`]'s order.
pub fn checkers(bounds: Bounds) -> Vec<Box<dyn Checker>> {
    let checkers: Vec<Box<dyn Checker>> = vec![
        Box::new(NoMachineExplosion { bounds }),
        Box::new(NeverAllDeleted),
        Box::new(DeployerNeverDeletesAll),
        Box::new(NoDowntime),
        Box::new(RollbackSparesBlue),
        Box::new(SingleImageAtRest),
        Box::new(DeployTerminates),
        Box::new(GreenKeptAfterSwitch),
        Box::new(DrainOrder),
        Box::new(NoLeftovers),
        Box::new(LeaseExclusion),
        Box::new(HealthGatedSwitch),
        Box::new(IdempotentCreate),
        Box::new(AbortSafety),
        Box::new(BoundedMixing::new(bounds)),
        Box::new(LeasesReleased),
        Box::new(FleetConverges),
        Box::new(FleetSizeKept),
        Box::new(ConcurrencyLimit),
        Box::new(MaxUnavailable::default()),
        Box::new(NoVacuousHealth::default()),
    ];
    for (checker, invariant) in checkers.iter().zip(Invariant::ALL) {
        assert_eq!(
            checker.name(),
            invariant.as_str(),
            "in Invariant::ALL order"
        );
    }
    assert_eq!(checkers.len(), Invariant::ALL.len());
    checkers
}
