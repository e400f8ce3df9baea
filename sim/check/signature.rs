//! What broke a run, as a plain value: the **cause** of each first violation (recorded by the
//! checkers when it happens) and the **signature** of a failing run (computed from its verdicts).
//!
//! A signature names one bug, not one run. It is three things:
//!
//! 1. **what broke**: the first invariant violated among the judged ones (earliest trace step;
//!    ties go to the order of the judged list), or `limit-hit/<kind>` when the run stopped at a
//!    limit without violating any of them;
//! 2. **the deployer step that broke it** ([`Action`]): the Machines API call of a deployer the
//!    platform was applying at that instant (`launch`, `cordon`, `uncordon`, `stop`, `destroy`,
//!    `update`, …), or the deploy reporting its end (`finish`), the harness stopping a deploy past
//!    its time bound (`timed-out`), a deploy still running when the run went quiet
//!    (`never-ended`), the end of the settle period for liveness checks (`settled`), or
//!    `platform` when no deployer step was being applied (a fault, a crash, a request failing);
//! 3. **the phase**: the flyctl phase (`cordon-blues`, `rollback`, …) of the deploy that took that
//!    step — for a `platform` cause, of the deploy running then (the lowest-numbered one if
//!    several) — or `-` when no deploy was running.
//!
//! It leaves out everything that varies between two runs of the same bug: times, seeds, machine
//! IDs and counts, the fault that set the stage, which deploy of the scenario it was. So the same
//! bug found twice — a green destroyed by the rollback after the switch, whether the uncordon
//! failed on 503s or on an unreachable host — matches, and a different bug — the same invariant
//! broken by a `cordon` in `cordon-blues` rather than by a `destroy` in `rollback` — does not.
//! Its text form is `invariant/action/phase`, e.g. `green-kept-after-switch/destroy/rollback`.
//!
//! The fuzzer uses it to tell known findings from new ones (`fleetsim fuzz --known`); a known
//! finding's signature is computed the same way, by running its scenario file.

use std::fmt;

use crate::api::{Operation, Phase};

use super::{Invariant, Verdict};

/// The kind of step that was being taken when an invariant broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// A deployer's Machines API call, applied by the platform (or, for `concurrency-limit`,
    /// sent).
    Call(Operation),
    /// The deploy reported its end (outcome checks: `single-image-at-rest`, `fleet-size-kept`,
    /// `abort-safety`).
    Finish,
    /// The harness stopped a deploy that outlived its time bound.
    TimedOut,
    /// The run went quiet with the deploy still running.
    NeverEnded,
    /// The end of the settle period, where liveness is judged.
    Settled,
    /// No deployer step: the platform, a fault or the traffic did it.
    Platform,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Call(operation) => operation.as_str(),
            Action::Finish => "finish",
            Action::TimedOut => "timed-out",
            Action::NeverEnded => "never-ended",
            Action::Settled => "settled",
            Action::Platform => "platform",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Who was acting when a violation happened: recorded with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cause {
    /// The deploy that took the step (for a `platform` cause: the deploy running then), if any.
    pub deploy: Option<u32>,
    pub action: Action,
    /// That deploy's phase at the time.
    pub phase: Option<Phase>,
}

impl serde::Serialize for Cause {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut state = serializer.serialize_struct("Cause", 3)?;
        state.serialize_field("deploy", &self.deploy)?;
        state.serialize_field("action", self.action.as_str())?;
        state.serialize_field("phase", &self.phase.map(Phase::as_str))?;
        state.end()
    }
}

/// What a failing run broke.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Broken {
    Invariant(Invariant),
    /// A user's own invariant (a [`super::Checker`]), by its name.
    Checker(String),
    /// The run stopped at a limit (`time`, `events`, `machines`, `queue`, `tasks`, `livelock`).
    Limit(&'static str),
}

impl fmt::Display for Broken {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Broken::Invariant(invariant) => formatter.write_str(invariant.as_str()),
            Broken::Checker(name) => formatter.write_str(name),
            Broken::Limit(kind) => write!(formatter, "limit-hit:{kind}"),
        }
    }
}

/// The signature of a failing run (module docs): equal for the same bug found twice.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Signature {
    pub broken: Broken,
    pub action: Action,
    pub phase: Option<Phase>,
}

impl Signature {
    /// The signature of a run with these verdicts and limit (the kind of limit it hit, if any),
    /// judging only `judged`; None when the run broke none of them and hit no limit.
    pub fn of(
        verdicts: &[Verdict],
        limit_hit: Option<&'static str>,
        judged: &[Invariant],
    ) -> Option<Signature> {
        Signature::all_of(verdicts, limit_hit, judged)
            .into_iter()
            .next()
    }

