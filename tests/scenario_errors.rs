//! Scenario loading: every error names the exact file, line, column and field; valid files load
//! with their defaults; no input makes the loader panic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fleetsim::api::{CheckConfig, CheckKind, MachineState, Phase};
use fleetsim::check::Invariant;
use fleetsim::deploy::{DeployOutcome, StrategyName};
use fleetsim::engine::random::Distribution;
use fleetsim::scenario::*;

/// The smallest valid scenario: 9 lines, `[[deploy]]` on line 12 with `image` on line 13.
const MINIMAL: &str = r#"[scenario]
name = "minimal"

[app]
name = "app"
image = "img:1"

[[fleet]]
region = "iad"
count = 4

[[deploy]]
image = "img:2"
"#;

fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    fleetsim::scenario::parse(Path::new("test.toml"), text)
}

/// Parses `text`, which must fail, and checks where the error points.
fn error_at(text: &str, line: usize, column: usize, field: &str) -> ScenarioError {
    let error = match parse(text) {
        Ok(scenario) => panic!("expected an error at {field}, parsed {scenario:?}"),
        Err(error) => error,
    };
    assert_eq!(
        (error.line, error.column, error.field.as_str()),
        (line, column, field),
        "wrong location for: {error}"
    );
    assert_eq!(error.file, PathBuf::from("test.toml"));
    error
}

fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

fn millis(milliseconds: u64) -> Duration {
    Duration::from_millis(milliseconds)
}

fn lognormal(median: Duration, p99: Duration, max: Option<Duration>) -> Distribution {
    Distribution::lognormal(median, p99, max)
}

#[test]
fn missing_field_names_the_field_at_its_table() {
    // Guards against a missing required field being reported without its name or at 1:1.
    let text = MINIMAL.replace("image = \"img:2\"", "start = \"5s\"");
    let error = error_at(&text, 12, 1, "deploy[0].image");
    assert_eq!(error.message, "missing field `image`");
}

#[test]
fn missing_top_level_table_is_named() {
    // Guards against a missing required table producing a field of `-`.
    let text = MINIMAL.replace("[scenario]\nname = \"minimal\"\n", "");
    let error = error_at(&text, 1, 1, "scenario");
    assert_eq!(error.message, "missing field `scenario`");
}

#[test]
fn unknown_field_points_at_the_key_and_lists_expected_fields() {
    // Guards against typos in keys being silently ignored, or reported without the valid keys.
    let text = MINIMAL.replace("image = \"img:2\"", "imag = \"img:2\"");
    let error = error_at(&text, 13, 1, "deploy[0].imag");
    assert!(
        error
            .message
            .starts_with("unknown field `imag`, expected one of"),
        "{error}"
    );
    assert!(error.message.contains("`image`"), "{error}");
    assert!(error.message.contains("`wait_timeout`"), "{error}");
}

#[test]
fn wrong_type_points_at_the_value() {
    // Guards against type errors that name Rust types or lose the field path.
    let text = MINIMAL.replace("count = 4", "count = \"4\"");
    let error = error_at(&text, 10, 9, "fleet[0].count");
    assert_eq!(
        error.message,
        "invalid type: string \"4\", expected an integer"
    );
}

#[test]
fn duration_given_as_a_number_is_a_type_error() {
    // Guards against unit-less durations being accepted (is 5 seconds or milliseconds?).
    let text = format!("{MINIMAL}wait_timeout = 5\n");
    let error = error_at(&text, 14, 16, "deploy[0].wait_timeout");
    assert_eq!(
        error.message,
        "invalid type: integer `5`, expected a string"
    );
}

#[test]
fn negative_duration_is_rejected_with_its_own_message() {
    // Guards against humantime's unhelpful "expected number" for `-5s`.
    let text = format!("{MINIMAL}wait_timeout = \"-5s\"\n");
    let error = error_at(&text, 14, 16, "deploy[0].wait_timeout");
    assert_eq!(error.message, "negative duration `-5s` is not allowed");
}

#[test]
fn malformed_duration_quotes_the_text() {
    // Guards against duration errors that do not show what the user wrote.
    let text = format!("{MINIMAL}lease_ttl = \"5 parsecs\"\n");
    let error = error_at(&text, 14, 13, "deploy[0].lease_ttl");
    assert!(
        error.message.starts_with("invalid duration `5 parsecs`: "),
        "{error}"
    );
    assert!(error.message.contains("parsecs"), "{error}");
}

#[test]
fn count_out_of_range_states_the_limit() {
    // Guards against huge fleets being accepted, and against a message that hides the limit.
    let text = MINIMAL.replace("count = 4", "count = 10001");
    let error = error_at(&text, 10, 9, "fleet[0].count");
    assert_eq!(
        error.message,
        "10001 is out of range: must be between 0 and 10000"
    );
    let text = MINIMAL.replace("count = 4", "count = -1");
    error_at(&text, 10, 9, "fleet[0].count");
}

#[test]
fn lognormal_with_p99_below_median_points_at_p99() {
    // Guards against impossible distributions reaching the sampler.
    let text = format!(
        "{MINIMAL}\n[machine]\nboot_time = {{ kind = \"lognormal\", median = \"2s\", p99 = \"1s\" }}\n"
    );
    let error = error_at(&text, 16, 56, "machine.boot_time.p99");
    assert_eq!(error.message, "p99 (1s) must not be less than median (2s)");
}

#[test]
fn distribution_field_of_another_kind_is_rejected() {
    // Guards against fields that a distribution's kind ignores (`mean` on a uniform).
    let text = format!(
        "{MINIMAL}\n[proxy]\npropagation = {{ kind = \"uniform\", min = \"1s\", max = \"2s\", mean = \"1s\" }}\n"
    );
    let error = error_at(&text, 16, 66, "proxy.propagation.mean");
    assert_eq!(
        error.message,
        "`mean` does not apply to a uniform distribution (its fields: kind, min, max)"
    );
}

#[test]
fn distribution_missing_a_required_field_points_at_the_table() {
    // Guards against a partial distribution being filled with zeros.
    let text =
        format!("{MINIMAL}\n[api]\nlatency = {{ kind = \"lognormal\", median = \"20ms\" }}\n");
    let error = error_at(&text, 16, 11, "api.latency.p99");
    assert_eq!(
        error.message,
        "missing field `p99` (a lognormal distribution needs median, p99)"
    );
}

#[test]
fn unknown_distribution_kind_lists_the_kinds() {
    // Guards against a misspelt kind falling back to some default distribution.
    let text =
        format!("{MINIMAL}\n[traffic]\nservice_time = {{ kind = \"normal\", value = \"1s\" }}\n");
    let error = error_at(&text, 16, 25, "traffic.service_time.kind");
    assert_eq!(
        error.message,
        "unknown distribution kind `normal` (known: constant, uniform, lognormal, exponential)"
    );
}

#[test]
fn fault_target_beyond_the_fleet_is_rejected() {
    // Guards against faults aimed at machines that do not exist (they would silently never fire).
    let text = format!("{MINIMAL}\n[[faults]]\nkind = \"unhealthy\"\nmachine = \"blue:4\"\n");
    let error = error_at(&text, 17, 11, "faults[0].machine");
    assert_eq!(
        error.message,
        "bad machine target `blue:4`: the initial fleet has 4 machines (blue:0 to blue:3)"
    );
}

#[test]
fn fault_target_with_bad_syntax_or_missing_deploy_is_rejected() {
    // Guards against target strings outside the grammar, and greens of deploys that do not exist.
    let text = format!(
        "{MINIMAL}\n[[faults]]\nkind = \"machine-crash\"\nmachine = \"purple:1\"\nat = \"1m\"\n"
    );
    let error = error_at(&text, 17, 11, "faults[0].machine");
    assert!(
        error
            .message
            .starts_with("bad machine target `purple:1`: expected `blue:<i>`"),
        "{error}"
    );
    let text =
        format!("{MINIMAL}\n[[faults]]\nkind = \"unhealthy\"\nmachine = \"deploy[1].green:*\"\n");
    let error = error_at(&text, 17, 11, "faults[0].machine");
    assert_eq!(
        error.message,
        "bad machine target `deploy[1].green:*`: there is no deploy[1] (the scenario has 1 deploys)"
    );
}

