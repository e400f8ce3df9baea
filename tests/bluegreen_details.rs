//! Specific behaviours of the port: retry arithmetic, idempotent launches, rollback mechanics,
//! leases, machine-set selection, determinism.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use common::{assert_outcome, deploy, fleet, TokioRuntime, APP, OLD_IMAGE};
use fleetsim::api::memory::{MemoryApi, Op};
use fleetsim::api::{
    ApiError, HostStatus, ImageRef, MachineState, METADATA_PLATFORM_VERSION, METADATA_PROCESS_GROUP,
};
use fleetsim::deploy::DeployOutcome;

// Guards against the uncordon retry drifting from HEAD's 5 attempts with 0.5/1/2/4 s waits.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn uncordon_is_retried_five_times_with_doubling_waits() {
    // One green, so every uncordon call is on it.
    let api = fleet(1);
    let failing = MemoryApi::launched_id(1);
    // Fails four times, then succeeds.
    for nth in 1..=4 {
        api.fail_nth(Op::Uncordon, nth, ApiError::status(408, "request timeout"));
    }
    let times: Rc<RefCell<Vec<tokio::time::Instant>>> = Rc::new(RefCell::new(Vec::new()));
    let recorded = times.clone();
    let watched = failing.clone();
    api.on_call(Op::Uncordon, move |_, machine| {
        if machine == Some(&watched) {
            recorded.borrow_mut().push(tokio::time::Instant::now());
        }
    });
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_outcome(&report, DeployOutcome::Succeeded, &runtime);
    let times = times.borrow();
    assert_eq!(times.len(), 5);
    let waits: Vec<Duration> = times.windows(2).map(|pair| pair[1] - pair[0]).collect();
    let expected: Vec<Duration> = [500, 1000, 2000, 4000]
        .into_iter()
        .map(Duration::from_millis)
        .collect();
    assert_eq!(waits, expected);
    assert!(runtime.printed(
        "  Retrying uncordon for machine a0000000000001 [app] (attempt 2/5): request timeout (status 408)"
    ));
    assert!(runtime.printed_containing("(attempt 5/5)"));
}

// Guards against duplicate greens after an ambiguous create: a launch that lands but answers 503
// must be found by its launch ID and adopted, not launched again.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn ambiguous_launch_is_adopted_by_launch_id() {
    let api = fleet(6);
    api.fail_nth_after_effect(Op::Launch, 2, ApiError::status(503, "upstream timeout"));
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_outcome(&report, DeployOutcome::Succeeded, &runtime);
    assert_eq!(api.calls_of(Op::Launch).len(), 6, "no second launch");
    assert_eq!(
        api.calls_of(Op::List).len(),
        2,
        "machine-set list and one lookup"
    );
    assert_eq!(report.greens.len(), 6);
    assert!(report.greens.contains(&MemoryApi::launched_id(2)));
    assert_eq!(api.alive().len(), 6, "no duplicate");
    assert!(runtime.printed(
        "  Launch reported an error but machine a0000000000002 was already created (idempotency tag matched); reusing it"
    ));
}

// Guards against giving up on a transient launch failure that did not create anything.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn transient_launch_failure_is_looked_up_then_retried() {
    let api = fleet(3);
    api.fail_nth(Op::Launch, 1, ApiError::status(503, "upstream timeout"));
    api.fail_nth(
        Op::Launch,
        2,
        ApiError::transport("connection reset by peer"),
    );
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_outcome(&report, DeployOutcome::Succeeded, &runtime);
    assert_eq!(api.calls_of(Op::Launch).len(), 5);
    assert_eq!(api.alive().len(), 3);
    assert!(runtime.printed(
        "  Retrying green machine launch (attempt 2/3): failed to launch VM: upstream timeout (status 503)"
    ));
    assert!(runtime.printed_containing("(attempt 3/3)"));
}

