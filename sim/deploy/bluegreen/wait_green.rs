//! The green waits (§3.5 started, §3.6 healthy): one task per machine, watched by a 90 ms phase
//! loop that also notices aborts and the phase's own wait-timeout ticker.
//!
//! §3.5/§3.6: flyctl leaves the per-machine goroutines running after the phase returns, until
//! their own deadline; they only read. Here they stop at their next turn once the phase is over
//! (a `cancelled` flag), so the simulator quiesces; no machine state differs, only read calls.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use super::{Bluegreen, GreenEntry};
use crate::api::{ApiError, CheckState, CheckStatus, Machine, MachinesApi, Runtime, WaitState};
use crate::deploy::behaviour::HealthGate;
use crate::deploy::errors::{DeployError, Sentinel};
use crate::deploy::wait::{
    wait_for_start_or_stop, with_timeout, CancelOnDrop, WaitTarget, POLL_INTERVAL,
};

/// §3.6: the poll interval starts from a 60 s ceiling and grace from a 1 s ceiling.
const HEALTH_INTERVAL_CEILING: Duration = Duration::from_secs(60);
const HEALTH_GRACE_CEILING: Duration = Duration::from_secs(1);

/// `HealthCheckStatus`: counts over the check results a machine reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HealthStatus {
    pub total: usize,
    pub passing: usize,
}

impl HealthStatus {
    fn healthy(self) -> bool {
        self.total > 0 && self.passing == self.total
    }
}

/// State shared between a phase loop and its per-machine tasks.
struct PhaseShared<T> {
    entries: RefCell<Vec<T>>,
    first_error: RefCell<Option<DeployError>>,
    cancelled: Rc<Cell<bool>>,
}

impl<T> PhaseShared<T> {
    fn new(entries: Vec<T>) -> Rc<PhaseShared<T>> {
        Rc::new(PhaseShared {
            entries: RefCell::new(entries),
            first_error: RefCell::new(None),
            cancelled: Rc::new(Cell::new(false)),
        })
    }

    fn fail(&self, error: DeployError) {
        self.first_error.borrow_mut().get_or_insert(error);
    }
}

