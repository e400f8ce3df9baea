//! The historic versions of bluegreen (reference `flyctl-bluegreen-versions.md`, "versions §…"):
//! one test per behaviour that differs from HEAD (`bluegreen`, 2026-08), against `MemoryApi`.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use common::{
    assert_outcome, deploy_with, fleet, TokioRuntime, APP, NEW_IMAGE, UNIX_START_SECONDS,
};
use fleetsim::api::memory::{MemoryApi, Op};
use fleetsim::api::{
    ApiError, CheckConfig, CheckKind, ImageRef, MachineId, MachineState, Marker, Phase,
    DEPLOYMENT_TAG_SAFE_TO_DESTROY, METADATA_DEPLOYMENT_TAG,
};
use fleetsim::deploy::{BluegreenVersion, DeployOutcome, DeployParams, DeployReport, StrategyName};

const V2023_06: BluegreenVersion = BluegreenVersion::V2023_06;
const V2024_02: BluegreenVersion = BluegreenVersion::V2024_02;
const V2024_05: BluegreenVersion = BluegreenVersion::V2024_05;
const HEAD: BluegreenVersion = BluegreenVersion::V2026_08;

fn params(version: BluegreenVersion) -> DeployParams {
    DeployParams::new(APP, NEW_IMAGE, StrategyName::Bluegreen(version))
}

fn short_wait(version: BluegreenVersion) -> DeployParams {
    let mut params = params(version);
    params.wait_timeout = Duration::from_secs(30);
    params
}

async fn run(api: &Rc<MemoryApi>, version: BluegreenVersion) -> (DeployReport, TokioRuntime) {
    let runtime = TokioRuntime::new();
    let report = deploy_with(api, &runtime, params(version)).await;
    (report, runtime)
}

fn blues(count: usize) -> Vec<MachineId> {
    (1..=count).map(MemoryApi::fleet_id).collect()
}

fn is_green(id: &MachineId) -> bool {
    id.0.starts_with('a')
}

fn alive_greens(api: &MemoryApi) -> Vec<MachineId> {
    let alive = api.alive().into_iter().map(|machine| machine.id);
    alive.filter(is_green).collect()
}

fn calls_on_blues(api: &MemoryApi, op: Op) -> usize {
    let calls = api.calls_of(op);
    let on_blue =
        |call: &&fleetsim::api::memory::Call| call.machine.as_ref().is_some_and(|id| !is_green(id));
    calls.iter().filter(on_blue).count()
}

fn metadata(api: &MemoryApi, id: &MachineId, key: &str) -> Option<String> {
    let machine = api.machines().into_iter().find(|m| m.id == *id)?;
    machine.metadata(key).map(str::to_string)
}

fn green_recorded_count(runtime: &TokioRuntime) -> usize {
    let markers = runtime.markers();
    let recorded = |marker: &&Marker| matches!(marker, Marker::GreenRecorded(_));
    markers.iter().filter(recorded).count()
}

/// Blues started and uncordoned, never cordoned, stopped or destroyed.
fn assert_blues_serving(api: &MemoryApi, count: usize) {
    for blue in blues(count) {
        assert_eq!(api.state_of(&blue), Some(MachineState::Started), "{blue}");
        assert!(!api.is_cordoned(&blue), "{blue} cordoned");
    }
    for op in [Op::Cordon, Op::Stop, Op::Destroy] {
        assert_eq!(calls_on_blues(api, op), 0, "{op:?} on a blue");
    }
}

/// Gives three blues a second image (leftovers of an earlier deploy), tagged safe_to_destroy.
fn mix_images(api: &MemoryApi, indices: &[usize]) {
    let leftover = "registry.fly.io/cherrypicker:deployment-01LEFT";
    for index in indices {
        api.modify(&MemoryApi::fleet_id(*index), |machine| {
            machine.config.image = leftover.to_string();
            machine.image_ref = ImageRef::parse(leftover);
            machine.config.metadata.insert(
                METADATA_DEPLOYMENT_TAG.to_string(),
                DEPLOYMENT_TAG_SAFE_TO_DESTROY.to_string(),
            );
        });
    }
}

