//! The fuzz input: a structured [`FuzzCase`] (fleet shape, strategy parameters, traffic,
//! propagation, and a list of timed faults) and the proptest strategies that draw it.
//!
//! Shrinking: the faults are a `prop::collection::vec`, so proptest removes faults one by one and
//! then weakens the ones left (rates, durations and counts shrink toward their low end, choices
//! toward their first alternative), which yields a minimal fault list.
//!
//! Swarm testing: a case first picks which fault kinds are on and how strong ([`Swarm`]), then
//! draws its faults only from those kinds. Adding a fault kind to the generator: a variant of
//! [`FaultKind`] (and its entry in `ALL` and `name`), an arm in [`FaultKind::draw`] and, if the
//! fault names machines or deploys, an arm in [`resolve`].

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Just, Union};

use crate::api::{HostStatus, MachineState, Operation, Phase};
use crate::deploy::StrategyName;
use crate::engine::random::Distribution;
use crate::scenario::{
    DeploySpec, DeployStart, FaultSpec, FleetGroup, MachineTarget, RegionTraffic, Scenario,
    Trigger, Window,
};

/// Regions a case may use, in order.
pub const REGIONS: [&str; 3] = ["iad", "ams", "syd"];
/// Machines per region at most.
pub const MACHINES_PER_REGION_MAX: u32 = 6;
/// Faults per case at most.
pub const FAULTS_MAX: usize = 6;
/// The probability that a case enables a fault kind.
pub const SWARM_KIND_ON: f64 = 0.2;

/// The kinds of fault the generator draws: every `FaultSpec` kind the platform has (the README's
/// Faults table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    ApiError,
    PropagationTail,
    MachineCrash,
    Unhealthy,
    LeaseHeld,
    DeployerKill,
    DeployerAbort,
    CapacityError,
    StopHangs,
    ApiAmbiguous,
    ApiSlow,
    ApiPartition,
    StaleList,
    EmptyImageRef,
    HostUnreachable,
    DeployerStall,
    SlowBoot,
    BootFailure,
    CrashLoop,
    OrgLimit,
    ChecksFail,
    ChecksFlap,
    ProxyStale,
    ManualDestroy,
}

/// How strong the faults of one kind are in a case: 1 (weak) to 3 (strong).
pub type Strength = u8;

impl FaultKind {
    pub const ALL: [FaultKind; 24] = [
        FaultKind::ApiError,
        FaultKind::PropagationTail,
        FaultKind::MachineCrash,
        FaultKind::Unhealthy,
        FaultKind::LeaseHeld,
        FaultKind::DeployerKill,
        FaultKind::DeployerAbort,
        FaultKind::CapacityError,
        FaultKind::StopHangs,
        FaultKind::ApiAmbiguous,
        FaultKind::ApiSlow,
        FaultKind::ApiPartition,
        FaultKind::StaleList,
        FaultKind::EmptyImageRef,
        FaultKind::HostUnreachable,
        FaultKind::DeployerStall,
        FaultKind::SlowBoot,
        FaultKind::BootFailure,
        FaultKind::CrashLoop,
        FaultKind::OrgLimit,
        FaultKind::ChecksFail,
        FaultKind::ChecksFlap,
        FaultKind::ProxyStale,
        FaultKind::ManualDestroy,
    ];

