//! The traffic switch (§3.7: uncordon every green) and the checkpoint (§3.8: tag every blue
//! `safe_to_destroy`).

use std::cell::RefCell;
use std::rc::Rc;

use super::{formatted_id, BlueEntry, Bluegreen, GreenEntry};
use crate::api::{
    ApiError, MachineId, MachinesApi, Runtime, DEPLOYMENT_TAG_SAFE_TO_DESTROY,
    METADATA_DEPLOYMENT_TAG,
};
use crate::deploy::behaviour::CheckpointMode;
use crate::deploy::errors::{DeployError, Sentinel};
use crate::deploy::pool::{run_fanout, run_pool};
use crate::deploy::retry::retry;

impl<A: MachinesApi + 'static, R: Runtime> Bluegreen<A, R> {
    /// `MarkGreenMachinesAsReadyForTraffic`: a pool of max concurrent; each uncordon (no nonce:
    /// greens are never leased) is retried on any error (§2). versions §1.1 step 9: one green at
    /// a time before 2024-04-08; versions §3.1 step 9: a single call before `d9b20ae08`.
    pub(super) async fn mark_greens_ready(self: &Rc<Self>) -> Result<(), DeployError> {
        let greens: Vec<Rc<GreenEntry>> = self.greens.borrow().clone();
        let strategy = self.clone();
        run_fanout(
            &self.runtime,
            self.behaviour.fanout,
            self.params.max_concurrent,
            greens,
            move |_, green| {
                let strategy = strategy.clone();
                async move { strategy.uncordon_green(&green).await }
            },
        )
        .await
    }

    async fn uncordon_green(&self, green: &GreenEntry) -> Result<(), DeployError> {
        if self.runtime.abort_requested() {
            return Err(Sentinel::Aborted.into());
        }
        let policy = self.behaviour.uncordon_retry;
        let name = formatted_id(&green.machine);
        let result = retry(
            &self.runtime,
            policy,
            |_: &ApiError| true,
            |attempt, error| {
                self.print(&format!(
                    "  Retrying uncordon for machine {name} (attempt {}/{}): {error}",
                    attempt + 2,
                    policy.attempts
                ))
            },
            || self.api.uncordon(&green.machine.id, None),
        )
        .await;
        match result {
            // retry-go without `LastErrorOnly` reports every attempt's error.
            Err(failure) if failure.errors.len() > 1 => {
                Err(DeployError::message(failure.all_attempts_text()))
            }
            Err(failure) => Err(DeployError::api("", failure.last().clone())),
            Ok(()) => {
                self.print(&format!("  Machine {name} now ready"));
                Ok(())
            }
        }
    }

    /// `TagBlueMachinesAsSafeForDeletion` at HEAD: retried on transient errors and non-fatal; the
    /// tasks do not check the abort flag (the check after the phase does).
    pub(super) async fn tag_blues_safe_for_deletion(self: &Rc<Self>) -> Result<(), DeployError> {
        if self.behaviour.checkpoint == CheckpointMode::Fatal {
            return self.tag_blues_single_call().await;
        }
        let untagged: Rc<RefCell<Vec<MachineId>>> = Rc::new(RefCell::new(Vec::new()));
        let (strategy, task_untagged) = (self.clone(), untagged.clone());
        let blues: Vec<Rc<BlueEntry>> = self.blues();
        run_pool(
            &self.runtime,
            self.params.max_concurrent,
            blues,
            move |_, blue| {
                let (strategy, untagged) = (strategy.clone(), task_untagged.clone());
                async move {
                    if !strategy.tag_blue(&blue).await {
                        untagged.borrow_mut().push(blue.leased.id().clone());
                    }
                    Ok::<(), DeployError>(())
                }
            },
        )
        .await
        .wait()?;

        let untagged = untagged.borrow();
        if !untagged.is_empty() {
            self.print(&format!(
                "  [warn] {} blue machine(s) could not be tagged safe-for-deletion. The deployment will still proceed; if a later step fails you may need to remove them manually with:",
                untagged.len()
            ));
            self.print_destroy_command(&untagged);
        }
        Ok(())
    }

    /// versions §3.1 step 11 (2024-05): a pool of max concurrent, one call per blue, no nonce, no
    /// retry; the first error is returned (the caller makes it fatal).
    async fn tag_blues_single_call(self: &Rc<Self>) -> Result<(), DeployError> {
        let strategy = self.clone();
        run_fanout(
            &self.runtime,
            self.behaviour.fanout,
            self.params.max_concurrent,
            self.blues(),
            move |_, blue| {
                let strategy = strategy.clone();
                async move {
                    let id = blue.leased.id();
                    let key = METADATA_DEPLOYMENT_TAG;
                    let tagged = strategy
                        .api
                        .set_metadata(id, key, DEPLOYMENT_TAG_SAFE_TO_DESTROY)
                        .await;
                    tagged.map_err(|error| DeployError::api("", error))
                }
            },
        )
        .await
    }

    /// Tags one blue; false when it could not be tagged (already warned).
    async fn tag_blue(&self, blue: &BlueEntry) -> bool {
        let CheckpointMode::RetriedNonFatal(policy) = self.behaviour.checkpoint else {
            unreachable!("checked in Bluegreen::new");
        };
        let name = formatted_id(&blue.leased.machine);
        let result = retry(
            &self.runtime,
            policy,
            ApiError::is_transient,
            |attempt, error| {
                self.print(&format!(
                    "  Retrying safe-for-deletion tag for machine {name} (attempt {}/{}): {error}",
                    attempt + 2,
                    policy.attempts
                ))
            },
            || {
                self.api.set_metadata(
                    blue.leased.id(),
                    METADATA_DEPLOYMENT_TAG,
                    DEPLOYMENT_TAG_SAFE_TO_DESTROY,
                )
            },
        )
        .await;
        match result {
            Ok(()) => true,
            Err(failure) => {
                // `LastErrorOnly(true)`; the attempt count printed is the configured one.
                self.print(&format!(
                    "  [warn] Could not tag machine {name} as safe-for-deletion after {} attempts: {}",
                    policy.attempts,
                    failure.last()
                ));
                false
            }
        }
    }
}
