//! The validated scenario: what a scenario file means once parsing and validation succeeded.
//! Every field has its default applied; the engine never sees raw TOML.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::api::{CheckConfig, MachineState, ServiceConfig};
use crate::check::Invariant;
use crate::deploy::behaviour::BluegreenSettings;
use crate::deploy::{DeployOutcome, StrategyName};
use crate::engine::random::Distribution;

#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// The file it came from (for messages and reports).
    pub path: PathBuf,
    /// The `--set PATH=VALUE` overrides applied to the file, as given (replay commands name
    /// them).
    pub overrides: Vec<String>,
    pub name: String,
    pub description: String,
    pub app: AppSpec,
    pub machine: MachineBehaviour,
    pub fleet: Vec<FleetGroup>,
    pub api: ApiBehaviour,
    pub proxy: ProxyBehaviour,
    pub traffic: TrafficSpec,
    pub deploys: Vec<DeploySpec>,
    pub faults: Vec<FaultSpec>,
    pub run: RunSpec,
    /// `[check]`: the bounds the user sets for `bounded-mixing` and `no-machine-explosion`.
    pub check: crate::check::Bounds,
    pub expect: Expectations,
}

impl Scenario {
    /// N: the number of machines the scenario starts with.
    pub fn initial_machine_count(&self) -> u32 {
        self.fleet.iter().map(|group| group.count).sum()
    }

    /// How a command names this scenario: its path and its overrides, quoted for a shell.
    pub fn command_words(&self) -> String {
        super::overrides::command_words(&self.path.display().to_string(), &self.overrides)
    }

    /// Whether `run.machine_limit` leaves room for a deploy of this fleet with `strategy`
    /// (`Err`: why not, and the limit it needs).
    pub fn room_for(&self, strategy: StrategyName) -> Result<(), String> {
        machine_room(&self.fleet, self.run.machine_limit, strategy)
    }
}

/// A bluegreen deploy launches one green per machine it replaces, so it needs room for 2 × N
/// machines under `run.machine_limit`, which counts every machine created (detached machines,
/// never replaced, count once). Without that room a run could only stop at the machine limit.
pub(crate) fn machine_room(
    fleet: &[FleetGroup],
    machine_limit: u32,
    strategy: StrategyName,
) -> Result<(), String> {
    if strategy.bluegreen_version().is_none() {
        return Ok(());
    }
    let needed: u64 = fleet
        .iter()
        .map(|group| u64::from(group.count) * if group.detached { 1 } else { 2 })
        .sum();
    if needed <= u64::from(machine_limit) {
        return Ok(());
    }
    Err(format!(
        "run.machine_limit ({machine_limit}) leaves no room for a {strategy} deploy of this \
         fleet: it launches one green per machine it replaces, {needed} machines in all (2 × N); \
         raise run.machine_limit to at least {needed}"
    ))
}

/// `[app]`: the app and its fly.toml-level config shared by every machine.
#[derive(Clone, Debug, PartialEq)]
pub struct AppSpec {
    pub name: String,
    /// The image the fleet runs at the start (a group may override it).
    pub image: String,
    /// Top-level checks every machine is configured with (unless its group says `checks = false`).
    pub checks: Vec<CheckConfig>,
    /// fly.toml's `[[services]]`: every machine's services, with their checks (left out with
    /// `checks = false`); a group with `autostop` auto-stops and auto-starts through them.
    pub services: Vec<ServiceConfig>,
}

/// `[machine]`: how machines behave on the platform.
#[derive(Clone, Debug, PartialEq)]
pub struct MachineBehaviour {
    /// created/starting → started.
    pub boot_time: Distribution,
    /// started → the app answers and its checks can pass.
    pub app_ready_time: Distribution,
    /// How long the app takes to exit after the stop signal (capped by `kill_timeout`).
    pub stop_time: Distribution,
    /// After this the platform sends SIGKILL (`kill_timeout` in fly.toml).
    pub kill_timeout: Duration,
    /// destroying → destroyed.
    pub destroy_time: Distribution,
}

/// One `[[fleet]]` entry: machines that exist when the run starts.
#[derive(Clone, Debug, PartialEq)]
pub struct FleetGroup {
    pub region: String,
    pub process_group: String,
    pub count: u32,
    /// started, stopped, suspended or created.
    pub state: MachineState,
    /// Overrides `app.image`.
    pub image: Option<String>,
    /// Extra metadata (e.g. a leftover's `fly_bluegreen_deployment_tag`).
    pub metadata: BTreeMap<String, String>,
    /// Whether these machines are configured with `app.checks`.
    pub checks: bool,
    /// F15: detached machines, not managed by deploys (no `fly_platform_version` metadata).
    pub detached: bool,
    /// F14: the machines' service auto-stops them when idle and auto-starts them on requests.
    pub autostop: bool,
}

