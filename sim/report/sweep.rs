//! `fleetsim sweep`: one scenario over a range of seeds, in parallel on std threads (each thread
//! builds its own simulation: the engine is single-threaded and uses `Rc`), with rows delivered in
//! seed order so the result is identical to a serial run. A run that panics becomes a failing row.

use std::io;
use std::ops::Range;
use std::path::Path;

use crate::deploy::StrategyName;
use crate::report::stats::{nearest_rank, Proportion};
use crate::scenario::Scenario;
use crate::sim::{RunResult, RunWith, Simulation};
use crate::work::{run_in_order, Shard};

/// The schema of `sweep-summary.json` and of `sweep --json`.
pub const SWEEP_SCHEMA: &str = "fleetsim.sweep/1";

/// One seed's result, as a `sweep.csv` row: it holds exactly what the row holds (floats at the
/// file's precision), so a row read back from the file is equal to it and `merge` recomputes the
/// same summary from the files.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SweepRow {
    pub seed: u64,
    pub passed: bool,
    /// No invariant was violated (those that do not apply are not judged).
    pub invariants_held: bool,
    pub fingerprint: String,
    /// Deploy outcomes, `+`-separated.
    pub outcomes: String,
    pub exit_status: Option<i32>,
    /// Violated invariants, `;`-separated.
    pub violated: String,
    /// Failed expectations, `;`-separated.
    pub failed_expectations: String,
    pub outage_total_ms: u64,
    pub outage_windows: u32,
    pub outage_longest_ms: u64,
    pub degraded_total_ms: u64,
    pub requests_total: u64,
    pub requests_ok: u64,
    pub requests_failed: u64,
    pub error_rate: f64,
    pub requests_retried: u64,
    pub latency_p50_ms: f64,
    pub latency_p90_ms: f64,
    pub latency_p99_ms: f64,
    pub latency_max_ms: f64,
    /// Sum over the deploys that ran.
    pub deploy_duration_ms: u64,
    pub machines_peak: u32,
    pub machines_final: u32,
    pub machine_seconds: f64,
    pub leftovers: u32,
    pub end_time_ms: u64,
    pub events: u64,
    pub steps: u64,
    pub limit_hit: String,
    /// A panic's message (the run crashed; the row counts as failed).
    pub panic: String,
}

/// The header of `sweep.csv`.
pub const SWEEP_HEADER: [&str; 32] = [
    "seed",
    "passed",
    "invariants_held",
    "fingerprint",
    "outcomes",
    "exit_status",
    "violated",
    "failed_expectations",
    "outage_total_ms",
    "outage_windows",
    "outage_longest_ms",
    "degraded_total_ms",
    "requests_total",
    "requests_ok",
    "requests_failed",
    "error_rate",
    "requests_retried",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p99_ms",
    "latency_max_ms",
    "deploy_duration_ms",
    "machines_peak",
    "machines_final",
    "machine_seconds",
    "leftovers",
    "end_time_ms",
    "events",
    "steps",
    "limit_hit",
    "panic",
    "replay",
];

/// A per-run metric summarised across seeds: its column, unit, words for people, and how to read
/// it from a row. One table, so every report names a metric the same way.
#[derive(Clone, Copy, Debug)]
pub struct RowMetric {
    pub column: &'static str,
    pub unit: &'static str,
    /// What it measures, in a few words (table rows, chart titles).
    pub label: &'static str,
    pub value: fn(&SweepRow) -> f64,
}

