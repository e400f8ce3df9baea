//! One test (or more) per bluegreen phase, each asserting which machines exist, are cordoned,
//! stopped or destroyed afterwards. Together they cover every row of the rollback table in
//! reference §5 (the row is named in each test's comment).

mod common;

use std::time::Duration;

use common::{assert_outcome, deploy, deploy_with, fleet, params, TokioRuntime, APP, OLD_IMAGE};
use fleetsim::api::memory::{MemoryApi, Op};
use fleetsim::api::{
    ApiError, MachineId, MachineState, Marker, Phase, DEPLOYMENT_TAG_SAFE_TO_DESTROY,
    METADATA_DEPLOYMENT_TAG,
};
use fleetsim::deploy::{DeployOutcome, DeployReport};

const FLEET: usize = 6;

fn blues() -> Vec<MachineId> {
    (1..=FLEET).map(MemoryApi::fleet_id).collect()
}

fn is_green(id: &MachineId) -> bool {
    id.0.starts_with('a')
}

fn alive_greens(api: &MemoryApi) -> Vec<MachineId> {
    api.alive()
        .into_iter()
        .map(|machine| machine.id)
        .filter(is_green)
        .collect()
}

fn calls_on_blues(api: &MemoryApi, op: Op) -> usize {
    api.calls_of(op)
        .iter()
        .filter(|call| call.machine.as_ref().is_some_and(|id| !is_green(id)))
        .count()
}

/// Blues as they were: started, uncordoned, no lease left, never cordoned, stopped or destroyed.
fn assert_blues_untouched(api: &MemoryApi) {
    for blue in blues() {
        assert_eq!(api.state_of(&blue), Some(MachineState::Started), "{blue}");
        assert!(!api.is_cordoned(&blue), "{blue} cordoned");
        assert_ne!(
            api.lease_owner(&blue).as_deref(),
            Some(fleetsim::api::memory::DEPLOYER_LEASE_OWNER)
        );
    }
    for op in [Op::Cordon, Op::Stop, Op::Destroy] {
        assert_eq!(calls_on_blues(api, op), 0, "{op:?} on a blue");
    }
}

/// Every green the deploy recorded is destroyed, and no other green exists.
fn assert_greens_rolled_back(api: &MemoryApi, report: &DeployReport) {
    assert_eq!(report.outcome, DeployOutcome::RolledBack);
    assert_eq!(report.exit_status, 1);
    for green in &report.greens {
        assert_eq!(
            api.state_of(green),
            Some(MachineState::Destroyed),
            "{green}"
        );
    }
    assert!(alive_greens(api).is_empty());
}

/// Greens kept and serving: started and uncordoned.
fn assert_greens_serving(api: &MemoryApi, report: &DeployReport) {
    assert_eq!(report.greens.len(), FLEET);
    for green in &report.greens {
        assert_eq!(api.state_of(green), Some(MachineState::Started), "{green}");
        assert!(!api.is_cordoned(green), "{green} cordoned");
    }
}

fn short_wait_params() -> fleetsim::deploy::DeployParams {
    let mut params = params();
    params.wait_timeout = Duration::from_secs(30);
    params
}

// ---- row 1: org limit, image check, no checks, lease failure: nothing created, blues untouched

// Guards against creating greens (or touching blues) when a blue's lease is held by someone else.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn acquire_leases_failure_creates_nothing() {
    let api = fleet(FLEET);
    api.hold_lease(&MemoryApi::fleet_id(3), "someone-else");
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_eq!(report.outcome, DeployOutcome::Failed);
    assert_eq!(report.exit_status, 1);
    let error = report.error.expect("error");
    assert!(
        error.contains("lease currently held by someone-else"),
        "{error}"
    );
    assert!(api.calls_of(Op::Launch).is_empty());
    assert!(api.calls_of(Op::CanPerformBluegreen).is_empty());
    assert_blues_untouched(&api);
    assert_eq!(
        api.lease_owner(&MemoryApi::fleet_id(3)).as_deref(),
        Some("someone-else")
    );
    // fly-go retried for about a minute before giving up.
    assert!(api.calls_of(Op::AcquireLease).len() > 100);
    assert!(!runtime.printed_containing("Updating existing machines"));
    assert!(runtime.printed_containing("Error: failed to get lease on VM b0000000000003"));
}

