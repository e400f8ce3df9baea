//! The scenario writer: a validated [`Scenario`] back to scenario-file TOML, through serde.
//!
//! The model goes back into the raw types of `raw` (the one description of the format), which
//! serde writes; a new field is added to its raw type and to the conversion below, nowhere else.
//! `parse(path, &to_toml(&scenario))` gives back `scenario` (but for `path`).
//!
//! Every value the run uses is written, defaults included, so that a saved fuzz case or a tuned
//! scenario replays the same run even under a build whose defaults changed, and a reader sees
//! every number without a lookup. What the model leaves unset (a deploy's `max_concurrent`, the
//! retry budgets, a fault's `duration`) stays unset: there the strategy or the run decides.
//! Durations are written exactly, in the largest unit that divides them ("2h", "90s",
//! "1500ms", "123456us", "7ns").

use std::collections::BTreeMap;
use std::time::Duration;

use toml_edit::visit_mut::{self, VisitMut};

use super::model::*;
use super::raw::*;
use crate::api::{CheckConfig, CheckKind, ServiceConfig};
use crate::deploy::behaviour::BluegreenSettings;
use crate::engine::random::Distribution;

/// The scenario as a scenario file.
pub fn to_toml(scenario: &Scenario) -> String {
    let raw = raw_file(scenario);
    let mut document = toml_edit::ser::to_document(&raw)
        .unwrap_or_else(|error| panic!("a scenario serialises to TOML: {error}"));
    Layout::default().visit_document_mut(&mut document);
    document.to_string()
}

/// A duration in the syntax scenario files use, exact to the nanosecond.
pub fn duration(value: Duration) -> String {
    const UNITS: [(u128, &str); 5] = [
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
    ];
    let nanos = value.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    for (size, unit) in UNITS {
        if nanos % size == 0 {
            return format!("{}{unit}", nanos / size);
        }
    }
    format!("{nanos}ns")
}

/// A machine target as fault fields write it.
pub fn target(value: MachineTarget) -> String {
    match value {
        MachineTarget::Initial(index) => format!("blue:{index}"),
        MachineTarget::Green { deploy, index } => format!("deploy[{deploy}].green:{index}"),
        MachineTarget::AllGreens { deploy } => format!("deploy[{deploy}].green:*"),
    }
}

// ---- layout ----

/// The tables keyed by a name whose entries get a header (`[api.operations.create]`,
/// `[expect.strategies."bluegreen@2024-04"]`) rather than an inline value.
const KEYED_TABLES: [&str; 2] = ["api.operations", "expect.strategies"];

/// serde gives every table inline; this gives the file its usual shape. Sections and arrays of
/// tables get headers (`[machine]`, `[[fleet]]`, `[[app.services.checks]]`), as do the entries of
/// the `KEYED_TABLES`; everything else is a value on one line (distributions, `metadata`, counts,
/// `calls`). Each `[[deploy]]` is preceded by a comment with its index, which faults refer to.
#[derive(Default)]
struct Layout {
    path: Vec<String>,
}

impl VisitMut for Layout {
    fn visit_table_like_kv_mut(&mut self, key: toml_edit::KeyMut<'_>, node: &mut toml_edit::Item) {
        self.path.push(key.get().to_string());
        let path = self.path.join(".");
        let parent = self.path[..self.path.len() - 1].join(".");
        let array_of_tables = node.as_array().is_some_and(|array| {
            !array.is_empty() && array.iter().all(|item| item.is_inline_table())
        });
        if self.path.len() == 1
            || array_of_tables
            || KEYED_TABLES.contains(&path.as_str())
            || KEYED_TABLES.contains(&parent.as_str())
        {
            make_header(node);
        }
        if let Some(table) = node.as_table_mut() {
            // A table with nothing but tables in it (`[api.operations]`, an `[expect]` with only
            // `strategies`) needs no header of its own: its tables' headers name it.
            table.set_implicit(true);
        }
        if path == "deploy" {
            if let Some(deploys) = node.as_array_of_tables_mut() {
                for (index, deploy) in deploys.iter_mut().enumerate() {
                    deploy
                        .decor_mut()
                        .set_prefix(format!("\n# deploy[{index}]\n"));
                }
            }
        }
        visit_mut::visit_table_like_kv_mut(self, key, node);
        self.path.pop();
    }

    fn visit_value_mut(&mut self, _: &mut toml_edit::Value) {
        // A value stays as serde wrote it, inline tables included.
    }
}

