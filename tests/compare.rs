//! `fleetsim compare` end to end (and `sweep` on per-strategy expectations): its exit status (as
//! `run`'s), the failing seeds with their replay commands, the worst seed of each strategy, the
//! charts' shared scales, and `compare --json` / `compare.json`.

mod common;

use std::path::{Path, PathBuf};

use common::{fleetsim, stderr, stdout};

const LONG_TAIL: &str = "scenarios/incidents/propagation-downtime-long-tail.toml";

/// An empty, existing scratch directory (tests/common's, created).
fn scratch(name: &str) -> PathBuf {
    let directory = common::scratch(&format!("compare-{name}"));
    std::fs::create_dir_all(&directory).expect("scratch directory");
    directory
}

fn text(path: &Path) -> String {
    path.to_str().expect("utf-8 path").to_string()
}

/// The long-tail incident without its per-strategy expectations: the default `[expect]` (every
/// invariant holds) applies, and bluegreen's lost requests break it on every seed.
fn strict_long_tail(directory: &Path) -> PathBuf {
    let original = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(LONG_TAIL))
        .expect("the long-tail scenario");
    let cut = original
        .find("[expect.strategies")
        .expect("per-strategy expectations");
    let path = directory.join("strict.toml");
    std::fs::write(&path, &original[..cut]).expect("written");
    path
}

/// compare-runs.csv as (strategy, seed, passed, requests_failed, replay) rows.
fn runs(directory: &Path) -> Vec<(String, u64, bool, u64, String)> {
    let mut reader = csv::Reader::from_path(directory.join("compare-runs.csv")).expect("csv");
    let header = reader.headers().expect("header").clone();
    let column = |name: &str| {
        header
            .iter()
            .position(|column| column == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let (seed, passed, failed, replay) = (
        column("seed"),
        column("passed"),
        column("requests_failed"),
        column("replay"),
    );
    reader
        .records()
        .map(|record| {
            let record = record.expect("record");
            (
                record[0].to_string(),
                record[seed].parse().expect("seed"),
                &record[passed] == "true",
                record[failed].parse().expect("failed"),
                record[replay].to_string(),
            )
        })
        .collect()
}

fn json_file(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("json file")).expect("valid JSON")
}

/// An SVG's axis extents: its `data-x-max`, `data-y-min` and `data-y-max`.
type Extent = (String, String, String);

/// Per chart section of compare.html (an `<h3>` before a grid): the extents of its SVGs.
fn chart_extents(html: &str) -> Vec<(String, Vec<Extent>)> {
    let attribute = |svg: &str, name: &str| {
        let start = svg.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
        svg[start..start + svg[start..].find('"').expect("closing quote")].to_string()
    };
    let charts = &html[html.find("<h2>Charts").expect("a charts section")..];
    charts
        .split("<h3>")
        .skip(1)
        .map(|section| {
            let title = section[..section.find("</h3>").expect("title")].to_string();
            let extents = section
                .split("<svg ")
                .skip(1)
                .map(|svg| {
                    let head = &svg[..svg.find('>').expect("svg tag")];
                    (
                        attribute(head, "data-x-max"),
                        attribute(head, "data-y-min"),
                        attribute(head, "data-y-max"),
                    )
                })
                .collect();
            (title, extents)
        })
        .collect()
}

// Guards compare's verdict: exit 1 when a run breaks its expectations (as `run`), every failing
// seed listed with the command that replays it (terminal, compare.json, compare.html), and 0 when
// the same runs meet the scenario's own per-strategy expectations.
#[test]
fn compare_exits_1_when_a_run_breaks_its_expectations_and_lists_it() {
    let directory = scratch("status");
    let scenario = strict_long_tail(&directory);
    let out = directory.join("out");
    let output = fleetsim(&[
        "compare",
        &text(&scenario),
        "--strategies",
        "bluegreen,rolling",
        "--seeds",
        "1..4",
        "--out",
        &text(&out),
    ]);
    let printed = stdout(&output);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{printed}{}",
        stderr(&output)
    );
    let runs = runs(&out);
    let failing: Vec<&(String, u64, bool, u64, String)> =
        runs.iter().filter(|run| !run.2).collect();
    assert!(
        failing.iter().any(|run| run.0 == "bluegreen"),
        "bluegreen loses requests on the long tail: {runs:?}"
    );
    assert!(printed.contains(&format!(
        "{} run(s) broke their expectations",
        failing.len()
    )));
    let summary = json_file(&out.join("compare.json"));
    assert_eq!(summary["schema"], "fleetsim.compare/1");
    assert_eq!(summary["failing_runs"], failing.len());
    let html = std::fs::read_to_string(out.join("compare.html")).expect("compare.html");
    for run in &failing {
        let replay = format!(
            "fleetsim run {} --seed {} --strategy {}",
            text(&scenario),
            run.1,
            run.0
        );
        assert_eq!(run.4, replay);
        assert!(printed.contains(&replay), "{printed}");
        assert!(html.contains(&replay));
        let results = summary["results"].as_array().expect("results");
        let listed = results
            .iter()
            .filter(|result| result["strategy"] == run.0.as_str())
            .flat_map(|result| result["failing"].as_array().expect("failing"))
            .any(|listed| listed["seed"] == run.1 && listed["replay"] == replay.as_str());
        assert!(listed, "seed {} of {} not in compare.json", run.1, run.0);
    }

    let expected = fleetsim(&[
        "compare",
        LONG_TAIL,
        "--strategies",
        "bluegreen,rolling",
        "--seeds",
        "1..4",
    ]);
    assert_eq!(expected.status.code(), Some(0), "{}", stdout(&expected));
    assert!(stdout(&expected).contains("every run met its expectations"));
    let _ = std::fs::remove_dir_all(&directory);
}

