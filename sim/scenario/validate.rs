//! From the raw file to the validated `Scenario`: defaults, ranges and cross-references, section by
//! section. The first error wins; each names the offending value's position and field.

use std::collections::BTreeMap;
use std::ops::Range;
use std::str::FromStr;
use std::time::Duration;

use super::raw::Spanned;

use super::error::{ScenarioError, Source};
use super::faults::{self, Refs};
use super::model::*;
use super::ranges;
use super::raw::*;
use super::values::*;
use crate::api::{CheckConfig, CheckKind, MachineState};
use crate::check::{Bounds, Invariant};
use crate::deploy::{DeployOutcome, DeployParams, StrategyName};

/// The largest `count` of one `[[fleet]]` entry (`ranges::GROUP_COUNT_MAX`).
pub const MAX_GROUP_COUNT: i64 = super::ranges::GROUP_COUNT_MAX;
/// The highest traffic rate of one region, in requests per second (`ranges::RATE_PER_SECOND_MAX`).
pub const MAX_RATE: f64 = super::ranges::RATE_PER_SECOND_MAX;

pub(crate) fn scenario(src: &Source, raw: RawFile) -> Checked<Scenario> {
    check_lengths(src, &raw)?;
    let app = app(src, &raw.app)?;
    let machine = machine(src, raw.machine.as_ref())?;
    let fleet = fleet(src, &raw.fleet)?;
    let run = run(src, raw.run.as_ref())?;
    check_machine_limit(src, &raw.fleet, run.machine_limit)?;
    let proxy = proxy(src, raw.proxy.as_ref(), &fleet, raw.traffic.as_ref())?;
    let traffic = traffic(src, raw.traffic.as_ref(), &proxy.regions)?;
    let deploys = deploys(src, &raw.deploy, run.time_limit)?;
    let deploys_len = deploys.len();
    let initial = total_count(&fleet);
    let refs = Refs {
        initial,
        deploys: deploys_len,
        proxies: &proxy.regions,
        time_limit: run.time_limit,
        machine_limit: run.machine_limit,
    };
    let faults = raw
        .faults
        .iter()
        .enumerate()
        .map(|(index, fault)| faults::fault(src, &format!("faults[{index}]"), fault, refs))
        .collect::<Checked<Vec<_>>>()?;
    let expect = expect(src, raw.expect.as_ref(), (initial, deploys_len))?;
    check_room_for_greens(src, &raw, &fleet, (&deploys, &expect), run.machine_limit)?;
    Ok(Scenario {
        path: src.file.to_path_buf(),
        overrides: Vec::new(),
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
        check: bounds(src, raw.check.as_ref())?,
        expect,
    })
}

