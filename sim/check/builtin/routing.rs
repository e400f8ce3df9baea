//! What the proxies can route to: `never-all-deleted` (I2), `deployer-never-deletes-all`,
//! `no-downtime` (I3) and `bounded-mixing` (I8).

use crate::engine::SimTime;
use crate::observe::{Bounds, Invariant, Observation, ObservationKind};

use super::judges;
use crate::check::fleet::{proxy_down, request_failed};
use crate::check::{Checker, Finding, Fleet};

/// The routable count fell to zero after the app had served.
fn all_taken_away(fleet: &Fleet, observation: &Observation) -> bool {
    matches!(
        observation,
        Observation::PlatformRoutable {
            routable: false,
            ..
        }
    ) && fleet.machines_routable() == 0
        && fleet.app_served()
}

/// Once the app serves, some machine is always started, uncordoned and passing.
pub struct NeverAllDeleted;

impl Checker for NeverAllDeleted {
    judges!(Invariant::NeverAllDeleted);

    fn interests(&self) -> &'static [ObservationKind] {
        &[ObservationKind::PlatformRoutable]
    }

    fn observe(&mut self, fleet: &Fleet, _: SimTime, observation: &Observation) -> Option<Finding> {
        all_taken_away(fleet, observation)
            .then(|| Finding::new("no machine is started, uncordoned and passing"))
    }
}

/// No deployer's mutation takes away the last routable machine. Only a fall to zero while the
/// mutation applies counts: when nothing was routable already, the platform did it (failing
/// checks, a crash).
pub struct DeployerNeverDeletesAll;

impl Checker for DeployerNeverDeletesAll {
    judges!(Invariant::DeployerNeverDeletesAll);

    fn interests(&self) -> &'static [ObservationKind] {
        &[ObservationKind::PlatformRoutable]
    }

    fn observe(&mut self, fleet: &Fleet, _: SimTime, observation: &Observation) -> Option<Finding> {
        if !all_taken_away(fleet, observation) {
            return None;
        }
        let (deploy, machine, mutation) = fleet.applying()?;
        Some(Finding::new(format!(
            "deploy {deploy} {} #{machine} took away the last started, uncordoned and passing \
             machine",
            mutation.as_str()
        )))
    }
}

/// No request fails and no proxy is left without a live routable machine.
pub struct NoDowntime;

impl Checker for NoDowntime {
    judges!(Invariant::NoDowntime);

    fn interests(&self) -> &'static [ObservationKind] {
        &[
            ObservationKind::ProxyServing,
            ObservationKind::RequestFailed,
        ]
    }

    fn observe(&mut self, fleet: &Fleet, _: SimTime, observation: &Observation) -> Option<Finding> {
        match *observation {
            // The first proxy down opens an outage.
            Observation::ProxyServing {
                proxy,
                serving: false,
            } if fleet.proxies_down() == 1 => Some(proxy_down(fleet.proxy_region(proxy)).into()),
            Observation::RequestDone {
                proxy,
                failure: Some(reason),
                ..
            } => Some(request_failed(fleet.proxy_region(proxy), reason).into()),
            _ => None,
        }
    }
}

/// Two images are never routable together for longer than the bound.
pub struct BoundedMixing {
    bounds: Bounds,
    /// Since when more than one image is routable, if it is now.
    mixing_since: Option<SimTime>,
}

impl BoundedMixing {
    pub fn new(bounds: Bounds) -> BoundedMixing {
        BoundedMixing {
            bounds,
            mixing_since: None,
        }
    }

    /// A window of mixing closed at `now`: broken at `since + bound` if it outlasted the bound.
    fn close(&mut self, now: SimTime, since: SimTime) -> Option<Finding> {
        self.mixing_since = None;
        let window = now - since;
        let bound = self.bounds.mixing_bound;
        (window > bound).then(|| {
            Finding::new(format!(
                "two images were routable for {} from {since}, longer than {}",
                SimTime::from_duration(window),
                self.bounds.mixing_bound_text()
            ))
            .broken_at(since + bound)
        })
    }
}

impl Checker for BoundedMixing {
    judges!(Invariant::BoundedMixing, bounds);