    /// The scenario file's name of the kind.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::ApiError => "api-error",
            FaultKind::PropagationTail => "propagation-tail",
            FaultKind::MachineCrash => "machine-crash",
            FaultKind::Unhealthy => "unhealthy",
            FaultKind::LeaseHeld => "lease-held",
            FaultKind::DeployerKill => "deployer-kill",
            FaultKind::DeployerAbort => "deployer-abort",
            FaultKind::CapacityError => "capacity-error",
            FaultKind::StopHangs => "stop-hangs",
            FaultKind::ApiAmbiguous => "api-ambiguous",
            FaultKind::ApiSlow => "api-slow",
            FaultKind::ApiPartition => "api-partition",
            FaultKind::StaleList => "stale-list",
            FaultKind::EmptyImageRef => "empty-image-ref",
            FaultKind::HostUnreachable => "host-unreachable",
            FaultKind::DeployerStall => "deployer-stall",
            FaultKind::SlowBoot => "slow-boot",
            FaultKind::BootFailure => "boot-failure",
            FaultKind::CrashLoop => "crash-loop",
            FaultKind::OrgLimit => "org-limit",
            FaultKind::ChecksFail => "checks-fail",
            FaultKind::ChecksFlap => "checks-flap",
            FaultKind::ProxyStale => "proxy-stale",
            FaultKind::ManualDestroy => "manual-destroy",
        }
    }

    /// One fault of this kind at `strength`. Machine targets and deploy indexes are drawn
    /// unresolved (any index); [`resolve`] maps them onto the case's fleet and deploys.
    pub fn draw(self, strength: Strength) -> BoxedStrategy<FaultSpec> {
        let s = u64::from(strength.clamp(1, 3));
        match self {
            FaultKind::ApiError => (
                prop_oneof![3 => operation().prop_map(Some), 1 => Just(None)],
                percent(10 * s * s - 5 * s),
                status(),
                window(s),
                prop::option::of(0..2u32),
                prop::option::of(target()),
            )
                .prop_map(|(operation, rate, status, window, deploy, machine)| {
                    FaultSpec::ApiError {
                        operation,
                        rate,
                        status: Some(status),
                        window,
                        deploy,
                        machine,
                        calls: None,
                    }
                })
                .boxed(),
            FaultKind::PropagationTail => (percent(30 * s + 10), tail_delay(s), window(s))
                .prop_map(|(probability, delay, window)| FaultSpec::PropagationTail {
                    probability,
                    delay,
                    window,
                })
                .boxed(),
            FaultKind::MachineCrash => (target(), time(150))
                .prop_map(|(target, at)| FaultSpec::MachineCrash { target, at })
                .boxed(),
            FaultKind::Unhealthy => target()
                .prop_map(|target| FaultSpec::Unhealthy { target })
                .boxed(),
            FaultKind::LeaseHeld => (0..64u32, seconds(1, 60 * s * s))
                .prop_map(|(blue, ttl)| FaultSpec::LeaseHeld {
                    target: MachineTarget::Initial(blue),
                    owner: "another-deployer".to_string(),
                    ttl,
                })
                .boxed(),
            FaultKind::DeployerKill => (0..2u32, trigger(s))
                .prop_map(|(deploy, trigger)| FaultSpec::DeployerKill { deploy, trigger })
                .boxed(),
            FaultKind::DeployerAbort => (0..2u32, trigger(s))
                .prop_map(|(deploy, trigger)| FaultSpec::DeployerAbort { deploy, trigger })
                .boxed(),
            FaultKind::CapacityError => {
                // Weak: many launches succeed first. Strong: the first launch fails.
                let most = 8 * (4 - s as u32);
                (
                    prop::option::of(0..2u32),
                    0..most,
                    prop_oneof![Just(412u16), Just(503u16)],
                )
                    .prop_map(move |(deploy, fewer, status)| FaultSpec::CapacityError {
                        deploy,
                        after_creates: most - 1 - fewer,
                        status,
                    })
                    .boxed()
            }
            FaultKind::StopHangs => (
                target(),
                prop_oneof![
                    seconds(1, 40 * s).prop_map(Some),
                    Just(None), // until destroyed
                ],
            )
                .prop_map(|(target, duration)| FaultSpec::StopHangs { target, duration })
                .boxed(),
            FaultKind::ApiAmbiguous => (
                prop_oneof![3 => operation().prop_map(Some), 1 => Just(None)],
                percent(10 * s * s - 5 * s),
                prop_oneof![Just(504u16), Just(408), Just(502)],
                window(s),
                prop::option::of(0..2u32),
                prop::option::of(target()),
            )
                .prop_map(|(operation, rate, status, window, deploy, machine)| {
                    FaultSpec::ApiAmbiguous {
                        operation,
                        rate,
                        status: Some(status),
                        window,
                        deploy,
                        machine,
                        calls: None,
                    }
                })
                .boxed(),
            FaultKind::ApiSlow => (
                prop_oneof![3 => operation().prop_map(Some), 1 => Just(None)],
                // Up to 2, 8 or 18 s more each way.
                delay(2 * s * s),
                window(s),
                prop::option::of(0..2u32),
            )
                .prop_map(|(operation, extra, window, deploy)| FaultSpec::ApiSlow {
                    operation,
                    extra,
                    window,
                    deploy,
                })
                .boxed(),
            FaultKind::ApiPartition => (prop::option::of(0..2u32), window(s))
                .prop_map(|(deploy, window)| FaultSpec::ApiPartition {
                    deploy,
                    window,
                    operation: None,
                    calls: None,
                })
                .boxed(),
            FaultKind::StaleList => (seconds(1, 10 * s), window(s))
                .prop_map(|(lag, window)| FaultSpec::StaleList { lag, window })
                .boxed(),
            FaultKind::EmptyImageRef => (target(), window(s))
                .prop_map(|(target, window)| FaultSpec::EmptyImageRef { target, window })
                .boxed(),
            // Both statuses a host that is not ok can report (flyctl treats them alike).
            FaultKind::HostUnreachable => (
                target(),
                window(s),
                prop_oneof![3 => Just(HostStatus::Unreachable), 1 => Just(HostStatus::Unknown)],
            )
                .prop_map(|(target, window, status)| FaultSpec::HostNotOk {
                    target,
                    window,
                    status,
                })
                .boxed(),
            FaultKind::DeployerStall => (0..2u32, trigger(s), seconds(1, 20 * s * s))
                .prop_map(|(deploy, trigger, duration)| FaultSpec::DeployerStall {
                    deploy,
                    trigger,
                    duration,
                })
                .boxed(),
            FaultKind::SlowBoot => (target(), delay(10 * s * s))
                .prop_map(|(target, delay)| FaultSpec::SlowBoot { target, delay })
                .boxed(),
            FaultKind::BootFailure => target()
                .prop_map(|target| FaultSpec::BootFailure { target })
                .boxed(),
            FaultKind::CrashLoop => (target(), weakest_first(120, 40 * s))
                .prop_map(|(target, period)| FaultSpec::CrashLoop { target, period })
                .boxed(),
            FaultKind::OrgLimit => prop::option::of(0..2u32)
                .prop_map(|deploy| FaultSpec::OrgLimit { deploy })
                .boxed(),
            FaultKind::ChecksFail => (
                target(),
                trigger(s),
                prop_oneof![
                    4 => seconds(1, 30 * s).prop_map(Some),
                    1 => Just(None), // for good
                ],
            )
                .prop_map(|(target, trigger, duration)| FaultSpec::ChecksFail {
                    target,
                    trigger,
                    duration,
                })
                .boxed(),
            FaultKind::ChecksFlap => (target(), weakest_first(60, 18 * s), window(s))
                .prop_map(|(target, period, window)| FaultSpec::ChecksFlap {
                    target,
                    period,
                    window,
                })
                .boxed(),
            FaultKind::ProxyStale => (prop::sample::select(REGIONS.to_vec()), window(s))
                .prop_map(|(region, window)| FaultSpec::ProxyStale {
                    region: region.to_string(),
                    window,
                })
                .boxed(),
            FaultKind::ManualDestroy => (target(), time(150))
                .prop_map(|(target, at)| FaultSpec::ManualDestroy { target, at })
                .boxed(),
        }
    }
}

