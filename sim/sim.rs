//! The assembled simulation: builds the world from a scenario, runs the event loop with the
//! deploy code on the deterministic executor, and collects verdicts, metrics and expectations.
//!
//! ```no_run
//! let scenario = fleetsim::scenario::load(std::path::Path::new("scenarios/bluegreen-basic.toml"))
//!     .expect("valid scenario");
//! let result = fleetsim::sim::Simulation::new(&scenario).seed(7).run();
//! println!("fingerprint: {}", result.fingerprint);
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::api::{CheckConfig, MachineConfig, MachineState, RestartPolicy};
use crate::check::{Checker, Checkers, Invariant, InvariantSet, Metrics, SettledFacts, Verdict};
use crate::deploy::{DeployParams, DeployReport, Strategy, StrategyName};
use crate::engine::executor::{Executor, ExecutorError, ProcessId};
use crate::engine::trace::{Fingerprint, Record, Trace};
use crate::engine::{Clock, EventQueue, SimTime};
use crate::faults::FaultPlan;
use crate::observe::{Observer, Observers, PacePromise};
use crate::platform::client::{SimApi, SimRuntime};
use crate::platform::machines::{MachineIds, NewMachine};
use crate::platform::proxy::Proxy;
use crate::platform::server::CallTable;
use crate::platform::traffic::Traffic;
use crate::platform::{Action, DeployState, LimitHit, Step, Streams, World, EPOCH_UNIX_SECONDS};
use crate::scenario::{DeployStart, Scenario};

/// Bounds that are not in the scenario file: how far the engine's own structures may grow. Each
/// limit hit stops the run (and says which), except `trace_steps_kept`, which only stops keeping
/// steps for the report files (the fingerprint still covers every step, and the files say where
/// they end). reports/README.md, "Limits", lists them with the scenario's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineLimits {
    /// Events waiting in the queue.
    pub queue_capacity: usize,
    /// Tasks alive in the executor at once.
    pub tasks: usize,
    /// Task polls at one instant of virtual time (a livelock otherwise).
    pub polls_without_time: u64,
    /// Requests that arrive over the run.
    pub requests: usize,
    /// Trace steps kept for `--out` (`Simulation::keep_trace`).
    pub trace_steps_kept: usize,
}

impl EngineLimits {
    pub const DEFAULT: EngineLimits = EngineLimits {
        queue_capacity: 4_000_000,
        tasks: 200_000,
        polls_without_time: 10_000_000,
        requests: 20_000_000,
        trace_steps_kept: 5_000_000,
    };
}

impl Default for EngineLimits {
    fn default() -> Self {
        EngineLimits::DEFAULT
    }
}

/// A deploy strategy as the simulator runs it: over the simulated Machines API, on virtual time.
pub type SimStrategy = Rc<dyn Strategy<SimApi, SimRuntime>>;

/// A simulation of one scenario: a builder, then [`Simulation::run`].
pub struct Simulation<'a> {
    scenario: &'a Scenario,
    seed: Option<u64>,
    strategy: Option<StrategyName>,
    custom_strategy: Option<SimStrategy>,
    checkers: Vec<Box<dyn Checker>>,
    keep_trace: bool,
    limits: EngineLimits,
}

impl<'a> Simulation<'a> {
    pub fn new(scenario: &'a Scenario) -> Simulation<'a> {
        Simulation {
            scenario,
            seed: None,
            strategy: None,
            custom_strategy: None,
            checkers: Vec::new(),
            keep_trace: false,
            limits: EngineLimits::DEFAULT,
        }
    }

    /// Other engine limits than [`EngineLimits::DEFAULT`] (tests reach them quickly this way).
    pub fn engine_limits(mut self, limits: EngineLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Overrides the scenario's `[run] seed`.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Runs every deploy of the scenario with this strategy instead of its own.
    pub fn strategy(mut self, strategy: StrategyName) -> Self {
        self.strategy = Some(strategy);
        self
    }

    /// Runs every deploy of the scenario with a strategy of one's own (it replaces the scenario's
    /// and [`Simulation::strategy`]). The scenario's deploy settings reach it as its
    /// [`DeployParams`]; the invariants it declares are judged, the others are `n/a`.
    pub fn custom_strategy(
        mut self,
        strategy: impl Strategy<SimApi, SimRuntime> + 'static,
    ) -> Self {
        self.custom_strategy = Some(Rc::new(strategy));
        self
    }

    /// Judges the run by an invariant of one's own as well, reported beside the built-in ones
    /// (in [`RunResult::verdicts`], so in every report and in failure signatures).
    pub fn checker(mut self, checker: impl Checker + 'static) -> Self {
        self.checkers.push(Box::new(checker));
        self
    }

    /// Keeps every trace record (for reports); otherwise only the fingerprint is kept.
    pub fn keep_trace(mut self, keep: bool) -> Self {
        self.keep_trace = keep;
        self
    }

    pub fn run(self) -> RunResult {
        let mut scenario = self.scenario.clone();
        if let Some(strategy) = self.strategy {
            for deploy in &mut scenario.deploys {
                deploy.strategy = strategy;
            }
        }
        let seed = self.seed.unwrap_or(scenario.run.seed);
        let strategies: Vec<SimStrategy> = scenario
            .deploys
            .iter()
            .map(|deploy| match &self.custom_strategy {
                Some(custom) => Rc::clone(custom),
                None => Rc::new(deploy.strategy) as SimStrategy,
            })
            .collect();
        let label = match &self.custom_strategy {
            Some(custom) => Some(Label::Custom(custom.name().to_string())),
            None => common_strategy(&scenario).map(Label::BuiltIn),
        };
        let applicable = strategies
            .iter()
            .fold(InvariantSet::EMPTY, |set, strategy| {
                set.union(strategy.invariants())
            });
        let setup = Setup {
            seed,
            keep_trace: self.keep_trace,
            limits: self.limits,
            strategies,
            checkers: self.checkers,
        };
        let mut runner = Runner::build(Rc::new(scenario), setup);
        // Not in serve mode (`ExternalRun`), where the deployer is outside the process.
        schedule_deploys(&mut runner.world.borrow_mut());
        runner.event_loop();
        runner.finish(label, applicable)
    }
}

/// What a run's strategy is called in its results: a built-in one also selects the scenario's
/// `[expect.strategies."<name>"]` entry; a user's own is judged by `[expect]`.
#[derive(Clone, Debug)]
enum Label {
    BuiltIn(StrategyName),
    Custom(String),
}

impl Label {
    fn name(&self) -> String {
        match self {
            Label::BuiltIn(name) => name.as_str().to_string(),
            Label::Custom(name) => name.clone(),
        }
    }

    fn built_in(&self) -> Option<StrategyName> {
        match self {
            Label::BuiltIn(name) => Some(*name),
            Label::Custom(_) => None,
        }
    }
}

/// A user's strategy and checkers for every run of a command that runs many (a fuzz campaign,
/// a sweep): applied to each run's [`Simulation`], on the thread that runs it (a strategy and
/// a checker need not be `Send`; their maker must be).
pub trait Extension: Send + Sync {
    /// Adds the strategy ([`Simulation::custom_strategy`]) and checkers
    /// ([`Simulation::checker`]) to one run.
    fn configure<'a>(&self, simulation: Simulation<'a>) -> Simulation<'a>;
}

/// What each run of a command that runs many (a sweep, a comparison) is run with besides its
/// scenario and seed: a built-in strategy in place of the scenario's own (None: the scenario's),
/// then a user's [`Extension`] (its strategy, if it has one, replaces either; its checkers join
/// the built-in ones).
#[derive(Clone, Copy, Default)]
pub struct RunWith<'a> {
    pub strategy: Option<StrategyName>,
    pub extension: Option<&'a dyn Extension>,
}

