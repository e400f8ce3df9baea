//! F14: autostop and autostart. A machine whose service has `auto_stop_machines` is stopped by
//! the platform after it has been idle (no request in flight) for [`AUTOSTOP_IDLE`]; a proxy that
//! holds a request for want of a routable machine starts a stopped `auto_start_machines` machine,
//! preferring its own region (inferred from Fly's docs: the proxy starts machines on demand).
//! The platform acts on its own, whatever leases the deployer holds.

use std::time::Duration;

use crate::api::MachineState;
use crate::observe::MachineIndex;
use crate::platform::{Event, World};

/// How long a machine must be idle before the platform auto-stops it.
pub const AUTOSTOP_IDLE: Duration = Duration::from_secs(60);

impl World {
    fn autostops(&self, machine: MachineIndex) -> bool {
        self.machines[machine as usize]
            .config
            .services
            .iter()
            .any(|service| service.autostop)
    }

    fn autostarts(&self, machine: MachineIndex) -> bool {
        self.machines[machine as usize]
            .config
            .services
            .iter()
            .any(|service| service.autostart)
    }

    /// The machine went idle (started with nothing in flight): check again after the idle time.
    pub fn arm_autostop(&mut self, machine: MachineIndex) {
        if !self.autostops(machine) {
            return;
        }
        let record = &mut self.machines[machine as usize];
        record.idle_since = self.clock.now();
        let incarnation = record.incarnation;
        self.schedule_after(
            AUTOSTOP_IDLE,
            Event::AutostopCheck {
                machine,
                incarnation,
            },
        );
    }

    /// Stops the machine if it is still the same process and has stayed idle.
    pub fn autostop_check(&mut self, machine: MachineIndex, incarnation: u32) {
        let now = self.now();
        let record = &self.machines[machine as usize];
        let idle = record.in_flight == 0 && now - record.idle_since >= AUTOSTOP_IDLE;
        if record.incarnation != incarnation || record.state != MachineState::Started || !idle {
            return;
        }
        self.fault_step(format!(
            "autostop: {} idle, stopped",
            self.machine_name(machine)
        ));
        self.stop_machine(machine);
    }

    /// The region's stopped autostart machines change with state and cordon.
    pub fn update_autostart_pool(&mut self, machine: MachineIndex) {
        if !self.autostarts(machine) {
            return;
        }
        let record = &self.machines[machine as usize];
        let startable = record.state == MachineState::Stopped && !record.cordoned;
        let region = record.region as usize;
        if startable {
            self.autostart_pool[region].insert(machine);
        } else {
            self.autostart_pool[region].remove(machine);
        }
    }

    /// A proxy holds a request with nothing routable: start one stopped autostart machine, from
    /// its own region if it can.
    pub fn autostart_for(&mut self, proxy: u32) {
        let own = self.proxies[proxy as usize].region as usize;
        let region = std::iter::once(own)
            .chain(0..self.autostart_pool.len())
            .find(|region| !self.autostart_pool[*region].is_empty());
        let Some(region) = region else {
            return;
        };
        let machine = self.autostart_pool[region].get(0);
        self.fault_step(format!(
            "autostart: proxy {} starts {}",
            self.regions[own],
            self.machine_name(machine)
        ));
        self.start_machine(machine);
    }
}
