//! Green creation (§3.4): a pool of ⌈N/3⌉ (capped), one green per blue, each launch retried with a
//! launch-ID lookup, each green recorded the moment it exists; or, in the historic versions, the
//! sequential loop, single launches and late recording (versions §1.1 step 5, §3.1 step 5).

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use super::{formatted_id, BlueEntry, Bluegreen, GreenEntry};
use crate::api::{
    LaunchInput, Machine, MachinesApi, Marker, Runtime, METADATA_DEPLOYMENT_TAG, METADATA_LAUNCH_ID,
};
use crate::deploy::behaviour::{CreateMode, GreenRecording};
use crate::deploy::errors::{DeployError, Sentinel};
use crate::deploy::launch_input::new_launch_id;
use crate::deploy::pool::run_pool;

impl<A: MachinesApi + 'static, R: Runtime> Bluegreen<A, R> {
    /// `CreateGreenMachines`. HEAD and 2024-05: a pool where every launch is attempted and the
    /// first error is returned at the end; 2023-06 and 2024-02: one blue at a time, stopping at the
    /// first error (versions §1.1 step 5). Before `107120be5` the greens enter the strategy's list
    /// only once every launch succeeded, so a failure orphans the others (versions §1.3, §3.3).
    pub(super) async fn create_green_machines(self: &Rc<Self>) -> Result<(), DeployError> {
        let blues = self.blues();
        let force_start = if self.behaviour.force_start_representatives {
            force_start_representatives(&blues)
        } else {
            BTreeSet::new()
        };
        let size = self
            .behaviour
            .create_concurrency(blues.len(), self.params.max_concurrent);
        let items: Vec<(Rc<BlueEntry>, bool)> = blues
            .into_iter()
            .enumerate()
            .map(|(index, blue)| (blue, force_start.contains(&index)))
            .collect();
        let strategy = self.clone();
        let task = move |_, (blue, forced): (Rc<BlueEntry>, bool)| {
            let strategy = strategy.clone();
            async move { strategy.create_one_green(&blue, forced).await }
        };
        let launched = match self.behaviour.create_mode {
            CreateMode::Sequential => {
                let mut launched = Vec::new();
                for item in items {
                    launched.push(task(0, item).await?);
                }
                launched
            }
            CreateMode::PoolThird => {
                let result = run_pool(&self.runtime, size, items, task).await;
                if let Some(error) = result.first_error {
                    return Err(error);
                }
                let outcomes = result.outcomes.into_iter();
                outcomes.map(|outcome| outcome.expect("no error")).collect()
            }
        };
        // versions §1.3: the local list becomes the strategy's list (in blue order; flyctl's pool
        // appends in completion order).
        if self.behaviour.green_recording == GreenRecording::AfterAllLaunches {
            for green in launched {
                self.record_green(green);
            }
        }
        Ok(())
    }

    async fn create_one_green(
        &self,
        blue: &BlueEntry,
        force_start: bool,
    ) -> Result<Rc<GreenEntry>, DeployError> {
        if self.behaviour.create_checks_abort && self.runtime.abort_requested() {
            return Err(Sentinel::Aborted.into());
        }
        let mut input = blue.input.clone();
        input.skip_service_registration = true;
        if force_start {
            input.skip_launch = false;
        }
        let metadata = &mut input.config.metadata;
        // versions §1.1 step 5: 2023-06 has no deployment tag.
        if self.behaviour.deployment_tag {
            metadata.insert(METADATA_DEPLOYMENT_TAG.to_string(), self.timestamp.clone());
        }
        // The launch ID belongs to the launch retry (`39ad08ae2`); without it there is none.
        let launch_id = new_launch_id(&self.runtime);
        if self.behaviour.launch_retry.is_some() {
            metadata.insert(METADATA_LAUNCH_ID.to_string(), launch_id.clone());
        }

        let machine = self.launch_with_retry(&input, &launch_id).await?;
        let line = format!("  Created machine {}", formatted_id(&machine));
        let green = Rc::new(GreenEntry { machine, input });
        if self.behaviour.green_recording == GreenRecording::Immediately {
            self.record_green(green.clone());
        }
        self.print(&line);
        Ok(green)
    }

    /// Appends a green to the strategy's list; the harness reads `GreenRecorded` as "in the list".
    fn record_green(&self, green: Rc<GreenEntry>) {
        let id = green.machine.id.clone();
        let mut greens = self.greens.borrow_mut();
        // One green per blue, never more: a second record of one machine would be a duplicate.
        assert!(greens.len() < self.blues.borrow().len());
        let new = self.green_ids.borrow_mut().insert(id.clone());
        assert!(new, "green {id} recorded twice");
        greens.push(green);
        drop(greens);
        self.runtime.mark(Marker::GreenRecorded(id));
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
