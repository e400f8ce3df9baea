//! `fleetsim compare`: one scenario under several strategies over the same seeds. The headline is
//! the fraction of deploys that lost any request, with its 95 % Wilson interval, per strategy,
//! beside the p50 and max of each metric; every seed that broke its expectations is listed with
//! the command that replays it; `compare.html` charts seed 1 and each strategy's worst seed (most
//! failed requests) on scales shared by every chart of a kind.
//!
//! Every figure is computed from the per-seed rows by [`summarise`], so the rows of several
//! shards, merged (`fleetsim merge`), give exactly the files of one process.

use std::fmt::Write as _;
use std::io;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use crate::deploy::StrategyName;
use crate::report::analysis::{analyse, Analysis};
use crate::report::files::{json_document, write_atomic};
use crate::report::html::{page_end, page_start, run_charts, ChartScales, CHART_TITLES};
use crate::report::svg::escape;
use crate::report::sweep::{
    replay_command_for, run_sharded_with, AcrossSeeds, SweepRow, SWEEP_HEADER,
};
use crate::scenario::Scenario;
use crate::sim::{RunResult, RunWith, SharedExtension, Simulation};
use crate::work::Shard;

/// The schema of `compare.json` and of `compare --json`.
pub const COMPARE_SCHEMA: &str = "fleetsim.compare/1";

/// Failing seeds listed per strategy in the terminal (all of them are in `compare-runs.csv` and
/// `compare.json`).
pub const FAILING_SHOWN_TEXT: usize = 10;
/// Failing seeds listed per strategy in `compare.html`.
pub const FAILING_SHOWN_HTML: usize = 200;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompareOptions {
    pub strategies: Vec<StrategyName>,
    /// Strategies of one's own (fleetsim as a library), after the built-in ones: each a name
    /// and the extension that runs it (its checkers judge every run of the comparison).
    pub custom: Vec<(String, SharedExtension)>,
    pub seeds: Range<u64>,
    /// The seeds this process runs (`--shard`); [`Shard::WHOLE`] for all.
    pub shard: Shard,
    pub jobs: usize,
    /// The charts' timeline window.
    pub window: Duration,
}

/// What a comparison ran, besides its rows: the head of `compare.json`, which `merge` checks is
/// the same in every shard.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CompareMeta {
    pub scenario: String,
    pub path: String,
    /// The `--set` overrides the scenario ran with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
    pub strategies: Vec<String>,
    /// `A..B`, B excluded: the whole range, also in a shard's summary.
    pub seeds: String,
    /// The charts' timeline window, in ms (compare.html, written by merge too).
    pub window_ms: u64,
    /// The shard these rows are (None: the whole range).
    pub shard: Option<Shard>,
}

impl CompareMeta {
    pub fn new(scenario: &Scenario, options: &CompareOptions) -> CompareMeta {
        CompareMeta {
            scenario: scenario.name.clone(),
            path: scenario.path.display().to_string(),
            overrides: scenario.overrides.clone(),
            strategies: options
                .strategies
                .iter()
                .map(|strategy| strategy.to_string())
                .chain(options.custom.iter().map(|(name, _)| name.clone()))
                .collect(),
            seeds: format!("{}..{}", options.seeds.start, options.seeds.end),
            window_ms: u64::try_from(options.window.as_millis()).unwrap_or(u64::MAX),
            shard: (options.shard != Shard::WHOLE).then_some(options.shard),
        }
    }

    /// The first seed of the range: the charts' "seed 1".
    pub fn first_seed(&self) -> u64 {
        crate::report::sweep::parse_seed_range(&self.seeds)
            .map(|seeds| seeds.start)
            .unwrap_or(0)
    }

    fn replay(&self, strategy: &str, seed: u64) -> String {
        if strategy.parse::<StrategyName>().is_err() {
            // A strategy of one's own (`CompareOptions::custom`): the command does not know it.
            return format!("seed {seed} with {strategy} (a library strategy: replay it in code)");
        }
        let target = crate::scenario::overrides::command_words(&self.path, &self.overrides);
        replay_command_for(&target, Some(strategy), seed)
    }
}

