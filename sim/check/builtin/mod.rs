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

/// Drives one checker as a run does, for the checkers' unit tests: the [`Fleet`] takes each
/// observation first, then the checker, if it wants the observation's kind.
#[cfg(test)]
pub(crate) mod judged {
    use crate::api::MachineState;
    use crate::check::{Checker, Finding, Fleet, SettledFacts};
    use crate::engine::SimTime;
    use crate::observe::{
        DeployOutcome, DeployStep, Limits, MachineIndex, MachineShape, Mutation, Observation,
    };

    /// One checker over one fleet, with two proxies (iad, ams) and the clock at `now`.
    pub struct Judged<C> {
        pub fleet: Fleet,
        pub checker: C,
        pub now: SimTime,
        /// Machines created so far (the next machine's index).
        machines: MachineIndex,
    }

    impl<C: Checker> Judged<C> {
        pub fn new(checker: C, initial_machines: u32, deploys: usize) -> Judged<C> {
            let proxies = vec!["iad".to_string(), "ams".to_string()];
            Judged {
                fleet: Fleet::new(initial_machines, proxies, deploys),
                checker,
                now: SimTime::ZERO,
                machines: 0,
            }
        }

        pub fn at_seconds(&mut self, seconds: u64) {
            self.now = SimTime::from_micros(seconds * 1_000_000);
        }

        /// The fleet takes `observation`, then the checker if it wants its kind.
        pub fn feed(&mut self, observation: &Observation) -> Option<Finding> {
            self.fleet.observe(self.now, 0, observation);
            if !self.checker.interests().contains(&observation.kind()) {
                return None;
            }
            self.checker.observe(&self.fleet, self.now, observation)
        }

        /// The end of the settle period, with what the world reports then.
        pub fn settle(&mut self, facts: SettledFacts) -> Option<Finding> {
            self.fleet.settle(self.now, facts);
            self.checker.settled(&self.fleet, self.now)
        }

        /// The next machine, running `image` in process group `app` without checks, launched by
        /// `by` (None: the initial fleet): machine #0, #1, … in creation order.
        pub fn create(&mut self, image: &str, by: Option<u32>) -> Option<Finding> {
            self.create_shaped(image, by, false)
        }

        pub fn create_shaped(
            &mut self,
            image: &str,
            by: Option<u32>,
            has_checks: bool,
        ) -> Option<Finding> {
            let shape = MachineShape {
                group: "app".to_string(),
                has_checks,
            };
            let machine = self.machines;
            self.machines += 1;
            self.feed(&Observation::MachineCreated {
                machine,
                region: "iad",
                image,
                by,
                shape: &shape,
            })
        }

        /// `deploy` starts with the machines alive and not its own as blues.
        pub fn start(&mut self, deploy: u32, blues: &[MachineIndex], limits: &Limits) {
            let finding = self.feed(&Observation::DeployStarted {
                deploy,
                blues,
                limits,
            });
            assert_eq!(finding, None, "a deploy's start breaks nothing");
        }

        pub fn mutate(
            &mut self,
            deploy: u32,
            machine: MachineIndex,
            state: MachineState,
            mutation: Mutation,
        ) -> Option<Finding> {
            self.feed(&Observation::DeployMutation {
                deploy,
                machine,
                state,
                mutation,
            })
        }

        pub fn step(&mut self, deploy: u32, step: DeployStep) -> Option<Finding> {
            self.feed(&Observation::DeployStep {
                deploy,
                step: &step,
            })
        }

        pub fn finish(
            &mut self,
            deploy: u32,
            outcome: DeployOutcome,
            image: &str,
        ) -> Option<Finding> {
            self.feed(&Observation::DeployFinished {
                deploy,
                outcome,
                image,
            })
        }

        pub fn routable(&mut self, machine: MachineIndex, routable: bool) -> Option<Finding> {
            self.feed(&Observation::PlatformRoutable { machine, routable })
        }
    }

    /// A finding's detail (panics without one).
    pub fn detail(finding: Option<Finding>) -> String {
        finding.expect("a finding").detail
    }
}