/// Which fault kinds a case enables, and how strong each is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Swarm {
    pub kinds: BTreeMap<FaultKind, Strength>,
}

/// Settings each drawn in few cases (S items of the reference's regression table that the
/// faults alone never reach).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rare {
    /// S1: the first deploy redeploys the image the fleet already runs (a config change).
    pub same_image: bool,
    /// S12: the last deploy's clock is this many seconds off the platform's (never 0 when set).
    pub clock_skew_seconds: Option<i64>,
    /// S13: this many detached machines (not managed by deploys) in the first region.
    pub detached: u32,
    /// S6b: the second deploy starts this long after the first *starts*, not after it ends: two
    /// deployers at once (adds a second deploy when the case has none).
    pub concurrent_after: Option<Duration>,
}

/// The probability of each rare setting.
pub const RARE_ON: f64 = 0.06;

/// One region of the initial fleet.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionShape {
    /// Machines in this region (0 to 6).
    pub count: u32,
    /// How many of them are in the second process group (`worker`), when the case has two.
    pub workers: u32,
    /// The state they all start in.
    pub state: MachineState,
}

/// One fuzz input. [`FuzzCase::to_scenario`] turns it into a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct FuzzCase {
    /// 1 to 3 regions (`REGIONS` in order).
    pub regions: Vec<RegionShape>,
    /// Whether the fleet has a second process group (`worker`) besides `app`.
    pub two_process_groups: bool,
    /// `--wait-timeout` of every deploy: 30 s to 5 min.
    pub wait_timeout: Duration,
    /// `--max-concurrent` of every deploy, 1 to 16 (None: the strategy's default).
    pub max_concurrent: Option<usize>,
    /// Requests per second into each region's proxy.
    pub traffic_rate: f64,
    /// How long routing changes take to reach each proxy.
    pub propagation: Distribution,
    /// A second deploy this long after the first ends, so the leftovers of a failed deploy meet
    /// the next one.
    pub second_deploy: Option<Duration>,
    /// Rare settings (swarm testing: each on in few cases), reaching the bug history's corners.
    pub rare: Rare,
    pub swarm: Swarm,
    /// The faults as drawn (targets unresolved).
    pub faults: Vec<FaultSpec>,
}

