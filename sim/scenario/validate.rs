//! From the raw file to the validated `Scenario`: defaults, ranges and cross-references, section by
//! section. The first error wins; each names the offending value's position and field.

use std::collections::BTreeMap;
use std::ops::Range;
use std::str::FromStr;
use std::time::Duration;

use toml::Spanned;

use super::error::{ScenarioError, Source};
use super::model::*;
use super::raw::*;
use super::values::*;
use crate::api::{CheckConfig, CheckKind, MachineState, Phase};
use crate::check::Invariant;
use crate::deploy::{DeployOutcome, DeployParams, StrategyName};
use crate::engine::random::Distribution;

/// The largest `count` of one `[[fleet]]` entry.
pub const MAX_GROUP_COUNT: i64 = 10_000;
/// The highest traffic rate of one region, in requests per second.
pub const MAX_RATE: f64 = 100_000.0;

pub(crate) fn scenario(src: &Source, raw: RawFile) -> Checked<Scenario> {
    let app = app(src, &raw.app)?;
    let machine = machine(src, raw.machine.as_ref())?;
    let fleet = fleet(src, &raw.fleet)?;
    let run = run(src, raw.run.as_ref())?;
    check_machine_limit(src, &raw.fleet, run.machine_limit)?;
    let proxy = proxy(src, raw.proxy.as_ref(), &fleet, raw.traffic.as_ref())?;
    let traffic = traffic(src, raw.traffic.as_ref(), &proxy.regions)?;
    let deploys = deploys(src, &raw.deploy)?;
    let initial = (total_count(&fleet), deploys.len());
    let faults = raw
        .faults
        .iter()
        .enumerate()
        .map(|(index, fault)| self::fault(src, &format!("faults[{index}]"), fault, initial))
        .collect::<Checked<Vec<_>>>()?;
    Ok(Scenario {
        path: src.file.to_path_buf(),
        name: non_empty(src, "scenario.name", &raw.scenario.name)?,
        description: raw.scenario.description.unwrap_or_default(),
        app,
        machine,
        fleet,
        api: api(src, raw.api.as_ref())?,
        proxy,
        traffic,
        deploys,
        faults,
        run,
        expect: expect(src, raw.expect.as_ref(), initial.1)?,
    })
}

fn total_count(fleet: &[FleetGroup]) -> u32 {
    fleet
        .iter()
        .fold(0u32, |sum, group| sum.saturating_add(group.count))
}

fn app(src: &Source, raw: &RawApp) -> Checked<AppSpec> {
    let mut checks: Vec<CheckConfig> = Vec::new();
    for (index, check) in raw.checks.iter().enumerate() {
        let field = format!("app.checks[{index}]");
        let config = self::check(src, &field, check)?;
        if checks.iter().any(|earlier| earlier.name == config.name) {
            let message = format!("duplicate check name `{}`", config.name);
            return Err(src.error(&check.name.span(), format!("{field}.name"), message));
        }
        checks.push(config);
    }
    Ok(AppSpec {
        name: non_empty(src, "app.name", &raw.name)?,
        image: non_empty(src, "app.image", &raw.image)?,
        checks,
    })
}

fn check(src: &Source, field: &str, raw: &RawCheck) -> Checked<CheckConfig> {
    let kind = match raw.kind.as_ref() {
        None => CheckKind::Http,
        Some(text) => match text.get_ref().as_str() {
            "http" => CheckKind::Http,
            "tcp" => CheckKind::Tcp,
            other => {
                let message = format!("unknown check kind `{other}` (known: http, tcp)");
                return Err(src.error(&text.span(), format!("{field}.kind"), message));
            }
        },
    };
    Ok(CheckConfig {
        name: non_empty(src, &format!("{field}.name"), &raw.name)?,
        kind,
        interval: optional_duration(src, &format!("{field}.interval"), raw.interval.as_ref())?,
        grace_period: optional_duration(
            src,
            &format!("{field}.grace_period"),
            raw.grace_period.as_ref(),
        )?,
        timeout: optional_duration(src, &format!("{field}.timeout"), raw.timeout.as_ref())?,
    })
}

fn lognormal(median_ms: u64, p99_ms: u64, max_ms: u64) -> Distribution {
    Distribution::LogNormal {
        median: Duration::from_millis(median_ms),
        p99: Duration::from_millis(p99_ms),
        max: Some(Duration::from_millis(max_ms)),
    }
}

