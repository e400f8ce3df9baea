//! `report.html`: one self-contained page (inline SVG and CSS, no scripts, no network) with the
//! run's charts, its invariants, metrics, deploys and expectations.

use std::fmt::Write as _;

use crate::check::Status;
use crate::report::analysis::Analysis;
use crate::report::svg::{escape, Band, Chart, Mark, Series, Style, PALETTE};
use crate::scenario::Scenario;
use crate::sim::RunResult;

const OUTAGE_COLOR: &str = "#D55E00";
const DEGRADED_COLOR: &str = "#CC79A7";
const FAULT_COLOR: &str = "#999999";
/// The part of a run a truncated report does not cover.
const UNCOVERED_COLOR: &str = "#333333";

/// The charts of a run, in order: machines by image, routable per proxy, failed requests, latency.
pub const CHART_TITLES: [&str; 4] = [
    "Machines alive by image",
    "Machines each proxy believes routable",
    "Failed and retried requests",
    "Request latency (successful requests)",
];

fn seconds(micros: u64) -> f64 {
    micros as f64 / 1e6
}

/// Axes shared by the charts of several runs (compare puts strategies side by side on the same
/// scales, so that a taller line means more, not a different axis).
#[derive(Clone, Debug, PartialEq)]
pub struct ChartScales {
    /// The time axis, in seconds.
    pub x_max: f64,
    /// Per chart of [`CHART_TITLES`]: the top of the y axis.
    pub y_max: [f64; 4],
    /// The bottom of the latency chart's log axis, in ms.
    pub latency_min_ms: f64,
}

impl ChartScales {
    /// Scales that fit every one of `analyses`.
    pub fn fitting(analyses: &[&Analysis]) -> ChartScales {
        let mut scales = ChartScales {
            x_max: 0.0,
            y_max: [1.0; 4],
            latency_min_ms: f64::INFINITY,
        };
        for analysis in analyses {
            scales.x_max = scales
                .x_max
                .max(seconds(analysis.end_us).max(seconds(analysis.window_us)));
            let bound = f64::from(analysis.machines_max);
            for row in &analysis.windows {
                let per_proxy = row.routable_by_proxy.iter().copied().max().unwrap_or(0);
                let requests = row.requests_failed.max(row.requests_retried) as f64;
                let values = [
                    bound.max(f64::from(row.alive_max)) + 1.0,
                    f64::from(per_proxy),
                    requests,
                    row.latency_us.map_or(0.0, |(_, _, max)| max as f64 / 1e3),
                ];
                for (top, value) in scales.y_max.iter_mut().zip(values) {
                    *top = top.max(value);
                }
                if let Some((p50, _, _)) = row.latency_us {
                    scales.latency_min_ms = scales.latency_min_ms.min(p50 as f64 / 1e3);
                }
            }
        }
        if !scales.latency_min_ms.is_finite() {
            scales.latency_min_ms = 1.0;
        }
        scales
    }
}

fn shading(analysis: &Analysis) -> Vec<Band> {
    let mut bands: Vec<Band> = analysis
        .fault_windows
        .iter()
        .map(|fault| Band {
            start: seconds(fault.start_us),
            end: seconds(fault.end_us),
            color: FAULT_COLOR.to_string(),
            label: "fault active".to_string(),
        })
        .collect();
    bands.extend(analysis.outages.iter().map(|(start, end)| Band {
        start: seconds(*start),
        end: seconds(*end),
        color: OUTAGE_COLOR.to_string(),
        label: "outage (a proxy has no live routable machine)".to_string(),
    }));
    bands.extend(analysis.degraded.iter().map(|(start, end)| Band {
        start: seconds(*start),
        end: seconds(*end),
        color: DEGRADED_COLOR.to_string(),
        label: "degraded (failing requests in flight, no outage)".to_string(),
    }));
    bands.extend(uncovered_band(analysis));
    bands
}

/// The part of the run the report does not cover (the trace reached its limit), shaded dark.
fn uncovered_band(analysis: &Analysis) -> Option<Band> {
    analysis.covered_until_us.map(|cut| Band {
        start: seconds(cut),
        end: seconds(analysis.end_us),
        color: UNCOVERED_COLOR.to_string(),
        label: "not covered: the trace reached its limit of kept steps".to_string(),
    })
}