impl<'a> RunWith<'a> {
    /// A built-in strategy for every deploy.
    pub fn strategy(strategy: StrategyName) -> RunWith<'a> {
        RunWith {
            strategy: Some(strategy),
            extension: None,
        }
    }

    /// A user's strategy and checkers.
    pub fn extension(extension: &'a dyn Extension) -> RunWith<'a> {
        RunWith {
            strategy: None,
            extension: Some(extension),
        }
    }

    /// Applies both to one run.
    pub fn configure<'s>(&self, simulation: Simulation<'s>) -> Simulation<'s> {
        let simulation = match self.strategy {
            Some(strategy) => simulation.strategy(strategy),
            None => simulation,
        };
        match self.extension {
            Some(extension) => extension.configure(simulation),
            None => simulation,
        }
    }
}

/// A shared [`Extension`], for configurations that are compared and printed (equal when it is
/// the same one).
#[derive(Clone)]
pub struct SharedExtension(pub std::sync::Arc<dyn Extension>);

impl std::fmt::Debug for SharedExtension {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SharedExtension(..)")
    }
}

impl PartialEq for SharedExtension {
    fn eq(&self, other: &SharedExtension) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for SharedExtension {}

/// How a run is put together besides its scenario.
struct Setup {
    seed: u64,
    keep_trace: bool,
    limits: EngineLimits,
    /// Each deploy's strategy.
    strategies: Vec<SimStrategy>,
    /// A user's own invariants.
    checkers: Vec<Box<dyn Checker>>,
}

struct Runner {
    world: Rc<RefCell<World>>,
    /// The invariants, built-in and a user's, and the metrics: the world's observer.
    checkers: Rc<RefCell<Checkers>>,
    strategies: Vec<SimStrategy>,
    /// Each deploy's report, once it ended by itself (the world keeps only its outcome).
    reports: Rc<RefCell<Vec<Option<DeployReport>>>>,
    executor: Executor,
    clock: Rc<Clock>,
    events: u64,
    polls_without_time_max: u64,
}

impl Runner {
    fn build(scenario: Rc<Scenario>, setup: Setup) -> Runner {
        let Setup {
            seed,
            keep_trace,
            limits,
            strategies,
            checkers: custom,
        } = setup;
        assert_eq!(
            strategies.len(),
            scenario.deploys.len(),
            "a strategy per deploy"
        );
        let clock = Clock::new();
        let executor = Executor::new(Rc::clone(&clock), limits.tasks);
        let checkers = Rc::new(RefCell::new(Checkers::new(
            scenario.check,
            scenario.initial_machine_count(),
            scenario.proxy.regions.clone(),
            scenario.deploys.len(),
            custom,
        )));
        let mut observers = Observers::new();
        observers.add(Rc::clone(&checkers) as Rc<RefCell<dyn Observer>>);
        let pace_promises = (0..scenario.deploys.len())
            .map(|deploy| strategies[deploy].pace(&deploy_params(&scenario, deploy as u32)))
            .collect();
        let reports = Rc::new(RefCell::new(vec![None; scenario.deploys.len()]));
        let world = build_world(
            Rc::clone(&clock),
            scenario,
            (seed, keep_trace),
            limits,
            (observers, pace_promises),
        );
        Runner {
            world: Rc::new(RefCell::new(world)),
            checkers,
            strategies,
            reports,
            executor,
            clock,
            events: 0,
            polls_without_time_max: limits.polls_without_time,
        }
    }

    /// Next-event simulation: run ready tasks, then the earliest of (timer, event), until nothing
    /// is left or a limit is hit.
    fn event_loop(&mut self) {
        let ended = self.run_until(None);
        debug_assert!(ended, "without a horizon the loop runs to the end");
    }

