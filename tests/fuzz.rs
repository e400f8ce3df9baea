//! Property-based fuzzing (issues 4 and 13): `bluegreen` breaks the safety invariants only with
//! the signatures of its known findings (`scenarios/fuzz-found/`), over several fuzzer seeds; the
//! same property catches the historic versions `bluegreen@2023-06` and `bluegreen@2024-02` within
//! the CI budget; a case depends only on the fuzzer seed and its number.
//!
//! Budget: `PROPTEST_CASES` cases per gate seed (default 64). A larger campaign:
//! `PROPTEST_CASES=10000 cargo test --release --test fuzz`, or `fleetsim fuzz --cases 100000
//! --known scenarios/fuzz-found`. New failures are written as scenario files under
//! `target/fuzz-failures/`.

use std::path::{Path, PathBuf};

use fleetsim::deploy::{BluegreenVersion, StrategyName};
use fleetsim::fuzz::campaign::{self, CampaignConfig};
use fleetsim::fuzz::known::{self, KnownFinding};
use fleetsim::fuzz::{check_scenario, Failure, FaultKind};
use fleetsim::scenario::load;
use fleetsim::sim::Simulation;
use fleetsim::work::Shard;

/// The known findings: what the fuzzer found in `bluegreen` (flyctl HEAD), each a minimized,
/// commented scenario file. These are flyctl weaknesses, not simulator bugs; the property is not
/// loosened for them, the campaign reports them as known.
const KNOWN: &str = "scenarios/fuzz-found";

/// The fuzzer seeds the gate runs in CI, and the cases of each (`PROPTEST_CASES` overrides).
const GATE_SEEDS: [u64; 8] = [1, 2, 3, 4, 5, 6, 7, 8];
const GATE_CASES: u64 = 256;
/// The fuzzer seeds the canary must catch each historic version on, and its budget per seed.
const CANARY_SEEDS: [u64; 2] = [1, 2];
const CANARY_BUDGET: u64 = 256;

fn failures_directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures")
}

/// Writes a failure under target/fuzz-failures/ and returns its path.
fn save(failure: &Failure) -> PathBuf {
    failure
        .write(&failures_directory())
        .expect("target/fuzz-failures is writable")
}

fn bluegreen() -> StrategyName {
    StrategyName::Bluegreen(BluegreenVersion::V2026_08)
}

fn known_findings() -> Vec<KnownFinding> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join(KNOWN);
    known::load(&[directory], bluegreen()).expect("the known findings load")
}

fn gate_cases() -> u64 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(GATE_CASES)
}

// Guards the property itself, as a gate: over several fuzzer seeds, bluegreen (flyctl HEAD)
// breaks the safety property only with the signatures of the known findings; any other failure
// is saved and fails the test.
#[test]
fn bluegreen_fails_only_on_known_findings() {
    let known = known_findings();
    let mut new = Vec::new();
    let mut known_seen = 0;
    for seed in GATE_SEEDS {
        let mut config = CampaignConfig::new(bluegreen(), gate_cases(), seed);
        config.known = known.clone();
        config.jobs = 2;
        let report = campaign::run(&config, &|_| {});
        known_seen += report.known_cases.len();
        for (failure, case) in report.failures.iter().zip(&report.failure_cases) {
            let path = save(failure);
            new.push(format!(
                "fuzzer seed {seed} case {case}: {failure}\n  minimal case: {}",
                path.display()
            ));
        }
    }
    println!("known failures seen: {known_seen}");
    assert!(
        new.is_empty(),
        "bluegreen breaks the property in new ways:\n{}",
        new.join("\n")
    );
}

/// Runs the canary campaign against `version` with a fixed fuzzer seed; returns the failure
/// (shrunk) and how many cases it needed.
fn canary(version: BluegreenVersion, seed: u64) -> (Box<Failure>, u64) {
    let mut config = CampaignConfig::new(StrategyName::Bluegreen(version), CANARY_BUDGET, seed);
    config.stop_at_first_failure = true;
    config.max_shrink_iters = 300;
    let report = campaign::run(&config, &|_| {});
    let needed = report.failure_cases.first().copied();
    let failure = report.failures.into_iter().next();
    match (failure, needed) {
        (Some(failure), Some(needed)) => (failure, needed),
        _ => panic!(
            "the fuzzer did not catch {} in {CANARY_BUDGET} cases (seed {seed}): the generator is too weak",
            StrategyName::Bluegreen(version).as_str()
        ),
    }
}

