//! The scenario file as written: serde structs that mirror the TOML schema one to one.
//!
//! These types are the one description of the format. Each field's doc comment is its one-line
//! meaning (with its unit); `#[schemars(...)]` gives its default, range and accepted words, taken
//! from `ranges` and the enums that validation uses. A default is a named constant in the `impl`
//! after its struct (`RawMachine::KILL_TIMEOUT_DEFAULT`), which validation applies and the schema
//! documents. From these types come the JSON Schema (`fleetsim schema`), its rules across fields
//! (`schema`), the reference (docs/scenario-reference.md) and the writer's output (serde). A test
//! holds each documented default equal to the one validation applies.
//!
//! Values that validation checks are kept `Spanned` so every semantic error can point at the
//! offending value. Tagged things (distributions, faults) are flat structs with a `kind` and every
//! possible field optional, not serde's internally tagged enums: those buffer the input and lose
//! the spans (and their errors lose the field path).

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ranges;
use super::schema::{
    CallsText, CheckKindWord, DistributionKindWord, DurationText, FaultDurationText, FaultKindWord,
    InitialStateWord, InvariantWord, LaunchedWord, MachineStateWord, MachineTargetText,
    OperationWord, OutcomeOrAnyWord, OutcomeWord, PhaseWord, ProtocolWord, RegionCode, SignalText,
    StrategyWord,
};
use crate::api::MachineState;
use crate::check::Bounds;
use crate::deploy::{DeployParams, StrategyName};
use crate::engine::random::Distribution;

/// A value with its position in the file. A thin wrapper of `toml::Spanned` that the schema,
/// the writer and the reference see through: it reads, writes and is described as its value.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Spanned<T>(toml::Spanned<T>);

impl<T> Spanned<T> {
    /// A value at `range` (the writer uses `0..0`: it has no file).
    pub fn new(range: Range<usize>, value: T) -> Spanned<T> {
        Spanned(toml::Spanned::new(range, value))
    }

    pub fn span(&self) -> Range<usize> {
        self.0.span()
    }

    pub fn get_ref(&self) -> &T {
        self.0.get_ref()
    }
}

/// A value with no position, as the writer builds them.
impl<T: Default> Default for Spanned<T> {
    fn default() -> Spanned<T> {
        Spanned::new(0..0, T::default())
    }
}

impl<T: JsonSchema> JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

/// A distribution's default, as a constant (a `Distribution` is built at run time): what
/// validation applies when the field is left out, and what the schema and the reference show.
#[derive(Clone, Copy, Debug)]
pub enum DistributionDefault {
    Constant(Duration),
    LogNormal {
        median: Duration,
        p99: Duration,
        max: Duration,
    },
}

impl DistributionDefault {
    /// A log-normal with its median, p99 and clamp in milliseconds.
    pub const fn lognormal_ms(median: u64, p99: u64, max: u64) -> DistributionDefault {
        DistributionDefault::LogNormal {
            median: Duration::from_millis(median),
            p99: Duration::from_millis(p99),
            max: Duration::from_millis(max),
        }
    }

    pub fn distribution(self) -> Distribution {
        match self {
            DistributionDefault::Constant(value) => Distribution::Constant(value),
            DistributionDefault::LogNormal { median, p99, max } => {
                Distribution::lognormal(median, p99, Some(max))
            }
        }
    }

    /// As a scenario file writes it (an inline table), for `fleetsim init`'s comments.
    pub fn toml(self) -> String {
        let raw = super::writer::raw_distribution(&self.distribution());
        serde::Serialize::serialize(&raw, toml_edit::ser::ValueSerializer::new())
            .expect("a distribution serialises to TOML")
            .to_string()
    }

    /// As the schema and the reference write it (an inline table).
    pub fn json(self) -> serde_json::Value {
        serde_json::to_value(super::writer::raw_distribution(&self.distribution()))
            .expect("a distribution converts to JSON")
    }
}

/// A duration default as the schema and the reference write it (`"1500ms"`).
pub fn duration_json(value: Duration) -> serde_json::Value {
    serde_json::Value::String(super::writer::duration(value))
}

/// A string value with its position (durations, names, enum-like words).
pub type Text = Spanned<String>;
/// A distribution inline table with its position.
pub type SpannedDistribution = Spanned<RawDistribution>;

