//! `--set PATH=VALUE`: overrides change the scenario exactly as the same edit of the file would,
//! bad ones are refused naming the override (exit 2), and replay commands carry them.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use fleetsim::scenario::{self, Override, ScenarioProblem};

const BASIC: &str = "scenarios/bluegreen-basic.toml";

fn fleetsim(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(arguments)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the fleetsim binary runs")
}

fn basic_text() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(BASIC)).expect("readable")
}

fn with(overrides: &[&str]) -> Result<scenario::Scenario, ScenarioProblem> {
    let overrides: Vec<Override> = overrides
        .iter()
        .map(|text| Override::parse(text).expect("well-formed"))
        .collect();
    scenario::overrides::parse_with_overrides(Path::new(BASIC), &basic_text(), &overrides)
        .map(|(scenario, _)| scenario)
}

fn problem(overrides: &[&str]) -> String {
    with(overrides)
        .err()
        .unwrap_or_else(|| panic!("{overrides:?} should be refused"))
        .to_string()
}

// Guards the effect: each override changes its field, and the result equals the file edited by
// hand (validated the same way).
#[test]
fn overrides_equal_the_same_edit_of_the_file() {
    let overridden = with(&[
        "deploy.0.wait_before_cordon=20s",
        "fleet.0.count=20",
        "proxy.propagation.median=8s",
        "proxy.propagation.p99=30s",
        "proxy.propagation.max=40s",
    ])
    .expect("valid overrides");
    assert_eq!(
        overridden.deploys[0].settings.wait_before_cordon,
        Some(Duration::from_secs(20))
    );
    assert_eq!(overridden.fleet[0].count, 20);
    let edited = basic_text()
        .replace(
            "lease_ttl = \"13s\"",
            "lease_ttl = \"13s\"\nwait_before_cordon = \"20s\"",
        )
        .replacen("count = 4", "count = 20", 1)
        .replace(
            "propagation = { kind = \"lognormal\", median = \"1.5s\", p99 = \"5s\", max = \"9s\" }",
            "propagation = { kind = \"lognormal\", median = \"8s\", p99 = \"30s\", max = \"40s\" }",
        );
    let mut by_hand = scenario::parse(Path::new(BASIC), &edited).expect("the edited file loads");
    assert_ne!(
        by_hand.proxy.propagation,
        with(&[]).unwrap().proxy.propagation
    );
    by_hand.overrides = overridden.overrides.clone();
    assert_eq!(overridden, by_hand);
    assert_eq!(overridden.overrides.len(), 5);
}

// Guards error messages: a bad value, an unknown key, an index past the end and a path through
// a scalar each name the override.
#[test]
fn bad_overrides_name_the_override() {
    let bad_value = problem(&["deploy.0.wait_before_cordon=abc"]);
    assert!(
        bad_value.starts_with(
            "--set deploy.0.wait_before_cordon=abc: deploy[0].wait_before_cordon: invalid duration"
        ),
        "{bad_value}"
    );
    let unknown = problem(&["deploy.0.wait_befor_cordon=20s"]);
    assert!(
        unknown.starts_with("--set deploy.0.wait_befor_cordon=20s:")
            && unknown.contains("unknown field `wait_befor_cordon`"),
        "{unknown}"
    );
    let past_end = problem(&["fleet.5.count=3"]);
    assert!(
        past_end.contains("--set fleet.5.count=3:") && past_end.contains("no index 5"),
        "{past_end}"
    );
    let through_scalar = problem(&["app.name.x=1"]);
    assert!(
        through_scalar.contains("`app.name` is a string"),
        "{through_scalar}"
    );
    let out_of_range = problem(&["fleet.0.count=-1"]);
    assert!(
        out_of_range.starts_with("--set fleet.0.count=-1: fleet[0].count:"),
        "{out_of_range}"
    );
}

// Guards blame: a problem the file has as written keeps its file, line and column; one the
// overrides cause together names them.
#[test]
fn file_problems_keep_their_place_and_combinations_name_the_overrides() {
    let broken = basic_text().replace("kill_timeout = \"5s\"", "kill_timeout = \"soon\"");
    let overrides = [Override::parse("fleet.0.count=2").expect("well-formed")];
    let error = scenario::overrides::parse_with_overrides(Path::new(BASIC), &broken, &overrides)
        .expect_err("the file is broken");
    let ScenarioProblem::File(located) = &error else {
        panic!("the file's own error: {error}")
    };
    assert_eq!(located.field, "machine.kill_timeout");
    assert!(located.line > 1);
    let together = problem(&["proxy.propagation.median=8s"]);
    assert!(
        together.starts_with("--set proxy.propagation.median=8s: proxy.propagation.p99:"),
        "{together}"
    );
}

// Guards the command line: exit status 2 with the override named; the replay command of a run
// carries its overrides.
#[test]
fn the_binary_refuses_bad_overrides_and_replays_good_ones() {
    let refused = fleetsim(&["run", BASIC, "--set", "deploy.0.wait_before_cordon=abc"]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("error: --set deploy.0.wait_before_cordon=abc:"),
        "{stderr}"
    );
    let out = std::env::temp_dir().join(format!("fleetsim-overrides-{}", std::process::id()));
    let out_text = out.display().to_string();
    let swept = fleetsim(&[
        "sweep",
        BASIC,
        "--seeds",
        "1..2",
        "--set",
        "deploy.0.wait_before_cordon=3s",
        "--out",
        &out_text,
    ]);
    assert_eq!(
        swept.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&swept.stderr)
    );
    let rows = std::fs::read_to_string(out.join("sweep.csv")).expect("sweep.csv");
    assert!(
        rows.contains("fleetsim run scenarios/bluegreen-basic.toml --set deploy.0.wait_before_cordon=3s --seed 1"),
        "{rows}"
    );
    let _ = std::fs::remove_dir_all(&out);
    let run = fleetsim(&["run", BASIC, "--json", "--set", "fleet.1.count=2"]);
    let value: serde_json::Value = serde_json::from_slice(&run.stdout).expect("JSON");
    assert_eq!(value["overrides"][0], "fleet.1.count=2");
}