/// What a report says about itself when it is not the whole run or not at the window asked for.
pub fn coverage_notes(result: &RunResult, analysis: &Analysis) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(cut) = analysis.covered_until_us {
        notes.push(format!(
            "incomplete: the trace reached its limit of {} kept steps at {}; the timeline, the \
             requests and the events stop there (the verdicts, the metrics and the fingerprint \
             cover the whole run, to {})",
            result.trace.len(),
            crate::engine::SimTime::from_micros(cut),
            crate::engine::SimTime::from_micros(analysis.end_us)
        ));
    }
    if analysis.window_us != analysis.window_requested_us {
        notes.push(format!(
            "coarsened: a timeline window of {} would make more than {} rows; the timeline uses \
             {} windows",
            humantime::format_duration(std::time::Duration::from_micros(
                analysis.window_requested_us
            )),
            crate::report::analysis::TIMELINE_WINDOWS_MAX,
            humantime::format_duration(std::time::Duration::from_micros(analysis.window_us))
        ));
    }
    notes
}

fn fault_marks(analysis: &Analysis) -> Vec<Mark> {
    analysis
        .fault_events
        .iter()
        .map(|(time, description)| Mark {
            x: seconds(*time),
            label: format!("⚡ {description}"),
            color: "#7a0000".to_string(),
        })
        .collect()
}

/// Phase marks, with consecutive phases that start within `merge_us` of each other merged.
fn phase_marks(analysis: &Analysis) -> Vec<Mark> {
    let mut marks: Vec<Mark> = Vec::new();
    let mut last: Option<(u64, u32)> = None;
    let deploys = analysis.deploy_spans.len();
    for phase in &analysis.phases {
        let label = if deploys > 1 {
            format!("{}:{}", phase.deploy, phase.phase)
        } else {
            phase.phase.clone()
        };
        match (last, marks.last_mut()) {
            (Some((time, deploy)), Some(mark))
                if deploy == phase.deploy && phase.time_us.saturating_sub(time) < 200_000 =>
            {
                mark.label = format!("{}, {label}", mark.label);
            }
            _ => marks.push(Mark {
                x: seconds(phase.time_us),
                label,
                color: "#444444".to_string(),
            }),
        }
        last = Some((phase.time_us, phase.deploy));
    }
    marks
}