    fn interests(&self) -> &'static [ObservationKind] {
        &[ObservationKind::PlatformRoutable]
    }

    fn observe(
        &mut self,
        fleet: &Fleet,
        at: SimTime,
        observation: &Observation,
    ) -> Option<Finding> {
        let Observation::PlatformRoutable { .. } = observation else {
            return None;
        };
        let mixed = fleet.images_routable() > 1;
        match (mixed, self.mixing_since) {
            (true, None) => {
                self.mixing_since = Some(at);
                None
            }
            (false, Some(since)) => self.close(at, since),
            _ => None,
        }
    }

    fn settled(&mut self, _: &Fleet, at: SimTime) -> Option<Finding> {
        let since = self.mixing_since?;
        self.close(at, since)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::builtin::judged::{detail, Judged};
    use crate::observe::{FailureReason, Mutation};
    use std::time::Duration;

    // Guards the condition of never-all-deleted: a routable machine lost while another is still
    // routable breaks nothing, nor does a machine becoming routable; the last one lost does.
    #[test]
    fn never_all_deleted_breaks_when_the_last_routable_machine_goes() {
        let mut judged = Judged::new(NeverAllDeleted, 2, 0);
        judged.create("img:1", None);
        judged.create("img:1", None);
        assert_eq!(judged.routable(0, true), None, "a machine became routable");
        assert_eq!(judged.routable(1, true), None);
        assert_eq!(
            judged.routable(0, false),
            None,
            "machine 1 is still routable"
        );
        assert_eq!(
            detail(judged.routable(1, false)),
            "no machine is started, uncordoned and passing"
        );
    }

    // Guards all_taken_away's first condition: only a fall to unroutable counts, not any
    // observation while nothing is routable.
    #[test]
    fn only_a_fall_to_unroutable_takes_all_away() {
        let mut judged = Judged::new(NeverAllDeleted, 1, 0);
        judged.create("img:1", None);
        judged.routable(0, true);
        judged.routable(0, false);
        let gone = Observation::MachineGone {
            machine: 0,
            image: "img:1",
        };
        judged.fleet.observe(judged.now, 0, &gone);
        assert!(!all_taken_away(&judged.fleet, &gone));
    }

    // Guards deployer-never-deletes-all: the fall to zero during a deployer's mutation is the
    // deployer's; the same fall without one is not.
    #[test]
    fn deployer_never_deletes_all_blames_the_mutation_applying() {
        let mut judged = Judged::new(DeployerNeverDeletesAll, 2, 1);
        judged.create("img:1", None);
        judged.create("img:1", None);
        judged.routable(0, true);
        judged.routable(1, true);
        assert_eq!(judged.routable(0, false), None, "a crash, and one is left");
        judged.feed(&Observation::MutationApplying {
            deploy: 0,
            machine: 1,
            mutation: Mutation::Destroy,
        });
        assert_eq!(
            detail(judged.routable(1, false)),
            "deploy 0 destroy #1 took away the last started, uncordoned and passing machine"
        );
        judged.feed(&Observation::MutationApplied);
        judged.routable(1, true);
        assert_eq!(judged.routable(1, false), None, "no mutation applying");
    }

    // Guards no-downtime: the first proxy down opens an outage (a second one does not report
    // again), and a failed request breaks it.
    #[test]
    fn no_downtime_reports_the_first_proxy_down_and_failed_requests() {
        let mut judged = Judged::new(NoDowntime, 1, 0);
        for proxy in [0, 1] {
            judged.feed(&Observation::ProxyServing {
                proxy,
                serving: true,
            });
        }
        assert_eq!(
            detail(judged.feed(&Observation::ProxyServing {
                proxy: 0,
                serving: false,
            })),
            "proxy iad has no live routable machine"
        );
        assert_eq!(
            judged.feed(&Observation::ProxyServing {
                proxy: 1,
                serving: false,
            }),
            None,
            "the outage is open already"
        );
        assert_eq!(
            detail(judged.feed(&Observation::RequestDone {
                proxy: 1,
                failure: Some(FailureReason::ConnectionRefused),
                latency: Duration::from_millis(5),
                retried: false,
            })),
            format!(
                "a request at proxy ams failed: {}",
                FailureReason::ConnectionRefused.as_str()
            )
        );
    }

    // Guards bounded-mixing's window: two images routable together for exactly the bound (or
    // less) are fine, longer breaks it at `since + bound`; one image is never mixing; a window
    // still open at the end is judged then.
    #[test]
    fn bounded_mixing_judges_each_window_against_the_bound() {
        let mut judged = Judged::new(BoundedMixing::new(Bounds::default()), 1, 0);
        judged.create("img:1", None);
        judged.create("img:2", None);
        assert_eq!(judged.routable(0, true), None, "one image");
        let window = |judged: &mut Judged<BoundedMixing>, from: u64, to: u64| {
            judged.at_seconds(from);
            assert_eq!(judged.routable(1, true), None, "a window opens");
            judged.at_seconds(to);
            judged.routable(1, false)
        };
        assert_eq!(window(&mut judged, 10, 15), None, "5 s");
        assert_eq!(window(&mut judged, 20, 80), None, "exactly 60 s");
        let finding = window(&mut judged, 100, 161).expect("61 s");
        assert_eq!(
            finding.detail,
            "two images were routable for 61.000s from 100.000s, longer than 60 s"
        );
        assert_eq!(finding.at, Some(SimTime::from_micros(160_000_000)));
        assert_eq!(finding.cause, None);
        judged.at_seconds(200);
        judged.routable(1, true);
        judged.at_seconds(300);
        let finding = judged.settle(Default::default()).expect("open for 100 s");
        assert_eq!(finding.at, Some(SimTime::from_micros(260_000_000)));
    }

    // Guards `settled` of bounded-mixing: no window open, nothing to judge.
    #[test]
    fn bounded_mixing_without_an_open_window_settles_clean() {
        let mut judged = Judged::new(BoundedMixing::new(Bounds::default()), 1, 0);
        judged.create("img:1", None);
        judged.routable(0, true);
        judged.at_seconds(500);
        assert_eq!(judged.settle(Default::default()), None);
    }
}
