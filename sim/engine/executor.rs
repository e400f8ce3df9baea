//! A small deterministic executor for the async deploy code, driven by virtual time.
//!
//! Why our own: tokio's paused clock has 1 ms resolution and its `select!`/wake order draw on
//! unseeded randomness (ARCHITECTURE.md, "Determinism rules"). Here woken tasks run in FIFO wake order, timers fire in
//! `(time, seq)` order with the event queue's shared sequence counter, and nothing else decides.
//!
//! Tasks belong to a *process* (a deployer). Killing a process drops all its tasks at once, which
//! is how the harness models SIGKILL: nothing after it runs.

use std::cell::RefCell;
use std::collections::{BinaryHeap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use slab::Slab;

use crate::engine::queue::{Clock, Key};
use crate::engine::time::SimTime;

/// Which simulated process a task belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProcessId(pub u32);

type TaskFuture = Pin<Box<dyn Future<Output = ()>>>;

struct Task {
    future: Option<TaskFuture>,
    process: ProcessId,
    waker: Waker,
}

/// The wake queue. Wakers must be `Send + Sync`, hence the mutex; the executor is single-threaded
/// so it is never contended.
#[derive(Default)]
struct ReadyQueue {
    queue: VecDeque<usize>,
    queued: Vec<bool>,
}

/// The wake queue and a flag saying whether it may hold a task. The event loop asks for ready
/// tasks after every event and almost always finds none: reading the flag instead of locking was
/// 6 % of a basic run's profile (issue 6). The flag only changes under the lock.
#[derive(Default)]
struct Ready {
    queue: Mutex<ReadyQueue>,
    any: AtomicBool,
}

impl Ready {
    fn lock(&self) -> std::sync::MutexGuard<'_, ReadyQueue> {
        self.queue.lock().expect("ready queue poisoned")
    }
}

struct TaskWaker {
    task: usize,
    ready: Arc<Ready>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut ready = self.ready.lock();
        if !ready.queued[self.task] {
            ready.queued[self.task] = true;
            ready.queue.push_back(self.task);
            self.ready.any.store(true, Ordering::Release);
        }
    }
}

#[derive(Default)]
struct TaskTable {
    tasks: Vec<Option<Task>>,
    live: usize,
    /// Paused processes (stalled deployers): their woken tasks wait in `parked`.
    paused: Vec<ProcessId>,
    parked: Vec<usize>,
}

/// Why the executor could not go on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecutorError {
    /// More tasks than `tasks_max` were alive at once.
    TooManyTasks { tasks_max: usize },
    /// Tasks kept waking each other without time advancing.
    Livelock { polls_max: u64 },
}

/// The executor. Cheap to clone: clones share the same task table.
#[derive(Clone)]
pub struct Executor {
    table: Rc<RefCell<TaskTable>>,
    ready: Arc<Ready>,
    timers: Rc<RefCell<Timers>>,
    tasks_max: usize,
    error: Rc<RefCell<Option<ExecutorError>>>,
}

impl Executor {
    pub fn new(clock: Rc<Clock>, tasks_max: usize) -> Executor {
        assert!(tasks_max > 0);
        Executor {
            table: Rc::new(RefCell::new(TaskTable::default())),
            ready: Arc::new(Ready::default()),
            timers: Rc::new(RefCell::new(Timers::new(clock))),
            tasks_max,
            error: Rc::new(RefCell::new(None)),
        }
    }

