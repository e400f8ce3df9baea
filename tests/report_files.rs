//! `fleetsim run --out`, `sweep` and `compare` end to end: every report file exists, parses in
//! its documented format, agrees with the summary, and is reproducible byte for byte.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fleetsim(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(arguments)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the fleetsim binary runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let directory =
        std::env::temp_dir().join(format!("fleetsim-report-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    directory
}

/// A scenario where the current bluegreen loses requests (so failures and downtime are non-zero).
const LONG_TAIL: &str = "scenarios/incidents/propagation-downtime-long-tail.toml";

fn run_out(directory: &Path, extra: &[&str]) -> serde_json::Value {
    let out = directory.to_str().expect("utf-8 path");
    let mut arguments = vec![
        "run",
        LONG_TAIL,
        "--strategy",
        "bluegreen",
        "--quiet",
        "--requests",
        "--out",
        out,
    ];
    arguments.extend_from_slice(extra);
    let output = fleetsim(&arguments);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(directory.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("summary.json is JSON")
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut reader = csv::Reader::from_path(path).expect("a CSV file");
    let header = reader
        .headers()
        .expect("a header")
        .iter()
        .map(String::from)
        .collect();
    let rows = reader
        .records()
        .collect::<Result<Vec<_>, _>>()
        .expect("every row parses");
    (header, rows)
}

fn column(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|column| column == name)
        .unwrap_or_else(|| panic!("column {name} in {header:?}"))
}

fn sum(rows: &[csv::StringRecord], index: usize) -> f64 {
    rows.iter()
        .map(|row| row[index].parse::<f64>().expect("a number"))
        .sum()
}

// Guards the report files against drifting from the summary: each exists, parses as documented,
// and its totals agree with summary.json (failed requests, ok requests, downtime, trace length).
#[test]
fn run_out_files_parse_and_agree_with_the_summary() {
    let directory = temp_dir("agree");
    let summary = run_out(&directory, &[]);
    let metrics = &summary["metrics"];
    let failed = metrics["requests_failed"]
        .as_u64()
        .expect("requests_failed");
    let ok = metrics["requests_ok"].as_u64().expect("requests_ok");
    assert!(failed > 0, "the long-tail scenario loses requests");
    assert_eq!(summary["outcome"], "pass");
    assert_eq!(summary["strategy"], "bluegreen");
    assert!(summary["build"]["version"].is_string());
    assert!(summary["coverage"]["api-call/launch"].as_u64().unwrap_or(0) > 0);
    assert_eq!(
        summary["verdicts"].as_array().map(Vec::len),
        Some(fleetsim::check::Invariant::ALL.len())
    );

    // events.csv: one row per trace step.
    let (header, events) = read_csv(&directory.join("events.csv"));
    assert_eq!(header, fleetsim::report::files::EVENTS_HEADER);
    assert_eq!(Some(events.len() as u64), summary["steps"].as_u64());
    assert_eq!(summary["events_written"], summary["steps"]);

    // timeline.csv: failed and ok requests per window sum to the summary's; so do outage and
    // degraded time.
    let (header, windows) = read_csv(&directory.join("timeline.csv"));
    for name in [
        "window_start_ms",
        "window_end_ms",
        "machines_alive",
        "alive_v1",
        "alive_v2",
        "state_started",
        "routable_ams",
        "routable_iad",
        "requests_failed",
        "latency_p99_ms",
        "outage_ms",
        "degraded_ms",
        "faults_active",
    ] {
        column(&header, name);
    }
    assert_eq!(
        sum(&windows, column(&header, "requests_failed")) as u64,
        failed
    );
    assert_eq!(sum(&windows, column(&header, "requests_ok")) as u64, ok);
    let reasons: f64 = [
        "failed_no_routable_machine",
        "failed_connection_refused",
        "failed_killed",
    ]
    .iter()
    .map(|name| sum(&windows, column(&header, name)))
    .sum();
    assert_eq!(reasons as u64, failed);
    let outage = sum(&windows, column(&header, "outage_ms"));
    let expected = metrics["outage_total_ms"].as_f64().expect("outage");
    assert!(
        (outage - expected).abs() < 1.0,
        "timeline outage {outage} vs summary {expected}"
    );
    assert!(expected > 0.0);
    let degraded = sum(&windows, column(&header, "degraded_ms"));
    let expected = metrics["degraded_total_ms"].as_f64().expect("degraded");
    assert!(
        (degraded - expected).abs() < 1.0,
        "timeline degraded {degraded} vs summary {expected}"
    );
    let first_start: f64 = windows[0][0].parse().expect("a time");
    let window_end: f64 = windows[0][1].parse().expect("a time");
    assert_eq!(
        (first_start, window_end),
        (0.0, 1000.0),
        "1 s windows by default"
    );
    let last_end: f64 = windows.last().expect("rows")[1].parse().expect("a time");
    assert!(last_end >= summary["end_time_ms"].as_f64().expect("end time"));

    // requests.csv: one row per finished request.
    let (header, requests) = read_csv(&directory.join("requests.csv"));
    assert_eq!(header, fleetsim::report::files::REQUESTS_HEADER);
    assert_eq!(requests.len() as u64, ok + failed);
    let outcome = column(&header, "outcome");
    let failed_rows = requests
        .iter()
        .filter(|row| &row[outcome] == "failed")
        .count();
    assert_eq!(failed_rows as u64, failed);

    // latency.hgrm: the percentile-distribution format; its last line is the max and the count.
    let hgrm = std::fs::read_to_string(directory.join("latency.hgrm")).expect("latency.hgrm");
    let mut lines = hgrm.lines();
    let first = lines.next().expect("a header line");
    assert!(
        first.contains("Value") && first.contains("Percentile") && first.contains("TotalCount")
    );
    let data: Vec<(f64, f64, u64)> = hgrm
        .lines()
        .filter_map(fleetsim::report::hgrm::parse_line)
        .collect();
    assert!(data.len() > 10);
    assert!(data
        .windows(2)
        .all(|pair| pair[0].1 <= pair[1].1 && pair[0].2 <= pair[1].2));
    let (max, quantile, count) = *data.last().expect("data lines");
    assert_eq!(quantile, 1.0);
    assert_eq!(count, ok);
    let max_ms = metrics["latency_max_ms"].as_f64().expect("max");
    assert!(
        (max - max_ms).abs() < 0.001,
        "hgrm max {max} vs summary {max_ms}"
    );
    assert!(hgrm.contains(&format!("Total count    = {ok:>12}]")));
}

// Guards determinism of the report files: the same run twice gives byte-identical files.
#[test]
fn run_out_files_are_reproducible() {
    let first = temp_dir("repro-1");
    let second = temp_dir("repro-2");
    run_out(&first, &["--window", "500ms"]);
    run_out(&second, &["--window", "500ms"]);
    for name in [
        "summary.json",
        "events.csv",
        "timeline.csv",
        "requests.csv",
        "latency.hgrm",
        "report.html",
    ] {
        let a = std::fs::read(first.join(name)).expect("first");
        let b = std::fs::read(second.join(name)).expect("second");
        assert!(a == b, "{name} differs between two identical runs");
    }
    let (_, windows) = read_csv(&first.join("timeline.csv"));
    assert_eq!(&windows[0][1], "500.000", "--window sets the window");
}

const VOID_ELEMENTS: [&str; 6] = ["meta", "br", "hr", "img", "input", "link"];

/// A small well-formedness check: every tag closes in order (void elements and `/>` aside),
/// attribute quotes balance, and no raw `<` or `&` is left unescaped in text.
fn check_well_formed(html: &str) -> Result<(), String> {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    if let Some(after) = rest.strip_prefix("<!DOCTYPE html>") {
        rest = after;
    } else {
        return Err("no doctype".to_string());
    }
    while let Some(start) = rest.find(['<', '&']) {
        let text = &rest[..start];
        if text.contains('>') {
            return Err(format!("a stray '>' in text: {text:.60}"));
        }
        rest = &rest[start..];
        if rest.starts_with('&') {
            let end = rest.find(';').ok_or("an unterminated entity")?;
            let entity = &rest[1..end];
            let known = ["amp", "lt", "gt", "quot", "#39"];
            if !known.contains(&entity) {
                return Err(format!("unknown entity &{entity};"));
            }
            rest = &rest[end + 1..];
            continue;
        }
        let end = rest.find('>').ok_or("an unterminated tag")?;
        let tag = &rest[1..end];
        if tag.matches('"').count() % 2 != 0 {
            return Err(format!("unbalanced quotes in <{tag}>"));
        }
        if tag.contains('<') {
            return Err(format!("'<' inside a tag: <{tag}>"));
        }
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack.pop().ok_or(format!("</{name}> closes nothing"))?;
            if open != name {
                return Err(format!("</{name}> closes <{open}>"));
            }
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if name.is_empty() {
            return Err(format!("a tag without a name: <{tag}>"));
        }
        if tag.ends_with('/') || VOID_ELEMENTS.contains(&name.as_str()) {
            continue;
        }
        if name == "style" {
            let close = rest.find("</style>").ok_or("unclosed <style>")?;
            rest = &rest[close + "</style>".len()..];
            continue;
        }
        stack.push(name);
    }
    if rest.contains('>') {
        return Err("a stray '>' at the end".to_string());
    }
    if !stack.is_empty() {
        return Err(format!("unclosed tags: {stack:?}"));
    }
    Ok(())
}

// Guards the checker itself: it must reject broken pages, or the HTML test proves nothing.
#[test]
fn the_well_formedness_checker_rejects_broken_html() {
    let good = "<!DOCTYPE html>\n<html><body><p>a &amp; b</p><br><svg><line x1=\"1\"/></svg></body></html>";
    assert_eq!(check_well_formed(good), Ok(()));
    for bad in [
        "<!DOCTYPE html><html><body><p>x</body></html>",
        "<!DOCTYPE html><html><p>a < b</p></html>",
        "<!DOCTYPE html><html><p>a & b</p></html>",
        "<!DOCTYPE html><html><p class=\"x>y</p></html>",
        "<html></html>",
    ] {
        assert!(check_well_formed(bad).is_err(), "accepted {bad}");
    }
}

// Guards report.html: well-formed, self-contained (no script, no external resource), one inline
// SVG per chart, and the invariant and metric tables present.
#[test]
fn report_html_is_well_formed_with_one_svg_per_chart() {
    let directory = temp_dir("html");
    run_out(&directory, &[]);
    let html = std::fs::read_to_string(directory.join("report.html")).expect("report.html");
    check_well_formed(&html).expect("report.html is well-formed");
    assert_eq!(
        html.matches("<svg").count(),
        fleetsim::report::html::CHART_TITLES.len()
    );
    for title in fleetsim::report::html::CHART_TITLES {
        assert!(html.contains(&format!("<title>{title}</title>")), "{title}");
    }
    assert!(!html.contains("<script"));
    assert!(
        !html.contains("http://")
            || html.matches("http://").count()
                == html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );
    assert!(!html.contains("https://"));
    for invariant in fleetsim::check::Invariant::ALL {
        assert!(html.contains(invariant.as_str()));
    }
    assert!(html.contains("outage_total_ms") && html.contains("machine_seconds"));
    assert!(
        html.contains("class=\"headline\""),
        "the page opens with the headline"
    );
}

// Guards parallel sweeps against depending on thread scheduling: --jobs 2 writes the same
// sweep.csv as --jobs 1 (rows in seed order, identical values).
#[test]
fn sweep_with_two_jobs_matches_one_job() {
    let serial = temp_dir("sweep-1");
    let parallel = temp_dir("sweep-2");
    for (directory, jobs) in [(&serial, "1"), (&parallel, "2")] {
        let output = fleetsim(&[
            "sweep",
            LONG_TAIL,
            "--strategy",
            "bluegreen",
            "--seeds",
            "1..7",
            "--jobs",
            jobs,
            "--out",
            directory.to_str().expect("utf-8"),
        ]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let one = std::fs::read(serial.join("sweep.csv")).expect("serial sweep.csv");
    let two = std::fs::read(parallel.join("sweep.csv")).expect("parallel sweep.csv");
    assert!(
        one == two,
        "sweep.csv differs between --jobs 1 and --jobs 2"
    );
    let (header, rows) = read_csv(&serial.join("sweep.csv"));
    assert_eq!(header, fleetsim::report::sweep::SWEEP_HEADER);
    let seeds: Vec<String> = rows.iter().map(|row| row[0].to_string()).collect();
    assert_eq!(seeds, ["1", "2", "3", "4", "5", "6"]);
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(serial.join("sweep-summary.json")).expect("summary"),
    )
    .expect("JSON");
    assert_eq!(summary["runs"], 6);
    assert_eq!(summary["pass_rate"], 1.0);
}

// Guards the sweep's failure report: a failing seed is named with the exact command that
// replays it, and the exit status is 1.
#[test]
fn sweep_names_the_first_failing_seed_and_its_replay() {
    // The long-tail scenario under bluegreen, with expectations that forbid downtime: every
    // seed fails.
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(LONG_TAIL))
        .expect("scenario");
    let text = text.replace(
        "[expect.strategies.\"bluegreen\"]\nviolate = [\"no-downtime\"]",
        "[expect.strategies.\"bluegreen\"]\nviolate = []",
    );
    let directory = temp_dir("sweep-fail");
    std::fs::create_dir_all(&directory).expect("dir");
    let path = directory.join("strict.toml");
    std::fs::write(&path, text).expect("write");
    let output = fleetsim(&[
        "sweep",
        path.to_str().expect("utf-8"),
        "--strategy",
        "bluegreen",
        "--seeds",
        "3..=4",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("first failing seed: 3"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "fleetsim run {} --seed 3 --strategy bluegreen",
            path.display()
        )),
        "{stdout}"
    );
}

// Guards compare: a row per strategy in compare.csv, and compare.html well-formed with one SVG
// per chart per strategy.
#[test]
fn compare_writes_a_row_and_charts_per_strategy() {
    let directory = temp_dir("compare");
    let output = fleetsim(&[
        "compare",
        LONG_TAIL,
        "--strategies",
        "bluegreen,rolling",
        "--seeds",
        "1..3",
        "--out",
        directory.to_str().expect("utf-8"),
    ]);
    let (header, rows) = read_csv(&directory.join("compare.csv"));
    assert_eq!(header, fleetsim::report::compare::COMPARE_HEADER);
    let strategies: Vec<&str> = rows
        .iter()
        .map(|row| row.get(0).expect("strategy"))
        .collect();
    assert_eq!(strategies, ["bluegreen", "rolling"]);
    let (runs_header, runs) = read_csv(&directory.join("compare-runs.csv"));
    assert_eq!(runs.len(), 4);
    // compare exits as `run` does: 1 when any run broke its expectations.
    let passed = runs_header
        .iter()
        .position(|column| column == "passed")
        .expect("a passed column");
    let all_passed = runs.iter().all(|run| run.get(passed) == Some("true"));
    assert_eq!(
        output.status.code(),
        Some(if all_passed { 0 } else { 1 }),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let html = std::fs::read_to_string(directory.join("compare.html")).expect("compare.html");
    check_well_formed(&html).expect("compare.html is well-formed");
    // Seed 1 and, where it is another seed, the worst: one SVG per chart for each.
    let worst = header
        .iter()
        .position(|column| column == "worst_seed")
        .expect("a worst_seed column");
    let charted: usize = rows
        .iter()
        .map(|row| if row.get(worst) == Some("1") { 1 } else { 2 })
        .sum();
    assert_eq!(
        html.matches("<svg").count(),
        charted * fleetsim::report::html::CHART_TITLES.len()
    );
}
