//! The invariants of issue 4 that follow a deploy's own actions: `lease-exclusion` (I10),
//! `health-gated-switch` (I4), `idempotent-create` (I11), `abort-safety` (I15),
//! `bounded-mixing` (I8); the liveness checks after heal (`leases-released`, `fleet-converges`);
//! and the coverage counters, which report rare situations without ever failing a run.
//! Each update is O(1) (or O(images)); nothing scans the fleet per event.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::api::Operation;
use crate::engine::SimTime;
use crate::observe::MachineIndex;

pub use crate::observe::{Limits, MachineShape};

use super::machines::slot;
use super::{Action, Checkers, Invariant};

/// Per-deploy counts for the guards.
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
    /// Machines down for its in-place update, per process group.
    pub updating: BTreeMap<String, usize>,
    /// Per process group of its recorded greens with checks: (greens, greens that boot).
    pub checked_groups: BTreeMap<String, (u32, u32)>,
}

/// State of the guards.
#[derive(Clone, Debug, Default)]
pub struct Guards {
    pub counts: Vec<DeployCounts>,
    /// Per machine: a booting green not yet proven healthy.
    pub unproven: Vec<bool>,
    /// Per machine: it boots (launched without skip_launch) and has not yet proven itself.
    pub boots_unproven: Vec<bool>,
    /// Per machine: it was launched to boot (not skip_launch).
    pub boots_ever: Vec<bool>,
    /// Per machine: its image, interned.
    pub image_of: Vec<u32>,
    pub images: BTreeMap<String, u32>,
    /// Routable machines (platform state) per image.
    pub routable_by_image: BTreeMap<u32, u32>,
    pub mixing_since: Option<SimTime>,
    pub mixing_longest: Duration,
    pub coverage: BTreeMap<&'static str, u64>,
    pub shapes: Vec<MachineShape>,
    /// Per machine: the deploy whose in-place update has it down.
    pub updating_by: Vec<Option<u32>>,
}

impl Guards {
    pub fn new(deploys: usize) -> Guards {
        Guards {
            counts: vec![DeployCounts::default(); deploys],
            ..Guards::default()
        }
    }

    pub fn intern(&mut self, image: &str) -> u32 {
        let next = self.images.len() as u32;
        *self.images.entry(image.to_string()).or_insert(next)
    }

    /// Images with at least one routable machine.
    fn images_routable(&self) -> usize {
        self.routable_by_image
            .values()
            .filter(|count| **count > 0)
            .count()
    }
}

impl Checkers {
    /// Counts a rare situation (coverage: reported, never a failure).
    pub fn cover(&mut self, situation: &'static str) {
        *self.guards.coverage.entry(situation).or_default() += 1;
    }

    pub fn coverage(&self) -> BTreeMap<String, u64> {
        self.guards
            .coverage
            .iter()
            .map(|(name, count)| (name.to_string(), *count))
            .collect()
    }

    pub(super) fn guard_machine_created(
        &mut self,
        machine: MachineIndex,
        image: &str,
        by: Option<u32>,
    ) {
        let image = self.guards.intern(image);
        self.guards.image_of.push(image);
        self.guards.unproven.push(false);
        self.guards.boots_unproven.push(false);
        self.guards.boots_ever.push(false);
        assert_eq!(self.guards.image_of.len(), slot(machine) + 1);
        if let Some(deploy) = by {
            let counts = &mut self.guards.counts[deploy as usize];
            counts.launched += 1;
            counts.greens_alive += 1;
        }
    }

    /// I11: a deploy launched more machines than it had blues (a duplicate from a retried,
    /// ambiguous launch).
    pub(super) fn guard_launch_count(&mut self, now: SimTime, step: u64, deploy: u32) {
        let counts = &self.guards.counts[deploy as usize];
        if counts.launched > counts.blues.max(1) {
            let detail = format!(
                "deploy {deploy} launched {} machines for {} blues",
                counts.launched, counts.blues
            );
            self.violate(Invariant::IdempotentCreate, now, step, detail);
        }
    }

    /// A deploy's green will boot (not skip_launch): once recorded, it must prove itself
    /// before any uncordon.
    pub fn green_boots(&mut self, machine: MachineIndex) {
        self.guards.boots_unproven[slot(machine)] = true;
        self.guards.boots_ever[slot(machine)] = true;
    }

    /// The deploy recorded `machine` as one of its greens: the health gate now waits for it.
    /// (An unrecorded duplicate stays cordoned; idempotent-create reports it.)
    pub(super) fn guard_green_recorded(&mut self, deploy: u32, machine: MachineIndex) {
        let shape = &self.guards.shapes[slot(machine)];
        if shape.has_checks {
            let boots = self.guards.boots_ever[slot(machine)];
            let entry = self.guards.counts[deploy as usize]
                .checked_groups
                .entry(shape.group.clone())
                .or_default();
            entry.0 += 1;
            if boots {
                entry.1 += 1;
            }
        }
        if self.guards.boots_unproven[slot(machine)] && !self.guards.unproven[slot(machine)] {
            self.guards.unproven[slot(machine)] = true;
            self.guards.counts[deploy as usize].greens_unproven += 1;
        }
    }

