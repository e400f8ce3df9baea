//! `fleetsim tune`: which settings should I use? Searches a strategy's parameters (bluegreen:
//! `wait_before_cordon`, `wait_before_stop`, `max_concurrent`; rolling and canary:
//! `max_unavailable`, their only knob here) for the fastest deploy (or the fewest machine-seconds)
//! whose fraction of deploys that lost requests meets a goal at 95 % confidence: the Wilson upper
//! bound at most the goal.
//!
//! Economical and deterministic: every candidate is screened on a few seeds and dropped when its
//! Wilson *lower* bound is above the goal (it is worse than the goal with 95 % confidence); the
//! survivors, fastest first, are confirmed on the full seed count in chunks, a confirmation stops
//! as soon as it can no longer meet the goal, and the first confirmed is the recommendation. Seeds are always 1, 2, …
//! so a later stage reuses the runs of an earlier one. The same inputs give the same
//! recommendation, and the runs it used are counted.

use std::ops::Range;
use std::time::Duration;

use crate::deploy::behaviour::Behaviour;
use crate::deploy::StrategyName;
use crate::report::stats::{wilson, Proportion, Z_95};
use crate::report::sweep::{run_seed, AcrossSeeds, SweepRow};
use crate::scenario::{Override, Scenario};
use crate::work::run_in_order;

/// Every candidate is screened on this many seeds (capped at the full count); only the survivors,
/// fastest first, run more.
pub const SCREEN_SEEDS: u64 = 10;
/// Confirmation runs this many seeds at a time, checking after each chunk whether the goal can
/// still be met.
pub const CONFIRM_CHUNK: u64 = 50;
/// At most this many candidates are confirmed on the full seed count.
pub const CONFIRMATIONS_MAX: usize = 12;
/// `--seeds` at most.
pub const SEEDS_MAX: u64 = 100_000;

/// What tune minimises among the candidates that meet the goal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Objective {
    DeployTime,
    MachineSeconds,
}

impl Objective {
    pub fn parse(text: &str) -> Result<Objective, String> {
        match text {
            "deploy-time" => Ok(Objective::DeployTime),
            "machine-seconds" => Ok(Objective::MachineSeconds),
            _ => Err(format!("`{text}`: minimise deploy-time or machine-seconds")),
        }
    }

    pub fn column(self) -> &'static str {
        match self {
            Objective::DeployTime => "deploy_duration_ms",
            Objective::MachineSeconds => "machine_seconds",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Objective::DeployTime => "deploy time",
            Objective::MachineSeconds => "machine-seconds",
        }
    }

    /// The objective's p50 in its display unit (s for deploy time).
    pub fn value(self, across: &AcrossSeeds) -> f64 {
        let p50 = across.metric(self.column()).p50;
        match self {
            Objective::DeployTime => p50 / 1_000.0,
            Objective::MachineSeconds => p50,
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            Objective::DeployTime => "s",
            Objective::MachineSeconds => "machine·s",
        }
    }
}

/// `lost-request-deploys<=1%`: the highest fraction of deploys that may lose a request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Goal {
    pub lost_request_fraction_max: f64,
}

/// A goal's fraction is finite (parsing refuses anything outside (0, 1)), so equality is total.
impl Eq for Goal {}

impl Goal {
    pub fn parse(text: &str) -> Result<Goal, String> {
        let bad = || {
            format!(
                "`{text}` is not a goal: write lost-request-deploys<=1% (a fraction or a percentage \
                 above 0 and below 100 %)"
            )
        };
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let value = compact
            .strip_prefix("lost-request-deploys<=")
            .ok_or_else(bad)?;
        let fraction = match value.strip_suffix('%') {
            Some(percent) => percent.parse::<f64>().map_err(|_| bad())? / 100.0,
            None => value.parse::<f64>().map_err(|_| bad())?,
        };
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(bad());
        }
        Ok(Goal {
            lost_request_fraction_max: fraction,
        })
    }

    /// Met at 95 % confidence: the Wilson upper bound is at most the goal.
    pub fn met(&self, lost: &Proportion) -> bool {
        lost.high <= self.lost_request_fraction_max
    }

    /// Missed at 95 % confidence: the Wilson lower bound is above the goal.
    pub fn missed(&self, lost: &Proportion) -> bool {
        lost.low > self.lost_request_fraction_max
    }

    /// Whether `lost` failures so far can still meet the goal after `runs` runs in all (the best
    /// case: no further failure).
    pub fn reachable(&self, lost: u64, runs: u64) -> bool {
        wilson(lost, runs, Z_95).1 <= self.lost_request_fraction_max
    }
}

