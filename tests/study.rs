//! `fleetsim study`: the files are identical for any `--jobs`, and the shards of `--shard K/N`,
//! merged, are byte for byte what one process writes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fleetsim(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(arguments)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the fleetsim binary runs")
}

fn scratch(name: &str) -> PathBuf {
    let directory =
        std::env::temp_dir().join(format!("fleetsim-study-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    directory
}

const FILES: [&str; 4] = [
    "study.csv",
    "study-summary.csv",
    "study-summary.json",
    "study.html",
];

fn study(out: &Path, extra: &[&str]) -> Output {
    let out = out.display().to_string();
    let mut arguments = vec![
        "study",
        "scenarios/bluegreen-basic.toml",
        "--vary",
        "deploy.0.wait_before_cordon=0s,10s",
        "--strategies",
        "bluegreen,rolling",
        "--seeds",
        "1..4",
        "--set",
        "proxy.propagation.p99=8s",
        "--out",
        &out,
    ];
    arguments.extend(extra);
    let output = fleetsim(&arguments);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn assert_same_files(left: &Path, right: &Path) {
    for file in FILES {
        let left_bytes = std::fs::read(left.join(file)).expect("written");
        let right_bytes = std::fs::read(right.join(file)).expect("written");
        assert!(left_bytes == right_bytes, "{file} differs");
    }
}

// Guards determinism across --jobs and shard+merge equality of study outputs.
#[test]
fn study_files_are_identical_across_jobs_and_shards() {
    let serial = scratch("serial");
    let parallel = scratch("parallel");
    let first = scratch("shard0");
    let second = scratch("shard1");
    let merged = scratch("merged");
    let serial_output = study(&serial, &["--jobs", "1"]);
    study(&parallel, &["--jobs", "2"]);
    assert_same_files(&serial, &parallel);
    study(&first, &["--shard", "0/2"]);
    study(&second, &["--shard", "1/2"]);
    let merge = fleetsim(&[
        "merge",
        &first.display().to_string(),
        &second.display().to_string(),
        "--out",
        &merged.display().to_string(),
    ]);
    assert_eq!(
        merge.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&merge.stderr)
    );
    assert_same_files(&serial, &merged);
    assert_eq!(
        merge.stdout, serial_output.stdout,
        "merge prints the same summary"
    );
    // 2 points × 2 strategies × 3 seeds, and a summary row per point and strategy.
    let rows = std::fs::read_to_string(serial.join("study.csv")).expect("study.csv");
    assert_eq!(rows.lines().count(), 1 + 12);
    assert!(rows.contains("--set proxy.propagation.p99=8s --set deploy.0.wait_before_cordon=10s --seed 3 --strategy rolling"));
    let summary = std::fs::read_to_string(serial.join("study-summary.csv")).expect("summary");
    assert_eq!(summary.lines().count(), 1 + 4);
    let html = std::fs::read_to_string(serial.join("study.html")).expect("html");
    assert!(html.contains("<svg") && html.contains("deploys that lost requests"));
    for directory in [serial, parallel, first, second, merged] {
        let _ = std::fs::remove_dir_all(directory);
    }
}

// Guards bad input: a --vary whose values the scenario refuses names the override (exit 2).
#[test]
fn a_bad_point_is_refused_naming_its_override() {
    let output = fleetsim(&[
        "study",
        "scenarios/bluegreen-basic.toml",
        "--vary",
        "fleet.0.count=1,-1",
        "--seeds",
        "1..2",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--set fleet.0.count=-1: fleet[0].count"),
        "{stderr}"
    );
}
