//! The one trait every invariant is written against, the built-in ones and a user's alike:
//! a [`Checker`] takes the world's observations one at a time, reads the [`Fleet`] the run keeps
//! for all of them, and says what broke, if anything.

use crate::engine::SimTime;
use crate::observe::{InvariantKind, Observation, ObservationKind};

use super::fleet::Fleet;
use super::Cause;

/// An invariant, judged over the world's observations.
///
/// The run updates the [`Fleet`] with each observation first, then hands the observation to the
/// checkers that want its kind ([`Checker::interests`]), so a checker reads the state *after* it
/// and keeps only the state that is its own. Keep `observe` incremental (counters, never a scan
/// of everything seen): it runs at every observation of every run. Only the first violation of
/// a run is kept.
pub trait Checker {
    /// Its stable name (kebab-case; a user's may not be one of the built-in invariants' names).
    fn name(&self) -> &str;

    /// Safety (judged at every step) or liveness (judged after the settle period).
    fn kind(&self) -> InvariantKind;

    /// What it promises, in one sentence (reports print it beside the verdict).
    fn promise(&self) -> String;

    /// The kinds of observation it wants; it is called for those only. Default: every kind.
    fn interests(&self) -> &'static [ObservationKind] {
        &ObservationKind::ALL
    }

    /// Takes one observation (`fleet` already includes it). Returns what broke, if this
    /// observation breaks the invariant.
    fn observe(
        &mut self,
        fleet: &Fleet,
        at: SimTime,
        observation: &Observation<'_>,
    ) -> Option<Finding>;

    /// At the end of the run, after the settle period (`fleet` holds what the world reported
    /// then): what is broken then, if anything (a liveness property's judgement). Default:
    /// nothing.
    fn settled(&mut self, fleet: &Fleet, at: SimTime) -> Option<Finding> {
        // cargo-mutants' "replace with None" here is equivalent: this default already returns None.
        let _ = (fleet, at);
        None
    }
}

/// What a checker found broken: a detail for the reader and, where the checker knows better
/// than the run, who caused it and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub detail: String,
    /// Who was acting; None: whoever the fleet says is acting now ([`Fleet::cause`]).
    pub cause: Option<Cause>,
    /// When it broke; None: now. (A bound exceeded inside a window closed later.)
    pub at: Option<SimTime>,
}

impl Finding {
    pub fn new(detail: impl Into<String>) -> Finding {
        Finding {
            detail: detail.into(),
            cause: None,
            at: None,
        }
    }

    /// Attributed to `cause` rather than to whoever is acting now.
    pub fn caused_by(mut self, cause: Cause) -> Finding {
        self.cause = Some(cause);
        self
    }

    /// Broken at `at` rather than now.
    pub fn broken_at(mut self, at: SimTime) -> Finding {
        self.at = Some(at);
        self
    }
}

impl From<String> for Finding {
    fn from(detail: String) -> Finding {
        Finding::new(detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Bounds, Checkers, InvariantSet, SettledFacts, Status};
    use crate::observe::Observer;

    /// Breaks at any observation; keeps the default interests.
    struct Anything;

    impl Checker for Anything {
        fn name(&self) -> &str {
            "anything"
        }

        fn kind(&self) -> InvariantKind {
            InvariantKind::Safety
        }

        fn promise(&self) -> String {
            "nothing is ever observed".to_string()
        }

        fn observe(
            &mut self,
            _: &Fleet,
            _: SimTime,
            observation: &Observation<'_>,
        ) -> Option<Finding> {
            Some(Finding::new(format!("{:?} observed", observation.kind())))
        }
    }

    // Guards the default interests: a checker that declares none is called for every kind.
    #[test]
    fn a_checker_wants_every_kind_by_default() {
        assert_eq!(Anything.interests(), &ObservationKind::ALL);
        let mut checks = Checkers::new(
            Bounds::default(),
            0,
            Vec::new(),
            1,
            vec![Box::new(Anything)],
        );
        checks.observe(SimTime::ZERO, 0, &Observation::DeployAborted { deploy: 0 });
        let (_, custom, _) =
            checks.finish(SimTime::ZERO, 0, SettledFacts::default(), InvariantSet::ALL);
        assert_eq!(custom[0].status, Status::Violated);
        let violation = custom[0].first_violation.as_ref().expect("violated");
        assert_eq!(violation.detail, "DeployAborted observed");
    }
}
