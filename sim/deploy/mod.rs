//! The deploy algorithms. They see only [`crate::api::MachinesApi`] and [`crate::api::Runtime`].

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

pub mod behaviour;
pub mod bluegreen;
pub mod errors;
pub mod launch_input;
pub mod lease;
pub mod outer;
pub mod pool;
pub mod retry;
pub mod wait;

pub use outer::{run_deploy, DeployOutcome, DeployReport};

/// A deploy strategy and, for bluegreen, the historic version of flyctl's code it reproduces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StrategyName {
    Bluegreen(BluegreenVersion),
}

/// Historic states of flyctl's `strategy_bluegreen.go` (reference `flyctl-bluegreen-versions.md` §0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BluegreenVersion {
    /// `ad0172fac`, 2026-08-21: flyctl HEAD (`bluegreen`).
    V2026_08,
}

impl StrategyName {
    pub const ALL: [StrategyName; 1] = [StrategyName::Bluegreen(BluegreenVersion::V2026_08)];

    pub fn as_str(self) -> &'static str {
        match self {
            StrategyName::Bluegreen(BluegreenVersion::V2026_08) => "bluegreen",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            StrategyName::Bluegreen(BluegreenVersion::V2026_08) => {
                "flyctl's current bluegreen (ad0172fac, 2026-08): image check, cordoned greens, \
                 health gate, 10 s + 10 s drain, narrow rollback"
            }
        }
    }
}

impl fmt::Display for StrategyName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for StrategyName {
    type Err = String;

    fn from_str(text: &str) -> Result<StrategyName, String> {
        let aliases = [(
            "bluegreen@2026-08",
            StrategyName::Bluegreen(BluegreenVersion::V2026_08),
        )];
        StrategyName::ALL
            .iter()
            .map(|name| (name.as_str(), *name))
            .chain(aliases)
            .find(|(candidate, _)| *candidate == text)
            .map(|(_, name)| name)
            .ok_or_else(|| {
                let known: Vec<&str> = StrategyName::ALL.iter().map(|name| name.as_str()).collect();
                format!("unknown strategy `{text}` (known: {})", known.join(", "))
            })
    }
}

/// The parameters of one `fly deploy`, with flyctl's defaults (reference §2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployParams {
    pub app_name: String,
    /// The image every green (or updated machine) runs.
    pub image: String,
    pub strategy: StrategyName,
    /// `--wait-timeout`: the budget of each wait phase.
    pub wait_timeout: Duration,
    /// `--lease-timeout`: TTL of every blue lease.
    pub lease_ttl: Duration,
    /// `--max-concurrent`, forced to at least 1.
    pub max_concurrent: usize,
    /// `--signal`: None sends no signal and the platform applies the machine's kill signal.
    pub signal: Option<String>,
    /// `fly_release_version` written into the new machines' metadata.
    pub release_version: u32,
}

impl DeployParams {
    pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(5 * 60);
    pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(13);
    pub const DEFAULT_MAX_CONCURRENT: usize = 8;

    pub fn new(app_name: &str, image: &str, strategy: StrategyName) -> DeployParams {
        DeployParams {
            app_name: app_name.to_string(),
            image: image.to_string(),
            strategy,
            wait_timeout: DeployParams::DEFAULT_WAIT_TIMEOUT,
            lease_ttl: DeployParams::DEFAULT_LEASE_TTL,
            max_concurrent: DeployParams::DEFAULT_MAX_CONCURRENT,
            signal: None,
            release_version: 2,
        }
    }
}
