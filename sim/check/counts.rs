//! Part of the [`Fleet`]: per deploy, the counts its own actions move (blues, greens launched,
//! alive and not yet proven, calls in flight, process groups with checks); per machine, its
//! health, image and shape; routable machines per image; and the coverage counters, which report
//! rare situations without ever failing a run. What `idempotent-create`, `health-gated-switch`,
//! `no-vacuous-health`, `concurrency-limit`, `bounded-mixing`, `max-unavailable` and
//! `abort-safety` read. Each update is O(1) (or O(images)); nothing scans the fleet per event.

use std::collections::BTreeMap;

use crate::api::Operation;
use crate::observe::MachineIndex;

pub use crate::observe::{Limits, MachineShape};

use super::fleet::Fleet;
use super::machines::slot;

/// Per-deploy counts.
#[derive(Clone, Debug, Default)]
pub struct DeployCounts {
    /// Machines alive at its start that it did not create.
    pub blues: u32,
    /// Machines it launched (its greens, canaries, duplicates).
    pub launched: u32,
    /// Its greens alive now.
    pub greens_alive: u32,
    /// Its booting greens that have not yet passed their checks (or started, without checks).
    pub greens_unproven: u32,
    pub limits: Limits,
    /// Calls in flight, per operation.
    pub in_flight: BTreeMap<Operation, usize>,
    /// Per process group of its recorded greens with checks: (greens, greens that boot).
    pub checked_groups: BTreeMap<String, (u32, u32)>,
}

/// The counts of a run.
#[derive(Clone, Debug, Default)]
pub struct Counts {
    pub(super) deploys: Vec<DeployCounts>,
    /// Per machine: a booting green not yet proven healthy.
    unproven: Vec<bool>,
    /// Per machine: it boots (launched without skip_launch) and has not yet proven itself.
    boots_unproven: Vec<bool>,
    /// Per machine: it was launched to boot (not skip_launch).
    boots_ever: Vec<bool>,
    /// Per machine: its image, interned.
    image_of: Vec<u32>,
    images: BTreeMap<String, u32>,
    /// Routable machines (platform state) per image.
    routable_by_image: BTreeMap<u32, u32>,
    pub(super) coverage: BTreeMap<&'static str, u64>,
    pub(super) shapes: Vec<MachineShape>,
}

impl Counts {
    pub fn new(deploys: usize) -> Counts {
        Counts {
            deploys: vec![DeployCounts::default(); deploys],
            ..Counts::default()
        }
    }

    fn intern(&mut self, image: &str) -> u32 {
        let next = self.images.len() as u32;
        *self.images.entry(image.to_string()).or_insert(next)
    }

    /// Images with at least one routable machine.
    pub fn images_routable(&self) -> usize {
        self.routable_by_image
            .values()
            .filter(|count| **count > 0)
            .count()
    }
}

impl Fleet {
    /// Counts a rare situation (coverage: reported, never a failure).
    pub(super) fn cover(&mut self, situation: &'static str) {
        *self.counts.coverage.entry(situation).or_default() += 1;
    }

    pub fn coverage(&self) -> BTreeMap<String, u64> {
        self.counts
            .coverage
            .iter()
            .map(|(name, count)| (name.to_string(), *count))
            .collect()
    }

    pub(super) fn count_machine_created(
        &mut self,
        machine: MachineIndex,
        image: &str,
        by: Option<u32>,
        shape: &MachineShape,
    ) {
        let counts = &mut self.counts;
        let image = counts.intern(image);
        counts.image_of.push(image);
        counts.unproven.push(false);
        counts.boots_unproven.push(false);
        counts.boots_ever.push(false);
        assert_eq!(counts.shapes.len(), slot(machine));
        counts.shapes.push(shape.clone());
        assert_eq!(counts.image_of.len(), slot(machine) + 1);
        if let Some(deploy) = by {
            let deploy_counts = &mut counts.deploys[deploy as usize];
            deploy_counts.launched += 1;
            deploy_counts.greens_alive += 1;
        }
    }

    /// A deploy's green will boot (not skip_launch): once recorded, it must prove itself
    /// before any uncordon.
    pub(super) fn green_boots(&mut self, machine: MachineIndex) {
        self.counts.boots_unproven[slot(machine)] = true;
        self.counts.boots_ever[slot(machine)] = true;
    }

    /// The deploy recorded `machine` as one of its greens: the health gate now waits for it.
    /// (An unrecorded duplicate stays cordoned; idempotent-create reports it.)
    pub(super) fn count_green_recorded(&mut self, deploy: u32, machine: MachineIndex) {
        let counts = &mut self.counts;
        let shape = &counts.shapes[slot(machine)];
        if shape.has_checks {
            let boots = counts.boots_ever[slot(machine)];
            let entry = counts.deploys[deploy as usize]
                .checked_groups
                .entry(shape.group.clone())
                .or_default();
            entry.0 += 1;
            if boots {
                entry.1 += 1;
            }
        }
        if counts.boots_unproven[slot(machine)] && !counts.unproven[slot(machine)] {
            counts.unproven[slot(machine)] = true;
            counts.deploys[deploy as usize].greens_unproven += 1;
        }
    }

