//! Preflight (§3.0–§3.2): the org-limit query, the single-image check and the checks requirement.

use std::collections::BTreeSet;
use std::rc::Rc;

use super::{formatted_id, BlueEntry, Bluegreen};
use crate::api::{
    CheckConfig, CheckKind, HostStatus, ImageRef, MachineId, MachinesApi, Runtime,
    DEPLOYMENT_TAG_SAFE_TO_DESTROY, METADATA_DEPLOYMENT_TAG,
};
use crate::deploy::behaviour::ImageReport;
use crate::deploy::errors::{DeployError, Sentinel};
use crate::deploy::retry::retry;

/// Machines grouped by image key, in the order the images were first seen.
///
/// §3.1: flyctl iterates a Go map, so its line order is random; first-seen order is the
/// deterministic choice here.
#[derive(Default)]
struct ImageTally {
    groups: Vec<(String, Vec<MachineId>)>,
    safe_to_destroy: BTreeSet<String>,
    unreachable: Vec<MachineId>,
}

impl ImageTally {
    fn add(&mut self, key: String, id: MachineId) {
        match self.groups.iter_mut().find(|(image, _)| *image == key) {
            Some((_, ids)) => ids.push(id),
            None => self.groups.push((key, vec![id])),
        }
    }
}

impl<A: MachinesApi + 'static, R: Runtime> Bluegreen<A, R> {
    /// §3.0: `canPerformBluegreenDeployment`; a query error is returned as is.
    pub(super) async fn check_org_limit(&self) -> Result<(), DeployError> {
        match self.api.can_perform_bluegreen().await {
            Err(error) => Err(DeployError::api("", error)),
            Ok(false) => Err(Sentinel::OrgLimit.into()),
            Ok(true) => Ok(()),
        }
    }

    /// §3.1 `DetectMultipleImageVersions` at HEAD.
    pub(super) async fn detect_multiple_image_versions(&self) -> Result<(), DeployError> {
        let mut tally = ImageTally::default();
        for blue in &self.blues() {
            let listed = &blue.leased.machine;
            if self.behaviour.skip_unhealthy_hosts && listed.host_status != HostStatus::Ok {
                tally.unreachable.push(listed.id.clone());
                continue;
            }
            // versions §3.5 (reference §3.1): 2024 had no refetch; like the host-status handling
            // it came with `fdf2ba6d2`, so the same switch gates both.
            let refetch = self.behaviour.skip_unhealthy_hosts && listed.image_ref.is_empty();
            let image_ref = if refetch {
                match self.refetch_image_ref(&listed.id).await {
                    Some(image_ref) => image_ref,
                    None => {
                        tally.unreachable.push(listed.id.clone());
                        continue;
                    }
                }
            } else {
                listed.image_ref.clone()
            };
            let key = image_ref.check_key();
            let tag = blue.input.config.metadata.get(METADATA_DEPLOYMENT_TAG);
            if tag.map(String::as_str) == Some(DEPLOYMENT_TAG_SAFE_TO_DESTROY) {
                tally.safe_to_destroy.insert(key.clone());
            }
            tally.add(key, listed.id.clone());
        }

        if !tally.unreachable.is_empty() {
            self.warn_unreachable(&tally.unreachable);
        }
        let single = tally.groups.len() == 1;
        let only_unreachable = tally.groups.is_empty() && !tally.unreachable.is_empty();
        if single || only_unreachable {
            return Ok(());
        }
        self.print_multiple_images_report(&tally);
        Err(Sentinel::MultipleImageVersions.into())
    }

    /// GET the machine again (with retries); None when it still has no image or its host is not
    /// ok, which counts it as unreachable.
    async fn refetch_image_ref(&self, id: &MachineId) -> Option<ImageRef> {
        self.print(&format!(
            "  Machine {id} has no image data — retrying lookup..."
        ));
        let policy = self.behaviour.image_refetch_retry;
        let attempts = policy.attempts;
        let fetched = retry(
            &self.runtime,
            policy,
            |_| true,
            |attempt, error| {
                self.print(&format!(
                    "  Retrying image lookup for machine {id} (attempt {}/{attempts}): {error}",
                    attempt + 1
                ))
            },
            || self.api.get(id),
        )
        .await;
        match fetched {
            Ok(fresh) if fresh.host_status == HostStatus::Ok && !fresh.image_ref.is_empty() => {
                Some(fresh.image_ref)
            }
            _ => None,
        }
    }

    fn warn_unreachable(&self, ids: &[MachineId]) {
        let separator = "!".repeat(70);
        self.print(&separator);
        self.print(
            "  WARNING: some machines are on hosts that are not ok — skipping image check for them",
        );
        self.print(&format!(
            "  {} machine(s) could not be reached to verify their running image:",
            ids.len()
        ));
        for id in ids {
            self.print(&format!("    · {id}"));
        }
        self.print("  Deployment proceeding. These machines will be replaced on healthy hosts");
        self.print("  and force-destroyed at the end of the deployment.");
        self.print(&separator);
    }

    /// The report in HEAD's wording (§3.1).
    fn print_multiple_images_report(&self, tally: &ImageTally) {
        let app = &self.params.app_name;
        self.print(&format!(
            "  Found {} different images in your app (for bluegreen to work, all machines need to run a single image)",
            tally.groups.len()
        ));
        for (image, ids) in &tally.groups {
            let joined: Vec<&str> = ids.iter().map(|id| id.0.as_str()).collect();
            self.print(&format!(
                "    [x] {image} - {} machine(s) ({})",
                ids.len(),
                joined.join(",")
            ));
        }
        // versions §3.5: 2024's hint section has a shorter header and no `--app` (reference §3.1).
        let (header, app_flag) = match self.behaviour.image_report {
            ImageReport::Head => (
                "  These image(s) are from a previous failed deployment and can be safely destroyed:",
                format!(" --app={app}"),
            ),
            ImageReport::V2024 => ("  These image(s) can be safely destroyed:", String::new()),
        };
        if !tally.safe_to_destroy.is_empty() {
            self.print(header);
            for (image, ids) in &tally.groups {
                if tally.safe_to_destroy.contains(image) {
                    self.print(&format!(
                        "    [x] {image} - {} machine(s) ('fly machines destroy --force --image={image}{app_flag}')",
                        ids.len()
                    ));
                }
            }
        }
        self.print("  Here's how to fix your app so deployments can go through:");
        self.print("    1. Find all the unwanted image versions from the list above.");
        self.print(
            "       Use 'fly machines list' and 'fly releases --image' to help determine unwanted images.",
        );
        self.print(
            "    2. For each unwanted image version, run 'fly machines destroy --force --image=<image-version> --app <app-name>'",
        );
        self.print("    3. Retry the deployment with 'fly deploy'");
    }

    /// versions §1.1 step 3: on every blue's launch input, each service check is copied to a
    /// top-level check `bg_deployments_<type>`; two of one type overwrite each other (the last
    /// wins). The greens launched from these inputs carry the synthesized checks.
    pub(super) fn synthesize_checks(&self) {
        let synthesized = self.blues().into_iter().map(|blue| {
            let mut input = blue.input.clone();
            let service_checks: Vec<CheckConfig> = input
                .config
                .services
                .iter()
                .flat_map(|service| service.checks.iter().cloned())
                .collect();
            for mut check in service_checks {
                check.name = match check.kind {
                    CheckKind::Http => "bg_deployments_http",
                    CheckKind::Tcp => "bg_deployments_tcp",
                }
                .to_string();
                input.config.checks.insert(check.name.clone(), check);
            }
            let leased = blue.leased.clone();
            Rc::new(BlueEntry { leased, input })
        });
        *self.blues.borrow_mut() = synthesized.collect();
    }

    /// §3.2: at least one blue must have a configured check (top-level or service). versions §1.1
    /// step 4: with synthesized checks, top-level checks only.
    pub(super) fn check_checks_configured(&self) -> Result<(), DeployError> {
        let blues = self.blues();
        let mut with_checks = 0;
        for blue in &blues {
            let config = &blue.input.config;
            let count = if self.behaviour.synthesize_checks {
                config.checks.len()
            } else {
                config.all_checks().count()
            };
            if count == 0 {
                self.print(&format!(
                    "[WARN] Machine {} doesn't have healthchecks setup. We won't check its health.",
                    formatted_id(&blue.leased.machine)
                ));
                continue;
            }
            // Only compared with zero: cargo-mutants' `+=` → `-=` is equivalent (an i32 counting
            // down from 0 is never 0 again, for any fleet under 2³¹ blues).
            with_checks += 1;
        }
        if with_checks == 0 && !blues.is_empty() {
            self.print(
                "You need to define at least 1 check in order to use blue-green deployments. Refer to https://fly.io/docs/reference/configuration/#services-tcp_checks",
            );
            return Err(Sentinel::ValidationError.into());
        }
        Ok(())
    }
}