#[test]
fn lease_held_accepts_only_blue_targets() {
    // Guards against a lease fault on a green, which does not exist when the run starts.
    let text = format!("{MINIMAL}\n[[faults]]\nkind = \"lease-held\"\nmachine = \"green:0\"\n");
    let error = error_at(&text, 17, 11, "faults[0].machine");
    assert!(error.message.contains("`blue:<i>`"), "{error}");
}

#[test]
fn fault_field_of_another_kind_is_rejected() {
    // Guards against fault fields that the fault's kind would ignore.
    let text =
        format!("{MINIMAL}\n[[faults]]\nkind = \"unhealthy\"\nmachine = \"blue:1\"\nrate = 0.5\n");
    let error = error_at(&text, 18, 8, "faults[0].rate");
    assert_eq!(
        error.message,
        "`rate` does not apply to a fault of kind `unhealthy` (its fields: kind, machine)"
    );
}

#[test]
fn api_error_rate_and_status_are_range_checked() {
    // Guards against rates above 1 and non-error statuses in api-error faults.
    let text = format!("{MINIMAL}\n[[faults]]\nkind = \"api-error\"\nrate = 1.5\n");
    let error = error_at(&text, 17, 8, "faults[0].rate");
    assert_eq!(
        error.message,
        "1.5 is out of range: must be greater than 0 and at most 1"
    );
    let text = format!("{MINIMAL}\n[[faults]]\nkind = \"api-error\"\nrate = 0.5\nstatus = 200\n");
    let error = error_at(&text, 18, 10, "faults[0].status");
    assert_eq!(
        error.message,
        "200 is out of range: must be between 400 and 599"
    );
}

#[test]
fn unknown_strategy_lists_the_known_ones() {
    // Guards against a misspelt strategy running the default algorithm instead.
    let text = format!("{MINIMAL}strategy = \"blugreen\"\n");
    let error = error_at(&text, 14, 12, "deploy[0].strategy");
    assert!(
        error
            .message
            .starts_with("unknown strategy `blugreen` (known: "),
        "{error}"
    );
    assert!(error.message.contains("bluegreen"), "{error}");
}

#[test]
fn unknown_invariant_lists_the_known_ones() {
    // Guards against a misspelt invariant being dropped from the expectations.
    let text = format!("{MINIMAL}\n[expect]\nhold = [\"no-downtime\", \"no-explosion\"]\n");
    let error = error_at(&text, 16, 24, "expect.hold[1]");
    assert!(
        error
            .message
            .starts_with("unknown invariant `no-explosion` (known: "),
        "{error}"
    );
    assert!(error.message.contains("no-machine-explosion"), "{error}");
}

#[test]
fn invariant_in_hold_and_violate_is_rejected() {
    // Guards against contradictory expectations that can never all be met.
    let text =
        format!("{MINIMAL}\n[expect]\nhold = [\"no-downtime\"]\nviolate = [\"no-downtime\"]\n");
    let error = error_at(&text, 16, 9, "expect.hold[0]");
    assert_eq!(
        error.message,
        "invariant `no-downtime` is in both expect.hold and expect.violate"
    );
}

#[test]
fn start_and_after_previous_are_exclusive() {
    // Guards against a deploy with two start times, one silently winning.
    let text = format!("{MINIMAL}start = \"5s\"\nafter_previous = \"10s\"\n");
    let error = error_at(&text, 15, 18, "deploy[0].after_previous");
    assert_eq!(
        error.message,
        "give either `start` or `after_previous`, not both"
    );
}

#[test]
fn lease_ttl_must_exceed_one_second() {
    // Guards against a lease TTL flyctl could never refresh in time (refresh period TTL - 1s).
    let text = format!("{MINIMAL}lease_ttl = \"1s\"\n");
    let error = error_at(&text, 14, 13, "deploy[0].lease_ttl");
    assert_eq!(error.message, "lease_ttl (1s) must be longer than 1s");
}

#[test]
fn zero_wait_timeout_is_rejected() {
    // Guards against a wait timeout of 0, which fails every deploy at once.
    let text = format!("{MINIMAL}wait_timeout = \"0s\"\n");
    let error = error_at(&text, 14, 16, "deploy[0].wait_timeout");
    assert_eq!(error.message, "must be greater than 0");
}

#[test]
fn traffic_in_a_region_without_a_proxy_is_rejected() {
    // Guards against traffic that no proxy could ever route.
    let text = format!(
        "{MINIMAL}\n[proxy]\nregions = [\"iad\"]\n\n[[traffic.regions]]\nregion = \"ams\"\nrate = 5\n"
    );
    let error = error_at(&text, 19, 10, "traffic.regions[0].region");
    assert_eq!(
        error.message,
        "region `ams` has no proxy (proxy.regions: iad)"
    );
}

#[test]
fn bad_region_code_is_rejected() {
    // Guards against region typos like `IAD` or `us-east`.
    let text = MINIMAL.replace("region = \"iad\"", "region = \"IAD\"");
    let error = error_at(&text, 9, 10, "fleet[0].region");
    assert!(error.message.starts_with("invalid region `IAD`"), "{error}");
}

#[test]
fn fleet_above_the_machine_limit_is_rejected() {
    // Guards against an initial fleet that the run's own machine limit would stop at once.
    let text = format!("{MINIMAL}\n[run]\nmachine_limit = 3\n");
    let error = error_at(&text, 10, 9, "fleet[0].count");
    assert_eq!(
        error.message,
        "the initial fleet reaches 4 machines here, more than run.machine_limit (3)"
    );
}

#[test]
fn at_least_one_deploy_and_one_fleet_entry() {
    // Guards against scenarios that deploy nothing or have no fleet at all.
    let text = format!("deploy = []\n{MINIMAL}").replace("[[deploy]]\nimage = \"img:2\"\n", "");
    let error = error_at(&text, 1, 10, "deploy");
    assert_eq!(error.message, "at least one [[deploy]] entry is required");
    let text = MINIMAL.replace("[[fleet]]\nregion = \"iad\"\ncount = 4\n", "");
    let error = error_at(&text, 1, 1, "fleet");
    assert_eq!(error.message, "missing field `fleet`");
}

#[test]
fn duplicate_check_names_are_rejected() {
    // Guards against two checks with one name (machines key their checks by name).
    let text = MINIMAL.replace(
        "image = \"img:1\"\n",
        "image = \"img:1\"\n[[app.checks]]\nname = \"alive\"\n[[app.checks]]\nname = \"alive\"\n",
    );
    let error = error_at(&text, 10, 8, "app.checks[1].name");
    assert_eq!(error.message, "duplicate check name `alive`");
}

#[test]
fn unknown_operation_is_rejected() {
    // Guards against per-operation latency for a misspelt operation being ignored.
    let text = format!(
        "{MINIMAL}\n[api.operations.lunch]\nlatency = {{ kind = \"constant\", value = \"1s\" }}\n"
    );
    let error = error_at(&text, 15, 1, "api.operations.lunch");
    assert!(
        error
            .message
            .starts_with("unknown operation `lunch` (known: list, get, launch"),
        "{error}"
    );
}

#[test]
fn operation_override_errors_name_the_operation() {
    // Guards against errors inside `[api.operations.<op>]` losing the operation from the path.
    let text = format!("{MINIMAL}\n[api.operations.launch]\nlatncy = 1\n");
    let error = error_at(&text, 16, 1, "api.operations.launch.latncy");
    assert_eq!(error.message, "unknown field `latncy`, expected `latency`");
    let text = format!("{MINIMAL}\n[api.operations.launch]\n");
    let error = error_at(&text, 15, 1, "api.operations.launch.latency");
    assert_eq!(error.message, "missing field `latency`");
}

#[test]
fn metadata_values_must_be_strings() {
    // Guards against non-string metadata, which the Machines API would reject.
    let text = MINIMAL.replace("count = 4", "count = 4\nmetadata = { tag = 1 }");
    let error = error_at(&text, 11, 20, "fleet[0].metadata.tag");
    assert_eq!(
        error.message,
        "invalid type: integer `1`, expected a string"
    );
}

#[test]
fn duplicate_key_is_named() {
    // Guards against toml's bare "duplicate key" message, which does not say which key.
    let text = format!("{MINIMAL}signal = \"SIGINT\"\nsignal = \"SIGTERM\"\n");
    let error = error_at(&text, 15, 1, "-");
    assert_eq!(error.message, "duplicate key `signal`");
}

#[test]
fn syntax_error_has_no_field() {
    // Guards against TOML syntax errors losing their position.
    let error = error_at("[scenario\nname = 1\n", 1, 10, "-");
    assert!(error.message.contains("expected `]`"), "{error}");
}