/// The lists of a file are bounded like its numbers (`ranges`): point at the first entry too many.
fn check_lengths(src: &Source, raw: &RawFile) -> Checked<()> {
    let too_many = |span: &Range<usize>, field: String, what: &str, max: usize| {
        let message = format!("too many {what}: at most {max}");
        Err(src.error(span, field, message))
    };
    if let Some(group) = raw.fleet.get_ref().get(ranges::FLEET_GROUPS_MAX) {
        let field = format!("fleet[{}]", ranges::FLEET_GROUPS_MAX);
        return too_many(
            &group.region.span(),
            field,
            "[[fleet]] entries",
            ranges::FLEET_GROUPS_MAX,
        );
    }
    if let Some(deploy) = raw.deploy.get_ref().get(ranges::DEPLOYS_MAX) {
        let field = format!("deploy[{}]", ranges::DEPLOYS_MAX);
        return too_many(
            &deploy.image.span(),
            field,
            "[[deploy]] entries",
            ranges::DEPLOYS_MAX,
        );
    }
    if let Some(fault) = raw.faults.get(ranges::FAULTS_MAX) {
        let field = format!("faults[{}]", ranges::FAULTS_MAX);
        return too_many(
            &fault.span(),
            field,
            "[[faults]] entries",
            ranges::FAULTS_MAX,
        );
    }
    if let Some(check) = raw.app.checks.get(ranges::CHECKS_MAX) {
        let field = format!("app.checks[{}]", ranges::CHECKS_MAX);
        return too_many(
            &check.name.span(),
            field,
            "[[app.checks]] entries",
            ranges::CHECKS_MAX,
        );
    }
    if let Some(service) = raw.app.services.get(ranges::SERVICES_MAX) {
        let field = format!("app.services[{}]", ranges::SERVICES_MAX);
        let what = "[[app.services]] entries";
        return too_many(&service.span(), field, what, ranges::SERVICES_MAX);
    }
    for (index, service) in raw.app.services.iter().enumerate() {
        if service.get_ref().checks.get(ranges::CHECKS_MAX).is_some() {
            let field = format!("app.services[{index}].checks[{}]", ranges::CHECKS_MAX);
            let what = "checks in one service";
            return too_many(&service.span(), field, what, ranges::CHECKS_MAX);
        }
    }
    if let Some(expect) = raw.expect.as_ref() {
        if let Some(entry) = expect.machines.get(ranges::EXPECTATIONS_MAX) {
            let field = format!("expect.machines[{}]", ranges::EXPECTATIONS_MAX);
            let what = "[[expect.machines]] entries";
            return too_many(&entry.span(), field, what, ranges::EXPECTATIONS_MAX);
        }
        for (name, texts) in [
            ("output_contains", &expect.output_contains),
            ("output_not_contains", &expect.output_not_contains),
        ] {
            if texts.len() > ranges::EXPECTATIONS_MAX {
                let field = format!("expect.{name}");
                return too_many(&(0..0), field, "texts", ranges::EXPECTATIONS_MAX);
            }
        }
    }
    let regions = raw.proxy.as_ref().and_then(|proxy| proxy.regions.as_ref());
    if let Some(region) = regions.and_then(|regions| regions.get(ranges::REGIONS_MAX)) {
        let field = format!("proxy.regions[{}]", ranges::REGIONS_MAX);
        return too_many(&region.span(), field, "proxy regions", ranges::REGIONS_MAX);
    }
    let traffic = raw
        .traffic
        .as_ref()
        .map(|traffic| traffic.regions.as_slice());
    if let Some(entry) = traffic.and_then(|regions| regions.get(ranges::REGIONS_MAX)) {
        let field = format!("traffic.regions[{}]", ranges::REGIONS_MAX);
        return too_many(
            &entry.region.span(),
            field,
            "[[traffic.regions]] entries",
            ranges::REGIONS_MAX,
        );
    }
    Ok(())
}

/// Every bluegreen deploy the file asks for (in `[[deploy]]` or `[expect.strategies]`) needs room
/// for its greens under `run.machine_limit` (`model::machine_room`).
fn check_room_for_greens(
    src: &Source,
    raw: &RawFile,
    fleet: &[FleetGroup],
    (deploys, expect): (&[DeploySpec], &Expectations),
    machine_limit: u32,
) -> Checked<()> {
    let strategies = deploys
        .iter()
        .map(|deploy| deploy.strategy)
        .chain(expect.by_strategy.keys().copied());
    for strategy in strategies {
        if let Err(message) = machine_room(fleet, machine_limit, strategy) {
            let limit = raw.run.as_ref().and_then(|run| run.machine_limit.as_ref());
            return Err(match limit {
                Some(limit) => src.error(&limit.span(), "run.machine_limit", message),
                None => src.error(&raw.fleet.span(), "fleet", message),
            });
        }
    }
    Ok(())
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
    let mut services = Vec::new();
    let mut service_checks = 0;
    for (index, service) in raw.services.iter().enumerate() {
        let service = self::service(src, index, service.get_ref(), &mut service_checks)?;
        services.push(service);
    }
    Ok(AppSpec {
        name: non_empty(src, "app.name", &raw.name)?,
        image: non_empty(src, "app.image", &raw.image)?,
        checks,
        services,
    })
}

