//! The Machines API on the wire: JSON bodies as Fly's API has them (paths under
//! `/v1/apps/{app}/machines`), and conversions to and from the [`crate::api`] types.
//!
//! Written from Fly's published OpenAPI description of the Machines API and from what flyctl's
//! client (fly-go `flaps`) sends and reads. Where the two disagree this module follows flyctl, the
//! client that runs against Fly every day, and says so:
//! - a lease reply is wrapped, `{"status": "success", "data": {nonce, expires_at, …}}` (fly-go
//!   `MachineLease`); the OpenAPI description shows the bare lease. [`LeaseReply`] reads both.
//! - the lease TTL goes in the query (`POST …/lease?ttl=13`), as flyctl sends it; the OpenAPI
//!   description has it in the body. The server accepts both.
//! - metadata writes carry `{"value": "…"}`; the OpenAPI description shows no body.
//! - `host_status` and `incomplete_config` are fly-go fields the 2024 description lacks.
//!
//! Durations inside a config (`interval`, `grace_period`, `timeout`) are Go duration strings
//! (`"15s"`, `"1m30s"`, `"500ms"`), as fly-go's `Duration` marshals them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::api::{
    CheckConfig, CheckKind, CheckState, CheckStatus, HostStatus, ImageRef, LaunchInput, Lease,
    Machine, MachineConfig, MachineId, MachineState, RestartPolicy, ServiceConfig,
};

fn is_false(value: &bool) -> bool {
    !*value
}

/// `Machine`: what list, get, create and update return.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WireMachine {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub instance_id: String,
    #[serde(default)]
    pub private_ip: String,
    #[serde(default)]
    pub config: WireMachineConfig,
    #[serde(default)]
    pub image_ref: WireImageRef,
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub updated_at: String,
    #[serde(default)]
    pub checks: Vec<WireCheckStatus>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host_status: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub incomplete_config: bool,
    /// Returned by create only when a `lease_ttl` was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WireImageRef {
    #[serde(default)]
    pub registry: String,
    #[serde(default)]
    pub repository: String,
    #[serde(default)]
    pub tag: String,
    #[serde(default)]
    pub digest: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WireCheckStatus {
    pub name: String,
    pub status: String,
    #[serde(default)]
    pub output: String,
    #[serde(default)]
    pub updated_at: String,
}

/// `api.MachineConfig`: the fields fleetsim models. Others a client sends (`guest`, `env`,
/// `init`, …) are accepted and not kept.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WireMachineConfig {
    #[serde(default)]
    pub image: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<String, WireCheck>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<WireService>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<WireRestart>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub standbys: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_config: Option<WireStopConfig>,
}

/// `api.MachineCheck` (a top-level check, or a service's).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WireCheck {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// `api.MachineService` (ports and concurrency are not modelled).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WireService {
    #[serde(default)]
    pub protocol: String,
    #[serde(default)]
    pub internal_port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autostop: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autostart: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<WireCheck>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WireRestart {
    #[serde(default)]
    pub policy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
}

/// `api.StopConfig`, and the body of `POST …/stop` (`StopRequest`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WireStopConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

/// `CreateMachineRequest` and `UpdateMachineRequest`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WireLaunchRequest {
    #[serde(default)]
    pub config: WireMachineConfig,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub region: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_launch: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_service_registration: bool,
    /// Seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_ttl: Option<u64>,
    /// Update only: the instance ID the caller believes current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<String>,
}

/// `CreateLeaseRequest` (the TTL may come in the query instead).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WireLeaseRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `Lease`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WireLease {
    pub nonce: String,
    /// Unix seconds.
    #[serde(default)]
    pub expires_at: i64,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub version: String,
}

/// A lease reply as fly-go reads it (`MachineLease`): flyctl counts a lease as acquired only when
/// `status` is `"success"` and `data` carries a nonce.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WireLeaseReply {
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<WireLease>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A lease reply from either shape: fly-go's envelope or the OpenAPI description's bare lease.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum LeaseReply {
    Wrapped(WireLeaseReply),
    Bare(WireLease),
}

