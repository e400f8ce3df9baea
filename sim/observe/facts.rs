//! What the world tells its observers beyond the trace's steps: facts the checkers and metrics
//! need at the moment they happen (a machine's shape at creation, a deployer's mutation before
//! and after it applies, a request's latency), and how a deploy ended.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use crate::api::{MachineState, Operation};
use crate::engine::SimTime;

use super::steps::{DeployStep, FailureReason, MachineIndex};

/// How a deploy ended, as the harness classifies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeployOutcome {
    /// "Deployment Complete".
    Succeeded,
    /// The deploy failed and its rollback destroyed the greens it had recorded.
    RolledBack,
    /// The deploy failed and no rollback action applied (refused before any green, or after the
    /// point of no return).
    Failed,
    /// The deploy failed and so did its rollback ("Error in rollback").
    RollbackFailed,
}

impl DeployOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            DeployOutcome::Succeeded => "succeeded",
            DeployOutcome::RolledBack => "rolled-back",
            DeployOutcome::Failed => "failed",
            DeployOutcome::RollbackFailed => "rollback-failed",
        }
    }
}

/// A deployer's mutation of a machine, for the checkers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutation {
    Cordon,
    Uncordon,
    Stop,
    Destroy,
    Update,
}

impl Mutation {
    pub fn as_str(self) -> &'static str {
        match self {
            Mutation::Cordon => "cordon",
            Mutation::Uncordon => "uncordon",
            Mutation::Stop => "stop",
            Mutation::Destroy => "destroy",
            Mutation::Update => "update",
        }
    }

    /// The API operation that applies it.
    pub fn operation(self) -> crate::api::Operation {
        match self {
            Mutation::Cordon => crate::api::Operation::Cordon,
            Mutation::Uncordon => crate::api::Operation::Uncordon,
            Mutation::Stop => crate::api::Operation::Stop,
            Mutation::Destroy => crate::api::Operation::Destroy,
            Mutation::Update => crate::api::Operation::Update,
        }
    }
}

/// What the guards need to know of a machine's config.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MachineShape {
    pub group: String,
    pub has_checks: bool,
}

/// A deploy's bounds (I13 concurrency, I14 unavailability).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// Concurrency is judged for bluegreen strategies only (their pools are flyctl's).
    pub bluegreen: bool,
    /// Launches in flight at most (⌈N/3⌉ capped by max-concurrent).
    pub creates: usize,
    /// Uncordon, cordon, stop, destroy and metadata calls in flight at most (max-concurrent).
    pub pooled: usize,
    /// Per process group, machines an in-place update may have down at once.
    pub unavailable_by_group: BTreeMap<String, usize>,
}

/// What a deploy's strategy promises about its own pace, declared by whoever starts the deploy;
/// the world turns it into [`Limits`] at the deploy's start, from the blues it finds then.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PacePromise {
    /// flyctl's bluegreen pools (I13, reference §2): launches in flight at most
    /// max(1, min(⌈N/3⌉, this)), other pooled calls at most this. None: not judged.
    pub max_concurrent: Option<usize>,
    /// In-place updates (I14, reference §9): a count ≥ 1 of started machines down at once, or a
    /// fraction in (0, 1) of each process group's started machines. None: not judged.
    pub max_unavailable: Option<f64>,
}

impl Limits {
    /// The bounds `promise` sets for a deploy that found `blues` machines, `started_by_group`
    /// of them started, per process group.
    pub fn of(
        promise: &PacePromise,
        blues: usize,
        started_by_group: BTreeMap<String, usize>,
    ) -> Limits {
        let max_concurrent = promise.max_concurrent.unwrap_or(usize::MAX).max(1);
        Limits {
            bluegreen: promise.max_concurrent.is_some(),
            creates: blues.div_ceil(3).min(max_concurrent).max(1),
            pooled: max_concurrent,
            unavailable_by_group: match promise.max_unavailable {
                None => BTreeMap::new(),
                Some(max_unavailable) => started_by_group
                    .into_iter()
                    .map(|(group, count)| {
                        let pool = if max_unavailable >= 1.0 {
                            max_unavailable as usize
                        } else {
                            (count as f64 * max_unavailable).ceil() as usize
                        };
                        (group, pool.max(1))
                    })
                    .collect(),
            },
        }
    }
}

