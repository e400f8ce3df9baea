//! `fleetsim serve`: a scenario's world (fleet, checks, proxies, traffic, faults) in real time,
//! behind Fly's Machines API over HTTP, so a deploy tool in any language can be tested against it.
//!
//! The world keeps its single-threaded, seeded core on its own thread ([`world`]), advanced to
//! wall-clock time × `speed`; the HTTP server ([`routes`], axum on a tokio runtime) sends each
//! call to it over a bounded channel and awaits the reply. The world's randomness is seeded; when
//! a client's calls arrive is not, so a served run is not reproducible by its seed alone.
//!
//! The deployer is external, so it is the scenario's first deploy (client 0): its deploy starts
//! with its first call and ends when it says so (`POST /_fleetsim/stop`), on Ctrl-C, or at its
//! time bound. The invariants judged are those its calls show ([`EXTERNAL_INVARIANTS`]); those
//! that need the deployer's own markers (its phases, point of no return, rollback) are `n/a`.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::check::{Invariant, InvariantSet};
use crate::scenario::Scenario;
use crate::sim::RunResult;

pub mod routes;
pub mod world;

pub use world::EndReason;

/// The invariants an external deployer is judged on: what the platform sees it do over HTTP
/// (its mutations, leases, launches and the fleet it leaves). The others — `rollback-spares-blue`,
/// `green-kept-after-switch`, `health-gated-switch`, `idempotent-create`, `abort-safety`,
/// `concurrency-limit`, `max-unavailable`, `no-vacuous-health` — need the deployer's internals
/// (which machines it counts as its greens, its phases, its abort) and are `n/a`.
pub const EXTERNAL_INVARIANTS: InvariantSet =
    InvariantSet::EVERY_STRATEGY.with(Invariant::DrainOrder);

/// The bounds of a served run (reports/README.md, "Limits").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServeLimits {
    /// A request body larger than this is refused (413).
    pub body_bytes_max: usize,
    /// Connections served at once; more wait in the listen backlog.
    pub connections_max: usize,
    /// Machines API requests per second; beyond it a 429 with `retry-after: 1`.
    pub requests_per_second_max: u32,
    /// Calls queued for the world at once; beyond it a 503.
    pub calls_in_flight_max: usize,
}

impl ServeLimits {
    pub const DEFAULT: ServeLimits = ServeLimits {
        body_bytes_max: 1 << 20,
        connections_max: 256,
        requests_per_second_max: 5_000,
        calls_in_flight_max: 1_024,
    };
}

/// What `fleetsim serve` was asked to do.
#[derive(Clone, Debug, PartialEq)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub seed: Option<u64>,
    /// Virtual seconds per wall-clock second (> 0).
    pub speed: f64,
    pub limits: ServeLimits,
}

/// The end of a served run.
pub struct Served {
    pub result: RunResult,
    pub reason: EndReason,
    pub address: SocketAddr,
}

/// Serves `scenario` until the run ends, is stopped, or Ctrl-C; then judges it. `scenario` must
/// have exactly one deploy (the external deployer's). `listening` is told the bound address
/// (port 0 picks a free one) before the first request is accepted.
pub fn serve(
    scenario: &Scenario,
    options: &ServeOptions,
    listening: impl FnOnce(SocketAddr),
) -> std::io::Result<Served> {
    assert_eq!(scenario.deploys.len(), 1, "one external deployer");
    assert!(options.speed > 0.0 && options.speed.is_finite());
    let applicable = EXTERNAL_INVARIANTS.intersection(scenario.deploys[0].strategy.invariants());
    let (sender, receiver) = std::sync::mpsc::sync_channel(options.limits.calls_in_flight_max);
    let (ended_sender, ended_receiver) = tokio::sync::oneshot::channel::<()>();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let listener = runtime.block_on(TcpListener::bind(options.listen))?;
    let address = listener.local_addr()?;
    let world_thread = {
        let scenario = scenario.clone();
        let (seed, speed) = (options.seed, options.speed);
        std::thread::Builder::new()
            .name("fleetsim-world".to_string())
            .spawn(move || {
                let ended = world::serve_world(&scenario, seed, speed, applicable, receiver);
                let _ = ended_sender.send(());
                ended
            })?
    };
    let shared = routes::Shared {
        app: Arc::from(scenario.app.name.as_str()),
        world: sender.clone(),
        epoch_unix_seconds: crate::platform::EPOCH_UNIX_SECONDS,
        limits: options.limits,
        bucket: Arc::new(Mutex::new(routes::TokenBucket::new(
            options.limits.requests_per_second_max,
        ))),
    };
    listening(address);
    runtime.block_on(async move {
        let limited = LimitedListener {
            inner: listener,
            permits: Arc::new(Semaphore::new(options.limits.connections_max)),
        };
        let (shutdown, shutdown_signal) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(limited, routes::router(shared))
                .with_graceful_shutdown(async move {
                    let _ = shutdown_signal.await;
                })
                .await
        });
        let mut ended_receiver = ended_receiver;
        tokio::select! {
            _ = &mut ended_receiver => {}
            _ = tokio::signal::ctrl_c() => {
                let stop = world::Message::Stop { outcome: crate::deploy::DeployOutcome::Succeeded };
                let _ = tokio::task::spawn_blocking(move || sender.send(stop)).await;
                let _ = ended_receiver.await;
            }
        }
        let _ = shutdown.send(());
        // Connections still open (a client's keep-alive) get a moment, not a say in the end.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), server).await;
    });
    let (result, reason) = world_thread
        .join()
        .map_err(|_| std::io::Error::other("the world's thread panicked"))?;
    Ok(Served {
        result,
        reason,
        address,
    })
}

/// A listener that serves at most `permits` connections at once.
struct LimitedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
}

struct LimitedStream {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl axum::serve::Listener for LimitedListener {
    type Io = LimitedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (LimitedStream, SocketAddr) {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let (stream, address) = axum::serve::Listener::accept(&mut self.inner).await;
        let _ = stream.set_nodelay(true);
        (
            LimitedStream {
                stream,
                _permit: permit,
            },
            address,
        )
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl AsyncRead for LimitedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(context, buffer)
    }
}

impl AsyncWrite for LimitedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(context, buffer)
    }

    fn poll_flush(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(context)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(context)
    }
}
