//! Test support: a [`Runtime`] on a real tokio runtime (current thread, `LocalSet`), recording what
//! the deploy printed, marked and slept, and helpers to run a deploy against a `MemoryApi`.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use fleetsim::api::memory::MemoryApi;
use fleetsim::api::{Marker, Phase, Runtime};
use fleetsim::deploy::{
    run_deploy, BluegreenVersion, DeployOutcome, DeployParams, DeployReport, StrategyName,
};

pub const APP: &str = "cherrypicker";
pub const OLD_IMAGE: &str = "registry.fly.io/cherrypicker:deployment-01OLD";
pub const NEW_IMAGE: &str = "registry.fly.io/cherrypicker:deployment-01NEW";
/// The deployer's Unix time at the start of every test.
pub const UNIX_START_SECONDS: i64 = 1_776_000_000;

struct Inner {
    start: tokio::time::Instant,
    lines: RefCell<Vec<String>>,
    markers: RefCell<Vec<Marker>>,
    sleeps: RefCell<Vec<Duration>>,
    abort: Cell<bool>,
    abort_at_phase: Cell<Option<Phase>>,
    random_state: Cell<u64>,
    echo: bool,
}

/// `Runtime` on tokio: `spawn_local`, `tokio::time::sleep` (use a paused clock), splitmix64
/// randomness, and an abort flag tests set directly or at a phase marker.
#[derive(Clone)]
pub struct TokioRuntime {
    inner: Rc<Inner>,
}

impl TokioRuntime {
    pub fn new() -> TokioRuntime {
        TokioRuntime {
            inner: Rc::new(Inner {
                start: tokio::time::Instant::now(),
                lines: RefCell::new(Vec::new()),
                markers: RefCell::new(Vec::new()),
                sleeps: RefCell::new(Vec::new()),
                abort: Cell::new(false),
                abort_at_phase: Cell::new(None),
                random_state: Cell::new(0x5eed),
                echo: std::env::var_os("FLEETSIM_ECHO").is_some(),
            }),
        }
    }

    /// A runtime whose randomness starts from `state` (the default is 0x5eed), to run a deploy
    /// down other random branches.
    pub fn with_random_state(state: u64) -> TokioRuntime {
        let runtime = TokioRuntime::new();
        runtime.inner.random_state.set(state);
        runtime
    }

    pub fn request_abort(&self) {
        self.inner.abort.set(true);
    }

    /// Requests an abort the moment the deploy marks `phase` as started.
    pub fn abort_at_phase(&self, phase: Phase) {
        self.inner.abort_at_phase.set(Some(phase));
    }

    pub fn lines(&self) -> Vec<String> {
        self.inner.lines.borrow().clone()
    }

    pub fn output(&self) -> String {
        self.lines().join("\n")
    }

    pub fn markers(&self) -> Vec<Marker> {
        self.inner.markers.borrow().clone()
    }

    pub fn sleeps(&self) -> Vec<Duration> {
        self.inner.sleeps.borrow().clone()
    }

    pub fn printed(&self, line: &str) -> bool {
        self.inner
            .lines
            .borrow()
            .iter()
            .any(|printed| printed == line)
    }

    pub fn printed_containing(&self, text: &str) -> bool {
        self.inner
            .lines
            .borrow()
            .iter()
            .any(|printed| printed.contains(text))
    }

    pub fn phases(&self) -> Vec<Phase> {
        self.markers()
            .into_iter()
            .filter_map(|marker| match marker {
                Marker::PhaseStarted(phase) => Some(phase),
                _ => None,
            })
            .collect()
    }
}

impl Default for TokioRuntime {
    fn default() -> TokioRuntime {
        TokioRuntime::new()
    }
}

impl Runtime for TokioRuntime {
    type JoinHandle<T: 'static> = Pin<Box<dyn Future<Output = T>>>;
    type Sleep = tokio::time::Sleep;

    fn now(&self) -> Duration {
        tokio::time::Instant::now() - self.inner.start
    }

    fn unix_time_seconds(&self) -> i64 {
        UNIX_START_SECONDS + self.now().as_secs() as i64
    }

    fn sleep(&self, duration: Duration) -> tokio::time::Sleep {
        self.inner.sleeps.borrow_mut().push(duration);
        tokio::time::sleep(duration)
    }

    fn spawn<T: 'static>(&self, future: impl Future<Output = T> + 'static) -> Self::JoinHandle<T> {
        let handle = tokio::task::spawn_local(future);
        Box::pin(async move { handle.await.expect("deploy task panicked") })
    }

    fn random_u64(&self) -> u64 {
        fleetsim::api::http::splitmix64(&self.inner.random_state)
    }

    fn abort_requested(&self) -> bool {
        self.inner.abort.get()
    }

    fn print(&self, line: &str) {
        if self.inner.echo {
            eprintln!("[{:>9.3}s] {line}", self.now().as_secs_f64());
        }
        self.inner.lines.borrow_mut().push(line.to_string());
    }

    fn mark(&self, marker: Marker) {
        if let Marker::PhaseStarted(phase) = &marker {
            if self.inner.abort_at_phase.get() == Some(*phase) {
                self.inner.abort.set(true);
            }
        }
        self.inner.markers.borrow_mut().push(marker);
    }
}

pub fn params() -> DeployParams {
    DeployParams::new(
        APP,
        NEW_IMAGE,
        StrategyName::Bluegreen(BluegreenVersion::V2026_08),
    )
}

/// A fleet of `count` started machines on the old image.
pub fn fleet(count: usize) -> Rc<MemoryApi> {
    Rc::new(MemoryApi::with_fleet(APP, count, OLD_IMAGE))
}

