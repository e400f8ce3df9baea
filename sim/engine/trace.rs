//! The trace of every observable step, and the run's fingerprint: a rolling hash (FNV-1a, 64 bits)
//! over a canonical byte encoding of each step. Same scenario + seed + build ⇒ same fingerprint.

use std::hash::Hasher;

use fnv::FnvHasher;

use crate::engine::time::SimTime;

/// A step that can be written into the fingerprint in a canonical, platform-independent encoding
/// (little-endian integers, length-prefixed strings; never `Debug` output or pointer values).
pub trait Encode {
    fn encode(&self, out: &mut Vec<u8>);
}

/// One recorded step.
#[derive(Clone, Debug, PartialEq)]
pub struct Record<S> {
    pub time: SimTime,
    pub step: S,
}

/// The trace: the steps in order (optionally kept) and the rolling fingerprint.
pub struct Trace<S> {
    records: Vec<Record<S>>,
    keep: bool,
    records_max: usize,
    count: u64,
    hasher: FnvHasher,
    buffer: Vec<u8>,
}

impl<S: Encode> Trace<S> {
    /// `keep` false: only the fingerprint and the count are kept (fast sweeps and fuzzing).
    pub fn new(keep: bool, records_max: usize) -> Trace<S> {
        Trace {
            records: Vec::new(),
            keep,
            records_max,
            count: 0,
            hasher: FnvHasher::default(),
            buffer: Vec::with_capacity(64),
        }
    }

    pub fn push(&mut self, time: SimTime, step: S) {
        self.buffer.clear();
        self.buffer
            .extend_from_slice(&time.as_micros().to_le_bytes());
        step.encode(&mut self.buffer);
        self.hasher.write(&self.buffer);
        self.count += 1;
        if self.keep && self.records.len() < self.records_max {
            self.records.push(Record { time, step });
        }
    }

    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint(self.hasher.finish())
    }

    pub fn into_records(self) -> Vec<Record<S>> {
        self.records
    }

    pub fn records(&self) -> &[Record<S>] {
        &self.records
    }

    /// Steps seen, kept or not.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether some steps were hashed but not kept because of `records_max`.
    pub fn truncated(&self) -> bool {
        self.keep && self.count > self.records.len() as u64
    }
}

/// The run's fingerprint, printed as 16 hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint(pub u64);

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{:016x}", self.0)
    }
}

/// Encoding helpers for [`Encode`] implementations.
pub fn put_u8(out: &mut Vec<u8>, value: u8) {
    out.push(value);
}

pub fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

pub fn put_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_le_bytes());
}

pub fn put_str(out: &mut Vec<u8>, value: &str) {
    put_u32(out, u32::try_from(value.len()).unwrap_or(u32::MAX));
    out.extend_from_slice(value.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Step(u32);

    impl Encode for Step {
        fn encode(&self, out: &mut Vec<u8>) {
            put_u32(out, self.0);
        }
    }

    // Guards the fingerprint: it depends on every step, its time and its order.
    #[test]
    fn fingerprint_depends_on_content_time_and_order() {
        let fingerprint = |steps: &[(u64, u32)]| {
            let mut trace = Trace::new(false, 0);
            for (time, value) in steps {
                trace.push(SimTime::from_micros(*time), Step(*value));
            }
            trace.fingerprint()
        };
        let base = fingerprint(&[(1, 1), (2, 2)]);
        assert_eq!(base, fingerprint(&[(1, 1), (2, 2)]));
        assert_ne!(base, fingerprint(&[(2, 2), (1, 1)]));
        assert_ne!(base, fingerprint(&[(1, 1), (3, 2)]));
        assert_ne!(base, fingerprint(&[(1, 1), (2, 3)]));
        // A fixed value pins the encoding and the hash across builds and platforms.
        assert_eq!(fingerprint(&[]).to_string(), "cbf29ce484222325");
    }
}
