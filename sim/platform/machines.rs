//! Machines: their records, lifecycle (created → starting → started → stopping → stopped →
//! destroying → destroyed) and checks whose status evolves with a grace period and an interval.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::api::{
    CheckState, CheckStatus, HostStatus, ImageRef, Machine, MachineConfig, MachineId, MachineState,
    RestartPolicy,
};
use crate::engine::SimTime;
use crate::observe::{MachineIndex, MachineShape, Observation, Step};
use crate::platform::{Event, LimitHit, World};

/// A lease as the platform holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseRecord {
    pub nonce: String,
    pub owner: String,
    /// The client (deployer index) holding it; None for a lease seeded by a fault.
    pub client: Option<u32>,
    pub expires_at: SimTime,
}

/// The lifecycle transition a machine's pending `MachineTransition` event stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pending {
    None,
    /// starting → started.
    Boot,
    /// The app starts answering; checks can pass from the next check tick.
    AppReady,
    /// stopping → stopped: the app exited after its signal (or was killed at kill_timeout).
    Exit,
    /// destroying → destroyed.
    Destroyed,
    /// stopped after a crash → starting (restart policy).
    Restart,
}

/// A machine on the platform.
#[derive(Clone, Debug)]
pub struct MachineRecord {
    pub id: MachineId,
    pub region: u32,
    pub state: MachineState,
    pub config: MachineConfig,
    pub image_ref: ImageRef,
    pub instance_id: String,
    pub cordoned: bool,
    pub host_status: HostStatus,
    pub created_at: SimTime,
    /// `list` shows the machine from this time on (read-after-write lag).
    pub listed_from: SimTime,
    /// The deployer that launched it (None: part of the initial fleet).
    pub created_by: Option<u32>,
    /// Bumps on each lifecycle change, so stale transition events are ignored.
    pub generation: u32,
    /// Bumps when the machine's process dies, so its in-flight requests fail.
    pub incarnation: u32,
    pub pending: Pending,
    pub app_ready: bool,
    pub checks_passing: bool,
    /// Fault: the checks never pass.
    pub never_healthy: bool,
    pub lease: Option<LeaseRecord>,
    /// Routable by the platform's state (started, uncordoned, checks passing), cached.
    pub routable: bool,
    /// Accepting connections (started and the app answering), cached.
    pub accepting: bool,
    /// Version of the routing state, for the proxies' last-writer-wins updates.
    pub routing_version: u32,
    pub restart_count: u32,
    /// When the machine last reached `started`: its checks tick from here.
    pub started_at: SimTime,
    /// Requests being served by the current process.
    pub in_flight: u32,
    /// When it last had nothing in flight (autostop's idle clock).
    pub idle_since: SimTime,
    /// When the current stop was requested (the kill timeout counts from here).
    pub stop_requested_at: Option<SimTime>,
    /// The app finished shutting down but still drains in-flight requests.
    pub draining: bool,
    /// An in-place update is rebooting it: boot the new config once the old process exits.
    pub boot_after_stop: bool,
    /// `wait` calls parked on this machine.
    pub waiters: Vec<u32>,
}

impl MachineRecord {
    pub fn has_checks(&self) -> bool {
        self.config.all_checks().next().is_some()
    }

    pub fn is_alive(&self) -> bool {
        self.state.is_active()
    }

    /// The machine as the API returns it.
    pub fn to_api(&self, region: &str) -> Machine {
        Machine {
            id: self.id.clone(),
            name: String::new(),
            state: self.state,
            region: region.to_string(),
            image_ref: self.image_ref.clone(),
            instance_id: self.instance_id.clone(),
            config: self.config.clone(),
            host_status: self.host_status,
            checks: self.check_statuses(),
            cordoned: self.cordoned,
            incomplete_config: false,
        }
    }