/// A run that broke its expectations.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FailingRun {
    pub seed: u64,
    pub requests_failed: u64,
    /// `;`-separated, as in `sweep.csv`.
    pub failed_expectations: String,
    pub violated: String,
    pub replay: String,
}

/// One strategy's figures across the seeds.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StrategySummary {
    pub strategy: String,
    #[serde(flatten)]
    pub across: AcrossSeeds,
    /// The run with the most failed requests (the lowest seed on a tie); None when every run
    /// panicked.
    pub worst_seed: Option<u64>,
    pub worst_requests_failed: u64,
    pub worst_replay: Option<String>,
    /// Every run that broke its expectations, in seed order.
    pub failing: Vec<FailingRun>,
}

/// `compare.json`: what the comparison found.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CompareSummary {
    /// [`COMPARE_SCHEMA`].
    pub schema: &'static str,
    #[serde(flatten)]
    pub meta: CompareMeta,
    /// Runs that broke their expectations, over every strategy: `compare` exits 1 when any did.
    pub failing_runs: usize,
    /// Per strategy, in the order of `meta.strategies`.
    pub results: Vec<StrategySummary>,
}

/// A comparison: its summary and, per strategy (in the order of `meta.strategies`), its rows in
/// seed order.
pub struct Comparison {
    pub summary: CompareSummary,
    pub rows: Vec<Vec<SweepRow>>,
}

impl Comparison {
    /// Runs that panicked, over every strategy.
    pub fn panics(&self) -> usize {
        self.summary
            .results
            .iter()
            .map(|strategy| strategy.across.panics)
            .sum()
    }

    /// Whether every run met its expectations.
    pub fn passed(&self) -> bool {
        self.summary.failing_runs == 0
    }
}

/// The worst run of `rows` (in seed order): the most failed requests, the lowest seed on a tie.
/// Runs that panicked have no metrics and are never the worst.
pub fn worst_run(rows: &[SweepRow]) -> Option<&SweepRow> {
    let mut worst: Option<&SweepRow> = None;
    for row in rows.iter().filter(|row| !row.panicked_run()) {
        if worst.is_none_or(|worst| row.requests_failed > worst.requests_failed) {
            worst = Some(row);
        }
    }
    worst
}

/// The summary of `rows` (per strategy of `meta.strategies`, each in seed order).
pub fn summarise(meta: CompareMeta, rows: Vec<Vec<SweepRow>>) -> Comparison {
    assert_eq!(meta.strategies.len(), rows.len(), "rows per strategy");
    let strategies: Vec<StrategySummary> = meta
        .strategies
        .iter()
        .zip(&rows)
        .map(|(strategy, rows)| {
            assert!(rows.windows(2).all(|pair| pair[0].seed < pair[1].seed));
            let worst = worst_run(rows);
            StrategySummary {
                strategy: strategy.clone(),
                across: AcrossSeeds::of(rows),
                worst_seed: worst.map(|row| row.seed),
                worst_requests_failed: worst.map_or(0, |row| row.requests_failed),
                worst_replay: worst.map(|row| meta.replay(strategy, row.seed)),
                failing: rows
                    .iter()
                    .filter(|row| !row.passed)
                    .map(|row| FailingRun {
                        seed: row.seed,
                        requests_failed: row.requests_failed,
                        failed_expectations: row.failed_expectations.clone(),
                        violated: row.violated.clone(),
                        replay: meta.replay(strategy, row.seed),
                    })
                    .collect(),
            }
        })
        .collect();
    let failing_runs = strategies
        .iter()
        .map(|strategy| strategy.failing.len())
        .sum();
    Comparison {
        summary: CompareSummary {
            schema: COMPARE_SCHEMA,
            meta,
            failing_runs,
            results: strategies,
        },
        rows,
    }
}