    /// Every bug the run shows: one signature per violated invariant of `judged` and per violated
    /// user checker (from its first violation), earliest first (ties: `judged` order, then the
    /// checkers'), then the limit it hit, if any.
    /// The first is [`Signature::of`]; the others are what a fuzzer re-examines a case for when
    /// the first is already known.
    pub fn all_of(
        verdicts: &[Verdict],
        limit_hit: Option<&'static str>,
        judged: &[Invariant],
    ) -> Vec<Signature> {
        let mut violations: Vec<(u64, usize, Signature)> = judged
            .iter()
            .enumerate()
            .filter_map(|(order, invariant)| {
                let verdict = verdicts
                    .iter()
                    .find(|verdict| verdict.invariant == invariant.as_str())?;
                let violation = verdict.first_violation.as_ref()?;
                let signature = Signature {
                    broken: Broken::Invariant(*invariant),
                    action: violation.cause.action,
                    phase: violation.cause.phase,
                };
                Some((violation.step, order, signature))
            })
            .collect();
        let custom = verdicts
            .iter()
            .filter(|verdict| verdict.invariant.parse::<Invariant>().is_err())
            .enumerate()
            .filter_map(|(order, verdict)| {
                let violation = verdict.first_violation.as_ref()?;
                let signature = Signature {
                    broken: Broken::Checker(verdict.invariant.clone()),
                    action: violation.cause.action,
                    phase: violation.cause.phase,
                };
                Some((violation.step, judged.len() + order, signature))
            });
        violations.extend(custom);
        violations.sort_by_key(|(step, order, _)| (*step, *order));
        let mut signatures: Vec<Signature> = violations
            .into_iter()
            .map(|(_, _, signature)| signature)
            .collect();
        signatures.extend(limit_hit.map(|kind| Signature {
            broken: Broken::Limit(kind),
            action: Action::Platform,
            phase: None,
        }));
        signatures
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{}/{}/{}",
            self.broken,
            self.action,
            self.phase.map_or("-", Phase::as_str)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Violation;

    fn verdict(invariant: Invariant, step: u64, action: Action, phase: Phase) -> Verdict {
        Verdict {
            invariant: invariant.as_str().to_string(),
            promise: invariant.promise(&crate::check::Bounds::default()),
            status: crate::check::Status::Violated,
            first_violation: Some(Violation {
                time_ms: step,
                step,
                detail: format!("at step {step}"),
                cause: Cause {
                    deploy: Some(0),
                    action,
                    phase: Some(phase),
                },
            }),
        }
    }

    // Guards the order of ties at one step: built-in invariants in the order judged, then the
    // checkers of one's own in the order reported, after every built-in one.
    #[test]
    fn a_checker_of_ones_own_follows_the_built_in_invariants_at_the_same_step() {
        let custom = |name: &str| Verdict {
            invariant: name.to_string(),
            ..verdict(Invariant::DrainOrder, 5, Action::Platform, Phase::MarkReady)
        };
        let verdicts = vec![
            custom("region-served"),
            custom("region-drained"),
            verdict(
                Invariant::RollbackSparesBlue,
                5,
                Action::Call(Operation::Destroy),
                Phase::Rollback,
            ),
            verdict(
                Invariant::GreenKeptAfterSwitch,
                5,
                Action::Call(Operation::Destroy),
                Phase::Rollback,
            ),
        ];
        let judged = [
            Invariant::GreenKeptAfterSwitch,
            Invariant::RollbackSparesBlue,
        ];
        let all: Vec<String> = Signature::all_of(&verdicts, None, &judged)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            all,
            [
                "green-kept-after-switch/destroy/rollback",
                "rollback-spares-blue/destroy/rollback",
                "region-served/platform/mark-ready",
                "region-drained/platform/mark-ready",
            ]
        );
    }

    // Guards the choice of the first violation: the earliest judged one, unjudged ones ignored.
    #[test]
    fn the_earliest_judged_violation_signs_the_run() {
        let verdicts = vec![
            verdict(
                Invariant::NoDowntime,
                3,
                Action::Platform,
                Phase::CordonBlues,
            ),
            verdict(
                Invariant::GreenKeptAfterSwitch,
                9,
                Action::Call(Operation::Destroy),
                Phase::Rollback,
            ),
            verdict(
                Invariant::RollbackSparesBlue,
                7,
                Action::Call(Operation::Destroy),
                Phase::Rollback,
            ),
        ];
        let judged = [
            Invariant::GreenKeptAfterSwitch,
            Invariant::RollbackSparesBlue,
        ];
        let signature = Signature::of(&verdicts, None, &judged).expect("a violation");
        assert_eq!(
            signature.to_string(),
            "rollback-spares-blue/destroy/rollback"
        );
        assert_eq!(
            Signature::of(&verdicts, None, &[Invariant::DrainOrder]),
            None
        );
        let all: Vec<String> = Signature::all_of(&verdicts, Some("time"), &judged)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            all,
            [
                "rollback-spares-blue/destroy/rollback",
                "green-kept-after-switch/destroy/rollback",
                "limit-hit:time/platform/-"
            ]
        );
        let limit = Signature::of(&verdicts, Some("time"), &[Invariant::DrainOrder]);
        assert_eq!(
            limit.map(|signature| signature.to_string()),
            Some("limit-hit:time/platform/-".to_string())
        );
    }
}