#[test]
fn display_format_is_file_line_column_field_message() {
    // Guards against the error format editors and the CLI rely on.
    let text = format!("{MINIMAL}wait_timeout = \"-5s\"\n");
    let error = error_at(&text, 14, 16, "deploy[0].wait_timeout");
    assert_eq!(
        error.to_string(),
        "test.toml:14:16: deploy[0].wait_timeout: negative duration `-5s` is not allowed"
    );
    let boxed: Box<dyn std::error::Error> = Box::new(error);
    assert!(boxed.to_string().starts_with("test.toml:14:16"));
}

#[test]
fn unreadable_file_is_reported_at_line_zero() {
    // Guards against a missing file panicking or losing the io error.
    let path = Path::new("scenarios/does-not-exist.toml");
    let error = match load(path) {
        Ok(_) => panic!("loaded a missing file"),
        Err(error) => error,
    };
    assert_eq!((error.line, error.column), (0, 0));
    assert_eq!(error.file, path);
    assert!(
        error.message.starts_with("cannot read scenario file: "),
        "{error}"
    );
}

#[test]
fn garbage_and_truncated_inputs_are_errors_not_panics() {
    // Guards against any input making the loader panic.
    let mut inputs: Vec<String> = [
        "",
        "\0",
        "\u{feff}",
        "[",
        "[[",
        "=",
        "a = ",
        "[scenario]\nname =",
        "é = \"é\"\n[é",
        "[scenario]\nname = \"x\"\n[scenario]\n",
        "[[fleet]]\ncount = 99999999999999999999\n",
        "[scenario]\nname = \"\"\n",
        "fleet = 3",
        "deploy = [1, 2]",
        "\"\"\"",
        "x = 1e999",
        "[app]\nchecks = \"no\"",
        "[[faults]]\nkind = 1",
    ]
    .iter()
    .map(|text| text.to_string())
    .collect();
    // Deep nesting must not overflow the stack.
    inputs.push(format!("a = {}", "[".repeat(100_000)));
    inputs.push(format!("a = {}", "{ b = ".repeat(100_000)));
    let garbage = inputs.len();
    // Every prefix of a valid file (cut at character boundaries) must be an error or a scenario.
    let full = std::fs::read_to_string("scenarios/bluegreen-basic.toml").expect("example exists");
    for (cut, _) in full.char_indices().step_by(7) {
        inputs.push(full[..cut].to_string());
    }
    let mut errors = 0;
    for input in &inputs {
        let result = std::panic::catch_unwind(|| parse(input));
        match result {
            Err(_) => panic!("the loader panicked on {input:?}"),
            Ok(Err(_)) => errors += 1,
            Ok(Ok(_)) => {}
        }
    }
    // The hand-written garbage all fails; prefixes that stop before `[[deploy]]`'s image fail too.
    assert!(errors >= garbage, "only {errors} errors");
    for input in &inputs[..garbage] {
        assert!(parse(input).is_err(), "accepted {input:?}");
    }
}

#[test]
fn minimal_file_gets_every_default() {
    // Guards against a default changing silently (the simulator's behaviour depends on them).
    let scenario = parse(MINIMAL).expect("minimal scenario is valid");
    assert_eq!(scenario.path, PathBuf::from("test.toml"));
    assert_eq!(scenario.description, "");
    assert!(scenario.app.checks.is_empty());
    assert_eq!(
        scenario.machine,
        MachineBehaviour {
            boot_time: lognormal(millis(1_500), secs(4), Some(secs(10))),
            app_ready_time: lognormal(secs(2), secs(6), Some(secs(15))),
            stop_time: lognormal(secs(1), secs(3), Some(secs(10))),
            kill_timeout: secs(5),
            destroy_time: Distribution::Constant(millis(500)),
        }
    );
    assert_eq!(
        scenario.fleet,
        vec![FleetGroup {
            region: "iad".into(),
            process_group: "app".into(),
            count: 4,
            state: MachineState::Started,
            image: None,
            metadata: BTreeMap::new(),
            checks: true,
            detached: false,
            autostop: false,
        }]
    );
    assert_eq!(
        scenario.api,
        ApiBehaviour {
            latency: lognormal(millis(25), millis(150), Some(secs(1))),
            operation_latency: BTreeMap::new(),
            list_lag: millis(500),
            wait_timeout_max: secs(60),
        }
    );
    assert_eq!(
        scenario.proxy,
        ProxyBehaviour {
            regions: vec!["iad".into()],
            propagation: lognormal(secs(1), secs(5), Some(secs(9))),
            connect_retries: 3,
            retry_delay: millis(10),
            hold_timeout: secs(5),
        }
    );
    assert_eq!(
        scenario.traffic,
        TrafficSpec {
            service_time: lognormal(millis(20), millis(150), Some(secs(2))),
            regions: vec![],
        }
    );
    assert_eq!(
        scenario.deploys,
        vec![default_deploy("img:2", DeployStart::At(secs(5)))]
    );
    assert!(scenario.faults.is_empty());
    assert_eq!(
        scenario.run,
        RunSpec {
            seed: 1,
            time_limit: secs(7200),
            event_limit: 50_000_000,
            machine_limit: 10_000,
            settle: secs(30),
            deploy_time_bound: None,
        }
    );
    assert_eq!(
        scenario.expect,
        Expectations {
            hold: Invariant::ALL.to_vec(),
            hold_explicit: false,
            violate: vec![],
            output_contains: vec![],
            output_not_contains: vec![],
            calls: BTreeMap::new(),
            machines: vec![],
            exit_status: None,
            by_strategy: BTreeMap::new(),
        }
    );
}

fn default_deploy(image: &str, start: DeployStart) -> DeploySpec {
    DeploySpec {
        strategy: "bluegreen".parse::<StrategyName>().expect("known strategy"),
        image: image.into(),
        start,
        wait_timeout: secs(300),
        lease_ttl: secs(13),
        max_concurrent: None,
        max_unavailable: None,
        signal: None,
        clock_skew_seconds: 0,
        expect_outcome: None,
        expect_error: None,
        settings: Default::default(),
    }
}

#[test]
fn later_deploys_default_to_after_previous() {
    // Guards against the second deploy defaulting to the first one's start time.
    let text = format!("{MINIMAL}\n[[deploy]]\nimage = \"img:3\"\n");
    let scenario = parse(&text).expect("valid");
    assert_eq!(
        scenario.deploys[1].start,
        DeployStart::AfterPrevious(secs(10))
    );
}

#[test]
fn proxy_regions_default_to_fleet_and_traffic_regions_sorted() {
    // Guards against proxies missing for regions that only have traffic.
    let text = format!(
        "{MINIMAL}\n[[fleet]]\nregion = \"ams\"\ncount = 1\n\n[[traffic.regions]]\nregion = \"syd\"\nrate = 5\n\n[[traffic.regions]]\nregion = \"iad\"\nrate = 2.5\n"
    );
    let scenario = parse(&text).expect("valid");
    assert_eq!(scenario.proxy.regions, vec!["ams", "iad", "syd"]);
    assert_eq!(scenario.traffic.regions[0].rate_per_second, 5.0);
    assert_eq!(scenario.initial_machine_count(), 5);
}

const FULL: &str = r#"
[scenario]
name = "full"
description = "every section"

[app]
name = "cherrypicker"
image = "img:a"

[[app.checks]]
name = "alive"
interval = "15s"
grace_period = "5s"

[[app.checks]]
name = "port"
kind = "tcp"
timeout = "2s"

[machine]
boot_time = { kind = "uniform", min = "1s", max = "3s" }
app_ready_time = { kind = "exponential", mean = "2s", max = "20s" }
stop_time = { kind = "exponential", mean = "1s" }
kill_timeout = "1m 30s"
destroy_time = { kind = "constant", value = "300ms" }

[[fleet]]
region = "iad"
count = 2

[[fleet]]
region = "ams"
process_group = "worker"
count = 1
state = "stopped"
image = "img:b"
metadata = { fly_bluegreen_deployment_tag = "1713372180" }
checks = false

[api]
latency = { kind = "constant", value = "10ms" }
list_lag = "1s"
wait_timeout_max = "30s"

[api.operations.launch]
latency = { kind = "lognormal", median = "1s", p99 = "3s" }

[api.operations.can-perform-bluegreen]
latency = { kind = "constant", value = "5ms" }

