//! `fleetsim tune SCENARIO`: the settings that meet a lost-request goal with the fastest deploy;
//! tune.csv, tune.html and the recommended scenario (tuned.toml, through the scenario writer)
//! under `--out`.

use std::path::PathBuf;

use super::fuzz::Stopwatch;
use super::{
    check_out, check_strategy_fits, load, EXIT_BAD_INPUT, EXIT_EXPECTATION_FAILED, EXIT_OK,
};
use crate::deploy::StrategyName;
use crate::report::tune::{self, Goal, Objective};
use crate::scenario::{Override, Scenario};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TuneConfig {
    pub scenario: PathBuf,
    pub overrides: Vec<Override>,
    /// None: the strategy the scenario's deploys name (they must agree).
    pub strategy: Option<StrategyName>,
    pub goal: Goal,
    pub seeds: u64,
    pub objective: Objective,
    pub jobs: usize,
    pub out: PathBuf,
}

/// The strategy to tune: `--strategy`, or the one every deploy of the scenario names.
fn strategy_of(scenario: &Scenario, chosen: Option<StrategyName>) -> Result<StrategyName, String> {
    if let Some(strategy) = chosen {
        return Ok(strategy);
    }
    let first = scenario.deploys.first().map(|deploy| deploy.strategy);
    match first {
        Some(strategy)
            if scenario
                .deploys
                .iter()
                .all(|deploy| deploy.strategy == strategy) =>
        {
            Ok(strategy)
        }
        _ => Err("its deploys use different strategies: choose one with --strategy".to_string()),
    }
}

pub(super) fn execute(config: &TuneConfig) -> i32 {
    let base = match load(&config.scenario, &config.overrides) {
        Ok(scenario) => scenario,
        Err(status) => return status,
    };
    let strategy = match strategy_of(&base, config.strategy) {
        Ok(strategy) => strategy,
        Err(message) => {
            eprintln!("error: {}: {message}", config.scenario.display());
            return EXIT_BAD_INPUT;
        }
    };
    if let Err(status) = check_strategy_fits(&base, Some(strategy)) {
        return status;
    }
    let deploys = base.deploys.len();
    let with = |extra: Vec<Override>| {
        let mut overrides = config.overrides.clone();
        overrides.extend(extra);
        crate::scenario::load_with_overrides(&config.scenario, &overrides)
            .map(|(scenario, _)| scenario)
    };
    let defaults = match with(tune::Candidate::default().overrides(deploys, Some(strategy))) {
        Ok(scenario) => scenario,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_BAD_INPUT;
        }
    };
    let mut candidates = Vec::new();
    for candidate in tune::candidates(strategy, base.initial_machine_count()) {
        match with(candidate.overrides(deploys, Some(strategy))) {
            Ok(scenario) => candidates.push((candidate, scenario)),
            Err(error) => {
                eprintln!("error: a candidate setting is refused: {error}");
                return EXIT_BAD_INPUT;
            }
        }
    }
    if let Err(status) = check_out(Some(&config.out)) {
        return status;
    }
    let clock = Stopwatch::start();
    let tuning = tune::tune(
        strategy,
        defaults,
        candidates,
        config.goal,
        config.objective,
        config.seeds,
        config.jobs,
    );
    let seconds = clock.seconds();
    let name = format!("{} ({})", base.name, base.command_words());
    print!("{}", tune::summary_text(&tuning, &name));
    println!("  in {seconds:.1} s with {} job(s)", config.jobs);
    let tuned = config.out.join("tuned.toml");
    let written = write_files(config, &tuning, &name, &tuned);
    if let Err(error) = written {
        eprintln!("error: writing under {}: {error}", config.out.display());
        return EXIT_BAD_INPUT;
    }
    match tuning.recommended {
        Some(_) => {
            println!(
                "\nthe recommended scenario: {path}\n  the same runs:  fleetsim sweep {path} --seeds 1..{end}\n  fresh seeds:    fleetsim sweep {path} --seeds {end}..{fresh}",
                path = tuned.display(),
                end = config.seeds + 1,
                fresh = 2 * config.seeds + 1
            );
            eprintln!("tune files written to {}", config.out.display());
            EXIT_OK
        }
        None => EXIT_EXPECTATION_FAILED,
    }
}

fn write_files(
    config: &TuneConfig,
    tuning: &tune::Tuning,
    name: &str,
    tuned: &std::path::Path,
) -> std::io::Result<()> {
    use crate::report::files::{remove_if_present, write_atomic};
    write_atomic(&config.out.join("tune.csv"), &tune::tune_csv(tuning))?;
    write_atomic(
        &config.out.join("tune.html"),
        tune::tune_html(tuning, name).as_bytes(),
    )?;
    match tuning.recommended {
        Some(index) => {
            let trial = &tuning.trials[index];
            let mut scenario = trial.scenario.clone();
            scenario.description = format!(
                "{} (tuned by fleetsim tune for deploys that lost requests <= {} %: {})",
                scenario.description,
                crate::report::stats::percent_number(tuning.goal.lost_request_fraction_max),
                trial.candidate.label()
            );
            write_atomic(tuned, crate::scenario::to_toml(&scenario).as_bytes())
        }
        None => remove_if_present(tuned),
    }
}
