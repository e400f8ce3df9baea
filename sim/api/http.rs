//! [`MachinesApi`] over HTTP (reqwest), speaking Fly's wire format ([`super::wire`]), and a
//! [`Runtime`] on a real tokio runtime: together they run the deploy port against any Machines
//! API — `fleetsim serve` in the tests, Fly itself with the `tls` feature.
//!
//! `speed` scales the deployer's clock as `fleetsim serve --speed` scales the world's: a deploy
//! against a world ten times faster sleeps a tenth as long, so its lease refreshes, waits and
//! drains keep the proportions they have against Fly.

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "a real deployer's runtime: its clock is the machine's"
)]

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::wire::{
    LeaseReply, WireError, WireLaunchRequest, WireLeaseRequest, WireMachine, WireMetadataValue,
    WireStopConfig, LEASE_NONCE_HEADER,
};
use super::{
    ApiError, ApiResult, LaunchInput, Lease, Machine, MachineId, MachinesApi, Marker, Runtime,
    WaitState,
};

/// A Machines API client for one app.
pub struct HttpApi {
    client: reqwest::Client,
    /// `{api_url}/v1/apps/{app}/machines`.
    machines_url: String,
    token: Option<String>,
}

/// The longest a request may take, in wall-clock time: a `wait` blocks for at most 60 s on the
/// server, so anything longer is a hung connection.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(90);

impl HttpApi {
    /// `api_url` is the API's root (`http://127.0.0.1:4280`, `https://api.machines.dev`);
    /// `token` goes in `Authorization` (as `Bearer`, unless it already names its scheme).
    pub fn new(api_url: &str, app: &str, token: Option<String>) -> Result<HttpApi, String> {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("fleetsim/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| format!("cannot build the HTTP client: {error}"))?;
        let root = api_url.trim_end_matches('/');
        let root = root.strip_suffix("/v1").unwrap_or(root);
        Ok(HttpApi {
            client,
            machines_url: format!("{root}/v1/apps/{app}/machines"),
            token,
        })
    }

    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        nonce: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut builder = self
            .client
            .request(method, format!("{}{path}", self.machines_url));
        if let Some(token) = &self.token {
            let value = if token.starts_with("FlyV1 ") || token.starts_with("Bearer ") {
                token.clone()
            } else {
                format!("Bearer {token}")
            };
            builder = builder.header(reqwest::header::AUTHORIZATION, value);
        }
        if let Some(nonce) = nonce {
            builder = builder.header(LEASE_NONCE_HEADER, nonce);
        }
        builder
    }

    /// Sends a request; a status above 299 is a `FlapsError` with the body's message.
    async fn send(&self, builder: reqwest::RequestBuilder) -> ApiResult<Reply> {
        let response = builder.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(transport)?;
        if status > 299 {
            let message = serde_json::from_slice::<WireError>(&body)
                .map(|error| error.error)
                .unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned());
            return Err(ApiError::status(status, message));
        }
        Ok(Reply {
            status,
            body: body.to_vec(),
        })
    }

    async fn send_json<T: serde::de::DeserializeOwned>(
        &self,
        builder: reqwest::RequestBuilder,
    ) -> ApiResult<T> {
        let reply = self.send(builder).await?;
        serde_json::from_slice(&reply.body).map_err(|error| {
            ApiError::status(
                reply.status,
                format!("unreadable reply from the Machines API: {error}"),
            )
        })
    }

    async fn send_machine(&self, builder: reqwest::RequestBuilder) -> ApiResult<Machine> {
        let wire: WireMachine = self.send_json(builder).await?;
        wire.to_api()
            .map_err(|error| ApiError::status(200, format!("unreadable machine: {error}")))
    }

    async fn send_lease(&self, builder: reqwest::RequestBuilder) -> ApiResult<Lease> {
        let reply: LeaseReply = self.send_json(builder).await?;
        match reply.into_lease() {
            Some(lease) if !lease.nonce.is_empty() => Ok(lease.to_api()),
            _ => Err(ApiError::status(
                200,
                "failed to obtain lease: the reply carries no nonce",
            )),
        }
    }
}

/// A 2xx reply.
struct Reply {
    status: u16,
    body: Vec<u8>,
}

fn transport(error: reqwest::Error) -> ApiError {
    if error.is_timeout() {
        return ApiError::transport(format!("request timed out: {error}"));
    }
    ApiError::transport(error_chain(&error))
}

