//! `[[deploy]]`'s overrides of flyctl's retry budgets and waits (issue 10, step 1): each setting
//! changes the step it names, as flyctl's own tests change the strategy's fields; historic
//! versions without that retry keep a single call; bad values are errors at file:line:column.

mod common;

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use common::{assert_outcome, deploy_with, fleet, params, TokioRuntime};
use fleetsim::api::memory::{MemoryApi, Op};
use fleetsim::api::{ApiError, ImageRef, MachineId};
use fleetsim::deploy::behaviour::BluegreenSettings;
use fleetsim::deploy::{BluegreenVersion, DeployOutcome, DeployParams, StrategyName};
use fleetsim::scenario::{parse, to_toml, ScenarioError};
use tokio::time::Instant;

fn millis(value: u64) -> Duration {
    Duration::from_millis(value)
}

fn unavailable() -> ApiError {
    ApiError::status(503, "service unavailable")
}

/// Records the virtual time of every call of `op` (on `machine`, or on any machine).
fn call_times(api: &MemoryApi, op: Op, machine: Option<MachineId>) -> Rc<RefCell<Vec<Instant>>> {
    let times: Rc<RefCell<Vec<Instant>>> = Rc::new(RefCell::new(Vec::new()));
    let recorded = times.clone();
    api.on_call(op, move |_, called| {
        if machine.is_none() || called == machine.as_ref() {
            recorded.borrow_mut().push(Instant::now());
        }
    });
    times
}

fn gaps(times: &[Instant]) -> Vec<Duration> {
    times.windows(2).map(|pair| pair[1] - pair[0]).collect()
}

fn with(settings: BluegreenSettings) -> DeployParams {
    let mut params = params();
    params.settings = settings;
    params
}

// Guards `launch_attempts`, `launch_backoff` and `launch_lookup_delay`: a launch failing with a
// transient error is tried that many times, each failure followed by the lookup pause, each retry
// by the back-off (doubling).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn launch_attempts_backoff_and_lookup_delay() {
    let api = fleet(1);
    api.fail_every(Op::Launch, unavailable());
    let launches = call_times(&api, Op::Launch, None);
    let lookups = call_times(&api, Op::List, None);
    let runtime = TokioRuntime::new();
    let settings = BluegreenSettings {
        launch_attempts: Some(4),
        launch_backoff: Some(millis(200)),
        launch_lookup_delay: Some(millis(50)),
        ..Default::default()
    };
    let report = deploy_with(&api, &runtime, with(settings)).await;

    assert_outcome(&report, DeployOutcome::RolledBack, &runtime);
    let launches = launches.borrow();
    assert_eq!(launches.len(), 4);
    // The first list is the machine-set selection; then one lookup per failed launch.
    let lookups = lookups.borrow();
    assert_eq!(lookups.len(), 1 + 4);
    for (launch, lookup) in launches.iter().zip(&lookups[1..]) {
        assert_eq!(*lookup - *launch, millis(50));
    }
    // lookup pause + back-off (200, 400, 800 ms) between launches.
    assert_eq!(gaps(&launches), vec![millis(250), millis(450), millis(850)]);
    assert!(runtime.printed_containing("Retrying green machine launch (attempt 4/4)"));
}

// Guards `checkpoint_attempts` and `checkpoint_backoff`: the safe_to_destroy tag is tried that
// many times, and the warning names the configured count.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn checkpoint_attempts_and_backoff() {
    let api = fleet(1);
    api.fail_every(Op::SetMetadata, unavailable());
    let tags = call_times(&api, Op::SetMetadata, None);
    let runtime = TokioRuntime::new();
    let settings = BluegreenSettings {
        checkpoint_attempts: Some(3),
        checkpoint_backoff: Some(millis(100)),
        ..Default::default()
    };
    let report = deploy_with(&api, &runtime, with(settings)).await;

    assert_outcome(&report, DeployOutcome::Succeeded, &runtime);
    assert_eq!(gaps(&tags.borrow()), vec![millis(100), millis(200)]);
    assert!(runtime.printed_containing("as safe-for-deletion after 3 attempts"));
}

// Guards `teardown_attempts` and `teardown_backoff`: a blue's cordon failing with a transient
// error is tried that many times, with the doubling back-off.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn teardown_attempts_and_backoff() {
    let api = fleet(1);
    api.fail_every(Op::Cordon, unavailable());
    let cordons = call_times(&api, Op::Cordon, None);
    let runtime = TokioRuntime::new();
    let settings = BluegreenSettings {
        teardown_attempts: Some(3),
        teardown_backoff: Some(millis(300)),
        ..Default::default()
    };
    let report = deploy_with(&api, &runtime, with(settings)).await;

    assert_outcome(&report, DeployOutcome::Succeeded, &runtime);
    assert_eq!(gaps(&cordons.borrow()), vec![millis(300), millis(600)]);
}

