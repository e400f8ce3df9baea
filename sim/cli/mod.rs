//! Command-line parsing (clap) into a validated [`Command`]; the engine never sees clap types.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::deploy::StrategyName;
use crate::scenario::Override;
use crate::work::Shard;

mod check;
mod fuzz;
mod merge;
mod serve;
mod study;
mod tune;

pub use study::StudyConfig;
pub use tune::TuneConfig;

/// `fleetsim --version`: the crate version, the git commit and the build profile (build.rs). A
/// fingerprint is only comparable within one build.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("FLEETSIM_GIT_COMMIT"),
    ", ",
    env!("FLEETSIM_BUILD_PROFILE"),
    " build)"
);

/// fleetsim: a deterministic simulator of a fleet of Fly-style machines and a chaos-testing
/// harness for deploy algorithms.
#[derive(Debug, Parser)]
#[command(name = "fleetsim", version = VERSION, about, long_about = None)]
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
        /// Override a field of every scenario by its dotted TOML path, e.g. `deploy.0.wait_before_cordon=20s`,
        /// `proxy.propagation.p99=8s`, `fleet.0.count=20` (repeatable; validated like the file).
        #[arg(long = "set", value_name = "PATH=VALUE", value_parser = parse_override)]
        set: Vec<Override>,
        /// Override the scenario's seed (0 to 18446744073709551614).
        #[arg(long, value_name = "N", value_parser = parse_seed)]
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
        /// Write the report files (summary.json, events.csv, timeline.csv, latency.hgrm,
        /// report.html) into this directory; several runs go into one subdirectory each.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// The timeline's window (with --out), e.g. `1s`, `500ms`.
        #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_window, requires = "out")]
        window: Duration,
        /// Also write requests.csv, one row per request (with --out; it can be large).
        #[arg(long, requires = "out")]
        requests: bool,
    },
    /// Run one scenario over a range of seeds: sweep.csv (one row per seed) and the spread of
    /// each metric across seeds.
    Sweep {
        /// Scenario file (TOML).
        #[arg(value_name = "SCENARIO")]
        scenario: PathBuf,
        /// Seeds to run: A..B (B excluded) or A..=B.
        #[arg(long, value_name = "A..B", value_parser = parse_seeds)]
        seeds: std::ops::Range<u64>,
        /// Override a scenario field by its dotted TOML path, e.g. `deploy.0.wait_before_cordon=20s`,
        /// `proxy.propagation.p99=8s`, `fleet.0.count=20` (repeatable; validated like the file).
        #[arg(long = "set", value_name = "PATH=VALUE", value_parser = parse_override)]
        set: Vec<Override>,
        /// Simulations run in parallel (default: the machine's available parallelism; results
        /// are identical to --jobs 1).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
        jobs: Option<u32>,
        /// Write sweep.csv (row by row) and sweep-summary.json into this directory.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Run every deploy with this strategy.
        #[arg(long, value_name = "NAME", value_parser = parse_strategy)]
        strategy: Option<StrategyName>,
        /// Run only shard K of N of the seeds (0-based), or auto/N to read K from
        /// JOB_COMPLETION_INDEX or FLEETSIM_SHARD; `fleetsim merge` combines the shards.
        #[arg(long, value_name = "K/N", value_parser = parse_shard)]
        shard: Option<Shard>,
        /// Print the summary as JSON (schema fleetsim.sweep/1) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run one scenario under several strategies and compare them side by side.
    Compare {
        /// Scenario file (TOML).
        #[arg(value_name = "SCENARIO")]
        scenario: PathBuf,
        /// Override a scenario field by its dotted TOML path, e.g. `deploy.0.wait_before_cordon=20s`,
        /// `proxy.propagation.p99=8s`, `fleet.0.count=20` (repeatable; validated like the file).
        #[arg(long = "set", value_name = "PATH=VALUE", value_parser = parse_override)]
        set: Vec<Override>,
        /// Strategies to compare, comma-separated (see `fleetsim strategies`).
        #[arg(long, value_name = "a,b,c", value_delimiter = ',', required = true, value_parser = parse_strategy)]
        strategies: Vec<StrategyName>,
        /// Seeds to run for each strategy: A..B (B excluded) or A..=B (default: the scenario's seed).
        #[arg(long, value_name = "A..B", value_parser = parse_seeds)]
        seeds: Option<std::ops::Range<u64>>,
        /// Simulations run in parallel (default: the machine's available parallelism; results
        /// are identical to --jobs 1).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
        jobs: Option<u32>,
        /// Write compare.csv, compare-runs.csv, compare.json and compare.html into this directory.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// The charts' timeline window (with --out), e.g. `1s`.
        #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_window, requires = "out")]
        window: Duration,
        /// Run only shard K of N of the seeds (0-based), or auto/N to read K from
        /// JOB_COMPLETION_INDEX or FLEETSIM_SHARD; `fleetsim merge` combines the shards.
        #[arg(long, value_name = "K/N", value_parser = parse_shard)]
        shard: Option<Shard>,
        /// Print the result as JSON (schema fleetsim.compare/1) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// A parameter grid over seeds: every point (one value of each --vary) × strategy × seed;
    /// study.csv, study-summary.csv and study.html (each headline metric against the parameter).
    Study {
        /// Scenario file (TOML).
        #[arg(value_name = "SCENARIO")]
        scenario: PathBuf,
        /// A field and its values: `PATH=V1,V2,…` or `PATH=A..B:STEP` (B included; numbers or
        /// durations, e.g. `proxy.propagation.p99=2s..20s:2s`). Repeatable: every combination.
        #[arg(long, value_name = "PATH=VALUES", required = true, value_parser = parse_vary)]
        vary: Vec<crate::report::study::Vary>,
        /// Strategies to run at every point, comma-separated (default: the scenario's own).
        #[arg(long, value_name = "a,b,c", value_delimiter = ',', value_parser = parse_strategy)]
        strategies: Vec<StrategyName>,
        /// Seeds to run at every point and strategy: A..B (B excluded) or A..=B.
        #[arg(long, value_name = "A..B", value_parser = parse_seeds)]
        seeds: std::ops::Range<u64>,
        /// Override a scenario field by its dotted TOML path, e.g. `deploy.0.wait_before_cordon=20s`,
        /// `proxy.propagation.p99=8s`, `fleet.0.count=20` (repeatable; validated like the file).
        #[arg(long = "set", value_name = "PATH=VALUE", value_parser = parse_override)]
        set: Vec<Override>,
        /// Simulations run in parallel (default: the machine's available parallelism; results
        /// are identical to --jobs 1).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
        jobs: Option<u32>,
        /// Write study.csv (row by row), study-summary.csv, study-summary.json and study.html here.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Run only shard K of N of the runs (0-based), or auto/N; `fleetsim merge` combines them.
        #[arg(long, value_name = "K/N", value_parser = parse_shard)]
        shard: Option<Shard>,
        /// Print the summary as JSON (schema fleetsim.study/1) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// What should I set? Searches the strategy's waits and concurrency for the fastest deploy
    /// whose fraction of deploys that lost requests meets the goal at 95 % confidence.
    Tune {
        /// Scenario file (TOML).
        #[arg(value_name = "SCENARIO")]
        scenario: PathBuf,
        /// The strategy to tune (default: the one the scenario's deploys name).
        #[arg(long, value_name = "NAME", value_parser = parse_strategy)]
        strategy: Option<StrategyName>,
        /// The goal: the highest fraction of deploys that may lose a request, met when its 95 %
        /// Wilson upper bound is at most this.
        #[arg(long, value_name = "GOAL", default_value = "lost-request-deploys<=1%", value_parser = crate::report::tune::Goal::parse)]
        goal: crate::report::tune::Goal,
        /// Seeds a recommendation is confirmed on (seeds 1..=N; screening uses the first few).
        /// 0 of N meets 1 % from N = 381.
        #[arg(long, value_name = "N", default_value_t = 400, value_parser = clap::value_parser!(u64).range(1..=crate::report::tune::SEEDS_MAX))]
        seeds: u64,
        /// What to minimise among the settings that meet the goal: deploy-time or machine-seconds.
        #[arg(long, value_name = "WHAT", default_value = "deploy-time", value_parser = crate::report::tune::Objective::parse)]
        minimise: crate::report::tune::Objective,
        /// Override a scenario field by its dotted TOML path, e.g. `deploy.0.wait_before_cordon=20s`,
        /// `proxy.propagation.p99=8s`, `fleet.0.count=20` (repeatable; validated like the file).
        #[arg(long = "set", value_name = "PATH=VALUE", value_parser = parse_override)]
        set: Vec<Override>,
        /// Simulations run in parallel (default: the machine's available parallelism; results
        /// are identical to --jobs 1).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
        jobs: Option<u32>,
        /// Where tune.csv, tune.html and the recommended scenario (tuned.toml) are written.
        #[arg(long, value_name = "DIR", default_value = "reports/tune")]
        out: PathBuf,
    },
    /// Property-based fuzzing: generate cases (fleet, parameters, timed faults), check the
    /// safety invariants, shrink and save every failure as a scenario file.
    Fuzz {
        /// Cases to generate (cases 1 to N; each depends only on the fuzzer seed and its
        /// number).
        #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=crate::fuzz::campaign::CASES_MAX))]
        cases: u64,
        /// The fuzzer's seed: the same seed generates the same cases.
        #[arg(long, value_name = "S", default_value_t = 1)]
        seed: u64,
        /// The strategy under test (see `fleetsim strategies`).
        #[arg(long, value_name = "NAME", value_parser = parse_strategy, default_value = "bluegreen")]
        strategy: StrategyName,
        /// Where fuzz.csv, fuzz-summary.json and every new failure (a scenario file) are
        /// written.
        #[arg(long, value_name = "DIR", default_value = "reports/fuzz")]
        out: PathBuf,
        /// Fuzz on this scenario's fleet, proxies and traffic instead of generated fleets.
        #[arg(long, value_name = "SCENARIO")]
        fleet: Option<PathBuf>,
        /// Override a field of the --fleet scenario by its dotted TOML path, e.g. `deploy.0.wait_before_cordon=20s`,
        /// `proxy.propagation.p99=8s`, `fleet.0.count=20` (repeatable; validated like the file).
        #[arg(long = "set", requires = "fleet", value_name = "PATH=VALUE", value_parser = parse_override)]
        set: Vec<Override>,
        /// Known findings: scenario files (or directories of them, e.g. scenarios/fuzz-found/)
        /// that reproduce them. A failure with the signature of one is reported as known and
        /// does not fail the campaign.
        #[arg(long, value_name = "DIR|FILE", num_args = 1.., action = clap::ArgAction::Append)]
        known: Vec<PathBuf>,
        /// Stop starting new cases after this much wall-clock time (e.g. `60s`, `10m`); the
        /// summary says how many ran, so `--cases` with that number replays the campaign.
        #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration)]
        time_budget: Option<Duration>,
        /// Cases run in parallel (default: the machine's available parallelism; the results and
        /// files are identical to --jobs 1).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
        jobs: Option<u32>,
        /// Run only shard K of N of the cases (0-based), or auto/N to read K from
        /// JOB_COMPLETION_INDEX or FLEETSIM_SHARD; `fleetsim merge` combines the shards.
        #[arg(long, value_name = "K/N", value_parser = parse_shard)]
        shard: Option<Shard>,
        /// Also write JUnit XML here (a test case per distinct failure signature).
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Print the summary as JSON (schema fleetsim.fuzz/1) instead of text.
        #[arg(long)]
        json: bool,
        /// Measure discovery instead of fuzzing one strategy: for every bluegreen version,
        /// --seeds campaigns of --cases cases each (fuzzer seeds from --seed), and for each of
        /// flyctl's incidents, each S item and each --known finding, on how many seeds it was
        /// found and the median first case (README, "How fast the fuzzer finds known bugs").
        #[arg(long, conflicts_with_all = ["fleet", "shard", "junit", "time_budget"])]
        discovery: bool,
        /// The invariants the property judges, comma-separated (default: all ten of the fuzz
        /// property; README, "The fuzz property").
        #[arg(long, value_name = "A,B,...", value_parser = crate::fuzz::parse_property_choice)]
        property: Option<crate::fuzz::PropertyChoice>,
        /// With --discovery: fuzzer seeds per version.
        #[arg(long, value_name = "N", default_value_t = 10, requires = "discovery", value_parser = clap::value_parser!(u64).range(1..=crate::fuzz::discovery::SEEDS_MAX))]
        seeds: u64,
    },
    /// Measure the simulator: engine vs a bare heap loop, fleet scaling, fuzz and sweep rates
    /// (see reports/README.md, "Benchmarks"). Use a release build.
    Bench {
        /// Tiny sizes that finish in seconds (checks that the benchmark runs; measures nothing).
        #[arg(long)]
        quick: bool,
        /// Fleet sizes of the scaling figure, comma-separated (default 10,100,1000,10000).
        #[arg(long, value_name = "N,N,...", value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..=100_000))]
        sizes: Option<Vec<u32>>,
        /// Write the figures as CSV here.
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
        /// Measure each timed figure this many times and report the median (default 5; 1 with
        /// --quick).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
        repeats: Option<u32>,
        /// Internal: run the scaling deploy of one fleet size in this process and print one line.
        #[arg(long, value_name = "SIZE", hide = true, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        one: Option<u32>,
        /// Internal, with --one: the deploy without traffic.
        #[arg(long, hide = true, requires = "one")]
        deploy_only: bool,
    },
    /// List every strategy and version.
    Strategies {
        /// Print them as JSON (schema fleetsim.strategies/1).
        #[arg(long)]
        json: bool,
    },
    /// Run every scenario file under the given files and directories against its own
    /// [expect] section, in parallel; ends with the line `N passed, N failed`.
    Check {
        /// Scenario files, or directories searched for *.toml files (default: scenarios/).
        #[arg(value_name = "PATH", default_value = "scenarios")]
        paths: Vec<PathBuf>,
        /// Scenario files run in parallel (default: the machine's available parallelism;
        /// results are identical to --jobs 1).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
        jobs: Option<u32>,
        /// Also write JUnit XML here: one test case per scenario file × strategy.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Print the result as JSON (schema fleetsim.check/1) instead of text.
        #[arg(long)]
        json: bool,
        /// Run only shard K of N of the files (0-based), or auto/N to read K from
        /// JOB_COMPLETION_INDEX or FLEETSIM_SHARD; `fleetsim merge` combines the shards.
        #[arg(long, value_name = "K/N", value_parser = parse_shard)]
        shard: Option<Shard>,
        /// Write check.csv and check-summary.json into this directory (what merge reads).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Print the JSON Schema of scenario files, for editors (Taplo / Even Better TOML) to
    /// complete and check them (README, "Writing scenarios").
    Schema {
        /// Print the reference (docs/scenario-reference.md) instead: every section and field.
        #[arg(long)]
        markdown: bool,
    },
    /// Write a commented scenario to start from; it runs as is (`fleetsim run FILE`).
    Init {
        /// The file to write (it must not exist yet); without it, the scenario goes to stdout.
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
        /// Machines in the initial fleet, spread over the regions.
        #[arg(long, value_name = "N", default_value_t = 4)]
        machines: u32,
        /// Regions with machines, traffic and a proxy, comma-separated.
        #[arg(long, value_name = "iad,ams", value_delimiter = ',', default_value = "iad,ams", value_parser = parse_trimmed)]
        regions: Vec<String>,
        /// The deploy's strategy (see `fleetsim strategies`).
        #[arg(long, value_name = "NAME", value_parser = parse_strategy, default_value = "bluegreen")]
        strategy: StrategyName,
    },
    /// List every invariant: safety or liveness, what it promises, the strategies it applies to.
    Invariants {
        /// Print them as JSON (schema fleetsim.invariants/1).
        #[arg(long)]
        json: bool,
    },
    /// List every fault kind a scenario's [[faults]] may name, with its fields.
    Faults {
        /// Print them as JSON (schema fleetsim.faults/1).
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script (e.g. `fleetsim completions bash >
    /// ~/.local/share/bash-completion/completions/fleetsim`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff; e.g. `fleetsim man > fleetsim.1; man ./fleetsim.1`).
    Man,
    /// Serve the scenario's world in real time behind Fly's Machines API over HTTP, for a deploy
    /// tool in any language; on POST /_fleetsim/stop (or Ctrl-C, or the run's end) judge the
    /// invariants an external deployer can be held to and write the report.
    Serve {
        /// Scenario file (TOML): its fleet, proxies, traffic and faults; its first [[deploy]]
        /// says which image and strategy the deployer is judged against.
        #[arg(value_name = "SCENARIO")]
        scenario: PathBuf,
        /// Address to listen on (port 0 picks a free one; the first line printed names it).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4280")]
        listen: std::net::SocketAddr,
        /// Override a scenario field by its dotted TOML path, e.g. `fleet.0.count=3`,
        /// `proxy.propagation.p99=8s` (repeatable; validated like the file).
        #[arg(long = "set", value_name = "PATH=VALUE", value_parser = parse_override)]
        set: Vec<Override>,
        /// Override the scenario's seed (the world's randomness; not when calls arrive).
        #[arg(long, value_name = "N", value_parser = parse_seed)]
        seed: Option<u64>,
        /// Virtual seconds per wall-clock second: 10 runs boots, checks and propagation ten
        /// times faster (give `fleetsim deploy` the same --speed).
        #[arg(long, value_name = "X", default_value = "1", value_parser = serve::parse_speed)]
        speed: f64,
        /// Write the report files (as `run --out`) into this directory when the run ends.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Machines API requests per second; beyond it a 429.
        #[arg(long, value_name = "N", default_value_t = crate::serve::ServeLimits::DEFAULT.requests_per_second_max, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        requests_per_second: u32,
        /// Connections served at once (more wait in the backlog).
        #[arg(long, value_name = "N", default_value_t = crate::serve::ServeLimits::DEFAULT.connections_max as u32, value_parser = clap::value_parser!(u32).range(1..=65_536))]
        connections: u32,
    },
    /// Run fleetsim's port of a deploy strategy against a Machines API over HTTP (`fleetsim
    /// serve`, or Fly's), printing flyctl's lines. The token comes from FLY_API_TOKEN.
    Deploy {
        /// The API's root URL, e.g. http://127.0.0.1:4280.
        #[arg(long, value_name = "URL")]
        api_url: String,
        /// The app's name.
        #[arg(long, value_name = "NAME")]
        app: String,
        /// The image the new machines run.
        #[arg(long, value_name = "IMAGE")]
        image: String,
        /// The strategy (see `fleetsim strategies`).
        #[arg(long, value_name = "NAME", default_value = "bluegreen", value_parser = parse_strategy)]
        strategy: StrategyName,
        /// The server's --speed: the deployer's sleeps and deadlines shrink by the same factor.
        #[arg(long, value_name = "X", default_value = "1", value_parser = serve::parse_speed)]
        speed: f64,
        /// flyctl's --wait-timeout (default 5m).
        #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration)]
        wait_timeout: Option<Duration>,
        /// Print each phase of the deploy on stderr (`phase: create-greens`).
        #[arg(long)]
        show_phases: bool,
    },
    /// Combine the --out directories of the shards of one sweep, study, fuzz campaign or check into
    /// what one unsharded run writes (rows in order, summaries recomputed from the rows).
    Merge {
        /// The shards' --out directories (every shard 0/N to N-1/N, once each).
        #[arg(value_name = "DIR", required = true)]
        directories: Vec<PathBuf>,
        /// Where the merged files go.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Also write JUnit XML here (fuzz and check).
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Print the merged summary as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn parse_seeds(text: &str) -> Result<std::ops::Range<u64>, String> {
    crate::report::sweep::parse_seed_range(text)
}

fn parse_seed(text: &str) -> Result<u64, String> {
    let highest = crate::scenario::ranges::SEED_MAX;
    match text.parse::<u64>() {
        Ok(seed) if seed <= highest => Ok(seed),
        _ => Err(format!("`{text}` is not a seed: seeds are 0 to {highest}")),
    }
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    Shard::parse(text, |variable| std::env::var(variable).ok())
}

fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|error| error.to_string())?;
    if duration.is_zero() {
        return Err("the duration must be more than 0".to_string());
    }
    Ok(duration)
}

fn parse_vary(text: &str) -> Result<crate::report::study::Vary, String> {
    crate::report::study::Vary::parse(text)
}

fn parse_override(text: &str) -> Result<Override, String> {
    Override::parse(text)
}

/// `--jobs` left out: the machine's available parallelism (results never depend on it).
fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |parallelism| parallelism.get().min(1024))
}

/// A strategy name; spaces around it are allowed (`--strategies "a, b"`).
fn parse_strategy(text: &str) -> Result<StrategyName, String> {
    text.trim().parse()
}

/// One item of a comma-separated list, without the spaces around it.
fn parse_trimmed(text: &str) -> Result<String, String> {
    Ok(text.trim().to_string())
}

/// `fleetsim init`: the template to `file` (never over an existing one) or to stdout.
fn execute_init(template: &crate::scenario::Template, file: Option<&std::path::Path>) -> i32 {
    if let Err(message) = template.validate() {
        eprintln!("error: {message}");
        return EXIT_BAD_INPUT;
    }
    let text = match crate::sim::init_scenario(template) {
        Ok(text) => text,
        Err(message) => {
            eprintln!("error: {message}");
            return EXIT_BAD_INPUT;
        }
    };
    let Some(file) = file else {
        return print_bytes(text.as_bytes());
    };
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(file)
        .and_then(|mut handle| std::io::Write::write_all(&mut handle, text.as_bytes()));
    match created {
        Ok(()) => {
            eprintln!(
                "wrote {}; run it with `fleetsim run {}`",
                file.display(),
                file.display()
            );
            EXIT_OK
        }
        Err(error) => {
            eprintln!("error: cannot write {}: {error}", file.display());
            EXIT_BAD_INPUT
        }
    }
}

fn parse_window(text: &str) -> Result<Duration, String> {
    let window = humantime::parse_duration(text).map_err(|error| error.to_string())?;
    let longest = crate::scenario::ranges::DURATION_MAX;
    if window < Duration::from_millis(1) || window > longest {
        return Err(format!(
            "the window must be between 1ms and {}",
            humantime::format_duration(longest)
        ));
    }
    Ok(window)
}

/// A validated command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Run(RunConfig),
    Sweep(SweepConfig),
    Compare(CompareConfig),
    Study(StudyConfig),
    Tune(TuneConfig),
    Fuzz(FuzzConfig),
    Bench(BenchConfig),
    Strategies {
        json: bool,
    },
    Check(CheckConfig),
    Merge(MergeConfig),
    Completions(clap_complete::Shell),
    Man,
    Serve(serve::ServeConfig),
    Deploy(serve::DeployConfig),
    Schema {
        markdown: bool,
    },
    Init {
        template: crate::scenario::Template,
        file: Option<PathBuf>,
    },
    Invariants {
        json: bool,
    },
    Faults {
        json: bool,
    },
}

// A speed is validated finite (`serve::parse_speed`), so equality is total.
impl Eq for serve::ServeConfig {}
impl Eq for serve::DeployConfig {}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckConfig {
    pub paths: Vec<PathBuf>,
    pub jobs: usize,
    pub junit: Option<PathBuf>,
    pub json: bool,
    pub shard: Shard,
    pub out: Option<PathBuf>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeConfig {
    pub directories: Vec<PathBuf>,
    pub out: PathBuf,
    pub junit: Option<PathBuf>,
    pub json: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenchConfig {
    pub options: crate::bench::BenchOptions,
    pub csv: Option<PathBuf>,
    /// Run only the scaling deploy of this fleet size under this load (the child process of a
    /// benchmark).
    pub one: Option<(u32, crate::bench::Load)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepConfig {
    /// `--set PATH=VALUE`, in order.
    pub overrides: Vec<Override>,
    pub scenario: PathBuf,
    pub seeds: std::ops::Range<u64>,
    pub jobs: usize,
    pub out: Option<PathBuf>,
    pub strategy: Option<StrategyName>,
    pub shard: Shard,
    pub json: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompareConfig {
    /// `--set PATH=VALUE`, in order.
    pub overrides: Vec<Override>,
    pub scenario: PathBuf,
    pub strategies: Vec<StrategyName>,
    pub seeds: Option<std::ops::Range<u64>>,
    pub jobs: usize,
    pub out: Option<PathBuf>,
    pub window: Duration,
    pub shard: Shard,
    pub json: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuzzConfig {
    /// `--set PATH=VALUE`, in order.
    pub overrides: Vec<Override>,
    pub cases: u64,
    pub seed: u64,
    pub strategy: StrategyName,
    pub out: PathBuf,
    pub fleet: Option<PathBuf>,
    pub known: Vec<PathBuf>,
    pub time_budget: Option<Duration>,
    pub jobs: usize,
    pub shard: Shard,
    pub junit: Option<PathBuf>,
    pub json: bool,
    /// `--discovery`: measure discovery over this many fuzzer seeds per version.
    pub discovery: Option<u64>,
    /// `--property`: the invariants judged.
    pub property: Vec<crate::check::Invariant>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunConfig {
    /// `--set PATH=VALUE`, in order.
    pub overrides: Vec<Override>,
    pub scenarios: Vec<PathBuf>,
    pub seed: Option<u64>,
    pub strategy: Option<StrategyName>,
    pub json: bool,
    pub show_output: bool,
    /// `--out DIR` and what to write there.
    pub out: Option<(PathBuf, crate::report::files::RunFilesOptions)>,
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
            out,
            window,
            requests,
            set,
        } => Command::Run(RunConfig {
            overrides: set,
            scenarios,
            seed,
            strategy,
            json,
            show_output: !quiet,
            out: out.map(|directory| {
                (
                    directory,
                    crate::report::files::RunFilesOptions { window, requests },
                )
            }),
        }),
        CommandArguments::Sweep {
            scenario,
            seeds,
            jobs,
            out,
            strategy,
            shard,
            json,
            set,
        } => Command::Sweep(SweepConfig {
            overrides: set,
            scenario,
            seeds,
            jobs: jobs.map_or_else(default_jobs, |jobs| jobs as usize),
            out,
            strategy,
            shard: shard.unwrap_or(Shard::WHOLE),
            json,
        }),
        CommandArguments::Compare {
            scenario,
            strategies,
            seeds,
            jobs,
            out,
            window,
            shard,
            json,
            set,
        } => Command::Compare(CompareConfig {
            overrides: set,
            scenario,
            strategies,
            seeds,
            jobs: jobs.map_or_else(default_jobs, |jobs| jobs as usize),
            out,
            window,
            shard: shard.unwrap_or(Shard::WHOLE),
            json,
        }),
        CommandArguments::Study {
            scenario,
            vary,
            strategies,
            seeds,
            set,
            jobs,
            out,
            shard,
            json,
        } => Command::Study(StudyConfig {
            scenario,
            overrides: set,
            varies: vary,
            strategies,
            seeds,
            jobs: jobs.map_or_else(default_jobs, |jobs| jobs as usize),
            out,
            shard: shard.unwrap_or(Shard::WHOLE),
            json,
        }),
        CommandArguments::Tune {
            scenario,
            strategy,
            goal,
            seeds,
            minimise,
            set,
            jobs,
            out,
        } => Command::Tune(TuneConfig {
            scenario,
            overrides: set,
            strategy,
            goal,
            seeds,
            objective: minimise,
            jobs: jobs.map_or_else(default_jobs, |jobs| jobs as usize),
            out,
        }),
        CommandArguments::Fuzz {
            cases,
            seed,
            strategy,
            out,
            fleet,
            known,
            time_budget,
            jobs,
            shard,
            junit,
            json,
            set,
            discovery,
            property,
            seeds,
        } => Command::Fuzz(FuzzConfig {
            overrides: set,
            discovery: discovery.then_some(seeds),
            property: property.map_or_else(|| crate::fuzz::PROPERTY.to_vec(), |choice| choice.0),
            cases,
            seed,
            strategy,
            out,
            fleet,
            known,
            time_budget,
            jobs: jobs.map_or_else(default_jobs, |jobs| jobs as usize),
            shard: shard.unwrap_or(Shard::WHOLE),
            junit,
            json,
        }),
        CommandArguments::Bench {
            quick,
            sizes,
            csv,
            repeats,
            one,
            deploy_only,
        } => {
            let mut options = if quick {
                crate::bench::BenchOptions::quick()
            } else {
                crate::bench::BenchOptions::full()
            };
            if let Some(sizes) = sizes {
                options.sizes = sizes;
            }
            if let Some(repeats) = repeats {
                options.repeats = repeats;
            }
            let load = if deploy_only {
                crate::bench::Load::DeployOnly
            } else {
                crate::bench::Load::Traffic
            };
            let one = one.map(|size| (size, load));
            Command::Bench(BenchConfig { options, csv, one })
        }
        CommandArguments::Strategies { json } => Command::Strategies { json },
        CommandArguments::Check {
            paths,
            jobs,
            junit,
            json,
            shard,
            out,
        } => Command::Check(CheckConfig {
            paths,
            jobs: jobs.map_or_else(default_jobs, |jobs| jobs as usize),
            junit,
            json,
            shard: shard.unwrap_or(Shard::WHOLE),
            out,
        }),
        CommandArguments::Completions { shell } => Command::Completions(shell),
        CommandArguments::Serve {
            scenario,
            set,
            listen,
            seed,
            speed,
            out,
            requests_per_second,
            connections,
        } => {
            let limits = crate::serve::ServeLimits {
                requests_per_second_max: requests_per_second,
                connections_max: connections as usize,
                ..crate::serve::ServeLimits::DEFAULT
            };
            Command::Serve(serve::serve_config(
                (scenario, set),
                listen,
                seed,
                speed,
                out,
                limits,
            ))
        }
        CommandArguments::Deploy {
            api_url,
            app,
            image,
            strategy,
            speed,
            wait_timeout,
            show_phases,
        } => Command::Deploy(serve::DeployConfig {
            api_url,
            app,
            image,
            strategy,
            speed,
            wait_timeout,
            show_phases,
        }),
        CommandArguments::Man => Command::Man,
        CommandArguments::Schema { markdown } => Command::Schema { markdown },
        CommandArguments::Init {
            file,
            machines,
            regions,
            strategy,
        } => Command::Init {
            template: crate::scenario::Template {
                machines,
                regions,
                strategy,
            },
            file,
        },
        CommandArguments::Invariants { json } => Command::Invariants { json },
        CommandArguments::Faults { json } => Command::Faults { json },
        CommandArguments::Merge {
            directories,
            out,
            junit,
            json,
        } => Command::Merge(MergeConfig {
            directories,
            out,
            junit,
            json,
        }),
    }
}

/// Exit statuses (README, "Commands"): expectations hold, an expectation failed, bad input.
pub const EXIT_OK: i32 = 0;
pub const EXIT_EXPECTATION_FAILED: i32 = 1;
pub const EXIT_BAD_INPUT: i32 = 2;

/// Runs a command, printing to stdout/stderr; returns the exit status.
pub fn execute(command: Command) -> i32 {
    match command {
        Command::Run(config) => execute_run(&config),
        Command::Sweep(config) => execute_sweep(&config),
        Command::Compare(config) => execute_compare(&config),
        Command::Study(config) => study::execute(&config),
        Command::Tune(config) => tune::execute(&config),
        Command::Fuzz(config) => fuzz::execute(&config),
        Command::Bench(config) => execute_bench(&config),
        Command::Strategies { json } => {
            if json {
                print!("{}", crate::report::strategies_json());
            } else {
                print!("{}", crate::report::strategies_table());
            }
            EXIT_OK
        }
        Command::Check(config) => check::execute(&config),
        Command::Completions(shell) => {
            let mut command = <Arguments as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "fleetsim", &mut script);
            print_bytes(&script)
        }
        Command::Man => {
            let command = <Arguments as clap::CommandFactory>::command();
            let mut page = Vec::new();
            match clap_mangen::Man::new(command).render(&mut page) {
                Ok(()) => print_bytes(&page),
                Err(error) => {
                    eprintln!("error: rendering the manual page: {error}");
                    EXIT_BAD_INPUT
                }
            }
        }
        Command::Merge(config) => merge::execute(&config),
        Command::Serve(config) => serve::execute_serve(&config),
        Command::Deploy(config) => serve::execute_deploy(&config),
        Command::Init { template, file } => execute_init(&template, file.as_deref()),
        Command::Invariants { json } => {
            let listings = if json {
                crate::report::listings::invariants_json()
            } else {
                crate::report::listings::invariants_table()
            };
            print_bytes(listings.as_bytes())
        }
        Command::Faults { json } => {
            let listings = if json {
                crate::report::listings::faults_json()
            } else {
                crate::report::listings::faults_table()
            };
            print_bytes(listings.as_bytes())
        }
        Command::Schema { markdown } => {
            let schema = crate::scenario::schema::json_schema();
            let text = if markdown {
                crate::scenario::reference::markdown(&schema)
            } else {
                let json = serde_json::to_string_pretty(&schema).expect("a JSON value prints");
                format!("{json}\n")
            };
            print_bytes(text.as_bytes())
        }
    }
}

/// Writes generated text to stdout; a closed pipe (`| head`) is not an error.
fn print_bytes(bytes: &[u8]) -> i32 {
    use std::io::Write as _;
    let _ = std::io::stdout().write_all(bytes);
    EXIT_OK
}

fn execute_bench(config: &BenchConfig) -> i32 {
    if let Some((size, load)) = config.one {
        println!("{}", crate::bench::scaling_one(size, load).to_line());
        return EXIT_OK;
    }
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(error) => {
            eprintln!("error: cannot find this executable to run the scaling sizes: {error}");
            return EXIT_BAD_INPUT;
        }
    };
    let progress = |what: &str| eprintln!("bench: {what}");
    let figures = match crate::bench::run(&config.options, &exe, &progress) {
        Ok(figures) => figures,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_EXPECTATION_FAILED;
        }
    };
    print!("{}", crate::bench::table_text(&figures));
    if let Some(path) = &config.csv {
        let written = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(path, crate::bench::to_csv(&figures)));
        if let Err(error) = written {
            eprintln!("error: writing {}: {error}", path.display());
            return EXIT_BAD_INPUT;
        }
        eprintln!("bench figures written to {}", path.display());
    }
    EXIT_OK
}

/// Writes a file the user named (`--junit FILE`): its directory is created if needed; written
/// atomically.
pub(crate) fn write_output_file(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)?;
    }
    crate::report::files::write_atomic(path, bytes)
}

