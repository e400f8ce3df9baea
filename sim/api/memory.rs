//! A plain in-memory [`MachinesApi`] for one app, with no simulated time: the proof that the deploy
//! code depends on the trait only, and the platform the tokio tests run it against.
//!
//! Semantics (deliberately simple, and documented so tests can rely on them):
//! - `launch` creates a machine with a fresh ID (`a` + 13 hex digits, the k-th launch gets
//!   [`MemoryApi::launched_id`]`(k)`); it is `started` at once unless `skip_launch` (then
//!   `created`), and cordoned when `skip_service_registration`.
//! - `stop` stops at once; `destroy` destroys at once (without `kill`, a started machine is
//!   refused with 412) and drops the lease.
//! - `get`/`list` report one check result per configured check while the machine is started:
//!   passing, or critical for machines marked never-healthy; no results otherwise.
//! - `wait` returns at once when the state is reached, otherwise a 408 at once (there is no clock
//!   to block on; the caller's loop sleeps on its runtime).
//! - Leases never expire. Acquiring a held lease is a 409; refresh and release need the lease's
//!   nonce (404 without a lease, 409 on a mismatch). Cordon, uncordon, stop, destroy and update
//!   of a leased machine need its nonce (409 without it or on a mismatch); a nonce on a machine
//!   without a lease is accepted (as after expiry). Metadata writes ignore leases.
//! - Unknown and destroyed machines are 404 for every per-machine call; `list` still lists
//!   destroyed machines with state `destroyed`.
//!
//! Every call is logged ([`Call`]) before faults apply, so tests can assert ordering.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::{
    ApiError, ApiResult, CheckConfig, CheckKind, CheckState, CheckStatus, HostStatus, ImageRef,
    LaunchInput, Lease, Machine, MachineConfig, MachineId, MachineState, MachinesApi,
    ServiceConfig, WaitState, METADATA_PLATFORM_VERSION, METADATA_PROCESS_GROUP,
    METADATA_RELEASE_VERSION,
};

/// The operations of the trait, for the call log and fault rules (the API's own enumeration).
pub type Op = super::Operation;

/// One logged call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub op: Op,
    pub machine: Option<MachineId>,
    /// Whether the call carried a lease nonce.
    pub nonce: bool,
}

#[derive(Clone, Debug)]
enum FaultRule {
    /// The n-th call (1-based) of `op` fails; with `after_effect` the call takes effect first
    /// (an ambiguous write: the reply is lost).
    Nth {
        op: Op,
        nth: u32,
        error: ApiError,
        after_effect: bool,
    },
    /// Every call of `op` (on `machine`, or on any machine) fails before taking effect.
    Always {
        op: Op,
        machine: Option<MachineId>,
        error: ApiError,
    },
}

type Hook = Box<dyn FnMut(u32, Option<&MachineId>)>;

struct State {
    machines: BTreeMap<MachineId, Machine>,
    leases: BTreeMap<MachineId, Lease>,
    launches: u64,
    nonces: u64,
    instances: u64,
    calls: Vec<Call>,
    op_counts: BTreeMap<Op, u32>,
    rules: Vec<FaultRule>,
    never_healthy: BTreeSet<MachineId>,
    never_stops: BTreeSet<MachineId>,
    never_starts: BTreeSet<MachineId>,
    can_perform_bluegreen: bool,
}

/// The in-memory API. Single-threaded (`RefCell`); no borrow is held across an `.await`.
pub struct MemoryApi {
    app_name: String,
    state: RefCell<State>,
    hooks: RefCell<Vec<(Op, Hook)>>,
}

/// The owner string of leases the deployer takes.
pub const DEPLOYER_LEASE_OWNER: &str = "deployer@fleetsim";