    /// The machine passed its checks (or started, without checks).
    pub(super) fn machine_proven(&mut self, machine: MachineIndex) {
        self.counts.boots_unproven[slot(machine)] = false;
        if !std::mem::take(&mut self.counts.unproven[slot(machine)]) {
            return;
        }
        if let Some(deploy) = self.machines[slot(machine)].created_by {
            self.counts.deploys[deploy as usize].greens_unproven -= 1;
        }
    }

    pub(super) fn count_machine_gone(&mut self, machine: MachineIndex) {
        self.machine_proven(machine);
        if let Some(deploy) = self.machines[slot(machine)].created_by {
            self.counts.deploys[deploy as usize].greens_alive -= 1;
        }
    }

    /// Routability of a machine changed: routable machines per image.
    pub(super) fn count_routable(&mut self, machine: MachineIndex, routable: bool) {
        let image = self.counts.image_of[slot(machine)];
        let count = self.counts.routable_by_image.entry(image).or_default();
        if routable {
            *count += 1;
        } else {
            *count -= 1;
        }
    }

    pub(super) fn count_image_changed(&mut self, machine: MachineIndex, new: &str, routable: bool) {
        let new = self.counts.intern(new);
        let old = std::mem::replace(&mut self.counts.image_of[slot(machine)], new);
        if routable {
            *self.counts.routable_by_image.entry(old).or_default() -= 1;
            *self.counts.routable_by_image.entry(new).or_default() += 1;
        }
    }

    pub(super) fn call_started(&mut self, deploy: u32, operation: Operation) {
        *self.counts.deploys[deploy as usize]
            .in_flight
            .entry(operation)
            .or_default() += 1;
    }

    pub(super) fn call_finished(&mut self, deploy: u32, operation: Operation) {
        let in_flight = self.counts.deploys[deploy as usize]
            .in_flight
            .entry(operation)
            .or_default();
        assert!(*in_flight > 0, "a call finished that never started");
        *in_flight -= 1;
    }
}

#[cfg(test)]
mod tests {
    use crate::api::Operation;
    use crate::check::fleet::Fleet;
    use crate::engine::SimTime;
    use crate::observe::{DeployStep, Limits, MachineShape, Observation};

    fn observe(fleet: &mut Fleet, observation: Observation<'_>) {
        fleet.observe(SimTime::ZERO, 0, &observation);
    }

    fn create(
        fleet: &mut Fleet,
        machine: u32,
        image: &str,
        by: Option<u32>,
        group: &str,
        has_checks: bool,
    ) {
        let shape = MachineShape {
            group: group.to_string(),
            has_checks,
        };
        let region = "ams";
        observe(
            fleet,
            Observation::MachineCreated {
                machine,
                region,
                image,
                by,
                shape: &shape,
            },
        );
    }

    fn record(fleet: &mut Fleet, deploy: u32, machine: u32) {
        let step = DeployStep::GreenRecorded(machine);
        observe(
            fleet,
            Observation::DeployStep {
                deploy,
                step: &step,
            },
        );
    }

    fn routable(fleet: &mut Fleet, machine: u32, routable: bool) {
        observe(fleet, Observation::PlatformRoutable { machine, routable });
    }