/// A scenario file: one app, its fleet, the platform's behaviour, the deploys to run, the faults
/// to inject and what the run must show.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "fleetsim scenario", rename = "Scenario")]
pub struct RawFile {
    /// The scenario's name and description.
    pub scenario: RawHeader,
    /// The app and the fly.toml-level config every machine shares.
    pub app: RawApp,
    /// How machines behave on the platform: boot, readiness, stop and destroy times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine: Option<RawMachine>,
    /// `[[fleet]]`: the machines that exist when the run starts, in groups.
    #[schemars(length(min = 1, max = ranges::FLEET_GROUPS_MAX))]
    pub fleet: Spanned<Vec<RawFleet>>,
    /// The Machines API server: latency per call, list lag, wait limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<RawApi>,
    /// The edge proxies, one per region: how late they learn routing changes and how they retry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<RawProxy>,
    /// Open-loop requests per region, and how long the app takes to answer one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traffic: Option<RawTraffic>,
    /// `[[deploy]]`: the `fly deploy` runs, in order.
    #[schemars(length(min = 1, max = ranges::DEPLOYS_MAX))]
    pub deploy: Spanned<Vec<RawDeploy>>,
    /// `[[faults]]`: what goes wrong, when, and to which machine; `fleetsim faults` lists the kinds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = ranges::FAULTS_MAX))]
    pub faults: Vec<Spanned<RawFault>>,
    /// The run's seed and limits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<RawRun>,
    /// `[check]`: the bounds of `bounded-mixing` and `no-machine-explosion`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<RawBounds>,
    /// What the run must show: invariants held or violated, outcomes, output, calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<RawExpect>,
}

/// `[scenario]`.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ScenarioHeader")]
pub struct RawHeader {
    /// The scenario's name, shown in reports.
    #[schemars(example = &"bluegreen-basic")]
    pub name: Text,
    /// What the scenario shows, in a sentence or two.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `[app]`.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "App")]
pub struct RawApp {
    /// The app's name (fly.toml's `app`).
    #[schemars(example = &"web")]
    pub name: Text,
    /// The image the fleet runs at the start; a `[[fleet]]` group may override it.
    #[schemars(example = "registry.fly.io/web:v1")]
    pub image: Text,
    /// `[[app.checks]]`: top-level checks every machine is configured with (unless its group says
    /// `checks = false`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = ranges::CHECKS_MAX))]
    pub checks: Vec<RawCheck>,
    /// `[[app.services]]`: fly.toml's `[[services]]`, with their checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = ranges::SERVICES_MAX))]
    pub services: Vec<Spanned<RawService>>,
}

/// `[[app.services]]`: fly.toml's `[[services]]`, with its checks (`http_checks`/`tcp_checks`
/// in fly.toml, one list with a `kind` here).
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Service")]
pub struct RawService {
    /// The port the app listens on inside the machine.
    #[schemars(range(min = 1, max = 65535), example = 8080)]
    pub internal_port: Spanned<i64>,
    /// The service's protocol.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<ProtocolWord>", extend("default" = RawService::PROTOCOL_DEFAULT))]
    pub protocol: Option<Text>,
    /// The service's checks (fly.toml's `http_checks` and `tcp_checks`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = ranges::CHECKS_MAX))]
    pub checks: Vec<RawServiceCheck>,
}

impl RawService {
    pub const PROTOCOL_DEFAULT: &str = "tcp";
}

/// A service check: like a top-level check, but named by the platform.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ServiceCheck")]
pub struct RawServiceCheck {
    /// What the check probes.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<CheckKindWord>", extend("default" = RawCheck::KIND_DEFAULT))]
    pub kind: Option<Text>,
    /// Time between two probes (more than 0; left out: Fly's 15s).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>", extend("default" = duration_json(RawCheck::INTERVAL_DEFAULT)))]
    pub interval: Option<Text>,
    /// Time after the machine starts before the first probe.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>", extend("default" = duration_json(RawCheck::GRACE_PERIOD_DEFAULT)))]
    pub grace_period: Option<Text>,
    /// How long one probe may take before it counts as failed (kept as configured).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<Text>,
}

/// `[[app.checks]]`: a top-level check (fly.toml's `[checks.<name>]`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Check")]
pub struct RawCheck {
    /// The check's name.
    #[schemars(example = &"health")]
    pub name: Text,
    /// What the check probes.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<CheckKindWord>", extend("default" = RawCheck::KIND_DEFAULT))]
    pub kind: Option<Text>,
    /// Time between two probes (more than 0; left out: Fly's 15s).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>", extend("default" = duration_json(RawCheck::INTERVAL_DEFAULT)))]
    pub interval: Option<Text>,
    /// Time after the machine starts before the first probe.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>", extend("default" = duration_json(RawCheck::GRACE_PERIOD_DEFAULT)))]
    pub grace_period: Option<Text>,
    /// How long one probe may take before it counts as failed (kept as configured).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<Text>,
}

/// The defaults of a check's fields (a service check's too). The interval and the grace period
/// are applied by the platform when the check runs (`platform::machines`).
impl RawCheck {
    pub const KIND_DEFAULT: &str = "http";
    pub const INTERVAL_DEFAULT: Duration = crate::platform::machines::CHECK_INTERVAL_DEFAULT;
    pub const GRACE_PERIOD_DEFAULT: Duration = Duration::ZERO;
}

/// `{ kind = "...", ... }`: a random duration. Which fields apply depends on `kind`: `constant`
/// takes `value`; `uniform` `min` and `max`; `lognormal` `median`, `p99` and an optional `max`;
/// `exponential` `mean` and an optional `max`. A lognormal or exponential without `max` has an
/// unbounded tail (`fleetsim check` warns about it).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Distribution")]
pub struct RawDistribution {
    /// The distribution's shape.
    #[schemars(with = "DistributionKindWord")]
    pub kind: Text,
    /// `constant`: the one value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub value: Option<Text>,
    /// `uniform`: the lowest value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub min: Option<Text>,
    /// `lognormal`: the median (half of the draws are below it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub median: Option<Text>,
    /// `lognormal`: the 99th percentile (above the median).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub p99: Option<Text>,
    /// `exponential`: the mean.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub mean: Option<Text>,
    // Last, so that the writer puts it after the fields it bounds.
    /// `uniform`: the highest value; `lognormal`, `exponential`: a clamp on the tail.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub max: Option<Text>,
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

/// `[machine]`.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Machine")]
pub struct RawMachine {
    /// From created or starting to started.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = RawMachine::BOOT_TIME_DEFAULT.json()))]
    pub boot_time: Option<SpannedDistribution>,
    /// From started until the app answers and its checks can pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = RawMachine::APP_READY_TIME_DEFAULT.json()))]
    pub app_ready_time: Option<SpannedDistribution>,
    /// How long the app takes to exit after the stop signal (capped by `kill_timeout`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = RawMachine::STOP_TIME_DEFAULT.json()))]
    pub stop_time: Option<SpannedDistribution>,
    /// After this the platform sends SIGKILL (fly.toml's `kill_timeout`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(
        with = "Option<DurationText>",
        extend("default" = duration_json(RawMachine::KILL_TIMEOUT_DEFAULT))
    )]
    pub kill_timeout: Option<Text>,
    /// From destroying to destroyed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = RawMachine::DESTROY_TIME_DEFAULT.json()))]
    pub destroy_time: Option<SpannedDistribution>,
}