/// Runs the comparison (the seeds of `options.shard`); with `out`, writes compare.csv,
/// compare-runs.csv and compare.json there, and compare.html unless this is one shard of several
/// (`merge` writes it from the merged rows).
pub fn compare(
    scenario: &Scenario,
    options: &CompareOptions,
    out: Option<&Path>,
) -> io::Result<Comparison> {
    let built_in = options.strategies.iter().copied().map(RunWith::strategy);
    let custom = options
        .custom
        .iter()
        .map(|(_, extension)| RunWith::extension(&*extension.0));
    let rows = built_in
        .chain(custom)
        .map(|with| {
            run_sharded_with(
                scenario,
                with,
                options.seeds.clone(),
                options.shard,
                options.jobs,
                |_| {},
            )
        })
        .collect();
    let comparison = summarise(CompareMeta::new(scenario, options), rows);
    if let Some(directory) = out {
        write_files(directory, &comparison)?;
        let html = directory.join("compare.html");
        if options.shard == Shard::WHOLE {
            let html_text = compare_html_with(scenario, &comparison, &options.custom);
            write_atomic(&html, html_text.as_bytes())?;
        } else {
            // A shard's charts would show only its own seeds: the merged run writes them.
            crate::report::files::remove_if_present(&html)?;
        }
    }
    Ok(comparison)
}

/// Writes compare.csv, compare-runs.csv and compare.json into `directory`: what `merge` writes.
pub fn write_files(directory: &Path, comparison: &Comparison) -> io::Result<()> {
    std::fs::create_dir_all(directory)?;
    write_atomic(&directory.join("compare.csv"), &compare_csv(comparison))?;
    write_atomic(&directory.join("compare-runs.csv"), &runs_csv(comparison))?;
    write_atomic(
        &directory.join("compare.json"),
        summary_json(comparison).as_bytes(),
    )
}

/// `compare.json`, also what `compare --json` prints.
pub fn summary_json(comparison: &Comparison) -> String {
    json_document(&comparison.summary)
}

/// The header of `compare.csv`.
pub const COMPARE_HEADER: [&str; 28] = [
    "strategy",
    "runs",
    "passed",
    "invariants_held",
    "invariant_pass_rate",
    "lost_request_runs",
    "lost_request_fraction",
    "lost_request_low",
    "lost_request_high",
    "requests_failed_p50",
    "requests_failed_max",
    "error_rate_p50",
    "error_rate_max",
    "outage_total_ms_p50",
    "outage_total_ms_max",
    "degraded_total_ms_p50",
    "degraded_total_ms_max",
    "latency_p99_ms_p50",
    "latency_p99_ms_max",
    "deploy_duration_ms_p50",
    "deploy_duration_ms_max",
    "machines_peak_max",
    "machine_seconds_p50",
    "panics",
    "failing_runs",
    "first_failing_replay",
    "worst_seed",
    "worst_replay",
];

impl StrategySummary {
    fn invariant_pass_rate(&self) -> f64 {
        if self.across.runs == 0 {
            0.0
        } else {
            self.across.invariants_held as f64 / self.across.runs as f64
        }
    }

    fn spread(&self, metric: &str) -> (f64, f64) {
        let distribution = self.across.metric(metric);
        (distribution.p50, distribution.max)
    }

