//! fleetsim as a library: a user's checker is reported like a built-in invariant in every form
//! a run is rendered (human summary, JSON, HTML) and in its failure signature.

use fleetsim::check::{Checker, Finding, Fleet, Status};
use fleetsim::engine::SimTime;
use fleetsim::observe::{InvariantKind, Observation, ObservationKind};
use fleetsim::sim::{RunResult, Simulation};

/// "No machine is ever destroyed": bluegreen breaks it by design (it destroys its blues).
struct NothingDestroyed;

impl Checker for NothingDestroyed {
    fn name(&self) -> &str {
        "nothing-destroyed"
    }

    fn kind(&self) -> InvariantKind {
        InvariantKind::Safety
    }

    fn promise(&self) -> String {
        "no machine is ever destroyed".to_string()
    }

    fn observe(&mut self, _: &Fleet, _: SimTime, observation: &Observation<'_>) -> Option<Finding> {
        match observation {
            Observation::MachineGone { machine, .. } => {
                Some(format!("machine {machine} gone").into())
            }
            _ => None,
        }
    }
}

fn run() -> RunResult {
    let scenario = fleetsim::scenario::load(std::path::Path::new("scenarios/bluegreen-basic.toml"))
        .expect("valid scenario");
    Simulation::new(&scenario)
        .keep_trace(true)
        .checker(NothingDestroyed)
        .run()
}

/// Guards against a user's verdict that is computed but dropped by a renderer or the signature.
#[test]
fn a_users_checker_is_reported_everywhere_a_built_in_one_is() {
    let result = run();
    let verdict = result
        .verdicts
        .iter()
        .find(|verdict| verdict.invariant == "nothing-destroyed")
        .expect("the user's verdict is among the verdicts");
    assert_eq!(verdict.status, Status::Violated);
    let violation = verdict
        .first_violation
        .as_ref()
        .expect("its first violation");
    assert!(violation.detail.contains("gone"), "{}", violation.detail);
    assert!(violation.time_ms > 0 && violation.step > 0);
    // Bluegreen destroys blues in its destroy phase: the cause names the deployer's call.
    assert_eq!(violation.cause.action.as_str(), "destroy");

    let human = fleetsim::report::human_summary(&result, false);
    assert!(human.contains("nothing-destroyed"), "{human}");
    assert!(human.contains("machine 6 gone"), "{human}");
    assert!(!result.passed, "a registered checker is expected to hold");
    assert!(human.contains("FAIL"), "{human}");
    let json = fleetsim::report::json_summary(&result);
    assert!(json.contains("\"nothing-destroyed\""), "{json}");
    let scenario = fleetsim::scenario::load(std::path::Path::new("scenarios/bluegreen-basic.toml"))
        .expect("valid scenario");
    let analysis = fleetsim::report::analysis::analyse(&scenario, &result, 1_000_000);
    let html = fleetsim::report::html::run_report(&scenario, &result, &analysis);
    assert!(html.contains("nothing-destroyed"));

    let signature = result
        .signature(&[])
        .expect("the run failed the user's invariant");
    assert_eq!(
        signature.to_string(),
        "nothing-destroyed/destroy/destroy-blues"
    );
}

/// Guards against a user's checker changing the run it judges: observing is read-only.
#[test]
fn a_users_checker_does_not_change_the_run() {
    let scenario = fleetsim::scenario::load(std::path::Path::new("scenarios/bluegreen-basic.toml"))
        .expect("valid scenario");
    let plain = Simulation::new(&scenario).run();
    assert_eq!(plain.fingerprint, run().fingerprint);
}

/// Counts the machines alive itself and compares with the fleet's count, at every observation of
/// the two kinds it wants.
#[derive(Default)]
struct AliveAgrees {
    alive: u32,
    observed: std::rc::Rc<std::cell::Cell<u32>>,
}

impl Checker for AliveAgrees {
    fn name(&self) -> &str {
        "alive-agrees"
    }

    fn kind(&self) -> InvariantKind {
        InvariantKind::Safety
    }

    fn promise(&self) -> String {
        "the fleet's count of machines alive is the checker's own".to_string()
    }

    fn interests(&self) -> &'static [ObservationKind] {
        &[
            ObservationKind::MachineCreated,
            ObservationKind::MachineGone,
        ]
    }

    fn observe(
        &mut self,
        fleet: &Fleet,
        _: SimTime,
        observation: &Observation<'_>,
    ) -> Option<Finding> {
        match observation {
            Observation::MachineCreated { .. } => self.alive += 1,
            Observation::MachineGone { .. } => self.alive -= 1,
            other => panic!("called for a kind it does not want: {other:?}"),
        }
        self.observed.set(self.observed.get() + 1);
        (fleet.machines_alive() != self.alive).then(|| {
            Finding::new(format!(
                "the fleet counts {}, the checker {}",
                fleet.machines_alive(),
                self.alive
            ))
        })
    }
}

/// Guards the order a checker relies on: the fleet already holds an observation when a checker
/// sees it, and a checker is called for the kinds it wants only (an incident run: crashes,
/// rollbacks, machines created and destroyed).
#[test]
fn a_checker_reads_the_fleet_after_each_observation_it_wants() {
    let scenario = fleetsim::scenario::load(std::path::Path::new(
        "scenarios/incidents/machine-explosion.toml",
    ))
    .expect("valid scenario");
    let checker = AliveAgrees::default();
    let observed = std::rc::Rc::clone(&checker.observed);
    let result = Simulation::new(&scenario).checker(checker).run();
    let verdict = result
        .verdicts
        .iter()
        .find(|verdict| verdict.invariant == "alive-agrees")
        .expect("its verdict");
    assert_eq!(
        verdict.status,
        Status::Held,
        "{:?}",
        verdict.first_violation
    );
    assert!(
        u64::from(observed.get()) >= 2 * u64::from(result.metrics.machines_initial),
        "{} observations",
        observed.get()
    );
}
