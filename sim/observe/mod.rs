//! The vocabulary of what happens in a run, below the world that produces it (`platform`), the
//! judges that consume it (`check`), the strategies whose deeds it describes (`deploy`) and the
//! reports: the trace's steps, the facts observers receive, how a deploy ended, and the names of
//! the invariants. It imports nothing of those modules (ARCHITECTURE.md, "Who may import whom").
//!
//! The world emits every [`Observation`] once, to each [`Observer`] registered with it: the
//! built-in checkers and metrics are one such observer, a user's checker another.

pub mod facts;
pub mod invariants;
pub mod steps;

pub use facts::{
    DeployOutcome, Limits, MachineShape, Mutation, Observation, ObservationKind, Observer,
    Observers, PacePromise,
};
pub use invariants::{Bounds, Invariant, InvariantKind, InvariantSet};
pub use steps::{DeployStep, FailureReason, LeaseStep, MachineIndex, Step};