// Guards against retrying a launch three times and then continuing: the third failure is final.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn launch_gives_up_after_three_transient_failures() {
    let api = fleet(1);
    api.fail_every(Op::Launch, ApiError::status(500, "internal error"));
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_eq!(api.calls_of(Op::Launch).len(), 3);
    assert_eq!(report.outcome, DeployOutcome::RolledBack);
    assert_eq!(
        report.error.as_deref(),
        Some("failed to launch VM: internal error (status 500)\nfailed to create green machines")
    );
}

// Guards against rollback carrying on past a destroy error (HEAD stops at the first one,
// leaving the remaining greens behind) and against the wrong final error.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn rollback_stops_at_the_first_destroy_error() {
    let api = fleet(4);
    api.set_can_perform_bluegreen(true);
    api.never_healthy(&MemoryApi::launched_id(4));
    api.fail_always(
        Op::Destroy,
        &MemoryApi::launched_id(2),
        ApiError::status(500, "host unavailable"),
    );
    let runtime = TokioRuntime::new();
    let mut params = common::params();
    params.wait_timeout = Duration::from_secs(20);
    let report = common::deploy_with(&api, &runtime, params).await;

    assert_eq!(report.outcome, DeployOutcome::RollbackFailed);
    assert_eq!(report.exit_status, 1);
    assert_eq!(
        api.state_of(&MemoryApi::launched_id(1)),
        Some(MachineState::Destroyed)
    );
    for k in 2..=4 {
        assert!(
            api.exists(&MemoryApi::launched_id(k)),
            "green {k} left behind"
        );
    }
    let green_destroys = api
        .calls_of(Op::Destroy)
        .into_iter()
        .filter(|call| {
            call.machine
                .as_ref()
                .is_some_and(|id| id.0.starts_with('a'))
        })
        .count();
    assert_eq!(
        green_destroys, 2,
        "sequential, no retry, stops at the error"
    );
    let rollback_error =
        "failed to destroy VM a0000000000002: host unavailable (status 500)".to_string();
    assert_eq!(report.error.as_deref(), Some(rollback_error.as_str()));
    assert!(runtime.printed(&format!("Error in rollback: {rollback_error}")));
    assert!(runtime.printed(&format!("Error: {rollback_error}")));
    // Blues untouched and their leases released.
    for index in 1..=4 {
        let blue = MemoryApi::fleet_id(index);
        assert_eq!(api.state_of(&blue), Some(MachineState::Started));
        assert_eq!(api.lease_owner(&blue), None);
    }
}

// Guards against lease refresh loops that outlive the deploy (the simulator must quiesce) or that
// do not refresh every (TTL − 1 s) / 3.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn lease_refresh_runs_every_four_seconds_and_ends_with_the_deploy() {
    let api = fleet(2);
    let runtime = TokioRuntime::new();
    // `deploy` awaits the LocalSet: it returns only once every refresh loop has ended.
    let report = deploy(&api, &runtime).await;
    assert_eq!(report.outcome, DeployOutcome::Succeeded);

    let calls = api.calls();
    let refreshes = calls
        .iter()
        .filter(|call| call.op == Op::RefreshLease)
        .count();
    // The deploy takes about 21.5 s: 5 periods of ~4 s per blue.
    assert_eq!(refreshes, 2 * 5, "{refreshes}");
    assert!(calls
        .iter()
        .filter(|call| call.op == Op::RefreshLease)
        .all(|call| call.nonce));
    let period_sleeps = runtime
        .sleeps()
        .into_iter()
        .filter(|sleep| {
            *sleep >= Duration::from_millis(3_980) && *sleep <= Duration::from_millis(4_020)
        })
        .count();
    assert!(period_sleeps >= 10);
}