/// The metrics summarised across seeds, in report order.
pub const SUMMARISED: [RowMetric; 11] = [
    RowMetric {
        column: "requests_failed",
        unit: "requests",
        label: "failed requests",
        value: |row| row.requests_failed as f64,
    },
    RowMetric {
        column: "error_rate",
        unit: "fraction",
        label: "error rate (failed / total)",
        value: |row| row.error_rate,
    },
    RowMetric {
        column: "outage_total_ms",
        unit: "ms",
        label: "outage (a proxy had nothing to route to)",
        value: |row| row.outage_total_ms as f64,
    },
    RowMetric {
        column: "outage_longest_ms",
        unit: "ms",
        label: "longest outage",
        value: |row| row.outage_longest_ms as f64,
    },
    RowMetric {
        column: "degraded_total_ms",
        unit: "ms",
        label: "degraded (requests failing, no outage)",
        value: |row| row.degraded_total_ms as f64,
    },
    RowMetric {
        column: "requests_retried",
        unit: "requests",
        label: "requests retried or held",
        value: |row| row.requests_retried as f64,
    },
    RowMetric {
        column: "latency_p99_ms",
        unit: "ms",
        label: "p99 latency",
        value: |row| row.latency_p99_ms,
    },
    RowMetric {
        column: "latency_max_ms",
        unit: "ms",
        label: "max latency",
        value: |row| row.latency_max_ms,
    },
    RowMetric {
        column: "deploy_duration_ms",
        unit: "ms",
        label: "deploy time",
        value: |row| row.deploy_duration_ms as f64,
    },
    RowMetric {
        column: "machines_peak",
        unit: "machines",
        label: "peak machines",
        value: |row| f64::from(row.machines_peak),
    },
    RowMetric {
        column: "machine_seconds",
        unit: "machine·s",
        label: "machine-seconds",
        value: |row| row.machine_seconds,
    },
];

/// A summarised metric by its column name.
pub fn row_metric(column: &str) -> &'static RowMetric {
    SUMMARISED
        .iter()
        .find(|metric| metric.column == column)
        .unwrap_or_else(|| panic!("unknown summarised metric {column}"))
}

impl SweepRow {
    pub fn from_result(result: &RunResult) -> SweepRow {
        let metrics = &result.metrics;
        SweepRow {
            seed: result.seed,
            passed: result.passed,
            invariants_held: !result.verdicts.iter().any(|verdict| verdict.violated()),
            fingerprint: result.fingerprint.to_string(),
            outcomes: result
                .deploys
                .iter()
                .map(|deploy| deploy.outcome.as_str())
                .collect::<Vec<_>>()
                .join("+"),
            exit_status: result.deploys.last().and_then(|deploy| deploy.exit_status),
            violated: result
                .verdicts
                .iter()
                .filter(|verdict| verdict.violated())
                .map(|verdict| verdict.invariant.as_str())
                .collect::<Vec<_>>()
                .join(";"),
            failed_expectations: result
                .expectations
                .iter()
                .filter(|check| !check.ok)
                .map(|check| check.expectation.as_str())
                .collect::<Vec<_>>()
                .join(";"),
            outage_total_ms: metrics.outage_total_ms,
            outage_windows: metrics.outage_windows,
            outage_longest_ms: metrics.outage_longest_ms,
            degraded_total_ms: metrics.degraded_total_ms,
            requests_total: metrics.requests_total,
            requests_ok: metrics.requests_ok,
            requests_failed: metrics.requests_failed,
            // sweep.csv's precision (6 decimals), so a row read back is equal.
            error_rate: (metrics.error_rate * 1e6).round() / 1e6,
            requests_retried: metrics.requests_retried,
            latency_p50_ms: metrics.latency_p50_ms,
            latency_p90_ms: metrics.latency_p90_ms,
            latency_p99_ms: metrics.latency_p99_ms,
            latency_max_ms: metrics.latency_max_ms,
            deploy_duration_ms: metrics.deploy_duration_ms.iter().flatten().sum(),
            machines_peak: metrics.machines_peak,
            machines_final: metrics.machines_final,
            // sweep.csv's precision (3 decimals); the latencies are whole µs already.
            machine_seconds: (metrics.machine_seconds * 1_000.0).round() / 1_000.0,
            leftovers: metrics.leftovers,
            end_time_ms: result.end_time_ms,
            events: result.events,
            steps: result.steps,
            limit_hit: result.limit_hit.clone().unwrap_or_default(),
            panic: String::new(),
        }
    }

