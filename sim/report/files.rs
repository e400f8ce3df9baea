//! `fleetsim run --out DIR`: the report files of one run (formats in `reports/README.md`). Every
//! file is written atomically: into a temporary file in the same directory, then renamed, so a
//! reader never sees half a report.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::engine::time::duration_micros;
use crate::observe::{DeployStep, LeaseStep, Step};
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

/// The temporary file `write_atomic` writes `name` through: `.NAME.tmp-PID`.
fn temporary_name(name: &str, process: u32) -> String {
    format!(".{name}.tmp-{process}")
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, flushed and
/// synced, then renamed over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |file| file.write_all(bytes))
}

/// [`write_atomic`] for a file written piece by piece by `write` (through a buffer), so that a
/// large one never sits in memory whole.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn io::Write) -> io::Result<()>,
) -> io::Result<()> {
    let directory = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?
        .to_string_lossy()
        .into_owned();
    let temporary = directory.join(temporary_name(&name, std::process::id()));
    let result = (|| {
        let mut file = io::BufWriter::new(std::fs::File::create(&temporary)?);
        write(&mut file)?;
        let file = file.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// Makes `directory` ready to take report files before anything is simulated: creates it if
/// needed, proves it writable (a probe file, removed again), and removes the temporary files that
/// killed fleetsim processes left there.
pub fn prepare_directory(directory: &Path) -> io::Result<()> {
    std::fs::create_dir_all(directory)?;
    let probe = directory.join(temporary_name("probe", std::process::id()));
    std::fs::File::create(&probe)?;
    std::fs::remove_file(&probe)?;
    remove_stale_temporaries(directory)
}

/// Removes `.NAME.tmp-PID` files whose process is gone (killed while writing: SIGKILL leaves no
/// chance to clean up). A process is gone when `/proc` lists it no more; where there is no `/proc`,
/// when the file is over a day old. The files of a live process are left alone.
pub fn remove_stale_temporaries(directory: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(directory)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(process) = temporary_process(&name) else {
            continue;
        };
        if process != std::process::id() && !process_alive(process, &entry.path()) {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Removes `path` if it exists.
pub fn remove_if_present(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

/// The process of a `.NAME.tmp-PID` file name.
fn temporary_process(name: &str) -> Option<u32> {
    let (prefix, process) = name.strip_prefix('.')?.rsplit_once(".tmp-")?;
    if prefix.is_empty() || process.is_empty() || !process.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    process.parse().ok()
}

/// Whether the process that writes `file` may still be running.
#[allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the age of a leftover file on disk, never anything simulated"
)]
fn process_alive(process: u32, file: &Path) -> bool {
    let proc = Path::new("/proc");
    if proc.join("self").exists() {
        return proc.join(process.to_string()).exists();
    }
    let age = std::fs::metadata(file)
        .and_then(|metadata| metadata.modified())
        .ok()
        .and_then(|modified| std::time::SystemTime::now().duration_since(modified).ok());
    age.is_none_or(|age| age < Duration::from_secs(24 * 3600))
}

/// Reads every row of a CSV file with a header, each by its column names (a column the type does
/// not have is ignored). Errors name the file.
pub fn read_csv_rows<T: serde::de::DeserializeOwned>(path: &Path) -> io::Result<Vec<T>> {
    let mut reader = csv::Reader::from_path(path)
        .map_err(|error| io::Error::other(format!("{}: {error}", path.display())))?;
    reader
        .deserialize()
        .map(|row| row.map_err(|error| io::Error::other(format!("{}: {error}", path.display()))))
        .collect()
}

/// A JSON document as fleetsim writes and prints them: pretty, with one final newline.
pub fn json_document<T: serde::Serialize>(value: &T) -> String {
    let mut json = serde_json::to_string_pretty(value).expect("fleetsim's documents serialize");
    json.push('\n');
    json
}

/// Milliseconds with microsecond precision, exactly (no floating point): `1234.567`.
pub fn ms(micros: u64) -> String {
    format!("{}.{:03}", micros / 1_000, micros % 1_000)
}

/// Writes a CSV file: its header, then its rows.
fn write_csv(
    out: &mut dyn io::Write,
    header: &[String],
    rows: impl Iterator<Item = Vec<String>>,
) -> io::Result<()> {
    let mut writer = csv::WriterBuilder::new().from_writer(out);
    writer.write_record(header)?;
    for row in rows {
        writer.write_record(&row)?;
    }
    writer.flush()
}

/// A CSV file in memory (for tests and small files).
fn csv_bytes(write: impl FnOnce(&mut dyn io::Write) -> io::Result<()>) -> Vec<u8> {
    let mut bytes = Vec::new();
    write(&mut bytes).expect("write to memory");
    bytes
}

/// The build that produced a run (fingerprints are per build).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Build {
    pub package: &'static str,
    pub version: &'static str,
    /// The git commit it was built from (`unknown` without git).
    pub commit: &'static str,
    /// `release` or `debug` (whether debug assertions were on).
    pub profile: &'static str,
}

pub fn build() -> Build {
    Build {
        package: env!("CARGO_PKG_NAME"),
        version: env!("CARGO_PKG_VERSION"),
        commit: env!("FLEETSIM_GIT_COMMIT"),
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
    /// The window asked for (`--window`); `window_ms` is coarser when it would have made more
    /// than `TIMELINE_WINDOWS_MAX` rows.
    window_requested_ms: String,
    /// Whether the files cover the whole run: false when the trace kept for them reached its
    /// limit, and the timeline, requests and events stop at `covered_until_ms`.
    complete: bool,
    covered_until_ms: Option<String>,
    /// Trace steps written to events.csv (less than `steps` only if the trace hit its cap).
    events_written: usize,
    coverage: &'a BTreeMap<String, u64>,
    files: Vec<&'static str>,
}

/// Every file `run --out` may write, in the order it writes them: `summary.json` last, so that a
/// run killed while writing never leaves a summary that lists files it did not write.
pub const ALL_FILE_NAMES: [&str; 6] = [
    "events.csv",
    "timeline.csv",
    "latency.hgrm",
    "requests.csv",
    "report.html",
    "summary.json",
];

/// The names of the files `run --out` writes with these options, in the order it writes them.
pub fn file_names(options: &RunFilesOptions) -> Vec<&'static str> {
    ALL_FILE_NAMES
        .into_iter()
        .filter(|name| options.requests || *name != "requests.csv")
        .collect()
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

/// What `write_run_files` wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenFiles {
    /// The files, in the order written (`summary.json` last).
    pub paths: Vec<PathBuf>,
    /// What the report says about itself when it is incomplete or coarsened (empty: neither).
    pub notes: Vec<String>,
}

/// Writes every report file of `result` (a run kept with its trace) into `directory`, which is
/// created if needed.
///
/// The directory then holds this run's files only: report files an earlier run left there that
/// this one does not write (`requests.csv` of an earlier `--requests` run) are removed first, with
/// the temporary files of killed runs; files of other names are never touched. `summary.json` is
/// written last.
pub fn write_run_files(
    directory: &Path,
    scenario: &Scenario,
    result: &RunResult,
    options: &RunFilesOptions,
) -> io::Result<WrittenFiles> {
    prepare_directory(directory)?;
    let names = file_names(options);
    for stale in ALL_FILE_NAMES.iter().filter(|name| !names.contains(name)) {
        remove_if_present(&directory.join(stale))?;
    }
    let window_us = duration_micros(options.window).max(1);
    let analysis = analyse(scenario, result, window_us);
    let written = std::cell::RefCell::new(Vec::new());
    type Writer<'w> = dyn Fn(&mut dyn io::Write) -> io::Result<()> + 'w;
    let put_with = |name: &str, write: &Writer| -> io::Result<()> {
        let path = directory.join(name);
        write_atomic_with(&path, write)?;
        written.borrow_mut().push(path);
        Ok(())
    };
    let put = |name: &str, bytes: Vec<u8>| put_with(name, &|out| out.write_all(&bytes));
    put_with("events.csv", &|out| {
        write_events_csv(out, result, &analysis)
    })?;
    put("timeline.csv", timeline_csv(&analysis))?;
    put(
        "latency.hgrm",
        crate::report::hgrm::percentile_distribution(&result.latency_histogram).into_bytes(),
    )?;
    if options.requests {
        put_with("requests.csv", &|out| {
            write_requests_csv(out, result, &analysis)
        })?;
    }
    put(
        "report.html",
        crate::report::html::run_report(scenario, result, &analysis).into_bytes(),
    )?;
    put(
        "summary.json",
        summary_json(result, &analysis, options).into_bytes(),
    )?;
    Ok(WrittenFiles {
        paths: written.into_inner(),
        notes: crate::report::html::coverage_notes(result, &analysis),
    })
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
        window_requested_ms: ms(analysis.window_requested_us),
        complete: analysis.covered_until_us.is_none(),
        covered_until_ms: analysis.covered_until_us.map(ms),
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
    csv_bytes(|out| write_events_csv(out, result, analysis))
}

/// The last row of `events.csv` when the trace reached its limit: where it stops, and why.
fn truncation_row(result: &RunResult, analysis: &Analysis) -> Option<Vec<String>> {
    let cut = analysis.covered_until_us?;
    let unwritten = result.steps.saturating_sub(result.trace.len() as u64);
    Some(vec![
        ms(cut),
        "trace-truncated".to_string(),
        String::new(),
        String::new(),
        format!(
            "trace step limit of {} kept steps reached: the {unwritten} later steps are not \
             written (the fingerprint and the summary's metrics cover them)",
            result.trace.len()
        ),
    ])
}

/// [`events_csv`] into `out`.
pub fn write_events_csv(
    out: &mut dyn io::Write,
    result: &RunResult,
    analysis: &Analysis,
) -> io::Result<()> {
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
    write_csv(out, &header, rows.chain(truncation_row(result, analysis)))
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

/// `timeline.csv`: one row per window. When the trace reached its limit, a last row spans the rest
/// of the run with every other field empty: nothing of it is known to the report.
pub fn timeline_csv(analysis: &Analysis) -> Vec<u8> {
    let header = timeline_header(analysis);
    let uncovered = analysis.covered_until_us.map(|cut| {
        let mut fields = vec![String::new(); header.len()];
        fields[0] = ms(cut);
        fields[1] = ms(analysis.end_us);
        fields
    });
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
    csv_bytes(|out| write_csv(out, &header, rows.chain(uncovered)))
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

/// `requests.csv`: one row per request that finished, in the order they finished. When the trace
/// reached its limit, a last row with outcome `trace-truncated` says from when requests are
/// missing.
pub fn requests_csv(result: &RunResult, analysis: &Analysis) -> Vec<u8> {
    csv_bytes(|out| write_requests_csv(out, result, analysis))
}

/// [`requests_csv`] into `out`.
pub fn write_requests_csv(
    out: &mut dyn io::Write,
    result: &RunResult,
    analysis: &Analysis,
) -> io::Result<()> {
    let header: Vec<String> = REQUESTS_HEADER.iter().map(ToString::to_string).collect();
    let truncated = analysis.covered_until_us.map(|cut| {
        let mut fields = vec![String::new(); header.len()];
        fields[3] = ms(cut);
        fields[5] = "trace-truncated".to_string();
        fields
    });
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
    write_csv(out, &header, rows.chain(truncated))
}
