//! The Machines API, server side (reference §10). A call arrives after a sampled latency, is
//! applied to the platform at that instant (or parked, for `wait`), and its reply travels back
//! with another sampled latency.

use std::task::Waker;
use std::time::Duration;

use slab::Slab;

use crate::api::{
    ApiError, ApiResult, LaunchInput, Lease, Machine, MachineId, MachineState, WaitState,
    METADATA_PLATFORM_VERSION,
};
use crate::observe::{LeaseStep, MachineIndex, Step};
use crate::observe::{Mutation, Observation};
use crate::platform::call_log::DestroyCall;
use crate::platform::machines::{LeaseRecord, NewMachine};
use crate::platform::{Event, World};
use crate::scenario::Operation;

/// A call's arguments.
#[derive(Clone, Debug)]
pub enum CallRequest {
    List,
    Get(MachineId),
    Launch(Box<LaunchInput>),
    Wait {
        id: MachineId,
        state: WaitState,
        timeout: Duration,
    },
    AcquireLease {
        id: MachineId,
        ttl: Duration,
    },
    RefreshLease {
        id: MachineId,
        ttl: Duration,
        nonce: String,
    },
    ReleaseLease {
        id: MachineId,
        nonce: String,
    },
    Cordon {
        id: MachineId,
        nonce: Option<String>,
    },
    Uncordon {
        id: MachineId,
        nonce: Option<String>,
    },
    Stop {
        id: MachineId,
        nonce: Option<String>,
    },
    Destroy {
        id: MachineId,
        kill: bool,
        nonce: Option<String>,
    },
    SetMetadata {
        id: MachineId,
        key: String,
        value: String,
    },
    Update {
        id: MachineId,
        input: Box<LaunchInput>,
        nonce: Option<String>,
    },
    CanPerformBluegreen,
    /// Only from `fleetsim serve`'s clients.
    Start {
        id: MachineId,
        nonce: Option<String>,
    },
}

impl CallRequest {
    pub fn operation(&self) -> Operation {
        match self {
            CallRequest::List => Operation::List,
            CallRequest::Get(_) => Operation::Get,
            CallRequest::Launch(_) => Operation::Launch,
            CallRequest::Wait { .. } => Operation::Wait,
            CallRequest::AcquireLease { .. } => Operation::AcquireLease,
            CallRequest::RefreshLease { .. } => Operation::RefreshLease,
            CallRequest::ReleaseLease { .. } => Operation::ReleaseLease,
            CallRequest::Cordon { .. } => Operation::Cordon,
            CallRequest::Uncordon { .. } => Operation::Uncordon,
            CallRequest::Stop { .. } => Operation::Stop,
            CallRequest::Destroy { .. } => Operation::Destroy,
            CallRequest::SetMetadata { .. } => Operation::SetMetadata,
            CallRequest::Update { .. } => Operation::Update,
            CallRequest::CanPerformBluegreen => Operation::CanPerformBluegreen,
            CallRequest::Start { .. } => Operation::Start,
        }
    }

    fn machine_id(&self) -> Option<&MachineId> {
        match self {
            CallRequest::List | CallRequest::Launch(_) | CallRequest::CanPerformBluegreen => None,
            CallRequest::Get(id)
            | CallRequest::Wait { id, .. }
            | CallRequest::AcquireLease { id, .. }
            | CallRequest::RefreshLease { id, .. }
            | CallRequest::ReleaseLease { id, .. }
            | CallRequest::Cordon { id, .. }
            | CallRequest::Uncordon { id, .. }
            | CallRequest::Stop { id, .. }
            | CallRequest::Destroy { id, .. }
            | CallRequest::SetMetadata { id, .. }
            | CallRequest::Update { id, .. }
            | CallRequest::Start { id, .. } => Some(id),
        }
    }
}

/// The machine a call names: its ID, and its index when the platform knows that ID.
#[derive(Clone, Copy)]
struct Target<'a> {
    id: &'a MachineId,
    machine: Option<MachineIndex>,
}

/// A call's successful result.
#[derive(Clone, Debug)]
pub enum CallReply {
    Unit,
    Machine(Box<Machine>),
    Machines(Vec<Machine>),
    Lease(Lease),
    Bool(bool),
}