    pub(crate) fn panicked(seed: u64, message: String) -> SweepRow {
        SweepRow {
            seed,
            passed: false,
            invariants_held: false,
            fingerprint: String::new(),
            outcomes: String::new(),
            exit_status: None,
            violated: String::new(),
            failed_expectations: "the run completes without a panic".to_string(),
            outage_total_ms: 0,
            outage_windows: 0,
            outage_longest_ms: 0,
            degraded_total_ms: 0,
            requests_total: 0,
            requests_ok: 0,
            requests_failed: 0,
            error_rate: 0.0,
            requests_retried: 0,
            latency_p50_ms: 0.0,
            latency_p90_ms: 0.0,
            latency_p99_ms: 0.0,
            latency_max_ms: 0.0,
            deploy_duration_ms: 0,
            machines_peak: 0,
            machines_final: 0,
            machine_seconds: 0.0,
            leftovers: 0,
            end_time_ms: 0,
            events: 0,
            steps: 0,
            limit_hit: String::new(),
            panic: message,
        }
    }

    /// The run crashed (it has no metrics).
    pub fn panicked_run(&self) -> bool {
        !self.panic.is_empty()
    }

    /// The run lost requests: at least one failed.
    pub fn lost_requests(&self) -> bool {
        self.requests_failed > 0
    }

    /// A summarised metric by its column name.
    pub fn metric(&self, name: &str) -> f64 {
        (row_metric(name).value)(self)
    }

    /// The CSV fields, in [`SWEEP_HEADER`] order.
    pub fn fields(&self, replay: &str) -> Vec<String> {
        vec![
            self.seed.to_string(),
            self.passed.to_string(),
            self.invariants_held.to_string(),
            self.fingerprint.clone(),
            self.outcomes.clone(),
            self.exit_status
                .map_or(String::new(), |status| status.to_string()),
            self.violated.clone(),
            self.failed_expectations.clone(),
            self.outage_total_ms.to_string(),
            self.outage_windows.to_string(),
            self.outage_longest_ms.to_string(),
            self.degraded_total_ms.to_string(),
            self.requests_total.to_string(),
            self.requests_ok.to_string(),
            self.requests_failed.to_string(),
            format!("{:.6}", self.error_rate),
            self.requests_retried.to_string(),
            format!("{:.3}", self.latency_p50_ms),
            format!("{:.3}", self.latency_p90_ms),
            format!("{:.3}", self.latency_p99_ms),
            format!("{:.3}", self.latency_max_ms),
            self.deploy_duration_ms.to_string(),
            self.machines_peak.to_string(),
            self.machines_final.to_string(),
            format!("{:.3}", self.machine_seconds),
            self.leftovers.to_string(),
            self.end_time_ms.to_string(),
            self.events.to_string(),
            self.steps.to_string(),
            self.limit_hit.clone(),
            self.panic.clone(),
            replay.to_string(),
        ]
    }
}

/// The command that replays one seed of a sweep.
pub fn replay_command(scenario: &Scenario, strategy: Option<StrategyName>, seed: u64) -> String {
    replay_command_for(
        &scenario.command_words(),
        strategy.map(|strategy| strategy.to_string()).as_deref(),
        seed,
    )
}

/// The command that replays `seed` of the scenario `target` names (its path and overrides,
/// [`crate::scenario::Scenario::command_words`]).
pub fn replay_command_for(target: &str, strategy: Option<&str>, seed: u64) -> String {
    let strategy = strategy
        .map(|strategy| format!(" --strategy {strategy}"))
        .unwrap_or_default();
    format!("fleetsim run {target} --seed {seed}{strategy}")
}

impl SweepMeta {
    /// The scenario's path and overrides, as a command names them.
    pub fn command_words(&self) -> String {
        crate::scenario::overrides::command_words(&self.path, &self.overrides)
    }
}

/// The strategy a sweep without `--strategy` runs, named, when the scenario has per-strategy
/// expectations (`[expect.strategies."…"]`): `run` runs every strategy listed there, a sweep runs
/// one, and says which (see [`strategy_note`]). The runs are those of the deploys' own strategy,
/// so naming it changes nothing but the summary and the replay commands, which now say it.
pub fn implied_strategy(scenario: &Scenario) -> Option<StrategyName> {
    if scenario.expect.by_strategy.is_empty() {
        return None;
    }
    crate::sim::common_strategy(scenario)
}

