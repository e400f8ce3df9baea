//! The Machines API over HTTP (axum): each request becomes one call into the served world, and
//! its reply (or Fly's error body) goes back on the wire. Paths as Fly's: `/v1/apps/{app}/…`.

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the rate limit counts requests per wall-clock second"
)]
#![allow(
    clippy::result_large_err,
    reason = "a handler's error is its response, as with axum's own rejections"
)]

use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Bytes, HttpBody};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tokio::sync::oneshot;

use crate::api::wire::{
    WireError, WireLaunchRequest, WireLease, WireLeaseReply, WireLeaseRequest, WireMachine,
    WireMetadataValue, WireStopConfig, LEASE_NONCE_HEADER,
};
use crate::api::{ApiError, ErrorKind, MachineId, WaitState};
use crate::deploy::DeployOutcome;
use crate::platform::server::{CallReply, CallRequest};
use crate::serve::world::Message;
use crate::serve::ServeLimits;

/// What every handler shares.
#[derive(Clone)]
pub struct Shared {
    pub app: Arc<str>,
    pub world: SyncSender<Message>,
    /// The platform's clock at the start (for `created_at`), Unix seconds.
    pub epoch_unix_seconds: i64,
    pub limits: ServeLimits,
    pub bucket: Arc<Mutex<TokenBucket>>,
}

/// `--requests-per-second`: a token bucket of one second's worth of requests.
pub struct TokenBucket {
    tokens: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    pub fn new(per_second: u32) -> TokenBucket {
        TokenBucket {
            tokens: f64::from(per_second),
            refilled_at: Instant::now(),
        }
    }

    fn take(&mut self, per_second: u32) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.refilled_at).as_secs_f64() * f64::from(per_second);
        self.tokens = (self.tokens + refill).min(f64::from(per_second));
        self.refilled_at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The router: the Machines API under `/v1`, the control surface under `/_fleetsim`.
pub fn router(shared: Shared) -> Router {
    let machines = "/v1/apps/{app}/machines";
    let machine = "/v1/apps/{app}/machines/{id}";
    let api = Router::new()
        .route(machines, get(list).post(create))
        .route(machine, get(show).post(update).delete(destroy))
        .route(&format!("{machine}/start"), post(start))
        .route(&format!("{machine}/stop"), post(stop))
        .route(&format!("{machine}/cordon"), post(cordon))
        .route(&format!("{machine}/uncordon"), post(uncordon))
        .route(&format!("{machine}/wait"), get(wait))
        .route(
            &format!("{machine}/lease"),
            post(lease).delete(release).get(not_yet),
        )
        .route(&format!("{machine}/metadata"), get(metadata))
        .route(
            &format!("{machine}/metadata/{{key}}"),
            post(set_metadata).delete(not_yet),
        )
        .route(&format!("{machine}/events"), get(not_yet))
        .route(&format!("{machine}/restart"), post(not_yet))
        .route(&format!("{machine}/signal"), post(not_yet))
        .route(&format!("{machine}/suspend"), post(not_yet))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            rate_limit,
        ));
    Router::new()
        .merge(api)
        .route("/_fleetsim/status", get(status))
        .route("/_fleetsim/stop", post(stop_run))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not found".to_string()) })
        .layer(axum::extract::DefaultBodyLimit::max(
            shared.limits.body_bytes_max,
        ))
        .with_state(shared)
}

/// Fly's error body, `{"error": "…"}`, with the status.
fn error(status: StatusCode, message: String) -> Response {
    let capacity = message.contains("could not reserve resource");
    let body = WireError {
        error: message,
        status: capacity.then(|| "insufficient_capacity".to_string()),
    };
    (status, Json(body)).into_response()
}

/// A transport failure (a partition, a reset): the connection is cut while the body is sent,
/// so the client sees no complete response. The 502 in the headers is for a client that read
/// them before the cut: it is a transient status to flyctl, as the reset is.
fn cut_connection(message: String) -> Response {
    let body = axum::body::Body::new(CutBody(Some(message)));
    (StatusCode::BAD_GATEWAY, body).into_response()
}

struct CutBody(Option<String>);

impl HttpBody for CutBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        let message = self.0.take().unwrap_or_default();
        std::task::Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            message,
        ))))
    }
}

fn api_error(error: ApiError) -> Response {
    match (error.kind, error.status) {
        (ErrorKind::Status, Some(status)) => error_status(status, error.message),
        _ => cut_connection(error.message),
    }
}

fn error_status(status: u16, message: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    error(status, message)
}

fn ended() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "fleetsim: the run has ended".to_string(),
    )
}