/// One fact the world tells its observers, at the virtual time and trace step it happened.
/// Borrowed data lives as long as the call to [`Observer::observe`].
#[derive(Clone, Debug, PartialEq)]
pub enum Observation<'a> {
    /// A machine was created (`by`: the deployer that launched it; None for the initial fleet).
    MachineCreated {
        machine: MachineIndex,
        /// The region it runs in.
        region: &'a str,
        image: &'a str,
        by: Option<u32>,
        shape: &'a MachineShape,
    },
    /// A machine was destroyed (or its destroy began: it serves no more).
    MachineGone {
        machine: MachineIndex,
        image: &'a str,
    },
    /// An in-place update changed a machine's image.
    MachineImageChanged {
        machine: MachineIndex,
        old_image: &'a str,
        new_image: &'a str,
        routable: bool,
    },
    /// The platform's own routability of a machine changed (started, uncordoned, checks passing).
    PlatformRoutable {
        machine: MachineIndex,
        routable: bool,
    },
    /// A machine's process is back (started again after a stop or crash).
    MachineBack { machine: MachineIndex },
    /// A machine passed its checks (or started, without checks) since its last start.
    MachineProven { machine: MachineIndex },
    /// A deployer's recorded green boots.
    GreenBoots { machine: MachineIndex },
    /// A machine stopped serving for good in this run (stopped, or its destroy requested).
    MachineRetired { machine: MachineIndex },
    /// A deployer's mutation of a machine is about to apply.
    MutationApplying {
        deploy: u32,
        machine: MachineIndex,
        mutation: Mutation,
    },
    /// The mutation announced by the last `MutationApplying` has applied.
    MutationApplied,
    /// A deployer mutated a machine whose lease it had held but which has lapsed.
    MutationWithLapsedLease { deploy: u32, machine: MachineIndex },
    /// A deployer's mutation reached the server (`state`: the machine's state before it).
    DeployMutation {
        deploy: u32,
        machine: MachineIndex,
        state: MachineState,
        mutation: Mutation,
    },
    /// Whether a proxy knows at least one live routable machine.
    ProxyServing { proxy: u32, serving: bool },
    /// A proxy learned a routing change of a machine.
    ProxyView {
        machine: MachineIndex,
        routable: bool,
    },
    /// The routing change announced by the last `ProxyView` has applied.
    ProxyViewApplied,
    /// A request finished at a region's proxy (`failure`: None when it succeeded).
    RequestDone {
        proxy: u32,
        failure: Option<FailureReason>,
        latency: Duration,
        retried: bool,
    },
    /// A deployer's API call reached the server.
    CallStarted { deploy: u32, operation: Operation },
    /// A deployer's API call was answered.
    CallFinished { deploy: u32, operation: Operation },
    /// A deploy started with these blues (alive, not its own) and these bounds.
    DeployStarted {
        deploy: u32,
        blues: &'a [MachineIndex],
        limits: &'a Limits,
    },
    /// A deploy's lifecycle step (its phases, greens recorded, rollback).
    DeployStep { deploy: u32, step: &'a DeployStep },
    /// A deploy ended by itself (`image`: the image it deployed).
    DeployFinished {
        deploy: u32,
        outcome: DeployOutcome,
        image: &'a str,
    },
    /// A deploy did not end within its time bound; the harness killed it.
    DeployTimedOut { deploy: u32 },
    /// A deploy was asked to abort (SIGINT).
    DeployAborted { deploy: u32 },
    /// A deployer was killed (SIGKILL).
    DeployKilled { deploy: u32 },
}

/// The kind of an [`Observation`], without its data: what a [`crate::check::Checker`] declares
/// it wants, so it is called only for those.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObservationKind {
    MachineCreated,
    MachineGone,
    MachineImageChanged,
    PlatformRoutable,
    MachineBack,
    MachineProven,
    GreenBoots,
    MachineRetired,
    MutationApplying,
    MutationApplied,
    MutationWithLapsedLease,
    DeployMutation,
    ProxyServing,
    ProxyView,
    ProxyViewApplied,
    /// A request finished and succeeded (`Observation::RequestDone` without a failure): the
    /// most frequent observation by far, so it has a kind of its own.
    RequestSucceeded,
    /// A request finished and failed (`Observation::RequestDone` with a failure).
    RequestFailed,
    CallStarted,
    CallFinished,
    DeployStarted,
    DeployStep,
    DeployFinished,
    DeployTimedOut,
    DeployAborted,
    DeployKilled,
}

