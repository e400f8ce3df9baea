//! A mutation campaign over every scenario file: thousands of variants (values replaced by extreme
//! or wrong ones, keys removed and added, entries repeated, arbitrary text), each run through the
//! `fleetsim` binary under a timeout and a memory cap, counted by how the process ended. The bar:
//! no panic, no hang, no crash — every variant ends with 0, 1 (an expectation failed) or 2 (bad
//! input, named with file, line, column and field).
//!
//! Too slow for CI (5 000 variants took 401 s on two busy cores); `scripts/mutation-campaign.sh`
//! builds the release binary and runs it:
//!
//! ```text
//! scripts/mutation-campaign.sh [--variants 5000] [--seed 1] [--jobs 2] [--timeout 60]
//!                              [--memory 2048] [--out target/mutation-campaign]
//! ```
//!
//! A variant still running at the timeout may only be slow (a run at 100 000 requests per second
//! takes seconds alone, a minute beside other work): after the others, it runs again alone with
//! five times the timeout, and only then counts as a hang. Every variant that panicked, hung or
//! crashed is kept under `--out` with the command that ran it and its stderr. The same seed draws
//! the same variants.

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "a campaign driver: it times processes on the wall clock, nothing simulated sees it"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestRunner};

use fleetsim::fuzz::scenario_text::{arbitrary_text, mutated_scenario_by, scenario_tables};

struct Options {
    variants: usize,
    seed: u64,
    jobs: usize,
    timeout: Duration,
    memory_mib: u64,
    out: PathBuf,
    binary: PathBuf,
}

fn options() -> Options {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut options = Options {
        variants: 5_000,
        seed: 1,
        jobs: 2,
        timeout: Duration::from_secs(60),
        memory_mib: 2_048,
        out: root.join("target/mutation-campaign"),
        binary: root.join("target/release/fleetsim"),
    };
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    for pair in arguments.chunks(2) {
        let (flag, value) = match pair {
            [flag, value] => (flag.as_str(), value.as_str()),
            _ => usage(&format!("{} needs a value", pair[0])),
        };
        let number = || {
            value
                .parse::<u64>()
                .unwrap_or_else(|_| usage(&format!("{flag} takes a number, not `{value}`")))
        };
        match flag {
            "--variants" => options.variants = number() as usize,
            "--seed" => options.seed = number(),
            "--jobs" => options.jobs = number().max(1) as usize,
            "--timeout" => options.timeout = Duration::from_secs(number().max(1)),
            "--memory" => options.memory_mib = number().max(64),
            "--out" => options.out = PathBuf::from(value),
            "--bin" => options.binary = PathBuf::from(value),
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    options
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "error: {problem}\nusage: mutation_campaign [--variants N] [--seed S] [--jobs N] \
         [--timeout SECONDS] [--memory MIB] [--out DIR] [--bin FLEETSIM]"
    );
    std::process::exit(2);
}

/// The variants: two in five change one value of a scenario file (most still load, so their
/// values reach the simulator), two in five make up to three changes, one in five is arbitrary
/// text.
fn variants(seed: u64, count: usize) -> Vec<String> {
    let tables = scenario_tables(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"));
    let mut runner = TestRunner::new(Config {
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    });
    let single = mutated_scenario_by(tables.clone(), 1..=1);
    let several = mutated_scenario_by(tables, 1..=3);
    let text = arbitrary_text();
    (0..count)
        .map(|index| {
            let tree = match index % 5 {
                0 | 2 => single.new_tree(&mut runner).map(|tree| tree.current()),
                4 => text.new_tree(&mut runner).map(|tree| tree.current()),
                _ => several.new_tree(&mut runner).map(|tree| tree.current()),
            };
            tree.unwrap_or_else(|reason| panic!("cannot draw a variant: {reason}"))
        })
        .collect()
}

/// The command a variant runs with: mostly `run`, some with report files, a sweep, a comparison,
/// the highest seed.
fn arguments(index: usize, file: &Path, work: &Path) -> Vec<String> {
    let file = file.to_string_lossy().into_owned();
    let out = work
        .join(format!("out-{index}"))
        .to_string_lossy()
        .into_owned();
    let words: Vec<&str> = match index % 10 {
        1 => vec![
            "run",
            "--quiet",
            &file,
            "--out",
            &out,
            "--window",
            "1ms",
            "--requests",
        ],
        3 => vec!["sweep", &file, "--seeds", "1..4", "--jobs", "2"],
        5 => vec!["compare", &file, "--strategies", "bluegreen,rolling,canary"],
        7 => vec!["run", "--quiet", &file, "--seed", "18446744073709551614"],
        9 => vec!["run", "--json", &file, "--strategy", "bluegreen@2023-06"],
        _ => vec!["run", "--quiet", &file],
    };
    words.into_iter().map(str::to_string).collect()
}

/// How a variant's process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ending {
    Status(i32),
    /// Killed by a signal (an abort on a failed allocation, a stack overflow).
    Signal(i32),
    /// Still running at the timeout: killed.
    Hang,
}

impl Ending {
    fn of(status: ExitStatus) -> Ending {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(code), _) => Ending::Status(code),
            (None, Some(signal)) => Ending::Signal(signal),
            (None, None) => Ending::Signal(0),
        }
    }

    fn label(self) -> String {
        match self {
            Ending::Status(0) => "exit 0 (expectations hold)".to_string(),
            Ending::Status(1) => "exit 1 (an expectation failed)".to_string(),
            Ending::Status(2) => "exit 2 (bad input)".to_string(),
            Ending::Status(101) => "exit 101 (panic)".to_string(),
            Ending::Status(code) => format!("exit {code}"),
            Ending::Signal(signal) => format!("signal {signal} (crash)"),
            Ending::Hang => "timeout (hang)".to_string(),
        }
    }

    fn acceptable(self) -> bool {
        matches!(self, Ending::Status(0..=2))
    }
}

