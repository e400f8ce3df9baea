//! Time-bounded waiting on the runtime: timeouts, abortable sleeps, and flyctl's
//! `machine.WaitForStartOrStop` (`internal/machine/wait.go`, reference §3.5).

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use crate::api::{MachineId, MachinesApi, RestartPolicy, Runtime, WaitState};
use crate::deploy::errors::DeployError;

/// The interval of flyctl's UI/progress loops, which is also when they notice an abort (§2).
pub const POLL_INTERVAL: Duration = Duration::from_millis(90);
/// Server-side timeout of each `wait` call (§3.5).
pub const WAIT_SERVER_TIMEOUT: Duration = Duration::from_secs(60);

/// Sets a shared cancel flag when dropped: background tasks that watch the flag end at their next
/// turn once their owner is done, including when the deploy future itself is dropped (the
/// simulator killing the deployer), so the runtime can quiesce.
pub struct CancelOnDrop(pub Rc<Cell<bool>>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// Runs `future` for at most `duration`: `None` when the time ran out first (a Go context
/// deadline). The future is dropped then, as a cancelled HTTP request would be.
pub async fn with_timeout<R: Runtime, T>(
    runtime: &R,
    duration: Duration,
    future: impl Future<Output = T>,
) -> Option<T> {
    let sleep = runtime.sleep(duration);
    tokio::select! {
        biased;
        value = future => Some(value),
        () = sleep => None,
    }
}

/// `sleepAbortable`: sleeps `duration`; true when an abort cut it short.
///
/// §6: flyctl selects on the abort channel; the Runtime exposes the abort flag as a poll, so this
/// checks it every [`POLL_INTERVAL`] (an abort is noticed up to 90 ms late).
pub async fn sleep_abortable<R: Runtime>(runtime: &R, duration: Duration) -> bool {
    let deadline = runtime.now() + duration;
    loop {
        if runtime.abort_requested() {
            return true;
        }
        let now = runtime.now();
        if now >= deadline {
            return false;
        }
        runtime.sleep(POLL_INTERVAL.min(deadline - now)).await;
    }
}

/// One machine waited on by [`wait_for_start_or_stop`].
pub struct WaitTarget<'a> {
    pub machine: &'a MachineId,
    pub restart_policy: RestartPolicy,
    pub state: WaitState,
}

/// `WaitForStartOrStop`: calls `wait` (60 s server timeout) until `state` is reached, sleeping
/// 500 ms → 1 s → 2 s (capped) after each error; fails at once on a 400 or on "machine failed to
/// reach desired state" with restart policy `no`; times out after `timeout` with `WaitTimeoutErr`.
///
/// `cancelled` ends the loop early (the phase that spawned it is over); see the callers.
pub async fn wait_for_start_or_stop<A: MachinesApi, R: Runtime>(
    api: &A,
    runtime: &R,
    target: WaitTarget<'_>,
    timeout: Duration,
    cancelled: &Cell<bool>,
) -> Result<(), DeployError> {
    assert!(matches!(
        target.state,
        WaitState::Started | WaitState::Stopped
    ));
    let state_name = match target.state {
        WaitState::Started => "started",
        _ => "stopped",
    };
    let deadline = runtime.now() + timeout;
    let mut backoff = Duration::from_millis(500);
    loop {
        let remaining = deadline.saturating_sub(runtime.now());
        let call = api.wait(target.machine, target.state, WAIT_SERVER_TIMEOUT);
        let error = match with_timeout(runtime, remaining, call).await {
            Some(Ok(())) => return Ok(()),
            Some(Err(error)) => error,
            None => {
                return Err(DeployError::machine_wait_timeout(
                    target.machine.clone(),
                    state_name,
                ))
            }
        };
        if runtime.now() >= deadline {
            return Err(DeployError::machine_wait_timeout(
                target.machine.clone(),
                state_name,
            ));
        }
        if error
            .message
            .contains("machine failed to reach desired state")
            && target.restart_policy == RestartPolicy::No
        {
            return Err(DeployError::message(
                "machine failed to reach desired start state, and restart policy was set to no restart",
            ));
        }
        if error.status == Some(400) {
            return Err(DeployError::api("failed waiting for machine", error));
        }
        // §3.5: Go sleeps the full backoff and the next call then fails on the expired context;
        // capping the sleep at the deadline reaches the same timeout without a wasted call.
        let remaining = deadline.saturating_sub(runtime.now());
        runtime.sleep(backoff.min(remaining)).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
        if cancelled.get() {
            return Err(DeployError::message("context canceled"));
        }
    }
}
