//! fleetsim in CI (issue 13), end to end through the binary: the fuzz gate with known findings,
//! `check`'s tally, exit statuses and JUnit XML, JSON outputs, and sharded runs merged back into
//! exactly what one process writes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fleetsim_in(arguments: &[&str], environment: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fleetsim"));
    command
        .args(arguments)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("FLEETSIM_SHARD");
    for (name, value) in environment {
        command.env(name, value);
    }
    command.output().expect("the fleetsim binary runs")
}

fn fleetsim(arguments: &[&str]) -> Output {
    fleetsim_in(arguments, &[])
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fresh directory under target/ for one test.
fn scratch(name: &str) -> PathBuf {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/ci-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("scratch directory");
    directory
}

fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}): {}", stdout(output)))
}

/// Every file of a directory, by name, with its bytes.
fn files(directory: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(directory)
        .expect("a directory")
        .map(|entry| {
            let path = entry.expect("an entry").path();
            let name = path
                .file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("readable"))
        })
        .collect();
    files.sort();
    files
}

// Guards the gate: a campaign that meets a known finding passes with --known and counts it; the
// same campaign without --known fails on it, saving a file that replays the failure; and a known
// list that lacks that finding still fails (a new failure is never passed).
#[test]
fn the_fuzz_gate_passes_known_findings_and_fails_new_ones() {
    let directory = scratch("gate");
    let out = text(&directory.join("with-known"));
    let campaign = ["fuzz", "--cases", "40", "--seed", "4", "--json"];
    let known = fleetsim(
        &[
            &campaign[..],
            &["--out", &out, "--known", "scenarios/fuzz-found"],
        ]
        .concat(),
    );
    assert_eq!(known.status.code(), Some(0), "{}", stdout(&known));
    let summary = json(&known);
    assert_eq!(summary["schema"], "fleetsim.fuzz/1");
    let known_failures = summary["known_failures"].as_u64().expect("a count");
    assert!(
        known_failures > 0,
        "this campaign meets a known finding: {summary}"
    );
    assert_eq!(summary["new_failures"], 0);
    assert_eq!(summary["result"], "pass");

    let out = text(&directory.join("without"));
    let unknown = fleetsim(&[&campaign[..], &["--out", &out]].concat());
    assert_eq!(unknown.status.code(), Some(1), "{}", stdout(&unknown));
    let summary = json(&unknown);
    assert_eq!(summary["new_failures"].as_u64(), Some(known_failures));
    let saved = summary["findings"][0]["file"]
        .as_str()
        .expect("a saved file");
    let replay = fleetsim(&[
        "run",
        "--quiet",
        &text(&directory.join("without").join(saved)),
    ]);
    assert_eq!(
        replay.status.code(),
        Some(1),
        "the saved file replays the failure"
    );

    let out = text(&directory.join("other-known"));
    let other = fleetsim(
        &[
            &campaign[..],
            &[
                "--out",
                &out,
                "--known",
                "scenarios/fuzz-found/uncordon-fails-after-first-green.toml",
            ],
        ]
        .concat(),
    );
    assert_eq!(other.status.code(), Some(1), "{}", stdout(&other));
}

// Guards bad fuzz input: --cases 0, an empty shard count, a missing known file are exit 2.
#[test]
fn fuzz_refuses_bad_input_with_status_2() {
    let out = text(&scratch("fuzz-bad"));
    for arguments in [
        vec!["fuzz", "--cases", "0", "--out", &out],
        vec!["fuzz", "--cases", "5", "--shard", "4/4", "--out", &out],
        vec![
            "fuzz",
            "--cases",
            "5",
            "--known",
            "scenarios/nope",
            "--out",
            &out,
        ],
        vec!["fuzz", "--cases", "5", "--time-budget", "0s", "--out", &out],
    ] {
        let output = fleetsim(&arguments);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{arguments:?}: {}",
            stderr(&output)
        );
    }
}

// Guards --time-budget: a budget too small for the campaign stops early, says how many cases ran
// and how to replay them, and the cases that ran are the first ones.
#[test]
fn a_time_budget_stops_early_and_says_how_to_replay() {
    let out = text(&scratch("budget"));
    let output = fleetsim(&[
        "fuzz",
        "--cases",
        "1000000",
        "--time-budget",
        "1s",
        "--json",
        "--out",
        &out,
    ]);
    let summary = json(&output);
    let ran = summary["cases_run"].as_u64().expect("a count");
    assert!(ran > 0 && ran < 1_000_000, "{summary}");
    assert_eq!(
        summary["last_case"].as_u64(),
        Some(ran),
        "a prefix of the cases ran"
    );
    assert!(
        stderr(&output).contains(&format!("--cases {ran}")),
        "{}",
        stderr(&output)
    );
}

