//! What distinguishes one historic version of flyctl's bluegreen from another, as named switches
//! and constants (reference `flyctl-bluegreen-versions.md` §5). The phase code reads these instead
//! of matching on the version, so a historic version is a new constructor here plus, where the
//! shape differs, a phase function selected by a switch.
//!
//! Every switch cites the section of `flyctl-bluegreen-versions.md` ("versions §…") it comes from.

use std::time::Duration;

use crate::deploy::retry::RetryPolicy;
use crate::deploy::BluegreenVersion;

/// §2: image-ref refetch, 3 attempts, 1 s base, 5 s cap, any error retried.
const IMAGE_REFETCH: RetryPolicy = RetryPolicy {
    attempts: 3,
    delay_base: Duration::from_secs(1),
    delay_max: Duration::from_secs(5),
};

/// A single call: retry-go with one attempt.
const SINGLE_CALL: RetryPolicy = RetryPolicy {
    attempts: 1,
    delay_base: Duration::ZERO,
    delay_max: Duration::ZERO,
};

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

/// How the per-machine steps after the health wait fan out: uncordon, checkpoint, cordon, stop
/// and blue destroy (versions §1.2, §2.2, §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fanout {
    /// One machine at a time, in order; the first error a step returns ends the phase
    /// (2023-06, 2024-02; 2024-02's blue destroy is a pool, see `destroy_loop_variable_race`).
    Sequential,
    /// A pool of max concurrent that runs every item and returns the first error (2024-05, HEAD).
    Pool,
}

/// Which greens the health wait tracks (versions §1.1 step 8, §4.1 step 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthGate {
    /// Greens whose *configured* checks are non-empty (`9aaec2f2a`, HEAD).
    ConfiguredChecks,
    /// Greens whose *Launch response* listed check results (2023-06 → 2026-08-06). The simulator's
    /// platform answers a launch with the machine as created, before it started, so the list is
    /// empty and no green is tracked: the gate is effectively skipped, as versions §1.1 infers.
    /// `MemoryApi` starts machines at once, so its launch response does list them.
    LaunchResponseChecks,
}

/// Which errors make `Rollback` destroy the recorded greens (versions §5 "Rollback triggers").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RollbackRule {
    /// Any error except the destroy phase's (versions §1.4, §2.4).
    Broad,
    /// `CanDestroyGreenMachines` as a substring test on the error text (versions §3.4).
    NarrowSubstring,
    /// `CanDestroyGreenMachines` with `errors.Is` on joined sentinels (HEAD, reference §5).
    NarrowSentinels,
}

/// What a green-destroying rollback prints (versions §5 "Rollback mechanics").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RollbackOutput {
    /// Nothing (2023-06, 2024-02).
    Silent,
    /// "Rolling back failed deployment" (2024-05).
    Header,
    /// The header, then `"  Deleted machine <id>"` per green (`107120be5` on).
    HeaderAndDeleted,
}

/// Wording of the image-check report (reference §3.1, versions §3.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageReport {
    /// 2024 (`9b36d4e00`, wording `6d3efb778` + `46aebef55`): "These image(s) can be safely
    /// destroyed:" and the destroy hint without `--app`.
    V2024,
    Head,
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
    /// GET retry of the image check when `list` gave an empty image ref (`fdf2ba6d2`; only with
    /// `skip_unhealthy_hosts`, which came in the same commit).
    pub image_refetch_retry: RetryPolicy,
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
    /// Copy service checks to top-level `bg_deployments_<type>` checks (versions §1.1 step 3,
    /// removed by `f4d922d90`).
    pub synthesize_checks: bool,
    pub health_gate: HealthGate,
    /// Count only top-level check results (names not starting with `servicecheck-`) in the
    /// health wait (versions §1.1 step 8.2; `f4d922d90` counts every result).
    pub count_top_level_results_only: bool,
    /// Greens carry `fly_bluegreen_deployment_tag` (versions §2.1 step 5, `5f7df6e72` on).
    pub deployment_tag: bool,
    /// The pre-create zombie reaper (versions §2.5, v0.2.8–v0.2.16).
    pub zombie_reaper: bool,
    /// Uncordon, checkpoint, cordon, stop and destroy fan-out.
    pub fanout: Fanout,
    /// The blue destroy runs in a pool of 16 whose tasks read the shared loop variable (versions
    /// §2.1 step 15, `60a377c1f` to `c3fe6b4d5`, v0.2.12–v0.2.16); `fanout` is ignored for it.
    pub destroy_loop_variable_race: bool,
    /// `canDeleteGreenMachines` exists and turns false after the ready phase (versions §3.1
    /// step 10, `adbcd97cb` on).
    pub point_of_no_return: bool,
    pub rollback_rule: RollbackRule,
    pub rollback_output: RollbackOutput,
    /// The outer flow prints `"Deployment failed after error: <err>"` before rollback (versions §1
    /// step 6; dropped by `fd26f35ee`).
    pub print_deploy_failed: bool,
    pub image_report: ImageReport,
    /// `--max-concurrent`'s default in this version (16 before `fb8153e04`, versions §3).
    pub max_concurrent_default: usize,
}