fn tag(api: &MemoryApi, index: usize, tag: &str) {
    api.modify(&MemoryApi::fleet_id(index), |machine| {
        let metadata = &mut machine.config.metadata;
        metadata.insert(METADATA_DEPLOYMENT_TAG.to_string(), tag.to_string());
    });
}

// ======================= 2023-06 (versions §1) =======================

// Guards against 2023-06 draining blues: they are kill-destroyed right after the uncordons, with
// no cordon, stop, checkpoint or 10 s waits (incident 2's mechanism).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn v2023_06_destroys_blues_right_after_uncordon() {
    let api = fleet(3);
    let (report, runtime) = run(&api, V2023_06).await;

    assert_outcome(&report, DeployOutcome::Succeeded, &runtime);
    let mutating: Vec<(Op, MachineId, bool)> = api
        .calls()
        .into_iter()
        .filter(|call| {
            let ops = [
                Op::Uncordon,
                Op::Cordon,
                Op::Stop,
                Op::Destroy,
                Op::SetMetadata,
            ];
            ops.contains(&call.op)
        })
        .map(|call| (call.op, call.machine.expect("per machine"), call.nonce))
        .collect();
    let expected: Vec<(Op, MachineId, bool)> = (1..=3)
        .map(|k| (Op::Uncordon, MemoryApi::launched_id(k), false))
        .chain(blues(3).into_iter().map(|blue| (Op::Destroy, blue, true)))
        .collect();
    assert_eq!(mutating, expected);
    assert!(!runtime.sleeps().contains(&Duration::from_secs(10)));
    for phase in [
        Phase::ImageCheck,
        Phase::Checkpoint,
        Phase::CordonBlues,
        Phase::StopBlues,
    ] {
        assert!(!runtime.phases().contains(&phase), "{phase:?}");
    }
    assert!(!runtime.markers().contains(&Marker::PointOfNoReturn));
    // versions §1.1 step 5: no deployment tag yet; synthesized top-level check on the greens.
    for green in &report.greens {
        assert_eq!(metadata(&api, green, METADATA_DEPLOYMENT_TAG), None);
        let machine = api.machines().into_iter().find(|m| m.id == *green).unwrap();
        assert!(machine.config.checks.contains_key("bg_deployments_http"));
    }
    assert!(runtime.printed("Deployment Complete"));
}

// Guards against 2023-06 recording greens one by one: a launch failure part-way leaves the greens
// already created unrecorded, so rollback deletes none of them (orphans); HEAD leaves none.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn v2023_06_partial_create_failure_orphans_the_greens_created() {
    let api = fleet(6);
    api.fail_nth(Op::Launch, 4, ApiError::status(422, "invalid config"));
    let (report, runtime) = run(&api, V2023_06).await;

    assert_eq!(
        api.calls_of(Op::Launch).len(),
        4,
        "sequential, stops at the first error"
    );
    assert!(report.greens.is_empty());
    assert_eq!(green_recorded_count(&runtime), 0);
    let orphans = alive_greens(&api);
    assert_eq!(orphans.len(), 3);
    for orphan in &orphans {
        assert!(api.is_cordoned(orphan));
        assert_eq!(api.state_of(orphan), Some(MachineState::Started));
        assert_eq!(metadata(&api, orphan, METADATA_DEPLOYMENT_TAG), None);
    }
    assert!(
        api.calls_of(Op::Destroy).is_empty(),
        "rollback deletes none"
    );
    assert_blues_serving(&api, 6);
    assert_eq!(report.exit_status, 1);
    assert!(runtime.printed(
        "Deployment failed after error: failed to launch VM: invalid config (status 422)"
    ));
    assert!(!runtime.printed_containing("Rolling back"));

    // HEAD: every green is recorded at once and rolled back.
    let api = fleet(6);
    api.fail_nth(Op::Launch, 4, ApiError::status(422, "invalid config"));
    let (_, _) = run(&api, HEAD).await;
    assert!(alive_greens(&api).is_empty());
}