/// A call in flight.
#[derive(Debug)]
pub struct PendingCall {
    /// The call's number in the trace: counts every call of the run, unlike its slot.
    pub number: u32,
    pub client: u32,
    pub operation: Operation,
    /// The machine the call names, looked up once when it is sent (IDs never change owner).
    pub machine: Option<MachineIndex>,
    pub request: Option<CallRequest>,
    pub reply: Option<ApiResult<CallReply>>,
    pub delivered: bool,
    /// The client stopped waiting (its task was dropped): the slot is freed once the reply is
    /// delivered, since the server's events still refer to it until then.
    pub abandoned: bool,
    pub waker: Option<Waker>,
    /// For a parked `wait`: the state it waits for.
    pub waiting_for: Option<(MachineIndex, MachineState)>,
}

/// The calls in flight, in reusable slots. A run makes millions of calls (flyctl refreshes every
/// blue's lease every 4 s), and keeping each one after its reply was 300 MiB of a 10 000-machine
/// deploy (issue 6). A slot is freed when its client has taken the reply, or when the reply of an
/// abandoned call is delivered; so there are never more slots than calls in flight, which the
/// executor's task limit bounds.
#[derive(Debug, Default)]
pub struct CallTable {
    slots: Slab<PendingCall>,
    /// Calls made so far: the next call's number.
    made: u32,
}

impl CallTable {
    fn insert(
        &mut self,
        client: u32,
        operation: Operation,
        machine: Option<MachineIndex>,
        request: CallRequest,
    ) -> u32 {
        let number = self.made;
        self.made = self.made.checked_add(1).expect("calls fit in u32");
        let slot = self.slots.insert(PendingCall {
            number,
            client,
            operation,
            machine,
            request: Some(request),
            reply: None,
            delivered: false,
            abandoned: false,
            waker: None,
            waiting_for: None,
        });
        u32::try_from(slot).expect("slots fit in u32")
    }

    /// The call in `slot`, if that slot still holds the call numbered `number`.
    pub fn get(&self, slot: u32, number: u32) -> Option<&PendingCall> {
        self.slots
            .get(slot as usize)
            .filter(|call| call.number == number)
    }

    /// Frees a slot whose reply was delivered.
    pub fn release(&mut self, slot: u32) {
        let call = self.slots.remove(slot as usize);
        assert!(call.delivered, "a call is released only after its reply");
    }
}

impl std::ops::Index<u32> for CallTable {
    type Output = PendingCall;

    fn index(&self, slot: u32) -> &PendingCall {
        &self.slots[slot as usize]
    }
}

impl std::ops::IndexMut<u32> for CallTable {
    fn index_mut(&mut self, slot: u32) -> &mut PendingCall {
        &mut self.slots[slot as usize]
    }
}

impl World {
    /// A client sends a call; it reaches the server after a sampled latency.
    pub fn submit_call(&mut self, client: u32, request: CallRequest) -> u32 {
        let operation = request.operation();
        let machine = request
            .machine_id()
            .and_then(|id| self.machine_ids.get(&id.0));
        self.call_log.call(operation, machine);
        if let (CallRequest::Destroy { kill, nonce, .. }, Some(machine)) = (&request, machine) {
            let destroy = DestroyCall {
                kill: *kill,
                nonce: nonce.is_some(),
            };
            self.call_log.destroy(machine, destroy);
        }
        let call = self.calls.insert(client, operation, machine, request);
        self.record(Step::ApiCall {
            call: self.calls[call].number,
            client,
            operation,
            machine,
        });
        self.observe(&Observation::CallStarted {
            deploy: client,
            operation,
        });
        let latency = self.api_latency(operation, client);
        self.schedule_after(latency, Event::CallArrives(call));
        call
    }

    /// One-way latency: the operation's distribution, plus any slow-API fault (F3).
    fn api_latency(&mut self, operation: Operation, client: u32) -> Duration {
        let api = &self.scenario.api;
        let distribution = api
            .operation_latency
            .get(&operation)
            .unwrap_or(&api.latency)
            .clone();
        let latency = self.streams.api.sample(&distribution);
        latency + self.extra_latency(operation, client)
    }