/// The defaults of `[machine]`.
impl RawMachine {
    pub const BOOT_TIME_DEFAULT: DistributionDefault =
        DistributionDefault::lognormal_ms(1_500, 4_000, 10_000);
    pub const APP_READY_TIME_DEFAULT: DistributionDefault =
        DistributionDefault::lognormal_ms(2_000, 6_000, 15_000);
    pub const STOP_TIME_DEFAULT: DistributionDefault =
        DistributionDefault::lognormal_ms(1_000, 3_000, 10_000);
    pub const KILL_TIMEOUT_DEFAULT: Duration = Duration::from_secs(5);
    pub const DESTROY_TIME_DEFAULT: DistributionDefault =
        DistributionDefault::Constant(Duration::from_millis(500));
}

/// One `[[fleet]]` entry: machines that exist when the run starts.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "FleetGroup")]
pub struct RawFleet {
    /// The region the machines run in.
    #[schemars(with = "RegionCode")]
    pub region: Text,
    /// The machines' process group (fly.toml's `[processes]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = RawFleet::PROCESS_GROUP_DEFAULT))]
    pub process_group: Option<Text>,
    /// How many machines.
    #[schemars(range(min = 0, max = ranges::GROUP_COUNT_MAX), example = 3)]
    pub count: Spanned<i64>,
    /// The machines' state when the run starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<InitialStateWord>", extend("default" = RawFleet::STATE_DEFAULT.as_str()))]
    pub state: Option<Text>,
    /// The image they run, if not `app.image` (e.g. leftovers of an earlier deploy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<Text>,
    /// Extra metadata (e.g. a leftover's `fly_bluegreen_deployment_tag`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// Whether these machines are configured with `app.checks` and the services' checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = RawFleet::CHECKS_DEFAULT))]
    pub checks: Option<bool>,
    /// Detached machines: no `fly_platform_version` metadata, so no deploy manages them.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = RawFleet::DETACHED_DEFAULT))]
    pub detached: Option<bool>,
    /// The machines' service auto-stops them when idle and auto-starts them on requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = RawFleet::AUTOSTOP_DEFAULT))]
    pub autostop: Option<bool>,
}

