//! Issue 10's faults and app fields: call-counted API faults (`calls`), transport errors
//! (`status = "none"`), `api-partition`'s `operation`, hosts that are not ok (`host-unreachable`,
//! `host-unknown`) and service checks (`[[app.services]]`): what each does in a run, and the
//! file:line:column error of each bad input.

mod common;

use std::path::Path;

use fleetsim::api::{HostStatus, Operation};
use fleetsim::scenario::{parse, CallRange, FaultSpec, Scenario};
use fleetsim::sim::{RunResult, Simulation};

/// Four blues; `[[faults]]` (or other tables) appended from line 20.
const BASE: &str = r#"[scenario]
name = "precision"

[app]
name = "cherrypicker"
image = "img:1"

[[app.checks]]
name = "alive"
interval = "5s"
grace_period = "1s"

[[fleet]]
region = "iad"
count = 4

[[deploy]]
image = "img:2"

"#;

fn scenario(tail: &str) -> Scenario {
    parse(Path::new("test.toml"), &format!("{BASE}{tail}")).unwrap_or_else(|e| panic!("{e}"))
}

fn run(tail: &str) -> RunResult {
    Simulation::new(&scenario(tail)).run()
}

fn output(result: &RunResult) -> Vec<String> {
    result.deploys[0]
        .output
        .iter()
        .map(|(_, line)| line.clone())
        .collect()
}

fn count(lines: &[String], text: &str) -> usize {
    lines.iter().filter(|line| line.contains(text)).count()
}

fn assert_error(tail: &str, at: (usize, usize), field: &str, message: &str) {
    common::assert_scenario_error(&format!("{BASE}{tail}"), at, field, message);
}

// Guards `calls`: the counted calls fail and no other, whatever the timing: green:1's first three
// uncordons fail (three retry lines) and the fourth succeeds.
#[test]
fn call_counted_fault_fails_exactly_the_counted_calls() {
    let result = run(
        "[[faults]]\nkind = \"api-error\"\noperation = \"uncordon\"\nmachine = \"green:1\"\nstatus = 429\ncalls = \"1..3\"\n",
    );
    let lines = output(&result);
    assert_eq!(count(&lines, "Retrying uncordon"), 3, "{lines:#?}");
    assert_eq!(count(&lines, "injected 429 on uncordon"), 3);
    assert_eq!(count(&lines, "(attempt 4/5)"), 1);
    assert_eq!(count(&lines, "(attempt 5/5)"), 0);
    assert_eq!(result.deploys[0].outcome, "succeeded");
}

// Guards the counting unit: calls are counted per machine, so "the first cordon" of a fault
// without a machine filter is every blue's first cordon (each then retried once).
#[test]
fn calls_are_counted_per_machine() {
    let result = run("[[faults]]\nkind = \"api-error\"\noperation = \"cordon\"\ncalls = \"1\"\n");
    let lines = output(&result);
    assert_eq!(
        count(&lines, "Retrying cordon for machine"),
        4,
        "{lines:#?}"
    );
    assert_eq!(count(&lines, "(attempt 2/5)"), 4);
    assert_eq!(count(&lines, " cordoned"), 4);
}

// Guards the transport error: no HTTP status in the message, and flyctl retries it as transient.
#[test]
fn transport_error_has_no_status_and_is_retried() {
    let result = run(
        "[[faults]]\nkind = \"api-error\"\noperation = \"set-metadata\"\nmachine = \"blue:2\"\nstatus = \"none\"\ncalls = \"1\"\n",
    );
    let lines = output(&result);
    let retry = lines
        .iter()
        .find(|line| line.contains("Retrying safe-for-deletion tag"))
        .expect("the tag is retried");
    assert!(
        retry.ends_with("(attempt 2/5): dial tcp: connect: connection refused"),
        "{retry}"
    );
    assert_eq!(count(&lines, "[warn]"), 0);
}

// Guards `api-partition`'s `operation`: only that operation's calls are cut.
#[test]
fn partition_of_one_operation_cuts_only_it() {
    let result = run("[[faults]]\nkind = \"api-partition\"\noperation = \"stop\"\n");
    let lines = output(&result);
    assert_eq!(count(&lines, " cordoned"), 4);
    assert_eq!(
        count(&lines, "Failed to stop machine"),
        4,
        "each blue's stop is warned: {lines:#?}"
    );
    assert_eq!(count(&lines, "Retrying stop for machine"), 4 * 4);
    assert_eq!(
        count(
            &lines,
            "after 5 attempts: dial tcp: connect: connection refused"
        ),
        4
    );
}

