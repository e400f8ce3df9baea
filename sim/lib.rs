//! fleetsim: a deterministic simulator of a fleet of Fly-style machines and a chaos-testing
//! harness for deploy algorithms.
//!
//! Data flows one way: a [`scenario::Scenario`] builds a simulated platform, a fault plan and a
//! deploy strategy; the [`engine`] runs them on virtual time; the world ([`platform`]) emits
//! each [`observe::Observation`] once to its observers — the built-in [`check`] invariants and
//! metrics, and any checker of one's own; [`report`] renders the verdicts. ARCHITECTURE.md in
//! the repository has the map and the import rules.
//!
//! The deploy strategies in [`deploy`] see only the [`api::MachinesApi`] and [`api::Runtime`]
//! traits, so the same code runs on the simulator and against a real API.
//!
//! # A strategy and an invariant of your own
//!
//! Implement [`deploy::Strategy`] (the built-in strategies implement it too) and
//! [`check::Checker`], and hand them to a [`sim::Simulation`]: the run judges the built-in
//! invariants your strategy declares (the others are `n/a`) and yours, and reports yours like
//! the built-in ones. The built-in invariants are checkers like yours ([`check::builtin`]): each
//! reads the [`check::Fleet`] the run keeps for all of them and keeps only what is its own.
//! For many seeds or a fuzz campaign, wrap them in a [`sim::Extension`]
//! (`report::sweep::run_sharded_with` with a [`sim::RunWith`],
//! `fuzz::campaign::CampaignConfig::extension`). `examples/custom-strategy/` is a whole crate
//! doing so.
//!
//! ```
//! use std::rc::Rc;
//!
//! use fleetsim::api::{MachinesApi, Runtime};
//! use fleetsim::check::{Checker, Finding, Fleet, Status};
//! use fleetsim::deploy::{DeployFuture, DeployParams, DeployReport, Strategy};
//! use fleetsim::engine::SimTime;
//! use fleetsim::observe::{DeployOutcome, InvariantKind, InvariantSet, Observation, ObservationKind};
//!
//! /// A strategy that lists the machines and changes nothing.
//! struct LookOnly;
//!
//! impl<A: MachinesApi + 'static, R: Runtime> Strategy<A, R> for LookOnly {
//!     fn name(&self) -> &str {
//!         "look-only"
//!     }
//!     fn invariants(&self) -> InvariantSet {
//!         InvariantSet::EVERY_STRATEGY
//!     }
//!     fn deploy(&self, api: Rc<A>, _runtime: R, _params: DeployParams) -> DeployFuture {
//!         Box::pin(async move {
//!             let listed = api.list().await;
//!             DeployReport {
//!                 outcome: if listed.is_ok() { DeployOutcome::Succeeded } else { DeployOutcome::Failed },
//!                 exit_status: i32::from(listed.is_err()),
//!                 error: listed.err().map(|error| error.to_string()),
//!                 blues: Vec::new(),
//!                 greens: Vec::new(),
//!                 hanging: Vec::new(),
//!             }
//!         })
//!     }
//! }
//!
//! /// "No machine is ever destroyed."
//! struct NothingDestroyed;
//!
//! impl Checker for NothingDestroyed {
//!     fn name(&self) -> &str {
//!         "nothing-destroyed"
//!     }
//!     fn kind(&self) -> InvariantKind {
//!         InvariantKind::Safety
//!     }
//!     fn promise(&self) -> String {
//!         "no machine is ever destroyed".to_string()
//!     }
//!     fn interests(&self) -> &'static [ObservationKind] {
//!         &[ObservationKind::MachineGone]
//!     }
//!     fn observe(&mut self, fleet: &Fleet, _at: SimTime, observation: &Observation<'_>) -> Option<Finding> {
//!         let Observation::MachineGone { machine, .. } = *observation else { return None };
//!         let region = fleet.region_of(machine);
//!         Some(Finding::new(format!("machine #{machine} in {region} destroyed")))
//!     }
//! }
//!
//! let scenario = fleetsim::scenario::load(std::path::Path::new("scenarios/bluegreen-basic.toml"))
//!     .expect("valid scenario");
//! let judged = |result: &fleetsim::sim::RunResult| {
//!     let verdict = result.verdicts.iter().find(|verdict| verdict.invariant == "nothing-destroyed");
//!     verdict.expect("reported with the built-in verdicts").status
//! };
//!
//! // Looking changes nothing: the user's invariant holds, and the image is never rolled out.
//! let looked = fleetsim::sim::Simulation::new(&scenario)
//!     .custom_strategy(LookOnly)
//!     .checker(NothingDestroyed)
//!     .run();
//! assert_eq!(looked.deploys[0].outcome, "succeeded");
//! assert_eq!(judged(&looked), Status::Held);
//! // flyctl's bluegreen destroys the blues it replaced: the same invariant breaks.
//! let replaced = fleetsim::sim::Simulation::new(&scenario)
//!     .checker(NothingDestroyed)
//!     .run();
//! assert_eq!(judged(&replaced), Status::Violated);
//! ```

pub mod api;
pub mod bench;
pub mod check;
pub mod cli;
pub mod deploy;
pub mod engine;
pub mod faults;
pub mod fuzz;
pub mod observe;
pub mod platform;
pub mod report;
pub mod scenario;
pub mod serve;
pub mod sim;
pub mod work;