impl MemoryApi {
    pub fn new(app_name: &str) -> MemoryApi {
        MemoryApi {
            app_name: app_name.to_string(),
            state: RefCell::new(State {
                machines: BTreeMap::new(),
                leases: BTreeMap::new(),
                launches: 0,
                nonces: 0,
                instances: 0,
                calls: Vec::new(),
                op_counts: BTreeMap::new(),
                rules: Vec::new(),
                never_healthy: BTreeSet::new(),
                never_stops: BTreeSet::new(),
                never_starts: BTreeSet::new(),
                can_perform_bluegreen: true,
            }),
            hooks: RefCell::new(Vec::new()),
        }
    }

    /// `count` started machines of group `app` in region `ord` running `image`, with
    /// [`MemoryApi::default_config`]; IDs are [`MemoryApi::fleet_id`]`(1..=count)`.
    pub fn with_fleet(app_name: &str, count: usize, image: &str) -> MemoryApi {
        let api = MemoryApi::new(app_name);
        for index in 1..=count {
            let mut config = MemoryApi::default_config();
            config.image = image.to_string();
            api.add_machine(MemoryApi::fleet_id(index), MachineState::Started, config);
        }
        api
    }

    /// The ID `with_fleet` gives its `index`-th machine (1-based).
    pub fn fleet_id(index: usize) -> MachineId {
        MachineId(format!("b{index:013x}"))
    }

    /// The ID of the `k`-th machine created by `launch` (1-based).
    pub fn launched_id(k: u64) -> MachineId {
        MachineId(format!("a{k:013x}"))
    }

    /// A v2 app machine config: group `app`, one HTTP service on 8080 with a 15 s HTTP check.
    pub fn default_config() -> MachineConfig {
        let mut config = MachineConfig::default();
        config
            .metadata
            .insert(METADATA_PLATFORM_VERSION.to_string(), "v2".to_string());
        config
            .metadata
            .insert(METADATA_PROCESS_GROUP.to_string(), "app".to_string());
        config
            .metadata
            .insert(METADATA_RELEASE_VERSION.to_string(), "1".to_string());
        config.services.push(ServiceConfig {
            internal_port: 8080,
            protocol: "tcp".to_string(),
            autostop: false,
            autostart: false,
            checks: vec![CheckConfig {
                name: "servicecheck-00-http-8080".to_string(),
                kind: CheckKind::Http,
                interval: Some(Duration::from_secs(15)),
                grace_period: Some(Duration::from_secs(1)),
                timeout: Some(Duration::from_secs(2)),
            }],
        });
        config
    }

    /// Seeds one machine (host ok, region `ord`, uncordoned).
    pub fn add_machine(&self, id: MachineId, state: MachineState, config: MachineConfig) {
        let mut inner = self.state.borrow_mut();
        inner.instances += 1;
        let machine = Machine {
            id: id.clone(),
            name: format!("machine-{id}"),
            state,
            region: "ord".to_string(),
            image_ref: ImageRef::parse(&config.image),
            instance_id: format!("instance-{}", inner.instances),
            config,
            host_status: HostStatus::Ok,
            checks: Vec::new(),
            cordoned: false,
            incomplete_config: false,
        };
        let previous = inner.machines.insert(id, machine);
        assert!(previous.is_none(), "machine IDs are unique");
    }

    /// Changes a seeded machine in place (image, metadata, host status, …).
    pub fn modify(&self, id: &MachineId, change: impl FnOnce(&mut Machine)) {
        let mut inner = self.state.borrow_mut();
        change(inner.machines.get_mut(id).expect("known machine"));
    }

    // ---- faults ----

    /// The `nth` call (1-based) of `op` fails with `error`, before taking effect.
    pub fn fail_nth(&self, op: Op, nth: u32, error: ApiError) {
        assert!(nth >= 1);
        let rule = FaultRule::Nth {
            op,
            nth,
            error,
            after_effect: false,
        };
        self.state.borrow_mut().rules.push(rule);
    }

