//! The rival strategies of reference §9 (rolling, canary, immediate): on the MemoryApi with a
//! paused tokio clock, and whole runs on the simulator.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::{deploy_with, fleet, params, TokioRuntime, NEW_IMAGE, OLD_IMAGE};
use fleetsim::api::memory::{MemoryApi, Op};
use fleetsim::api::{ApiError, MachineId, MachineState};
use fleetsim::deploy::{DeployOutcome, DeployParams, StrategyName};
use fleetsim::platform::{DeployStep, MachineIndex, Step};
use fleetsim::scenario::Operation;
use fleetsim::sim::{RunResult, Simulation};

fn rival_params(strategy: StrategyName, max_unavailable: f64) -> DeployParams {
    let mut params = params();
    params.strategy = strategy;
    params.max_unavailable = max_unavailable;
    params
}

/// Index in the call log of every call of `op` on `machine`.
fn call_indices(api: &MemoryApi, op: Op, machine: &MachineId) -> Vec<usize> {
    api.calls()
        .iter()
        .enumerate()
        .filter(|(_, call)| call.op == op && call.machine.as_ref() == Some(machine))
        .map(|(index, _)| index)
        .collect()
}

fn updated_machines(api: &MemoryApi) -> Vec<MachineId> {
    api.calls_of(Op::Update)
        .into_iter()
        .map(|call| call.machine.expect("update names its machine"))
        .collect()
}

// Guards the default: DeployParams::new keeps flyctl's max_unavailable of 0.33.
#[test]
fn max_unavailable_defaults_to_a_third() {
    let params = DeployParams::new("app", "image", StrategyName::Rolling);
    assert_eq!(params.max_unavailable, 0.33);
}

// Guards the spearhead: the first machine is updated and fully checked alone before the pool
// starts, and the pool then runs max_unavailable machines at once, in machine-ID order.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn rolling_updates_a_spearhead_alone_then_the_rest_in_pools() {
    let api = fleet(7);
    let runtime = TokioRuntime::new();
    let report = deploy_with(&api, &runtime, rival_params(StrategyName::Rolling, 3.0)).await;
    assert_eq!(
        report.outcome,
        DeployOutcome::Succeeded,
        "{:?}",
        report.error
    );
    let ids: Vec<MachineId> = (1..=7).map(MemoryApi::fleet_id).collect();
    assert_eq!(updated_machines(&api), ids, "one update each, in ID order");

    let first_update = |id: &MachineId| call_indices(&api, Op::Update, id)[0];
    let last_get = |id: &MachineId| *call_indices(&api, Op::Get, id).last().expect("polled");
    // Spearhead: nothing else is touched until its smoke and health checks are over.
    assert!(first_update(&ids[1]) > last_get(&ids[0]));
    // Pool of 3: b2, b3 and b4 are in flight together (b4 starts before b2 is done) …
    assert!(first_update(&ids[3]) < last_get(&ids[1]));
    // … but b5 waits for one of them to finish.
    let first_done = [1, 2, 3]
        .map(|index| last_get(&ids[index]))
        .into_iter()
        .min();
    assert!(first_update(&ids[4]) > first_done.expect("three machines"));
    for machine in api.alive() {
        assert_eq!(machine.config.image, NEW_IMAGE);
        assert_eq!(machine.state, MachineState::Started);
    }
    assert!(runtime.printed("Updating existing machines in 'cherrypicker' with rolling strategy"));
    assert!(runtime.printed("Deployment Complete"));
}

// Guards "a pool cancels remaining tasks on the first error" and "no rollback": after a failed
// update no later machine is updated, nothing is launched, stopped or destroyed, exit status 1.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn rolling_stops_at_the_first_failed_update_without_rollback() {
    let api = fleet(6);
    api.fail_nth(Op::Update, 3, ApiError::status(500, "internal error"));
    let runtime = TokioRuntime::new();
    // max_unavailable 1: the spearhead, then a pool of one.
    let report = deploy_with(&api, &runtime, rival_params(StrategyName::Rolling, 1.0)).await;
    assert_eq!(report.outcome, DeployOutcome::Failed);
    assert_eq!(report.exit_status, 1);
    assert!(report
        .error
        .as_deref()
        .unwrap_or("")
        .contains("internal error"));
    let ids: Vec<MachineId> = (1..=6).map(MemoryApi::fleet_id).collect();
    assert_eq!(
        updated_machines(&api),
        ids[..3].to_vec(),
        "b4..b6 never updated"
    );
    for op in [Op::Launch, Op::Stop, Op::Destroy, Op::Cordon] {
        assert!(api.calls_of(op).is_empty(), "no rollback: no {op:?}");
    }
    let images: Vec<String> = api.alive().into_iter().map(|m| m.config.image).collect();
    assert_eq!(images[..2], [NEW_IMAGE, NEW_IMAGE]);
    assert_eq!(images[2..], [OLD_IMAGE; 4]);
    // Every lease is released even though the deploy failed.
    assert!(ids.iter().all(|id| api.lease_owner(id).is_none()));
    assert!(runtime.printed_containing("Error: failed to update machine"));
    assert!(!runtime.printed("Deployment Complete"));
}

