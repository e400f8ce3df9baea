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
