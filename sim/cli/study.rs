//! `fleetsim study SCENARIO --vary PATH=VALUES …`: every point × strategy × seed; study.csv,
//! study-summary.csv, study-summary.json and study.html under `--out`.

use std::path::PathBuf;

use super::{check_out, check_strategy_fits, EXIT_BAD_INPUT, EXIT_EXPECTATION_FAILED, EXIT_OK};
use crate::deploy::StrategyName;
use crate::report::study::{self, StudyMeta, StudyPlan, Vary};
use crate::scenario::{Override, Scenario};
use crate::work::Shard;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StudyConfig {
    pub scenario: PathBuf,
    pub overrides: Vec<Override>,
    pub varies: Vec<Vary>,
    /// Empty: the strategies the scenario's deploys name.
    pub strategies: Vec<StrategyName>,
    pub seeds: std::ops::Range<u64>,
    pub jobs: usize,
    pub out: Option<PathBuf>,
    pub shard: Shard,
    pub json: bool,
}

/// Loads the scenario of every point (bad input stops everything with status 2, naming the
/// override), printing each distinct warning once.
pub(super) fn load_points(
    path: &std::path::Path,
    overrides: &[Override],
    varies: &[Vary],
) -> Result<Vec<(Vec<String>, Scenario)>, i32> {
    let count = study::point_count(varies);
    if count > study::POINTS_MAX {
        eprintln!(
            "error: --vary: {count} points, at most {}",
            study::POINTS_MAX
        );
        return Err(EXIT_BAD_INPUT);
    }
    let mut warned = std::collections::BTreeSet::new();
    let mut loaded = Vec::with_capacity(count);
    for values in study::points(varies) {
        let mut all = overrides.to_vec();
        all.extend(study::point_overrides(varies, &values));
        match crate::scenario::load_with_overrides(path, &all) {
            Ok((scenario, warnings)) => {
                for warning in warnings {
                    if warned.insert(warning.to_string()) {
                        eprintln!("warning: {warning}");
                    }
                }
                loaded.push((values, scenario));
            }
            Err(error) => {
                eprintln!("error: {error}");
                return Err(EXIT_BAD_INPUT);
            }
        }
    }
    Ok(loaded)
}

pub(super) fn execute(config: &StudyConfig) -> i32 {
    let points = match load_points(&config.scenario, &config.overrides, &config.varies) {
        Ok(points) => points,
        Err(status) => return status,
    };
    for (_, scenario) in &points {
        for strategy in &config.strategies {
            if let Err(status) = check_strategy_fits(scenario, Some(*strategy)) {
                return status;
            }
        }
    }
    if let Err(status) = check_out(config.out.as_deref()) {
        return status;
    }
    let strategies: Vec<Option<StrategyName>> = if config.strategies.is_empty() {
        vec![None]
    } else {
        config.strategies.iter().copied().map(Some).collect()
    };
    let first = &points[0].1;
    let meta = StudyMeta {
        scenario: first.name.clone(),
        path: config.scenario.display().to_string(),
        overrides: config.overrides.iter().map(ToString::to_string).collect(),
        varies: config.varies.clone(),
        strategies: strategies
            .iter()
            .map(|strategy| study::strategy_label(*strategy))
            .collect(),
        seeds: format!("{}..{}", config.seeds.start, config.seeds.end),
        shard: (config.shard != Shard::WHOLE).then_some(config.shard),
    };
    let plan = StudyPlan {
        meta: meta.clone(),
        points: points
            .iter()
            .map(|(values, scenario)| (values.clone(), scenario))
            .collect(),
        strategies,
        seeds: config.seeds.clone(),
    };
    if plan.runs() > study::RUNS_MAX {
        eprintln!(
            "error: {} runs (points × strategies × seeds), at most {}",
            plan.runs(),
            study::RUNS_MAX
        );
        return EXIT_BAD_INPUT;
    }
    match run_and_write(config, &plan) {
        Ok(summary) => {
            if config.json {
                print!("{}", study::summary_json(&summary));
            } else {
                print!("{}", study::summary_text(&summary));
            }
            if let Some(directory) = &config.out {
                eprintln!("study files written to {}", directory.display());
            }
            let panics: usize = summary.points.iter().map(|point| point.across.panics).sum();
            if panics > 0 {
                eprintln!("error: {panics} run(s) panicked (study.csv's `panic` column)");
                return EXIT_EXPECTATION_FAILED;
            }
            EXIT_OK
        }
        Err(error) => {
            eprintln!("error: writing the study: {error}");
            EXIT_BAD_INPUT
        }
    }
}

fn run_and_write(
    config: &StudyConfig,
    plan: &StudyPlan<'_>,
) -> std::io::Result<study::StudySummary> {
    let mut csv = match &config.out {
        Some(directory) => {
            crate::report::files::prepare_directory(directory)?;
            // No summary of an earlier study beside this one's rows until this one ends.
            for file in ["study-summary.json", "study-summary.csv", "study.html"] {
                crate::report::files::remove_if_present(&directory.join(file))?;
            }
            Some(study::StudyCsv::create(
                &directory.join("study.csv"),
                &plan.meta,
            )?)
        }
        None => None,
    };
    let progress = indicatif::ProgressBar::with_draw_target(
        Some(config.shard.share(plan.runs())),
        indicatif::ProgressDrawTarget::stderr(),
    );
    let mut error = None;
    let rows = study::run(plan, config.shard, config.jobs, |row| {
        progress.inc(1);
        if let Some(csv) = &mut csv {
            if let Err(failure) = csv.write(&plan.meta, row) {
                error.get_or_insert(failure);
            }
        }
    });
    progress.finish_and_clear();
    if let Some(error) = error {
        return Err(error);
    }
    let summary = study::summarise(plan.meta.clone(), &rows);
    if let Some(directory) = &config.out {
        study::write_summary_files(directory, &summary)?;
    }
    Ok(summary)
}
