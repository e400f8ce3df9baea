//! The order of a deploy's own steps: `rollback-spares-blue` (I5), `green-kept-after-switch`
//! (I6), `drain-order` (I7), `health-gated-switch` (I4), `no-vacuous-health` (I16),
//! `max-unavailable` (I14), `concurrency-limit` (I13) and `lease-exclusion` (I10).

use std::collections::{BTreeMap, BTreeSet};

use crate::api::{MachineState, Operation};
use crate::engine::SimTime;
use crate::observe::{Invariant, MachineIndex, Mutation, Observation, ObservationKind};

use super::judges;
use crate::check::machines::drain_order_breach;
use crate::check::{Checker, Finding, Fleet};

/// A deployer's mutation of one of its own greens: (deploy, machine, mutation).
fn green_mutation(
    fleet: &Fleet,
    observation: &Observation,
) -> Option<(u32, MachineIndex, Mutation)> {
    let Observation::DeployMutation {
        deploy,
        machine,
        mutation,
        ..
    } = *observation
    else {
        return None;
    };
    fleet
        .launched_by(machine, deploy)
        .then_some((deploy, machine, mutation))
}

/// A deployer's mutation of a blue (a machine it did not launch): (deploy, machine, its state
/// before, mutation).
fn blue_mutation(
    fleet: &Fleet,
    observation: &Observation,
) -> Option<(u32, MachineIndex, MachineState, Mutation)> {
    let Observation::DeployMutation {
        deploy,
        machine,
        state,
        mutation,
    } = *observation
    else {
        return None;
    };
    (!fleet.launched_by(machine, deploy)).then_some((deploy, machine, state, mutation))
}

/// A deploy that destroys its greens never cordoned, stopped or destroyed a blue.
pub struct RollbackSparesBlue;

impl Checker for RollbackSparesBlue {
    judges!(Invariant::RollbackSparesBlue);

    fn interests(&self) -> &'static [ObservationKind] {
        &[ObservationKind::DeployMutation]
    }

    fn observe(&mut self, fleet: &Fleet, _: SimTime, observation: &Observation) -> Option<Finding> {
        let Observation::DeployMutation { deploy, .. } = *observation else {
            return None;
        };
        let track = fleet.deploy(deploy);
        let (blue, green) = (
            track.first_blue_mutation.as_ref()?,
            track.first_green_destroyed.as_ref()?,
        );
        Some(Finding::new(format!(
            "deploy {deploy} destroyed its green {} after it had cordoned, stopped or destroyed \
             blue {} at {}",
            green.2, blue.2, blue.0
        )))
    }
}

/// No deploy destroys its own green after its first uncordon succeeded.
pub struct GreenKeptAfterSwitch;

impl Checker for GreenKeptAfterSwitch {
    judges!(Invariant::GreenKeptAfterSwitch);

    fn interests(&self) -> &'static [ObservationKind] {
        &[ObservationKind::DeployMutation]
    }

    fn observe(&mut self, fleet: &Fleet, _: SimTime, observation: &Observation) -> Option<Finding> {
        let (deploy, machine, Mutation::Destroy) = green_mutation(fleet, observation)? else {
            return None;
        };
        let switched_at = fleet.deploy_facts(deploy).switched_at?;
        Some(Finding::new(format!(
            "deploy {deploy} destroyed its green machine #{machine} after its first uncordon \
             succeeded at {switched_at}"
        )))
    }
}

/// Every blue is cordoned before it is stopped, stopped before destroyed.
pub struct DrainOrder;

impl Checker for DrainOrder {
    judges!(Invariant::DrainOrder);

    fn interests(&self) -> &'static [ObservationKind] {
        &[ObservationKind::DeployMutation]
    }

    fn observe(&mut self, fleet: &Fleet, _: SimTime, observation: &Observation) -> Option<Finding> {
        let (deploy, machine, state, mutation) = blue_mutation(fleet, observation)?;
        if !matches!(mutation, Mutation::Stop | Mutation::Destroy) {
            return None;
        }
        // The fleet already holds this mutation: a stop sets `stop_requested`, which the rule
        // for a stop does not read; the rule for a destroy reads the stop requested before it.
        let is_stop = mutation == Mutation::Stop;
        let breach = drain_order_breach(fleet.machine(machine), is_stop, state)?;
        Some(Finding::new(format!(
            "deploy {deploy}: blue machine #{machine} {breach}"
        )))
    }
}

/// No uncordon of a green while some green of the deploy never passed its checks.
pub struct HealthGatedSwitch;

impl Checker for HealthGatedSwitch {
    judges!(Invariant::HealthGatedSwitch);

    fn interests(&self) -> &'static [ObservationKind] {
        &[ObservationKind::DeployMutation]
    }

    fn observe(&mut self, fleet: &Fleet, _: SimTime, observation: &Observation) -> Option<Finding> {
        let (deploy, machine, Mutation::Uncordon) = green_mutation(fleet, observation)? else {
            return None;
        };
        let unproven = fleet.deploy_counts(deploy).greens_unproven;
        (unproven > 0).then(|| {
            Finding::new(format!(
                "deploy {deploy} uncordoned green #{machine} while {unproven} of its greens had \
                 never passed their checks"
            ))
        })
    }
}

/// At a deploy's first uncordon, each process group of its greens with checks has at least one
/// green that boots, so health was really verified somewhere.
#[derive(Default)]
pub struct NoVacuousHealth {
    /// Deploys whose first uncordon was judged.
    switched: BTreeSet<u32>,
}

