//! Per-machine tracking for the invariants that follow one machine through its life:
//! `drain-order` (and the drain margin it reports), `green-kept-after-switch` and `no-leftovers`.
//! Updated in O(1) per step; `no-leftovers` looks at every alive machine once, at the end.

use std::time::Duration;

use crate::api::MachineState;
use crate::engine::SimTime;
use crate::observe::DeployOutcome;
use crate::observe::MachineIndex;

/// What the checkers know of one machine.
#[derive(Clone, Debug, Default)]
pub struct MachineTrack {
    pub created_by: Option<u32>,
    pub alive: bool,
    /// The deploy that recorded it as a green.
    pub recorded_by: Option<u32>,
    /// The latest deploy that started while it was alive and did not create it (it was a blue).
    pub last_blue_of: Option<u32>,
    /// The latest deploy that updated it in place (rolling, canary, immediate).
    pub updated_by: Option<u32>,
    pub cordon_requested: bool,
    pub stop_requested: bool,
    /// Proxies whose view has it routable now.
    pub routing_proxies: u32,
    /// When the last proxy forgot it (routing_proxies fell to 0).
    pub forgotten_at: Option<SimTime>,
    /// When it stopped accepting connections after a stop or destroy of a deploy.
    pub retired_at: Option<SimTime>,
}

/// Per deploy, what `no-leftovers` and `green-kept-after-switch` need.
#[derive(Clone, Debug, Default)]
pub struct DeployFacts {
    pub point_of_no_return: bool,
    /// When its first uncordon of its own green succeeded.
    pub switched_at: Option<SimTime>,
    pub outcome: Option<DeployOutcome>,
    /// Ctrl-C was sent to it.
    pub aborted: bool,
}

/// The drain margin over all retired blues: the smallest (stopped − forgotten by the last proxy).
/// Negative: some proxy still routed to a blue after it stopped accepting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DrainMargin {
    pub margin_min_micros: Option<i64>,
    /// Blues that some proxy still believed routable when they stopped accepting.
    pub routed_after_stop: u32,
    /// The longest time a proxy still routed to a stopped blue.
    pub routed_after_stop_max: Duration,
}

impl DrainMargin {
    fn observe(&mut self, margin_micros: i64) {
        self.margin_min_micros = Some(match self.margin_min_micros {
            Some(current) => current.min(margin_micros),
            None => margin_micros,
        });
    }

    /// A blue stopped accepting at `retired_at`; the last proxy forgot it at `forgotten_at`.
    pub fn record(&mut self, retired_at: SimTime, forgotten_at: SimTime) {
        if forgotten_at <= retired_at {
            let margin = retired_at - forgotten_at;
            self.observe(i64::try_from(margin.as_micros()).unwrap_or(i64::MAX));
        } else {
            let late = forgotten_at - retired_at;
            self.routed_after_stop += 1;
            self.routed_after_stop_max = self.routed_after_stop_max.max(late);
            self.observe(-i64::try_from(late.as_micros()).unwrap_or(i64::MAX));
        }
    }
}

/// Why a drain-order rule broke, if it did, for a mutation of a blue in state `state`.
pub fn drain_order_breach(
    track: &MachineTrack,
    mutation_is_stop: bool,
    state: MachineState,
) -> Option<&'static str> {
    let serving = matches!(state, MachineState::Started | MachineState::Starting);
    if mutation_is_stop {
        return (serving && !track.cordon_requested).then_some("stopped before it was cordoned");
    }
    let running = serving || state == MachineState::Stopping;
    if running && !track.stop_requested {
        return Some(if track.cordon_requested {
            "destroyed while running, without a stop"
        } else {
            "destroyed while running, without a cordon or a stop"
        });
    }
    None
}