/// Loads a scenario with its `--set` overrides, printing its warnings; a bad one is bad input
/// (exit status 2).
fn load(path: &std::path::Path, overrides: &[Override]) -> Result<crate::scenario::Scenario, i32> {
    match crate::scenario::load_with_overrides(path, overrides) {
        Ok((scenario, warnings)) => {
            for warning in warnings {
                eprintln!("warning: {warning}");
            }
            Ok(scenario)
        }
        Err(error) => {
            eprintln!("error: {error}");
            Err(EXIT_BAD_INPUT)
        }
    }
}

/// `--out DIR` is checked before anything is simulated: created if needed, and writable.
fn check_out(directory: Option<&std::path::Path>) -> Result<(), i32> {
    let Some(directory) = directory else {
        return Ok(());
    };
    crate::report::files::prepare_directory(directory).map_err(|error| {
        eprintln!(
            "error: --out {}: cannot write there: {error}",
            directory.display()
        );
        EXIT_BAD_INPUT
    })
}

/// `--strategy` (or a strategy a scenario lists) must fit the scenario's machine limit: a
/// bluegreen deploy needs room for 2 × N machines.
fn check_strategy_fits(
    scenario: &crate::scenario::Scenario,
    strategy: Option<StrategyName>,
) -> Result<(), i32> {
    match strategy.map(|strategy| scenario.room_for(strategy)) {
        Some(Err(message)) => {
            eprintln!("error: {}: --strategy: {message}", scenario.path.display());
            Err(EXIT_BAD_INPUT)
        }
        _ => Ok(()),
    }
}