/// The defaults of a `[[fleet]]` entry.
impl RawFleet {
    pub const PROCESS_GROUP_DEFAULT: &str = "app";
    pub const STATE_DEFAULT: MachineState = MachineState::Started;
    pub const CHECKS_DEFAULT: bool = true;
    pub const DETACHED_DEFAULT: bool = false;
    pub const AUTOSTOP_DEFAULT: bool = false;
}

/// `[api]`.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Api")]
pub struct RawApi {
    /// One-way latency of a call (applied on the way in and again on the way out).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = RawApi::LATENCY_DEFAULT.json()))]
    pub latency: Option<SpannedDistribution>,
    /// How long a just-created machine stays invisible to `list` (read-after-write lag).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(
        with = "Option<DurationText>",
        extend("default" = duration_json(RawApi::LIST_LAG_DEFAULT))
    )]
    pub list_lag: Option<Text>,
    /// The longest server-side timeout a `wait` call may ask for (60 s on Fly).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(
        with = "Option<DurationText>",
        extend("default" = duration_json(RawApi::WAIT_TIMEOUT_MAX_DEFAULT))
    )]
    pub wait_timeout_max: Option<Text>,
    /// `[api.operations.<operation>]`: the latency of one operation, instead of `latency`.
    // Keyed by plain strings (a spanned key would hide the operation from the error path); the
    // span of the table locates an unknown operation.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<OperationWord, RawOperation>")]
    pub operations: BTreeMap<String, Spanned<RawOperation>>,
}

/// The defaults of `[api]`.
impl RawApi {
    pub const LATENCY_DEFAULT: DistributionDefault =
        DistributionDefault::lognormal_ms(25, 150, 1_000);
    pub const LIST_LAG_DEFAULT: Duration = Duration::from_millis(500);
    pub const WAIT_TIMEOUT_MAX_DEFAULT: Duration = Duration::from_secs(60);
}

/// `[api.operations.<operation>]`.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "OperationLatency")]
pub struct RawOperation {
    /// One-way latency of a call of this operation.
    pub latency: SpannedDistribution,
}

/// `[proxy]`.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Proxy")]
pub struct RawProxy {
    /// Regions that have a proxy. Default: every region with machines or traffic.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(
        with = "Option<Vec<RegionCode>>",
        length(min = 1, max = ranges::REGIONS_MAX),
        extend("uniqueItems" = true)
    )]
    pub regions: Option<Vec<Text>>,
    /// Delay until a proxy learns of a routing change, drawn per change and per proxy.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = RawProxy::PROPAGATION_DEFAULT.json()))]
    pub propagation: Option<SpannedDistribution>,
    /// How many other machines a proxy tries after a refused connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = ranges::CONNECT_RETRIES_MAX), extend("default" = RawProxy::CONNECT_RETRIES_DEFAULT))]
    pub connect_retries: Option<Spanned<i64>>,
    /// Delay before each such retry.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(
        with = "Option<DurationText>",
        extend("default" = duration_json(RawProxy::RETRY_DELAY_DEFAULT))
    )]
    pub retry_delay: Option<Text>,
    /// How long a proxy holds a request when it knows no routable machine, before failing it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(
        with = "Option<DurationText>",
        extend("default" = duration_json(RawProxy::HOLD_TIMEOUT_DEFAULT))
    )]
    pub hold_timeout: Option<Text>,
}

/// The defaults of `[proxy]` (its `regions`: every region with machines or traffic).
impl RawProxy {
    pub const PROPAGATION_DEFAULT: DistributionDefault =
        DistributionDefault::lognormal_ms(1_000, 5_000, 9_000);
    pub const CONNECT_RETRIES_DEFAULT: u32 = 3;
    pub const RETRY_DELAY_DEFAULT: Duration = Duration::from_millis(10);
    pub const HOLD_TIMEOUT_DEFAULT: Duration = Duration::from_secs(5);
}