fn machine(src: &Source, raw: Option<&RawMachine>) -> Checked<MachineBehaviour> {
    let pick = |get: fn(&RawMachine) -> Option<&SpannedDistribution>| raw.and_then(get);
    Ok(MachineBehaviour {
        boot_time: distribution_or(
            src,
            "machine.boot_time",
            pick(|m| m.boot_time.as_ref()),
            lognormal(1_500, 4_000, 10_000),
        )?,
        app_ready_time: distribution_or(
            src,
            "machine.app_ready_time",
            pick(|m| m.app_ready_time.as_ref()),
            lognormal(2_000, 6_000, 15_000),
        )?,
        stop_time: distribution_or(
            src,
            "machine.stop_time",
            pick(|m| m.stop_time.as_ref()),
            lognormal(1_000, 3_000, 10_000),
        )?,
        kill_timeout: duration_or(
            src,
            "machine.kill_timeout",
            raw.and_then(|m| m.kill_timeout.as_ref()),
            Duration::from_secs(5),
        )?,
        destroy_time: distribution_or(
            src,
            "machine.destroy_time",
            pick(|m| m.destroy_time.as_ref()),
            Distribution::Constant(Duration::from_millis(500)),
        )?,
    })
}

fn fleet(src: &Source, raw: &Spanned<Vec<RawFleet>>) -> Checked<Vec<FleetGroup>> {
    if raw.get_ref().is_empty() {
        let message = "at least one [[fleet]] entry is required (its count may be 0)";
        return Err(src.error(&raw.span(), "fleet", message));
    }
    raw.get_ref()
        .iter()
        .enumerate()
        .map(|(index, group)| fleet_group(src, &format!("fleet[{index}]"), group))
        .collect()
}

fn fleet_group(src: &Source, field: &str, raw: &RawFleet) -> Checked<FleetGroup> {
    let count = integer_in(
        src,
        &format!("{field}.count"),
        &raw.count,
        0..=MAX_GROUP_COUNT,
    )?;
    Ok(FleetGroup {
        region: region(src, &format!("{field}.region"), &raw.region)?,
        process_group: match raw.process_group.as_ref() {
            Some(text) => non_empty(src, &format!("{field}.process_group"), text)?,
            None => "app".to_string(),
        },
        count: u32::try_from(count).unwrap_or(u32::MAX),
        state: raw
            .state
            .as_ref()
            .map_or(Ok(MachineState::Started), |text| {
                initial_state(src, &format!("{field}.state"), text)
            })?,
        image: raw
            .image
            .as_ref()
            .map(|text| non_empty(src, &format!("{field}.image"), text))
            .transpose()?,
        metadata: raw.metadata.clone(),
        checks: raw.checks.unwrap_or(true),
        detached: false,
    })
}

/// The states a machine may be in when the run starts.
fn initial_state(src: &Source, field: &str, text: &Text) -> Checked<MachineState> {
    let states = [
        MachineState::Started,
        MachineState::Stopped,
        MachineState::Suspended,
        MachineState::Created,
    ];
    let found = states
        .into_iter()
        .find(|state| state.as_str() == text.get_ref());
    found.ok_or_else(|| {
        let message = format!(
            "unknown initial state `{}` (known: started, stopped, suspended, created)",
            text.get_ref()
        );
        src.error(&text.span(), field, message)
    })
}

/// N may not exceed `run.machine_limit`: point at the group whose count crosses it.
fn check_machine_limit(src: &Source, raw: &Spanned<Vec<RawFleet>>, limit: u32) -> Checked<()> {
    let mut total: i64 = 0;
    for (index, group) in raw.get_ref().iter().enumerate() {
        total = total.saturating_add(*group.count.get_ref());
        if total > i64::from(limit) {
            let message = format!(
                "the initial fleet reaches {total} machines here, more than run.machine_limit ({limit})"
            );
            return Err(src.error(
                &group.count.span(),
                format!("fleet[{index}].count"),
                message,
            ));
        }
    }
    Ok(())
}

fn api(src: &Source, raw: Option<&RawApi>) -> Checked<ApiBehaviour> {
    let default_latency = lognormal(25, 150, 1_000);
    let mut operation_latency = BTreeMap::new();
    for (name, operation) in raw.map(|api| &api.operations).into_iter().flatten() {
        let field = format!("api.operations.{name}");
        let Some(key) = Operation::from_name(name) else {
            let known: Vec<&str> = Operation::ALL.iter().map(|op| op.as_str()).collect();
            let message = format!("unknown operation `{name}` (known: {})", known.join(", "));
            return Err(src.error(&operation.span(), field, message));
        };
        let latency = distribution(
            src,
            &format!("{field}.latency"),
            &operation.get_ref().latency,
        )?;
        operation_latency.insert(key, latency);
    }
    Ok(ApiBehaviour {
        latency: distribution_or(
            src,
            "api.latency",
            raw.and_then(|api| api.latency.as_ref()),
            default_latency,
        )?,
        operation_latency,
        list_lag: duration_or(
            src,
            "api.list_lag",
            raw.and_then(|api| api.list_lag.as_ref()),
            Duration::from_millis(500),
        )?,
        wait_timeout_max: positive_duration_or(
            src,
            "api.wait_timeout_max",
            raw.and_then(|api| api.wait_timeout_max.as_ref()),
            Duration::from_secs(60),
        )?,
    })
}