/// Sends one call to the world and awaits its reply.
async fn call(shared: &Shared, app: &str, request: CallRequest) -> Result<CallReply, Response> {
    if app != &*shared.app {
        return Err(error(
            StatusCode::NOT_FOUND,
            format!("app not found: {app} (this fleet serves `{}`)", shared.app),
        ));
    }
    let (sender, receiver) = oneshot::channel();
    let message = Message::Call {
        request,
        reply: sender,
    };
    match shared.world.try_send(message) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            return Err(error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "fleetsim: {} calls are waiting for the world already (a fixed bound)",
                    shared.limits.calls_in_flight_max
                ),
            ))
        }
        Err(TrySendError::Disconnected(_)) => return Err(ended()),
    }
    match receiver.await {
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(api)) => Err(api_error(api)),
        Err(_) => Err(ended()),
    }
}

async fn rate_limit(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let per_second = shared.limits.requests_per_second_max;
    let allowed = shared
        .bucket
        .lock()
        .map(|mut bucket| bucket.take(per_second))
        .unwrap_or(false);
    if !allowed {
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "fleetsim: rate limit of {per_second} requests per second (--requests-per-second)"
            ),
        );
        response
            .headers_mut()
            .insert("retry-after", axum::http::HeaderValue::from_static("1"));
        return response;
    }
    next.run(request).await
}

fn nonce(headers: &HeaderMap) -> Option<String> {
    headers
        .get(LEASE_NONCE_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
}

/// A request's body as the handlers take it: too large (over `--body-bytes-max`) is a 413 with
/// Fly's error body, not axum's text.
type RawBody = Result<Bytes, axum::extract::rejection::BytesRejection>;

/// A JSON body, with Fly's 400 and error body when it is not what the endpoint takes.
fn body<T: serde::de::DeserializeOwned + Default>(
    bytes: &RawBody,
    required: bool,
) -> Result<T, Response> {
    let bytes = match bytes {
        Ok(bytes) => bytes,
        Err(rejection) => return Err(error(rejection.status(), rejection.body_text())),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) && !required {
        return Ok(T::default());
    }
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut reader).map_err(|problem| {
        error(
            StatusCode::BAD_REQUEST,
            format!(
                "invalid request body at `{}`: {}",
                problem.path(),
                problem.inner()
            ),
        )
    })
}

fn machine_json(shared: &Shared, reply: CallReply) -> Response {
    match reply {
        CallReply::Machine(machine) => {
            Json(WireMachine::from_api(&machine, shared.epoch_unix_seconds)).into_response()
        }
        _ => unexpected(),
    }
}

fn unexpected() -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "fleetsim: unexpected reply shape".to_string(),
    )
}

fn ok() -> Response {
    Json(serde_json::json!({"ok": true})).into_response()
}

/// A call whose success has no body of its own: `{"ok": true}`.
async fn unit(shared: &Shared, app: &str, request: CallRequest) -> Response {
    match call(shared, app, request).await {
        Ok(_) => ok(),
        Err(response) => response,
    }
}

/// A call on one machine that carries the lease nonce and nothing else.
async fn with_nonce(
    shared: &Shared,
    (app, id): (String, String),
    headers: &HeaderMap,
    request: fn(MachineId, Option<String>) -> CallRequest,
) -> Response {
    unit(shared, &app, request(MachineId(id), nonce(headers))).await
}

#[derive(Deserialize)]
struct ListQuery {
    region: Option<String>,
    /// Accepted; the platform never lists destroyed machines (partial).
    #[serde(rename = "include_deleted")]
    _include_deleted: Option<bool>,
}

async fn list(
    State(shared): State<Shared>,
    Path(app): Path<String>,
    Query(query): Query<ListQuery>,
) -> Response {
    match call(&shared, &app, CallRequest::List).await {
        Ok(CallReply::Machines(machines)) => {
            let listed: Vec<WireMachine> = machines
                .iter()
                .filter(|machine| {
                    query
                        .region
                        .as_ref()
                        .is_none_or(|region| *region == machine.region)
                })
                .map(|machine| WireMachine::from_api(machine, shared.epoch_unix_seconds))
                .collect();
            Json(listed).into_response()
        }
        Ok(_) => unexpected(),
        Err(response) => response,
    }
}

async fn create(State(shared): State<Shared>, Path(app): Path<String>, bytes: RawBody) -> Response {
    let request: WireLaunchRequest = match body(&bytes, true) {
        Ok(request) => request,
        Err(response) => return response,
    };
    let input = match request.to_api() {
        Ok(input) => input,
        Err(problem) => return error(StatusCode::BAD_REQUEST, problem.0),
    };
    match call(&shared, &app, CallRequest::Launch(Box::new(input))).await {
        Ok(reply) => machine_json(&shared, reply),
        Err(response) => response,
    }
}