pub use crate::api::Operation;

/// `[api]`: the Machines API server's behaviour.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiBehaviour {
    /// One-way latency of a call (applied on the way in and again on the way out).
    pub latency: Distribution,
    /// Per-operation overrides of `latency`.
    pub operation_latency: BTreeMap<Operation, Distribution>,
    /// How long a just-created machine stays invisible to `list` (read-after-write lag, §7.5).
    pub list_lag: Duration,
    /// Longest server-side timeout a `wait` call may ask for (60 s on Fly).
    pub wait_timeout_max: Duration,
}

/// `[proxy]`: the edge proxies, one per region.
#[derive(Clone, Debug, PartialEq)]
pub struct ProxyBehaviour {
    /// Regions that have a proxy. Defaults to every region with machines or traffic.
    pub regions: Vec<String>,
    /// Delay until a proxy learns of a routing change, sampled per change and per proxy.
    pub propagation: Distribution,
    /// How many other machines a proxy tries after a refused connection.
    pub connect_retries: u32,
    /// Delay before each such retry.
    pub retry_delay: Duration,
    /// How long a proxy holds a request when it knows no routable machine, before failing it.
    pub hold_timeout: Duration,
}

/// `[traffic]`: open-loop Poisson arrivals per region.
#[derive(Clone, Debug, PartialEq)]
pub struct TrafficSpec {
    pub service_time: Distribution,
    pub regions: Vec<RegionTraffic>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RegionTraffic {
    pub region: String,
    pub rate_per_second: f64,
}

/// When a deploy starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeployStart {
    /// At this virtual time.
    At(Duration),
    /// This long after the previous deploy ended (or after the run started, for the first).
    AfterPrevious(Duration),
}

/// One `[[deploy]]`: a `fly deploy` run.
#[derive(Clone, Debug, PartialEq)]
pub struct DeploySpec {
    pub strategy: StrategyName,
    pub image: String,
    pub start: DeployStart,
    pub wait_timeout: Duration,
    pub lease_ttl: Duration,
    /// `--max-concurrent`; None: the strategy's default.
    pub max_concurrent: Option<usize>,
    /// rolling's `max_unavailable` (a fraction below 1, or a count); None: 0.33.
    pub max_unavailable: Option<f64>,
    pub signal: Option<String>,
    /// Skew of the deployer's wall clock against the platform's.
    pub clock_skew_seconds: i64,
    /// The expected outcome of this deploy, if the scenario states one.
    pub expect_outcome: Option<DeployOutcome>,
    /// A substring the deploy's error must contain.
    pub expect_error: Option<String>,
    /// Overrides of flyctl's retry budgets and waits (None: the strategy version's own).
    pub settings: BluegreenSettings,
}

/// Which machine a fault targets, resolved at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MachineTarget {
    /// The i-th machine of the initial fleet (in fleet order).
    Initial(u32),
    /// The i-th green created by deploy `deploy` (both 0-based).
    Green { deploy: u32, index: u32 },
    /// Every green created by deploy `deploy`.
    AllGreens { deploy: u32 },
}

/// A time window: from `start`, for `duration` (None: to the end of the run).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start: Duration,
    pub duration: Option<Duration>,
}

impl Window {
    pub const ALWAYS: Window = Window {
        start: Duration::ZERO,
        duration: None,
    };
}

