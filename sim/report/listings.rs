//! `fleetsim invariants` and `fleetsim faults`: what a scenario's `[expect]` and `[[faults]]`
//! may name, as a table or as JSON. Both come from the lists the checkers and the scenario
//! loader use (`Invariant::ALL`, `scenario::fault_kinds`), so they cannot fall behind them.

use std::fmt::Write as _;

use super::files;
use crate::check::{Bounds, Invariant, InvariantKind};
use crate::deploy::StrategyName;
use crate::scenario::{fault_kinds, FaultKindInfo};

/// The schema of `invariants --json`.
pub const INVARIANTS_SCHEMA: &str = "fleetsim.invariants/1";
/// The schema of `faults --json`.
pub const FAULTS_SCHEMA: &str = "fleetsim.faults/1";

/// One invariant as listed.
#[derive(Debug, serde::Serialize)]
pub struct InvariantEntry {
    pub name: &'static str,
    pub kind: InvariantKind,
    /// What it promises, with the default bounds of `[check]`.
    pub promise: String,
    /// The strategies it is judged for; for the others its verdict is `n/a`.
    pub strategies: Vec<&'static str>,
}

/// Every invariant, in [`Invariant::ALL`] order.
pub fn invariants() -> Vec<InvariantEntry> {
    Invariant::ALL
        .iter()
        .map(|invariant| InvariantEntry {
            name: invariant.as_str(),
            kind: invariant.kind(),
            promise: invariant.promise(&Bounds::default()),
            strategies: StrategyName::ALL
                .iter()
                .filter(|strategy| strategy.invariants().contains(*invariant))
                .map(|strategy| strategy.as_str())
                .collect(),
        })
        .collect()
}

/// `fleetsim invariants`: one block per invariant.
pub fn invariants_table() -> String {
    let mut out = String::new();
    let every = StrategyName::ALL.len();
    for entry in invariants() {
        let kind = match entry.kind {
            InvariantKind::Safety => "safety",
            InvariantKind::Liveness => "liveness",
        };
        let strategies = if entry.strategies.len() == every {
            "every strategy".to_string()
        } else {
            entry.strategies.join(", ")
        };
        let _ = writeln!(out, "{}  ({kind})", entry.name);
        let _ = writeln!(out, "    {}", entry.promise);
        let _ = writeln!(out, "    applies to: {strategies}");
    }
    out
}

/// `fleetsim invariants --json`.
pub fn invariants_json() -> String {
    #[derive(serde::Serialize)]
    struct Listing {
        schema: &'static str,
        invariants: Vec<InvariantEntry>,
    }
    files::json_document(&Listing {
        schema: INVARIANTS_SCHEMA,
        invariants: invariants(),
    })
}

/// `fleetsim faults`: one block per kind.
pub fn faults_table() -> String {
    let mut out = String::new();
    let fields = |names: &[&str]| match names {
        [] => "-".to_string(),
        names => names.join(", "),
    };
    for kind in fault_kinds() {
        let _ = writeln!(out, "{}", kind.name);
        let _ = writeln!(out, "    {}", kind.summary);
        let _ = writeln!(out, "    required: {}", fields(&kind.required));
        let _ = writeln!(out, "    optional: {}", fields(&kind.optional));
        if !kind.one_of.is_empty() {
            let _ = writeln!(out, "    needs one of: {}", kind.one_of.join(", "));
        }
    }
    out
}

/// `fleetsim faults --json`.
pub fn faults_json() -> String {
    #[derive(serde::Serialize)]
    struct Listing {
        schema: &'static str,
        faults: Vec<FaultKindInfo>,
    }
    files::json_document(&Listing {
        schema: FAULTS_SCHEMA,
        faults: fault_kinds(),
    })
}
