//! Seeded random streams and duration distributions.

use std::time::Duration;

/// A distribution of durations, sampled from a seeded stream.
#[derive(Clone, Debug, PartialEq)]
pub enum Distribution {
    Constant(Duration),
    Uniform {
        min: Duration,
        max: Duration,
    },
    /// Log-normal with the given median and 99th percentile, clamped to `max` when given.
    LogNormal {
        median: Duration,
        p99: Duration,
        max: Option<Duration>,
    },
    /// Exponential with the given mean, clamped to `max` when given.
    Exponential {
        mean: Duration,
        max: Option<Duration>,
    },
}
