//! fleetsim: a deterministic simulator of a fleet of Fly-style machines and a chaos-testing
//! harness for deploy algorithms.
//!
//! Data flows one way: a [`scenario::Scenario`] builds a simulated platform, a fault plan and a
//! deploy algorithm; the [`engine`] runs them on virtual time; the run's trace feeds the
//! [`check`] invariant checkers and metrics; [`report`] renders the verdicts.
//!
//! The deploy algorithms in [`deploy`] see only the [`api::MachinesApi`] and [`api::Runtime`]
//! traits, so the same code runs on the simulator and on a real tokio runtime.

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
