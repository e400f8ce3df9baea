//! Property-based fuzzing (issues 4 and 13): `bluegreen` breaks the safety invariants only with
//! the signatures of its known findings (`scenarios/fuzz-found/`), over several fuzzer seeds; the
//! same property catches the historic versions `bluegreen@2023-06` and `bluegreen@2024-02` within
//! the CI budget; a case depends only on the fuzzer seed and its number.
//!
//! Budget: `PROPTEST_CASES` cases per gate seed (default 64). A larger campaign:
//! `PROPTEST_CASES=10000 cargo test --release --test fuzz`, or `fleetsim fuzz --cases 100000
//! --known scenarios/fuzz-found`. New failures are written as scenario files under
//! `target/fuzz-failures/`.

use std::collections::BTreeMap;
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
    known::load(&[directory], bluegreen(), &fleetsim::fuzz::PROPERTY)
        .expect("the known findings load")
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

/// Everything a campaign's rows say, to compare campaigns, less whether a failure was the first
/// with its target (that depends on the cases before it); and each saved (shrunk) failure's file
/// by case.
fn rows(config: &CampaignConfig) -> (Vec<String>, BTreeMap<u64, (String, String)>) {
    let mut rows = Vec::new();
    let mut saved = BTreeMap::new();
    campaign::run_with(config, &|_| {}, &|| true, |result| {
        if let Some(failure) = result
            .finding
            .as_ref()
            .and_then(|finding| finding.shrunk.as_ref())
        {
            saved.insert(result.case, (failure.file_name(), failure.to_toml()));
        }
        rows.push(format!(
            "{} {} {} {:?} {:?}",
            result.case,
            result.seed,
            result.fingerprint,
            result.coverage,
            result
                .finding
                .as_ref()
                .map(|finding| (finding.signature.to_string(), &finding.signatures)),
        ));
    });
    (rows, saved)
}

// Guards determinism and independence: a case depends only on (fuzzer seed, case number), so
// --jobs, --cases and shards change nothing about it, and a saved (shrunk) failure is the same
// file whichever campaign saved it.
#[test]
fn a_case_depends_only_on_the_seed_and_its_number() {
    // bluegreen@2024-02 fails often, so shrinking is exercised too.
    let strategy = StrategyName::Bluegreen(BluegreenVersion::V2024_02);
    let mut config = CampaignConfig::new(strategy, 60, 1);
    config.max_shrink_iters = 40;
    let (serial, saved) = rows(&config);
    assert_eq!(serial.len(), 60);
    assert!(!saved.is_empty(), "no failure to shrink");
    assert_eq!(
        rows(&config),
        (serial.clone(), saved.clone()),
        "the same campaign twice"
    );
    config.jobs = 3;
    assert_eq!(rows(&config), (serial.clone(), saved.clone()), "--jobs 3");
    config.jobs = 1;
    config.cases = 40;
    let (first, first_saved) = rows(&config);
    assert_eq!(first, serial[..40].to_vec(), "--cases 40");
    assert_eq!(
        first_saved,
        saved.range(..=40).map(|(k, v)| (*k, v.clone())).collect(),
        "--cases 40 saves the same files"
    );
    config.cases = 60;
    let mut sharded = Vec::new();
    let mut sharded_saved = BTreeMap::new();
    for index in 0..3 {
        let mut shard = config.clone();
        shard.shard = Shard { index, count: 3 };
        let (shard_rows, shard_saved) = rows(&shard);
        sharded.extend(shard_rows);
        sharded_saved.extend(shard_saved);
    }
    sharded.sort_by_key(|row| {
        row.split(' ')
            .next()
            .and_then(|case| case.parse::<u64>().ok())
    });
    assert_eq!(sharded, serial, "three shards");
    // A shard sees fewer cases, so it may save a case that was a repeat in one campaign: the
    // file is the one that case gives on its own.
    for (case, file) in &sharded_saved {
        let alone = campaign::run_case(&config, *case, &|_| {});
        let shrunk = alone
            .finding
            .and_then(|finding| finding.shrunk)
            .expect("a saved case shrinks alone");
        assert_eq!(&(shrunk.file_name(), shrunk.to_toml()), file, "case {case}");
        if let Some(serial_file) = saved.get(case) {
            assert_eq!(serial_file, file, "case {case} saved by a shard");
        }
    }
}