fn execute_sweep(config: &SweepConfig) -> i32 {
    let scenario = match load(&config.scenario, &config.overrides) {
        Ok(scenario) => scenario,
        Err(status) => return status,
    };
    if let Err(status) = check_strategy_fits(&scenario, config.strategy)
        .and_then(|()| check_out(config.out.as_deref()))
    {
        return status;
    }
    if let Some(note) = crate::report::sweep::strategy_note(&scenario, config.strategy) {
        eprintln!("{note}");
    }
    let swept = crate::report::sweep::sweep(
        &scenario,
        config
            .strategy
            .or_else(|| crate::report::sweep::implied_strategy(&scenario)),
        config.seeds.clone(),
        config.shard,
        config.jobs,
        config.out.as_deref(),
    );
    match swept {
        Ok((_, summary)) => {
            if config.json {
                print!("{}", crate::report::sweep::summary_json(&summary));
            } else {
                print!("{}", crate::report::sweep::summary_text(&summary));
            }
            if let Some(directory) = &config.out {
                eprintln!("sweep files written to {}", directory.display());
            }
            if summary.across.passed == summary.across.runs {
                EXIT_OK
            } else {
                EXIT_EXPECTATION_FAILED
            }
        }
        Err(error) => {
            eprintln!("error: writing the sweep: {error}");
            EXIT_BAD_INPUT
        }
    }
}

