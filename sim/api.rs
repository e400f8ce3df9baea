//! The Machines API boundary: the only view of the platform the deploy code has.
//!
//! Mirrors the operations flyctl's `bluegreen` strategy calls (reference `flyctl-bluegreen.md` §10)
//! and the shape of fly-go's `flaps` client: one client per app, so no method takes the app name.
//! The simulator implements this trait in `platform::client`; `api::memory` is a plain in-memory
//! implementation that runs on a real tokio runtime, which keeps the deploy code honest about not
//! depending on the simulator.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::time::Duration;

pub mod http;
pub mod memory;
pub mod wire;

/// A platform-assigned machine ID (14 lowercase hex digits on Fly, e.g. `1857507c6540d8`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct MachineId(pub String);

impl fmt::Display for MachineId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// Machine lifecycle states as the Machines API reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MachineState {
    Created,
    Starting,
    Started,
    Stopping,
    Stopped,
    Suspended,
    Destroying,
    Destroyed,
    Failed,
}

impl MachineState {
    /// Every state, in lifecycle order.
    pub const ALL: [MachineState; 9] = [
        MachineState::Created,
        MachineState::Starting,
        MachineState::Started,
        MachineState::Stopping,
        MachineState::Stopped,
        MachineState::Suspended,
        MachineState::Destroying,
        MachineState::Destroyed,
        MachineState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MachineState::Created => "created",
            MachineState::Starting => "starting",
            MachineState::Started => "started",
            MachineState::Stopping => "stopping",
            MachineState::Stopped => "stopped",
            MachineState::Suspended => "suspended",
            MachineState::Destroying => "destroying",
            MachineState::Destroyed => "destroyed",
            MachineState::Failed => "failed",
        }
    }

    /// Active in the sense of `ListFlyAppsMachines`: not destroyed or being destroyed.
    pub fn is_active(self) -> bool {
        !matches!(self, MachineState::Destroying | MachineState::Destroyed)
    }
}