impl ObservationKind {
    /// Every kind, in declaration order (the index of a kind is its position).
    pub const ALL: [ObservationKind; 25] = [
        ObservationKind::MachineCreated,
        ObservationKind::MachineGone,
        ObservationKind::MachineImageChanged,
        ObservationKind::PlatformRoutable,
        ObservationKind::MachineBack,
        ObservationKind::MachineProven,
        ObservationKind::GreenBoots,
        ObservationKind::MachineRetired,
        ObservationKind::MutationApplying,
        ObservationKind::MutationApplied,
        ObservationKind::MutationWithLapsedLease,
        ObservationKind::DeployMutation,
        ObservationKind::ProxyServing,
        ObservationKind::ProxyView,
        ObservationKind::ProxyViewApplied,
        ObservationKind::RequestSucceeded,
        ObservationKind::RequestFailed,
        ObservationKind::CallStarted,
        ObservationKind::CallFinished,
        ObservationKind::DeployStarted,
        ObservationKind::DeployStep,
        ObservationKind::DeployFinished,
        ObservationKind::DeployTimedOut,
        ObservationKind::DeployAborted,
        ObservationKind::DeployKilled,
    ];

    /// Its position in [`ObservationKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl Observation<'_> {
    pub fn kind(&self) -> ObservationKind {
        match self {
            Observation::MachineCreated { .. } => ObservationKind::MachineCreated,
            Observation::MachineGone { .. } => ObservationKind::MachineGone,
            Observation::MachineImageChanged { .. } => ObservationKind::MachineImageChanged,
            Observation::PlatformRoutable { .. } => ObservationKind::PlatformRoutable,
            Observation::MachineBack { .. } => ObservationKind::MachineBack,
            Observation::MachineProven { .. } => ObservationKind::MachineProven,
            Observation::GreenBoots { .. } => ObservationKind::GreenBoots,
            Observation::MachineRetired { .. } => ObservationKind::MachineRetired,
            Observation::MutationApplying { .. } => ObservationKind::MutationApplying,
            Observation::MutationApplied => ObservationKind::MutationApplied,
            Observation::MutationWithLapsedLease { .. } => ObservationKind::MutationWithLapsedLease,
            Observation::DeployMutation { .. } => ObservationKind::DeployMutation,
            Observation::ProxyServing { .. } => ObservationKind::ProxyServing,
            Observation::ProxyView { .. } => ObservationKind::ProxyView,
            Observation::ProxyViewApplied => ObservationKind::ProxyViewApplied,
            Observation::RequestDone { failure: None, .. } => ObservationKind::RequestSucceeded,
            Observation::RequestDone { .. } => ObservationKind::RequestFailed,
            Observation::CallStarted { .. } => ObservationKind::CallStarted,
            Observation::CallFinished { .. } => ObservationKind::CallFinished,
            Observation::DeployStarted { .. } => ObservationKind::DeployStarted,
            Observation::DeployStep { .. } => ObservationKind::DeployStep,
            Observation::DeployFinished { .. } => ObservationKind::DeployFinished,
            Observation::DeployTimedOut { .. } => ObservationKind::DeployTimedOut,
            Observation::DeployAborted { .. } => ObservationKind::DeployAborted,
            Observation::DeployKilled { .. } => ObservationKind::DeployKilled,
        }
    }
}

/// Whoever consumes the world's observations: the built-in checkers and metrics, a user's own
/// checker. Each observation arrives once, in the order it happened.
pub trait Observer {
    /// `at`: the virtual time; `step`: the index in the trace of the step it belongs to (the
    /// last step recorded when it happened).
    fn observe(&mut self, at: SimTime, step: u64, observation: &Observation<'_>);
}

/// The observers a world emits to, in registration order.
#[derive(Clone, Default)]
pub struct Observers(Vec<Rc<RefCell<dyn Observer>>>);

impl Observers {
    pub fn new() -> Observers {
        Observers(Vec::new())
    }

    pub fn add(&mut self, observer: Rc<RefCell<dyn Observer>>) {
        self.0.push(observer);
    }

    /// Hands `observation` to every observer.
    #[inline]
    pub fn emit(&self, at: SimTime, step: u64, observation: &Observation<'_>) {
        for observer in &self.0 {
            observer.borrow_mut().observe(at, step, observation);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards `ObservationKind::index`: the enum is declared in `ALL`'s order, so the cast is the
    // position (the checkers' dispatch table is indexed by it).
    #[test]
    fn observation_kind_index_is_the_position_in_all() {
        for (position, kind) in ObservationKind::ALL.iter().enumerate() {
            assert_eq!(kind.index(), position, "{kind:?}");
        }
    }

    // Guards the split of a finished request into two kinds by its outcome.
    #[test]
    fn a_request_is_of_the_kind_of_its_outcome() {
        let done = |failure| Observation::RequestDone {
            proxy: 0,
            failure,
            latency: Duration::ZERO,
            retried: false,
        };
        assert_eq!(done(None).kind(), ObservationKind::RequestSucceeded);
        let failed = done(Some(FailureReason::ConnectionRefused));
        assert_eq!(failed.kind(), ObservationKind::RequestFailed);
    }
}