/// The failure replays from its file: `fleetsim run` sees the same violated invariants (its
/// expectations fail on exactly those) and the same fingerprint.
fn assert_replays(failure: &Failure) {
    let path = save(failure);
    let scenario = load(&path).expect("the written failure is a valid scenario");
    let replayed = check_scenario(scenario.clone(), failure.strategy)
        .expect_err("the replay violates the property again");
    assert_eq!(replayed.violated, failure.violated);
    assert_eq!(replayed.fingerprint, failure.fingerprint);
    let result = Simulation::new(&scenario).run();
    assert!(!result.passed, "fleetsim run reports the failure");
    let failed: Vec<String> = result
        .expectations
        .iter()
        .filter(|check| !check.ok)
        .map(|check| check.expectation.clone())
        .collect();
    let expected: Vec<String> = failure
        .violated
        .iter()
        .map(|invariant| format!("{invariant} holds"))
        .collect();
    assert_eq!(failed, expected, "{}", path.display());
}

// Guards the fuzzer's strength against incidents 1 and 2: bluegreen@2023-06 (kill-destroy at
// the switch, greens recorded late) is caught within the CI budget on every canary seed.
#[test]
fn canary_catches_bluegreen_2023_06() {
    for seed in CANARY_SEEDS {
        let (failure, needed) = canary(BluegreenVersion::V2023_06, seed);
        println!("bluegreen@2023-06 seed {seed} caught after {needed} case(s): {failure}");
        assert_replays(&failure);
    }
}

// Guards the fuzzer's strength against incident 3: bluegreen@2024-02 (broad rollback after the
// blues were cordoned or stopped) is caught within the CI budget on every canary seed.
#[test]
fn canary_catches_bluegreen_2024_02() {
    for seed in CANARY_SEEDS {
        let (failure, needed) = canary(BluegreenVersion::V2024_02, seed);
        println!("bluegreen@2024-02 seed {seed} caught after {needed} case(s): {failure}");
        assert_replays(&failure);
    }
}

/// Everything a campaign's rows say, to compare campaigns.
fn rows(config: &CampaignConfig) -> Vec<String> {
    let mut rows = Vec::new();
    campaign::run_with(config, &|_| {}, &|| true, |result| {
        let shrunk = result
            .finding
            .as_ref()
            .and_then(|finding| finding.shrunk.as_ref())
            .map(|failure| (failure.file_name(), failure.to_toml()));
        rows.push(format!(
            "{} {} {} {:?} {:?} {:?}",
            result.case,
            result.seed,
            result.fingerprint,
            result.coverage,
            result
                .finding
                .as_ref()
                .map(|finding| finding.signature.to_string()),
            shrunk
        ));
    });
    rows
}

// Guards determinism and independence: a case depends only on (fuzzer seed, case number), so
// --jobs, --cases and shards change nothing about it, shrunk failures and saved files included.
#[test]
fn a_case_depends_only_on_the_seed_and_its_number() {
    // bluegreen@2024-02 fails often, so shrinking is exercised too.
    let strategy = StrategyName::Bluegreen(BluegreenVersion::V2024_02);
    let mut config = CampaignConfig::new(strategy, 24, 1);
    config.max_shrink_iters = 40;
    let serial = rows(&config);
    assert_eq!(serial.len(), 24);
    assert!(
        serial.iter().any(|row| row.contains("Some(")),
        "no failure to shrink"
    );
    assert_eq!(rows(&config), serial, "the same campaign twice");
    config.jobs = 3;
    assert_eq!(rows(&config), serial, "--jobs 3");
    config.jobs = 1;
    config.cases = 16;
    assert_eq!(rows(&config), serial[..16].to_vec(), "--cases 16");
    config.cases = 24;
    let mut sharded: Vec<String> = (0..3)
        .flat_map(|index| {
            let mut shard = config.clone();
            shard.shard = Shard { index, count: 3 };
            rows(&shard)
        })
        .collect();
    sharded.sort_by_key(|row| {
        row.split(' ')
            .next()
            .and_then(|case| case.parse::<u64>().ok())
    });
    assert_eq!(sharded, serial, "three shards");
}