    /// The `compare.csv` fields, in [`COMPARE_HEADER`] order.
    pub fn fields(&self) -> Vec<String> {
        let across = &self.across;
        let lost = across.lost_request_runs;
        let (failed_p50, failed_max) = self.spread("requests_failed");
        let (error_p50, error_max) = self.spread("error_rate");
        let (outage_p50, outage_max) = self.spread("outage_total_ms");
        let (degraded_p50, degraded_max) = self.spread("degraded_total_ms");
        let (p99_p50, p99_max) = self.spread("latency_p99_ms");
        let (deploy_p50, deploy_max) = self.spread("deploy_duration_ms");
        let (_, peak_max) = self.spread("machines_peak");
        let (machine_seconds_p50, _) = self.spread("machine_seconds");
        vec![
            self.strategy.clone(),
            across.runs.to_string(),
            across.passed.to_string(),
            across.invariants_held.to_string(),
            format!("{:.3}", self.invariant_pass_rate()),
            lost.count.to_string(),
            format!("{:.6}", lost.fraction),
            format!("{:.6}", lost.low),
            format!("{:.6}", lost.high),
            format!("{failed_p50:.0}"),
            format!("{failed_max:.0}"),
            format!("{error_p50:.6}"),
            format!("{error_max:.6}"),
            format!("{outage_p50:.0}"),
            format!("{outage_max:.0}"),
            format!("{degraded_p50:.0}"),
            format!("{degraded_max:.0}"),
            format!("{p99_p50:.3}"),
            format!("{p99_max:.3}"),
            format!("{deploy_p50:.0}"),
            format!("{deploy_max:.0}"),
            format!("{peak_max:.0}"),
            format!("{machine_seconds_p50:.3}"),
            across.panics.to_string(),
            self.failing.len().to_string(),
            self.failing
                .first()
                .map(|run| run.replay.clone())
                .unwrap_or_default(),
            self.worst_seed
                .map_or(String::new(), |seed| seed.to_string()),
            self.worst_replay.clone().unwrap_or_default(),
        ]
    }
}

pub fn compare_csv(comparison: &Comparison) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(COMPARE_HEADER)
        .expect("write to memory");
    for strategy in &comparison.summary.results {
        writer
            .write_record(strategy.fields())
            .expect("write to memory");
    }
    writer.into_inner().expect("flush to memory")
}

/// `compare-runs.csv`: `sweep.csv`'s columns with the strategy first, one row per (strategy,
/// seed), strategies in the order given, seeds in order.
pub fn runs_csv(comparison: &Comparison) -> Vec<u8> {
    let meta = &comparison.summary.meta;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["strategy"];
    header.extend(SWEEP_HEADER);
    writer.write_record(header).expect("write to memory");
    for (strategy, rows) in meta.strategies.iter().zip(&comparison.rows) {
        for row in rows {
            let mut fields = vec![strategy.clone()];
            fields.extend(row.fields(&meta.replay(strategy, row.seed)));
            writer.write_record(fields).expect("write to memory");
        }
    }
    writer.into_inner().expect("flush to memory")
}

/// Reads a `compare-runs.csv`: (strategy, row) in file order.
pub fn read_runs_csv(path: &Path) -> io::Result<Vec<(String, SweepRow)>> {
    let failed = |error: csv::Error| io::Error::other(format!("{}: {error}", path.display()));
    let mut reader = csv::Reader::from_path(path).map_err(failed)?;
    let header = reader.headers().map_err(failed)?.clone();
    if header.get(0) != Some("strategy") {
        return Err(io::Error::other(format!(
            "{}: not a compare-runs.csv (its first column is not `strategy`)",
            path.display()
        )));
    }
    let row_header: csv::StringRecord = header.iter().skip(1).collect();
    let mut runs = Vec::new();
    for record in reader.records() {
        let record = record.map_err(failed)?;
        let strategy = record.get(0).unwrap_or_default().to_string();
        let fields: csv::StringRecord = record.iter().skip(1).collect();
        let row: SweepRow = fields.deserialize(Some(&row_header)).map_err(failed)?;
        runs.push((strategy, row));
    }
    Ok(runs)
}

/// The headline for people: per strategy, the deploys that lost any request with its interval.
fn headline(comparison: &Comparison) -> Vec<(String, String)> {
    comparison
        .summary
        .results
        .iter()
        .map(|strategy| {
            (
                strategy.strategy.clone(),
                strategy.across.lost_request_runs.to_string(),
            )
        })
        .collect()
}

