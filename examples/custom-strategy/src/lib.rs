//! A deploy strategy and an invariant of one's own, plugged into fleetsim.
//!
//! - [`RegionByRegion`]: a blue-green deploy one region at a time. In each region it launches a
//!   green per blue, waits for every green to pass its checks, then cordons the region's blues,
//!   waits for the edge proxies to learn of it, and destroys them. A region whose greens do not
//!   come up healthy gets its greens destroyed and the deploy stops there, leaving the regions
//!   not yet reached untouched.
//! - [`EveryRegionServed`]: the invariant "no region is ever left without a routable machine",
//!   judged at every step from the world's observations.
//!
//! `src/main.rs` compares the strategy with flyctl's `bluegreen` on a scenario of the repository
//! and fuzzes it; `tests/` keeps both honest.

mod every_region_served;
mod region_by_region;
pub mod study;

pub use every_region_served::EveryRegionServed;
pub use region_by_region::RegionByRegion;