impl FuzzCase {
    /// N: machines in the initial fleet.
    pub fn initial_machines(&self) -> u32 {
        self.regions.iter().map(|region| region.count).sum()
    }

    /// The scenario of this case with every deploy using `strategy`, `[run] seed = seed`, and
    /// `[expect] hold` = the safety invariants judged on it, so that `fleetsim run` on its file
    /// checks the property.
    pub fn to_scenario(&self, strategy: StrategyName, seed: u64) -> Scenario {
        let mut scenario = base();
        let regions: Vec<String> = REGIONS[..self.regions.len()]
            .iter()
            .map(ToString::to_string)
            .collect();
        scenario.fleet = self.fleet(&regions);
        scenario.proxy.regions = regions.clone();
        scenario.proxy.propagation = self.propagation.clone();
        scenario.traffic.regions = regions
            .iter()
            .map(|region| RegionTraffic {
                region: region.clone(),
                rate_per_second: self.traffic_rate,
            })
            .collect();
        self.apply(scenario, strategy, seed)
    }

    /// The case on the fleet of `fleet` (a scenario file): its app, machines, fleet, API,
    /// proxies, propagation and traffic are kept; the case's deploy parameters, second deploy and
    /// faults replace its deploys and faults. (`fleetsim fuzz --fleet FILE`.)
    pub fn on_fleet(&self, fleet: &Scenario, strategy: StrategyName, seed: u64) -> Scenario {
        let mut scenario = fleet.clone();
        scenario.deploys.truncate(1);
        scenario.expect.by_strategy.clear();
        scenario.expect.output_contains.clear();
        scenario.expect.exit_status = None;
        self.apply(scenario, strategy, seed)
    }

