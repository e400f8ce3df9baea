//! Retry arithmetic of avast/retry-go (`BackOffDelay`, no jitter), the library flyctl uses for its
//! bluegreen retries (reference §2), and the bounded loops built on it.

use std::future::Future;
use std::time::Duration;

use crate::api::Runtime;

/// A retry-go policy: `attempts` includes the first try; the wait after failed attempt n
/// (counting from 0) is `delay_base × 2^n`, capped at `delay_max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub delay_base: Duration,
    pub delay_max: Duration,
}

impl RetryPolicy {
    /// The wait after failed attempt `attempt` (0-based).
    pub fn delay_after(&self, attempt: u32) -> Duration {
        assert!(attempt < self.attempts);
        // retry-go caps the shift so the multiplication cannot overflow; 2^20 × base is far past
        // any cap used here.
        let factor = 1u32 << attempt.min(20);
        self.delay_base.saturating_mul(factor).min(self.delay_max)
    }

    /// Every wait a fully failing run sleeps, in order (attempts − 1 of them).
    pub fn schedule(&self) -> Vec<Duration> {
        (0..self.attempts.saturating_sub(1))
            .map(|attempt| self.delay_after(attempt))
            .collect()
    }
}

/// Why a retried operation gave up: every attempt's error, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryFailure<E> {
    pub errors: Vec<E>,
}

impl<E: std::fmt::Display> RetryFailure<E> {
    pub fn last(&self) -> &E {
        self.errors
            .last()
            .expect("a failure has at least one error")
    }

    /// retry-go's error text without `LastErrorOnly`: "All attempts fail:\n#1: …\n#2: …".
    pub fn all_attempts_text(&self) -> String {
        let mut text = String::from("All attempts fail:");
        for (index, error) in self.errors.iter().enumerate() {
            text.push_str(&format!("\n#{}: {error}", index + 1));
        }
        text
    }
}

/// `retry.Do` with `BackOffDelay`: runs `operation` up to `policy.attempts` times, sleeping on the
/// runtime between attempts while `retry_if` holds. `on_retry(n, error)` runs before the wait after
/// failed attempt n (retry-go's `OnRetry`).
pub async fn retry<R, T, E, Op, Fut>(
    runtime: &R,
    policy: RetryPolicy,
    retry_if: impl Fn(&E) -> bool,
    mut on_retry: impl FnMut(u32, &E),
    mut operation: Op,
) -> Result<T, RetryFailure<E>>
where
    R: Runtime,
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    assert!(policy.attempts >= 1);
    assert!(policy.delay_base <= policy.delay_max);
    let mut errors = Vec::new();
    for attempt in 0..policy.attempts {
        match operation().await {
            Ok(value) => return Ok(value),
            Err(error) => {
                let last_attempt = attempt + 1 == policy.attempts;
                if last_attempt || !retry_if(&error) {
                    errors.push(error);
                    return Err(RetryFailure { errors });
                }
                on_retry(attempt, &error);
                errors.push(error);
                runtime.sleep(policy.delay_after(attempt)).await;
            }
        }
    }
    unreachable!("the loop returns on its last attempt")
}

/// cenkalti/backoff's `ExponentialBackOff` as fly-go configures it for `AcquireLease` (reference §2):
/// the interval starts at 100 ms and grows ×1.5 up to a 500 ms step, each wait randomized by ±50 %,
/// and the whole retry gives up once 1 min has elapsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExponentialBackoff {
    pub interval_initial: Duration,
    pub interval_max: Duration,
    /// Randomization factor in per mille (500 = 0.5).
    pub randomization_per_mille: u64,
    /// Growth of the interval per attempt, in per mille (1500 = ×1.5).
    // §2 names only the 100 ms start, the 500 ms step and the 0.5 randomization; the ×1.5
    // multiplier is cenkalti/backoff's default (inferred).
    pub multiplier_per_mille: u64,
    pub elapsed_max: Duration,
}

impl ExponentialBackoff {
    pub const LEASE_ACQUIRE: ExponentialBackoff = ExponentialBackoff {
        interval_initial: Duration::from_millis(100),
        interval_max: Duration::from_millis(500),
        randomization_per_mille: 500,
        multiplier_per_mille: 1500,
        elapsed_max: Duration::from_secs(60),
    };

    /// The interval before randomization after `attempt` failures (0-based).
    pub fn interval(&self, attempt: u32) -> Duration {
        let mut interval = self.interval_initial;
        for _ in 0..attempt.min(64) {
            interval = interval
                .saturating_mul(self.multiplier_per_mille as u32)
                .checked_div(1000)
                .expect("non-zero divisor")
                .min(self.interval_max);
        }
        interval
    }

    /// The randomized wait after `attempt` failures: uniform in interval × [1 − r, 1 + r].
    pub fn randomized_wait(&self, attempt: u32, random: u64) -> Duration {
        let interval_us = self.interval(attempt).as_micros() as u64;
        let delta_us = interval_us * self.randomization_per_mille / 1000;
        let span_us = 2 * delta_us + 1;
        Duration::from_micros(interval_us - delta_us + random % span_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncordon_policy_waits_half_one_two_four_seconds() {
        let policy = RetryPolicy {
            attempts: 5,
            delay_base: Duration::from_millis(500),
            delay_max: Duration::from_secs(30),
        };
        let expected: Vec<Duration> = [500, 1000, 2000, 4000]
            .into_iter()
            .map(Duration::from_millis)
            .collect();
        assert_eq!(policy.schedule(), expected);
    }

    #[test]
    fn delay_is_capped() {
        let policy = RetryPolicy {
            attempts: 8,
            delay_base: Duration::from_millis(500),
            delay_max: Duration::from_secs(5),
        };
        assert_eq!(policy.delay_after(6), Duration::from_secs(5));
    }

    #[test]
    fn lease_backoff_grows_to_its_step_and_stays_in_the_randomization_band() {
        let backoff = ExponentialBackoff::LEASE_ACQUIRE;
        assert_eq!(backoff.interval(0), Duration::from_millis(100));
        assert_eq!(backoff.interval(1), Duration::from_millis(150));
        assert_eq!(backoff.interval(10), Duration::from_millis(500));
        for random in [0, 1, u64::MAX / 3, u64::MAX] {
            let wait = backoff.randomized_wait(0, random);
            assert!(wait >= Duration::from_millis(50) && wait <= Duration::from_millis(150));
        }
    }
}
