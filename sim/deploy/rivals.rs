//! rolling, canary and immediate (reference §9). PLACEHOLDER until the rivals work lands (issue 3).

use std::rc::Rc;

use crate::api::{MachinesApi, Runtime};
use crate::deploy::{DeployOutcome, DeployParams, DeployReport};

pub async fn run_rival<A: MachinesApi + 'static, R: Runtime>(
    api: Rc<A>,
    runtime: R,
    params: DeployParams,
) -> DeployReport {
    let _ = (api, params);
    runtime.print("Error: strategy not implemented yet");
    DeployReport {
        outcome: DeployOutcome::Failed,
        exit_status: 1,
        error: Some("strategy not implemented yet".to_string()),
        blues: Vec::new(),
        greens: Vec::new(),
        hanging: Vec::new(),
    }
}