// Guards against deploying past a false `canPerformBluegreenDeployment`.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn org_limit_refusal_creates_nothing() {
    let api = fleet(FLEET);
    api.set_can_perform_bluegreen(false);
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_eq!(report.outcome, DeployOutcome::Failed);
    assert_eq!(
        report.error.as_deref(),
        Some("app can't undergo bluegreen deployment due to org limits")
    );
    assert!(api.calls_of(Op::Launch).is_empty());
    assert_blues_untouched(&api);
    assert!(runtime.printed("Error: app can't undergo bluegreen deployment due to org limits"));
}

// Guards against the image check passing a mixed fleet, and against drifting from HEAD's wording.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn image_check_refuses_mixed_images_with_heads_report() {
    let api = fleet(4);
    let leftover = "registry.fly.io/cherrypicker:deployment-01LEFT";
    for index in [2, 4] {
        api.modify(&MemoryApi::fleet_id(index), |machine| {
            machine.config.image = leftover.to_string();
            machine.image_ref = fleetsim::api::ImageRef::parse(leftover);
            machine.config.metadata.insert(
                METADATA_DEPLOYMENT_TAG.to_string(),
                DEPLOYMENT_TAG_SAFE_TO_DESTROY.to_string(),
            );
        });
    }
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_eq!(report.outcome, DeployOutcome::Failed);
    assert_eq!(
        report.error.as_deref(),
        Some("found multiple image versions")
    );
    assert!(api.calls_of(Op::Launch).is_empty());
    let lines = runtime.lines();
    let start = lines
        .iter()
        .position(|line| line == "Verifying if app can be safely deployed")
        .expect("header");
    let expected = [
        "Verifying if app can be safely deployed",
        "  Found 2 different images in your app (for bluegreen to work, all machines need to run a single image)",
        "    [x] cherrypicker:deployment-01OLD - 2 machine(s) (b0000000000001,b0000000000003)",
        "    [x] cherrypicker:deployment-01LEFT - 2 machine(s) (b0000000000002,b0000000000004)",
        "  These image(s) are from a previous failed deployment and can be safely destroyed:",
        "    [x] cherrypicker:deployment-01LEFT - 2 machine(s) ('fly machines destroy --force --image=cherrypicker:deployment-01LEFT --app=cherrypicker')",
        "  Here's how to fix your app so deployments can go through:",
        "    1. Find all the unwanted image versions from the list above.",
        "       Use 'fly machines list' and 'fly releases --image' to help determine unwanted images.",
        "    2. For each unwanted image version, run 'fly machines destroy --force --image=<image-version> --app <app-name>'",
        "    3. Retry the deployment with 'fly deploy'",
        "Error: found multiple image versions",
    ];
    assert_eq!(&lines[start..], &expected[..]);
    for index in 1..=4 {
        let blue = MemoryApi::fleet_id(index);
        assert_eq!(api.state_of(&blue), Some(MachineState::Started));
        assert!(!api.is_cordoned(&blue));
    }
}

// Guards against deploying an app with no health checks at all (bluegreen needs one).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn checks_required_refuses_an_app_without_checks() {
    let api = fleet(2);
    for index in 1..=2 {
        api.modify(&MemoryApi::fleet_id(index), |machine| {
            machine.config.services.clear();
        });
    }
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_eq!(report.outcome, DeployOutcome::Failed);
    assert_eq!(
        report.error.as_deref(),
        Some("app not in valid state for bluegreen deployments")
    );
    assert!(runtime.printed(
        "[WARN] Machine b0000000000001 [app] doesn't have healthchecks setup. We won't check its health."
    ));
    assert!(runtime.printed_containing("You need to define at least 1 check"));
    assert!(api.calls_of(Op::Launch).is_empty());
    for index in 1..=2 {
        assert_eq!(
            api.state_of(&MemoryApi::fleet_id(index)),
            Some(MachineState::Started)
        );
    }
}