/// An inline table becomes a table with a header; an array of inline tables an array of tables.
fn make_header(node: &mut toml_edit::Item) {
    let item = std::mem::take(node);
    let item = match item.into_table() {
        Ok(table) => toml_edit::Item::Table(table),
        Err(item) => item,
    };
    *node = match item.into_array_of_tables() {
        Ok(tables) => toml_edit::Item::ArrayOfTables(tables),
        Err(item) => item,
    };
}

// ---- the model back to the raw types ----

/// A value with no position in any file.
fn value<T>(value: T) -> Spanned<T> {
    Spanned::new(0..0, value)
}

fn text(value: impl Into<String>) -> Text {
    self::value(value.into())
}

fn duration_text(value: Duration) -> Text {
    text(duration(value))
}

fn optional_duration(value: Option<Duration>) -> Option<Text> {
    value.map(duration_text)
}

fn integer(value: impl TryInto<i64>) -> Spanned<i64> {
    self::value(
        value
            .try_into()
            .unwrap_or_else(|_| panic!("a validated count fits in i64")),
    )
}

fn raw_file(scenario: &Scenario) -> RawFile {
    RawFile {
        scenario: RawHeader {
            name: text(&scenario.name),
            description: Some(scenario.description.clone()).filter(|text| !text.is_empty()),
        },
        app: app(&scenario.app),
        machine: Some(machine(&scenario.machine)),
        fleet: value(scenario.fleet.iter().map(fleet_group).collect()),
        api: Some(api(&scenario.api)),
        proxy: Some(proxy(&scenario.proxy)),
        traffic: Some(traffic(&scenario.traffic)),
        deploy: value(scenario.deploys.iter().map(deploy).collect()),
        faults: scenario
            .faults
            .iter()
            .map(|spec| value(fault(spec)))
            .collect(),
        run: Some(run(&scenario.run)),
        check: Some(RawBounds {
            mixing_bound: Some(duration_text(scenario.check.mixing_bound)),
            explosion_factor: Some(value(scenario.check.explosion_factor)),
        }),
        expect: Some(expect(&scenario.expect)),
    }
}

fn distribution(value: &Distribution) -> SpannedDistribution {
    self::value(raw_distribution(value))
}

/// A distribution as its inline table (also how the schema shows a default).
pub(crate) fn raw_distribution(value: &Distribution) -> RawDistribution {
    match value {
        Distribution::Constant(constant) => RawDistribution {
            kind: text("constant"),
            value: Some(duration_text(*constant)),
            ..RawDistribution::default()
        },
        Distribution::Uniform { min, max } => RawDistribution {
            kind: text("uniform"),
            min: Some(duration_text(*min)),
            max: Some(duration_text(*max)),
            ..RawDistribution::default()
        },
        Distribution::LogNormal {
            median, p99, max, ..
        } => RawDistribution {
            kind: text("lognormal"),
            median: Some(duration_text(*median)),
            p99: Some(duration_text(*p99)),
            max: optional_duration(*max),
            ..RawDistribution::default()
        },
        Distribution::Exponential { mean, max } => RawDistribution {
            kind: text("exponential"),
            mean: Some(duration_text(*mean)),
            max: optional_duration(*max),
            ..RawDistribution::default()
        },
    }
}

fn check_kind(kind: CheckKind) -> Text {
    text(match kind {
        CheckKind::Http => "http",
        CheckKind::Tcp => "tcp",
    })
}

fn app(app: &AppSpec) -> RawApp {
    RawApp {
        name: text(&app.name),
        image: text(&app.image),
        checks: app.checks.iter().map(check).collect(),
        services: app
            .services
            .iter()
            .map(|item| value(service(item)))
            .collect(),
    }
}

fn check(check: &CheckConfig) -> RawCheck {
    RawCheck {
        name: text(&check.name),
        kind: Some(check_kind(check.kind)),
        interval: optional_duration(check.interval),
        grace_period: optional_duration(check.grace_period),
        timeout: optional_duration(check.timeout),
    }
}

/// A service's checks are named by the platform, so only their settings are written.
fn service(service: &ServiceConfig) -> RawService {
    let checks = service
        .checks
        .iter()
        .map(|check| RawServiceCheck {
            kind: Some(check_kind(check.kind)),
            interval: optional_duration(check.interval),
            grace_period: optional_duration(check.grace_period),
            timeout: optional_duration(check.timeout),
        })
        .collect();
    RawService {
        internal_port: integer(service.internal_port),
        protocol: Some(text(&service.protocol)),
        checks,
    }
}

