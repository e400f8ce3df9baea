//! How deploys end and what they leave: `single-image-at-rest` (I9), `deploy-terminates`,
//! `abort-safety` (I15), `no-leftovers` (I12), and the liveness checks after heal,
//! `leases-released` and `fleet-converges`.

use crate::engine::SimTime;
use crate::observe::{DeployOutcome, Invariant, Observation, ObservationKind};

use super::judges;
use crate::check::{Action, Checker, Finding, Fleet};

/// Up to six items of a list, then "…".
fn shown(items: &[String]) -> String {
    let mut text = items
        .iter()
        .take(6)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > 6 {
        text.push_str(", …");
    }
    text
}

/// After a deploy reports success, every alive machine runs its image.
pub struct SingleImageAtRest;

impl Checker for SingleImageAtRest {
    judges!(Invariant::SingleImageAtRest);

    fn interests(&self) -> &'static [ObservationKind] {
        &[ObservationKind::DeployFinished]
    }

    fn observe(&mut self, fleet: &Fleet, _: SimTime, observation: &Observation) -> Option<Finding> {
        let Observation::DeployFinished {
            deploy,
            outcome: DeployOutcome::Succeeded,
            image,
        } = *observation
        else {
            return None;
        };
        // Attribution: another deploy still running has its own greens up; their image is not
        // this deploy's leftover (two deployers at once are judged by lease-exclusion).
        let others_running =
            (0..fleet.deploy_count()).any(|other| other != deploy && fleet.deploy(other).running());
        if others_running {
            return None;
        }
        let others: Vec<String> = fleet
            .alive_by_image()
            .iter()
            .filter(|(other, _)| other.as_str() != image)
            .map(|(other, count)| format!("{other} ({count})"))
            .collect();
        (!others.is_empty()).then(|| {
            Finding::new(format!(
                "deploy {deploy} succeeded but alive machines run other images: {}",
                others.join(", ")
            ))
        })
    }
}

/// Every deploy ends within its time bound.
pub struct DeployTerminates;

impl Checker for DeployTerminates {
    judges!(Invariant::DeployTerminates);

    fn interests(&self) -> &'static [ObservationKind] {
        &[ObservationKind::DeployTimedOut]
    }

    fn observe(&mut self, _: &Fleet, _: SimTime, observation: &Observation) -> Option<Finding> {
        let Observation::DeployTimedOut { deploy } = *observation else {
            return None;
        };
        Some(Finding::new(format!(
            "deploy {deploy} did not end within its time bound"
        )))
    }

    /// A deploy still running when the run went quiet never ended: it caused that itself.
    fn settled(&mut self, fleet: &Fleet, _: SimTime) -> Option<Finding> {
        let deploy = (0..fleet.deploy_count()).find(|deploy| fleet.deploy(*deploy).running())?;
        Some(
            Finding::new(format!("deploy {deploy} never ended (the run went quiet)"))
                .caused_by(fleet.cause_of(Some(deploy), Action::NeverEnded)),
        )
    }
}

/// An aborted deploy before its point of no return leaves no green alive and its blues
/// untouched; after it, its greens are kept (`green-kept-after-switch` says so).
pub struct AbortSafety;

impl Checker for AbortSafety {
    judges!(Invariant::AbortSafety);

    fn interests(&self) -> &'static [ObservationKind] {
        &[ObservationKind::DeployFinished]
    }

    fn observe(&mut self, fleet: &Fleet, _: SimTime, observation: &Observation) -> Option<Finding> {
        let Observation::DeployFinished { deploy, .. } = *observation else {
            return None;
        };
        let facts = fleet.deploy_facts(deploy);
        if !facts.aborted || facts.point_of_no_return {
            return None;
        }
        let greens = fleet.deploy_counts(deploy).greens_alive;
        let touched = fleet.deploy(deploy).first_blue_mutation.is_some();
        (greens > 0 || touched).then(|| {
            Finding::new(format!(
                "deploy {deploy} was aborted before its point of no return and left {greens} \
                 green(s) alive{}",
                if touched {
                    " and blues cordoned, stopped or destroyed"
                } else {
                    ""
                }
            ))
        })
    }
}

/// Every alive machine at the end is owned.
pub struct NoLeftovers;

impl Checker for NoLeftovers {
    judges!(Invariant::NoLeftovers);

    fn interests(&self) -> &'static [ObservationKind] {
        // cargo-mutants' "replace with Vec::leak(Vec::new())" here is equivalent: both are empty.
        &[]
    }

    fn observe(&mut self, _: &Fleet, _: SimTime, _: &Observation) -> Option<Finding> {
        None
    }

    fn settled(&mut self, fleet: &Fleet, _: SimTime) -> Option<Finding> {
        let leftovers = fleet.leftovers();
        (!leftovers.is_empty()).then(|| {
            Finding::new(format!(
                "{} leftover machine(s) after the last deploy: {}",
                leftovers.len(),
                shown(leftovers)
            ))
        })
    }
}

