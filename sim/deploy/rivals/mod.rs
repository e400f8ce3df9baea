//! flyctl's other deploy strategies (reference §9): `rolling`, `canary` and `immediate`. They share
//! the outer flow of `fly deploy` with bluegreen (machine-set selection, leases, refresh, release;
//! §1), update the selected machines **in place** (`update` with the lease nonce, §10) and never
//! roll back: a failure stops the deploy.
//!
//! - [`rolling`]: sorted by ID, grouped by process group, a spearhead then pools of
//!   `max_unavailable` (started machines) and 30 (the others), each machine waited through
//!   started → smoke check → health checks.
//! - [`canary`]: one extra machine per process group first, tested and destroyed, then rolling.
//! - [`immediate`]: every machine updated at once in a pool of `max_concurrent`, no waits.
//!
//! Not modelled (departures from flyctl): the replace path of an update (destroy + launch when the
//! change needs it or the host refuses the update, §9 step 1; there are no volumes or host
//! dedication here), `[[services.machine_checks]]` test machines, and the `--deploy-retries`
//! recovery path of `plan.go`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use crate::api::{
    ApiError, CheckState, LaunchInput, Machine, MachineId, MachineState, MachinesApi, Marker,
    Phase, Runtime, WaitState,
};
use crate::deploy::errors::{DeployError, Sentinel};
use crate::deploy::lease::{
    acquire_leases, release_leases, start_refresh, LeaseAcquire, LeasedMachine,
};
use crate::deploy::outer::{list_fly_apps_machines, print_error, FinalError};
use crate::deploy::wait::{wait_for_start_or_stop, with_timeout, WaitTarget};
use crate::deploy::{DeployOutcome, DeployParams, DeployReport, StrategyName};

pub mod canary;
pub mod immediate;
pub mod rolling;

/// §9: the smoke check watches a machine for up to 10 s.
pub const SMOKE_CHECK_WINDOW: Duration = Duration::from_secs(10);
/// §9: health checks are polled every 1–2 s with jitter.
const HEALTH_POLL_MIN: Duration = Duration::from_secs(1);
const HEALTH_POLL_JITTER: Duration = Duration::from_secs(1);

/// One machine of the set and the launch input it is updated to.
pub struct UpdateEntry {
    pub leased: Rc<LeasedMachine>,
    pub input: LaunchInput,
}

impl UpdateEntry {
    pub fn id(&self) -> &MachineId {
        self.leased.id()
    }

    pub fn group(&self) -> &str {
        self.leased.machine.process_group()
    }

    /// Warm in §9's sense: started when the deploy listed it.
    pub fn is_warm(&self) -> bool {
        self.leased.machine.state == MachineState::Started
    }
}

/// What a rival strategy works with: the API, the runtime, the parameters, and what it created.
pub struct Rival<A, R> {
    pub api: Rc<A>,
    pub runtime: R,
    pub params: DeployParams,
    /// Canary machines created (reported as the deploy's greens).
    canaries: RefCell<Vec<MachineId>>,
}