    /// The server applies the call now (or parks it, for `wait`).
    pub fn call_arrives(&mut self, call: u32) {
        let request = self.calls[call]
            .request
            .take()
            .expect("a call arrives once");
        let client = self.calls[call].client;
        // An ID unknown when the call was sent may name a machine created since.
        let machine = self.calls[call].machine.or_else(|| {
            request
                .machine_id()
                .and_then(|id| self.machine_ids.get(&id.0))
        });
        if let Some(error) = self.injected_api_error(request.operation(), client, machine) {
            self.reply(call, Err(error));
            return;
        }
        let operation = request.operation();
        // None: a parked wait, answered when the machine changes state or the timeout ends.
        if let Some(result) = self.apply(call, client, machine, request) {
            // F2: applied, but the reply is lost on the way back.
            let lost = self.ambiguous_reply(operation, client, machine);
            self.reply(call, lost.map_or(result, Err));
        }
    }

    fn reply(&mut self, call: u32, result: ApiResult<CallReply>) {
        let operation = self.calls[call].operation;
        let client = self.calls[call].client;
        self.calls[call].reply = Some(result);
        let latency = self.api_latency(operation, client);
        self.schedule_after(latency, Event::CallReplies(call));
    }

    /// The reply reaches the client: wake the task awaiting it (or free the slot of a call
    /// nobody awaits any more).
    pub fn call_replies(&mut self, call: u32) {
        let pending = &mut self.calls[call];
        pending.delivered = true;
        let status = match &pending.reply {
            Some(Ok(_)) => 0,
            Some(Err(error)) => error.status.unwrap_or(599),
            None => unreachable!("a reply is scheduled only once the result is known"),
        };
        if let Some(waker) = pending.waker.take() {
            waker.wake();
        }
        let (number, client, operation, abandoned) = (
            pending.number,
            pending.client,
            pending.operation,
            pending.abandoned,
        );
        self.record(Step::ApiReply {
            call: number,
            status,
        });
        self.observe(&Observation::CallFinished {
            deploy: client,
            operation,
        });
        if abandoned {
            self.calls.release(call);
        }
    }

    /// The client is done with a call: it took the reply, or stopped waiting for it.
    pub fn call_dropped(&mut self, call: u32, reply_taken: bool) {
        if reply_taken || self.calls[call].delivered {
            self.calls.release(call);
        } else {
            self.calls[call].abandoned = true;
            self.calls[call].waker = None;
        }
    }

    fn apply(
        &mut self,
        call: u32,
        client: u32,
        machine: Option<MachineIndex>,
        request: CallRequest,
    ) -> Option<ApiResult<CallReply>> {
        let target = |id| Target { id, machine };
        let result = match request {
            CallRequest::List => Ok(CallReply::Machines(self.list_machines())),
            CallRequest::Get(id) => self
                .find(target(&id))
                .map(|machine| CallReply::Machine(Box::new(self.machine_as_listed(machine)))),
            CallRequest::Launch(input) => self.launch(client, *input),
            CallRequest::Wait { id, state, timeout } => {
                return self.wait(call, target(&id), state, timeout);
            }
            CallRequest::AcquireLease { id, ttl } => self.acquire_lease(client, target(&id), ttl),
            CallRequest::RefreshLease { id, ttl, nonce } => {
                self.refresh_lease(client, target(&id), ttl, &nonce)
            }
            CallRequest::ReleaseLease { id, nonce } => {
                self.release_lease(client, target(&id), &nonce)
            }
            CallRequest::Cordon { id, nonce } => {
                self.cordon(client, target(&id), nonce.as_deref(), true)
            }
            CallRequest::Uncordon { id, nonce } => {
                self.cordon(client, target(&id), nonce.as_deref(), false)
            }
            CallRequest::Stop { id, nonce } => self.stop(client, target(&id), nonce.as_deref()),
            CallRequest::Destroy { id, kill, nonce } => {
                self.destroy(client, target(&id), kill, nonce.as_deref())
            }
            CallRequest::SetMetadata { id, key, value } => {
                self.set_metadata(target(&id), key, value)
            }
            CallRequest::Update { id, input, nonce } => {
                self.update(client, target(&id), *input, nonce.as_deref())
            }
            CallRequest::CanPerformBluegreen => {
                Ok(CallReply::Bool(self.org_allows_bluegreen(client)))
            }
            CallRequest::Start { id, nonce } => self.start(target(&id), nonce.as_deref()),
        };
        // A fall of the routable count to zero from here on is no longer this call's doing.
        self.observe(&Observation::MutationApplied);
        Some(result)
    }

