//! The `fleetsim` binary end to end: determinism across processes, exit statuses, error messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fleetsim(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(arguments)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the fleetsim binary runs")
}

fn fingerprint(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().expect("some output");
    let hex = last
        .strip_prefix("fingerprint: ")
        .unwrap_or_else(|| panic!("last line is the fingerprint, got {last:?}"));
    assert_eq!(hex.len(), 16);
    assert!(hex.chars().all(|c| c.is_ascii_hexdigit()));
    hex.to_string()
}

const BASIC: &str = "scenarios/bluegreen-basic.toml";

// Guards determinism: the same scenario and seed in two separate processes give one fingerprint.
#[test]
fn same_seed_in_two_processes_gives_the_same_fingerprint() {
    let first = fleetsim(&["run", BASIC, "--seed", "11"]);
    let second = fleetsim(&["run", BASIC, "--seed", "11"]);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stdout)
    );
    assert_eq!(fingerprint(&first), fingerprint(&second));
    assert_eq!(
        first.stdout, second.stdout,
        "the whole summary is reproducible"
    );
}

// Guards against a fingerprint that ignores the seed.
#[test]
fn different_seeds_give_different_fingerprints() {
    let first = fleetsim(&["run", BASIC, "--seed", "1"]);
    let second = fleetsim(&["run", BASIC, "--seed", "2"]);
    assert_ne!(fingerprint(&first), fingerprint(&second));
}

// Guards the JSON form: one object with the same fingerprint as the human summary.
#[test]
fn json_summary_matches_human_summary() {
    let human = fleetsim(&["run", BASIC, "--seed", "3"]);
    let json = fleetsim(&["run", BASIC, "--seed", "3", "--json"]);
    assert_eq!(json.status.code(), Some(0));
    let value: serde_json::Value =
        serde_json::from_slice(&json.stdout).expect("--json prints one JSON object");
    assert_eq!(value["fingerprint"], fingerprint(&human));
    assert_eq!(value["passed"], true);
    assert_eq!(
        value["verdicts"].as_array().map(Vec::len),
        Some(fleetsim::check::Invariant::ALL.len())
    );
}

fn write_scenario(name: &str, text: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("fleetsim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("temp dir");
    let path = directory.join(name);
    std::fs::write(&path, text).expect("write scenario");
    path
}

/// The basic scenario with one line replaced.
fn basic_with(original: &str, replacement: &str) -> String {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(BASIC))
        .expect("basic scenario");
    assert!(text.contains(original), "basic scenario has `{original}`");
    text.replacen(original, replacement, 1)
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|line| !line.trim_start().starts_with('#') && line.contains(needle))
        .expect("needle in text")
        + 1
}

fn assert_bad_input(name: &str, text: &str, needle: &str, field: &str) {
    let path = write_scenario(name, text);
    let output = fleetsim(&["run", path.to_str().expect("utf-8 path")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    let line = line_of(text, needle);
    let prefix = format!("{}:{line}:", path.display());
    assert!(stderr.contains(&prefix), "expected {prefix} in {stderr}");
    assert!(
        stderr.contains(&format!(": {field}: ")),
        "expected field {field} in {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

// Guards exit 2 with line and field for a missing required field.
#[test]
fn missing_field_exits_2_naming_line_and_field() {
    let text = basic_with("name = \"cherrypicker\"\n", "");
    assert_bad_input("missing.toml", &text, "[app]", "app.name");
}

// Guards exit 2 with line and field for an unknown field.
#[test]
fn unknown_field_exits_2_naming_line_and_field() {
    let text = basic_with(
        "kill_timeout = \"5s\"",
        "kill_timeout = \"5s\"\nkill_timout = \"5s\"",
    );
    assert_bad_input("unknown.toml", &text, "kill_timout", "machine.kill_timout");
}

// Guards exit 2 with line and field for a value of the wrong type.
#[test]
fn wrong_type_exits_2_naming_line_and_field() {
    let text = basic_with("count = 4\nstate", "count = \"four\"\nstate");
    assert_bad_input("type.toml", &text, "\"four\"", "fleet[0].count");
}

// Guards exit 2 with line and field for a negative duration.
#[test]
fn negative_duration_exits_2_naming_line_and_field() {
    let text = basic_with("kill_timeout = \"5s\"", "kill_timeout = \"-5s\"");
    assert_bad_input("negative.toml", &text, "\"-5s\"", "machine.kill_timeout");
}

// Guards exit 2 for an unreadable file, without a panic.
#[test]
fn missing_file_exits_2() {
    let output = fleetsim(&["run", "scenarios/does-not-exist.toml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("does-not-exist.toml"));
}

// Guards exit 2 for a bad flag (clap's usage error).
#[test]
fn unknown_strategy_flag_exits_2() {
    let output = fleetsim(&["run", BASIC, "--strategy", "yolo"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown strategy"));
}

// Guards `fleetsim strategies`: every strategy listed with a description.
#[test]
fn strategies_lists_bluegreen() {
    let output = fleetsim(&["strategies"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("bluegreen "));
}

// Guards `fleetsim fuzz --fleet`: a bad fleet scenario is bad input (exit 2).
#[test]
fn fuzz_with_a_missing_fleet_file_exits_2() {
    let output = fleetsim(&["fuzz", "--cases", "1", "--fleet", "scenarios/nope.toml"]);
    assert_eq!(output.status.code(), Some(2));
}