    /// Runs events up to `horizon` (every event when None). Returns true when the run has ended
    /// (nothing left, the world is over, or a limit was hit); false when the next event lies
    /// after the horizon, where `fleetsim serve` waits for wall-clock time to catch up.
    fn run_until(&mut self, horizon: Option<SimTime>) -> bool {
        let (time_limit, event_limit) = {
            let world = self.world.borrow();
            (
                world.scenario.run.time_limit,
                world.scenario.run.event_limit,
            )
        };
        let time_limit_at = SimTime::from_duration(time_limit);
        loop {
            // Tasks run until quiet; actions they cause (a deploy starting, a kill) may wake more
            // tasks at this same instant, so run again until neither is left.
            let mut quiet = false;
            while !quiet {
                if let Err(error) = self.executor.run_ready(self.polls_without_time_max) {
                    self.hit(executor_limit(error));
                    break;
                }
                quiet = !self.run_actions();
            }
            if self.world.borrow().limit_hit.is_some() || self.world.borrow().is_over() {
                return true;
            }
            let next_timer = self.executor.next_timer();
            let next_event = self.world.borrow().queue.peek_key();
            let (key, is_timer) = match (next_timer, next_event) {
                (None, None) => return horizon.is_none(),
                (Some(timer), None) => (timer, true),
                (None, Some(event)) => (event, false),
                (Some(timer), Some(event)) => {
                    if timer < event {
                        (timer, true)
                    } else {
                        (event, false)
                    }
                }
            };
            if horizon.is_some_and(|horizon| key.time > horizon) {
                return false;
            }
            if key.time > time_limit_at {
                self.hit(LimitHit::Time { limit: time_limit });
                return true;
            }
            if self.events >= event_limit {
                self.hit(LimitHit::Events { limit: event_limit });
                return true;
            }
            self.events += 1;
            self.clock.advance_to(key.time);
            if is_timer {
                self.executor.fire_next_timer();
            } else {
                let mut world = self.world.borrow_mut();
                let (_, event) = world.queue.pop().expect("peeked");
                world.handle(event);
            }
        }
    }

    fn hit(&self, limit: LimitHit) {
        self.world.borrow_mut().limit_hit.get_or_insert(limit);
    }

    /// Actions the world asked for: they touch the executor, so they run outside its borrow.
    /// Returns whether there were any.
    fn run_actions(&mut self) -> bool {
        let mut any = false;
        loop {
            let actions = std::mem::take(&mut self.world.borrow_mut().actions);
            if actions.is_empty() {
                return any;
            }
            any = true;
            for action in actions {
                match action {
                    Action::StartDeploy(deploy) => self.start_deploy(deploy),
                    Action::KillDeploy(deploy) => {
                        self.executor.kill(ProcessId(deploy));
                    }
                    Action::PauseDeploy(deploy) => self.executor.pause(ProcessId(deploy)),
                    Action::ResumeDeploy(deploy) => self.executor.resume(ProcessId(deploy)),
                }
            }
        }
    }

    fn start_deploy(&mut self, deploy: u32) {
        let (params, seed, skew) = {
            let mut world = self.world.borrow_mut();
            world.deploy_started(deploy);
            let skew = world.scenario.deploys[deploy as usize].clock_skew_seconds;
            (deploy_params(&world.scenario, deploy), world.seed, skew)
        };
        let api = Rc::new(SimApi::new(Rc::clone(&self.world), deploy));
        let runtime = SimRuntime::new(
            Rc::clone(&self.world),
            self.executor.clone(),
            deploy,
            seed,
            skew,
        );
        let world = Rc::clone(&self.world);
        let reports = Rc::clone(&self.reports);
        let deploying = self.strategies[deploy as usize].deploy(api, runtime, params);
        self.executor.spawn(ProcessId(deploy), async move {
            let report = deploying.await;
            let outcome = report.outcome;
            reports.borrow_mut()[deploy as usize] = Some(report);
            world.borrow_mut().deploy_finished(deploy, outcome);
        });
    }

