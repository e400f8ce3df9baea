//! The deploy algorithms. They see only [`crate::api::MachinesApi`] and [`crate::api::Runtime`].

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::observe::InvariantSet;

pub mod behaviour;
pub mod bluegreen;
pub mod errors;
pub mod launch_input;
pub mod lease;
pub mod outer;
pub mod pool;
pub mod retry;
pub mod rivals;
pub mod strategy;
pub mod wait;

pub use crate::observe::DeployOutcome;
pub use outer::{run_deploy, DeployReport};
pub use strategy::{DeployFuture, Strategy};

/// A deploy strategy and, for bluegreen, the historic version of flyctl's code it reproduces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StrategyName {
    Bluegreen(BluegreenVersion),
    /// flyctl's default: in-place updates in pools of `max_unavailable` (reference §9).
    Rolling,
    /// One extra canary machine per process group, then rolling (reference §9).
    Canary,
    /// Every machine updated at once, no waits (reference §9).
    Immediate,
}

/// Historic states of flyctl's `strategy_bluegreen.go` (reference `flyctl-bluegreen-versions.md` §0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BluegreenVersion {
    /// v0.1.40 … v0.2.7: uncordon, then kill-destroy blue at once; broad rollback.
    V2023_06,
    /// v0.2.12 … v0.2.16: cordon → 10 s → stop → destroy (a pool with the loop-variable race),
    /// zombie reaper, broad rollback.
    V2024_02,
    /// v0.2.47 … v0.2.64: the "Improved bluegreen deployments" fixes, before 2024-06-06.
    V2024_05,
    /// `ad0172fac`, 2026-08-21: flyctl HEAD (`bluegreen`).
    V2026_08,
}

impl StrategyName {
    /// Every strategy; the first is the default of a scenario's `[[deploy]] strategy`.
    pub const ALL: [StrategyName; 7] = [
        StrategyName::Bluegreen(BluegreenVersion::V2026_08),
        StrategyName::Bluegreen(BluegreenVersion::V2023_06),
        StrategyName::Bluegreen(BluegreenVersion::V2024_02),
        StrategyName::Bluegreen(BluegreenVersion::V2024_05),
        StrategyName::Rolling,
        StrategyName::Canary,
        StrategyName::Immediate,
    ];

    /// Other names a scenario or `--strategy` may use.
    pub const ALIASES: [(&'static str, StrategyName); 1] = [(
        "bluegreen@2026-08",
        StrategyName::Bluegreen(BluegreenVersion::V2026_08),
    )];