/// `app.services[<index>]`. Its checks are named as the platform reports service checks,
/// `servicecheck-<nn>-<kind>-<port>` (numbered across the app's services, from 00; inferred:
/// the `servicecheck-` prefix is what flyctl 2024 filtered on, versions §1.1 step 8.2).
fn service(
    src: &Source,
    index: usize,
    raw: &RawService,
    numbered: &mut usize,
) -> Checked<crate::api::ServiceConfig> {
    let field = format!("app.services[{index}]");
    let port = integer_in(
        src,
        &format!("{field}.internal_port"),
        &raw.internal_port,
        1..=65_535,
    )?;
    let port = u16::try_from(port).expect("in range");
    let protocol = match raw.protocol.as_ref() {
        None => RawService::PROTOCOL_DEFAULT.to_string(),
        Some(text) if matches!(text.get_ref().as_str(), "tcp" | "udp") => text.get_ref().clone(),
        Some(text) => {
            let message = format!("unknown protocol `{}` (known: tcp, udp)", text.get_ref());
            return Err(src.error(&text.span(), format!("{field}.protocol"), message));
        }
    };
    let mut checks = Vec::new();
    for (check_index, check) in raw.checks.iter().enumerate() {
        let check_field = format!("{field}.checks[{check_index}]");
        let kind = check_kind(src, &check_field, check.kind.as_ref())?;
        let kind_name = match kind {
            CheckKind::Http => "http",
            CheckKind::Tcp => "tcp",
        };
        let name = format!("servicecheck-{:02}-{kind_name}-{port}", *numbered);
        *numbered += 1;
        checks.push(check_timing(
            src,
            &check_field,
            name,
            kind,
            (
                check.interval.as_ref(),
                check.grace_period.as_ref(),
                check.timeout.as_ref(),
            ),
        )?);
    }
    Ok(crate::api::ServiceConfig {
        internal_port: port,
        protocol,
        autostop: false,
        autostart: false,
        checks,
    })
}

fn check(src: &Source, field: &str, raw: &RawCheck) -> Checked<CheckConfig> {
    let kind = check_kind(src, field, raw.kind.as_ref())?;
    let name = non_empty(src, &format!("{field}.name"), &raw.name)?;
    check_timing(
        src,
        field,
        name,
        kind,
        (
            raw.interval.as_ref(),
            raw.grace_period.as_ref(),
            raw.timeout.as_ref(),
        ),
    )
}

fn check_kind(src: &Source, field: &str, raw: Option<&Text>) -> Checked<CheckKind> {
    let word = raw.map_or(RawCheck::KIND_DEFAULT, |text| text.get_ref().as_str());
    match word {
        "http" => Ok(CheckKind::Http),
        "tcp" => Ok(CheckKind::Tcp),
        other => {
            let message = format!("unknown check kind `{other}` (known: http, tcp)");
            let span = raw.map_or(0..0, Spanned::span);
            Err(src.error(&span, format!("{field}.kind"), message))
        }
    }
}

/// A check's interval (greater than 0: the platform runs it every interval, and flyctl's health
/// wait polls at the smallest), grace period and timeout.
fn check_timing(
    src: &Source,
    field: &str,
    name: String,
    kind: CheckKind,
    (interval, grace_period, timeout): (Option<&Text>, Option<&Text>, Option<&Text>),
) -> Checked<CheckConfig> {
    let interval_field = format!("{field}.interval");
    let interval_value = optional_duration(src, &interval_field, interval)?;
    if let (Some(text), Some(value)) = (interval, interval_value) {
        if value.is_zero() {
            let message = "a check interval must be greater than 0 (the check runs every interval)";
            return Err(src.error(&text.span(), interval_field, message));
        }
    }
    Ok(CheckConfig {
        name,
        kind,
        interval: interval_value,
        grace_period: optional_duration(src, &format!("{field}.grace_period"), grace_period)?,
        timeout: optional_duration(src, &format!("{field}.timeout"), timeout)?,
    })
}

