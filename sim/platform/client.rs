//! The deploy code's side of the simulator: [`SimApi`] implements [`MachinesApi`] by sending each
//! call through the event queue, and [`SimRuntime`] implements [`Runtime`] on virtual time.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::api::{
    ApiError, ApiResult, LaunchInput, Lease, Machine, MachineId, MachinesApi, Marker, Runtime,
    WaitState,
};
use crate::engine::executor::{Executor, JoinHandle, ProcessId, Sleep};
use crate::engine::random::{Component, Stream};
use crate::platform::server::{CallReply, CallRequest};
use crate::platform::World;

/// The Machines API client of one deployer.
pub struct SimApi {
    world: Rc<RefCell<World>>,
    client: u32,
}

impl SimApi {
    pub fn new(world: Rc<RefCell<World>>, client: u32) -> SimApi {
        SimApi { world, client }
    }

    fn call(&self, request: CallRequest) -> CallFuture {
        CallFuture {
            world: Rc::clone(&self.world),
            client: self.client,
            request: Some(request),
            call: None,
        }
    }
}

/// One call: submitted on first poll, ready when its reply event has been delivered. Its slot
/// in the world's call table is given back when the reply is taken or the future dropped.
struct CallFuture {
    world: Rc<RefCell<World>>,
    client: u32,
    request: Option<CallRequest>,
    call: Option<u32>,
}

impl Future for CallFuture {
    type Output = ApiResult<CallReply>;

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        let call = match self.call {
            Some(call) => call,
            None => {
                let request = self.request.take().expect("request present before submit");
                let call = self.world.borrow_mut().submit_call(self.client, request);
                self.call = Some(call);
                call
            }
        };
        let mut world = self.world.borrow_mut();
        let pending = &mut world.calls[call];
        if pending.delivered {
            let reply = pending.reply.take().expect("a delivered call has a reply");
            world.call_dropped(call, true);
            drop(world);
            self.call = None;
            return Poll::Ready(reply);
        }
        pending.waker = Some(context.waker().clone());
        Poll::Pending
    }
}

impl Drop for CallFuture {
    fn drop(&mut self) {
        let Some(call) = self.call else {
            return; // never submitted, or its reply was taken
        };
        // Futures are dropped outside the world's borrow (a killed deployer's tasks are dropped
        // by the executor between events); if that ever changes, the slot is kept, not freed.
        if let Ok(mut world) = self.world.try_borrow_mut() {
            world.call_dropped(call, false);
        }
    }
}

fn unexpected(operation: &str) -> ApiError {
    ApiError::status(
        500,
        format!("simulator: unexpected reply shape for {operation}"),
    )
}

impl MachinesApi for SimApi {
    async fn list(&self) -> ApiResult<Vec<Machine>> {
        match self.call(CallRequest::List).await? {
            CallReply::Machines(machines) => Ok(machines),
            _ => Err(unexpected("list")),
        }
    }

    async fn get(&self, id: &MachineId) -> ApiResult<Machine> {
        match self.call(CallRequest::Get(id.clone())).await? {
            CallReply::Machine(machine) => Ok(*machine),
            _ => Err(unexpected("get")),
        }
    }

    async fn launch(&self, input: LaunchInput) -> ApiResult<Machine> {
        match self.call(CallRequest::Launch(Box::new(input))).await? {
            CallReply::Machine(machine) => Ok(*machine),
            _ => Err(unexpected("launch")),
        }
    }

    async fn wait(
        &self,
        id: &MachineId,
        state: WaitState,
        server_timeout: Duration,
    ) -> ApiResult<()> {
        let request = CallRequest::Wait {
            id: id.clone(),
            state,
            timeout: server_timeout,
        };
        self.call(request).await.map(|_| ())
    }

    async fn acquire_lease(&self, id: &MachineId, ttl: Duration) -> ApiResult<Lease> {
        let request = CallRequest::AcquireLease {
            id: id.clone(),
            ttl,
        };
        match self.call(request).await? {
            CallReply::Lease(lease) => Ok(lease),
            _ => Err(unexpected("acquire_lease")),
        }
    }

    async fn refresh_lease(&self, id: &MachineId, ttl: Duration, nonce: &str) -> ApiResult<Lease> {
        let request = CallRequest::RefreshLease {
            id: id.clone(),
            ttl,
            nonce: nonce.to_string(),
        };
        match self.call(request).await? {
            CallReply::Lease(lease) => Ok(lease),
            _ => Err(unexpected("refresh_lease")),
        }
    }

