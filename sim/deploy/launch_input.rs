//! The launch input of each machine in the set (`launchInputForUpdate`, reference §1 step 5 and
//! §3.4), and the launch IDs bluegreen writes into each green.

use crate::api::{
    LaunchInput, Machine, MachineConfig, MachineState, Runtime, METADATA_PLATFORM_VERSION,
    METADATA_PROCESS_GROUP, METADATA_RELEASE_VERSION,
};
use crate::deploy::DeployParams;

/// The desired launch input for one blue: its config (or, when the host could not report it, the
/// config of another blue of its group) with the new image and release metadata, in its region.
///
/// §3.4: flyctl merges the fly.toml config of the blue's process group over the blue's config
/// (`machines_launchinput.go` `launchInputForUpdate`: `appConfig.ToMachineConfig(group,
/// origMachine.GetConfig())`). The deploy code here has no fly.toml, so a blue's own config stands
/// in for it. A blue on a host that is not ok is listed with fly-go's incomplete config (its
/// metadata only): its metadata is kept, and the first complete config of the same group stands
/// in for fly.toml's part (image, checks, services). With no such machine its incomplete config
/// is all there is: the green gets no checks (in flyctl, fly.toml would still give them).
pub fn launch_input_for_update(
    blue: &Machine,
    all_blues: &[Machine],
    params: &DeployParams,
) -> LaunchInput {
    let mut config: MachineConfig = if blue.incomplete_config {
        let stand_in = all_blues.iter().find(|other| {
            !other.incomplete_config && other.process_group() == blue.process_group()
        });
        let mut config = stand_in.map_or_else(|| blue.config.clone(), |other| other.config.clone());
        config.metadata = blue.config.metadata.clone();
        config
    } else {
        blue.config.clone()
    };
    config.image = params.image.clone();
    config.metadata.insert(
        METADATA_RELEASE_VERSION.to_string(),
        params.release_version.to_string(),
    );
    config
        .metadata
        .insert(METADATA_PLATFORM_VERSION.to_string(), "v2".to_string());
    config.metadata.insert(
        METADATA_PROCESS_GROUP.to_string(),
        blue.process_group().to_string(),
    );
    // §3.4: standbys are kept unless the group has services.
    if !config.services.is_empty() {
        config.standbys.clear();
    }
    LaunchInput {
        config,
        region: blue.region.clone(),
        skip_launch: should_skip_launch(blue),
        skip_service_registration: false,
        lease_ttl: None,
    }
}

/// `shouldSkipLaunch` at HEAD (§3.4): a green boots only when its blue is started, starting or
/// failed; standbys and every other state (stopped, suspended, created…) stay unlaunched.
pub fn should_skip_launch(blue: &Machine) -> bool {
    if !blue.config.standbys.is_empty() {
        return true;
    }
    !matches!(
        blue.state,
        MachineState::Started | MachineState::Starting | MachineState::Failed
    )
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A ULID-shaped launch ID: 48 bits of Unix milliseconds and 80 random bits from the runtime,
/// as 26 Crockford base32 characters.
pub fn new_launch_id<R: Runtime>(runtime: &R) -> String {
    let unix_ms = u128::try_from(runtime.unix_time_seconds().max(0)).expect("non-negative") * 1000
        + runtime.now().subsec_millis() as u128;
    let random_high = (runtime.random_u64() & 0xFFFF) as u128;
    let random_low = runtime.random_u64() as u128;
    let value = ((unix_ms & 0xFFFF_FFFF_FFFF) << 80) | (random_high << 64) | random_low;
    let mut text = [0u8; 26];
    for (index, slot) in text.iter_mut().enumerate() {
        let shift = 5 * (25 - index);
        *slot = CROCKFORD[((value >> shift) & 0x1F) as usize];
    }
    String::from_utf8(text.to_vec()).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crockford_alphabet_has_no_ambiguous_letters() {
        for letter in [b'I', b'L', b'O', b'U'] {
            assert!(!CROCKFORD.contains(&letter));
        }
    }
}