    fn finish(self, label: Option<Label>, applicable: InvariantSet) -> RunResult {
        let mut world = self.world.borrow_mut();
        let now = self.clock.now();
        let step = world.trace.count();
        let (leases, unconverged) = world.liveness_facts();
        let mut checkers = self.checkers.borrow_mut();
        let settled = SettledFacts {
            leases_held: leases,
            unconverged,
        };
        let (mut verdicts, custom_verdicts, metrics) =
            checkers.finish(now, step, settled, applicable);
        let coverage = checkers.fleet().coverage();
        let deploys = deploy_results(&world, &self.reports.borrow(), &self.strategies);
        let (mut expectations, expectations_not_applicable) = check_expectations(
            &world.scenario,
            label.as_ref().and_then(Label::built_in),
            &verdicts,
            &deploys,
            &world.limit_hit,
        );
        check_call_expectations(&world, &mut expectations);
        // A checker registered in code is expected to hold: that is why it was registered.
        expectations.extend(custom_verdicts.iter().map(|verdict| ExpectationCheck {
            expectation: format!("{} holds (a checker of one's own)", verdict.invariant),
            ok: !verdict.violated(),
            detail: violation_detail(verdict),
        }));
        verdicts.extend(custom_verdicts);
        let passed = expectations.iter().all(|check| check.ok);
        RunResult {
            scenario: world.scenario.name.clone(),
            strategy: label.as_ref().map(Label::name),
            path: world.scenario.path.display().to_string(),
            overrides: world.scenario.overrides.clone(),
            seed: world.seed,
            fingerprint: world.trace.fingerprint(),
            events: self.events,
            steps: world.trace.count(),
            end_time_ms: now.as_millis(),
            limit_hit: world.limit_hit.as_ref().map(ToString::to_string),
            limit_kind: world.limit_hit.as_ref().map(LimitHit::kind),
            deploys,
            verdicts,
            metrics,
            expectations,
            expectations_not_applicable,
            passed,
            coverage,
            trace_truncated_at: world.trace.truncated_at(),
            trace: std::mem::replace(&mut world.trace, Trace::new(false, 0)).into_records(),
            machine_ids: world
                .machines
                .iter()
                .map(|machine| machine.id.0.clone())
                .collect(),
            machines: machine_infos(&world),
            proxy_regions: world.scenario.proxy.regions.clone(),
            latency_histogram: checkers.fleet().latency_histogram().clone(),
            downtime_by_deployer: applicable
                .contains(Invariant::NoDowntime)
                .then(|| checkers.fleet().downtime_by_deployer())
                .flatten(),
        }
    }
}

/// Every machine's identity, region and image history, for reports.
fn machine_infos(world: &World) -> Vec<MachineInfo> {
    let mut infos: Vec<MachineInfo> = world
        .machines
        .iter()
        .map(|machine| MachineInfo {
            id: machine.id.0.clone(),
            region: world.regions[machine.region as usize].clone(),
            created_by: machine.created_by,
            initial_state: MachineState::Created,
            images: Vec::new(),
        })
        .collect();
    let mut index = 0;
    for group in &world.scenario.fleet {
        for _ in 0..group.count {
            if let Some(info) = infos.get_mut(index) {
                info.initial_state = group.state;
            }
            index += 1;
        }
    }
    for (time, machine, image) in &world.image_log {
        infos[*machine as usize].images.push((*time, image.clone()));
    }
    infos
}

/// The parameters of a scenario's deploy: flyctl's defaults for its strategy, then the
/// scenario's settings.
pub fn deploy_params(scenario: &Scenario, deploy: u32) -> DeployParams {
    let spec = &scenario.deploys[deploy as usize];
    let mut params = DeployParams::new(&scenario.app.name, &spec.image, spec.strategy);
    params.wait_timeout = spec.wait_timeout;
    params.lease_ttl = spec.lease_ttl;
    if let Some(max_concurrent) = spec.max_concurrent {
        params.max_concurrent = max_concurrent;
    }
    if let Some(max_unavailable) = spec.max_unavailable {
        params.max_unavailable = max_unavailable;
    }
    params.signal = spec.signal.clone();
    params.settings = spec.settings;
    params.release_version = deploy + 2;
    params
}

/// The strategy every deploy of the scenario uses, if they agree.
/// The strategy every deploy of the scenario uses (None: they differ, or there is none).
pub fn common_strategy(scenario: &Scenario) -> Option<StrategyName> {
    let first = scenario.deploys.first()?.strategy;
    scenario
        .deploys
        .iter()
        .all(|deploy| deploy.strategy == first)
        .then_some(first)
}

fn executor_limit(error: ExecutorError) -> LimitHit {
    match error {
        ExecutorError::TooManyTasks { tasks_max } => LimitHit::Tasks { limit: tasks_max },
        ExecutorError::Livelock { polls_max } => LimitHit::Livelock { polls: polls_max },
    }
}

/// Builds the world at virtual time zero, converged: proxies know the initial fleet.
fn build_world(
    clock: Rc<Clock>,
    scenario: Rc<Scenario>,
    (seed, keep_trace): (u64, bool),
    limits: EngineLimits,
    (observers, pace_promises): (Observers, Vec<PacePromise>),
) -> World {
    let regions = all_regions(&scenario);
    let proxies: Vec<Proxy> = scenario
        .proxy
        .regions
        .iter()
        .map(|region| {
            let index = regions
                .iter()
                .position(|known| known == region)
                .expect("known region");
            Proxy::new(index as u32)
        })
        .collect();
    let initial = scenario.initial_machine_count();
    let mut world = World {
        queue: EventQueue::new(Rc::clone(&clock), limits.queue_capacity),
        clock,
        trace: Trace::new(keep_trace, limits.trace_steps_kept),
        observers,
        streams: Streams::new(seed),
        faults: FaultPlan::new(scenario.faults.clone()),
        machines: Vec::new(),
        machine_ids: MachineIds::default(),
        traffic: Traffic::new(proxies.len(), limits.requests),
        proxies,
        regions,
        calls: CallTable::default(),
        call_log: Default::default(),
        deploys: vec![DeployState::default(); scenario.deploys.len()],
        pace_promises,
        actions: Vec::new(),
        limit_hit: None,
        epoch_unix_seconds: EPOCH_UNIX_SECONDS,
        seed,
        initial_machine_count: initial,
        setting_up: true,
        autostart_pool: Vec::new(),
        image_log: Vec::new(),
        scenario: Rc::clone(&scenario),
    };
    world.autostart_pool = vec![Default::default(); world.regions.len()];
    create_initial_fleet(&mut world);
    world.install_faults();
    world.setting_up = false;
    configure_traffic(&mut world);
    world.start_traffic();
    world
}

/// Every region with a proxy or a machine, sorted.
fn all_regions(scenario: &Scenario) -> Vec<String> {
    let mut regions: Vec<String> = scenario.proxy.regions.clone();
    regions.extend(scenario.fleet.iter().map(|group| group.region.clone()));
    regions.sort();
    regions.dedup();
    regions
}

fn create_initial_fleet(world: &mut World) {
    let scenario = Rc::clone(&world.scenario);
    for group in &scenario.fleet {
        let region = world
            .region_index(&group.region)
            .expect("fleet region is known");
        for _ in 0..group.count {
            let config = initial_config(&scenario, group);
            let created = world.create_machine(NewMachine {
                region,
                config,
                state: group.state,
                cordoned: false,
                created_by: None,
            });
            if let Some(machine) = created {
                world.settle_initial_machine(machine);
            }
        }
    }
}

/// The config of an initial machine: the app's image and checks, release metadata.
fn initial_config(scenario: &Scenario, group: &crate::scenario::FleetGroup) -> MachineConfig {
    let mut metadata = BTreeMap::new();
    // F15: a detached machine lacks the platform-version marker, so deploys do not manage it.
    if !group.detached {
        metadata.insert("fly_platform_version".to_string(), "v2".to_string());
    }
    metadata.insert("fly_process_group".to_string(), group.process_group.clone());
    metadata.insert("fly_release_version".to_string(), "1".to_string());
    metadata.extend(group.metadata.clone());
    let checks: BTreeMap<String, CheckConfig> = if group.checks {
        scenario
            .app
            .checks
            .iter()
            .map(|check| (check.name.clone(), check.clone()))
            .collect()
    } else {
        BTreeMap::new()
    };
    let services = initial_services(scenario, group);
    MachineConfig {
        image: group
            .image
            .clone()
            .unwrap_or_else(|| scenario.app.image.clone()),
        metadata,
        checks,
        services,
        restart_policy: RestartPolicy::Always,
        standbys: Vec::new(),
        kill_signal: Some("SIGINT".to_string()),
        kill_timeout: Some(scenario.machine.kill_timeout),
    }
}

/// The app's services on a machine of `group`: without their checks when the group says
/// `checks = false`; auto-stopping and auto-starting (F14) when it says `autostop`. An autostop
/// group of an app without services gets one TCP service on 8080 (as before services could be
/// written).
fn initial_services(
    scenario: &Scenario,
    group: &crate::scenario::FleetGroup,
) -> Vec<crate::api::ServiceConfig> {
    let mut services = scenario.app.services.clone();
    if services.is_empty() && group.autostop {
        services.push(crate::api::ServiceConfig {
            internal_port: 8080,
            protocol: "tcp".to_string(),
            autostop: false,
            autostart: false,
            checks: Vec::new(),
        });
    }
    for service in &mut services {
        if !group.checks {
            service.checks.clear();
        }
        service.autostop = group.autostop;
        service.autostart = group.autostop;
    }
    services
}

fn configure_traffic(world: &mut World) {
    let scenario = Rc::clone(&world.scenario);
    for region_traffic in &scenario.traffic.regions {
        let Some(proxy) = scenario
            .proxy
            .regions
            .iter()
            .position(|region| *region == region_traffic.region)
        else {
            continue;
        };
        // Validation keeps the rate within `ranges::RATE_PER_SECOND_MIN..=MAX`; a hand-built
        // scenario whose mean gap does not fit a `Duration` sends no request, as it would not
        // within any run.
        let mean = std::time::Duration::try_from_secs_f64(1.0 / region_traffic.rate_per_second);
        world.traffic.interarrival_mean[proxy] = mean.ok();
    }
}

fn schedule_deploys(world: &mut World) {
    let starts: Vec<DeployStart> = world
        .scenario
        .deploys
        .iter()
        .map(|spec| spec.start)
        .collect();
    for (index, start) in starts.into_iter().enumerate() {
        let deploy = index as u32;
        match start {
            DeployStart::At(time) => world.schedule(
                SimTime::from_duration(time),
                crate::platform::Event::DeployStarts { deploy },
            ),
            DeployStart::AfterPrevious(gap) if index == 0 => world.schedule(
                SimTime::from_duration(gap),
                crate::platform::Event::DeployStarts { deploy },
            ),
            DeployStart::AfterPrevious(_) => {} // scheduled when the previous one ends
        }
    }
}

/// A run whose deployer is outside the process (`fleetsim serve`): the world is built as for
/// [`Simulation::run`] but no deploy is scheduled; its owner makes calls as client 0 (the
/// scenario's first deploy) and advances virtual time with [`ExternalRun::run_until`].
pub struct ExternalRun {
    runner: Runner,
    strategy: Option<StrategyName>,
}

impl ExternalRun {
    /// `scenario` should have one deploy: the external deployer's (its image, strategy and time
    /// bound are the ones judged).
    pub fn new(scenario: &Scenario, seed: Option<u64>) -> ExternalRun {
        assert_eq!(scenario.deploys.len(), 1, "one external deployer");
        let seed = seed.unwrap_or(scenario.run.seed);
        let strategy = common_strategy(scenario);
        let setup = Setup {
            seed,
            keep_trace: true,
            limits: EngineLimits::DEFAULT,
            strategies: vec![Rc::new(scenario.deploys[0].strategy) as SimStrategy],
            checkers: Vec::new(),
        };
        let runner = Runner::build(Rc::new(scenario.clone()), setup);
        ExternalRun { runner, strategy }
    }