impl fmt::Display for MachineState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The states the `wait` endpoint accepts (reference §10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WaitState {
    Started,
    Stopped,
    Suspended,
    Destroyed,
}

impl WaitState {
    pub fn as_machine_state(self) -> MachineState {
        match self {
            WaitState::Started => MachineState::Started,
            WaitState::Stopped => MachineState::Stopped,
            WaitState::Suspended => MachineState::Suspended,
            WaitState::Destroyed => MachineState::Destroyed,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HostStatus {
    Ok,
    Unreachable,
    Unknown,
}

impl HostStatus {
    /// The API's word for it (`host_status` in fly-go's `Machine`).
    pub fn as_str(self) -> &'static str {
        match self {
            HostStatus::Ok => "ok",
            HostStatus::Unreachable => "unreachable",
            HostStatus::Unknown => "unknown",
        }
    }
}

/// `ImageRef` of a machine as listed. Empty repository and tag mean the host could not say (§3.1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ImageRef {
    pub registry: String,
    pub repository: String,
    pub tag: String,
    pub digest: String,
    pub labels: BTreeMap<String, String>,
}

impl ImageRef {
    /// Parses `registry/repository:tag` (registry optional).
    pub fn parse(image: &str) -> ImageRef {
        let (name, tag) = match image.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => (name, tag),
            _ => (image, "latest"),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((registry, rest)) if registry.contains('.') => (registry, rest),
            _ => ("", name),
        };
        ImageRef {
            registry: registry.to_string(),
            repository: repository.to_string(),
            tag: tag.to_string(),
            digest: String::new(),
            labels: BTreeMap::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.repository.is_empty() && self.tag.is_empty()
    }

    /// The key flyctl's image check groups machines by: `repository:tag`, plus ` (<fly.version>)`
    /// when that label is present (reference §3.1).
    pub fn check_key(&self) -> String {
        let mut key = format!("{}:{}", self.repository, self.tag);
        if let Some(version) = self.labels.get("fly.version") {
            key.push_str(&format!(" ({version})"));
        }
        key
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    Http,
    Tcp,
}

/// A configured health check (top-level `checks` or a service's `checks`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CheckConfig {
    pub name: String,
    pub kind: CheckKind,
    pub interval: Option<Duration>,
    pub grace_period: Option<Duration>,
    pub timeout: Option<Duration>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ServiceConfig {
    pub internal_port: u16,
    pub protocol: String,
    pub autostop: bool,
    pub autostart: bool,
    pub checks: Vec<CheckConfig>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RestartPolicy {
    #[default]
    Always,
    OnFailure,
    No,
}

/// The part of a machine's config the deploy code reads or writes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct MachineConfig {
    pub image: String,
    pub metadata: BTreeMap<String, String>,
    /// Top-level checks, by name.
    pub checks: BTreeMap<String, CheckConfig>,
    pub services: Vec<ServiceConfig>,
    pub restart_policy: RestartPolicy,
    pub standbys: Vec<MachineId>,
    pub kill_signal: Option<String>,
    pub kill_timeout: Option<Duration>,
}

impl MachineConfig {
    /// Every configured check, top-level first, then per service, in a stable order.
    pub fn all_checks(&self) -> impl Iterator<Item = &CheckConfig> {
        self.checks.values().chain(
            self.services
                .iter()
                .flat_map(|service| service.checks.iter()),
        )
    }

    pub fn process_group(&self) -> &str {
        self.metadata
            .get(METADATA_PROCESS_GROUP)
            .map(String::as_str)
            .unwrap_or("app")
    }
}

pub const METADATA_PROCESS_GROUP: &str = "fly_process_group";
pub const METADATA_PLATFORM_VERSION: &str = "fly_platform_version";
pub const METADATA_RELEASE_VERSION: &str = "fly_release_version";
pub const METADATA_DEPLOYMENT_TAG: &str = "fly_bluegreen_deployment_tag";
pub const METADATA_LAUNCH_ID: &str = "fly_flyctl_bluegreen_launch_id";
pub const DEPLOYMENT_TAG_SAFE_TO_DESTROY: &str = "safe_to_destroy";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckState {
    Passing,
    Warning,
    Critical,
}

/// One check result the platform reports on a machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckStatus {
    pub name: String,
    pub status: CheckState,
    pub output: String,
}

/// A machine as `list` and `get` return it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    pub id: MachineId,
    pub name: String,
    pub state: MachineState,
    pub region: String,
    pub image_ref: ImageRef,
    pub instance_id: String,
    pub config: MachineConfig,
    pub host_status: HostStatus,
    pub checks: Vec<CheckStatus>,
    pub cordoned: bool,
    /// Set when the host could not report the config (host not ok): image and config are empty.
    pub incomplete_config: bool,
}

impl Machine {
    pub fn process_group(&self) -> &str {
        self.config.process_group()
    }

    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.config.metadata.get(key).map(String::as_str)
    }
}

/// Body of `POST /machines` (and of `update`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LaunchInput {
    pub config: MachineConfig,
    pub region: String,
    pub skip_launch: bool,
    pub skip_service_registration: bool,
    pub lease_ttl: Option<Duration>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub nonce: String,
    /// Expiry on the platform's clock, in Unix seconds.
    pub expires_at_unix_seconds: i64,
    pub owner: String,
    /// The instance ID of the machine when the lease was taken.
    pub version: String,
}

/// Why a call failed, as far as the caller can tell from the HTTP exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// An HTTP status above 299 (`FlapsError`).
    Status,
    /// The transport failed: connection reset or refused, EOF, DNS; no status.
    Transport,
    /// The caller's own deadline passed (context deadline exceeded): never transient.
    DeadlineExceeded,
}

/// An error from the Machines API, carrying the HTTP status when there was one and whether flyctl
/// classifies it as transient (reference §2: 408, 429, any 5xx, or a transport error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub status: Option<u16>,
    pub message: String,
}