fn proxy(
    src: &Source,
    raw: Option<&RawProxy>,
    fleet: &[FleetGroup],
    traffic: Option<&RawTraffic>,
) -> Checked<ProxyBehaviour> {
    let regions = match raw.and_then(|proxy| proxy.regions.as_ref()) {
        Some(regions) => proxy_regions(src, regions)?,
        None => default_proxy_regions(fleet, traffic),
    };
    Ok(ProxyBehaviour {
        regions,
        propagation: distribution_or(
            src,
            "proxy.propagation",
            raw.and_then(|proxy| proxy.propagation.as_ref()),
            lognormal(1_000, 5_000, 9_000),
        )?,
        connect_retries: raw.and_then(|proxy| proxy.connect_retries).unwrap_or(3),
        retry_delay: duration_or(
            src,
            "proxy.retry_delay",
            raw.and_then(|proxy| proxy.retry_delay.as_ref()),
            Duration::from_millis(10),
        )?,
        hold_timeout: duration_or(
            src,
            "proxy.hold_timeout",
            raw.and_then(|proxy| proxy.hold_timeout.as_ref()),
            Duration::from_secs(5),
        )?,
    })
}

/// Explicit `proxy.regions`: valid codes, no duplicates, not empty.
fn proxy_regions(src: &Source, raw: &[Text]) -> Checked<Vec<String>> {
    let mut regions: Vec<String> = Vec::new();
    for (index, text) in raw.iter().enumerate() {
        let field = format!("proxy.regions[{index}]");
        let region = region(src, &field, text)?;
        if regions.contains(&region) {
            return Err(src.error(&text.span(), field, format!("duplicate region `{region}`")));
        }
        regions.push(region);
    }
    Ok(regions)
}

/// Every region with machines or traffic, sorted and deduplicated.
fn default_proxy_regions(fleet: &[FleetGroup], traffic: Option<&RawTraffic>) -> Vec<String> {
    let fleet_regions = fleet.iter().map(|group| group.region.clone());
    let traffic_regions = traffic.into_iter().flat_map(|traffic| {
        traffic
            .regions
            .iter()
            .map(|region| region.region.get_ref().clone())
    });
    let mut regions: Vec<String> = fleet_regions.chain(traffic_regions).collect();
    regions.sort();
    regions.dedup();
    regions
}

fn traffic(src: &Source, raw: Option<&RawTraffic>, proxies: &[String]) -> Checked<TrafficSpec> {
    let mut regions: Vec<RegionTraffic> = Vec::new();
    for (index, entry) in raw
        .map(|traffic| traffic.regions.as_slice())
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let field = format!("traffic.regions[{index}]");
        let region = region_traffic(src, &field, entry, proxies)?;
        if regions
            .iter()
            .any(|earlier| earlier.region == region.region)
        {
            let message = format!("duplicate traffic region `{}`", region.region);
            return Err(src.error(&entry.region.span(), format!("{field}.region"), message));
        }
        regions.push(region);
    }
    Ok(TrafficSpec {
        service_time: distribution_or(
            src,
            "traffic.service_time",
            raw.and_then(|traffic| traffic.service_time.as_ref()),
            lognormal(20, 150, 2_000),
        )?,
        regions,
    })
}

fn region_traffic(
    src: &Source,
    field: &str,
    raw: &RawRegionTraffic,
    proxies: &[String],
) -> Checked<RegionTraffic> {
    let region_field = format!("{field}.region");
    let region = region(src, &region_field, &raw.region)?;
    if !proxies.contains(&region) {
        let message = format!(
            "region `{region}` has no proxy (proxy.regions: {})",
            proxies.join(", ")
        );
        return Err(src.error(&raw.region.span(), region_field, message));
    }
    let rate = *raw.rate.get_ref();
    if !(rate > 0.0 && rate <= MAX_RATE) {
        let message = format!("rate {rate} is out of range: must be greater than 0 and at most {MAX_RATE} requests per second");
        return Err(src.error(&raw.rate.span(), format!("{field}.rate"), message));
    }
    Ok(RegionTraffic {
        region,
        rate_per_second: rate,
    })
}

fn deploys(src: &Source, raw: &Spanned<Vec<RawDeploy>>) -> Checked<Vec<DeploySpec>> {
    if raw.get_ref().is_empty() {
        return Err(src.error(
            &raw.span(),
            "deploy",
            "at least one [[deploy]] entry is required",
        ));
    }
    raw.get_ref()
        .iter()
        .enumerate()
        .map(|(index, deploy)| self::deploy(src, index, deploy))
        .collect()
}

