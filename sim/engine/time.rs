//! Virtual time: integer microseconds since the start of the run. Never floating point, never the
//! wall clock.

use std::fmt;
use std::ops::{Add, Sub};
use std::time::Duration;

/// A point in virtual time, in microseconds since the run started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const MAX: SimTime = SimTime(u64::MAX);

    pub const fn from_micros(micros: u64) -> SimTime {
        SimTime(micros)
    }

    pub const fn as_micros(self) -> u64 {
        self.0
    }

    pub fn from_duration(duration: Duration) -> SimTime {
        SimTime(duration_micros(duration))
    }

    /// Time since the start of the run.
    pub fn since_start(self) -> Duration {
        Duration::from_micros(self.0)
    }

    pub fn as_millis(self) -> u64 {
        self.0 / 1_000
    }

    /// Seconds with millisecond precision, for humans: `12.345s`.
    pub fn display_seconds(self) -> String {
        format!("{}.{:03}s", self.0 / 1_000_000, (self.0 / 1_000) % 1_000)
    }

    pub fn saturating_since(self, earlier: SimTime) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

/// Whole microseconds of a duration, saturating (durations beyond 584 000 years do not occur).
pub fn duration_micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

impl Add<Duration> for SimTime {
    type Output = SimTime;

    fn add(self, duration: Duration) -> SimTime {
        SimTime(self.0.saturating_add(duration_micros(duration)))
    }
}

impl Sub<SimTime> for SimTime {
    type Output = Duration;

    fn sub(self, earlier: SimTime) -> Duration {
        assert!(
            earlier <= self,
            "time went backwards: {earlier:?} > {self:?}"
        );
        Duration::from_micros(self.0 - earlier.0)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.display_seconds())
    }
}
