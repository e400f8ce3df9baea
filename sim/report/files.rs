//! `fleetsim run --out DIR`: the report files of one run (formats in `reports/README.md`). Every
//! file is written atomically: into a temporary file in the same directory, then renamed, so a
//! reader never sees half a report.

use std::collections::BTreeMap;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::engine::time::duration_micros;
use crate::platform::observe::{DeployStep, LeaseStep, Step};
use crate::report::analysis::{analyse, Analysis, ALIVE_STATES, FAILURE_REASONS};
use crate::scenario::Scenario;
use crate::sim::RunResult;

/// The version of the file formats (bumped on an incompatible change).
pub const FORMAT_VERSION: u32 = 1;

/// What `run --out` writes besides the always-written files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunFilesOptions {
    /// The timeline's window (default 1 s).
    pub window: Duration,
    /// Also write `requests.csv` (one row per request; it can be large).
    pub requests: bool,
}

impl Default for RunFilesOptions {
    fn default() -> Self {
        RunFilesOptions {
            window: Duration::from_secs(1),
            requests: false,
        }
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, flushed and
/// synced, then renamed over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let directory = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?
        .to_string_lossy()
        .into_owned();
    let temporary = directory.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// Milliseconds with microsecond precision, exactly (no floating point): `1234.567`.
pub fn ms(micros: u64) -> String {
    format!("{}.{:03}", micros / 1_000, micros % 1_000)
}

fn csv_bytes(header: &[String], rows: impl Iterator<Item = Vec<String>>) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    writer.write_record(header).expect("write to memory");
    for row in rows {
        writer.write_record(&row).expect("write to memory");
    }
    writer.into_inner().expect("flush to memory")
}

/// The build that produced a run (fingerprints are per build).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Build {
    pub package: &'static str,
    pub version: &'static str,
    /// `release` or `debug` (whether debug assertions were on).
    pub profile: &'static str,
}

pub fn build() -> Build {
    Build {
        package: env!("CARGO_PKG_NAME"),
        version: env!("CARGO_PKG_VERSION"),
        profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    }
}

#[derive(serde::Serialize)]
struct ImageEntry<'a> {
    label: String,
    image: &'a str,
}

#[derive(serde::Serialize)]
struct Summary<'a> {
    format: String,
    build: Build,
    /// `pass` when every expectation held, else `fail`.
    outcome: &'static str,
    #[serde(flatten)]
    run: &'a RunResult,
    images: Vec<ImageEntry<'a>>,
    proxies: &'a [String],
    window_ms: String,
    /// Trace steps written to events.csv (less than `steps` only if the trace hit its cap).
    events_written: usize,
    coverage: &'a BTreeMap<String, u64>,
    files: Vec<&'static str>,
}

/// The names of the files `run --out` writes, in order.
pub fn file_names(options: &RunFilesOptions) -> Vec<&'static str> {
    let mut names = vec!["summary.json", "events.csv", "timeline.csv", "latency.hgrm"];
    if options.requests {
        names.push("requests.csv");
    }
    names.push("report.html");
    names
}

/// The subdirectory of one run when `run --out` writes several: `<scenario>` or
/// `<scenario>--<strategy>`.
pub fn run_directory_name(result: &RunResult) -> String {
    let name = match &result.strategy {
        Some(strategy) => format!("{}--{strategy}", result.scenario),
        None => result.scenario.clone(),
    };
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes every report file of `result` (a run kept with its trace) into `directory`, which is
/// created if needed. Returns the paths written.
pub fn write_run_files(
    directory: &Path,
    scenario: &Scenario,
    result: &RunResult,
    options: &RunFilesOptions,
) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(directory)?;
    let window_us = duration_micros(options.window).max(1);
    let analysis = analyse(scenario, result, window_us);
    let mut written = Vec::new();
    let mut put = |name: &str, bytes: Vec<u8>| -> io::Result<()> {
        let path = directory.join(name);
        write_atomic(&path, &bytes)?;
        written.push(path);
        Ok(())
    };
    put(
        "summary.json",
        summary_json(result, &analysis, options).into_bytes(),
    )?;
    put("events.csv", events_csv(result, &analysis))?;
    put("timeline.csv", timeline_csv(&analysis))?;
    put(
        "latency.hgrm",
        crate::report::hgrm::percentile_distribution(&result.latency_histogram).into_bytes(),
    )?;
    if options.requests {
        put("requests.csv", requests_csv(result, &analysis))?;
    }
    put(
        "report.html",
        crate::report::html::run_report(scenario, result, &analysis).into_bytes(),
    )?;
    Ok(written)
}