    /// Check results as the platform reports them: none before the machine started, critical
    /// until they pass.
    fn check_statuses(&self) -> Vec<CheckStatus> {
        if self.state != MachineState::Started {
            return Vec::new();
        }
        let (status, output) = if self.checks_passing {
            (CheckState::Passing, "success")
        } else {
            (CheckState::Critical, "connection refused")
        };
        self.config
            .all_checks()
            .map(|check| CheckStatus {
                name: check.name.clone(),
                status,
                output: output.to_string(),
            })
            .collect()
    }
}

/// Machine IDs to machine indexes, for the API server's lookups (two or three per call).
///
/// IDs are short (flyctl's are 14 hex digits), so each is packed into one integer: its bytes
/// big-endian, then its length. A lookup compares integers instead of chasing string pointers,
/// which was 17 % of a 10 000-machine deploy's profile (issue 6). Longer IDs (only ever seen in
/// tests) go to a string-keyed map, so the lookup is exact for any ID.
#[derive(Debug, Default)]
pub struct MachineIds {
    packed: BTreeMap<u128, MachineIndex>,
    long: BTreeMap<String, MachineIndex>,
}

impl MachineIds {
    /// IDs of up to this many bytes are packed.
    const PACKED_BYTES_MAX: usize = 15;

    fn pack(id: &str) -> Option<u128> {
        let bytes = id.as_bytes();
        if bytes.len() > MachineIds::PACKED_BYTES_MAX {
            return None;
        }
        let mut key = [0u8; 16];
        key[..bytes.len()].copy_from_slice(bytes);
        key[15] = bytes.len() as u8;
        Some(u128::from_be_bytes(key))
    }

    pub fn get(&self, id: &str) -> Option<MachineIndex> {
        match MachineIds::pack(id) {
            Some(key) => self.packed.get(&key).copied(),
            None => self.long.get(id).copied(),
        }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    /// Records a new machine's ID; IDs are unique for the run.
    pub fn insert(&mut self, id: &str, machine: MachineIndex) {
        let previous = match MachineIds::pack(id) {
            Some(key) => self.packed.insert(key, machine),
            None => self.long.insert(id.to_string(), machine),
        };
        assert!(previous.is_none(), "machine ID {id} given twice");
    }
}

/// The initial state of a machine that is created by the platform (initial fleet or launch).
pub struct NewMachine {
    pub region: u32,
    pub config: MachineConfig,
    pub state: MachineState,
    pub cordoned: bool,
    pub created_by: Option<u32>,
}

/// Default check interval when a check sets none (Fly's default is 15 s).
pub(crate) const CHECK_INTERVAL_DEFAULT: Duration = Duration::from_secs(15);
/// Delay before the platform restarts a crashed machine.
const RESTART_DELAY: Duration = Duration::from_secs(1);

impl World {
    /// Creates a machine record. Returns None when the machine limit is hit (the run stops).
    pub fn create_machine(&mut self, new: NewMachine) -> Option<MachineIndex> {
        let limit = self.scenario.run.machine_limit;
        if self.machines.len() >= limit as usize {
            self.limit_hit.get_or_insert(LimitHit::Machines { limit });
            return None;
        }
        let index = MachineIndex::try_from(self.machines.len()).ok()?;
        let id = self.fresh_machine_id();
        let instance_id = self.fresh_identifier();
        let now = self.now();
        let list_lag = if new.created_by.is_some() {
            let stale = self.stale_list_lag().unwrap_or(Duration::ZERO);
            self.scenario.api.list_lag.max(stale)
        } else {
            Duration::ZERO
        };
        let image_ref = ImageRef::parse(&new.config.image);
        self.machine_ids.insert(&id.0, index);
        self.machines.push(MachineRecord {
            id,
            region: new.region,
            state: new.state,
            config: new.config,
            image_ref,
            instance_id,
            cordoned: new.cordoned,
            host_status: HostStatus::Ok,
            created_at: now,
            listed_from: now + list_lag,
            created_by: new.created_by,
            generation: 0,
            incarnation: 0,
            pending: Pending::None,
            app_ready: false,
            checks_passing: false,
            never_healthy: false,
            lease: None,
            routable: false,
            accepting: false,
            routing_version: 0,
            restart_count: 0,
            started_at: now,
            in_flight: 0,
            idle_since: now,
            stop_requested_at: None,
            draining: false,
            boot_after_stop: false,
            waiters: Vec::new(),
        });
        self.record(Step::MachineCreated {
            machine: index,
            by: new.created_by,
        });
        let image = self.machines[index as usize].config.image.clone();
        self.image_log.push((now, index, image.clone()));
        let record = &self.machines[index as usize];
        let shape = MachineShape {
            group: record.config.process_group().to_string(),
            has_checks: record.has_checks(),
        };
        let region = &self.regions[self.machines[index as usize].region as usize];
        self.observe(&Observation::MachineCreated {
            machine: index,
            region,
            image: &image,
            by: new.created_by,
            shape: &shape,
        });
        self.faults_on_machine_created(index);
        Some(index)
    }