/// Runs `run_deploy` on a current-thread `LocalSet` (call from a `start_paused` tokio test).
pub async fn deploy(api: &Rc<MemoryApi>, runtime: &TokioRuntime) -> DeployReport {
    deploy_with(api, runtime, params()).await
}

pub async fn deploy_with(
    api: &Rc<MemoryApi>,
    runtime: &TokioRuntime,
    params: DeployParams,
) -> DeployReport {
    let local = tokio::task::LocalSet::new();
    let report = local
        .run_until(run_deploy(api.clone(), runtime.clone(), params))
        .await;
    // Let detached tasks (lease refresh loops) observe the stop flag and end.
    local.await;
    report
}

/// Asserts a deploy's outcome; on a mismatch the message is the deploy's whole output.
pub fn assert_outcome(report: &DeployReport, expected: DeployOutcome, runtime: &TokioRuntime) {
    assert_eq!(report.outcome, expected, "{}", runtime.output());
}

/// Parses `text` as the scenario file `test.toml`, which must fail; asserts the error's line,
/// column and field, and that its message contains `message`.
pub fn assert_scenario_error(
    text: &str,
    (line, column): (usize, usize),
    field: &str,
    message: &str,
) -> fleetsim::scenario::ScenarioError {
    let path = std::path::Path::new("test.toml");
    let error = match fleetsim::scenario::parse(path, text) {
        Ok(_) => panic!("expected an error at {field} for:\n{text}"),
        Err(error) => error,
    };
    assert_eq!(
        (error.line, error.column, error.field.as_str()),
        (line, column, field),
        "{error}"
    );
    assert!(error.message.contains(message), "{error}");
    assert_eq!(error.file, path);
    error
}

/// Runs the fleetsim binary with `arguments` in the repository's root (so that
/// `scenarios/...` paths resolve) and waits for it.
pub fn fleetsim(arguments: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(arguments)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("fleetsim runs")
}

/// A finished command's stdout, as text.
pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A finished command's stderr, as text.
pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// An empty scratch directory path for this test process (removed first if it exists).
pub fn scratch(name: &str) -> std::path::PathBuf {
    let directory = std::env::temp_dir().join(format!("fleetsim-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    directory
}

/// The smallest scenario the loader accepts: one app, two machines in `iad`, one deploy. Tests
/// append the section they exercise.
pub const MINIMAL_SCENARIO: &str = r#"
[scenario]
name = "minimal"

[app]
name = "web"
image = "web:v1"

[[fleet]]
region = "iad"
count = 2

[[deploy]]
image = "web:v2"
"#;

/// One `[[faults]]` entry of every kind, each field a kind takes used at least once (a rate and
/// a call count, a time and a phase as the trigger).
pub const EVERY_FAULT: &str = r#"
[[faults]]
kind = "api-error"
operation = "launch"
rate = 0.25
status = "none"
start = "1s"
duration = "2s"
deploy = 0
machine = "blue:1"

[[faults]]
kind = "api-error"
calls = "2..4"
status = 429

[[faults]]
kind = "propagation-tail"
probability = 0.5
delay = { kind = "uniform", min = "1s", max = "2s" }
start = "3s"

[[faults]]
kind = "machine-crash"
machine = "green:0"
at = "20s"

[[faults]]
kind = "unhealthy"
machine = "deploy[0].green:*"

[[faults]]
kind = "lease-held"
machine = "blue:0"
owner = "someone"
ttl = "1m"

[[faults]]
kind = "deployer-kill"
deploy = 0
phase = "stop-blues"
after = "1500ms"

[[faults]]
kind = "deployer-abort"
at = "30s"

[[faults]]
kind = "capacity-error"
after_creates = 1
status = 409
deploy = 0

[[faults]]
kind = "stop-hangs"
machine = "blue:1"
duration = "1m"

[[faults]]
kind = "api-ambiguous"
rate = 1.0
status = 408

[[faults]]
kind = "api-ambiguous"
calls = "3.."
operation = "stop"

[[faults]]
kind = "api-slow"
extra = { kind = "exponential", mean = "100ms", max = "1s" }
operation = "wait"
deploy = 0
start = "5s"
duration = "10s"

[[faults]]
kind = "api-partition"
deploy = 0
start = "7s"

[[faults]]
kind = "api-partition"
operation = "set-metadata"
calls = "1"

[[faults]]
kind = "stale-list"
lag = "3s"

[[faults]]
kind = "empty-image-ref"
machine = "blue:0"
duration = "1h"

[[faults]]
kind = "host-unreachable"
machine = "blue:1"

[[faults]]
kind = "host-unknown"
machine = "blue:0"
start = "1s"

[[faults]]
kind = "deployer-stall"
duration = "20s"
at = "12s"

[[faults]]
kind = "slow-boot"
machine = "green:1"
delay = { kind = "constant", value = "7s" }

[[faults]]
kind = "boot-failure"
machine = "green:0"

[[faults]]
kind = "crash-loop"
machine = "blue:0"
period = "45s"

[[faults]]
kind = "org-limit"

[[faults]]
kind = "checks-fail"
machine = "green:1"
phase = "wait-healthy"
duration = "5s"

[[faults]]
kind = "checks-flap"
machine = "blue:1"
period = "2s"
start = "4s"

[[faults]]
kind = "proxy-stale"
region = "iad"
duration = "30s"

[[faults]]
kind = "manual-destroy"
machine = "blue:0"
at = "9s"
"#;
