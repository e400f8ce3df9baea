//! flyctl's `bluegreen` strategy (`strategy_bluegreen.go` at HEAD `ad0172fac`; reference §3–§6),
//! and its historic versions 2023-06, 2024-02 and 2024-05 (`flyctl-bluegreen-versions.md`, cited
//! as "versions §…"): one implementation, each difference a [`Behaviour`] switch read here or in
//! the phase modules.
//!
//! [`Bluegreen::deploy`] runs the phases in flyctl's order; each phase lives in its own module:
//! - `preflight`: org limit (§3.0), single image (§3.1), checks required (§3.2), and the 2023/2024
//!   check synthesis (versions §1.1 step 3);
//! - `reaper`: the 2024-02 zombie reaper (versions §2.5);
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
mod reaper;
mod rollback;
mod switch;
mod teardown;
mod wait_green;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::api::{LaunchInput, Machine, MachineId, MachinesApi, Marker, Phase, Runtime};
use crate::deploy::behaviour::{Behaviour, CheckpointMode};
use crate::deploy::errors::{DeployError, Sentinel};
use crate::deploy::lease::LeasedMachine;
use crate::deploy::wait::sleep_abortable;
use crate::deploy::DeployParams;
use crate::observe::{Invariant, InvariantSet};

pub use rollback::RollbackAction;

/// The invariants bluegreen answers for (every version): all of them but `max-unavailable`, which
/// is about updating machines in place. Its method adds the switch (`health-gated-switch`,
/// `no-vacuous-health`, `green-kept-after-switch`), the drain of blues (`drain-order`), its
/// rollback and abort rules (`rollback-spares-blue`, `abort-safety`), its launches
/// (`idempotent-create`) and its pools (`concurrency-limit`).
pub const INVARIANTS: InvariantSet = InvariantSet::EVERY_STRATEGY
    .with(Invariant::RollbackSparesBlue)
    .with(Invariant::GreenKeptAfterSwitch)
    .with(Invariant::DrainOrder)
    .with(Invariant::HealthGatedSwitch)
    .with(Invariant::IdempotentCreate)
    .with(Invariant::AbortSafety)
    .with(Invariant::ConcurrencyLimit)
    .with(Invariant::NoVacuousHealth);

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
    /// The blue list; the reaper drops entries and check synthesis rewrites inputs (versions
    /// §2.5, §1.1 step 3), so it is read through [`Bluegreen::blues`].
    blues: RefCell<Vec<Rc<BlueEntry>>>,
    greens: RefCell<Vec<Rc<GreenEntry>>>,
    /// The IDs in `greens` (only ever appended to), so checking a new green is not a duplicate
    /// costs O(log N) instead of a scan of the list (which made creating N greens O(N²)).
    green_ids: RefCell<std::collections::BTreeSet<MachineId>>,
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
        let timestamp = runtime.unix_time_seconds().to_string();
        Bluegreen {
            api,
            runtime,
            params,
            behaviour,
            blues: RefCell::new(blues.into_iter().map(Rc::new).collect()),
            greens: RefCell::new(Vec::new()),
            green_ids: RefCell::new(std::collections::BTreeSet::new()),
            hanging: RefCell::new(Vec::new()),
            can_delete_greens: Cell::new(true),
            timestamp,
        }
    }

    /// The current blue list (a snapshot).
    fn blues(&self) -> Vec<Rc<BlueEntry>> {
        self.blues.borrow().clone()
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

    /// §3.0–§3.2: no green exists yet, so a failure here leaves nothing to roll back (the
    /// reaper's destroys are not undone either).
    async fn preflight(self: &Rc<Self>) -> Result<(), DeployError> {
        self.phase(Phase::OrgLimitCheck);
        self.check_abort()?;
        self.check_org_limit().await?;
        // versions §2.1 step 3: the reaper runs where the image check later sits.
        if self.behaviour.zombie_reaper {
            self.phase(Phase::ReapZombies);
            self.print("Cleanup Previous Deployment");
            self.delete_zombies_from_previous_deployment().await?;
        }
        // versions §1.5: 2023-06 and 2024-02 have no image check.
        if self.behaviour.image_check {
            self.phase(Phase::ImageCheck);
            self.print("Verifying if app can be safely deployed");
            self.detect_multiple_image_versions().await?;
        }
        self.phase(Phase::ChecksRequired);
        // versions §1.1 step 3.
        if self.behaviour.synthesize_checks {
            self.synthesize_checks();
        }
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
        // versions §1.1 step 6: not abortable in any version.
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
        // §3.7: after this, a rollback never deletes greens. versions §1.4, §2.4: before
        // `adbcd97cb` there is no such point.
        if self.behaviour.point_of_no_return {
            self.can_delete_greens.set(false);
            self.runtime.mark(Marker::PointOfNoReturn);
        }
        Ok(())
    }

    /// §3.8–§3.14: checkpoint, the two 10 s waits around the cordon, stop, stop-wait, destroy.
    /// versions §1.1 step 10: 2023-06 goes straight to the destroy; versions §2.1 steps 10–14:
    /// 2024-02 drains without a checkpoint.
    async fn drain_and_destroy_blues(self: &Rc<Self>) -> Result<(), DeployError> {
        self.check_abort()?;
        if self.behaviour.checkpoint != CheckpointMode::Absent {
            self.checkpoint().await?;
            self.check_abort()?;
        }
        if self.behaviour.drain {
            self.drain_blues().await?;
        }
        self.phase(Phase::DestroyBlues);
        self.print("Destroying all blue machines");
        self.destroy_blues()
            .await
            .map_err(|error| error.join(Sentinel::DestroyBlueMachines))
    }

    /// §3.8. versions §3.1 step 11: in 2024-05 a failure is fatal and wrapped with the ready
    /// phase's text, so it triggers rollback.
    async fn checkpoint(self: &Rc<Self>) -> Result<(), DeployError> {
        self.phase(Phase::Checkpoint);
        self.print("Checkpointing deployment, this may take a few seconds...");
        let sentinel = match self.behaviour.checkpoint {
            CheckpointMode::Fatal => Sentinel::MarkReadyForTraffic,
            _ => Sentinel::TagForDeletion,
        };
        self.tag_blues_safe_for_deletion()
            .await
            .map_err(|error| error.join(sentinel))
    }

    /// §3.9–§3.13: the 10 s waits around the cordon, the stop and the stop-wait.
    async fn drain_blues(self: &Rc<Self>) -> Result<(), DeployError> {
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
        let stop_failures: usize = self
            .wait_for_blues_stopped()
            .await
            .map_err(|error| error.join(Sentinel::WaitForStoppedState))?;
        if stop_failures > 0 {
            // `Deploy` ranges over `merr.Errors` with one variable, which in Go is the slice
            // index: every version prints "  0", "  1", … and never the messages (versions §2.1
            // step 14 for 2024; still so in `strategy_bluegreen.go` after `fdf2ba6d2`, the latest
            // HEAD-era text this port was checked against).
            self.print("Failed to stop some machines:");
            for index in 0..stop_failures {
                self.print(&format!("  {index}"));
            }
        }
        Ok(())
    }

    /// A `formatDestroyCommand` under a warning: flyctl prints it with `"    %s"`, so only its
    /// first line is indented by 4; the continuation lines keep the command's own 2 spaces.
    fn print_destroy_command(&self, ids: &[MachineId]) {
        let lines = format_destroy_command(&self.params.app_name, ids);
        for (index, line) in lines.iter().enumerate() {
            if index == 0 {
                self.print(&format!("    {line}"));
            } else {
                self.print(line);
            }
        }
    }
}

