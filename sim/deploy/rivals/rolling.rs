//! The rolling strategy (`updateUsingRollingStrategy`, reference §9).

use std::collections::BTreeMap;
use std::rc::Rc;

use super::{Rival, UpdateEntry};
use crate::api::{MachinesApi, Marker, Phase, Runtime};
use crate::deploy::errors::DeployError;
use crate::deploy::pool::run_pool_cancel_on_error;
use crate::observe::{Invariant, InvariantSet};

/// The invariants rolling answers for: those of every strategy, and `max-unavailable` (it updates
/// machines in place). It never cordons, uncordons, rolls back or launches, so the invariants about
/// those are `n/a` in its runs rather than vacuously held.
pub const INVARIANTS: InvariantSet = InvariantSet::EVERY_STRATEGY.with(Invariant::MaxUnavailable);

/// §9: up to 16 process groups are updated concurrently (`rollingStrategyMaxConcurrentGroups`).
pub const MAX_CONCURRENT_GROUPS: usize = 16;
/// §9: `STOPPED_MACHINES_POOL_SIZE`, the pool of machines that are not started.
pub const COLD_POOL_MAX: usize = 30;

/// §9: the pool size for the started ("warm") machines of a group: `max_unavailable` ≥ 1 is an
/// absolute count (truncated, as Go's `int(…)`), a value in (0, 1) a fraction of the warm count,
/// rounded up. Never below 1 (§9: "≥1"; zero, negative or NaN values are treated as 1, inferred:
/// flyctl's config validation rejects them).
pub fn warm_pool_size(warm_count: usize, max_unavailable: f64) -> usize {
    let size = if max_unavailable >= 1.0 {
        // `as` saturates on huge values.
        max_unavailable as usize
    } else if max_unavailable > 0.0 {
        (warm_count as f64 * max_unavailable).ceil() as usize
    } else {
        1
    };
    size.max(1)
}

/// §9: the pool size for the machines that are not started ("cold"): min(count, 30).
pub fn cold_pool_size(cold_count: usize) -> usize {
    cold_count.clamp(1, COLD_POOL_MAX)
}

/// The entries sorted by machine ID and grouped by process group (groups in name order, for a
/// deterministic schedule), each group split into its warm and cold sub-pools.
pub fn plan(entries: Vec<Rc<UpdateEntry>>) -> Vec<GroupPlan> {
    let mut entries = entries;
    entries.sort_by(|left, right| left.id().cmp(right.id()));
    let mut groups: BTreeMap<String, GroupPlan> = BTreeMap::new();
    for entry in entries {
        let group = groups
            .entry(entry.group().to_string())
            .or_insert_with(|| GroupPlan {
                name: entry.group().to_string(),
                warm: Vec::new(),
                cold: Vec::new(),
            });
        if entry.is_warm() {
            group.warm.push(entry);
        } else {
            group.cold.push(entry);
        }
    }
    groups.into_values().collect()
}

/// One process group's machines, by machine ID.
pub struct GroupPlan {
    pub name: String,
    pub warm: Vec<Rc<UpdateEntry>>,
    pub cold: Vec<Rc<UpdateEntry>>,
}

/// §9: rolling over every group.
pub async fn run<A: MachinesApi + 'static, R: Runtime>(
    rival: &Rc<Rival<A, R>>,
    entries: Vec<Rc<UpdateEntry>>,
) -> Result<(), DeployError> {
    rival
        .runtime
        .mark(Marker::PhaseStarted(Phase::UpdateMachines));
    let groups = plan(entries);
    let task_rival = rival.clone();
    // The group pool cancels on the first error like the sub-pools (inferred: the reference names
    // only the group concurrency).
    run_pool_cancel_on_error(
        &rival.runtime,
        MAX_CONCURRENT_GROUPS,
        groups,
        move |_, group| {
            let rival = task_rival.clone();
            async move { update_group(&rival, group).await }
        },
    )
    .await
    .wait()
}

/// One group: its warm and cold sub-pools run concurrently, and the group fails with the first of
/// their errors. Neither sub-pool cancels the other (inferred: flyctl joins them with an
/// errgroup without a shared context).
async fn update_group<A: MachinesApi + 'static, R: Runtime>(
    rival: &Rc<Rival<A, R>>,
    group: GroupPlan,
) -> Result<(), DeployError> {
    let warm_size = warm_pool_size(group.warm.len(), rival.params.max_unavailable);
    let cold_size = cold_pool_size(group.cold.len());
    let warm = rival
        .runtime
        .spawn(update_sub_pool(rival.clone(), group.warm, warm_size));
    let cold = rival
        .runtime
        .spawn(update_sub_pool(rival.clone(), group.cold, cold_size));
    // Joined in spawn order; the warm pool's error is reported first when both fail.
    let warm = warm.await;
    let cold = cold.await;
    warm.and(cold)
}

/// §9 spearhead: the first machine alone; only if it succeeds, the rest through a pool of `size`
/// that cancels its remaining tasks on the first error.
pub async fn update_sub_pool<A: MachinesApi + 'static, R: Runtime>(
    rival: Rc<Rival<A, R>>,
    entries: Vec<Rc<UpdateEntry>>,
    size: usize,
) -> Result<(), DeployError> {
    let mut entries = entries.into_iter();
    let Some(spearhead) = entries.next() else {
        return Ok(());
    };
    update_machine(&rival, &spearhead).await?;
    let rest: Vec<Rc<UpdateEntry>> = entries.collect();
    let task_rival = rival.clone();
    run_pool_cancel_on_error(&rival.runtime, size, rest, move |_, entry| {
        let rival = task_rival.clone();
        async move { update_machine(&rival, &entry).await }
    })
    .await
    .wait()
}

/// §9 per machine: update in place, then wait for a good state (started, smoke, health).
pub async fn update_machine<A: MachinesApi + 'static, R: Runtime>(
    rival: &Rival<A, R>,
    entry: &UpdateEntry,
) -> Result<(), DeployError> {
    rival.update_in_place(entry).await?;
    rival.wait_good_state(entry.id(), &entry.input).await?;
    rival.runtime.print(&format!(
        "  Machine {} update finished: success",
        entry.id()
    )); // wording (inferred)
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards the pool sizing of §9: absolute counts, fractions rounded up, never below 1.
    #[test]
    fn warm_pool_is_absolute_at_one_or_more_and_a_rounded_up_fraction_below() {
        assert_eq!(warm_pool_size(8, 0.33), 3);
        assert_eq!(warm_pool_size(10, 0.33), 4);
        assert_eq!(warm_pool_size(1, 0.33), 1);
        assert_eq!(warm_pool_size(100, 0.5), 50);
        assert_eq!(warm_pool_size(8, 1.0), 1);
        assert_eq!(warm_pool_size(8, 2.0), 2);
        assert_eq!(warm_pool_size(8, 2.7), 2);
        assert_eq!(warm_pool_size(3, 5.0), 5);
        assert_eq!(warm_pool_size(8, 0.0), 1);
        assert_eq!(warm_pool_size(8, -1.0), 1);
        assert_eq!(warm_pool_size(8, f64::NAN), 1);
        assert_eq!(warm_pool_size(0, 0.33), 1);
    }

    // Guards the cold pool cap of 30 (STOPPED_MACHINES_POOL_SIZE).
    #[test]
    fn cold_pool_is_the_count_capped_at_thirty() {
        assert_eq!(cold_pool_size(1), 1);
        assert_eq!(cold_pool_size(29), 29);
        assert_eq!(cold_pool_size(30), 30);
        assert_eq!(cold_pool_size(500), 30);
    }
}
