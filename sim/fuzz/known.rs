//! Known findings (`fleetsim fuzz --known DIR|FILE…`): failures the fuzzer has already found and
//! someone has looked at, each given as the scenario file that reproduces it. A fuzz case whose
//! failure has the same [`Signature`] as a known finding is reported as known and does not fail
//! the campaign; every other failure does.

use std::path::PathBuf;

use super::check_scenario_judging;
use crate::check::{Invariant, Signature};
use crate::deploy::StrategyName;

/// One known finding: its file and the signature that running it gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownFinding {
    /// The file as given (or as found under a given directory).
    pub file: String,
    /// None: the file no longer breaks the property under this strategy (stale: the bug was
    /// fixed, or the file was never a finding of it).
    pub signature: Option<Signature>,
    /// Every signature the file shows, earliest first (`signature` is the first): all of them
    /// are known. A file whose header explains a second bug behind the first makes that one
    /// known too.
    pub signatures: Vec<Signature>,
}

impl KnownFinding {
    /// A known finding of one signature (tests, and files whose run shows only that one).
    pub fn of(file: &str, signature: Signature) -> KnownFinding {
        KnownFinding {
            file: file.to_string(),
            signature: Some(signature.clone()),
            signatures: vec![signature],
        }
    }
}

/// Runs every scenario file under `paths` with `strategy`, judging `property`, and takes its
/// signatures. Bad input (a missing path, an invalid scenario) is an error naming the file.
pub fn load(
    paths: &[PathBuf],
    strategy: StrategyName,
    property: &[Invariant],
) -> Result<Vec<KnownFinding>, String> {
    let files = crate::scenario::collect_files(paths)?;
    files
        .into_iter()
        .map(|path| {
            let scenario = crate::scenario::load(&path).map_err(|error| error.to_string())?;
            let signatures = check_scenario_judging(scenario, strategy, property)
                .err()
                .map(|failure| failure.signatures)
                .unwrap_or_default();
            Ok(KnownFinding {
                file: path.display().to_string(),
                signature: signatures.first().cloned(),
                signatures,
            })
        })
        .collect()
}

/// The first known finding that shows this signature (first or later).
pub fn matching(known: &[KnownFinding], signature: &Signature) -> Option<usize> {
    known
        .iter()
        .position(|finding| finding.signature.as_ref() == Some(signature))
        .or_else(|| {
            known
                .iter()
                .position(|finding| finding.signatures.contains(signature))
        })
}
