//! Faults of the Machines API (F1–F4, F7, F8, F11) and of propagation (F10).

use std::time::Duration;

use crate::api::ApiError;
use crate::platform::observe::MachineIndex;
use crate::platform::World;
use crate::scenario::{FaultSpec, MachineTarget, Operation};

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

impl World {
    /// An error the server answers *instead of* applying the call: F1 error rates, F11
    /// partitions (a transport error: nothing reached the server), F7 unreachable hosts.
    pub fn injected_api_error(
        &mut self,
        operation: Operation,
        client: u32,
        machine: Option<MachineIndex>,
    ) -> Option<ApiError> {
        let call = (operation, client, machine);
        for index in 0..self.faults.specs.len() {
            if !self.faults.is_on(index) {
                continue;
            }
            match self.faults.specs[index].clone() {
                FaultSpec::ApiPartition { deploy, .. }
                    if in_scope(self, None, deploy, None, call) =>
                {
                    return Some(ApiError::transport("dial tcp: connect: connection refused"));
                }
                FaultSpec::ApiError {
                    operation: only,
                    rate,
                    status,
                    deploy,
                    machine: target,
                    ..
                } if in_scope(self, only, deploy, target, call)
                    && self.streams.faults.chance(rate) =>
                {
                    let message = format!("injected {status} on {}", operation.as_str());
                    return Some(ApiError::status(status, message));
                }
                _ => {}
            }
        }
        let reads = matches!(operation, Operation::List | Operation::Get);
        if !reads && machine.is_some_and(|machine| self.host_unreachable(machine)) {
            return Some(ApiError::status(503, "host unreachable"));
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
                ..
            } = self.faults.specs[index].clone()
            {
                if in_scope(self, only, deploy, target, call) && self.streams.faults.chance(rate) {
                    let message = format!("{} timed out: reply lost", operation.as_str());
                    return Some(ApiError::status(status, message));
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

    /// F7: the machine's host is unreachable now.
    pub fn host_unreachable(&self, machine: MachineIndex) -> bool {
        self.machine_faults(machine)
            .iter()
            .any(|spec| matches!(spec, FaultSpec::HostUnreachable { .. }))
    }

    /// F4/F7: `list` cannot say which image the machine runs.
    pub fn image_ref_hidden(&self, machine: MachineIndex) -> bool {
        self.machine_faults(machine).iter().any(|spec| {
            matches!(
                spec,
                FaultSpec::EmptyImageRef { .. } | FaultSpec::HostUnreachable { .. }
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
