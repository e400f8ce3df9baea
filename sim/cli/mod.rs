//! Command-line parsing (clap) into a validated [`Command`]; the engine never sees clap types.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::deploy::StrategyName;

mod fuzz;

/// fleetsim: a deterministic simulator of a fleet of Fly-style machines and a chaos-testing
/// harness for deploy algorithms.
#[derive(Debug, Parser)]
#[command(name = "fleetsim", version, about, long_about = None)]
struct Arguments {
    #[command(subcommand)]
    command: CommandArguments,
}

#[derive(Debug, Subcommand)]
enum CommandArguments {
    /// Run scenario files and check their expectations.
    Run {
        /// Scenario files (TOML).
        #[arg(required = true, value_name = "SCENARIO")]
        scenarios: Vec<PathBuf>,
        /// Override the scenario's seed.
        #[arg(long, value_name = "N")]
        seed: Option<u64>,
        /// Run every deploy with this strategy (see `fleetsim strategies`).
        #[arg(long, value_name = "NAME", value_parser = parse_strategy)]
        strategy: Option<StrategyName>,
        /// Print the result as one JSON object per scenario instead of the human summary.
        #[arg(long)]
        json: bool,
        /// Leave out the deploy's progress output from the human summary.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Property-based fuzzing: generate cases (fleet, parameters, timed faults), check the
    /// safety invariants, shrink and save every failure as a scenario file.
    Fuzz {
        /// Cases to generate.
        #[arg(long, value_name = "N", default_value_t = 1000)]
        cases: u64,
        /// The fuzzer's seed: the same seed generates the same cases.
        #[arg(long, value_name = "S", default_value_t = 1)]
        seed: u64,
        /// The strategy under test (see `fleetsim strategies`).
        #[arg(long, value_name = "NAME", value_parser = parse_strategy, default_value = "bluegreen")]
        strategy: StrategyName,
        /// Where failing cases are saved as scenario files.
        #[arg(long, value_name = "DIR", default_value = "reports/fuzz")]
        out: PathBuf,
        /// Fuzz on this scenario's fleet, proxies and traffic instead of generated fleets.
        #[arg(long, value_name = "SCENARIO")]
        fleet: Option<PathBuf>,
    },
    /// List every strategy and version.
    Strategies,
}

fn parse_strategy(text: &str) -> Result<StrategyName, String> {
    text.parse()
}

/// A validated command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Run(RunConfig),
    Fuzz(FuzzConfig),
    Strategies,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuzzConfig {
    pub cases: u64,
    pub seed: u64,
    pub strategy: StrategyName,
    pub out: PathBuf,
    pub fleet: Option<PathBuf>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunConfig {
    pub scenarios: Vec<PathBuf>,
    pub seed: Option<u64>,
    pub strategy: Option<StrategyName>,
    pub json: bool,
    pub show_output: bool,
}

/// Parses the process arguments; on bad input clap prints the error and exits with status 2.
pub fn parse_arguments() -> Command {
    into_command(Arguments::parse())
}

/// Parses explicit arguments (for tests).
pub fn try_parse_from<I, T>(arguments: I) -> Result<Command, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    Arguments::try_parse_from(arguments).map(into_command)
}

fn into_command(arguments: Arguments) -> Command {
    match arguments.command {
        CommandArguments::Run {
            scenarios,
            seed,
            strategy,
            json,
            quiet,
        } => Command::Run(RunConfig {
            scenarios,
            seed,
            strategy,
            json,
            show_output: !quiet,
        }),
        CommandArguments::Fuzz {
            cases,
            seed,
            strategy,
            out,
            fleet,
        } => Command::Fuzz(FuzzConfig {
            cases,
            seed,
            strategy,
            out,
            fleet,
        }),
        CommandArguments::Strategies => Command::Strategies,
    }
}

/// Exit statuses (DESIGN.md): expectations hold, an expectation failed, bad input.
pub const EXIT_OK: i32 = 0;
pub const EXIT_EXPECTATION_FAILED: i32 = 1;
pub const EXIT_BAD_INPUT: i32 = 2;

/// Runs a command, printing to stdout/stderr; returns the exit status.
pub fn execute(command: Command) -> i32 {
    match command {
        Command::Run(config) => execute_run(&config),
        Command::Fuzz(config) => fuzz::execute(&config),
        Command::Strategies => {
            print!("{}", crate::report::strategies_table());
            EXIT_OK
        }
    }
}

/// Loads every scenario first (bad input stops everything with status 2), then runs them.
fn execute_run(config: &RunConfig) -> i32 {
    let mut scenarios = Vec::new();
    for path in &config.scenarios {
        match crate::scenario::load(path) {
            Ok(scenario) => scenarios.push(scenario),
            Err(error) => {
                eprintln!("error: {error}");
                return EXIT_BAD_INPUT;
            }
        }
    }
    let mut status = EXIT_OK;
    for scenario in &scenarios {
        for strategy in strategies_to_run(scenario, config.strategy) {
            let mut simulation = crate::sim::Simulation::new(scenario);
            if let Some(seed) = config.seed {
                simulation = simulation.seed(seed);
            }
            if let Some(strategy) = strategy {
                simulation = simulation.strategy(strategy);
            }
            let result = simulation.run();
            if config.json {
                println!("{}", crate::report::json_summary(&result));
            } else {
                print!(
                    "{}",
                    crate::report::human_summary(&result, config.show_output)
                );
            }
            if !result.passed {
                status = EXIT_EXPECTATION_FAILED;
            }
        }
    }
    status
}

/// `--strategy` if given; otherwise every strategy the scenario has expectations for (an
/// incident scenario compares versions), or just the scenario's own.
fn strategies_to_run(
    scenario: &crate::scenario::Scenario,
    requested: Option<StrategyName>,
) -> Vec<Option<StrategyName>> {
    if requested.is_some() {
        return vec![requested];
    }
    if scenario.expect.by_strategy.is_empty() {
        return vec![None];
    }
    scenario
        .expect
        .by_strategy
        .keys()
        .copied()
        .map(Some)
        .collect()
}