// Guards against a lease acquisition that is not fail-fast or leaks the leases it did get.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn lease_failure_releases_the_leases_already_taken() {
    let api = fleet(3);
    api.fail_always(
        Op::AcquireLease,
        &MemoryApi::fleet_id(2),
        ApiError::status(400, "bad request"),
    );
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_eq!(report.outcome, DeployOutcome::Failed);
    for index in 1..=3 {
        assert_eq!(api.lease_owner(&MemoryApi::fleet_id(index)), None);
    }
    assert_eq!(api.calls_of(Op::ReleaseLease).len(), 2);
    assert!(runtime
        .printed_containing("failed to acquire lease: failed to get lease on VM b0000000000002"));
}

// Guards against non-deterministic schedules: the same inputs give the same output and calls.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn same_inputs_give_the_same_run() {
    let mut outputs = Vec::new();
    for _ in 0..2 {
        let api = fleet(7);
        api.fail_nth(Op::Uncordon, 3, ApiError::status(429, "slow down"));
        api.fail_nth_after_effect(Op::Launch, 5, ApiError::status(408, "timeout"));
        let runtime = TokioRuntime::new();
        let report = deploy(&api, &runtime).await;
        outputs.push((report, runtime.lines(), api.calls(), api.machines()));
    }
    assert_eq!(outputs[0], outputs[1]);
}

// Guards against invoking the strategy on an empty machine set (flyctl never does).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn empty_fleet_succeeds_without_touching_anything() {
    let api = Rc::new(MemoryApi::new(APP));
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;
    assert_eq!(report.outcome, DeployOutcome::Succeeded);
    assert_eq!(report.exit_status, 0);
    assert!(runtime.lines().is_empty());
    assert_eq!(api.calls_of(Op::List).len(), 1);
    assert_eq!(api.calls().len(), 1);
}

// Guards against managing machines `ListFlyAppsMachines` excludes: destroyed, non-v2, release
// command and console machines.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn machine_set_is_active_v2_app_machines_only() {
    let api = fleet(2);
    let mut config = MemoryApi::default_config();
    config.image = OLD_IMAGE.to_string();
    let extra = |index: usize| fleetsim::api::MachineId(format!("c{index:013x}"));
    api.add_machine(extra(1), MachineState::Destroyed, config.clone());
    let mut v1 = config.clone();
    v1.metadata.remove(METADATA_PLATFORM_VERSION);
    api.add_machine(extra(2), MachineState::Started, v1);
    let mut release = config.clone();
    release.metadata.insert(
        METADATA_PROCESS_GROUP.to_string(),
        "fly_app_release_command".to_string(),
    );
    api.add_machine(extra(3), MachineState::Started, release);
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_eq!(report.outcome, DeployOutcome::Succeeded);
    assert_eq!(
        report.blues,
        vec![MemoryApi::fleet_id(1), MemoryApi::fleet_id(2)]
    );
    assert_eq!(report.greens.len(), 2);
    assert_eq!(api.state_of(&extra(2)), Some(MachineState::Started));
    assert_eq!(api.state_of(&extra(3)), Some(MachineState::Started));
}

// Guards against stopped blues getting started greens (HEAD's skip_launch rule) and against a
// checked group being left without any health-verified machine (force-start representative).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stopped_fleet_gets_stopped_greens_but_one_forced_representative() {
    let api = fleet(3);
    for index in 1..=3 {
        api.modify(&MemoryApi::fleet_id(index), |machine| {
            machine.state = MachineState::Stopped;
        });
    }
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_outcome(&report, DeployOutcome::Succeeded, &runtime);
    let states: Vec<MachineState> = report
        .greens
        .iter()
        .map(|green| api.state_of(green).expect("green"))
        .collect();
    assert_eq!(
        states,
        vec![
            MachineState::Started,
            MachineState::Created,
            MachineState::Created
        ]
    );
    // The representative was health-polled; the skip-launch greens were not.
    let gets = api.calls_of(Op::Get);
    assert!(!gets.is_empty());
    assert!(gets
        .iter()
        .all(|call| call.machine.as_ref() == Some(&report.greens[0])));
    // Skip-launch greens are uncordoned too.
    assert!(report.greens.iter().all(|green| !api.is_cordoned(green)));
}