fn machine(src: &Source, raw: Option<&RawMachine>) -> Checked<MachineBehaviour> {
    let pick = |get: fn(&RawMachine) -> Option<&SpannedDistribution>| raw.and_then(get);
    Ok(MachineBehaviour {
        boot_time: distribution_or(
            src,
            "machine.boot_time",
            pick(|m| m.boot_time.as_ref()),
            RawMachine::BOOT_TIME_DEFAULT.distribution(),
        )?,
        app_ready_time: distribution_or(
            src,
            "machine.app_ready_time",
            pick(|m| m.app_ready_time.as_ref()),
            RawMachine::APP_READY_TIME_DEFAULT.distribution(),
        )?,
        stop_time: distribution_or(
            src,
            "machine.stop_time",
            pick(|m| m.stop_time.as_ref()),
            RawMachine::STOP_TIME_DEFAULT.distribution(),
        )?,
        kill_timeout: duration_or(
            src,
            "machine.kill_timeout",
            raw.and_then(|m| m.kill_timeout.as_ref()),
            RawMachine::KILL_TIMEOUT_DEFAULT,
        )?,
        destroy_time: distribution_or(
            src,
            "machine.destroy_time",
            pick(|m| m.destroy_time.as_ref()),
            RawMachine::DESTROY_TIME_DEFAULT.distribution(),
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
            None => RawFleet::PROCESS_GROUP_DEFAULT.to_string(),
        },
        count: u32::try_from(count).unwrap_or(u32::MAX),
        state: raw
            .state
            .as_ref()
            .map_or(Ok(RawFleet::STATE_DEFAULT), |text| {
                initial_state(src, &format!("{field}.state"), text)
            })?,
        image: raw
            .image
            .as_ref()
            .map(|text| non_empty(src, &format!("{field}.image"), text))
            .transpose()?,
        metadata: raw.metadata.clone(),
        checks: raw.checks.unwrap_or(RawFleet::CHECKS_DEFAULT),
        detached: raw.detached.unwrap_or(RawFleet::DETACHED_DEFAULT),
        autostop: raw.autostop.unwrap_or(RawFleet::AUTOSTOP_DEFAULT),
    })
}

/// The states a machine may be in when the run starts.
pub(crate) const INITIAL_STATES: [MachineState; 4] = [
    MachineState::Started,
    MachineState::Stopped,
    MachineState::Suspended,
    MachineState::Created,
];

/// A `[[fleet]]` group's `state`, one of [`INITIAL_STATES`].
fn initial_state(src: &Source, field: &str, text: &Text) -> Checked<MachineState> {
    let found = INITIAL_STATES
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
            RawApi::LATENCY_DEFAULT.distribution(),
        )?,
        operation_latency,
        list_lag: duration_or(
            src,
            "api.list_lag",
            raw.and_then(|api| api.list_lag.as_ref()),
            RawApi::LIST_LAG_DEFAULT,
        )?,
        wait_timeout_max: positive_duration_or(
            src,
            "api.wait_timeout_max",
            raw.and_then(|api| api.wait_timeout_max.as_ref()),
            RawApi::WAIT_TIMEOUT_MAX_DEFAULT,
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
            RawProxy::PROPAGATION_DEFAULT.distribution(),
        )?,
        connect_retries: match raw.and_then(|proxy| proxy.connect_retries.as_ref()) {
            Some(value) => {
                let retries = integer_in(
                    src,
                    "proxy.connect_retries",
                    value,
                    0..=ranges::CONNECT_RETRIES_MAX,
                )?;
                u32::try_from(retries).unwrap_or(0)
            }
            None => RawProxy::CONNECT_RETRIES_DEFAULT,
        },
        retry_delay: duration_or(
            src,
            "proxy.retry_delay",
            raw.and_then(|proxy| proxy.retry_delay.as_ref()),
            RawProxy::RETRY_DELAY_DEFAULT,
        )?,
        hold_timeout: duration_or(
            src,
            "proxy.hold_timeout",
            raw.and_then(|proxy| proxy.hold_timeout.as_ref()),
            RawProxy::HOLD_TIMEOUT_DEFAULT,
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
            RawTraffic::SERVICE_TIME_DEFAULT.distribution(),
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
    let (min, max) = (ranges::RATE_PER_SECOND_MIN, ranges::RATE_PER_SECOND_MAX);
    if !(min..=max).contains(&rate) {
        let message = format!(
            "rate {rate} is out of range: must be between {min} and {max} requests per second"
        );
        return Err(src.error(&raw.rate.span(), format!("{field}.rate"), message));
    }
    Ok(RegionTraffic {
        region,
        rate_per_second: rate,
    })
}