/// The side-by-side table, the worst seeds and the failing seeds, for people.
pub fn table_text(comparison: &Comparison) -> String {
    let summary = &comparison.summary;
    let meta = &summary.meta;
    let mut out = String::new();
    let shard = meta
        .shard
        .map(|shard| format!(", shard {shard}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "compare {} ({}), seeds {} (the last excluded){shard}\n",
        meta.scenario, meta.path, meta.seeds
    );
    out.push_str("deploys that lost any request (95 % Wilson interval):\n");
    let name_width = meta.strategies.iter().map(String::len).max().unwrap_or(0);
    for (strategy, lost) in headline(comparison) {
        let _ = writeln!(out, "  {strategy:<name_width$}  {lost}");
    }
    out.push('\n');
    let rows = table_rows(comparison);
    let width = rows
        .iter()
        .flat_map(|(_, values)| values.iter().map(|value| value.chars().count()))
        .chain(meta.strategies.iter().map(String::len))
        .max()
        .unwrap_or(0);
    let _ = write!(out, "{:<34}", "");
    for strategy in &meta.strategies {
        let _ = write!(out, "  {strategy:>width$}");
    }
    out.push('\n');
    for (label, values) in rows {
        let _ = write!(out, "{label:<34}");
        for value in values {
            let _ = write!(out, "  {value:>width$}");
        }
        out.push('\n');
    }
    out.push_str("\nworst seed (most failed requests, lowest seed on a tie):\n");
    for strategy in &summary.results {
        match (&strategy.worst_seed, &strategy.worst_replay) {
            (Some(seed), Some(replay)) => {
                let _ = writeln!(
                    out,
                    "  {:<name_width$}  seed {seed}, {} failed: {replay}",
                    strategy.strategy, strategy.worst_requests_failed
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "  {:<name_width$}  every run panicked",
                    strategy.strategy
                );
            }
        }
    }
    write_failing_text(&mut out, comparison);
    out
}

fn write_failing_text(out: &mut String, comparison: &Comparison) {
    let summary = &comparison.summary;
    if summary.failing_runs == 0 {
        out.push_str("\nevery run met its expectations\n");
        return;
    }
    let _ = writeln!(
        out,
        "\n{} run(s) broke their expectations:",
        summary.failing_runs
    );
    for strategy in &summary.results {
        let _ = writeln!(
            out,
            "  {}: {} of {}",
            strategy.strategy,
            strategy.failing.len(),
            strategy.across.runs
        );
        for run in strategy.failing.iter().take(FAILING_SHOWN_TEXT) {
            let _ = writeln!(
                out,
                "    seed {} ({} failed requests; {}): {}",
                run.seed,
                run.requests_failed,
                failing_reason(run),
                run.replay
            );
        }
        if strategy.failing.len() > FAILING_SHOWN_TEXT {
            let _ = writeln!(
                out,
                "    … and {} more (every one is in compare-runs.csv and compare --json)",
                strategy.failing.len() - FAILING_SHOWN_TEXT
            );
        }
    }
}

/// What a failing run broke, in a few words.
fn failing_reason(run: &FailingRun) -> String {
    let expectations = run.failed_expectations.replace(';', ", ");
    if expectations.is_empty() {
        "expectations failed".to_string()
    } else {
        format!("expected: {expectations}")
    }
}

/// (label with unit, one value per strategy).
fn table_rows(comparison: &Comparison) -> Vec<(String, Vec<String>)> {
    let strategies = &comparison.summary.results;
    let multi = strategies.iter().any(|strategy| strategy.across.runs > 1);
    let suffix = if multi { " (p50 / max)" } else { "" };
    let metric_row = |label: &str, metric: &str, decimals: usize, scale: f64| {
        (
            format!("{label}{suffix}"),
            strategies
                .iter()
                .map(|strategy| {
                    let (p50, max) = strategy.spread(metric);
                    let (p50, max) = (p50 * scale, max * scale);
                    if multi {
                        format!("{p50:.decimals$} / {max:.decimals$}")
                    } else {
                        format!("{p50:.decimals$}")
                    }
                })
                .collect(),
        )
    };
    let per_strategy = |label: &str, value: &dyn Fn(&StrategySummary) -> String| {
        (
            label.to_string(),
            strategies.iter().map(value).collect::<Vec<_>>(),
        )
    };
    let out_of = |count: usize, strategy: &StrategySummary| {
        let runs = strategy.across.runs;
        // One decimal, so that 199 of 200 does not read as 100 %.
        let percent = if runs == 0 {
            0.0
        } else {
            count as f64 / runs as f64 * 100.0
        };
        format!("{count}/{runs} ({percent:.1} %)")
    };
    vec![
        per_strategy("deploys that lost any request", &|strategy| {
            strategy.across.lost_request_runs.percent()
        }),
        metric_row("failed requests", "requests_failed", 0, 1.0),
        metric_row("error rate (%)", "error_rate", 3, 100.0),
        metric_row("outage (ms)", "outage_total_ms", 0, 1.0),
        metric_row("degraded (ms)", "degraded_total_ms", 0, 1.0),
        metric_row("p99 latency (ms)", "latency_p99_ms", 1, 1.0),
        metric_row("deploy time (ms)", "deploy_duration_ms", 0, 1.0),
        metric_row("peak machines", "machines_peak", 0, 1.0),
        metric_row("machine-seconds", "machine_seconds", 1, 1.0),
        per_strategy("no invariant violated", &|strategy| {
            out_of(strategy.across.invariants_held, strategy)
        }),
        per_strategy("expectations held", &|strategy| {
            out_of(strategy.across.passed, strategy)
        }),
        per_strategy("runs that panicked", &|strategy| {
            strategy.across.panics.to_string()
        }),
    ]
}

/// A run charted in compare.html.
pub struct Example {
    pub strategy: String,
    pub seed: u64,
    /// `seed 1`, `worst seed 17 (42 failed requests)`.
    pub label: String,
    pub replay: String,
    /// None: the run panicked.
    pub charted: Option<(RunResult, Analysis)>,
}

fn traced_run(
    scenario: &Scenario,
    with: RunWith<'_>,
    seed: u64,
    window: Duration,
) -> Option<(RunResult, Analysis)> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let simulation = Simulation::new(scenario).seed(seed).keep_trace(true);
        let result = with.configure(simulation).run();
        let window_us = crate::engine::time::duration_micros(window).max(1);
        let analysis = analyse(scenario, &result, window_us);
        (result, analysis)
    }))
    .ok()
}

