//! Rollback (§5): which errors may delete the greens, and the sequential delete that stops at the
//! first error. Rollback never touches blues: blues are cordoned only after the point of no return.

use super::{formatted_id, Bluegreen};
use crate::api::{MachinesApi, Marker, Phase, Runtime};
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
    pub fn can_destroy_green_machines(&self, error: &DeployError) -> bool {
        let green_phase = GREEN_PHASE_SENTINELS
            .iter()
            .any(|sentinel| error.is(*sentinel));
        green_phase || (error.is(Sentinel::Aborted) && self.can_delete_greens.get())
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
        if error.is(Sentinel::DestroyBlueMachines) {
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
        // Blues are cordoned only after the point of no return, so a green-deleting rollback
        // always finds them serving.
        assert!(self.can_delete_greens.get() || GREEN_PHASE_SENTINELS.iter().any(|s| error.is(*s)));
        self.print("Rolling back failed deployment");
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
            self.print(&format!(
                "  Deleted machine {}",
                formatted_id(&green.machine)
            ));
        }
        Ok(RollbackAction::DestroyedGreens)
    }
}