    async fn release_lease(&self, id: &MachineId, nonce: &str) -> ApiResult<()> {
        let request = CallRequest::ReleaseLease {
            id: id.clone(),
            nonce: nonce.to_string(),
        };
        self.call(request).await.map(|_| ())
    }

    async fn cordon(&self, id: &MachineId, nonce: Option<&str>) -> ApiResult<()> {
        let request = CallRequest::Cordon {
            id: id.clone(),
            nonce: nonce.map(str::to_string),
        };
        self.call(request).await.map(|_| ())
    }

    async fn uncordon(&self, id: &MachineId, nonce: Option<&str>) -> ApiResult<()> {
        let request = CallRequest::Uncordon {
            id: id.clone(),
            nonce: nonce.map(str::to_string),
        };
        self.call(request).await.map(|_| ())
    }

    async fn stop(
        &self,
        id: &MachineId,
        _signal: Option<&str>,
        nonce: Option<&str>,
    ) -> ApiResult<()> {
        // The signal only changes how the app drains; the stop-time distribution models that.
        let request = CallRequest::Stop {
            id: id.clone(),
            nonce: nonce.map(str::to_string),
        };
        self.call(request).await.map(|_| ())
    }

    async fn destroy(&self, id: &MachineId, kill: bool, nonce: Option<&str>) -> ApiResult<()> {
        let request = CallRequest::Destroy {
            id: id.clone(),
            kill,
            nonce: nonce.map(str::to_string),
        };
        self.call(request).await.map(|_| ())
    }

    async fn set_metadata(&self, id: &MachineId, key: &str, value: &str) -> ApiResult<()> {
        let request = CallRequest::SetMetadata {
            id: id.clone(),
            key: key.to_string(),
            value: value.to_string(),
        };
        self.call(request).await.map(|_| ())
    }

    async fn update(
        &self,
        id: &MachineId,
        input: LaunchInput,
        nonce: Option<&str>,
    ) -> ApiResult<Machine> {
        let request = CallRequest::Update {
            id: id.clone(),
            input: Box::new(input),
            nonce: nonce.map(str::to_string),
        };
        match self.call(request).await? {
            CallReply::Machine(machine) => Ok(*machine),
            _ => Err(unexpected("update")),
        }
    }

    async fn can_perform_bluegreen(&self) -> ApiResult<bool> {
        match self.call(CallRequest::CanPerformBluegreen).await? {
            CallReply::Bool(allowed) => Ok(allowed),
            _ => Err(unexpected("can_perform_bluegreen")),
        }
    }
}

/// The deployer process of one deploy, on virtual time.
#[derive(Clone)]
pub struct SimRuntime {
    world: Rc<RefCell<World>>,
    executor: Executor,
    deploy: u32,
    random: Rc<RefCell<Stream>>,
    clock_skew_seconds: i64,
}

impl SimRuntime {
    pub fn new(
        world: Rc<RefCell<World>>,
        executor: Executor,
        deploy: u32,
        seed: u64,
        clock_skew_seconds: i64,
    ) -> SimRuntime {
        SimRuntime {
            world,
            executor,
            deploy,
            random: Rc::new(RefCell::new(Stream::new(seed, Component::Deployer(deploy)))),
            clock_skew_seconds,
        }
    }

    pub fn process(&self) -> ProcessId {
        ProcessId(self.deploy)
    }
}

impl Runtime for SimRuntime {
    type JoinHandle<T: 'static> = JoinHandle<T>;
    type Sleep = Sleep;

    fn now(&self) -> Duration {
        self.world.borrow().now().since_start()
    }

    fn unix_time_seconds(&self) -> i64 {
        // Saturating: a scenario's skew is bounded (`ranges::CLOCK_SKEW_SECONDS_MAX`), a
        // hand-built one need not be.
        self.world
            .borrow()
            .unix_seconds()
            .saturating_add(self.clock_skew_seconds)
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        self.executor.sleep(duration)
    }

    fn spawn<T: 'static>(&self, future: impl Future<Output = T> + 'static) -> JoinHandle<T> {
        self.executor.spawn(self.process(), future)
    }

    fn random_u64(&self) -> u64 {
        self.random.borrow_mut().next_u64()
    }

    fn abort_requested(&self) -> bool {
        self.world.borrow().deploys[self.deploy as usize].abort_requested
    }

    fn print(&self, line: &str) {
        self.world.borrow_mut().deploy_output(self.deploy, line);
    }

    fn mark(&self, marker: Marker) {
        self.world.borrow_mut().deploy_marker(self.deploy, marker);
    }
}
