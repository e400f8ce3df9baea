//! flyctl's `bluegreen` strategy (`strategy_bluegreen.go` at HEAD `ad0172fac`; reference §3–§6).
//!
//! [`Bluegreen::deploy`] runs the phases in flyctl's order; each phase lives in its own module:
//! - `preflight`: org limit (§3.0), single image (§3.1), checks required (§3.2);
//! - `create`: green machines (§3.4);
//! - `wait_green`: start and health waits (§3.5, §3.6);
//! - `switch`: uncordon greens and the checkpoint (§3.7, §3.8);
//! - `teardown`: cordon, stop, stop-wait and destroy of blues (§3.10–§3.14);
//! - `rollback`: `CanDestroyGreenMachines` and `Rollback` (§5).
//!
//! Output: every progress line flyctl prints, one `Runtime::print` per line; the blank separator
//! lines flyctl prints around headers and reports are omitted.

mod create;
mod preflight;
mod rollback;
mod switch;
mod teardown;
mod wait_green;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::api::{LaunchInput, Machine, MachineId, MachinesApi, Marker, Phase, Runtime};
use crate::deploy::behaviour::{Behaviour, CheckpointMode, CreateMode, GreenRecording};
use crate::deploy::errors::{DeployError, Sentinel};
use crate::deploy::lease::LeasedMachine;
use crate::deploy::wait::sleep_abortable;
use crate::deploy::DeployParams;

pub use rollback::RollbackAction;

/// A blue: the leased machine and its desired launch input (`machineUpdateEntry`).
pub struct BlueEntry {
    pub leased: Rc<LeasedMachine>,
    pub input: LaunchInput,
}

/// A green the strategy recorded: the machine as created (or adopted) and its launch input.
pub struct GreenEntry {
    pub machine: Machine,
    pub input: LaunchInput,
}

/// The strategy object (`blueGreen`). Shared as `Rc<Bluegreen>` so pool tasks can hold it.
pub struct Bluegreen<A, R> {
    api: Rc<A>,
    runtime: R,
    params: DeployParams,
    behaviour: Behaviour,
    blues: Vec<Rc<BlueEntry>>,
    greens: RefCell<Vec<Rc<GreenEntry>>>,
    hanging: RefCell<Vec<MachineId>>,
    /// `rollbackLog.canDeleteGreenMachines`: false from the point of no return on.
    can_delete_greens: Cell<bool>,
    /// `fly_bluegreen_deployment_tag` of every green: Unix seconds, taken once.
    timestamp: String,
}

