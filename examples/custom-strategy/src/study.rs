//! The comparison and the fuzz campaign `main` prints, as functions the tests call too.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fleetsim::deploy::{BluegreenVersion, StrategyName};
use fleetsim::fuzz::campaign::{self, CampaignConfig, CampaignReport};
use fleetsim::report::compare::{CompareOptions, Comparison};
use fleetsim::report::stats::Proportion;
use fleetsim::scenario::Scenario;
use fleetsim::sim::{Extension, SharedExtension, Simulation};
use fleetsim::work::Shard;

use crate::{EveryRegionServed, RegionByRegion};

/// flyctl's current bluegreen, the strategy compared against.
pub const BLUEGREEN: StrategyName = StrategyName::Bluegreen(BluegreenVersion::V2026_08);

/// Adds the strategy (when `with_strategy`) and the invariant to each run of a campaign.
pub struct Plugin {
    pub with_strategy: bool,
}

impl Extension for Plugin {
    fn configure<'a>(&self, simulation: Simulation<'a>) -> Simulation<'a> {
        let simulation = simulation.checker(EveryRegionServed::new());
        match self.with_strategy {
            true => simulation.custom_strategy(RegionByRegion),
            false => simulation,
        }
    }
}

/// Runs `scenario` on each seed of `seeds` under flyctl's bluegreen (the scenario's own
/// strategy) and under [`RegionByRegion`], both judged by [`EveryRegionServed`] too, with
/// fleetsim's `compare` (the same table, files and `compare.html` as `fleetsim compare`, written
/// into `out` when given).
pub fn compare(
    scenario: &Scenario,
    seeds: Range<u64>,
    out: Option<&Path>,
) -> std::io::Result<Comparison> {
    let contender = |name: &str, with_strategy: bool| {
        let plugin = Plugin { with_strategy };
        (name.to_string(), SharedExtension(Arc::new(plugin)))
    };
    let options = CompareOptions {
        strategies: Vec::new(),
        custom: vec![
            contender(BLUEGREEN.as_str(), false),
            contender(RegionByRegion::NAME, true),
        ],
        seeds,
        shard: Shard::WHOLE,
        jobs: 1,
        window: Duration::from_secs(1),
    };
    fleetsim::report::compare::compare(scenario, &options, out)
}

/// Per compared strategy: its name and how many of its runs left a region without a routable
/// machine.
pub fn regions_left_dark(comparison: &Comparison) -> Vec<(String, Proportion)> {
    let names = &comparison.summary.meta.strategies;
    names
        .iter()
        .zip(&comparison.rows)
        .map(|(name, rows)| {
            let dark = rows
                .iter()
                .filter(|row| {
                    row.violated
                        .split(';')
                        .any(|name| name == EveryRegionServed::NAME)
                })
                .count();
            (
                name.clone(),
                Proportion::new(dark as u64, rows.len() as u64),
            )
        })
        .collect()
}

/// Fuzzes [`RegionByRegion`] with fleetsim's generator (fleets, faults, timings) for `cases`
/// cases from fuzzer seed `seed`: a case fails when it breaks an invariant the strategy
/// declares, [`EveryRegionServed`], or a limit; each new failure is shrunk.
pub fn fuzz(cases: u64, seed: u64) -> CampaignReport {
    let mut config = CampaignConfig::new(BLUEGREEN, cases, seed);
    config.extension = Some(SharedExtension(Arc::new(Plugin {
        with_strategy: true,
    })));
    config.max_shrink_iters = 200;
    campaign::run(&config, &|_| {})
}