/// The four charts of a run as SVG, on `scales` (see [`ChartScales::fitting`]).
pub fn run_charts(analysis: &Analysis, width: f64, scales: &ChartScales) -> Vec<String> {
    let x_max = scales.x_max;
    let x_label = "virtual time (s)";
    let window_x = |row: &crate::report::analysis::WindowRow| seconds(row.start_us);
    let window_s = seconds(analysis.window_us);
    let mut charts = Vec::new();

    // 1. Machines by image, with deploy phases.
    let mut machines = Chart::new(CHART_TITLES[0], x_label, "machines alive", x_max);
    machines.width = width;
    for (index, image) in analysis.images.iter().enumerate() {
        machines.series.push(Series {
            name: format!(
                "{} {}",
                Analysis::image_label(index),
                Analysis::image_short(image)
            ),
            color: PALETTE[index % PALETTE.len()].to_string(),
            style: Style::Area,
            dashed: false,
            points: analysis
                .windows
                .iter()
                .map(|row| (window_x(row), Some(f64::from(row.alive_by_image[index]))))
                .collect(),
        });
    }
    let bound = f64::from(analysis.machines_max);
    machines.series.push(Series {
        name: format!("{} × N (explosion bound)", analysis.explosion_factor),
        color: "#D55E00".to_string(),
        style: Style::Line,
        dashed: true,
        points: vec![(0.0, Some(bound)), (x_max, Some(bound))],
    });
    machines.y_max = Some(scales.y_max[0]);
    machines.marks = phase_marks(analysis);
    machines.bands.extend(uncovered_band(analysis));
    charts.push(machines.render());

    // 2. Routable machines per proxy.
    let mut routable = Chart::new(CHART_TITLES[1], x_label, "machines (proxy's view)", x_max);
    routable.width = width;
    routable.y_max = Some(scales.y_max[1]);
    for (index, region) in analysis.proxies.iter().enumerate() {
        routable.series.push(Series {
            name: format!("proxy {region}"),
            color: PALETTE[(index + 2) % PALETTE.len()].to_string(),
            style: Style::Step,
            dashed: index % 2 == 1,
            points: analysis
                .windows
                .iter()
                .map(|row| (window_x(row), Some(f64::from(row.routable_by_proxy[index]))))
                .collect(),
        });
    }
    routable.bands = shading(analysis);
    routable.marks = fault_marks(analysis);
    charts.push(routable.render());

    // 3. Failed and retried requests, as counts: one failure among thousands is a visible step
    // off zero here, where a success rate would show it as a dip to 99.9 %. A window in which no
    // request finished counts zero of each (held requests count when they end).
    let mut failures = Chart::new(
        CHART_TITLES[2],
        x_label,
        &format!("requests finished per {window_s} s window"),
        x_max,
    );
    failures.width = width;
    failures.y_max = Some(scales.y_max[2]);
    failures.series.push(Series {
        name: "failed".to_string(),
        color: OUTAGE_COLOR.to_string(),
        style: Style::Step,
        dashed: false,
        points: analysis
            .windows
            .iter()
            .map(|row| (window_x(row), Some(row.requests_failed as f64)))
            .collect(),
    });
    failures.series.push(Series {
        name: "retried or held (may have succeeded)".to_string(),
        color: PALETTE[1].to_string(),
        style: Style::Step,
        dashed: true,
        points: analysis
            .windows
            .iter()
            .map(|row| (window_x(row), Some(row.requests_retried as f64)))
            .collect(),
    });
    failures.bands = shading(analysis);
    failures.marks = fault_marks(analysis);
    charts.push(failures.render());

    // 4. Latency percentiles.
    let mut latency = Chart::new(
        CHART_TITLES[3],
        x_label,
        &format!("ms per {window_s} s window (log scale)"),
        x_max,
    );
    latency.width = width;
    latency.y_log = true;
    latency.y_max = Some(scales.y_max[3]);
    latency.y_min = Some(scales.latency_min_ms);
    for (index, (name, pick)) in [("p50", 0usize), ("p99", 1usize), ("max", 2usize)]
        .into_iter()
        .enumerate()
    {
        latency.series.push(Series {
            name: name.to_string(),
            color: PALETTE[[0, 4, 3][index]].to_string(),
            style: Style::Step,
            dashed: false,
            points: analysis
                .windows
                .iter()
                .map(|row| {
                    let value = row.latency_us.map(|(p50, p99, max)| [p50, p99, max][pick]);
                    (window_x(row), value.map(|micros| micros as f64 / 1e3))
                })
                .collect(),
        });
    }
    latency.bands = shading(analysis);
    latency.marks = fault_marks(analysis);
    charts.push(latency.render());
    charts
}

/// The page's style sheet.
pub const STYLE: &str = "body{font-family:sans-serif;margin:24px;color:#222;max-width:1300px}\
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}\
h3{font-size:15px;margin:18px 0 6px}\
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;\
text-align:left;font-size:13px;vertical-align:top}th{background:#f3f3f3}\
.ok{color:#0a7d32;font-weight:bold}.bad{color:#b00020;font-weight:bold}\
.num{text-align:right;font-variant-numeric:tabular-nums}\
pre{background:#f6f6f6;padding:8px;font-size:12px;overflow-x:auto}\
figure{margin:12px 0}.grid{display:grid;gap:12px}\
.meta td:first-child{font-weight:bold}.na{color:#777}\
.headline{font-size:15px;border:1px solid #ccc;padding:8px 12px;background:#fafafa}\
.headline td{border:none;padding:2px 14px 2px 0;font-size:15px}";

fn mark(ok: bool) -> &'static str {
    if ok {
        "<span class=\"ok\">✓</span>"
    } else {
        "<span class=\"bad\">✗</span>"
    }
}

