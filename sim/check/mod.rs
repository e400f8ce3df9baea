//! Invariant checkers and metrics. Checked incrementally as the run goes: each verdict names the
//! first violating event and its virtual time.

use std::fmt;
use std::str::FromStr;

/// The invariants, by their stable names (DESIGN.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Invariant {
    NoMachineExplosion,
    NeverAllDeleted,
    NoDowntime,
    RollbackSparesBlue,
    SingleImageAtRest,
    DeployTerminates,
}

impl Invariant {
    pub const ALL: [Invariant; 6] = [
        Invariant::NoMachineExplosion,
        Invariant::NeverAllDeleted,
        Invariant::NoDowntime,
        Invariant::RollbackSparesBlue,
        Invariant::SingleImageAtRest,
        Invariant::DeployTerminates,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Invariant::NoMachineExplosion => "no-machine-explosion",
            Invariant::NeverAllDeleted => "never-all-deleted",
            Invariant::NoDowntime => "no-downtime",
            Invariant::RollbackSparesBlue => "rollback-spares-blue",
            Invariant::SingleImageAtRest => "single-image-at-rest",
            Invariant::DeployTerminates => "deploy-terminates",
        }
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for Invariant {
    type Err = String;

    fn from_str(text: &str) -> Result<Invariant, String> {
        Invariant::ALL
            .into_iter()
            .find(|invariant| invariant.as_str() == text)
            .ok_or_else(|| {
                let known: Vec<&str> = Invariant::ALL.iter().map(|name| name.as_str()).collect();
                format!("unknown invariant `{text}` (known: {})", known.join(", "))
            })
    }
}