    /// A 14-hex-digit ID, unique in this run.
    fn fresh_machine_id(&mut self) -> MachineId {
        for _ in 0..64 {
            let candidate = format!(
                "{:014x}",
                self.streams.identifiers.next_u64() & 0x00ff_ffff_ffff_ffff
            );
            if !self.machine_ids.contains(&candidate) {
                return MachineId(candidate);
            }
        }
        panic!("64 machine ID collisions in a row: the identifier stream is broken");
    }

    /// A ULID-shaped identifier (instance IDs, nonces).
    pub fn fresh_identifier(&mut self) -> String {
        let high = self.streams.identifiers.next_u64();
        let low = self.streams.identifiers.next_u64();
        format!("01{:012X}{:012X}", high >> 16, low >> 16)
    }

    /// Puts an initial-fleet machine straight into its steady state (no boot at t = 0).
    pub fn settle_initial_machine(&mut self, machine: MachineIndex) {
        let record = &mut self.machines[machine as usize];
        if record.state == MachineState::Started {
            record.app_ready = true;
            record.checks_passing = !record.never_healthy;
        }
        self.refresh_routing(machine);
        self.update_autostart_pool(machine);
        if self.machines[machine as usize].state == MachineState::Started {
            self.arm_autostop(machine);
        }
    }

    /// Moves a machine to `state`: trace, checkers, parked `wait` calls.
    pub fn set_state(&mut self, machine: MachineIndex, state: MachineState) {
        let record = &mut self.machines[machine as usize];
        if record.state == state {
            return;
        }
        let was_alive = record.is_alive();
        record.state = state;
        record.generation += 1;
        record.pending = Pending::None;
        self.record(Step::MachineState { machine, state });
        let alive = self.machines[machine as usize].is_alive();
        if was_alive && !alive {
            let image = self.machines[machine as usize].config.image.clone();
            self.observe(&Observation::MachineGone {
                machine,
                image: &image,
            });
        }
        self.resolve_waiters(machine);
        self.refresh_routing(machine);
        self.update_autostart_pool(machine);
    }

    fn schedule_transition(&mut self, machine: MachineIndex, pending: Pending, delay: Duration) {
        let record = &mut self.machines[machine as usize];
        record.generation += 1;
        record.pending = pending;
        let generation = record.generation;
        self.schedule_after(
            delay,
            Event::MachineTransition {
                machine,
                generation,
            },
        );
    }

    /// Boots a machine: created/stopped → starting → started after the boot time.
    pub fn start_machine(&mut self, machine: MachineIndex) {
        self.set_state(machine, MachineState::Starting);
        let boot = self.scenario.machine.boot_time.clone();
        let normal = self.streams.machines.sample(&boot);
        let delay = self.slow_boot(machine).unwrap_or(normal);
        self.schedule_transition(machine, Pending::Boot, delay);
    }