fn verdict_mark(status: Status) -> &'static str {
    match status {
        Status::Held => mark(true),
        Status::Violated => mark(false),
        Status::NotApplicable => "<span class=\"na\">n/a</span>",
    }
}

fn write_verdicts(out: &mut String, result: &RunResult) {
    out.push_str(
        "<table><tr><th></th><th>invariant</th><th>promise</th><th>first violation</th></tr>",
    );
    for verdict in &result.verdicts {
        let violation = verdict
            .first_violation
            .as_ref()
            .map(|violation| {
                format!(
                    "at {} (trace step {}): {}",
                    crate::engine::SimTime::from_micros(violation.time_ms * 1_000),
                    violation.step,
                    escape(&violation.detail)
                )
            })
            .unwrap_or_else(|| {
                if verdict.applies() {
                    String::new()
                } else {
                    "does not apply to the run's strategy (not judged)".to_string()
                }
            });
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            verdict_mark(verdict.status),
            escape(&verdict.invariant),
            escape(&verdict.promise),
            violation
        );
    }
    out.push_str("</table>");
}

/// Every metric as (name, value, unit).
pub fn metric_rows(result: &RunResult) -> Vec<(String, String, &'static str)> {
    let metrics = &result.metrics;
    let mut rows = vec![
        (
            "outage_total_ms".to_string(),
            metrics.outage_total_ms.to_string(),
            "ms",
        ),
        (
            "outage_windows".to_string(),
            metrics.outage_windows.to_string(),
            "windows",
        ),
        (
            "outage_longest_ms".to_string(),
            metrics.outage_longest_ms.to_string(),
            "ms",
        ),
        (
            "degraded_total_ms".to_string(),
            metrics.degraded_total_ms.to_string(),
            "ms",
        ),
        (
            "requests_total".to_string(),
            metrics.requests_total.to_string(),
            "requests",
        ),
        (
            "requests_ok".to_string(),
            metrics.requests_ok.to_string(),
            "requests",
        ),
        (
            "requests_failed".to_string(),
            metrics.requests_failed.to_string(),
            "requests",
        ),
        (
            "error_rate".to_string(),
            format!("{:.6}", metrics.error_rate),
            "fraction",
        ),
        (
            "requests_retried".to_string(),
            metrics.requests_retried.to_string(),
            "requests",
        ),
    ];
    for (reason, count) in &metrics.failures_by_reason {
        rows.push((format!("failed: {reason}"), count.to_string(), "requests"));
    }
    rows.extend([
        (
            "latency_p50_ms".to_string(),
            format!("{:.3}", metrics.latency_p50_ms),
            "ms",
        ),
        (
            "latency_p90_ms".to_string(),
            format!("{:.3}", metrics.latency_p90_ms),
            "ms",
        ),
        (
            "latency_p99_ms".to_string(),
            format!("{:.3}", metrics.latency_p99_ms),
            "ms",
        ),
        (
            "latency_max_ms".to_string(),
            format!("{:.3}", metrics.latency_max_ms),
            "ms",
        ),
    ]);
    for (index, duration) in metrics.deploy_duration_ms.iter().enumerate() {
        rows.push((
            format!("deploy_duration_ms[{index}]"),
            duration.map_or("-".to_string(), |duration| duration.to_string()),
            "ms",
        ));
    }
    rows.extend([
        (
            "machines_initial".to_string(),
            metrics.machines_initial.to_string(),
            "machines",
        ),
        (
            "machines_peak".to_string(),
            metrics.machines_peak.to_string(),
            "machines",
        ),
        (
            "machines_final".to_string(),
            metrics.machines_final.to_string(),
            "machines",
        ),
        (
            "machine_seconds".to_string(),
            format!("{:.3}", metrics.machine_seconds),
            "machine·s",
        ),
        (
            "leftovers".to_string(),
            metrics.leftovers.to_string(),
            "machines",
        ),
        (
            "drain_margin_min_ms".to_string(),
            metrics
                .drain_margin_min_ms
                .map_or("-".to_string(), |margin| format!("{margin:.3}")),
            "ms",
        ),
        (
            "blues_routed_after_stop".to_string(),
            metrics.blues_routed_after_stop.to_string(),
            "machines",
        ),
        (
            "routed_after_stop_max_ms".to_string(),
            metrics.routed_after_stop_max_ms.to_string(),
            "ms",
        ),
        (
            "end_time_ms".to_string(),
            result.end_time_ms.to_string(),
            "ms (virtual)",
        ),
        (
            "events".to_string(),
            result.events.to_string(),
            "engine events",
        ),
        ("steps".to_string(), result.steps.to_string(), "trace steps"),
    ]);
    rows
}