/// `summary.json`: the run's JSON (as `run --json`) plus build, outcome, images, coverage.
pub fn summary_json(result: &RunResult, analysis: &Analysis, options: &RunFilesOptions) -> String {
    let summary = Summary {
        format: format!("fleetsim-run-summary/{FORMAT_VERSION}"),
        build: build(),
        outcome: if result.passed { "pass" } else { "fail" },
        run: result,
        images: analysis
            .images
            .iter()
            .enumerate()
            .map(|(index, image)| ImageEntry {
                label: Analysis::image_label(index),
                image,
            })
            .collect(),
        proxies: &analysis.proxies,
        window_ms: ms(analysis.window_us),
        events_written: result.trace.len(),
        coverage: &analysis.coverage,
        files: file_names(options),
    };
    let mut text = serde_json::to_string_pretty(&summary).expect("a summary serializes");
    text.push('\n');
    text
}

/// The header of `events.csv`.
pub const EVENTS_HEADER: [&str; 5] = ["time_ms", "kind", "machine", "region", "detail"];

/// `events.csv`: one row per trace step.
pub fn events_csv(result: &RunResult, analysis: &Analysis) -> Vec<u8> {
    let header: Vec<String> = EVENTS_HEADER.iter().map(ToString::to_string).collect();
    let mut request_proxy: BTreeMap<u32, u32> = BTreeMap::new();
    let machine = |index: u32| -> (String, String) {
        result
            .machines
            .get(index as usize)
            .map(|info| (info.id.clone(), info.region.clone()))
            .unwrap_or_else(|| (format!("#{index}"), String::new()))
    };
    let proxy = |index: u32| -> String {
        analysis
            .proxies
            .get(index as usize)
            .cloned()
            .unwrap_or_else(|| format!("proxy-{index}"))
    };
    let image_label = |image: &str| -> String {
        analysis
            .images
            .iter()
            .position(|known| known == image)
            .map_or_else(|| image.to_string(), Analysis::image_label)
    };
    let rows = result.trace.iter().map(|record| {
        let time = ms(record.time.as_micros());
        let (kind, machine_id, region, detail): (&str, String, String, String) = match &record.step
        {
            Step::MachineCreated { machine: index, by } => {
                let (id, region) = machine(*index);
                let image = result.machines[*index as usize]
                    .images
                    .first()
                    .map(|(_, image)| image_label(image))
                    .unwrap_or_default();
                let by = by.map_or("initial fleet".to_string(), |deploy| {
                    format!("deploy {deploy}")
                });
                (
                    "machine-created",
                    id,
                    region,
                    format!("image {image} by {by}"),
                )
            }
            Step::MachineState {
                machine: index,
                state,
            } => {
                let (id, region) = machine(*index);
                ("machine-state", id, region, state.as_str().to_string())
            }
            Step::Cordoned {
                machine: index,
                cordoned,
            } => {
                let (id, region) = machine(*index);
                let detail = if *cordoned { "cordoned" } else { "uncordoned" };
                ("cordon", id, region, detail.to_string())
            }
            Step::ChecksPassing {
                machine: index,
                passing,
            } => {
                let (id, region) = machine(*index);
                let detail = if *passing { "passing" } else { "failing" };
                ("checks", id, region, detail.to_string())
            }
            Step::Routable {
                machine: index,
                routable,
            } => {
                let (id, region) = machine(*index);
                let detail = if *routable { "routable" } else { "unroutable" };
                ("platform-routable", id, region, detail.to_string())
            }
            Step::ProxyView {
                proxy: index,
                machine: machine_index,
                routable,
            } => {
                let (id, machine_region) = machine(*machine_index);
                let detail = format!(
                    "{} (machine in {machine_region})",
                    if *routable { "routable" } else { "unroutable" }
                );
                ("proxy-view", id, proxy(*index), detail)
            }
            Step::ProxyServing {
                proxy: index,
                serving,
            } => {
                let detail = if *serving { "serving" } else { "not-serving" };
                (
                    "proxy-serving",
                    String::new(),
                    proxy(*index),
                    detail.to_string(),
                )
            }
            Step::ApiCall {
                call,
                client,
                operation,
                machine: index,
            } => {
                let (id, region) = index.map(machine).unwrap_or_default();
                let detail = format!("call {call} by deploy {client}: {}", operation.as_str());
                ("api-call", id, region, detail)
            }
            Step::ApiReply { call, status } => {
                let detail = if *status == 0 {
                    format!("call {call}: ok")
                } else {
                    format!("call {call}: status {status}")
                };
                ("api-reply", String::new(), String::new(), detail)
            }
            Step::Lease {
                machine: index,
                client,
                step,
            } => {
                let (id, region) = machine(*index);
                let step = match step {
                    LeaseStep::Acquired => "acquired",
                    LeaseStep::Refreshed => "refreshed",
                    LeaseStep::Released => "released",
                    LeaseStep::Conflict => "conflict",
                };
                ("lease", id, region, format!("{step} by deploy {client}"))
            }
            Step::RequestArrived {
                request,
                proxy: index,
            } => {
                request_proxy.insert(*request, *index);
                let detail = format!("request {request}");
                ("request-arrived", String::new(), proxy(*index), detail)
            }
            Step::RequestRouted {
                request,
                machine: index,
            } => {
                let (id, _) = machine(*index);
                let region = request_proxy
                    .get(request)
                    .map(|p| proxy(*p))
                    .unwrap_or_default();
                ("request-routed", id, region, format!("request {request}"))
            }
            Step::RequestRefused {
                request,
                machine: index,
            } => {
                let (id, _) = machine(*index);
                let region = request_proxy
                    .get(request)
                    .map(|p| proxy(*p))
                    .unwrap_or_default();
                ("request-refused", id, region, format!("request {request}"))
            }
            Step::RequestHeld { request } => {
                let region = request_proxy
                    .get(request)
                    .map(|p| proxy(*p))
                    .unwrap_or_default();
                (
                    "request-held",
                    String::new(),
                    region,
                    format!("request {request}"),
                )
            }
            Step::RequestDone { request, failure } => {
                let region = request_proxy
                    .remove(request)
                    .map(&proxy)
                    .unwrap_or_default();
                let detail = match failure {
                    None => format!("request {request}: ok"),
                    Some(reason) => format!("request {request}: failed, {}", reason.as_str()),
                };
                ("request-done", String::new(), region, detail)
            }
            Step::Deploy { deploy, step } => {
                let detail = match step {
                    DeployStep::Started => "started".to_string(),
                    DeployStep::Phase(phase) => format!("phase {}", phase.as_str()),
                    DeployStep::GreenRecorded(index) => {
                        format!("green recorded {}", machine(*index).0)
                    }
                    DeployStep::PointOfNoReturn => "point of no return".to_string(),
                    DeployStep::RollbackStarted => "rollback started".to_string(),
                    DeployStep::RollbackFinished { ok } => {
                        format!("rollback finished, ok: {ok}")
                    }
                    DeployStep::AbortRequested => "abort requested".to_string(),
                    DeployStep::Killed => "killed".to_string(),
                    DeployStep::Finished(outcome) => format!("finished: {}", outcome.as_str()),
                    DeployStep::TimedOut => "timed out".to_string(),
                };
                let machine_id = match step {
                    DeployStep::GreenRecorded(index) => machine(*index).0,
                    _ => String::new(),
                };
                (
                    "deploy",
                    machine_id,
                    String::new(),
                    format!("deploy {deploy}: {detail}"),
                )
            }
            Step::Output { deploy, line } => (
                "output",
                String::new(),
                String::new(),
                format!("deploy {deploy}: {line}"),
            ),
            Step::Fault { description } => {
                ("fault", String::new(), String::new(), description.clone())
            }
        };
        vec![time, kind.to_string(), machine_id, region, detail]
    });
    csv_bytes(&header, rows)
}