/// `FormattedMachineId`: `"<id> [<group>]"`, or the bare ID when the group metadata is missing.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{HostStatus, ImageRef, MachineConfig, MachineState, METADATA_PROCESS_GROUP};

    fn machine_in_group(group: Option<&str>) -> Machine {
        let mut config = MachineConfig::default();
        if let Some(group) = group {
            let key = METADATA_PROCESS_GROUP.to_string();
            config.metadata.insert(key, group.to_string());
        }
        Machine {
            id: MachineId("148e4d55f36278".to_string()),
            name: "green-leaf".to_string(),
            state: MachineState::Started,
            region: "iad".to_string(),
            image_ref: ImageRef::default(),
            instance_id: "01H".to_string(),
            config,
            host_status: HostStatus::Ok,
            checks: Vec::new(),
            cordoned: false,
            incomplete_config: false,
        }
    }

    // Guards `FormattedMachineId`: the group in brackets, the bare ID when it is missing or empty.
    #[test]
    fn formatted_id_brackets_a_group_only_when_there_is_one() {
        let named = formatted_id(&machine_in_group(Some("worker")));
        assert_eq!(named, "148e4d55f36278 [worker]");
        assert_eq!(formatted_id(&machine_in_group(Some(""))), "148e4d55f36278");
        assert_eq!(formatted_id(&machine_in_group(None)), "148e4d55f36278");
    }

    // Guards `formatDestroyCommand`: one ID on one line; several with a backslash after every
    // line but the last.
    #[test]
    fn destroy_command_continues_every_line_but_the_last() {
        let id = |text: &str| MachineId(text.to_string());
        assert_eq!(
            format_destroy_command("cherrypicker", &[id("m1")]),
            vec!["fly machine destroy --force -a cherrypicker m1"]
        );
        let three = [id("m1"), id("m2"), id("m3")];
        assert_eq!(
            format_destroy_command("cherrypicker", &three),
            vec![
                "fly machine destroy --force -a cherrypicker \\",
                "  m1 \\",
                "  m2 \\",
                "  m3",
            ]
        );
    }
}