impl<A: MachinesApi + 'static, R: Runtime> Rival<A, R> {
    pub fn new(api: Rc<A>, runtime: R, params: DeployParams) -> Rc<Rival<A, R>> {
        Rc::new(Rival {
            api,
            runtime,
            params,
            canaries: RefCell::new(Vec::new()),
        })
    }

    pub fn canary_ids(&self) -> Vec<MachineId> {
        self.canaries.borrow().clone()
    }

    fn record_canary(&self, id: MachineId) {
        self.runtime.mark(Marker::GreenRecorded(id.clone()));
        self.canaries.borrow_mut().push(id);
    }

    /// §9 per machine, step 1: the in-place update with the lease nonce. The launch input carries
    /// the new image and skip_launch for machines that were not started (§3.4 `shouldSkipLaunch`).
    pub async fn update_in_place(&self, entry: &UpdateEntry) -> Result<(), DeployError> {
        // §6 (inferred for the rivals): Ctrl-C stops the deploy before the next machine is touched.
        if self.runtime.abort_requested() {
            return Err(Sentinel::Aborted.into());
        }
        self.runtime
            .print(&format!("  Updating {} [{}]", entry.id(), entry.group())); // wording (inferred)
        let nonce = entry.leased.nonce();
        match self
            .api
            .update(entry.id(), entry.input.clone(), nonce.as_deref())
            .await
        {
            Ok(_) => Ok(()),
            Err(error) => {
                // wording (inferred)
                Err(DeployError::api(
                    format!("failed to update machine {}", entry.id()),
                    error,
                ))
            }
        }
    }

    /// §9 per machine, step 2 (rolling): wait for `started`, smoke check, health checks. Skip-launch
    /// machines are not waited for.
    pub async fn wait_good_state(
        &self,
        id: &MachineId,
        input: &LaunchInput,
    ) -> Result<(), DeployError> {
        if input.skip_launch {
            return Ok(());
        }
        self.wait_started(id, input).await?;
        self.smoke_check(id).await?;
        self.wait_healthy(id, input).await
    }

    /// Wait for `started` within the wait timeout (the shared `WaitForStartOrStop`, which tolerates
    /// the 404s just after a launch by retrying them).
    pub async fn wait_started(
        &self,
        id: &MachineId,
        input: &LaunchInput,
    ) -> Result<(), DeployError> {
        let target = WaitTarget {
            machine: id,
            restart_policy: input.config.restart_policy,
            state: WaitState::Started,
        };
        // The whole task is dropped when its pool cancels, so this flag never needs setting.
        let cancelled = Cell::new(false);
        wait_for_start_or_stop(
            &*self.api,
            &self.runtime,
            target,
            self.params.wait_timeout,
            &cancelled,
        )
        .await
    }

    /// §9 smoke check: watch the machine for up to 10 s; fail only on a crash loop.
    ///
    /// flyctl fails when the machine is seen restarting with a restart count above 1 and a non-zero
    /// exit code (from the machine's events). The API's `Machine` carries neither a restart count
    /// nor exit events, so the check counts what it can observe instead: each time a machine seen
    /// `started` is next seen not started (stopped, starting, failed…) is one restart; a second
    /// observed restart within the window ("restart count > 1") is a crash loop. Restarts quicker
    /// than the poll interval go unseen, so this check is weaker than flyctl's.
    ///
    /// Polls back off 500 ms → 1 s → 2 s (capped) with jitter (inferred: flyctl's smoke loop uses a
    /// jittered backoff whose constants are not in the reference). A GET error fails the check, as
    /// in the health wait (inferred). The window always runs in full: a healthy machine passes when
    /// it ends.
    pub async fn smoke_check(&self, id: &MachineId) -> Result<(), DeployError> {
        let deadline = self.runtime.now() + SMOKE_CHECK_WINDOW;
        let mut backoff = Duration::from_millis(500);
        let mut seen_started = false;
        let mut restarts = 0u32;
        loop {
            let remaining = deadline.saturating_sub(self.runtime.now());
            if remaining.is_zero() {
                return Ok(());
            }
            let machine = match with_timeout(&self.runtime, remaining, self.api.get(id)).await {
                None => return Ok(()),
                Some(Err(error)) => {
                    return Err(DeployError::api(
                        format!("error getting machine {id} from api"),
                        error,
                    ))
                }
                Some(Ok(machine)) => machine,
            };
            if machine.state == MachineState::Started {
                seen_started = true;
            } else if seen_started {
                restarts += 1;
                seen_started = false;
            }
            if restarts > 1 || machine.state == MachineState::Failed && restarts > 0 {
                // wording (inferred)
                return Err(DeployError::message(format!(
                    "smoke checks for {id} failed: the app appears to be crashing"
                )));
            }
            let jitter_us = self.runtime.random_u64() % (backoff.as_micros() as u64 / 2 + 1);
            let sleep = (backoff / 2 + Duration::from_micros(jitter_us))
                .min(deadline.saturating_sub(self.runtime.now()));
            self.runtime.sleep(sleep).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }

    /// §9 health wait: poll until the machine reports checks, all passing (total > 0), every 1–2 s
    /// with jitter, up to the wait timeout. A GET error fails at once.
    ///
    /// A machine whose new config has no checks is not waited on (inferred: flyctl only waits for
    /// health checks when the app has some; total > 0 could never hold otherwise).
    pub async fn wait_healthy(
        &self,
        id: &MachineId,
        input: &LaunchInput,
    ) -> Result<(), DeployError> {
        if input.config.all_checks().next().is_none() {
            return Ok(());
        }
        let deadline = self.runtime.now() + self.params.wait_timeout;
        // wording (inferred); Go wraps the expired context's error, hence deadline-exceeded.
        let timeout_error = || {
            DeployError::api(
                format!("timeout reached waiting for health checks to pass for machine {id}"),
                ApiError::deadline_exceeded(),
            )
        };
        loop {
            let remaining = deadline.saturating_sub(self.runtime.now());
            let machine = match with_timeout(&self.runtime, remaining, self.api.get(id)).await {
                None => return Err(timeout_error()),
                Some(Err(error)) => {
                    return Err(DeployError::api(
                        format!("error getting machine {id} from api"),
                        error,
                    ))
                }
                Some(Ok(machine)) => machine,
            };
            if all_checks_passing(&machine) {
                return Ok(());
            }
            let remaining = deadline.saturating_sub(self.runtime.now());
            if remaining.is_zero() {
                return Err(timeout_error());
            }
            let jitter_us = self.runtime.random_u64() % (HEALTH_POLL_JITTER.as_micros() as u64 + 1);
            let sleep = HEALTH_POLL_MIN + Duration::from_micros(jitter_us);
            self.runtime.sleep(sleep.min(remaining)).await;
        }
    }
}