// Guards against 2023-06's rollback being narrow: an abort after every green was uncordoned (HEAD:
// past the point of no return, greens kept) deletes the serving greens, silently, one at a time.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn v2023_06_broad_rollback_deletes_ready_greens_after_an_abort() {
    let api = fleet(3);
    let runtime = TokioRuntime::new();
    let abort = runtime.clone();
    api.on_call(Op::Uncordon, move |nth, _| {
        if nth == 3 {
            abort.request_abort();
        }
    });
    let report = deploy_with(&api, &runtime, params(V2023_06)).await;

    assert_eq!(report.outcome, DeployOutcome::RolledBack);
    assert_eq!(report.error.as_deref(), Some("deployment aborted by user"));
    assert_eq!(report.greens.len(), 3);
    assert!(alive_greens(&api).is_empty());
    let destroys: Vec<bool> = api.calls_of(Op::Destroy).iter().map(|c| c.nonce).collect();
    assert_eq!(destroys, vec![false; 3], "greens only, without a nonce");
    assert_blues_serving(&api, 3);
    assert!(!runtime.printed_containing("Rolling back"));
    assert!(!runtime.printed_containing("Deleted machine"));
    assert!(runtime.printed("Deployment failed after error: deployment aborted by user"));
}

// Guards against 2023-06's uncordon being a retried pool: one green at a time, a single call, the
// first error ends the phase (later greens never uncordoned), then the broad rollback.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn v2023_06_uncordon_is_sequential_single_shot() {
    let api = fleet(3);
    let failing = MemoryApi::launched_id(2);
    api.fail_nth(Op::Uncordon, 2, ApiError::status(408, "request timeout"));
    let (report, _) = run(&api, V2023_06).await;

    let uncordoned: Vec<MachineId> = api
        .calls_of(Op::Uncordon)
        .into_iter()
        .filter_map(|call| call.machine)
        .collect();
    assert_eq!(uncordoned, vec![MemoryApi::launched_id(1), failing]);
    assert_eq!(report.outcome, DeployOutcome::RolledBack);
    assert_eq!(
        report.error.as_deref(),
        Some("request timeout (status 408)\nfailed to mark green machines as ready")
    );
    assert!(alive_greens(&api).is_empty());
    assert_blues_serving(&api, 3);
}

// Guards against 2023-06 checking images: a mixed fleet deploys anyway (incident 1 multiplies).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn v2023_06_has_no_image_check() {
    let api = fleet(4);
    mix_images(&api, &[2, 4]);
    let (report, runtime) = run(&api, V2023_06).await;

    assert_outcome(&report, DeployOutcome::Succeeded, &runtime);
    assert!(!runtime.printed_containing("different images"));
    assert_eq!(alive_greens(&api).len(), 4);
    for blue in blues(4) {
        assert_eq!(api.state_of(&blue), Some(MachineState::Destroyed));
    }
}

// Guards against 2023-06 reporting a failed blue destroy: it hangs silently, uncordoned and serving
// the old version next to the greens, and the deploy says "Deployment Complete".
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn v2023_06_blue_destroy_failure_is_silent() {
    let api = fleet(3);
    let blue = MemoryApi::fleet_id(2);
    api.fail_always(
        Op::Destroy,
        &blue,
        ApiError::status(409, "lease nonce mismatch"),
    );
    let (report, runtime) = run(&api, V2023_06).await;

    assert_eq!(report.outcome, DeployOutcome::Succeeded);
    assert_eq!(report.hanging, vec![blue.clone()]);
    assert_eq!(api.calls_of(Op::Destroy).len(), 3, "no retry");
    assert_eq!(api.state_of(&blue), Some(MachineState::Started));
    assert!(!api.is_cordoned(&blue));
    assert!(runtime.printed("Deployment Complete"));
    assert!(!runtime.printed_containing("Failed to destroy"));
    assert!(!runtime.printed_containing("Remove them manually"));
}

