//! `fleetsim tune`: the same inputs give the same recommendation (for any --jobs), and the
//! scenario it writes meets its goal on a fresh sweep of other seeds. A small fleet and few seeds
//! keep it quick.

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
        std::env::temp_dir().join(format!("fleetsim-tune-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    directory
}

/// Four machines, slow propagation (median 8 s, p99 30 s), light traffic.
const SMALL_SLOW: [&str; 14] = [
    "--set",
    "fleet.0.count=2",
    "--set",
    "fleet.1.count=2",
    "--set",
    "proxy.propagation.median=8s",
    "--set",
    "proxy.propagation.p99=30s",
    "--set",
    "proxy.propagation.max=40s",
    "--set",
    "traffic.regions.0.rate=20",
    "--set",
    "traffic.regions.1.rate=20",
];

fn tune(out: &Path, jobs: &str) -> Output {
    let out = out.display().to_string();
    let mut arguments = vec![
        "tune",
        "scenarios/bluegreen-basic.toml",
        "--seeds",
        "20",
        "--goal",
        "lost-request-deploys<=30%",
        "--jobs",
        jobs,
        "--out",
        &out,
    ];
    arguments.extend(SMALL_SLOW);
    let output = fleetsim(&arguments);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn sweep_json(scenario: &Path, seeds: &str) -> serde_json::Value {
    let output = fleetsim(&[
        "sweep",
        &scenario.display().to_string(),
        "--seeds",
        seeds,
        "--json",
    ]);
    serde_json::from_slice(&output.stdout).expect("sweep --json prints JSON")
}

// Guards tune's determinism across processes and --jobs, and that its recommended scenario
// reproduces its claim and meets the goal on seeds it never ran.
#[test]
fn tune_is_deterministic_and_its_recommendation_meets_the_goal_on_fresh_seeds() {
    let serial = scratch("serial");
    let parallel = scratch("parallel");
    let first = tune(&serial, "1");
    let second = tune(&parallel, "2");
    for file in ["tune.csv", "tune.html", "tuned.toml"] {
        let left = std::fs::read(serial.join(file)).expect("written");
        let right = std::fs::read(parallel.join(file)).expect("written");
        assert!(left == right, "{file} differs between --jobs 1 and 2");
    }
    let without_time = |output: &Output| {
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|line| !line.trim_start().starts_with("in ") && !line.contains("tune-"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(without_time(&first), without_time(&second));
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(stdout.contains("recommended "), "{stdout}");
    assert!(stdout.contains(" runs: "), "{stdout}");
    // The claim: the recommended row of tune.csv, reproduced by a sweep of the same seeds.
    let csv = std::fs::read_to_string(serial.join("tune.csv")).expect("tune.csv");
    // Counted from the end: the settings column holds commas.
    let recommended: Vec<&str> = csv
        .lines()
        .find(|line| line.ends_with(",recommended"))
        .expect("a recommended row")
        .rsplit(',')
        .collect();
    let tuned = serial.join("tuned.toml");
    let same = sweep_json(&tuned, "1..21");
    assert_eq!(same["lost_request_runs"]["runs"], 20);
    assert_eq!(
        same["lost_request_runs"]["count"]
            .as_u64()
            .map(|count| count.to_string()),
        Some(recommended[5].to_string()),
        "the sweep of the same seeds reproduces the claim"
    );
    // Fresh seeds: the goal (30 %) holds at 95 % confidence there too.
    let fresh = sweep_json(&tuned, "1000..1020");
    let high = fresh["lost_request_runs"]["high"]
        .as_f64()
        .expect("a bound");
    assert!(high <= 0.30, "fresh seeds: {}", fresh["lost_request_runs"]);
    for directory in [serial, parallel] {
        let _ = std::fs::remove_dir_all(directory);
    }
}