    /// The `nth` call of `op` takes effect, then reports `error` (an ambiguous write).
    pub fn fail_nth_after_effect(&self, op: Op, nth: u32, error: ApiError) {
        assert!(nth >= 1);
        let rule = FaultRule::Nth {
            op,
            nth,
            error,
            after_effect: true,
        };
        self.state.borrow_mut().rules.push(rule);
    }

    /// Every call of `op` on `machine` fails with `error`.
    pub fn fail_always(&self, op: Op, machine: &MachineId, error: ApiError) {
        let rule = FaultRule::Always {
            op,
            machine: Some(machine.clone()),
            error,
        };
        self.state.borrow_mut().rules.push(rule);
    }

    /// Every call of `op`, on any machine, fails with `error`.
    pub fn fail_every(&self, op: Op, error: ApiError) {
        let rule = FaultRule::Always {
            op,
            machine: None,
            error,
        };
        self.state.borrow_mut().rules.push(rule);
    }

    /// The machine (which may not exist yet) reports its checks critical.
    pub fn never_healthy(&self, id: &MachineId) {
        self.state.borrow_mut().never_healthy.insert(id.clone());
    }

    /// The machine (which may not exist yet) accepts stop but never stops.
    pub fn never_stops(&self, id: &MachineId) {
        self.state.borrow_mut().never_stops.insert(id.clone());
    }

    /// The machine (which may not exist yet) is created `starting` and never gets further.
    pub fn never_starts(&self, id: &MachineId) {
        self.state.borrow_mut().never_starts.insert(id.clone());
    }

    /// Another owner holds the machine's lease.
    pub fn hold_lease(&self, id: &MachineId, owner: &str) {
        let mut inner = self.state.borrow_mut();
        inner.nonces += 1;
        let lease = Lease {
            nonce: format!("foreign-nonce-{}", inner.nonces),
            expires_at_unix_seconds: i64::MAX,
            owner: owner.to_string(),
            version: String::new(),
        };
        inner.leases.insert(id.clone(), lease);
    }

    pub fn set_can_perform_bluegreen(&self, can: bool) {
        self.state.borrow_mut().can_perform_bluegreen = can;
    }

    /// Runs `hook(nth, machine)` on every call of `op`, before faults and effects (for example to
    /// request an abort at a precise call, or to record when calls happen).
    pub fn on_call(&self, op: Op, hook: impl FnMut(u32, Option<&MachineId>) + 'static) {
        self.hooks.borrow_mut().push((op, Box::new(hook)));
    }

    // ---- inspection ----

    pub fn app_name(&self) -> &str {
        &self.app_name
    }

    /// Every machine, destroyed ones included, by ID.
    pub fn machines(&self) -> Vec<Machine> {
        let inner = self.state.borrow();
        inner
            .machines
            .values()
            .map(|machine| with_checks(&inner, machine))
            .collect()
    }

    /// Machines not destroyed.
    pub fn alive(&self) -> Vec<Machine> {
        self.machines()
            .into_iter()
            .filter(|machine| machine.state != MachineState::Destroyed)
            .collect()
    }

    pub fn exists(&self, id: &MachineId) -> bool {
        self.state_of(id)
            .is_some_and(|state| state != MachineState::Destroyed)
    }

    pub fn state_of(&self, id: &MachineId) -> Option<MachineState> {
        self.state
            .borrow()
            .machines
            .get(id)
            .map(|machine| machine.state)
    }

    pub fn is_cordoned(&self, id: &MachineId) -> bool {
        self.state
            .borrow()
            .machines
            .get(id)
            .expect("known machine")
            .cordoned
    }

    pub fn lease_owner(&self, id: &MachineId) -> Option<String> {
        self.state
            .borrow()
            .leases
            .get(id)
            .map(|lease| lease.owner.clone())
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.borrow().calls.clone()
    }