// Guards `image_refetch_attempts` and `image_refetch_backoff`: a blue listed without an image is
// fetched again that many times before it counts as unreachable.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn image_refetch_attempts_and_backoff() {
    let api = fleet(2);
    let blank = MemoryApi::fleet_id(2);
    api.modify(&blank, |machine| machine.image_ref = ImageRef::default());
    api.fail_always(Op::Get, &blank, unavailable());
    let gets = call_times(&api, Op::Get, Some(blank.clone()));
    let runtime = TokioRuntime::new();
    let settings = BluegreenSettings {
        image_refetch_attempts: Some(2),
        image_refetch_backoff: Some(millis(250)),
        ..Default::default()
    };
    let _ = deploy_with(&api, &runtime, with(settings)).await;

    let gets = gets.borrow();
    assert_eq!(gets.len(), 2, "{}", runtime.output());
    assert_eq!(gaps(&gets), vec![millis(250)]);
    assert!(runtime.printed_containing("(attempt 1/2)"));
}

// Guards `uncordon_attempts` and `uncordon_backoff`, including a zero back-off (as flyctl's own
// tests set `uncordonRetryDelay = 0`).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn uncordon_attempts_and_zero_backoff() {
    let api = fleet(1);
    api.fail_every(Op::Uncordon, ApiError::status(408, "request timeout"));
    let uncordons = call_times(&api, Op::Uncordon, None);
    let runtime = TokioRuntime::new();
    let settings = BluegreenSettings {
        uncordon_attempts: Some(3),
        uncordon_backoff: Some(Duration::ZERO),
        ..Default::default()
    };
    let report = deploy_with(&api, &runtime, with(settings)).await;

    assert_outcome(&report, DeployOutcome::RolledBack, &runtime);
    assert_eq!(
        gaps(&uncordons.borrow()),
        vec![Duration::ZERO, Duration::ZERO]
    );
    assert!(runtime.printed_containing("(attempt 3/3)"));
}

// Guards `wait_before_cordon` and `wait_before_stop`: the sleeps around the blue cordon last
// what the deploy says (MemoryApi answers at once, so the gaps are the sleeps exactly).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn waits_before_cordon_and_stop() {
    let api = fleet(1);
    let tags = call_times(&api, Op::SetMetadata, None);
    let cordons = call_times(&api, Op::Cordon, None);
    let stops = call_times(&api, Op::Stop, None);
    let runtime = TokioRuntime::new();
    let settings = BluegreenSettings {
        wait_before_cordon: Some(Duration::from_secs(3)),
        wait_before_stop: Some(Duration::ZERO),
        ..Default::default()
    };
    let report = deploy_with(&api, &runtime, with(settings)).await;

    assert_outcome(&report, DeployOutcome::Succeeded, &runtime);
    let tagged = *tags.borrow().last().expect("a tag");
    let cordoned = cordons.borrow()[0];
    assert_eq!(cordoned - tagged, Duration::from_secs(3));
    assert_eq!(stops.borrow()[0] - cordoned, Duration::ZERO);
}

// Guards `stop_wait_timeout`: a blue that never stops ends the stop-wait after that budget, not
// after the deploy's wait timeout.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stop_wait_timeout_bounds_the_wait_for_stopped_blues() {
    let api = fleet(1);
    api.never_stops(&MemoryApi::fleet_id(1));
    let stops = call_times(&api, Op::Stop, None);
    let releases = call_times(&api, Op::ReleaseLease, None);
    let runtime = TokioRuntime::new();
    let settings = BluegreenSettings {
        stop_wait_timeout: Some(Duration::from_secs(20)),
        ..Default::default()
    };
    let report = deploy_with(&api, &runtime, with(settings)).await;

    assert_outcome(&report, DeployOutcome::Failed, &runtime);
    let waited = releases.borrow()[0] - stops.borrow()[0];
    assert!(
        waited >= Duration::from_secs(20) && waited < Duration::from_secs(21),
        "waited {waited:?}"
    );
}

// Guards `health_timeout`: a green that never passes rolls back after that budget.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn health_timeout_bounds_the_health_wait() {
    let api = fleet(1);
    api.never_healthy(&MemoryApi::launched_id(1));
    let waits = call_times(&api, Op::Wait, None);
    let destroys = call_times(&api, Op::Destroy, None);
    let runtime = TokioRuntime::new();
    let settings = BluegreenSettings {
        health_timeout: Some(Duration::from_secs(40)),
        ..Default::default()
    };
    let report = deploy_with(&api, &runtime, with(settings)).await;

    assert_outcome(&report, DeployOutcome::RolledBack, &runtime);
    let waited = destroys.borrow()[0] - *waits.borrow().last().expect("a start wait");
    assert!(
        waited >= Duration::from_secs(40) && waited < Duration::from_secs(41),
        "waited {waited:?}"
    );
}