/// One setting of the strategy's parameters; None: the scenario's own (flyctl's default unless
/// the file sets it).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Candidate {
    pub wait_before_cordon: Option<Duration>,
    pub wait_before_stop: Option<Duration>,
    pub max_concurrent: Option<usize>,
    pub max_unavailable: Option<f64>,
}

impl Candidate {
    /// `cordon 18 s, stop 12 s`; `as written` for the scenario's own settings.
    pub fn label(&self) -> String {
        let mut parts = Vec::new();
        if let Some(wait) = self.wait_before_cordon {
            parts.push(format!("cordon {}", seconds(wait)));
        }
        if let Some(wait) = self.wait_before_stop {
            parts.push(format!("stop {}", seconds(wait)));
        }
        if let Some(count) = self.max_concurrent {
            parts.push(format!("max_concurrent {count}"));
        }
        if let Some(value) = self.max_unavailable {
            parts.push(format!("max_unavailable {value}"));
        }
        if parts.is_empty() {
            "as written".to_string()
        } else {
            parts.join(", ")
        }
    }

    /// The overrides that set it on every deploy (and the strategy, when one is given).
    pub fn overrides(&self, deploys: usize, strategy: Option<StrategyName>) -> Vec<Override> {
        let mut overrides = Vec::new();
        for index in 0..deploys {
            let mut set = |field: &str, value: String| {
                overrides.push(Override {
                    path: format!("deploy.{index}.{field}"),
                    value,
                });
            };
            if let Some(strategy) = strategy {
                set("strategy", format!("\"{strategy}\""));
            }
            if let Some(wait) = self.wait_before_cordon {
                set("wait_before_cordon", format!("\"{}ms\"", wait.as_millis()));
            }
            if let Some(wait) = self.wait_before_stop {
                set("wait_before_stop", format!("\"{}ms\"", wait.as_millis()));
            }
            if let Some(count) = self.max_concurrent {
                set("max_concurrent", count.to_string());
            }
            if let Some(value) = self.max_unavailable {
                set("max_unavailable", format!("{value:?}"));
            }
        }
        overrides
    }
}