async fn show(State(shared): State<Shared>, Path((app, id)): Path<(String, String)>) -> Response {
    match call(&shared, &app, CallRequest::Get(MachineId(id))).await {
        Ok(reply) => machine_json(&shared, reply),
        Err(response) => response,
    }
}

async fn update(
    State(shared): State<Shared>,
    Path((app, id)): Path<(String, String)>,
    headers: HeaderMap,
    bytes: RawBody,
) -> Response {
    let request: WireLaunchRequest = match body(&bytes, true) {
        Ok(request) => request,
        Err(response) => return response,
    };
    let input = match request.to_api() {
        Ok(input) => input,
        Err(problem) => return error(StatusCode::BAD_REQUEST, problem.0),
    };
    let request = CallRequest::Update {
        id: MachineId(id),
        input: Box::new(input),
        nonce: nonce(&headers),
    };
    match call(&shared, &app, request).await {
        Ok(reply) => machine_json(&shared, reply),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
struct DestroyQuery {
    /// fly-go sends `kill`; the Machines API docs and older clients `force`.
    kill: Option<bool>,
    force: Option<bool>,
}

async fn destroy(
    State(shared): State<Shared>,
    Path((app, id)): Path<(String, String)>,
    Query(query): Query<DestroyQuery>,
    headers: HeaderMap,
) -> Response {
    let request = CallRequest::Destroy {
        id: MachineId(id),
        kill: query.kill.unwrap_or(false) || query.force.unwrap_or(false),
        nonce: nonce(&headers),
    };
    unit(&shared, &app, request).await
}

async fn start(
    State(shared): State<Shared>,
    Path(path): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    with_nonce(&shared, path, &headers, |id, nonce| CallRequest::Start {
        id,
        nonce,
    })
    .await
}

async fn stop(
    State(shared): State<Shared>,
    Path((app, id)): Path<(String, String)>,
    headers: HeaderMap,
    bytes: RawBody,
) -> Response {
    // The signal and timeout are read for their shape; the scenario's stop-time distribution
    // models how the app drains (as for the simulated deployers).
    if let Err(response) = body::<WireStopConfig>(&bytes, false) {
        return response;
    }
    let request = CallRequest::Stop {
        id: MachineId(id),
        nonce: nonce(&headers),
    };
    unit(&shared, &app, request).await
}

async fn cordon(
    State(shared): State<Shared>,
    Path(path): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    with_nonce(&shared, path, &headers, |id, nonce| CallRequest::Cordon {
        id,
        nonce,
    })
    .await
}

async fn uncordon(
    State(shared): State<Shared>,
    Path(path): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    with_nonce(&shared, path, &headers, |id, nonce| CallRequest::Uncordon {
        id,
        nonce,
    })
    .await
}

#[derive(Deserialize)]
struct WaitQuery {
    state: Option<String>,
    /// Seconds (the API's default is 60).
    timeout: Option<u64>,
    /// Accepted and not checked (the instance the caller expects).
    #[serde(rename = "instance_id")]
    _instance_id: Option<String>,
}

/// The longest `wait` timeout the API takes, in seconds.
const WAIT_TIMEOUT_SECONDS_MAX: u64 = 60;

async fn wait(
    State(shared): State<Shared>,
    Path((app, id)): Path<(String, String)>,
    Query(query): Query<WaitQuery>,
) -> Response {
    let state = match query.state.as_deref().unwrap_or("started") {
        "started" => WaitState::Started,
        "stopped" => WaitState::Stopped,
        "suspended" => WaitState::Suspended,
        "destroyed" => WaitState::Destroyed,
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("invalid state `{other}`: one of started, stopped, suspended, destroyed"),
            )
        }
    };
    let seconds = query.timeout.unwrap_or(WAIT_TIMEOUT_SECONDS_MAX);
    if seconds > WAIT_TIMEOUT_SECONDS_MAX {
        return error(
            StatusCode::BAD_REQUEST,
            format!("invalid timeout {seconds}: at most {WAIT_TIMEOUT_SECONDS_MAX} seconds"),
        );
    }
    let request = CallRequest::Wait {
        id: MachineId(id),
        state,
        timeout: Duration::from_secs(seconds),
    };
    unit(&shared, &app, request).await
}

#[derive(Deserialize)]
struct LeaseQuery {
    ttl: Option<u64>,
}

/// The TTL when a client gives none (inferred).
const LEASE_TTL_SECONDS_DEFAULT: u64 = 30;

