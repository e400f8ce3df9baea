//! The immediate strategy (reference §9): every machine updated in place concurrently, in a pool of
//! `max_concurrent`, with no waits for state, health or smoke checks.

use std::rc::Rc;

use super::{Rival, UpdateEntry};
use crate::api::{MachinesApi, Marker, Phase, Runtime};
use crate::deploy::errors::DeployError;
use crate::deploy::pool::run_pool;
use crate::observe::InvariantSet;

/// The invariants immediate answers for: those of every strategy. It updates every machine at
/// once, with no limit on how many are down (so not `max-unavailable`).
pub const INVARIANTS: InvariantSet = InvariantSet::EVERY_STRATEGY;

pub async fn run<A: MachinesApi + 'static, R: Runtime>(
    rival: &Rc<Rival<A, R>>,
    entries: Vec<Rc<UpdateEntry>>,
) -> Result<(), DeployError> {
    rival
        .runtime
        .mark(Marker::PhaseStarted(Phase::UpdateMachines));
    let mut entries = entries;
    // §9: ordered by machine ID like rolling (inferred; the reference gives no order).
    entries.sort_by(|left, right| left.id().cmp(right.id()));
    let task_rival = rival.clone();
    // §9 (inferred): the pool is not fail-fast; every machine is updated and the first error is
    // returned at the end (conc's `WithErrors().WithFirstError()` without a context).
    run_pool(
        &rival.runtime,
        rival.params.max_concurrent,
        entries,
        move |_, entry| {
            let rival = task_rival.clone();
            async move {
                rival.update_in_place(&entry).await?;
                rival.runtime.print(&format!(
                    "  Machine {} update finished: success",
                    entry.id()
                )); // wording (inferred)
                Ok::<(), DeployError>(())
            }
        },
    )
    .await
    .wait()
}