// ---- row 2: create / start-wait / health-wait failure, abort before ready

// Guards against orphaning the greens created before a launch failed (2024's partial creations).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn create_failure_part_way_destroys_every_recorded_green() {
    let api = fleet(FLEET);
    api.fail_nth(Op::Launch, 4, ApiError::status(422, "invalid config"));
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_eq!(report.greens.len(), FLEET - 1, "the pool is not fail-fast");
    assert_greens_rolled_back(&api, &report);
    assert_blues_untouched(&api);
    assert_eq!(
        report.error.as_deref(),
        Some("failed to launch VM: invalid config (status 422)\nfailed to create green machines")
    );
    assert!(runtime.printed("Rolling back failed deployment"));
    assert!(runtime.printed("  Deleted machine a0000000000001 [app]"));
}

// Guards against launches continuing after Ctrl-C: tasks not yet started must not launch.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn create_abort_stops_unstarted_launches_and_rolls_back() {
    let api = fleet(FLEET);
    let runtime = TokioRuntime::new();
    let abort = runtime.clone();
    api.on_call(Op::Launch, move |nth, _| {
        if nth == 2 {
            abort.request_abort();
        }
    });
    let report = deploy(&api, &runtime).await;

    assert_eq!(api.calls_of(Op::Launch).len(), 2);
    assert_eq!(report.greens.len(), 2);
    assert_greens_rolled_back(&api, &report);
    assert_blues_untouched(&api);
    let error = report.error.expect("error");
    assert!(error.starts_with("deployment aborted by user"), "{error}");
}

// Guards against keeping greens that never started (start-wait timeout must roll back).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn wait_started_timeout_destroys_greens() {
    let api = fleet(FLEET);
    api.never_starts(&MemoryApi::launched_id(2));
    let runtime = TokioRuntime::new();
    let report = deploy_with(&api, &runtime, short_wait_params()).await;

    assert_eq!(report.greens.len(), FLEET);
    assert_greens_rolled_back(&api, &report);
    assert_blues_untouched(&api);
    assert_eq!(
        report.error.as_deref(),
        Some("wait timeout\ncould not get all green machines into started state")
    );
    assert!(runtime.printed("You can increase the timeout with the --wait-timeout flag"));
    assert!(api.calls_of(Op::Uncordon).is_empty());
}

// Guards against switching traffic to a green whose checks never pass.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn wait_healthy_timeout_destroys_greens() {
    let api = fleet(FLEET);
    api.never_healthy(&MemoryApi::launched_id(5));
    let runtime = TokioRuntime::new();
    let report = deploy_with(&api, &runtime, short_wait_params()).await;

    assert_greens_rolled_back(&api, &report);
    assert_blues_untouched(&api);
    assert_eq!(
        report.error.as_deref(),
        Some("wait timeout\ncould not get all green machines to be healthy")
    );
    assert!(api.calls_of(Op::Uncordon).is_empty());
}

// Guards against a single failed health GET being retried (HEAD fails the phase at once).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn wait_healthy_get_error_destroys_greens_at_once() {
    let api = fleet(FLEET);
    api.fail_nth(Op::Get, 1, ApiError::status(503, "flaps unavailable"));
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_greens_rolled_back(&api, &report);
    assert_blues_untouched(&api);
    assert_eq!(
        report.error.as_deref(),
        Some("flaps unavailable (status 503)\ncould not get all green machines to be healthy")
    );
}

