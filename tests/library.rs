//! fleetsim as a library: a user's checker is reported like a built-in invariant in every form
//! a run is rendered (human summary, JSON, HTML) and in its failure signature.

use fleetsim::check::{Checker, Status};
use fleetsim::engine::SimTime;
use fleetsim::observe::{InvariantKind, Observation};
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

    fn observe(&mut self, _at: SimTime, observation: &Observation<'_>) -> Option<String> {
        match observation {
            Observation::MachineGone { machine, .. } => Some(format!("machine {machine} gone")),
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