/// No deployer lease is still held after heal.
pub struct LeasesReleased;

impl Checker for LeasesReleased {
    judges!(Invariant::LeasesReleased);

    fn interests(&self) -> &'static [ObservationKind] {
        // cargo-mutants' "replace with Vec::leak(Vec::new())" here is equivalent: both are empty.
        &[]
    }

    fn observe(&mut self, _: &Fleet, _: SimTime, _: &Observation) -> Option<Finding> {
        None
    }

    fn settled(&mut self, fleet: &Fleet, _: SimTime) -> Option<Finding> {
        let held = &fleet.settled().leases_held;
        (!held.is_empty()).then(|| {
            Finding::new(format!(
                "deployer leases still held after heal: {}",
                held.join(", ")
            ))
        })
    }
}

/// Machines and proxies converge by the end of the settle period.
pub struct FleetConverges;

impl Checker for FleetConverges {
    judges!(Invariant::FleetConverges);

    fn interests(&self) -> &'static [ObservationKind] {
        // cargo-mutants' "replace with Vec::leak(Vec::new())" here is equivalent: both are empty.
        &[]
    }

    fn observe(&mut self, _: &Fleet, _: SimTime, _: &Observation) -> Option<Finding> {
        None
    }

    fn settled(&mut self, fleet: &Fleet, _: SimTime) -> Option<Finding> {
        let unconverged = &fleet.settled().unconverged;
        (!unconverged.is_empty()).then(|| {
            Finding::new(format!(
                "{} thing(s) had not converged by the end of the settle period: {}",
                unconverged.len(),
                unconverged
                    .iter()
                    .take(6)
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::MachineState;
    use crate::check::builtin::judged::{detail, Judged};
    use crate::check::{Cause, SettledFacts};
    use crate::observe::{DeployStep, Limits, Mutation};

    fn items(count: usize) -> Vec<String> {
        (1..=count).map(|item| format!("#{item}")).collect()
    }

    // Guards `shown`: up to six items in full, an ellipsis only past six.
    #[test]
    fn shown_lists_six_items_then_an_ellipsis() {
        assert_eq!(shown(&items(2)), "#1, #2");
        assert_eq!(shown(&items(6)), "#1, #2, #3, #4, #5, #6");
        assert_eq!(shown(&items(7)), "#1, #2, #3, #4, #5, #6, …");
    }

    /// Two initial machines on img:1; deploy 0 launches one on img:2.
    fn mixed(deploys: usize) -> Judged<SingleImageAtRest> {
        let mut judged = Judged::new(SingleImageAtRest, 2, deploys);
        judged.create("img:1", None);
        judged.create("img:1", None);
        judged.start(0, &[0, 1], &Limits::default());
        judged.create("img:2", Some(0));
        judged
    }

    // Guards single-image-at-rest: other images alive when a deploy succeeds break it, even
    // when a later deploy exists that never started (`&&`, not `||`).
    #[test]
    fn single_image_at_rest_names_the_other_images() {
        let mut judged = mixed(2);
        assert_eq!(
            detail(judged.finish(0, DeployOutcome::Succeeded, "img:2")),
            "deploy 0 succeeded but alive machines run other images: img:1 (2)"
        );
    }

    // Guards its attribution: another deploy still running has its greens up, so this deploy's
    // success is not judged (the deploy compared is the other one, not itself).
    #[test]
    fn single_image_at_rest_waits_for_other_running_deploys() {
        let mut judged = mixed(2);
        judged.start(1, &[0, 1], &Limits::default());
        assert_eq!(judged.finish(0, DeployOutcome::Succeeded, "img:2"), None);
    }

    // Guards its filter: machines on the deployed image are not "other images".
    #[test]
    fn single_image_at_rest_holds_with_one_image() {
        let mut judged = Judged::new(SingleImageAtRest, 1, 1);
        judged.create("img:2", None);
        judged.start(0, &[0], &Limits::default());
        judged.create("img:2", Some(0));
        assert_eq!(judged.finish(0, DeployOutcome::Succeeded, "img:2"), None);
    }

    // Guards deploy-terminates: a time-out breaks it, and so does a deploy still running when
    // the run went quiet (caused by that deploy's never ending); an ended deploy does not.
    #[test]
    fn deploy_terminates_reports_time_outs_and_deploys_never_ended() {
        let mut judged = Judged::new(DeployTerminates, 1, 3);
        judged.create("img:1", None);
        judged.start(0, &[0], &Limits::default());
        judged.start(2, &[0], &Limits::default());
        assert_eq!(
            detail(judged.feed(&Observation::DeployTimedOut { deploy: 0 })),
            "deploy 0 did not end within its time bound"
        );
        let finding = judged
            .settle(SettledFacts::default())
            .expect("deploy 2 runs");
        assert_eq!(finding.detail, "deploy 2 never ended (the run went quiet)");
        assert_eq!(
            finding.cause,
            Some(Cause {
                deploy: Some(2),
                action: Action::NeverEnded,
                phase: None,
            })
        );
        judged.finish(2, DeployOutcome::Failed, "img:2");
        assert_eq!(judged.settle(SettledFacts::default()), None);
    }

    /// One blue; deploy 0 launches one green, and is aborted.
    fn aborted() -> Judged<AbortSafety> {
        let mut judged = Judged::new(AbortSafety, 1, 1);
        judged.create("img:1", None);
        judged.start(0, &[0], &Limits::default());
        judged.create("img:2", Some(0));
        judged.feed(&Observation::DeployAborted { deploy: 0 });
        judged
    }

    fn gone(judged: &mut Judged<AbortSafety>, machine: u32, image: &str) {
        judged.feed(&Observation::MachineGone { machine, image });
    }

    // Guards abort-safety: an abort before the point of no return that leaves one green alive
    // breaks it (greens `> 0`, not `< 0` nor `== 0`).
    #[test]
    fn abort_safety_reports_a_green_left_alive() {
        let mut judged = aborted();
        assert_eq!(
            detail(judged.finish(0, DeployOutcome::Failed, "img:2")),
            "deploy 0 was aborted before its point of no return and left 1 green(s) alive"
        );
    }

    // Guards abort-safety's `||`: no green left, but a blue cordoned, breaks it too.
    #[test]
    fn abort_safety_reports_a_blue_touched() {
        let mut judged = aborted();
        gone(&mut judged, 1, "img:2");
        judged.mutate(0, 0, MachineState::Started, Mutation::Cordon);
        assert_eq!(
            detail(judged.finish(0, DeployOutcome::Failed, "img:2")),
            "deploy 0 was aborted before its point of no return and left 0 green(s) alive and \
             blues cordoned, stopped or destroyed"
        );
    }

    // Guards abort-safety's clean abort: no green left, no blue touched (greens `> 0`, not
    // `>= 0`).
    #[test]
    fn abort_safety_holds_for_a_clean_abort() {
        let mut judged = aborted();
        gone(&mut judged, 1, "img:2");
        assert_eq!(judged.finish(0, DeployOutcome::Failed, "img:2"), None);
    }

    // Guards abort-safety's scope: a deploy never aborted, or aborted after its point of no
    // return, is not judged by it.
    #[test]
    fn abort_safety_judges_only_aborts_before_the_point_of_no_return() {
        let mut judged = Judged::new(AbortSafety, 1, 1);
        judged.create("img:1", None);
        judged.start(0, &[0], &Limits::default());
        judged.create("img:2", Some(0));
        assert_eq!(
            judged.finish(0, DeployOutcome::Failed, "img:2"),
            None,
            "not aborted"
        );
        let mut judged = aborted();
        judged.step(0, DeployStep::PointOfNoReturn);
        assert_eq!(
            judged.finish(0, DeployOutcome::Failed, "img:2"),
            None,
            "aborted after the point of no return"
        );
    }

    // Guards no-leftovers: an alive green its deploy never recorded is a leftover at the end;
    // none, nothing to report.
    #[test]
    fn no_leftovers_reports_an_untracked_green() {
        let mut judged = Judged::new(NoLeftovers, 1, 1);
        judged.create("img:1", None);
        assert_eq!(judged.settle(SettledFacts::default()), None);
        judged.start(0, &[0], &Limits::default());
        judged.create("img:2", Some(0));
        judged.finish(0, DeployOutcome::Failed, "img:2");
        assert_eq!(
            detail(judged.settle(SettledFacts::default())),
            "1 leftover machine(s) after the last deploy: #1 (untracked green)"
        );
    }

    // Guards leases-released: a lease still held after heal breaks it; none held, it holds.
    #[test]
    fn leases_released_reports_leases_held() {
        let mut judged = Judged::new(LeasesReleased, 0, 0);
        assert_eq!(judged.settle(SettledFacts::default()), None);
        let facts = SettledFacts {
            leases_held: vec!["#0 by deploy 0".to_string(), "#1 by deploy 0".to_string()],
            unconverged: Vec::new(),
        };
        assert_eq!(
            detail(judged.settle(facts)),
            "deployer leases still held after heal: #0 by deploy 0, #1 by deploy 0"
        );
    }

    // Guards fleet-converges: what has not converged breaks it, the first six shown.
    #[test]
    fn fleet_converges_reports_what_has_not_converged() {
        let mut judged = Judged::new(FleetConverges, 0, 0);
        assert_eq!(judged.settle(SettledFacts::default()), None);
        let facts = SettledFacts {
            leases_held: Vec::new(),
            unconverged: items(7),
        };
        assert_eq!(
            detail(judged.settle(facts)),
            "7 thing(s) had not converged by the end of the settle period: #1; #2; #3; #4; #5; #6"
        );
    }
}