/// `[traffic]`.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Traffic")]
pub struct RawTraffic {
    /// How long the app takes to answer a request.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = RawTraffic::SERVICE_TIME_DEFAULT.json()))]
    pub service_time: Option<SpannedDistribution>,
    /// `[[traffic.regions]]`: open-loop Poisson arrivals, per region. None: no traffic.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = ranges::REGIONS_MAX))]
    pub regions: Vec<RawRegionTraffic>,
}

/// The defaults of `[traffic]`.
impl RawTraffic {
    pub const SERVICE_TIME_DEFAULT: DistributionDefault =
        DistributionDefault::lognormal_ms(20, 150, 2_000);
}

/// One `[[traffic.regions]]` entry.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "RegionTraffic")]
pub struct RawRegionTraffic {
    /// The region the requests arrive in (it must have a proxy).
    #[schemars(with = "RegionCode")]
    pub region: Text,
    /// Requests per second (Poisson arrivals).
    #[schemars(range(min = ranges::RATE_PER_SECOND_MIN, max = ranges::RATE_PER_SECOND_MAX), example = 50.0)]
    pub rate: Spanned<f64>,
}

/// One `[[deploy]]` entry: a `fly deploy` run.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Deploy", transform = super::schema::deploy_rules)]
pub struct RawDeploy {
    /// The deploy strategy and version (`fleetsim strategies` lists them).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<StrategyWord>", extend("default" = RawDeploy::STRATEGY_DEFAULT.as_str()))]
    pub strategy: Option<Text>,
    /// The image to deploy.
    #[schemars(example = "registry.fly.io/web:v2")]
    pub image: Text,
    /// When the deploy starts (since the run's start). Default: 5s for the first deploy; the
    /// others follow the previous one (`after_previous`). Not with `after_previous`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub start: Option<Text>,
    /// Start this long after the previous deploy ended. Default: 10s. Not with `start`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub after_previous: Option<Text>,
    /// flyctl's `--wait-timeout`: the budget of each wait phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(
        with = "Option<DurationText>",
        extend("default" = duration_json(DeployParams::DEFAULT_WAIT_TIMEOUT))
    )]
    pub wait_timeout: Option<Text>,
    /// The TTL of the deployer's machine leases (more than 1s: flyctl refreshes every TTL − 1s).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(
        with = "Option<DurationText>",
        extend("default" = duration_json(DeployParams::DEFAULT_LEASE_TTL))
    )]
    pub lease_ttl: Option<Text>,
    /// flyctl's `--max-concurrent`. Default: the strategy's own (8 at HEAD, 16 for the 2024
    /// bluegreen versions).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = ranges::GROUP_COUNT_MAX))]
    pub max_concurrent: Option<Spanned<i64>>,
    /// rolling and canary: machines of a group updated at once, a fraction in (0, 1) of the
    /// group or a count ≥ 1 (integers are accepted).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = DeployParams::DEFAULT_MAX_UNAVAILABLE, "exclusiveMinimum" = 0))]
    pub max_unavailable: Option<Spanned<f64>>,
    /// The stop signal sent to blues (fly.toml's `kill_signal`). Default: the platform's.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<SignalText>")]
    pub signal: Option<Text>,
    /// Skew of the deployer's wall clock against the platform's, in seconds (either way).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(
        range(min = -ranges::CLOCK_SKEW_SECONDS_MAX, max = ranges::CLOCK_SKEW_SECONDS_MAX),
        extend("default" = RawDeploy::CLOCK_SKEW_SECONDS_DEFAULT)
    )]
    pub clock_skew_seconds: Option<Spanned<i64>>,
    /// The outcome this deploy must have. Default: none expected.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<OutcomeWord>")]
    pub expect_outcome: Option<Text>,
    /// A text the deploy's error must contain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect_error: Option<String>,
    // flyctl's retry budgets and waits (`deploy::behaviour::BluegreenSettings`). Left out: the
    // strategy version's own value (HEAD's constants for `bluegreen`).
    /// Launch attempts per green, the first included (HEAD: 3).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = ranges::ATTEMPTS_MAX))]
    pub launch_attempts: Option<Spanned<i64>>,
    /// The wait before the second launch attempt, doubling after each (HEAD: 500ms, at most 5s).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub launch_backoff: Option<Text>,
    /// The pause before the launch-ID lookup (HEAD: 500ms, at most 60s).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub launch_lookup_delay: Option<Text>,
    /// Attempts of the `safe_to_destroy` checkpoint tag (HEAD: 5).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = ranges::ATTEMPTS_MAX))]
    pub checkpoint_attempts: Option<Spanned<i64>>,
    /// The checkpoint's first retry wait, doubling (HEAD: 500ms, at most 10s).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub checkpoint_backoff: Option<Text>,
    /// Attempts of each blue cordon, stop and destroy (HEAD: 5).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = ranges::ATTEMPTS_MAX))]
    pub teardown_attempts: Option<Spanned<i64>>,
    /// The teardown's first retry wait, doubling (HEAD: 500ms, at most 10s).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub teardown_backoff: Option<Text>,
    /// Attempts of the image check's GET of a machine listed without an image (HEAD: 3).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = ranges::ATTEMPTS_MAX))]
    pub image_refetch_attempts: Option<Spanned<i64>>,
    /// The image refetch's first retry wait, doubling (HEAD: 1s, at most 5s).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub image_refetch_backoff: Option<Text>,
    /// Attempts of each green uncordon (HEAD: 5).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = ranges::ATTEMPTS_MAX))]
    pub uncordon_attempts: Option<Spanned<i64>>,
    /// The uncordon's first retry wait, doubling (HEAD: 500ms, at most 30s).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub uncordon_backoff: Option<Text>,
    /// The sleep before the blues are cordoned (HEAD: 10s, at most 10m).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub wait_before_cordon: Option<Text>,
    /// The sleep between cordon and stop of the blues (HEAD: 10s, at most 10m).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub wait_before_stop: Option<Text>,
    /// The budget of the wait for stopped blues (default: `wait_timeout`; at most 24h).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub stop_wait_timeout: Option<Text>,
    /// The budget of the wait for healthy greens (default: `wait_timeout`; at most 24h).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub health_timeout: Option<Text>,
}