impl ApiError {
    pub fn status(status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            kind: ErrorKind::Status,
            status: Some(status),
            message: message.into(),
        }
    }

    pub fn transport(message: impl Into<String>) -> ApiError {
        ApiError {
            kind: ErrorKind::Transport,
            status: None,
            message: message.into(),
        }
    }

    pub fn deadline_exceeded() -> ApiError {
        ApiError {
            kind: ErrorKind::DeadlineExceeded,
            status: None,
            message: "context deadline exceeded".to_string(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::status(404, message)
    }

    /// flyctl's `flapsutil.IsTransientFlapsError` (reference §2).
    pub fn is_transient(&self) -> bool {
        match self.kind {
            ErrorKind::Status => matches!(self.status, Some(408 | 429 | 500..=599)),
            ErrorKind::Transport => true,
            ErrorKind::DeadlineExceeded => false,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status == Some(404)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(formatter, "{} (status {status})", self.message),
            None => formatter.write_str(&self.message),
        }
    }
}

impl std::error::Error for ApiError {}

/// The Machines API operations (reference §10): for call logs, per-operation latency and faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    List,
    Get,
    Launch,
    Wait,
    AcquireLease,
    RefreshLease,
    ReleaseLease,
    Cordon,
    Uncordon,
    Stop,
    Destroy,
    SetMetadata,
    Update,
    CanPerformBluegreen,
    /// `POST /machines/{id}/start`: only `fleetsim serve`'s clients call it (no deploy strategy
    /// does), so it is not in [`Operation::ALL`], which scenarios and the fuzzer draw from.
    Start,
}

impl Operation {
    pub const ALL: [Operation; 14] = [
        Operation::List,
        Operation::Get,
        Operation::Launch,
        Operation::Wait,
        Operation::AcquireLease,
        Operation::RefreshLease,
        Operation::ReleaseLease,
        Operation::Cordon,
        Operation::Uncordon,
        Operation::Stop,
        Operation::Destroy,
        Operation::SetMetadata,
        Operation::Update,
        Operation::CanPerformBluegreen,
    ];

    /// The name used in scenario files and traces.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::List => "list",
            Operation::Get => "get",
            Operation::Launch => "launch",
            Operation::Wait => "wait",
            Operation::AcquireLease => "acquire-lease",
            Operation::RefreshLease => "refresh-lease",
            Operation::ReleaseLease => "release-lease",
            Operation::Cordon => "cordon",
            Operation::Uncordon => "uncordon",
            Operation::Stop => "stop",
            Operation::Destroy => "destroy",
            Operation::SetMetadata => "set-metadata",
            Operation::Update => "update",
            Operation::CanPerformBluegreen => "can-perform-bluegreen",
            Operation::Start => "start",
        }
    }

    pub fn from_name(name: &str) -> Option<Operation> {
        Operation::ALL
            .into_iter()
            .find(|operation| operation.as_str() == name)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The Machines API operations of reference §10, for one app.
///
/// Futures are not required to be `Send`: the simulator runs everything on one thread, and a real
/// tokio runtime runs the deploy code on a `LocalSet`.
#[allow(async_fn_in_trait)]
pub trait MachinesApi {
    /// `GET /machines`: every machine of the app, including destroyed ones the platform still lists.
    async fn list(&self) -> ApiResult<Vec<Machine>>;
    async fn get(&self, id: &MachineId) -> ApiResult<Machine>;
    async fn launch(&self, input: LaunchInput) -> ApiResult<Machine>;
    /// Blocks on the server until `state` is reached or `server_timeout` (at most 60 s) ends,
    /// which is a 408.
    async fn wait(
        &self,
        id: &MachineId,
        state: WaitState,
        server_timeout: Duration,
    ) -> ApiResult<()>;
    async fn acquire_lease(&self, id: &MachineId, ttl: Duration) -> ApiResult<Lease>;
    async fn refresh_lease(&self, id: &MachineId, ttl: Duration, nonce: &str) -> ApiResult<Lease>;
    async fn release_lease(&self, id: &MachineId, nonce: &str) -> ApiResult<()>;
    async fn cordon(&self, id: &MachineId, nonce: Option<&str>) -> ApiResult<()>;
    async fn uncordon(&self, id: &MachineId, nonce: Option<&str>) -> ApiResult<()>;
    /// `signal` None: the platform applies the machine's configured kill signal.
    async fn stop(
        &self,
        id: &MachineId,
        signal: Option<&str>,
        nonce: Option<&str>,
    ) -> ApiResult<()>;
    async fn destroy(&self, id: &MachineId, kill: bool, nonce: Option<&str>) -> ApiResult<()>;
    async fn set_metadata(&self, id: &MachineId, key: &str, value: &str) -> ApiResult<()>;
    /// In-place update, for rolling and immediate (issue 3).
    async fn update(
        &self,
        id: &MachineId,
        input: LaunchInput,
        nonce: Option<&str>,
    ) -> ApiResult<Machine>;
    /// GraphQL `canPerformBluegreenDeployment`.
    async fn can_perform_bluegreen(&self) -> ApiResult<bool>;
}

/// What the deploy code may ask of its process: time, sleep, tasks, randomness, the abort flag
/// (Ctrl-C) and the terminal. The simulator implements it on virtual time; `TokioRuntime` in the
/// tests implements it on a real tokio runtime.
pub trait Runtime: Clone + 'static {
    type JoinHandle<T: 'static>: Future<Output = T> + 'static;
    type Sleep: Future<Output = ()> + 'static;

    /// Monotonic time since the process started.
    fn now(&self) -> Duration;
    /// The deployer's wall clock (it may be skewed from the platform's), in Unix seconds.
    fn unix_time_seconds(&self) -> i64;
    fn sleep(&self, duration: Duration) -> Self::Sleep;
    fn spawn<T: 'static>(&self, future: impl Future<Output = T> + 'static) -> Self::JoinHandle<T>;
    /// Randomness for jitter and launch IDs; seeded in the simulator.
    fn random_u64(&self) -> u64;
    /// Whether Ctrl-C / SIGTERM has been received (flyctl's abort flag, reference §6).
    fn abort_requested(&self) -> bool;
    /// One line of the progress output flyctl prints.
    fn print(&self, line: &str);
    /// A structured marker for the harness (phase boundaries, rollback); not printed.
    fn mark(&self, marker: Marker);
}