impl LeaseReply {
    /// The lease, if the reply grants one.
    pub fn into_lease(self) -> Option<WireLease> {
        match self {
            LeaseReply::Wrapped(reply) if reply.status == "success" => reply.data,
            LeaseReply::Wrapped(_) => None,
            LeaseReply::Bare(lease) => Some(lease),
        }
    }
}

/// Body of `POST …/metadata/{key}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WireMetadataValue {
    pub value: String,
}

/// `ErrorResponse`: every status above 299 carries one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WireError {
    pub error: String,
    /// `main.statusCode`: `unknown` or `insufficient_capacity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// The header that carries a lease's nonce on calls to a leased machine.
pub const LEASE_NONCE_HEADER: &str = "fly-machine-lease-nonce";

// ---- Go durations ----

/// A duration as Go's `time.Duration.String()` writes it: `"15s"`, `"1m30s"`, `"500ms"`, `"0s"`.
pub fn format_go_duration(duration: Duration) -> String {
    let total_ms = duration.as_millis();
    if total_ms == 0 {
        return "0s".to_string();
    }
    if total_ms < 1_000 {
        return format!("{total_ms}ms");
    }
    let hours = total_ms / 3_600_000;
    let minutes = total_ms / 60_000 % 60;
    let milliseconds = total_ms % 60_000;
    let seconds = if milliseconds % 1_000 == 0 {
        format!("{}s", milliseconds / 1_000)
    } else {
        let text = format!("{}.{:03}", milliseconds / 1_000, milliseconds % 1_000);
        format!("{}s", text.trim_end_matches('0'))
    };
    match (hours, minutes) {
        (0, 0) => seconds,
        (0, _) => format!("{minutes}m{seconds}"),
        _ => format!("{hours}h{minutes}m{seconds}"),
    }
}

/// Reads a Go duration string (`"1h2m3.5s"`, `"250ms"`, `"10us"`); None when it is not one.
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    if text.is_empty() {
        return None;
    }
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = text;
    let mut total_ns: f64 = 0.0;
    // A Go duration has at most one term per unit: six terms bound the loop.
    for _ in 0..6 {
        if rest.is_empty() {
            break;
        }
        let number_end = rest
            .find(|character: char| !(character.is_ascii_digit() || character == '.'))
            .filter(|end| *end > 0)?;
        let value: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|character: char| character.is_ascii_digit() || character == '.')
            .unwrap_or(rest.len());
        let unit_ns = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3_600e9,
            _ => return None,
        };
        total_ns += value * unit_ns;
        rest = &rest[unit_end..];
    }
    if !rest.is_empty() || !total_ns.is_finite() {
        return None;
    }
    Some(Duration::from_nanos(total_ns.round() as u64))
}

/// Why a wire body could not become the project's type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireFormatError(pub String);

impl std::fmt::Display for WireFormatError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

fn duration_field(
    value: &Option<String>,
    field: &str,
) -> Result<Option<Duration>, WireFormatError> {
    match value {
        None => Ok(None),
        Some(text) => parse_go_duration(text).map(Some).ok_or_else(|| {
            WireFormatError(format!(
                "{field}: `{text}` is not a duration such as \"15s\""
            ))
        }),
    }
}

// ---- Conversions: config ----

impl WireCheck {
    fn from_api(check: &CheckConfig, port: Option<u16>) -> WireCheck {
        WireCheck {
            kind: match check.kind {
                CheckKind::Http => "http".to_string(),
                CheckKind::Tcp => "tcp".to_string(),
            },
            port,
            interval: check.interval.map(format_go_duration),
            grace_period: check.grace_period.map(format_go_duration),
            timeout: check.timeout.map(format_go_duration),
            method: None,
            path: None,
        }
    }

