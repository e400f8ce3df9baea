//! Faults of the Machines API (F1–F4, F7, F8, F11) and of propagation (F10).

use std::time::Duration;

use crate::api::{ApiError, HostStatus};
use crate::observe::MachineIndex;
use crate::platform::World;
use crate::scenario::{FaultSpec, MachineTarget, Operation};

/// A status for messages: the number, or "a transport error".
fn status_text(status: Option<u16>) -> String {
    status.map_or_else(
        || "transport error".to_string(),
        |status| status.to_string(),
    )
}

/// Whether a call (of `operation`, by `client`, on `machine`) is in a fault's scope.
fn in_scope(
    world: &World,
    only: Option<Operation>,
    deploy: Option<u32>,
    target: Option<MachineTarget>,
    call: (Operation, u32, Option<MachineIndex>),
) -> bool {
    let (operation, client, machine) = call;
    only.is_none_or(|only| only == operation)
        && deploy.is_none_or(|deploy| deploy == client)
        && target
            .is_none_or(|target| machine.is_some_and(|machine| world.target_names(target, machine)))
}

/// Whether a call needs the machine's host to answer: everything but the reads, which flaps
/// answers from its own records (host status, an incomplete config), and the lease calls.
///
/// Leases (issue 10): flyctl HEAD leases every blue of the deploy, host ok or not
/// (`machine_set.go` `AcquireLeases` → `leasable_machine.go` `AcquireLease`, fail-fast, no
/// host-status check), yet its strategy handles non-ok blues in every phase after that
/// (`strategy_bluegreen.go`, `fdf2ba6d2`): skipped by the image check, cordon, stop and stop-wait,
/// destroyed without a nonce; its test "non-ok blue machine is skipped and destroyed" expects
/// such a deploy to succeed, and `DetectMultipleImageVersions` cites the production deploy that
/// reached the image check with a non-ok machine (`080d92df225538 returned ':'`). A fail-fast
/// lease failure would have stopped that deploy first, so the lease was granted: the simulator
/// answers lease calls as flaps would, without the host (inferred; reference §3.3 leaves it
/// open). The strategy's own comment ("lease acquisition skips them") describes
/// `internal/machine/lease.go`, which other commands use, not the deploy path.
/// Destroy needs the host: HEAD's comments expect machines "that could not be destroyed
/// (typically because their host is down)" to be listed as hanging (`DestroyBlueMachines`).
fn needs_the_host(operation: Operation) -> bool {
    !matches!(
        operation,
        Operation::List
            | Operation::Get
            | Operation::AcquireLease
            | Operation::RefreshLease
            | Operation::ReleaseLease
    )
}

/// A transport error from an `api-error` fault with `status = "none"`: the request never reached
/// the server (flyctl's `isTransientFlapsError` finds "connection refused" in it).
const REFUSED: &str = "dial tcp: connect: connection refused";
/// The same from `api-ambiguous`: the request landed, the connection closed before the reply.
const CLOSED: &str = "unexpected EOF";

/// The error a fault answers with: an HTTP status, or a transport error (`status` None).
fn fault_error(status: Option<u16>, message: String, transport: &str) -> ApiError {
    match status {
        Some(status) => ApiError::status(status, message),
        None => ApiError::transport(transport),
    }
}

impl World {
    /// The call-counted faults (`calls`) this call is in scope of: each counts it (per fault,
    /// operation and machine), and those whose range holds its number fire. No randomness, so
    /// scenarios without call-counted faults draw exactly as before.
    fn counted_hits(
        &mut self,
        ambiguous: bool,
        call: (Operation, u32, Option<MachineIndex>),
    ) -> Vec<usize> {
        let (operation, _, machine) = call;
        let mut hits = Vec::new();
        for index in 0..self.faults.specs.len() {
            if !self.faults.is_on(index) {
                continue;
            }
            let (only, deploy, target, calls) = match &self.faults.specs[index] {
                FaultSpec::ApiError {
                    operation,
                    deploy,
                    machine,
                    calls: Some(calls),
                    ..
                } if !ambiguous => (*operation, *deploy, *machine, *calls),
                FaultSpec::ApiPartition {
                    operation,
                    deploy,
                    calls: Some(calls),
                    ..
                } if !ambiguous => (*operation, *deploy, None, *calls),
                FaultSpec::ApiAmbiguous {
                    operation,
                    deploy,
                    machine,
                    calls: Some(calls),
                    ..
                } if ambiguous => (*operation, *deploy, *machine, *calls),
                _ => continue,
            };
            if !in_scope(self, only, deploy, target, call) {
                continue;
            }
            if calls.contains(self.faults.count_call(index, operation, machine)) {
                hits.push(index);
            }
        }
        hits
    }

