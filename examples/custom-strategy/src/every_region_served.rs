//! "No region is ever left without a routable machine": once a region has had a routable
//! machine, the platform's count of routable machines there never falls to zero.

use std::collections::BTreeMap;

use fleetsim::check::{Checker, Finding, Fleet};
use fleetsim::engine::SimTime;
use fleetsim::observe::{InvariantKind, MachineIndex, Observation, ObservationKind};

/// The checker: a count of routable machines per region, updated at each observation (O(1)).
/// The machines' regions it reads from the [`Fleet`], which every checker shares.
#[derive(Debug, Default)]
pub struct EveryRegionServed {
    /// Whether the platform routes to each machine, by machine index.
    routable: Vec<bool>,
    /// Routable machines per region that has had one.
    routable_by_region: BTreeMap<String, u32>,
}

impl EveryRegionServed {
    pub const NAME: &'static str = "every-region-served";

    pub fn new() -> EveryRegionServed {
        EveryRegionServed::default()
    }

    fn routable_changed(
        &mut self,
        fleet: &Fleet,
        machine: MachineIndex,
        routable: bool,
    ) -> Option<Finding> {
        let was_routable = self.routable.get_mut(machine as usize)?;
        if *was_routable == routable {
            return None;
        }
        *was_routable = routable;
        let region = fleet.region_of(machine);
        let count = self
            .routable_by_region
            .entry(region.to_string())
            .or_insert(0);
        if routable {
            *count += 1;
            return None;
        }
        *count -= 1;
        (*count == 0).then(|| Finding::new(format!("region {region} has no routable machine left")))
    }
}

impl Checker for EveryRegionServed {
    fn name(&self) -> &str {
        EveryRegionServed::NAME
    }

    fn kind(&self) -> InvariantKind {
        InvariantKind::Safety
    }

    fn promise(&self) -> String {
        "no region that had a routable machine is ever left without one".to_string()
    }

    fn interests(&self) -> &'static [ObservationKind] {
        &[
            ObservationKind::MachineCreated,
            ObservationKind::PlatformRoutable,
            ObservationKind::MachineGone,
        ]
    }

    fn observe(
        &mut self,
        fleet: &Fleet,
        _at: SimTime,
        observation: &Observation<'_>,
    ) -> Option<Finding> {
        match *observation {
            Observation::MachineCreated { machine, .. } => {
                assert_eq!(
                    self.routable.len(),
                    machine as usize,
                    "machines in creation order"
                );
                self.routable.push(false);
                None
            }
            Observation::PlatformRoutable { machine, routable } => {
                self.routable_changed(fleet, machine, routable)
            }
            Observation::MachineGone { machine, .. } => {
                self.routable_changed(fleet, machine, false)
            }
            _ => None,
        }
    }
}