// Guards bad input: a missing scenario, an unknown strategy and a bad shard are exit 2.
#[test]
fn compare_refuses_bad_input_with_status_2() {
    for arguments in [
        vec!["compare", "no-such.toml", "--strategies", "bluegreen"],
        vec![
            "compare",
            "scenarios/bluegreen-basic.toml",
            "--strategies",
            "bluegreen,blue",
        ],
        vec![
            "compare",
            "scenarios/bluegreen-basic.toml",
            "--strategies",
            "bluegreen",
            "--shard",
            "4/4",
        ],
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

// Guards the worst seed (most failed requests, lowest seed on a tie, from the rows) and the
// charts: seed 1 and each strategy's worst seed, labelled with its seed and replay command, every
// chart of a kind on the same x and y scales (rolling's machines chart reaches up to bluegreen's
// 2 × N, not its own peak).
#[test]
fn the_worst_seeds_are_charted_on_shared_scales() {
    let directory = scratch("charts");
    let out = directory.join("out");
    let output = fleetsim(&[
        "compare",
        LONG_TAIL,
        "--strategies",
        "bluegreen,rolling",
        "--seeds",
        "1..6",
        "--out",
        &text(&out),
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let printed: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("JSON");
    assert_eq!(printed, json_file(&out.join("compare.json")));
    let runs = runs(&out);
    let html = std::fs::read_to_string(out.join("compare.html")).expect("compare.html");
    for result in printed["results"].as_array().expect("results") {
        let strategy = result["strategy"].as_str().expect("strategy");
        let mut worst: Option<(u64, u64)> = None;
        for run in runs.iter().filter(|run| run.0 == strategy) {
            if worst.is_none_or(|(_, failed)| run.3 > failed) {
                worst = Some((run.1, run.3));
            }
        }
        let (seed, failed) = worst.expect("runs");
        assert_eq!(result["worst_seed"], seed, "{strategy}");
        assert_eq!(result["worst_requests_failed"], failed, "{strategy}");
        let replay = format!("fleetsim run {LONG_TAIL} --seed {seed} --strategy {strategy}");
        assert_eq!(result["worst_replay"], replay.as_str());
        assert!(html.contains(&replay), "{strategy}'s worst seed is charted");
        if seed != 1 {
            assert!(html.contains(&format!("worst seed {seed} ({failed} failed requests)")));
        }
    }
    let sections = chart_extents(&html);
    assert_eq!(sections.len(), fleetsim::report::html::CHART_TITLES.len());
    let x_max = &sections[0].1[0].0;
    for (title, extents) in &sections {
        assert!(extents.len() >= 2, "{title}: {extents:?}");
        assert!(
            extents.iter().all(|extent| extent == &extents[0]),
            "{title}: the charts do not share their scales: {extents:?}"
        );
        assert_eq!(&extents[0].0, x_max, "{title}: the time axis is shared");
    }
    let machines_top: f64 = sections[0].1[0].2.parse().expect("a number");
    assert!(
        machines_top >= 16.0,
        "bluegreen's 2 × 8 sets every machines chart's top"
    );
    let _ = std::fs::remove_dir_all(&directory);
}

// Guards sweep on a scenario with per-strategy expectations: `run` runs every listed strategy, a
// sweep runs one and says plainly which, and by which expectations it judged it; a scenario
// without such entries gets no note.
#[test]
fn sweep_says_which_strategy_it_ran() {
    let own = fleetsim(&["sweep", LONG_TAIL, "--seeds", "1..3"]);
    assert_eq!(own.status.code(), Some(0), "{}", stderr(&own));
    assert!(
        stderr(&own).contains(
            "this sweep runs one strategy, bluegreen (the deploys' own), judged by \
             [expect.strategies.\"bluegreen\"]"
        ),
        "{}",
        stderr(&own)
    );
    assert!(stdout(&own).contains("seeds 1..3, strategy bluegreen"));
    let picked = fleetsim(&[
        "sweep",
        LONG_TAIL,
        "--seeds",
        "1..3",
        "--strategy",
        "bluegreen@2023-06",
    ]);
    assert_eq!(picked.status.code(), Some(0), "{}", stderr(&picked));
    assert!(stderr(&picked).contains(
        "bluegreen@2023-06 (--strategy), judged by [expect.strategies.\"bluegreen@2023-06\"]"
    ));
    let plain = fleetsim(&["sweep", "scenarios/bluegreen-basic.toml", "--seeds", "1..2"]);
    assert!(!stderr(&plain).contains("note:"), "{}", stderr(&plain));
}

// Guards the [check] bounds through compare and --set: a mixing bound of 20 s breaks rolling
// (it mixes images for its whole deploy) and not bluegreen, and the failing seed's replay command
// carries the override, so running it reproduces the failure.
#[test]
fn a_bound_set_on_the_command_line_is_judged_and_replayed() {
    let output = fleetsim(&[
        "compare",
        "scenarios/bluegreen-basic.toml",
        "--strategies",
        "bluegreen,rolling",
        "--seeds",
        "1..3",
        "--set",
        "check.mixing_bound=20s",
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("JSON");
    assert_eq!(summary["results"][0]["failing"], serde_json::json!([]));
    let failing = summary["results"][1]["failing"]
        .as_array()
        .expect("failing");
    assert_eq!(failing.len(), 2, "{failing:?}");
    assert_eq!(failing[0]["violated"], "bounded-mixing");
    let replay = failing[0]["replay"].as_str().expect("replay");
    assert_eq!(
        replay,
        "fleetsim run scenarios/bluegreen-basic.toml --set check.mixing_bound=20s --seed 1 \
         --strategy rolling"
    );
    let words: Vec<&str> = replay.split(' ').skip(1).collect();
    let replayed = fleetsim(&[&words[..], &["--quiet"]].concat());
    assert_eq!(replayed.status.code(), Some(1), "{}", stdout(&replayed));
    assert!(stdout(&replayed).contains("longer than 20 s"));
}