/// Structured points of a deploy that the harness traces, and where faults can be attached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Marker {
    PhaseStarted(Phase),
    /// The deployer recorded this machine as one of its greens.
    GreenRecorded(MachineId),
    /// `canDeleteGreenMachines` became false: from here rollback never deletes greens.
    PointOfNoReturn,
    RollbackStarted,
    RollbackFinished {
        ok: bool,
    },
}

/// The phases of a deploy, in flyctl's order (reference §3). Other strategies use the subset they
/// have.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    AcquireLeases,
    OrgLimitCheck,
    ImageCheck,
    ChecksRequired,
    CreateGreens,
    WaitStarted,
    WaitHealthy,
    MarkReady,
    Checkpoint,
    WaitBeforeCordon,
    CordonBlues,
    WaitBeforeStop,
    StopBlues,
    WaitStopped,
    DestroyBlues,
    Rollback,
    ReleaseLeases,
    Complete,
    /// In-place updates (rolling, immediate, canary).
    UpdateMachines,
    /// Canary machines (canary strategy).
    Canary,
    /// The zombie reaper of bluegreen@2024-02.
    ReapZombies,
}

impl Phase {
    pub const ALL: [Phase; 21] = [
        Phase::AcquireLeases,
        Phase::OrgLimitCheck,
        Phase::ImageCheck,
        Phase::ChecksRequired,
        Phase::CreateGreens,
        Phase::WaitStarted,
        Phase::WaitHealthy,
        Phase::MarkReady,
        Phase::Checkpoint,
        Phase::WaitBeforeCordon,
        Phase::CordonBlues,
        Phase::WaitBeforeStop,
        Phase::StopBlues,
        Phase::WaitStopped,
        Phase::DestroyBlues,
        Phase::Rollback,
        Phase::ReleaseLeases,
        Phase::Complete,
        Phase::UpdateMachines,
        Phase::Canary,
        Phase::ReapZombies,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::AcquireLeases => "acquire-leases",
            Phase::OrgLimitCheck => "org-limit-check",
            Phase::ImageCheck => "image-check",
            Phase::ChecksRequired => "checks-required",
            Phase::CreateGreens => "create-greens",
            Phase::WaitStarted => "wait-started",
            Phase::WaitHealthy => "wait-healthy",
            Phase::MarkReady => "mark-ready",
            Phase::Checkpoint => "checkpoint",
            Phase::WaitBeforeCordon => "wait-before-cordon",
            Phase::CordonBlues => "cordon-blues",
            Phase::WaitBeforeStop => "wait-before-stop",
            Phase::StopBlues => "stop-blues",
            Phase::WaitStopped => "wait-stopped",
            Phase::DestroyBlues => "destroy-blues",
            Phase::Rollback => "rollback",
            Phase::ReleaseLeases => "release-leases",
            Phase::Complete => "complete",
            Phase::UpdateMachines => "update-machines",
            Phase::Canary => "canary",
            Phase::ReapZombies => "reap-zombies",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}
