//! `fleetsim fuzz`: a fuzz campaign with a progress bar on stderr (when it is a terminal), a
//! summary on stdout (or JSON), `fuzz.csv`, `fuzz-summary.json` and every new failure saved as a
//! scenario file under `--out`, and JUnit XML with `--junit`.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{write_output_file, FuzzConfig, EXIT_BAD_INPUT, EXIT_EXPECTATION_FAILED, EXIT_OK};
use crate::fuzz::campaign::{self, CampaignConfig, Progress};
use crate::fuzz::report::{self, FuzzCsv, FuzzMeta, FuzzRow};

pub(super) fn execute(config: &FuzzConfig) -> i32 {
    if let Some(seeds) = config.discovery {
        return discovery(config, seeds);
    }
    let fleet = match config
        .fleet
        .as_deref()
        .map(|path| crate::scenario::load_with_overrides(path, &config.overrides))
        .transpose()
    {
        Ok(fleet) => fleet.map(|(fleet, _)| fleet),
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_BAD_INPUT;
        }
    };
    // Failures are saved under --out as they are found: a directory that cannot take them is
    // bad input, found before the campaign runs.
    if let Err(error) = crate::report::files::prepare_directory(&config.out) {
        eprintln!(
            "error: --out {}: cannot write there: {error}",
            config.out.display()
        );
        return EXIT_BAD_INPUT;
    }
    let known = match crate::fuzz::known::load(&config.known, config.strategy, &config.property) {
        Ok(known) => known,
        Err(error) => {
            eprintln!("error: --known: {error}");
            return EXIT_BAD_INPUT;
        }
    };
    let mut campaign_config = CampaignConfig::new(config.strategy, config.cases, config.seed);
    campaign_config.fleet = fleet;
    campaign_config.jobs = config.jobs;
    campaign_config.shard = config.shard;
    campaign_config.known = known;
    campaign_config.property = config.property.clone();
    let meta = FuzzMeta::new(&campaign_config, config.fleet.as_deref());
    let known_files = meta.known_files();
    let mut csv = match FuzzCsv::create(&config.out.join("fuzz.csv")) {
        Ok(csv) => csv,
        Err(error) => {
            eprintln!(
                "error: cannot write under {}: {error}",
                config.out.display()
            );
            return EXIT_BAD_INPUT;
        }
    };
    let planned = campaign_config.planned();
    let bar = progress_bar(planned);
    let failures = AtomicU64::new(0);
    let on_progress = |event: Progress| match event {
        Progress::Shrink => bar.tick(),
    };
    let clock = Stopwatch::start();
    let keep_going = || {
        config
            .time_budget
            .is_none_or(|budget| clock.seconds() < budget.as_secs_f64())
    };
    let mut rows = Vec::new();
    let mut error = None;
    campaign::run_with(&campaign_config, &on_progress, &keep_going, |result| {
        if result.is_new_failure() {
            failures.fetch_add(1, Ordering::SeqCst);
            bar.set_message(format!(
                "{} new failure(s)",
                failures.load(Ordering::SeqCst)
            ));
        }
        bar.inc(1);
        let saved = result
            .finding
            .as_ref()
            .and_then(|finding| finding.shrunk.as_ref())
            .map(|failure| failure.write(&config.out));
        if let Some(Err(failure)) = saved {
            error.get_or_insert(failure);
        }
        let row = FuzzRow::new(result, &known_files);
        if let Err(failure) = csv.write(&row) {
            error.get_or_insert(failure);
        }
        rows.push(row);
    });
    bar.finish_and_clear();
    let seconds = clock.seconds();
    let summary = report::summarise(meta, &rows);
    let written = error.map_or(Ok(()), Err).and_then(|()| {
        report::write_summary(&config.out, &summary)?;
        match &config.junit {
            Some(path) => write_output_file(path, report::junit(&summary).as_bytes()),
            None => Ok(()),
        }
    });
    if let Err(error) = written {
        eprintln!("error: writing the campaign's files: {error}");
        return EXIT_BAD_INPUT;
    }
    if config.json {
        print!("{}", report::summary_json(&summary));
    } else {
        print!("{}", report::summary_text(&summary, &config.out));
    }
    eprintln!(
        "{} case(s) in {seconds:.1} s ({:.1} cases/s, {} job(s)); files in {}",
        summary.cases_run,
        summary.cases_run as f64 / seconds.max(1e-9),
        config.jobs,
        config.out.display()
    );
    if summary.cases_run < planned {
        eprintln!(
            "the time budget ran out: replay these cases with --cases {}",
            summary.last_case.unwrap_or(0)
        );
    }
    if summary.new_failures > 0 {
        EXIT_EXPECTATION_FAILED
    } else {
        EXIT_OK
    }
}

/// Wall-clock time since the campaign started: only for `--time-budget` and the cases/s figure,
/// never for anything a simulation sees.
#[allow(
    clippy::disallowed_types,
    reason = "the time budget and cases/s measure the wall clock on purpose"
)]
pub(super) struct Stopwatch {
    started: std::time::Instant,
}

#[allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the time budget and cases/s measure the wall clock on purpose"
)]
impl Stopwatch {
    pub(super) fn start() -> Stopwatch {
        Stopwatch {
            started: std::time::Instant::now(),
        }
    }

    pub(super) fn seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
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

/// `fleetsim fuzz --discovery`: the discovery table (module `fuzz::discovery`).
fn discovery(config: &FuzzConfig, seeds: u64) -> i32 {
    use crate::fuzz::discovery::{self, DiscoveryConfig};
    let versions = discovery::VERSIONS.to_vec();
    let mut known = Vec::new();
    for version in &versions {
        match crate::fuzz::known::load(&config.known, *version, &config.property) {
            Ok(findings) => known.push(findings),
            Err(error) => {
                eprintln!("error: --known: {error}");
                return EXIT_BAD_INPUT;
            }
        }
    }
    let discovery_config = DiscoveryConfig {
        versions,
        first_seed: config.seed,
        seeds,
        cases: config.cases,
        jobs: config.jobs,
        known,
        property: config.property.clone(),
    };
    let clock = Stopwatch::start();
    let table = discovery::run(&discovery_config);
    if config.json {
        print!("{}", crate::report::files::json_document(&table));
    } else {
        print!("{}", discovery::table_text(&table));
    }
    eprintln!(
        "{} campaign(s) of {} case(s) in {:.1} s ({} job(s))",
        discovery_config.versions.len() as u64 * seeds,
        config.cases,
        clock.seconds(),
        config.jobs
    );
    EXIT_OK
}