fn machine(machine: &MachineBehaviour) -> RawMachine {
    RawMachine {
        boot_time: Some(distribution(&machine.boot_time)),
        app_ready_time: Some(distribution(&machine.app_ready_time)),
        stop_time: Some(distribution(&machine.stop_time)),
        kill_timeout: Some(duration_text(machine.kill_timeout)),
        destroy_time: Some(distribution(&machine.destroy_time)),
    }
}

fn fleet_group(group: &FleetGroup) -> RawFleet {
    RawFleet {
        region: text(&group.region),
        process_group: Some(text(&group.process_group)),
        count: integer(group.count),
        state: Some(text(group.state.as_str())),
        image: group.image.as_ref().map(text),
        metadata: group.metadata.clone(),
        checks: Some(group.checks),
        detached: Some(group.detached),
        autostop: Some(group.autostop),
    }
}

fn api(api: &ApiBehaviour) -> RawApi {
    let operations = api
        .operation_latency
        .iter()
        .map(|(operation, latency)| {
            let latency = distribution(latency);
            (
                operation.as_str().to_string(),
                value(RawOperation { latency }),
            )
        })
        .collect();
    RawApi {
        latency: Some(distribution(&api.latency)),
        list_lag: Some(duration_text(api.list_lag)),
        wait_timeout_max: Some(duration_text(api.wait_timeout_max)),
        operations,
    }
}

fn proxy(proxy: &ProxyBehaviour) -> RawProxy {
    RawProxy {
        regions: Some(proxy.regions.iter().map(text).collect()),
        propagation: Some(distribution(&proxy.propagation)),
        connect_retries: Some(integer(proxy.connect_retries)),
        retry_delay: Some(duration_text(proxy.retry_delay)),
        hold_timeout: Some(duration_text(proxy.hold_timeout)),
    }
}

fn traffic(traffic: &TrafficSpec) -> RawTraffic {
    let regions = traffic
        .regions
        .iter()
        .map(|region| RawRegionTraffic {
            region: text(&region.region),
            rate: value(region.rate_per_second),
        })
        .collect();
    RawTraffic {
        service_time: Some(distribution(&traffic.service_time)),
        regions,
    }
}

fn deploy(deploy: &DeploySpec) -> RawDeploy {
    let (start, after_previous) = match deploy.start {
        DeployStart::At(at) => (Some(duration_text(at)), None),
        DeployStart::AfterPrevious(gap) => (None, Some(duration_text(gap))),
    };
    let raw = RawDeploy {
        strategy: Some(text(deploy.strategy.as_str())),
        image: text(&deploy.image),
        start,
        after_previous,
        wait_timeout: Some(duration_text(deploy.wait_timeout)),
        lease_ttl: Some(duration_text(deploy.lease_ttl)),
        max_concurrent: deploy.max_concurrent.map(integer),
        max_unavailable: deploy.max_unavailable.map(value),
        signal: deploy.signal.as_ref().map(text),
        clock_skew_seconds: Some(integer(deploy.clock_skew_seconds)),
        expect_outcome: deploy.expect_outcome.map(|outcome| text(outcome.as_str())),
        expect_error: deploy.expect_error.clone(),
        ..RawDeploy::default()
    };
    with_settings(raw, &deploy.settings)
}

/// The overrides of flyctl's retry budgets and waits that are set.
fn with_settings(raw: RawDeploy, settings: &BluegreenSettings) -> RawDeploy {
    RawDeploy {
        launch_attempts: settings.launch_attempts.map(integer),
        launch_backoff: optional_duration(settings.launch_backoff),
        launch_lookup_delay: optional_duration(settings.launch_lookup_delay),
        checkpoint_attempts: settings.checkpoint_attempts.map(integer),
        checkpoint_backoff: optional_duration(settings.checkpoint_backoff),
        teardown_attempts: settings.teardown_attempts.map(integer),
        teardown_backoff: optional_duration(settings.teardown_backoff),
        image_refetch_attempts: settings.image_refetch_attempts.map(integer),
        image_refetch_backoff: optional_duration(settings.image_refetch_backoff),
        uncordon_attempts: settings.uncordon_attempts.map(integer),
        uncordon_backoff: optional_duration(settings.uncordon_backoff),
        wait_before_cordon: optional_duration(settings.wait_before_cordon),
        wait_before_stop: optional_duration(settings.wait_before_stop),
        stop_wait_timeout: optional_duration(settings.stop_wait_timeout),
        health_timeout: optional_duration(settings.health_timeout),
        ..raw
    }
}

