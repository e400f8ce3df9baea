//! What the deployers asked of the Machines API, kept for the scenario's expectations (`calls`,
//! `[[expect.machines]]`): calls made per operation and machine, how each destroy was asked
//! (kill, lease nonce) and how each green was launched. Counted when a call is sent, whether or
//! not it reached the server, as a test of flyctl counts the calls its client made.

use std::collections::BTreeMap;

use crate::api::Operation;
use crate::observe::MachineIndex;

/// One destroy call as sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DestroyCall {
    pub kill: bool,
    pub nonce: bool,
}

/// The calls of every deployer of a run. Bounded by the calls made (each adds to a counter keyed
/// by operation and machine, or one destroy entry).
#[derive(Debug, Default)]
pub struct CallLog {
    counts: BTreeMap<(Operation, Option<MachineIndex>), u32>,
    destroys: BTreeMap<MachineIndex, Vec<DestroyCall>>,
    /// Per launched machine: whether its launch asked `skip_launch`.
    skip_launch: BTreeMap<MachineIndex, bool>,
}

impl CallLog {
    /// A call was sent (`machine`: the machine its ID names, when the platform knows it).
    pub fn call(&mut self, operation: Operation, machine: Option<MachineIndex>) {
        *self.counts.entry((operation, machine)).or_insert(0) += 1;
    }

    pub fn destroy(&mut self, machine: MachineIndex, call: DestroyCall) {
        self.destroys.entry(machine).or_default().push(call);
    }

    pub fn launched(&mut self, machine: MachineIndex, skip_launch: bool) {
        self.skip_launch.insert(machine, skip_launch);
    }

    /// Calls of `operation` on any machine (or none).
    pub fn count(&self, operation: Operation) -> u32 {
        self.counts
            .range((operation, None)..=(operation, Some(MachineIndex::MAX)))
            .map(|(_, count)| count)
            .sum()
    }

    /// Calls of `operation` on `machine`.
    pub fn count_on(&self, operation: Operation, machine: MachineIndex) -> u32 {
        self.counts
            .get(&(operation, Some(machine)))
            .copied()
            .unwrap_or(0)
    }

    pub fn destroys_of(&self, machine: MachineIndex) -> &[DestroyCall] {
        self.destroys.get(&machine).map_or(&[], Vec::as_slice)
    }

    /// Whether `machine`'s launch asked `skip_launch` (None: no deployer launched it).
    pub fn skip_launch_of(&self, machine: MachineIndex) -> Option<bool> {
        self.skip_launch.get(&machine).copied()
    }
}