impl Behaviour {
    pub fn of(version: BluegreenVersion) -> Behaviour {
        match version {
            BluegreenVersion::V2026_08 => Behaviour::v2026_08(),
            BluegreenVersion::V2024_05 => Behaviour::v2024_05(),
            BluegreenVersion::V2024_02 => Behaviour::v2024_02(),
            BluegreenVersion::V2023_06 => Behaviour::v2023_06(),
        }
    }

    /// v0.2.47 … v0.2.64 (versions §3): HEAD's shape without its retries.
    fn v2024_05() -> Behaviour {
        Behaviour {
            version: BluegreenVersion::V2024_05,
            // versions §3.3: assigned only after the whole pool succeeded.
            green_recording: GreenRecording::AfterAllLaunches,
            // versions §3.1 step 5: tasks do not check the abort flag.
            create_checks_abort: false,
            launch_retry: None,
            force_start_representatives: false,
            skip_unhealthy_hosts: false,
            // versions §3.1 step 9: one Uncordon call.
            uncordon_retry: SINGLE_CALL,
            // versions §3.1 step 11: fatal, wrapped with the ready-phase text.
            checkpoint: CheckpointMode::Fatal,
            teardown_retry: None,
            destroy_not_found_is_success: false,
            print_hanging: false,
            lease_fail_fast: false,
            lease_acquire_retry: false,
            synthesize_checks: true,
            health_gate: HealthGate::LaunchResponseChecks,
            count_top_level_results_only: true,
            rollback_rule: RollbackRule::NarrowSubstring,
            rollback_output: RollbackOutput::Header,
            print_deploy_failed: true,
            image_report: ImageReport::V2024,
            max_concurrent_default: 16,
            ..Behaviour::v2026_08()
        }
    }

    /// v0.2.12 … v0.2.16 (versions §2): 2023-06 plus the tag, the reaper, the sequential drain
    /// and the parallel blue destroy with its loop-variable race (§2.1 step 15; v0.2.9–v0.2.11
    /// destroyed one blue at a time and are otherwise the same).
    fn v2024_02() -> Behaviour {
        Behaviour {
            version: BluegreenVersion::V2024_02,
            deployment_tag: true,
            zombie_reaper: true,
            destroy_loop_variable_race: true,
            drain: true,
            wait_before_cordon: Duration::from_secs(10),
            wait_before_stop: Duration::from_secs(10),
            ..Behaviour::v2023_06()
        }
    }

    /// v0.1.40 … v0.2.7 (versions §1), as of v0.1.113+ (5 min wait timeout, the parameters'
    /// default; earlier releases had 2 min) and v0.1.45+ (one blue with checks suffices).
    fn v2023_06() -> Behaviour {
        Behaviour {
            version: BluegreenVersion::V2023_06,
            // versions §1.1 step 5, §1.3.
            create_mode: CreateMode::Sequential,
            image_check: false,
            checkpoint: CheckpointMode::Absent,
            // versions §1.1 step 10: blues destroyed right after the ready phase.
            drain: false,
            wait_before_cordon: Duration::ZERO,
            wait_before_stop: Duration::ZERO,
            deployment_tag: false,
            zombie_reaper: false,
            fanout: Fanout::Sequential,
            point_of_no_return: false,
            // versions §1.4.
            rollback_rule: RollbackRule::Broad,
            rollback_output: RollbackOutput::Silent,
            // Irrelevant (everything but the waits is sequential); the 2023 default was 16.
            max_concurrent_default: 16,
            ..Behaviour::v2024_05()
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
            image_refetch_retry: IMAGE_REFETCH,
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
            synthesize_checks: false,
            health_gate: HealthGate::ConfiguredChecks,
            count_top_level_results_only: false,
            deployment_tag: true,
            zombie_reaper: false,
            fanout: Fanout::Pool,
            destroy_loop_variable_race: false,
            point_of_no_return: true,
            rollback_rule: RollbackRule::NarrowSentinels,
            rollback_output: RollbackOutput::HeaderAndDeleted,
            print_deploy_failed: false,
            image_report: ImageReport::Head,
            max_concurrent_default: 8,
        }
    }

