//! Blue teardown (§3.10–§3.14): cordon, stop, wait for stopped, destroy. Per-machine failures are
//! non-fatal (warned, or listed as hanging); only an abort, or the stop-wait ticker, fails a phase.
//! versions §1.1 step 10, §2.1 steps 11–15: sequential before 2024-03-04 (the first abort ends the
//! phase), single calls, failed destroys silently hanging.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;

use super::{format_destroy_command, formatted_id, BlueEntry, Bluegreen};
use crate::api::{ApiError, HostStatus, MachinesApi, Runtime, WaitState};
use crate::deploy::errors::{DeployError, Sentinel};
use crate::deploy::pool::run_fanout;
use crate::deploy::retry::retry;
use crate::deploy::wait::{wait_for_start_or_stop, CancelOnDrop, WaitTarget, POLL_INTERVAL};

impl<A: MachinesApi + 'static, R: Runtime> Bluegreen<A, R> {
    /// Blues the cordon, stop and stop-wait phases act on: at HEAD, hosts that are not ok are
    /// skipped (they are force-destroyed at the end).
    fn reachable_blues(&self) -> Vec<Rc<BlueEntry>> {
        self.blues()
            .into_iter()
            .filter(|blue| {
                !self.behaviour.skip_unhealthy_hosts
                    || blue.leased.machine.host_status == HostStatus::Ok
            })
            .collect()
    }

    /// A cordon/stop/destroy call with HEAD's teardown retry on transient errors (§2). The error
    /// reported after the retries is the last one.
    async fn teardown_call<Op, Fut>(&self, operation: Op) -> Result<(), ApiError>
    where
        Op: FnMut() -> Fut,
        Fut: Future<Output = Result<(), ApiError>>,
    {
        let mut operation = operation;
        match self.behaviour.teardown_retry {
            None => operation().await,
            Some(policy) => retry(
                &self.runtime,
                policy,
                ApiError::is_transient,
                |_, _| {},
                operation,
            )
            .await
            .map_err(|failure| failure.last().clone()),
        }
    }

    /// `CordonBlueMachines`: with the blue's lease nonce; failures are printed and skipped.
    pub(super) async fn cordon_blues(self: &Rc<Self>) -> Result<(), DeployError> {
        let strategy = self.clone();
        run_fanout(
            &self.runtime,
            self.behaviour.fanout,
            self.params.max_concurrent,
            self.reachable_blues(),
            move |_, blue| {
                let strategy = strategy.clone();
                async move {
                    if strategy.runtime.abort_requested() {
                        return Err(DeployError::from(Sentinel::Aborted));
                    }
                    let nonce = blue.leased.nonce();
                    let id = blue.leased.id();
                    let name = formatted_id(&blue.leased.machine);
                    let result = strategy
                        .teardown_call(|| strategy.api.cordon(id, nonce.as_deref()))
                        .await;
                    match result {
                        Ok(()) => strategy.print(&format!("  Machine {name} cordoned")),
                        Err(error) => {
                            strategy.print(&format!("  Failed to cordon machine {name}: {error}"))
                        }
                    }
                    Ok(())
                }
            },
        )
        .await
    }

    /// `StopBlueMachines`: the configured signal (None: the platform's kill signal) and the nonce;
    /// failures are printed and skipped (the blues are force-destroyed later anyway).
    pub(super) async fn stop_blues(self: &Rc<Self>) -> Result<(), DeployError> {
        let strategy = self.clone();
        run_fanout(
            &self.runtime,
            self.behaviour.fanout,
            self.params.max_concurrent,
            self.reachable_blues(),
            move |_, blue| {
                let strategy = strategy.clone();
                async move {
                    if strategy.runtime.abort_requested() {
                        return Err(DeployError::from(Sentinel::Aborted));
                    }
                    let nonce = blue.leased.nonce();
                    let signal = strategy.params.signal.clone();
                    let id = blue.leased.id();
                    let result = strategy
                        .teardown_call(|| {
                            strategy.api.stop(id, signal.as_deref(), nonce.as_deref())
                        })
                        .await;
                    if let Err(error) = result {
                        let name = formatted_id(&blue.leased.machine);
                        strategy.print(&format!("  Failed to stop machine {name}: {error}"));
                    }
                    Ok(())
                }
            },
        )
        .await
    }

    /// `WaitForBlueMachinesToBeStopped`: per-machine failures are collected and returned (the
    /// caller prints them and continues); the ticker (`ErrWaitTimeout`) and an abort are fatal.
    ///
    /// §3.13: in flyctl a failed machine counts as done only once the phase loop has received its
    /// error, in a `select` that races the ticker; `pending` models that channel, and the ticker
    /// is checked first (the deterministic choice, as in the green waits).
    pub(super) async fn wait_for_blues_stopped(
        self: &Rc<Self>,
    ) -> Result<Vec<String>, DeployError> {
        let waitable = self.reachable_blues();
        let pending: Rc<RefCell<VecDeque<String>>> = Rc::new(RefCell::new(VecDeque::new()));
        let stopped = Rc::new(Cell::new(0usize));
        let cancelled = Rc::new(Cell::new(false));
        let _cancel = CancelOnDrop(cancelled.clone());
        for blue in &waitable {
            let (strategy, blue) = (self.clone(), blue.clone());
            let (pending, stopped, cancelled) =
                (pending.clone(), stopped.clone(), cancelled.clone());
            drop(self.runtime.spawn(async move {
                let target = WaitTarget {
                    machine: blue.leased.id(),
                    restart_policy: blue.leased.machine.config.restart_policy,
                    state: WaitState::Stopped,
                };
                let timeout = strategy.params.stop_wait_timeout();
                let api = &*strategy.api;
                match wait_for_start_or_stop(api, &strategy.runtime, target, timeout, &cancelled)
                    .await
                {
                    Ok(()) => stopped.set(stopped.get() + 1),
                    Err(error) => {
                        let name = formatted_id(&blue.leased.machine);
                        let failure = format!("failed to stop machine {name}: {error}");
                        pending.borrow_mut().push_back(failure);
                    }
                }
            }));
        }
        let deadline = self.runtime.now() + self.params.stop_wait_timeout();
        let mut failures = Vec::new();
        loop {
            if stopped.get() + failures.len() == waitable.len() {
                return Ok(failures);
            }
            if self.runtime.abort_requested() {
                return Err(DeployError::from(Sentinel::Aborted));
            }
            if self.runtime.now() >= deadline {
                return Err(DeployError::from(Sentinel::WaitTimeout));
            }
            let received = pending.borrow_mut().pop_front();
            match received {
                Some(failure) => failures.push(failure),
                None => self.runtime.sleep(POLL_INTERVAL).await,
            }
        }
    }

    /// `DestroyBlueMachines`: kill-destroy through the lease (nonce), or directly without a nonce
    /// when the host is not ok; a 404 counts as destroyed; a final failure makes the blue hanging
    /// and does not fail the phase. Only an abort does.
    pub(super) async fn destroy_blues(self: &Rc<Self>) -> Result<(), DeployError> {
        let strategy = self.clone();
        run_fanout(
            &self.runtime,
            self.behaviour.fanout,
            self.params.max_concurrent,
            self.blues(),
            move |_, blue| {
                let strategy = strategy.clone();
                async move { strategy.destroy_blue(&blue).await }
            },
        )
        .await?;

        let hanging = self.hanging.borrow().clone();
        if self.behaviour.print_hanging && !hanging.is_empty() {
            self.print(&format!(
                "  Failed to destroy {} machine(s). Remove them manually with:",
                hanging.len()
            ));
            for line in format_destroy_command(&self.params.app_name, &hanging) {
                self.print(&format!("    {line}"));
            }
        }
        Ok(())
    }

    async fn destroy_blue(&self, blue: &BlueEntry) -> Result<(), DeployError> {
        if self.runtime.abort_requested() {
            return Err(Sentinel::Aborted.into());
        }
        let leased = &blue.leased;
        let host_ok = leased.machine.host_status == HostStatus::Ok;
        let result = if leased.is_destroyed() {
            Ok(())
        } else {
            let nonce = if host_ok || !self.behaviour.skip_unhealthy_hosts {
                leased.nonce()
            } else {
                None
            };
            let destroyed = self
                .teardown_call(|| self.api.destroy(leased.id(), true, nonce.as_deref()))
                .await;
            match destroyed {
                Err(error)
                    if error.is_not_found() && self.behaviour.destroy_not_found_is_success =>
                {
                    Ok(())
                }
                other => other,
            }
        };
        match result {
            Ok(()) => {
                leased.mark_destroyed();
                let name = formatted_id(&leased.machine);
                self.print(&format!("  Machine {name} destroyed"));
            }
            Err(_) => self.hanging.borrow_mut().push(leased.id().clone()),
        }
        Ok(())
    }
}