    /// Spawns a task; it first runs at the next `run_ready`.
    pub fn spawn<T: 'static>(
        &self,
        process: ProcessId,
        future: impl Future<Output = T> + 'static,
    ) -> JoinHandle<T> {
        let slot = Rc::new(RefCell::new(JoinSlot::<T>::default()));
        let writer = Rc::clone(&slot);
        let wrapped = async move {
            let value = future.await;
            let waker = {
                let mut slot = writer.borrow_mut();
                slot.value = Some(value);
                slot.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        };
        self.spawn_task(process, Box::pin(wrapped));
        JoinHandle { slot }
    }

    fn spawn_task(&self, process: ProcessId, future: TaskFuture) {
        let mut table = self.table.borrow_mut();
        if table.live >= self.tasks_max {
            self.error
                .borrow_mut()
                .get_or_insert(ExecutorError::TooManyTasks {
                    tasks_max: self.tasks_max,
                });
            return;
        }
        let index = table.tasks.len();
        let waker = Waker::from(Arc::new(TaskWaker {
            task: index,
            ready: Arc::clone(&self.ready),
        }));
        table.tasks.push(Some(Task {
            future: Some(future),
            process,
            waker: waker.clone(),
        }));
        table.live += 1;
        {
            let mut ready = self.ready.lock();
            ready.queued.push(false);
            assert_eq!(ready.queued.len(), table.tasks.len());
        }
        waker.wake();
    }

    /// Polls woken tasks, in wake order, until none is ready. Returns the number of polls.
    pub fn run_ready(&self, polls_max: u64) -> Result<u64, ExecutorError> {
        let mut polls = 0u64;
        while let Some(index) = self.pop_ready() {
            if polls >= polls_max {
                return Err(ExecutorError::Livelock { polls_max });
            }
            polls += 1;
            self.poll_task(index);
            if let Some(error) = self.error.borrow().clone() {
                return Err(error);
            }
        }
        Ok(polls)
    }

    /// The next woken task whose process is not paused; woken tasks of paused processes are
    /// parked until their process resumes.
    fn pop_ready(&self) -> Option<usize> {
        loop {
            if !self.ready.any.load(Ordering::Acquire) {
                return None;
            }
            let index = {
                let mut ready = self.ready.lock();
                let index = ready.queue.pop_front()?;
                ready.queued[index] = false;
                if ready.queue.is_empty() {
                    self.ready.any.store(false, Ordering::Release);
                }
                index
            };
            let mut table = self.table.borrow_mut();
            let paused = table.tasks[index]
                .as_ref()
                .is_some_and(|task| table.paused.contains(&task.process));
            if !paused {
                return Some(index);
            }
            table.parked.push(index);
        }
    }

    /// Freezes `process`: none of its tasks runs until `resume`.
    pub fn pause(&self, process: ProcessId) {
        let mut table = self.table.borrow_mut();
        if !table.paused.contains(&process) {
            table.paused.push(process);
        }
    }

    /// Unfreezes `process` and wakes the tasks that were woken meanwhile, in wake order.
    pub fn resume(&self, process: ProcessId) {
        let wakers: Vec<Waker> = {
            let mut table = self.table.borrow_mut();
            table.paused.retain(|paused| *paused != process);
            let parked = std::mem::take(&mut table.parked);
            let (mine, others): (Vec<usize>, Vec<usize>) = parked.into_iter().partition(|index| {
                table.tasks[*index]
                    .as_ref()
                    .is_some_and(|task| task.process == process)
            });
            table.parked = others;
            mine.iter()
                .filter_map(|index| table.tasks[*index].as_ref().map(|task| task.waker.clone()))
                .collect()
        };
        for waker in wakers {
            waker.wake();
        }
    }

    fn poll_task(&self, index: usize) {
        // Take the future out so the task may spawn or wake while it runs.
        let (mut future, waker) = {
            let mut table = self.table.borrow_mut();
            let Some(task) = table.tasks[index].as_mut() else {
                return; // finished or killed after it was woken
            };
            let Some(future) = task.future.take() else {
                return;
            };
            (future, task.waker.clone())
        };
        let mut context = Context::from_waker(&waker);
        let done = future.as_mut().poll(&mut context).is_ready();
        let mut table = self.table.borrow_mut();
        if done {
            table.tasks[index] = None;
            table.live -= 1;
            drop(table);
            drop(future);
        } else if let Some(task) = table.tasks[index].as_mut() {
            task.future = Some(future);
        } else {
            // Killed while it ran (a task killed its own process): drop it outside the borrow.
            drop(table);
            drop(future);
        }
    }

    /// Drops every task of `process` (SIGKILL). Returns how many were dropped.
    pub fn kill(&self, process: ProcessId) -> usize {
        let doomed: Vec<Task> = {
            let mut table = self.table.borrow_mut();
            let indexes: Vec<usize> = table
                .tasks
                .iter()
                .enumerate()
                .filter(|(_, task)| task.as_ref().is_some_and(|task| task.process == process))
                .map(|(index, _)| index)
                .collect();
            let doomed: Vec<Task> = indexes
                .iter()
                .filter_map(|index| table.tasks[*index].take())
                .collect();
            table.live -= doomed.len();
            doomed
        };
        // Dropping futures runs destructors (timers cancel themselves): outside the borrow.
        let count = doomed.len();
        drop(doomed);
        count
    }

    /// Tasks of `process` still alive.
    pub fn live_tasks(&self, process: ProcessId) -> usize {
        let table = self.table.borrow();
        table
            .tasks
            .iter()
            .filter(|task| task.as_ref().is_some_and(|task| task.process == process))
            .count()
    }

    pub fn timers(&self) -> &Rc<RefCell<Timers>> {
        &self.timers
    }

    /// A future that completes `duration` after now, in virtual time.
    pub fn sleep(&self, duration: Duration) -> Sleep {
        let deadline = self.timers.borrow().clock.now() + duration;
        Sleep {
            timers: Rc::clone(&self.timers),
            deadline,
            timer: None,
        }
    }

    /// The key of the earliest pending timer.
    pub fn next_timer(&self) -> Option<Key> {
        self.timers.borrow_mut().peek_key()
    }

    /// Fires the earliest timer (the caller advanced the clock to its time).
    pub fn fire_next_timer(&self) {
        let waker = self.timers.borrow_mut().pop_waker();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

struct JoinSlot<T> {
    value: Option<T>,
    waker: Option<Waker>,
}

impl<T> Default for JoinSlot<T> {
    fn default() -> Self {
        JoinSlot {
            value: None,
            waker: None,
        }
    }
}

/// Completes with the task's output. Dropping it detaches the task.
pub struct JoinHandle<T> {
    slot: Rc<RefCell<JoinSlot<T>>>,
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<T> {
        let mut slot = self.slot.borrow_mut();
        match slot.value.take() {
            Some(value) => Poll::Ready(value),
            None => {
                slot.waker = Some(context.waker().clone());
                Poll::Pending
            }
        }
    }
}

struct TimerSlot {
    waker: Option<Waker>,
    cancelled: bool,
}

/// Pending sleeps, ordered by `(deadline, seq)` with the clock's shared sequence counter.
pub struct Timers {
    clock: Rc<Clock>,
    heap: BinaryHeap<std::cmp::Reverse<(Key, usize)>>,
    slots: Slab<TimerSlot>,
}

impl Timers {
    fn new(clock: Rc<Clock>) -> Timers {
        Timers {
            clock,
            heap: BinaryHeap::new(),
            slots: Slab::new(),
        }
    }

    fn register(&mut self, deadline: SimTime, waker: Waker) -> usize {
        let slot = TimerSlot {
            waker: Some(waker),
            cancelled: false,
        };
        let index = self.slots.insert(slot);
        let key = Key {
            time: deadline,
            seq: self.clock.next_seq(),
        };
        self.heap.push(std::cmp::Reverse((key, index)));
        index
    }

    /// Skips cancelled timers, so the caller never advances time for a sleep nobody awaits.
    fn peek_key(&mut self) -> Option<Key> {
        while let Some(std::cmp::Reverse((key, index))) = self.heap.peek().copied() {
            let cancelled = self.slots.get(index).is_none_or(|slot| slot.cancelled);
            if !cancelled {
                return Some(key);
            }
            self.heap.pop();
            self.release(index);
        }
        None
    }

    fn pop_waker(&mut self) -> Option<Waker> {
        let std::cmp::Reverse((_, index)) = self.heap.pop()?;
        let slot = self.slots.get_mut(index)?;
        slot.waker.take()
    }

    fn release(&mut self, index: usize) {
        let _ = self.slots.try_remove(index);
    }

    pub fn pending(&self) -> usize {
        self.heap.len()
    }
}

/// A virtual-time sleep.
pub struct Sleep {
    timers: Rc<RefCell<Timers>>,
    deadline: SimTime,
    timer: Option<usize>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        let now = self.timers.borrow().clock.now();
        if now >= self.deadline {
            if let Some(index) = self.timer.take() {
                self.timers.borrow_mut().release(index);
            }
            return Poll::Ready(());
        }
        match self.timer {
            Some(index) => {
                let mut timers = self.timers.borrow_mut();
                if let Some(slot) = timers.slots.get_mut(index) {
                    slot.waker = Some(context.waker().clone());
                }
            }
            None => {
                let deadline = self.deadline;
                let index = self
                    .timers
                    .borrow_mut()
                    .register(deadline, context.waker().clone());
                self.timer = Some(index);
            }
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(index) = self.timer.take() {
            let mut timers = self.timers.borrow_mut();
            if let Some(slot) = timers.slots.get_mut(index) {
                // The heap entry stays until it surfaces; peek_key then frees the slot.
                slot.cancelled = true;
                slot.waker = None;
            }
        }
    }
}

/// Runs the executor with nothing but timers until every task is done or `limit` passes:
/// for tests of async code without a platform.
pub fn run_timers_only(executor: &Executor, clock: &Clock, limit: SimTime) -> SimTime {
    loop {
        executor.run_ready(10_000_000).expect("executor failed");
        let Some(key) = executor.next_timer() else {
            return clock.now();
        };
        if key.time > limit {
            return clock.now();
        }
        clock.advance_to(key.time);
        executor.fire_next_timer();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn setup() -> (Rc<Clock>, Executor) {
        let clock = Clock::new();
        let executor = Executor::new(Rc::clone(&clock), 1_000);
        (clock, executor)
    }

    // Guards determinism of simultaneous wake-ups: same order on every run, spawn order wins.
    #[test]
    fn simultaneous_wakeups_run_in_the_same_order_every_time() {
        let run = || {
            let (clock, executor) = setup();
            let log = Rc::new(RefCell::new(Vec::new()));
            for task in 0..8u32 {
                let log = Rc::clone(&log);
                let sleeper = executor.clone();
                executor.spawn(ProcessId(0), async move {
                    for round in 0..3u32 {
                        // Everyone wakes at the same instants: 10 ms, 20 ms, 30 ms.
                        sleeper.sleep(Duration::from_millis(10)).await;
                        log.borrow_mut().push((round, task));
                    }
                });
            }
            run_timers_only(&executor, &clock, SimTime::MAX);
            assert_eq!(clock.now(), SimTime::from_micros(30_000));
            log.take()
        };
        let first = run();
        for _ in 0..10 {
            assert_eq!(run(), first);
        }
        let expected: Vec<(u32, u32)> = (0..3).flat_map(|r| (0..8).map(move |t| (r, t))).collect();
        assert_eq!(first, expected);
    }

    // Guards join handles and virtual time: a joined task's result arrives at the right instant.
    #[test]
    fn join_returns_value_after_virtual_sleep() {
        let (clock, executor) = setup();
        let result = Rc::new(RefCell::new(None));
        let out = Rc::clone(&result);
        let inner = executor.clone();
        let timer_clock = Rc::clone(&clock);
        executor.spawn(ProcessId(0), async move {
            let child = inner.spawn(ProcessId(0), {
                let inner = inner.clone();
                async move {
                    inner.sleep(Duration::from_secs(10)).await;
                    42
                }
            });
            let value = child.await;
            *out.borrow_mut() = Some((value, timer_clock.now()));
        });
        run_timers_only(&executor, &clock, SimTime::MAX);
        assert_eq!(
            *result.borrow(),
            Some((42, SimTime::from_micros(10_000_000)))
        );
    }

    // Guards SIGKILL semantics: a killed process runs nothing more, and its timers do not fire.
    #[test]
    fn kill_drops_every_task_of_the_process() {
        let (clock, executor) = setup();
        let log = Rc::new(RefCell::new(Vec::new()));
        for process in 0..2u32 {
            let log = Rc::clone(&log);
            let sleeper = executor.clone();
            executor.spawn(ProcessId(process), async move {
                sleeper.sleep(Duration::from_secs(5)).await;
                log.borrow_mut().push(process);
            });
        }
        executor.run_ready(100).expect("runs");
        assert_eq!(executor.kill(ProcessId(0)), 1);
        run_timers_only(&executor, &clock, SimTime::MAX);
        assert_eq!(*log.borrow(), vec![1]);
        assert_eq!(executor.live_tasks(ProcessId(0)), 0);
    }

    // Guards stalls: a paused process runs nothing until resumed, then catches up in order.
    #[test]
    fn paused_process_runs_nothing_until_resumed() {
        let (clock, executor) = setup();
        let log = Rc::new(RefCell::new(Vec::new()));
        for process in 0..2u32 {
            let log = Rc::clone(&log);
            let sleeper = executor.clone();
            executor.spawn(ProcessId(process), async move {
                sleeper.sleep(Duration::from_secs(1)).await;
                log.borrow_mut()
                    .push((process, sleeper.timers.borrow().clock.now()));
            });
        }
        executor.run_ready(100).expect("runs");
        executor.pause(ProcessId(0));
        run_timers_only(&executor, &clock, SimTime::MAX);
        assert_eq!(log.borrow().len(), 1, "only the running process went on");
        clock.advance_to(SimTime::from_micros(5_000_000));
        executor.resume(ProcessId(0));
        executor.run_ready(100).expect("runs");
        let log = log.borrow();
        assert_eq!(log[1], (0, SimTime::from_micros(5_000_000)));
    }

    // Guards cancellation: a dropped sleep does not advance time or wake anyone.
    #[test]
    fn dropped_sleep_is_cancelled() {
        let (clock, executor) = setup();
        let sleeper = executor.clone();
        executor.spawn(ProcessId(0), async move {
            let long = sleeper.sleep(Duration::from_secs(100));
            let mut long = Box::pin(long);
            let waker = Waker::noop();
            let _ = long.as_mut().poll(&mut Context::from_waker(waker));
            drop(long);
            sleeper.sleep(Duration::from_secs(1)).await;
        });
        let end = run_timers_only(&executor, &clock, SimTime::MAX);
        assert_eq!(end, SimTime::from_micros(1_000_000));
    }
}