[proxy]
regions = ["iad", "ams", "syd"]
propagation = { kind = "lognormal", median = "1.5s", p99 = "5s", max = "9s" }
connect_retries = 5
retry_delay = "20ms"
hold_timeout = "3s"

[traffic]
service_time = { kind = "constant", value = "20ms" }

[[traffic.regions]]
region = "syd"
rate = 12

[[deploy]]
strategy = "bluegreen@2026-08"
image = "img:c"
start = "7s"
wait_timeout = "2m"
lease_ttl = "20s"
max_concurrent = 2
signal = "SIGINT"
clock_skew_seconds = -3
expect_outcome = "rolled-back"
expect_error = "timeout"

[[deploy]]
image = "img:d"
after_previous = "30s"
expect_outcome = "succeeded"

[[faults]]
kind = "api-error"
operation = "acquire-lease"
rate = 0.25
start = "10s"
duration = "1m"

[[faults]]
kind = "api-error"
rate = 1

[[faults]]
kind = "propagation-tail"
probability = 0.1
delay = { kind = "uniform", min = "10s", max = "30s" }

[[faults]]
kind = "machine-crash"
machine = "deploy[1].green:2"
at = "2m"

[[faults]]
kind = "unhealthy"
machine = "green:*"

[[faults]]
kind = "lease-held"
machine = "blue:2"

[run]
seed = 42
time_limit = "1h"
event_limit = 1000
machine_limit = 20
settle = "1m"
deploy_time_bound = "20m"

[expect]
violate = ["rollback-spares-blue"]
output_contains = ["Found 2 different images"]
exit_status = 1
"#;

#[test]
fn full_example_parses_to_the_expected_values() {
    // Guards against any field of the schema being dropped or mis-mapped on its way to the model.
    let scenario = parse(FULL).expect("full scenario is valid");
    assert_eq!(scenario.name, "full");
    assert_eq!(scenario.description, "every section");
    assert_eq!(
        scenario.app,
        AppSpec {
            name: "cherrypicker".into(),
            image: "img:a".into(),
            checks: vec![
                CheckConfig {
                    name: "alive".into(),
                    kind: CheckKind::Http,
                    interval: Some(secs(15)),
                    grace_period: Some(secs(5)),
                    timeout: None,
                },
                CheckConfig {
                    name: "port".into(),
                    kind: CheckKind::Tcp,
                    interval: None,
                    grace_period: None,
                    timeout: Some(secs(2)),
                },
            ],
            services: vec![],
        }
    );
    assert_eq!(
        scenario.machine,
        MachineBehaviour {
            boot_time: Distribution::Uniform {
                min: secs(1),
                max: secs(3)
            },
            app_ready_time: Distribution::Exponential {
                mean: secs(2),
                max: Some(secs(20))
            },
            stop_time: Distribution::Exponential {
                mean: secs(1),
                max: None
            },
            kill_timeout: secs(90),
            destroy_time: Distribution::Constant(millis(300)),
        }
    );
    assert_eq!(
        scenario.fleet[1],
        FleetGroup {
            region: "ams".into(),
            process_group: "worker".into(),
            count: 1,
            state: MachineState::Stopped,
            image: Some("img:b".into()),
            metadata: BTreeMap::from([(
                "fly_bluegreen_deployment_tag".to_string(),
                "1713372180".to_string()
            )]),
            checks: false,
            detached: false,
            autostop: false,
        }
    );
    assert_eq!(scenario.initial_machine_count(), 3);
    assert_eq!(
        scenario.api,
        ApiBehaviour {
            latency: Distribution::Constant(millis(10)),
            operation_latency: BTreeMap::from([
                (Operation::Launch, lognormal(secs(1), secs(3), None)),
                (
                    Operation::CanPerformBluegreen,
                    Distribution::Constant(millis(5))
                ),
            ]),
            list_lag: secs(1),
            wait_timeout_max: secs(30),
        }
    );
    assert_eq!(
        scenario.proxy,
        ProxyBehaviour {
            regions: vec!["iad".into(), "ams".into(), "syd".into()],
            propagation: lognormal(millis(1_500), secs(5), Some(secs(9))),
            connect_retries: 5,
            retry_delay: millis(20),
            hold_timeout: secs(3),
        }
    );
    assert_eq!(
        scenario.traffic,
        TrafficSpec {
            service_time: Distribution::Constant(millis(20)),
            regions: vec![RegionTraffic {
                region: "syd".into(),
                rate_per_second: 12.0
            }],
        }
    );
    assert_eq!(
        scenario.deploys,
        vec![
            DeploySpec {
                strategy: "bluegreen".parse::<StrategyName>().expect("known strategy"),
                image: "img:c".into(),
                start: DeployStart::At(secs(7)),
                wait_timeout: secs(120),
                lease_ttl: secs(20),
                max_concurrent: Some(2),
                max_unavailable: None,
                signal: Some("SIGINT".into()),
                clock_skew_seconds: -3,
                expect_outcome: Some(DeployOutcome::RolledBack),
                expect_error: Some("timeout".into()),
                settings: Default::default(),
            },
            DeploySpec {
                expect_outcome: Some(DeployOutcome::Succeeded),
                ..default_deploy("img:d", DeployStart::AfterPrevious(secs(30)))
            },
        ]
    );
    assert_eq!(
        scenario.faults,
        vec![
            FaultSpec::ApiError {
                operation: Some(Operation::AcquireLease),
                rate: 0.25,
                status: Some(503),
                window: Window {
                    start: secs(10),
                    duration: Some(secs(60))
                },
                deploy: None,
                machine: None,
                calls: None,
            },
            FaultSpec::ApiError {
                operation: None,
                rate: 1.0,
                status: Some(503),
                window: Window::ALWAYS,
                deploy: None,
                machine: None,
                calls: None,
            },
            FaultSpec::PropagationTail {
                probability: 0.1,
                delay: Distribution::Uniform {
                    min: secs(10),
                    max: secs(30)
                },
                window: Window::ALWAYS,
            },
            FaultSpec::MachineCrash {
                target: MachineTarget::Green {
                    deploy: 1,
                    index: 2
                },
                at: secs(120),
            },
            FaultSpec::Unhealthy {
                target: MachineTarget::AllGreens { deploy: 0 }
            },
            FaultSpec::LeaseHeld {
                target: MachineTarget::Initial(2),
                owner: "another-deployer".into(),
                ttl: secs(3600),
            },
        ]
    );
    assert_eq!(
        scenario.run,
        RunSpec {
            seed: 42,
            time_limit: secs(3600),
            event_limit: 1000,
            machine_limit: 20,
            settle: secs(60),
            deploy_time_bound: Some(secs(1200)),
        }
    );
    let hold: Vec<Invariant> = Invariant::ALL
        .into_iter()
        .filter(|invariant| *invariant != Invariant::RollbackSparesBlue)
        .collect();
    assert_eq!(
        scenario.expect,
        Expectations {
            hold,
            hold_explicit: false,
            violate: vec![Invariant::RollbackSparesBlue],
            output_contains: vec!["Found 2 different images".into()],
            output_not_contains: vec![],
            calls: BTreeMap::new(),
            machines: vec![],
            exit_status: Some(1),
            by_strategy: BTreeMap::new(),
        }
    );
}

/// Every `.toml` file under `dir`, recursively, in a stable order.
fn toml_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            toml_files(&path, found);
        } else if path
            .extension()
            .is_some_and(|extension| extension == "toml")
        {
            found.push(path);
        }
    }
}

#[test]
fn every_scenario_file_loads() {
    // Guards against shipping an example scenario that the loader rejects.
    let mut files = Vec::new();
    toml_files(Path::new("scenarios"), &mut files);
    assert!(files.len() >= 4, "found only {files:?}");
    for file in files {
        if let Err(error) = load(&file) {
            panic!("{error}");
        }
    }
}

