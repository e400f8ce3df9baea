//! Blue-machine leases: flyctl's `machineSet.AcquireLeases`, the background refresh and the deferred
//! release (`internal/machine/machine_set.go`, `leasable_machine.go`; reference §3.3), with fly-go's
//! `AcquireLease` retry (§2).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use crate::api::{Machine, MachineId, MachinesApi, Runtime};
use crate::deploy::errors::DeployError;
use crate::deploy::retry::ExponentialBackoff;

/// A blue machine and the lease the deployer holds on it (`LeasableMachine`).
pub struct LeasedMachine {
    /// The machine as the deploy listed it.
    pub machine: Machine,
    nonce: RefCell<Option<String>>,
    destroyed: Cell<bool>,
}

impl LeasedMachine {
    pub fn new(machine: Machine) -> LeasedMachine {
        LeasedMachine {
            machine,
            nonce: RefCell::new(None),
            destroyed: Cell::new(false),
        }
    }

    pub fn id(&self) -> &MachineId {
        &self.machine.id
    }

    pub fn nonce(&self) -> Option<String> {
        self.nonce.borrow().clone()
    }

    pub fn has_lease(&self) -> bool {
        self.nonce.borrow().is_some()
    }

    /// The wrapper marks a machine destroyed after a successful destroy, which ends its refresh
    /// loop and makes the final release skip it.
    pub fn mark_destroyed(&self) {
        self.destroyed.set(true);
    }

    pub fn is_destroyed(&self) -> bool {
        self.destroyed.get()
    }
}

/// How leases are acquired: HEAD fails fast with fly-go's retry; 2023–2024 waited for every
/// attempt, without retry (versions §1.6, §5 "Lease point / on failure").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseAcquire {
    pub fail_fast: bool,
    pub retry: bool,
}

impl LeaseAcquire {
    /// flyctl HEAD (reference §3.3): fail fast, with fly-go's retry of up to one minute. The
    /// rivals use HEAD's outer flow.
    pub const HEAD: LeaseAcquire = LeaseAcquire {
        fail_fast: true,
        retry: true,
    };
}

/// Leases every blue in parallel (no concurrency cap). HEAD is fail-fast: the first final failure
/// cancels the other attempts, the leases already taken are released and the error is returned,
/// before any green exists (§3.3). Without `fail_fast` every attempt runs to its end, each
/// failure is printed, the acquired leases are released and the error is "error acquiring leases
/// on all machines" (versions §1.6).
pub async fn acquire_leases<A: MachinesApi + 'static, R: Runtime>(
    api: &Rc<A>,
    runtime: &R,
    blues: &[Rc<LeasedMachine>],
    ttl: Duration,
    mode: LeaseAcquire,
) -> Result<(), DeployError> {
    let cancelled = Rc::new(Cell::new(false));
    let errors: Rc<RefCell<Vec<DeployError>>> = Rc::new(RefCell::new(Vec::new()));
    let handles: Vec<_> = blues
        .iter()
        .map(|blue| {
            let (api, runtime, blue) = (api.clone(), runtime.clone(), blue.clone());
            let (cancelled, errors) = (cancelled.clone(), errors.clone());
            runtime.clone().spawn(async move {
                let result = acquire_one(&*api, &runtime, &blue, ttl, mode.retry, &cancelled).await;
                if let Err(error) = result {
                    cancelled.set(mode.fail_fast);
                    errors.borrow_mut().push(error);
                }
            })
        })
        .collect();
    // errgroup.Wait: every attempt returns (the cancelled ones at their next check) before the
    // error is handled.
    for handle in handles {
        handle.await;
    }
    let errors = std::mem::take(&mut *errors.borrow_mut());
    if errors.is_empty() {
        return Ok(());
    }
    let shown = if mode.fail_fast {
        &errors[..1]
    } else {
        &errors[..]
    };
    for error in shown {
        runtime.print(&format!("failed to acquire lease: {error}")); // wording (inferred) at HEAD
    }
    release_leases(api, runtime, blues).await;
    if mode.fail_fast {
        Err(errors.into_iter().next().expect("an error"))
    } else {
        Err(DeployError::message(
            "error acquiring leases on all machines",
        ))
    }
}