/// Runs one variant under the memory cap (`ulimit -v`) and `timeout`.
fn run_variant(options: &Options, arguments: &[String], timeout: Duration) -> (Ending, Vec<u8>) {
    let memory_kib = options.memory_mib * 1024;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {memory_kib}; exec \"$0\" \"$@\""))
        .arg(&options.binary)
        .args(arguments)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fleetsim");
    let stderr = child.stderr.take().expect("piped stderr");
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut bytes = Vec::new();
        let _ = stderr.take(1 << 20).read_to_end(&mut bytes);
        bytes
    });
    let started = Instant::now();
    let ending = loop {
        if let Some(status) = child.try_wait().expect("wait for fleetsim") {
            break Ending::of(status);
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break Ending::Hang;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    (ending, reader.join().unwrap_or_default())
}

/// What the campaign saw: how each variant ended, and the ones kept.
#[derive(Default)]
struct Tally {
    endings: BTreeMap<Ending, usize>,
    kept: Vec<String>,
    /// Variants that ran past the timeout among the others but ended alone with the longer one.
    slow: Vec<String>,
}

impl Tally {
    /// Counts `ending`; a variant that did not end with 0, 1 or 2 is kept with its command and
    /// stderr.
    fn record(
        &mut self,
        options: &Options,
        (index, file): (usize, &Path),
        arguments: &[String],
        (ending, stderr): (Ending, Vec<u8>),
    ) {
        *self.endings.entry(ending).or_default() += 1;
        if ending.acceptable() {
            let _ = std::fs::remove_file(file);
            let _ = std::fs::remove_dir_all(options.out.join("work").join(format!("out-{index}")));
            return;
        }
        let kept = options.out.join(format!("variant-{index}.toml"));
        let _ = std::fs::rename(file, &kept);
        let log = format!(
            "fleetsim {}\n{}\n{}",
            arguments.join(" "),
            ending.label(),
            String::from_utf8_lossy(&stderr)
        );
        let _ = std::fs::write(options.out.join(format!("variant-{index}.log")), log);
        self.kept
            .push(format!("{}: {}", kept.display(), ending.label()));
    }
}

fn main() {
    let options = options();
    if !options.binary.exists() {
        usage(&format!(
            "no binary at {} (run `cargo build --release` first, or give --bin)",
            options.binary.display()
        ));
    }
    let work = options.out.join("work");
    let _ = std::fs::remove_dir_all(&options.out);
    std::fs::create_dir_all(&work).expect("create the campaign directory");
    eprintln!(
        "drawing {} variants (seed {})...",
        options.variants, options.seed
    );
    let variants = variants(options.seed, options.variants);
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let tally: Mutex<Tally> = Mutex::new(Tally::default());
    let timed_out: Mutex<Vec<usize>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..options.jobs {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                let Some(text) = variants.get(index) else {
                    break;
                };
                let file = work.join(format!("variant-{index}.toml"));
                std::fs::write(&file, text).expect("write a variant");
                let arguments = arguments(index, &file, &work);
                let (ending, stderr) = run_variant(&options, &arguments, options.timeout);
                if ending == Ending::Hang {
                    timed_out.lock().expect("timed out").push(index);
                } else {
                    let record = (ending, stderr);
                    tally.lock().expect("tally").record(
                        &options,
                        (index, &file),
                        &arguments,
                        record,
                    );
                }
                if (index + 1) % 500 == 0 {
                    eprintln!("{} variants run", index + 1);
                }
            });
        }
    });
    // A variant past the timeout while others ran beside it (and other work on the machine) may
    // only be slow: alone, with five times the timeout, it ends or it is a hang.
    let mut tally = tally.into_inner().expect("tally");
    let mut timed_out = timed_out.into_inner().expect("timed out");
    timed_out.sort_unstable();
    for index in timed_out {
        let file = work.join(format!("variant-{index}.toml"));
        let arguments = arguments(index, &file, &work);
        eprintln!(
            "variant {index} ran past {} s; again, alone",
            options.timeout.as_secs()
        );
        let retried = run_variant(&options, &arguments, options.timeout * 5);
        if retried.0 != Ending::Hang {
            tally
                .slow
                .push(format!("variant {index}: fleetsim {}", arguments.join(" ")));
        }
        tally.record(&options, (index, &file), &arguments, retried);
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "mutation campaign: {} variants of the scenario files (seed {}), timeout {} s (a variant \
         past it runs again alone with {} s), memory cap {} MiB, {} jobs, {seconds:.0} s",
        options.variants,
        options.seed,
        options.timeout.as_secs(),
        options.timeout.as_secs() * 5,
        options.memory_mib,
        options.jobs
    );
    for (ending, count) in &tally.endings {
        println!("  {:<32} {count}", ending.label());
    }
    for line in &tally.slow {
        println!("  slow (ended alone): {line}");
    }
    for line in &tally.kept {
        println!("  kept: {line}");
    }
    let _ = std::fs::remove_dir_all(&work);
    let passed = tally.kept.is_empty();
    println!("result: {}", if passed { "PASS" } else { "FAIL" });
    std::process::exit(i32::from(!passed));
}