// Guards fuzz --jobs: the same rows, summary and saved files as --jobs 1.
#[test]
fn fuzz_jobs_write_the_same_files() {
    let directory = scratch("fuzz-jobs");
    let campaign = [
        "fuzz",
        "--cases",
        "30",
        "--seed",
        "2",
        "--strategy",
        "bluegreen@2024-02",
    ];
    let serial = directory.join("serial");
    let parallel = directory.join("parallel");
    let first = fleetsim(&[&campaign[..], &["--out", &text(&serial)]].concat());
    let second = fleetsim(&[&campaign[..], &["--out", &text(&parallel), "--jobs", "3"]].concat());
    assert_eq!(
        first.status.code(),
        Some(1),
        "2024-02 fails: shrinking is exercised"
    );
    assert_eq!(first.status.code(), second.status.code());
    assert_eq!(
        stdout(&first).replace(&text(&serial), "OUT"),
        stdout(&second).replace(&text(&parallel), "OUT")
    );
    assert_eq!(files(&serial), files(&parallel));
}

/// A scenario that fails its expectations: the basic one, expecting an outcome it does not have.
fn failing_scenario(directory: &Path) -> PathBuf {
    let basic = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bluegreen-basic.toml"),
    )
    .expect("the basic scenario");
    let failing = basic.replacen(
        "expect_outcome = \"succeeded\"",
        "expect_outcome = \"rolled-back\"",
        1,
    );
    assert_ne!(failing, basic);
    let path = directory.join("b-fails.toml");
    std::fs::write(&path, failing).expect("written");
    std::fs::write(directory.join("a-passes.toml"), basic).expect("written");
    path
}