/// One `[[faults]]` entry.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultSpec {
    /// Calls of `operation` (all operations when None) fail with `status` (None: a transport
    /// error, no HTTP status) at `rate`, or (`calls`) exactly the counted calls; only calls from
    /// deploy `deploy` and on machine `machine` when those are given.
    ApiError {
        operation: Option<Operation>,
        rate: f64,
        status: Option<u16>,
        window: Window,
        deploy: Option<u32>,
        machine: Option<MachineTarget>,
        calls: Option<CallRange>,
    },
    /// With `probability`, a propagation delay is drawn from `delay` instead of `[proxy]`'s.
    PropagationTail {
        probability: f64,
        delay: Distribution,
        window: Window,
    },
    /// The machine crashes (its process exits) at `at`; the restart policy applies.
    MachineCrash { target: MachineTarget, at: Duration },
    /// The machine's checks never pass.
    Unhealthy { target: MachineTarget },
    /// Another owner holds the machine's lease from the start of the run for `ttl`.
    LeaseHeld {
        target: MachineTarget,
        owner: String,
        ttl: Duration,
    },
    /// SIGKILL the deployer of `deploy`: nothing after it runs, its leases lapse.
    DeployerKill { deploy: u32, trigger: Trigger },
    /// Ctrl-C / SIGTERM to the deployer of `deploy`: flyctl's abort flag is set.
    DeployerAbort { deploy: u32, trigger: Trigger },
    /// Launches by `deploy` (every deploy when None) fail with `status` once `after_creates`
    /// launches of that deploy have succeeded ("could not reserve resource").
    CapacityError {
        deploy: Option<u32>,
        after_creates: u32,
        status: u16,
    },
    /// The machine ignores stop requests: it stays `stopping` for `duration` (None: until it is
    /// destroyed).
    StopHangs {
        target: MachineTarget,
        duration: Option<Duration>,
    },
    /// F2, ambiguous write: the call lands and is applied, but its reply is lost; the caller sees
    /// `status` (a timeout: 408 or 5xx; None: the connection closed, a transport error).
    ApiAmbiguous {
        operation: Option<Operation>,
        rate: f64,
        status: Option<u16>,
        window: Window,
        deploy: Option<u32>,
        machine: Option<MachineTarget>,
        calls: Option<CallRange>,
    },
    /// F3, slow API: calls (of `operation`, by `deploy`) take `extra` longer each way.
    ApiSlow {
        operation: Option<Operation>,
        extra: Distribution,
        window: Window,
        deploy: Option<u32>,
    },
    /// F11, deployer ↔ API partition: every call (of `operation`) of `deploy` (every deploy when
    /// None) fails with a transport error ("connection refused") during the window, or
    /// (`calls`) exactly the counted calls.
    ApiPartition {
        deploy: Option<u32>,
        window: Window,
        operation: Option<Operation>,
        calls: Option<CallRange>,
    },
    /// F4, stale list: machines created during the window stay invisible to `list` for `lag`.
    StaleList { lag: Duration, window: Window },
    /// F4, empty image ref: `list` reports the machine with an empty image reference.
    EmptyImageRef {
        target: MachineTarget,
        window: Window,
    },
    /// F7, a host that is not ok (`status`: unreachable or unknown). `list` and `get` report the
    /// status and an incomplete config (the machine's metadata only, no image); lease calls are
    /// answered (flaps keeps leases); every other call on the machine fails with 503. The
    /// machine itself keeps running and serving.
    HostNotOk {
        target: MachineTarget,
        window: Window,
        status: crate::api::HostStatus,
    },
    /// F5, stall: the deployer's process freezes (no task runs, nothing is sent) for `duration`;
    /// its leases can expire meanwhile.
    DeployerStall {
        deploy: u32,
        trigger: Trigger,
        duration: Duration,
    },
    /// F6, slow boot: the machine's boot takes a draw from `delay` instead.
    SlowBoot {
        target: MachineTarget,
        delay: Distribution,
    },
    /// F6, boot failure: the machine goes to `failed` instead of `started`.
    BootFailure { target: MachineTarget },
    /// F6, crash loop: each time the machine has run for `period` after starting, it crashes.
    CrashLoop {
        target: MachineTarget,
        period: Duration,
    },
    /// F8, org limit: `canPerformBluegreenDeployment` answers false (for `deploy`, or every deploy).
    OrgLimit { deploy: Option<u32> },
    /// F9, checks failing: from the trigger on, the machine's checks fail, for `duration` (None:
    /// for good) — e.g. a green whose health flips after the switch.
    ChecksFail {
        target: MachineTarget,
        trigger: Trigger,
        duration: Option<Duration>,
    },
    /// F9, flapping checks: during the window the checks alternate failing and passing every
    /// `period`.
    ChecksFlap {
        target: MachineTarget,
        period: Duration,
        window: Window,
    },
    /// F10, stale proxy: the region's proxy learns no routing change during the window, then
    /// catches up at its end.
    ProxyStale { region: String, window: Window },
    /// F14, manual destroy: someone runs `fly machine destroy --force` on the machine at `at`.
    ManualDestroy { target: MachineTarget, at: Duration },
}

/// Which calls a call-counted fault hits: the `first`-th to the `last`-th (1-based, inclusive;
/// None: every one from `first` on) of the calls in its scope, counted separately for each
/// operation and each machine a call names (calls that name none count together per operation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallRange {
    pub first: u32,
    pub last: Option<u32>,
}

impl CallRange {
    pub fn contains(&self, nth: u32) -> bool {
        nth >= self.first && self.last.is_none_or(|last| nth <= last)
    }
}

impl std::fmt::Display for CallRange {
    /// The syntax scenario files use: `3`, `1..2`, `4..`.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.last {
            Some(last) if last == self.first => write!(formatter, "{last}"),
            Some(last) => write!(formatter, "{}..{last}", self.first),
            None => write!(formatter, "{}..", self.first),
        }
    }
}