    /// The machine passed its checks (or started, without checks).
    pub fn machine_proven(&mut self, machine: MachineIndex) {
        self.guards.boots_unproven[slot(machine)] = false;
        if !std::mem::take(&mut self.guards.unproven[slot(machine)]) {
            return;
        }
        if let Some(deploy) = self.machines[slot(machine)].created_by {
            self.guards.counts[deploy as usize].greens_unproven -= 1;
        }
    }

    pub(super) fn guard_machine_gone(&mut self, machine: MachineIndex) {
        self.machine_proven(machine);
        if let Some(deploy) = self.machines[slot(machine)].created_by {
            self.guards.counts[deploy as usize].greens_alive -= 1;
        }
    }

    /// I4: an uncordon of a green while some green of the deploy never passed its checks.
    pub(super) fn guard_uncordon(
        &mut self,
        now: SimTime,
        step: u64,
        deploy: u32,
        machine: MachineIndex,
    ) {
        let unproven = self.guards.counts[deploy as usize].greens_unproven;
        if unproven > 0 {
            let detail = format!(
                "deploy {deploy} uncordoned green #{machine} while {unproven} of its greens had \
                 never passed their checks"
            );
            self.violate(Invariant::HealthGatedSwitch, now, step, detail);
        }
    }

    /// I10: a deployer mutated a machine whose lease it held but which had lapsed.
    pub fn lease_lapsed_mutation(
        &mut self,
        now: SimTime,
        step: u64,
        deploy: u32,
        machine: MachineIndex,
    ) {
        self.cover("mutation-after-lease-expired");
        let detail = format!(
            "deploy {deploy} changed machine #{machine} after its own lease on it had expired"
        );
        self.violate(Invariant::LeaseExclusion, now, step, detail);
    }

    /// I8: routability of a machine changed; track how many images are routable at once.
    pub(super) fn guard_routable(
        &mut self,
        now: SimTime,
        step: u64,
        machine: MachineIndex,
        routable: bool,
    ) {
        let image = self.guards.image_of[slot(machine)];
        let count = self.guards.routable_by_image.entry(image).or_default();
        if routable {
            *count += 1;
        } else {
            *count -= 1;
        }
        let mixed = self.guards.images_routable() > 1;
        match (mixed, self.guards.mixing_since) {
            (true, None) => self.guards.mixing_since = Some(now),
            (false, Some(since)) => self.close_mixing(now, step, since),
            _ => {}
        }
    }

    pub(super) fn guard_image_changed(&mut self, machine: MachineIndex, new: &str, routable: bool) {
        let new = self.guards.intern(new);
        let old = std::mem::replace(&mut self.guards.image_of[slot(machine)], new);
        if routable {
            *self.guards.routable_by_image.entry(old).or_default() -= 1;
            *self.guards.routable_by_image.entry(new).or_default() += 1;
        }
    }

    fn close_mixing(&mut self, now: SimTime, step: u64, since: SimTime) {
        self.guards.mixing_since = None;
        let window = now - since;
        self.guards.mixing_longest = self.guards.mixing_longest.max(window);
        let bound = self.bounds.mixing_bound;
        if window > bound {
            let detail = format!(
                "two images were routable for {} from {since}, longer than {}",
                SimTime::from_duration(window),
                self.bounds.mixing_bound_text()
            );
            self.violate(Invariant::BoundedMixing, since + bound, step, detail);
        }
    }

    /// I15, when an aborted deploy ends: before the point of no return its greens are gone and
    /// its blues untouched; after it, its greens were kept (green-kept-after-switch says so).
    pub(super) fn guard_abort(&mut self, now: SimTime, step: u64, deploy: u32) {
        let facts = &self.facts[deploy as usize];
        if !facts.aborted {
            return;
        }
        let ponr = facts.point_of_no_return;
        self.cover(if ponr {
            "abort-after-point-of-no-return"
        } else {
            "abort-before-point-of-no-return"
        });
        if ponr {
            return;
        }
        let greens = self.guards.counts[deploy as usize].greens_alive;
        let touched = self.deploys[deploy as usize].first_blue_mutation.is_some();
        if greens > 0 || touched {
            let detail = format!(
                "deploy {deploy} was aborted before its point of no return and left {greens} \
                 green(s) alive{}",
                if touched {
                    " and blues cordoned, stopped or destroyed"
                } else {
                    ""
                }
            );
            self.violate(Invariant::AbortSafety, now, step, detail);
        }
    }

    pub fn machine_shape(&mut self, machine: MachineIndex, shape: MachineShape) {
        assert_eq!(self.guards.shapes.len(), slot(machine));
        self.guards.shapes.push(shape);
        self.guards.updating_by.push(None);
    }

