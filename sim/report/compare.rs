//! `fleetsim compare`: one scenario under several strategies over the same seeds, a side-by-side
//! table, and `compare.html` with each strategy's charts (of the first seed) side by side.

use std::fmt::Write as _;
use std::io;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use crate::deploy::StrategyName;
use crate::report::analysis::{analyse, Analysis};
use crate::report::files::write_atomic;
use crate::report::html::{page_end, page_start, run_charts, ChartScales, CHART_TITLES};
use crate::report::svg::escape;
use crate::report::sweep::{
    replay_command, run_seeds, summarise, SweepRow, SweepSummary, SWEEP_HEADER,
};
use crate::scenario::Scenario;
use crate::sim::{RunResult, Simulation};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompareOptions {
    pub strategies: Vec<StrategyName>,
    pub seeds: Range<u64>,
    pub jobs: usize,
    /// The charts' timeline window.
    pub window: Duration,
}

/// One strategy's runs.
pub struct StrategyRuns {
    pub strategy: StrategyName,
    pub rows: Vec<SweepRow>,
    pub summary: SweepSummary,
    /// The first seed's run with its trace, for the charts (None: not wanted, or it panicked).
    pub example: Option<(RunResult, Analysis)>,
}

pub struct Comparison {
    pub scenario: String,
    pub path: String,
    pub seeds: Range<u64>,
    pub strategies: Vec<StrategyRuns>,
}

impl Comparison {
    /// Runs that panicked, over every strategy.
    pub fn panics(&self) -> usize {
        self.strategies
            .iter()
            .map(|strategy| strategy.summary.across.panics)
            .sum()
    }
}

/// The header of `compare.csv`.
pub const COMPARE_HEADER: [&str; 25] = [
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
    "first_failing_replay",
];

impl StrategyRuns {
    fn invariant_pass_rate(&self) -> f64 {
        if self.rows.is_empty() {
            0.0
        } else {
            self.summary.across.invariants_held as f64 / self.rows.len() as f64
        }
    }

    fn spread(&self, metric: &str) -> (f64, f64) {
        let distribution = self.summary.across.metric(metric);
        (distribution.p50, distribution.max)
    }

    /// The `compare.csv` fields, in [`COMPARE_HEADER`] order.
    pub fn fields(&self) -> Vec<String> {
        let across = &self.summary.across;
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
            self.strategy.to_string(),
            self.rows.len().to_string(),
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
            self.summary.replay.clone().unwrap_or_default(),
        ]
    }
}

fn traced_run(
    scenario: &Scenario,
    strategy: StrategyName,
    seed: u64,
    window: Duration,
) -> Option<(RunResult, Analysis)> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let result = Simulation::new(scenario)
            .seed(seed)
            .strategy(strategy)
            .keep_trace(true)
            .run();
        let window_us = crate::engine::time::duration_micros(window).max(1);
        let analysis = analyse(scenario, &result, window_us);
        (result, analysis)
    }))
    .ok()
}

/// Runs the comparison; with `out`, writes compare.csv, compare-runs.csv and compare.html there.
pub fn compare(
    scenario: &Scenario,
    options: &CompareOptions,
    out: Option<&Path>,
) -> io::Result<Comparison> {
    let mut strategies = Vec::new();
    for strategy in &options.strategies {
        let rows = run_seeds(
            scenario,
            Some(*strategy),
            options.seeds.clone(),
            options.jobs,
            |_| {},
        );
        let summary = summarise(scenario, Some(*strategy), &options.seeds, &rows);
        let example =
            out.and_then(|_| traced_run(scenario, *strategy, options.seeds.start, options.window));
        strategies.push(StrategyRuns {
            strategy: *strategy,
            rows,
            summary,
            example,
        });
    }
    let comparison = Comparison {
        scenario: scenario.name.clone(),
        path: scenario.path.display().to_string(),
        seeds: options.seeds.clone(),
        strategies,
    };
    if let Some(directory) = out {
        std::fs::create_dir_all(directory)?;
        write_atomic(&directory.join("compare.csv"), &compare_csv(&comparison))?;
        write_atomic(
            &directory.join("compare-runs.csv"),
            &runs_csv(scenario, &comparison),
        )?;
        write_atomic(
            &directory.join("compare.html"),
            compare_html(scenario, &comparison).as_bytes(),
        )?;
    }
    Ok(comparison)
}

pub fn compare_csv(comparison: &Comparison) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(COMPARE_HEADER)
        .expect("write to memory");
    for strategy in &comparison.strategies {
        writer
            .write_record(strategy.fields())
            .expect("write to memory");
    }
    writer.into_inner().expect("flush to memory")
}

