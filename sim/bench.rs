//! `fleetsim bench`: how fast the simulator is, measured side by side with the limit of its own
//! machinery (issue 6). Every figure of one run is taken on the same machine within seconds, so
//! the machine's noise mostly cancels in the ratios.
//!
//! - **engine**: events/s of the engine's own loop (`Clock` + `EventQueue` + the executor's timers,
//!   driven like `Simulation`'s event loop) on a synthetic workload, next to a bare `BinaryHeap`
//!   loop doing the same number of pushes and pops of the same payloads; and the events/s of a
//!   real scenario run (`RunResult::events` / wall time).
//! - **scaling**: one `bluegreen` deploy under 1 000 requests/s for fleets of several sizes, each
//!   in its own child process (`fleetsim bench --one SIZE`) so its peak memory (`VmHWM`) is its own.
//! - **fuzz**: cases/s of the fuzz campaign on the basic scenario's fleet.
//! - **sweep**: seeds/s of the basic scenario on one thread (`sweep --jobs 1`).
//!
//! Every timed figure is taken `repeats` times and reported as the median, with the lowest and
//! highest value beside it: on a shared machine one sample can be off by a third, and the median of
//! five is what the targets are judged on. Counts that must not vary (events, simulated time) are
//! checked to be identical in every repeat: a benchmark run is also a determinism check across
//! processes.
//!
//! This is the one module besides the examples that reads the wall clock; nothing it measures
//! sees it.

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt::Write as _;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use crate::deploy::{BluegreenVersion, StrategyName};
use crate::engine::executor::{Executor, ProcessId};
use crate::engine::{Clock, EventQueue, SimTime};
use crate::scenario::Scenario;

/// The basic scenario, built in so the benchmark does not depend on the working directory.
const BASIC_SCENARIO: &str = include_str!("../scenarios/bluegreen-basic.toml");

/// What to measure and how much.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenchOptions {
    /// Events of the synthetic engine workload.
    pub engine_events: u64,
    /// Seeds of the basic scenario for the real-run events/s figure.
    pub scenario_runs: u64,
    /// Fleet sizes of the scaling figure.
    pub sizes: Vec<u32>,
    /// Fuzz cases on the basic fleet.
    pub fuzz_cases: u64,
    /// Seeds of the sweep figure.
    pub sweep_seeds: u64,
    /// How many times each timed figure is measured (the median is reported).
    pub repeats: u32,
}

impl BenchOptions {
    /// The full benchmark of issue 6.
    pub fn full() -> BenchOptions {
        BenchOptions {
            engine_events: 4_000_000,
            scenario_runs: 100,
            sizes: vec![10, 100, 1_000, 10_000],
            fuzz_cases: 200,
            sweep_seeds: 500,
            repeats: 5,
        }
    }

    /// Tiny sizes that finish in seconds: checks that the benchmark runs, measures nothing.
    pub fn quick() -> BenchOptions {
        BenchOptions {
            engine_events: 20_000,
            scenario_runs: 2,
            sizes: vec![10, 40],
            fuzz_cases: 3,
            sweep_seeds: 3,
            repeats: 1,
        }
    }
}

/// One measured figure: `benchmark` (engine, scaling, fuzz, sweep), `parameter` (what was varied:
/// a fleet size, a workload name), `metric`, `value` (the median over `repeats`), `unit`, and the
/// lowest and highest of the repeats. One CSV row each.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    pub benchmark: &'static str,
    pub parameter: String,
    pub metric: &'static str,
    pub value: f64,
    pub unit: &'static str,
    pub min: f64,
    pub max: f64,
    pub repeats: u32,
}

/// The repeats of one figure.
#[derive(Clone, Debug, PartialEq)]
pub struct Samples(Vec<f64>);

impl Samples {
    pub fn new(values: Vec<f64>) -> Samples {
        assert!(!values.is_empty(), "a figure has at least one sample");
        assert!(values.iter().all(|value| !value.is_nan()), "no NaN samples");
        Samples(values)
    }

    /// The median (the mean of the middle two for an even count).
    pub fn median(&self) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort_by(f64::total_cmp);
        let middle = sorted.len() / 2;
        if sorted.len() % 2 == 1 {
            sorted[middle]
        } else {
            (sorted[middle - 1] + sorted[middle]) / 2.0
        }
    }

    fn min(&self) -> f64 {
        self.0.iter().copied().fold(f64::INFINITY, f64::min)
    }

    fn max(&self) -> f64 {
        self.0.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    }

    /// Each sample mapped, e.g. seconds to a rate.
    fn map(&self, function: impl Fn(f64) -> f64) -> Samples {
        Samples::new(self.0.iter().copied().map(function).collect())
    }
}