    fn to_api(&self, name: String) -> Result<CheckConfig, WireFormatError> {
        let kind = match self.kind.as_str() {
            "http" => CheckKind::Http,
            "tcp" | "" => CheckKind::Tcp,
            other => {
                return Err(WireFormatError(format!(
                    "checks.{name}.type: `{other}` is neither http nor tcp"
                )))
            }
        };
        Ok(CheckConfig {
            kind,
            interval: duration_field(&self.interval, "interval")?,
            grace_period: duration_field(&self.grace_period, "grace_period")?,
            timeout: duration_field(&self.timeout, "timeout")?,
            name,
        })
    }
}

/// The name Fly gives a service's check: `servicecheck-<nn>-<type>-<port>`, numbered across the
/// app's services from 00 (the scenario loader names them the same way).
fn service_check_name(number: usize, kind: &str, port: u16) -> String {
    let kind = if kind.is_empty() { "tcp" } else { kind };
    format!("servicecheck-{number:02}-{kind}-{port}")
}

impl WireMachineConfig {
    pub fn from_api(config: &MachineConfig) -> WireMachineConfig {
        let stop_config =
            (config.kill_signal.is_some() || config.kill_timeout.is_some()).then(|| {
                WireStopConfig {
                    signal: config.kill_signal.clone(),
                    timeout: config.kill_timeout.map(format_go_duration),
                }
            });
        WireMachineConfig {
            image: config.image.clone(),
            metadata: config.metadata.clone(),
            checks: config
                .checks
                .iter()
                .map(|(name, check)| (name.clone(), WireCheck::from_api(check, None)))
                .collect(),
            services: config
                .services
                .iter()
                .map(|service| WireService {
                    protocol: service.protocol.clone(),
                    internal_port: service.internal_port,
                    autostop: Some(service.autostop),
                    autostart: Some(service.autostart),
                    checks: service
                        .checks
                        .iter()
                        .map(|check| WireCheck::from_api(check, Some(service.internal_port)))
                        .collect(),
                })
                .collect(),
            restart: Some(WireRestart {
                policy: match config.restart_policy {
                    RestartPolicy::Always => "always",
                    RestartPolicy::OnFailure => "on-failure",
                    RestartPolicy::No => "no",
                }
                .to_string(),
                max_retries: None,
            }),
            standbys: config.standbys.iter().map(|id| id.0.clone()).collect(),
            stop_config,
        }
    }

    pub fn to_api(&self) -> Result<MachineConfig, WireFormatError> {
        let mut checks = BTreeMap::new();
        for (name, check) in &self.checks {
            checks.insert(name.clone(), check.to_api(name.clone())?);
        }
        let mut services = Vec::with_capacity(self.services.len());
        let mut numbered = 0;
        for service in &self.services {
            let mut service_checks = Vec::with_capacity(service.checks.len());
            for check in &service.checks {
                let port = check.port.unwrap_or(service.internal_port);
                let name = service_check_name(numbered, &check.kind, port);
                numbered += 1;
                service_checks.push(check.to_api(name)?);
            }
            services.push(ServiceConfig {
                internal_port: service.internal_port,
                protocol: service.protocol.clone(),
                autostop: service.autostop.unwrap_or(false),
                autostart: service.autostart.unwrap_or(false),
                checks: service_checks,
            });
        }
        let restart_policy = match self.restart.as_ref().map(|restart| restart.policy.as_str()) {
            None | Some("") | Some("always") => RestartPolicy::Always,
            Some("on-failure") => RestartPolicy::OnFailure,
            Some("no") => RestartPolicy::No,
            Some(other) => {
                return Err(WireFormatError(format!(
                    "restart.policy: `{other}` is not one of no, always, on-failure"
                )))
            }
        };
        let stop = self.stop_config.clone().unwrap_or_default();
        Ok(MachineConfig {
            image: self.image.clone(),
            metadata: self.metadata.clone(),
            checks,
            services,
            restart_policy,
            standbys: self.standbys.iter().cloned().map(MachineId).collect(),
            kill_signal: stop.signal,
            kill_timeout: duration_field(&stop.timeout, "stop_config.timeout")?,
        })
    }
}