// Guards against 2023-06 leasing like HEAD: every attempt runs once, without retry, each failure is
// printed and the error is "error acquiring leases on all machines".
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn v2023_06_lease_failure_waits_for_all_without_retry() {
    let api = fleet(4);
    api.hold_lease(&MemoryApi::fleet_id(3), "someone-else");
    let (report, runtime) = run(&api, V2023_06).await;

    assert_eq!(report.outcome, DeployOutcome::Failed);
    assert_eq!(
        report.error.as_deref(),
        Some("error acquiring leases on all machines")
    );
    assert_eq!(api.calls_of(Op::AcquireLease).len(), 4);
    assert_eq!(api.calls_of(Op::ReleaseLease).len(), 3);
    assert!(runtime
        .printed_containing("failed to acquire lease: failed to get lease on VM b0000000000003"));
    assert!(api.calls_of(Op::Launch).is_empty());
}

// ======================= 2024-02 (versions §2) =======================

// Guards against the reaper keeping the wrong group: the smallest tag is kept, the orphans of a
// newer failed deploy are kill-destroyed (with the nonce, before any green) and dropped.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn v2024_02_reaper_destroys_newer_tag_groups() {
    let api = fleet(4);
    for (index, value) in [
        (1, "1775000000"),
        (2, "1775000000"),
        (3, "1775999999"),
        (4, "1775999999"),
    ] {
        tag(&api, index, value);
    }
    let (report, runtime) = run(&api, V2024_02).await;

    assert_outcome(&report, DeployOutcome::Succeeded, &runtime);
    assert!(runtime.phases().contains(&Phase::ReapZombies));
    assert!(runtime.printed("  Zombie Machine b0000000000003 destroyed [1775999999]"));
    assert!(runtime.printed("  Zombie Machine b0000000000004 destroyed [1775999999]"));
    let first_launch = api.calls().iter().position(|c| c.op == Op::Launch).unwrap();
    let zombie_destroys: Vec<_> = api.calls()[..first_launch]
        .iter()
        .filter(|c| c.op == Op::Destroy)
        .map(|c| (c.machine.clone().unwrap(), c.nonce))
        .collect();
    assert_eq!(
        zombie_destroys,
        vec![
            (MemoryApi::fleet_id(3), true),
            (MemoryApi::fleet_id(4), true)
        ]
    );
    assert_eq!(report.greens.len(), 2, "one green per kept blue");
    for green in &report.greens {
        let tag = metadata(&api, green, METADATA_DEPLOYMENT_TAG);
        assert_eq!(tag, Some(UNIX_START_SECONDS.to_string()));
    }
    assert!(api.alive().iter().all(|machine| is_green(&machine.id)));
}

// Guards against the reaper's hazard going unmodelled: one untagged machine ("-1") wins, so the
// whole tagged, serving fleet is destroyed before any green exists.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn v2024_02_reaper_keeps_an_untagged_machine_and_nukes_the_rest() {
    let api = fleet(3);
    tag(&api, 2, "1775000000");
    tag(&api, 3, "1775000000");
    let (report, runtime) = run(&api, V2024_02).await;

    assert!(runtime.printed("  Zombie Machine b0000000000002 destroyed [1775000000]"));
    assert_eq!(report.greens.len(), 1);
    assert_eq!(api.alive().len(), 1);
}

// Guards against 2024-02 draining like HEAD: uncordon, 10 s, sequential cordon with the nonce,
// 10 s, sequential stop, then destroy; greens are tagged.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn v2024_02_cordons_and_stops_blues_sequentially_between_10s_waits() {
    let api = fleet(3);
    let times: Rc<RefCell<Vec<(Op, tokio::time::Instant)>>> = Rc::default();
    for op in [Op::Uncordon, Op::Cordon, Op::Stop, Op::Destroy] {
        let times = times.clone();
        api.on_call(op, move |_, _| {
            times.borrow_mut().push((op, tokio::time::Instant::now()))
        });
    }
    let (report, runtime) = run(&api, V2024_02).await;

    assert_outcome(&report, DeployOutcome::Succeeded, &runtime);
    let times = times.borrow();
    let ops: Vec<Op> = times.iter().map(|(op, _)| *op).collect();
    let expected: Vec<Op> = [Op::Uncordon, Op::Cordon, Op::Stop, Op::Destroy]
        .into_iter()
        .flat_map(|op| [op; 3])
        .collect();
    assert_eq!(ops, expected);
    assert!(times[3].1 - times[2].1 >= Duration::from_secs(10));
    assert!(times[6].1 - times[5].1 >= Duration::from_secs(10));
    assert!(api.calls_of(Op::Cordon).iter().all(|call| call.nonce));
    assert!(api.calls_of(Op::SetMetadata).is_empty(), "no checkpoint");
    assert!(!runtime.markers().contains(&Marker::PointOfNoReturn));
}