// Guards dedup: a campaign shrinks and saves the first case of each target once; every later
// case with that target is counted as a repeat of it, unshrunk.
#[test]
fn a_campaign_shrinks_each_bug_once() {
    let strategy = StrategyName::Bluegreen(BluegreenVersion::V2024_02);
    let mut config = CampaignConfig::new(strategy, 150, 1);
    config.max_shrink_iters = 40;
    let mut first_of: BTreeMap<String, u64> = BTreeMap::new();
    let mut repeats = 0;
    let report = campaign::run_with(&config, &|_| {}, &|| true, |result| {
        let Some(finding) = &result.finding else {
            return;
        };
        let target = finding.signature.to_string();
        match first_of.get(&target) {
            Some(first) => {
                repeats += 1;
                assert_eq!(finding.repeat_of, Some(*first), "case {}", result.case);
                assert!(finding.shrunk.is_none() && finding.shrink_runs == 0);
            }
            None => {
                assert_eq!(finding.repeat_of, None);
                let shrunk = finding.shrunk.as_ref().expect("the first is shrunk");
                assert_eq!(
                    shrunk.target(&[]).map(ToString::to_string),
                    Some(target.clone())
                );
                first_of.insert(target, result.case);
            }
        }
    });
    assert!(repeats > 0, "no bug was found twice in 150 cases");
    assert_eq!(report.failures.len(), first_of.len());
    assert_eq!(report.repeat_cases.len(), repeats);
}

/// The first case of `strategy` (fuzzer seed 1) whose failure shows two or more signatures.
fn a_case_with_two_bugs(strategy: StrategyName) -> (u64, Box<Failure>) {
    (1..=400)
        .find_map(|case| {
            let (input, seed) = campaign::case_input(1, case);
            let failure = fleetsim::fuzz::check(&input, strategy, seed).err()?;
            (failure.signatures.len() >= 2).then_some((case, failure))
        })
        .expect("a case with two bugs in 400")
}