    /// Stops a machine: the app gets its signal, drains, and exits (killed at kill_timeout).
    pub fn stop_machine(&mut self, machine: MachineIndex) {
        let state = self.machines[machine as usize].state;
        // A suspended or created machine has no running app to signal: it is simply stopped
        // (inferred; stopping a stopped machine succeeds as a no-op, reference §10).
        if matches!(state, MachineState::Suspended | MachineState::Created) {
            self.set_state(machine, MachineState::Stopped);
            return;
        }
        if !matches!(state, MachineState::Started | MachineState::Starting) {
            return;
        }
        self.set_state(machine, MachineState::Stopping);
        let now = self.now();
        self.machines[machine as usize].stop_requested_at = Some(now);
        let stop = self.scenario.machine.stop_time.clone();
        let kill_timeout = self.scenario.machine.kill_timeout;
        let delay = self.streams.machines.sample(&stop).min(kill_timeout);
        match self.stop_hang(machine) {
            None => self.schedule_transition(machine, Pending::Exit, delay),
            Some(Some(hang)) => self.schedule_transition(machine, Pending::Exit, hang),
            // Hangs until destroyed: no exit is scheduled.
            Some(None) => {}
        }
    }

    /// Destroys a machine: its process dies now, the record goes after the destroy time.
    pub fn destroy_machine(&mut self, machine: MachineIndex) {
        if !self.machines[machine as usize].is_alive() {
            return;
        }
        self.machines[machine as usize].boot_after_stop = false;
        self.kill_process(machine);
        self.set_state(machine, MachineState::Destroying);
        let destroy = self.scenario.machine.destroy_time.clone();
        let delay = self.streams.machines.sample(&destroy);
        self.schedule_transition(machine, Pending::Destroyed, delay);
    }

    /// The machine's process exits now (crash): in-flight requests fail; the restart policy
    /// decides whether it comes back.
    pub fn crash_machine(&mut self, machine: MachineIndex) {
        let record = &self.machines[machine as usize];
        if !matches!(record.state, MachineState::Started | MachineState::Starting) {
            return;
        }
        let restarts = record.config.restart_policy != RestartPolicy::No;
        self.kill_process(machine);
        self.set_state(machine, MachineState::Stopped);
        if restarts {
            self.machines[machine as usize].restart_count += 1;
            self.schedule_transition(machine, Pending::Restart, RESTART_DELAY);
        }
    }

    /// The process is gone: the machine is stopped, or boots again after an in-place update.
    pub fn stop_process_now(&mut self, machine: MachineIndex) {
        self.kill_process(machine);
        self.set_state(machine, MachineState::Stopped);
        if std::mem::take(&mut self.machines[machine as usize].boot_after_stop) {
            self.start_machine(machine);
        }
    }

    /// The process dies: requests in flight on it fail, the app no longer answers.
    fn kill_process(&mut self, machine: MachineIndex) {
        let record = &mut self.machines[machine as usize];
        record.incarnation += 1;
        record.in_flight = 0;
        record.draining = false;
        record.app_ready = false;
        let was_passing = record.checks_passing;
        record.checks_passing = false;
        if was_passing {
            self.record(Step::ChecksPassing {
                machine,
                passing: false,
            });
        }
        self.refresh_routing(machine);
    }

    /// A pending lifecycle transition is due.
    pub fn machine_transition(&mut self, machine: MachineIndex, generation: u32) {
        let record = &self.machines[machine as usize];
        if record.generation != generation {
            return; // superseded by a later change
        }
        match record.pending {
            Pending::None => {}
            Pending::Boot => self.machine_booted(machine),
            Pending::AppReady => self.app_ready(machine),
            Pending::Exit => self.app_exits(machine),
            Pending::Destroyed => {
                self.machines[machine as usize].lease = None;
                self.set_state(machine, MachineState::Destroyed);
            }
            Pending::Restart => self.start_machine(machine),
        }
    }