// Guards the host-status faults as parsed: both kinds, with their status.
#[test]
fn host_status_faults_parse() {
    let parsed = scenario(
        "[[faults]]\nkind = \"host-unknown\"\nmachine = \"blue:1\"\n\n[[faults]]\nkind = \"host-unreachable\"\nmachine = \"blue:2\"\nstart = \"10s\"\n",
    );
    let statuses: Vec<HostStatus> = parsed
        .faults
        .iter()
        .map(|fault| match fault {
            FaultSpec::HostNotOk { status, .. } => *status,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(statuses, vec![HostStatus::Unknown, HostStatus::Unreachable]);
}

// Guards the parsed form of `calls`, `status = "none"` and the partition's operation, and that
// the writer gives them back.
#[test]
fn counted_faults_parse_and_round_trip() {
    let parsed = scenario(
        "[[faults]]\nkind = \"api-ambiguous\"\noperation = \"launch\"\nstatus = \"none\"\ncalls = \"4..\"\n\n[[faults]]\nkind = \"api-partition\"\ndeploy = 0\noperation = \"get\"\ncalls = \"2..5\"\n",
    );
    assert_eq!(
        parsed.faults[0],
        FaultSpec::ApiAmbiguous {
            operation: Some(Operation::Launch),
            rate: 1.0,
            status: None,
            window: fleetsim::scenario::Window::ALWAYS,
            deploy: None,
            machine: None,
            calls: Some(CallRange {
                first: 4,
                last: None
            }),
        }
    );
    assert!(matches!(
        parsed.faults[1],
        FaultSpec::ApiPartition {
            operation: Some(Operation::Get),
            calls: Some(CallRange {
                first: 2,
                last: Some(5)
            }),
            ..
        }
    ));
    let written = fleetsim::scenario::to_toml(&parsed);
    let again = parse(Path::new("test.toml"), &written).expect("parses");
    assert_eq!(again.faults, parsed.faults, "{written}");
}

// Guards the bad inputs of the new fault fields, each at its value.
#[test]
fn bad_fault_fields_are_located() {
    let fault = |body: &str| format!("[[faults]]\nkind = \"api-error\"\n{body}\n");
    // `[[faults]]` on line 20, `kind` 21, the body from 22.
    for (body, column, field, message) in [
        ("calls = \"0\"", 9, "calls", "calls are numbered from 1"),
        (
            "calls = \"3..1\"",
            9,
            "calls",
            "the range ends before it starts",
        ),
        (
            "calls = \"x\"",
            9,
            "calls",
            "call numbers are whole numbers",
        ),
        (
            "calls = \"1..2..3\"",
            9,
            "calls",
            "call numbers are whole numbers",
        ),
        (
            "calls = \"2000000\"",
            9,
            "calls",
            "call numbers go up to 1000000",
        ),
        (
            "rate = 0.5\ncalls = \"1\"",
            8,
            "rate",
            "`rate` does not go with `calls`",
        ),
    ] {
        assert_error(
            &fault(body),
            (22, column),
            &format!("faults[0].{field}"),
            message,
        );
    }
    for (body, message) in [
        ("status = \"nope\"", "unknown status `nope`"),
        ("status = 302", "302 is out of range"),
    ] {
        let body = format!("calls = \"1\"\n{body}");
        assert_error(&fault(&body), (23, 10), "faults[0].status", message);
    }
    assert_error(
        &fault("calls = \"1\"\nstart = \"5s\""),
        (23, 9),
        "faults[0].start",
        "`start` does not go with `calls`",
    );
    assert_error(
        &fault("operation = \"get\""),
        (20, 1),
        "faults[0].rate",
        "missing field `rate` or `calls`",
    );
    assert_error(
        "[[faults]]\nkind = \"capacity-error\"\nafter_creates = 1\nstatus = \"none\"\n",
        (23, 10),
        "faults[0].status",
        "expected an HTTP status between 400 and 599",
    );
    assert_error(
        "[[faults]]\nkind = \"api-ambiguous\"\ncalls = \"1\"\nstatus = 404\n",
        (23, 10),
        "faults[0].status",
        "not a status of a lost reply: must be 408, between 500 and 599, or \"none\"",
    );
    assert_error(
        "[[faults]]\nkind = \"api-partition\"\noperation = \"lunch\"\n",
        (22, 13),
        "faults[0].operation",
        "unknown operation `lunch`",
    );
    assert_error(
        "[[faults]]\nkind = \"host-unknown\"\nmachine = \"blue:9\"\n",
        (22, 11),
        "faults[0].machine",
        "the initial fleet has 4 machines",
    );
}

// Guards `[[app.services]]`: service checks are named as the platform reports them, counted by
// the checks gate and the health wait (a service-only app deploys), and dropped with
// `checks = false`.
#[test]
fn service_checks_are_configured_and_read() {
    let text = BASE.replace(
        "[[app.checks]]\nname = \"alive\"\ninterval = \"5s\"\ngrace_period = \"1s\"\n",
        "[[app.services]]\ninternal_port = 8080\n\n[[app.services.checks]]\nkind = \"tcp\"\ninterval = \"5s\"\n\n[[app.services]]\ninternal_port = 9090\nprotocol = \"udp\"\n\n[[app.services.checks]]\ninterval = \"10s\"\ngrace_period = \"2s\"\n",
    );
    let parsed = parse(Path::new("test.toml"), &text).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = parsed
        .app
        .services
        .iter()
        .flat_map(|service| service.checks.iter().map(|check| check.name.as_str()))
        .collect();
    assert_eq!(
        names,
        vec!["servicecheck-00-tcp-8080", "servicecheck-01-http-9090"]
    );
    assert_eq!(parsed.app.services[1].protocol, "udp");
    let result = Simulation::new(&parsed).run();
    assert_eq!(result.deploys[0].outcome, "succeeded");
    let lines = output(&result);
    assert_eq!(
        count(&lines, "doesn't have healthchecks setup"),
        0,
        "{lines:#?}"
    );
    // Without checks in the group, no check at all: flyctl refuses (§3.2).
    let unchecked = text.replace("count = 4\n", "count = 4\nchecks = false\n");
    let parsed = parse(Path::new("test.toml"), &unchecked).expect("valid");
    let result = Simulation::new(&parsed).run();
    assert_eq!(result.deploys[0].outcome, "failed");
    assert_eq!(
        count(&output(&result), "You need to define at least 1 check"),
        1
    );
}

// Guards the bad inputs of `[[app.services]]` and the check interval floor of 0.
#[test]
fn bad_services_and_intervals_are_located() {
    let service = |body: &str| {
        BASE.replace(
            "[[fleet]]",
            &format!("[[app.services]]\n{body}\n\n[[fleet]]"),
        )
    };
    // `[[app.services]]` on line 13, its body from line 14.
    for (body, (line, column), field, message) in [
        (
            "internal_port = 0",
            (14, 17),
            "app.services[0].internal_port",
            "must be between 1 and 65535",
        ),
        (
            "internal_port = 80\nprotocol = \"http\"",
            (15, 12),
            "app.services[0].protocol",
            "unknown protocol `http`",
        ),
        (
            "internal_port = 80\n[[app.services.checks]]\nname = \"x\"",
            (16, 1),
            "app.services[0].checks[0].name",
            "unknown field `name`",
        ),
        (
            "internal_port = 80\n[[app.services.checks]]\ninterval = \"0s\"",
            (16, 12),
            "app.services[0].checks[0].interval",
            "a check interval must be greater than 0",
        ),
        (
            "internal_port = 80\n[[app.services.checks]]\nkind = \"grpc\"",
            (16, 8),
            "app.services[0].checks[0].kind",
            "unknown check kind `grpc`",
        ),
        (
            "protocol = \"tcp\"",
            (13, 1),
            "app.services[0].internal_port",
            "missing field `internal_port`",
        ),
    ] {
        let error = parse(Path::new("test.toml"), &service(body)).expect_err(body);
        assert_eq!(
            (error.line, error.column, error.field.as_str()),
            (line, column, field),
            "{error}"
        );
        assert!(error.message.contains(message), "{error}");
    }
    let zero = BASE.replace("interval = \"5s\"", "interval = \"0s\"");
    let error = parse(Path::new("test.toml"), &zero).expect_err("zero interval");
    assert_eq!(
        (error.line, error.column, error.field.as_str()),
        (10, 12, "app.checks[0].interval")
    );
}
