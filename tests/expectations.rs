//! The `[expect]` kinds of issue 10: `calls.<operation>`, `output_not_contains` and
//! `[[expect.machines]]` (calls on one machine, how a green was launched, how it was destroyed,
//! its final state). Each is judged against the run, can fail, and a misspelled or out-of-range
//! one is an error at file:line:column.

mod common;

use std::path::Path;

use fleetsim::scenario::{parse, Scenario};
use fleetsim::sim::{RunResult, Simulation};

/// Four blues, blue:0 on an unreachable host: 4 launches, 3 cordons, blue:0 destroyed 5 times
/// with kill and no nonce and still running at the end. `[expect]` is on line 28.
const BASE: &str = r#"[scenario]
name = "expectations"

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
max_concurrent = 1

[[faults]]
kind = "host-unreachable"
machine = "blue:0"

[run]
seed = 1

[expect]
hold = []
"#;

fn scenario(expect: &str) -> Scenario {
    parse(Path::new("test.toml"), &format!("{BASE}{expect}\n")).unwrap_or_else(|e| panic!("{e}"))
}

fn run(expect: &str) -> RunResult {
    Simulation::new(&scenario(expect)).run()
}

/// The expectation checks whose text contains `text`, with whether each held.
fn checks(result: &RunResult, text: &str) -> Vec<(bool, String)> {
    result
        .expectations
        .iter()
        .filter(|check| check.expectation.contains(text))
        .map(|check| (check.ok, format!("{}: {}", check.expectation, check.detail)))
        .collect()
}

fn assert_error(expect: &str, at: (usize, usize), field: &str, message: &str) {
    common::assert_scenario_error(&format!("{BASE}{expect}\n"), at, field, message);
}

// Guards `calls.<operation>`: an exact count and a range hold when the run made that many calls,
// and fail (saying how many were made) when it did not.
#[test]
fn call_counts_hold_and_fail() {
    let result = run("calls.launch = 4\ncalls.cordon = { min = 2, max = 3 }\ncalls.uncordon = 3\ncalls.get = { max = 0 }");
    assert_eq!(
        checks(&result, "of launch"),
        vec![(true, "4 call(s) of launch: 4 made".into())]
    );
    assert_eq!(
        checks(&result, "of cordon"),
        vec![(true, "2 to 3 call(s) of cordon: 3 made".into())]
    );
    assert_eq!(
        checks(&result, "of uncordon"),
        vec![(false, "3 call(s) of uncordon: 4 made".into())]
    );
    let gets = checks(&result, "of get");
    assert_eq!(gets.len(), 1);
    assert!(!gets[0].0, "the health wait made GETs: {gets:?}");
    assert!(!result.passed);
}