fn deploys(
    src: &Source,
    raw: &Spanned<Vec<RawDeploy>>,
    time_limit: Duration,
) -> Checked<Vec<DeploySpec>> {
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
        .map(|(index, deploy)| self::deploy(src, index, deploy, time_limit))
        .collect()
}

fn deploy(
    src: &Source,
    index: usize,
    raw: &RawDeploy,
    time_limit: Duration,
) -> Checked<DeploySpec> {
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
        start: deploy_start(src, &field, index, raw, time_limit)?,
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
        clock_skew_seconds: match raw.clock_skew_seconds.as_ref() {
            Some(value) => integer_in(
                src,
                &format!("{field}.clock_skew_seconds"),
                value,
                -ranges::CLOCK_SKEW_SECONDS_MAX..=ranges::CLOCK_SKEW_SECONDS_MAX,
            )?,
            None => RawDeploy::CLOCK_SKEW_SECONDS_DEFAULT,
        },
        expect_outcome: raw
            .expect_outcome
            .as_ref()
            .map(|text| outcome(src, &format!("{field}.expect_outcome"), text))
            .transpose()?,
        expect_error: raw.expect_error.clone(),
        settings: super::settings::settings(src, &field, raw)?,
    })
}

fn strategy(src: &Source, field: &str, raw: Option<&Text>) -> Checked<StrategyName> {
    match raw {
        None => Ok(RawDeploy::STRATEGY_DEFAULT),
        Some(text) => StrategyName::from_str(text.get_ref())
            .map_err(|message| src.error(&text.span(), format!("{field}.strategy"), message)),
    }
}

