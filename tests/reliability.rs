//! No input crashes or hangs fleetsim, reports stay bounded and whole, output directories hold
//! exactly their run's files, and nonsense is refused or warned about (issue 11). Each test names
//! the failure it guards against; each failed before its fix.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::mpsc;
use std::time::Duration;

use fleetsim::deploy::StrategyName;
use fleetsim::report::files::{write_run_files, RunFilesOptions};
use fleetsim::scenario::{parse, parse_with_warnings, ranges, Scenario, ScenarioError};
use fleetsim::sim::{EngineLimits, Simulation};

/// Two machines under traffic and one bluegreen deploy. Line 14 is `rate`, line 17 the deploy's
/// `image`.
const BASE: &str = r#"[scenario]
name = "reliability"

[app]
name = "app"
image = "img:1"

[[fleet]]
region = "iad"
count = 2

[[traffic.regions]]
region = "iad"
rate = 20.0

[[deploy]]
image = "img:2"
"#;

fn scenario(text: &str) -> Scenario {
    parse(Path::new("test.toml"), text).unwrap_or_else(|error| panic!("valid scenario: {error}"))
}

/// `text` must be refused at `field`, with a message containing `fragment`.
fn refused(text: &str, field: &str, fragment: &str) -> ScenarioError {
    let error = match parse(Path::new("test.toml"), text) {
        Ok(_) => panic!("expected an error at {field} for:\n{text}"),
        Err(error) => error,
    };
    assert_eq!(error.field, field, "{error}");
    assert!(error.line >= 1 && error.column >= 1, "{error}");
    assert!(error.message.contains(fragment), "{error}");
    error
}

fn fleetsim(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(arguments)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the fleetsim binary runs")
}

