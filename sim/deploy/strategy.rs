//! The one way a deploy algorithm is run: the [`Strategy`] trait. The built-in strategies
//! ([`StrategyName`]) implement it like a user's own does; the simulator, `fleetsim deploy` and
//! every command above them (sweep, compare, fuzz, reports) see only the trait.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use crate::api::{MachinesApi, Runtime};
use crate::deploy::{run_deploy, DeployParams, DeployReport, StrategyName};
use crate::observe::{InvariantSet, PacePromise};

/// One deploy's future: it runs on the simulator's single-threaded executor (or a real
/// runtime's local set), so it need not be `Send`.
pub type DeployFuture = Pin<Box<dyn Future<Output = DeployReport>>>;

/// A deploy strategy over the Machines API `A` on the runtime `R`.
///
/// Implement it generically (`impl<A: MachinesApi + 'static, R: Runtime> Strategy<A, R> for
/// Mine`) and the same code runs in the simulator and against a real API. It sees only the two
/// traits: no simulator state, no wall clock, no randomness but [`Runtime::random_u64`].
pub trait Strategy<A: MachinesApi + 'static, R: Runtime> {
    /// The name runs and reports show (kebab-case; unique among the strategies compared).
    fn name(&self) -> &str;

    /// The built-in invariants that apply to it. The others are reported `n/a` in its runs,
    /// never a vacuous ✓ (ARCHITECTURE.md).
    fn invariants(&self) -> InvariantSet;

    /// What it promises about its pace, judged by `concurrency-limit` and
    /// `unavailability-limit` when it declares them. Default: nothing.
    fn pace(&self, params: &DeployParams) -> PacePromise {
        let _ = params;
        PacePromise::default()
    }

    /// One `fly deploy`: update the app's machines to `params.image`, and say how it went.
    fn deploy(&self, api: Rc<A>, runtime: R, params: DeployParams) -> DeployFuture;
}

impl<A: MachinesApi + 'static, R: Runtime> Strategy<A, R> for StrategyName {
    fn name(&self) -> &str {
        self.as_str()
    }

    fn invariants(&self) -> InvariantSet {
        StrategyName::invariants(*self)
    }

    /// flyctl's pools for bluegreen (reference §2), `max_unavailable` for the in-place
    /// strategies that honour it (§9); immediate updates everything at once and promises nothing.
    fn pace(&self, params: &DeployParams) -> PacePromise {
        match self {
            StrategyName::Bluegreen(_) => PacePromise {
                max_concurrent: Some(params.max_concurrent),
                max_unavailable: None,
            },
            StrategyName::Rolling | StrategyName::Canary => PacePromise {
                max_concurrent: None,
                max_unavailable: Some(params.max_unavailable),
            },
            StrategyName::Immediate => PacePromise::default(),
        }
    }

    fn deploy(&self, api: Rc<A>, runtime: R, params: DeployParams) -> DeployFuture {
        let mut params = params;
        params.strategy = *self;
        Box::pin(run_deploy(api, runtime, params))
    }
}