/// Incident 3's end state: every green destroyed, every blue cordoned: nothing routable.
fn assert_nothing_routable(api: &MemoryApi, report: &DeployReport, count: usize) {
    assert_eq!(report.outcome, DeployOutcome::RolledBack);
    assert_eq!(report.greens.len(), count);
    assert!(alive_greens(api).is_empty());
    for blue in blues(count) {
        assert!(api.is_cordoned(&blue), "{blue} routable");
    }
    assert_eq!(calls_on_blues(api, Op::Uncordon), 0);
}

// Guards against incident 3 not being reproducible: one failed blue stop is only printed, the
// stop-wait times out (fatal) and the broad rollback destroys every green while the blues are
// cordoned and stopped.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn v2024_02_failed_stop_then_stop_wait_timeout_rolls_back_into_an_outage() {
    let api = fleet(3);
    let blue = MemoryApi::fleet_id(2);
    api.fail_always(Op::Stop, &blue, ApiError::status(503, "unavailable"));
    let runtime = TokioRuntime::new();
    let report = deploy_with(&api, &runtime, short_wait(V2024_02)).await;

    assert!(
        runtime.printed("  Failed to stop machine b0000000000002 [app]: unavailable (status 503)")
    );
    assert_eq!(api.calls_of(Op::Stop).len(), 3, "no retry");
    assert_eq!(
        report.error.as_deref(),
        Some("wait timeout\ncould not get all blue machines into stopped state")
    );
    assert_nothing_routable(&api, &report, 3);
    for other in [1, 3] {
        let id = MemoryApi::fleet_id(other);
        assert_eq!(api.state_of(&id), Some(MachineState::Stopped));
    }
    assert_eq!(api.state_of(&blue), Some(MachineState::Started));
    assert_eq!(calls_on_blues(&api, Op::Destroy), 0);
    assert!(
        !runtime.printed_containing("Rolling back"),
        "silent rollback"
    );
}

// Guards against incident 3's sequence B: an abort in the second 10 s sleep deletes every green
// while every blue is cordoned.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn v2024_02_abort_in_wait_before_stop_rolls_back_into_an_outage() {
    let api = fleet(3);
    let runtime = TokioRuntime::new();
    runtime.abort_at_phase(Phase::WaitBeforeStop);
    let report = deploy_with(&api, &runtime, params(V2024_02)).await;

    assert_eq!(report.error.as_deref(), Some("deployment aborted by user"));
    assert_nothing_routable(&api, &report, 3);
    for blue in blues(3) {
        assert_eq!(api.state_of(&blue), Some(MachineState::Started));
    }
    assert_eq!(calls_on_blues(&api, Op::Stop), 0);
}

// ======================= 2023-06 to 2024-05 =======================

// Guards the 2024 health wait's count (versions §1.1 step 8.2): it counts the results whose names
// do not start with `servicecheck-`, so a green whose only check is top-level (an app without
// services) is seen 1/1 passing at its first poll; counting the service results instead (0/0,
// never healthy) would run the wait into its timeout.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn historic_health_wait_counts_a_top_level_check_without_services() {
    for version in [V2023_06, V2024_02, V2024_05] {
        let api = fleet(3);
        for blue in blues(3) {
            api.modify(&blue, |machine| {
                machine.config.services.clear();
                let check = CheckConfig {
                    name: "alive".to_string(),
                    kind: CheckKind::Tcp,
                    interval: Some(Duration::from_secs(5)),
                    grace_period: Some(Duration::from_secs(1)),
                    timeout: Some(Duration::from_secs(2)),
                };
                machine.config.checks.insert(check.name.clone(), check);
            });
        }
        let (report, runtime) = run(&api, version).await;

        assert_outcome(&report, DeployOutcome::Succeeded, &runtime);
        assert!(
            runtime.phases().contains(&Phase::WaitHealthy),
            "{version:?}"
        );
        for green in &report.greens {
            let polls = api.calls_of(Op::Get);
            let on_green = polls
                .iter()
                .filter(|call| call.machine.as_ref() == Some(green));
            assert_eq!(
                on_green.count(),
                1,
                "{version:?} {green}: one poll, 1/1 passing"
            );
        }
    }
}

