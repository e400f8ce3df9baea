//! Blue teardown (§3.10–§3.14): cordon, stop, wait for stopped, destroy. Per-machine failures are
//! non-fatal (warned, or listed as hanging); only an abort, or the stop-wait ticker, fails a phase.
//! versions §1.1 step 10, §2.1 steps 11–15: sequential before 2024-03-04 (the first abort ends the
//! phase), single calls, failed destroys silently hanging.

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

use super::{formatted_id, BlueEntry, Bluegreen};
use crate::api::{ApiError, HostStatus, MachinesApi, Runtime, WaitState};
use crate::deploy::behaviour::Fanout;
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

    /// A cordon/stop/destroy call (`step` names it in the output) with HEAD's teardown retry on
    /// transient errors (§2, `3eb236fab`): each retry prints `Retrying <step> for machine <id>
    /// (attempt n/N)` and a final failure `[warn] Failed to <step> machine <id> after N attempts:
    /// <err>`, N being the configured attempts as in the checkpoint's warning (wording as issue
    /// 10 quotes HEAD; `3eb236fab` itself is not in the index this port was checked against).
    /// Without the retry (2024) the failure is returned unprinted: the callers print 2024's
    /// lines. The error returned is the last one.
    async fn teardown_call<Op, Fut>(
        &self,
        step: &str,
        blue: &BlueEntry,
        operation: Op,
    ) -> Result<(), ApiError>
    where
        Op: FnMut() -> Fut,
        Fut: Future<Output = Result<(), ApiError>>,
    {
        let mut operation = operation;
        let Some(policy) = self.behaviour.teardown_retry else {
            return operation().await;
        };
        let name = formatted_id(&blue.leased.machine);
        let attempts = policy.attempts;
        let on_retry = |attempt: u32, _: &ApiError| {
            self.print(&format!(
                "  Retrying {step} for machine {name} (attempt {}/{attempts})",
                attempt + 2
            ))
        };
        let result = retry(
            &self.runtime,
            policy,
            ApiError::is_transient,
            on_retry,
            operation,
        )
        .await;
        result.map_err(|failure| {
            let error = failure.last().clone();
            // HEAD's 404 on destroy is a success (`3eb236fab`), not a failure to warn about.
            if !(step == "destroy" && error.is_not_found()) {
                self.print(&format!(
                    "  [warn] Failed to {step} machine {name} after {attempts} attempts: {error}"
                ));
            }
            error
        })
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
                        .teardown_call("cordon", &blue, || {
                            strategy.api.cordon(id, nonce.as_deref())
                        })
                        .await;
                    match result {
                        Ok(()) => strategy.print(&format!("  Machine {name} cordoned")),
                        // versions §2.1 step 11: 2024's single call prints its failure.
                        Err(error) if strategy.behaviour.teardown_retry.is_none() => {
                            strategy.print(&format!("  Failed to cordon machine {name}: {error}"))
                        }
                        Err(_) => {}
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
                        .teardown_call("stop", &blue, || {
                            strategy.api.stop(id, signal.as_deref(), nonce.as_deref())
                        })
                        .await;
                    // versions §2.1 step 13: 2024's single call prints its failure.
                    if let Err(error) = result {
                        if strategy.behaviour.teardown_retry.is_none() {
                            let name = formatted_id(&blue.leased.machine);
                            strategy.print(&format!("  Failed to stop machine {name}: {error}"));
                        }
                    }
                    Ok(())
                }
            },
        )
        .await
    }

    /// `WaitForBlueMachinesToBeStopped`: per-machine failures are collected and their number
    /// returned (the caller prints them and continues); the ticker (`ErrWaitTimeout`) and an abort
    /// are fatal.
    ///
    /// §3.13, versions §2.1 step 14: a waiter goroutine sends its error on an unbuffered channel
    /// and only then counts itself done (`done.Add(1)`); the loop looks at `done`, then `select`s
    /// on the ticker, the channel and a 90 ms `default`. Two races follow, both modelled:
    /// - A blue that never stops fails its own wait at the ticker's instant (both run on the
    ///   stop-wait budget), so the loop finds both cases ready and Go's `select` picks one
    ///   uniformly: drawn here from the deployer's seeded stream ([`select_ticker`]).
    /// - When it picks the error, the woken sender sits in the receiving processor's `runnext`
    ///   slot and runs only once the loop blocks, while the loop comes round at once: it looks
    ///   at `done` before the sender counted itself, finds the ticker still ready and returns
    ///   the timeout. So a sender's `done` lands only when the loop next sleeps
    ///   (`counted`). A blue whose wait fails before the ticker (a 400, say) is received, then
    ///   counted during the next sleep, and the phase ends without a fatal error.
    ///
    /// The reference's inference ("the fatal branch wins in almost all runs") is what this gives:
    /// the error case is drawn half the time at a tie, but a hanging blue still ends the phase
    /// with "wait timeout". Go's runtime could deschedule the loop between the receive and its
    /// next look (a GC assist in the append); that rare path is not modelled.
    pub(super) async fn wait_for_blues_stopped(self: &Rc<Self>) -> Result<usize, DeployError> {
        let waitable = self.reachable_blues();
        let unreceived = Rc::new(Cell::new(0usize));
        let stopped = Rc::new(Cell::new(0usize));
        let cancelled = Rc::new(Cell::new(false));
        let _cancel = CancelOnDrop(cancelled.clone());
        let timeout = self.params.stop_wait_timeout();
        for blue in &waitable {
            let (strategy, blue) = (self.clone(), blue.clone());
            let (unreceived, stopped, cancelled) =
                (unreceived.clone(), stopped.clone(), cancelled.clone());
            drop(self.runtime.spawn(async move {
                let target = WaitTarget {
                    machine: blue.leased.id(),
                    restart_policy: blue.leased.machine.config.restart_policy,
                    state: WaitState::Stopped,
                };
                let api = &*strategy.api;
                match wait_for_start_or_stop(api, &strategy.runtime, target, timeout, &cancelled)
                    .await
                {
                    Ok(()) => stopped.set(stopped.get() + 1),
                    Err(_) => unreceived.set(unreceived.get() + 1),
                }
            }));
        }
        let deadline = self.runtime.now() + timeout;
        let (mut received, mut counted) = (0, 0);
        loop {
            if stopped.get() + counted == waitable.len() {
                return Ok(received);
            }
            if self.runtime.abort_requested() {
                return Err(DeployError::from(Sentinel::Aborted));
            }
            let ticker = self.runtime.now() >= deadline;
            let error = unreceived.get() > 0;
            if ticker && (!error || select_ticker(&self.runtime)) {
                return Err(DeployError::from(Sentinel::WaitTimeout));
            }
            if error {
                unreceived.set(unreceived.get() - 1);
                received += 1;
            } else {
                self.runtime.sleep(POLL_INTERVAL).await;
                counted = received;
            }
        }
    }

    /// `DestroyBlueMachines`: kill-destroy through the lease (nonce), or directly without a nonce
    /// when the host is not ok; a 404 counts as destroyed; a final failure makes the blue hanging
    /// and does not fail the phase. Only an abort does.
    ///
    /// versions §2.1 step 15 (`60a377c1f`, v0.2.12–v0.2.16): a pool of 16 whose tasks capture
    /// the shared loop variable (Go 1.21 loop semantics). A task reads it twice: for the destroy
    /// call, while the loop still waits for the pool to take the task over (conc's `Go` blocks
    /// until a worker receives it, and the worker runs the task at once), so the call targets
    /// the intended blue; and after the call returns, for the success line and the hanging-list
    /// ID, when the loop has moved on to the blue handed over last. The port reads that second
    /// value as the blue most recently taken by the pool. A preempted worker can read a later
    /// blue for the call itself (one blue destroyed twice, another never); that needs the Go
    /// scheduler to run the loop ahead of a worker it just woke, and is not modelled.
    pub(super) async fn destroy_blues(self: &Rc<Self>) -> Result<(), DeployError> {
        let blues = self.blues();
        let race = self.behaviour.destroy_loop_variable_race;
        let (fanout, size) = if race {
            (Fanout::Pool, 16)
        } else {
            (self.behaviour.fanout, self.params.max_concurrent)
        };
        let loop_variable = Rc::new(Cell::new(0usize));
        let strategy = self.clone();
        let named_blues = blues.clone();
        run_fanout(&self.runtime, fanout, size, blues, move |index, blue| {
            let (strategy, loop_variable) = (strategy.clone(), loop_variable.clone());
            let named_blues = named_blues.clone();
            async move {
                loop_variable.set(index);
                let destroyed = strategy.destroy_blue(&blue).await?;
                let named = if race {
                    named_blues[loop_variable.get()].clone()
                } else {
                    blue
                };
                let leased = &named.leased;
                if destroyed {
                    let name = formatted_id(&leased.machine);
                    strategy.print(&format!("  Machine {name} destroyed"));
                } else {
                    strategy.hanging.borrow_mut().push(leased.id().clone());
                }
                Ok::<(), DeployError>(())
            }
        })
        .await?;

        let hanging = self.hanging.borrow().clone();
        if self.behaviour.print_hanging && !hanging.is_empty() {
            self.print(&format!(
                "  Failed to destroy {} machine(s). Remove them manually with:",
                hanging.len()
            ));
            self.print_destroy_command(&hanging);
        }
        Ok(())
    }

    /// Destroys one blue; Ok(false) when it could not be destroyed (it is hanging).
    async fn destroy_blue(&self, blue: &BlueEntry) -> Result<bool, DeployError> {
        if self.runtime.abort_requested() {
            return Err(Sentinel::Aborted.into());
        }
        let leased = &blue.leased;
        if leased.is_destroyed() {
            return Ok(true);
        }
        let host_ok = leased.machine.host_status == HostStatus::Ok;
        let nonce = if host_ok || !self.behaviour.skip_unhealthy_hosts {
            leased.nonce()
        } else {
            None
        };
        let destroyed = self
            .teardown_call("destroy", blue, || {
                self.api.destroy(leased.id(), true, nonce.as_deref())
            })
            .await;
        let gone = match destroyed {
            Ok(()) => true,
            Err(error) => error.is_not_found() && self.behaviour.destroy_not_found_is_success,
        };
        if gone {
            leased.mark_destroyed();
        }
        Ok(gone)
    }
}

/// Go's `select` between two ready cases: true for the first (the ticker). One draw from the
/// deployer's seeded stream, only when both are ready, so runs without such a tie draw nothing.
fn select_ticker<R: Runtime>(runtime: &R) -> bool {
    runtime.random_u64() % 2 == 0
}