impl<A: MachinesApi + 'static, R: Runtime> Bluegreen<A, R> {
    pub fn new(
        api: Rc<A>,
        runtime: R,
        params: DeployParams,
        behaviour: Behaviour,
        blues: Vec<BlueEntry>,
    ) -> Bluegreen<A, R> {
        assert!(params.max_concurrent >= 1);
        // Switches of historic versions that the phase code does not implement yet (issue 3).
        assert_eq!(behaviour.create_mode, CreateMode::PoolThird);
        assert_eq!(behaviour.green_recording, GreenRecording::Immediately);
        assert!(matches!(
            behaviour.checkpoint,
            CheckpointMode::RetriedNonFatal(_)
        ));
        assert!(behaviour.drain && behaviour.image_check);
        let timestamp = runtime.unix_time_seconds().to_string();
        Bluegreen {
            api,
            runtime,
            params,
            behaviour,
            blues: blues.into_iter().map(Rc::new).collect(),
            greens: RefCell::new(Vec::new()),
            hanging: RefCell::new(Vec::new()),
            can_delete_greens: Cell::new(true),
            timestamp,
        }
    }

    pub fn deployment_tag(&self) -> &str {
        &self.timestamp
    }

    pub fn green_ids(&self) -> Vec<MachineId> {
        self.greens
            .borrow()
            .iter()
            .map(|green| green.machine.id.clone())
            .collect()
    }

    pub fn hanging_ids(&self) -> Vec<MachineId> {
        self.hanging.borrow().clone()
    }

    fn print(&self, line: &str) {
        self.runtime.print(line);
    }

    fn phase(&self, phase: Phase) {
        self.runtime.mark(Marker::PhaseStarted(phase));
    }

    /// The abort check flyctl makes between phases (§6).
    fn check_abort(&self) -> Result<(), DeployError> {
        if self.runtime.abort_requested() {
            return Err(Sentinel::Aborted.into());
        }
        Ok(())
    }

    /// `Deploy()`: every phase in order; the error carries the sentinel rollback matches on.
    pub async fn deploy(self: &Rc<Self>) -> Result<(), DeployError> {
        self.preflight().await?;
        self.switch_to_greens().await?;
        self.drain_and_destroy_blues().await?;
        self.phase(Phase::Complete);
        self.print("Deployment Complete");
        Ok(())
    }

    /// §3.0–§3.2: nothing exists yet, so a failure here leaves nothing to roll back.
    async fn preflight(self: &Rc<Self>) -> Result<(), DeployError> {
        self.phase(Phase::OrgLimitCheck);
        self.check_abort()?;
        self.check_org_limit().await?;
        self.phase(Phase::ImageCheck);
        self.print("Verifying if app can be safely deployed");
        self.detect_multiple_image_versions().await?;
        self.phase(Phase::ChecksRequired);
        self.check_checks_configured()
    }

    /// §3.4–§3.7: create, start, health-gate and uncordon the greens; ends at the point of no
    /// return.
    async fn switch_to_greens(self: &Rc<Self>) -> Result<(), DeployError> {
        self.phase(Phase::CreateGreens);
        self.print("Creating green machines");
        self.create_green_machines()
            .await
            .map_err(|error| error.join(Sentinel::CreateGreenMachine))?;
        self.check_abort()?;

        self.phase(Phase::WaitStarted);
        // §2: "because computers are too fast" pause before the start wait.
        self.runtime.sleep(self.behaviour.post_create_pause).await;
        self.print("Waiting for all green machines to start");
        self.wait_for_greens_started()
            .await
            .map_err(|error| error.join(Sentinel::WaitForStartedState))?;
        self.check_abort()?;

        self.phase(Phase::WaitHealthy);
        self.print("Waiting for all green machines to be healthy");
        self.wait_for_greens_healthy()
            .await
            .map_err(|error| error.join(Sentinel::WaitForHealthy))?;
        self.check_abort()?;

        self.phase(Phase::MarkReady);
        self.print("Marking green machines as ready");
        self.mark_greens_ready()
            .await
            .map_err(|error| error.join(Sentinel::MarkReadyForTraffic))?;
        // §3.7: after this, a rollback never deletes greens.
        self.can_delete_greens.set(false);
        self.runtime.mark(Marker::PointOfNoReturn);
        Ok(())
    }

    /// §3.8–§3.14: checkpoint, the two 10 s waits around the cordon, stop, stop-wait, destroy.
    async fn drain_and_destroy_blues(self: &Rc<Self>) -> Result<(), DeployError> {
        self.check_abort()?;
        self.phase(Phase::Checkpoint);
        self.print("Checkpointing deployment, this may take a few seconds...");
        self.tag_blues_safe_for_deletion()
            .await
            .map_err(|error| error.join(Sentinel::TagForDeletion))?;
        self.check_abort()?;

        // §3.9: let fly-proxy see the new machines.
        self.phase(Phase::WaitBeforeCordon);
        self.print("Waiting before cordoning all blue machines");
        if sleep_abortable(&self.runtime, self.behaviour.wait_before_cordon).await {
            return Err(Sentinel::Aborted.into());
        }

        self.phase(Phase::CordonBlues);
        self.cordon_blues()
            .await
            .map_err(|error| error.join(Sentinel::CordonBlueMachines))?;
        self.check_abort()?;

        // §3.11: let fly-proxy forget the old machines.
        self.phase(Phase::WaitBeforeStop);
        self.print("Waiting before stopping all blue machines");
        if sleep_abortable(&self.runtime, self.behaviour.wait_before_stop).await {
            return Err(Sentinel::Aborted.into());
        }

        self.phase(Phase::StopBlues);
        self.print("Stopping all blue machines");
        self.stop_blues()
            .await
            .map_err(|error| error.join(Sentinel::StopBlueMachines))?;

        self.phase(Phase::WaitStopped);
        self.print("Waiting for all blue machines to stop");
        let stop_failures = self
            .wait_for_blues_stopped()
            .await
            .map_err(|error| error.join(Sentinel::WaitForStoppedState))?;
        if !stop_failures.is_empty() {
            self.print("Failed to stop some machines:");
            for failure in &stop_failures {
                self.print(&format!("  {failure}"));
            }
        }

        self.phase(Phase::DestroyBlues);
        self.print("Destroying all blue machines");
        self.destroy_blues()
            .await
            .map_err(|error| error.join(Sentinel::DestroyBlueMachines))
    }
}

/// `FormattedMachineId`: "<id> [<group>]", or the bare ID when the group metadata is missing.
pub fn formatted_id(machine: &Machine) -> String {
    match machine.metadata(crate::api::METADATA_PROCESS_GROUP) {
        Some(group) if !group.is_empty() => format!("{} [{group}]", machine.id),
        _ => machine.id.to_string(),
    }
}

/// `formatDestroyCommand`: one command, with backslash continuations when there are several IDs.
pub fn format_destroy_command(app_name: &str, ids: &[MachineId]) -> Vec<String> {
    assert!(!ids.is_empty());
    let base = format!("fly machine destroy --force -a {app_name}");
    if ids.len() == 1 {
        return vec![format!("{base} {}", ids[0])];
    }
    let mut lines = vec![format!("{base} \\")];
    for (index, id) in ids.iter().enumerate() {
        let continuation = if index + 1 < ids.len() { " \\" } else { "" };
        lines.push(format!("  {id}{continuation}"));
    }
    lines
}