/// The defaults of a `[[deploy]]` entry (its `wait_timeout`, `lease_ttl` and `max_unavailable`
/// are flyctl's, in `DeployParams`).
impl RawDeploy {
    pub const STRATEGY_DEFAULT: StrategyName = StrategyName::ALL[0];
    /// The first deploy's `start`.
    pub const START_DEFAULT: Duration = Duration::from_secs(5);
    /// The later deploys' `after_previous`.
    pub const AFTER_PREVIOUS_DEFAULT: Duration = Duration::from_secs(10);
    pub const CLOCK_SKEW_SECONDS_DEFAULT: i64 = 0;
}

/// One `[[faults]]` entry. Which fields apply depends on `kind`: `fleetsim faults` lists them.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Fault", transform = super::schema::fault_rules)]
pub struct RawFault {
    /// What goes wrong.
    #[schemars(with = "FaultKindWord")]
    pub kind: Text,
    /// Only calls of this operation. Default: every operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<OperationWord>")]
    pub operation: Option<Text>,
    /// The fraction of calls in the window that fail, in (0, 1].
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0, "maximum" = 1))]
    pub rate: Option<Spanned<f64>>,
    /// The HTTP status of the failure (400 to 599), or `"none"`: a transport error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Spanned<RawStatus>>,
    /// Exactly these calls fail, counted per operation and machine from 1: `"2"`, `"1..3"`, `"4.."`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<CallsText>")]
    pub calls: Option<Text>,
    /// The start of the fault's window (since the run's start). Default: 0s.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub start: Option<Text>,
    /// How long the fault lasts. Default: to the end of the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<FaultDurationText>")]
    pub duration: Option<Text>,
    /// `propagation-tail`: the chance, in (0, 1], that a propagation delay is drawn from `delay`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0, "maximum" = 1))]
    pub probability: Option<Spanned<f64>>,
    /// The delay drawn instead (propagation, boot).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay: Option<SpannedDistribution>,
    /// The machine: `blue:<i>` (of the initial fleet), `green:<i>` or `green:*` (of deploy 0),
    /// `deploy[<d>].green:<i>`, `deploy[<d>].green:*`; all 0-based.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<MachineTargetText>")]
    pub machine: Option<Text>,
    /// When the fault fires (since the run's start).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub at: Option<Text>,
    /// `lease-held`: the other holder of the lease.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<Text>,
    /// `lease-held`: how long the other holder keeps the lease.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub ttl: Option<Text>,
    /// Only the deploy at this index of `[[deploy]]` (0-based). Default: every deploy.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = ranges::DEPLOYS_MAX - 1))]
    pub deploy: Option<Spanned<i64>>,
    /// Fire when the deploy enters this phase (the first time), `after` later.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<PhaseWord>")]
    pub phase: Option<Text>,
    /// With `phase`: how long after the phase starts the fault fires. Default: 0s.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub after: Option<Text>,
    /// `capacity-error`: launches fail once this many launches of the deploy succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = ranges::MACHINE_LIMIT_MAX))]
    pub after_creates: Option<Spanned<i64>>,
    /// `api-slow`: how much longer each call takes, each way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra: Option<SpannedDistribution>,
    /// `stale-list`: how long machines created in the window stay invisible to `list`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<FaultDurationText>")]
    pub lag: Option<Text>,
    /// `crash-loop`, `checks-flap`: the period of the crash or the flap.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<FaultDurationText>")]
    pub period: Option<Text>,
    /// `proxy-stale`: the region whose proxy stops learning.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<RegionCode>")]
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

