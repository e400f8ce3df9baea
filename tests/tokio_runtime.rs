//! The bluegreen port runs unchanged on a real tokio runtime against the in-memory API.

mod common;

use common::{assert_outcome, deploy, fleet, TokioRuntime, NEW_IMAGE, UNIX_START_SECONDS};
use fleetsim::api::memory::MemoryApi;
use fleetsim::api::{MachineState, Marker, Phase, METADATA_DEPLOYMENT_TAG, METADATA_LAUNCH_ID};
use fleetsim::deploy::DeployOutcome;

// Guards against the port failing end to end: a plain 6-machine deploy must replace every blue.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn six_machine_fleet_is_replaced_end_to_end() {
    let api = fleet(6);
    let runtime = TokioRuntime::new();
    let report = deploy(&api, &runtime).await;

    assert_outcome(&report, DeployOutcome::Succeeded, &runtime);
    assert_eq!(report.exit_status, 0);
    assert_eq!(report.error, None);
    assert_eq!(report.blues.len(), 6);
    assert_eq!(report.greens.len(), 6);
    assert!(report.hanging.is_empty());

    for index in 1..=6 {
        let blue = MemoryApi::fleet_id(index);
        assert_eq!(api.state_of(&blue), Some(MachineState::Destroyed));
        assert_eq!(api.lease_owner(&blue), None);
    }
    let alive = api.alive();
    assert_eq!(alive.len(), 6);
    let tag = UNIX_START_SECONDS.to_string();
    let mut launch_ids = Vec::new();
    for green in &alive {
        assert!(report.greens.contains(&green.id));
        assert_eq!(green.state, MachineState::Started);
        assert!(!green.cordoned);
        assert_eq!(green.config.image, NEW_IMAGE);
        assert_eq!(green.metadata(METADATA_DEPLOYMENT_TAG), Some(tag.as_str()));
        let launch_id = green
            .metadata(METADATA_LAUNCH_ID)
            .expect("launch ID")
            .to_string();
        assert_eq!(launch_id.len(), 26);
        launch_ids.push(launch_id);
    }
    launch_ids.sort();
    launch_ids.dedup();
    assert_eq!(launch_ids.len(), 6, "launch IDs are unique");

    let expected_lines = [
        "Updating existing machines in 'cherrypicker' with bluegreen strategy",
        "Verifying if app can be safely deployed",
        "Creating green machines",
        "Waiting for all green machines to start",
        "Waiting for all green machines to be healthy",
        "Marking green machines as ready",
        "Checkpointing deployment, this may take a few seconds...",
        "Waiting before cordoning all blue machines",
        "Waiting before stopping all blue machines",
        "Stopping all blue machines",
        "Waiting for all blue machines to stop",
        "Destroying all blue machines",
        "Deployment Complete",
    ];
    let lines = runtime.lines();
    let mut position = 0;
    for expected in expected_lines {
        let found = lines[position..]
            .iter()
            .position(|line| line == expected)
            .unwrap_or_else(|| panic!("missing or out of order: {expected}\n{}", runtime.output()));
        position += found + 1;
    }
    assert!(runtime.printed_containing("  Created machine a"));
    assert!(runtime.printed_containing("now ready"));
    assert!(runtime.printed(&format!(
        "  Machine {} [app] cordoned",
        MemoryApi::fleet_id(1)
    )));

    let phases = runtime.phases();
    assert_eq!(phases.first(), Some(&Phase::AcquireLeases));
    assert!(phases.contains(&Phase::Complete));
    assert_eq!(phases.last(), Some(&Phase::ReleaseLeases));
    assert!(runtime.markers().contains(&Marker::PointOfNoReturn));
    // The two 10 s waits and the 300 ms pause took virtual time.
    assert!(runtime.now_after_deploy() >= std::time::Duration::from_millis(20_300));
}

trait NowAfterDeploy {
    fn now_after_deploy(&self) -> std::time::Duration;
}

impl NowAfterDeploy for TokioRuntime {
    fn now_after_deploy(&self) -> std::time::Duration {
        use fleetsim::api::Runtime;
        self.now()
    }
}
