//! The outer flow of `fly deploy` around a strategy (reference §1): select the machine set, lease
//! every blue, run the strategy, roll back on error, release the leases.
//!
//! Only the steps that touch machines are modelled: the release command and the process-group
//! reconcile (§1 steps 1, 3, 4) are outside the simulation, and the machine-set filters
//! (`--regions`, `--only-machines`, …) are not taken.

use std::rc::Rc;
use std::time::Duration;

use crate::api::{
    Machine, MachineId, MachinesApi, Marker, Phase, Runtime, METADATA_PLATFORM_VERSION,
    METADATA_PROCESS_GROUP,
};
use crate::deploy::behaviour::Behaviour;
use crate::deploy::bluegreen::{BlueEntry, Bluegreen, RollbackAction};
use crate::deploy::errors::DeployError;
use crate::deploy::launch_input::launch_input_for_update;
use crate::deploy::lease::{
    acquire_leases, release_leases, start_refresh, LeaseAcquire, LeasedMachine,
};
use crate::deploy::{DeployParams, StrategyName};
use crate::observe::DeployOutcome;

/// What one deploy did, as its caller sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployReport {
    pub outcome: DeployOutcome,
    /// flyctl's exit status: 0 on success, 1 on any error.
    pub exit_status: i32,
    /// The error flyctl prints as `Error: <text>`, when the deploy failed.
    pub error: Option<String>,
    /// The blue machines the deploy selected, in order.
    pub blues: Vec<MachineId>,
    /// The greens the strategy recorded.
    pub greens: Vec<MachineId>,
    /// Blues whose destroy failed ("hanging").
    pub hanging: Vec<MachineId>,
}

/// `fly deploy` with the parameters' strategy over the app's machines (§1 steps 2, 5–7).
pub async fn run_deploy<A: MachinesApi + 'static, R: Runtime>(
    api: Rc<A>,
    runtime: R,
    params: DeployParams,
) -> DeployReport {
    let mut params = params;
    // §2: `--max-concurrent` is forced to at least 1.
    params.max_concurrent = params.max_concurrent.max(1);
    let StrategyName::Bluegreen(version) = params.strategy else {
        return crate::deploy::rivals::run_rival(api, runtime, params).await;
    };
    let behaviour = Behaviour::of(version).with_settings(&params.settings);

    let machines = match list_fly_apps_machines(&*api, &runtime).await {
        Ok(machines) => machines,
        Err(error) => return failed_before_strategy(&runtime, Vec::new(), error),
    };
    let blue_ids: Vec<MachineId> = machines.iter().map(|machine| machine.id.clone()).collect();
    // §1: with an empty update list the strategy is never invoked and nothing is printed
    // (`updateExistingMachines` returns at once).
    if machines.is_empty() {
        return DeployReport {
            outcome: DeployOutcome::Succeeded,
            exit_status: 0,
            error: None,
            blues: blue_ids,
            greens: Vec::new(),
            hanging: Vec::new(),
        };
    }

    let (inputs, leased) = prepare_blues(machines, &params);

    // versions §1 step 2: 2023–2024 leased before the process-group reconcile, which is outside
    // the simulation, so the point is the same here.
    runtime.mark(Marker::PhaseStarted(Phase::AcquireLeases));
    let mode = LeaseAcquire {
        fail_fast: behaviour.lease_fail_fast,
        retry: behaviour.lease_acquire_retry,
    };
    if let Err(error) = acquire_leases(&api, &runtime, &leased, params.lease_ttl, mode).await {
        return failed_before_strategy(&runtime, blue_ids, error);
    }
    let refresh = start_refresh(&api, &runtime, &leased, params.lease_ttl);
    runtime.print(&format!(
        "Updating existing machines in '{}' with {} strategy",
        params.app_name, "bluegreen"
    ));

    let blues: Vec<BlueEntry> = leased
        .iter()
        .zip(inputs)
        .map(|(leased, input)| BlueEntry {
            leased: leased.clone(),
            input,
        })
        .collect();
    let strategy = Rc::new(Bluegreen::new(
        api.clone(),
        runtime.clone(),
        params,
        behaviour,
        blues,
    ));
    let (outcome, error) = run_strategy(&strategy, &runtime, &behaviour).await;

    // §1 step 7: the deferred release, whatever the outcome.
    refresh.stop();
    runtime.mark(Marker::PhaseStarted(Phase::ReleaseLeases));
    release_leases(&api, &runtime, &leased).await;

    if let Some(error) = &error {
        print_error(&runtime, error);
    }
    let greens = strategy.green_ids();
    assert!(greens.len() <= blue_ids.len());
    assert_eq!(outcome == DeployOutcome::Succeeded, error.is_none());
    DeployReport {
        outcome,
        exit_status: if error.is_some() { 1 } else { 0 },
        error: error.map(|error| error.text),
        blues: blue_ids,
        greens,
        hanging: strategy.hanging_ids(),
    }
}

/// The error flyctl ends with, and the suggestion it prints under it.
pub(crate) struct FinalError {
    pub(crate) text: String,
    pub(crate) suggestion: Option<String>,
}

