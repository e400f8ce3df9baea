//! Seeded random streams and duration distributions.
//!
//! One master seed; each component draws from its own ChaCha stream derived from it (ChaCha's
//! stream parameter), so turning a fault on does not shift the traffic's randomness.

use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution as _, Exp1, StandardNormal};

use crate::engine::time::duration_micros;

/// The components that draw randomness, each from its own stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    /// Machine IDs, nonces, instance IDs.
    Identifiers,
    /// API latency.
    Api,
    /// Machine boot, readiness, stop and destroy times.
    Machines,
    /// Propagation delays to the proxies and the proxies' choices.
    Proxies,
    /// Request arrivals and service times.
    Traffic,
    /// Fault decisions (error rates, tails).
    Faults,
    /// The deployer process of deploy `i` (jitter, launch IDs).
    Deployer(u32),
}

impl Component {
    fn stream_id(self) -> u64 {
        match self {
            Component::Identifiers => 1,
            Component::Api => 2,
            Component::Machines => 3,
            Component::Proxies => 4,
            Component::Traffic => 5,
            Component::Faults => 6,
            Component::Deployer(index) => 1_000 + u64::from(index),
        }
    }
}

/// A component's random stream.
#[derive(Clone, Debug)]
pub struct Stream {
    rng: ChaCha8Rng,
}

impl Stream {
    pub fn new(master_seed: u64, component: Component) -> Stream {
        let mut rng = ChaCha8Rng::seed_from_u64(master_seed);
        rng.set_stream(component.stream_id());
        Stream { rng }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.rng.random::<u64>()
    }

    /// True with probability `probability` (0 ≤ p ≤ 1).
    pub fn chance(&mut self, probability: f64) -> bool {
        assert!((0.0..=1.0).contains(&probability));
        probability > 0.0 && self.rng.random::<f64>() < probability
    }

    /// Uniform in `0..count`.
    pub fn below(&mut self, count: usize) -> usize {
        assert!(count > 0);
        self.rng.random_range(0..count)
    }

    /// An exponential duration with the given mean (Poisson inter-arrival times).
    pub fn exponential(&mut self, mean: Duration) -> Duration {
        let draw: f64 = Exp1.sample(&mut self.rng);
        seconds_to_duration(mean.as_secs_f64() * draw)
    }

    pub fn sample(&mut self, distribution: &Distribution) -> Duration {
        distribution.sample(self)
    }

    fn standard_normal(&mut self) -> f64 {
        StandardNormal.sample(&mut self.rng)
    }

    fn uniform_micros(&mut self, min: u64, max: u64) -> u64 {
        self.rng.random_range(min..=max)
    }
}

/// The 99th percentile of the standard normal distribution.
const Z_99: f64 = 2.326_347_874_040_841;

/// A distribution of durations, sampled from a seeded stream.
#[derive(Clone, Debug, PartialEq)]
pub enum Distribution {
    Constant(Duration),
    Uniform {
        min: Duration,
        max: Duration,
    },
    /// Log-normal with the given median and 99th percentile, clamped to `max` when given. Build
    /// it with [`Distribution::lognormal`], which derives `shape` from the median and p99.
    LogNormal {
        median: Duration,
        p99: Duration,
        max: Option<Duration>,
        shape: LogNormalShape,
    },
    /// Exponential with the given mean, clamped to `max` when given.
    Exponential {
        mean: Duration,
        max: Option<Duration>,
    },
}

impl Distribution {
    pub fn constant(duration: Duration) -> Distribution {
        Distribution::Constant(duration)
    }

    pub fn lognormal(median: Duration, p99: Duration, max: Option<Duration>) -> Distribution {
        assert!(p99 >= median, "a log-normal's p99 is at least its median");
        Distribution::LogNormal {
            median,
            p99,
            max,
            shape: LogNormalShape::new(median, p99),
        }
    }

    pub fn sample(&self, stream: &mut Stream) -> Duration {
        match *self {
            Distribution::Constant(value) => value,
            Distribution::Uniform { min, max } => {
                assert!(min <= max);
                let micros = stream.uniform_micros(duration_micros(min), duration_micros(max));
                Duration::from_micros(micros)
            }
            Distribution::LogNormal { shape, max, .. } => {
                let LogNormalShape { mu, sigma } = shape;
                let value = seconds_to_duration((mu + sigma * stream.standard_normal()).exp());
                clamp(value, max)
            }
            Distribution::Exponential { mean, max } => clamp(stream.exponential(mean), max),
        }
    }

    /// The largest value the distribution can produce, when it is bounded.
    pub fn upper_bound(&self) -> Option<Duration> {
        match *self {
            Distribution::Constant(value) => Some(value),
            Distribution::Uniform { max, .. } => Some(max),
            Distribution::LogNormal { max, .. } | Distribution::Exponential { max, .. } => max,
        }
    }

