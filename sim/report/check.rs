//! `fleetsim check`: every scenario file under some paths, run against its own `[expect]`, in
//! parallel; a line per run, a tally, JUnit XML, JSON, and `check.csv` for `merge`. The summary
//! is computed from the rows alone, so merged shards give what one process gives.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use crate::deploy::StrategyName;
use crate::scenario::Scenario;
use crate::sim::Simulation;
use crate::work::{run_in_order, Shard};

/// The schema of `check-summary.json` and of `check --json`.
pub const CHECK_SCHEMA: &str = "fleetsim.check/1";

/// One run of one scenario file (with one strategy, for a scenario that lists several).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CheckRow {
    /// The file's position in the whole list (0-based): shards and `merge` order by it.
    pub item: u64,
    pub file: String,
    pub scenario: String,
    /// The strategy the run was for (empty: the scenario's own deploys).
    pub strategy: String,
    pub passed: bool,
    pub fingerprint: String,
    /// The expectations that failed, each with what was seen, `; `-separated.
    pub failed: String,
    /// A panic's message (the run crashed; the row counts as failed).
    pub panic: String,
}

impl CheckRow {
    /// The JUnit test case's name: the file, and the strategy when the scenario lists several.
    pub fn name(&self) -> String {
        if self.strategy.is_empty() {
            self.file.clone()
        } else {
            format!("{} [{}]", self.file, self.strategy)
        }
    }
}

/// `--strategy` if given; otherwise every strategy the scenario has expectations for (an
/// incident scenario compares versions), or just the scenario's own.
pub fn strategies_to_run(
    scenario: &Scenario,
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

/// Runs one scenario with every strategy it lists.
pub fn check_file(item: u64, scenario: &Scenario) -> Vec<CheckRow> {
    strategies_to_run(scenario, None)
        .into_iter()
        .map(|strategy| {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut simulation = Simulation::new(scenario);
                if let Some(strategy) = strategy {
                    simulation = simulation.strategy(strategy);
                }
                simulation.run()
            }));
            let mut row = CheckRow {
                item,
                file: scenario.path.display().to_string(),
                scenario: scenario.name.clone(),
                strategy: strategy.map(|name| name.to_string()).unwrap_or_default(),
                passed: false,
                fingerprint: String::new(),
                failed: String::new(),
                panic: String::new(),
            };
            match outcome {
                Ok(result) => {
                    row.passed = result.passed;
                    row.fingerprint = result.fingerprint.to_string();
                    row.failed = result
                        .expectations
                        .iter()
                        .filter(|check| !check.ok)
                        .map(|check| {
                            if check.detail.is_empty() {
                                check.expectation.clone()
                            } else {
                                format!("{} — {}", check.expectation, check.detail)
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("; ");
                }
                Err(payload) => {
                    row.panic = payload
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| payload.downcast_ref::<&str>().map(|text| text.to_string()))
                        .unwrap_or_else(|| "panic".to_string());
                }
            }
            row
        })
        .collect()
}

/// Runs the scenarios of `shard` on `jobs` threads; `on_row` sees each row in file order.
pub fn run(
    scenarios: &[Scenario],
    shard: Shard,
    jobs: usize,
    mut on_row: impl FnMut(&CheckRow),
) -> Vec<CheckRow> {
    let mut rows = Vec::new();
    run_in_order(
        shard.share(scenarios.len() as u64),
        jobs,
        &|| true,
        &|position| {
            let item = shard.item(position);
            check_file(item, &scenarios[item as usize])
        },
        |file_rows| {
            for row in file_rows {
                on_row(&row);
                rows.push(row);
            }
        },
    );
    rows
}

/// What a check ran besides its rows.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CheckMeta {
    /// The paths given.
    pub paths: Vec<String>,
    /// Scenario files found under them (all shards).
    pub files: u64,
    pub shard: Option<Shard>,
}