fn deploy(src: &Source, index: usize, raw: &RawDeploy) -> Checked<DeploySpec> {
    let field = format!("deploy[{index}]");
    // Omitted: the strategy's own default (8 at HEAD, 16 for the 2024 versions).
    let max_concurrent = match raw.max_concurrent.as_ref() {
        Some(value) => Some(integer_in(
            src,
            &format!("{field}.max_concurrent"),
            value,
            1..=MAX_GROUP_COUNT,
        )?),
        None => None,
    };
    Ok(DeploySpec {
        strategy: strategy(src, &field, raw.strategy.as_ref())?,
        image: non_empty(src, &format!("{field}.image"), &raw.image)?,
        start: deploy_start(src, &field, index, raw)?,
        wait_timeout: positive_duration_or(
            src,
            &format!("{field}.wait_timeout"),
            raw.wait_timeout.as_ref(),
            DeployParams::DEFAULT_WAIT_TIMEOUT,
        )?,
        lease_ttl: lease_ttl(src, &field, raw.lease_ttl.as_ref())?,
        max_concurrent: max_concurrent.map(|value| usize::try_from(value).unwrap_or(1)),
        max_unavailable: raw
            .max_unavailable
            .as_ref()
            .map(|value| {
                super::values::max_unavailable(src, &format!("{field}.max_unavailable"), value)
            })
            .transpose()?,
        signal: signal(src, &field, raw.signal.as_ref())?,
        clock_skew_seconds: raw.clock_skew_seconds.unwrap_or(0),
        expect_outcome: raw
            .expect_outcome
            .as_ref()
            .map(|text| outcome(src, &format!("{field}.expect_outcome"), text))
            .transpose()?,
        expect_error: raw.expect_error.clone(),
    })
}

fn strategy(src: &Source, field: &str, raw: Option<&Text>) -> Checked<StrategyName> {
    match raw {
        None => Ok(StrategyName::ALL[0]),
        Some(text) => StrategyName::from_str(text.get_ref())
            .map_err(|message| src.error(&text.span(), format!("{field}.strategy"), message)),
    }
}

/// `start` and `after_previous` are alternatives; by default deploys follow one another.
fn deploy_start(src: &Source, field: &str, index: usize, raw: &RawDeploy) -> Checked<DeployStart> {
    match (raw.start.as_ref(), raw.after_previous.as_ref()) {
        (Some(_), Some(after)) => Err(src.error(
            &after.span(),
            format!("{field}.after_previous"),
            "give either `start` or `after_previous`, not both",
        )),
        (Some(start), None) => Ok(DeployStart::At(duration(
            src,
            &format!("{field}.start"),
            start,
        )?)),
        (None, Some(after)) => Ok(DeployStart::AfterPrevious(duration(
            src,
            &format!("{field}.after_previous"),
            after,
        )?)),
        (None, None) if index == 0 => Ok(DeployStart::At(Duration::from_secs(5))),
        (None, None) => Ok(DeployStart::AfterPrevious(Duration::from_secs(10))),
    }
}

/// flyctl refreshes the lease every TTL − 1 s, so a TTL of 1 s or less could never be kept.
fn lease_ttl(src: &Source, field: &str, raw: Option<&Text>) -> Checked<Duration> {
    let field = format!("{field}.lease_ttl");
    let ttl = duration_or(src, &field, raw, DeployParams::DEFAULT_LEASE_TTL)?;
    match raw {
        Some(text) if ttl <= Duration::from_secs(1) => Err(src.error(
            &text.span(),
            field,
            format!("lease_ttl ({}) must be longer than 1s", show(ttl)),
        )),
        _ => Ok(ttl),
    }
}

fn signal(src: &Source, field: &str, raw: Option<&Text>) -> Checked<Option<String>> {
    let Some(text) = raw else { return Ok(None) };
    let value = text.get_ref();
    if value.len() > 3 && value.starts_with("SIG") {
        return Ok(Some(value.clone()));
    }
    let message =
        format!("invalid signal `{value}`: expected a name starting with `SIG`, like `SIGINT`");
    Err(src.error(&text.span(), format!("{field}.signal"), message))
}

/// The outcomes a scenario may expect of a deploy.
const OUTCOMES: [DeployOutcome; 4] = [
    DeployOutcome::Succeeded,
    DeployOutcome::RolledBack,
    DeployOutcome::Failed,
    DeployOutcome::RollbackFailed,
];

fn outcome(src: &Source, field: &str, text: &Text) -> Checked<DeployOutcome> {
    let found = OUTCOMES
        .into_iter()
        .find(|outcome| outcome.as_str() == text.get_ref());
    found.ok_or_else(|| unknown_outcome(src, field, text, &[]))
}

fn unknown_outcome(src: &Source, field: &str, text: &Text, also: &[&str]) -> ScenarioError {
    let known: Vec<&str> = OUTCOMES
        .iter()
        .map(|outcome| outcome.as_str())
        .chain(also.iter().copied())
        .collect();
    let message = format!(
        "unknown outcome `{}` (known: {})",
        text.get_ref(),
        known.join(", ")
    );
    src.error(&text.span(), field, message)
}