/// Per strategy: the first seed's run and, when it is another seed, the worst one, traced.
pub fn examples(
    scenario: &Scenario,
    comparison: &Comparison,
    custom: &[(String, SharedExtension)],
) -> Vec<Vec<Example>> {
    let meta = &comparison.summary.meta;
    let window = Duration::from_millis(meta.window_ms.max(1));
    let first = meta.first_seed();
    comparison
        .summary
        .results
        .iter()
        .map(|summary| {
            let with = match custom.iter().find(|(name, _)| *name == summary.strategy) {
                Some((_, extension)) => RunWith::extension(&*extension.0),
                None => match summary.strategy.parse::<StrategyName>() {
                    Ok(strategy) => RunWith::strategy(strategy),
                    Err(_) => return Vec::new(),
                },
            };
            let mut charted = vec![(first, format!("seed {first}"))];
            match summary.worst_seed {
                Some(worst) if worst != first => charted.push((
                    worst,
                    format!(
                        "worst seed {worst} ({} failed requests)",
                        summary.worst_requests_failed
                    ),
                )),
                Some(_) => {
                    charted[0].1 = format!(
                        "seed {first}, also the worst ({} failed requests)",
                        summary.worst_requests_failed
                    )
                }
                None => {}
            }
            charted
                .into_iter()
                .map(|(seed, label)| Example {
                    strategy: summary.strategy.clone(),
                    seed,
                    label,
                    replay: meta.replay(&summary.strategy, seed),
                    charted: traced_run(scenario, with, seed, window),
                })
                .collect()
        })
        .collect()
}

