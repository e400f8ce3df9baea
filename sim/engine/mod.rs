//! The engine: virtual time, the event queue, seeded random streams, the deterministic executor
//! for the async deploy code, and the trace with its fingerprint.

pub mod random;