    pub fn calls_of(&self, op: Op) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|call| call.op == op)
            .collect()
    }

    // ---- call plumbing ----

    /// Logs the call, runs hooks and applies fault rules: `Err` fails the call before its effect;
    /// `Ok(Some(error))` is reported after the effect.
    fn begin(
        &self,
        op: Op,
        machine: Option<&MachineId>,
        nonce: bool,
    ) -> Result<Option<ApiError>, ApiError> {
        let nth = {
            let mut inner = self.state.borrow_mut();
            inner.calls.push(Call {
                op,
                machine: machine.cloned(),
                nonce,
            });
            let count = inner.op_counts.entry(op).or_insert(0);
            *count += 1;
            *count
        };
        // Hooks run without any borrow held, so they may inspect the API.
        let mut hooks = std::mem::take(&mut *self.hooks.borrow_mut());
        for (hook_op, hook) in hooks.iter_mut() {
            if *hook_op == op {
                hook(nth, machine);
            }
        }
        let mut restored = self.hooks.borrow_mut();
        hooks.append(&mut restored);
        *restored = hooks;
        drop(restored);

        let inner = self.state.borrow();
        for rule in &inner.rules {
            match rule {
                FaultRule::Always {
                    op: rule_op,
                    machine: rule_machine,
                    error,
                } if *rule_op == op
                    && (rule_machine.is_none() || rule_machine.as_ref() == machine) =>
                {
                    return Err(error.clone());
                }
                FaultRule::Nth {
                    op: rule_op,
                    nth: rule_nth,
                    error,
                    after_effect,
                } if *rule_op == op && *rule_nth == nth => {
                    if *after_effect {
                        return Ok(Some(error.clone()));
                    }
                    return Err(error.clone());
                }
                _ => {}
            }
        }
        Ok(None)
    }

    /// `result`, unless the call was faulted after its effect.
    fn finish<T>(late_error: Option<ApiError>, result: ApiResult<T>) -> ApiResult<T> {
        match (late_error, result) {
            (Some(error), Ok(_)) => Err(error),
            (_, result) => result,
        }
    }

    fn alive_machine<'a>(inner: &'a mut State, id: &MachineId) -> ApiResult<&'a mut Machine> {
        match inner.machines.get_mut(id) {
            Some(machine) if machine.state != MachineState::Destroyed => Ok(machine),
            _ => Err(ApiError::not_found(format!("machine {id} not found"))),
        }
    }

    /// A leased machine needs its lease's nonce (§10).
    fn check_nonce(inner: &State, id: &MachineId, nonce: Option<&str>) -> ApiResult<()> {
        match (inner.leases.get(id), nonce) {
            (None, _) => Ok(()),
            (Some(lease), Some(nonce)) if lease.nonce == nonce => Ok(()),
            (Some(lease), Some(_)) => Err(ApiError::status(
                409,
                format!(
                    "lease nonce mismatch, lease currently held by {}",
                    lease.owner
                ),
            )),
            (Some(lease), None) => Err(ApiError::status(
                409,
                format!("machine is leased, lease currently held by {}", lease.owner),
            )),
        }
    }

    fn leased_change(
        &self,
        op: Op,
        id: &MachineId,
        nonce: Option<&str>,
        change: impl FnOnce(&mut State, &MachineId) -> ApiResult<()>,
    ) -> ApiResult<()> {
        let late = self.begin(op, Some(id), nonce.is_some())?;
        let mut inner = self.state.borrow_mut();
        MemoryApi::alive_machine(&mut inner, id)?;
        MemoryApi::check_nonce(&inner, id, nonce)?;
        let result = change(&mut inner, id);
        MemoryApi::finish(late, result)
    }
}

/// The machine as `get`/`list` report it: check results filled in from its configured checks.
fn with_checks(inner: &State, machine: &Machine) -> Machine {
    let mut reported = machine.clone();
    reported.checks = if machine.state == MachineState::Started {
        let status = if inner.never_healthy.contains(&machine.id) {
            CheckState::Critical
        } else {
            CheckState::Passing
        };
        machine
            .config
            .all_checks()
            .map(|check| CheckStatus {
                name: check.name.clone(),
                status,
                output: String::new(),
            })
            .collect()
    } else {
        Vec::new()
    };
    reported
}