/// A figure measured `samples.len()` times.
fn measured(
    benchmark: &'static str,
    parameter: impl Into<String>,
    metric: &'static str,
    samples: &Samples,
    unit: &'static str,
) -> Figure {
    Figure {
        benchmark,
        parameter: parameter.into(),
        metric,
        value: samples.median(),
        unit,
        min: samples.min(),
        max: samples.max(),
        repeats: samples.0.len() as u32,
    }
}

/// A figure that is the same in every repeat (a count, a size).
fn figure(
    benchmark: &'static str,
    parameter: impl Into<String>,
    metric: &'static str,
    value: f64,
    unit: &'static str,
) -> Figure {
    measured(
        benchmark,
        parameter,
        metric,
        &Samples::new(vec![value]),
        unit,
    )
}

/// Runs `work` `repeats` times; each run's value, and the value of the first run.
fn repeated<T>(repeats: u32, mut work: impl FnMut() -> (T, f64)) -> (T, Samples) {
    assert!(repeats >= 1);
    let (first, value) = work();
    let mut values = vec![value];
    for _ in 1..repeats {
        values.push(work().1);
    }
    (first, Samples::new(values))
}

/// Wall-clock seconds taken by `work`.
#[allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the benchmark measures the wall clock on purpose; nothing simulated sees it"
)]
pub fn timed<T>(work: impl FnOnce() -> T) -> (T, f64) {
    let started = std::time::Instant::now();
    let value = work();
    (value, started.elapsed().as_secs_f64().max(1e-9))
}

// ---------------------------------------------------------------------------------------------
// engine

/// The synthetic payload: small, integer ids, like the world's events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Synthetic {
    Arrival { proxy: u32 },
    Done { proxy: u32, machine: u32 },
    Tick,
}

/// Events pending at any time in the synthetic workload (a mid-sized run's queue).
const SYNTHETIC_PENDING: u64 = 1_024;
/// Tasks sleeping in a loop on the executor's timers.
const SYNTHETIC_SLEEPERS: u64 = 64;