// Guards `output_not_contains`: holds when no line contains the text, fails naming the line.
#[test]
fn output_not_contains_holds_and_fails() {
    let result = run(r#"output_not_contains = ["Rolling back", "Failed to destroy 1 machine(s)"]"#);
    let rolling = checks(&result, "Rolling back");
    assert_eq!(
        rolling,
        vec![(true, "output does not contain \"Rolling back\": ".into())]
    );
    let failed = checks(&result, "Failed to destroy 1");
    assert_eq!(failed.len(), 1);
    assert!(!failed[0].0);
    assert!(
        failed[0]
            .1
            .contains("printed:   Failed to destroy 1 machine(s)"),
        "{failed:?}"
    );
}

// Guards `[[expect.machines]]`: calls on one machine, the destroy's kill and nonce, the launch of
// a green and the final state, each holding or failing on the run's facts.
#[test]
fn machine_facts_hold_and_fail() {
    let result = run(r#"
[[expect.machines]]
machine = "blue:0"
calls.destroy = 5
calls.cordon = 0
destroy_kill = true
destroy_nonce = false
state = "started"

[[expect.machines]]
machine = "blue:1"
destroy_nonce = false
state = "stopped"

[[expect.machines]]
machine = "green:0"
launched = "stopped"

[[expect.machines]]
machine = "green:9"
launched = "started"
"#);
    let facts = |name: &str| checks(&result, &format!("{name}: "));
    let blue0 = facts("blue:0");
    assert_eq!(blue0.len(), 5, "{blue0:?}");
    assert!(blue0.iter().all(|(ok, _)| *ok), "{blue0:?}");
    assert_eq!(
        facts("blue:1"),
        vec![
            (
                false,
                "blue:1: destroyed without a lease nonce: destroy calls: kill=true nonce=true"
                    .into()
            ),
            (false, "blue:1: ends stopped: ends destroyed".into()),
        ]
    );
    assert_eq!(
        facts("green:0"),
        vec![(
            false,
            "deploy[0].green:0: launched stopped: launched started".into()
        )]
    );
    assert_eq!(
        checks(&result, "green:9"),
        vec![(
            false,
            "deploy[0].green:9 exists: no such machine was created".into()
        )]
    );
}

// Guards the bad inputs of `calls`: an unknown operation, a negative count, an empty or inverted
// range, a count that is not a number; each at the value's line and column.
#[test]
fn bad_call_counts_are_located() {
    // `[expect]` is line 28, `hold = []` line 29: the expectation is line 30.
    assert_error(
        "calls.lunch = 3",
        (30, 15),
        "expect.calls.lunch",
        "unknown operation `lunch`",
    );
    assert_error(
        "calls.launch = -1",
        (30, 16),
        "expect.calls.launch",
        "-1 is out of range",
    );
    assert_error(
        "calls.launch = {}",
        (30, 16),
        "expect.calls.launch",
        "an empty range",
    );
    assert_error(
        "calls.launch = { min = 3, max = 1 }",
        (30, 16),
        "expect.calls.launch",
        "max (1) is less than min (3)",
    );
    assert_error(
        "calls.launch = \"3\"",
        (30, 16),
        "expect.calls.launch",
        "a count (`3`) or a range",
    );
    assert_error(
        "calls.launch = { most = 3 }",
        (30, 16),
        "expect.calls.launch",
        "unknown field `most`",
    );
}

// Guards the bad inputs of `[[expect.machines]]`: a misspelled key, a target naming several
// machines, `launched` on a blue, unknown words, a wrong type.
#[test]
fn bad_machine_facts_are_located() {
    let entry = |body: &str| format!("\n[[expect.machines]]\n{body}");
    // `[[expect.machines]]` is line 31, its first key line 32.
    assert_error(
        &entry("machine = \"blue:0\"\ndestroy_kil = true"),
        (33, 1),
        "expect.machines[0].destroy_kil",
        "unknown field `destroy_kil`",
    );
    assert_error(
        &entry("machine = \"green:*\""),
        (32, 11),
        "expect.machines[0].machine",
        "names several machines",
    );
    assert_error(
        &entry("machine = \"blue:4\""),
        (32, 11),
        "expect.machines[0].machine",
        "the initial fleet has 4 machines",
    );
    assert_error(
        &entry("machine = \"blue:0\"\nlaunched = \"started\""),
        (33, 12),
        "expect.machines[0].launched",
        "`launched` applies to greens",
    );
    assert_error(
        &entry("machine = \"green:0\"\nlaunched = \"booted\""),
        (33, 12),
        "expect.machines[0].launched",
        "unknown launch `booted` (known: started, stopped)",
    );
    assert_error(
        &entry("machine = \"green:0\"\nstate = \"gone\""),
        (33, 9),
        "expect.machines[0].state",
        "unknown state `gone`",
    );
    assert_error(
        &entry("machine = \"blue:0\"\ndestroy_nonce = \"no\""),
        (33, 17),
        "expect.machines[0].destroy_nonce",
        "invalid type",
    );
    assert_error(
        &entry("machine = \"blue:0\"\ncalls.stopp = 0"),
        (33, 15),
        "expect.machines[0].calls.stopp",
        "unknown operation `stopp`",
    );
    assert_error(
        &entry("calls.stop = 0"),
        (31, 1),
        "expect.machines[0].machine",
        "missing field `machine`",
    );
}

// Guards the writer: every new expectation reads back equal.
#[test]
fn new_expectations_are_written_back() {
    let original = scenario(
        r#"output_not_contains = ["a", "b"]
calls.launch = 4
calls.get = { min = 1 }
calls.wait = { max = 9 }
calls.stop = { min = 1, max = 2 }

[[expect.machines]]
machine = "deploy[0].green:1"
calls.uncordon = 1
launched = "started"
destroy_kill = false
destroy_nonce = true
state = "destroyed"
"#,
    );
    let written = fleetsim::scenario::to_toml(&original);
    let again = parse(Path::new("test.toml"), &written).expect("the writer's output parses");
    assert_eq!(again.expect, original.expect, "{written}");
}