impl Checker for NoVacuousHealth {
    judges!(Invariant::NoVacuousHealth);

    fn interests(&self) -> &'static [ObservationKind] {
        &[ObservationKind::DeployMutation]
    }

    fn observe(&mut self, fleet: &Fleet, _: SimTime, observation: &Observation) -> Option<Finding> {
        let (deploy, _, Mutation::Uncordon) = green_mutation(fleet, observation)? else {
            return None;
        };
        if !self.switched.insert(deploy) {
            return None;
        }
        let unverified: Vec<&str> = fleet
            .deploy_counts(deploy)
            .checked_groups
            .iter()
            .filter(|(_, (greens, booting))| *greens > 0 && *booting == 0)
            .map(|(group, _)| group.as_str())
            .collect();
        (!unverified.is_empty()).then(|| {
            Finding::new(format!(
                "deploy {deploy} switched traffic while no green of group(s) {} was ever started \
                 and health-checked",
                unverified.join(", ")
            ))
        })
    }
}

/// An in-place update takes down no more machines of a process group than `max_unavailable`.
#[derive(Default)]
pub struct MaxUnavailable {
    /// Per machine: the deploy whose in-place update has it down.
    updating_by: Vec<Option<u32>>,
    /// Machines down for an update, per (deploy, process group).
    down: BTreeMap<(u32, String), usize>,
}

impl MaxUnavailable {
    /// An update of a started blue takes it down.
    fn update(&mut self, fleet: &Fleet, deploy: u32, machine: MachineIndex) -> Option<Finding> {
        let updating = &mut self.updating_by[machine as usize];
        if updating.is_some() {
            return None;
        }
        *updating = Some(deploy);
        let group = fleet.shape_of(machine).group.clone();
        let limit = fleet
            .deploy_counts(deploy)
            .limits
            .unavailable_by_group
            .get(&group)
            .copied()
            .unwrap_or(usize::MAX);
        let down = self.down.entry((deploy, group.clone())).or_default();
        *down += 1;
        let down = *down;
        (down > limit).then(|| {
            Finding::new(format!(
                "deploy {deploy} had {down} machines of group {group} down for its update, more \
                 than max_unavailable allows ({limit})"
            ))
        })
    }

    /// A machine is started again (after an in-place update, a restart…).
    fn back(&mut self, fleet: &Fleet, machine: MachineIndex) {
        let Some(deploy) = self.updating_by[machine as usize].take() else {
            return;
        };
        let group = fleet.shape_of(machine).group.clone();
        if let Some(down) = self.down.get_mut(&(deploy, group)) {
            *down -= 1;
        }
    }
}

impl Checker for MaxUnavailable {
    judges!(Invariant::MaxUnavailable);

    fn interests(&self) -> &'static [ObservationKind] {
        &[
            ObservationKind::MachineCreated,
            ObservationKind::MachineBack,
            ObservationKind::DeployMutation,
        ]
    }

    fn observe(&mut self, fleet: &Fleet, _: SimTime, observation: &Observation) -> Option<Finding> {
        match *observation {
            Observation::MachineCreated { machine, .. } => {
                assert_eq!(
                    self.updating_by.len(),
                    machine as usize,
                    "in creation order"
                );
                self.updating_by.push(None);
                None
            }
            Observation::MachineBack { machine } => {
                self.back(fleet, machine);
                None
            }
            _ => match blue_mutation(fleet, observation)? {
                (deploy, machine, MachineState::Started, Mutation::Update) => {
                    self.update(fleet, deploy, machine)
                }
                _ => None,
            },
        }
    }
}

/// A bluegreen deploy's pooled calls stay within their pool.
pub struct ConcurrencyLimit;

impl Checker for ConcurrencyLimit {
    judges!(Invariant::ConcurrencyLimit);

    fn interests(&self) -> &'static [ObservationKind] {
        &[ObservationKind::CallStarted]
    }

    fn observe(&mut self, fleet: &Fleet, _: SimTime, observation: &Observation) -> Option<Finding> {
        let Observation::CallStarted { deploy, operation } = *observation else {
            return None;
        };
        let counts = fleet.deploy_counts(deploy);
        if !counts.limits.bluegreen {
            return None;
        }
        let limit = match operation {
            Operation::Launch => counts.limits.creates,
            Operation::Uncordon
            | Operation::Cordon
            | Operation::Stop
            | Operation::Destroy
            | Operation::SetMetadata => counts.limits.pooled,
            _ => return None,
        };
        let in_flight = counts.in_flight.get(&operation).copied().unwrap_or(0);
        (in_flight > limit).then(|| {
            Finding::new(format!(
                "deploy {deploy} had {in_flight} {} calls in flight, more than its limit of {limit}",
                operation.as_str()
            ))
        })
    }
}

/// No deployer changes a machine after its own lease on it lapsed.
pub struct LeaseExclusion;

impl Checker for LeaseExclusion {
    judges!(Invariant::LeaseExclusion);

    fn interests(&self) -> &'static [ObservationKind] {
        &[ObservationKind::MutationWithLapsedLease]
    }

    fn observe(&mut self, _: &Fleet, _: SimTime, observation: &Observation) -> Option<Finding> {
        let Observation::MutationWithLapsedLease { deploy, machine } = *observation else {
            return None;
        };
        Some(Finding::new(format!(
            "deploy {deploy} changed machine #{machine} after its own lease on it had expired"
        )))
    }
}
