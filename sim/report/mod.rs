//! Reports: the human summary of a run, its JSON form, and the strategies table; the report
//! files of `run --out` ([`files`]), sweeps over seeds ([`sweep`]) and strategy comparisons
//! ([`compare`]).

use std::fmt::Write as _;

pub mod analysis;
pub mod check;
pub mod compare;
pub mod files;
pub mod hgrm;
pub mod html;
pub mod listings;
pub mod stats;
pub mod study;
pub mod svg;
pub mod sweep;
pub mod tune;

use crate::check::{Invariant, Status};
use crate::deploy::StrategyName;
use crate::engine::SimTime;
use crate::sim::RunResult;

/// `fleetsim strategies`.
pub fn strategies_table() -> String {
    let width = StrategyName::ALL
        .iter()
        .map(|name| name.as_str().len())
        .max()
        .unwrap_or(0);
    StrategyName::ALL
        .iter()
        .map(|name| format!("{:width$}  {}\n", name.as_str(), name.description()))
        .collect()
}

/// The schema of `strategies --json`.
pub const STRATEGIES_SCHEMA: &str = "fleetsim.strategies/1";

/// `fleetsim strategies --json`: every strategy with its description.
pub fn strategies_json() -> String {
    #[derive(serde::Serialize)]
    struct Strategy {
        name: &'static str,
        description: &'static str,
    }
    #[derive(serde::Serialize)]
    struct Strategies {
        schema: &'static str,
        strategies: Vec<Strategy>,
    }
    let strategies = Strategies {
        schema: STRATEGIES_SCHEMA,
        strategies: StrategyName::ALL
            .iter()
            .map(|name| Strategy {
                name: name.as_str(),
                description: name.description(),
            })
            .collect(),
    };
    files::json_document(&strategies)
}

/// The run as one JSON object (the same content as the human summary).
pub fn json_summary(result: &RunResult) -> String {
    serde_json::to_string(result).expect("a run result serializes")
}

fn time(millis: u64) -> String {
    SimTime::from_micros(millis * 1_000).display_seconds()
}

fn mark(ok: bool) -> &'static str {
    if ok {
        "✓"
    } else {
        "✗"
    }
}

/// ✓ held, ✗ violated, – not applicable.
fn verdict_mark(status: Status) -> &'static str {
    match status {
        Status::Held => "✓",
        Status::Violated => "✗",
        Status::NotApplicable => "–",
    }
}

/// Seconds with milliseconds, for people: `12.345 s`.
fn seconds(millis: u64) -> String {
    format!("{}.{:03} s", millis / 1_000, millis % 1_000)
}

/// A fraction in percent with enough digits to show a few failures among many requests.
fn error_rate(rate: f64) -> String {
    format!("{} %", crate::report::stats::percent_number(rate))
}