#[test]
fn example_scenarios_say_what_they_expect() {
    // Guards against the example files drifting from what their comments promise.
    let basic = load(Path::new("scenarios/bluegreen-basic.toml")).expect("valid");
    assert_eq!(basic.initial_machine_count(), 8);
    assert_eq!(basic.proxy.regions, vec!["ams", "iad"]);
    assert_eq!(basic.deploys.len(), 1);
    assert_eq!(basic.deploys[0].start, DeployStart::At(secs(5)));
    assert_eq!(
        basic.deploys[0].expect_outcome,
        Some(DeployOutcome::Succeeded)
    );
    assert_eq!(basic.expect.hold, Invariant::ALL.to_vec());
    assert_eq!(basic.expect.exit_status, Some(0));

    let green = load(Path::new("scenarios/green-never-healthy.toml")).expect("valid");
    assert_eq!(
        green.faults,
        vec![FaultSpec::Unhealthy {
            target: MachineTarget::AllGreens { deploy: 0 }
        }]
    );
    assert_eq!(green.deploys[0].wait_timeout, secs(60));
    assert_eq!(
        green.deploys[0].expect_outcome,
        Some(DeployOutcome::RolledBack)
    );

    let lease = load(Path::new("scenarios/lease-held.toml")).expect("valid");
    assert!(matches!(
        lease.faults[0],
        FaultSpec::LeaseHeld {
            target: MachineTarget::Initial(2),
            ..
        }
    ));
    assert_eq!(lease.deploys[0].expect_error.as_deref(), Some("lease"));

    let two = load(Path::new("scenarios/two-images.toml")).expect("valid");
    let images: Vec<String> = two
        .fleet
        .iter()
        .map(|group| group.image.clone().unwrap_or_else(|| two.app.image.clone()))
        .collect();
    assert_eq!(images.len(), 2);
    assert_ne!(images[0], images[1]);
    assert!(!images.contains(&two.deploys[0].image));
    assert_eq!(two.expect.exit_status, Some(1));
}

/// `MINIMAL` with a second deploy (lines 15–16), so deploy indexes 0 and 1 exist; a table appended
/// as `"\n[...]"` starts on line 18.
fn two_deploys() -> String {
    format!("{MINIMAL}\n[[deploy]]\nimage = \"img:3\"\n")
}

#[test]
fn new_fault_kinds_parse_to_their_specs() {
    // Guards against a field of the new fault kinds being dropped, defaulted wrongly or mis-mapped.
    let text = format!(
        r#"{}
[[faults]]
kind = "api-error"
rate = 0.5
deploy = 1
machine = "blue:3"

[[faults]]
kind = "deployer-kill"
at = "40s"

[[faults]]
kind = "deployer-kill"
deploy = 1
phase = "stop-blues"
after = "2s"

[[faults]]
kind = "deployer-abort"
phase = "wait-healthy"

[[faults]]
kind = "capacity-error"
after_creates = 3

[[faults]]
kind = "capacity-error"
deploy = 1
after_creates = 0
status = 503

[[faults]]
kind = "stop-hangs"
machine = "blue:2"
duration = "10m"

[[faults]]
kind = "stop-hangs"
machine = "deploy[1].green:*"
"#,
        two_deploys()
    );
    let scenario = parse(&text).expect("valid");
    assert_eq!(
        scenario.faults,
        vec![
            FaultSpec::ApiError {
                operation: None,
                rate: 0.5,
                status: Some(503),
                window: Window::ALWAYS,
                deploy: Some(1),
                machine: Some(MachineTarget::Initial(3)),
                calls: None,
            },
            FaultSpec::DeployerKill {
                deploy: 0,
                trigger: Trigger::At(secs(40)),
            },
            FaultSpec::DeployerKill {
                deploy: 1,
                trigger: Trigger::Phase {
                    phase: Phase::StopBlues,
                    after: secs(2),
                },
            },
            FaultSpec::DeployerAbort {
                deploy: 0,
                trigger: Trigger::Phase {
                    phase: Phase::WaitHealthy,
                    after: Duration::ZERO,
                },
            },
            FaultSpec::CapacityError {
                deploy: None,
                after_creates: 3,
                status: 412,
            },
            FaultSpec::CapacityError {
                deploy: Some(1),
                after_creates: 0,
                status: 503,
            },
            FaultSpec::StopHangs {
                target: MachineTarget::Initial(2),
                duration: Some(secs(600)),
            },
            FaultSpec::StopHangs {
                target: MachineTarget::AllGreens { deploy: 1 },
                duration: None,
            },
        ]
    );
}

#[test]
fn every_phase_name_is_accepted_as_a_trigger() {
    // Guards against the phase list in the loader drifting from `Phase::ALL`.
    for phase in Phase::ALL {
        let text = format!(
            "{MINIMAL}\n[[faults]]\nkind = \"deployer-abort\"\nphase = \"{}\"\n",
            phase.as_str()
        );
        let scenario = parse(&text).expect("valid");
        assert_eq!(
            scenario.faults,
            vec![FaultSpec::DeployerAbort {
                deploy: 0,
                trigger: Trigger::Phase {
                    phase,
                    after: Duration::ZERO
                },
            }]
        );
    }
}

#[test]
fn at_and_phase_together_are_rejected_at_the_second() {
    // Guards against a deployer fault with two triggers, one silently winning.
    let text = format!(
        "{MINIMAL}\n[[faults]]\nkind = \"deployer-kill\"\nat = \"40s\"\nphase = \"stop-blues\"\n"
    );
    let error = error_at(&text, 18, 9, "faults[0].phase");
    assert_eq!(error.message, "give either `at` or `phase`, not both");
    let text = format!(
        "{MINIMAL}\n[[faults]]\nkind = \"deployer-abort\"\nphase = \"stop-blues\"\nat = \"40s\"\n"
    );
    let error = error_at(&text, 18, 6, "faults[0].at");
    assert_eq!(error.message, "give either `at` or `phase`, not both");
}

#[test]
fn deployer_fault_without_a_trigger_names_both_fields() {
    // Guards against a deployer fault that would never fire, or an error naming only one way out.
    let text = format!("{MINIMAL}\n[[faults]]\nkind = \"deployer-kill\"\ndeploy = 0\n");
    let error = error_at(&text, 15, 1, "faults[0]");
    assert_eq!(
        error.message,
        "missing field `at` or `phase` (a fault of kind `deployer-kill` needs exactly one of them: a time, or a phase of the deploy)"
    );
}

#[test]
fn unknown_phase_lists_the_known_phases() {
    // Guards against a misspelt phase making the fault silently never fire.
    let text = format!("{MINIMAL}\n[[faults]]\nkind = \"deployer-kill\"\nphase = \"stop-blue\"\n");
    let error = error_at(&text, 17, 9, "faults[0].phase");
    let known: Vec<&str> = Phase::ALL.iter().map(|phase| phase.as_str()).collect();
    assert_eq!(
        error.message,
        format!("unknown phase `stop-blue` (known: {})", known.join(", "))
    );
    assert!(
        error.message.contains("create-greens, wait-started"),
        "{error}"
    );
}

#[test]
fn after_without_phase_is_rejected() {
    // Guards against `after` being ignored when the trigger is a time (or when there is none).
    let text =
        format!("{MINIMAL}\n[[faults]]\nkind = \"deployer-kill\"\nat = \"40s\"\nafter = \"2s\"\n");
    let error = error_at(&text, 18, 9, "faults[0].after");
    assert_eq!(
        error.message,
        "`after` only applies with `phase` (it delays the fault after the phase starts)"
    );
    let text = format!("{MINIMAL}\n[[faults]]\nkind = \"deployer-abort\"\nafter = \"2s\"\n");
    error_at(&text, 17, 9, "faults[0].after");
}

#[test]
fn deploy_index_out_of_range_is_rejected() {
    // Guards against faults aimed at a deploy that does not exist (they would never fire).
    let text = format!(
        "{}\n[[faults]]\nkind = \"deployer-kill\"\ndeploy = 2\nat = \"1m\"\n",
        two_deploys()
    );
    let error = error_at(&text, 20, 10, "faults[0].deploy");
    assert_eq!(
        error.message,
        "there is no deploy[2]: deploys are numbered from 0 in file order and the scenario has 2"
    );
    let text = format!(
        "{MINIMAL}\n[[faults]]\nkind = \"capacity-error\"\ndeploy = -1\nafter_creates = 1\n"
    );
    error_at(&text, 17, 10, "faults[0].deploy");
    let text = format!("{MINIMAL}\n[[faults]]\nkind = \"api-error\"\nrate = 1\ndeploy = 1\n");
    error_at(&text, 18, 10, "faults[0].deploy");
}