// ---- Conversions: machines ----

impl WireImageRef {
    pub fn from_api(image: &ImageRef) -> WireImageRef {
        WireImageRef {
            registry: image.registry.clone(),
            repository: image.repository.clone(),
            tag: image.tag.clone(),
            digest: image.digest.clone(),
            labels: image.labels.clone(),
        }
    }

    pub fn to_api(&self) -> ImageRef {
        ImageRef {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            tag: self.tag.clone(),
            digest: self.digest.clone(),
            labels: self.labels.clone(),
        }
    }
}

/// A Unix time as RFC 3339 (`2026-11-26T00:00:00Z`), as the API writes `created_at`.
pub fn format_unix_seconds(unix_seconds: i64) -> String {
    let seconds = u64::try_from(unix_seconds).unwrap_or(0);
    let time = std::time::UNIX_EPOCH + Duration::from_secs(seconds);
    humantime::format_rfc3339_seconds(time).to_string()
}

impl WireMachine {
    /// `timestamp`: the platform's clock now, in Unix seconds (for `created_at`/`updated_at`).
    pub fn from_api(machine: &Machine, timestamp: i64) -> WireMachine {
        let time = format_unix_seconds(timestamp);
        WireMachine {
            id: machine.id.0.clone(),
            name: if machine.name.is_empty() {
                machine.id.0.clone()
            } else {
                machine.name.clone()
            },
            state: machine.state.as_str().to_string(),
            region: machine.region.clone(),
            instance_id: machine.instance_id.clone(),
            private_ip: String::new(),
            config: WireMachineConfig::from_api(&machine.config),
            image_ref: WireImageRef::from_api(&machine.image_ref),
            created_at: time.clone(),
            updated_at: time.clone(),
            checks: machine
                .checks
                .iter()
                .map(|check| WireCheckStatus {
                    name: check.name.clone(),
                    status: match check.status {
                        CheckState::Passing => "passing",
                        CheckState::Warning => "warning",
                        CheckState::Critical => "critical",
                    }
                    .to_string(),
                    output: check.output.clone(),
                    updated_at: time.clone(),
                })
                .collect(),
            host_status: machine.host_status.as_str().to_string(),
            incomplete_config: machine.incomplete_config,
            nonce: None,
        }
    }

    pub fn to_api(&self) -> Result<Machine, WireFormatError> {
        let state = MachineState::ALL
            .into_iter()
            .find(|state| state.as_str() == self.state)
            .ok_or_else(|| {
                WireFormatError(format!(
                    "machine {}: unknown state `{}`",
                    self.id, self.state
                ))
            })?;
        let host_status = match self.host_status.as_str() {
            "" | "ok" => HostStatus::Ok,
            "unreachable" => HostStatus::Unreachable,
            _ => HostStatus::Unknown,
        };
        let mut checks = Vec::with_capacity(self.checks.len());
        for check in &self.checks {
            let status = match check.status.as_str() {
                "passing" => CheckState::Passing,
                "warning" => CheckState::Warning,
                "critical" => CheckState::Critical,
                other => {
                    return Err(WireFormatError(format!(
                        "machine {}: check {}: unknown status `{other}`",
                        self.id, check.name
                    )))
                }
            };
            checks.push(CheckStatus {
                name: check.name.clone(),
                status,
                output: check.output.clone(),
            });
        }
        Ok(Machine {
            id: MachineId(self.id.clone()),
            name: self.name.clone(),
            state,
            region: self.region.clone(),
            image_ref: self.image_ref.to_api(),
            instance_id: self.instance_id.clone(),
            config: self.config.to_api()?,
            host_status,
            checks,
            // Not on the wire: Fly reports a cordon through the proxy, not the machine.
            cordoned: false,
            incomplete_config: self.incomplete_config,
        })
    }
}