// Guards against a checkpoint failure stopping the deploy (non-fatal at HEAD, warned with a
// destroy command).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn checkpoint_tag_failure_is_warned_and_the_deploy_completes() {
    let api = fleet(2);
    api.fail_every(Op::SetMetadata, ApiError::status(408, "request timeout"));
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_eq!(report.outcome, DeployOutcome::Succeeded);
    assert_eq!(api.calls_of(Op::SetMetadata).len(), 2 * 5);
    assert!(runtime.printed(
        "  [warn] Could not tag machine b0000000000001 [app] as safe-for-deletion after 5 attempts: request timeout (status 408)"
    ));
    assert!(runtime
        .printed_containing("  [warn] 2 blue machine(s) could not be tagged safe-for-deletion."));
    assert!(runtime.printed(&format!("    fly machine destroy --force -a {APP} \\")));
}

// Guards against an unreachable blue blocking the image check or getting cordon/stop calls; its
// destroy goes without a nonce, which this API refuses while the deployer's lease is held, so it
// ends up hanging and printed.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn unreachable_blue_is_skipped_and_destroyed_without_nonce() {
    let api = fleet(3);
    let unreachable = MemoryApi::fleet_id(3);
    api.modify(&unreachable, |machine| {
        machine.host_status = HostStatus::Unreachable;
        machine.image_ref = Default::default();
    });
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_outcome(&report, DeployOutcome::Succeeded, &runtime);
    assert!(runtime.printed("    · b0000000000003"));
    let touched = |op: Op| {
        api.calls_of(op)
            .into_iter()
            .filter(|call| call.machine.as_ref() == Some(&unreachable))
            .collect::<Vec<_>>()
    };
    assert!(touched(Op::Cordon).is_empty());
    assert!(touched(Op::Stop).is_empty());
    let destroys = touched(Op::Destroy);
    assert_eq!(destroys.len(), 1);
    assert!(!destroys[0].nonce);
    assert_eq!(report.hanging, vec![unreachable.clone()]);
    assert_eq!(report.greens.len(), 3);
}

// Guards against background tasks (lease refresh, per-machine waits) outliving a deployer that
// is killed mid-deploy: the simulator must be able to quiesce.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn killed_deployer_leaves_no_task_running() {
    // 0.35 s: inside the start wait; 1.2 s: inside the health wait; 5 s: first 10 s sleep.
    for kill_after_ms in [350, 1_200, 5_000] {
        let api = fleet(3);
        let runtime = TokioRuntime::new();
        let local = tokio::task::LocalSet::new();
        let run = fleetsim::deploy::run_deploy(api.clone(), runtime.clone(), common::params());
        let killed = local
            .run_until(tokio::time::timeout(
                Duration::from_millis(kill_after_ms),
                run,
            ))
            .await;
        assert!(killed.is_err(), "the deploy was still running");
        let quiesced = tokio::time::timeout(Duration::from_secs(10), local).await;
        assert!(
            quiesced.is_ok(),
            "tasks still running after a kill at {kill_after_ms} ms"
        );
    }
}

// Guards the image check's refetch (§3.1): a blue listed without an image whose GET finds it is
// counted with the others (one image, no unreachable banner), not left out or counted as "".
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn blue_listed_without_image_is_counted_once_its_get_finds_it() {
    let api = fleet(3);
    let blank = MemoryApi::fleet_id(2);
    api.modify(&blank, |machine| machine.image_ref = ImageRef::default());
    let restore = (api.clone(), blank.clone());
    api.on_call(Op::Get, move |_, machine| {
        if machine == Some(&restore.1) {
            let image = ImageRef::parse(OLD_IMAGE);
            restore
                .0
                .modify(&restore.1, |machine| machine.image_ref = image);
        }
    });
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_outcome(&report, DeployOutcome::Succeeded, &runtime);
    assert!(runtime.printed("  Machine b0000000000002 has no image data — retrying lookup..."));
    assert!(!runtime.printed_containing("WARNING: some machines"));
    assert!(!runtime.printed_containing("different images"));
    assert_eq!(report.greens.len(), 3);
}

