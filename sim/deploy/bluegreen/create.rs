//! Green creation (§3.4): a pool of ⌈N/3⌉ (capped), one green per blue, each launch retried with a
//! launch-ID lookup, each green recorded the moment it exists.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use super::{formatted_id, BlueEntry, Bluegreen, GreenEntry};
use crate::api::{
    LaunchInput, Machine, MachinesApi, Marker, Runtime, METADATA_DEPLOYMENT_TAG, METADATA_LAUNCH_ID,
};
use crate::deploy::errors::{DeployError, Sentinel};
use crate::deploy::launch_input::new_launch_id;
use crate::deploy::pool::run_pool;

impl<A: MachinesApi + 'static, R: Runtime> Bluegreen<A, R> {
    /// `CreateGreenMachines`: every launch is attempted; the first error is returned at the end.
    pub(super) async fn create_green_machines(self: &Rc<Self>) -> Result<(), DeployError> {
        let size = self
            .behaviour
            .create_concurrency(self.blues.len(), self.params.max_concurrent);
        let force_start = if self.behaviour.force_start_representatives {
            force_start_representatives(&self.blues)
        } else {
            BTreeSet::new()
        };
        let items: Vec<(Rc<BlueEntry>, bool)> = self
            .blues
            .iter()
            .enumerate()
            .map(|(index, blue)| (blue.clone(), force_start.contains(&index)))
            .collect();
        let strategy = self.clone();
        run_pool(&self.runtime, size, items, move |_, (blue, forced)| {
            let strategy = strategy.clone();
            async move { strategy.create_one_green(&blue, forced).await }
        })
        .await
        .wait()
    }

    async fn create_one_green(
        &self,
        blue: &BlueEntry,
        force_start: bool,
    ) -> Result<(), DeployError> {
        if self.behaviour.create_checks_abort && self.runtime.abort_requested() {
            return Err(Sentinel::Aborted.into());
        }
        let mut input = blue.input.clone();
        input.skip_service_registration = true;
        if force_start {
            input.skip_launch = false;
        }
        let metadata = &mut input.config.metadata;
        metadata.insert(METADATA_DEPLOYMENT_TAG.to_string(), self.timestamp.clone());
        let launch_id = new_launch_id(&self.runtime);
        metadata.insert(METADATA_LAUNCH_ID.to_string(), launch_id.clone());

        let machine = self.launch_with_retry(&input, &launch_id).await?;
        let line = format!("  Created machine {}", formatted_id(&machine));
        let id = machine.id.clone();
        let mut greens = self.greens.borrow_mut();
        // One green per blue, never more: a second record of one machine would be a duplicate.
        assert!(greens.len() < self.blues.len());
        assert!(greens.iter().all(|green| green.machine.id != id));
        greens.push(Rc::new(GreenEntry { machine, input }));
        drop(greens);
        self.runtime.mark(Marker::GreenRecorded(id));
        self.print(&line);
        Ok(())
    }

    /// `launchGreenMachineWithRetry`: a transient failure may be a silent success, so after it
    /// flyctl waits, looks the machine up by its launch ID and adopts it if found; otherwise it
    /// backs off (500 ms, doubling while under 5 s) and launches again.
    async fn launch_with_retry(
        &self,
        input: &LaunchInput,
        launch_id: &str,
    ) -> Result<Machine, DeployError> {
        let Some(policy) = self.behaviour.launch_retry else {
            let launched = self.api.launch(input.clone()).await;
            return launched.map_err(|error| DeployError::api("failed to launch VM", error));
        };
        let attempts = policy.attempts;
        let mut delay = policy.delay_base;
        let mut last_error = None;
        for attempt in 0..attempts {
            let error = match self.api.launch(input.clone()).await {
                Ok(machine) => return Ok(machine),
                Err(error) => error,
            };
            let transient = error.is_transient();
            let error = DeployError::api("failed to launch VM", error);
            if !transient {
                return Err(error);
            }
            self.runtime.sleep(self.behaviour.launch_lookup_delay).await;
            if let Some(machine) = self.find_green_by_launch_id(launch_id).await {
                return Ok(machine);
            }
            if attempt + 1 < attempts {
                self.print(&format!(
                    "  Retrying green machine launch (attempt {}/{attempts}): {error}",
                    attempt + 2
                ));
                self.runtime.sleep(delay).await;
                if delay < policy.delay_max {
                    delay *= 2;
                }
            }
            last_error = Some(error);
        }
        Err(last_error.expect("at least one attempt failed"))
    }

    /// `findGreenMachineByLaunchID`: a client-side scan of `list`. A failed lookup is printed and
    /// does not mask the launch error.
    async fn find_green_by_launch_id(&self, launch_id: &str) -> Option<Machine> {
        match self.api.list().await {
            Err(error) => {
                self.print(&format!(
                    "  Idempotency lookup after failed launch returned an error: {error}"
                ));
                None
            }
            Ok(machines) => {
                let found = machines
                    .into_iter()
                    .find(|machine| machine.metadata(METADATA_LAUNCH_ID) == Some(launch_id))?;
                self.print(&format!(
                    "  Launch reported an error but machine {} was already created (idempotency tag matched); reusing it",
                    found.id
                ));
                Some(found)
            }
        }
    }
}

/// `forceStartRepresentatives` (`9aaec2f2a`): for each process group that has a configured check
/// but where no green would start, the first blue of the group whose green would stay stopped
/// gets a green that starts, so its health is really verified.
pub(super) fn force_start_representatives(blues: &[Rc<BlueEntry>]) -> BTreeSet<usize> {
    let mut group_has_checks: BTreeSet<&str> = BTreeSet::new();
    let mut group_will_start: BTreeSet<&str> = BTreeSet::new();
    let mut group_first_stopped: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, blue) in blues.iter().enumerate() {
        let group = blue.input.config.process_group();
        if blue.input.config.all_checks().next().is_some() {
            group_has_checks.insert(group);
        }
        if !blue.input.skip_launch {
            group_will_start.insert(group);
        } else {
            group_first_stopped.entry(group).or_insert(index);
        }
    }
    group_has_checks
        .iter()
        .filter(|group| !group_will_start.contains(*group))
        .filter_map(|group| group_first_stopped.get(group).copied())
        .collect()
}