/// A deterministic xorshift step: the synthetic workload's delays (not simulation randomness).
fn xorshift(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

fn synthetic_event(draw: u64) -> Synthetic {
    match draw % 3 {
        0 => Synthetic::Arrival {
            proxy: (draw >> 8) as u32 & 7,
        },
        1 => Synthetic::Done {
            proxy: (draw >> 8) as u32 & 7,
            machine: (draw >> 16) as u32 & 1023,
        },
        _ => Synthetic::Tick,
    }
}

/// Delay of the follow-up event, 1 µs .. 65 ms.
fn synthetic_delay(draw: u64) -> u64 {
    1 + ((draw >> 24) & 0xffff)
}

/// The engine's machinery on the synthetic workload: `SYNTHETIC_PENDING` events circulate in the
/// event queue (each handled event schedules one follow-up) and `SYNTHETIC_SLEEPERS` tasks sleep
/// in a loop on the executor's timers; the loop is `Simulation`'s (run ready tasks, then the
/// earliest of timer and event). Returns the events handled (timers fired + events popped) and a
/// checksum that keeps the optimiser honest.
pub fn engine_loop(events: u64) -> (u64, u64) {
    let clock = Clock::new();
    let executor = Executor::new(Rc::clone(&clock), 1_024);
    let queue = RefCell::new(EventQueue::new(Rc::clone(&clock), 1 << 20));
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..SYNTHETIC_PENDING {
        let draw = xorshift(&mut state);
        let scheduled = queue.borrow_mut().schedule(
            SimTime::from_micros(synthetic_delay(draw)),
            synthetic_event(draw),
        );
        assert!(scheduled);
    }
    let woken = Rc::new(Cell::new(0u64));
    for sleeper in 0..SYNTHETIC_SLEEPERS {
        let sleeps = executor.clone();
        let woken = Rc::clone(&woken);
        let mut task_state = state ^ (sleeper + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        executor.spawn(ProcessId(0), async move {
            loop {
                let delay = synthetic_delay(xorshift(&mut task_state));
                sleeps.sleep(Duration::from_micros(delay)).await;
                woken.set(woken.get() + 1);
            }
        });
    }
    let mut handled = 0u64;
    let mut checksum = 0u64;
    while handled < events {
        executor
            .run_ready(u64::MAX)
            .expect("the synthetic tasks only sleep");
        let next_timer = executor.next_timer();
        let next_event = queue.borrow().peek_key();
        let (key, is_timer) = match (next_timer, next_event) {
            (Some(timer), Some(event)) if timer < event => (timer, true),
            (_, Some(event)) => (event, false),
            (Some(timer), None) => (timer, true),
            (None, None) => break,
        };
        handled += 1;
        clock.advance_to(key.time);
        if is_timer {
            executor.fire_next_timer();
        } else {
            let mut queue = queue.borrow_mut();
            let (_, event) = queue.pop().expect("peeked");
            checksum = checksum.wrapping_add(match event {
                Synthetic::Arrival { proxy } => u64::from(proxy),
                Synthetic::Done { proxy, machine } => u64::from(proxy ^ machine),
                Synthetic::Tick => 1,
            });
            let draw = xorshift(&mut state);
            let scheduled = queue.schedule(
                key.time + Duration::from_micros(synthetic_delay(draw)),
                synthetic_event(draw),
            );
            assert!(scheduled);
        }
    }
    // The sleepers loop forever: killing their process drops them (and their clones of the
    // executor), so nothing leaks.
    executor.kill(ProcessId(0));
    (handled, checksum.wrapping_add(woken.get()))
}

/// The limit: a bare `BinaryHeap` of `(time, seq, payload)` with the same pending count and the
/// same number of pops, each followed by one push. No clock, no timers, no executor.
pub fn bare_heap_loop(events: u64) -> (u64, u64) {
    let pending = SYNTHETIC_PENDING + SYNTHETIC_SLEEPERS;
    let mut heap: BinaryHeap<Reverse<(u64, u64, Synthetic)>> =
        BinaryHeap::with_capacity(pending as usize);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut seq = 0u64;
    for _ in 0..pending {
        let draw = xorshift(&mut state);
        heap.push(Reverse((synthetic_delay(draw), seq, synthetic_event(draw))));
        seq += 1;
    }
    let mut handled = 0u64;
    let mut checksum = 0u64;
    while handled < events {
        let Some(Reverse((time, _, event))) = heap.pop() else {
            break;
        };
        handled += 1;
        checksum = checksum.wrapping_add(match event {
            Synthetic::Arrival { proxy } => u64::from(proxy),
            Synthetic::Done { proxy, machine } => u64::from(proxy ^ machine),
            Synthetic::Tick => 1,
        });
        let draw = xorshift(&mut state);
        heap.push(Reverse((
            time + synthetic_delay(draw),
            seq,
            synthetic_event(draw),
        )));
        seq += 1;
    }
    (handled, checksum)
}

fn engine_figures(options: &BenchOptions, basic: &Scenario) -> Vec<Figure> {
    // Warm up both once (page faults, caches), then measure them side by side in each repeat.
    std::hint::black_box(engine_loop(options.engine_events / 10));
    std::hint::black_box(bare_heap_loop(options.engine_events / 10));
    let mut engine_rates = Vec::new();
    let mut bare_rates = Vec::new();
    let mut events = (0, 0);
    for _ in 0..options.repeats {
        let ((engine_events, engine_sum), engine_seconds) =
            timed(|| engine_loop(options.engine_events));
        let ((bare_events, bare_sum), bare_seconds) =
            timed(|| bare_heap_loop(options.engine_events));
        std::hint::black_box((engine_sum, bare_sum));
        events = (engine_events, bare_events);
        engine_rates.push(engine_events as f64 / engine_seconds);
        bare_rates.push(bare_events as f64 / bare_seconds);
    }
    let ratios = Samples::new(
        engine_rates
            .iter()
            .zip(&bare_rates)
            .map(|(engine, bare)| engine / bare)
            .collect(),
    );
    let bare_rates = Samples::new(bare_rates);
    let mut figures = vec![
        figure("engine", "synthetic", "events", events.0 as f64, "events"),
        measured(
            "engine",
            "synthetic",
            "events_per_s",
            &Samples::new(engine_rates),
            "events/s",
        ),
        figure("engine", "bare-heap", "events", events.1 as f64, "events"),
        measured(
            "engine",
            "bare-heap",
            "events_per_s",
            &bare_rates,
            "events/s",
        ),
        measured("engine", "synthetic/bare-heap", "ratio", &ratios, "x"),
    ];
    let (scenario_events, seconds) = repeated(options.repeats, || {
        timed(|| {
            (1..=options.scenario_runs)
                .map(|seed| crate::sim::Simulation::new(basic).seed(seed).run().events)
                .sum::<u64>()
        })
    });
    let rates = seconds.map(|seconds| scenario_events as f64 / seconds);
    let parameter = format!("{} x{}", basic.name, options.scenario_runs);
    figures.push(figure(
        "engine",
        parameter.clone(),
        "events",
        scenario_events as f64,
        "events",
    ));
    figures.push(measured(
        "engine",
        parameter.clone(),
        "events_per_s",
        &rates,
        "events/s",
    ));
    figures.push(figure(
        "engine",
        parameter,
        "ratio_to_bare_heap",
        rates.median() / bare_rates.median(),
        "x",
    ));
    figures
}

// ---------------------------------------------------------------------------------------------
// scaling

/// Regions of the scaling fleet, each with its own proxy.
const SCALING_REGIONS: [&str; 4] = ["iad", "ams", "sin", "syd"];
/// Total requests per second of the scaling runs, split evenly across the regions.
pub const SCALING_RATE: f64 = 1_000.0;

/// What runs beside the scaling deploy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Load {
    /// 1 000 requests/s across the four regions (issue 6's scaling figure).
    Traffic,
    /// No requests: only the deploy and the platform. Separates the cost of the deploy's own
    /// work, which grows with the fleet, from the traffic's, which does not.
    DeployOnly,
}

impl Load {
    /// How a size is labelled in the figures: `1000`, or `1000 deploy-only`.
    pub fn label(self, machines: u32) -> String {
        match self {
            Load::Traffic => machines.to_string(),
            Load::DeployOnly => format!("{machines} deploy-only"),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Load::Traffic => "traffic",
            Load::DeployOnly => "deploy-only",
        }
    }

    fn parse(text: &str) -> Option<Load> {
        [Load::Traffic, Load::DeployOnly]
            .into_iter()
            .find(|load| load.as_str() == text)
    }
}

/// The scaling scenario for a fleet of `machines`: the basic scenario's machines, API and
/// propagation (lognormal, median 1.5 s, p99 5 s), four regions, 1 000 requests/s in total (none
/// with [`Load::DeployOnly`]), one `bluegreen` deploy; the run's limits are raised for the big
/// fleets.
pub fn scaling_scenario(machines: u32, load: Load) -> Scenario {
    assert!(machines >= 1);
    let regions = SCALING_REGIONS.len() as u32;
    let load_text = match load {
        Load::Traffic => format!("{SCALING_RATE} requests/s"),
        Load::DeployOnly => "no traffic".to_string(),
    };
    let mut text = format!(
        r#"[scenario]
name = "bench-scaling-{machines}"
description = "fleetsim bench: one bluegreen deploy of {machines} machines, {load_text}"

[app]
name = "bench"
image = "registry.fly.io/bench:deployment-1"

[[app.checks]]
name = "alive"
kind = "http"
interval = "10s"
grace_period = "5s"

[machine]
boot_time = {{ kind = "lognormal", median = "1.5s", p99 = "4s", max = "10s" }}
app_ready_time = {{ kind = "lognormal", median = "2s", p99 = "6s", max = "15s" }}
stop_time = {{ kind = "lognormal", median = "1s", p99 = "3s", max = "10s" }}
kill_timeout = "5s"
destroy_time = {{ kind = "constant", value = "500ms" }}

[api]
latency = {{ kind = "lognormal", median = "25ms", p99 = "150ms", max = "1s" }}
list_lag = "500ms"
wait_timeout_max = "60s"

[proxy]
propagation = {{ kind = "lognormal", median = "1.5s", p99 = "5s", max = "9s" }}

[traffic]
service_time = {{ kind = "lognormal", median = "20ms", p99 = "150ms", max = "2s" }}
"#
    );
    for (index, region) in SCALING_REGIONS.iter().enumerate() {
        let count = machines / regions + u32::from((index as u32) < machines % regions);
        if count > 0 {
            let _ = write!(
                text,
                "\n[[fleet]]\nregion = \"{region}\"\ncount = {count}\n"
            );
        }
        if load == Load::DeployOnly {
            continue;
        }
        let _ = write!(
            text,
            "\n[[traffic.regions]]\nregion = \"{region}\"\nrate = {:.1}\n",
            SCALING_RATE / f64::from(regions)
        );
    }
    // A deploy of N machines takes O(N / max_concurrent) API calls in each phase: give each
    // wait phase and the whole run room to finish at 10 000 machines.
    let _ = write!(
        text,
        r#"
[[deploy]]
strategy = "bluegreen"
image = "registry.fly.io/bench:deployment-2"
start = "5s"
wait_timeout = "3h"
expect_outcome = "succeeded"

[run]
seed = 1
time_limit = "24h"
event_limit = {event_limit}
machine_limit = {machine_limit}

[expect]
hold = [{hold}]
"#,
        event_limit = 1_000_000_000u64,
        machine_limit = u64::from(machines) * 3 + 100,
        hold = scaling_holds()
            .iter()
            .map(|invariant| format!("\"{}\"", invariant.as_str()))
            .collect::<Vec<_>>()
            .join(", "),
    );
    let path = format!("<bench scaling {machines}>");
    crate::scenario::parse(Path::new(&path), &text)
        .unwrap_or_else(|error| panic!("the scaling scenario is valid: {error}"))
}

/// Every invariant must hold in the scaling runs except `bounded-mixing` (I8, two images
/// routable for at most 60 s): bluegreen cordons the blues `max_concurrent` at a time, so past a
/// few thousand machines its mixing window outlasts 60 s by design, not by a bug.
pub fn scaling_holds() -> Vec<crate::check::Invariant> {
    crate::check::Invariant::ALL
        .into_iter()
        .filter(|invariant| *invariant != crate::check::Invariant::BoundedMixing)
        .collect()
}

/// One scaling measurement (run in its own process for its peak memory).
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingRow {
    pub machines: u32,
    pub load: Load,
    pub wall_seconds: f64,
    pub simulated_seconds: f64,
    pub events: u64,
    /// Peak resident memory of the process (`VmHWM`), in KiB; 0 where /proc is unavailable.
    pub peak_kib: u64,
    pub passed: bool,
    pub outcome: String,
}

/// Runs the scaling scenario for one fleet size in this process.
pub fn scaling_one(machines: u32, load: Load) -> ScalingRow {
    let scenario = scaling_scenario(machines, load);
    let (result, wall_seconds) = timed(|| crate::sim::Simulation::new(&scenario).run());
    let outcome = match (&result.limit_hit, result.deploys.first()) {
        (Some(limit), _) => format!("limit: {limit}"),
        (None, Some(deploy)) => deploy.outcome.clone(),
        (None, None) => "no deploy".to_string(),
    };
    let failed: Vec<String> = result
        .expectations
        .iter()
        .filter(|check| !check.ok)
        .map(|check| format!("{}: {}", check.expectation, check.detail))
        .collect();
    let outcome = if failed.is_empty() {
        outcome
    } else {
        format!("{outcome}; failed {}", failed.join("; "))
    };
    ScalingRow {
        machines,
        load,
        wall_seconds,
        simulated_seconds: result.end_time_ms as f64 / 1e3,
        events: result.events,
        peak_kib: peak_memory_kib(),
        passed: result.passed,
        outcome,
    }
}

/// `VmHWM` of this process, in KiB (0 if unreadable).
pub fn peak_memory_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

impl ScalingRow {
    /// The one line `fleetsim bench --one SIZE` prints for its parent.
    pub fn to_line(&self) -> String {
        format!(
            "scaling machines={} load={} wall_s={} sim_s={} events={} peak_kib={} passed={} outcome={}",
            self.machines,
            self.load.as_str(),
            self.wall_seconds,
            self.simulated_seconds,
            self.events,
            self.peak_kib,
            self.passed,
            self.outcome.replace([' ', '\n'], "_")
        )
    }

    pub fn from_line(line: &str) -> Option<ScalingRow> {
        let fields = line.strip_prefix("scaling ")?;
        let value = |name: &str| {
            fields.split(' ').find_map(|field| {
                field
                    .strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix('='))
            })
        };
        Some(ScalingRow {
            machines: value("machines")?.parse().ok()?,
            load: Load::parse(value("load")?)?,
            wall_seconds: value("wall_s")?.parse().ok()?,
            simulated_seconds: value("sim_s")?.parse().ok()?,
            events: value("events")?.parse().ok()?,
            peak_kib: value("peak_kib")?.parse().ok()?,
            passed: value("passed")?.parse().ok()?,
            outcome: value("outcome")?.replace('_', " "),
        })
    }
}