fn run(src: &Source, raw: Option<&RawRun>) -> Checked<RunSpec> {
    let machine_limit = match raw.and_then(|run| run.machine_limit.as_ref()) {
        Some(value) => integer_in(src, "run.machine_limit", value, 1..=i64::from(u32::MAX))?,
        None => 10_000,
    };
    Ok(RunSpec {
        seed: raw.and_then(|run| run.seed).unwrap_or(1),
        time_limit: positive_duration_or(
            src,
            "run.time_limit",
            raw.and_then(|run| run.time_limit.as_ref()),
            Duration::from_secs(2 * 3600),
        )?,
        event_limit: match raw.and_then(|run| run.event_limit.as_ref()) {
            Some(value) => integer_in(src, "run.event_limit", value, 1..=i64::MAX)?.unsigned_abs(),
            None => 50_000_000,
        },
        machine_limit: u32::try_from(machine_limit).unwrap_or(u32::MAX),
        settle: duration_or(
            src,
            "run.settle",
            raw.and_then(|run| run.settle.as_ref()),
            Duration::from_secs(30),
        )?,
        deploy_time_bound: optional_duration(
            src,
            "run.deploy_time_bound",
            raw.and_then(|run| run.deploy_time_bound.as_ref()),
        )?,
    })
}

fn expect(src: &Source, raw: Option<&RawExpect>, deploys: usize) -> Checked<Expectations> {
    let violate_raw = raw.map(|expect| expect.violate.as_slice());
    let violate = invariants(src, "expect.violate", violate_raw.unwrap_or_default())?;
    let hold = hold(
        src,
        "expect",
        raw.and_then(|expect| expect.hold.as_deref()),
        &violate,
    )?;
    let exit_status = exit_status(
        src,
        "expect",
        raw.and_then(|expect| expect.exit_status.as_ref()),
    )?;
    let by_strategy = match raw {
        Some(raw) if !raw.strategies.is_empty() => strategies(src, &raw.strategies, deploys)?,
        _ => BTreeMap::new(),
    };
    Ok(Expectations {
        hold,
        violate,
        output_contains: raw
            .map(|expect| expect.output_contains.clone())
            .unwrap_or_default(),
        exit_status,
        by_strategy,
    })
}

/// `{prefix}.exit_status`: 0 or 1.
fn exit_status(src: &Source, prefix: &str, raw: Option<&Spanned<i64>>) -> Checked<Option<i32>> {
    let status = raw
        .map(|value| integer_in(src, &format!("{prefix}.exit_status"), value, 0..=1))
        .transpose()?;
    Ok(status.map(|status| if status == 0 { 0 } else { 1 }))
}

/// `{prefix}.hold` as written, or by default every invariant not in `violate`.
fn hold(
    src: &Source,
    prefix: &str,
    raw: Option<&[Text]>,
    violate: &[Invariant],
) -> Checked<Vec<Invariant>> {
    match raw {
        Some(raw) => explicit_hold(src, prefix, raw, violate),
        None => Ok(Invariant::ALL
            .into_iter()
            .filter(|invariant| !violate.contains(invariant))
            .collect()),
    }
}

/// `{prefix}.hold` as written: it may not share an invariant with `{prefix}.violate`.
fn explicit_hold(
    src: &Source,
    prefix: &str,
    raw: &[Text],
    violate: &[Invariant],
) -> Checked<Vec<Invariant>> {
    let hold = invariants(src, &format!("{prefix}.hold"), raw)?;
    let both = hold
        .iter()
        .zip(raw)
        .enumerate()
        .find(|(_, (invariant, _))| violate.contains(invariant));
    match both {
        Some((index, (invariant, text))) => {
            let message =
                format!("invariant `{invariant}` is in both {prefix}.hold and {prefix}.violate");
            Err(src.error(&text.span(), format!("{prefix}.hold[{index}]"), message))
        }
        None => Ok(hold),
    }
}

/// `[expect.strategies."<name>"]` tables, checked in file order so that of two names for one
/// strategy (`bluegreen` and its alias `bluegreen@2026-08`) the second is reported.
fn strategies(
    src: &Source,
    raw: &BTreeMap<String, Spanned<RawStrategyExpect>>,
    deploys: usize,
) -> Checked<BTreeMap<StrategyName, StrategyExpectations>> {
    let key_spans = strategy_key_spans(src);
    let mut entries: Vec<(&String, &Spanned<RawStrategyExpect>, Range<usize>)> = raw
        .iter()
        .map(|(name, table)| {
            let span = key_spans.get(name).cloned().unwrap_or_else(|| table.span());
            (name, table, span)
        })
        .collect();
    entries.sort_by_key(|(_, _, span)| span.start);
    let mut by_strategy: BTreeMap<StrategyName, StrategyExpectations> = BTreeMap::new();
    let mut written: BTreeMap<StrategyName, &String> = BTreeMap::new();
    for (name, table, span) in entries {
        let field = format!("expect.strategies.{name}");
        let strategy = StrategyName::from_str(name)
            .map_err(|message| src.error(&span, field.clone(), message))?;
        if let Some(earlier) = written.get(&strategy) {
            let message = if *earlier == name {
                format!("strategy `{name}` is listed twice")
            } else {
                format!("`{name}` is the same strategy as `{earlier}`, which is listed already")
            };
            return Err(src.error(&span, field, message));
        }
        let expectations = strategy_expectations(src, &field, table.get_ref(), deploys)?;
        written.insert(strategy, name);
        by_strategy.insert(strategy, expectations);
    }
    Ok(by_strategy)
}