/// What a sweep of a scenario with per-strategy expectations says about the strategy it ran,
/// plainly (None: the scenario lists none, so the sweep runs what `run` runs).
pub fn strategy_note(scenario: &Scenario, requested: Option<StrategyName>) -> Option<String> {
    let listed: Vec<String> = scenario
        .expect
        .by_strategy
        .keys()
        .map(|strategy| strategy.to_string())
        .collect();
    if listed.is_empty() {
        return None;
    }
    let ran = requested.or_else(|| crate::sim::common_strategy(scenario));
    let Some(ran) = ran else {
        return Some(format!(
            "note: {} lists expectations for {}; its deploys use different strategies, so this \
             sweep runs them as written, judged by [expect]. `fleetsim run` runs each listed \
             strategy; pass --strategy NAME to sweep one of them, or `fleetsim compare \
             --strategies {}` to compare them.",
            scenario.path.display(),
            listed.join(", "),
            listed.join(",")
        ));
    };
    let judged = if scenario.expect.by_strategy.contains_key(&ran) {
        format!("[expect.strategies.\"{ran}\"]")
    } else {
        "[expect] (it has no entry of its own)".to_string()
    };
    let how = if requested.is_some() {
        "--strategy"
    } else {
        "the deploys' own"
    };
    Some(format!(
        "note: {} lists expectations for {}, and `fleetsim run` runs each; this sweep runs one \
         strategy, {ran} ({how}), judged by {judged}. Pass --strategy NAME for another, or \
         `fleetsim compare --strategies {}` to compare them.",
        scenario.path.display(),
        listed.join(", "),
        listed.join(",")
    ))
}

/// Runs one seed; a panic becomes a failing row.
pub fn run_seed(scenario: &Scenario, strategy: Option<StrategyName>, seed: u64) -> SweepRow {
    let with = RunWith {
        strategy,
        extension: None,
    };
    run_seed_with(scenario, with, seed)
}

/// [`run_seed`] with a user's strategy and checkers too (a user's checkers' violations are
/// listed with the built-in ones).
pub fn run_seed_with(scenario: &Scenario, with: RunWith<'_>, seed: u64) -> SweepRow {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let simulation = with.configure(Simulation::new(scenario).seed(seed));
        SweepRow::from_result(&simulation.run())
    }));
    outcome.unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|text| text.to_string()))
            .unwrap_or_else(|| "panic".to_string());
        SweepRow::panicked(seed, message)
    })
}

/// Runs every seed of `seeds` on `jobs` threads; `on_row` sees each row in seed order, as soon as
/// every smaller seed is done (so a file written from it is a prefix of the serial result).
pub fn run_seeds(
    scenario: &Scenario,
    strategy: Option<StrategyName>,
    seeds: Range<u64>,
    jobs: usize,
    on_row: impl FnMut(&SweepRow),
) -> Vec<SweepRow> {
    run_sharded(scenario, strategy, seeds, Shard::WHOLE, jobs, on_row)
}

/// [`run_seeds`] for one shard: the seeds whose position in `seeds` is in `shard` (item i is seed
/// `start + i`).
pub fn run_sharded(
    scenario: &Scenario,
    strategy: Option<StrategyName>,
    seeds: Range<u64>,
    shard: Shard,
    jobs: usize,
    on_row: impl FnMut(&SweepRow),
) -> Vec<SweepRow> {
    let with = RunWith {
        strategy,
        extension: None,
    };
    run_sharded_with(scenario, with, seeds, shard, jobs, on_row)
}

/// [`run_sharded`] with a user's strategy and checkers too (see [`run_seed_with`]).
pub fn run_sharded_with(
    scenario: &Scenario,
    with: RunWith<'_>,
    seeds: Range<u64>,
    shard: Shard,
    jobs: usize,
    mut on_row: impl FnMut(&SweepRow),
) -> Vec<SweepRow> {
    let mut rows = Vec::new();
    run_in_order(
        shard.share(seeds.end - seeds.start),
        jobs,
        &|| true,
        &|position| {
            let seed = seeds.start + shard.item(position);
            run_seed_with(scenario, with, seed)
        },
        |row| {
            on_row(&row);
            rows.push(row);
        },
    );
    rows
}

/// A metric's distribution across seeds (nearest rank).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Distribution {
    pub metric: String,
    pub unit: String,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// Every summarised metric's distribution across `rows` (runs that panicked have no metrics and