/// `updateUsingBlueGreenStrategy`: `Deploy`, then `Rollback(err)` on error. A failed rollback's
/// error replaces the deploy's; otherwise a timeout gets the `--wait-timeout` suggestion.
async fn run_strategy<A: MachinesApi + 'static, R: Runtime>(
    strategy: &Rc<Bluegreen<A, R>>,
    runtime: &R,
    behaviour: &Behaviour,
) -> (DeployOutcome, Option<FinalError>) {
    let error = match strategy.deploy().await {
        Ok(()) => return (DeployOutcome::Succeeded, None),
        Err(error) => error,
    };
    // versions §1 step 6 (until `fd26f35ee`).
    if behaviour.print_deploy_failed {
        print_lines(
            runtime,
            "Deployment failed after error: ",
            &error.to_string(),
        );
    }
    match strategy.rollback(&error).await {
        Err(rollback_error) => {
            runtime.print(&format!("Error in rollback: {rollback_error}"));
            let text = rollback_error.to_string();
            let final_error = FinalError {
                text,
                suggestion: None,
            };
            (DeployOutcome::RollbackFailed, Some(final_error))
        }
        Ok(action) => {
            let outcome = match action {
                RollbackAction::DestroyedGreens => DeployOutcome::RolledBack,
                RollbackAction::Nothing | RollbackAction::ReportedHanging => DeployOutcome::Failed,
            };
            // `suggestChangeWaitTimeout`; wording (inferred): HEAD's GenericErr suggestion text
            // is not in the reference, this is the earlier flyctl wording.
            let suggestion = error
                .is_timeout()
                .then(|| "You can increase the timeout with the --wait-timeout flag".to_string());
            let text = error.to_string();
            (outcome, Some(FinalError { text, suggestion }))
        }
    }
}

fn failed_before_strategy<R: Runtime>(
    runtime: &R,
    blues: Vec<MachineId>,
    error: DeployError,
) -> DeployReport {
    let final_error = FinalError {
        text: error.to_string(),
        suggestion: None,
    };
    print_error(runtime, &final_error);
    DeployReport {
        outcome: DeployOutcome::Failed,
        exit_status: 1,
        error: Some(final_error.text),
        blues,
        greens: Vec::new(),
        hanging: Vec::new(),
    }
}

/// One update entry per machine of the set (§1 step 5: its desired launch input) and the lease
/// wrapper each gets (step 6). Shared by every strategy's outer flow.
pub(crate) fn prepare_blues(
    machines: Vec<Machine>,
    params: &DeployParams,
) -> (Vec<crate::api::LaunchInput>, Vec<Rc<LeasedMachine>>) {
    let inputs = machines
        .iter()
        .map(|machine| launch_input_for_update(machine, &machines, params))
        .collect();
    let leased = machines
        .into_iter()
        .map(|machine| Rc::new(LeasedMachine::new(machine)))
        .collect();
    (inputs, leased)
}

/// flyctl's last words: "Error: <text>" (a joined error spans several lines), then any suggestion.
pub(crate) fn print_error<R: Runtime>(runtime: &R, error: &FinalError) {
    print_lines(runtime, "Error: ", &error.text);
    if let Some(suggestion) = &error.suggestion {
        runtime.print(suggestion);
    }
}

/// Prints `text` one line at a time, the first behind `prefix`.
fn print_lines<R: Runtime>(runtime: &R, prefix: &str, text: &str) {
    for (index, line) in text.lines().enumerate() {
        if index == 0 {
            runtime.print(&format!("{prefix}{line}"));
        } else {
            runtime.print(line);
        }
    }
}

/// `ListFlyAppsMachines`: active machines with `fly_platform_version=v2` that are neither the
/// release-command machine nor a console; a 404 is retried for up to 5 s. Shared by every
/// strategy (§1 step 2: the machine set is the same for bluegreen and the rivals).
pub(crate) async fn list_fly_apps_machines<A: MachinesApi, R: Runtime>(
    api: &A,
    runtime: &R,
) -> Result<Vec<Machine>, DeployError> {
    // §10: "retried on 404 for up to 5 s"; the interval between tries is not given: 500 ms
    // (inferred).
    let retry_interval = Duration::from_millis(500);
    let retry_budget = Duration::from_secs(5);
    let started = runtime.now();
    let machines = loop {
        match api.list().await {
            Ok(machines) => break machines,
            Err(error)
                if error.is_not_found()
                    && runtime.now().saturating_sub(started) + retry_interval <= retry_budget =>
            {
                runtime.sleep(retry_interval).await;
            }
            Err(error) => return Err(DeployError::api("failed to list VMs", error)),
        }
    };
    Ok(machines
        .into_iter()
        .filter(|machine| machine.state.is_active())
        .filter(|machine| machine.metadata(METADATA_PLATFORM_VERSION) == Some("v2"))
        .filter(|machine| {
            !matches!(
                machine.metadata(METADATA_PROCESS_GROUP),
                Some("fly_app_release_command" | "fly_app_console")
            )
        })
        .collect())
}