/// The human summary; its last line is `fingerprint: <16 hex digits>`.
pub fn human_summary(result: &RunResult, show_output: bool) -> String {
    let mut out = String::new();
    let strategy = result
        .strategy
        .as_deref()
        .map(|strategy| format!(", strategy {strategy}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "scenario {} ({}), seed {}{strategy}",
        result.scenario,
        crate::scenario::overrides::command_words(&result.path, &result.overrides),
        result.seed
    );
    write_headline(&mut out, result);
    write_deploys(&mut out, result, show_output);
    write_invariants(&mut out, result);
    write_metrics(&mut out, result);
    write_coverage(&mut out, result);
    write_expectations(&mut out, result);
    let _ = writeln!(out, "fingerprint: {}", result.fingerprint);
    out
}

/// The answer first: did the run pass, did users see failures, how long did it take.
fn write_headline(out: &mut String, result: &RunResult) {
    let metrics = &result.metrics;
    let durations: Vec<String> = metrics
        .deploy_duration_ms
        .iter()
        .map(|duration| duration.map_or("-".to_string(), seconds))
        .collect();
    let _ = writeln!(
        out,
        "  {}; {} of {} requests failed (error rate {}); outage {}, degraded {}; deploy {}; peak {} machines",
        if result.passed { "PASS" } else { "FAIL" },
        metrics.requests_failed,
        metrics.requests_total,
        error_rate(metrics.error_rate),
        seconds(metrics.outage_total_ms),
        seconds(metrics.degraded_total_ms),
        durations.join(" + "),
        metrics.machines_peak
    );
    if result.passed && metrics.requests_failed > 0 {
        let _ = writeln!(
            out,
            "  note: the run passed its expectations but lost {} request(s)",
            metrics.requests_failed
        );
    }
}

fn write_deploys(out: &mut String, result: &RunResult, show_output: bool) {
    for deploy in &result.deploys {
        let _ = writeln!(
            out,
            "\ndeploy {} ({} → {})",
            deploy.index, deploy.strategy, deploy.image
        );
        if show_output {
            for (millis, line) in &deploy.output {
                let _ = writeln!(out, "  [{:>9}] {line}", time(*millis));
            }
        }
        let duration = match (deploy.started_ms, deploy.ended_ms) {
            (Some(start), Some(end)) => format!(" after {}", time(end - start)),
            _ => String::new(),
        };
        let exit = deploy
            .exit_status
            .map(|status| format!(", flyctl exit status {status}"))
            .unwrap_or_default();
        let _ = writeln!(out, "  outcome: {}{exit}{duration}", deploy.outcome);
        if let Some(error) = &deploy.error {
            // Joined errors print one per line, as Go's errors.Join does.
            let _ = writeln!(out, "  error: {}", error.replace('\n', "\n         "));
        }
    }
    if let Some(limit) = &result.limit_hit {
        let _ = writeln!(out, "\nrun stopped early: {limit}");
    }
}

fn write_invariants(out: &mut String, result: &RunResult) {
    let _ = writeln!(out, "\ninvariants (safety, then liveness after heal)");
    let mut verdicts: Vec<&crate::check::Verdict> = result.verdicts.iter().collect();
    verdicts.sort_by_key(|verdict| {
        verdict
            .invariant
            .parse::<Invariant>()
            .map(|invariant| invariant.kind() == crate::check::InvariantKind::Liveness)
            .unwrap_or(true)
    });
    for verdict in verdicts {
        let _ = write!(
            out,
            "  {} {:<24}",
            verdict_mark(verdict.status),
            verdict.invariant
        );
        match (&verdict.first_violation, verdict.status) {
            (_, Status::NotApplicable) => {
                let _ = writeln!(out, " n/a: does not apply to the run's strategy");
            }
            (Some(violation), _) => {
                let _ = writeln!(
                    out,
                    " first violated at {} (step {}): {}",
                    time(violation.time_ms),
                    violation.step,
                    violation.detail
                );
            }
            (None, _) => {
                let _ = writeln!(out, " {}", verdict.promise);
            }
        }
    }
}

fn write_metrics(out: &mut String, result: &RunResult) {
    let metrics = &result.metrics;
    let _ = writeln!(out, "\nmetrics");
    let _ = writeln!(
        out,
        "  outage      {} in {} window(s), longest {} (some proxy had no live routable machine)",
        time(metrics.outage_total_ms),
        metrics.outage_windows,
        time(metrics.outage_longest_ms)
    );
    let _ = writeln!(
        out,
        "  degraded    {} (requests failing while no proxy was without a routable machine)",
        time(metrics.degraded_total_ms)
    );
    let reasons: Vec<String> = metrics
        .failures_by_reason
        .iter()
        .map(|(reason, count)| format!("{count} {reason}"))
        .collect();
    let reasons = if reasons.is_empty() {
        String::new()
    } else {
        format!(" ({})", reasons.join(", "))
    };
    let _ = writeln!(
        out,
        "  requests    {} total: {} ok, {} failed{reasons} (error rate {}), {} retried or held",
        metrics.requests_total,
        metrics.requests_ok,
        metrics.requests_failed,
        error_rate(metrics.error_rate),
        metrics.requests_retried
    );
    let _ = writeln!(
        out,
        "  latency     p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        metrics.latency_p50_ms,
        metrics.latency_p90_ms,
        metrics.latency_p99_ms,
        metrics.latency_max_ms
    );
    let durations: Vec<String> = metrics
        .deploy_duration_ms
        .iter()
        .map(|duration| duration.map(time).unwrap_or_else(|| "-".to_string()))
        .collect();
    let _ = writeln!(out, "  deploy      {}", durations.join(", "));
    let _ = writeln!(
        out,
        "  machines    {} initial, {} peak, {} final, {} leftover, {:.1} machine-seconds",
        metrics.machines_initial,
        metrics.machines_peak,
        metrics.machines_final,
        metrics.leftovers,
        metrics.machine_seconds
    );
    if let Some(margin) = metrics.drain_margin_min_ms {
        let _ = writeln!(
            out,
            "  drain       margin {:.1} ms (last proxy forgot each blue at least this long before it \
             stopped); {} blue(s) still routed after stopping, up to {}",
            margin,
            metrics.blues_routed_after_stop,
            time(metrics.routed_after_stop_max_ms)
        );
    }
    let _ = writeln!(
        out,
        "  simulated   {} in {} events ({} trace steps)",
        time(result.end_time_ms),
        result.events,
        result.steps
    );
}

fn write_coverage(out: &mut String, result: &RunResult) {
    if result.coverage.is_empty() {
        return;
    }
    let counters: Vec<String> = result
        .coverage
        .iter()
        .map(|(name, count)| format!("{name} {count}"))
        .collect();
    let _ = writeln!(out, "  coverage    {}", counters.join(", "));
}

fn write_expectations(out: &mut String, result: &RunResult) {
    let _ = writeln!(out, "\nexpectations");
    for check in &result.expectations {
        let detail = if check.detail.is_empty() || check.ok {
            String::new()
        } else {
            format!(" — {}", check.detail)
        };
        let _ = writeln!(out, "  {} {}{detail}", mark(check.ok), check.expectation);
    }
    if !result.expectations_not_applicable.is_empty() {
        let _ = writeln!(
            out,
            "  – not judged (the invariant does not apply to the run's strategy): {}",
            result.expectations_not_applicable.join(", ")
        );
    }
    let failed = result.expectations.iter().filter(|check| !check.ok).count();
    let not_judged = if result.expectations_not_applicable.is_empty() {
        String::new()
    } else {
        format!("; {} n/a", result.expectations_not_applicable.len())
    };
    let verdict = if result.passed {
        format!(
            "PASS (all {} expectations hold{not_judged})",
            result.expectations.len()
        )
    } else {
        format!(
            "FAIL ({failed} of {} expectations failed{not_judged})",
            result.expectations.len()
        )
    };
    let _ = writeln!(out, "result: {verdict}");
}
