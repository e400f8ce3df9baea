//! The 2024-02 zombie reaper (`DeleteZombiesFromPreviousDeployment`, versions §2.5, active
//! v0.2.8–v0.2.16): before any green exists, keep the blues of the deployment tag with the smallest
//! number ("-1" for untagged, which always wins) and kill-destroy every other blue, serving or not.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use super::{BlueEntry, Bluegreen};
use crate::api::{ApiError, MachinesApi, Runtime, METADATA_DEPLOYMENT_TAG};
use crate::deploy::errors::DeployError;
use crate::deploy::retry::{retry, RetryPolicy};

/// versions §2.5 step 4: 3 attempts, a fixed 2 s apart.
const ZOMBIE_DESTROY_RETRY: RetryPolicy = RetryPolicy {
    attempts: 3,
    delay_base: Duration::from_secs(2),
    delay_max: Duration::from_secs(2),
};

/// The tag a blue is grouped by; a missing tag reads "-1" (versions §2.5 step 1).
fn reaper_tag(blue: &BlueEntry) -> String {
    let tag = blue.leased.machine.metadata(METADATA_DEPLOYMENT_TAG);
    tag.unwrap_or("-1").to_string()
}

impl<A: MachinesApi + 'static, R: Runtime> Bluegreen<A, R> {
    pub(super) async fn delete_zombies_from_previous_deployment(&self) -> Result<(), DeployError> {
        let blues = self.blues();
        let mut groups: BTreeMap<String, Vec<Rc<BlueEntry>>> = BTreeMap::new();
        for blue in &blues {
            groups
                .entry(reaper_tag(blue))
                .or_default()
                .push(blue.clone());
        }
        if groups.len() <= 1 {
            self.print("  No hanging machines from a failed previous deployment");
            return Ok(());
        }
        let keep = smallest_tag(groups.keys())?;
        // Go iterates the map in random order; blue order is the deterministic choice here.
        for blue in blues.iter().filter(|blue| reaper_tag(blue) != keep) {
            self.destroy_zombie(blue).await?;
        }
        // versions §2.5 step 5: the reaped entries leave the blue list.
        self.blues
            .borrow_mut()
            .retain(|blue| reaper_tag(blue) == keep);
        Ok(())
    }

    /// Abort check, then kill-destroy with the nonce, retried; a final failure ends the deploy.
    async fn destroy_zombie(&self, blue: &BlueEntry) -> Result<(), DeployError> {
        self.check_abort()?;
        let leased = &blue.leased;
        let nonce = leased.nonce();
        let destroyed = retry(
            &self.runtime,
            ZOMBIE_DESTROY_RETRY,
            |_: &ApiError| true,
            |_, _| {},
            || self.api.destroy(leased.id(), true, nonce.as_deref()),
        )
        .await;
        if let Err(failure) = destroyed {
            // The wrapping text is not in the reference (inferred).
            let context = format!("failed to destroy zombie machine {}", leased.id());
            return Err(DeployError::api(context, failure.last().clone()));
        }
        leased.mark_destroyed();
        let (id, tag) = (leased.id(), reaper_tag(blue));
        self.print(&format!("  Zombie Machine {id} destroyed [{tag}]"));
        Ok(())
    }
}

/// versions §2.5 step 3: every tag must parse as an integer; the smallest is kept.
fn smallest_tag<'a>(tags: impl Iterator<Item = &'a String>) -> Result<String, DeployError> {
    let mut smallest: Option<(i64, &String)> = None;
    for tag in tags {
        let Ok(number) = tag.parse::<i64>() else {
            // Go's `strconv.Atoi` wording.
            let text = format!("strconv.Atoi: parsing {tag:?}: invalid syntax");
            return Err(DeployError::message(text));
        };
        if smallest.is_none_or(|(best, _)| number < best) {
            smallest = Some((number, tag));
        }
    }
    let (_, tag) = smallest.expect("at least two groups");
    Ok(tag.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smallest_tag_prefers_untagged_and_rejects_text() {
        let tags = ["1776000000", "-1", "1775000000"].map(String::from);
        assert_eq!(smallest_tag(tags.iter()).unwrap(), "-1");
        let tags = ["1776000000", "safe_to_destroy"].map(String::from);
        assert!(smallest_tag(tags.iter()).is_err());
    }
}