/// `compare.html`: the headline, the table, the failing seeds, then each chart for seed 1 and the
/// worst seed of every strategy, on shared scales.
pub fn compare_html(scenario: &Scenario, comparison: &Comparison) -> String {
    compare_html_with(scenario, comparison, &[])
}

/// [`compare_html`] for a comparison with strategies of one's own (`custom`, as in
/// [`CompareOptions::custom`]): their charts are run with their extensions.
pub fn compare_html_with(
    scenario: &Scenario,
    comparison: &Comparison,
    custom: &[(String, SharedExtension)],
) -> String {
    let summary = &comparison.summary;
    let meta = &summary.meta;
    let mut out = String::new();
    let title = format!("fleetsim compare: {}", meta.scenario);
    page_start(&mut out, &title);
    let _ = write!(
        out,
        "<h1>{}</h1><p>{} ({}) — seeds {} (the last excluded)</p>",
        escape(&title),
        escape(&scenario.description),
        escape(&meta.path),
        escape(&meta.seeds)
    );
    out.push_str(
        "<div class=\"headline\"><p><b>Deploys that lost any request</b> (95 % Wilson \
         interval)</p><table>",
    );
    for (strategy, lost) in headline(comparison) {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(&strategy),
            escape(&lost)
        );
    }
    let verdict = if comparison.passed() {
        "<span class=\"ok\">every run met its expectations</span>".to_string()
    } else {
        format!(
            "<span class=\"bad\">{} run(s) broke their expectations</span> (compare exits 1)",
            summary.failing_runs
        )
    };
    let _ = write!(out, "</table><p>{verdict}</p></div>");
    out.push_str("<h2>Side by side</h2><table><tr><th></th>");
    for strategy in &meta.strategies {
        let _ = write!(out, "<th>{}</th>", escape(strategy));
    }
    out.push_str("</tr>");
    for (label, values) in table_rows(comparison) {
        let _ = write!(out, "<tr><td>{}</td>", escape(&label));
        for value in values {
            let _ = write!(out, "<td class=\"num\">{}</td>", escape(&value));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    write_failing_html(&mut out, comparison);
    write_charts_html(&mut out, &examples(scenario, comparison, custom));
    page_end(&mut out);
    out
}

fn write_failing_html(out: &mut String, comparison: &Comparison) {
    out.push_str("<h2>Failing seeds</h2>");
    for strategy in &comparison.summary.results {
        let _ = write!(
            out,
            "<p><b>{}</b>: {} of {} broke their expectations</p>",
            escape(&strategy.strategy),
            strategy.failing.len(),
            strategy.across.runs
        );
        if strategy.failing.is_empty() {
            continue;
        }
        out.push_str(
            "<table><tr><th>seed</th><th>failed requests</th><th>broken expectations</th>\
             <th>replay</th></tr>",
        );
        for run in strategy.failing.iter().take(FAILING_SHOWN_HTML) {
            let _ = write!(
                out,
                "<tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td>\
                 <td><code>{}</code></td></tr>",
                run.seed,
                run.requests_failed,
                escape(&run.failed_expectations.replace(';', ", ")),
                escape(&run.replay)
            );
        }
        out.push_str("</table>");
        if strategy.failing.len() > FAILING_SHOWN_HTML {
            let _ = write!(
                out,
                "<p>… and {} more: compare-runs.csv and compare.json list every one.</p>",
                strategy.failing.len() - FAILING_SHOWN_HTML
            );
        }
    }
}

fn write_charts_html(out: &mut String, examples: &[Vec<Example>]) {
    let analyses: Vec<&Analysis> = examples
        .iter()
        .flatten()
        .filter_map(|example| example.charted.as_ref().map(|(_, analysis)| analysis))
        .collect();
    let scales = ChartScales::fitting(&analyses);
    let charts: Vec<Vec<Option<Vec<String>>>> = examples
        .iter()
        .map(|runs| {
            runs.iter()
                .map(|example| {
                    example
                        .charted
                        .as_ref()
                        .map(|(_, analysis)| run_charts(analysis, 620.0, &scales))
                })
                .collect()
        })
        .collect();
    out.push_str(
        "<h2>Charts: seed 1 and the worst seed of each strategy</h2><p>Every chart of a kind \
         has the same time and value scales, across strategies and seeds. Left: the first seed; \
         right: the strategy's worst seed (most failed requests). Shaded: outage (orange), \
         degraded (pink) and fault windows (grey); dotted lines: deploy phases and instant \
         faults.</p>",
    );
    for (index, title) in CHART_TITLES.iter().enumerate() {
        let _ = write!(
            out,
            "<h3>{}</h3><div class=\"grid\" style=\"grid-template-columns:repeat(2,minmax(0,1fr))\">",
            escape(title)
        );
        for (runs, svgs) in examples.iter().zip(&charts) {
            for (example, svg) in runs.iter().zip(svgs) {
                let _ = write!(
                    out,
                    "<figure><figcaption><b>{}</b> — {}<br><code>{}</code></figcaption>",
                    escape(&example.strategy),
                    escape(&example.label),
                    escape(&example.replay)
                );
                match svg {
                    Some(svgs) => out.push_str(&svgs[index]),
                    None => out.push_str("<p class=\"bad\">no chart: the run panicked</p>"),
                }
                out.push_str("</figure>");
            }
            // Two cells per strategy, so that each row of the grid is one strategy.
            for _ in runs.len()..2 {
                out.push_str(
                    "<figure><p class=\"na\">(the first seed is also the worst)</p></figure>",
                );
            }
        }
        out.push_str("</div>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seed: u64, requests_failed: u64) -> SweepRow {
        let mut row = SweepRow::panicked(seed, String::new());
        row.passed = requests_failed == 0;
        row.requests_failed = requests_failed;
        row
    }

    // Guards the worst seed: the most failed requests, the lowest seed on a tie, never a run that
    // panicked (it has no metrics), and none when every run panicked.
    #[test]
    fn the_worst_run_has_the_most_failed_requests_lowest_seed_first() {
        let rows = [row(3, 2), row(4, 7), row(5, 7), row(6, 0)];
        assert_eq!(worst_run(&rows).map(|row| row.seed), Some(4));
        let clean = [row(8, 0), row(9, 0)];
        assert_eq!(worst_run(&clean).map(|row| row.seed), Some(8));
        let mut crashed = row(1, 0);
        crashed.panic = "boom".to_string();
        crashed.requests_failed = 99;
        let rows = [crashed.clone(), row(2, 1)];
        assert_eq!(worst_run(&rows).map(|row| row.seed), Some(2));
        assert!(worst_run(&[crashed]).is_none());
    }

    // Guards the summary: failing runs listed in seed order with their replay commands, counted
    // over every strategy.
    #[test]
    fn failing_runs_are_listed_with_replay_commands() {
        let meta = CompareMeta {
            scenario: "s".to_string(),
            path: "s.toml".to_string(),
            overrides: Vec::new(),
            strategies: vec!["bluegreen".to_string(), "rolling".to_string()],
            seeds: "1..4".to_string(),
            window_ms: 1_000,
            shard: None,
        };
        let comparison = summarise(
            meta,
            vec![
                vec![row(1, 0), row(2, 0), row(3, 0)],
                vec![row(1, 4), row(2, 0), row(3, 9)],
            ],
        );
        assert_eq!(comparison.summary.failing_runs, 2);
        assert!(!comparison.passed());
        let rolling = &comparison.summary.results[1];
        let seeds: Vec<u64> = rolling.failing.iter().map(|run| run.seed).collect();
        assert_eq!(seeds, [1, 3]);
        assert_eq!(
            rolling.failing[1].replay,
            "fleetsim run s.toml --seed 3 --strategy rolling"
        );
        assert_eq!(rolling.worst_seed, Some(3));
        assert_eq!(rolling.across.lost_request_runs.count, 2);
        assert!(comparison.summary.results[0].failing.is_empty());
    }
}