    /// The app's shutdown is done. It exits once its in-flight requests are served, or at the
    /// kill timeout (SIGKILL), whichever comes first: drain on stop.
    fn app_exits(&mut self, machine: MachineIndex) {
        let now = self.now();
        let kill_timeout = self.scenario.machine.kill_timeout;
        let record = &mut self.machines[machine as usize];
        let kill_at = record.stop_requested_at.unwrap_or(now) + kill_timeout;
        if record.in_flight > 0 && now < kill_at {
            record.draining = true;
            self.schedule_transition(machine, Pending::Exit, kill_at - now);
            return;
        }
        self.machines[machine as usize].draining = false;
        self.stop_process_now(machine);
    }

    /// A request on `machine` finished: a draining app may now exit.
    pub fn request_left(&mut self, machine: MachineIndex) {
        let record = &mut self.machines[machine as usize];
        assert!(record.in_flight > 0, "request left a machine it was not on");
        record.in_flight -= 1;
        if record.in_flight == 0 && record.state == MachineState::Started {
            self.arm_autostop(machine);
        }
        let record = &mut self.machines[machine as usize];
        if record.in_flight == 0 && record.draining && record.state == MachineState::Stopping {
            record.draining = false;
            self.stop_process_now(machine);
        }
    }

    fn machine_booted(&mut self, machine: MachineIndex) {
        if self.boot_fails(machine) {
            self.fault_step(format!("boot failure: {}", self.machine_name(machine)));
            self.set_state(machine, MachineState::Failed);
            return;
        }
        self.set_state(machine, MachineState::Started);
        self.observe(&Observation::MachineBack { machine });
        self.arm_autostop(machine);
        self.arm_crash_loop(machine);
        if !self.machines[machine as usize].has_checks() {
            self.observe(&Observation::MachineProven { machine });
        }
        self.machines[machine as usize].started_at = self.now();
        let ready = self.scenario.machine.app_ready_time.clone();
        let delay = self.streams.machines.sample(&ready);
        self.schedule_transition(machine, Pending::AppReady, delay);
    }

    /// The app answers; the checks pass at the first check tick from now (grace, then interval).
    fn app_ready(&mut self, machine: MachineIndex) {
        let now = self.now();
        let record = &mut self.machines[machine as usize];
        record.app_ready = true;
        let has_checks = record.has_checks();
        let never_healthy = record.never_healthy;
        let delay = next_check_tick(&record.config, record.started_at, now);
        let generation = record.generation;
        self.refresh_routing(machine);
        if has_checks && !never_healthy {
            self.schedule_after(
                delay,
                Event::ChecksPass {
                    machine,
                    generation,
                },
            );
        }
    }

    pub fn checks_pass(&mut self, machine: MachineIndex, generation: u32) {
        let record = &mut self.machines[machine as usize];
        if record.generation != generation || record.never_healthy || !record.app_ready {
            return;
        }
        record.checks_passing = true;
        self.record(Step::ChecksPassing {
            machine,
            passing: true,
        });
        self.observe(&Observation::MachineProven { machine });
        self.refresh_routing(machine);
    }

    /// Marks a machine never-healthy (fault); if it is passing now, it starts failing.
    pub fn make_unhealthy(&mut self, machine: MachineIndex) {
        let record = &mut self.machines[machine as usize];
        record.never_healthy = true;
        if record.checks_passing {
            record.checks_passing = false;
            self.record(Step::ChecksPassing {
                machine,
                passing: false,
            });
            self.refresh_routing(machine);
        }
    }

    /// The machine's checks may pass again (a health fault ended): from the next check tick.
    pub fn make_healthy(&mut self, machine: MachineIndex) {
        let now = self.now();
        let record = &mut self.machines[machine as usize];
        if !record.never_healthy {
            return;
        }
        record.never_healthy = false;
        if !record.app_ready || !record.has_checks() || record.checks_passing {
            return;
        }
        let delay = next_check_tick(&record.config, record.started_at, now);
        let generation = record.generation;
        self.schedule_after(
            delay,
            Event::ChecksPass {
                machine,
                generation,
            },
        );
    }