impl WireLaunchRequest {
    pub fn from_api(input: &LaunchInput) -> WireLaunchRequest {
        WireLaunchRequest {
            config: WireMachineConfig::from_api(&input.config),
            region: input.region.clone(),
            name: String::new(),
            skip_launch: input.skip_launch,
            skip_service_registration: input.skip_service_registration,
            lease_ttl: input.lease_ttl.map(|ttl| ttl.as_secs()),
            current_version: None,
        }
    }

    pub fn to_api(&self) -> Result<LaunchInput, WireFormatError> {
        Ok(LaunchInput {
            config: self.config.to_api()?,
            region: self.region.clone(),
            skip_launch: self.skip_launch,
            skip_service_registration: self.skip_service_registration,
            lease_ttl: self.lease_ttl.map(Duration::from_secs),
        })
    }
}

impl WireLease {
    pub fn from_api(lease: &Lease) -> WireLease {
        WireLease {
            nonce: lease.nonce.clone(),
            expires_at: lease.expires_at_unix_seconds,
            owner: lease.owner.clone(),
            description: String::new(),
            version: lease.version.clone(),
        }
    }

    pub fn to_api(&self) -> Lease {
        Lease {
            nonce: self.nonce.clone(),
            expires_at_unix_seconds: self.expires_at,
            owner: self.owner.clone(),
            version: self.version.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards the machine body against drift from Fly's: an example written from the OpenAPI
    // description's `Machine` (plus fly-go's host_status) reads, converts and writes back equal.
    #[test]
    fn a_machine_body_round_trips() {
        let body = r#"{
          "id": "1857507c6540d8", "name": "little-snow-42", "state": "started",
          "region": "ord", "instance_id": "01HX0000000000000000000000", "private_ip": "",
          "config": {
            "image": "registry.fly.io/app:deployment-1",
            "metadata": {"fly_platform_version": "v2", "fly_process_group": "app"},
            "checks": {"alive": {"type": "http", "interval": "15s", "grace_period": "1s",
                                 "timeout": "2s"}},
            "services": [{"protocol": "tcp", "internal_port": 8080, "autostop": false,
                          "autostart": true,
                          "checks": [{"type": "tcp", "port": 8080, "interval": "1m30s"}]}],
            "restart": {"policy": "on-failure"},
            "stop_config": {"signal": "SIGINT", "timeout": "5s"}
          },
          "image_ref": {"registry": "registry.fly.io", "repository": "app",
                        "tag": "deployment-1", "digest": "",
                        "labels": {"fly.version": "1"}},
          "created_at": "2026-11-26T00:00:00Z", "updated_at": "2026-11-26T00:00:00Z",
          "checks": [{"name": "alive", "status": "passing", "output": "success",
                      "updated_at": "2026-11-26T00:00:00Z"}],
          "host_status": "ok"
        }"#;
        let wire: WireMachine = serde_json::from_str(body).expect("a Machine body");
        let machine = wire.to_api().expect("converts");
        assert_eq!(machine.state, MachineState::Started);
        assert_eq!(machine.config.restart_policy, RestartPolicy::OnFailure);
        assert_eq!(
            machine.config.services[0].checks[0].name,
            "servicecheck-00-tcp-8080"
        );
        assert_eq!(
            machine.config.services[0].checks[0].interval,
            Some(Duration::from_secs(90))
        );
        assert_eq!(machine.config.kill_timeout, Some(Duration::from_secs(5)));
        assert_eq!(machine.image_ref.check_key(), "app:deployment-1 (1)");
        let again = WireMachine::from_api(&machine, 1_795_651_200);
        assert_eq!(again, wire, "written back as read");
        let reread: WireMachine =
            serde_json::from_str(&serde_json::to_string(&again).unwrap()).unwrap();
        assert_eq!(reread.to_api().unwrap(), machine);
    }

    // Guards the create body: a `CreateMachineRequest` as flyctl sends it becomes the same launch.
    #[test]
    fn a_create_request_round_trips() {
        let body = r#"{"config": {"image": "app:v2", "metadata": {"fly_process_group": "app"}},
                       "region": "ord", "skip_launch": true,
                       "skip_service_registration": true, "lease_ttl": 13}"#;
        let wire: WireLaunchRequest = serde_json::from_str(body).unwrap();
        let input = wire.to_api().unwrap();
        assert!(input.skip_launch && input.skip_service_registration);
        assert_eq!(input.lease_ttl, Some(Duration::from_secs(13)));
        assert_eq!(input.config.image, "app:v2");
        let written = WireLaunchRequest::from_api(&input);
        assert_eq!(written.to_api().unwrap(), input);
        assert_eq!(
            serde_json::to_value(&written).unwrap()["skip_launch"],
            serde_json::Value::Bool(true)
        );
    }