// ======================= 2024-05 (versions §3) =======================

// Guards against 2024-05 recording greens as they launch: the pool is not fail-fast, so one failed
// launch orphans every other (tagged, cordoned) green and rollback deletes none.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn v2024_05_one_failed_launch_orphans_every_other_green() {
    let api = fleet(6);
    api.fail_nth(Op::Launch, 4, ApiError::status(422, "invalid config"));
    let (report, runtime) = run(&api, V2024_05).await;

    assert_eq!(api.calls_of(Op::Launch).len(), 6);
    assert!(report.greens.is_empty());
    assert_eq!(green_recorded_count(&runtime), 0);
    let orphans = alive_greens(&api);
    assert_eq!(orphans.len(), 5);
    for orphan in &orphans {
        assert!(api.is_cordoned(orphan));
        let tag = metadata(&api, orphan, METADATA_DEPLOYMENT_TAG);
        assert_eq!(tag, Some(UNIX_START_SECONDS.to_string()));
    }
    assert!(api.calls_of(Op::Destroy).is_empty());
    assert!(runtime.printed("Rolling back failed deployment"));
    assert!(!runtime.printed_containing("Deleted machine"));
    assert_blues_serving(&api, 6);
}

// Guards against 2024-05 retrying launches: a transient failure is final (no lookup, no retry).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn v2024_05_transient_launch_failure_is_not_retried() {
    let api = fleet(3);
    api.fail_nth(Op::Launch, 1, ApiError::status(503, "upstream timeout"));
    let (report, _) = run(&api, V2024_05).await;

    assert_eq!(api.calls_of(Op::Launch).len(), 3);
    assert_eq!(api.calls_of(Op::List).len(), 1, "the machine-set list only");
    assert_eq!(report.outcome, DeployOutcome::RolledBack);
    assert_eq!(alive_greens(&api).len(), 2, "orphans");
}

// Guards against drifting from 2024's image-check wording (no `--app` in the hint, shorter header).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn v2024_05_refuses_mixed_images_with_the_2024_report() {
    let api = fleet(4);
    mix_images(&api, &[2, 4]);
    let (report, runtime) = run(&api, V2024_05).await;

    assert_eq!(report.outcome, DeployOutcome::Failed);
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
        "  These image(s) can be safely destroyed:",
        "    [x] cherrypicker:deployment-01LEFT - 2 machine(s) ('fly machines destroy --force --image=cherrypicker:deployment-01LEFT')",
        "  Here's how to fix your app so deployments can go through:",
        "    1. Find all the unwanted image versions from the list above.",
        "       Use 'fly machines list' and 'fly releases --image' to help determine unwanted images.",
        "    2. For each unwanted image version, run 'fly machines destroy --force --image=<image-version> --app <app-name>'",
        "    3. Retry the deployment with 'fly deploy'",
        "Deployment failed after error: found multiple image versions",
        "Error: found multiple image versions",
    ];
    assert_eq!(&lines[start..], &expected[..]);
}