// Guards against an abort before the ready phase leaving greens behind.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn abort_in_wait_healthy_destroys_greens() {
    let api = fleet(FLEET);
    let runtime = TokioRuntime::new();
    runtime.abort_at_phase(Phase::WaitHealthy);
    let report = deploy(&api, &runtime).await;

    assert_greens_rolled_back(&api, &report);
    assert_blues_untouched(&api);
    assert_eq!(
        report.error.as_deref(),
        Some("deployment aborted by user\ncould not get all green machines to be healthy")
    );
}

// ---- row 3: uncordon fails part-way after retries

// Guards against keeping half-switched greens: a final uncordon failure destroys every green,
// including those already uncordoned and serving.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn mark_ready_failure_destroys_uncordoned_greens_too() {
    let api = fleet(FLEET);
    let failing = MemoryApi::launched_id(3);
    api.fail_always(
        Op::Uncordon,
        &failing,
        ApiError::status(408, "request timeout"),
    );
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_greens_rolled_back(&api, &report);
    assert_blues_untouched(&api);
    let uncordoned_before: Vec<_> = api
        .calls_of(Op::Uncordon)
        .into_iter()
        .filter_map(|call| call.machine)
        .filter(|id| *id != failing)
        .collect();
    assert_eq!(
        uncordoned_before.len(),
        FLEET - 1,
        "the others were uncordoned"
    );
    assert_eq!(
        api.calls_of(Op::Uncordon).len() - uncordoned_before.len(),
        5,
        "five attempts on the failing green"
    );
    let error = report.error.expect("error");
    assert!(
        error.starts_with("All attempts fail:\n#1: request timeout (status 408)"),
        "{error}"
    );
    assert!(
        error.ends_with("#5: request timeout (status 408)\nfailed to mark green machines as ready")
    );
    assert!(!runtime.markers().contains(&Marker::PointOfNoReturn));
}

// ---- row 4: abort after ready, before the blue cordon: greens kept, blues uncordoned

// Guards against destroying greens after the point of no return (abort during the checkpoint).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn abort_in_checkpoint_keeps_greens_and_blues_serving() {
    let api = fleet(FLEET);
    let runtime = TokioRuntime::new();
    runtime.abort_at_phase(Phase::Checkpoint);
    let report = deploy(&api, &runtime).await;

    assert_eq!(report.outcome, DeployOutcome::Failed);
    assert_eq!(report.error.as_deref(), Some("deployment aborted by user"));
    assert_greens_serving(&api, &report);
    assert_blues_untouched(&api);
    // The tag tasks do not check the abort flag: the checkpoint ran.
    for blue in blues() {
        let machine = api.machines().into_iter().find(|m| m.id == blue).unwrap();
        assert_eq!(
            machine.metadata(METADATA_DEPLOYMENT_TAG),
            Some(DEPLOYMENT_TAG_SAFE_TO_DESTROY)
        );
    }
    assert!(!runtime.printed("Rolling back failed deployment"));
}

// Guards against the first 10 s sleep not being abortable, or an abort in it deleting greens.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn abort_in_wait_before_cordon_keeps_both_versions_serving() {
    let api = fleet(FLEET);
    let runtime = TokioRuntime::new();
    runtime.abort_at_phase(Phase::WaitBeforeCordon);
    let report = deploy(&api, &runtime).await;

    assert_eq!(report.error.as_deref(), Some("deployment aborted by user"));
    assert_greens_serving(&api, &report);
    assert_blues_untouched(&api);
}

// ---- row 5: abort after the blue cordon, or stop-wait timeout: greens kept, blues cordoned

// Guards against rollback uncordoning or destroying anything once blues are cordoned.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn abort_after_cordon_keeps_greens_and_leaves_blues_cordoned() {
    let api = fleet(FLEET);
    let runtime = TokioRuntime::new();
    let abort = runtime.clone();
    api.on_call(Op::Cordon, move |nth, _| {
        if nth == FLEET as u32 {
            abort.request_abort();
        }
    });
    let report = deploy(&api, &runtime).await;

    assert_eq!(report.outcome, DeployOutcome::Failed);
    assert_eq!(report.error.as_deref(), Some("deployment aborted by user"));
    assert_greens_serving(&api, &report);
    for blue in blues() {
        assert!(api.is_cordoned(&blue));
        assert_eq!(api.state_of(&blue), Some(MachineState::Started));
    }
    assert_eq!(calls_on_blues(&api, Op::Uncordon), 0);
    assert_eq!(calls_on_blues(&api, Op::Stop), 0);
}

