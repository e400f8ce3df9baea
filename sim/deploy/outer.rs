//! The outer flow of `fly deploy` around a strategy (reference §1): select the machine set, lease
//! every blue, run the strategy, roll back on error, release the leases.
//!
//! SKELETON: the bluegreen helper replaces `run_deploy`'s body.

use std::rc::Rc;

use crate::api::{MachineId, MachinesApi, Runtime};
use crate::deploy::DeployParams;

/// How a deploy ended, as the harness classifies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeployOutcome {
    /// "Deployment Complete".
    Succeeded,
    /// The deploy failed and its rollback destroyed the greens it had recorded.
    RolledBack,
    /// The deploy failed and no rollback action applied (refused before any green, or after the
    /// point of no return).
    Failed,
    /// The deploy failed and so did its rollback ("Error in rollback").
    RollbackFailed,
}

impl DeployOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            DeployOutcome::Succeeded => "succeeded",
            DeployOutcome::RolledBack => "rolled-back",
            DeployOutcome::Failed => "failed",
            DeployOutcome::RollbackFailed => "rollback-failed",
        }
    }
}

/// What one deploy did, as its caller sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployReport {
    pub outcome: DeployOutcome,
    /// flyctl's exit status: 0 on success, 1 on any error.
    pub exit_status: i32,
    /// The error flyctl prints as `Error: <text>`, when the deploy failed.
    pub error: Option<String>,
    /// The blue machines the deploy selected, in order.
    pub blues: Vec<MachineId>,
    /// The greens the strategy recorded.
    pub greens: Vec<MachineId>,
    /// Blues whose destroy failed ("hanging").
    pub hanging: Vec<MachineId>,
}

pub async fn run_deploy<A: MachinesApi + 'static, R: Runtime>(
    api: Rc<A>,
    runtime: R,
    params: DeployParams,
) -> DeployReport {
    let _ = (api, runtime, params);
    unimplemented!("bluegreen helper")
}