fn run(run: &RunSpec) -> RawRun {
    RawRun {
        seed: Some(value(run.seed)),
        time_limit: Some(duration_text(run.time_limit)),
        event_limit: Some(integer(run.event_limit)),
        machine_limit: Some(integer(run.machine_limit)),
        settle: Some(duration_text(run.settle)),
        deploy_time_bound: optional_duration(run.deploy_time_bound),
    }
}

// ---- faults ----

/// A fault's `status`: the HTTP status, or `"none"` for a transport error.
fn status(status: Option<u16>) -> Option<Spanned<RawStatus>> {
    Some(value(match status {
        Some(code) => RawStatus::Code(i64::from(code)),
        None => RawStatus::Word("none".to_string()),
    }))
}

fn machine_text(which: MachineTarget) -> Text {
    text(target(which))
}

fn operation_text(operation: Operation) -> Text {
    text(operation.as_str())
}

/// A fault's window: `start`, and `duration` when it ends before the run does.
fn set_window(raw: &mut RawFault, window: &Window) {
    raw.start = Some(duration_text(window.start));
    raw.duration = optional_duration(window.duration);
}

/// The counted `calls`, or else `rate` (if the kind has one) in a window.
fn set_rate_or_calls(
    raw: &mut RawFault,
    rate: Option<f64>,
    window: &Window,
    calls: Option<CallRange>,
) {
    match calls {
        Some(calls) => raw.calls = Some(text(calls.to_string())),
        None => {
            raw.rate = rate.map(value);
            set_window(raw, window);
        }
    }
}

fn set_trigger(raw: &mut RawFault, trigger: &Trigger) {
    match trigger {
        Trigger::At(at) => raw.at = Some(duration_text(*at)),
        Trigger::Phase { phase, after } => {
            raw.phase = Some(text(phase.as_str()));
            raw.after = Some(duration_text(*after));
        }
    }
}

fn fault(spec: &FaultSpec) -> RawFault {
    let mut raw = RawFault {
        kind: text(crate::faults::kind_name(spec)),
        ..RawFault::default()
    };
    match spec {
        FaultSpec::ApiError {
            operation,
            rate,
            status: code,
            window,
            deploy,
            machine,
            calls,
        }
        | FaultSpec::ApiAmbiguous {
            operation,
            rate,
            status: code,
            window,
            deploy,
            machine,
            calls,
        } => {
            raw.operation = operation.map(operation_text);
            raw.status = status(*code);
            raw.deploy = deploy.map(integer);
            raw.machine = machine.map(machine_text);
            set_rate_or_calls(&mut raw, Some(*rate), window, *calls);
        }
        FaultSpec::ApiPartition {
            deploy,
            window,
            operation,
            calls,
        } => {
            raw.operation = operation.map(operation_text);
            raw.deploy = deploy.map(integer);
            set_rate_or_calls(&mut raw, None, window, *calls);
        }
        FaultSpec::ApiSlow {
            operation,
            extra,
            window,
            deploy,
        } => {
            raw.operation = operation.map(operation_text);
            raw.extra = Some(distribution(extra));
            raw.deploy = deploy.map(integer);
            set_window(&mut raw, window);
        }
        FaultSpec::PropagationTail {
            probability,
            delay,
            window,
        } => {
            raw.probability = Some(value(*probability));
            raw.delay = Some(distribution(delay));
            set_window(&mut raw, window);
        }
        FaultSpec::StaleList { lag, window } => {
            raw.lag = Some(duration_text(*lag));
            set_window(&mut raw, window);
        }
        FaultSpec::ProxyStale { region, window } => {
            raw.region = Some(text(region));
            set_window(&mut raw, window);
        }
        FaultSpec::CapacityError {
            deploy,
            after_creates,
            status: code,
        } => {
            raw.deploy = deploy.map(integer);
            raw.after_creates = Some(integer(*after_creates));
            raw.status = status(Some(*code));
        }
        FaultSpec::OrgLimit { deploy } => raw.deploy = deploy.map(integer),
        FaultSpec::DeployerKill { deploy, trigger }
        | FaultSpec::DeployerAbort { deploy, trigger } => {
            raw.deploy = Some(integer(*deploy));
            set_trigger(&mut raw, trigger);
        }
        FaultSpec::DeployerStall {
            deploy,
            trigger,
            duration,
        } => {
            raw.deploy = Some(integer(*deploy));
            raw.duration = Some(duration_text(*duration));
            set_trigger(&mut raw, trigger);
        }
        _ => set_machine_fault(&mut raw, spec),
    }
    raw
}