fn seconds(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis % 1_000 == 0 {
        format!("{} s", millis / 1_000)
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// The candidates for `strategy` on a fleet of `machines`: a grid, fastest settings first.
pub fn candidates(strategy: StrategyName, machines: u32) -> Vec<Candidate> {
    let Some(version) = strategy.bluegreen_version() else {
        // Rolling and canary have no waits to tune here: how many machines go at once.
        return [1.0, 2.0, 4.0, 0.1, 0.25, 0.33, 0.5, 0.75]
            .into_iter()
            .filter(|value| *value < 1.0 || *value <= f64::from(machines))
            .map(|value| Candidate {
                max_unavailable: Some(value),
                ..Candidate::default()
            })
            .collect();
    };
    let default_concurrency = Behaviour::of(version).max_concurrent_default;
    let mut concurrency = vec![None];
    if machines as usize > default_concurrency {
        concurrency.push(Some(machines as usize));
    }
    let cordon_seconds = [0, 2, 5, 10, 15, 20, 30, 45, 60];
    let stop_seconds = [0, 5, 10, 15, 20, 30, 45];
    let mut grid = Vec::new();
    for max_concurrent in &concurrency {
        for cordon in cordon_seconds {
            for stop in stop_seconds {
                grid.push(Candidate {
                    wait_before_cordon: Some(Duration::from_secs(cordon)),
                    wait_before_stop: Some(Duration::from_secs(stop)),
                    max_concurrent: *max_concurrent,
                    max_unavailable: None,
                });
            }
        }
    }
    grid
}

/// A candidate with the scenario it makes and the runs it had so far (seeds 1, 2, … in order).
pub struct Trial {
    pub candidate: Candidate,
    pub scenario: Scenario,
    pub rows: Vec<SweepRow>,
    /// Dropped at this stage: the goal is missed (or cannot be met any more).
    pub dropped: Option<String>,
}

impl Trial {
    pub fn across(&self) -> AcrossSeeds {
        AcrossSeeds::of(&self.rows)
    }

    pub fn lost(&self) -> Proportion {
        self.across().lost_request_runs
    }
}

/// What tune found.
pub struct Tuning {
    pub strategy: StrategyName,
    pub goal: Goal,
    pub objective: Objective,
    pub seeds: u64,
    /// The scenario's own settings on every seed.
    pub defaults: Trial,
    /// Every candidate, in grid order, with the runs it had.
    pub trials: Vec<Trial>,
    /// The index in `trials` of the recommendation (None: no candidate met the goal).
    pub recommended: Option<usize>,
    /// Simulations run in all.
    pub runs: u64,
}

/// Runs more seeds of each of `trials` (up to `seeds` each) on `jobs` threads, in one ordered pool
/// (trial-major, then seed): identical for any `jobs`.
fn extend(trials: &mut [&mut Trial], seeds: u64, jobs: usize) -> u64 {
    let plan: Vec<(usize, Range<u64>)> = trials
        .iter()
        .enumerate()
        .map(|(index, trial)| (index, trial.rows.len() as u64 + 1..seeds + 1))
        .filter(|(_, range)| !range.is_empty())
        .collect();
    let mut items = Vec::new();
    for (index, range) in &plan {
        for seed in range.clone() {
            items.push((*index, seed));
        }
    }
    let count = items.len() as u64;
    let scenarios: Vec<&Scenario> = trials.iter().map(|trial| &trial.scenario).collect();
    let mut results = Vec::with_capacity(items.len());
    run_in_order(
        count,
        jobs,
        &|| true,
        &|position| {
            let (index, seed) = items[position as usize];
            (index, run_seed(scenarios[index], None, seed))
        },
        |result| results.push(result),
    );
    for (index, row) in results {
        trials[index].rows.push(row);
    }
    count
}

/// Searches `candidates` (each with its scenario) for the best that meets `goal`.
pub fn tune(
    strategy: StrategyName,
    defaults: Scenario,
    candidates: Vec<(Candidate, Scenario)>,
    goal: Goal,
    objective: Objective,
    seeds: u64,
    jobs: usize,
) -> Tuning {
    assert!((1..=SEEDS_MAX).contains(&seeds), "seeds {seeds}");
    let mut runs = 0;
    let mut defaults = Trial {
        candidate: Candidate::default(),
        scenario: defaults,
        rows: Vec::new(),
        dropped: None,
    };
    runs += extend(&mut [&mut defaults], seeds, jobs);
    let mut trials: Vec<Trial> = candidates
        .into_iter()
        .map(|(candidate, scenario)| Trial {
            candidate,
            scenario,
            rows: Vec::new(),
            dropped: None,
        })
        .collect();
    // Screening: a few seeds each, dropping what misses the goal for sure.
    let mut all: Vec<&mut Trial> = trials.iter_mut().collect();
    runs += extend(&mut all, SCREEN_SEEDS.min(seeds), jobs);
    for trial in all {
        let lost = trial.lost();
        if goal.missed(&lost) {
            trial.dropped = Some(format!("screened out after {} seeds: {lost}", lost.runs));
        }
    }
    // Confirmation: the survivors by their screened objective (ties: grid order), in chunks.
    let mut order: Vec<usize> = (0..trials.len())
        .filter(|index| trials[*index].dropped.is_none())
        .collect();
    order.sort_by(|left, right| {
        let value = |index: &usize| objective.value(&trials[*index].across());
        value(left).total_cmp(&value(right)).then(left.cmp(right))
    });
    let mut recommended = None;
    for index in order.into_iter().take(CONFIRMATIONS_MAX) {
        let trial = &mut trials[index];
        loop {
            let had = trial.rows.len() as u64;
            if had >= seeds {
                break;
            }
            let lost = trial.lost().count;
            if !goal.reachable(lost, seeds) {
                trial.dropped = Some(format!(
                    "confirmation stopped after {had} seeds: {lost} deploy(s) lost requests already"
                ));
                break;
            }
            runs += extend(&mut [&mut *trial], (had + CONFIRM_CHUNK).min(seeds), jobs);
        }
        if trial.dropped.is_none() && goal.met(&trial.lost()) {
            recommended = Some(index);
            break;
        }
        if trial.dropped.is_none() {
            trial.dropped = Some(format!("confirmed, but misses the goal: {}", trial.lost()));
        }
    }
    Tuning {
        strategy,
        goal,
        objective,
        seeds,
        defaults,
        trials,
        recommended,
        runs,
    }
}

/// The trade-off curve, fastest first: each candidate whose fraction of deploys that lost
/// requests (as measured, on the seeds it ran), or whose 95 % upper bound, is lower than that of
/// every faster candidate. (The bound keeps a confirmed candidate on the curve beside a faster
/// one with the same 0 of only 10 seeds.)
pub fn front(tuning: &Tuning) -> Vec<usize> {
    let mut order: Vec<usize> = (0..tuning.trials.len()).collect();
    let figures: Vec<(f64, f64, f64)> = tuning
        .trials
        .iter()
        .map(|trial| {
            let across = trial.across();
            (
                tuning.objective.value(&across),
                across.lost_request_runs.fraction,
                across.lost_request_runs.high,
            )
        })
        .collect();
    order.sort_by(|left, right| {
        figures[*left]
            .0
            .total_cmp(&figures[*right].0)
            .then(figures[*left].1.total_cmp(&figures[*right].1))
            .then(left.cmp(right))
    });
    let (mut best_fraction, mut best_high) = (f64::INFINITY, f64::INFINITY);
    let mut front = Vec::new();
    for index in order {
        let (_, fraction, high) = figures[index];
        if fraction < best_fraction || high < best_high {
            best_fraction = best_fraction.min(fraction);
            best_high = best_high.min(high);
            front.push(index);
        }
    }
    front
}

/// The recommendation beside the defaults, the trade-off curve and the runs used, for people.
pub fn summary_text(tuning: &Tuning, scenario: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let objective = tuning.objective;
    let _ = writeln!(
        out,
        "tune {scenario}, strategy {}\n  goal: deploys that lost requests <= {} % at 95 % \
         confidence (Wilson upper bound), minimising {} (p50 across seeds)",
        tuning.strategy,
        crate::report::stats::percent_number(tuning.goal.lost_request_fraction_max),
        objective.label()
    );
    let defaults = tuning.defaults.across();
    let default_value = objective.value(&defaults);
    let _ = writeln!(
        out,
        "  defaults (the scenario's own settings): {} deploys lost requests; {} {:.1} {}",
        defaults.lost_request_runs,
        objective.label(),
        default_value,
        objective.unit()
    );
    match tuning.recommended {
        Some(index) => {
            let trial = &tuning.trials[index];
            let across = trial.across();
            let value = objective.value(&across);
            let _ = writeln!(
                out,
                "  recommended {}: {} deploys lost requests; {} {:.1} {} ({:+.1} {})",
                trial.candidate.label(),
                across.lost_request_runs,
                objective.label(),
                value,
                objective.unit(),
                value - default_value,
                objective.unit()
            );
        }
        None => {
            let _ = writeln!(
                out,
                "  no candidate met the goal on {} seeds (the closest are in the curve below; more \
                 --seeds narrow the intervals, a looser --goal may be met)",
                tuning.seeds
            );
        }
    }
    let _ = writeln!(
        out,
        "\n  trade-off: {} against deploys that lost requests (each on the seeds it ran)",
        objective.label()
    );
    let _ = writeln!(
        out,
        "  {:>10}  {:<36} {:<30} settings",
        objective.unit(),
        "deploys that lost requests",
        "(bar: the fraction)"
    );
    for index in front(tuning) {
        let trial = &tuning.trials[index];
        let across = trial.across();
        let lost = across.lost_request_runs;
        let bar = "#".repeat((lost.fraction * 30.0).round() as usize);
        let mark = if Some(index) == tuning.recommended {
            "  <- recommended"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {:>10.1}  {:<36} {:<30} {}{mark}",
            objective.value(&across),
            lost.to_string(),
            bar,
            trial.candidate.label()
        );
    }
    let screened = tuning
        .trials
        .iter()
        .filter(|trial| {
            trial
                .dropped
                .as_deref()
                .is_some_and(|why| why.starts_with("screened"))
        })
        .count();
    let _ = writeln!(
        out,
        "\n  {} runs: {} for the defaults, {} for {} candidates ({} screened out early)",
        tuning.runs,
        tuning.defaults.rows.len(),
        tuning.runs - tuning.defaults.rows.len() as u64,
        tuning.trials.len(),
        screened
    );
    out
}

/// The header of `tune.csv`.
pub const TUNE_HEADER: [&str; 13] = [
    "candidate",
    "settings",
    "wait_before_cordon_ms",
    "wait_before_stop_ms",
    "max_concurrent",
    "max_unavailable",
    "seeds_run",
    "lost_request_deploys",
    "lost_request_low",
    "lost_request_high",
    "objective_p50",
    "on_front",
    "verdict",
];

/// `tune.csv`: the defaults (candidate `defaults`), then every candidate with the seeds it ran.
pub fn tune_csv(tuning: &Tuning) -> Vec<u8> {
    let front = front(tuning);
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    let mut written = writer.write_record(TUNE_HEADER);
    let optional = |value: Option<String>| value.unwrap_or_default();
    let mut write = |name: String, trial: &Trial, on_front: bool, verdict: String| {
        let candidate = &trial.candidate;
        let across = trial.across();
        let lost = across.lost_request_runs;
        let fields = vec![
            name,
            candidate.label(),
            optional(
                candidate
                    .wait_before_cordon
                    .map(|wait| wait.as_millis().to_string()),
            ),
            optional(
                candidate
                    .wait_before_stop
                    .map(|wait| wait.as_millis().to_string()),
            ),
            optional(candidate.max_concurrent.map(|count| count.to_string())),
            optional(candidate.max_unavailable.map(|value| value.to_string())),
            lost.runs.to_string(),
            lost.count.to_string(),
            format!("{:.6}", lost.low),
            format!("{:.6}", lost.high),
            format!("{:.3}", tuning.objective.value(&across)),
            on_front.to_string(),
            verdict,
        ];
        written =
            std::mem::replace(&mut written, Ok(())).and_then(|()| writer.write_record(&fields));
    };
    write(
        "defaults".to_string(),
        &tuning.defaults,
        false,
        "defaults".to_string(),
    );
    for (index, trial) in tuning.trials.iter().enumerate() {
        let verdict = if Some(index) == tuning.recommended {
            "recommended".to_string()
        } else {
            trial
                .dropped
                .clone()
                .unwrap_or_else(|| "not confirmed (a faster candidate met the goal)".to_string())
        };
        write(index.to_string(), trial, front.contains(&index), verdict);
    }
    written.expect("CSV into memory");
    writer.into_inner().expect("CSV into memory")
}

/// `tune.html`: the recommendation, the trade-off chart (the front as a line, each candidate's
/// 95 % interval as a bar; dotted marks at the defaults and the recommendation) and the table.
pub fn tune_html(tuning: &Tuning, scenario: &str) -> String {
    use crate::report::html::{page_end, page_start};
    use crate::report::svg::{escape, Chart, Mark, Series, Style, Whisker, PALETTE};
    use std::fmt::Write as _;
    let mut out = String::new();
    let title = format!("fleetsim tune: {scenario}");
    page_start(&mut out, &title);
    let _ = write!(
        out,
        "<h1>{}</h1><pre style=\"white-space:pre-wrap\">{}</pre>",
        escape(&title),
        escape(&summary_text(tuning, scenario))
    );
    let objective = tuning.objective;
    let front = front(tuning);
    let value = |trial: &Trial| objective.value(&trial.across());
    let x_max = tuning
        .trials
        .iter()
        .chain(std::iter::once(&tuning.defaults))
        .map(value)
        .fold(0.0, f64::max);
    let x_min = tuning
        .trials
        .iter()
        .chain(std::iter::once(&tuning.defaults))
        .map(value)
        .fold(f64::INFINITY, f64::min);
    let mut chart = Chart::new(
        &format!("{} against deploys that lost requests", objective.label()),
        &format!("{} (p50, {})", objective.label(), objective.unit()),
        "% of deploys that lost requests",
        x_max,
    );
    let pad = ((x_max - x_min) * 0.04).max(0.5);
    chart.x_min = (x_min - pad).max(0.0);
    chart.x_max = x_max + pad;
    chart.height = 420.0;
    for (index, trial) in tuning.trials.iter().enumerate() {
        if front.contains(&index) {
            continue;
        }
        let lost = trial.lost();
        chart.whiskers.push(Whisker {
            x: value(trial),
            low: lost.low * 100.0,
            high: lost.high * 100.0,
            color: "#bbbbbb".to_string(),
        });
    }
    let mut line = Vec::new();
    for index in &front {
        let trial = &tuning.trials[*index];
        let lost = trial.lost();
        line.push((value(trial), Some(lost.fraction * 100.0)));
        chart.whiskers.push(Whisker {
            x: value(trial),
            low: lost.low * 100.0,
            high: lost.high * 100.0,
            color: PALETTE[0].to_string(),
        });
    }
    chart.series.push(Series {
        name: "trade-off curve (no candidate beats these on both)".to_string(),
        color: PALETTE[0].to_string(),
        style: Style::Line,
        dashed: false,
        points: line,
    });
    chart.series.push(Series {
        name: "goal".to_string(),
        color: PALETTE[3].to_string(),
        style: Style::Line,
        dashed: true,
        points: vec![
            (
                chart.x_min,
                Some(tuning.goal.lost_request_fraction_max * 100.0),
            ),
            (
                chart.x_max,
                Some(tuning.goal.lost_request_fraction_max * 100.0),
            ),
        ],
    });
    chart.series.push(Series {
        name: "other candidates (grey bars: 95 % intervals)".to_string(),
        color: "#bbbbbb".to_string(),
        style: Style::Line,
        dashed: false,
        points: Vec::new(),
    });
    let defaults_lost = tuning.defaults.lost();
    chart.whiskers.push(Whisker {
        x: value(&tuning.defaults),
        low: defaults_lost.low * 100.0,
        high: defaults_lost.high * 100.0,
        color: PALETTE[1].to_string(),
    });
    chart.marks.push(Mark {
        x: value(&tuning.defaults),
        label: format!("defaults: {defaults_lost}"),
        color: PALETTE[1].to_string(),
    });
    if let Some(index) = tuning.recommended {
        let trial = &tuning.trials[index];
        chart.marks.push(Mark {
            x: value(trial),
            label: format!("recommended {}: {}", trial.candidate.label(), trial.lost()),
            color: PALETTE[2].to_string(),
        });
    }
    out.push_str(&chart.render());
    // The goal is usually a few percent: the same chart again, its y axis cut at a few times the
    // goal (values above it are drawn at the top edge).
    let zoom = (tuning.goal.lost_request_fraction_max * 500.0).min(100.0);
    chart.title = format!("{} (y axis 0 to {zoom} %)", chart.title);
    chart.y_max = Some(zoom);
    out.push_str(&chart.render());
    out.push_str(
        "<h2>Every candidate</h2><table><tr><th>settings</th><th>seeds run</th>\
         <th>deploys that lost requests</th>",
    );
    let _ = write!(
        out,
        "<th>{} p50 ({})</th><th>verdict</th></tr>",
        objective.label(),
        objective.unit()
    );
    let csv = tune_csv(tuning);
    let mut reader = csv::Reader::from_reader(csv.as_slice());
    for (record, trial) in reader
        .records()
        .flatten()
        .zip(std::iter::once(&tuning.defaults).chain(&tuning.trials))
    {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{:.1}</td><td>{}</td></tr>",
            escape(if record.get(0) == Some("defaults") { "defaults (as written)" } else { record.get(1).unwrap_or_default() }),
            trial.rows.len(),
            escape(&trial.lost().to_string()),
            value(trial),
            escape(record.get(12).unwrap_or_default())
        );
    }
    out.push_str("</table>");
    page_end(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards goal parsing: percentages, fractions, and what is refused.
    #[test]
    fn goals_parse() {
        let goal = Goal::parse("lost-request-deploys<=1%").expect("valid");
        assert!((goal.lost_request_fraction_max - 0.01).abs() < 1e-12);
        let goal = Goal::parse("lost-request-deploys <= 0.05").expect("valid");
        assert!((goal.lost_request_fraction_max - 0.05).abs() < 1e-12);
        assert!(Goal::parse("error-rate<=1%").is_err());
        assert!(Goal::parse("lost-request-deploys<=0%").is_err());
        assert!(Goal::parse("lost-request-deploys<=100%").is_err());
    }

    // Guards the confidence rule: 0 of 400 meets 1 % (upper 0.95 %), 0 of 300 does not; 2 of 10
    // misses it for sure (lower bound above 1 %).
    #[test]
    fn the_goal_is_judged_by_wilson_bounds() {
        let goal = Goal::parse("lost-request-deploys<=1%").expect("valid");
        assert!(goal.met(&Proportion::new(0, 400)));
        assert!(!goal.met(&Proportion::new(0, 300)));
        assert!(goal.missed(&Proportion::new(2, 10)));
        assert!(!goal.missed(&Proportion::new(0, 10)));
        assert!(goal.reachable(0, 400));
        assert!(!goal.reachable(3, 400));
    }
}