// Guards `fleetsim check`: a run per file, the tally alone on the last line, exit 1 on a failure,
// JUnit XML that parses with one test case per run and the broken expectation as the failure's
// message, and JSON.
#[test]
fn check_tallies_exits_1_on_a_failure_and_writes_junit() {
    let directory = scratch("check");
    let scenarios = directory.join("scenarios");
    std::fs::create_dir_all(&scenarios).expect("directory");
    failing_scenario(&scenarios);
    let junit = directory.join("junit.xml");
    let output = fleetsim(&[
        "check",
        &text(&scenarios),
        "--jobs",
        "2",
        "--junit",
        &text(&junit),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let text_out = stdout(&output);
    let lines: Vec<&str> = text_out.lines().collect();
    assert_eq!(lines.last(), Some(&"1 passed, 1 failed"), "{text_out}");
    assert!(lines[0].starts_with("ok    ") && lines[0].contains("a-passes.toml"));
    assert!(lines[1].starts_with("FAIL  ") && lines[1].contains("deploy 0 rolled-back"));

    let xml = std::fs::read_to_string(&junit).expect("junit written");
    let report = quick_junit::Report::deserialize_from_str(&xml).expect("valid JUnit XML");
    assert_eq!(report.tests, 2);
    assert_eq!(report.failures, 1);
    let cases = &report.test_suites[0].test_cases;
    assert_eq!(cases.len(), 2);
    match &cases[1].status {
        quick_junit::TestCaseStatus::NonSuccess { message, .. } => {
            let message = message.as_ref().expect("a message");
            assert!(
                message.as_str().contains("deploy 0 rolled-back"),
                "{message:?}"
            );
        }
        other => panic!("the failing scenario is a failure: {other:?}"),
    }

    let passing = fleetsim(&["check", &text(&scenarios.join("a-passes.toml")), "--json"]);
    assert_eq!(passing.status.code(), Some(0));
    let summary = json(&passing);
    assert_eq!(summary["schema"], "fleetsim.check/1");
    assert_eq!(summary["passed"], 1);
    assert_eq!(summary["failed"], 0);

    let invalid = directory.join("invalid");
    std::fs::create_dir_all(&invalid).expect("directory");
    std::fs::write(invalid.join("bad.toml"), "[scenario]\nname = 3\n").expect("written");
    let bad = fleetsim(&["check", &text(&invalid)]);
    assert_eq!(bad.status.code(), Some(2), "bad input: {}", stderr(&bad));
    assert!(stderr(&bad).contains("bad.toml"));
}

// Guards an incident scenario in check: one run per strategy it lists.
#[test]
fn check_runs_every_strategy_an_incident_lists() {
    let output = fleetsim(&[
        "check",
        "scenarios/incidents/rollback-nukes-all.toml",
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let summary = json(&output);
    let runs = summary["runs"].as_array().expect("runs");
    assert!(runs.len() > 1);
    assert!(runs.iter().all(|run| run["strategy"] != ""));
}

// Guards --json of strategies and sweep: one object with its schema.
#[test]
fn json_outputs_carry_their_schema() {
    let strategies = fleetsim(&["strategies", "--json"]);
    let value = json(&strategies);
    assert_eq!(value["schema"], "fleetsim.strategies/1");
    assert_eq!(value["strategies"][0]["name"], "bluegreen");
    let sweep = fleetsim(&[
        "sweep",
        "scenarios/bluegreen-basic.toml",
        "--seeds",
        "1..3",
        "--json",
    ]);
    let value = json(&sweep);
    assert_eq!(value["schema"], "fleetsim.sweep/1");
    assert_eq!(value["runs"], 2);
}

/// Runs `arguments` as 4 shard processes at once (`--shard K/4 --out DIR/shard-K`), then merges
/// them; returns the merge's output and the merged directory.
fn sharded(directory: &Path, arguments: &[&str]) -> (Output, PathBuf) {
    let children: Vec<std::process::Child> = (0..4)
        .map(|index| {
            let out = text(&directory.join(format!("shard-{index}")));
            let shard = format!("{index}/4");
            Command::new(env!("CARGO_BIN_EXE_fleetsim"))
                .args(arguments)
                .args(["--shard", &shard, "--out", &out])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("a shard starts")
        })
        .collect();
    for mut child in children {
        child.wait().expect("a shard ends");
    }
    let merged = directory.join("merged");
    let shards: Vec<String> = (0..4)
        .map(|index| text(&directory.join(format!("shard-{index}"))))
        .collect();
    let mut merge = vec!["merge"];
    merge.extend(shards.iter().map(String::as_str));
    let merged_text = text(&merged);
    merge.extend(["--out", &merged_text]);
    (fleetsim(&merge), merged)
}

// Guards sharding and merge for sweep: 4 shard processes merged give exactly the files and the
// summary of one process.
#[test]
fn merged_sweep_shards_equal_one_sweep() {
    let directory = scratch("sweep-shards");
    let arguments = [
        "sweep",
        "scenarios/bluegreen-basic.toml",
        "--seeds",
        "1..11",
    ];
    let whole = directory.join("whole");
    let one = fleetsim(&[&arguments[..], &["--out", &text(&whole)]].concat());
    let (merge, merged) = sharded(&directory, &arguments);
    assert_eq!(merge.status.code(), one.status.code(), "{}", stderr(&merge));
    assert_eq!(stdout(&merge), stdout(&one));
    assert_eq!(files(&merged), files(&whole));
}

// Guards sharding and merge for compare: 4 shard processes merged give exactly the files
// (compare.csv, compare-runs.csv, compare.json, and compare.html drawn from the merged rows), the
// output and the exit status of one comparison.
#[test]
fn merged_compare_shards_equal_one_compare() {
    let directory = scratch("compare-shards");
    let arguments = [
        "compare",
        "scenarios/incidents/propagation-downtime-long-tail.toml",
        "--strategies",
        "bluegreen,rolling",
        "--seeds",
        "1..11",
    ];
    let whole = directory.join("whole");
    let one = fleetsim(&[&arguments[..], &["--out", &text(&whole)]].concat());
    assert_eq!(one.status.code(), Some(0), "{}", stderr(&one));
    let (merge, merged) = sharded(&directory, &arguments);
    assert_eq!(merge.status.code(), one.status.code(), "{}", stderr(&merge));
    assert_eq!(stdout(&merge), stdout(&one));
    let names: Vec<String> = files(&whole).into_iter().map(|(name, _)| name).collect();
    assert_eq!(
        names,
        [
            "compare-runs.csv",
            "compare.csv",
            "compare.html",
            "compare.json"
        ]
    );
    assert_eq!(files(&merged), files(&whole));
}

// Guards sharding and merge for fuzz: 4 shard processes merged give exactly the rows, summary and
// saved failures of one campaign (bluegreen@2024-02 fails, so shrinking and files are exercised).
#[test]
fn merged_fuzz_shards_equal_one_campaign() {
    let directory = scratch("fuzz-shards");
    let arguments = [
        "fuzz",
        "--cases",
        "24",
        "--seed",
        "5",
        "--strategy",
        "bluegreen@2024-02",
        "--known",
        "scenarios/fuzz-found",
    ];
    let whole = directory.join("whole");
    let one = fleetsim(&[&arguments[..], &["--out", &text(&whole)]].concat());
    assert_eq!(one.status.code(), Some(1), "{}", stdout(&one));
    let (merge, merged) = sharded(&directory, &arguments);
    assert_eq!(merge.status.code(), Some(1), "{}", stderr(&merge));
    assert_eq!(
        stdout(&merge).replace(&text(&merged), "OUT"),
        stdout(&one).replace(&text(&whole), "OUT")
    );
    assert_eq!(files(&merged), files(&whole));
}

// Guards sharding and merge for check, and the refusals of merge: a missing shard, shards of
// different runs.
#[test]
fn merged_check_shards_equal_one_check_and_bad_merges_are_refused() {
    let directory = scratch("check-shards");
    let arguments = ["check", "scenarios/incidents", "scenarios/fuzz-found"];
    let whole = directory.join("whole");
    let one = fleetsim(&[&arguments[..], &["--out", &text(&whole)]].concat());
    let (merge, merged) = sharded(&directory, &arguments);
    assert_eq!(merge.status.code(), one.status.code(), "{}", stderr(&merge));
    assert_eq!(stdout(&merge), stdout(&one));
    assert_eq!(files(&merged), files(&whole));

    let shard = |index: u64| text(&directory.join(format!("shard-{index}")));
    let out = text(&directory.join("refused"));
    let missing = fleetsim(&["merge", &shard(0), &shard(1), &shard(2), "--out", &out]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("3 of 4 shards"),
        "{}",
        stderr(&missing)
    );
    let mixed = fleetsim(&["merge", &shard(0), &text(&whole), "--out", &out]);
    assert_eq!(mixed.status.code(), Some(2), "{}", stderr(&mixed));
}

// Guards --shard auto/N: the index comes from JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs),
// else FLEETSIM_SHARD, and neither set is bad input.
#[test]
fn shard_auto_reads_the_environment() {
    let arguments = [
        "sweep",
        "scenarios/bluegreen-basic.toml",
        "--seeds",
        "1..5",
        "--shard",
        "auto/2",
        "--json",
    ];
    let kubernetes = fleetsim_in(&arguments, &[("JOB_COMPLETION_INDEX", "1")]);
    let value = json(&kubernetes);
    assert_eq!(value["shard"]["index"], 1);
    assert_eq!(value["runs"], 2);
    assert_eq!(value["first_failing_seed"], serde_json::Value::Null);
    let fallback = fleetsim_in(&arguments, &[("FLEETSIM_SHARD", "0")]);
    assert_eq!(json(&fallback)["shard"]["index"], 0);
    let unset = fleetsim(&arguments);
    assert_eq!(unset.status.code(), Some(2));
    assert!(stderr(&unset).contains("JOB_COMPLETION_INDEX"));
}

// Guards --version: the crate version, the git commit (or `unknown` without git) and the build
// profile, since a fingerprint is only comparable within one build.
#[test]
fn version_names_the_build() {
    let output = fleetsim(&["--version"]);
    assert_eq!(output.status.code(), Some(0));
    let line = stdout(&output);
    let rest = line
        .trim_end()
        .strip_prefix(&format!("fleetsim {} (commit ", env!("CARGO_PKG_VERSION")))
        .unwrap_or_else(|| panic!("{line}"));
    let (commit, profile) = rest.split_once(", ").expect("commit, profile");
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{line}"
    );
    assert!(
        ["debug build)", "release build)"].contains(&profile),
        "{line}"
    );
}

// Guards the completion scripts and the manual page: each generates, names the subcommands.
#[test]
fn completions_and_the_manual_page_generate() {
    for shell in ["bash", "zsh", "fish"] {
        let output = fleetsim(&["completions", shell]);
        assert_eq!(output.status.code(), Some(0), "{shell}");
        let script = stdout(&output);
        assert!(
            script.contains("fleetsim") && script.contains("merge"),
            "{shell}"
        );
    }
    let bad = fleetsim(&["completions", "cmd.exe"]);
    assert_eq!(bad.status.code(), Some(2));
    let page = stdout(&fleetsim(&["man"]));
    assert!(page.contains(".TH fleetsim 1"), "{page}");
    assert!(page.contains("check") && page.contains("merge"));
}