/// `[run]`.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Run")]
pub struct RawRun {
    /// The master seed (`--seed` overrides it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = ranges::SEED_MAX), extend("default" = RawRun::SEED_DEFAULT))]
    pub seed: Option<Spanned<u64>>,
    /// The run stops (and says so) at this virtual time.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(
        with = "Option<DurationText>",
        extend("default" = duration_json(RawRun::TIME_LIMIT_DEFAULT))
    )]
    pub time_limit: Option<Text>,
    /// The run stops (and says so) after this many events.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = ranges::EVENT_LIMIT_MAX), extend("default" = RawRun::EVENT_LIMIT_DEFAULT))]
    pub event_limit: Option<Spanned<i64>>,
    /// The most machines created over the run, the initial fleet included.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = ranges::MACHINE_LIMIT_MAX), extend("default" = RawRun::MACHINE_LIMIT_DEFAULT))]
    pub machine_limit: Option<Spanned<i64>>,
    /// How long traffic keeps running after the last deploy ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(
        with = "Option<DurationText>",
        extend("default" = duration_json(RawRun::SETTLE_DEFAULT))
    )]
    pub settle: Option<Text>,
    /// `deploy-terminates`: each deploy must end within this. Default: derived from its waits.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationText>")]
    pub deploy_time_bound: Option<Text>,
}

/// The defaults of `[run]`.
impl RawRun {
    pub const SEED_DEFAULT: u64 = 1;
    pub const TIME_LIMIT_DEFAULT: Duration = Duration::from_secs(2 * 3600);
    pub const EVENT_LIMIT_DEFAULT: u64 = 50_000_000;
    pub const MACHINE_LIMIT_DEFAULT: u32 = 10_000;
    pub const SETTLE_DEFAULT: Duration = Duration::from_secs(30);
}

/// `[check]`: the bounds of two invariants, which the user owns.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Bounds")]
pub struct RawBounds {
    /// `bounded-mixing`: two images may be routable together at most this long.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(
        with = "Option<DurationText>",
        extend("default" = duration_json(Bounds::MIXING_BOUND_DEFAULT))
    )]
    pub mixing_bound: Option<Text>,
    /// `no-machine-explosion`: machines alive may be at most this many times N (integers are
    /// accepted: `2` is 2 × N).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(
        range(min = 1, max = ranges::EXPLOSION_FACTOR_MAX),
        extend("default" = Bounds::EXPLOSION_FACTOR_DEFAULT)
    )]
    pub explosion_factor: Option<Spanned<f64>>,
}

/// `[expect]`.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Expect")]
pub struct RawExpect {
    /// Invariants that must hold (`fleetsim invariants` lists them). Default: every invariant
    /// not in `violate` that applies to the run's strategy.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Vec<InvariantWord>>", extend("uniqueItems" = true))]
    pub hold: Option<Vec<Text>>,
    /// Invariants that must be violated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<InvariantWord>", extend("uniqueItems" = true))]
    pub violate: Vec<Text>,
    /// Lines the deploy output must contain (each a substring of one line), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = ranges::EXPECTATIONS_MAX))]
    pub output_contains: Vec<String>,
    /// Texts no line of the deploy output may contain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = ranges::EXPECTATIONS_MAX))]
    pub output_not_contains: Vec<String>,
    /// flyctl's exit status of the last deploy: 0 or 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1))]
    pub exit_status: Option<Spanned<i64>>,
    /// `calls.<operation> = n` or `{ min = a, max = b }`: calls the deployers made, on any
    /// machine.
    // Keyed by plain strings so errors keep the operation in their path (see
    // `RawApi::operations`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<OperationWord, RawCount>")]
    pub calls: BTreeMap<String, Spanned<RawCount>>,
    /// `[[expect.machines]]`: facts about one machine.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = ranges::EXPECTATIONS_MAX))]
    pub machines: Vec<Spanned<RawMachineExpect>>,
    /// `[expect.strategies."<name>"]`: expectations that replace `hold`, `violate`,
    /// `exit_status` and the deploys' `expect_outcome` when the scenario runs with that
    /// strategy; a scenario with entries here runs once per entry.
    // Keyed by plain strings so serde errors inside an entry keep the strategy in their path
    // (see `RawApi::operations`); `StrategyKeys` finds the keys' spans.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<StrategyWord, RawStrategyExpect>")]
    pub strategies: BTreeMap<String, Spanned<RawStrategyExpect>>,
}