    pub fn region_name(&self, machine: MachineIndex) -> String {
        self.regions[self.machines[machine as usize].region as usize].clone()
    }

    /// A machine the API knows: 404 when unknown or destroyed.
    fn find(&self, target: Target<'_>) -> ApiResult<MachineIndex> {
        match target.machine {
            Some(machine) if self.machines[machine as usize].state != MachineState::Destroyed => {
                Ok(machine)
            }
            _ => Err(ApiError::not_found(format!(
                "machine not found: {}",
                target.id
            ))),
        }
    }

    /// Every machine `list` can see: not destroyed, and past the read-after-write lag (§7.5).
    fn list_machines(&self) -> Vec<Machine> {
        let now = self.now();
        self.machines
            .iter()
            .enumerate()
            .filter(|(_, record)| record.state != MachineState::Destroyed)
            .filter(|(_, record)| record.listed_from <= now)
            .map(|(index, _)| self.machine_as_listed(index as MachineIndex))
            .collect()
    }

    /// A machine as `list`/`get` show it: with a host that is not ok (F7) the host status says
    /// so and the config is fly-go's `IncompleteConfig` (`machine_types.go`: "when `host_status`
    /// isn't ok, the config can't be fully retrieved"): the metadata flaps keeps (platform
    /// version, process group, release), which `GetConfig`, `IsFlyAppsPlatform` and
    /// `ProcessGroup` read, and nothing the host alone knows (image, checks, services); no check
    /// results. An empty image ref (F4) hides the image.
    fn machine_as_listed(&self, machine: MachineIndex) -> Machine {
        let mut listed = self.machines[machine as usize].to_api(&self.region_name(machine));
        let host_status = self.host_status(machine);
        if host_status != crate::api::HostStatus::Ok {
            listed.host_status = host_status;
            listed.incomplete_config = true;
            listed.config = crate::api::MachineConfig {
                metadata: std::mem::take(&mut listed.config.metadata),
                ..crate::api::MachineConfig::default()
            };
            listed.checks.clear();
        }
        if self.image_ref_hidden(machine) {
            listed.image_ref = crate::api::ImageRef::default();
        }
        listed
    }

    fn launch(&mut self, client: u32, input: LaunchInput) -> ApiResult<CallReply> {
        if let Some(error) = self.injected_capacity_error(client) {
            return Err(error);
        }
        let Some(region) = self.region_index(&input.region) else {
            return Err(ApiError::status(
                400,
                format!("invalid region `{}`", input.region),
            ));
        };
        let mut config = input.config;
        config
            .metadata
            .entry(METADATA_PLATFORM_VERSION.to_string())
            .or_insert_with(|| "v2".to_string());
        let Some(machine) = self.create_machine(NewMachine {
            region,
            config,
            state: MachineState::Created,
            cordoned: input.skip_service_registration,
            created_by: Some(client),
        }) else {
            return Err(ApiError::status(
                422,
                "could not reserve resource for machine: machine limit reached",
            ));
        };
        self.deploys[client as usize].launched.push(machine);
        self.call_log.launched(machine, input.skip_launch);
        if !input.skip_launch {
            self.observe(&Observation::GreenBoots { machine });
        }
        if input.skip_launch {
            // Inferred: a machine created with skip_launch sits stopped until started.
            self.set_state(machine, MachineState::Stopped);
        } else {
            self.start_machine(machine);
        }
        let region = self.region_name(machine);
        let mut reply = self.machines[machine as usize].to_api(&region);
        // The launch response reports the machine as created, whatever happens next.
        reply.state = MachineState::Created;
        Ok(CallReply::Machine(Box::new(reply)))
    }

