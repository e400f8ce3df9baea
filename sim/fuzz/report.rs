//! What `fleetsim fuzz` writes: `fuzz.csv` (one row per case), `fuzz-summary.json` (also
//! `fuzz --json`), the human summary, and JUnit XML. The summary is computed from the rows alone,
//! so `fleetsim merge` recomputes it from the rows of several shards with this same code.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

use super::campaign::{CampaignConfig, CaseResult};
use crate::work::Shard;

/// The schema of `fuzz-summary.json` and of `fuzz --json`.
pub const FUZZ_SCHEMA: &str = "fleetsim.fuzz/1";

/// A case's result in `fuzz.csv`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FuzzRow {
    pub case: u64,
    /// The simulation seed the case drew.
    pub seed: u64,
    /// `pass`, `known` (every signature known), `new` (the first case with its target:
    /// shrunk and saved) or `repeat` (a later case with the same target: counted, not shrunk).
    pub result: String,
    /// The bug the case is about: its first signature that is not known (its first, when all
    /// are); empty when it passed.
    pub signature: String,
    /// Every signature of the case, earliest first, `;`-separated.
    pub signatures: String,
    /// Violated safety invariants, `;`-separated.
    pub violated: String,
    pub fingerprint: String,
    /// Deploy outcomes, `+`-separated.
    pub outcomes: String,
    pub shrink_runs: u64,
    /// The known finding's file (result `known`).
    pub known: String,
    /// The saved scenario file of the shrunk failure (result `new`), in the output directory.
    pub file: String,
    /// Coverage counters of a passing case, `name=count` pairs `;`-separated.
    pub coverage: String,
}

impl FuzzRow {
    pub fn new(result: &CaseResult, known_files: &[String]) -> FuzzRow {
        let finding = result.finding.as_ref();
        FuzzRow {
            case: result.case,
            seed: result.seed,
            result: match finding {
                None => "pass",
                Some(finding) if finding.known.is_some() => "known",
                Some(finding) if finding.repeat_of.is_some() => "repeat",
                Some(_) => "new",
            }
            .to_string(),
            signature: finding.map_or(String::new(), |finding| finding.signature.to_string()),
            signatures: finding.map_or(String::new(), |finding| {
                let all: Vec<String> = finding.signatures.iter().map(ToString::to_string).collect();
                all.join(";")
            }),
            violated: finding.map_or(String::new(), |finding| {
                let names: Vec<&str> = finding
                    .failure
                    .violated
                    .iter()
                    .map(|i| i.as_str())
                    .collect();
                names.join(";")
            }),
            fingerprint: result.fingerprint.clone(),
            outcomes: result.outcomes.join("+"),
            shrink_runs: finding.map_or(0, |finding| finding.shrink_runs),
            known: finding
                .and_then(|finding| finding.known)
                .and_then(|index| known_files.get(index).cloned())
                .unwrap_or_default(),
            file: finding
                .and_then(|finding| finding.shrunk.as_ref())
                .map(|failure| failure.file_name())
                .unwrap_or_default(),
            coverage: result
                .coverage
                .iter()
                .map(|(name, count)| format!("{name}={count}"))
                .collect::<Vec<_>>()
                .join(";"),
        }
    }
}

/// A known finding as the summary lists it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KnownEntry {
    pub file: String,
    /// None: running the file no longer breaks the property (stale).
    pub signature: Option<String>,
    /// Every signature the file shows (the first is `signature`).
    #[serde(default)]
    pub signatures: Vec<String>,
}

/// What a campaign ran: everything its summary says besides what the rows give.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FuzzMeta {
    pub strategy: String,
    pub seed: u64,
    /// `--fleet`'s file (None: generated fleets).
    pub fleet: Option<String>,
    /// Cases asked for (`--cases`): the whole campaign, also in a shard's summary.
    pub cases: u64,
    pub shard: Option<Shard>,
    pub known: Vec<KnownEntry>,
}

impl FuzzMeta {
    pub fn new(config: &CampaignConfig, fleet: Option<&Path>) -> FuzzMeta {
        FuzzMeta {
            strategy: config.strategy.to_string(),
            seed: config.seed,
            fleet: fleet.map(|path| path.display().to_string()),
            cases: config.cases,
            shard: (config.shard != Shard::WHOLE).then_some(config.shard),
            known: config
                .known
                .iter()
                .map(|known| KnownEntry {
                    file: known.file.clone(),
                    signature: known.signature.as_ref().map(ToString::to_string),
                    signatures: known.signatures.iter().map(ToString::to_string).collect(),
                })
                .collect(),
        }
    }

    /// The files of the known findings, in order.
    pub fn known_files(&self) -> Vec<String> {
        self.known.iter().map(|known| known.file.clone()).collect()
    }
}