// Guards the rule that a setting changes a step only where the version has it: 2024-05 made one
// uncordon call (versions §3.1 step 9), whatever `uncordon_attempts` says.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn historic_versions_keep_their_single_calls() {
    let api = fleet(1);
    api.fail_every(Op::Uncordon, unavailable());
    let runtime = TokioRuntime::new();
    let mut params = with(BluegreenSettings {
        uncordon_attempts: Some(4),
        ..Default::default()
    });
    params.strategy = StrategyName::Bluegreen(BluegreenVersion::V2024_05);
    let _ = deploy_with(&api, &runtime, params).await;
    assert_eq!(api.calls_of(Op::Uncordon).len(), 1, "{}", runtime.output());
}

// ---- scenario files ----

const DEPLOY: &str = r#"[scenario]
name = "settings"

[app]
name = "app"
image = "img:1"

[[fleet]]
region = "iad"
count = 2

[[deploy]]
image = "img:2"
"#;

/// The scenario with `lines` added to its `[[deploy]]` (which starts on line 12).
fn deploy_with_lines(lines: &str) -> String {
    format!("{DEPLOY}{lines}\n")
}

fn error(lines: &str) -> ScenarioError {
    match parse(Path::new("test.toml"), &deploy_with_lines(lines)) {
        Ok(_) => panic!("expected an error for {lines:?}"),
        Err(error) => error,
    }
}

// Guards the scenario fields: every one is read, written back by the scenario writer, and
// reaches the deploy's parameters.
#[test]
fn every_setting_is_read_and_written_back() {
    let lines = r#"launch_attempts = 2
launch_backoff = "250ms"
launch_lookup_delay = "0s"
checkpoint_attempts = 1
checkpoint_backoff = "10s"
teardown_attempts = 7
teardown_backoff = "1s"
image_refetch_attempts = 20
image_refetch_backoff = "5s"
uncordon_attempts = 9
uncordon_backoff = "30s"
wait_before_cordon = "2s"
wait_before_stop = "10m"
stop_wait_timeout = "45s"
health_timeout = "24h""#;
    let scenario = parse(Path::new("test.toml"), &deploy_with_lines(lines)).expect("valid");
    let expected = BluegreenSettings {
        launch_attempts: Some(2),
        launch_backoff: Some(millis(250)),
        launch_lookup_delay: Some(Duration::ZERO),
        checkpoint_attempts: Some(1),
        checkpoint_backoff: Some(Duration::from_secs(10)),
        teardown_attempts: Some(7),
        teardown_backoff: Some(Duration::from_secs(1)),
        image_refetch_attempts: Some(20),
        image_refetch_backoff: Some(Duration::from_secs(5)),
        uncordon_attempts: Some(9),
        uncordon_backoff: Some(Duration::from_secs(30)),
        wait_before_cordon: Some(Duration::from_secs(2)),
        wait_before_stop: Some(Duration::from_secs(600)),
        stop_wait_timeout: Some(Duration::from_secs(45)),
        health_timeout: Some(Duration::from_secs(24 * 3600)),
    };
    assert_eq!(scenario.deploys[0].settings, expected);
    let written = to_toml(&scenario);
    let again = parse(Path::new("test.toml"), &written).expect("the writer's output parses");
    assert_eq!(again.deploys[0].settings, expected, "{written}");
    // Left out: HEAD's values.
    let plain = parse(Path::new("test.toml"), DEPLOY).expect("valid");
    assert_eq!(plain.deploys[0].settings, BluegreenSettings::default());
}

// Guards the ranges and the error positions of every setting: the added line is line 14; range
// and type errors point at the value, an unknown key at the key.
#[test]
fn bad_settings_name_file_line_column_and_field() {
    let cases: [(&str, &str); 12] = [
        ("launch_attempts = 0", "must be between 1 and 20"),
        ("teardown_attempts = 21", "must be between 1 and 20"),
        ("uncordon_attempts = \"5\"", "expected an integer"),
        ("checkpoint_backoff = \"11s\"", "at most 10s"),
        ("uncordon_backoff = \"31s\"", "at most 30s"),
        ("launch_backoff = \"6s\"", "at most 5s"),
        ("image_refetch_backoff = \"-1s\"", "negative duration"),
        ("launch_lookup_delay = \"2m\"", "at most 1m"),
        ("wait_before_stop = \"11m\"", "at most 10m"),
        ("stop_wait_timeout = \"0s\"", "greater than 0"),
        ("health_timeout = \"25h\"", "at most 24h"),
        ("checkpoint_attempts = -1", "must be between 1 and 20"),
    ];
    for (line, message) in cases {
        let error = error(line);
        let (key, _) = line.split_once(" = ").expect("key = value");
        let value_column = key.len() + 4;
        assert_eq!(
            (error.line, error.column, error.field.as_str()),
            (14, value_column, format!("deploy[0].{key}").as_str()),
            "{line}: {error}"
        );
        assert!(error.message.contains(message), "{line}: {error}");
        assert_eq!(error.file, Path::new("test.toml"));
    }
    let misspelled = error("uncordon_attempt = 3");
    assert_eq!(
        (
            misspelled.line,
            misspelled.column,
            misspelled.field.as_str()
        ),
        (14, 1, "deploy[0].uncordon_attempt")
    );
    assert!(misspelled.message.contains("unknown field"), "{misspelled}");
}