/// A scratch directory, removed again when the test ends (report files of long runs are large).
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> Scratch {
    let directory = std::env::temp_dir().join(format!(
        "fleetsim-reliability-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("temp dir");
    Scratch(directory)
}

fn write_file(directory: &Path, name: &str, text: &str) -> String {
    let path = directory.join(name);
    std::fs::write(&path, text).expect("write scenario");
    path.to_string_lossy().into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

// ---- crashes and a hang: each is a named error with its range, or a correct run ----

// Guards against `Duration::from_secs_f64(1 / rate)` panicking on a tiny traffic rate.
#[test]
fn a_tiny_traffic_rate_is_refused_and_a_hand_built_one_sends_nothing() {
    let error = refused(
        &BASE.replace("rate = 20.0", "rate = 1e-20"),
        "traffic.regions[0].rate",
        "must be between 0.001 and 100000 requests per second",
    );
    assert_eq!((error.line, error.column), (14, 8));
    let mut built = scenario(BASE);
    built.traffic.regions[0].rate_per_second = 1e-20;
    let result = Simulation::new(&built).run();
    assert_eq!(result.metrics.requests_total, 0);
}

// Guards against the deployer's clock overflowing on an extreme skew.
#[test]
fn an_extreme_clock_skew_is_refused_and_a_hand_built_one_saturates() {
    let text = BASE.replace(
        "image = \"img:2\"",
        "image = \"img:2\"\nclock_skew_seconds = 9223372036854775807",
    );
    refused(
        &text,
        "deploy[0].clock_skew_seconds",
        "must be between -2592000 and 2592000",
    );
    let mut built = scenario(BASE);
    built.deploys[0].clock_skew_seconds = i64::MAX;
    let result = Simulation::new(&built).run();
    assert!(result.limit_hit.is_none(), "{:?}", result.limit_hit);
}

// Guards against the deploy's time bound overflowing (multiplied with saturation, then added
// without) on an absurd wait timeout: every duration has a range.
#[test]
fn an_absurd_wait_timeout_is_refused_and_the_time_bound_saturates() {
    let text = BASE.replace(
        "image = \"img:2\"",
        "image = \"img:2\"\nwait_timeout = \"200000000000y\"",
    );
    refused(
        &text,
        "deploy[0].wait_timeout",
        "durations are at most 30days",
    );
    let mut spec = scenario(BASE).deploys[0].clone();
    spec.wait_timeout = Duration::MAX;
    assert_eq!(
        fleetsim::platform::deployer::derived_time_bound(&spec),
        Duration::MAX
    );
}

// Guards `compare`'s default seed range (seed..seed + 1) against overflow: the highest seed a
// scenario may have still has a successor, and the one above it is refused.
#[test]
fn the_highest_seed_compares_and_the_one_above_is_refused() {
    let directory = temp_dir("seeds");
    let highest = format!("{BASE}\n[run]\nseed = {}\n", ranges::SEED_MAX);
    let path = write_file(&directory, "highest.toml", &highest);
    let output = fleetsim(&["compare", &path, "--strategies", "bluegreen,rolling"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let above = format!("{BASE}\n[run]\nseed = {}\n", u64::MAX);
    let path = write_file(&directory, "above.toml", &above);
    for command in ["run", "compare"] {
        let mut arguments = vec![command, path.as_str()];
        if command == "compare" {
            arguments.extend(["--strategies", "bluegreen"]);
        }
        let output = fleetsim(&arguments);
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        assert!(stderr(&output).contains(": run.seed: seed 18446744073709551615 is out of range"));
    }
    let output = fleetsim(&["run", &path, "--seed", "18446744073709551615"]);
    assert_eq!(output.status.code(), Some(2));
}

// Guards against the shared seed counter of a parallel sweep wrapping past u64::MAX to 0, which
// made a sweep at the top of the seed range run forever.
#[test]
fn a_parallel_sweep_at_the_top_of_the_seed_range_ends() {
    let built = scenario(BASE);
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let rows =
            fleetsim::report::sweep::run_seeds(&built, None, u64::MAX - 2..u64::MAX, 2, |_| {});
        let _ = sender.send(rows.iter().map(|row| row.seed).collect::<Vec<u64>>());
    });
    let seeds = receiver
        .recv_timeout(Duration::from_secs(300))
        .expect("the sweep ends");
    assert_eq!(seeds, vec![u64::MAX - 2, u64::MAX - 1]);
    assert!(fleetsim::report::sweep::parse_seed_range("1..=18446744073709551615").is_err());
}

// ---- the class: every duration, count, rate, seed and list has a documented range ----

// Guards the ranges of `scenario::ranges`: a value just outside each is refused, naming its field.
#[test]
fn every_number_and_list_outside_its_range_is_refused() {
    let with = |extra: &str| format!("{BASE}{extra}");
    let cases: Vec<(String, &str, &str)> = vec![
        (
            with("\n[run]\nsettle = \"31days\"\n"),
            "run.settle",
            "at most 30days",
        ),
        (
            with("\n[machine]\nkill_timeout = \"721h\"\n"),
            "machine.kill_timeout",
            "at most 30days",
        ),
        (
            with("\n[proxy]\npropagation = { kind = \"constant\", value = \"1000000h\" }\n"),
            "proxy.propagation.value",
            "at most 30days",
        ),
        (
            with("\n[api]\nlist_lag = \"18446744073709551615s\"\n"),
            "api.list_lag",
            "at most 30days",
        ),
        (
            with("\n[run]\nmachine_limit = 1000001\n"),
            "run.machine_limit",
            "between 1 and 1000000",
        ),
        (
            with("\n[run]\nevent_limit = 10000000001\n"),
            "run.event_limit",
            "between 1 and 10000000000",
        ),
        (
            with("\n[proxy]\nconnect_retries = 101\n"),
            "proxy.connect_retries",
            "between 0 and 100",
        ),
        (
            with("\n[proxy]\nconnect_retries = -1\n"),
            "proxy.connect_retries",
            "between 0 and 100",
        ),
        (
            BASE.replace("rate = 20.0", "rate = 100000.5"),
            "traffic.regions[0].rate",
            "between 0.001 and 100000",
        ),
        (
            BASE.replace("rate = 20.0", "rate = nan"),
            "traffic.regions[0].rate",
            "between 0.001 and 100000",
        ),
        (
            with(&"\n[[deploy]]\nimage = \"img:3\"\n".repeat(ranges::DEPLOYS_MAX)),
            "deploy[100]",
            "at most 100",
        ),
        (
            with(&"\n[[faults]]\nkind = \"org-limit\"\n".repeat(ranges::FAULTS_MAX + 1)),
            "faults[1000]",
            "at most 1000",
        ),
    ];
    for (text, field, fragment) in cases {
        refused(&text, field, fragment);
    }
    // The bounds themselves are accepted.
    scenario(&with(
        "\n[run]\ntime_limit = \"30days\"\nmachine_limit = 1000000\nevent_limit = 10000000000\n",
    ));
    scenario(&BASE.replace("rate = 20.0", "rate = 0.001"));
}

// ---- silently accepted nonsense: refused or warned, with file:line:col ----

// Guards against faults and deploys timed after the run's time limit (they never happen).
#[test]
fn a_time_after_the_time_limit_is_refused() {
    let fault = format!(
        "{BASE}\n[[faults]]\nkind = \"machine-crash\"\nmachine = \"blue:0\"\nat = \"100000h\"\n"
    );
    refused(
        &fault,
        "faults[0].at",
        "is after run.time_limit (2h): the fault would never fire",
    );
    let window = format!(
        "{BASE}\n[run]\ntime_limit = \"1h\"\n\n[[faults]]\nkind = \"api-error\"\nrate = 0.5\nstart = \"2h\"\n"
    );
    refused(&window, "faults[0].start", "after run.time_limit (1h)");
    let phase = format!(
        "{BASE}\n[[faults]]\nkind = \"deployer-kill\"\nphase = \"stop-blues\"\nafter = \"3h\"\n"
    );
    refused(&phase, "faults[0].after", "after run.time_limit");
    let deploy = BASE.replace("image = \"img:2\"", "image = \"img:2\"\nstart = \"3h\"");
    refused(&deploy, "deploy[0].start", "the deploy would never start");
}

// Guards against a fault aimed at a green the deploy will not launch passing without a word, and
// against one aimed at a green that can never exist.
#[test]
fn a_fault_on_a_green_beyond_the_fleet_is_warned_about_or_refused() {
    let text = format!("{BASE}\n[[faults]]\nkind = \"unhealthy\"\nmachine = \"green:500\"\n");
    let (_, warnings) = parse_with_warnings(Path::new("test.toml"), &text).expect("valid");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let warning = &warnings[0];
    assert_eq!(
        (warning.line, warning.column, warning.field.as_str()),
        (21, 11, "faults[0].machine")
    );
    assert!(
        warning.message.contains("the initial fleet has 2"),
        "{warning}"
    );
    let (_, none) = parse_with_warnings(
        Path::new("test.toml"),
        &text.replace("green:500", "green:1"),
    )
    .expect("valid");
    assert!(none.is_empty(), "{none:?}");
    let impossible = format!("{text}\n[run]\nmachine_limit = 100\n");
    refused(&impossible, "faults[0].machine", "can never exist");

    let directory = temp_dir("warning");
    let path = write_file(&directory, "green500.toml", &text);
    for command in ["run", "check"] {
        let output = fleetsim(&[command, &path]);
        assert!(
            stderr(&output).contains(&format!("warning: {path}:21:11: faults[0].machine: ")),
            "{command}: {}",
            stderr(&output)
        );
    }
}

// Guards against a fleet that fills the machine limit with a bluegreen deploy, which needs 2 × N.
#[test]
fn a_machine_limit_without_room_for_greens_is_refused_for_bluegreen_only() {
    let tight = format!("{BASE}\n[run]\nmachine_limit = 2\n");
    refused(
        &tight,
        "run.machine_limit",
        "raise run.machine_limit to at least 4",
    );
    let rolling = tight.replace(
        "image = \"img:2\"",
        "image = \"img:2\"\nstrategy = \"rolling\"",
    );
    let loaded = scenario(&rolling);
    assert!(loaded.room_for(StrategyName::Rolling).is_ok());
    assert!(loaded.room_for(StrategyName::ALL[0]).is_err());
    let directory = temp_dir("room");
    let path = write_file(&directory, "rolling.toml", &rolling);
    let output = fleetsim(&["run", &path, "--strategy", "bluegreen"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("--strategy: run.machine_limit (2)"));
}

// Guards against flags that only mean something with --out being ignored without a word.
#[test]
fn flags_of_out_without_out_are_bad_input() {
    for arguments in [
        vec!["run", "scenarios/bluegreen-basic.toml", "--window", "5s"],
        vec!["run", "scenarios/bluegreen-basic.toml", "--requests"],
        vec![
            "compare",
            "scenarios/bluegreen-basic.toml",
            "--strategies",
            "bluegreen",
            "--window",
            "5s",
        ],
    ] {
        let output = fleetsim(&arguments);
        assert_eq!(output.status.code(), Some(2), "{arguments:?}");
        assert!(
            stderr(&output).contains("--out <DIR>"),
            "{}",
            stderr(&output)
        );
    }
}

// Guards against --out being checked only after the whole simulation ran, and `fuzz --out`
// into an unwritable place exiting 1 instead of 2.
#[test]
fn an_unwritable_out_is_bad_input_before_anything_runs() {
    let directory = temp_dir("unwritable");
    let file = write_file(&directory, "a-file", "not a directory");
    let below_a_file = format!("{file}/out");
    let commands: Vec<Vec<&str>> = vec![
        vec![
            "run",
            "scenarios/bluegreen-basic.toml",
            "--out",
            &below_a_file,
        ],
        vec![
            "sweep",
            "scenarios/bluegreen-basic.toml",
            "--seeds",
            "1..3",
            "--out",
            &below_a_file,
        ],
        vec![
            "compare",
            "scenarios/bluegreen-basic.toml",
            "--strategies",
            "bluegreen",
            "--out",
            &below_a_file,
        ],
        vec!["fuzz", "--cases", "5", "--out", &below_a_file],
        vec![
            "check",
            "scenarios/bluegreen-basic.toml",
            "--out",
            &below_a_file,
        ],
    ];
    for arguments in commands {
        let output = fleetsim(&arguments);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{arguments:?}: {}",
            stderr(&output)
        );
        assert!(output.stdout.is_empty(), "{arguments:?} simulated first");
        assert!(
            stderr(&output).contains("cannot write there"),
            "{}",
            stderr(&output)
        );
    }
}

// Guards against `compare` exiting 0 when runs panicked (a crash breaks every expectation).
#[test]
fn a_comparison_with_panicked_runs_fails() {
    let mut broken = scenario(BASE);
    // A uniform distribution with min above max: sampling it asserts, so every run panics.
    broken.api.latency = fleetsim::engine::random::Distribution::Uniform {
        min: Duration::from_secs(2),
        max: Duration::from_secs(1),
    };
    let options = fleetsim::report::compare::CompareOptions {
        strategies: vec![StrategyName::ALL[0]],
        custom: Vec::new(),
        seeds: 1..3,
        shard: fleetsim::work::Shard::WHOLE,
        jobs: 1,
        window: Duration::from_secs(1),
    };
    let comparison =
        fleetsim::report::compare::compare(&broken, &options, None).expect("no files to write");
    assert_eq!(comparison.panics(), 2);
    assert_eq!(fleetsim::cli::compare_exit_status(&comparison), 1);
    let healthy = fleetsim::report::compare::compare(&scenario(BASE), &options, None)
        .expect("no files to write");
    assert_eq!(fleetsim::cli::compare_exit_status(&healthy), 0);
}

// ---- reports: bounded, never silently incomplete, limits named for what they are ----

// Guards against a timeline of one row per window over any run length (a 1 µs window on a
// minute-long run, or 1 ms over weeks, allocated gigabytes): it is coarsened, and says so.
#[test]
fn the_timeline_is_bounded_and_says_when_it_was_coarsened() {
    use fleetsim::report::analysis::{analyse, timeline_window, TIMELINE_WINDOWS_MAX};
    assert_eq!(timeline_window(1_000_000, 60_000_000), 1_000_000);
    assert_eq!(timeline_window(1, 60_000_000), 1_000);
    assert_eq!(timeline_window(1_000, 30 * 24 * 3_600_000_000), 50_000_000);
    let built = scenario(BASE);
    let result = Simulation::new(&built).keep_trace(true).run();
    let analysis = analyse(&built, &result, 1);
    assert!(analysis.windows.len() as u64 <= TIMELINE_WINDOWS_MAX);
    assert_eq!(analysis.window_requested_us, 1);
    assert!(analysis.window_us > 1);

    let directory = temp_dir("coarse");
    let late = BASE
        .replace("image = \"img:2\"", "image = \"img:2\"\nstart = \"700h\"")
        .replace("[[traffic.regions]]\nregion = \"iad\"\nrate = 20.0\n", "")
        + "\n[run]\ntime_limit = \"720h\"\n";
    let path = write_file(&directory, "late.toml", &late);
    let out = directory.join("out");
    let output = fleetsim(&[
        "run",
        "--quiet",
        &path,
        "--out",
        &out.to_string_lossy(),
        "--window",
        "1ms",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("is coarsened"),
        "{}",
        stderr(&output)
    );
    let rows = std::fs::read_to_string(out.join("timeline.csv"))
        .expect("timeline")
        .lines()
        .count();
    assert!(rows as u64 <= TIMELINE_WINDOWS_MAX + 1, "{rows} rows");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).expect("summary"))
            .expect("JSON");
    assert_eq!(summary["window_requested_ms"], "1.000");
    assert_ne!(summary["window_ms"], "1.000");
}

// Guards against report files that silently show nothing after the trace reached its cap of kept
// steps: every file and the page say where they stop.
#[test]
fn a_truncated_trace_is_marked_in_every_file_and_the_page() {
    let built = scenario(BASE);
    let limits = EngineLimits {
        trace_steps_kept: 400,
        ..EngineLimits::DEFAULT
    };
    let result = Simulation::new(&built)
        .keep_trace(true)
        .engine_limits(limits)
        .run();
    let cut = result
        .trace_truncated_at
        .expect("the trace reached its cap");
    assert_eq!(result.trace.len(), 400);
    assert!(result.steps > 400);
    let full = Simulation::new(&built).run();
    assert_eq!(
        result.fingerprint, full.fingerprint,
        "keeping steps changes nothing"
    );

    let directory = temp_dir("truncated");
    let options = RunFilesOptions {
        requests: true,
        ..RunFilesOptions::default()
    };
    let written = write_run_files(&directory, &built, &result, &options).expect("written");
    assert!(written
        .notes
        .iter()
        .any(|note| note.starts_with("incomplete")));
    let read = |name: &str| std::fs::read_to_string(directory.join(name)).expect(name);
    let summary: serde_json::Value = serde_json::from_str(&read("summary.json")).expect("JSON");
    assert_eq!(summary["complete"], false);
    let cut_ms = format!("{}.{:03}", cut.as_micros() / 1_000, cut.as_micros() % 1_000);
    assert_eq!(summary["covered_until_ms"], cut_ms.as_str());
    let events = read("events.csv");
    let last_event = events.lines().last().expect("rows");
    assert!(
        last_event.starts_with(&format!("{cut_ms},trace-truncated,")),
        "{last_event}"
    );
    let timeline = read("timeline.csv");
    let last_window = timeline.lines().last().expect("rows");
    let fields: Vec<&str> = last_window.split(',').collect();
    assert_eq!(fields[0], cut_ms);
    assert!(
        fields[2..].iter().all(|field| field.is_empty()),
        "{last_window}"
    );
    let requests = read("requests.csv");
    assert!(requests
        .lines()
        .last()
        .expect("rows")
        .contains(",trace-truncated,"));
    assert!(read("report.html").contains("This report is incomplete"));
}

// Guards against the request cap being reported as the event limit.
#[test]
fn each_limit_is_named_for_what_it_counts() {
    let built = scenario(BASE);
    let limits = EngineLimits {
        requests: 10,
        ..EngineLimits::DEFAULT
    };
    let result = Simulation::new(&built).engine_limits(limits).run();
    assert_eq!(
        result.limit_hit.as_deref(),
        Some("request limit of 10 reached (requests arrived)")
    );
    let events = scenario(&format!("{BASE}\n[run]\nevent_limit = 50\n"));
    let result = Simulation::new(&events).run();
    assert_eq!(
        result.limit_hit.as_deref(),
        Some("event limit of 50 reached (run.event_limit)")
    );
}

// ---- files left behind ----

// Guards against a run's directory keeping files of an earlier run, and against temporary files
// of killed runs staying forever; the summary, written last, lists exactly what is there.
#[test]
fn a_run_directory_holds_exactly_that_runs_files() {
    let directory = temp_dir("exact");
    let out = directory.to_string_lossy().into_owned();
    let basic = "scenarios/bluegreen-basic.toml";
    let first = fleetsim(&["run", "--quiet", basic, "--out", &out, "--requests"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(directory.join("requests.csv").exists());
    // A killed run's temporary file (its process gone), a live process's, and a user's file.
    let dead = {
        let mut child = Command::new("true").spawn().expect("spawn");
        child.wait().expect("wait");
        child.id()
    };
    let stale = directory.join(format!(".events.csv.tmp-{dead}"));
    std::fs::write(&stale, "half a file").expect("write");
    let live = directory.join(format!(".timeline.csv.tmp-{}", std::process::id()));
    std::fs::write(&live, "being written").expect("write");
    std::fs::write(directory.join("notes.txt"), "mine").expect("write");

    let second = fleetsim(&["run", "--quiet", basic, "--out", &out]);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert!(
        !directory.join("requests.csv").exists(),
        "left from the earlier run"
    );
    assert!(!stale.exists(), "a dead process's temporary file stays");
    assert!(live.exists(), "a live process's temporary file was removed");
    assert!(
        directory.join("notes.txt").exists(),
        "a file fleetsim never writes was removed"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(directory.join("summary.json")).expect("summary"))
            .expect("JSON");
    let listed: Vec<&str> = summary["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|name| name.as_str())
        .collect();
    assert_eq!(
        listed.last(),
        Some(&"summary.json"),
        "the summary is written last"
    );
    for name in &listed {
        assert!(directory.join(name).exists(), "{name} listed, not written");
    }
    let built = fleetsim::scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(basic))
        .expect("basic");
    let result = Simulation::new(&built).keep_trace(true).run();
    let written =
        write_run_files(&directory, &built, &result, &RunFilesOptions::default()).expect("written");
    assert!(written
        .paths
        .last()
        .expect("paths")
        .ends_with("summary.json"));
}

// Guards against an interrupted re-sweep leaving the previous sweep's summary beside its rows.
#[test]
#[allow(
    clippy::disallowed_methods,
    reason = "waits, on the wall clock, for a real process to write its first rows"
)]
fn an_interrupted_sweep_leaves_no_earlier_summary() {
    let directory = temp_dir("resweep");
    let out = directory.to_string_lossy().into_owned();
    let basic = "scenarios/bluegreen-basic.toml";
    let earlier = fleetsim(&["sweep", basic, "--seeds", "1..3", "--out", &out]);
    assert_eq!(earlier.status.code(), Some(0), "{}", stderr(&earlier));
    let summary = directory.join("sweep-summary.json");
    assert!(summary.exists());
    let mut child = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(["sweep", basic, "--seeds", "1..1000000", "--out", &out])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    // The earlier sweep's sweep.csv has 3 lines: wait for more, which only the new one writes.
    let csv = directory.join("sweep.csv");
    let mut rows = 0;
    for _ in 0..1_200 {
        rows = std::fs::read_to_string(&csv).map_or(0, |text| text.lines().count());
        if rows >= 5 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().expect("kill");
    child.wait().expect("wait");
    assert!(rows >= 5, "the sweep wrote no rows");
    assert!(
        !summary.exists(),
        "the earlier sweep's summary sits beside the new rows"
    );
}
