//! A user's own invariants: the public [`Checker`] trait, and the observer that runs a run's
//! checkers and turns what they find into verdicts like the built-in ones (first violating step,
//! its time and who was acting), so every report, the fuzzer's shrinking and its signatures
//! treat them alike.

use std::cell::RefCell;
use std::rc::Rc;

use crate::engine::SimTime;
use crate::observe::{InvariantKind, Observation, Observer};

use super::{Checkers, Status, Verdict, Violation};

/// An invariant of one's own, judged over the world's observations.
///
/// Keep `observe` incremental (counters, never a scan of everything seen): it runs at every
/// observation of every run.
pub trait Checker {
    /// Its stable name (kebab-case, not one of the built-in invariants' names).
    fn name(&self) -> &str;

    /// Safety (judged at every step) or liveness (judged after the settle period).
    fn kind(&self) -> InvariantKind;

    /// What it promises, in one sentence (reports print it beside the verdict).
    fn promise(&self) -> String;

    /// Takes one observation. Returns what broke, if this observation breaks the invariant;
    /// only the first violation of a run is kept.
    fn observe(&mut self, at: SimTime, observation: &Observation<'_>) -> Option<String>;

    /// At the end of the run, after the settle period: what is broken then, if anything (a
    /// liveness property's judgement). Default: nothing.
    fn settled(&mut self, at: SimTime) -> Option<String> {
        // cargo-mutants' "replace with None" here is equivalent: this default already returns None.
        let _ = at;
        None
    }
}

/// The user's checkers of one run, observing beside the built-in ones.
pub struct CustomCheckers {
    checkers: Vec<Box<dyn Checker>>,
    first_violations: Vec<Option<Violation>>,
    /// The built-in checkers know who is acting (the deployer step, its phase): a custom
    /// violation's cause comes from them, so its signature means what a built-in one means.
    builtin: Rc<RefCell<Checkers>>,
}

impl CustomCheckers {
    pub fn new(checkers: Vec<Box<dyn Checker>>, builtin: Rc<RefCell<Checkers>>) -> CustomCheckers {
        for checker in &checkers {
            assert!(
                checker.name().parse::<crate::observe::Invariant>().is_err(),
                "a checker may not take a built-in invariant's name: {}",
                checker.name()
            );
        }
        let first_violations = vec![None; checkers.len()];
        CustomCheckers {
            checkers,
            first_violations,
            builtin,
        }
    }

    fn violated(&mut self, index: usize, at: SimTime, step: u64, detail: String) {
        if self.first_violations[index].is_some() {
            return;
        }
        self.first_violations[index] = Some(Violation {
            time_ms: at.as_millis(),
            step,
            detail,
            cause: self.builtin.borrow().cause_now(),
        });
    }

    /// The verdicts at the end of the run (liveness judged now, at step `step`).
    pub fn finish(&mut self, at: SimTime, step: u64) -> Vec<Verdict> {
        for index in 0..self.checkers.len() {
            if let Some(detail) = self.checkers[index].settled(at) {
                self.violated(index, at, step, detail);
            }
        }
        self.checkers
            .iter()
            .zip(&self.first_violations)
            .map(|(checker, violation)| Verdict {
                invariant: checker.name().to_string(),
                promise: checker.promise(),
                status: if violation.is_some() {
                    Status::Violated
                } else {
                    Status::Held
                },
                first_violation: violation.clone(),
            })
            .collect()
    }
}

impl Observer for CustomCheckers {
    fn observe(&mut self, at: SimTime, step: u64, observation: &Observation<'_>) {
        for index in 0..self.checkers.len() {
            if let Some(detail) = self.checkers[index].observe(at, observation) {
                self.violated(index, at, step, detail);
            }
        }
    }
}
