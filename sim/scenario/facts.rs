//! `[expect]`'s facts about calls and machines: `calls.<operation>` counts and
//! `[[expect.machines]]` entries, each checked against the operations, targets and states it
//! names.

use std::collections::BTreeMap;

use super::raw::Spanned;

use super::error::Source;
use super::model::{CountRange, LaunchedAs, MachineExpectation, MachineTarget};
use super::raw::{RawCount, RawMachineExpect};
use super::values::{machine_target, Checked};
use crate::api::{MachineState, Operation};

use super::ranges::CALL_COUNT_MAX as COUNT_MAX;

/// `{prefix}.calls`: operation names to counts.
pub(crate) fn calls(
    src: &Source,
    prefix: &str,
    raw: &BTreeMap<String, Spanned<RawCount>>,
) -> Checked<BTreeMap<Operation, CountRange>> {
    let mut calls = BTreeMap::new();
    for (name, count) in raw {
        let field = format!("{prefix}.calls.{name}");
        let Some(operation) = Operation::from_name(name) else {
            let known: Vec<&str> = Operation::ALL.iter().map(|op| op.as_str()).collect();
            let message = format!("unknown operation `{name}` (known: {})", known.join(", "));
            return Err(src.error(&count.span(), field, message));
        };
        calls.insert(operation, self::count(src, &field, count)?);
    }
    Ok(calls)
}

/// A count (`3`) or a range (`{ min = 1, max = 4 }`), each bound in 0..=[`COUNT_MAX`].
fn count(src: &Source, field: &str, raw: &Spanned<RawCount>) -> Checked<CountRange> {
    let bound = |value: i64| -> Checked<u32> {
        if (0..=COUNT_MAX).contains(&value) {
            return Ok(u32::try_from(value).expect("in range"));
        }
        let message = format!("{value} is out of range: a count is between 0 and {COUNT_MAX}");
        Err(src.error(&raw.span(), field, message))
    };
    match raw.get_ref() {
        RawCount::Exactly(value) => Ok(CountRange::exactly(bound(*value)?)),
        RawCount::Between {
            min: None,
            max: None,
        } => Err(src.error(
            &raw.span(),
            field,
            "an empty range: give `min`, `max` or both (or a plain count)",
        )),
        RawCount::Between { min, max } => {
            let min = min.map(bound).transpose()?.unwrap_or(0);
            let max = max.map(bound).transpose()?;
            if let Some(max) = max.filter(|max| *max < min) {
                let message = format!("max ({max}) is less than min ({min})");
                return Err(src.error(&raw.span(), field, message));
            }
            Ok(CountRange { min, max })
        }
    }
}

/// `expect.machines[<index>]`.
pub(crate) fn machine(
    src: &Source,
    index: usize,
    raw: &Spanned<RawMachineExpect>,
    (initial, deploys): (u32, usize),
) -> Checked<MachineExpectation> {
    let field = format!("expect.machines[{index}]");
    let entry = raw.get_ref();
    let target_field = format!("{field}.machine");
    let target = machine_target(src, &target_field, &entry.machine, (initial, deploys))?;
    if matches!(target, MachineTarget::AllGreens { .. }) {
        let message = format!(
            "`{}` names several machines: an [[expect.machines]] entry is about one (`green:<i>`)",
            entry.machine.get_ref()
        );
        return Err(src.error(&entry.machine.span(), target_field, message));
    }
    let launched = match entry.launched.as_ref() {
        None => None,
        Some(text) => {
            let launched_field = format!("{field}.launched");
            if matches!(target, MachineTarget::Initial(_)) {
                let message =
                    "`launched` applies to greens: the initial fleet was not launched by a deploy";
                return Err(src.error(&text.span(), launched_field, message));
            }
            Some(match text.get_ref().as_str() {
                "started" => LaunchedAs::Started,
                "stopped" => LaunchedAs::Stopped,
                other => {
                    let message = format!("unknown launch `{other}` (known: started, stopped)");
                    return Err(src.error(&text.span(), launched_field, message));
                }
            })
        }
    };
    let state = match entry.state.as_ref() {
        None => None,
        Some(text) => {
            let found = MachineState::ALL
                .into_iter()
                .find(|state| state.as_str() == text.get_ref());
            let Some(state) = found else {
                let known: Vec<&str> = MachineState::ALL
                    .iter()
                    .map(|state| state.as_str())
                    .collect();
                let message = format!(
                    "unknown state `{}` (known: {})",
                    text.get_ref(),
                    known.join(", ")
                );
                return Err(src.error(&text.span(), format!("{field}.state"), message));
            };
            Some(state)
        }
    };
    Ok(MachineExpectation {
        target,
        calls: calls(src, &field, &entry.calls)?,
        launched,
        destroy_kill: entry.destroy_kill,
        destroy_nonce: entry.destroy_nonce,
        state,
    })
}
