//! `fleetsim fuzz`: a long fuzz campaign with a progress bar on stderr (when it is a terminal), a
//! summary on stdout, and every failure saved as a scenario file.

use std::cell::Cell;
use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{FuzzConfig, EXIT_BAD_INPUT, EXIT_EXPECTATION_FAILED, EXIT_OK};
use crate::fuzz::campaign::{self, CampaignConfig, CampaignReport, Progress};

pub(super) fn execute(config: &FuzzConfig) -> i32 {
    let fleet = match config
        .fleet
        .as_deref()
        .map(crate::scenario::load)
        .transpose()
    {
        Ok(fleet) => fleet,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_BAD_INPUT;
        }
    };
    // Failures are saved under --out at the end: a directory that cannot take them is bad input,
    // found before the campaign runs.
    if let Err(error) = crate::report::files::prepare_directory(&config.out) {
        eprintln!(
            "error: --out {}: cannot write there: {error}",
            config.out.display()
        );
        return EXIT_BAD_INPUT;
    }
    let bar = progress_bar(config.cases);
    let failures = Cell::new(0u64);
    let on_progress = |event: Progress| match event {
        Progress::Case { failed } => {
            if failed {
                failures.set(failures.get() + 1);
                bar.set_message(format!("{} failed, shrinking", failures.get()));
            }
            bar.inc(1);
        }
        Progress::Shrink => bar.tick(),
    };
    let mut campaign_config = CampaignConfig::new(config.strategy, config.cases, config.seed);
    campaign_config.fleet = fleet;
    let (report, seconds) = timed(|| campaign::run(&campaign_config, &on_progress));
    bar.finish_and_clear();
    let mut status = EXIT_OK;
    let mut saved = Vec::new();
    for failure in &report.failures {
        status = EXIT_EXPECTATION_FAILED;
        match failure.write(&config.out) {
            Ok(path) => saved.push((path.display().to_string(), failure.to_string())),
            Err(error) => {
                eprintln!(
                    "error: cannot write {} under {}: {error}",
                    failure.file_name(),
                    config.out.display()
                );
                saved.push(("(not saved)".to_string(), failure.to_string()));
            }
        }
    }
    print!("{}", summary(config, &report, seconds, &saved));
    status
}

/// Runs `work` and measures its wall-clock time: only for the cases/s figure of the summary,
/// never for anything the simulation sees.
#[allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the cases/s figure of the summary measures the wall clock on purpose"
)]
fn timed<T>(work: impl FnOnce() -> T) -> (T, f64) {
    let started = std::time::Instant::now();
    let value = work();
    (value, started.elapsed().as_secs_f64())
}

fn progress_bar(cases: u64) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(cases), target);
    let style =
        ProgressStyle::with_template("{bar:40} {pos}/{len} cases, {per_sec}, eta {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

fn summary(
    config: &FuzzConfig,
    report: &CampaignReport,
    seconds: f64,
    saved: &[(String, String)],
) -> String {
    let fleet = config
        .fleet
        .as_ref()
        .map_or("generated fleets".to_string(), |path| {
            format!("the fleet of {}", path.display())
        });
    let mut text = format!(
        "fuzz {} on {fleet}: {} cases (seed {}) in {seconds:.1} s, {:.1} cases/s; {} failure(s); {} shrinking run(s)\n",
        config.strategy.as_str(),
        report.cases,
        config.seed,
        report.cases as f64 / seconds.max(1e-9),
        report.failures.len(),
        report.shrink_runs,
    );
    text.push_str("\ncoverage (summed over the passing cases)\n");
    let width = report
        .coverage
        .keys()
        .map(|name| name.len())
        .max()
        .unwrap_or(0);
    for (name, count) in &report.coverage {
        text.push_str(&format!("  {name:<width$}  {count}\n"));
    }
    if !saved.is_empty() {
        text.push_str("\nfailures (replay with `fleetsim run FILE`)\n");
        for ((path, what), case) in saved.iter().zip(&report.failure_cases) {
            text.push_str(&format!("  case {case}: {path}\n    {what}\n"));
        }
    }
    text.push_str(&format!(
        "result: {}\n",
        if saved.is_empty() { "PASS" } else { "FAIL" }
    ));
    text
}