fn write_metrics(out: &mut String, result: &RunResult) {
    out.push_str("<table><tr><th>metric</th><th>value</th><th>unit</th></tr>");
    for (name, value, unit) in metric_rows(result) {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&name),
            escape(&value),
            unit
        );
    }
    out.push_str("</table>");
}

fn write_deploys(out: &mut String, result: &RunResult) {
    out.push_str(
        "<table><tr><th>deploy</th><th>strategy</th><th>image</th><th>outcome</th>\
         <th>exit status</th><th>started (ms)</th><th>ended (ms)</th><th>error</th></tr>",
    );
    for deploy in &result.deploys {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td>{}</td></tr>",
            deploy.index,
            escape(&deploy.strategy),
            escape(&deploy.image),
            escape(&deploy.outcome),
            deploy
                .exit_status
                .map_or("-".to_string(), |status| status.to_string()),
            deploy
                .started_ms
                .map_or("-".to_string(), |time| time.to_string()),
            deploy
                .ended_ms
                .map_or("-".to_string(), |time| time.to_string()),
            escape(deploy.error.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</table>");
    for deploy in &result.deploys {
        let _ = write!(
            out,
            "<details><summary>deploy {} output ({} lines)</summary><pre>",
            deploy.index,
            deploy.output.len()
        );
        for (time, line) in &deploy.output {
            let _ = writeln!(
                out,
                "[{:>10} s] {}",
                format!("{}.{:03}", time / 1_000, time % 1_000),
                escape(line)
            );
        }
        out.push_str("</pre></details>");
    }
}

fn write_expectations(out: &mut String, result: &RunResult) {
    out.push_str("<table><tr><th></th><th>expectation</th><th>detail</th></tr>");
    for check in &result.expectations {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            mark(check.ok),
            escape(&check.expectation),
            escape(&check.detail)
        );
    }
    out.push_str("</table>");
}

/// Seconds with milliseconds: `12.345 s`.
fn seconds_text(millis: u64) -> String {
    format!("{}.{:03} s", millis / 1_000, millis % 1_000)
}

/// The answer first: the result, what users saw (failed requests, error rate, outage, degraded
/// time), the deploy's time and the peak machine count. A run that passed its expectations but
/// lost requests says both.
pub fn write_headline(out: &mut String, result: &RunResult) {
    let metrics = &result.metrics;
    let held = result.expectations.iter().filter(|check| check.ok).count();
    let verdict = if result.passed {
        "<span class=\"ok\">PASS</span>"
    } else {
        "<span class=\"bad\">FAIL</span>"
    };
    let lost = if metrics.requests_failed > 0 {
        "bad"
    } else {
        "ok"
    };
    let durations: Vec<String> = metrics
        .deploy_duration_ms
        .iter()
        .map(|duration| duration.map_or("-".to_string(), seconds_text))
        .collect();
    let _ = write!(
        out,
        "<div class=\"headline\"><table><tr><td>result</td><td>{verdict} ({held} of {} \
         expectations hold)</td></tr>\
         <tr><td>failed requests</td><td class=\"{lost}\">{} of {}</td></tr>\
         <tr><td>error rate</td><td>{} %</td></tr>\
         <tr><td>outage</td><td>{} in {} window(s) (a proxy had no live routable machine)</td></tr>\
         <tr><td>degraded</td><td>{} (requests failing while no proxy was without one)</td></tr>\
         <tr><td>deploy time</td><td>{}</td></tr>\
         <tr><td>peak machines</td><td>{} (N = {})</td></tr></table>",
        result.expectations.len(),
        metrics.requests_failed,
        metrics.requests_total,
        crate::report::stats::percent_number(metrics.error_rate),
        seconds_text(metrics.outage_total_ms),
        metrics.outage_windows,
        seconds_text(metrics.degraded_total_ms),
        escape(&durations.join(" + ")),
        metrics.machines_peak,
        metrics.machines_initial
    );
    if result.passed && metrics.requests_failed > 0 {
        let _ = write!(
            out,
            "<p class=\"bad\">The run passed its expectations but lost {} request(s).</p>",
            metrics.requests_failed
        );
    }
    out.push_str("</div>");
}

/// Opens a page: doctype, head with title and style, body.
pub fn page_start(out: &mut String, title: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>",
        escape(title)
    );
}