/// The faults aimed at one machine (`machine`), with what else their kind takes.
fn set_machine_fault(raw: &mut RawFault, spec: &FaultSpec) {
    let which = match spec {
        FaultSpec::MachineCrash { target, at } | FaultSpec::ManualDestroy { target, at } => {
            raw.at = Some(duration_text(*at));
            target
        }
        FaultSpec::Unhealthy { target } | FaultSpec::BootFailure { target } => target,
        FaultSpec::LeaseHeld { target, owner, ttl } => {
            raw.owner = Some(text(owner));
            raw.ttl = Some(duration_text(*ttl));
            target
        }
        FaultSpec::StopHangs { target, duration } => {
            raw.duration = optional_duration(*duration);
            target
        }
        FaultSpec::EmptyImageRef { target, window }
        | FaultSpec::HostNotOk { target, window, .. } => {
            set_window(raw, window);
            target
        }
        FaultSpec::SlowBoot { target, delay } => {
            raw.delay = Some(distribution(delay));
            target
        }
        FaultSpec::CrashLoop { target, period } => {
            raw.period = Some(duration_text(*period));
            target
        }
        FaultSpec::ChecksFail {
            target,
            trigger,
            duration,
        } => {
            raw.duration = optional_duration(*duration);
            set_trigger(raw, trigger);
            target
        }
        FaultSpec::ChecksFlap {
            target,
            period,
            window,
        } => {
            raw.period = Some(duration_text(*period));
            set_window(raw, window);
            target
        }
        _ => unreachable!("`fault` writes the kinds that name no single machine"),
    };
    raw.machine = Some(machine_text(*which));
}

// ---- expectations ----

fn invariants(values: &[crate::check::Invariant]) -> Vec<Text> {
    values
        .iter()
        .map(|invariant| text(invariant.as_str()))
        .collect()
}

/// `calls.<operation> = n` or `{ min = a, max = b }`.
fn calls(calls: &BTreeMap<Operation, CountRange>) -> BTreeMap<String, Spanned<RawCount>> {
    calls
        .iter()
        .map(|(operation, range)| {
            let count = match range.max {
                Some(max) if max == range.min => RawCount::Exactly(i64::from(max)),
                max => RawCount::Between {
                    min: Some(i64::from(range.min)),
                    max: max.map(i64::from),
                },
            };
            (operation.as_str().to_string(), value(count))
        })
        .collect()
}

fn expect(expect: &Expectations) -> RawExpect {
    let machines = expect
        .machines
        .iter()
        .map(|entry| {
            value(RawMachineExpect {
                machine: text(target(entry.target)),
                calls: calls(&entry.calls),
                launched: entry.launched.map(|launched| text(launched.as_str())),
                destroy_kill: entry.destroy_kill,
                destroy_nonce: entry.destroy_nonce,
                state: entry.state.map(|state| text(state.as_str())),
            })
        })
        .collect();
    let strategies = expect
        .by_strategy
        .iter()
        .map(|(strategy, entry)| {
            let outcomes = entry
                .outcomes
                .iter()
                .map(|outcome| text(outcome.map_or("any", |outcome| outcome.as_str())))
                .collect::<Vec<_>>();
            let raw = RawStrategyExpect {
                hold: entry.hold_explicit.then(|| invariants(&entry.hold)),
                violate: invariants(&entry.violate),
                outcomes: Some(value(outcomes)).filter(|outcomes| !outcomes.get_ref().is_empty()),
                exit_status: entry.exit_status.map(integer),
            };
            (strategy.as_str().to_string(), value(raw))
        })
        .collect();
    RawExpect {
        hold: expect.hold_explicit.then(|| invariants(&expect.hold)),
        violate: invariants(&expect.violate),
        output_contains: expect.output_contains.clone(),
        output_not_contains: expect.output_not_contains.clone(),
        exit_status: expect.exit_status.map(integer),
        calls: calls(&expect.calls),
        machines,
        strategies,
    }
}