/// Whether an alive machine at the end of the run is a leftover, and of which kind.
pub fn leftover_kind(track: &MachineTrack, deploys: &[DeployFacts]) -> Option<&'static str> {
    if !track.alive {
        return None;
    }
    if let Some(blue_of) = track.last_blue_of {
        let facts = &deploys[blue_of as usize];
        let replaced = facts.point_of_no_return || facts.outcome == Some(DeployOutcome::Succeeded);
        let adopted_later = track.created_by.is_none_or(|creator| blue_of > creator);
        // An in-place strategy keeps its blues: updated, they are its own.
        let updated = track.updated_by == Some(blue_of);
        if replaced && adopted_later && !updated {
            return Some("hanging blue");
        }
    }
    let creator = track.created_by?;
    let facts = &deploys[creator as usize];
    let kept = facts.point_of_no_return || facts.outcome == Some(DeployOutcome::Succeeded);
    match (track.recorded_by == Some(creator), kept) {
        (true, true) => None,
        (false, _) => Some("untracked green"),
        (true, false) => Some("green of a deploy that neither finished nor rolled it back"),
    }
}

/// A machine index as a `Vec` index.
pub fn slot(machine: MachineIndex) -> usize {
    machine as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards the margin's sign: forgotten before the stop is a positive margin.
    #[test]
    fn drain_margin_sign() {
        let mut margin = DrainMargin::default();
        margin.record(
            SimTime::from_micros(10_000_000),
            SimTime::from_micros(4_000_000),
        );
        assert_eq!(margin.margin_min_micros, Some(6_000_000));
        margin.record(
            SimTime::from_micros(10_000_000),
            SimTime::from_micros(12_500_000),
        );
        assert_eq!(margin.margin_min_micros, Some(-2_500_000));
        assert_eq!(margin.routed_after_stop, 1);
    }

    // Guards the leftover classes: an unrecorded green is a leftover even after a success.
    #[test]
    fn leftover_classes() {
        let succeeded = DeployFacts {
            point_of_no_return: true,
            switched_at: None,
            outcome: Some(DeployOutcome::Succeeded),
            aborted: false,
        };
        let refused = DeployFacts {
            outcome: Some(DeployOutcome::Failed),
            ..DeployFacts::default()
        };
        let deploys = vec![succeeded, refused];
        let orphan = MachineTrack {
            created_by: Some(0),
            alive: true,
            ..MachineTrack::default()
        };
        assert_eq!(leftover_kind(&orphan, &deploys), Some("untracked green"));
        let owned = MachineTrack {
            recorded_by: Some(0),
            last_blue_of: Some(1),
            ..orphan.clone()
        };
        assert_eq!(leftover_kind(&owned, &deploys), None);
        let hanging = MachineTrack {
            created_by: None,
            alive: true,
            last_blue_of: Some(0),
            ..MachineTrack::default()
        };
        assert_eq!(leftover_kind(&hanging, &deploys), Some("hanging blue"));
    }

    // Guards the adoption rule of `no-leftovers`: a recorded green of an earlier deploy that a
    // later deploy took as a blue, and left behind after its point of no return, is a hanging
    // blue; the green of that later deploy itself is not one of its blues.
    #[test]
    fn a_green_adopted_as_a_blue_by_a_later_deploy_can_hang() {
        let succeeded = DeployFacts {
            point_of_no_return: true,
            switched_at: None,
            outcome: Some(DeployOutcome::Succeeded),
            aborted: false,
        };
        let deploys = vec![succeeded.clone(), succeeded];
        let adopted = MachineTrack {
            created_by: Some(0),
            alive: true,
            recorded_by: Some(0),
            last_blue_of: Some(1),
            ..MachineTrack::default()
        };
        assert_eq!(leftover_kind(&adopted, &deploys), Some("hanging blue"));
        // Deploys may overlap (each with its own `start`): deploy 0, starting after deploy 1
        // launched a green, takes that green as a blue without adopting it later. It stays deploy
        // 1's green, which deploy 1 keeps.
        let own = MachineTrack {
            created_by: Some(1),
            recorded_by: Some(1),
            last_blue_of: Some(0),
            ..adopted.clone()
        };
        assert_eq!(leftover_kind(&own, &deploys), None);
        let updated = MachineTrack {
            updated_by: Some(1),
            ..adopted
        };
        assert_eq!(leftover_kind(&updated, &deploys), None);
    }

    // Guards the two ways a deploy replaces its blues and keeps its greens, each on its own: it
    // passed its point of no return (and failed after it), or it succeeded without one (an
    // in-place strategy). A deploy that did neither, like one that failed before it, does not.
    #[test]
    fn point_of_no_return_or_success_each_decide_leftovers() {
        let failed_after_point = DeployFacts {
            point_of_no_return: true,
            outcome: Some(DeployOutcome::Failed),
            ..DeployFacts::default()
        };
        let succeeded_without_point = DeployFacts {
            outcome: Some(DeployOutcome::Succeeded),
            ..DeployFacts::default()
        };
        let failed_before_point = DeployFacts {
            outcome: Some(DeployOutcome::Failed),
            ..DeployFacts::default()
        };
        let deploys = vec![
            failed_after_point,
            succeeded_without_point,
            failed_before_point,
        ];
        for (deploy, replaced) in [(0, true), (1, true), (2, false)] {
            let blue = MachineTrack {
                alive: true,
                last_blue_of: Some(deploy),
                ..MachineTrack::default()
            };
            let expected = replaced.then_some("hanging blue");
            assert_eq!(leftover_kind(&blue, &deploys), expected, "deploy {deploy}");
            let green = MachineTrack {
                alive: true,
                created_by: Some(deploy),
                recorded_by: Some(deploy),
                ..MachineTrack::default()
            };
            let expected =
                (!replaced).then_some("green of a deploy that neither finished nor rolled it back");
            assert_eq!(leftover_kind(&green, &deploys), expected, "deploy {deploy}");
        }
        // A destroyed machine is never a leftover, whatever it was.
        let gone = MachineTrack {
            alive: false,
            created_by: Some(2),
            last_blue_of: Some(0),
            ..MachineTrack::default()
        };
        assert_eq!(leftover_kind(&gone, &deploys), None);
    }

    // Guards the drain-order rules: which states count as running, and that a requested stop
    // makes destroying a blue legal whatever its state.
    #[test]
    fn drain_order_breaches() {
        use MachineState::*;
        let fresh = MachineTrack::default();
        let cordoned = MachineTrack {
            cordon_requested: true,
            ..MachineTrack::default()
        };
        let stopped = MachineTrack {
            cordon_requested: true,
            stop_requested: true,
            ..MachineTrack::default()
        };
        // A stop: only of a serving blue, only before its cordon.
        let stop_before_cordon = Some("stopped before it was cordoned");
        assert_eq!(
            drain_order_breach(&fresh, true, Started),
            stop_before_cordon
        );
        assert_eq!(
            drain_order_breach(&fresh, true, Starting),
            stop_before_cordon
        );
        assert_eq!(drain_order_breach(&fresh, true, Stopped), None);
        assert_eq!(drain_order_breach(&cordoned, true, Started), None);
        // A destroy: of a running blue (started, starting or stopping) only after a stop.
        for state in [Started, Starting, Stopping] {
            assert_eq!(
                drain_order_breach(&fresh, false, state),
                Some("destroyed while running, without a cordon or a stop"),
                "{state:?}"
            );
            assert_eq!(
                drain_order_breach(&cordoned, false, state),
                Some("destroyed while running, without a stop"),
                "{state:?}"
            );
            assert_eq!(
                drain_order_breach(&stopped, false, state),
                None,
                "{state:?}"
            );
        }
        for state in [Stopped, Suspended, Created, Failed] {
            assert_eq!(drain_order_breach(&fresh, false, state), None, "{state:?}");
        }
    }
}