/// An error with its sources, as Go prints a wrapped error.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    // A chain is a few links deep; eight bounds a cycle.
    for _ in 0..8 {
        let Some(cause) = source else { break };
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn wait_state(state: WaitState) -> &'static str {
    match state {
        WaitState::Started => "started",
        WaitState::Stopped => "stopped",
        WaitState::Suspended => "suspended",
        WaitState::Destroyed => "destroyed",
    }
}

impl MachinesApi for HttpApi {
    async fn list(&self) -> ApiResult<Vec<Machine>> {
        let wire: Vec<WireMachine> = self
            .send_json(self.request(reqwest::Method::GET, "", None))
            .await?;
        wire.iter()
            .map(|machine| {
                machine
                    .to_api()
                    .map_err(|error| ApiError::status(200, format!("unreadable machine: {error}")))
            })
            .collect()
    }

    async fn get(&self, id: &MachineId) -> ApiResult<Machine> {
        self.send_machine(self.request(reqwest::Method::GET, &format!("/{id}"), None))
            .await
    }

    async fn launch(&self, input: LaunchInput) -> ApiResult<Machine> {
        let body = WireLaunchRequest::from_api(&input);
        self.send_machine(self.request(reqwest::Method::POST, "", None).json(&body))
            .await
    }

    async fn wait(
        &self,
        id: &MachineId,
        state: WaitState,
        server_timeout: Duration,
    ) -> ApiResult<()> {
        let seconds = server_timeout.as_secs().clamp(1, 60).to_string();
        let query = [("state", wait_state(state)), ("timeout", seconds.as_str())];
        let builder = self
            .request(reqwest::Method::GET, &format!("/{id}/wait"), None)
            .query(&query);
        self.send(builder).await.map(|_| ())
    }

    async fn acquire_lease(&self, id: &MachineId, ttl: Duration) -> ApiResult<Lease> {
        self.send_lease(self.lease_request(id, ttl, None)).await
    }

    async fn refresh_lease(&self, id: &MachineId, ttl: Duration, nonce: &str) -> ApiResult<Lease> {
        self.send_lease(self.lease_request(id, ttl, Some(nonce)))
            .await
    }

    async fn release_lease(&self, id: &MachineId, nonce: &str) -> ApiResult<()> {
        let builder = self.request(
            reqwest::Method::DELETE,
            &format!("/{id}/lease"),
            Some(nonce),
        );
        self.send(builder).await.map(|_| ())
    }

    async fn cordon(&self, id: &MachineId, nonce: Option<&str>) -> ApiResult<()> {
        let builder = self.request(reqwest::Method::POST, &format!("/{id}/cordon"), nonce);
        self.send(builder).await.map(|_| ())
    }

    async fn uncordon(&self, id: &MachineId, nonce: Option<&str>) -> ApiResult<()> {
        let builder = self.request(reqwest::Method::POST, &format!("/{id}/uncordon"), nonce);
        self.send(builder).await.map(|_| ())
    }

    async fn stop(
        &self,
        id: &MachineId,
        signal: Option<&str>,
        nonce: Option<&str>,
    ) -> ApiResult<()> {
        let body = WireStopConfig {
            signal: signal.map(str::to_string),
            timeout: None,
        };
        let builder = self
            .request(reqwest::Method::POST, &format!("/{id}/stop"), nonce)
            .json(&body);
        self.send(builder).await.map(|_| ())
    }

    async fn destroy(&self, id: &MachineId, kill: bool, nonce: Option<&str>) -> ApiResult<()> {
        let builder = self
            .request(reqwest::Method::DELETE, &format!("/{id}"), nonce)
            .query(&[("kill", kill)]);
        self.send(builder).await.map(|_| ())
    }

    async fn set_metadata(&self, id: &MachineId, key: &str, value: &str) -> ApiResult<()> {
        let body = WireMetadataValue {
            value: value.to_string(),
        };
        let builder = self
            .request(
                reqwest::Method::POST,
                &format!("/{id}/metadata/{key}"),
                None,
            )
            .json(&body);
        self.send(builder).await.map(|_| ())
    }