impl CheckMeta {
    pub fn new(paths: &[PathBuf], files: usize, shard: Shard) -> CheckMeta {
        CheckMeta {
            paths: paths
                .iter()
                .map(|path| path.display().to_string())
                .collect(),
            files: files as u64,
            shard: (shard != Shard::WHOLE).then_some(shard),
        }
    }
}

/// What a check found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CheckSummary {
    /// [`CHECK_SCHEMA`].
    pub schema: &'static str,
    #[serde(flatten)]
    pub meta: CheckMeta,
    pub passed: u64,
    pub failed: u64,
    pub runs: Vec<CheckRow>,
}

pub fn summarise(meta: CheckMeta, rows: &[CheckRow]) -> CheckSummary {
    let passed = rows.iter().filter(|row| row.passed).count() as u64;
    CheckSummary {
        schema: CHECK_SCHEMA,
        meta,
        passed,
        failed: rows.len() as u64 - passed,
        runs: rows.to_vec(),
    }
}

/// A row for people: `ok    FILE [strategy] (fingerprint …)` or `FAIL  …: what failed`.
pub fn row_line(row: &CheckRow) -> String {
    if row.passed {
        format!("ok    {} (fingerprint {})", row.name(), row.fingerprint)
    } else if !row.panic.is_empty() {
        format!("FAIL  {}: the run panicked: {}", row.name(), row.panic)
    } else {
        format!("FAIL  {}: {}", row.name(), row.failed)
    }
}

/// The tally, alone on its line, as CI runners read it.
pub fn tally_line(summary: &CheckSummary) -> String {
    format!("{} passed, {} failed", summary.passed, summary.failed)
}

/// The whole text: a line per run, then the tally.
pub fn summary_text(summary: &CheckSummary) -> String {
    let mut text = String::new();
    for row in &summary.runs {
        let _ = writeln!(text, "{}", row_line(row));
    }
    let _ = writeln!(text, "{}", tally_line(summary));
    text
}

/// `check-summary.json`, also what `check --json` prints.
pub fn summary_json(summary: &CheckSummary) -> String {
    crate::report::files::json_document(summary)
}

/// JUnit XML: one test case per scenario file × strategy; a failure's message is the broken
/// expectations.
pub fn junit(summary: &CheckSummary) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new("fleetsim check");
    for row in &summary.runs {
        let status = if row.passed {
            TestCaseStatus::success()
        } else {
            let mut status = TestCaseStatus::non_success(if row.panic.is_empty() {
                NonSuccessKind::Failure
            } else {
                NonSuccessKind::Error
            });
            status.set_message(if row.panic.is_empty() {
                row.failed.clone()
            } else {
                format!("the run panicked: {}", row.panic)
            });
            status
        };
        let mut case = TestCase::new(row.name(), status);
        let classname = Path::new(&row.file)
            .parent()
            .map(|parent| parent.display().to_string().replace(['/', '\\'], "."))
            .unwrap_or_default();
        case.set_classname(classname);
        suite.add_test_case(case);
    }
    let mut report = Report::new("fleetsim");
    report.add_test_suite(suite);
    report.to_string().expect("JUnit XML serializes")
}

/// Reads the rows of a `check.csv`.
pub fn read_csv(path: &Path) -> io::Result<Vec<CheckRow>> {
    crate::report::files::read_csv_rows(path)
}

/// Writes `check.csv` and `check-summary.json` into `directory`.
pub fn write_files(directory: &Path, summary: &CheckSummary) -> io::Result<()> {
    std::fs::create_dir_all(directory)?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in &summary.runs {
        writer.serialize(row).map_err(io::Error::other)?;
    }
    let bytes = writer.into_inner().map_err(io::Error::other)?;
    crate::report::files::write_atomic(&directory.join("check.csv"), &bytes)?;
    crate::report::files::write_atomic(
        &directory.join("check-summary.json"),
        summary_json(summary).as_bytes(),
    )
}