/// `start` and `after_previous` are alternatives; by default deploys follow one another. Either
/// must fall within the run's time limit, or the deploy would never start.
fn deploy_start(
    src: &Source,
    field: &str,
    index: usize,
    raw: &RawDeploy,
    time_limit: Duration,
) -> Checked<DeployStart> {
    let never = "the deploy would never start";
    match (raw.start.as_ref(), raw.after_previous.as_ref()) {
        (Some(_), Some(after)) => Err(src.error(
            &after.span(),
            format!("{field}.after_previous"),
            "give either `start` or `after_previous`, not both",
        )),
        (Some(start), None) => Ok(DeployStart::At(within_time_limit(
            src,
            &format!("{field}.start"),
            start,
            (time_limit, never),
        )?)),
        (None, Some(after)) => Ok(DeployStart::AfterPrevious(within_time_limit(
            src,
            &format!("{field}.after_previous"),
            after,
            (time_limit, never),
        )?)),
        (None, None) if index == 0 => Ok(DeployStart::At(RawDeploy::START_DEFAULT)),
        (None, None) => Ok(DeployStart::AfterPrevious(
            RawDeploy::AFTER_PREVIOUS_DEFAULT,
        )),
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
pub(crate) const OUTCOMES: [DeployOutcome; 4] = [
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
        Some(value) => integer_in(
            src,
            "run.machine_limit",
            value,
            1..=ranges::MACHINE_LIMIT_MAX,
        )?,
        None => i64::from(RawRun::MACHINE_LIMIT_DEFAULT),
    };
    Ok(RunSpec {
        seed: seed(src, raw.and_then(|run| run.seed.as_ref()))?,
        time_limit: positive_duration_or(
            src,
            "run.time_limit",
            raw.and_then(|run| run.time_limit.as_ref()),
            RawRun::TIME_LIMIT_DEFAULT,
        )?,
        event_limit: match raw.and_then(|run| run.event_limit.as_ref()) {
            Some(value) => integer_in(src, "run.event_limit", value, 1..=ranges::EVENT_LIMIT_MAX)?
                .unsigned_abs(),
            None => RawRun::EVENT_LIMIT_DEFAULT,
        },
        machine_limit: u32::try_from(machine_limit).unwrap_or(u32::MAX),
        settle: duration_or(
            src,
            "run.settle",
            raw.and_then(|run| run.settle.as_ref()),
            RawRun::SETTLE_DEFAULT,
        )?,
        deploy_time_bound: optional_duration(
            src,
            "run.deploy_time_bound",
            raw.and_then(|run| run.deploy_time_bound.as_ref()),
        )?,
    })
}

/// `[check]`: `mixing_bound` (a duration, default 60 s) and `explosion_factor` (1 to
/// `ranges::EXPLOSION_FACTOR_MAX`, default 2).
fn bounds(src: &Source, raw: Option<&RawBounds>) -> Checked<Bounds> {
    let mixing_bound = duration_or(
        src,
        "check.mixing_bound",
        raw.and_then(|check| check.mixing_bound.as_ref()),
        Bounds::MIXING_BOUND_DEFAULT,
    )?;
    let explosion_factor = match raw.and_then(|check| check.explosion_factor.as_ref()) {
        Some(value) => {
            let factor = *value.get_ref();
            // Written so that NaN is refused too.
            if !(1.0..=ranges::EXPLOSION_FACTOR_MAX).contains(&factor) {
                let message = format!(
                    "{factor} is out of range: must be between 1 (the fleet itself) and {} \
                     (machines alive at most this many times N)",
                    ranges::EXPLOSION_FACTOR_MAX
                );
                return Err(src.error(&value.span(), "check.explosion_factor", message));
            }
            factor
        }
        None => Bounds::EXPLOSION_FACTOR_DEFAULT,
    };
    Ok(Bounds {
        mixing_bound,
        explosion_factor,
    })
}

/// `[run] seed` (default 1), at most `ranges::SEED_MAX`.
fn seed(src: &Source, raw: Option<&Spanned<u64>>) -> Checked<u64> {
    let Some(value) = raw else {
        return Ok(RawRun::SEED_DEFAULT);
    };
    let seed = *value.get_ref();
    if seed > ranges::SEED_MAX {
        let message = format!(
            "seed {seed} is out of range: seeds are between 0 and {} (2^64 − 2), so that a seed \
             range A..B can name the seed after the last",
            ranges::SEED_MAX
        );
        return Err(src.error(&value.span(), "run.seed", message));
    }
    Ok(seed)
}

fn expect(
    src: &Source,
    raw: Option<&RawExpect>,
    (initial, deploys): (u32, usize),
) -> Checked<Expectations> {
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
    let machines = raw
        .map(|expect| expect.machines.as_slice())
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(index, entry)| super::facts::machine(src, index, entry, (initial, deploys)))
        .collect::<Checked<Vec<_>>>()?;
    Ok(Expectations {
        hold,
        hold_explicit: raw.is_some_and(|expect| expect.hold.is_some()),
        violate,
        output_contains: raw
            .map(|expect| expect.output_contains.clone())
            .unwrap_or_default(),
        output_not_contains: raw
            .map(|expect| expect.output_not_contains.clone())
            .unwrap_or_default(),
        calls: match raw {
            Some(raw) => super::facts::calls(src, "expect", &raw.calls)?,
            None => BTreeMap::new(),
        },
        machines,
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
        hold_explicit: raw.hold.is_some(),
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