    fn wait(
        &mut self,
        call: u32,
        target: Target<'_>,
        state: WaitState,
        timeout: Duration,
    ) -> Option<ApiResult<CallReply>> {
        let wanted = state.as_machine_state();
        let id = target.id;
        let Some(machine) = target.machine else {
            return Some(Err(ApiError::not_found(format!("machine not found: {id}"))));
        };
        let current = self.machines[machine as usize].state;
        if current == wanted {
            return Some(Ok(CallReply::Unit));
        }
        if current == MachineState::Destroyed {
            return Some(Err(ApiError::not_found(format!("machine not found: {id}"))));
        }
        let timeout = timeout.min(self.scenario.api.wait_timeout_max);
        self.calls[call].waiting_for = Some((machine, wanted));
        self.machines[machine as usize].waiters.push(call);
        let number = self.calls[call].number;
        self.schedule_after(timeout, Event::WaitExpires { call, number });
        None
    }

    /// A machine changed state: answer the `wait` calls it satisfies.
    pub fn resolve_waiters(&mut self, machine: MachineIndex) {
        if self.machines[machine as usize].waiters.is_empty() {
            return;
        }
        let state = self.machines[machine as usize].state;
        let waiters = std::mem::take(&mut self.machines[machine as usize].waiters);
        let mut still_waiting = Vec::new();
        for call in waiters {
            let wanted = self.calls[call].waiting_for.map(|(_, wanted)| wanted);
            if wanted == Some(state) {
                self.calls[call].waiting_for = None;
                self.reply(call, Ok(CallReply::Unit));
            } else if state == MachineState::Destroyed {
                self.calls[call].waiting_for = None;
                let error = ApiError::not_found("machine not found");
                self.reply(call, Err(error));
            } else {
                still_waiting.push(call);
            }
        }
        self.machines[machine as usize].waiters = still_waiting;
    }

    /// A parked `wait` reached its server timeout: 408. `number` tells whether the slot still
    /// holds that call: an answered call's slot may hold another call by now.
    pub fn wait_expires(&mut self, call: u32, number: u32) {
        if self.calls.get(call, number).is_none() {
            return; // answered, and its slot freed
        }
        let Some((machine, _)) = self.calls[call].waiting_for.take() else {
            return; // answered already
        };
        self.machines[machine as usize]
            .waiters
            .retain(|waiter| *waiter != call);
        let error = ApiError::status(408, "deadline exceeded waiting for machine state");
        self.reply(call, Err(error));
    }

    fn active_lease(&self, machine: MachineIndex) -> Option<&LeaseRecord> {
        let now = self.now();
        self.machines[machine as usize]
            .lease
            .as_ref()
            .filter(|lease| lease.expires_at > now)
    }

    fn lease_reply(&self, machine: MachineIndex) -> CallReply {
        let lease = self.machines[machine as usize]
            .lease
            .as_ref()
            .expect("a lease was just written");
        let expires_in = lease
            .expires_at
            .saturating_since(crate::engine::SimTime::ZERO);
        CallReply::Lease(Lease {
            nonce: lease.nonce.clone(),
            expires_at_unix_seconds: self.epoch_unix_seconds
                + i64::try_from(expires_in.as_secs()).unwrap_or(i64::MAX),
            owner: lease.owner.clone(),
            version: self.machines[machine as usize].instance_id.clone(),
        })
    }

    fn acquire_lease(
        &mut self,
        client: u32,
        target: Target<'_>,
        ttl: Duration,
    ) -> ApiResult<CallReply> {
        let machine = self.find(target)?;
        if let Some(lease) = self.active_lease(machine) {
            let owner = lease.owner.clone();
            self.record(Step::Lease {
                machine,
                client,
                step: LeaseStep::Conflict,
            });
            return Err(ApiError::status(
                409,
                format!("lease currently held by {owner}"),
            ));
        }
        let nonce = self.fresh_identifier();
        let expires_at = self.now() + ttl;
        self.machines[machine as usize].lease = Some(LeaseRecord {
            nonce,
            owner: client_name(client),
            client: Some(client),
            expires_at,
        });
        self.record(Step::Lease {
            machine,
            client,
            step: LeaseStep::Acquired,
        });
        Ok(self.lease_reply(machine))
    }

