//! The trace of every observable step, and the run's fingerprint: a rolling 64-bit hash over a
//! canonical encoding of each step as a sequence of 64-bit words. Same scenario + seed + build ⇒
//! same fingerprint.
//!
//! The hash takes a whole word per step (`h ← rotl((h ⊕ w) · K, 31)`) rather than a byte at a time
//! as FNV-1a did until issue 6: hashing was 18 % of a basic run's profile. Each word's step is a
//! bijection of the state, and so is the final avalanche, so two traces of equal length that differ
//! in a single word always get different fingerprints.

use crate::engine::time::SimTime;

/// A step that can be written into the fingerprint in a canonical, platform-independent encoding
/// (integers as words, strings length-prefixed; never `Debug` output or pointer values).
pub trait Encode {
    fn encode(&self, out: &mut Encoder);
}

/// The rolling hash the steps are encoded into.
#[derive(Clone, Copy, Debug)]
pub struct Encoder {
    state: u64,
}

impl Encoder {
    /// An odd multiplier (the 64-bit golden ratio), so each word's step is a bijection.
    const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;
    /// The state of an empty trace: FNV's offset basis, an arbitrary non-zero start.
    const START: u64 = 0xcbf2_9ce4_8422_2325;

    fn new() -> Encoder {
        Encoder {
            state: Encoder::START,
        }
    }

    /// Mixes one word into the state.
    pub fn word(&mut self, value: u64) {
        self.state = ((self.state ^ value).wrapping_mul(Encoder::MULTIPLIER)).rotate_left(31);
    }

    /// Mixes a byte string: its length, then its bytes eight at a time (little-endian, the last
    /// word zero-padded).
    pub fn bytes(&mut self, value: &[u8]) {
        self.word(value.len() as u64);
        let mut chunks = value.chunks_exact(8);
        for chunk in &mut chunks {
            self.word(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.word(u64::from_le_bytes(last));
        }
    }

    /// The state through splitmix64's finaliser, so that every bit of it reaches every bit of
    /// the fingerprint.
    fn finish(self) -> u64 {
        let mut value = self.state;
        value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        value ^ (value >> 31)
    }
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
    /// The time of the first step hashed but not kept (`records_max` reached).
    truncated_at: Option<SimTime>,
    encoder: Encoder,
}

impl<S: Encode> Trace<S> {
    /// `keep` false: only the fingerprint and the count are kept (fast sweeps and fuzzing).
    pub fn new(keep: bool, records_max: usize) -> Trace<S> {
        Trace {
            records: Vec::new(),
            keep,
            records_max,
            count: 0,
            truncated_at: None,
            encoder: Encoder::new(),
        }
    }

    pub fn push(&mut self, time: SimTime, step: S) {
        self.encoder.word(time.as_micros());
        step.encode(&mut self.encoder);
        self.count += 1;
        if self.keep {
            if self.records.len() < self.records_max {
                self.records.push(Record { time, step });
            } else {
                self.truncated_at.get_or_insert(time);
            }
        }
    }

    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint(self.encoder.finish())
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

    /// When the first step was hashed but not kept because of `records_max` (None: every step
    /// was kept, or none was meant to be).
    pub fn truncated_at(&self) -> Option<SimTime> {
        self.truncated_at
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

/// Encoding helpers for [`Encode`] implementations: one word per integer.
pub fn put_u8(out: &mut Encoder, value: u8) {
    out.word(u64::from(value));
}

pub fn put_u32(out: &mut Encoder, value: u32) {
    out.word(u64::from(value));
}

pub fn put_u64(out: &mut Encoder, value: u64) {
    out.word(value);
}

pub fn put_str(out: &mut Encoder, value: &str) {
    out.bytes(value.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Step(u32);

    impl Encode for Step {
        fn encode(&self, out: &mut Encoder) {
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
        // Fixed values pin the encoding and the hash across builds and platforms.
        assert_eq!(fingerprint(&[]).to_string(), "f52a15e9a9b5e89b");
        assert_eq!(
            fingerprint(&[(1, 1), (2, 2)]).to_string(),
            "499939682d13e822"
        );
    }

    // Guards the word hash: strings of every length up to two words, and strings that differ only
    // in padding or in their last byte, get different fingerprints.
    #[test]
    fn strings_of_any_length_are_told_apart() {
        let hash = |value: &[u8]| {
            let mut encoder = Encoder::new();
            encoder.bytes(value);
            encoder.finish()
        };
        let mut seen = std::collections::BTreeSet::new();
        for length in 0..=16 {
            assert!(seen.insert(hash(&vec![b'a'; length])), "length {length}");
        }
        assert_ne!(hash(b"abc"), hash(b"abc\0"));
        assert_ne!(hash(b"abcdefgh1"), hash(b"abcdefgh2"));
    }
}
