//! The scenario file as written: serde structs that mirror the TOML schema one to one.
//!
//! Values that validation checks are kept `Spanned` so every semantic error can point at the
//! offending value. Tagged things (distributions, faults) are flat structs with a `kind` and every
//! possible field optional, not serde's internally tagged enums: those buffer the input and lose
//! the spans (and their errors lose the field path).

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

/// A string value with its position (durations, names, enum-like words).
pub type Text = Spanned<String>;
/// A distribution inline table with its position.
pub type SpannedDistribution = Spanned<RawDistribution>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    pub scenario: RawHeader,
    pub app: RawApp,
    pub machine: Option<RawMachine>,
    pub fleet: Spanned<Vec<RawFleet>>,
    pub api: Option<RawApi>,
    pub proxy: Option<RawProxy>,
    pub traffic: Option<RawTraffic>,
    pub deploy: Spanned<Vec<RawDeploy>>,
    #[serde(default)]
    pub faults: Vec<Spanned<RawFault>>,
    pub run: Option<RawRun>,
    pub check: Option<RawBounds>,
    pub expect: Option<RawExpect>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHeader {
    pub name: Text,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApp {
    pub name: Text,
    pub image: Text,
    #[serde(default)]
    pub checks: Vec<RawCheck>,
    #[serde(default)]
    pub services: Vec<Spanned<RawService>>,
}

/// `[[app.services]]`: fly.toml's `[[services]]`, with its checks (`http_checks`/`tcp_checks`
/// in fly.toml, one list with a `kind` here).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub internal_port: Spanned<i64>,
    pub protocol: Option<Text>,
    #[serde(default)]
    pub checks: Vec<RawServiceCheck>,
}

/// A service check: like a top-level check, but named by the platform.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServiceCheck {
    pub kind: Option<Text>,
    pub interval: Option<Text>,
    pub grace_period: Option<Text>,
    pub timeout: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    pub name: Text,
    pub kind: Option<Text>,
    pub interval: Option<Text>,
    pub grace_period: Option<Text>,
    pub timeout: Option<Text>,
}

/// `{ kind = "...", ... }`: which fields apply depends on `kind`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDistribution {
    pub kind: Text,
    pub value: Option<Text>,
    pub min: Option<Text>,
    pub max: Option<Text>,
    pub median: Option<Text>,
    pub p99: Option<Text>,
    pub mean: Option<Text>,
}