    async fn update(
        &self,
        id: &MachineId,
        input: LaunchInput,
        nonce: Option<&str>,
    ) -> ApiResult<Machine> {
        let body = WireLaunchRequest::from_api(&input);
        let builder = self
            .request(reqwest::Method::POST, &format!("/{id}"), nonce)
            .json(&body);
        self.send_machine(builder).await
    }

    /// A departure, named: flyctl asks Fly's GraphQL API (`canPerformBluegreenDeployment`),
    /// which is not part of the Machines API this client speaks; the org is taken to allow it.
    async fn can_perform_bluegreen(&self) -> ApiResult<bool> {
        Ok(true)
    }
}

impl HttpApi {
    /// `POST …/lease?ttl=N`, with the nonce header when refreshing (as flyctl sends it; the
    /// body repeats the TTL for servers that follow the OpenAPI description).
    fn lease_request(
        &self,
        id: &MachineId,
        ttl: Duration,
        nonce: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let seconds = ttl.as_secs().max(1);
        let body = WireLeaseRequest {
            ttl: Some(seconds),
            description: None,
        };
        self.request(reqwest::Method::POST, &format!("/{id}/lease"), nonce)
            .query(&[("ttl", seconds)])
            .json(&body)
    }
}

/// The next number of a splitmix64 sequence whose state is `state`: a deployer's jitter and
/// launch IDs need spread, not secrecy.
pub fn splitmix64(state: &Cell<u64>) -> u64 {
    let next = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
    state.set(next);
    let mut mixed = next;
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    mixed ^ (mixed >> 31)
}

/// The deployer's process on a real tokio runtime (a current-thread runtime with a `LocalSet`).
#[derive(Clone)]
pub struct HttpRuntime {
    inner: Rc<RuntimeInner>,
}

struct RuntimeInner {
    start: tokio::time::Instant,
    speed: f64,
    unix_start_seconds: i64,
    random_state: Cell<u64>,
    abort: Arc<AtomicBool>,
    markers: RefCell<Vec<Marker>>,
    show_phases: bool,
}

impl HttpRuntime {
    /// `speed`: the world's speed (virtual seconds per wall-clock second); `abort` is set on
    /// Ctrl-C; `show_phases` prints each phase marker on stderr.
    pub fn new(
        speed: f64,
        random_seed: u64,
        abort: Arc<AtomicBool>,
        show_phases: bool,
    ) -> HttpRuntime {
        assert!(speed > 0.0 && speed.is_finite(), "a positive speed");
        let unix_start_seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| {
                i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
            });
        HttpRuntime {
            inner: Rc::new(RuntimeInner {
                start: tokio::time::Instant::now(),
                speed,
                unix_start_seconds,
                random_state: Cell::new(random_seed),
                abort,
                markers: RefCell::new(Vec::new()),
                show_phases,
            }),
        }
    }

    /// Every marker the deploy set, in order.
    pub fn markers(&self) -> Vec<Marker> {
        self.inner.markers.borrow().clone()
    }
}

impl Runtime for HttpRuntime {
    type JoinHandle<T: 'static> = Pin<Box<dyn Future<Output = T>>>;
    type Sleep = tokio::time::Sleep;

    fn now(&self) -> Duration {
        self.inner.start.elapsed().mul_f64(self.inner.speed)
    }

    fn unix_time_seconds(&self) -> i64 {
        let elapsed = i64::try_from(self.now().as_secs()).unwrap_or(i64::MAX);
        self.inner.unix_start_seconds.saturating_add(elapsed)
    }

    fn sleep(&self, duration: Duration) -> tokio::time::Sleep {
        tokio::time::sleep(duration.div_f64(self.inner.speed))
    }

    fn spawn<T: 'static>(&self, future: impl Future<Output = T> + 'static) -> Self::JoinHandle<T> {
        let handle = tokio::task::spawn_local(future);
        Box::pin(async move { handle.await.expect("a deploy task panicked") })
    }

    fn random_u64(&self) -> u64 {
        splitmix64(&self.inner.random_state)
    }

    fn abort_requested(&self) -> bool {
        self.inner.abort.load(Ordering::Relaxed)
    }

    fn print(&self, line: &str) {
        println!("{line}");
    }

    fn mark(&self, marker: Marker) {
        if let (true, Marker::PhaseStarted(phase)) = (self.inner.show_phases, &marker) {
            eprintln!("phase: {phase}");
        }
        self.inner.markers.borrow_mut().push(marker);
    }
}