/// Where each key of `[expect.strategies]` is written. Empty if the lenient second read fails,
/// which it should not after the strict one succeeded; errors then point at the table instead.
fn strategy_key_spans(src: &Source) -> BTreeMap<String, Range<usize>> {
    let keys: StrategyKeys = toml::from_str(src.text).unwrap_or_default();
    keys.expect
        .map(|expect| expect.strategies)
        .unwrap_or_default()
        .into_keys()
        .map(|key| {
            let span = key.span();
            (key.into_inner(), span)
        })
        .collect()
}

fn strategy_expectations(
    src: &Source,
    field: &str,
    raw: &RawStrategyExpect,
    deploys: usize,
) -> Checked<StrategyExpectations> {
    let violate = invariants(src, &format!("{field}.violate"), &raw.violate)?;
    let hold = hold(src, field, raw.hold.as_deref(), &violate)?;
    let outcomes = match raw.outcomes.as_ref() {
        Some(outcomes) => strategy_outcomes(src, &format!("{field}.outcomes"), outcomes, deploys)?,
        None => Vec::new(),
    };
    Ok(StrategyExpectations {
        hold,
        violate,
        outcomes,
        exit_status: exit_status(src, field, raw.exit_status.as_ref())?,
    })
}

/// One outcome per deploy, in order; `"any"` expects nothing of that deploy.
fn strategy_outcomes(
    src: &Source,
    field: &str,
    raw: &Spanned<Vec<Text>>,
    deploys: usize,
) -> Checked<Vec<Option<DeployOutcome>>> {
    let mut outcomes = Vec::new();
    for (index, text) in raw.get_ref().iter().enumerate() {
        let item = format!("{field}[{index}]");
        if text.get_ref() == "any" {
            outcomes.push(None);
            continue;
        }
        let found = OUTCOMES
            .into_iter()
            .find(|outcome| outcome.as_str() == text.get_ref());
        match found {
            Some(outcome) => outcomes.push(Some(outcome)),
            None => return Err(unknown_outcome(src, &item, text, &["any"])),
        }
    }
    if outcomes.len() != deploys {
        let message = format!(
            "outcomes has {} entries but the scenario has {deploys} deploys: give one outcome per [[deploy]], in order (\"any\" expects nothing of that deploy)",
            outcomes.len()
        );
        return Err(src.error(&raw.span(), field, message));
    }
    Ok(outcomes)
}

/// A list of invariant names, without duplicates.
fn invariants(src: &Source, field: &str, raw: &[Text]) -> Checked<Vec<Invariant>> {
    let mut invariants: Vec<Invariant> = Vec::new();
    for (index, text) in raw.iter().enumerate() {
        let item = format!("{field}[{index}]");
        let invariant = Invariant::from_str(text.get_ref())
            .map_err(|message| src.error(&text.span(), item.clone(), message))?;
        if invariants.contains(&invariant) {
            return Err(src.error(
                &text.span(),
                item,
                format!("invariant `{invariant}` is listed twice"),
            ));
        }
        invariants.push(invariant);
    }
    Ok(invariants)
}

/// The fields of a deployer fault (`deployer-kill`, `deployer-abort`): `at` or `phase` (+ `after`).
const DEPLOYER_FIELDS: &[&str] = &["deploy", "at", "phase", "after"];

/// The fields each kind of fault requires and allows, besides `kind`.
const FAULT_KINDS: [(&str, &[&str], &[&str]); 9] = [
    (
        "api-error",
        &["rate"],
        &[
            "operation",
            "status",
            "start",
            "duration",
            "deploy",
            "machine",
        ],
    ),
    (
        "propagation-tail",
        &["probability", "delay"],
        &["start", "duration"],
    ),
    ("machine-crash", &["machine", "at"], &[]),
    ("unhealthy", &["machine"], &[]),
    ("lease-held", &["machine"], &["owner", "ttl"]),
    ("deployer-kill", &[], DEPLOYER_FIELDS),
    ("deployer-abort", &[], DEPLOYER_FIELDS),
    ("capacity-error", &["after_creates"], &["deploy", "status"]),
    ("stop-hangs", &["machine"], &["duration"]),
];