// Guards against the second 10 s sleep not being abortable.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn abort_in_wait_before_stop_leaves_blues_cordoned_and_running() {
    let api = fleet(FLEET);
    let runtime = TokioRuntime::new();
    runtime.abort_at_phase(Phase::WaitBeforeStop);
    let report = deploy(&api, &runtime).await;

    assert_eq!(report.error.as_deref(), Some("deployment aborted by user"));
    assert_greens_serving(&api, &report);
    for blue in blues() {
        assert!(api.is_cordoned(&blue));
        assert_eq!(api.state_of(&blue), Some(MachineState::Started));
    }
    assert_eq!(calls_on_blues(&api, Op::Stop), 0);
    assert_eq!(calls_on_blues(&api, Op::Uncordon), 0);
}

// Guards against a stop-wait timeout rolling back (the 2024-02 broad rollback) or destroying.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn wait_stopped_timeout_is_fatal_without_rollback() {
    let api = fleet(FLEET);
    let stuck = MemoryApi::fleet_id(3);
    api.never_stops(&stuck);
    let runtime = TokioRuntime::new();
    let report = deploy_with(&api, &runtime, short_wait_params()).await;

    assert_eq!(report.outcome, DeployOutcome::Failed);
    assert_eq!(
        report.error.as_deref(),
        Some("wait timeout\ncould not get all blue machines into stopped state")
    );
    assert_greens_serving(&api, &report);
    for blue in blues() {
        assert!(api.is_cordoned(&blue));
        let expected = if blue == stuck {
            MachineState::Started
        } else {
            MachineState::Stopped
        };
        assert_eq!(api.state_of(&blue), Some(expected));
    }
    assert_eq!(calls_on_blues(&api, Op::Destroy), 0);
    assert_eq!(calls_on_blues(&api, Op::Uncordon), 0);
    assert!(runtime.printed("You can increase the timeout with the --wait-timeout flag"));
}

// ---- row 6: cordon/stop/destroy errors are non-fatal; failures listed as hanging

// Guards against a cordon error failing the deploy (warned after transient retries at HEAD).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn cordon_error_is_retried_warned_and_the_deploy_completes() {
    let api = fleet(FLEET);
    let blue = MemoryApi::fleet_id(2);
    api.fail_always(Op::Cordon, &blue, ApiError::status(503, "unavailable"));
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_outcome(&report, DeployOutcome::Succeeded, &runtime);
    // HEAD's teardown retry lines (`3eb236fab`, as issue 10 quotes them).
    for attempt in 2..=5 {
        assert!(runtime.printed(&format!(
            "  Retrying cordon for machine b0000000000002 [app] (attempt {attempt}/5)"
        )));
    }
    assert!(runtime.printed(
        "  [warn] Failed to cordon machine b0000000000002 [app] after 5 attempts: unavailable (status 503)"
    ));
    assert!(!runtime.printed_containing("  Failed to cordon machine"));
    let cordons = api.calls_of(Op::Cordon);
    assert_eq!(
        cordons
            .iter()
            .filter(|c| c.machine.as_ref() == Some(&blue))
            .count(),
        5
    );
    for blue in blues() {
        assert_eq!(api.state_of(&blue), Some(MachineState::Destroyed));
    }
    assert_greens_serving(&api, &report);
}

