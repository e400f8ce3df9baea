//! The comparison and the fuzz campaign `main` prints, as functions the tests call too.

use std::sync::Arc;

use fleetsim::deploy::{BluegreenVersion, StrategyName};
use fleetsim::fuzz::campaign::{self, CampaignConfig, CampaignReport};
use fleetsim::report::stats::Proportion;
use fleetsim::scenario::Scenario;
use fleetsim::sim::{Extension, RunResult, SharedExtension, Simulation};

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

/// One strategy over many seeds of a scenario.
#[derive(Clone, Debug)]
pub struct StrategyRow {
    pub strategy: String,
    /// Runs that lost at least one request.
    pub lost_requests: Proportion,
    /// Runs in which some region was left without a routable machine.
    pub region_left_dark: Proportion,
    /// Runs whose deploy did not succeed.
    pub deploy_failed: Proportion,
    /// Median over the runs of the deploy's duration.
    pub deploy_duration_median_ms: u64,
}

/// Runs `scenario` on each seed under bluegreen and under [`RegionByRegion`], both judged by
/// [`EveryRegionServed`] too.
pub fn compare(scenario: &Scenario, seeds: std::ops::RangeInclusive<u64>) -> Vec<StrategyRow> {
    [false, true]
        .into_iter()
        .map(|custom| {
            let runs: Vec<RunResult> = seeds
                .clone()
                .map(|seed| {
                    let simulation = Simulation::new(scenario).seed(seed).strategy(BLUEGREEN);
                    Plugin {
                        with_strategy: custom,
                    }
                    .configure(simulation)
                    .run()
                })
                .collect();
            summarise(&runs)
        })
        .collect()
}

fn summarise(runs: &[RunResult]) -> StrategyRow {
    let total = runs.len() as u64;
    let count = |predicate: &dyn Fn(&RunResult) -> bool| {
        Proportion::new(
            runs.iter().filter(|run| predicate(run)).count() as u64,
            total,
        )
    };
    let mut durations: Vec<u64> = runs
        .iter()
        .filter_map(|run| run.metrics.deploy_duration_ms.first().copied().flatten())
        .collect();
    durations.sort_unstable();
    StrategyRow {
        strategy: runs
            .first()
            .and_then(|run| run.strategy.clone())
            .unwrap_or_default(),
        lost_requests: count(&|run| run.metrics.requests_failed > 0),
        region_left_dark: count(&|run| {
            run.verdicts
                .iter()
                .any(|verdict| verdict.invariant == EveryRegionServed::NAME && verdict.violated())
        }),
        deploy_failed: count(&|run| {
            run.deploys
                .iter()
                .any(|deploy| deploy.outcome != "succeeded")
        }),
        deploy_duration_median_ms: durations.get(durations.len() / 2).copied().unwrap_or(0),
    }
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
