//! The canary strategy (`deployCanaryMachines`, reference §9): one *extra* machine per process
//! group, launched and tested, then destroyed; then exactly like rolling.

use std::rc::Rc;

use super::{Rival, UpdateEntry};
use crate::api::{MachinesApi, Marker, Phase, Runtime};
use crate::deploy::errors::DeployError;
use crate::deploy::pool::run_pool;
use crate::deploy::rivals::rolling;
use crate::observe::{Invariant, InvariantSet};

/// The invariants canary answers for: rolling's, and `idempotent-create` (it launches one canary
/// per process group, never more machines than it had).
pub const INVARIANTS: InvariantSet = rolling::INVARIANTS.with(Invariant::IdempotentCreate);

/// Metadata key and value that mark a canary machine (§9).
pub const METADATA_CANARY: &str = "fly_canary";

pub async fn run<A: MachinesApi + 'static, R: Runtime>(
    rival: &Rc<Rival<A, R>>,
    entries: Vec<Rc<UpdateEntry>>,
) -> Result<(), DeployError> {
    rival.runtime.mark(Marker::PhaseStarted(Phase::Canary));
    // One template per process group: the group's first machine by ID (its region and config).
    let groups = rolling::plan(entries.clone());
    let templates: Vec<(String, Rc<UpdateEntry>)> = groups
        .iter()
        .filter_map(|group| {
            let mut members: Vec<&Rc<UpdateEntry>> =
                group.warm.iter().chain(group.cold.iter()).collect();
            members.sort_by(|left, right| left.id().cmp(right.id()));
            members
                .first()
                .map(|first| (group.name.clone(), Rc::clone(first)))
        })
        .collect();
    let task_rival = rival.clone();
    // §9: the canaries of all groups are launched concurrently; every canary runs to its end and
    // the first error fails the deploy (inferred: an errgroup without cancellation).
    run_pool(
        &rival.runtime,
        templates.len().max(1),
        templates,
        move |_, (group, template)| {
            let rival = task_rival.clone();
            async move { deploy_canary(&rival, &group, &template).await }
        },
    )
    .await
    .wait()?;
    // §9: "It then continues exactly like rolling."
    rolling::run(rival, entries).await
}

/// One group's canary: launch, smoke check, `started`, health checks; destroyed only on success.
async fn deploy_canary<A: MachinesApi + 'static, R: Runtime>(
    rival: &Rival<A, R>,
    group: &str,
    template: &UpdateEntry,
) -> Result<(), DeployError> {
    rival
        .runtime
        .print(&format!("Creating canary machine for group {group}")); // wording (inferred)
    let mut input = template.input.clone();
    input
        .config
        .metadata
        .insert(METADATA_CANARY.to_string(), "true".to_string());
    // §9: the canary boots whatever its template's state, and it is not cordoned: it takes live
    // traffic while it is tested (inferred in the reference).
    input.skip_launch = false;
    input.skip_service_registration = false;
    // §9: flyctl launches the canary with a lease TTL equal to the wait timeout and destroys it with
    // the nonce from the launch reply. The trait's `launch` returns no nonce, so the canary is
    // launched without a lease and destroyed without a nonce (departure).
    input.lease_ttl = None;
    let machine = rival
        .api
        .launch(input.clone())
        .await
        .map_err(|error| DeployError::api("failed to create canary machine", error))?; // wording (inferred)
    rival.record_canary(machine.id.clone());
    let id = machine.id;

    // §9 order for the canary: smoke check, then `started`, then health checks. A failed canary is
    // left in place (flyctl's destroy is deferred and runs only on success).
    rival.smoke_check(&id).await?;
    rival.wait_started(&id, &input).await?;
    rival.wait_healthy(&id, &input).await?;

    rival
        .runtime
        .print(&format!("Destroying canary machine {id}")); // wording (inferred)
    if let Err(error) = rival.api.destroy(&id, true, None).await {
        // A deferred destroy's error does not fail the deploy (inferred); the canary is left over.
        rival
            .runtime
            .print(&format!("failed to destroy canary machine {id}: {error}")); // wording (inferred)
    }
    Ok(())
}