pub fn page_end(out: &mut String) {
    out.push_str("</body></html>\n");
}

/// The whole page of one run.
pub fn run_report(scenario: &Scenario, result: &RunResult, analysis: &Analysis) -> String {
    let mut out = String::new();
    let strategy = result.strategy.as_deref().unwrap_or("mixed");
    let title = format!(
        "fleetsim: {} (seed {}, {strategy})",
        result.scenario, result.seed
    );
    page_start(&mut out, &title);
    let _ = write!(out, "<h1>{}</h1>", escape(&title));
    let _ = write!(out, "<p>{}</p>", escape(&scenario.description));
    write_headline(&mut out, result);
    let build = crate::report::files::build();
    let _ = write!(
        out,
        "<table class=\"meta\"><tr><td>scenario</td><td>{} ({})</td></tr>\
         <tr><td>seed</td><td>{}</td></tr><tr><td>strategy</td><td>{}</td></tr>\
         <tr><td>fingerprint</td><td><code>{}</code></td></tr>\
         <tr><td>build</td><td>{} {} ({})</td></tr>\
         <tr><td>replay</td><td><code>fleetsim run {} --seed {}{}</code></td></tr>\
         <tr><td>timeline window</td><td>{}</td></tr></table>",
        escape(&result.scenario),
        escape(&result.path),
        result.seed,
        escape(strategy),
        result.fingerprint,
        build.package,
        build.version,
        build.profile,
        escape(&crate::scenario::overrides::command_words(
            &result.path,
            &result.overrides
        )),
        result.seed,
        result
            .strategy
            .as_deref()
            .map(|strategy| format!(" --strategy {}", escape(strategy)))
            .unwrap_or_default(),
        humantime::format_duration(std::time::Duration::from_micros(analysis.window_us))
    );
    if let Some(limit) = &result.limit_hit {
        let _ = write!(
            out,
            "<p class=\"bad\">The run stopped early: {}</p>",
            escape(limit)
        );
    }
    for note in coverage_notes(result, analysis) {
        let _ = write!(
            out,
            "<p class=\"bad\">This report is {}.</p>",
            escape(&note)
        );
    }
    out.push_str("<h2>Charts</h2>");
    let images: Vec<String> = analysis
        .images
        .iter()
        .enumerate()
        .map(|(index, image)| {
            format!(
                "<b>{}</b> = <code>{}</code>",
                Analysis::image_label(index),
                escape(image)
            )
        })
        .collect();
    let _ = write!(
        out,
        "<p>Images: {}. Shaded: <span style=\"color:{OUTAGE_COLOR}\">outage</span> \
         (some proxy has no live routable machine), <span style=\"color:{DEGRADED_COLOR}\">\
         degraded</span> (requests that failed were in flight, no outage) and \
         <span style=\"color:#777\">fault windows</span>; dotted lines mark deploy phases (top \
         chart) and instant faults (⚡).</p>",
        images.join(", ")
    );
    for svg in run_charts(analysis, 1200.0, &ChartScales::fitting(&[analysis])) {
        let _ = write!(out, "<figure>{svg}</figure>");
    }
    out.push_str("<h2>Invariants</h2>");
    write_verdicts(&mut out, result);
    out.push_str("<h2>Metrics</h2>");
    write_metrics(&mut out, result);
    out.push_str("<h2>Deploys</h2>");
    write_deploys(&mut out, result);
    out.push_str("<h2>Expectations</h2>");
    write_expectations(&mut out, result);
    page_end(&mut out);
    out
}
