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
            // `*greens > 0` → `>= 0` (cargo-mutants) is equivalent: a group enters the map with
            // its first green, so it never holds 0 greens.
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::check::builtin::judged::{detail, Judged};
    use crate::observe::{DeployStep, Limits};

    /// Two blues (#0, #1) and deploy 0 started with them, under `limits`; `greens` greens
    /// launched by it (#2, …), with checks if `checked`.
    fn deploying<C: Checker>(checker: C, limits: &Limits, greens: u32, checked: bool) -> Judged<C> {
        let mut judged = Judged::new(checker, 2, 2);
        judged.create("img:1", None);
        judged.create("img:1", None);
        judged.start(0, &[0, 1], limits);
        for _ in 0..greens {
            judged.create_shaped("img:2", Some(0), checked);
        }
        judged
    }

    // Guards rollback-spares-blue: destroying a green after touching a blue breaks it; a green
    // destroyed with the blues untouched does not.
    #[test]
    fn rollback_spares_blue_reports_a_green_destroyed_after_a_blue_touched() {
        let mut judged = deploying(RollbackSparesBlue, &Limits::default(), 2, false);
        assert_eq!(
            judged.mutate(0, 2, MachineState::Started, Mutation::Destroy),
            None
        );
        judged.mutate(0, 0, MachineState::Started, Mutation::Cordon);
        assert_eq!(
            detail(judged.mutate(0, 3, MachineState::Started, Mutation::Destroy)),
            "deploy 0 destroyed its green machine #2 after it had cordoned, stopped or destroyed \
             blue machine #0 at 0.000s"
        );
    }

    // Guards green-kept-after-switch: a green destroyed after the first uncordon breaks it;
    // before, it does not.
    #[test]
    fn green_kept_after_switch_reports_a_green_destroyed_after_the_switch() {
        let mut judged = deploying(GreenKeptAfterSwitch, &Limits::default(), 2, false);
        assert_eq!(
            judged.mutate(0, 2, MachineState::Started, Mutation::Destroy),
            None
        );
        judged.at_seconds(5);
        judged.mutate(0, 3, MachineState::Started, Mutation::Uncordon);
        assert_eq!(
            detail(judged.mutate(0, 3, MachineState::Started, Mutation::Destroy)),
            "deploy 0 destroyed its green machine #3 after its first uncordon succeeded at 5.000s"
        );
    }

    // Guards drain-order's dispatch: a blue stopped uncordoned breaks it (judged as a stop, not
    // a destroy), a cordon is not judged, and a deploy's own green is not a blue.
    #[test]
    fn drain_order_judges_stops_and_destroys_of_blues() {
        let mut judged = deploying(DrainOrder, &Limits::default(), 1, false);
        assert_eq!(
            judged.mutate(0, 2, MachineState::Started, Mutation::Destroy),
            None,
            "its own green"
        );
        assert_eq!(
            detail(judged.mutate(0, 0, MachineState::Started, Mutation::Stop)),
            "deploy 0: blue machine #0 stopped before it was cordoned"
        );
        assert_eq!(
            judged.mutate(0, 1, MachineState::Started, Mutation::Cordon),
            None,
            "a cordon of a running blue is its first step"
        );
        assert_eq!(
            judged.mutate(0, 1, MachineState::Started, Mutation::Stop),
            None
        );
        assert_eq!(
            judged.mutate(0, 1, MachineState::Stopped, Mutation::Destroy),
            None
        );
    }

    /// Deploy 0 with one green (#2) that boots, recorded.
    fn gated<C: Checker>(checker: C, checked: bool) -> Judged<C> {
        let mut judged = deploying(checker, &Limits::default(), 1, checked);
        judged.feed(&Observation::GreenBoots { machine: 2 });
        judged.step(0, DeployStep::GreenRecorded(2));
        judged
    }

    // Guards health-gated-switch: an uncordon while a green is unproven breaks it; once it has
    // passed its checks, it does not (`> 0`, not `>= 0`).
    #[test]
    fn health_gated_switch_waits_for_every_green() {
        let mut judged = gated(HealthGatedSwitch, true);
        assert_eq!(
            detail(judged.mutate(0, 2, MachineState::Started, Mutation::Uncordon)),
            "deploy 0 uncordoned green #2 while 1 of its greens had never passed their checks"
        );
        judged.feed(&Observation::MachineProven { machine: 2 });
        assert_eq!(
            judged.mutate(0, 2, MachineState::Started, Mutation::Uncordon),
            None
        );
    }

    // Guards no-vacuous-health: a group whose greens with checks never boot is reported at
    // the deploy's first uncordon, and only then.
    #[test]
    fn no_vacuous_health_reports_a_group_that_never_booted() {
        let mut judged = deploying(NoVacuousHealth::default(), &Limits::default(), 1, true);
        judged.step(0, DeployStep::GreenRecorded(2));
        assert_eq!(
            detail(judged.mutate(0, 2, MachineState::Stopped, Mutation::Uncordon)),
            "deploy 0 switched traffic while no green of group(s) app was ever started and \
             health-checked"
        );
        assert_eq!(
            judged.mutate(0, 2, MachineState::Stopped, Mutation::Uncordon),
            None,
            "judged at the first uncordon only"
        );
    }

    // Guards no-vacuous-health's filter: a group with a green that boots was verified.
    #[test]
    fn no_vacuous_health_holds_when_a_green_boots() {
        let mut judged = gated(NoVacuousHealth::default(), true);
        assert_eq!(
            judged.mutate(0, 2, MachineState::Started, Mutation::Uncordon),
            None
        );
    }

    fn one_down_per_group() -> Limits {
        Limits {
            unavailable_by_group: BTreeMap::from([("app".to_string(), 1)]),
            ..Limits::default()
        }
    }

    // Guards max-unavailable: one machine of the group down for its update is allowed, two at
    // once are not; a machine back from its update no longer counts.
    #[test]
    fn max_unavailable_counts_machines_down_for_their_update() {
        let mut judged = deploying(MaxUnavailable::default(), &one_down_per_group(), 0, false);
        assert_eq!(
            judged.mutate(0, 0, MachineState::Started, Mutation::Update),
            None
        );
        assert_eq!(
            judged.mutate(0, 0, MachineState::Started, Mutation::Update),
            None,
            "already down"
        );
        judged.feed(&Observation::MachineBack { machine: 0 });
        assert_eq!(
            judged.mutate(0, 1, MachineState::Started, Mutation::Update),
            None,
            "#0 is back"
        );
        assert_eq!(
            judged.mutate(0, 0, MachineState::Stopped, Mutation::Update),
            None,
            "a stopped machine is not taken down"
        );
        assert_eq!(
            detail(judged.mutate(0, 0, MachineState::Started, Mutation::Update)),
            "deploy 0 had 2 machines of group app down for its update, more than \
             max_unavailable allows (1)"
        );
    }

    // Guards concurrency-limit: calls in flight up to the pool's size are allowed, one more is
    // not, for launches (their own pool) and pooled calls; other calls are not judged.
    #[test]
    fn concurrency_limit_judges_each_pool() {
        let limits = Limits {
            bluegreen: true,
            creates: 1,
            pooled: 2,
            ..Limits::default()
        };
        let mut judged = deploying(ConcurrencyLimit, &limits, 0, false);
        let mut call = |operation| {
            judged.feed(&Observation::CallStarted {
                deploy: 0,
                operation,
            })
        };
        assert_eq!(call(Operation::Launch), None);
        assert_eq!(
            detail(call(Operation::Launch)),
            "deploy 0 had 2 launch calls in flight, more than its limit of 1"
        );
        assert_eq!(call(Operation::Cordon), None);
        assert_eq!(call(Operation::Cordon), None);
        assert_eq!(
            detail(call(Operation::Cordon)),
            "deploy 0 had 3 cordon calls in flight, more than its limit of 2"
        );
        for _ in 0..3 {
            assert_eq!(call(Operation::Get), None, "not pooled");
        }
    }

    // Guards concurrency-limit's scope: only a bluegreen deploy's pools are flyctl's.
    #[test]
    fn concurrency_limit_judges_bluegreen_deploys_only() {
        let mut judged = deploying(ConcurrencyLimit, &Limits::default(), 0, false);
        for _ in 0..2 {
            let finding = judged.feed(&Observation::CallStarted {
                deploy: 0,
                operation: Operation::Launch,
            });
            assert_eq!(finding, None);
        }
    }

    // Guards lease-exclusion: a mutation under a lapsed lease breaks it.
    #[test]
    fn lease_exclusion_reports_a_mutation_under_a_lapsed_lease() {
        let mut judged = deploying(LeaseExclusion, &Limits::default(), 0, false);
        assert_eq!(
            detail(judged.feed(&Observation::MutationWithLapsedLease {
                deploy: 0,
                machine: 1,
            })),
            "deploy 0 changed machine #1 after its own lease on it had expired"
        );
    }
}
