//! Wall-clock throughput of the simulator on one scenario: runs it for many seeds in one process
//! and prints runs/s and engine events/s. (`scripts/bench.sh` is the benchmark proper.)
//!
//! cargo run --release --example throughput -- scenarios/bluegreen-basic.toml 200

#[allow(clippy::disallowed_types, clippy::disallowed_methods)] // measures the wall clock on purpose
fn main() {
    let mut arguments = std::env::args().skip(1);
    let path = arguments.next().expect("usage: throughput SCENARIO [RUNS]");
    let runs: u64 = arguments
        .next()
        .map_or(200, |runs| runs.parse().expect("RUNS is a number"));
    let scenario = fleetsim::scenario::load(std::path::Path::new(&path)).expect("valid scenario");
    let started = std::time::Instant::now();
    let mut events = 0u64;
    let mut simulated_ms = 0u64;
    for seed in 1..=runs {
        let result = fleetsim::sim::Simulation::new(&scenario).seed(seed).run();
        events += result.events;
        simulated_ms += result.end_time_ms;
    }
    let wall = started.elapsed().as_secs_f64();
    println!(
        "{runs} runs in {wall:.3} s: {:.0} runs/s, {:.2} ms/run, {:.0} events/run, {:.2} M events/s, {:.0}x real time",
        runs as f64 / wall,
        wall * 1e3 / runs as f64,
        events as f64 / runs as f64,
        events as f64 / wall / 1e6,
        simulated_ms as f64 / 1e3 / wall
    );
}
