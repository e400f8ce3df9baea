//! The example's strategy and invariant, checked through fleetsim's public API only.

use std::path::Path;

use custom_strategy::study::{self, BLUEGREEN};
use custom_strategy::{EveryRegionServed, RegionByRegion};
use fleetsim::check::{Checker, Fleet, Status};
use fleetsim::engine::SimTime;
use fleetsim::observe::{MachineShape, Observation};
use fleetsim::sim::Simulation;

fn basic() -> fleetsim::scenario::Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/bluegreen-basic.toml");
    fleetsim::scenario::load(&path).expect("the repository's scenario loads")
}

/// Feeds one observation as a run does: into the fleet first, then to the checker.
fn feed(
    fleet: &mut Fleet,
    checker: &mut EveryRegionServed,
    observation: &Observation,
) -> Option<String> {
    fleet.observe(SimTime::ZERO, 0, observation);
    checker
        .observe(fleet, SimTime::ZERO, observation)
        .map(|finding| finding.detail)
}

fn created(fleet: &mut Fleet, checker: &mut EveryRegionServed, machine: u32, region: &str) {
    let shape = MachineShape::default();
    let observation = Observation::MachineCreated {
        machine,
        region,
        image: "image",
        by: None,
        shape: &shape,
    };
    assert_eq!(feed(fleet, checker, &observation), None);
}

fn routable(
    fleet: &mut Fleet,
    checker: &mut EveryRegionServed,
    machine: u32,
    routable: bool,
) -> Option<String> {
    let observation = Observation::PlatformRoutable { machine, routable };
    feed(fleet, checker, &observation)
}

/// Guards against the checker missing a region's last routable machine, or crying wolf while
/// another machine of the region still serves.
#[test]
fn the_invariant_breaks_exactly_when_a_region_loses_its_last_routable_machine() {
    let mut checker = EveryRegionServed::new();
    let mut fleet = Fleet::new(3, Vec::new(), 0);
    created(&mut fleet, &mut checker, 0, "iad");
    created(&mut fleet, &mut checker, 1, "iad");
    created(&mut fleet, &mut checker, 2, "ams");
    for machine in 0..3 {
        assert_eq!(routable(&mut fleet, &mut checker, machine, true), None);
    }
    assert_eq!(
        routable(&mut fleet, &mut checker, 0, false),
        None,
        "machine 1 still serves iad"
    );
    assert_eq!(
        routable(&mut fleet, &mut checker, 0, false),
        None,
        "no change, no verdict"
    );
    let broken =
        routable(&mut fleet, &mut checker, 1, false).expect("iad has no routable machine left");
    assert!(broken.contains("iad"), "{broken}");
}

/// Guards against the user's strategy not running at all (the scenario's own bluegreen running
/// instead) or its invariant not being reported with the built-in ones.
#[test]
fn the_strategy_deploys_the_basic_scenario_and_its_invariant_is_reported() {
    let scenario = basic();
    let result = Simulation::new(&scenario)
        .custom_strategy(RegionByRegion)
        .checker(EveryRegionServed::new())
        .run();
    assert_eq!(result.strategy.as_deref(), Some(RegionByRegion::NAME));
    assert_eq!(result.deploys[0].strategy, RegionByRegion::NAME);
    assert_eq!(
        result.deploys[0].outcome, "succeeded",
        "{:?}",
        result.deploys[0]
    );
    let verdict = |name: &str| {
        result
            .verdicts
            .iter()
            .find(|verdict| verdict.invariant == name)
            .unwrap_or_else(|| panic!("no verdict for {name}"))
            .status
    };
    assert_eq!(verdict(EveryRegionServed::NAME), Status::Held);
    assert_eq!(verdict("single-image-at-rest"), Status::Held);
    // It declares only what every strategy promises: bluegreen's own invariants are n/a.
    assert_eq!(verdict("drain-order"), Status::NotApplicable);
    assert_eq!(result.metrics.requests_failed, 0);
}

/// Guards against a comparison that does not compare: both strategies ran through fleetsim's
/// `compare`, under their names, on the same seeds, with the user's invariant judged, and
/// region-by-region takes longer (it waits per region).
#[test]
fn the_comparison_runs_both_strategies() {
    let comparison = study::compare(&basic(), 1..4, None).expect("no files written");
    let names: Vec<&str> = comparison
        .summary
        .meta
        .strategies
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(names, [BLUEGREEN.as_str(), RegionByRegion::NAME]);
    assert!(comparison.rows.iter().all(|rows| rows.len() == 3));
    assert!(comparison.rows[1].iter().all(|row| row.panic.is_empty()));
    let duration = |strategy: usize| comparison.rows[strategy][0].deploy_duration_ms;
    assert!(
        duration(1) > duration(0),
        "{} vs {}",
        duration(1),
        duration(0)
    );
    let dark = study::regions_left_dark(&comparison);
    assert_eq!(dark.len(), 2);
    assert!(dark.iter().all(|(_, proportion)| proportion.runs == 3));
}

/// Guards against the fuzzer ignoring a user's checker: a short campaign finds a region left
/// dark, shrinks it, and the shrunk case still breaks the invariant when replayed.
#[test]
fn the_fuzzer_finds_and_shrinks_a_region_left_dark() {
    let report = study::fuzz(30, 1);
    assert_eq!(report.cases, 30);
    let dark = report
        .failures
        .iter()
        .find(|failure| {
            failure
                .custom_violated
                .iter()
                .any(|name| name == EveryRegionServed::NAME)
        })
        .expect("a region left dark within 30 cases of fuzzer seed 1");
    assert_eq!(dark.strategy_name, RegionByRegion::NAME);
    assert!(dark
        .signature
        .to_string()
        .starts_with(EveryRegionServed::NAME));
    let (first, violation) = dark.first.as_ref().expect("its first violation");
    assert_eq!(first, EveryRegionServed::NAME);
    assert!(
        violation.detail.contains("no routable machine"),
        "{}",
        violation.detail
    );
    let replayed = Simulation::new(&dark.scenario)
        .seed(dark.seed)
        .custom_strategy(RegionByRegion)
        .checker(EveryRegionServed::new())
        .run();
    assert!(replayed
        .verdicts
        .iter()
        .any(|verdict| verdict.invariant == EveryRegionServed::NAME && verdict.violated()));
}
