//! The engine: virtual time, the event queue, seeded random streams, the deterministic executor
//! for the async deploy code, and the trace with its fingerprint.

pub mod executor;
pub mod queue;
pub mod random;
pub mod time;
pub mod trace;

pub use queue::{Clock, EventQueue, Key};
pub use time::SimTime;