#[test]
fn capacity_error_and_stop_hangs_values_are_checked() {
    // Guards against a negative create count, a non-error status, or a zero-length hang.
    let text = format!("{MINIMAL}\n[[faults]]\nkind = \"capacity-error\"\nafter_creates = -1\n");
    let error = error_at(&text, 17, 17, "faults[0].after_creates");
    assert_eq!(
        error.message,
        "-1 is out of range: must be between 0 and 1000000"
    );
    let text = format!(
        "{MINIMAL}\n[[faults]]\nkind = \"capacity-error\"\nafter_creates = 1\nstatus = 302\n"
    );
    error_at(&text, 18, 10, "faults[0].status");
    let text = format!("{MINIMAL}\n[[faults]]\nkind = \"capacity-error\"\n");
    let error = error_at(&text, 15, 1, "faults[0].after_creates");
    assert_eq!(
        error.message,
        "missing field `after_creates` (a fault of kind `capacity-error` needs after_creates)"
    );
    let text = format!(
        "{MINIMAL}\n[[faults]]\nkind = \"stop-hangs\"\nmachine = \"blue:0\"\nduration = \"0s\"\n"
    );
    error_at(&text, 18, 12, "faults[0].duration");
    let text = format!("{MINIMAL}\n[[faults]]\nkind = \"stop-hangs\"\nmachine = \"blue:9\"\n");
    error_at(&text, 17, 11, "faults[0].machine");
}

#[test]
fn strategy_expectations_parse_with_defaults() {
    // Guards against `[expect.strategies]` entries being dropped, or `hold` not defaulting to
    // every invariant not violated.
    let text = format!(
        r#"{}
[expect]
exit_status = 0

[expect.strategies."bluegreen"]
violate = ["no-machine-explosion"]
outcomes = ["failed", "any"]
exit_status = 1
"#,
        two_deploys()
    );
    let scenario = parse(&text).expect("valid");
    let bluegreen: StrategyName = "bluegreen".parse().expect("known strategy");
    let hold: Vec<Invariant> = Invariant::ALL
        .into_iter()
        .filter(|invariant| *invariant != Invariant::NoMachineExplosion)
        .collect();
    assert_eq!(
        scenario.expect.by_strategy,
        BTreeMap::from([(
            bluegreen,
            StrategyExpectations {
                hold,
                hold_explicit: false,
                violate: vec![Invariant::NoMachineExplosion],
                outcomes: vec![Some(DeployOutcome::Failed), None],
                exit_status: Some(1),
            }
        )])
    );
    assert_eq!(scenario.expect.exit_status, Some(0));
    assert_eq!(scenario.expect.hold, Invariant::ALL.to_vec());

    // An alias key parses too; an explicit `hold` is kept as written.
    let text =
        format!("{MINIMAL}\n[expect.strategies.\"bluegreen@2026-08\"]\nhold = [\"no-downtime\"]\n");
    let scenario = parse(&text).expect("valid");
    assert_eq!(
        scenario.expect.by_strategy[&bluegreen],
        StrategyExpectations {
            hold: vec![Invariant::NoDowntime],
            hold_explicit: true,
            violate: vec![],
            outcomes: vec![],
            exit_status: None,
        }
    );
}

#[test]
fn outcomes_of_the_wrong_length_are_rejected() {
    // Guards against outcomes that do not line up one to one with the deploys.
    let text = format!(
        "{}\n[expect.strategies.bluegreen]\noutcomes = [\"succeeded\"]\n",
        two_deploys()
    );
    let error = error_at(&text, 19, 12, "expect.strategies.bluegreen.outcomes");
    assert_eq!(
        error.message,
        "outcomes has 1 entries but the scenario has 2 deploys: give one outcome per [[deploy]], in order (\"any\" expects nothing of that deploy)"
    );
}

#[test]
fn unknown_outcome_in_a_strategy_entry_lists_any() {
    // Guards against `killed`/`timed-out` (not deploy outcomes) being accepted, and against the
    // message hiding the `any` wildcard.
    let text = format!("{MINIMAL}\n[expect.strategies.bluegreen]\noutcomes = [\"killed\"]\n");
    let error = error_at(&text, 16, 13, "expect.strategies.bluegreen.outcomes[0]");
    assert_eq!(
        error.message,
        "unknown outcome `killed` (known: succeeded, rolled-back, failed, rollback-failed, any)"
    );
}

#[test]
fn unknown_strategy_key_is_reported_at_the_key() {
    // Guards against expectations for a misspelt strategy being ignored, or reported at 1:1.
    let text = format!("{MINIMAL}\n[expect.strategies.\"blugreen\"]\nexit_status = 1\n");
    let error = error_at(&text, 15, 20, "expect.strategies.blugreen");
    assert!(
        error
            .message
            .starts_with("unknown strategy `blugreen` (known: "),
        "{error}"
    );
    assert!(error.message.contains("bluegreen"), "{error}");
    // Inline under [expect]: still at the key.
    let text = format!(
        "{MINIMAL}\n[expect]\nviolate = []\nstrategies = {{ bluegreen = {{}}, nope = {{ exit_status = 0 }} }}\n"
    );
    error_at(&text, 17, 32, "expect.strategies.nope");
}

#[test]
fn two_names_for_one_strategy_are_rejected() {
    // Guards against two entries for one strategy (via an alias), one silently replacing the other.
    let text = format!(
        "{MINIMAL}\n[expect.strategies.\"bluegreen\"]\nexit_status = 1\n\n[expect.strategies.\"bluegreen@2026-08\"]\nexit_status = 0\n"
    );
    let error = error_at(&text, 18, 20, "expect.strategies.bluegreen@2026-08");
    assert_eq!(
        error.message,
        "`bluegreen@2026-08` is the same strategy as `bluegreen`, which is listed already"
    );
}

#[test]
fn invariant_in_hold_and_violate_of_a_strategy_is_rejected() {
    // Guards against contradictory per-strategy expectations that can never all be met.
    let text = format!(
        "{MINIMAL}\n[expect.strategies.bluegreen]\nhold = [\"no-downtime\"]\nviolate = [\"no-downtime\"]\n"
    );
    let error = error_at(&text, 16, 9, "expect.strategies.bluegreen.hold[0]");
    assert_eq!(
        error.message,
        "invariant `no-downtime` is in both expect.strategies.bluegreen.hold and expect.strategies.bluegreen.violate"
    );
    let text = format!(
        "{MINIMAL}\n[expect.strategies.bluegreen]\nviolate = [\"no-downtime\", \"no-downtime\"]\n"
    );
    let error = error_at(&text, 16, 27, "expect.strategies.bluegreen.violate[1]");
    assert_eq!(error.message, "invariant `no-downtime` is listed twice");
}

#[test]
fn serde_errors_inside_a_strategy_entry_keep_the_strategy_in_the_path() {
    // Guards against the strategy name dropping out of error paths (as it would with spanned keys).
    let text = format!("{MINIMAL}\n[expect.strategies.bluegreen]\nexit_staus = 1\n");
    let error = error_at(&text, 16, 1, "expect.strategies.bluegreen.exit_staus");
    assert!(
        error.message.starts_with("unknown field `exit_staus`"),
        "{error}"
    );
    let text = format!("{MINIMAL}\n[expect.strategies.bluegreen]\nexit_status = 2\n");
    error_at(&text, 16, 15, "expect.strategies.bluegreen.exit_status");
}

#[test]
fn max_unavailable_is_a_fraction_or_a_whole_count() {
    // Guards rolling's max_unavailable rule (reference §9): (0, 1) is a fraction, ≥ 1 a count.
    for (value, expected) in [("0.5", 0.5), ("2", 2.0), ("0.33", 0.33)] {
        let text = format!("{MINIMAL}max_unavailable = {value}\n");
        let scenario = parse(&text).expect("valid max_unavailable");
        assert_eq!(scenario.deploys[0].max_unavailable, Some(expected));
    }
    assert_eq!(
        parse(MINIMAL).expect("valid").deploys[0].max_unavailable,
        None
    );
    for value in ["0", "1.5", "-1"] {
        let text = format!("{MINIMAL}max_unavailable = {value}\n");
        let error = error_at(&text, 14, 19, "deploy[0].max_unavailable");
        assert!(error.message.contains("out of range"), "{error}");
    }
}

