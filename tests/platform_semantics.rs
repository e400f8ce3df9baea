//! The simulated platform's semantics, observed through whole runs: lease expiry, the `wait`
//! server timeout, proxy propagation, hold-then-fail, drain on stop.

use std::path::Path;

use fleetsim::platform::{FailureReason, Step};
use fleetsim::scenario::parse;
use fleetsim::sim::{RunResult, Simulation};

/// A small scenario: one region, `count` machines, 20 req/s, one bluegreen deploy at 5 s;
/// `extra` is appended (more sections or overrides of `[machine]`, `[proxy]`, faults…).
fn scenario(count: u32, machine: &str, proxy: &str, extra: &str) -> String {
    format!(
        r#"
[scenario]
name = "platform-semantics"

[app]
name = "app"
image = "registry.fly.io/app:v1"

[[app.checks]]
name = "alive"
interval = "5s"
grace_period = "1s"

[machine]
{machine}

[[fleet]]
region = "iad"
count = {count}

[proxy]
{proxy}

[traffic]
service_time = {{ kind = "constant", value = "20ms" }}
[[traffic.regions]]
region = "iad"
rate = 20.0

[[deploy]]
image = "registry.fly.io/app:v2"
{extra}
"#
    )
}

fn run(text: &str) -> RunResult {
    let scenario = parse(Path::new("inline.toml"), text).expect("valid scenario");
    Simulation::new(&scenario).keep_trace(true).run()
}

// Guards lease expiry on the platform clock: a lease held by someone else lapses at its TTL, and
// fly-go's one-minute acquire retry then gets it.
#[test]
fn lease_held_by_another_owner_expires_at_its_ttl() {
    let held = |ttl: &str| {
        let fault =
            format!("[[faults]]\nkind = \"lease-held\"\nmachine = \"blue:0\"\nttl = \"{ttl}\"\n");
        run(&scenario(2, "", "", &fault))
    };
    let short = held("20s");
    assert_eq!(short.deploys[0].outcome, "succeeded");
    let long = held("1h");
    assert_eq!(long.deploys[0].outcome, "failed");
    assert!(long.deploys[0]
        .error
        .as_deref()
        .is_some_and(|error| error.contains("lease currently held by another-deployer")));
    assert_eq!(
        long.metrics.machines_peak, 2,
        "no green is created without every lease"
    );
}

// Guards the `wait` server timeout: a boot slower than 60 s gets a 408, and the client loops.
#[test]
fn slow_boot_outlasts_the_server_wait_timeout() {
    let machine = r#"boot_time = { kind = "constant", value = "75s" }"#;
    let result = run(&scenario(1, machine, "", ""));
    assert_eq!(result.deploys[0].outcome, "succeeded");
    let wait_408 = result
        .trace
        .iter()
        .any(|record| matches!(record.step, Step::ApiReply { status: 408, .. }));
    assert!(wait_408, "a wait call hit its 60 s server timeout");
}

// Guards propagation: a proxy learns an uncordon exactly one propagation delay later.
#[test]
fn proxy_learns_routing_changes_after_the_propagation_delay() {
    let proxy = r#"propagation = { kind = "constant", value = "3s" }"#;
    let result = run(&scenario(1, "", proxy, ""));
    let routable_at = result.trace.iter().find_map(|record| match record.step {
        Step::Routable {
            machine: 1,
            routable: true,
        } => Some(record.time),
        _ => None,
    });
    let learned_at = result.trace.iter().find_map(|record| match record.step {
        Step::ProxyView {
            machine: 1,
            routable: true,
            ..
        } => Some(record.time),
        _ => None,
    });
    let (routable_at, learned_at) = (
        routable_at.expect("green routable"),
        learned_at.expect("learned"),
    );
    assert_eq!(learned_at - routable_at, std::time::Duration::from_secs(3));
}

// Guards hold-then-fail: with nothing routable, the proxy holds requests for its hold timeout and
// then fails them.
#[test]
fn requests_are_held_then_fail_when_nothing_is_routable() {
    let machine = r#"boot_time = { kind = "constant", value = "20s" }"#;
    let fault = "[[faults]]\nkind = \"machine-crash\"\nmachine = \"blue:0\"\nat = \"1s\"\n\n[run]\nsettle = \"5s\"\n";
    let mut text = scenario(1, machine, "", fault);
    text = text.replace(
        "[[deploy]]\nimage = \"registry.fly.io/app:v2\"",
        "[[deploy]]\nimage = \"registry.fly.io/app:v2\"\nstart = \"60s\"",
    );
    let result = run(&text);
    let held_then_failed = result
        .metrics
        .failures_by_reason
        .get(FailureReason::NoRoutableMachine.as_str());
    assert!(
        held_then_failed.is_some_and(|count| *count > 0),
        "{:?}",
        result.metrics
    );
    assert!(!result
        .verdicts
        .iter()
        .find(|v| v.invariant == "no-downtime")
        .expect("verdict")
        .held());
}

// Guards drain on stop: in-flight requests finish if they end before the kill timeout, and are
// killed if not.
#[test]
fn stop_drains_in_flight_requests_until_the_kill_timeout() {
    let drained = |kill_timeout: &str| {
        let machine = format!(
            "stop_time = {{ kind = \"constant\", value = \"100ms\" }}\nkill_timeout = \"{kill_timeout}\""
        );
        let mut text = scenario(2, &machine, "", "");
        // Long requests: some are in flight on a blue when it is stopped.
        text = text.replace(
            r#"service_time = { kind = "constant", value = "20ms" }"#,
            r#"service_time = { kind = "constant", value = "12s" }"#,
        );
        run(&text)
    };
    let patient = drained("30s");
    assert_eq!(
        patient.metrics.failures_by_reason.get("killed"),
        None,
        "{:?}",
        patient.metrics
    );
    let impatient = drained("1s");
    assert!(impatient
        .metrics
        .failures_by_reason
        .get("killed")
        .is_some_and(|count| *count > 0));
}