    pub fn set_limits(&mut self, deploy: u32, limits: Limits) {
        self.guards.counts[deploy as usize].limits = limits;
    }

    /// I13: a call of a bluegreen deploy starts; pooled operations stay within their pool.
    pub fn call_started(&mut self, now: SimTime, step: u64, deploy: u32, operation: Operation) {
        let counts = &mut self.guards.counts[deploy as usize];
        let in_flight = counts.in_flight.entry(operation).or_default();
        *in_flight += 1;
        let in_flight = *in_flight;
        if !counts.limits.bluegreen {
            return;
        }
        let limit = match operation {
            Operation::Launch => counts.limits.creates,
            Operation::Uncordon
            | Operation::Cordon
            | Operation::Stop
            | Operation::Destroy
            | Operation::SetMetadata => counts.limits.pooled,
            _ => return,
        };
        if in_flight > limit {
            let detail = format!(
                "deploy {deploy} had {in_flight} {} calls in flight, more than its limit of {limit}",
                operation.as_str()
            );
            self.acting_as(Some(deploy), Action::Call(operation), |checks| {
                checks.violate(Invariant::ConcurrencyLimit, now, step, detail);
            });
        }
    }

    pub fn call_finished(&mut self, deploy: u32, operation: Operation) {
        let in_flight = self.guards.counts[deploy as usize]
            .in_flight
            .entry(operation)
            .or_default();
        assert!(*in_flight > 0, "a call finished that never started");
        *in_flight -= 1;
    }

    /// I14: an in-place update takes a started machine down.
    pub(super) fn guard_update(
        &mut self,
        now: SimTime,
        step: u64,
        deploy: u32,
        machine: MachineIndex,
    ) {
        if self.guards.updating_by[slot(machine)].is_some() {
            return;
        }
        self.guards.updating_by[slot(machine)] = Some(deploy);
        let group = self.guards.shapes[slot(machine)].group.clone();
        let counts = &mut self.guards.counts[deploy as usize];
        let down = counts.updating.entry(group.clone()).or_default();
        *down += 1;
        let down = *down;
        let limit = counts
            .limits
            .unavailable_by_group
            .get(&group)
            .copied()
            .unwrap_or(usize::MAX);
        if down > limit {
            let detail = format!(
                "deploy {deploy} had {down} machines of group {group} down for its update, more \
                 than max_unavailable allows ({limit})"
            );
            self.violate(Invariant::MaxUnavailable, now, step, detail);
        }
    }

    /// A machine is started again (after an in-place update, a restart…).
    pub fn machine_back(&mut self, machine: MachineIndex) {
        let Some(deploy) = self.guards.updating_by[slot(machine)].take() else {
            return;
        };
        let group = &self.guards.shapes[slot(machine)].group;
        if let Some(down) = self.guards.counts[deploy as usize].updating.get_mut(group) {
            *down -= 1;
        }
    }

    /// I16, at a deploy's first uncordon: each process group of its greens with checks has at
    /// least one green that boots, so health was really verified somewhere.
    pub(super) fn guard_vacuous_health(&mut self, now: SimTime, step: u64, deploy: u32) {
        let unverified: Vec<String> = self.guards.counts[deploy as usize]
            .checked_groups
            .iter()
            .filter(|(_, (greens, booting))| *greens > 0 && *booting == 0)
            .map(|(group, _)| group.clone())
            .collect();
        if !unverified.is_empty() {
            let detail = format!(
                "deploy {deploy} switched traffic while no green of group(s) {} was ever started \
                 and health-checked",
                unverified.join(", ")
            );
            self.violate(Invariant::NoVacuousHealth, now, step, detail);
        }
    }

    /// Liveness after heal: leases the deployers still hold, and machines or proxies that have
    /// not converged, as the world found them at the end of the settle period.
    pub fn liveness(
        &mut self,
        now: SimTime,
        step: u64,
        leases_held: &[String],
        unconverged: &[String],
    ) {
        self.acting_as(None, Action::Settled, |checks| {
            checks.judge_liveness(now, step, leases_held, unconverged);
        });
    }

    fn judge_liveness(
        &mut self,
        now: SimTime,
        step: u64,
        leases_held: &[String],
        unconverged: &[String],
    ) {
        if let Some(since) = self.guards.mixing_since {
            self.close_mixing(now, step, since);
        }
        if !leases_held.is_empty() {
            let detail = format!(
                "deployer leases still held after heal: {}",
                leases_held.join(", ")
            );
            self.violate(Invariant::LeasesReleased, now, step, detail);
        }
        if !unconverged.is_empty() {
            let shown: Vec<&str> = unconverged.iter().take(6).map(String::as_str).collect();
            let detail = format!(
                "{} thing(s) had not converged by the end of the settle period: {}",
                unconverged.len(),
                shown.join("; ")
            );
            self.violate(Invariant::FleetConverges, now, step, detail);
        }
    }
}