impl MachinesApi for MemoryApi {
    async fn list(&self) -> ApiResult<Vec<Machine>> {
        let late = self.begin(Op::List, None, false)?;
        MemoryApi::finish(late, Ok(self.machines()))
    }

    async fn get(&self, id: &MachineId) -> ApiResult<Machine> {
        let late = self.begin(Op::Get, Some(id), false)?;
        let mut inner = self.state.borrow_mut();
        let machine = MemoryApi::alive_machine(&mut inner, id)?.clone();
        MemoryApi::finish(late, Ok(with_checks(&inner, &machine)))
    }

    async fn launch(&self, input: LaunchInput) -> ApiResult<Machine> {
        let late = self.begin(Op::Launch, None, false)?;
        let mut inner = self.state.borrow_mut();
        inner.launches += 1;
        inner.instances += 1;
        let id = MemoryApi::launched_id(inner.launches);
        let state = if input.skip_launch {
            MachineState::Created
        } else if inner.never_starts.contains(&id) {
            MachineState::Starting
        } else {
            MachineState::Started
        };
        let machine = Machine {
            id: id.clone(),
            name: format!("machine-{id}"),
            state,
            region: input.region,
            image_ref: ImageRef::parse(&input.config.image),
            instance_id: format!("instance-{}", inner.instances),
            config: input.config,
            host_status: HostStatus::Ok,
            checks: Vec::new(),
            cordoned: input.skip_service_registration,
            incomplete_config: false,
        };
        inner.machines.insert(id, machine.clone());
        MemoryApi::finish(late, Ok(with_checks(&inner, &machine)))
    }

    async fn wait(
        &self,
        id: &MachineId,
        state: WaitState,
        _server_timeout: Duration,
    ) -> ApiResult<()> {
        let late = self.begin(Op::Wait, Some(id), false)?;
        let inner = self.state.borrow();
        let Some(machine) = inner.machines.get(id) else {
            return Err(ApiError::not_found(format!("machine {id} not found")));
        };
        let result = if machine.state == state.as_machine_state() {
            Ok(())
        } else if machine.state == MachineState::Destroyed {
            Err(ApiError::not_found(format!("machine {id} not found")))
        } else {
            Err(ApiError::status(
                408,
                format!(
                    "timed out waiting for machine {id} to be {}",
                    state.as_machine_state()
                ),
            ))
        };
        MemoryApi::finish(late, result)
    }

    async fn acquire_lease(&self, id: &MachineId, _ttl: Duration) -> ApiResult<Lease> {
        let late = self.begin(Op::AcquireLease, Some(id), false)?;
        let mut inner = self.state.borrow_mut();
        let version = MemoryApi::alive_machine(&mut inner, id)?
            .instance_id
            .clone();
        if let Some(lease) = inner.leases.get(id) {
            return Err(ApiError::status(
                409,
                format!("lease currently held by {}", lease.owner),
            ));
        }
        inner.nonces += 1;
        let lease = Lease {
            nonce: format!("nonce-{}", inner.nonces),
            expires_at_unix_seconds: i64::MAX,
            owner: DEPLOYER_LEASE_OWNER.to_string(),
            version,
        };
        inner.leases.insert(id.clone(), lease.clone());
        MemoryApi::finish(late, Ok(lease))
    }

    async fn refresh_lease(&self, id: &MachineId, _ttl: Duration, nonce: &str) -> ApiResult<Lease> {
        let late = self.begin(Op::RefreshLease, Some(id), true)?;
        let mut inner = self.state.borrow_mut();
        MemoryApi::alive_machine(&mut inner, id)?;
        let result = match inner.leases.get(id) {
            None => Err(ApiError::not_found("lease not found")),
            Some(lease) if lease.nonce != nonce => Err(ApiError::status(
                409,
                format!("lease currently held by {}", lease.owner),
            )),
            Some(lease) => Ok(lease.clone()),
        };
        MemoryApi::finish(late, result)
    }