/// When a deployer fault fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// At this virtual time (since the start of the run).
    At(Duration),
    /// `after` the deploy starts `phase` (the first time it does).
    Phase {
        phase: crate::api::Phase,
        after: Duration,
    },
}

/// `[run]`.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSpec {
    pub seed: u64,
    /// The run stops (and says so) at this virtual time.
    pub time_limit: Duration,
    /// The run stops (and says so) after this many events.
    pub event_limit: u64,
    /// Creating more machines than this stops the run.
    pub machine_limit: u32,
    /// How long traffic keeps running after the last deploy ended.
    pub settle: Duration,
    /// `deploy-terminates`: each deploy must end within this. None: derived from its parameters.
    pub deploy_time_bound: Option<Duration>,
}

/// `[expect]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectations {
    /// Invariants that must hold. Defaults to every invariant not in `violate`.
    pub hold: Vec<Invariant>,
    /// `hold` was written in the file. A default `hold` expects only what applies to the run's
    /// strategies; an explicit one reports the invariants that do not apply as not judged.
    pub hold_explicit: bool,
    /// Invariants that must be violated.
    pub violate: Vec<Invariant>,
    /// Lines the deploy output must contain (each a substring of one line), in order.
    pub output_contains: Vec<String>,
    /// Texts no line of the deploy output may contain.
    pub output_not_contains: Vec<String>,
    /// `calls.<operation>`: how many calls of each operation the deployers made, on any machine.
    pub calls: BTreeMap<Operation, CountRange>,
    /// `[[expect.machines]]`: facts about single machines.
    pub machines: Vec<MachineExpectation>,
    /// flyctl's exit status of the last deploy.
    pub exit_status: Option<i32>,
    /// `[expect.strategies."<name>"]`: expectations that replace `hold`, `violate`,
    /// `exit_status` and the deploys' `expect_outcome` when the scenario runs with that strategy.
    /// A scenario with entries here runs once per entry unless `--strategy` picks one.
    pub by_strategy: BTreeMap<StrategyName, StrategyExpectations>,
}

/// A number of calls an expectation allows: from `min` to `max` (None: no upper bound).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountRange {
    pub min: u32,
    pub max: Option<u32>,
}

impl CountRange {
    pub fn exactly(count: u32) -> CountRange {
        CountRange {
            min: count,
            max: Some(count),
        }
    }

    pub fn contains(&self, count: u32) -> bool {
        count >= self.min && self.max.is_none_or(|max| count <= max)
    }
}

impl std::fmt::Display for CountRange {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.max {
            Some(max) if max == self.min => write!(formatter, "{max}"),
            Some(max) if self.min == 0 => write!(formatter, "at most {max}"),
            Some(max) => write!(formatter, "{} to {max}", self.min),
            None => write!(formatter, "at least {}", self.min),
        }
    }
}

/// How a green was launched: booting, or with `skip_launch` (left stopped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaunchedAs {
    Started,
    Stopped,
}

impl LaunchedAs {
    pub fn as_str(self) -> &'static str {
        match self {
            LaunchedAs::Started => "started",
            LaunchedAs::Stopped => "stopped",
        }
    }
}

/// One `[[expect.machines]]` entry: facts about one machine, judged at the end of the run.
#[derive(Clone, Debug, PartialEq)]
pub struct MachineExpectation {
    /// One machine (`blue:<i>`, `green:<i>`, `deploy[<d>].green:<i>`).
    pub target: MachineTarget,
    /// Calls the deployers made on it, per operation.
    pub calls: BTreeMap<Operation, CountRange>,
    /// How its launch asked it to start (greens only).
    pub launched: Option<LaunchedAs>,
    /// Every destroy call on it had `kill` set (true) or not (false); at least one was made.
    pub destroy_kill: Option<bool>,
    /// Every destroy call on it carried a lease nonce (true) or none did (false); at least one
    /// was made.
    pub destroy_nonce: Option<bool>,
    /// Its state at the end of the run.
    pub state: Option<MachineState>,
}

/// One `[expect.strategies."<name>"]` table.
#[derive(Clone, Debug, PartialEq)]
pub struct StrategyExpectations {
    /// Defaults to every invariant not in `violate`.
    pub hold: Vec<Invariant>,
    /// `hold` was written in the file (see [`Expectations::hold_explicit`]).
    pub hold_explicit: bool,
    pub violate: Vec<Invariant>,
    /// Per deploy, in order; None (`"any"`) expects nothing of that deploy. Empty: no outcome
    /// expectations.
    pub outcomes: Vec<Option<DeployOutcome>>,
    pub exit_status: Option<i32>,
}