/// `compare-runs.csv`: `sweep.csv`'s columns with the strategy first, one row per (strategy, seed).
pub fn runs_csv(scenario: &Scenario, comparison: &Comparison) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["strategy"];
    header.extend(SWEEP_HEADER);
    writer.write_record(header).expect("write to memory");
    for strategy in &comparison.strategies {
        for row in &strategy.rows {
            let mut fields = vec![strategy.strategy.to_string()];
            fields.extend(row.fields(&replay_command(scenario, Some(strategy.strategy), row.seed)));
            writer.write_record(fields).expect("write to memory");
        }
    }
    writer.into_inner().expect("flush to memory")
}

/// The side-by-side table for people.
pub fn table_text(comparison: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "compare {} ({}), seeds {}..{}\n",
        comparison.scenario, comparison.path, comparison.seeds.start, comparison.seeds.end
    );
    let rows = table_rows(comparison);
    let width = comparison
        .strategies
        .iter()
        .map(|strategy| strategy.strategy.as_str().len())
        .max()
        .unwrap_or(0)
        .max(16);
    let _ = write!(out, "{:<34}", "");
    for strategy in &comparison.strategies {
        let _ = write!(out, " {:>width$}", strategy.strategy.as_str());
    }
    out.push('\n');
    for (label, values) in rows {
        let _ = write!(out, "{label:<34}");
        for value in values {
            let _ = write!(out, " {value:>width$}");
        }
        out.push('\n');
    }
    out
}

/// (label with unit, one value per strategy).
fn table_rows(comparison: &Comparison) -> Vec<(String, Vec<String>)> {
    let multi = comparison.seeds.end - comparison.seeds.start > 1;
    let suffix = if multi { " (p50 / max)" } else { "" };
    let metric_row = |label: &str, metric: &str, decimals: usize, scale: f64| {
        (
            format!("{label}{suffix}"),
            comparison
                .strategies
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
    let per_strategy = |label: &str, value: &dyn Fn(&StrategyRuns) -> String| {
        (
            label.to_string(),
            comparison.strategies.iter().map(value).collect::<Vec<_>>(),
        )
    };
    vec![
        per_strategy("runs that lost requests", &|strategy| {
            strategy.summary.across.lost_request_runs.to_string()
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
            format!(
                "{}/{} ({:.0}%)",
                strategy.summary.across.invariants_held,
                strategy.rows.len(),
                strategy.invariant_pass_rate() * 100.0
            )
        }),
        per_strategy("expectations held", &|strategy| {
            format!(
                "{}/{} ({:.0}%)",
                strategy.summary.across.passed,
                strategy.rows.len(),
                strategy.summary.across.pass_rate * 100.0
            )
        }),
        per_strategy("runs that panicked", &|strategy| {
            strategy.summary.across.panics.to_string()
        }),
    ]
}

/// `compare.html`: the table, then each chart with one column per strategy.
pub fn compare_html(scenario: &Scenario, comparison: &Comparison) -> String {
    let mut out = String::new();
    let title = format!("fleetsim compare: {}", comparison.scenario);
    page_start(&mut out, &title);
    let _ = write!(
        out,
        "<h1>{}</h1><p>{} ({}) — seeds {}..{} (the last excluded)</p>",
        escape(&title),
        escape(&scenario.description),
        escape(&comparison.path),
        comparison.seeds.start,
        comparison.seeds.end
    );
    out.push_str("<h2>Side by side</h2><table><tr><th></th>");
    for strategy in &comparison.strategies {
        let _ = write!(out, "<th>{}</th>", escape(strategy.strategy.as_str()));
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
    let columns = comparison.strategies.len().max(1);
    let _ = write!(
        out,
        "<h2>Charts (seed {})</h2><p>Each column is one strategy; shaded: outage (orange), degraded (pink) and \
         fault windows (grey); dotted lines: deploy phases and instant faults.</p>",
        comparison.seeds.start
    );
    let analyses: Vec<&Analysis> = comparison
        .strategies
        .iter()
        .filter_map(|strategy| strategy.example.as_ref().map(|(_, analysis)| analysis))
        .collect();
    let scales = ChartScales::fitting(&analyses);
    let charts: Vec<Option<Vec<String>>> = comparison
        .strategies
        .iter()
        .map(|strategy| {
            strategy
                .example
                .as_ref()
                .map(|(_, analysis)| run_charts(analysis, 480.0, &scales))
        })
        .collect();
    for (index, title) in CHART_TITLES.iter().enumerate() {
        let _ = write!(
            out,
            "<h3>{}</h3><div class=\"grid\" style=\"grid-template-columns:repeat({columns},minmax(0,1fr))\">",
            escape(title)
        );
        for (strategy, svgs) in comparison.strategies.iter().zip(&charts) {
            let _ = write!(
                out,
                "<figure><figcaption><b>{}</b></figcaption>",
                escape(strategy.strategy.as_str())
            );
            match svgs {
                Some(svgs) => out.push_str(&svgs[index]),
                None => out.push_str("<p class=\"bad\">no chart: the run panicked</p>"),
            }
            out.push_str("</figure>");
        }
        out.push_str("</div>");
    }
    page_end(&mut out);
    out
}