    /// The median, for descriptions.
    pub fn median(&self) -> Duration {
        match *self {
            Distribution::Constant(value) => value,
            Distribution::Uniform { min, max } => (min + max) / 2,
            Distribution::LogNormal { median, .. } => median,
            Distribution::Exponential { mean, .. } => mean.mul_f64(std::f64::consts::LN_2),
        }
    }
}

/// A log-normal's parameters in log-seconds, computed once: two logarithms per sample were 3 %
/// of a basic run's profile (issue 6).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogNormalShape {
    mu: f64,
    sigma: f64,
}

impl LogNormalShape {
    fn new(median: Duration, p99: Duration) -> LogNormalShape {
        let mu = median.as_secs_f64().max(1e-9).ln();
        let sigma = (p99.as_secs_f64().max(1e-9).ln() - mu).max(0.0) / Z_99;
        LogNormalShape { mu, sigma }
    }
}

fn clamp(value: Duration, max: Option<Duration>) -> Duration {
    match max {
        Some(max) => value.min(max),
        None => value,
    }
}

/// Rounds to whole microseconds, so that everything downstream is integer.
fn seconds_to_duration(seconds: f64) -> Duration {
    assert!(
        seconds.is_finite() && seconds >= 0.0,
        "bad sample {seconds}"
    );
    Duration::from_micros(round_to_u64(seconds * 1e6))
}

/// `value.round()` (halves away from zero) as a u64, saturating, without the libm call that
/// `f64::round` compiles to on baseline x86-64 (2 % of a basic run's profile, issue 6). Exact:
/// below 2^53, `value - whole` is computed without error (Sterbenz), and above it every f64 is
/// whole.
fn round_to_u64(value: f64) -> u64 {
    assert!(value >= 0.0);
    if value >= u64::MAX as f64 {
        return u64::MAX;
    }
    let whole = value as u64; // truncates
    if value - whole as f64 >= 0.5 {
        whole + 1
    } else {
        whole
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards the hand-written rounding: it agrees with `f64::round` where halves and the largest
    // values make rounding hard.
    #[test]
    fn rounding_matches_f64_round() {
        let mut values = vec![
            0.0,
            0.49999999999999994,
            0.5,
            1.5,
            2.5,
            4503599627370495.5,
            4503599627370496.0,
            9007199254740993.0,
            1.8446744073709552e19,
            1e300,
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..10_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            values.push(f64::from_bits(state >> 2).min(1e25));
            values.push((state % 10_000_000) as f64 / 8.0);
        }
        for value in values {
            let expected = value.round();
            let expected = if expected >= u64::MAX as f64 {
                u64::MAX
            } else {
                expected as u64
            };
            assert_eq!(round_to_u64(value), expected, "{value}");
        }
    }

    // Guards stream independence: one component's draws do not depend on another's.
    #[test]
    fn streams_are_independent_and_reproducible() {
        let mut traffic = Stream::new(7, Component::Traffic);
        let mut faults = Stream::new(7, Component::Faults);
        let first: Vec<u64> = (0..4).map(|_| traffic.next_u64()).collect();
        let _ = (0..100).map(|_| faults.next_u64()).count();
        let mut again = Stream::new(7, Component::Traffic);
        let second: Vec<u64> = (0..4).map(|_| again.next_u64()).collect();
        assert_eq!(first, second);
        let mut other_seed = Stream::new(8, Component::Traffic);
        assert_ne!(first[0], other_seed.next_u64());
    }

    // Guards the lognormal parameterisation: about half the draws below the median, ~1% above p99.
    #[test]
    fn lognormal_matches_median_and_p99() {
        let distribution =
            Distribution::lognormal(Duration::from_secs(1), Duration::from_secs(5), None);
        let mut stream = Stream::new(1, Component::Proxies);
        let draws: Vec<Duration> = (0..20_000).map(|_| stream.sample(&distribution)).collect();
        let below_median = draws
            .iter()
            .filter(|d| **d < Duration::from_secs(1))
            .count();
        let above_p99 = draws
            .iter()
            .filter(|d| **d > Duration::from_secs(5))
            .count();
        assert!((9_500..10_500).contains(&below_median), "{below_median}");
        assert!((100..300).contains(&above_p99), "{above_p99}");
    }

    // Guards the clamp: no draw exceeds `max`.
    #[test]
    fn lognormal_respects_max() {
        let distribution = Distribution::lognormal(
            Duration::from_secs(1),
            Duration::from_secs(30),
            Some(Duration::from_secs(2)),
        );
        let mut stream = Stream::new(3, Component::Machines);
        assert!((0..5_000).all(|_| stream.sample(&distribution) <= Duration::from_secs(2)));
    }
}

#[cfg(test)]
mod chance_tests {
    use super::*;

    // Guards `chance`: about the asked share of draws succeed.
    #[test]
    fn chance_hits_about_the_asked_share() {
        let mut stream = Stream::new(1, Component::Faults);
        let hits = (0..10_000).filter(|_| stream.chance(0.5)).count();
        assert!((4_700..5_300).contains(&hits), "{hits}");
    }
}
