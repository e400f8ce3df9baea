//! Deployer faults (SIGKILL, Ctrl-C), capacity errors and scoped API errors against the current
//! bluegreen, and the invariants that judge what they leave behind.

use std::path::Path;

use fleetsim::scenario::parse;
use fleetsim::sim::{RunResult, Simulation};

const BASE: &str = r#"
[scenario]
name = "deployer-faults"

[app]
name = "app"
image = "registry.fly.io/app:v1"

[[app.checks]]
name = "alive"
interval = "5s"
grace_period = "1s"

[[fleet]]
region = "iad"
count = 3

[[fleet]]
region = "ams"
count = 3

[traffic]
[[traffic.regions]]
region = "iad"
rate = 20.0

[[deploy]]
image = "registry.fly.io/app:v2"
wait_timeout = "1m"
"#;

fn run(extra: &str) -> RunResult {
    let text = format!("{BASE}\n{extra}");
    let scenario = parse(Path::new("inline.toml"), &text).expect("valid scenario");
    Simulation::new(&scenario).run()
}

fn held(result: &RunResult, invariant: &str) -> bool {
    result
        .verdicts
        .iter()
        .find(|verdict| verdict.invariant == invariant)
        .unwrap_or_else(|| panic!("no verdict for {invariant}"))
        .held()
}

// Guards SIGKILL semantics: nothing runs after the kill, the greens it made stay (no rollback),
// its leases lapse so the next deploy can lease, and that deploy's image check then refuses.
#[test]
fn killed_deployer_leaves_its_greens_and_the_next_deploy_is_refused() {
    let result = run(r#"
[[deploy]]
image = "registry.fly.io/app:v3"
after_previous = "30s"

[[faults]]
kind = "deployer-kill"
deploy = 0
phase = "wait-healthy"
after = "1s"
"#);
    assert_eq!(result.deploys[0].outcome, "killed");
    assert_eq!(result.deploys[1].outcome, "failed");
    let error = result.deploys[1].error.clone().unwrap_or_default();
    assert!(error.contains("found multiple image versions"), "{error}");
    assert_eq!(
        result.metrics.machines_final, 12,
        "6 blues + 6 orphaned greens"
    );
    assert!(!held(&result, "no-leftovers"));
    assert!(held(&result, "no-machine-explosion"));
    let killed_output_after = result.deploys[0]
        .output
        .iter()
        .any(|(_, line)| line.contains("Marking green machines as ready"));
    assert!(!killed_output_after, "nothing runs after SIGKILL");
}

// Guards Ctrl-C before the point of no return: rollback destroys the greens, blues untouched.
#[test]
fn abort_before_ready_rolls_back_and_spares_the_blues() {
    let result = run(r#"
[[faults]]
kind = "deployer-abort"
phase = "wait-healthy"
"#);
    assert_eq!(result.deploys[0].outcome, "rolled-back");
    assert_eq!(result.metrics.machines_final, 6);
    for invariant in [
        "rollback-spares-blue",
        "no-leftovers",
        "no-downtime",
        "drain-order",
    ] {
        assert!(held(&result, invariant), "{invariant}");
    }
}

// Guards Ctrl-C after the blues were cordoned: greens are kept (point of no return), blues are
// left cordoned and never uncordoned — hanging blues, not a nuked app.
#[test]
fn abort_after_cordon_keeps_greens_and_leaves_hanging_blues() {
    let result = run(r#"
[[faults]]
kind = "deployer-abort"
phase = "wait-before-stop"
after = "2s"
"#);
    assert_eq!(result.deploys[0].outcome, "failed");
    assert!(held(&result, "never-all-deleted"));
    assert!(held(&result, "green-kept-after-switch"));
    assert!(held(&result, "rollback-spares-blue"));
    assert!(
        !held(&result, "no-leftovers"),
        "the cordoned blues are left behind"
    );
    assert_eq!(result.metrics.machines_final, 12);
}

// Guards the capacity fault: a non-transient launch error fails creation and rollback cleans up.
#[test]
fn capacity_error_rolls_back_every_recorded_green() {
    let result = run(r#"
[[faults]]
kind = "capacity-error"
after_creates = 4
"#);
    assert_eq!(result.deploys[0].outcome, "rolled-back");
    assert_eq!(
        result.metrics.machines_peak, 10,
        "6 blues + the 4 greens that were created"
    );
    assert_eq!(result.metrics.machines_final, 6);
    assert!(held(&result, "no-leftovers"));
}

// Guards scoped API errors: every stop of one blue fails, the blue keeps running, and the stop
// wait's timeout fails the deploy after the point of no return without a rollback.
#[test]
fn failing_stop_of_one_blue_times_out_the_stop_wait_without_rollback() {
    let result = run(r#"
[[faults]]
kind = "api-error"
operation = "stop"
machine = "blue:1"
rate = 1.0
status = 503
"#);
    assert_eq!(result.deploys[0].outcome, "failed");
    let error = result.deploys[0].error.clone().unwrap_or_default();
    assert!(error.contains("stopped state"), "{error}");
    assert!(held(&result, "never-all-deleted"));
    assert!(held(&result, "green-kept-after-switch"));
}
