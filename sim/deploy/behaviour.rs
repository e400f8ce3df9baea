//! What distinguishes one historic version of flyctl's bluegreen from another, as named switches
//! and constants (reference `flyctl-bluegreen-versions.md` §5). The phase code reads these instead
//! of matching on the version, so a historic version is a new constructor here plus, where the
//! shape differs, a phase function selected by a switch.
//!
//! Only 2026-08 exists now (issue 3 adds 2023-06, 2024-02 and 2024-05).

use std::time::Duration;

use crate::deploy::retry::RetryPolicy;
use crate::deploy::BluegreenVersion;

/// How green machines are created (§3.4, versions §5 "Create").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateMode {
    /// One after another, stopping at the first error (2023-06, 2024-02).
    Sequential,
    /// A pool of max(1, min(⌈N/3⌉, max concurrent)), not fail-fast.
    PoolThird,
}

/// When a created green enters the strategy's green list (versions §5 "Green list assigned").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GreenRecording {
    /// Appended as soon as it is created (`107120be5`, 2024-06-06 on).
    Immediately,
    /// Assigned only once every launch succeeded (before 2024-06-06).
    AfterAllLaunches,
}

/// What the checkpoint step does when tagging a blue fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointMode {
    Absent,
    /// A single call; a failure is fatal (2024-04-18 → 2024-07-25).
    Fatal,
    /// Retried on transient errors; a failure only warns (HEAD).
    RetriedNonFatal(RetryPolicy),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Behaviour {
    pub version: BluegreenVersion,
    pub create_mode: CreateMode,
    pub green_recording: GreenRecording,
    /// Create tasks return `ErrAborted` when an abort is already requested.
    pub create_checks_abort: bool,
    /// Launch retry with launch-ID lookup (§3.4); None: a single call.
    pub launch_retry: Option<RetryPolicy>,
    /// Pause between a failed launch and the launch-ID lookup.
    pub launch_lookup_delay: Duration,
    /// Force-start one green per checked process group in which none would start (`9aaec2f2a`).
    pub force_start_representatives: bool,
    /// The single-image preflight (§3.1).
    pub image_check: bool,
    /// Skip machines whose host is not ok in the image check, cordon, stop and stop-wait, and
    /// destroy them without a nonce (`fdf2ba6d2`).
    pub skip_unhealthy_hosts: bool,
    /// Uncordon retry (any error retried); attempts = 1 means a single call.
    pub uncordon_retry: RetryPolicy,
    pub checkpoint: CheckpointMode,
    /// Cordon and stop blues between the two 10 s waits (`82a9cc82e`, 2024-02-16 on).
    pub drain: bool,
    pub wait_before_cordon: Duration,
    pub wait_before_stop: Duration,
    /// Cordon/stop/destroy retry on transient errors; None: a single call.
    pub teardown_retry: Option<RetryPolicy>,
    /// A 404 on blue destroy counts as success (`3eb236fab`).
    pub destroy_not_found_is_success: bool,
    /// Print the hanging-machines destroy command after the destroy phase (`fdf2ba6d2`).
    pub print_hanging: bool,
    /// Pause after creation, before the start wait.
    pub post_create_pause: Duration,
    /// Lease acquisition fails fast (HEAD) rather than waiting for every attempt (2024).
    pub lease_fail_fast: bool,
    /// fly-go retries `AcquireLease` for up to 1 min (fly-go `73cb8e8` on).
    pub lease_acquire_retry: bool,
}

impl Behaviour {
    pub fn of(version: BluegreenVersion) -> Behaviour {
        match version {
            BluegreenVersion::V2026_08 => Behaviour::v2026_08(),
            // PLACEHOLDER until the historic-versions work lands (issue 3).
            other => unimplemented!("bluegreen version {other:?}"),
        }
    }

    /// flyctl HEAD `ad0172fac` (reference §2, §3).
    fn v2026_08() -> Behaviour {
        Behaviour {
            version: BluegreenVersion::V2026_08,
            create_mode: CreateMode::PoolThird,
            green_recording: GreenRecording::Immediately,
            create_checks_abort: true,
            launch_retry: Some(RetryPolicy {
                attempts: 3,
                delay_base: Duration::from_millis(500),
                // §3.4: "doubling while under 5 s".
                delay_max: Duration::from_secs(5),
            }),
            launch_lookup_delay: Duration::from_millis(500),
            force_start_representatives: true,
            image_check: true,
            skip_unhealthy_hosts: true,
            uncordon_retry: RetryPolicy {
                attempts: 5,
                delay_base: Duration::from_millis(500),
                delay_max: Duration::from_secs(30),
            },
            checkpoint: CheckpointMode::RetriedNonFatal(RetryPolicy {
                attempts: 5,
                delay_base: Duration::from_millis(500),
                delay_max: Duration::from_secs(10),
            }),
            drain: true,
            wait_before_cordon: Duration::from_secs(10),
            wait_before_stop: Duration::from_secs(10),
            teardown_retry: Some(RetryPolicy {
                attempts: 5,
                delay_base: Duration::from_millis(500),
                delay_max: Duration::from_secs(10),
            }),
            destroy_not_found_is_success: true,
            print_hanging: true,
            post_create_pause: Duration::from_millis(300),
            lease_fail_fast: true,
            lease_acquire_retry: true,
        }
    }

    /// Pool size for creating greens.
    pub fn create_concurrency(&self, blue_count: usize, max_concurrent: usize) -> usize {
        assert!(max_concurrent >= 1);
        match self.create_mode {
            CreateMode::Sequential => 1,
            CreateMode::PoolThird => blue_count.div_ceil(3).min(max_concurrent).max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_concurrency_is_a_third_capped_by_max_concurrent() {
        let behaviour = Behaviour::of(BluegreenVersion::V2026_08);
        assert_eq!(behaviour.create_concurrency(1, 8), 1);
        assert_eq!(behaviour.create_concurrency(6, 8), 2);
        assert_eq!(behaviour.create_concurrency(7, 8), 3);
        assert_eq!(behaviour.create_concurrency(100, 8), 8);
    }
}