fn execute_compare(config: &CompareConfig) -> i32 {
    let scenario = match load(&config.scenario, &config.overrides) {
        Ok(scenario) => scenario,
        Err(status) => return status,
    };
    for strategy in &config.strategies {
        if let Err(status) = check_strategy_fits(&scenario, Some(*strategy)) {
            return status;
        }
    }
    if let Err(status) = check_out(config.out.as_deref()) {
        return status;
    }
    // Validation keeps a seed at most `ranges::SEED_MAX`, so the one after it exists.
    let seeds = config.seeds.clone().unwrap_or_else(|| {
        let seed = scenario.run.seed;
        seed..seed
            .checked_add(1)
            .expect("a scenario's seed is below u64::MAX")
    });
    let options = crate::report::compare::CompareOptions {
        strategies: config.strategies.clone(),
        custom: Vec::new(),
        seeds,
        shard: config.shard,
        jobs: config.jobs,
        window: config.window,
    };
    match crate::report::compare::compare(&scenario, &options, config.out.as_deref()) {
        Ok(comparison) => {
            if config.json {
                print!("{}", crate::report::compare::summary_json(&comparison));
            } else {
                print!("{}", crate::report::compare::table_text(&comparison));
            }
            if let Some(directory) = &config.out {
                eprintln!("comparison files written to {}", directory.display());
            }
            compare_exit_status(&comparison)
        }
        Err(error) => {
            eprintln!("error: writing the comparison: {error}");
            EXIT_BAD_INPUT
        }
    }
}