// Guards the cancellation of a pool wider than one: a failure among the in-flight machines
// stops the machines still queued.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn rolling_pool_of_three_cancels_its_queue_on_a_failure() {
    let api = fleet(8);
    // The spearhead is update 1; the pool's first three are updates 2..=4; the third of them fails.
    api.fail_nth(Op::Update, 4, ApiError::status(422, "invalid config"));
    let runtime = TokioRuntime::new();
    let report = deploy_with(&api, &runtime, rival_params(StrategyName::Rolling, 0.33)).await;
    assert_eq!(report.outcome, DeployOutcome::Failed);
    let updated = updated_machines(&api);
    assert_eq!(
        updated,
        (1..=4).map(MemoryApi::fleet_id).collect::<Vec<_>>()
    );
}

// Guards the cold sub-pool: stopped machines are updated with skip_launch, stay stopped and are
// never waited on, while the started ones roll.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn rolling_updates_stopped_machines_without_starting_them() {
    let api = fleet(4);
    let cold = MemoryApi::fleet_id(4);
    api.modify(&cold, |machine| machine.state = MachineState::Stopped);
    let runtime = TokioRuntime::new();
    let report = deploy_with(&api, &runtime, rival_params(StrategyName::Rolling, 0.33)).await;
    assert_eq!(
        report.outcome,
        DeployOutcome::Succeeded,
        "{:?}",
        report.error
    );
    assert_eq!(api.state_of(&cold), Some(MachineState::Stopped));
    assert!(call_indices(&api, Op::Wait, &cold).is_empty());
    assert!(call_indices(&api, Op::Get, &cold).is_empty());
    assert!(api
        .alive()
        .iter()
        .all(|machine| machine.config.image == NEW_IMAGE));
}

// Guards immediate's "no waits": every machine gets one update with the new image and the
// deploy never waits for state, smoke or health (no wait or get calls, no sleeps).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn immediate_updates_every_machine_without_waiting() {
    let api = fleet(10);
    let runtime = TokioRuntime::new();
    let report = deploy_with(&api, &runtime, rival_params(StrategyName::Immediate, 0.33)).await;
    assert_eq!(
        report.outcome,
        DeployOutcome::Succeeded,
        "{:?}",
        report.error
    );
    let mut updated = updated_machines(&api);
    updated.sort();
    assert_eq!(
        updated,
        (1..=10).map(MemoryApi::fleet_id).collect::<Vec<_>>()
    );
    assert!(api.calls_of(Op::Update).iter().all(|call| call.nonce));
    assert!(api.calls_of(Op::Wait).is_empty());
    assert!(api.calls_of(Op::Get).is_empty());
    assert!(api
        .alive()
        .iter()
        .all(|machine| machine.config.image == NEW_IMAGE));
    // The only sleeps are the lease refresh loops' (4 s ± 20 ms): the deploy itself never waits.
    let refresh = Duration::from_millis(3980)..=Duration::from_millis(4020);
    assert!(runtime.sleeps().iter().all(|sleep| refresh.contains(sleep)));
}

// Guards canary's lifecycle: one extra machine tagged fly_canary=true, tested, destroyed before
// any existing machine is updated, then a rolling update of the rest.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn canary_is_launched_tested_and_destroyed_before_rolling() {
    let api = fleet(4);
    let runtime = TokioRuntime::new();
    let report = deploy_with(&api, &runtime, rival_params(StrategyName::Canary, 0.33)).await;
    assert_eq!(
        report.outcome,
        DeployOutcome::Succeeded,
        "{:?}",
        report.error
    );
    let canary = MemoryApi::launched_id(1);
    assert_eq!(report.greens, vec![canary.clone()]);
    assert_eq!(api.calls_of(Op::Launch).len(), 1);
    let machine = api
        .machines()
        .into_iter()
        .find(|machine| machine.id == canary)
        .expect("canary launched");
    assert_eq!(machine.state, MachineState::Destroyed);
    assert_eq!(machine.metadata("fly_canary"), Some("true"));
    assert_eq!(machine.config.image, NEW_IMAGE);
    let destroyed_at = call_indices(&api, Op::Destroy, &canary)[0];
    let first_update = api
        .calls()
        .iter()
        .position(|call| call.op == Op::Update)
        .expect("rolling ran");
    assert!(destroyed_at < first_update);
    assert_eq!(api.alive().len(), 4);
    assert!(api
        .alive()
        .iter()
        .all(|machine| machine.config.image == NEW_IMAGE));
}