/// The header of `timeline.csv` for a run with these images and proxies.
pub fn timeline_header(analysis: &Analysis) -> Vec<String> {
    let mut header: Vec<String> = vec![
        "window_start_ms".into(),
        "window_end_ms".into(),
        "machines_alive".into(),
        "machines_alive_max".into(),
    ];
    for index in 0..analysis.images.len() {
        header.push(format!("alive_{}", Analysis::image_label(index)));
    }
    for state in ALIVE_STATES {
        header.push(format!("state_{}", state.as_str()));
    }
    for region in &analysis.proxies {
        header.push(format!("routable_{region}"));
    }
    header.extend(
        [
            "requests_arrived",
            "requests_ok",
            "requests_failed",
            "requests_retried",
        ]
        .map(String::from),
    );
    for reason in FAILURE_REASONS {
        header.push(format!("failed_{}", reason.as_str().replace('-', "_")));
    }
    header.extend(
        [
            "latency_p50_ms",
            "latency_p99_ms",
            "latency_max_ms",
            "outage_ms",
            "degraded_ms",
            "faults_active",
            "fault_events",
        ]
        .map(String::from),
    );
    header
}

/// `timeline.csv`: one row per window.
pub fn timeline_csv(analysis: &Analysis) -> Vec<u8> {
    let rows = analysis.windows.iter().map(|row| {
        let mut fields = vec![
            ms(row.start_us),
            ms(row.end_us),
            row.alive_by_image.iter().sum::<u32>().to_string(),
            row.alive_max.to_string(),
        ];
        fields.extend(row.alive_by_image.iter().map(ToString::to_string));
        fields.extend(row.alive_by_state.iter().map(ToString::to_string));
        fields.extend(row.routable_by_proxy.iter().map(ToString::to_string));
        fields.extend(
            [
                row.requests_arrived,
                row.requests_ok,
                row.requests_failed,
                row.requests_retried,
            ]
            .map(|count| count.to_string()),
        );
        fields.extend(row.failed_by_reason.iter().map(ToString::to_string));
        match row.latency_us {
            Some((p50, p99, max)) => fields.extend([ms(p50), ms(p99), ms(max)]),
            None => fields.extend([String::new(), String::new(), String::new()]),
        }
        fields.push(ms(row.outage_us));
        fields.push(ms(row.degraded_us));
        fields.push(row.faults_active.to_string());
        fields.push(row.fault_events.to_string());
        fields
    });
    csv_bytes(&timeline_header(analysis), rows)
}