    /// Deploys, faults, seed and expectations of the case on `scenario`'s fleet (whose first
    /// deploy gives the image and defaults).
    fn apply(&self, mut scenario: Scenario, strategy: StrategyName, seed: u64) -> Scenario {
        let initial = scenario.initial_machine_count();
        scenario.name = format!("fuzz-{}", strategy.as_str().replace('@', "-"));
        scenario.description = format!(
            "found by the fuzzer: {} with {} fault(s), N = {initial}",
            strategy.as_str(),
            self.faults.len(),
        );
        let first = DeploySpec {
            strategy,
            start: DeployStart::At(Duration::from_secs(5)),
            wait_timeout: self.wait_timeout,
            max_concurrent: self.max_concurrent,
            expect_outcome: None,
            expect_error: None,
            ..scenario.deploys[0].clone()
        };
        let first = if self.rare.same_image {
            DeploySpec {
                image: scenario.app.image.clone(),
                ..first
            }
        } else {
            first
        };
        scenario.deploys = vec![first.clone()];
        let second_start = match (self.rare.concurrent_after, self.second_deploy) {
            (Some(after), _) => Some(DeployStart::At(Duration::from_secs(5) + after)),
            (None, Some(gap)) => Some(DeployStart::AfterPrevious(gap)),
            (None, None) => None,
        };
        if let Some(start) = second_start {
            scenario.deploys.push(DeploySpec {
                image: format!("{}-next", scenario.deploys[0].image),
                start,
                ..first
            });
        }
        if let (Some(skew), Some(last)) =
            (self.rare.clock_skew_seconds, scenario.deploys.last_mut())
        {
            last.clock_skew_seconds = skew;
        }
        let deploys = scenario.deploys.len() as u32;
        scenario.faults = self
            .faults
            .iter()
            .filter_map(|fault| resolve(fault, initial, deploys, &scenario.proxy.regions))
            .collect();
        scenario.run.deploy_time_bound = Some(deploy_time_bound(&scenario));
        scenario.run.seed = seed;
        scenario.expect.hold = super::PROPERTY.to_vec();
        scenario.expect.hold_explicit = true;
        scenario.expect.violate = Vec::new();
        scenario
    }

    fn fleet(&self, regions: &[String]) -> Vec<FleetGroup> {
        let group =
            |region: &str, process_group: &str, count: u32, state: MachineState| FleetGroup {
                region: region.to_string(),
                process_group: process_group.to_string(),
                count,
                state,
                image: None,
                metadata: BTreeMap::new(),
                checks: true,
                detached: false,
                autostop: false,
            };
        let mut fleet = Vec::new();
        for (shape, region) in self.regions.iter().zip(regions) {
            let workers = if self.two_process_groups {
                shape.workers.min(shape.count)
            } else {
                0
            };
            if shape.count > workers {
                fleet.push(group(region, "app", shape.count - workers, shape.state));
            }
            if workers > 0 {
                fleet.push(group(region, "worker", workers, shape.state));
            }
        }
        if fleet.is_empty() {
            fleet.push(group(&regions[0], "app", 0, MachineState::Started));
        }
        if self.rare.detached > 0 {
            fleet.push(FleetGroup {
                detached: true,
                ..group(
                    &regions[0],
                    "app",
                    self.rare.detached,
                    MachineState::Started,
                )
            });
        }
        fleet
    }
}

/// API calls a deploy makes one after another per round of its pools (lease, launch, the wait
/// calls, uncordon, cordon, stop, destroy, release and the checks between them), a generous count.
pub const CALLS_PER_ROUND: u32 = 12;

/// `deploy-terminates`' bound for a fuzz case (written into its file as `[run]
/// deploy_time_bound`): the harness's default (three wait timeouts and six minutes) plus the API
/// calls a deploy must make in sequence — [`CALLS_PER_ROUND`] for each round of its pools of
/// `max_concurrent` over the fleet — times the slowest round trip the case allows (twice the
/// API's latency bound and the longest `api-slow` extra). Without it a slow API made
/// `deploy-terminates` fail on deploys that were only waiting for replies.
pub fn deploy_time_bound(scenario: &Scenario) -> Duration {
    let first = &scenario.deploys[0];
    let machines = scenario.initial_machine_count().max(1);
    let pool = first.max_concurrent.unwrap_or(1).max(1) as u32;
    let rounds = machines.div_ceil(pool) + 1;
    let latency = scenario
        .api
        .latency
        .upper_bound()
        .unwrap_or(Duration::from_secs(10));
    let slow = scenario
        .faults
        .iter()
        .filter_map(|fault| match fault {
            FaultSpec::ApiSlow { extra, .. } => extra.upper_bound(),
            _ => None,
        })
        .max()
        .unwrap_or(Duration::ZERO);
    let round_trip = (latency + slow).saturating_mul(2);
    crate::platform::deployer::derived_time_bound(first)
        .saturating_add(round_trip.saturating_mul(CALLS_PER_ROUND * rounds))
}