    async fn release_lease(&self, id: &MachineId, nonce: &str) -> ApiResult<()> {
        let late = self.begin(Op::ReleaseLease, Some(id), true)?;
        let mut inner = self.state.borrow_mut();
        MemoryApi::alive_machine(&mut inner, id)?;
        let result = match inner.leases.get(id) {
            None => Err(ApiError::not_found("lease not found")),
            Some(lease) if lease.nonce != nonce => Err(ApiError::status(
                409,
                format!("lease currently held by {}", lease.owner),
            )),
            Some(_) => {
                inner.leases.remove(id);
                Ok(())
            }
        };
        MemoryApi::finish(late, result)
    }

    async fn cordon(&self, id: &MachineId, nonce: Option<&str>) -> ApiResult<()> {
        self.leased_change(Op::Cordon, id, nonce, |inner, id| {
            MemoryApi::alive_machine(inner, id)?.cordoned = true;
            Ok(())
        })
    }

    async fn uncordon(&self, id: &MachineId, nonce: Option<&str>) -> ApiResult<()> {
        self.leased_change(Op::Uncordon, id, nonce, |inner, id| {
            MemoryApi::alive_machine(inner, id)?.cordoned = false;
            Ok(())
        })
    }

    async fn stop(
        &self,
        id: &MachineId,
        _signal: Option<&str>,
        nonce: Option<&str>,
    ) -> ApiResult<()> {
        self.leased_change(Op::Stop, id, nonce, |inner, id| {
            if inner.never_stops.contains(id) {
                return Ok(());
            }
            MemoryApi::alive_machine(inner, id)?.state = MachineState::Stopped;
            Ok(())
        })
    }

    async fn destroy(&self, id: &MachineId, kill: bool, nonce: Option<&str>) -> ApiResult<()> {
        self.leased_change(Op::Destroy, id, nonce, |inner, id| {
            let machine = MemoryApi::alive_machine(inner, id)?;
            if !kill && machine.state == MachineState::Started {
                return Err(ApiError::status(
                    412,
                    "machine still active, refusing to destroy without kill",
                ));
            }
            machine.state = MachineState::Destroyed;
            inner.leases.remove(id);
            Ok(())
        })
    }

    async fn set_metadata(&self, id: &MachineId, key: &str, value: &str) -> ApiResult<()> {
        let late = self.begin(Op::SetMetadata, Some(id), false)?;
        let mut inner = self.state.borrow_mut();
        let machine = MemoryApi::alive_machine(&mut inner, id)?;
        machine
            .config
            .metadata
            .insert(key.to_string(), value.to_string());
        MemoryApi::finish(late, Ok(()))
    }

    async fn update(
        &self,
        id: &MachineId,
        input: LaunchInput,
        nonce: Option<&str>,
    ) -> ApiResult<Machine> {
        let mut updated = None;
        self.leased_change(Op::Update, id, nonce, |inner, id| {
            let machine = MemoryApi::alive_machine(inner, id)?;
            machine.image_ref = ImageRef::parse(&input.config.image);
            machine.config = input.config;
            machine.state = if input.skip_launch {
                MachineState::Stopped
            } else {
                MachineState::Started
            };
            updated = Some(machine.clone());
            Ok(())
        })?;
        let inner = self.state.borrow();
        Ok(with_checks(&inner, &updated.expect("updated")))
    }

    async fn can_perform_bluegreen(&self) -> ApiResult<bool> {
        let late = self.begin(Op::CanPerformBluegreen, None, false)?;
        let can = self.state.borrow().can_perform_bluegreen;
        MemoryApi::finish(late, Ok(can))
    }
}