    /// This version with a deploy's `settings` applied. A setting changes a step only where the
    /// version has it: a version that made a single call (2024's uncordon, tag and teardown)
    /// keeps making one, and a version without the drain has no waits to change.
    pub fn with_settings(mut self, settings: &BluegreenSettings) -> Behaviour {
        if let Some(policy) = self.launch_retry.as_mut() {
            override_policy(policy, settings.launch_attempts, settings.launch_backoff);
            if let Some(delay) = settings.launch_lookup_delay {
                self.launch_lookup_delay = delay;
            }
        }
        if let CheckpointMode::RetriedNonFatal(policy) = &mut self.checkpoint {
            override_policy(
                policy,
                settings.checkpoint_attempts,
                settings.checkpoint_backoff,
            );
        }
        if let Some(policy) = self.teardown_retry.as_mut() {
            override_policy(
                policy,
                settings.teardown_attempts,
                settings.teardown_backoff,
            );
        }
        if self.skip_unhealthy_hosts {
            override_policy(
                &mut self.image_refetch_retry,
                settings.image_refetch_attempts,
                settings.image_refetch_backoff,
            );
        }
        // versions §3.1 step 9: a single Uncordon call before `d9b20ae08`.
        if self.uncordon_retry.attempts > 1 {
            override_policy(
                &mut self.uncordon_retry,
                settings.uncordon_attempts,
                settings.uncordon_backoff,
            );
        }
        if self.drain {
            if let Some(wait) = settings.wait_before_cordon {
                self.wait_before_cordon = wait;
            }
            if let Some(wait) = settings.wait_before_stop {
                self.wait_before_stop = wait;
            }
        }
        self
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

fn override_policy(policy: &mut RetryPolicy, attempts: Option<u32>, backoff: Option<Duration>) {
    if let Some(attempts) = attempts {
        assert!(attempts >= 1, "at least one attempt");
        policy.attempts = attempts;
    }
    if let Some(backoff) = backoff {
        assert!(backoff <= policy.delay_max, "validated against the cap");
        policy.delay_base = backoff;
    }
}

/// A deploy's overrides of flyctl's retry budgets and waits (`[[deploy]]` in a scenario file).
///
/// flyctl sets these as fields of its strategy object (`blueGreen.initialize` at HEAD:
/// `uncordonRetryAttempts`, `tagRetryDelay`, `waitBeforeCordon`, …) and its own unit tests change
/// them (`strategy_bluegreen_test.go` sets the waits and delays to 0 and `timeout` to 500 ms); a
/// scenario does the same here. None keeps the version's own value: HEAD's constants of
/// reference §2 for `bluegreen`. Each back-off is retry-go's base delay (doubling after each
/// failed attempt) and may not exceed the cap HEAD gives it ([`BluegreenSettings::BACKOFF_CAPS`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BluegreenSettings {
    /// Launch attempts per green (HEAD: 3), the wait before the next one (500 ms, doubling while
    /// under 5 s) and the pause before the launch-ID lookup (500 ms).
    pub launch_attempts: Option<u32>,
    pub launch_backoff: Option<Duration>,
    pub launch_lookup_delay: Option<Duration>,
    /// The `safe_to_destroy` checkpoint tag (HEAD: 5 attempts, 500 ms, capped at 10 s).
    pub checkpoint_attempts: Option<u32>,
    pub checkpoint_backoff: Option<Duration>,
    /// Blue cordon, stop and destroy (HEAD: 5 attempts, 500 ms, capped at 10 s).
    pub teardown_attempts: Option<u32>,
    pub teardown_backoff: Option<Duration>,
    /// The image check's GET of a machine listed without an image (HEAD: 3 attempts, 1 s,
    /// capped at 5 s).
    pub image_refetch_attempts: Option<u32>,
    pub image_refetch_backoff: Option<Duration>,
    /// Green uncordon (HEAD: 5 attempts, 500 ms, capped at 30 s).
    pub uncordon_attempts: Option<u32>,
    pub uncordon_backoff: Option<Duration>,
    /// The sleeps around the blue cordon (HEAD: 10 s each).
    pub wait_before_cordon: Option<Duration>,
    pub wait_before_stop: Option<Duration>,
    /// The budget of the wait for stopped blues and of the health wait (default: the deploy's
    /// `wait_timeout`, which every wait phase uses in flyctl).
    pub stop_wait_timeout: Option<Duration>,
    pub health_timeout: Option<Duration>,
}

impl BluegreenSettings {
    /// The most attempts a retry may be given (the scenario's range, `scenario::ranges`).
    pub const ATTEMPTS_MAX: u32 = 20;
    /// The longest pause before the launch-ID lookup and the longest wait before cordon or stop.
    pub const LOOKUP_DELAY_MAX: Duration = Duration::from_secs(60);
    pub const WAIT_MAX: Duration = Duration::from_secs(600);
    /// The longest stop-wait or health timeout.
    pub const TIMEOUT_MAX: Duration = Duration::from_secs(24 * 3600);
    /// HEAD's cap on each back-off (reference §2): launch doubles while under 5 s, the image
    /// refetch is capped at 5 s, the tag and teardown retries at 10 s, uncordon at 30 s.
    pub const BACKOFF_CAPS: [(&'static str, Duration); 5] = [
        ("launch", Duration::from_secs(5)),
        ("checkpoint", Duration::from_secs(10)),
        ("teardown", Duration::from_secs(10)),
        ("image_refetch", Duration::from_secs(5)),
        ("uncordon", Duration::from_secs(30)),
    ];

    /// The cap on the back-off of retry `step` (a name of [`BluegreenSettings::BACKOFF_CAPS`]).
    pub fn backoff_cap(step: &str) -> Duration {
        let found = Self::BACKOFF_CAPS.iter().find(|(name, _)| *name == step);
        found.expect("a known retry step").1
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