/// One distinct signature the campaign saw (as any case's first bug or a later one).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FindingSummary {
    pub signature: String,
    /// The known finding's file (None: a new finding).
    pub known: Option<String>,
    /// Cases that showed it.
    pub cases: u64,
    /// Of those, cases it was the target of (the bug the case is about).
    pub target_cases: u64,
    pub first_case: u64,
    /// The saved file of the first case it was the target of (new findings); None for a new
    /// signature seen only behind another new one (pass that one's file with --known to have
    /// this one shrunk and saved).
    pub file: Option<String>,
}

/// What a campaign found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FuzzSummary {
    /// [`FUZZ_SCHEMA`].
    pub schema: &'static str,
    #[serde(flatten)]
    pub meta: FuzzMeta,
    /// Cases that ran: less than `cases` (or this shard's share) after `--time-budget`.
    pub cases_run: u64,
    /// The highest case number that ran: `--cases` with it replays the campaign.
    pub last_case: Option<u64>,
    pub passed: u64,
    pub known_failures: u64,
    /// Cases with a bug that is not known: the first of each target (`new`) and its repeats.
    pub new_failures: u64,
    /// Of `new_failures`, the repeats (not shrunk again).
    pub repeats: u64,
    pub shrink_runs: u64,
    /// Each distinct signature, in the order first seen.
    pub findings: Vec<FindingSummary>,
    /// Coverage counters summed over the passing cases.
    pub coverage: BTreeMap<String, u64>,
    /// `pass` unless a new failure was found.
    pub result: &'static str,
}

/// The summary of `rows` (in case order).
pub fn summarise(meta: FuzzMeta, rows: &[FuzzRow]) -> FuzzSummary {
    let count = |result: &str| rows.iter().filter(|row| row.result == result).count() as u64;
    let mut findings: Vec<FindingSummary> = Vec::new();
    let mut coverage: BTreeMap<String, u64> = BTreeMap::new();
    for row in rows {
        for pair in row.coverage.split(';').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.rsplit_once('=').unwrap_or((pair, "0"));
            *coverage.entry(name.to_string()).or_default() += value.parse::<u64>().unwrap_or(0);
        }
        if row.result == "pass" {
            continue;
        }
        let mut signatures: Vec<&str> = row
            .signatures
            .split(';')
            .filter(|signature| !signature.is_empty())
            .collect();
        if signatures.is_empty() {
            signatures.push(&row.signature);
        }
        for signature in signatures {
            let target = signature == row.signature;
            let index = match findings
                .iter()
                .position(|found| found.signature == signature)
            {
                Some(index) => index,
                None => {
                    findings.push(FindingSummary {
                        signature: signature.to_string(),
                        known: meta
                            .known
                            .iter()
                            .find(|known| known.signatures.iter().any(|s| s == signature))
                            .map(|known| known.file.clone()),
                        cases: 0,
                        target_cases: 0,
                        first_case: row.case,
                        file: None,
                    });
                    findings.len() - 1
                }
            };
            let found = &mut findings[index];
            found.cases += 1;
            if target {
                found.target_cases += 1;
                if found.file.is_none() && !row.file.is_empty() {
                    found.file = Some(row.file.clone());
                }
            }
        }
    }
    let repeats = count("repeat");
    let new_failures = count("new") + repeats;
    FuzzSummary {
        schema: FUZZ_SCHEMA,
        meta,
        cases_run: rows.len() as u64,
        last_case: rows.last().map(|row| row.case),
        passed: count("pass"),
        known_failures: count("known"),
        new_failures,
        repeats,
        shrink_runs: rows.iter().map(|row| row.shrink_runs).sum(),
        findings,
        coverage,
        result: if new_failures == 0 { "pass" } else { "fail" },
    }
}

/// `fuzz.csv`, written row by row (each flushed): an interrupted campaign keeps what ran.
pub struct FuzzCsv {
    writer: csv::Writer<std::fs::File>,
}

impl FuzzCsv {
    pub fn create(path: &Path) -> io::Result<FuzzCsv> {
        let file = std::fs::File::create(path)?;
        Ok(FuzzCsv {
            writer: csv::Writer::from_writer(file),
        })
    }

    pub fn write(&mut self, row: &FuzzRow) -> io::Result<()> {
        self.writer.serialize(row)?;
        self.writer.flush()
    }
}

/// Reads the rows of a `fuzz.csv`.
pub fn read_csv(path: &Path) -> io::Result<Vec<FuzzRow>> {
    crate::report::files::read_csv_rows(path)
}

/// `fuzz-summary.json`, also what `fuzz --json` prints.
pub fn summary_json(summary: &FuzzSummary) -> String {
    crate::report::files::json_document(summary)
}