/// A drawn fault mapped onto a fleet of `initial` machines, `deploys` deploys and proxies in
/// `regions`: indexes wrap around (a region drawn from [`REGIONS`] by its position); a fault that
/// needs an initial machine or a proxy is dropped when there is none.
pub fn resolve(
    fault: &FaultSpec,
    initial: u32,
    deploys: u32,
    regions: &[String],
) -> Option<FaultSpec> {
    let deploy = |index: u32| index % deploys;
    let target = |target: MachineTarget| match target {
        MachineTarget::Initial(_) if initial == 0 => None,
        MachineTarget::Initial(index) => Some(MachineTarget::Initial(index % initial)),
        MachineTarget::Green { deploy: d, index } => Some(MachineTarget::Green {
            deploy: deploy(d),
            index: index % initial.max(1),
        }),
        MachineTarget::AllGreens { deploy: d } => {
            Some(MachineTarget::AllGreens { deploy: deploy(d) })
        }
    };
    let mut fault = fault.clone();
    match &mut fault {
        FaultSpec::ApiError {
            deploy: d, machine, ..
        } => {
            *d = d.map(deploy);
            if let Some(which) = machine {
                *machine = Some(target(*which)?);
            }
        }
        FaultSpec::MachineCrash { target: which, .. }
        | FaultSpec::Unhealthy { target: which }
        | FaultSpec::LeaseHeld { target: which, .. }
        | FaultSpec::StopHangs { target: which, .. }
        | FaultSpec::EmptyImageRef { target: which, .. }
        | FaultSpec::HostNotOk { target: which, .. }
        | FaultSpec::SlowBoot { target: which, .. }
        | FaultSpec::BootFailure { target: which }
        | FaultSpec::CrashLoop { target: which, .. }
        | FaultSpec::ChecksFail { target: which, .. }
        | FaultSpec::ChecksFlap { target: which, .. }
        | FaultSpec::ManualDestroy { target: which, .. } => *which = target(*which)?,
        FaultSpec::ApiAmbiguous {
            deploy: d, machine, ..
        } => {
            *d = d.map(deploy);
            if let Some(which) = machine {
                *machine = Some(target(*which)?);
            }
        }
        FaultSpec::DeployerKill { deploy: d, .. }
        | FaultSpec::DeployerAbort { deploy: d, .. }
        | FaultSpec::DeployerStall { deploy: d, .. } => *d = deploy(*d),
        FaultSpec::CapacityError { deploy: d, .. }
        | FaultSpec::ApiSlow { deploy: d, .. }
        | FaultSpec::ApiPartition { deploy: d, .. }
        | FaultSpec::OrgLimit { deploy: d } => *d = d.map(deploy),
        FaultSpec::ProxyStale { region, .. } => {
            if !regions.contains(region) {
                let position = REGIONS.iter().position(|code| code == region).unwrap_or(0);
                *region = regions.get(position % regions.len().max(1))?.clone();
            }
        }
        FaultSpec::PropagationTail { .. } | FaultSpec::StaleList { .. } => {}
    }
    Some(fault)
}

/// Everything a case does not vary: the app, its checks, machine and API behaviour (defaults).
const BASE: &str = r#"
[scenario]
name = "fuzz"

[app]
name = "fuzzapp"
image = "registry.fly.io/fuzzapp:deployment-01"

[[app.checks]]
name = "alive"
kind = "http"
interval = "10s"
grace_period = "5s"

[[fleet]]
region = "iad"
count = 1

[[deploy]]
image = "registry.fly.io/fuzzapp:deployment-02"
"#;

fn base() -> Scenario {
    crate::scenario::parse(Path::new("fuzz.toml"), BASE).expect("the fuzz base scenario is valid")
}

// ---------------------------------------------------------------------------------------------
// Strategies.