    /// Inferred: refreshing a lease that expired fails (409); the nonce must match.
    fn refresh_lease(
        &mut self,
        client: u32,
        target: Target<'_>,
        ttl: Duration,
        nonce: &str,
    ) -> ApiResult<CallReply> {
        let machine = self.find(target)?;
        match self.active_lease(machine) {
            Some(lease) if lease.nonce == nonce => {}
            Some(lease) => {
                let owner = lease.owner.clone();
                return Err(ApiError::status(
                    409,
                    format!("lease currently held by {owner}"),
                ));
            }
            None => return Err(ApiError::status(409, "lease expired")),
        }
        let expires_at = self.now() + ttl;
        if let Some(lease) = self.machines[machine as usize].lease.as_mut() {
            lease.expires_at = expires_at;
        }
        self.record(Step::Lease {
            machine,
            client,
            step: LeaseStep::Refreshed,
        });
        Ok(self.lease_reply(machine))
    }

    fn release_lease(
        &mut self,
        client: u32,
        target: Target<'_>,
        nonce: &str,
    ) -> ApiResult<CallReply> {
        let machine = self.find(target)?;
        match self.active_lease(machine) {
            Some(lease) if lease.nonce == nonce => {}
            _ => return Err(ApiError::not_found("lease not found")),
        }
        self.machines[machine as usize].lease = None;
        self.record(Step::Lease {
            machine,
            client,
            step: LeaseStep::Released,
        });
        Ok(CallReply::Unit)
    }

    /// A mutation of a leased machine must carry the lease's nonce (reference §10); a machine
    /// with no active lease accepts any (inferred).
    fn check_nonce(&self, machine: MachineIndex, nonce: Option<&str>) -> ApiResult<()> {
        match self.active_lease(machine) {
            Some(lease) if Some(lease.nonce.as_str()) != nonce => Err(ApiError::status(
                409,
                format!("machine is leased by {}: lease nonce mismatch", lease.owner),
            )),
            _ => Ok(()),
        }
    }

    fn cordon(
        &mut self,
        client: u32,
        target: Target<'_>,
        nonce: Option<&str>,
        cordoned: bool,
    ) -> ApiResult<CallReply> {
        let machine = self.find(target)?;
        self.check_nonce(machine, nonce)?;
        let mutation = if cordoned {
            Mutation::Cordon
        } else {
            Mutation::Uncordon
        };
        self.observe(&Observation::MutationApplying {
            deploy: client,
            machine,
            mutation,
        });
        self.set_cordoned(machine, cordoned);
        self.note_mutation(client, machine, mutation);
        Ok(CallReply::Unit)
    }

    fn stop(
        &mut self,
        client: u32,
        target: Target<'_>,
        nonce: Option<&str>,
    ) -> ApiResult<CallReply> {
        let machine = self.find(target)?;
        self.check_nonce(machine, nonce)?;
        self.note_mutation(client, machine, Mutation::Stop);
        self.stop_machine(machine);
        Ok(CallReply::Unit)
    }

    /// Inferred: starting a machine that is running or on its way is a no-op that succeeds, as
    /// stopping a stopped one is (reference §10).
    fn start(&mut self, target: Target<'_>, nonce: Option<&str>) -> ApiResult<CallReply> {
        let machine = self.find(target)?;
        self.check_nonce(machine, nonce)?;
        let state = self.machines[machine as usize].state;
        if matches!(
            state,
            MachineState::Stopped | MachineState::Created | MachineState::Suspended
        ) {
            self.start_machine(machine);
        }
        Ok(CallReply::Unit)
    }

    fn destroy(
        &mut self,
        client: u32,
        target: Target<'_>,
        kill: bool,
        nonce: Option<&str>,
    ) -> ApiResult<CallReply> {
        let machine = self.find(target)?;
        self.check_nonce(machine, nonce)?;
        let state = self.machines[machine as usize].state;
        if !kill && matches!(state, MachineState::Started | MachineState::Starting) {
            return Err(ApiError::status(
                412,
                "failed_precondition: machine still active, refusing to destroy",
            ));
        }
        self.note_mutation(client, machine, Mutation::Destroy);
        self.destroy_machine(machine);
        Ok(CallReply::Unit)
    }

    fn set_metadata(
        &mut self,
        target: Target<'_>,
        key: String,
        value: String,
    ) -> ApiResult<CallReply> {
        let machine = self.find(target)?;
        self.machines[machine as usize]
            .config
            .metadata
            .insert(key, value);
        Ok(CallReply::Unit)
    }