impl RawDistribution {
    /// The optional fields that are present, by name, with their spans.
    pub fn present_fields(&self) -> Vec<(&'static str, Range<usize>)> {
        present(&[
            ("value", self.value.as_ref().map(Spanned::span)),
            ("min", self.min.as_ref().map(Spanned::span)),
            ("max", self.max.as_ref().map(Spanned::span)),
            ("median", self.median.as_ref().map(Spanned::span)),
            ("p99", self.p99.as_ref().map(Spanned::span)),
            ("mean", self.mean.as_ref().map(Spanned::span)),
        ])
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMachine {
    pub boot_time: Option<SpannedDistribution>,
    pub app_ready_time: Option<SpannedDistribution>,
    pub stop_time: Option<SpannedDistribution>,
    pub kill_timeout: Option<Text>,
    pub destroy_time: Option<SpannedDistribution>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFleet {
    pub region: Text,
    pub process_group: Option<Text>,
    pub count: Spanned<i64>,
    pub state: Option<Text>,
    pub image: Option<Text>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    pub checks: Option<bool>,
    pub detached: Option<bool>,
    pub autostop: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
    pub latency: Option<SpannedDistribution>,
    pub list_lag: Option<Text>,
    pub wait_timeout_max: Option<Text>,
    #[serde(default)]
    /// Keyed by plain strings (a spanned key would hide the operation from the error path); the
    /// span of the table locates an unknown operation.
    pub operations: BTreeMap<String, Spanned<RawOperation>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOperation {
    pub latency: SpannedDistribution,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProxy {
    pub regions: Option<Vec<Text>>,
    pub propagation: Option<SpannedDistribution>,
    pub connect_retries: Option<Spanned<i64>>,
    pub retry_delay: Option<Text>,
    pub hold_timeout: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTraffic {
    pub service_time: Option<SpannedDistribution>,
    #[serde(default)]
    pub regions: Vec<RawRegionTraffic>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegionTraffic {
    pub region: Text,
    pub rate: Spanned<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeploy {
    pub strategy: Option<Text>,
    pub image: Text,
    pub start: Option<Text>,
    pub after_previous: Option<Text>,
    pub wait_timeout: Option<Text>,
    pub lease_ttl: Option<Text>,
    pub max_concurrent: Option<Spanned<i64>>,
    /// Accepts integers too (a count of machines).
    pub max_unavailable: Option<Spanned<f64>>,
    pub signal: Option<Text>,
    pub clock_skew_seconds: Option<Spanned<i64>>,
    pub expect_outcome: Option<Text>,
    pub expect_error: Option<String>,
    // flyctl's retry budgets and waits (`deploy::behaviour::BluegreenSettings`).
    pub launch_attempts: Option<Spanned<i64>>,
    pub launch_backoff: Option<Text>,
    pub launch_lookup_delay: Option<Text>,
    pub checkpoint_attempts: Option<Spanned<i64>>,
    pub checkpoint_backoff: Option<Text>,
    pub teardown_attempts: Option<Spanned<i64>>,
    pub teardown_backoff: Option<Text>,
    pub image_refetch_attempts: Option<Spanned<i64>>,
    pub image_refetch_backoff: Option<Text>,
    pub uncordon_attempts: Option<Spanned<i64>>,
    pub uncordon_backoff: Option<Text>,
    pub wait_before_cordon: Option<Text>,
    pub wait_before_stop: Option<Text>,
    pub stop_wait_timeout: Option<Text>,
    pub health_timeout: Option<Text>,
}

/// One `[[faults]]` entry: which fields apply depends on `kind`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    pub kind: Text,
    pub operation: Option<Text>,
    pub rate: Option<Spanned<f64>>,
    pub status: Option<Spanned<RawStatus>>,
    pub calls: Option<Text>,
    pub start: Option<Text>,
    pub duration: Option<Text>,
    pub probability: Option<Spanned<f64>>,
    pub delay: Option<SpannedDistribution>,
    pub machine: Option<Text>,
    pub at: Option<Text>,
    pub owner: Option<Text>,
    pub ttl: Option<Text>,
    pub deploy: Option<Spanned<i64>>,
    pub phase: Option<Text>,
    pub after: Option<Text>,
    pub after_creates: Option<Spanned<i64>>,
    pub extra: Option<SpannedDistribution>,
    pub lag: Option<Text>,
    pub period: Option<Text>,
    pub region: Option<Text>,
}

impl RawFault {
    /// The optional fields that are present, by name, with their spans.
    pub fn present_fields(&self) -> Vec<(&'static str, Range<usize>)> {
        present(&[
            ("operation", self.operation.as_ref().map(Spanned::span)),
            ("rate", self.rate.as_ref().map(Spanned::span)),
            ("status", self.status.as_ref().map(Spanned::span)),
            ("calls", self.calls.as_ref().map(Spanned::span)),
            ("start", self.start.as_ref().map(Spanned::span)),
            ("duration", self.duration.as_ref().map(Spanned::span)),
            ("probability", self.probability.as_ref().map(Spanned::span)),
            ("delay", self.delay.as_ref().map(Spanned::span)),
            ("machine", self.machine.as_ref().map(Spanned::span)),
            ("at", self.at.as_ref().map(Spanned::span)),
            ("owner", self.owner.as_ref().map(Spanned::span)),
            ("ttl", self.ttl.as_ref().map(Spanned::span)),
            ("deploy", self.deploy.as_ref().map(Spanned::span)),
            ("phase", self.phase.as_ref().map(Spanned::span)),
            ("after", self.after.as_ref().map(Spanned::span)),
            (
                "after_creates",
                self.after_creates.as_ref().map(Spanned::span),
            ),
            ("extra", self.extra.as_ref().map(Spanned::span)),
            ("lag", self.lag.as_ref().map(Spanned::span)),
            ("period", self.period.as_ref().map(Spanned::span)),
            ("region", self.region.as_ref().map(Spanned::span)),
        ])
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRun {
    pub seed: Option<Spanned<u64>>,
    pub time_limit: Option<Text>,
    pub event_limit: Option<Spanned<i64>>,
    pub machine_limit: Option<Spanned<i64>>,
    pub settle: Option<Text>,
    pub deploy_time_bound: Option<Text>,
}

/// `[check]`: the bounds of `bounded-mixing` and `no-machine-explosion`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBounds {
    pub mixing_bound: Option<Text>,
    /// Accepts integers too (`2` is 2 × N).
    pub explosion_factor: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    pub hold: Option<Vec<Text>>,
    #[serde(default)]
    pub violate: Vec<Text>,
    #[serde(default)]
    pub output_contains: Vec<String>,
    #[serde(default)]
    pub output_not_contains: Vec<String>,
    pub exit_status: Option<Spanned<i64>>,
    /// `calls.<operation> = n` or `{ min = a, max = b }`: calls the deployers made. Keyed by
    /// plain strings so errors keep the operation in their path (see `RawApi::operations`).
    #[serde(default)]
    pub calls: BTreeMap<String, Spanned<RawCount>>,
    /// `[[expect.machines]]`: facts about one machine.
    #[serde(default)]
    pub machines: Vec<Spanned<RawMachineExpect>>,
    /// `[expect.strategies."<name>"]`. Keyed by plain strings so serde errors inside an entry keep
    /// the strategy in their path (see `RawApi::operations`); `StrategyKeys` finds the keys' spans.
    #[serde(default)]
    pub strategies: BTreeMap<String, Spanned<RawStrategyExpect>>,
}

/// One `[[expect.machines]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMachineExpect {
    pub machine: Text,
    #[serde(default)]
    pub calls: BTreeMap<String, Spanned<RawCount>>,
    pub launched: Option<Text>,
    pub destroy_kill: Option<bool>,
    pub destroy_nonce: Option<bool>,
    pub state: Option<Text>,
}

/// A fault's `status`: an HTTP status, or a word (`"none"`: a transport error).
#[derive(Debug)]
pub enum RawStatus {
    Code(i64),
    Word(String),
}

impl<'de> Deserialize<'de> for RawStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<RawStatus, D::Error> {
        deserializer.deserialize_any(StatusVisitor)
    }
}

struct StatusVisitor;

impl serde::de::Visitor<'_> for StatusVisitor {
    type Value = RawStatus;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("an HTTP status (`503`) or \"none\" (a transport error)")
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<RawStatus, E> {
        Ok(RawStatus::Code(value))
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<RawStatus, E> {
        Ok(RawStatus::Code(i64::try_from(value).unwrap_or(i64::MAX)))
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<RawStatus, E> {
        Ok(RawStatus::Word(value.to_string()))
    }
}

/// A count as an expectation writes it: `3`, or `{ min = 1, max = 4 }` (either bound optional).
#[derive(Debug)]
pub enum RawCount {
    Exactly(i64),
    Between { min: Option<i64>, max: Option<i64> },
}

impl<'de> Deserialize<'de> for RawCount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<RawCount, D::Error> {
        deserializer.deserialize_any(CountVisitor)
    }
}

struct CountVisitor;

impl<'de> serde::de::Visitor<'de> for CountVisitor {
    type Value = RawCount;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a count (`3`) or a range (`{ min = 1, max = 4 }`)")
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<RawCount, E> {
        Ok(RawCount::Exactly(value))
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<RawCount, E> {
        Ok(RawCount::Exactly(i64::try_from(value).unwrap_or(i64::MAX)))
    }

    fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<RawCount, M::Error> {
        let (mut min, mut max) = (None, None);
        while let Some(key) = map.next_key::<String>()? {
            let slot = match key.as_str() {
                "min" => &mut min,
                "max" => &mut max,
                _ => return Err(serde::de::Error::unknown_field(&key, &["min", "max"])),
            };
            if slot.is_some() {
                return Err(serde::de::Error::duplicate_field(if key == "min" {
                    "min"
                } else {
                    "max"
                }));
            }
            *slot = Some(map.next_value::<i64>()?);
        }
        Ok(RawCount::Between { min, max })
    }
}

/// One `[expect.strategies."<name>"]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStrategyExpect {
    pub hold: Option<Vec<Text>>,
    #[serde(default)]
    pub violate: Vec<Text>,
    pub outcomes: Option<Spanned<Vec<Text>>>,
    pub exit_status: Option<Spanned<i64>>,
}

/// A second, lenient read of the file for the positions of the `[expect.strategies]` keys alone.
///
/// serde_path_to_error only records a map key it sees as a plain string, so spanned keys in
/// `RawExpect` would drop the strategy name from every error path inside its table. This read
/// ignores everything else (no `deny_unknown_fields`) and runs only after the strict one succeeded.
#[derive(Debug, Default, Deserialize)]
pub struct StrategyKeys {
    #[serde(default)]
    pub expect: Option<ExpectKeys>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ExpectKeys {
    #[serde(default)]
    pub strategies: BTreeMap<Spanned<String>, serde::de::IgnoredAny>,
}

fn present(fields: &[(&'static str, Option<Range<usize>>)]) -> Vec<(&'static str, Range<usize>)> {
    fields
        .iter()
        .filter_map(|(name, span)| span.clone().map(|span| (*name, span)))
        .collect()
}