fn fault(
    src: &Source,
    field: &str,
    raw: &Spanned<RawFault>,
    initial: (u32, usize),
) -> Checked<FaultSpec> {
    let fault = raw.get_ref();
    let kind = fault.kind.get_ref().as_str();
    let Some((_, required, optional)) = FAULT_KINDS.iter().find(|(name, _, _)| *name == kind)
    else {
        let known: Vec<&str> = FAULT_KINDS.iter().map(|(name, _, _)| *name).collect();
        let message = format!("unknown fault kind `{kind}` (known: {})", known.join(", "));
        return Err(src.error(&fault.kind.span(), format!("{field}.kind"), message));
    };
    let check = FieldCheck {
        src,
        field,
        what: format!("a fault of kind `{kind}`"),
        table_span: raw.span(),
    };
    check.check(&fault.present_fields(), required, optional)?;
    let entry = FaultEntry {
        src,
        field,
        raw,
        initial,
    };
    match kind {
        "api-error" => entry.api_error(),
        "propagation-tail" => entry.propagation_tail(),
        "machine-crash" => entry.machine_crash(),
        "unhealthy" => Ok(FaultSpec::Unhealthy {
            target: entry.target()?,
        }),
        "lease-held" => lease_held(src, field, fault, entry.target()?),
        "deployer-kill" => Ok(FaultSpec::DeployerKill {
            deploy: entry.deploy()?.unwrap_or(0),
            trigger: entry.trigger()?,
        }),
        "deployer-abort" => Ok(FaultSpec::DeployerAbort {
            deploy: entry.deploy()?.unwrap_or(0),
            trigger: entry.trigger()?,
        }),
        "capacity-error" => entry.capacity_error(),
        _ => entry.stop_hangs(),
    }
}

/// One `[[faults]]` entry whose fields `FieldCheck` has already checked against its kind.
struct FaultEntry<'a> {
    src: &'a Source<'a>,
    field: &'a str,
    raw: &'a Spanned<RawFault>,
    /// N and the number of deploys, for the machine target.
    initial: (u32, usize),
}

impl FaultEntry<'_> {
    /// A required field. (Fallible rather than unwrapped so the loader cannot panic if the
    /// kind table and this code ever disagree.)
    fn need<'t, T>(&self, value: Option<&'t T>) -> Checked<&'t T> {
        value.ok_or_else(|| {
            let kind = self.raw.get_ref().kind.get_ref();
            let message = format!("incomplete fault of kind `{kind}`");
            self.src.error(&self.raw.span(), self.field, message)
        })
    }

    fn sub(&self, name: &str) -> String {
        format!("{}.{name}", self.field)
    }

    fn target(&self) -> Checked<MachineTarget> {
        let text = self.need(self.raw.get_ref().machine.as_ref())?;
        machine_target(self.src, &self.sub("machine"), text, self.initial)
    }

    /// The optional `machine` of faults that may be narrowed to one machine.
    fn optional_target(&self) -> Checked<Option<MachineTarget>> {
        match self.raw.get_ref().machine.as_ref() {
            Some(text) => Ok(Some(machine_target(
                self.src,
                &self.sub("machine"),
                text,
                self.initial,
            )?)),
            None => Ok(None),
        }
    }

    /// The optional `deploy` index, which must name a `[[deploy]]` entry.
    fn deploy(&self) -> Checked<Option<u32>> {
        self.raw
            .get_ref()
            .deploy
            .as_ref()
            .map(|value| deploy_index(self.src, &self.sub("deploy"), value, self.initial.1))
            .transpose()
    }

    /// An error `status` in 400..=599, or `default`.
    fn status(&self, default: u16) -> Checked<u16> {
        match self.raw.get_ref().status.as_ref() {
            Some(value) => {
                let status = integer_in(self.src, &self.sub("status"), value, 400..=599)?;
                Ok(u16::try_from(status).unwrap_or(default))
            }
            None => Ok(default),
        }
    }

    fn api_error(&self) -> Checked<FaultSpec> {
        let fault = self.raw.get_ref();
        let operation = match fault.operation.as_ref() {
            None => None,
            Some(text) => Some(operation(self.src, &self.sub("operation"), text)?),
        };
        let rate = self.need(fault.rate.as_ref())?;
        Ok(FaultSpec::ApiError {
            operation,
            rate: fraction(self.src, &self.sub("rate"), rate)?,
            status: self.status(503)?,
            window: window(self.src, self.field, fault)?,
            deploy: self.deploy()?,
            machine: self.optional_target()?,
        })
    }

    /// When a deployer fault fires: exactly one of `at` and `phase`; `after` only with `phase`.
    fn trigger(&self) -> Checked<Trigger> {
        let fault = self.raw.get_ref();
        if let (Some(at), Some(phase)) = (fault.at.as_ref(), fault.phase.as_ref()) {
            let (name, second) = if phase.span().start > at.span().start {
                ("phase", phase)
            } else {
                ("at", at)
            };
            return Err(self.src.error(
                &second.span(),
                self.sub(name),
                "give either `at` or `phase`, not both",
            ));
        }
        if let (Some(after), None) = (fault.after.as_ref(), fault.phase.as_ref()) {
            return Err(self.src.error(
                &after.span(),
                self.sub("after"),
                "`after` only applies with `phase` (it delays the fault after the phase starts)",
            ));
        }
        match (fault.at.as_ref(), fault.phase.as_ref()) {
            (Some(at), _) => Ok(Trigger::At(duration(self.src, &self.sub("at"), at)?)),
            (None, Some(text)) => Ok(Trigger::Phase {
                phase: phase(self.src, &self.sub("phase"), text)?,
                after: duration_or(
                    self.src,
                    &self.sub("after"),
                    fault.after.as_ref(),
                    Duration::ZERO,
                )?,
            }),
            (None, None) => {
                let message = format!(
                    "missing field `at` or `phase` (a fault of kind `{}` needs exactly one of them: a time, or a phase of the deploy)",
                    fault.kind.get_ref()
                );
                Err(self.src.error(&self.raw.span(), self.field, message))
            }
        }
    }

    fn capacity_error(&self) -> Checked<FaultSpec> {
        let after_creates = self.need(self.raw.get_ref().after_creates.as_ref())?;
        let after_creates = integer_in(
            self.src,
            &self.sub("after_creates"),
            after_creates,
            0..=i64::from(u32::MAX),
        )?;
        Ok(FaultSpec::CapacityError {
            deploy: self.deploy()?,
            after_creates: u32::try_from(after_creates).unwrap_or(u32::MAX),
            status: self.status(412)?,
        })
    }

    fn stop_hangs(&self) -> Checked<FaultSpec> {
        let text = self.raw.get_ref().duration.as_ref();
        let field = self.sub("duration");
        let duration = optional_duration(self.src, &field, text)?;
        if let (Some(text), Some(Duration::ZERO)) = (text, duration) {
            return Err(self.src.error(
                &text.span(),
                field,
                "must be greater than 0 (leave it out to hang until the machine is destroyed)",
            ));
        }
        Ok(FaultSpec::StopHangs {
            target: self.target()?,
            duration,
        })
    }

    fn propagation_tail(&self) -> Checked<FaultSpec> {
        let fault = self.raw.get_ref();
        let probability = self.need(fault.probability.as_ref())?;
        let delay = self.need(fault.delay.as_ref())?;
        Ok(FaultSpec::PropagationTail {
            probability: fraction(self.src, &self.sub("probability"), probability)?,
            delay: distribution(self.src, &self.sub("delay"), delay)?,
            window: window(self.src, self.field, fault)?,
        })
    }

    fn machine_crash(&self) -> Checked<FaultSpec> {
        let at = self.need(self.raw.get_ref().at.as_ref())?;
        Ok(FaultSpec::MachineCrash {
            target: self.target()?,
            at: duration(self.src, &self.sub("at"), at)?,
        })
    }
}