    // Guards both lease shapes: fly-go's envelope and the OpenAPI description's bare lease.
    #[test]
    fn lease_replies_in_either_shape() {
        let wrapped = r#"{"status": "success", "data": {"nonce": "n1", "expires_at": 1795651213,
                          "owner": "me@example.com", "description": "", "version": "01HX"}}"#;
        let bare = r#"{"nonce": "n1", "expires_at": 1795651213, "owner": "me@example.com",
                       "version": "01HX"}"#;
        let failed = r#"{"status": "error", "message": "lease currently held by x"}"#;
        let read = |body: &str| {
            serde_json::from_str::<LeaseReply>(body)
                .unwrap()
                .into_lease()
        };
        let lease = read(wrapped).expect("granted");
        assert_eq!(lease.to_api().expires_at_unix_seconds, 1_795_651_213);
        assert_eq!(read(bare), Some(lease.clone()));
        assert_eq!(read(failed), None);
        let written = WireLeaseReply {
            status: "success".to_string(),
            data: Some(WireLease::from_api(&lease.to_api())),
            message: None,
        };
        let text = serde_json::to_string(&written).unwrap();
        assert_eq!(read(&text), Some(lease));
    }

    // Guards the error body: `ErrorResponse` with and without its status code.
    #[test]
    fn error_bodies_round_trip() {
        let body = r#"{"error": "could not reserve resource", "status": "insufficient_capacity"}"#;
        let error: WireError = serde_json::from_str(body).unwrap();
        assert_eq!(error.status.as_deref(), Some("insufficient_capacity"));
        let plain: WireError = serde_json::from_str(r#"{"error": "not found"}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&plain).unwrap(),
            r#"{"error":"not found"}"#
        );
    }

    // Guards Go durations both ways, including the forms Go writes for sub-second and mixed units.
    #[test]
    fn go_durations() {
        for (text, millis) in [
            ("0s", 0),
            ("500ms", 500),
            ("15s", 15_000),
            ("1.5s", 1_500),
            ("1m30s", 90_000),
            ("1h0m0s", 3_600_000),
        ] {
            let duration = Duration::from_millis(millis);
            assert_eq!(parse_go_duration(text), Some(duration), "{text}");
            assert_eq!(format_go_duration(duration), text);
        }
        assert_eq!(parse_go_duration("10us"), Some(Duration::from_micros(10)));
        for bad in ["", "15", "s", "1x", "1.2.3s", "-5s"] {
            assert_eq!(parse_go_duration(bad), None, "{bad}");
        }
    }

    // Guards the wire's view of unknown values: a bad state or check type is an error naming it.
    #[test]
    fn unknown_values_are_named() {
        let wire = WireMachine {
            id: "m1".to_string(),
            state: "exploding".to_string(),
            ..WireMachine::default()
        };
        let error = wire.to_api().unwrap_err();
        assert!(error.0.contains("exploding"), "{error}");
        let mut config = WireMachineConfig::default();
        config.checks.insert(
            "alive".to_string(),
            WireCheck {
                kind: "grpc".to_string(),
                ..WireCheck::default()
            },
        );
        assert!(config.to_api().unwrap_err().0.contains("checks.alive.type"));
    }
}