    pub fn as_str(self) -> &'static str {
        match self {
            StrategyName::Bluegreen(BluegreenVersion::V2026_08) => "bluegreen",
            StrategyName::Bluegreen(BluegreenVersion::V2023_06) => "bluegreen@2023-06",
            StrategyName::Bluegreen(BluegreenVersion::V2024_02) => "bluegreen@2024-02",
            StrategyName::Bluegreen(BluegreenVersion::V2024_05) => "bluegreen@2024-05",
            StrategyName::Rolling => "rolling",
            StrategyName::Canary => "canary",
            StrategyName::Immediate => "immediate",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            StrategyName::Bluegreen(BluegreenVersion::V2026_08) => {
                "flyctl's current bluegreen (ad0172fac, 2026-08): image check, cordoned greens, \
                 health gate, 10 s + 10 s drain, narrow rollback"
            }
            StrategyName::Bluegreen(BluegreenVersion::V2023_06) => {
                "bluegreen as of v0.1.40-v0.2.7 (2023-06): uncordon greens, then kill-destroy \
                 blues at once; broad rollback; greens recorded only if every launch succeeded"
            }
            StrategyName::Bluegreen(BluegreenVersion::V2024_02) => {
                "bluegreen as of v0.2.12-v0.2.16 (2024-02): cordon, 10 s, stop, destroy in a pool \
                 with the loop-variable race; zombie reaper; broad rollback even after blues \
                 were cordoned or stopped"
            }
            StrategyName::Bluegreen(BluegreenVersion::V2024_05) => {
                "bluegreen as of v0.2.47-v0.2.64 (2024-05): image check, narrow rollback, pool \
                 of ceil(N/3) where one failed launch orphans the other greens"
            }
            StrategyName::Rolling => {
                "flyctl's default: in-place updates, a spearhead machine, pools of max_unavailable"
            }
            StrategyName::Canary => "one extra canary machine per process group, then rolling",
            StrategyName::Immediate => "every machine updated in place at once, no waits",
        }
    }

    /// The invariants that apply to this strategy, as the strategy itself declares them (each
    /// strategy's module has its `INVARIANTS`). The others are `n/a` in its runs.
    pub fn invariants(self) -> InvariantSet {
        match self {
            StrategyName::Bluegreen(_) => bluegreen::INVARIANTS,
            StrategyName::Rolling => rivals::rolling::INVARIANTS,
            StrategyName::Canary => rivals::canary::INVARIANTS,
            StrategyName::Immediate => rivals::immediate::INVARIANTS,
        }
    }

    pub fn bluegreen_version(self) -> Option<BluegreenVersion> {
        match self {
            StrategyName::Bluegreen(version) => Some(version),
            _ => None,
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
        StrategyName::ALL
            .iter()
            .map(|name| (name.as_str(), *name))
            .chain(StrategyName::ALIASES)
            .find(|(candidate, _)| *candidate == text)
            .map(|(_, name)| name)
            .ok_or_else(|| {
                let known: Vec<&str> = StrategyName::ALL.iter().map(|name| name.as_str()).collect();
                format!("unknown strategy `{text}` (known: {})", known.join(", "))
            })
    }
}

/// The parameters of one `fly deploy`, with flyctl's defaults (reference §2).
///
/// Not `Eq`: `max_unavailable` is a float.
#[derive(Clone, Debug, PartialEq)]
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
    /// `--max-unavailable` / `[deploy] max_unavailable` (rolling and canary, reference §9): a value
    /// ≥ 1 is an absolute count of started machines updated at once, a value in (0, 1) a fraction
    /// of them (rounded up). bluegreen and immediate ignore it.
    pub max_unavailable: f64,
    /// Overrides of bluegreen's retry budgets and waits (None: the version's own).
    pub settings: behaviour::BluegreenSettings,
}

impl DeployParams {
    pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(5 * 60);
    pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(13);
    pub const DEFAULT_MAX_CONCURRENT: usize = 8;
    pub const DEFAULT_MAX_UNAVAILABLE: f64 = 0.33;

    /// flyctl's defaults for `strategy`; `max_concurrent` is the version's default (16 before
    /// `fb8153e04`, versions §3). A scenario that omits `max_concurrent` gets this default.
    pub fn new(app_name: &str, image: &str, strategy: StrategyName) -> DeployParams {
        let max_concurrent = match strategy {
            StrategyName::Bluegreen(version) => {
                behaviour::Behaviour::of(version).max_concurrent_default
            }
            _ => DeployParams::DEFAULT_MAX_CONCURRENT,
        };
        DeployParams {
            app_name: app_name.to_string(),
            image: image.to_string(),
            strategy,
            wait_timeout: DeployParams::DEFAULT_WAIT_TIMEOUT,
            lease_ttl: DeployParams::DEFAULT_LEASE_TTL,
            max_concurrent,
            signal: None,
            release_version: 2,
            max_unavailable: DeployParams::DEFAULT_MAX_UNAVAILABLE,
            settings: behaviour::BluegreenSettings::default(),
        }
    }

    /// The budget of bluegreen's wait for stopped blues (§3.13): `wait_timeout` unless set.
    pub fn stop_wait_timeout(&self) -> Duration {
        self.settings.stop_wait_timeout.unwrap_or(self.wait_timeout)
    }

    /// The budget of bluegreen's health wait (§3.6): `wait_timeout` unless set.
    pub fn health_timeout(&self) -> Duration {
        self.settings.health_timeout.unwrap_or(self.wait_timeout)
    }
}