    pub fn world(&self) -> &Rc<RefCell<World>> {
        &self.runner.world
    }

    /// The built-in checkers, for a look at what they found so far.
    pub fn checkers(&self) -> std::cell::Ref<'_, Checkers> {
        self.runner.checkers.borrow()
    }

    /// The external deployer's deploy ended with `report` (unless it timed out already).
    pub fn deploy_finished(&self, deploy: u32, report: DeployReport) {
        let outcome = report.outcome;
        self.runner.reports.borrow_mut()[deploy as usize] = Some(report);
        self.runner
            .world
            .borrow_mut()
            .deploy_finished(deploy, outcome);
    }

    pub fn now(&self) -> SimTime {
        self.runner.clock.now()
    }

    /// When the next event or timer is due, if any.
    pub fn next_time(&self) -> Option<SimTime> {
        let timer = self.runner.executor.next_timer().map(|key| key.time);
        let event = self
            .runner
            .world
            .borrow()
            .queue
            .peek_key()
            .map(|key| key.time);
        timer.into_iter().chain(event).min()
    }

    /// Runs every event up to `horizon` and moves the clock there (calls made next happen at
    /// the horizon). Returns true when the run has ended.
    pub fn run_until(&mut self, horizon: SimTime) -> bool {
        let ended = self.runner.run_until(Some(horizon));
        if !ended && self.runner.clock.now() < horizon {
            self.runner.clock.advance_to(horizon);
        }
        ended
    }