#[test]
fn catalogue_fault_kinds_parse_to_their_specs() {
    // Guards against a field of the F2–F11/F14 fault kinds being dropped, defaulted wrongly or
    // mapped to the wrong variant.
    let text = format!(
        r#"{}
[[faults]]
kind = "api-ambiguous"
rate = 0.25
operation = "update"
start = "10s"
duration = "1m"
deploy = 1
machine = "green:0"

[[faults]]
kind = "api-ambiguous"
rate = 1
status = 408

[[faults]]
kind = "api-slow"
extra = {{ kind = "constant", value = "2s" }}
operation = "wait"
deploy = 0

[[faults]]
kind = "api-partition"
start = "30s"
duration = "20s"

[[faults]]
kind = "stale-list"
lag = "5s"

[[faults]]
kind = "empty-image-ref"
machine = "blue:1"
duration = "24h"

[[faults]]
kind = "host-unreachable"
machine = "blue:2"
start = "1m"

[[faults]]
kind = "deployer-stall"
duration = "90s"
at = "40s"

[[faults]]
kind = "deployer-stall"
deploy = 1
phase = "wait-healthy"
after = "1s"
duration = "2m"

[[faults]]
kind = "slow-boot"
machine = "deploy[1].green:*"
delay = {{ kind = "uniform", min = "30s", max = "60s" }}

[[faults]]
kind = "boot-failure"
machine = "green:2"

[[faults]]
kind = "crash-loop"
machine = "green:1"
period = "20s"

[[faults]]
kind = "org-limit"

[[faults]]
kind = "org-limit"
deploy = 1

[[faults]]
kind = "checks-fail"
machine = "green:0"

[[faults]]
kind = "checks-fail"
machine = "green:*"
phase = "stop-blues"
after = "3s"
duration = "30s"

[[faults]]
kind = "checks-flap"
machine = "blue:0"
period = "10s"
start = "5s"

[[faults]]
kind = "proxy-stale"
region = "iad"
duration = "10m"

[[faults]]
kind = "manual-destroy"
machine = "blue:3"
at = "45s"
"#,
        two_deploys()
    );
    let scenario = parse(&text).expect("valid");
    let always = Window::ALWAYS;
    let from = |start: Duration, duration: Option<Duration>| Window { start, duration };
    let expected = vec![
        FaultSpec::ApiAmbiguous {
            operation: Some(Operation::from_name("update").expect("an operation")),
            rate: 0.25,
            status: Some(504),
            window: from(secs(10), Some(secs(60))),
            deploy: Some(1),
            machine: Some(MachineTarget::Green {
                deploy: 0,
                index: 0,
            }),
            calls: None,
        },
        FaultSpec::ApiAmbiguous {
            operation: None,
            rate: 1.0,
            status: Some(408),
            window: always,
            deploy: None,
            machine: None,
            calls: None,
        },
        FaultSpec::ApiSlow {
            operation: Some(Operation::from_name("wait").expect("an operation")),
            extra: Distribution::Constant(secs(2)),
            window: always,
            deploy: Some(0),
        },
        FaultSpec::ApiPartition {
            operation: None,
            calls: None,
            deploy: None,
            window: from(secs(30), Some(secs(20))),
        },
        FaultSpec::StaleList {
            lag: secs(5),
            window: always,
        },
        FaultSpec::EmptyImageRef {
            target: MachineTarget::Initial(1),
            window: from(Duration::ZERO, Some(secs(24 * 3600))),
        },
        FaultSpec::HostNotOk {
            target: MachineTarget::Initial(2),
            window: from(secs(60), None),
            status: fleetsim::api::HostStatus::Unreachable,
        },
        FaultSpec::DeployerStall {
            deploy: 0,
            trigger: Trigger::At(secs(40)),
            duration: secs(90),
        },
        FaultSpec::DeployerStall {
            deploy: 1,
            trigger: Trigger::Phase {
                phase: Phase::WaitHealthy,
                after: secs(1),
            },
            duration: secs(120),
        },
        FaultSpec::SlowBoot {
            target: MachineTarget::AllGreens { deploy: 1 },
            delay: Distribution::Uniform {
                min: secs(30),
                max: secs(60),
            },
        },
        FaultSpec::BootFailure {
            target: MachineTarget::Green {
                deploy: 0,
                index: 2,
            },
        },
        FaultSpec::CrashLoop {
            target: MachineTarget::Green {
                deploy: 0,
                index: 1,
            },
            period: secs(20),
        },
        FaultSpec::OrgLimit { deploy: None },
        FaultSpec::OrgLimit { deploy: Some(1) },
        FaultSpec::ChecksFail {
            target: MachineTarget::Green {
                deploy: 0,
                index: 0,
            },
            trigger: Trigger::At(Duration::ZERO),
            duration: None,
        },
        FaultSpec::ChecksFail {
            target: MachineTarget::AllGreens { deploy: 0 },
            trigger: Trigger::Phase {
                phase: Phase::StopBlues,
                after: secs(3),
            },
            duration: Some(secs(30)),
        },
        FaultSpec::ChecksFlap {
            target: MachineTarget::Initial(0),
            period: secs(10),
            window: from(secs(5), None),
        },
        FaultSpec::ProxyStale {
            region: "iad".into(),
            window: from(Duration::ZERO, Some(secs(600))),
        },
        FaultSpec::ManualDestroy {
            target: MachineTarget::Initial(3),
            at: secs(45),
        },
    ];
    assert_eq!(scenario.faults.len(), expected.len());
    for (index, (got, want)) in scenario.faults.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "faults[{index}]");
    }
}

/// `MINIMAL` with one `[[faults]]` table (`[[faults]]` on line 15, `body` from line 16).
fn one_fault(body: &str) -> String {
    format!("{MINIMAL}\n[[faults]]\n{body}")
}

#[test]
fn catalogue_fault_missing_a_required_field_names_it() {
    // Guards against a new fault kind loading without the field it cannot run without, or an
    // error that does not say which field is missing.
    // api-error and api-ambiguous need `rate` (in a window) or `calls`.
    for kind in ["api-error", "api-ambiguous"] {
        let error = error_at(
            &one_fault(&format!("kind = \"{kind}\"\n")),
            15,
            1,
            "faults[0].rate",
        );
        assert_eq!(
            error.message,
            format!("missing field `rate` or `calls` (a fault of kind `{kind}` fails a fraction of the calls in a window, or the calls it counts)")
        );
    }
    for (body, missing, needs) in [
        ("kind = \"api-slow\"\n", "extra", "extra"),
        ("kind = \"stale-list\"\n", "lag", "lag"),
        ("kind = \"empty-image-ref\"\n", "machine", "machine"),
        ("kind = \"host-unreachable\"\n", "machine", "machine"),
        (
            "kind = \"deployer-stall\"\nat = \"1m\"\n",
            "duration",
            "duration",
        ),
        (
            "kind = \"slow-boot\"\nmachine = \"blue:0\"\n",
            "delay",
            "machine, delay",
        ),
        ("kind = \"boot-failure\"\n", "machine", "machine"),
        (
            "kind = \"crash-loop\"\nmachine = \"blue:0\"\n",
            "period",
            "machine, period",
        ),
        ("kind = \"checks-fail\"\n", "machine", "machine"),
        (
            "kind = \"checks-flap\"\nmachine = \"blue:0\"\n",
            "period",
            "machine, period",
        ),
        ("kind = \"proxy-stale\"\n", "region", "region"),
        (
            "kind = \"manual-destroy\"\nmachine = \"blue:0\"\n",
            "at",
            "machine, at",
        ),
    ] {
        let error = error_at(&one_fault(body), 15, 1, &format!("faults[0].{missing}"));
        let kind = body.lines().next().unwrap_or_default();
        let kind = kind.trim_start_matches("kind = \"").trim_end_matches('"');
        assert_eq!(
            error.message,
            format!("missing field `{missing}` (a fault of kind `{kind}` needs {needs})"),
        );
    }
    // deployer-stall needs a trigger, like deployer-kill (no default).
    let error = error_at(
        &one_fault("kind = \"deployer-stall\"\nduration = \"1m\"\n"),
        15,
        1,
        "faults[0]",
    );
    assert!(
        error.message.starts_with("missing field `at` or `phase`"),
        "{error}"
    );
}