    /// In-place update: the machine reboots on the new config.
    fn update(
        &mut self,
        client: u32,
        target: Target<'_>,
        input: LaunchInput,
        nonce: Option<&str>,
    ) -> ApiResult<CallReply> {
        let machine = self.find(target)?;
        self.check_nonce(machine, nonce)?;
        self.note_mutation(client, machine, Mutation::Update);
        let record = &mut self.machines[machine as usize];
        record.image_ref = crate::api::ImageRef::parse(&input.config.image);
        let old_image = std::mem::replace(&mut record.config, input.config).image;
        let new_image = record.config.image.clone();
        let routable = self.machines[machine as usize].routable;
        let now = self.now();
        self.image_log.push((now, machine, new_image.clone()));
        self.observe(&Observation::MachineImageChanged {
            machine,
            old_image: &old_image,
            new_image: &new_image,
            routable,
        });
        self.crash_free_restart(machine, input.skip_launch);
        let region = self.region_name(machine);
        Ok(CallReply::Machine(Box::new(
            self.machines[machine as usize].to_api(&region),
        )))
    }

    /// Reboot for an update: the old process gets its stop signal and drains as on a stop, then
    /// the new one boots (unless skip_launch, or the machine was not running).
    fn crash_free_restart(&mut self, machine: MachineIndex, skip_launch: bool) {
        let state = self.machines[machine as usize].state;
        let running = matches!(state, MachineState::Started | MachineState::Starting);
        if running {
            self.machines[machine as usize].boot_after_stop = !skip_launch;
            self.stop_machine(machine);
        } else if !skip_launch {
            self.start_machine(machine);
        }
    }

    fn note_mutation(&mut self, client: u32, machine: MachineIndex, mutation: Mutation) {
        // From here to the end of this call (the checks below, then the stop, destroy or
        // reboot) is the deployer's doing.
        self.observe(&Observation::MutationApplying {
            deploy: client,
            machine,
            mutation,
        });
        let now = self.now();
        let lapsed = self.machines[machine as usize]
            .lease
            .as_ref()
            .is_some_and(|lease| lease.client == Some(client) && lease.expires_at <= now);
        if lapsed {
            self.observe(&Observation::MutationWithLapsedLease {
                deploy: client,
                machine,
            });
        }
        let state = self.machines[machine as usize].state;
        self.observe(&Observation::DeployMutation {
            deploy: client,
            machine,
            state,
            mutation,
        });
    }
}

/// The lease owner name of a deployer.
pub fn client_name(client: u32) -> String {
    format!("deployer-{client}@fleetsim")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivered(table: &mut CallTable, slot: u32) {
        table[slot].reply = Some(Ok(CallReply::Unit));
        table[slot].delivered = true;
    }

    // Guards slot reuse: a freed slot serves the next call, and the old call's number no longer
    // finds it (so a stale `wait` timeout cannot answer the newer call).
    #[test]
    fn a_reused_slot_does_not_answer_to_the_old_call() {
        let mut table = CallTable::default();
        let first = table.insert(0, Operation::Wait, Some(0), CallRequest::List);
        let first_number = table[first].number;
        delivered(&mut table, first);
        table.release(first);
        let second = table.insert(0, Operation::Wait, Some(0), CallRequest::List);
        assert_eq!(second, first, "the freed slot is reused");
        assert!(table.get(second, first_number).is_none());
        let second_number = table[second].number;
        assert_eq!(second_number, first_number + 1, "numbers count every call");
        assert!(table.get(second, second_number).is_some());
    }

    // Guards the bound on the table: calls that finish give their slots back, so a long run
    // keeps as many slots as calls in flight at once.
    #[test]
    fn finished_calls_give_their_slots_back() {
        let mut table = CallTable::default();
        let mut slot_max = 0;
        for _ in 0..1_000 {
            let slots: Vec<u32> = (0..3)
                .map(|_| table.insert(0, Operation::List, None, CallRequest::List))
                .collect();
            for slot in slots {
                slot_max = slot_max.max(slot);
                delivered(&mut table, slot);
                table.release(slot);
            }
        }
        assert_eq!(slot_max, 2, "three slots serve three calls at a time");
    }
}