// Guards signature-preserving shrinking: a case with two bugs shrinks to the first, never to the
// other; told the first is known, the campaign re-examines the case and shrinks it to the second.
#[test]
fn shrinking_keeps_the_bug_the_case_was_found_with() {
    let strategy = StrategyName::Bluegreen(BluegreenVersion::V2023_06);
    let (case, failure) = a_case_with_two_bugs(strategy);
    let (first, second) = (failure.signatures[0].clone(), failure.signatures[1].clone());
    let mut config = CampaignConfig::new(strategy, case, 1);
    config.max_shrink_iters = 200;
    let result = campaign::run_case(&config, case, &|_| {});
    let finding = result.finding.expect("the case fails");
    let shrunk = finding.shrunk.expect("a new failure is shrunk");
    assert_eq!(shrunk.signature, first, "case {case}");
    assert!(shrunk.to_toml().lines().count() <= failure.to_toml().lines().count());
    config.known = vec![KnownFinding::of("the-first-bug.toml", first.clone())];
    let result = campaign::run_case(&config, case, &|_| {});
    let finding = result.finding.expect("the case fails");
    assert_eq!(
        finding.signature, second,
        "re-examined past the known first bug"
    );
    assert_eq!(finding.known, None);
    let shrunk = finding.shrunk.expect("the second bug is shrunk");
    assert_eq!(shrunk.target(&config.known), Some(&second));
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

// Guards the known findings: each file breaks the property under bluegreen with the signatures
// its header describes (the first, then any later bug it documents), and no two files show the
// same list (each is one bug, or one bug behind another).
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
            assert!(
                finding.signature.is_some(),
                "{} no longer breaks the property",
                finding.file
            );
            let all: Vec<String> = finding.signatures.iter().map(ToString::to_string).collect();
            (file, all.join(" then "))
        })
        .collect();
    assert_eq!(
        signatures,
        [
            (
                "ambiguous-launch-lookup-fails.toml",
                "no-machine-explosion/launch/create-greens then idempotent-create/launch/create-greens then no-leftovers/settled/-"
            ),
            (
                "cordon-while-green-flaps.toml",
                "deployer-never-deletes-all/cordon/cordon-blues then no-downtime/cordon/acquire-leases"
            ),
            (
                "cordon-while-green-unhealthy.toml",
                "deployer-never-deletes-all/cordon/cordon-blues then no-downtime/cordon/wait-before-stop"
            ),
            (
                "detached-machine-alone-keeps-old-image.toml",
                "single-image-at-rest/finish/- then no-leftovers/settled/-"
            ),
            (
                "detached-machine-keeps-old-image.toml",
                "single-image-at-rest/finish/release-leases then no-leftovers/settled/-"
            ),
            (
                "rollback-destroys-the-only-serving-green.toml",
                "green-kept-after-switch/destroy/rollback then no-downtime/destroy/rollback then deployer-never-deletes-all/destroy/rollback then no-leftovers/settled/-"
            ),
            (
                "stale-proxy-outlasts-the-drain-waits.toml",
                "no-downtime/stop/stop-blues"
            ),
            (
                "stall-outlives-lease-at-cordon.toml",
                "lease-exclusion/cordon/cordon-blues"
            ),
            (
                "stall-outlives-lease-at-destroy.toml",
                "lease-exclusion/destroy/destroy-blues"
            ),
            (
                "stall-outlives-lease-at-stop.toml",
                "lease-exclusion/stop/stop-blues"
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

// Guards the generator's reach into the bug history (issue 14): a redeploy of the running image
// (S1), deployer clock skew (S12), detached machines (S13), two deployers at once (S6b) and
// propagation tails that outlast bluegreen's 10 s waits (S4) are each drawn, and a case holding
// one replays from its written file: same scenario, same fingerprint.
#[test]
fn the_rare_kinds_are_drawn_and_replay_from_their_files() {
    use fleetsim::engine::random::Distribution;
    use fleetsim::scenario::{DeployStart, FaultSpec};
    use std::time::Duration;

    type Holds = fn(&fleetsim::scenario::Scenario) -> bool;
    let kinds: [(&str, Holds); 5] = [
        ("same image", |scenario| {
            scenario
                .deploys
                .iter()
                .any(|deploy| deploy.image == scenario.app.image)
        }),
        ("clock skew", |scenario| {
            scenario
                .deploys
                .iter()
                .any(|deploy| deploy.clock_skew_seconds != 0)
        }),
        ("detached", |scenario| {
            scenario
                .fleet
                .iter()
                .any(|group| group.detached && group.count > 0)
        }),
        ("concurrent deployers", |scenario| {
            scenario
                .deploys
                .iter()
                .skip(1)
                .any(|deploy| matches!(deploy.start, DeployStart::At(_)))
        }),
        ("long propagation tail", |scenario| {
            scenario.faults.iter().any(|fault| {
                matches!(fault, FaultSpec::PropagationTail {
                    delay: Distribution::Uniform { min, .. }, ..
                } if *min >= Duration::from_secs(12))
            })
        }),
    ];
    for (name, holds) in kinds {
        let (number, case, seed) = (1..=3_000)
            .find_map(|number| {
                let (case, seed) = campaign::case_input(1, number);
                holds(&case.to_scenario(bluegreen(), seed)).then_some((number, case, seed))
            })
            .unwrap_or_else(|| panic!("{name}: never drawn in 3 000 cases"));
        let scenario = case.to_scenario(bluegreen(), seed);
        let text = fleetsim::scenario::writer::to_toml(&scenario);
        let path = failures_directory().join(format!("rare-{}.toml", name.replace(' ', "-")));
        std::fs::create_dir_all(failures_directory()).expect("target is writable");
        std::fs::write(&path, &text).expect("target is writable");
        let replayed = load(&path).expect("the written case loads");
        assert!(holds(&replayed), "{name}: lost in the file (case {number})");
        let original = Simulation::new(&scenario).strategy(bluegreen()).run();
        let again = Simulation::new(&replayed).strategy(bluegreen()).run();
        assert_eq!(
            original.fingerprint.to_string(),
            again.fingerprint.to_string(),
            "{name}: case {number} replays"
        );
    }
}