// Guards "a failed canary is left in place" and that rolling never starts after it.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn failed_canary_is_kept_and_no_machine_is_updated() {
    let api = fleet(4);
    let canary = MemoryApi::launched_id(1);
    api.never_healthy(&canary);
    let runtime = TokioRuntime::new();
    let mut params = rival_params(StrategyName::Canary, 0.33);
    params.wait_timeout = Duration::from_secs(30);
    let report = deploy_with(&api, &runtime, params).await;
    assert_eq!(report.outcome, DeployOutcome::Failed);
    assert!(api.exists(&canary));
    assert!(api.calls_of(Op::Update).is_empty());
    assert!(api.calls_of(Op::Destroy).is_empty());
    assert!(runtime.printed_containing("--wait-timeout"));
}

// ---- whole runs on the simulator ----

const BASIC: &str = include_str!("../scenarios/bluegreen-basic.toml");

fn simulate(strategy: &str) -> RunResult {
    let text = BASIC.replace(
        "strategy = \"bluegreen\"",
        &format!("strategy = \"{strategy}\""),
    );
    assert_ne!(text, BASIC, "the scenario names its strategy");
    let scenario = fleetsim::scenario::parse(Path::new("rivals.toml"), &text).expect("valid");
    Simulation::new(&scenario).keep_trace(true).run()
}

/// The machines of the initial fleet (created by no deployer).
fn initial_fleet(result: &RunResult) -> Vec<MachineIndex> {
    result
        .trace
        .iter()
        .filter_map(|record| match record.step {
            Step::MachineCreated { machine, by: None } => Some(machine),
            _ => None,
        })
        .collect()
}

/// Machines of the initial fleet with a successful `update` call.
fn successfully_updated(result: &RunResult) -> Vec<MachineIndex> {
    let mut calls: BTreeMap<u32, MachineIndex> = BTreeMap::new();
    let mut updated = Vec::new();
    for record in &result.trace {
        match record.step {
            Step::ApiCall {
                call,
                operation: Operation::Update,
                machine: Some(machine),
                ..
            } => {
                calls.insert(call, machine);
            }
            Step::ApiReply { call, status: 0 } => {
                if let Some(machine) = calls.remove(&call) {
                    updated.push(machine);
                }
            }
            _ => {}
        }
    }
    updated.sort();
    updated.dedup();
    updated
}

fn verdict_held(result: &RunResult, invariant: &str) -> bool {
    result
        .verdicts
        .iter()
        .find(|verdict| verdict.invariant == invariant)
        .unwrap_or_else(|| panic!("no verdict {invariant}"))
        .held()
}

// Guards rolling's availability budget: in a fault-free run no more than max_unavailable (0.33 of
// 8 → 3) machines of the initial fleet are down at once, and every machine ends on the new image.
#[test]
fn simulated_rolling_keeps_at_most_max_unavailable_machines_down() {
    let result = simulate("rolling");
    assert_eq!(
        result.deploys[0].outcome, "succeeded",
        "{:?}",
        result.deploys[0].error
    );
    let fleet = initial_fleet(&result);
    assert_eq!(fleet.len(), 8);
    let mut states: BTreeMap<MachineIndex, MachineState> = fleet
        .iter()
        .map(|machine| (*machine, MachineState::Started))
        .collect();
    let mut down_max = 0;
    for record in &result.trace {
        if let Step::MachineState { machine, state } = record.step {
            if let Some(slot) = states.get_mut(&machine) {
                *slot = state;
            }
            let down = states
                .values()
                .filter(|state| **state != MachineState::Started)
                .count();
            assert!(down <= 3, "{down} machines down at {:?}", record.time);
            down_max = down_max.max(down);
        }
    }
    assert!(down_max >= 1, "the machines were updated in place");
    assert!(states.values().all(|state| *state == MachineState::Started));
    assert_eq!(successfully_updated(&result), fleet);
    assert!(verdict_held(&result, "single-image-at-rest"));
    assert!(verdict_held(&result, "no-machine-explosion"));
}