    /// A machine hung in `stopping` (its stop-hangs fault healed) finally exits.
    pub fn release_hung_stop(&mut self, machine: MachineIndex) {
        let record = &self.machines[machine as usize];
        if record.state == MachineState::Stopping && record.pending == Pending::None {
            self.app_exits(machine);
        }
    }

    pub fn set_cordoned(&mut self, machine: MachineIndex, cordoned: bool) {
        let record = &mut self.machines[machine as usize];
        if record.cordoned == cordoned {
            return;
        }
        record.cordoned = cordoned;
        self.record(Step::Cordoned { machine, cordoned });
        self.refresh_routing(machine);
        self.update_autostart_pool(machine);
    }

    /// Recomputes the cached routable and accepting flags and tells whoever cares.
    pub fn refresh_routing(&mut self, machine: MachineIndex) {
        let record = &self.machines[machine as usize];
        let started = record.state == MachineState::Started;
        let host_ok = record.host_status == HostStatus::Ok;
        let healthy = !record.has_checks() || record.checks_passing;
        let routable = started && host_ok && !record.cordoned && healthy;
        let accepting = started && host_ok && record.app_ready;
        if accepting != record.accepting {
            let retiring = matches!(
                record.state,
                MachineState::Stopping | MachineState::Stopped | MachineState::Destroying
            );
            self.machines[machine as usize].accepting = accepting;
            self.machine_accepting_changed(machine, accepting);
            if !accepting && retiring {
                self.observe(&Observation::MachineRetired { machine });
            }
        }
        if routable != self.machines[machine as usize].routable {
            let record = &mut self.machines[machine as usize];
            record.routable = routable;
            record.routing_version += 1;
            let version = record.routing_version;
            self.record(Step::Routable { machine, routable });
            self.observe(&Observation::PlatformRoutable { machine, routable });
            self.propagate(machine, version, routable);
        }
    }
}

/// Time from `now` (the app became ready) to the first check tick that sees it answering. Checks
/// first run one grace period after the machine started, then every interval.
fn next_check_tick(config: &MachineConfig, started_at: SimTime, now: SimTime) -> Duration {
    let grace = config
        .all_checks()
        .filter_map(|check| check.grace_period)
        .min()
        .unwrap_or(Duration::ZERO);
    let interval = config
        .all_checks()
        .filter_map(|check| check.interval)
        .min()
        .unwrap_or(CHECK_INTERVAL_DEFAULT)
        .max(Duration::from_millis(1));
    let first_tick = started_at + grace;
    if now <= first_tick {
        return first_tick - now;
    }
    let late = now - first_tick;
    let ticks = late.as_micros().div_ceil(interval.as_micros());
    let next_tick = first_tick + interval.saturating_mul(u32::try_from(ticks).unwrap_or(u32::MAX));
    next_tick - now
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards the packed ID lookup: exact for short, padded-looking and long IDs alike.
    #[test]
    fn machine_ids_are_exact() {
        let mut ids = MachineIds::default();
        ids.insert("a", 0);
        ids.insert("a\0", 1);
        ids.insert("3d8d9e4c1e2f08", 2);
        ids.insert("a-machine-id-longer-than-fifteen-bytes", 3);
        assert_eq!(ids.get("a"), Some(0));
        assert_eq!(ids.get("a\0"), Some(1));
        assert_eq!(ids.get("3d8d9e4c1e2f08"), Some(2));
        assert_eq!(ids.get("a-machine-id-longer-than-fifteen-bytes"), Some(3));
        assert_eq!(ids.get(""), None);
        assert_eq!(ids.get("3d8d9e4c1e2f0"), None);
        assert_eq!(ids.get("a-machine-id-longer-than-fifteen-bytez"), None);
        assert!(!ids.contains("b"));
    }
}