// Guards against a stop error being fatal by itself: it is warned (a 400 is not retried), and
// the blue that kept running then trips the stop-wait ticker (fatal, no rollback).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stop_error_is_warned_then_the_running_blue_times_out_the_stop_wait() {
    let api = fleet(FLEET);
    let blue = MemoryApi::fleet_id(2);
    api.fail_always(Op::Stop, &blue, ApiError::status(400, "bad request"));
    let runtime = TokioRuntime::new();
    let report = deploy_with(&api, &runtime, short_wait_params()).await;

    // A 400 is not transient: one attempt, then HEAD's warning with the configured count.
    assert!(runtime.printed(
        "  [warn] Failed to stop machine b0000000000002 [app] after 5 attempts: bad request (status 400)"
    ));
    assert!(!runtime.printed_containing("Retrying stop"));
    let stops = api.calls_of(Op::Stop);
    assert_eq!(
        stops
            .iter()
            .filter(|c| c.machine.as_ref() == Some(&blue))
            .count(),
        1
    );
    assert_eq!(report.outcome, DeployOutcome::Failed);
    assert_eq!(
        report.error.as_deref(),
        Some("wait timeout\ncould not get all blue machines into stopped state")
    );
    assert_eq!(api.state_of(&blue), Some(MachineState::Started));
    assert_eq!(calls_on_blues(&api, Op::Destroy), 0);
    assert_greens_serving(&api, &report);
}

// Guards the stop-wait's failure list: printed only when a blue's wait failed, never after a clean
// drain.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn clean_drain_lists_no_stop_failures() {
    let api = fleet(FLEET);
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_outcome(&report, DeployOutcome::Succeeded, &runtime);
    assert!(runtime.printed("Waiting for all blue machines to stop"));
    assert!(!runtime.printed("Failed to stop some machines:"));
    assert!(!runtime.printed("  0"));
}

// Guards against a per-machine stop-wait failure being fatal: it is listed and the deploy goes on.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stop_wait_machine_error_is_listed_and_the_deploy_completes() {
    let api = fleet(FLEET);
    let blue = MemoryApi::fleet_id(5);
    api.fail_always(Op::Wait, &blue, ApiError::status(400, "invalid state"));
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_outcome(&report, DeployOutcome::Succeeded, &runtime);
    // `for err := range merr.Errors` prints the slice index, not the message.
    assert!(runtime.printed("Failed to stop some machines:"));
    assert!(runtime.printed("  0"));
    assert!(!runtime.printed_containing("invalid state"));
    for blue in blues() {
        assert_eq!(api.state_of(&blue), Some(MachineState::Destroyed));
    }
}

// Guards against silently leaving blues whose destroy failed (2024 printed nothing).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn destroy_error_leaves_a_printed_hanging_blue() {
    let api = fleet(FLEET);
    let blue = MemoryApi::fleet_id(4);
    api.fail_always(
        Op::Destroy,
        &blue,
        ApiError::status(409, "lease nonce mismatch"),
    );
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_eq!(report.outcome, DeployOutcome::Succeeded);
    assert_eq!(report.hanging, vec![blue.clone()]);
    assert!(runtime.printed("  Failed to destroy 1 machine(s). Remove them manually with:"));
    assert!(runtime.printed(&format!("    fly machine destroy --force -a {APP} {blue}")));
    assert_eq!(api.state_of(&blue), Some(MachineState::Stopped));
    assert!(api.is_cordoned(&blue));
    for other in blues().into_iter().filter(|other| *other != blue) {
        assert_eq!(api.state_of(&other), Some(MachineState::Destroyed));
    }
    assert_greens_serving(&api, &report);
    assert!(runtime.printed("Deployment Complete"));
}

