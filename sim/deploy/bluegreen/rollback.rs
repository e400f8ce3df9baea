//! Rollback (§5): which errors may delete the greens, and the sequential delete that stops at the
//! first error. Rollback never touches blues: at HEAD blues are cordoned only after the point of no
//! return; 2024-02's broad rollback deletes the greens of a drained fleet all the same (versions
//! §2.4).

use super::{formatted_id, Bluegreen};
use crate::api::{MachinesApi, Marker, Phase, Runtime};
use crate::deploy::behaviour::{RollbackOutput, RollbackRule};
use crate::deploy::errors::{DeployError, Sentinel};

/// What a successful rollback did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RollbackAction {
    /// No rule applied (preflight errors, errors after the point of no return).
    Nothing,
    /// A destroy-phase error: the hanging blues were printed.
    ReportedHanging,
    /// Every recorded green was destroyed.
    DestroyedGreens,
}

/// The sentinels whose errors delete greens (`CanDestroyGreenMachines`).
const GREEN_PHASE_SENTINELS: [Sentinel; 4] = [
    Sentinel::CreateGreenMachine,
    Sentinel::WaitForStartedState,
    Sentinel::WaitForHealthy,
    Sentinel::MarkReadyForTraffic,
];

impl<A: MachinesApi + 'static, R: Runtime> Bluegreen<A, R> {
    /// `CanDestroyGreenMachines`: a green-phase error, or an abort before the point of no return.
    /// versions §1.4, §2.4: the broad rule destroys after any error (the destroy phase's was
    /// handled before); versions §3.4: 2024-05 tests the error text for the sentinels' texts.
    pub fn can_destroy_green_machines(&self, error: &DeployError) -> bool {
        let matches = |sentinel: Sentinel| self.error_matches(error, sentinel);
        match self.behaviour.rollback_rule {
            RollbackRule::Broad => !matches(Sentinel::DestroyBlueMachines),
            RollbackRule::NarrowSubstring | RollbackRule::NarrowSentinels => {
                let green_phase = GREEN_PHASE_SENTINELS.into_iter().any(matches);
                green_phase || (matches(Sentinel::Aborted) && self.can_delete_greens.get())
            }
        }
    }

    /// `errors.Is` at HEAD; `strings.Contains(err.Error(), sentinel.Error())` before (versions
    /// §3.4, §3.7).
    fn error_matches(&self, error: &DeployError, sentinel: Sentinel) -> bool {
        match self.behaviour.rollback_rule {
            RollbackRule::NarrowSentinels => error.is(sentinel),
            RollbackRule::Broad | RollbackRule::NarrowSubstring => {
                error.to_string().contains(sentinel.text())
            }
        }
    }

    /// `Rollback(err)`.
    pub async fn rollback(&self, error: &DeployError) -> Result<RollbackAction, DeployError> {
        self.runtime.mark(Marker::PhaseStarted(Phase::Rollback));
        self.runtime.mark(Marker::RollbackStarted);
        let result = self.rollback_inner(error).await;
        self.runtime
            .mark(Marker::RollbackFinished { ok: result.is_ok() });
        result
    }

    async fn rollback_inner(&self, error: &DeployError) -> Result<RollbackAction, DeployError> {
        if self.error_matches(error, Sentinel::DestroyBlueMachines) {
            let hanging: Vec<String> = self
                .hanging
                .borrow()
                .iter()
                .map(|id| id.0.clone())
                .collect();
            self.print(&format!(
                "Failed to destroy blue machines ({})",
                hanging.join(",")
            ));
            self.print("You can destroy them using `fly machines destroy --force <id>`");
            return Ok(RollbackAction::ReportedHanging);
        }
        if !self.can_destroy_green_machines(error) {
            return Ok(RollbackAction::Nothing);
        }
        // Blues are cordoned only after the point of no return, so a narrow rollback always finds
        // them serving. The broad rule (2023-06, 2024-02) has no such point: in 2024-02 it runs
        // after blues were cordoned and stopped (versions §2.4, incident 3).
        if self.behaviour.rollback_rule != RollbackRule::Broad {
            let green_phase = GREEN_PHASE_SENTINELS.iter().any(|s| error.is(*s));
            assert!(self.can_delete_greens.get() || green_phase);
        }
        if self.behaviour.rollback_output != RollbackOutput::Silent {
            self.print("Rolling back failed deployment");
        }
        let greens = self.greens.borrow().clone();
        for green in &greens {
            // One at a time, kill, no nonce (greens are never leased); the first error ends the
            // rollback and leaves the remaining greens behind.
            let id = &green.machine.id;
            if let Err(error) = self.api.destroy(id, true, None).await {
                return Err(DeployError::api(
                    format!("failed to destroy VM {id}"),
                    error,
                ));
            }
            if self.behaviour.rollback_output == RollbackOutput::HeaderAndDeleted {
                let name = formatted_id(&green.machine);
                self.print(&format!("  Deleted machine {name}"));
            }
        }
        Ok(RollbackAction::DestroyedGreens)
    }
}