/// `AllHealthChecks().AllPassing()` with total > 0.
fn all_checks_passing(machine: &Machine) -> bool {
    !machine.checks.is_empty()
        && machine
            .checks
            .iter()
            .all(|check| check.status == CheckState::Passing)
}

/// `fly deploy` with a rival strategy: the outer flow of §1 (the machine set as bluegreen selects
/// it, leases, refresh, the deferred release) around rolling, canary or immediate.
pub async fn run_rival<A: MachinesApi + 'static, R: Runtime>(
    api: Rc<A>,
    runtime: R,
    params: DeployParams,
) -> DeployReport {
    let strategy = params.strategy;
    assert!(strategy.bluegreen_version().is_none());
    let machines = match list_fly_apps_machines(&*api, &runtime).await {
        Ok(machines) => machines,
        Err(error) => return failed(&runtime, Vec::new(), Vec::new(), error),
    };
    let blue_ids: Vec<MachineId> = machines.iter().map(|machine| machine.id.clone()).collect();
    // §1: with an empty update list the strategy is never invoked.
    if machines.is_empty() {
        return succeeded(blue_ids, Vec::new());
    }
    let (inputs, leased) = crate::deploy::outer::prepare_blues(machines, &params);

    runtime.mark(Marker::PhaseStarted(Phase::AcquireLeases));
    if let Err(error) = acquire_leases(
        &api,
        &runtime,
        &leased,
        params.lease_ttl,
        LeaseAcquire::HEAD,
    )
    .await
    {
        return failed(&runtime, blue_ids, Vec::new(), error);
    }
    let refresh = start_refresh(&api, &runtime, &leased, params.lease_ttl);
    runtime.print(&format!(
        "Updating existing machines in '{}' with {} strategy",
        params.app_name,
        strategy.as_str()
    ));
    let entries: Vec<Rc<UpdateEntry>> = leased
        .iter()
        .zip(inputs)
        .map(|(leased, input)| {
            Rc::new(UpdateEntry {
                leased: leased.clone(),
                input,
            })
        })
        .collect();
    let rival = Rival::new(api.clone(), runtime.clone(), params);
    let result = match strategy {
        StrategyName::Rolling => rolling::run(&rival, entries).await,
        StrategyName::Immediate => immediate::run(&rival, entries).await,
        StrategyName::Canary => canary::run(&rival, entries).await,
        StrategyName::Bluegreen(_) => unreachable!("bluegreen runs in outer.rs"),
    };

    // §1 step 7: the deferred release, whatever the outcome.
    refresh.stop();
    runtime.mark(Marker::PhaseStarted(Phase::ReleaseLeases));
    release_leases(&api, &runtime, &leased).await;

    let canaries = rival.canary_ids();
    match result {
        Ok(()) => {
            runtime.mark(Marker::PhaseStarted(Phase::Complete));
            runtime.print("Deployment Complete"); // wording (inferred: bluegreen's last line)
            succeeded(blue_ids, canaries)
        }
        // §9: no rollback; a failure stops the deploy.
        Err(error) => failed(&runtime, blue_ids, canaries, error),
    }
}

fn succeeded(blues: Vec<MachineId>, greens: Vec<MachineId>) -> DeployReport {
    DeployReport {
        outcome: DeployOutcome::Succeeded,
        exit_status: 0,
        error: None,
        blues,
        greens,
        hanging: Vec::new(),
    }
}

fn failed<R: Runtime>(
    runtime: &R,
    blues: Vec<MachineId>,
    greens: Vec<MachineId>,
    error: DeployError,
) -> DeployReport {
    let suggestion = error
        .is_timeout()
        .then(|| "You can increase the timeout with the --wait-timeout flag".to_string());
    let final_error = FinalError {
        text: error.to_string(),
        suggestion,
    };
    print_error(runtime, &final_error);
    DeployReport {
        outcome: DeployOutcome::Failed,
        exit_status: 1,
        error: Some(final_error.text),
        blues,
        greens,
        hanging: Vec::new(),
    }
}