    /// Ends the run: the rest (the settle period once the deployer is done) runs at once on
    /// virtual time, then every invariant in `applicable` is judged.
    pub fn finish(mut self, applicable: InvariantSet) -> RunResult {
        self.runner.event_loop();
        let label = self.strategy.map(Label::BuiltIn);
        self.runner.finish(label, applicable)
    }
}

/// One deploy's result.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DeployResult {
    pub index: u32,
    pub strategy: String,
    pub image: String,
    /// succeeded, rolled-back, failed, rollback-failed, killed, timed-out or not-started.
    pub outcome: String,
    /// flyctl's exit status (None when it never exited: killed, timed out, not started).
    pub exit_status: Option<i32>,
    pub error: Option<String>,
    pub started_ms: Option<u64>,
    pub ended_ms: Option<u64>,
    pub greens: Vec<String>,
    pub hanging: Vec<String>,
    /// The deploy's progress output: (virtual time in ms, line).
    pub output: Vec<(u64, String)>,
}

fn deploy_results(
    world: &World,
    reports: &[Option<DeployReport>],
    strategies: &[SimStrategy],
) -> Vec<DeployResult> {
    world
        .deploys
        .iter()
        .enumerate()
        .map(|(index, state)| {
            let spec = &world.scenario.deploys[index];
            let report = reports[index].as_ref();
            let outcome = if state.timed_out {
                "timed-out".to_string()
            } else if state.killed {
                "killed".to_string()
            } else if let Some(report) = report {
                report.outcome.as_str().to_string()
            } else if state.started_at.is_some() {
                "unfinished".to_string()
            } else {
                "not-started".to_string()
            };
            DeployResult {
                index: index as u32,
                strategy: strategies[index].name().to_string(),
                image: spec.image.clone(),
                outcome,
                exit_status: report.map(|report| report.exit_status),
                error: report.and_then(|report| report.error.clone()),
                started_ms: state.started_at.map(SimTime::as_millis),
                ended_ms: state.ended_at.map(SimTime::as_millis),
                greens: report
                    .map(|report| report.greens.iter().map(|id| id.0.clone()).collect())
                    .unwrap_or_default(),
                hanging: report
                    .map(|report| report.hanging.iter().map(|id| id.0.clone()).collect())
                    .unwrap_or_default(),
                output: state
                    .output
                    .iter()
                    .map(|(time, line)| (time.as_millis(), line.clone()))
                    .collect(),
            }
        })
        .collect()
}

/// One expectation of the scenario and whether it held.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ExpectationCheck {
    pub expectation: String,
    pub ok: bool,
    pub detail: String,
}

/// The expectations that apply to a run with `strategy`: the scenario's `[expect]`, or its
/// `[expect.strategies."<strategy>"]` entry when it has one.
struct Applicable<'a> {
    hold: &'a [Invariant],
    hold_explicit: bool,
    violate: &'a [Invariant],
    exit_status: Option<i32>,
    /// Per deploy (None: nothing expected of it).
    outcomes: Vec<Option<crate::deploy::DeployOutcome>>,
    /// Whether the deploys' own `expect_error` apply (not when a strategy entry replaces them).
    deploy_errors: bool,
}

fn applicable(scenario: &Scenario, strategy: Option<StrategyName>) -> Applicable<'_> {
    let entry = strategy.and_then(|strategy| scenario.expect.by_strategy.get(&strategy));
    match entry {
        Some(entry) => Applicable {
            hold: &entry.hold,
            hold_explicit: entry.hold_explicit,
            violate: &entry.violate,
            exit_status: entry.exit_status,
            outcomes: if entry.outcomes.is_empty() {
                vec![None; scenario.deploys.len()]
            } else {
                entry.outcomes.clone()
            },
            deploy_errors: false,
        },
        None => Applicable {
            hold: &scenario.expect.hold,
            hold_explicit: scenario.expect.hold_explicit,
            violate: &scenario.expect.violate,
            exit_status: scenario.expect.exit_status,
            outcomes: scenario
                .deploys
                .iter()
                .map(|spec| spec.expect_outcome)
                .collect(),
            deploy_errors: true,
        },
    }
}

/// The expectations checked, and those not judged because their invariant does not apply to the
/// run's strategies (an invariant expected to hold that is `n/a`; one expected to be violated
/// that cannot be fails, since the run cannot show it).
fn check_expectations(
    scenario: &Scenario,
    strategy: Option<StrategyName>,
    verdicts: &[Verdict],
    deploys: &[DeployResult],
    limit_hit: &Option<LimitHit>,
) -> (Vec<ExpectationCheck>, Vec<String>) {
    let expected = applicable(scenario, strategy);
    let mut checks = Vec::new();
    if let Some(limit) = limit_hit {
        checks.push(ExpectationCheck {
            expectation: "the run completes within its limits".to_string(),
            ok: false,
            detail: limit.to_string(),
        });
    }
    let verdict = |invariant: Invariant| {
        verdicts
            .iter()
            .find(|verdict| verdict.invariant == invariant.as_str())
            .expect("a verdict per invariant")
    };
    let mut not_applicable = Vec::new();
    for invariant in expected.hold {
        let verdict = verdict(*invariant);
        if !verdict.applies() {
            // A default `hold` means "every invariant that applies"; only a written one is
            // reported as not judged.
            if expected.hold_explicit {
                not_applicable.push(format!("{invariant} holds"));
            }
            continue;
        }
        checks.push(ExpectationCheck {
            expectation: format!("{invariant} holds"),
            ok: verdict.held(),
            detail: violation_detail(verdict),
        });
    }
    for invariant in expected.violate {
        let verdict = verdict(*invariant);
        checks.push(ExpectationCheck {
            expectation: format!("{invariant} is violated"),
            ok: verdict.violated(),
            detail: if verdict.violated() {
                violation_detail(verdict)
            } else if verdict.applies() {
                "no violation seen".to_string()
            } else {
                "n/a: the invariant does not apply to the run's strategies".to_string()
            },
        });
    }
    check_deploy_expectations(scenario, &expected, deploys, &mut checks);
    check_output_expectations(scenario, deploys, &mut checks);
    (checks, not_applicable)
}