// Guards HEAD's rule that a 404 on a blue's destroy counts as destroyed (someone else removed it
// already): the blue is not reported hanging and the deploy prints no manual-destroy recipe.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn destroy_not_found_counts_the_blue_as_destroyed() {
    let api = fleet(FLEET);
    let blue = MemoryApi::fleet_id(2);
    api.fail_always(Op::Destroy, &blue, ApiError::not_found("machine not found"));
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_eq!(report.outcome, DeployOutcome::Succeeded);
    assert!(report.hanging.is_empty(), "{:?}", report.hanging);
    assert!(!runtime.printed("  Failed to destroy 1 machine(s). Remove them manually with:"));
    let destroyed = runtime
        .lines()
        .iter()
        .filter(|line| line.starts_with("  Machine ") && line.ends_with(" destroyed"))
        .count();
    assert_eq!(destroyed, FLEET, "every blue reported destroyed");
    assert_greens_serving(&api, &report);
}

// Guards against an abort in the destroy phase deleting greens; rollback only reports hanging.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn abort_in_destroy_reports_hanging_and_keeps_greens() {
    let api = fleet(FLEET);
    let runtime = TokioRuntime::new();
    runtime.abort_at_phase(Phase::DestroyBlues);
    let report = deploy(&api, &runtime).await;

    assert_eq!(report.outcome, DeployOutcome::Failed);
    assert_eq!(
        report.error.as_deref(),
        Some("deployment aborted by user\nfailed to destroy previous deployment")
    );
    assert!(runtime.printed("Failed to destroy blue machines ()"));
    assert!(runtime.printed("You can destroy them using `fly machines destroy --force <id>`"));
    assert_greens_serving(&api, &report);
    for blue in blues() {
        assert_eq!(api.state_of(&blue), Some(MachineState::Stopped));
    }
    assert!(!runtime.printed("Rolling back failed deployment"));
}

// Guards against the image being checked on the wrong key: one image means the check passes.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn image_check_passes_a_single_image_fleet() {
    let api = fleet(3);
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;
    assert_eq!(report.outcome, DeployOutcome::Succeeded);
    assert!(!runtime.printed_containing("different images"));
    assert!(api
        .alive()
        .iter()
        .all(|machine| machine.config.image != OLD_IMAGE));
}

// Guards the stop-wait's two races (issue 10): a blue that never stops fails its own wait at the
// ticker's instant and `select` draws between the two, yet the phase always ends in the fatal
// "wait timeout" (the sender counts itself done only after the loop has looked again), whatever
// the deployer's random stream draws.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn hanging_blue_ends_the_stop_wait_with_the_timeout_on_every_draw() {
    for state in 0..16u64 {
        let api = fleet(FLEET);
        api.never_stops(&MemoryApi::fleet_id(3));
        let runtime = TokioRuntime::with_random_state(state * 0x9E37_79B9);
        let report = deploy_with(&api, &runtime, short_wait_params()).await;
        assert_eq!(report.outcome, DeployOutcome::Failed, "state {state}");
        assert_eq!(
            report.error.as_deref(),
            Some("wait timeout\ncould not get all blue machines into stopped state"),
            "state {state}"
        );
        assert!(
            !runtime.printed("Failed to stop some machines:"),
            "state {state}"
        );
        assert_eq!(calls_on_blues(&api, Op::Destroy), 0, "state {state}");
    }
}

// Guards `formatDestroyCommand` under the hanging-blues warning: the first line indented by 4,
// the continuation lines by the command's own 2 (issue 10: the port indented them by 6).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn hanging_blues_destroy_command_keeps_flyctl_indentation() {
    let api = fleet(FLEET);
    for index in [1, 3] {
        api.fail_always(
            Op::Destroy,
            &MemoryApi::fleet_id(index),
            ApiError::status(409, "lease mismatch"),
        );
    }
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_outcome(&report, DeployOutcome::Succeeded, &runtime);
    let lines = runtime.lines();
    let at = lines
        .iter()
        .position(|line| line == "  Failed to destroy 2 machine(s). Remove them manually with:")
        .expect("the hanging warning");
    assert_eq!(
        lines[at + 1..at + 4].to_vec(),
        vec![
            format!("    fly machine destroy --force -a {APP} \\"),
            "  b0000000000001 \\".to_string(),
            "  b0000000000003".to_string(),
        ]
    );
}