// Guards the image check's refetch (§3.1): a GET that still shows no image (or a host that is not
// ok) counts the blue unreachable, named in the banner, and the check passes on the others.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn blue_whose_get_still_has_no_image_or_a_bad_host_is_unreachable() {
    for bad_host in [false, true] {
        let api = fleet(3);
        let blank = MemoryApi::fleet_id(2);
        api.modify(&blank, |machine| machine.image_ref = ImageRef::default());
        let fetched = (api.clone(), blank.clone());
        api.on_call(Op::Get, move |_, machine| {
            // A GET that finds the image on a host that is not ok (the list saw the host ok).
            if bad_host && machine == Some(&fetched.1) {
                fetched.0.modify(&fetched.1, |machine| {
                    machine.image_ref = ImageRef::parse(OLD_IMAGE);
                    machine.host_status = HostStatus::Unknown;
                });
            }
        });
        let runtime = TokioRuntime::new();
        let _ = deploy(&api, &runtime).await;

        let gets_on_blank = api.calls_of(Op::Get);
        let gets_on_blank = gets_on_blank
            .iter()
            .filter(|call| call.machine.as_ref() == Some(&blank));
        assert!(gets_on_blank.count() >= 1, "bad host {bad_host}");
        assert_image_check_passed_despite(&runtime, &["b0000000000002"]);
    }
}

/// The image check passed with the unreachable banner naming `unreachable`, and greens came next.
fn assert_image_check_passed_despite(runtime: &TokioRuntime, unreachable: &[&str]) {
    for id in unreachable {
        let line = format!("    · {id}");
        assert!(runtime.printed(&line), "{}", runtime.output());
    }
    assert!(
        !runtime.printed_containing("different images"),
        "{}",
        runtime.output()
    );
    assert!(
        runtime.printed("Creating green machines"),
        "{}",
        runtime.output()
    );
}

/// Puts blue `index` on an unreachable host, listed without an image (fly-go's incomplete config).
fn make_unreachable(api: &MemoryApi, index: usize) {
    api.modify(&MemoryApi::fleet_id(index), |machine| {
        machine.host_status = HostStatus::Unreachable;
        machine.image_ref = ImageRef::default();
    });
}

// Guards the image check's verdict (§3.1): an unreachable blue does not excuse two images among
// the reachable ones; the report is printed and the deploy fails before any launch.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn unreachable_blue_does_not_hide_two_images_among_the_others() {
    let api = fleet(4);
    make_unreachable(&api, 4);
    let other = "registry.fly.io/cherrypicker:deployment-01LEFT";
    api.modify(&MemoryApi::fleet_id(2), |machine| {
        machine.config.image = other.to_string();
        machine.image_ref = ImageRef::parse(other);
    });
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_outcome(&report, DeployOutcome::Failed, &runtime);
    assert!(runtime.printed("    · b0000000000004"));
    assert!(runtime.printed_containing("Found 2 different images in your app"));
    assert!(api.calls_of(Op::Launch).is_empty());
}

// Guards the image check's verdict (§3.1): when every blue is unreachable there is no image to
// disagree on; the check passes with the banner and the deploy goes on to create greens.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn image_check_passes_when_every_blue_is_unreachable() {
    let api = fleet(2);
    make_unreachable(&api, 1);
    make_unreachable(&api, 2);
    let runtime = TokioRuntime::new();
    let _ = deploy(&api, &runtime).await;

    assert_image_check_passed_despite(&runtime, &["b0000000000001", "b0000000000002"]);
}