// Guards canary's cleanup: the extra machine exists during the run, is destroyed by the end, and
// the fleet ends at N machines on the new image.
#[test]
fn simulated_canary_destroys_its_canary() {
    let result = simulate("canary");
    let deploy = &result.deploys[0];
    assert_eq!(deploy.outcome, "succeeded", "{:?}", deploy.error);
    assert_eq!(deploy.greens.len(), 1);
    let fleet = initial_fleet(&result);
    let canaries: Vec<MachineIndex> = result
        .trace
        .iter()
        .filter_map(|record| match record.step {
            Step::MachineCreated {
                machine,
                by: Some(_),
            } => Some(machine),
            _ => None,
        })
        .collect();
    assert_eq!(canaries.len(), 1, "one canary for the one process group");
    let canary = canaries[0];
    let states_of = |wanted: MachineIndex| -> Vec<MachineState> {
        result
            .trace
            .iter()
            .filter_map(|record| match record.step {
                Step::MachineState { machine, state } if machine == wanted => Some(state),
                _ => None,
            })
            .collect()
    };
    let canary_states = states_of(canary);
    assert!(canary_states.contains(&MachineState::Started));
    assert_eq!(canary_states.last(), Some(&MachineState::Destroyed));
    // No initial machine is destroyed: the fleet ends at N, every one updated.
    for machine in &fleet {
        assert!(!states_of(*machine).contains(&MachineState::Destroyed));
    }
    assert_eq!(successfully_updated(&result), fleet);
    assert!(verdict_held(&result, "single-image-at-rest"));
    assert!(verdict_held(&result, "no-leftovers"));
}

// Guards immediate's "no waits" on the simulator: every machine is updated and the deploy ends
// while machines of the fleet are still booting.
#[test]
fn simulated_immediate_ends_before_the_machines_are_back() {
    let result = simulate("immediate");
    let deploy = &result.deploys[0];
    assert_eq!(deploy.outcome, "succeeded", "{:?}", deploy.error);
    let fleet = initial_fleet(&result);
    assert_eq!(successfully_updated(&result), fleet);
    let mut states: BTreeMap<MachineIndex, MachineState> = fleet
        .iter()
        .map(|machine| (*machine, MachineState::Started))
        .collect();
    let mut down_at_end = None;
    for record in &result.trace {
        match &record.step {
            Step::MachineState { machine, state } => {
                if let Some(slot) = states.get_mut(machine) {
                    *slot = *state;
                }
            }
            Step::Deploy {
                step: DeployStep::Finished(_),
                ..
            } => {
                let down = states
                    .values()
                    .filter(|state| **state != MachineState::Started)
                    .count();
                down_at_end = Some(down);
            }
            _ => {}
        }
    }
    assert!(down_at_end.expect("the deploy finished") > 0);
    assert!(verdict_held(&result, "single-image-at-rest"));
}

// Guards invariant applicability: a rival strategy never uncordons a green or drains a blue, so
// the bluegreen-only invariants are `n/a` in its runs, never a vacuous ✓; the ones it declares are
// judged; and a default `[expect] hold` does not count the n/a ones as expectations.
#[test]
fn bluegreen_only_invariants_are_not_applicable_to_rivals() {
    for name in ["rolling", "canary", "immediate"] {
        let strategy: StrategyName = name.parse().expect("known");
        let result = simulate(name);
        for verdict in &result.verdicts {
            let invariant: fleetsim::check::Invariant = verdict.invariant.parse().expect("known");
            assert_eq!(
                verdict.applies(),
                strategy.invariants().contains(invariant),
                "{name}: {invariant}"
            );
        }
        for invariant in [
            "drain-order",
            "health-gated-switch",
            "green-kept-after-switch",
        ] {
            let verdict = result
                .verdicts
                .iter()
                .find(|verdict| verdict.invariant == invariant)
                .expect("a verdict");
            assert!(!verdict.held() && !verdict.applies(), "{name}: {invariant}");
        }
        assert!(result
            .expectations
            .iter()
            .all(|check| !check.expectation.starts_with("drain-order")));
        assert!(result.expectations_not_applicable.is_empty(), "{name}");
    }
    let scenario = fleetsim::scenario::parse(Path::new("rivals.toml"), BASIC).expect("valid");
    let bluegreen = Simulation::new(&scenario).run();
    assert!(bluegreen
        .verdicts
        .iter()
        .filter(|verdict| verdict.invariant != "max-unavailable")
        .all(|verdict| verdict.held()));
}
