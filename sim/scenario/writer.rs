//! The scenario writer: a validated [`Scenario`] back to scenario-file TOML.
//!
//! `parse(path, &to_toml(&scenario))` gives back `scenario` (but for `path`): every field is
//! written explicitly, defaults included, and durations exactly (in the largest unit that divides
//! them: "2h", "90s", "1500ms", "123456us", "7ns"). The fuzzer uses it to save failing cases as
//! files that `fleetsim run` replays.

use std::fmt::Write as _;
use std::time::Duration;

use super::model::*;
use crate::api::CheckKind;
use crate::engine::random::Distribution;

/// The scenario as a scenario file.
pub fn to_toml(scenario: &Scenario) -> String {
    let mut out = String::new();
    header(&mut out, scenario);
    app(&mut out, &scenario.app);
    machine(&mut out, &scenario.machine);
    for group in &scenario.fleet {
        fleet_group(&mut out, group);
    }
    api(&mut out, &scenario.api);
    proxy(&mut out, &scenario.proxy);
    traffic(&mut out, &scenario.traffic);
    for (index, deploy) in scenario.deploys.iter().enumerate() {
        self::deploy(&mut out, index, deploy);
    }
    for fault in &scenario.faults {
        self::fault(&mut out, fault);
    }
    run(&mut out, &scenario.run);
    bounds(&mut out, &scenario.check);
    expect(&mut out, &scenario.expect);
    out
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

/// A TOML basic string, quoted and escaped.
pub fn string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML float that reads back as the same `f64` (Rust's shortest round-trip form, always with a
/// decimal point or an exponent).
fn float(value: f64) -> String {
    let text = format!("{value:?}");
    if text.contains(['.', 'e', 'E']) || !value.is_finite() {
        text
    } else {
        format!("{text}.0")
    }
}

fn quoted_duration(value: Duration) -> String {
    string(&duration(value))
}

/// A distribution inline table.
pub fn distribution(value: &Distribution) -> String {
    match value {
        Distribution::Constant(value) => {
            format!(
                "{{ kind = \"constant\", value = {} }}",
                quoted_duration(*value)
            )
        }
        Distribution::Uniform { min, max } => format!(
            "{{ kind = \"uniform\", min = {}, max = {} }}",
            quoted_duration(*min),
            quoted_duration(*max)
        ),
        Distribution::LogNormal {
            median, p99, max, ..
        } => format!(
            "{{ kind = \"lognormal\", median = {}, p99 = {}{} }}",
            quoted_duration(*median),
            quoted_duration(*p99),
            clamp(*max)
        ),
        Distribution::Exponential { mean, max } => format!(
            "{{ kind = \"exponential\", mean = {}{} }}",
            quoted_duration(*mean),
            clamp(*max)
        ),
    }
}

fn clamp(max: Option<Duration>) -> String {
    max.map_or(String::new(), |max| {
        format!(", max = {}", quoted_duration(max))
    })
}

/// A machine target as fault fields write it.
pub fn target(value: MachineTarget) -> String {
    match value {
        MachineTarget::Initial(index) => format!("blue:{index}"),
        MachineTarget::Green { deploy, index } => format!("deploy[{deploy}].green:{index}"),
        MachineTarget::AllGreens { deploy } => format!("deploy[{deploy}].green:*"),
    }
}

fn line(out: &mut String, key: &str, value: impl AsRef<str>) {
    let _ = writeln!(out, "{key} = {}", value.as_ref());
}

fn list<T>(values: &[T], item: impl Fn(&T) -> String) -> String {
    let items: Vec<String> = values.iter().map(item).collect();
    format!("[{}]", items.join(", "))
}

fn header(out: &mut String, scenario: &Scenario) {
    out.push_str("[scenario]\n");
    line(out, "name", string(&scenario.name));
    line(out, "description", string(&scenario.description));
}

fn app(out: &mut String, app: &AppSpec) {
    out.push_str("\n[app]\n");
    line(out, "name", string(&app.name));
    line(out, "image", string(&app.image));
    for check in &app.checks {
        out.push_str("\n[[app.checks]]\n");
        line(out, "name", string(&check.name));
        check_fields(out, check);
    }
    services(out, &app.services);
}

fn services(out: &mut String, services: &[crate::api::ServiceConfig]) {
    for service in services {
        out.push_str("\n[[app.services]]\n");
        line(out, "internal_port", service.internal_port.to_string());
        line(out, "protocol", string(&service.protocol));
        for check in &service.checks {
            out.push_str("\n[[app.services.checks]]\n");
            check_fields(out, check);
        }
    }
}

fn check_fields(out: &mut String, check: &crate::api::CheckConfig) {
    let kind = match check.kind {
        CheckKind::Http => "http",
        CheckKind::Tcp => "tcp",
    };
    line(out, "kind", string(kind));
    for (key, value) in [
        ("interval", check.interval),
        ("grace_period", check.grace_period),
        ("timeout", check.timeout),
    ] {
        if let Some(value) = value {
            line(out, key, quoted_duration(value));
        }
    }
}

fn machine(out: &mut String, machine: &MachineBehaviour) {
    out.push_str("\n[machine]\n");
    line(out, "boot_time", distribution(&machine.boot_time));
    line(out, "app_ready_time", distribution(&machine.app_ready_time));
    line(out, "stop_time", distribution(&machine.stop_time));
    line(out, "kill_timeout", quoted_duration(machine.kill_timeout));
    line(out, "destroy_time", distribution(&machine.destroy_time));
}

fn fleet_group(out: &mut String, group: &FleetGroup) {
    out.push_str("\n[[fleet]]\n");
    line(out, "region", string(&group.region));
    line(out, "process_group", string(&group.process_group));
    line(out, "count", group.count.to_string());
    line(out, "state", string(group.state.as_str()));
    if let Some(image) = &group.image {
        line(out, "image", string(image));
    }
    let metadata: Vec<String> = group
        .metadata
        .iter()
        .map(|(key, value)| format!("{} = {}", string(key), string(value)))
        .collect();
    if !metadata.is_empty() {
        line(out, "metadata", format!("{{ {} }}", metadata.join(", ")));
    }
    line(out, "checks", group.checks.to_string());
    line(out, "detached", group.detached.to_string());
    line(out, "autostop", group.autostop.to_string());
}

fn api(out: &mut String, api: &ApiBehaviour) {
    out.push_str("\n[api]\n");
    line(out, "latency", distribution(&api.latency));
    line(out, "list_lag", quoted_duration(api.list_lag));
    line(
        out,
        "wait_timeout_max",
        quoted_duration(api.wait_timeout_max),
    );
    for (operation, latency) in &api.operation_latency {
        let _ = writeln!(out, "\n[api.operations.{}]", string(operation.as_str()));
        line(out, "latency", distribution(latency));
    }
}

fn proxy(out: &mut String, proxy: &ProxyBehaviour) {
    out.push_str("\n[proxy]\n");
    line(
        out,
        "regions",
        list(&proxy.regions, |region| string(region)),
    );
    line(out, "propagation", distribution(&proxy.propagation));
    line(out, "connect_retries", proxy.connect_retries.to_string());
    line(out, "retry_delay", quoted_duration(proxy.retry_delay));
    line(out, "hold_timeout", quoted_duration(proxy.hold_timeout));
}

fn traffic(out: &mut String, traffic: &TrafficSpec) {
    out.push_str("\n[traffic]\n");
    line(out, "service_time", distribution(&traffic.service_time));
    for region in &traffic.regions {
        out.push_str("\n[[traffic.regions]]\n");
        line(out, "region", string(&region.region));
        line(out, "rate", float(region.rate_per_second));
    }
}

fn deploy(out: &mut String, index: usize, deploy: &DeploySpec) {
    let _ = writeln!(out, "\n# deploy[{index}]\n[[deploy]]");
    line(out, "strategy", string(deploy.strategy.as_str()));
    line(out, "image", string(&deploy.image));
    match deploy.start {
        DeployStart::At(at) => line(out, "start", quoted_duration(at)),
        DeployStart::AfterPrevious(gap) => line(out, "after_previous", quoted_duration(gap)),
    }
    line(out, "wait_timeout", quoted_duration(deploy.wait_timeout));
    line(out, "lease_ttl", quoted_duration(deploy.lease_ttl));
    if let Some(max_concurrent) = deploy.max_concurrent {
        line(out, "max_concurrent", max_concurrent.to_string());
    }
    if let Some(max_unavailable) = deploy.max_unavailable {
        line(out, "max_unavailable", float(max_unavailable));
    }
    if let Some(signal) = &deploy.signal {
        line(out, "signal", string(signal));
    }
    line(
        out,
        "clock_skew_seconds",
        deploy.clock_skew_seconds.to_string(),
    );
    if let Some(outcome) = deploy.expect_outcome {
        line(out, "expect_outcome", string(outcome.as_str()));
    }
    if let Some(error) = &deploy.expect_error {
        line(out, "expect_error", string(error));
    }
    settings(out, &deploy.settings);
}

/// The overrides of flyctl's retry budgets and waits that are set.
fn settings(out: &mut String, settings: &crate::deploy::behaviour::BluegreenSettings) {
    let counts = [
        ("launch_attempts", settings.launch_attempts),
        ("checkpoint_attempts", settings.checkpoint_attempts),
        ("teardown_attempts", settings.teardown_attempts),
        ("image_refetch_attempts", settings.image_refetch_attempts),
        ("uncordon_attempts", settings.uncordon_attempts),
    ];
    for (key, value) in counts {
        if let Some(value) = value {
            line(out, key, value.to_string());
        }
    }
    let durations = [
        ("launch_backoff", settings.launch_backoff),
        ("launch_lookup_delay", settings.launch_lookup_delay),
        ("checkpoint_backoff", settings.checkpoint_backoff),
        ("teardown_backoff", settings.teardown_backoff),
        ("image_refetch_backoff", settings.image_refetch_backoff),
        ("uncordon_backoff", settings.uncordon_backoff),
        ("wait_before_cordon", settings.wait_before_cordon),
        ("wait_before_stop", settings.wait_before_stop),
        ("stop_wait_timeout", settings.stop_wait_timeout),
        ("health_timeout", settings.health_timeout),
    ];
    for (key, value) in durations {
        optional_duration(out, key, value);
    }
}

fn window(out: &mut String, window: &Window) {
    line(out, "start", quoted_duration(window.start));
    if let Some(duration) = window.duration {
        line(out, "duration", quoted_duration(duration));
    }
}

/// `status`: the HTTP status, or `"none"` for a transport error.
fn status_value(status: Option<u16>) -> String {
    status.map_or_else(|| string("none"), |status| status.to_string())
}

/// A fault that fails calls at `rate` in a window, or exactly the `calls` it counts.
fn rate_window_or_calls(out: &mut String, rate: f64, when: &Window, calls: Option<CallRange>) {
    match calls {
        Some(calls) => line(out, "calls", string(&calls.to_string())),
        None => {
            line(out, "rate", float(rate));
            window(out, when);
        }
    }
}

fn trigger(out: &mut String, trigger: &Trigger) {
    match trigger {
        Trigger::At(at) => line(out, "at", quoted_duration(*at)),
        Trigger::Phase { phase, after } => {
            line(out, "phase", string(phase.as_str()));
            line(out, "after", quoted_duration(*after));
        }
    }
}

fn fault(out: &mut String, fault: &FaultSpec) {
    out.push_str("\n[[faults]]\n");
    match fault {
        FaultSpec::ApiError {
            operation,
            rate,
            status,
            window: when,
            deploy,
            machine,
            calls,
        } => {
            line(out, "kind", string("api-error"));
            if let Some(operation) = operation {
                line(out, "operation", string(operation.as_str()));
            }
            line(out, "status", status_value(*status));
            rate_window_or_calls(out, *rate, when, *calls);
            if let Some(deploy) = deploy {
                line(out, "deploy", deploy.to_string());
            }
            if let Some(machine) = machine {
                line(out, "machine", string(&target(*machine)));
            }
        }
        FaultSpec::PropagationTail {
            probability,
            delay,
            window: when,
        } => {
            line(out, "kind", string("propagation-tail"));
            line(out, "probability", float(*probability));
            line(out, "delay", distribution(delay));
            window(out, when);
        }
        FaultSpec::MachineCrash { target: which, at } => {
            line(out, "kind", string("machine-crash"));
            line(out, "machine", string(&target(*which)));
            line(out, "at", quoted_duration(*at));
        }
        FaultSpec::Unhealthy { target: which } => {
            line(out, "kind", string("unhealthy"));
            line(out, "machine", string(&target(*which)));
        }
        FaultSpec::LeaseHeld {
            target: which,
            owner,
            ttl,
        } => {
            line(out, "kind", string("lease-held"));
            line(out, "machine", string(&target(*which)));
            line(out, "owner", string(owner));
            line(out, "ttl", quoted_duration(*ttl));
        }
        FaultSpec::DeployerKill {
            deploy,
            trigger: when,
        } => {
            line(out, "kind", string("deployer-kill"));
            line(out, "deploy", deploy.to_string());
            trigger(out, when);
        }
        FaultSpec::DeployerAbort {
            deploy,
            trigger: when,
        } => {
            line(out, "kind", string("deployer-abort"));
            line(out, "deploy", deploy.to_string());
            trigger(out, when);
        }
        FaultSpec::CapacityError {
            deploy,
            after_creates,
            status,
        } => {
            line(out, "kind", string("capacity-error"));
            if let Some(deploy) = deploy {
                line(out, "deploy", deploy.to_string());
            }
            line(out, "after_creates", after_creates.to_string());
            line(out, "status", status.to_string());
        }
        FaultSpec::StopHangs {
            target: which,
            duration,
        } => {
            line(out, "kind", string("stop-hangs"));
            line(out, "machine", string(&target(*which)));
            optional_duration(out, "duration", *duration);
        }
        _ => catalogue_fault(out, fault),
    }
}

fn optional_duration(out: &mut String, key: &str, value: Option<std::time::Duration>) {
    if let Some(value) = value {
        line(out, key, quoted_duration(value));
    }
}

fn optional_deploy(out: &mut String, deploy: Option<u32>) {
    if let Some(deploy) = deploy {
        line(out, "deploy", deploy.to_string());
    }
}

fn optional_operation(out: &mut String, operation: Option<crate::api::Operation>) {
    if let Some(operation) = operation {
        line(out, "operation", string(operation.as_str()));
    }
}

fn machine_target(out: &mut String, which: MachineTarget) {
    line(out, "machine", string(&target(which)));
}

/// The faults of the rest of the catalogue (F2–F11, F14); `kind` comes from `faults::kind_name`.
fn catalogue_fault(out: &mut String, fault: &FaultSpec) {
    line(out, "kind", string(crate::faults::kind_name(fault)));
    match fault {
        FaultSpec::ApiAmbiguous {
            operation,
            rate,
            status,
            window: when,
            deploy,
            machine: which,
            calls,
        } => {
            optional_operation(out, *operation);
            line(out, "status", status_value(*status));
            rate_window_or_calls(out, *rate, when, *calls);
            optional_deploy(out, *deploy);
            if let Some(which) = which {
                machine_target(out, *which);
            }
        }
        FaultSpec::ApiSlow {
            operation,
            extra,
            window: when,
            deploy,
        } => {
            optional_operation(out, *operation);
            line(out, "extra", distribution(extra));
            window(out, when);
            optional_deploy(out, *deploy);
        }
        FaultSpec::ApiPartition {
            deploy,
            window: when,
            operation,
            calls,
        } => {
            optional_deploy(out, *deploy);
            optional_operation(out, *operation);
            match calls {
                Some(calls) => line(out, "calls", string(&calls.to_string())),
                None => window(out, when),
            }
        }
        FaultSpec::StaleList { lag, window: when } => {
            line(out, "lag", quoted_duration(*lag));
            window(out, when);
        }
        FaultSpec::EmptyImageRef {
            target: which,
            window: when,
        }
        | FaultSpec::HostNotOk {
            target: which,
            window: when,
            ..
        } => {
            machine_target(out, *which);
            window(out, when);
        }
        FaultSpec::DeployerStall {
            deploy,
            trigger: when,
            duration,
        } => {
            line(out, "deploy", deploy.to_string());
            trigger(out, when);
            line(out, "duration", quoted_duration(*duration));
        }
        FaultSpec::SlowBoot {
            target: which,
            delay,
        } => {
            machine_target(out, *which);
            line(out, "delay", distribution(delay));
        }
        FaultSpec::BootFailure { target: which } => machine_target(out, *which),
        FaultSpec::CrashLoop {
            target: which,
            period,
        } => {
            machine_target(out, *which);
            line(out, "period", quoted_duration(*period));
        }
        FaultSpec::OrgLimit { deploy } => optional_deploy(out, *deploy),
        FaultSpec::ChecksFail {
            target: which,
            trigger: when,
            duration,
        } => {
            machine_target(out, *which);
            trigger(out, when);
            optional_duration(out, "duration", *duration);
        }
        FaultSpec::ChecksFlap {
            target: which,
            period,
            window: when,
        } => {
            machine_target(out, *which);
            line(out, "period", quoted_duration(*period));
            window(out, when);
        }
        FaultSpec::ProxyStale {
            region,
            window: when,
        } => {
            line(out, "region", string(region));
            window(out, when);
        }
        FaultSpec::ManualDestroy { target: which, at } => {
            machine_target(out, *which);
            line(out, "at", quoted_duration(*at));
        }
        _ => unreachable!("the first nine kinds are written by `fault`"),
    }
}

fn run(out: &mut String, run: &RunSpec) {
    out.push_str("\n[run]\n");
    line(out, "seed", run.seed.to_string());
    line(out, "time_limit", quoted_duration(run.time_limit));
    line(out, "event_limit", run.event_limit.to_string());
    line(out, "machine_limit", run.machine_limit.to_string());
    line(out, "settle", quoted_duration(run.settle));
    if let Some(bound) = run.deploy_time_bound {
        line(out, "deploy_time_bound", quoted_duration(bound));
    }
}

fn bounds(out: &mut String, bounds: &crate::check::Bounds) {
    out.push_str("\n[check]\n");
    line(out, "mixing_bound", quoted_duration(bounds.mixing_bound));
    line(out, "explosion_factor", float(bounds.explosion_factor));
}

/// `calls.<operation> = n` or `{ min = a, max = b }` lines.
fn calls(out: &mut String, calls: &std::collections::BTreeMap<crate::api::Operation, CountRange>) {
    for (operation, range) in calls {
        let value = match range.max {
            Some(max) if max == range.min => max.to_string(),
            Some(max) => format!("{{ min = {}, max = {max} }}", range.min),
            None => format!("{{ min = {} }}", range.min),
        };
        line(out, &format!("calls.{}", operation.as_str()), value);
    }
}

fn invariants(values: &[crate::check::Invariant]) -> String {
    list(values, |invariant| string(invariant.as_str()))
}

fn expect(out: &mut String, expect: &Expectations) {
    out.push_str("\n[expect]\n");
    if expect.hold_explicit {
        line(out, "hold", invariants(&expect.hold));
    }
    line(out, "violate", invariants(&expect.violate));
    if !expect.output_contains.is_empty() {
        line(
            out,
            "output_contains",
            list(&expect.output_contains, |text| string(text)),
        );
    }
    if !expect.output_not_contains.is_empty() {
        line(
            out,
            "output_not_contains",
            list(&expect.output_not_contains, |text| string(text)),
        );
    }
    if let Some(status) = expect.exit_status {
        line(out, "exit_status", status.to_string());
    }
    calls(out, &expect.calls);
    for entry in &expect.machines {
        out.push_str("\n[[expect.machines]]\n");
        line(out, "machine", string(&target(entry.target)));
        calls(out, &entry.calls);
        if let Some(launched) = entry.launched {
            line(out, "launched", string(launched.as_str()));
        }
        if let Some(kill) = entry.destroy_kill {
            line(out, "destroy_kill", kill.to_string());
        }
        if let Some(nonce) = entry.destroy_nonce {
            line(out, "destroy_nonce", nonce.to_string());
        }
        if let Some(state) = entry.state {
            line(out, "state", string(state.as_str()));
        }
    }
    for (strategy, entry) in &expect.by_strategy {
        let _ = writeln!(out, "\n[expect.strategies.{}]", string(strategy.as_str()));
        if entry.hold_explicit {
            line(out, "hold", invariants(&entry.hold));
        }
        line(out, "violate", invariants(&entry.violate));
        if !entry.outcomes.is_empty() {
            let outcomes = list(&entry.outcomes, |outcome| {
                string(outcome.map_or("any", |outcome| outcome.as_str()))
            });
            line(out, "outcomes", outcomes);
        }
        if let Some(status) = entry.exit_status {
            line(out, "exit_status", status.to_string());
        }
    }
}