/// are left out).
pub fn distributions(rows: &[SweepRow]) -> Vec<Distribution> {
    SUMMARISED
        .iter()
        .map(|metric| {
            let mut values: Vec<f64> = rows
                .iter()
                .filter(|row| !row.panicked_run())
                .map(metric.value)
                .collect();
            values.sort_by(f64::total_cmp);
            Distribution {
                metric: metric.column.to_string(),
                unit: metric.unit.to_string(),
                p50: nearest_rank(&values, 0.5),
                p90: nearest_rank(&values, 0.9),
                p99: nearest_rank(&values, 0.99),
                max: values.last().copied().unwrap_or(0.0),
            }
        })
        .collect()
}

/// What a set of runs (one strategy over many seeds) shows: the one place where across-seed
/// figures are computed from per-seed rows, for sweep, compare, study and tune alike.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct AcrossSeeds {
    pub runs: usize,
    /// Runs whose expectations held.
    pub passed: usize,
    pub pass_rate: f64,
    /// Runs in which no invariant was violated.
    pub invariants_held: usize,
    /// Runs that crashed (they count as failed and have no metrics).
    pub panics: usize,
    /// The headline: runs that lost any request, out of the runs that finished, with its 95 %
    /// Wilson interval.
    pub lost_request_runs: Proportion,
    pub metrics: Vec<Distribution>,
}

impl AcrossSeeds {
    pub fn of(rows: &[SweepRow]) -> AcrossSeeds {
        let passed = rows.iter().filter(|row| row.passed).count();
        let finished: Vec<&SweepRow> = rows.iter().filter(|row| !row.panicked_run()).collect();
        let lost = finished.iter().filter(|row| row.lost_requests()).count();
        AcrossSeeds {
            runs: rows.len(),
            passed,
            pass_rate: if rows.is_empty() {
                0.0
            } else {
                passed as f64 / rows.len() as f64
            },
            invariants_held: rows.iter().filter(|row| row.invariants_held).count(),
            panics: rows.len() - finished.len(),
            lost_request_runs: Proportion::new(lost as u64, finished.len() as u64),
            metrics: distributions(rows),
        }
    }

    /// A metric's distribution by its column name.
    pub fn metric(&self, column: &str) -> &Distribution {
        self.metrics
            .iter()
            .find(|metric| metric.metric == column)
            .unwrap_or_else(|| panic!("unknown summarised metric {column}"))
    }
}

/// What a sweep ran: everything its summary says besides what the rows give.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SweepMeta {
    pub scenario: String,
    pub path: String,
    /// The `--set` overrides the scenario ran with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
    pub strategy: Option<String>,
    /// `A..B`, B excluded: the whole range, also in a shard's summary.
    pub seeds: String,
    /// The shard these rows are (None: the whole range).
    pub shard: Option<Shard>,
}

impl SweepMeta {
    pub fn new(
        scenario: &Scenario,
        strategy: Option<StrategyName>,
        seeds: &Range<u64>,
        shard: Shard,
    ) -> SweepMeta {
        SweepMeta {
            scenario: scenario.name.clone(),
            path: scenario.path.display().to_string(),
            overrides: scenario.overrides.clone(),
            strategy: strategy.map(|strategy| strategy.to_string()),
            seeds: format!("{}..{}", seeds.start, seeds.end),
            shard: (shard != Shard::WHOLE).then_some(shard),
        }
    }
}

/// What a sweep found.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SweepSummary {
    /// [`SWEEP_SCHEMA`].
    pub schema: &'static str,
    #[serde(flatten)]
    pub meta: SweepMeta,
    #[serde(flatten)]
    pub across: AcrossSeeds,
    pub first_failing_seed: Option<u64>,
    pub replay: Option<String>,
}

pub fn summarise(
    scenario: &Scenario,
    strategy: Option<StrategyName>,
    seeds: &Range<u64>,
    rows: &[SweepRow],
) -> SweepSummary {
    summarise_rows(
        SweepMeta::new(scenario, strategy, seeds, Shard::WHOLE),
        rows,
    )
}

