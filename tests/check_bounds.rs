//! `[check]`: the bounds of `bounded-mixing` and `no-machine-explosion` belong to the user. The
//! defaults are 60 s and 2 × N; a scenario's own bounds are validated like every other number,
//! judged by the checkers, printed with the invariant's promise, and written back by the writer.

mod common;

use std::path::Path;
use std::time::Duration;

use fleetsim::check::{Bounds, Status};
use fleetsim::scenario::{parse, to_toml, Scenario};
use fleetsim::sim::{RunResult, Simulation};

/// Four blues, one bluegreen deploy: 8 machines alive at the peak, and the images mixed for at
/// least flyctl's 10 s wait before the cordon. `[check]` goes on line 21, its first key on 22.
const BASE: &str = r#"[scenario]
name = "bounds"

[app]
name = "cherrypicker"
image = "img:1"

[[app.checks]]
name = "alive"

[[fleet]]
region = "iad"
count = 4

[[deploy]]
image = "img:2"

[run]
seed = 1
"#;

fn scenario(check: &str) -> Scenario {
    parse(Path::new("test.toml"), &format!("{BASE}{check}")).unwrap_or_else(|e| panic!("{e}"))
}

fn run(check: &str) -> RunResult {
    Simulation::new(&scenario(check)).run()
}

fn verdict<'a>(result: &'a RunResult, invariant: &str) -> &'a fleetsim::check::Verdict {
    result
        .verdicts
        .iter()
        .find(|verdict| verdict.invariant == invariant)
        .unwrap_or_else(|| panic!("no verdict for {invariant}"))
}

// Guards the defaults the invariants always had: 60 s of mixing and 2 × N machines.
#[test]
fn defaults_are_sixty_seconds_and_twice_the_fleet() {
    let scenario = scenario("");
    assert_eq!(scenario.check, Bounds::default());
    assert_eq!(scenario.check.mixing_bound, Duration::from_secs(60));
    assert_eq!(scenario.check.explosion_factor, 2.0);
    assert_eq!(scenario.check.machines_max(4), 8);
    let result = run("");
    assert_eq!(
        result.metrics.machines_peak, 8,
        "a bluegreen deploy peaks at 2 × N"
    );
    let explosion = verdict(&result, "no-machine-explosion");
    assert_eq!(explosion.status, Status::Held);
    assert_eq!(explosion.promise, "machines alive never exceed 2 × N");
    let mixing = verdict(&result, "bounded-mixing");
    assert_eq!(mixing.status, Status::Held);
    assert_eq!(
        mixing.promise,
        "two images are never routable together for over 60 s"
    );
}

// Guards against an explosion bound that is ignored: 1.5 × 4 = 6 machines, and the deploy's 8
// break it.
#[test]
fn a_tighter_explosion_factor_is_judged() {
    let result = run("\n[check]\nexplosion_factor = 1.5\n");
    let explosion = verdict(&result, "no-machine-explosion");
    assert_eq!(explosion.status, Status::Violated);
    assert_eq!(explosion.promise, "machines alive never exceed 1.5 × N");
    let detail = &explosion
        .first_violation
        .as_ref()
        .expect("a violation")
        .detail;
    assert!(
        detail.contains("7 machines alive, more than 1.5 × N = 6"),
        "{detail}"
    );
    assert!(!result.passed, "the default [expect] holds every invariant");
    // And a looser one is not a vacuous change: 3 × N holds where 2 × N does.
    let loose = run("\n[check]\nexplosion_factor = 3\n");
    assert_eq!(verdict(&loose, "no-machine-explosion").status, Status::Held);
    assert_eq!(
        verdict(&loose, "no-machine-explosion").promise,
        "machines alive never exceed 3 × N"
    );
}

// Guards against a mixing bound that is ignored: bluegreen mixes images for at least its 10 s
// wait before the cordon, so 2 s is broken and its violation is dated at the bound.
#[test]
fn a_tighter_mixing_bound_is_judged() {
    let result = run("\n[check]\nmixing_bound = \"2s\"\n");
    let mixing = verdict(&result, "bounded-mixing");
    assert_eq!(mixing.status, Status::Violated);
    assert_eq!(
        mixing.promise,
        "two images are never routable together for over 2 s"
    );
    let violation = mixing.first_violation.as_ref().expect("a violation");
    assert!(
        violation.detail.ends_with("longer than 2 s"),
        "{}",
        violation.detail
    );
    let held = run("\n[check]\nmixing_bound = \"5m\"\n");
    assert_eq!(verdict(&held, "bounded-mixing").status, Status::Held);
}

// Guards the ranges: a bound out of range, a NaN, a bad duration and an unknown key are errors at
// their file:line:column, naming the field.
#[test]
fn bad_bounds_are_located_errors() {
    let at = |check: &str, column: usize, field: &str, message: &str| {
        common::assert_scenario_error(
            &format!("{BASE}\n[check]\n{check}\n"),
            (22, column),
            field,
            message,
        );
    };
    at(
        "explosion_factor = 0.5",
        20,
        "check.explosion_factor",
        "must be between 1 (the fleet itself) and 100",
    );
    at(
        "explosion_factor = 101",
        20,
        "check.explosion_factor",
        "out of range",
    );
    at(
        "explosion_factor = nan",
        20,
        "check.explosion_factor",
        "out of range",
    );
    at(
        "mixing_bound = \"soon\"",
        16,
        "check.mixing_bound",
        "invalid duration",
    );
    at(
        "mixing_bound = \"31d\"",
        16,
        "check.mixing_bound",
        "out of range",
    );
    at("mixing = \"1s\"", 1, "check.mixing", "unknown field");
}

// Guards the writer: a scenario's own bounds are written back and read again unchanged.
#[test]
fn bounds_round_trip_through_the_writer() {
    let scenario = scenario("\n[check]\nmixing_bound = \"1500ms\"\nexplosion_factor = 1.25\n");
    let text = to_toml(&scenario);
    assert!(text.contains("[check]\nmixing_bound = \"1500ms\"\nexplosion_factor = 1.25\n"));
    let parsed = parse(Path::new("test.toml"), &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(parsed.check, scenario.check);
}

fn path(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

// Guards the command line: a bad bound is bad input (exit 2, file:line:column and field), and the
// run's output prints the promise with the user's bound.
#[test]
fn the_cli_prints_the_bound_and_refuses_a_bad_one() {
    let directory = std::env::temp_dir().join(format!("fleetsim-bounds-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("scratch directory");
    let bad = directory.join("bad.toml");
    std::fs::write(&bad, format!("{BASE}\n[check]\nexplosion_factor = 0\n")).expect("written");
    let output = common::fleetsim(&["run", "-q", path(&bad)]);
    let stderr = common::stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.toml:22:20"), "{stderr}");
    assert!(stderr.contains("check.explosion_factor"), "{stderr}");
    let good = directory.join("good.toml");
    std::fs::write(&good, format!("{BASE}\n[check]\nexplosion_factor = 3\n")).expect("written");
    let output = common::fleetsim(&["run", "-q", path(&good)]);
    let stdout = common::stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("no-machine-explosion     machines alive never exceed 3 × N"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&directory);
}