/// `compare`'s exit status, as `run`'s: 1 when any run broke its expectations (a run that
/// panicked broke them all), else 0.
pub fn compare_exit_status(comparison: &crate::report::compare::Comparison) -> i32 {
    if comparison.passed() {
        EXIT_OK
    } else {
        EXIT_EXPECTATION_FAILED
    }
}

/// Writes a run's report files into `directory`, saying where (and what is incomplete).
fn write_report(
    directory: &std::path::Path,
    scenario: &crate::scenario::Scenario,
    result: &crate::sim::RunResult,
    options: &crate::report::files::RunFilesOptions,
) -> Result<(), i32> {
    match crate::report::files::write_run_files(directory, scenario, result, options) {
        Ok(written) => {
            for note in written.notes {
                eprintln!("warning: the report in {} is {note}", directory.display());
            }
            eprintln!("report files written to {}", directory.display());
            Ok(())
        }
        Err(error) => {
            eprintln!("error: writing {}: {error}", directory.display());
            Err(EXIT_BAD_INPUT)
        }
    }
}

/// Loads every scenario and checks `--out` first (bad input stops everything with status 2),
/// then runs them.
fn execute_run(config: &RunConfig) -> i32 {
    let mut scenarios = Vec::new();
    for path in &config.scenarios {
        match load(path, &config.overrides) {
            Ok(scenario) => scenarios.push(scenario),
            Err(status) => return status,
        }
    }
    for scenario in &scenarios {
        if let Err(status) = check_strategy_fits(scenario, config.strategy) {
            return status;
        }
    }
    if let Err(status) = check_out(
        config
            .out
            .as_ref()
            .map(|(directory, _)| directory.as_path()),
    ) {
        return status;
    }
    let mut status = EXIT_OK;
    let runs: usize = scenarios
        .iter()
        .map(|scenario| crate::report::check::strategies_to_run(scenario, config.strategy).len())
        .sum();
    for scenario in &scenarios {
        for strategy in crate::report::check::strategies_to_run(scenario, config.strategy) {
            let mut simulation =
                crate::sim::Simulation::new(scenario).keep_trace(config.out.is_some());
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
            if let Some((directory, options)) = &config.out {
                let directory = if runs == 1 {
                    directory.clone()
                } else {
                    directory.join(crate::report::files::run_directory_name(&result))
                };
                if let Err(status) = write_report(&directory, scenario, &result, options) {
                    return status;
                }
            }
            if !result.passed {
                status = EXIT_EXPECTATION_FAILED;
            }
        }
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compare(arguments: &[&str]) -> CompareConfig {
        let command = ["fleetsim", "compare", "s.toml"].iter().chain(arguments);
        match try_parse_from(command) {
            Ok(Command::Compare(config)) => config,
            other => panic!("{other:?}"),
        }
    }

    // Guards `--strategies "a, b"`: the spaces a person types after commas are not part of names.
    #[test]
    fn strategies_may_have_spaces_after_commas() {
        let config = compare(&["--strategies", "bluegreen, rolling ,  canary"]);
        let names: Vec<&str> = config.strategies.iter().map(|name| name.as_str()).collect();
        assert_eq!(names, ["bluegreen", "rolling", "canary"]);
        assert!(try_parse_from([
            "fleetsim",
            "compare",
            "s.toml",
            "--strategies",
            "blue green"
        ])
        .is_err());
    }

    // Guards the default of --jobs: the machine's parallelism, and an explicit value wins.
    #[test]
    fn jobs_default_to_the_available_parallelism() {
        let available = std::thread::available_parallelism().map_or(1, |count| count.get());
        assert_eq!(
            compare(&["--strategies", "rolling"]).jobs,
            available.min(1024)
        );
        assert_eq!(compare(&["--strategies", "rolling", "--jobs", "3"]).jobs, 3);
    }
}
