//! `fleetsim serve` (a scenario's world behind the Machines API over HTTP) and `fleetsim deploy`
//! (the deploy port against any Machines API URL).

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "a real deployer's randomness is seeded from the time it started"
)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::{check_out, load, EXIT_BAD_INPUT, EXIT_EXPECTATION_FAILED, EXIT_OK};
use crate::deploy::{DeployParams, StrategyName};
use crate::serve::{ServeLimits, ServeOptions};

#[derive(Clone, Debug, PartialEq)]
pub struct ServeConfig {
    pub scenario: PathBuf,
    pub overrides: Vec<crate::scenario::Override>,
    pub options: ServeOptions,
    pub out: Option<(PathBuf, crate::report::files::RunFilesOptions)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeployConfig {
    pub api_url: String,
    pub app: String,
    pub image: String,
    pub strategy: StrategyName,
    pub speed: f64,
    pub wait_timeout: Option<Duration>,
    pub show_phases: bool,
}

/// The fastest and slowest `--speed` (virtual seconds per wall-clock second).
pub const SPEED_MIN: f64 = 0.01;
pub const SPEED_MAX: f64 = 1_000.0;

pub fn parse_speed(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(speed) if (SPEED_MIN..=SPEED_MAX).contains(&speed) => Ok(speed),
        _ => Err(format!(
            "`{text}` is not a speed: a number from {SPEED_MIN} to {SPEED_MAX} (virtual seconds per \
             wall-clock second)"
        )),
    }
}

/// Builds the validated serve configuration from the parsed flags.
pub fn serve_config(
    (scenario, overrides): (PathBuf, Vec<crate::scenario::Override>),
    listen: SocketAddr,
    seed: Option<u64>,
    speed: f64,
    out: Option<PathBuf>,
    limits: ServeLimits,
) -> ServeConfig {
    ServeConfig {
        scenario,
        overrides,
        options: ServeOptions {
            listen,
            seed,
            speed,
            limits,
        },
        out: out.map(|directory| {
            (
                directory,
                crate::report::files::RunFilesOptions {
                    window: Duration::from_secs(1),
                    requests: false,
                },
            )
        }),
    }
}

pub fn execute_serve(config: &ServeConfig) -> i32 {
    let mut scenario = match load(&config.scenario, &config.overrides) {
        Ok(scenario) => scenario,
        Err(status) => return status,
    };
    if scenario.deploys.is_empty() {
        eprintln!(
            "error: {}: serve needs one [[deploy]]: the external deployer's image, strategy and \
             time bound",
            config.scenario.display()
        );
        return EXIT_BAD_INPUT;
    }
    if scenario.deploys.len() > 1 {
        eprintln!(
            "warning: {}: serve judges the first [[deploy]] only (the external deployer); the \
             other {} are left out",
            config.scenario.display(),
            scenario.deploys.len() - 1
        );
        scenario.deploys.truncate(1);
    }
    let expect = &mut scenario.expect;
    if !expect.output_contains.is_empty() || !expect.output_not_contains.is_empty() {
        eprintln!(
            "warning: {}: output_contains and output_not_contains are not judged by serve: the \
             deployer's output is its own",
            config.scenario.display()
        );
        expect.output_contains.clear();
        expect.output_not_contains.clear();
    }
    if let Err(status) = check_out(
        config
            .out
            .as_ref()
            .map(|(directory, _)| directory.as_path()),
    ) {
        return status;
    }
    let app = scenario.app.name.clone();
    let speed = config.options.speed;
    let served = crate::serve::serve(&scenario, &config.options, |address| {
        // The first line of stdout: tests and scripts read the port from it.
        println!("listening on http://{address} (app {app}, speed {speed})");
        eprintln!(
            "serve: the Machines API is at http://{address}/v1/apps/{app}/machines; \
             POST /_fleetsim/stop (or Ctrl-C) ends the run"
        );
    });
    let served = match served {
        Ok(served) => served,
        Err(error) => {
            eprintln!("error: serve on {}: {error}", config.options.listen);
            return EXIT_BAD_INPUT;
        }
    };
    eprintln!("serve: the run ended: {}", served.reason.as_str());
    let result = served.result;
    print!("{}", crate::report::human_summary(&result, false));
    println!("note: a served run is not reproducible by its seed: the client's calls arrived at wall-clock times");
    if let Some((directory, options)) = &config.out {
        if let Err(status) = super::write_report(directory, &scenario, &result, options) {
            return status;
        }
    }
    if result.passed {
        EXIT_OK
    } else {
        EXIT_EXPECTATION_FAILED
    }
}

pub fn execute_deploy(config: &DeployConfig) -> i32 {
    let token = std::env::var("FLY_API_TOKEN")
        .ok()
        .filter(|token| !token.is_empty());
    let api = match crate::api::http::HttpApi::new(&config.api_url, &config.app, token) {
        Ok(api) => api,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_BAD_INPUT;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the tokio runtime: {error}");
            return EXIT_BAD_INPUT;
        }
    };
    let abort = Arc::new(AtomicBool::new(false));
    // Launch IDs and jitter: a real deployer's randomness, from the time it started.
    let random_seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64);
    let deployer = crate::api::http::HttpRuntime::new(
        config.speed,
        random_seed,
        Arc::clone(&abort),
        config.show_phases,
    );
    let mut params = DeployParams::new(&config.app, &config.image, config.strategy);
    if let Some(wait_timeout) = config.wait_timeout {
        params.wait_timeout = wait_timeout;
    }
    let local = tokio::task::LocalSet::new();
    let report = local.block_on(&runtime, async move {
        let watcher = {
            let abort = Arc::clone(&abort);
            tokio::task::spawn_local(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    abort.store(true, Ordering::Relaxed);
                }
            })
        };
        let report = crate::deploy::run_deploy(Rc::new(api), deployer, params).await;
        watcher.abort();
        report
    });
    if let Some(error) = &report.error {
        eprintln!("Error: {error}");
    }
    report.exit_status
}