/// `POST …/lease`: acquires, or with the nonce header refreshes.
async fn lease(
    State(shared): State<Shared>,
    Path((app, id)): Path<(String, String)>,
    Query(query): Query<LeaseQuery>,
    headers: HeaderMap,
    bytes: RawBody,
) -> Response {
    let request_body: WireLeaseRequest = match body(&bytes, false) {
        Ok(request) => request,
        Err(response) => return response,
    };
    let ttl = Duration::from_secs(
        query
            .ttl
            .or(request_body.ttl)
            .unwrap_or(LEASE_TTL_SECONDS_DEFAULT),
    );
    let id = MachineId(id);
    let request = match nonce(&headers) {
        Some(nonce) => CallRequest::RefreshLease { id, ttl, nonce },
        None => CallRequest::AcquireLease { id, ttl },
    };
    match call(&shared, &app, request).await {
        Ok(CallReply::Lease(lease)) => Json(WireLeaseReply {
            status: "success".to_string(),
            data: Some(WireLease::from_api(&lease)),
            message: None,
        })
        .into_response(),
        Ok(_) => unexpected(),
        Err(response) => response,
    }
}

async fn release(
    State(shared): State<Shared>,
    Path((app, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(nonce) = nonce(&headers) else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("releasing a lease needs its nonce in the {LEASE_NONCE_HEADER} header"),
        );
    };
    let request = CallRequest::ReleaseLease {
        id: MachineId(id),
        nonce,
    };
    unit(&shared, &app, request).await
}

/// `GET …/metadata`: a get of the machine, its metadata returned.
async fn metadata(
    State(shared): State<Shared>,
    Path((app, id)): Path<(String, String)>,
) -> Response {
    match call(&shared, &app, CallRequest::Get(MachineId(id))).await {
        Ok(CallReply::Machine(machine)) => Json(machine.config.metadata.clone()).into_response(),
        Ok(_) => unexpected(),
        Err(response) => response,
    }
}

async fn set_metadata(
    State(shared): State<Shared>,
    Path((app, id, key)): Path<(String, String, String)>,
    bytes: RawBody,
) -> Response {
    let value: WireMetadataValue = match body(&bytes, true) {
        Ok(value) => value,
        Err(response) => return response,
    };
    let request = CallRequest::SetMetadata {
        id: MachineId(id),
        key,
        value: value.value,
    };
    match call(&shared, &app, request).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(response) => response,
    }
}

async fn not_yet() -> Response {
    error(
        StatusCode::NOT_IMPLEMENTED,
        "fleetsim: this endpoint is not simulated (README, \"Endpoints\")".to_string(),
    )
}

async fn status(State(shared): State<Shared>) -> Response {
    let (sender, receiver) = oneshot::channel();
    if shared
        .world
        .try_send(Message::Status { reply: sender })
        .is_err()
    {
        return ended();
    }
    match receiver.await {
        Ok(status) => Json(status).into_response(),
        Err(_) => ended(),
    }
}

#[derive(Deserialize)]
struct StopQuery {
    outcome: Option<String>,
}

/// `POST /_fleetsim/stop?outcome=succeeded|failed`: the deployer is done; the run ends and is
/// judged. The outcome is the deployer's own word (default `succeeded`): the at-rest invariants
/// (`single-image-at-rest`, `fleet-size-kept`) are judged only after a success.
async fn stop_run(State(shared): State<Shared>, Query(query): Query<StopQuery>) -> Response {
    let outcome = match query.outcome.as_deref().unwrap_or("succeeded") {
        "succeeded" => DeployOutcome::Succeeded,
        "failed" => DeployOutcome::Failed,
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("invalid outcome `{other}`: succeeded or failed"),
            )
        }
    };
    // Blocking send: a stop must not be lost to a full queue; the world drains it quickly.
    let world = shared.world.clone();
    let sent = tokio::task::spawn_blocking(move || world.send(Message::Stop { outcome })).await;
    match sent {
        Ok(Ok(())) => Json(serde_json::json!({"stopping": true})).into_response(),
        _ => ended(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards the 429: a bucket of N requests per second lets N through at once, then refuses.
    #[test]
    fn the_bucket_refuses_past_its_rate() {
        let mut bucket = TokenBucket::new(3);
        let allowed = (0..5).filter(|_| bucket.take(3)).count();
        assert_eq!(allowed, 3);
    }

    // Guards Fly's error body on every error the server makes itself.
    #[test]
    fn errors_carry_flys_body() {
        let response = error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "could not reserve resource for machine".to_string(),
        );
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let body = runtime
            .block_on(axum::body::to_bytes(response.into_body(), 4_096))
            .expect("a body");
        assert_eq!(
            std::str::from_utf8(&body).expect("text"),
            r#"{"error":"could not reserve resource for machine","status":"insufficient_capacity"}"#
        );
        let transport = api_error(ApiError::transport("connection refused"));
        assert_eq!(transport.status(), StatusCode::BAD_GATEWAY);
        let status = api_error(ApiError::status(409, "lease currently held by x"));
        assert_eq!(status.status(), StatusCode::CONFLICT);
    }
}