/// The whole case.
pub fn fuzz_case() -> impl Strategy<Value = FuzzCase> {
    (
        prop::collection::vec(region_shape(), 1..=REGIONS.len()),
        prop::bool::weighted(0.3),
        seconds(30, 300),
        prop::option::weighted(0.7, 1..=16usize),
        (1u32..=20).prop_map(|rate| f64::from(rate) / 2.0),
        propagation(),
        prop::option::weighted(0.4, seconds(0, 60)),
        rare(),
        swarm_and_faults(),
    )
        .prop_map(
            |(
                regions,
                two_process_groups,
                wait_timeout,
                max_concurrent,
                traffic_rate,
                propagation,
                second_deploy,
                rare,
                (swarm, faults),
            )| FuzzCase {
                regions,
                two_process_groups,
                wait_timeout,
                max_concurrent,
                traffic_rate,
                propagation,
                second_deploy,
                rare,
                swarm,
                faults,
            },
        )
}

/// The rare settings, each on with probability [`RARE_ON`]; each shrinks to off.
fn rare() -> impl Strategy<Value = Rare> {
    let skew = prop_oneof![-90i64..=-1, 1i64..=90];
    (
        prop::bool::weighted(RARE_ON),
        prop::option::weighted(RARE_ON, skew),
        prop::option::weighted(RARE_ON, 1..=2u32),
        prop::option::weighted(RARE_ON, seconds(0, 20)),
    )
        .prop_map(
            |(same_image, clock_skew_seconds, detached, concurrent_after)| Rare {
                same_image,
                clock_skew_seconds,
                detached: detached.unwrap_or(0),
                concurrent_after,
            },
        )
}

/// A case and a simulation seed. The seed does not shrink: no seed is simpler than another, and
/// a minimal case keeps the seed it failed with.
pub fn fuzz_input() -> impl Strategy<Value = (FuzzCase, u64)> {
    (fuzz_case(), (0..1_000_000u64).no_shrink())
}

fn region_shape() -> impl Strategy<Value = RegionShape> {
    (
        0..=MACHINES_PER_REGION_MAX,
        0..=MACHINES_PER_REGION_MAX,
        prop_oneof![
            6 => Just(MachineState::Started),
            2 => Just(MachineState::Stopped),
            1 => Just(MachineState::Suspended),
            1 => Just(MachineState::Created),
        ],
    )
        .prop_map(|(count, workers, state)| RegionShape {
            count,
            workers,
            state,
        })
}

/// The swarm first, then faults drawn only from its kinds.
fn swarm_and_faults() -> impl Strategy<Value = (Swarm, Vec<FaultSpec>)> {
    // About 5 kinds on per case (of 24), so most cases leave most kinds out (swarm testing).
    let kinds =
        FaultKind::ALL.map(|kind| prop::option::weighted(SWARM_KIND_ON, (Just(kind), 1..=3u8)));
    kinds
        .prop_map(|choices| Swarm {
            kinds: choices.into_iter().flatten().collect(),
        })
        .prop_flat_map(|swarm| {
            let faults = if swarm.kinds.is_empty() {
                Just(Vec::new()).boxed()
            } else {
                let draws: Vec<BoxedStrategy<FaultSpec>> = swarm
                    .kinds
                    .iter()
                    .map(|(kind, strength)| kind.draw(*strength))
                    .collect();
                prop::collection::vec(Union::new(draws), 0..=FAULTS_MAX).boxed()
            };
            (Just(swarm), faults)
        })
}

/// A whole number of seconds in `min..=max`.
fn seconds(min: u64, max: u64) -> impl Strategy<Value = Duration> + Clone {
    (min..=max).prop_map(Duration::from_secs)
}

/// A time since the start of the run, in tenths of a second up to `max_seconds`.
fn time(max_seconds: u64) -> impl Strategy<Value = Duration> + Clone {
    (0..=max_seconds * 10).prop_map(|tenths| Duration::from_millis(tenths * 100))
}

/// A rate or probability in (0, 1], whole percents up to `max` (clamped to 100).
fn percent(max: u64) -> impl Strategy<Value = f64> {
    (1..=max.clamp(1, 100)).prop_map(|percent| percent as f64 / 100.0)
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![Just(503u16), Just(500), Just(408), Just(429), Just(502)]
}