    // Guards the per-deploy counts: launched, alive and unproven greens, groups with checks.
    #[test]
    fn a_deploys_counts_follow_its_greens() {
        let mut fleet = Fleet::new(1, vec!["ams".to_string()], 2);
        create(&mut fleet, 0, "v1", None, "app", true);
        let limits = Limits::default();
        observe(
            &mut fleet,
            Observation::DeployStarted {
                deploy: 0,
                blues: &[0],
                limits: &limits,
            },
        );
        create(&mut fleet, 1, "v2", Some(0), "app", true);
        observe(&mut fleet, Observation::GreenBoots { machine: 1 });
        record(&mut fleet, 0, 1);
        record(&mut fleet, 0, 1);
        create(&mut fleet, 2, "v2", Some(0), "worker", true);
        record(&mut fleet, 0, 2);
        create(&mut fleet, 3, "v2", Some(0), "app", false);
        record(&mut fleet, 0, 3);
        let counts = fleet.deploy_counts(0);
        assert_eq!(counts.launched, 3);
        assert_eq!(counts.greens_alive, 3);
        assert_eq!(
            counts.greens_unproven, 1,
            "only #1 boots; recorded twice, counted once"
        );
        assert_eq!(
            counts.checked_groups["app"],
            (2, 2),
            "#1 recorded twice: two entries, both boot"
        );
        assert_eq!(counts.checked_groups["worker"], (1, 0), "#2 does not boot");
        assert_eq!(fleet.shape_of(3).group, "app");
        assert!(!fleet.shape_of(3).has_checks);

        observe(&mut fleet, Observation::MachineProven { machine: 1 });
        observe(&mut fleet, Observation::MachineProven { machine: 1 });
        assert_eq!(fleet.deploy_counts(0).greens_unproven, 0, "proven once");
        observe(
            &mut fleet,
            Observation::MachineGone {
                machine: 3,
                image: "v2",
            },
        );
        assert_eq!(fleet.deploy_counts(0).greens_alive, 2);
        assert_eq!(fleet.deploy_counts(0).launched, 3);

        // A booting green of deploy 1 that goes away unproven is no longer waited for.
        create(&mut fleet, 4, "v3", Some(1), "app", true);
        observe(&mut fleet, Observation::GreenBoots { machine: 4 });
        record(&mut fleet, 1, 4);
        assert_eq!(fleet.deploy_counts(1).greens_unproven, 1);
        observe(
            &mut fleet,
            Observation::MachineGone {
                machine: 4,
                image: "v3",
            },
        );
        assert_eq!(fleet.deploy_counts(1).greens_unproven, 0);
        assert_eq!(fleet.deploy_counts(1).greens_alive, 0);
        assert_eq!(
            fleet.deploy_counts(0).greens_alive,
            2,
            "deploy 0's greens untouched"
        );
    }

    // Guards routable machines per image, through an in-place update of a routable machine.
    #[test]
    fn images_routable_follow_routability_and_updates() {
        let mut fleet = Fleet::new(2, vec!["ams".to_string()], 1);
        create(&mut fleet, 0, "v1", None, "app", true);
        create(&mut fleet, 1, "v1", None, "app", true);
        assert_eq!(fleet.images_routable(), 0);
        routable(&mut fleet, 0, true);
        routable(&mut fleet, 1, true);
        assert_eq!(fleet.images_routable(), 1);
        let change = |machine| Observation::MachineImageChanged {
            machine,
            old_image: "v1",
            new_image: "v2",
            routable: true,
        };
        observe(&mut fleet, change(0));
        assert_eq!(fleet.images_routable(), 2, "v1 on #1, v2 on #0");
        // Guards the alive count of the old image: one left, not dropped.
        assert_eq!(
            fleet.alive_by_image(),
            &[("v1".to_string(), 1), ("v2".to_string(), 1)]
                .into_iter()
                .collect()
        );
        observe(&mut fleet, change(1));
        assert_eq!(fleet.images_routable(), 1, "v2 only");
        routable(&mut fleet, 0, false);
        assert_eq!(fleet.images_routable(), 1, "#1 still routes v2");
        routable(&mut fleet, 1, false);
        assert_eq!(fleet.images_routable(), 0);
        assert_eq!(
            fleet.alive_by_image(),
            &[("v2".to_string(), 2)].into_iter().collect()
        );
        // An update of a machine that is not routable moves no routable count.
        let quiet = Observation::MachineImageChanged {
            machine: 0,
            old_image: "v2",
            new_image: "v3",
            routable: false,
        };
        observe(&mut fleet, quiet);
        routable(&mut fleet, 1, true);
        assert_eq!(fleet.images_routable(), 1);
    }

    // Guards the calls in flight per operation and the coverage counters.
    #[test]
    fn calls_in_flight_and_coverage_are_counted() {
        let mut fleet = Fleet::new(0, vec!["ams".to_string()], 1);
        for _ in 0..2 {
            observe(
                &mut fleet,
                Observation::CallStarted {
                    deploy: 0,
                    operation: Operation::Launch,
                },
            );
        }
        observe(
            &mut fleet,
            Observation::CallStarted {
                deploy: 0,
                operation: Operation::Stop,
            },
        );
        observe(
            &mut fleet,
            Observation::CallFinished {
                deploy: 0,
                operation: Operation::Launch,
            },
        );
        let in_flight = &fleet.deploy_counts(0).in_flight;
        assert_eq!(in_flight[&Operation::Launch], 1);
        assert_eq!(in_flight[&Operation::Stop], 1);
        for _ in 0..2 {
            observe(
                &mut fleet,
                Observation::MutationWithLapsedLease {
                    deploy: 0,
                    machine: 0,
                },
            );
        }
        assert_eq!(
            fleet.coverage(),
            [("mutation-after-lease-expired".to_string(), 2)]
                .into_iter()
                .collect()
        );
    }
}
