//! Faults of machines and proxies: leases held by others (F5), lifecycle (F6), unreachable hosts
//! (F7), checks (F9), stale proxies (F10), manual destroys (F14).

use std::time::Duration;

use crate::engine::SimTime;
use crate::observe::MachineIndex;
use crate::platform::machines::LeaseRecord;
use crate::platform::{Event, World};
use crate::scenario::{FaultSpec, MachineTarget};

use super::human;

impl World {
    /// Standing faults that apply from the start to machines of the initial fleet.
    pub(super) fn install_standing(&mut self, index: usize) {
        match self.faults.specs[index].clone() {
            FaultSpec::LeaseHeld { target, owner, ttl } => {
                for machine in self.resolve_target(target) {
                    self.hold_lease(machine, &owner, ttl);
                }
            }
            FaultSpec::Unhealthy { target } => {
                for machine in self.resolve_target(target) {
                    self.fault_step(format!("unhealthy machine {}", self.machine_name(machine)));
                    self.make_unhealthy(machine);
                }
            }
            _ => {}
        }
    }

    fn hold_lease(&mut self, machine: MachineIndex, owner: &str, ttl: Duration) {
        let nonce = self.fresh_identifier();
        let expires_at = self.now() + ttl;
        self.machines[machine as usize].lease = Some(LeaseRecord {
            nonce,
            owner: owner.to_string(),
            client: None,
            expires_at,
        });
        self.fault_step(format!(
            "lease on {} held by {owner} for {}",
            self.machine_name(machine),
            human(ttl)
        ));
    }

    /// A deployer just launched `machine`: standing faults that name its greens apply.
    pub fn faults_on_machine_created(&mut self, machine: MachineIndex) {
        let unhealthy = self
            .machine_faults(machine)
            .iter()
            .any(|spec| matches!(spec, FaultSpec::Unhealthy { .. }));
        if unhealthy {
            self.fault_step(format!("unhealthy machine {}", self.machine_name(machine)));
            self.machines[machine as usize].never_healthy = true;
        }
    }

    /// What a window does to the world when it opens or closes.
    pub(super) fn window_effects(&mut self, index: usize, spec: &FaultSpec, start: bool) {
        match spec {
            FaultSpec::ProxyStale { region, .. } => {
                let proxies: Vec<u32> = (0..self.proxies.len() as u32)
                    .filter(|proxy| {
                        self.regions[self.proxies[*proxy as usize].region as usize] == *region
                    })
                    .collect();
                for proxy in proxies {
                    self.set_proxy_stale(proxy, start);
                }
            }
            FaultSpec::ChecksFlap { .. } if start => {
                let fault = super::fault_id(index);
                self.schedule_after(
                    Duration::ZERO,
                    Event::ChecksFlap {
                        fault,
                        failing: true,
                    },
                );
            }
            FaultSpec::ChecksFlap { target, .. } => {
                for machine in self.resolve_target(*target) {
                    self.make_healthy(machine);
                }
            }
            _ => {}
        }
    }

    /// A flapping check flips.
    pub fn checks_flap(&mut self, fault: u32, failing: bool) {
        let index = fault as usize;
        if !self.faults.is_on(index) {
            return;
        }
        let FaultSpec::ChecksFlap { target, period, .. } = self.faults.specs[index].clone() else {
            return;
        };
        for machine in self.resolve_target(target) {
            if failing {
                self.make_unhealthy(machine);
            } else {
                self.make_healthy(machine);
            }
        }
        self.schedule_after(
            period,
            Event::ChecksFlap {
                fault,
                failing: !failing,
            },
        );
    }

    /// Checks of the target fail from now, for `duration` (None: until healed).
    pub(super) fn checks_fail(
        &mut self,
        fault: u32,
        target: MachineTarget,
        duration: Option<Duration>,
    ) {
        for machine in self.resolve_target(target) {
            self.make_unhealthy(machine);
        }
        if let Some(duration) = duration {
            self.schedule_after(duration, Event::FaultEnds { fault });
        }
    }

    /// What `heal` undoes of a standing fault.
    pub(super) fn heal_standing(&mut self, spec: &FaultSpec) {
        match spec {
            FaultSpec::Unhealthy { target }
            | FaultSpec::ChecksFail { target, .. }
            | FaultSpec::ChecksFlap { target, .. } => {
                for machine in self.resolve_target(*target) {
                    self.make_healthy(machine);
                }
            }
            FaultSpec::StopHangs { target, .. } => {
                for machine in self.resolve_target(*target) {
                    self.release_hung_stop(machine);
                }
            }
            FaultSpec::DeployerStall { deploy, .. } => self.resume_deployer(*deploy),
            _ => {}
        }
    }

    /// F6: how long `machine` hangs in `stopping` when stopped (None: it does not hang;
    /// Some(None): until destroyed or healed).
    pub fn stop_hang(&self, machine: MachineIndex) -> Option<Option<Duration>> {
        self.machine_faults(machine)
            .iter()
            .find_map(|spec| match spec {
                FaultSpec::StopHangs { duration, .. } => Some(*duration),
                _ => None,
            })
    }

    /// F6: the boot time of `machine`, when a slow-boot fault names it.
    pub fn slow_boot(&mut self, machine: MachineIndex) -> Option<Duration> {
        let delay = self
            .machine_faults(machine)
            .iter()
            .find_map(|spec| match spec {
                FaultSpec::SlowBoot { delay, .. } => Some(delay.clone()),
                _ => None,
            })?;
        Some(self.streams.faults.sample(&delay))
    }

    /// F6: `machine` fails to boot.
    pub fn boot_fails(&self, machine: MachineIndex) -> bool {
        self.machine_faults(machine)
            .iter()
            .any(|spec| matches!(spec, FaultSpec::BootFailure { .. }))
    }

    /// F6: `machine` crashes this long after each start.
    pub fn crash_loop_period(&self, machine: MachineIndex) -> Option<Duration> {
        self.machine_faults(machine)
            .iter()
            .find_map(|spec| match spec {
                FaultSpec::CrashLoop { period, .. } => Some(*period),
                _ => None,
            })
    }

    /// A crash-loop tick: the machine crashes if it is still the same process.
    pub fn crash_loop_tick(&mut self, machine: MachineIndex, incarnation: u32) {
        let record = &self.machines[machine as usize];
        if record.incarnation != incarnation || self.crash_loop_period(machine).is_none() {
            return;
        }
        self.fault_step(format!(
            "crash loop: {} crashes",
            self.machine_name(machine)
        ));
        self.crash_machine(machine);
    }

    /// When a crash-looping machine started: schedule its next crash.
    pub fn arm_crash_loop(&mut self, machine: MachineIndex) {
        if let Some(period) = self.crash_loop_period(machine) {
            let incarnation = self.machines[machine as usize].incarnation;
            let at: SimTime = self.now() + period;
            self.schedule(
                at,
                Event::CrashLoopTick {
                    machine,
                    incarnation,
                },
            );
        }
    }
}