// Guards the generator's reach: odd fleets (N = 0, N = 1, all stopped, two process groups),
// a second deploy, every fault kind, phase triggers, and swarms without faults all occur.
#[test]
fn the_generator_reaches_the_whole_fault_space() {
    use std::collections::BTreeSet;

    let mut seen: BTreeSet<String> = BTreeSet::new();
    for number in 1..=2_000 {
        let (case, _) = campaign::case_input(1, number);
        let scenario = case.to_scenario(bluegreen(), 1);
        let n = case.initial_machines();
        if n == 0 {
            seen.insert("N = 0".into());
        }
        if n == 1 {
            seen.insert("N = 1".into());
        }
        if n > 0
            && scenario
                .fleet
                .iter()
                .all(|group| group.state.as_str() == "stopped")
        {
            seen.insert("all stopped".into());
        }
        if scenario
            .fleet
            .iter()
            .any(|group| group.process_group == "worker")
        {
            seen.insert("two process groups".into());
        }
        if scenario.deploys.len() == 2 {
            seen.insert("two deploys".into());
        }
        if case.swarm.kinds.is_empty() {
            seen.insert("no fault kind on".into());
        }
        for fault in &scenario.faults {
            let kind = format!("{fault:?}");
            let name = kind
                .split([' ', '{'])
                .next()
                .unwrap_or_default()
                .to_string();
            seen.insert(name);
            if kind.contains("Phase {") {
                seen.insert("phase trigger".into());
            }
            if kind.contains("status: Unknown") {
                seen.insert("host status unknown".into());
            }
        }
    }
    let mut wanted: Vec<String> = [
        "N = 0",
        "N = 1",
        "all stopped",
        "two process groups",
        "two deploys",
        "no fault kind on",
        "phase trigger",
        "host status unknown",
    ]
    .map(String::from)
    .to_vec();
    wanted.extend(
        [
            "ApiError",
            "PropagationTail",
            "MachineCrash",
            "Unhealthy",
            "LeaseHeld",
        ]
        .into_iter()
        .chain([
            "DeployerKill",
            "DeployerAbort",
            "CapacityError",
            "StopHangs",
            "ApiAmbiguous",
            "ApiSlow",
            "ApiPartition",
            "StaleList",
            "EmptyImageRef",
            "HostNotOk",
            "DeployerStall",
            "SlowBoot",
            "BootFailure",
            "CrashLoop",
            "OrgLimit",
            "ChecksFail",
            "ChecksFlap",
            "ProxyStale",
            "ManualDestroy",
        ])
        .map(String::from),
    );
    assert_eq!(wanted.len(), 8 + FaultKind::ALL.len());
    let missing: Vec<&String> = wanted.iter().filter(|name| !seen.contains(*name)).collect();
    assert!(missing.is_empty(), "never generated: {missing:?}");
}

// Guards the known findings: each file breaks the property under bluegreen, with the signature
// its header describes, and no two share a signature (each is one bug).
#[test]
fn the_known_findings_have_their_signatures() {
    let known = known_findings();
    let signatures: Vec<(String, String)> = known
        .iter()
        .map(|finding| {
            let file = Path::new(&finding.file)
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            let signature = finding
                .signature
                .as_ref()
                .unwrap_or_else(|| panic!("{} no longer breaks the property", finding.file));
            (file, signature.to_string())
        })
        .collect();
    assert_eq!(
        signatures,
        [
            (
                "ambiguous-launch-lookup-fails.toml",
                "no-machine-explosion/launch/create-greens"
            ),
            (
                "cordon-while-green-unhealthy.toml",
                "deployer-never-deletes-all/cordon/cordon-blues"
            ),
            (
                "uncordon-fails-after-first-green.toml",
                "green-kept-after-switch/destroy/rollback"
            ),
        ]
        .map(|(file, signature)| (file.to_string(), signature.to_string()))
        .to_vec()
    );
}