/// Runs `EXE bench --one SIZE [--deploy-only]` and reads its line.
pub fn scaling_in_child(exe: &Path, machines: u32, load: Load) -> Result<ScalingRow, String> {
    let mut command = std::process::Command::new(exe);
    command.args(["bench", "--one", &machines.to_string()]);
    if load == Load::DeployOnly {
        command.arg("--deploy-only");
    }
    let output = command
        .output()
        .map_err(|error| format!("cannot run {}: {error}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "bench --one {machines} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    stdout
        .lines()
        .find_map(ScalingRow::from_line)
        .ok_or_else(|| format!("bench --one {machines} printed no result: {stdout}"))
}

/// Runs one fleet size `repeats` times, each in its own child process. Every repeat must see the
/// same run (events, simulated time, verdict): the harness checks determinism across processes.
pub fn scaling_repeated(
    exe: &Path,
    machines: u32,
    load: Load,
    repeats: u32,
) -> Result<Vec<ScalingRow>, String> {
    let mut rows: Vec<ScalingRow> = Vec::new();
    for _ in 0..repeats {
        let row = scaling_in_child(exe, machines, load)?;
        if let Some(first) = rows.first() {
            let same = (first.events, first.simulated_seconds, first.passed)
                == (row.events, row.simulated_seconds, row.passed);
            if !same {
                return Err(format!(
                    "the {machines}-machine deploy differed between two processes (events {} vs \
                     {}, simulated {} s vs {} s): the simulation is not deterministic",
                    first.events, row.events, first.simulated_seconds, row.simulated_seconds
                ));
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

fn scaling_figures(sizes: &[Vec<ScalingRow>]) -> Vec<Figure> {
    let mut figures = Vec::new();
    for repeats in sizes {
        let row = &repeats[0];
        let size = row.load.label(row.machines);
        let walls = Samples::new(repeats.iter().map(|row| row.wall_seconds).collect());
        let peak_mib = repeats
            .iter()
            .map(|row| row.peak_kib as f64 / 1024.0)
            .fold(0.0, f64::max);
        let events = row.events as f64;
        figures.extend([
            measured("scaling", size.clone(), "wall", &walls, "s"),
            figure(
                "scaling",
                size.clone(),
                "simulated",
                row.simulated_seconds,
                "s",
            ),
            measured(
                "scaling",
                size.clone(),
                "simulated_over_wall",
                &walls.map(|wall| row.simulated_seconds / wall),
                "x",
            ),
            figure("scaling", size.clone(), "events", events, "events"),
            measured(
                "scaling",
                size.clone(),
                "events_per_s",
                &walls.map(|wall| events / wall),
                "events/s",
            ),
            figure(
                "scaling",
                size.clone(),
                "events_per_machine",
                events / f64::from(row.machines),
                "events",
            ),
            measured(
                "scaling",
                size.clone(),
                "wall_per_event",
                &walls.map(|wall| wall * 1e9 / events),
                "ns",
            ),
            measured(
                "scaling",
                size.clone(),
                "wall_per_machine",
                &walls.map(|wall| wall * 1e6 / f64::from(row.machines)),
                "µs",
            ),
            figure("scaling", size.clone(), "peak_memory", peak_mib, "MiB"),
            figure(
                "scaling",
                size,
                "passed",
                f64::from(u8::from(row.passed)),
                "bool",
            ),
        ]);
    }
    figures
}

// ---------------------------------------------------------------------------------------------
// fuzz and sweep

/// The basic scenario (`scenarios/bluegreen-basic.toml`, built in).
pub fn basic_scenario() -> Scenario {
    crate::scenario::parse(Path::new("scenarios/bluegreen-basic.toml"), BASIC_SCENARIO)
        .expect("the basic scenario is valid")
}

/// The fuzz campaign on the basic fleet. A campaign that finds a failure spends most of its time
/// shrinking it, so both rates are given: generated cases per second, and all runs (cases and
/// shrinking runs) per second.
fn fuzz_figures(options: &BenchOptions, basic: &Scenario) -> Vec<Figure> {
    let mut config = crate::fuzz::campaign::CampaignConfig::new(
        StrategyName::Bluegreen(BluegreenVersion::V2026_08),
        options.fuzz_cases,
        1,
    );
    config.fleet = Some(basic.clone());
    let (report, seconds) = repeated(options.repeats, || {
        timed(|| crate::fuzz::campaign::run(&config, &|_| {}))
    });
    let parameter = format!("{} fleet, seed 1", basic.name);
    let runs = (report.cases + report.shrink_runs) as f64;
    vec![
        figure(
            "fuzz",
            parameter.clone(),
            "cases",
            report.cases as f64,
            "cases",
        ),
        figure(
            "fuzz",
            parameter.clone(),
            "shrink_runs",
            report.shrink_runs as f64,
            "runs",
        ),
        figure(
            "fuzz",
            parameter.clone(),
            "failures",
            report.failures.len() as f64,
            "cases",
        ),
        measured(
            "fuzz",
            parameter.clone(),
            "cases_per_s",
            &seconds.map(|seconds| report.cases as f64 / seconds),
            "cases/s",
        ),
        measured(
            "fuzz",
            parameter,
            "runs_per_s",
            &seconds.map(|seconds| runs / seconds),
            "runs/s",
        ),
    ]
}

fn sweep_figures(options: &BenchOptions, basic: &Scenario) -> Vec<Figure> {
    let (rows, seconds) = repeated(options.repeats, || {
        let seeds = 1..1 + options.sweep_seeds;
        timed(|| crate::report::sweep::run_seeds(basic, None, seeds, 1, |_| {}).len())
    });
    let parameter = format!("{}, jobs 1", basic.name);
    vec![
        figure("sweep", parameter.clone(), "seeds", rows as f64, "seeds"),
        measured(
            "sweep",
            parameter,
            "seeds_per_s",
            &seconds.map(|seconds| rows as f64 / seconds),
            "seeds/s",
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// the whole benchmark

/// Runs every figure; scaling sizes run as `exe bench --one SIZE` child processes. `progress`
/// hears what is being measured.
pub fn run(
    options: &BenchOptions,
    exe: &Path,
    progress: &dyn Fn(&str),
) -> Result<Vec<Figure>, String> {
    let basic = basic_scenario();
    let mut figures = Vec::new();
    progress("engine");
    figures.extend(engine_figures(options, &basic));
    let mut sizes = Vec::new();
    for load in [Load::Traffic, Load::DeployOnly] {
        for &size in &options.sizes {
            progress(&format!("scaling {}", load.label(size)));
            sizes.push(scaling_repeated(exe, size, load, options.repeats)?);
        }
    }
    figures.extend(scaling_figures(&sizes));
    progress("fuzz");
    figures.extend(fuzz_figures(options, &basic));
    progress("sweep");
    figures.extend(sweep_figures(options, &basic));
    Ok(figures)
}

/// The figures as CSV: `benchmark,parameter,metric,value,unit,min,max,repeats` (`value` is the
/// median of the repeats).
pub fn to_csv(figures: &[Figure]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record([
        "benchmark",
        "parameter",
        "metric",
        "value",
        "unit",
        "min",
        "max",
        "repeats",
    ]);
    for figure in figures {
        let _ = writer.write_record([
            figure.benchmark,
            &figure.parameter,
            figure.metric,
            &format_value(figure.value),
            figure.unit,
            &format_value(figure.min),
            &format_value(figure.max),
            &figure.repeats.to_string(),
        ]);
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn format_value(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value:.4}")
    }
}

fn find<'a>(
    figures: &'a [Figure],
    benchmark: &str,
    parameter: &str,
    metric: &str,
) -> Option<&'a Figure> {
    figures.iter().find(|figure| {
        figure.benchmark == benchmark && figure.parameter == parameter && figure.metric == metric
    })
}

fn si(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.2} M", value / 1e6)
    } else if value >= 1e3 {
        format!("{:.1} k", value / 1e3)
    } else {
        format!("{value:.1}")
    }
}

/// A figure's median, and its range when it was measured more than once.
fn with_range(figure: &Figure, show: impl Fn(f64) -> String) -> String {
    if figure.repeats > 1 {
        format!(
            "{} [{} .. {}]",
            show(figure.value),
            show(figure.min),
            show(figure.max)
        )
    } else {
        show(figure.value)
    }
}

/// One target of issue 6, judged on the median.
pub struct Target {
    pub text: &'static str,
    pub measured: String,
    pub met: bool,
}

/// The targets whose figures were measured in this run.
pub fn targets(figures: &[Figure]) -> Vec<Target> {
    let mut targets = Vec::new();
    if let Some(ratio) = find(figures, "engine", "synthetic/bare-heap", "ratio") {
        targets.push(Target {
            text: "engine loop at least half as fast as a bare BinaryHeap loop",
            measured: format!("{:.2} x", ratio.value),
            met: ratio.value >= 0.5,
        });
    }
    if let Some(speed) = find(figures, "scaling", "1000", "simulated_over_wall") {
        targets.push(Target {
            text: "1 000-machine deploy at least 1 000 x faster than real time",
            measured: format!("{:.0} x", speed.value),
            met: speed.value >= 1_000.0,
        });
    }
    if let Some(memory) = find(figures, "scaling", "10000", "peak_memory") {
        targets.push(Target {
            text: "10 000-machine deploy under 1 GiB of memory",
            measured: format!("{:.0} MiB", memory.value),
            met: memory.value < 1_024.0,
        });
    }
    if let Some(sweep) = figures
        .iter()
        .find(|figure| figure.benchmark == "sweep" && figure.metric == "seeds_per_s")
    {
        targets.push(Target {
            text: "basic scenario at least 500 seeds/s in sweep --jobs 1",
            measured: format!("{:.0} seeds/s", sweep.value),
            met: sweep.value >= 500.0,
        });
    }
    targets
}

/// The human table: medians, with [lowest .. highest] of the repeats.
pub fn table_text(figures: &[Figure]) -> String {
    let mut text = String::new();
    let repeats = figures
        .iter()
        .map(|figure| figure.repeats)
        .max()
        .unwrap_or(1);
    let _ = writeln!(
        text,
        "(medians of {repeats} repeats; [lowest .. highest] beside them)\n"
    );
    let _ = writeln!(text, "engine (events/s; limit = bare BinaryHeap loop)");
    for figure in figures.iter().filter(|figure| figure.benchmark == "engine") {
        let value = match figure.unit {
            "events/s" | "events" => with_range(figure, si),
            _ => with_range(figure, |value| format!("{value:.3}")),
        };
        let _ = writeln!(
            text,
            "  {:<26} {:<20} {value} {}",
            figure.parameter, figure.metric, figure.unit
        );
    }
    scaling_table(&mut text, figures);
    for benchmark in ["fuzz", "sweep"] {
        let _ = writeln!(text, "\n{benchmark}");
        for figure in figures
            .iter()
            .filter(|figure| figure.benchmark == benchmark)
        {
            let value = with_range(figure, |value| format!("{value:.1}"));
            let _ = writeln!(
                text,
                "  {:<30} {:<12} {value} {}",
                figure.parameter, figure.metric, figure.unit
            );
        }
    }
    let targets = targets(figures);
    if !targets.is_empty() {
        let _ = writeln!(text, "\ntargets (issue 6; judged on the medians)");
        for target in targets {
            let mark = if target.met { "met    " } else { "NOT MET" };
            let _ = writeln!(text, "  {mark} {:<62} {}", target.text, target.measured);
        }
    }
    text
}

fn scaling_table(text: &mut String, figures: &[Figure]) {
    for load in [Load::Traffic, Load::DeployOnly] {
        let title = match load {
            Load::Traffic => format!("one bluegreen deploy, 4 regions, {SCALING_RATE} requests/s"),
            Load::DeployOnly => "the same deploy without traffic".to_string(),
        };
        let sizes: Vec<&str> = figures
            .iter()
            .filter(|figure| figure.benchmark == "scaling" && figure.metric == "wall")
            .map(|figure| figure.parameter.as_str())
            .filter(|size| size.ends_with(" deploy-only") == (load == Load::DeployOnly))
            .collect();
        if !sizes.is_empty() {
            scaling_block(text, figures, &title, &sizes);
        }
    }
}

fn scaling_block(text: &mut String, figures: &[Figure], title: &str, sizes: &[&str]) {
    let _ = writeln!(text, "\nscaling ({title})");
    let _ = writeln!(
        text,
        "  {:>8} {:>24} {:>8} {:>26} {:>10} {:>11} {:>9} {:>9} {:>6}",
        "machines",
        "wall s",
        "sim s",
        "sim/wall",
        "events",
        "events/mach",
        "ns/event",
        "peak MiB",
        "passed"
    );
    for size in sizes {
        let get = |metric| find(figures, "scaling", size, metric);
        let machines = size.trim_end_matches(" deploy-only");
        let value = |metric| get(metric).map_or(f64::NAN, |figure| figure.value);
        let ranged = |metric, decimals: usize| {
            get(metric).map_or_else(String::new, |figure| {
                with_range(figure, |value| format!("{value:.decimals$}"))
            })
        };
        let _ = writeln!(
            text,
            "  {:>8} {:>24} {:>8.1} {:>26} {:>10.0} {:>11.0} {:>9.0} {:>9.1} {:>6}",
            machines,
            ranged("wall", 3),
            value("simulated"),
            ranged("simulated_over_wall", 0),
            value("events"),
            value("events_per_machine"),
            value("wall_per_event"),
            value("peak_memory"),
            if value("passed") == 1.0 { "yes" } else { "NO" },
        );
    }
}