fn violation_detail(verdict: &Verdict) -> String {
    match &verdict.first_violation {
        Some(violation) => format!(
            "first violated at {}: {}",
            SimTime::from_micros(violation.time_ms * 1_000),
            violation.detail
        ),
        None => String::new(),
    }
}

fn check_deploy_expectations(
    scenario: &Scenario,
    applicable: &Applicable,
    deploys: &[DeployResult],
    checks: &mut Vec<ExpectationCheck>,
) {
    for ((spec, result), outcome) in scenario
        .deploys
        .iter()
        .zip(deploys)
        .zip(&applicable.outcomes)
    {
        if let Some(expected) = outcome {
            checks.push(ExpectationCheck {
                expectation: format!("deploy {} {}", result.index, expected.as_str()),
                ok: result.outcome == expected.as_str(),
                detail: format!("outcome: {}", result.outcome),
            });
        }
        if let Some(expected) = spec
            .expect_error
            .as_ref()
            .filter(|_| applicable.deploy_errors)
        {
            let error = result.error.clone().unwrap_or_default();
            checks.push(ExpectationCheck {
                expectation: format!("deploy {} error contains \"{expected}\"", result.index),
                ok: error.contains(expected.as_str()),
                detail: format!("error: {}", if error.is_empty() { "none" } else { &error }),
            });
        }
    }
    if let Some(expected) = applicable.exit_status {
        let actual = deploys.last().and_then(|deploy| deploy.exit_status);
        checks.push(ExpectationCheck {
            expectation: format!("flyctl exits with status {expected}"),
            ok: actual == Some(expected),
            detail: match actual {
                Some(status) => format!("exit status {status}"),
                None => "the last deploy never exited".to_string(),
            },
        });
    }
}

/// `output_contains`: each expected text is a substring of some output line, in order.
/// `output_not_contains`: no output line contains the text.
fn check_output_expectations(
    scenario: &Scenario,
    deploys: &[DeployResult],
    checks: &mut Vec<ExpectationCheck>,
) {
    let lines: Vec<&str> = deploys
        .iter()
        .flat_map(|deploy| deploy.output.iter().map(|(_, line)| line.as_str()))
        .collect();
    let mut position = 0;
    for expected in &scenario.expect.output_contains {
        let found = lines[position..]
            .iter()
            .position(|line| line.contains(expected.as_str()));
        if let Some(offset) = found {
            position += offset + 1;
        }
        checks.push(ExpectationCheck {
            expectation: format!("output contains \"{expected}\""),
            ok: found.is_some(),
            detail: if found.is_some() {
                String::new()
            } else {
                "not found (in order) in the deploy output".to_string()
            },
        });
    }
    for unwanted in &scenario.expect.output_not_contains {
        let found = lines.iter().find(|line| line.contains(unwanted.as_str()));
        checks.push(ExpectationCheck {
            expectation: format!("output does not contain \"{unwanted}\""),
            ok: found.is_none(),
            detail: found.map_or(String::new(), |line| format!("printed: {line}")),
        });
    }
}

/// `calls.<operation>` and `[[expect.machines]]`, from the call log and the machines at the end of
/// the run.
fn check_call_expectations(world: &World, checks: &mut Vec<ExpectationCheck>) {
    let expect = &world.scenario.expect;
    for (operation, range) in &expect.calls {
        let made = world.call_log.count(*operation);
        checks.push(ExpectationCheck {
            expectation: format!("{} call(s) of {}", range, operation.as_str()),
            ok: range.contains(made),
            detail: format!("{made} made"),
        });
    }
    for entry in &expect.machines {
        let name = crate::scenario::writer::target(entry.target);
        let machine = world.resolve_target(entry.target).first().copied();
        let Some(machine) = machine else {
            checks.push(ExpectationCheck {
                expectation: format!("{name} exists"),
                ok: false,
                detail: "no such machine was created".to_string(),
            });
            continue;
        };
        for check in machine_facts(world, machine, entry) {
            checks.push(ExpectationCheck {
                expectation: format!("{name}: {}", check.expectation),
                ..check
            });
        }
    }
}