#[test]
fn catalogue_fault_field_of_another_kind_is_rejected_at_its_position() {
    // Guards against fields the new kinds would silently ignore (a stall's `period`, a boot
    // failure's window).
    let error = error_at(
        &one_fault("kind = \"boot-failure\"\nmachine = \"blue:0\"\nduration = \"1m\"\n"),
        18,
        12,
        "faults[0].duration",
    );
    assert_eq!(
        error.message,
        "`duration` does not apply to a fault of kind `boot-failure` (its fields: kind, machine)"
    );
    let error = error_at(
        &one_fault("kind = \"org-limit\"\nmachine = \"blue:0\"\n"),
        17,
        11,
        "faults[0].machine",
    );
    assert_eq!(
        error.message,
        "`machine` does not apply to a fault of kind `org-limit` (its fields: kind, deploy)"
    );
    error_at(
        &one_fault("kind = \"api-partition\"\nregion = \"iad\"\n"),
        17,
        10,
        "faults[0].region",
    );
    error_at(
        &one_fault(
            "kind = \"api-error\"\nrate = 0.5\nextra = { kind = \"constant\", value = \"1s\" }\n",
        ),
        18,
        9,
        "faults[0].extra",
    );
    error_at(
        &one_fault("kind = \"stale-list\"\nlag = \"1s\"\nperiod = \"1s\"\n"),
        18,
        10,
        "faults[0].period",
    );
    error_at(
        &one_fault("kind = \"manual-destroy\"\nmachine = \"blue:0\"\nat = \"1s\"\nphase = \"stop-blues\"\n"),
        19,
        9,
        "faults[0].phase",
    );
}

#[test]
fn api_ambiguous_status_must_be_a_timeout_or_server_error() {
    // Guards against an "ambiguous" write reported with a client error, which flyctl treats as
    // a definite failure (the point of the fault is a reply that says nothing).
    let error = error_at(
        &one_fault("kind = \"api-ambiguous\"\nrate = 0.5\nstatus = 404\n"),
        18,
        10,
        "faults[0].status",
    );
    assert_eq!(
        error.message,
        "404 is not a status of a lost reply: must be 408, between 500 and 599, or \"none\""
    );
    for status in [200, 499, 600, -1] {
        error_at(
            &one_fault(&format!(
                "kind = \"api-ambiguous\"\nrate = 0.5\nstatus = {status}\n"
            )),
            18,
            10,
            "faults[0].status",
        );
    }
    for status in [408, 500, 503, 599] {
        let text = one_fault(&format!(
            "kind = \"api-ambiguous\"\nrate = 0.5\nstatus = {status}\n"
        ));
        let scenario = parse(&text).expect("valid");
        assert!(
            matches!(scenario.faults[0], FaultSpec::ApiAmbiguous { status: Some(s), .. } if i64::from(s) == status),
            "{status}"
        );
    }
}

#[test]
fn zero_period_is_rejected() {
    // Guards against a crash loop or flap with period 0, which would crash or flip without end
    // at one instant.
    let error = error_at(
        &one_fault("kind = \"crash-loop\"\nmachine = \"blue:0\"\nperiod = \"0s\"\n"),
        18,
        10,
        "faults[0].period",
    );
    assert_eq!(
        error.message,
        "period `0s` is out of range: must be greater than 0 and at most 24h"
    );
    error_at(
        &one_fault("kind = \"checks-flap\"\nmachine = \"blue:0\"\nperiod = \"0ms\"\n"),
        18,
        10,
        "faults[0].period",
    );
    error_at(
        &one_fault("kind = \"stale-list\"\nlag = \"0s\"\n"),
        17,
        7,
        "faults[0].lag",
    );
    error_at(
        &one_fault("kind = \"deployer-stall\"\nat = \"1s\"\nduration = \"0s\"\n"),
        18,
        12,
        "faults[0].duration",
    );
}

#[test]
fn fault_durations_above_24h_are_rejected() {
    // Guards against durations that outlast any run (a typo like "25h" for "25s" or "25m"), in
    // every fault field that is a length of time: duration, period, lag.
    let error = error_at(
        &one_fault("kind = \"deployer-stall\"\nat = \"1s\"\nduration = \"25h\"\n"),
        18,
        12,
        "faults[0].duration",
    );
    assert_eq!(
        error.message,
        "duration `25h` is out of range: must be greater than 0 and at most 24h"
    );
    let error = error_at(
        &one_fault("kind = \"api-error\"\nrate = 0.5\nduration = \"25h\"\n"),
        18,
        12,
        "faults[0].duration",
    );
    assert_eq!(
        error.message,
        "duration `25h` is out of range: must be greater than 0 and at most 24h (leave it out for the rest of the run)"
    );
    error_at(
        &one_fault("kind = \"checks-fail\"\nmachine = \"blue:0\"\nduration = \"1day 1s\"\n"),
        18,
        12,
        "faults[0].duration",
    );
    error_at(
        &one_fault("kind = \"stop-hangs\"\nmachine = \"blue:0\"\nduration = \"25h\"\n"),
        18,
        12,
        "faults[0].duration",
    );
    error_at(
        &one_fault("kind = \"crash-loop\"\nmachine = \"blue:0\"\nperiod = \"25h\"\n"),
        18,
        10,
        "faults[0].period",
    );
    error_at(
        &one_fault("kind = \"stale-list\"\nlag = \"2days\"\n"),
        17,
        7,
        "faults[0].lag",
    );
    // 24h itself is allowed.
    let text = one_fault("kind = \"stale-list\"\nlag = \"24h\"\n");
    let scenario = parse(&text).expect("valid");
    assert_eq!(
        scenario.faults,
        vec![FaultSpec::StaleList {
            lag: MAX_FAULT_DURATION,
            window: Window::ALWAYS,
        }]
    );
}

#[test]
fn proxy_stale_needs_a_region_with_a_proxy() {
    // Guards against a stale-proxy fault on a region without a proxy (it would never fire), and
    // against checking it before `proxy.regions` got its default.
    let error = error_at(
        &one_fault("kind = \"proxy-stale\"\nregion = \"ams\"\n"),
        17,
        10,
        "faults[0].region",
    );
    assert_eq!(
        error.message,
        "region `ams` has no proxy (proxy.regions: iad)"
    );
    let error = error_at(
        &one_fault("kind = \"proxy-stale\"\nregion = \"AMS!\"\n"),
        17,
        10,
        "faults[0].region",
    );
    assert!(
        error.message.starts_with("invalid region `AMS!`"),
        "{error}"
    );
    // A region with only traffic gets a proxy by default; an explicit list is respected.
    let text = format!(
        "{}\n[[traffic.regions]]\nregion = \"syd\"\nrate = 1\n",
        one_fault("kind = \"proxy-stale\"\nregion = \"syd\"\n")
    );
    assert_eq!(
        parse(&text).expect("valid").faults,
        vec![FaultSpec::ProxyStale {
            region: "syd".into(),
            window: Window::ALWAYS,
        }]
    );
    let text = format!(
        "{}\n[proxy]\nregions = [\"ams\"]\n",
        one_fault("kind = \"proxy-stale\"\nregion = \"iad\"\n")
    );
    let error = error_at(&text, 17, 10, "faults[0].region");
    assert_eq!(
        error.message,
        "region `iad` has no proxy (proxy.regions: ams)"
    );
}

#[test]
fn checks_fail_with_both_at_and_phase_is_rejected() {
    // Guards against a checks-fail fault with two triggers, one silently winning.
    let error = error_at(
        &one_fault(
            "kind = \"checks-fail\"\nmachine = \"blue:0\"\nat = \"1m\"\nphase = \"stop-blues\"\n",
        ),
        19,
        9,
        "faults[0].phase",
    );
    assert_eq!(error.message, "give either `at` or `phase`, not both");
    // `after` without `phase` is still an error when the trigger defaults to `at = "0s"`.
    error_at(
        &one_fault("kind = \"checks-fail\"\nmachine = \"blue:0\"\nafter = \"1s\"\n"),
        18,
        9,
        "faults[0].after",
    );
}

#[test]
fn fleet_detached_parses_and_defaults_to_false() {
    // Guards against `detached` being ignored (the group would be treated as managed by deploys).
    let text = format!(
        "{MINIMAL}\n[[fleet]]\nregion = \"iad\"\ncount = 2\ndetached = true\n\n[[fleet]]\nregion = \"iad\"\ncount = 1\ndetached = false\n"
    );
    let scenario = parse(&text).expect("valid");
    let detached: Vec<bool> = scenario.fleet.iter().map(|group| group.detached).collect();
    assert_eq!(detached, vec![false, true, false]);
    let text = format!("{MINIMAL}\n[[fleet]]\nregion = \"iad\"\ncount = 2\ndetached = \"yes\"\n");
    let error = error_at(&text, 18, 12, "fleet[1].detached");
    assert_eq!(
        error.message,
        "invalid type: string \"yes\", expected a boolean"
    );
}
