//! Edge proxies, one per region. Each holds a *view* of which machines are routable that lags the
//! platform: every routing change reaches each proxy after its own sampled propagation delay
//! (reference §7: gossip through a replicated store). Updates carry a per-machine version and a
//! proxy applies only newer ones, so reordered deliveries do not resurrect old state.

use std::collections::VecDeque;

use crate::observe::{MachineIndex, Observation, Step};
use crate::platform::World;

/// A set of machine indexes with O(1) insert, remove and random pick.
#[derive(Clone, Debug, Default)]
pub struct IndexedSet {
    items: Vec<MachineIndex>,
    position: Vec<u32>,
}

const ABSENT: u32 = u32::MAX;

impl IndexedSet {
    pub fn contains(&self, machine: MachineIndex) -> bool {
        self.position
            .get(machine as usize)
            .is_some_and(|position| *position != ABSENT)
    }

    pub fn insert(&mut self, machine: MachineIndex) {
        if self.contains(machine) {
            return;
        }
        let slot = machine as usize;
        if self.position.len() <= slot {
            self.position.resize(slot + 1, ABSENT);
        }
        self.position[slot] = u32::try_from(self.items.len()).expect("set fits in u32");
        self.items.push(machine);
    }

    pub fn remove(&mut self, machine: MachineIndex) {
        if !self.contains(machine) {
            return;
        }
        let position = self.position[machine as usize] as usize;
        let last = self.items.pop().expect("non-empty");
        if position < self.items.len() {
            self.items[position] = last;
            self.position[last as usize] = position as u32;
        }
        self.position[machine as usize] = ABSENT;
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn get(&self, index: usize) -> MachineIndex {
        self.items[index]
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct ViewEntry {
    version: u32,
    routable: bool,
}

/// One edge proxy.
#[derive(Clone, Debug)]
pub struct Proxy {
    pub region: u32,
    view: Vec<ViewEntry>,
    /// Machines this proxy believes routable.
    candidates: IndexedSet,
    /// The subset in the proxy's own region (preferred).
    local: IndexedSet,
    /// Candidates that really accept connections right now.
    live: u32,
    pub serving: bool,
    /// Requests waiting for a routable machine.
    pub held: VecDeque<u32>,
    /// F10: the proxy learns nothing while stale; what arrives waits here (in arrival order).
    pub stale: bool,
    deferred: Vec<(MachineIndex, u32, bool)>,
}

impl Proxy {
    pub fn new(region: u32) -> Proxy {
        Proxy {
            region,
            view: Vec::new(),
            candidates: IndexedSet::default(),
            local: IndexedSet::default(),
            live: 0,
            serving: false,
            held: VecDeque::new(),
            stale: false,
            deferred: Vec::new(),
        }
    }

    pub fn believes_routable(&self, machine: MachineIndex) -> bool {
        self.candidates.contains(machine)
    }

    pub fn has_candidates(&self) -> bool {
        !self.candidates.is_empty()
    }

    /// Candidates in the proxy's own region if any, else every candidate.
    pub fn choice_set(&self) -> &IndexedSet {
        if self.local.is_empty() {
            &self.candidates
        } else {
            &self.local
        }
    }
}

impl World {
    /// A routing change of `machine` starts spreading to every proxy.
    pub fn propagate(&mut self, machine: MachineIndex, version: u32, routable: bool) {
        for proxy in 0..self.proxies.len() as u32 {
            if self.setting_up {
                // The run starts from a converged state.
                self.proxy_learns(proxy, machine, version, routable);
                continue;
            }
            let delay = self.propagation_delay();
            self.schedule_after(
                delay,
                crate::platform::Event::ProxyLearns {
                    proxy,
                    machine,
                    version,
                    routable,
                },
            );
        }
    }

    /// A proxy learns a routing change, unless it already knows a newer one.
    pub fn proxy_learns(
        &mut self,
        proxy: u32,
        machine: MachineIndex,
        version: u32,
        routable: bool,
    ) {
        if self.proxies[proxy as usize].stale {
            self.proxies[proxy as usize]
                .deferred
                .push((machine, version, routable));
            return;
        }
        let machine_region = self.machines[machine as usize].region;
        let accepting = self.machines[machine as usize].accepting;
        let state = &mut self.proxies[proxy as usize];
        let slot = machine as usize;
        if state.view.len() <= slot {
            state.view.resize(slot + 1, ViewEntry::default());
        }
        if state.view[slot].version >= version {
            return;
        }
        let was = state.view[slot].routable;
        state.view[slot] = ViewEntry { version, routable };
        if was == routable {
            return;
        }
        let local = machine_region == state.region;
        if routable {
            state.candidates.insert(machine);
            if local {
                state.local.insert(machine);
            }
            if accepting {
                state.live += 1;
            }
        } else {
            state.candidates.remove(machine);
            state.local.remove(machine);
            if accepting {
                state.live -= 1;
            }
        }
        self.record(Step::ProxyView {
            proxy,
            machine,
            routable,
        });
        self.observe(&Observation::ProxyView { machine, routable });
        self.update_serving(proxy);
        self.observe(&Observation::ProxyViewApplied);
        if routable {
            self.dispatch_held(proxy);
        }
    }

    /// F10: a proxy goes stale (learns nothing) or catches up with what it missed.
    pub fn set_proxy_stale(&mut self, proxy: u32, stale: bool) {
        self.proxies[proxy as usize].stale = stale;
        if stale {
            return;
        }
        let missed = std::mem::take(&mut self.proxies[proxy as usize].deferred);
        for (machine, version, routable) in missed {
            self.proxy_learns(proxy, machine, version, routable);
        }
    }

    /// A machine started or stopped accepting connections: proxies routing to it gain or lose a
    /// live candidate.
    pub fn machine_accepting_changed(&mut self, machine: MachineIndex, accepting: bool) {
        for proxy in 0..self.proxies.len() as u32 {
            let state = &mut self.proxies[proxy as usize];
            if !state.candidates.contains(machine) {
                continue;
            }
            if accepting {
                state.live += 1;
            } else {
                state.live -= 1;
            }
            self.update_serving(proxy);
        }
    }

    fn update_serving(&mut self, proxy: u32) {
        let state = &mut self.proxies[proxy as usize];
        let serving = state.live > 0;
        if serving == state.serving {
            return;
        }
        state.serving = serving;
        self.record(Step::ProxyServing { proxy, serving });
        self.observe(&Observation::ProxyServing { proxy, serving });
    }

    /// Sends every held request on, now that the proxy knows a routable machine.
    fn dispatch_held(&mut self, proxy: u32) {
        let held = std::mem::take(&mut self.proxies[proxy as usize].held);
        for request in held {
            self.request_attempt(request);
        }
    }

    /// Picks a machine the proxy believes routable, preferring its own region and avoiding the
    /// machines that already refused this request (a proxy tries *another* machine). When every
    /// candidate refused already, any candidate will do.
    pub fn pick_machine(&mut self, proxy: u32, refused: &[MachineIndex]) -> Option<MachineIndex> {
        let size = self.proxies[proxy as usize].choice_set().len();
        if size == 0 {
            return None;
        }
        let start = self.streams.proxies.below(size);
        let set = self.proxies[proxy as usize].choice_set();
        // Bounded by the candidate count: probe from the random start for one not yet refused.
        let fresh = (0..size)
            .map(|offset| set.get((start + offset) % size))
            .find(|machine| !refused.contains(machine));
        Some(fresh.unwrap_or_else(|| set.get(start)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards the indexed set's swap-remove bookkeeping.
    #[test]
    fn indexed_set_insert_remove() {
        let mut set = IndexedSet::default();
        for machine in [5, 1, 9, 3] {
            set.insert(machine);
        }
        set.insert(1);
        assert_eq!(set.len(), 4);
        set.remove(5);
        set.remove(5);
        assert!(!set.contains(5));
        assert!(set.contains(3) && set.contains(9) && set.contains(1));
        let mut items: Vec<u32> = (0..set.len()).map(|index| set.get(index)).collect();
        items.sort_unstable();
        assert_eq!(items, vec![1, 3, 9]);
    }
}