/// The facts one `[[expect.machines]]` entry asks about `machine`.
fn machine_facts(
    world: &World,
    machine: crate::platform::MachineIndex,
    entry: &crate::scenario::MachineExpectation,
) -> Vec<ExpectationCheck> {
    let log = &world.call_log;
    let mut checks = Vec::new();
    for (operation, range) in &entry.calls {
        let made = log.count_on(*operation, machine);
        checks.push(ExpectationCheck {
            expectation: format!("{} call(s) of {}", range, operation.as_str()),
            ok: range.contains(made),
            detail: format!("{made} made"),
        });
    }
    if let Some(launched) = entry.launched {
        let actual = log
            .skip_launch_of(machine)
            .map(|skip| if skip { "stopped" } else { "started" });
        checks.push(ExpectationCheck {
            expectation: format!("launched {}", launched.as_str()),
            ok: actual == Some(launched.as_str()),
            detail: format!("launched {}", actual.unwrap_or("by no deployer")),
        });
    }
    let destroys = log.destroys_of(machine);
    let every = |wanted: bool, flag: fn(&crate::platform::call_log::DestroyCall) -> bool| {
        !destroys.is_empty() && destroys.iter().all(|call| flag(call) == wanted)
    };
    let described = || {
        let calls: Vec<String> = destroys
            .iter()
            .map(|call| format!("kill={} nonce={}", call.kill, call.nonce))
            .collect();
        if calls.is_empty() {
            "no destroy call".to_string()
        } else {
            format!("destroy calls: {}", calls.join(", "))
        }
    };
    if let Some(kill) = entry.destroy_kill {
        checks.push(ExpectationCheck {
            expectation: format!("destroyed {} kill", if kill { "with" } else { "without" }),
            ok: every(kill, |call| call.kill),
            detail: described(),
        });
    }
    if let Some(nonce) = entry.destroy_nonce {
        checks.push(ExpectationCheck {
            expectation: format!(
                "destroyed {} a lease nonce",
                if nonce { "with" } else { "without" }
            ),
            ok: every(nonce, |call| call.nonce),
            detail: described(),
        });
    }
    if let Some(state) = entry.state {
        let actual = world.machines[machine as usize].state;
        checks.push(ExpectationCheck {
            expectation: format!("ends {state}"),
            ok: actual == state,
            detail: format!("ends {actual}"),
        });
    }
    checks
}

/// Everything a run produced.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RunResult {
    pub scenario: String,
    /// The strategy every deploy ran with (None: the scenario mixes strategies).
    pub strategy: Option<String>,
    pub path: String,
    /// The `--set` overrides the scenario ran with.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
    pub seed: u64,
    #[serde(serialize_with = "serialize_fingerprint")]
    pub fingerprint: Fingerprint,
    pub events: u64,
    pub steps: u64,
    pub end_time_ms: u64,
    pub limit_hit: Option<String>,
    /// The kind of that limit (`LimitHit::kind`).
    #[serde(skip)]
    pub limit_kind: Option<&'static str>,
    pub deploys: Vec<DeployResult>,
    pub verdicts: Vec<Verdict>,
    pub metrics: Metrics,
    pub expectations: Vec<ExpectationCheck>,
    /// Expectations not judged: invariants expected to hold that do not apply to the run's
    /// strategies (`drain-order holds` in a rolling run).
    pub expectations_not_applicable: Vec<String>,
    pub passed: bool,
    /// Rare situations the run reached (reported, never a failure).
    pub coverage: BTreeMap<String, u64>,
    #[serde(skip)]
    pub trace: Vec<Record<Step>>,
    /// When the trace kept for reports stopped (the time of the first step not kept, because of
    /// [`EngineLimits::trace_steps_kept`]); None: every step was kept, or none was meant to be.
    #[serde(skip)]
    pub trace_truncated_at: Option<SimTime>,
    #[serde(skip)]
    pub machine_ids: Vec<String>,
    /// Per machine (by trace index): id, region, image history.
    #[serde(skip)]
    pub machines: Vec<MachineInfo>,
    /// The first outage or failed request a deployer caused: `no-downtime` under its
    /// attribution rule (the fuzz property's; `check::Fleet::downtime_by_deployer`).
    #[serde(skip)]
    pub downtime_by_deployer: Option<crate::check::Violation>,
    /// The region of each proxy, by proxy index.
    #[serde(skip)]
    pub proxy_regions: Vec<String>,
    /// Latency of the successful requests, in microseconds (the summary's percentiles come from it).
    #[serde(skip)]
    pub latency_histogram: hdrhistogram::Histogram<u64>,
}

impl RunResult {
    /// The signature of the run's failure of `judged` (see `check::signature`), if it failed.
    pub fn signature(&self, judged: &[Invariant]) -> Option<crate::check::Signature> {
        crate::check::Signature::of(&self.verdicts, self.limit_kind, judged)
    }
}

/// A machine as reports name it.
#[derive(Clone, Debug, PartialEq)]
pub struct MachineInfo {
    pub id: String,
    pub region: String,
    /// The deployer that launched it (None: the initial fleet).
    pub created_by: Option<u32>,
    /// Its state when created (the trace records only changes after that).
    pub initial_state: MachineState,
    /// Its image from creation on, and after each in-place update: (since, image).
    pub images: Vec<(SimTime, String)>,
}

fn serialize_fingerprint<S: serde::Serializer>(
    fingerprint: &Fingerprint,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&fingerprint.to_string())
}

/// `fleetsim init`'s scenario: the template, run once; when the strategy does not succeed with
/// every invariant held even in this healthy deploy (a historic bluegreen, `immediate`), the
/// expectations say what the run showed, so the file passes as written. Err: a template that
/// does not load or pass, which is a bug of the template.
pub fn init_scenario(template: &crate::scenario::Template) -> Result<String, String> {
    let path = std::path::Path::new("init.toml");
    let run = |text: &str| -> Result<RunResult, String> {
        let scenario = crate::scenario::parse(path, text).map_err(|error| error.to_string())?;
        Ok(Simulation::new(&scenario).run())
    };
    let hopeful = template.to_toml(None);
    let result = run(&hopeful)?;
    if result.passed {
        return Ok(hopeful);
    }
    let deploy = result
        .deploys
        .first()
        .ok_or("the template's run has no deploy")?;
    let observed = crate::scenario::Observed {
        violated: result
            .verdicts
            .iter()
            .filter(|verdict| verdict.violated())
            .map(|verdict| verdict.invariant.clone())
            .collect(),
        outcome: deploy.outcome.clone(),
        exit_status: deploy.exit_status,
    };
    let text = template.to_toml(Some(&observed));
    match run(&text)?.passed {
        true => Ok(text),
        false => Err(format!(
            "the scenario `fleetsim init` writes for {} does not pass its own expectations",
            template.strategy
        )),
    }
}