/// One `AcquireLease` with fly-go's retry: any error is retried with randomized exponential
/// backoff until 1 min has elapsed; without `retry` (before fly-go `73cb8e8`), a single call.
/// A lease counts only with a nonce.
///
/// §3.3: Go cancels an in-flight request when a sibling fails (a lease it may have been granted
/// then lapses after its TTL); here the request completes, and a lease it returns is recorded so
/// that the release that follows frees it.
async fn acquire_one<A: MachinesApi, R: Runtime>(
    api: &A,
    runtime: &R,
    blue: &LeasedMachine,
    ttl: Duration,
    retry: bool,
    cancelled: &Cell<bool>,
) -> Result<(), DeployError> {
    let backoff = ExponentialBackoff::LEASE_ACQUIRE;
    let started = runtime.now();
    let context = format!("failed to get lease on VM {}", blue.id());
    for attempt in 0u32.. {
        if cancelled.get() {
            return Err(DeployError::message("context canceled"));
        }
        let error = match api.acquire_lease(blue.id(), ttl).await {
            Ok(lease) if !lease.nonce.is_empty() => {
                *blue.nonce.borrow_mut() = Some(lease.nonce);
                return Ok(());
            }
            Ok(_) => DeployError::message(format!("{context}: lease response has no nonce")),
            Err(error) => DeployError::api(context.clone(), error),
        };
        if !retry {
            return Err(error);
        }
        let wait = backoff.randomized_wait(attempt, runtime.random_u64());
        if runtime.now().saturating_sub(started) + wait > backoff.elapsed_max {
            return Err(error);
        }
        runtime.sleep(wait).await;
    }
    unreachable!("the elapsed-time bound ends the loop")
}

/// The background refresh loops, one per blue. They end at their next wake-up once
/// [`RefreshLoops::stop`] is called, when their machine is destroyed, or on "not found".
pub struct RefreshLoops {
    stopped: Rc<Cell<bool>>,
}

impl RefreshLoops {
    pub fn stop(&self) {
        self.stopped.set(true);
    }
}

/// A deploy future dropped mid-way (the deployer killed) must not leave refresh loops running.
impl Drop for RefreshLoops {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Refresh period: (TTL − 1 s) / 3, so 4 s for the 13 s default (§2).
pub fn refresh_period(ttl: Duration) -> Duration {
    assert!(ttl > Duration::from_secs(1), "lease TTL must exceed 1 s");
    (ttl - Duration::from_secs(1)) / 3
}

pub fn start_refresh<A: MachinesApi + 'static, R: Runtime>(
    api: &Rc<A>,
    runtime: &R,
    blues: &[Rc<LeasedMachine>],
    ttl: Duration,
) -> RefreshLoops {
    let stopped = Rc::new(Cell::new(false));
    for blue in blues {
        let (api, loop_runtime, blue, stopped) =
            (api.clone(), runtime.clone(), blue.clone(), stopped.clone());
        // Detached, like flyctl's goroutines; the stop flag bounds their lifetime.
        drop(runtime.spawn(async move {
            refresh_loop(&*api, &loop_runtime, &blue, ttl, &stopped).await;
        }));
    }
    RefreshLoops { stopped }
}

async fn refresh_loop<A: MachinesApi, R: Runtime>(
    api: &A,
    runtime: &R,
    blue: &LeasedMachine,
    ttl: Duration,
    stopped: &Cell<bool>,
) {
    let period = refresh_period(ttl);
    let jitter_max = Duration::from_millis(20);
    loop {
        // ±20 ms jitter, uniform in whole microseconds.
        let span_us = 2 * jitter_max.as_micros() as u64 + 1;
        let offset_us = runtime.random_u64() % span_us;
        let sleep = period - jitter_max + Duration::from_micros(offset_us);
        runtime.sleep(sleep).await;
        if stopped.get() || blue.is_destroyed() {
            return;
        }
        let Some(nonce) = blue.nonce() else {
            return;
        };
        match api.refresh_lease(blue.id(), ttl, &nonce).await {
            // A refresh must return the same nonce; a different one is an error that flyctl only
            // logs (not printed here).
            Ok(_) => {}
            Err(error) if error.is_not_found() => return,
            Err(_) => {}
        }
    }
}

/// The deferred release: in parallel, skipping destroyed machines and those never leased;
/// a 404 ("lease not found") is ignored, as are other errors (flyctl only logs them).
pub async fn release_leases<A: MachinesApi + 'static, R: Runtime>(
    api: &Rc<A>,
    runtime: &R,
    blues: &[Rc<LeasedMachine>],
) {
    let handles: Vec<_> = blues
        .iter()
        .filter(|blue| !blue.is_destroyed())
        .filter_map(|blue| blue.nonce.borrow_mut().take().map(|nonce| (blue, nonce)))
        .map(|(blue, nonce)| {
            let (api, id) = (api.clone(), blue.id().clone());
            runtime.spawn(async move {
                let _ = api.release_lease(&id, &nonce).await;
            })
        })
        .collect();
    for handle in handles {
        handle.await;
    }
}