// Guards against 2024-05's checkpoint being non-fatal: a failed tag is wrapped with the ready text
// and rolls back greens that are already uncordoned; the blues still serve.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn v2024_05_checkpoint_failure_rolls_back_uncordoned_greens() {
    let api = fleet(3);
    api.fail_nth(Op::SetMetadata, 2, ApiError::status(500, "internal error"));
    let (report, runtime) = run(&api, V2024_05).await;

    assert_eq!(
        api.calls_of(Op::SetMetadata).len(),
        3,
        "a pool, one call each"
    );
    assert_eq!(api.calls_of(Op::Uncordon).len(), 3);
    assert!(runtime.markers().contains(&Marker::PointOfNoReturn));
    assert_eq!(report.outcome, DeployOutcome::RolledBack);
    assert_eq!(
        report.error.as_deref(),
        Some("internal error (status 500)\nfailed to mark green machines as ready")
    );
    assert!(alive_greens(&api).is_empty());
    assert_blues_serving(&api, 3);
}

// Guards against 2024-05 rolling back after the point of no return: a stop-wait timeout is fatal
// but keeps the greens (2024-02 would have deleted them).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn v2024_05_stop_wait_timeout_does_not_roll_back() {
    let api = fleet(3);
    api.never_stops(&MemoryApi::fleet_id(2));
    let runtime = TokioRuntime::new();
    let report = deploy_with(&api, &runtime, short_wait(V2024_05)).await;

    assert_eq!(report.outcome, DeployOutcome::Failed);
    assert_eq!(
        report.error.as_deref(),
        Some("wait timeout\ncould not get all blue machines into stopped state")
    );
    assert_eq!(alive_greens(&api).len(), 3);
    for green in &report.greens {
        assert!(!api.is_cordoned(green));
    }
    assert!(!runtime.printed_containing("Rolling back"));
}

// Guards against 2024-05's create tasks checking the abort flag: every launch still runs, the abort
// is noticed after creation and every (now recorded) green is rolled back. HEAD stops at two.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn v2024_05_create_tasks_ignore_abort() {
    let api = fleet(6);
    let runtime = TokioRuntime::new();
    let abort = runtime.clone();
    api.on_call(Op::Launch, move |nth, _| {
        if nth == 2 {
            abort.request_abort();
        }
    });
    let report = deploy_with(&api, &runtime, params(V2024_05)).await;

    assert_eq!(api.calls_of(Op::Launch).len(), 6);
    assert_eq!(report.greens.len(), 6);
    assert_eq!(report.outcome, DeployOutcome::RolledBack);
    assert!(alive_greens(&api).is_empty());
    assert_blues_serving(&api, 6);
}

// Guards against 2024-05's pools using HEAD's default of 8: `--max-concurrent` defaulted to 16.
#[test]
fn v2024_05_max_concurrent_defaults_to_16() {
    assert_eq!(params(V2024_05).max_concurrent, 16);
    assert_eq!(params(HEAD).max_concurrent, 8);
}

// Guards the 2024-02 loop-variable race (versions §2.1 step 15, issue 10): the pool of 16
// destroys every blue once, but each success line reads the loop variable after the call, when it
// holds the last blue, so all four lines name it, on every seed.
#[test]
fn v2024_02_destroy_lines_name_the_last_blue() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/flyctl/v2024-02-destroy-loop-variable.toml");
    let scenario = fleetsim::scenario::load(&path).expect("valid");
    for seed in 1..=5 {
        let result = fleetsim::sim::Simulation::new(&scenario).seed(seed).run();
        let last_blue = &result.machine_ids[3];
        let destroyed: Vec<&str> = result.deploys[0]
            .output
            .iter()
            .map(|(_, line)| line.as_str())
            .filter(|line| line.ends_with(" destroyed"))
            .collect();
        let expected = format!("  Machine {last_blue} [app] destroyed");
        assert_eq!(destroyed, vec![expected.as_str(); 4], "seed {seed}");
    }
    // HEAD (Go 1.22 loop variables) names each blue it destroyed.
    let mut head = scenario.clone();
    head.deploys[0].strategy = StrategyName::Bluegreen(BluegreenVersion::V2026_08);
    let result = fleetsim::sim::Simulation::new(&head).run();
    let named: std::collections::BTreeSet<&str> = result.deploys[0]
        .output
        .iter()
        .map(|(_, line)| line.as_str())
        .filter(|line| line.ends_with(" destroyed"))
        .collect();
    assert_eq!(named.len(), 4);
}