fn operation(src: &Source, field: &str, text: &Text) -> Checked<Operation> {
    Operation::from_name(text.get_ref()).ok_or_else(|| {
        let known: Vec<&str> = Operation::ALL.iter().map(|op| op.as_str()).collect();
        let message = format!(
            "unknown operation `{}` (known: {})",
            text.get_ref(),
            known.join(", ")
        );
        src.error(&text.span(), field, message)
    })
}

/// A phase of a deploy, by the name `Phase::as_str` gives it (`stop-blues`).
fn phase(src: &Source, field: &str, text: &Text) -> Checked<Phase> {
    let found = Phase::ALL
        .into_iter()
        .find(|phase| phase.as_str() == text.get_ref());
    found.ok_or_else(|| {
        let known: Vec<&str> = Phase::ALL.iter().map(|phase| phase.as_str()).collect();
        let message = format!(
            "unknown phase `{}` (known: {})",
            text.get_ref(),
            known.join(", ")
        );
        src.error(&text.span(), field, message)
    })
}

fn window(src: &Source, field: &str, fault: &RawFault) -> Checked<Window> {
    let start = duration_or(
        src,
        &format!("{field}.start"),
        fault.start.as_ref(),
        Duration::ZERO,
    )?;
    let duration_field = format!("{field}.duration");
    let duration = optional_duration(src, &duration_field, fault.duration.as_ref())?;
    if let (Some(text), Some(Duration::ZERO)) = (fault.duration.as_ref(), duration) {
        return Err(src.error(
            &text.span(),
            duration_field,
            "must be greater than 0 (leave it out for the rest of the run)",
        ));
    }
    Ok(Window { start, duration })
}

/// Only blues exist when the run starts, so only they can have a lease held from the start.
fn lease_held(
    src: &Source,
    field: &str,
    fault: &RawFault,
    target: MachineTarget,
) -> Checked<FaultSpec> {
    if !matches!(target, MachineTarget::Initial(_)) {
        let span = fault
            .machine
            .as_ref()
            .map_or(fault.kind.span(), Spanned::span);
        let message = "a fault of kind `lease-held` needs a machine of the initial fleet (`blue:<i>`): greens do not exist when the run starts";
        return Err(src.error(&span, format!("{field}.machine"), message));
    }
    Ok(FaultSpec::LeaseHeld {
        target,
        owner: match fault.owner.as_ref() {
            Some(text) => non_empty(src, &format!("{field}.owner"), text)?,
            None => "another-deployer".to_string(),
        },
        ttl: positive_duration_or(
            src,
            &format!("{field}.ttl"),
            fault.ttl.as_ref(),
            Duration::from_secs(3600),
        )?,
    })
}