/// A window of the run: a start in the first 150 s, a duration (longer when stronger) or, at
/// strength 3, sometimes the rest of the run.
fn window(strength: u64) -> impl Strategy<Value = Window> {
    let duration = seconds(1, 30 * strength).prop_map(Some);
    let duration = if strength >= 3 {
        prop_oneof![4 => duration, 1 => Just(None)].boxed()
    } else {
        duration.boxed()
    };
    (time(150), duration).prop_map(|(start, duration)| Window { start, duration })
}

/// A duration in seconds that shrinks toward `longest` (the weak end: a long crash-loop or flap
/// period), down to `longest - range + 1` at the strong end.
fn weakest_first(longest: u64, range: u64) -> impl Strategy<Value = Duration> {
    let range = range.clamp(1, longest);
    (0..range).prop_map(move |shorter| Duration::from_secs(longest - shorter))
}

/// An extra delay: uniform, up to `max_seconds` (shrinks toward short).
fn delay(max_seconds: u64) -> impl Strategy<Value = Distribution> {
    (1..=max_seconds.max(1), 0..=10u64).prop_map(|(high, spread)| {
        let max = Duration::from_secs(high);
        let min = max * spread.min(9) as u32 / 10;
        Distribution::Uniform { min, max }
    })
}

/// A propagation tail: delays up to 10 s × strength, or (one draw in four, S4) a long tail of
/// 12-45 s that outlasts bluegreen's fixed 10 s waits. Shrinks toward the short kind.
fn tail_delay(strength: u64) -> impl Strategy<Value = Distribution> {
    let short = (1..=10 * strength, 0..=10u64).prop_map(|(high, spread)| {
        let max = Duration::from_secs(high);
        let min = max * spread.min(9) as u32 / 10;
        Distribution::Uniform { min, max }
    });
    let long = (12..=30u64, 0..=15u64).prop_map(|(low, width)| Distribution::Uniform {
        min: Duration::from_secs(low),
        max: Duration::from_secs(low + width),
    });
    prop_oneof![3 => short, 1 => long]
}

fn propagation() -> impl Strategy<Value = Distribution> {
    prop_oneof![
        // Log-normal: median 0.1-5 s, p99 one to four times the median, clamped at 3 × p99.
        (1..=50u64, 1..=4u32).prop_map(|(tenths, spread)| {
            let median = Duration::from_millis(tenths * 100);
            let p99 = median * spread;
            Distribution::lognormal(median, p99, Some(p99 * 3))
        }),
        (0..=50u64, 0..=100u64).prop_map(|(low, width)| Distribution::Uniform {
            min: Duration::from_millis(low * 100),
            max: Duration::from_millis((low + width) * 100),
        }),
    ]
}

/// Any machine: an initial one, a green of a deploy, or all greens of a deploy.
fn target() -> impl Strategy<Value = MachineTarget> {
    prop_oneof![
        (0..64u32).prop_map(MachineTarget::Initial),
        (0..2u32, 0..64u32).prop_map(|(deploy, index)| MachineTarget::Green { deploy, index }),
        (0..2u32).prop_map(|deploy| MachineTarget::AllGreens { deploy }),
    ]
}

fn operation() -> impl Strategy<Value = Operation> {
    prop::sample::select(Operation::ALL.to_vec())
}

/// The phases a deployer fault may wait for: `Phase::ALL` without the org-limit and
/// checks-required gates, the lease release and completion, which the generator has left out
/// since it was written. Keeping the same phases in the same order keeps every fuzz seed's cases.
fn fault_phases() -> Vec<Phase> {
    Phase::ALL
        .into_iter()
        .filter(|phase| {
            !matches!(
                phase,
                Phase::OrgLimitCheck
                    | Phase::ChecksRequired
                    | Phase::ReleaseLeases
                    | Phase::Complete
            )
        })
        .collect()
}

/// A time in the first 150 s, or a phase of the deploy and a delay after it starts (up to
/// 5 s × strength).
fn trigger(strength: u64) -> impl Strategy<Value = Trigger> {
    prop_oneof![
        1 => time(150).prop_map(Trigger::At),
        3 => (prop::sample::select(fault_phases()), time(5 * strength))
            .prop_map(|(phase, after)| Trigger::Phase { phase, after }),
    ]
}