/// The header of `requests.csv`.
pub const REQUESTS_HEADER: [&str; 11] = [
    "request",
    "region",
    "arrived_ms",
    "done_ms",
    "latency_ms",
    "outcome",
    "failure_reason",
    "machine",
    "attempts",
    "refusals",
    "held",
];

/// `requests.csv`: one row per request that finished, in the order they finished.
pub fn requests_csv(result: &RunResult, analysis: &Analysis) -> Vec<u8> {
    let header: Vec<String> = REQUESTS_HEADER.iter().map(ToString::to_string).collect();
    let rows = analysis.requests.iter().map(|row| {
        vec![
            row.request.to_string(),
            analysis
                .proxies
                .get(row.proxy as usize)
                .cloned()
                .unwrap_or_default(),
            ms(row.arrived_us),
            ms(row.done_us),
            ms(row.latency_us()),
            if row.failure.is_none() {
                "ok"
            } else {
                "failed"
            }
            .to_string(),
            row.failure
                .map(|reason| reason.as_str().to_string())
                .unwrap_or_default(),
            row.machine
                .and_then(|machine| result.machines.get(machine as usize))
                .map(|info| info.id.clone())
                .unwrap_or_default(),
            row.attempts.to_string(),
            row.refusals.to_string(),
            row.held.to_string(),
        ]
    });
    csv_bytes(&header, rows)
}