    /// An error the server answers *instead of* applying the call: F1 error rates, F11
    /// partitions (a transport error: nothing reached the server), F7 hosts that are not ok.
    pub fn injected_api_error(
        &mut self,
        operation: Operation,
        client: u32,
        machine: Option<MachineIndex>,
    ) -> Option<ApiError> {
        let call = (operation, client, machine);
        let hits = self.counted_hits(false, call);
        for index in 0..self.faults.specs.len() {
            if !self.faults.is_on(index) {
                continue;
            }
            match self.faults.specs[index].clone() {
                FaultSpec::ApiPartition { calls: Some(_), .. } if hits.contains(&index) => {
                    return Some(ApiError::transport(REFUSED));
                }
                FaultSpec::ApiPartition {
                    deploy,
                    operation: only,
                    calls: None,
                    ..
                } if in_scope(self, only, deploy, None, call) => {
                    return Some(ApiError::transport(REFUSED));
                }
                FaultSpec::ApiError {
                    status,
                    calls: Some(_),
                    ..
                } if hits.contains(&index) => {
                    let message =
                        format!("injected {} on {}", status_text(status), operation.as_str());
                    return Some(fault_error(status, message, REFUSED));
                }
                FaultSpec::ApiError {
                    operation: only,
                    rate,
                    status,
                    deploy,
                    machine: target,
                    calls: None,
                    ..
                } if in_scope(self, only, deploy, target, call)
                    && self.streams.faults.chance(rate) =>
                {
                    let message =
                        format!("injected {} on {}", status_text(status), operation.as_str());
                    return Some(fault_error(status, message, REFUSED));
                }
                _ => {}
            }
        }
        let status = machine.map_or(HostStatus::Ok, |machine| self.host_status(machine));
        if status != HostStatus::Ok && needs_the_host(operation) {
            let message = format!(
                "could not reach the machine's host (host status: {})",
                status.as_str()
            );
            return Some(ApiError::status(503, message));
        }
        None
    }

    /// F2: the call was applied but its reply is lost; the caller sees this error instead.
    pub fn ambiguous_reply(
        &mut self,
        operation: Operation,
        client: u32,
        machine: Option<MachineIndex>,
    ) -> Option<ApiError> {
        let call = (operation, client, machine);
        let hits = self.counted_hits(true, call);
        for index in 0..self.faults.specs.len() {
            if !self.faults.is_on(index) {
                continue;
            }
            if let FaultSpec::ApiAmbiguous {
                operation: only,
                rate,
                status,
                deploy,
                machine: target,
                calls,
                ..
            } = self.faults.specs[index].clone()
            {
                let fires = match calls {
                    Some(_) => hits.contains(&index),
                    None => {
                        in_scope(self, only, deploy, target, call)
                            && self.streams.faults.chance(rate)
                    }
                };
                if fires {
                    let message = format!("{} timed out: reply lost", operation.as_str());
                    return Some(fault_error(status, message, CLOSED));
                }
            }
        }
        None
    }

    /// F3: extra one-way latency of a call.
    pub fn extra_latency(&mut self, operation: Operation, client: u32) -> Duration {
        let mut extra = Duration::ZERO;
        for index in 0..self.faults.specs.len() {
            if !self.faults.is_on(index) {
                continue;
            }
            if let FaultSpec::ApiSlow {
                operation: only,
                extra: delay,
                deploy,
                ..
            } = self.faults.specs[index].clone()
            {
                if in_scope(self, only, deploy, None, (operation, client, None)) {
                    extra += self.streams.faults.sample(&delay);
                }
            }
        }
        extra
    }

    /// F8: launches fail once `after_creates` launches of the deploy succeeded.
    pub fn injected_capacity_error(&mut self, client: u32) -> Option<ApiError> {
        let launched = self.deploys[client as usize].launched.len() as u32;
        let status = (0..self.faults.specs.len())
            .filter(|index| self.faults.is_on(*index))
            .find_map(|index| match self.faults.specs[index] {
                FaultSpec::CapacityError {
                    deploy,
                    after_creates,
                    status,
                } if deploy.is_none_or(|deploy| deploy == client) && launched >= after_creates => {
                    Some(status)
                }
                _ => None,
            })?;
        Some(ApiError::status(
            status,
            "could not reserve resource for machine: insufficient memory available to fulfill \
             request",
        ))
    }

    /// F8: `canPerformBluegreenDeployment` for `client`.
    pub fn org_allows_bluegreen(&self, client: u32) -> bool {
        !(0..self.faults.specs.len()).any(|index| {
            self.faults.is_on(index)
                && matches!(self.faults.specs[index], FaultSpec::OrgLimit { deploy }
                    if deploy.is_none_or(|deploy| deploy == client))
        })
    }

    /// F4: how long a machine created now stays invisible to `list`, if a stale-list window is on.
    pub fn stale_list_lag(&self) -> Option<Duration> {
        (0..self.faults.specs.len())
            .filter(|index| self.faults.is_on(*index))
            .filter_map(|index| match self.faults.specs[index] {
                FaultSpec::StaleList { lag, .. } => Some(lag),
                _ => None,
            })
            .max()
    }

    /// F7: the status the API reports for the machine's host now (the first fault that names
    /// it, in scenario order).
    pub fn host_status(&self, machine: MachineIndex) -> HostStatus {
        self.machine_faults(machine)
            .iter()
            .find_map(|spec| match spec {
                FaultSpec::HostNotOk { status, .. } => Some(*status),
                _ => None,
            })
            .unwrap_or(HostStatus::Ok)
    }

    /// F4/F7: `list` cannot say which image the machine runs.
    pub fn image_ref_hidden(&self, machine: MachineIndex) -> bool {
        self.machine_faults(machine).iter().any(|spec| {
            matches!(
                spec,
                FaultSpec::EmptyImageRef { .. } | FaultSpec::HostNotOk { .. }
            )
        })
    }

    /// F10: a propagation delay for one routing change to one proxy: the scenario's distribution,
    /// or a tail fault's when it fires. The base draw always happens, so a tail fault does not
    /// shift the proxies' stream.
    pub fn propagation_delay(&mut self) -> Duration {
        let base = self.scenario.proxy.propagation.clone();
        let base_delay = self.streams.proxies.sample(&base);
        for index in 0..self.faults.specs.len() {
            if !self.faults.is_on(index) {
                continue;
            }
            if let FaultSpec::PropagationTail {
                probability, delay, ..
            } = self.faults.specs[index].clone()
            {
                if self.streams.faults.chance(probability) {
                    return self.streams.faults.sample(&delay);
                }
            }
        }
        base_delay
    }
}