/// The summary of `rows` (in seed order): every figure is computed from the rows, so the rows of
/// several shards, merged, give the summary of one process.
pub fn summarise_rows(meta: SweepMeta, rows: &[SweepRow]) -> SweepSummary {
    let first_failing = rows.iter().find(|row| !row.passed).map(|row| row.seed);
    let replay = first_failing
        .map(|seed| replay_command_for(&meta.command_words(), meta.strategy.as_deref(), seed));
    SweepSummary {
        schema: SWEEP_SCHEMA,
        meta,
        across: AcrossSeeds::of(rows),
        first_failing_seed: first_failing,
        replay,
    }
}

/// The summary for people.
pub fn summary_text(summary: &SweepSummary) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let across = &summary.across;
    let strategy = summary
        .meta
        .strategy
        .as_deref()
        .map(|strategy| format!(", strategy {strategy}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "sweep {} ({}), seeds {}{strategy}{}",
        summary.meta.scenario,
        summary.meta.command_words(),
        summary.meta.seeds,
        summary
            .meta
            .shard
            .map(|shard| format!(", shard {shard}"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "  runs that lost requests: {}",
        across.lost_request_runs
    );
    let _ = writeln!(
        out,
        "  passed {} of {} ({:.1}%); no invariant violated in {}{}",
        across.passed,
        across.runs,
        across.pass_rate * 100.0,
        across.invariants_held,
        if across.panics > 0 {
            format!("; {} run(s) panicked", across.panics)
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        out,
        "\n  {:<42} {:>10} {:>10} {:>10} {:>10}  unit",
        "metric (across seeds)", "p50", "p90", "p99", "max"
    );
    for (metric, row) in across.metrics.iter().zip(SUMMARISED.iter()) {
        let decimals = if metric.unit == "fraction" { 4 } else { 1 };
        let _ = writeln!(
            out,
            "  {:<42} {:>10.decimals$} {:>10.decimals$} {:>10.decimals$} {:>10.decimals$}  {}",
            row.label, metric.p50, metric.p90, metric.p99, metric.max, metric.unit
        );
    }
    match (&summary.first_failing_seed, &summary.replay) {
        (Some(seed), Some(replay)) => {
            let _ = writeln!(out, "\nfirst failing seed: {seed}\n  replay: {replay}");
        }
        _ => {
            let _ = writeln!(out, "\nevery seed passed");
        }
    }
    out
}

/// `sweep.csv`, written row by row (each row flushed as it is known, in seed order): an
/// interrupted sweep keeps the rows already written.
pub struct SweepCsv {
    writer: csv::Writer<std::fs::File>,
}

impl SweepCsv {
    pub fn create(path: &Path) -> io::Result<SweepCsv> {
        let file = std::fs::File::create(path)?;
        let mut writer = csv::WriterBuilder::new().from_writer(file);
        writer.write_record(SWEEP_HEADER)?;
        writer.flush()?;
        Ok(SweepCsv { writer })
    }

    pub fn write(&mut self, row: &SweepRow, replay: &str) -> io::Result<()> {
        self.writer.write_record(row.fields(replay))?;
        // Flushes the csv buffer and the file (csv::Writer::flush flushes the inner writer).
        self.writer.flush()
    }
}

/// Reads the rows of a `sweep.csv`.
pub fn read_csv(path: &Path) -> io::Result<Vec<SweepRow>> {
    crate::report::files::read_csv_rows(path)
}

/// Writes `sweep.csv` (whole) and `sweep-summary.json` for `rows` into `directory`: what `merge`
/// writes.
pub fn write_files(directory: &Path, summary: &SweepSummary, rows: &[SweepRow]) -> io::Result<()> {
    std::fs::create_dir_all(directory)?;
    let mut csv = SweepCsv::create(&directory.join("sweep.csv"))?;
    for row in rows {
        let replay = replay_command_for(
            &summary.meta.command_words(),
            summary.meta.strategy.as_deref(),
            row.seed,
        );
        csv.write(row, &replay)?;
    }
    write_summary(directory, summary)
}

fn write_summary(directory: &Path, summary: &SweepSummary) -> io::Result<()> {
    crate::report::files::write_atomic(
        &directory.join("sweep-summary.json"),
        summary_json(summary).as_bytes(),
    )
}

/// `sweep-summary.json`, also what `sweep --json` prints.
pub fn summary_json(summary: &SweepSummary) -> String {
    crate::report::files::json_document(summary)
}

/// `fleetsim sweep`'s whole job: runs the seeds of `shard` (progress on stderr when it is a
/// terminal), writes `sweep.csv` row by row and `sweep-summary.json` into `out` when given.
pub fn sweep(
    scenario: &Scenario,
    strategy: Option<StrategyName>,
    seeds: Range<u64>,
    shard: Shard,
    jobs: usize,
    out: Option<&Path>,
) -> io::Result<(Vec<SweepRow>, SweepSummary)> {
    let mut csv = match out {
        Some(directory) => {
            crate::report::files::prepare_directory(directory)?;
            // The summary of an earlier sweep must not sit beside this sweep's rows: until this
            // one writes its own at the end, there is none (an interrupted sweep has only rows).
            crate::report::files::remove_if_present(&directory.join("sweep-summary.json"))?;
            Some(SweepCsv::create(&directory.join("sweep.csv"))?)
        }
        None => None,
    };
    let progress = indicatif::ProgressBar::with_draw_target(
        Some(shard.share(seeds.end - seeds.start)),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {pos}/{len} seeds, {msg} [{elapsed_precise}, eta {eta}]",
    ) {
        progress.set_style(style);
    }
    let mut failures = 0u64;
    let mut error: Option<io::Error> = None;
    let rows = run_sharded(scenario, strategy, seeds.clone(), shard, jobs, |row| {
        if !row.passed {
            failures += 1;
        }
        progress.set_message(format!("{failures} failing"));
        progress.inc(1);
        if let Some(csv) = &mut csv {
            if let Err(failure) = csv.write(row, &replay_command(scenario, strategy, row.seed)) {
                error.get_or_insert(failure);
            }
        }
    });
    progress.finish_and_clear();
    if let Some(error) = error {
        return Err(error);
    }
    let summary = summarise_rows(SweepMeta::new(scenario, strategy, &seeds, shard), &rows);
    if let Some(directory) = out {
        write_summary(directory, &summary)?;
    }
    Ok((rows, summary))
}

/// Parses `A..B` (B excluded) or `A..=B` (B included).
pub fn parse_seed_range(text: &str) -> Result<Range<u64>, String> {
    let bad = || format!("`{text}` is not a seed range: write A..B (B excluded) or A..=B");
    let (start, end, inclusive) = if let Some((start, end)) = text.split_once("..=") {
        (start, end, true)
    } else if let Some((start, end)) = text.split_once("..") {
        (start, end, false)
    } else {
        return Err(bad());
    };
    let start: u64 = start.trim().parse().map_err(|_| bad())?;
    let end: u64 = end.trim().parse().map_err(|_| bad())?;
    let highest = crate::scenario::ranges::SEED_MAX;
    let end = if inclusive {
        if end > highest {
            return Err(format!("`{text}` goes past the highest seed, {highest}"));
        }
        end + 1
    } else {
        end
    };
    if end <= start {
        return Err(format!("`{text}` is an empty seed range"));
    }
    Ok(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards seed-range parsing: exclusive and inclusive forms, empty and malformed ranges.
    #[test]
    fn seed_ranges_parse() {
        assert_eq!(parse_seed_range("1..4"), Ok(1..4));
        assert_eq!(parse_seed_range("1..=4"), Ok(1..5));
        assert!(parse_seed_range("4..4").is_err());
        assert!(parse_seed_range("5..2").is_err());
        assert!(parse_seed_range("a..b").is_err());
        assert!(parse_seed_range("7").is_err());
    }

    // Guards merge's byte equality: a row read back from sweep.csv equals the row written.
    #[test]
    fn rows_read_back_equal() {
        let scenario = crate::bench::basic_scenario();
        let rows: Vec<SweepRow> = (1..3).map(|seed| run_seed(&scenario, None, seed)).collect();
        let directory = std::env::temp_dir().join(format!("fleetsim-sweep-{}", std::process::id()));
        let summary = summarise(&scenario, None, &(1..3), &rows);
        write_files(&directory, &summary, &rows).expect("written");
        assert_eq!(read_csv(&directory.join("sweep.csv")).expect("read"), rows);
        let _ = std::fs::remove_dir_all(&directory);
    }
}
