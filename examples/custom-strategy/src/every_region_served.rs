//! "No region is ever left without a routable machine": once a region has had a routable
//! machine, the platform's count of routable machines there never falls to zero.

use std::collections::BTreeMap;

use fleetsim::check::Checker;
use fleetsim::engine::SimTime;
use fleetsim::observe::{InvariantKind, MachineIndex, Observation};

/// The checker: a count of routable machines per region, updated at each observation (O(1)).
#[derive(Debug, Default)]
pub struct EveryRegionServed {
    /// Each machine's region and whether the platform routes to it, by machine index.
    machines: Vec<(String, bool)>,
    /// Routable machines per region that has had one.
    routable_by_region: BTreeMap<String, u32>,
}

impl EveryRegionServed {
    pub const NAME: &'static str = "every-region-served";

    pub fn new() -> EveryRegionServed {
        EveryRegionServed::default()
    }

    fn routable_changed(&mut self, machine: MachineIndex, routable: bool) -> Option<String> {
        let (region, was_routable) = self.machines.get_mut(machine as usize)?;
        if *was_routable == routable {
            return None;
        }
        *was_routable = routable;
        let count = self.routable_by_region.entry(region.clone()).or_insert(0);
        if routable {
            *count += 1;
            return None;
        }
        *count -= 1;
        (*count == 0).then(|| format!("region {region} has no routable machine left"))
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

    fn observe(&mut self, _at: SimTime, observation: &Observation<'_>) -> Option<String> {
        match *observation {
            Observation::MachineCreated {
                machine, region, ..
            } => {
                assert_eq!(
                    self.machines.len(),
                    machine as usize,
                    "machines in creation order"
                );
                self.machines.push((region.to_string(), false));
                None
            }
            Observation::PlatformRoutable { machine, routable } => {
                self.routable_changed(machine, routable)
            }
            Observation::MachineGone { machine, .. } => self.routable_changed(machine, false),
            _ => None,
        }
    }
}
