//! The range of every number a scenario file may hold: durations, points in time, rates, counts,
//! seeds and the lengths of its lists. Validation refuses anything outside them (with the range in
//! the message), so the simulator's arithmetic on scenario values cannot overflow. README.md
//! ("Scenario value ranges") lists them for users; keep the two in step.

use std::time::Duration;

/// The longest duration of any field (time limit, settle, timeouts, distributions, ...): 30 days.
/// Sums and small multiples of such durations stay far inside `Duration` and the µs clock.
pub const DURATION_MAX: Duration = Duration::from_secs(30 * 24 * 3600);

/// The longest `duration`, `period` or `lag` of a fault.
pub const FAULT_DURATION_MAX: Duration = Duration::from_secs(24 * 3600);

/// The most machines of one `[[fleet]]` entry.
pub const GROUP_COUNT_MAX: i64 = 10_000;

/// The highest `run.machine_limit`: machines created over the whole run, the initial fleet
/// included.
pub const MACHINE_LIMIT_MAX: i64 = 1_000_000;

/// The highest `run.event_limit`.
pub const EVENT_LIMIT_MAX: i64 = 10_000_000_000;

/// The slowest traffic of one region, in requests per second (one request per 1 000 s).
pub const RATE_PER_SECOND_MIN: f64 = 0.001;

/// The fastest traffic of one region, in requests per second.
pub const RATE_PER_SECOND_MAX: f64 = 100_000.0;

/// The largest skew of a deployer's clock, either way: 30 days in seconds.
pub const CLOCK_SKEW_SECONDS_MAX: i64 = 30 * 24 * 3600;

/// The most connection retries of a proxy after a refused connection.
pub const CONNECT_RETRIES_MAX: i64 = 100;

/// The highest seed. A seed range `A..B` excludes B, so every seed a run accepts must leave room
/// for the one after it: 2^64 − 2.
pub const SEED_MAX: u64 = u64::MAX - 1;

/// The most `[[deploy]]` entries.
pub const DEPLOYS_MAX: usize = 100;

/// The most `[[faults]]` entries.
pub const FAULTS_MAX: usize = 1_000;

/// The most `[[fleet]]` entries.
pub const FLEET_GROUPS_MAX: usize = 1_000;

/// The most regions with a proxy, and the most `[[traffic.regions]]` entries.
pub const REGIONS_MAX: usize = 100;

/// The most `[[app.checks]]` entries, and the most checks of one `[[app.services]]` entry.
pub const CHECKS_MAX: usize = 100;

/// The most `[[app.services]]` entries.
pub const SERVICES_MAX: usize = 16;

/// The most `[[expect.machines]]` entries, and the most `output_contains` and
/// `output_not_contains` texts.
pub const EXPECTATIONS_MAX: usize = 1_000;

/// The largest count an `[expect]` call count may name.
pub const CALL_COUNT_MAX: i64 = 1_000_000;

/// The largest call number a fault's `calls` may name.
pub const CALL_NUMBER_MAX: u32 = 1_000_000;

/// The most attempts of one of flyctl's retries (`[[deploy]] *_attempts`).
pub const ATTEMPTS_MAX: u32 = crate::deploy::behaviour::BluegreenSettings::ATTEMPTS_MAX;

/// The largest `[check] explosion_factor`: machines alive at most this many times N. (The smallest
/// is 1: the fleet itself.)
pub const EXPLOSION_FACTOR_MAX: f64 = 100.0;
