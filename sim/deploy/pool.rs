//! A bounded task pool in the manner of sourcegraph/conc's `pool.New().WithErrors().WithFirstError()
//! .WithMaxGoroutines(n)`, which flyctl's bluegreen uses for every fan-out (reference §4).
//!
//! It is not fail-fast: every task runs, and the first error (in completion order) is returned at
//! the end. Tasks start in item order: `size` workers are spawned in order and each pulls the next
//! item from a shared queue, so with a deterministic runtime the schedule is deterministic.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;

use crate::api::Runtime;
use crate::deploy::behaviour::Fanout;

/// What a pool run produced: one outcome per item, in item order, and the first error to finish.
pub struct PoolResult<O, E> {
    pub outcomes: Vec<Result<O, E>>,
    pub first_error: Option<E>,
}

impl<O, E> PoolResult<O, E> {
    /// `p.Wait()` with `WithFirstError`.
    pub fn wait(self) -> Result<(), E> {
        match self.first_error {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

type Slots<O, E> = Rc<RefCell<Vec<Option<Result<O, E>>>>>;

/// Runs `task(index, item)` for every item with at most `size` tasks in flight.
pub async fn run_pool<R, I, O, E, F, Fut>(
    runtime: &R,
    size: usize,
    items: Vec<I>,
    task: F,
) -> PoolResult<O, E>
where
    R: Runtime,
    I: 'static,
    O: 'static,
    E: Clone + 'static,
    F: Fn(usize, I) -> Fut + 'static,
    Fut: Future<Output = Result<O, E>> + 'static,
{
    assert!(size >= 1, "a pool needs at least one worker");
    let count = items.len();
    let queue: Rc<RefCell<VecDeque<(usize, I)>>> =
        Rc::new(RefCell::new(items.into_iter().enumerate().collect()));
    let slots: Slots<O, E> = Rc::new(RefCell::new((0..count).map(|_| None).collect()));
    let first_error: Rc<RefCell<Option<E>>> = Rc::new(RefCell::new(None));
    let task = Rc::new(task);

    let handles: Vec<_> = (0..size.min(count))
        .map(|_| {
            runtime.spawn(worker(
                queue.clone(),
                slots.clone(),
                first_error.clone(),
                task.clone(),
            ))
        })
        .collect();
    for handle in handles {
        handle.await;
    }

    assert!(queue.borrow().is_empty());
    let outcomes = slots
        .borrow_mut()
        .drain(..)
        .map(|slot| slot.expect("every item ran"))
        .collect();
    let first_error = first_error.borrow_mut().take();
    PoolResult {
        outcomes,
        first_error,
    }
}

async fn worker<I, O, E, F, Fut>(
    queue: Rc<RefCell<VecDeque<(usize, I)>>>,
    slots: Slots<O, E>,
    first_error: Rc<RefCell<Option<E>>>,
    task: Rc<F>,
) where
    E: Clone,
    F: Fn(usize, I) -> Fut,
    Fut: Future<Output = Result<O, E>>,
{
    loop {
        let next = queue.borrow_mut().pop_front();
        let Some((index, item)) = next else {
            return;
        };
        let outcome = task(index, item).await;
        if let Err(error) = &outcome {
            first_error
                .borrow_mut()
                .get_or_insert_with(|| error.clone());
        }
        let mut slots = slots.borrow_mut();
        assert!(slots[index].is_none());
        slots[index] = Some(outcome);
    }
}

/// Runs `task` over `items` as the version's [`Fanout`] says: one at a time stopping at the first
/// error (versions §1.2, §2.2), or [`run_pool`] with `size` workers and its first error.
pub async fn run_fanout<R, I, E, F, Fut>(
    runtime: &R,
    fanout: Fanout,
    size: usize,
    items: Vec<I>,
    task: F,
) -> Result<(), E>
where
    R: Runtime,
    I: 'static,
    E: Clone + 'static,
    F: Fn(usize, I) -> Fut + 'static,
    Fut: Future<Output = Result<(), E>> + 'static,
{
    match fanout {
        Fanout::Pool => run_pool(runtime, size, items, task).await.wait(),
        Fanout::Sequential => {
            for (index, item) in items.into_iter().enumerate() {
                task(index, item).await?;
            }
            Ok(())
        }
    }
}

/// A pool that cancels on the first error, in the manner of conc's
/// `pool.New().WithContext(ctx).WithCancelOnError().WithFirstError().WithMaxGoroutines(n)`, which
/// flyctl's rolling strategy uses (reference §9: "a pool cancels its remaining tasks on the first
/// error").
///
/// Tasks start in item order, at most `size` at once. Once a task fails, no further item starts,
/// and the tasks still in flight are dropped at their next await point (Go cancels their context:
/// an HTTP call in flight may still land on the server, as here). Returns the outcomes of the items
/// that finished (None: never started or cancelled) and the first error in completion order.
pub async fn run_pool_cancel_on_error<R, I, O, E, F, Fut>(
    runtime: &R,
    size: usize,
    items: Vec<I>,
    task: F,
) -> CancelledPoolResult<O, E>
where
    R: Runtime,
    I: 'static,
    O: 'static,
    E: Clone + 'static,
    F: Fn(usize, I) -> Fut + 'static,
    Fut: Future<Output = Result<O, E>> + 'static,
{
    assert!(size >= 1, "a pool needs at least one worker");
    let count = items.len();
    let shared = Rc::new(CancelShared {
        queue: RefCell::new(items.into_iter().enumerate().collect()),
        slots: RefCell::new((0..count).map(|_| None).collect()),
        first_error: RefCell::new(None),
        cancel: tokio::sync::Notify::new(),
    });
    let task = Rc::new(task);
    let handles: Vec<_> = (0..size.min(count))
        .map(|_| runtime.spawn(cancelling_worker(shared.clone(), task.clone())))
        .collect();
    for handle in handles {
        handle.await;
    }
    let outcomes = shared.slots.borrow_mut().drain(..).collect();
    let first_error = shared.first_error.borrow_mut().take();
    assert!(first_error.is_some() || shared.queue.borrow().is_empty());
    CancelledPoolResult {
        outcomes,
        first_error,
    }
}

/// What a cancel-on-error pool run produced.
pub struct CancelledPoolResult<O, E> {
    /// One entry per item, in item order: None when the item never started or was cancelled.
    pub outcomes: Vec<Option<Result<O, E>>>,
    pub first_error: Option<E>,
}

impl<O, E> CancelledPoolResult<O, E> {
    pub fn wait(self) -> Result<(), E> {
        match self.first_error {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

struct CancelShared<I, O, E> {
    queue: RefCell<VecDeque<(usize, I)>>,
    slots: RefCell<Vec<Option<Result<O, E>>>>,
    first_error: RefCell<Option<E>>,
    /// Woken once, on the first error; in-flight tasks select on it (biased towards it).
    cancel: tokio::sync::Notify,
}

async fn cancelling_worker<I, O, E, F, Fut>(shared: Rc<CancelShared<I, O, E>>, task: Rc<F>)
where
    E: Clone,
    F: Fn(usize, I) -> Fut,
    Fut: Future<Output = Result<O, E>>,
{
    loop {
        if shared.first_error.borrow().is_some() {
            return;
        }
        let next = shared.queue.borrow_mut().pop_front();
        let Some((index, item)) = next else {
            return;
        };
        let cancelled = shared.cancel.notified();
        let running = task(index, item);
        let outcome = tokio::select! {
            biased;
            () = cancelled => return,
            outcome = running => outcome,
        };
        if let Err(error) = &outcome {
            let mut first_error = shared.first_error.borrow_mut();
            if first_error.is_none() {
                *first_error = Some(error.clone());
                shared.cancel.notify_waiters();
            }
        }
        let mut slots = shared.slots.borrow_mut();
        assert!(slots[index].is_none());
        slots[index] = Some(outcome);
    }
}