impl<A: MachinesApi + 'static, R: Runtime> Bluegreen<A, R> {
    /// `WaitForGreenMachinesToBeStarted`.
    pub(super) async fn wait_for_greens_started(self: &Rc<Self>) -> Result<(), DeployError> {
        let greens: Vec<Rc<GreenEntry>> = self.greens.borrow().clone();
        // Skip-launch greens are marked started at once and never waited on.
        let started: Vec<bool> = greens.iter().map(|green| green.input.skip_launch).collect();
        let shared = PhaseShared::new(started);
        let _cancel = CancelOnDrop(shared.cancelled.clone());
        for (index, green) in greens.iter().enumerate() {
            if green.input.skip_launch {
                continue;
            }
            let (strategy, shared, green) = (self.clone(), shared.clone(), green.clone());
            drop(self.runtime.spawn(async move {
                let target = WaitTarget {
                    machine: &green.machine.id,
                    restart_policy: green.input.config.restart_policy,
                    state: WaitState::Started,
                };
                let timeout = strategy.params.wait_timeout;
                let result = wait_for_start_or_stop(
                    &*strategy.api,
                    &strategy.runtime,
                    target,
                    timeout,
                    &shared.cancelled,
                )
                .await;
                match result {
                    Ok(()) => shared.entries.borrow_mut()[index] = true,
                    Err(error) => shared.fail(error),
                }
            }));
        }
        let timeout = self.params.wait_timeout;
        self.phase_loop(&shared, timeout, |entries| {
            entries.iter().all(|started| *started)
        })
        .await
    }

    /// `WaitForGreenMachinesToBeHealthy`: greens with configured checks are polled until seen
    /// all-passing once; skip-launch greens count as healthy; greens without checks are left out.
    pub(super) async fn wait_for_greens_healthy(self: &Rc<Self>) -> Result<(), DeployError> {
        let greens: Vec<Rc<GreenEntry>> = self.greens.borrow().clone();
        let mut tracked = Vec::new();
        let mut statuses = Vec::new();
        for green in &greens {
            if green.input.skip_launch {
                statuses.push(HealthStatus {
                    total: 1,
                    passing: 1,
                });
            } else if self.health_tracked(green) {
                tracked.push((statuses.len(), green.clone()));
                statuses.push(HealthStatus::default());
            }
        }
        let shared = PhaseShared::new(statuses);
        let _cancel = CancelOnDrop(shared.cancelled.clone());
        for (slot, green) in tracked {
            let (strategy, shared) = (self.clone(), shared.clone());
            drop(self.runtime.spawn(async move {
                if let Err(error) = strategy.poll_health(&green, slot, &shared).await {
                    shared.fail(error);
                }
            }));
        }
        let timeout = self.params.health_timeout();
        self.phase_loop(&shared, timeout, |entries| {
            entries.iter().all(|status| status.healthy())
        })
        .await
    }

    /// Whether the health wait polls this green. versions §1.1 step 8: before `9aaec2f2a`, only
    /// if its Launch response listed check results. Skip-launch greens are counted healthy before
    /// this in every version: in 2023-06/2024-02 they were skipped instead (versions §1.7), which
    /// blocks the phase just as little (the rows are not printed here).
    fn health_tracked(&self, green: &GreenEntry) -> bool {
        match self.behaviour.health_gate {
            HealthGate::ConfiguredChecks => green.input.config.all_checks().next().is_some(),
            HealthGate::LaunchResponseChecks => !green.machine.checks.is_empty(),
        }
    }

    /// The check results a poll counts: every one (HEAD), or (2023-06 to 2024-05, versions §1.1
    /// step 8.2) only top-level ones, whose names do not start with `servicecheck-`: the platform
    /// reports a service's check as `servicecheck-<nn>-<kind>-<port>`, and those versions count
    /// its synthesized top-level copy `bg_deployments_<kind>` instead. A green with top-level
    /// checks only (no services) is thus 1/1, not 0/0. In the simulated platform those versions
    /// track no green (see `HealthGate::LaunchResponseChecks`), so only `MemoryApi`, whose launch
    /// lists the results, reaches this filter for them.
    fn counted_checks<'a>(&self, machine: &'a Machine) -> Vec<&'a CheckStatus> {
        let top_level_only = self.behaviour.count_top_level_results_only;
        machine
            .checks
            .iter()
            .filter(|check| !top_level_only || !check.name.starts_with("servicecheck-"))
            .collect()
    }

    /// One health poller: sleep the grace, then GET until all checks pass. Any GET error, or the
    /// wait-timeout context expiring, fails the phase: no retry (§3.6).
    async fn poll_health(
        &self,
        green: &GreenEntry,
        slot: usize,
        shared: &PhaseShared<HealthStatus>,
    ) -> Result<(), DeployError> {
        let deadline = self.runtime.now() + self.params.health_timeout();
        let (interval, grace) = min_interval_and_grace(green);
        self.runtime.sleep(grace).await;
        loop {
            if shared.cancelled.get() {
                return Ok(());
            }
            let remaining = deadline.saturating_sub(self.runtime.now());
            let machine =
                match with_timeout(&self.runtime, remaining, self.api.get(&green.machine.id)).await
                {
                    None => return Err(DeployError::api("", ApiError::deadline_exceeded())),
                    Some(Err(error)) => return Err(DeployError::api("", error)),
                    Some(Ok(machine)) => machine,
                };
            let counted = self.counted_checks(&machine);
            let status = HealthStatus {
                total: counted.len(),
                passing: counted
                    .iter()
                    .filter(|check| check.status == CheckState::Passing)
                    .count(),
            };
            shared.entries.borrow_mut()[slot] = status;
            if status.healthy() {
                return Ok(());
            }
            self.runtime.sleep(interval).await;
        }
    }

    /// The 90 ms phase loop of §3.5/§3.6: done, then abort, then the ticker (one full `timeout`
    /// after the phase began), then the first task error.
    ///
    /// Go's `select` picks at random when the ticker and an error are both ready; checking the
    /// ticker first (source order) is the deterministic choice.
    async fn phase_loop<T>(
        &self,
        shared: &PhaseShared<T>,
        timeout: Duration,
        done: impl Fn(&[T]) -> bool,
    ) -> Result<(), DeployError> {
        let deadline = self.runtime.now() + timeout;
        loop {
            if done(&shared.entries.borrow()) {
                return Ok(());
            }
            if self.runtime.abort_requested() {
                return Err(Sentinel::Aborted.into());
            }
            if self.runtime.now() >= deadline {
                return Err(Sentinel::WaitTimeout.into());
            }
            if let Some(error) = shared.first_error.borrow_mut().take() {
                return Err(error);
            }
            self.runtime.sleep(POLL_INTERVAL).await;
        }
    }
}

/// `GetMinIntervalAndMinGracePeriod` over the green's configured checks.
fn min_interval_and_grace(green: &GreenEntry) -> (Duration, Duration) {
    let mut interval = HEALTH_INTERVAL_CEILING;
    let mut grace = HEALTH_GRACE_CEILING;
    for check in green.input.config.all_checks() {
        if let Some(check_interval) = check.interval {
            interval = interval.min(check_interval);
        }
        if let Some(check_grace) = check.grace_period {
            grace = grace.min(check_grace);
        }
    }
    // §3.6, §11.2: flyctl polls at the smallest configured interval, with no floor
    // (`GetMinIntervalAndMinGracePeriod`); neither has the port. A zero interval against an API
    // that answers at once would poll without end at one instant; scenario validation rejects
    // zero intervals, as the platform could not run such a check either.
    (interval, grace)
}