/// One `[[expect.machines]]` entry: facts about one machine, judged at the end of the run.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "MachineExpect", transform = super::schema::machine_expect_rules)]
pub struct RawMachineExpect {
    /// One machine: `blue:<i>`, `green:<i>` or `deploy[<d>].green:<i>` (0-based).
    #[schemars(with = "MachineTargetText")]
    pub machine: Text,
    /// Calls the deployers made on it, per operation: `n` or `{ min = a, max = b }`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<OperationWord, RawCount>")]
    pub calls: BTreeMap<String, Spanned<RawCount>>,
    /// Greens: how its launch asked it to start.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<LaunchedWord>")]
    pub launched: Option<Text>,
    /// Every destroy call on it had `kill` set (true) or none did (false); at least one was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destroy_kill: Option<bool>,
    /// Every destroy call on it carried a lease nonce (true) or none did (false); at least one
    /// was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destroy_nonce: Option<bool>,
    /// Its state at the end of the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<MachineStateWord>")]
    pub state: Option<Text>,
}

/// A fault's `status`: an HTTP status, or a word (`"none"`: a transport error).
#[derive(Debug)]
pub enum RawStatus {
    Code(i64),
    Word(String),
}

impl Serialize for RawStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            RawStatus::Code(code) => serializer.serialize_i64(*code),
            RawStatus::Word(word) => serializer.serialize_str(word),
        }
    }
}

impl JsonSchema for RawStatus {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Status".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An HTTP status (400 to 599), or \"none\": a transport error.",
            "anyOf": [
                { "type": "integer", "minimum": 400, "maximum": 599 },
                { "const": "none" }
            ]
        })
    }
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

impl Serialize for RawCount {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            RawCount::Exactly(count) => serializer.serialize_i64(*count),
            RawCount::Between { min, max } => {
                let mut map = serializer.serialize_map(None)?;
                if let Some(min) = min {
                    map.serialize_entry("min", min)?;
                }
                if let Some(max) = max {
                    map.serialize_entry("max", max)?;
                }
                map.end()
            }
        }
    }
}

impl JsonSchema for RawCount {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Count".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let max = ranges::CALL_COUNT_MAX;
        schemars::json_schema!({
            "description": "A number of calls: exactly `n`, or `{ min = a, max = b }` (either bound optional).",
            "anyOf": [
                { "type": "integer", "minimum": 0, "maximum": max },
                {
                    "type": "object",
                    "properties": {
                        "min": { "type": "integer", "minimum": 0, "maximum": max },
                        "max": { "type": "integer", "minimum": 0, "maximum": max }
                    },
                    "minProperties": 1,
                    "additionalProperties": false
                }
            ]
        })
    }
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

/// One `[expect.strategies."<name>"]` table: what a run with that strategy must show.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "StrategyExpect")]
pub struct RawStrategyExpect {
    /// Invariants that must hold. Default: every applicable invariant not in `violate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Vec<InvariantWord>>", extend("uniqueItems" = true))]
    pub hold: Option<Vec<Text>>,
    /// Invariants that must be violated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<InvariantWord>", extend("uniqueItems" = true))]
    pub violate: Vec<Text>,
    /// The outcome of each deploy, in order (`"any"`: no expectation for that deploy).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Vec<OutcomeOrAnyWord>>")]
    pub outcomes: Option<Spanned<Vec<Text>>>,
    /// flyctl's exit status of the last deploy: 0 or 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1))]
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
    pub strategies: BTreeMap<toml::Spanned<String>, serde::de::IgnoredAny>,
}

fn present(fields: &[(&'static str, Option<Range<usize>>)]) -> Vec<(&'static str, Range<usize>)> {
    fields
        .iter()
        .filter_map(|(name, span)| span.clone().map(|span| (*name, span)))
        .collect()
}