/// Writes `fuzz.csv` (whole) and `fuzz-summary.json` into `directory`: what `merge` writes.
pub fn write_files(directory: &Path, summary: &FuzzSummary, rows: &[FuzzRow]) -> io::Result<()> {
    std::fs::create_dir_all(directory)?;
    let mut csv = FuzzCsv::create(&directory.join("fuzz.csv"))?;
    for row in rows {
        csv.write(row)?;
    }
    write_summary(directory, summary)
}

pub fn write_summary(directory: &Path, summary: &FuzzSummary) -> io::Result<()> {
    crate::report::files::write_atomic(
        &directory.join("fuzz-summary.json"),
        summary_json(summary).as_bytes(),
    )
}

/// The summary for people; `directory` is where the failures were saved.
pub fn summary_text(summary: &FuzzSummary, directory: &Path) -> String {
    let meta = &summary.meta;
    let mut text = String::new();
    let fleet = meta
        .fleet
        .as_ref()
        .map_or("generated fleets".to_string(), |path| {
            format!("the fleet of {path}")
        });
    let shard = meta
        .shard
        .map(|shard| format!(", shard {shard}"))
        .unwrap_or_default();
    let _ = writeln!(
        text,
        "fuzz {} on {fleet}: {} of {} case(s) ran (seed {}{shard}); {} passed, {} known failure(s), {} new failure(s) ({} of them repeats, not shrunk again); {} shrinking run(s)",
        meta.strategy,
        summary.cases_run,
        meta.cases,
        meta.seed,
        summary.passed,
        summary.known_failures,
        summary.new_failures,
        summary.repeats,
        summary.shrink_runs,
    );
    text.push_str("\ncoverage (summed over the passing cases)\n");
    let width = summary.coverage.keys().map(String::len).max().unwrap_or(0);
    for (name, count) in &summary.coverage {
        let _ = writeln!(text, "  {name:<width$}  {count}");
    }
    if !summary.findings.is_empty() {
        text.push_str(
            "\nfindings (each distinct signature once; replay a saved file with `fleetsim run FILE`)\n",
        );
        for finding in &summary.findings {
            let what = match (&finding.known, &finding.file) {
                (Some(known), _) => format!("known: {known}"),
                (None, Some(file)) => format!("NEW: {}", directory.join(file).display()),
                (None, None) => "NEW, not saved: seen only behind another new bug (give that \
                                  one's file to --known to have this one shrunk)"
                    .to_string(),
            };
            let _ = writeln!(
                text,
                "  {}: {} case(s) ({} as the case's first unknown bug), first case {}\n    {what}",
                finding.signature, finding.cases, finding.target_cases, finding.first_case
            );
        }
    }
    let stale: Vec<&str> = meta
        .known
        .iter()
        .filter(|known| known.signature.is_none())
        .map(|known| known.file.as_str())
        .collect();
    if !stale.is_empty() {
        let _ = writeln!(
            text,
            "\nwarning: these known findings no longer break the property under {}: {}",
            meta.strategy,
            stale.join(", ")
        );
    }
    let _ = writeln!(
        text,
        "result: {}",
        if summary.result == "pass" {
            "PASS"
        } else {
            "FAIL"
        }
    );
    text
}

/// JUnit XML: a test case per distinct signature (a new one fails, a known one is skipped with
/// its file), and one for the property over the cases run.
pub fn junit(summary: &FuzzSummary) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let meta = &summary.meta;
    let name = format!("fuzz {} seed {}", meta.strategy, meta.seed);
    let classname = format!("fuzz.{}", meta.strategy);
    let mut suite = TestSuite::new(name.clone());
    let mut property = if summary.new_failures == 0 {
        TestCaseStatus::success()
    } else {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status.set_message(format!(
            "{} new failure(s) in {} case(s)",
            summary.new_failures, summary.cases_run
        ));
        status
    };
    if summary.new_failures == 0 && summary.known_failures > 0 {
        property.set_description(format!("{} known failure(s)", summary.known_failures));
    }
    let mut case = TestCase::new(
        format!("the safety property holds on {} case(s)", summary.cases_run),
        property,
    );
    case.set_classname(classname.clone());
    suite.add_test_case(case);
    for finding in &summary.findings {
        let status = match &finding.known {
            Some(file) => {
                let mut status = TestCaseStatus::skipped();
                status.set_message(format!(
                    "known finding {file}: {} case(s), first case {}",
                    finding.cases, finding.first_case
                ));
                status
            }
            None => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(format!(
                    "new finding: {} case(s), first case {}; replay: fleetsim run {}",
                    finding.cases,
                    finding.first_case,
                    finding.file.as_deref().unwrap_or("(not saved)")
                ));
                status.set_type("new-finding");
                status
            }
        };
        let mut case = TestCase::new(finding.signature.clone(), status);
        case.set_classname(classname.clone());
        suite.add_test_case(case);
    }
    let mut report = Report::new(name);
    report.add_test_suite(suite);
    report.to_string().expect("JUnit XML serializes")
}
