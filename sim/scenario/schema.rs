//! The JSON Schema of scenario files (`fleetsim schema`), generated from the raw types of `raw`.
//!
//! The raw types hold most values as strings (durations, names, words) so that validation can
//! point at them; the schema-only types below say what those strings may be, with the lists
//! taken from the enums validation itself uses (strategies, invariants, operations, phases, fault
//! kinds), so an editor completes exactly the words `fleetsim` accepts. Per-kind fields of
//! faults and distributions come from the same tables validation checks them against.
//!
//! The schema is draft-07, the newest draft Taplo (Even Better TOML) validates against.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

use super::faults::{AT_OR_PHASE, FAULT_KINDS, NOT_WITH_CALLS};
use super::ranges;
use super::raw::RawFile;
use super::validate::{INITIAL_STATES, OUTCOMES};
use super::values::DISTRIBUTION_KINDS;
use crate::api::{MachineState, Operation, Phase};
use crate::check::Invariant;
use crate::deploy::StrategyName;

/// Where the schema says it lives (`$id`); editors only use it as a name.
pub const SCHEMA_ID: &str = "https://fleetsim.invalid/scenario.schema.json";

/// The JSON Schema of a scenario file.
pub fn json_schema() -> Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let mut schema = generator.into_root_schema_for::<RawFile>().to_value();
    drop_null(&mut schema);
    wrap_refs(&mut schema);
    schema["$id"] = json!(SCHEMA_ID);
    let definitions = schema
        .get_mut("definitions")
        .and_then(Value::as_object_mut)
        .expect("a schema with definitions");
    add_kind_rules(definitions, "Distribution", distribution_kinds());
    add_kind_rules(definitions, "Fault", fault_kinds());
    schema
}

/// TOML has no null: a left-out field is how a file says "none", so `Option` adds no `null` type.
fn drop_null(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if let Some(Value::Array(types)) = object.get_mut("type") {
                types.retain(|kind| kind != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    object.insert("type".to_string(), only);
                }
            }
            if let Some(Value::Array(choices)) = object.get_mut("anyOf") {
                choices.retain(|choice| choice.get("type") != Some(&json!("null")));
                if choices.len() == 1 {
                    let only = choices.remove(0);
                    object.remove("anyOf");
                    if let Value::Object(only) = only {
                        for (key, inner) in only {
                            object.entry(key).or_insert(inner);
                        }
                    }
                }
            }
            object.values_mut().for_each(drop_null);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null),
        _ => {}
    }
}

/// In draft-07 the keywords beside a `$ref` are ignored, and with them a field's description and
/// default: put the reference in an `allOf` of one, which keeps both.
fn wrap_refs(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if object.len() > 1 {
                if let Some(reference) = object.remove("$ref") {
                    object.insert("allOf".to_string(), json!([{ "$ref": reference }]));
                }
            }
            object.values_mut().for_each(wrap_refs);
        }
        Value::Array(items) => items.iter_mut().for_each(wrap_refs),
        _ => {}
    }
}

/// One kind of a tagged definition: what `FieldCheck` checks it against.
struct Kind {
    name: &'static str,
    required: &'static [&'static str],
    optional: &'static [&'static str],
    /// Optional fields of which it needs one.
    one_of: &'static [&'static str],
    /// What it does, in one line.
    summary: Option<&'static str>,
}

fn distribution_kinds() -> Vec<Kind> {
    DISTRIBUTION_KINDS
        .iter()
        .map(|kind| Kind {
            name: kind.kind,
            required: kind.required,
            optional: kind.optional,
            one_of: &[],
            summary: None,
        })
        .collect()
}

fn fault_kinds() -> Vec<Kind> {
    FAULT_KINDS
        .iter()
        .map(|kind| Kind {
            name: kind.name,
            required: kind.required,
            optional: kind.optional,
            one_of: kind.one_of,
            summary: Some(kind.summary),
        })
        .collect()
}

/// Appends `rules` to the `allOf` of an object schema, after the rules already there.
fn push_rules(schema: &mut Map<String, Value>, rules: impl IntoIterator<Item = Value>) {
    let all_of = schema.entry("allOf").or_insert_with(|| json!([]));
    all_of
        .as_array_mut()
        .expect("`allOf` is an array")
        .extend(rules);
}

/// A rule across fields, with a description the reference prints under the table.
fn rule(description: &str, rule: Value) -> Value {
    let mut rule = rule;
    rule["description"] = json!(description);
    rule
}

/// `[[faults]]` rules across fields that hold whatever the kind (`faults::FaultEntry`): a counted
/// fault has no rate or window, a trigger is a time or a phase, and `after` needs a phase.
pub(crate) fn fault_rules(schema: &mut Schema) {
    let refused: Map<String, Value> = NOT_WITH_CALLS
        .iter()
        .map(|field| (field.to_string(), Value::Bool(false)))
        .collect();
    let not_with_calls: Vec<String> = NOT_WITH_CALLS.iter().map(|f| format!("`{f}`")).collect();
    let [at, phase] = [AT_OR_PHASE[0], AT_OR_PHASE[1]];
    push_rules(
        schema.ensure_object(),
        [
            rule(
                &format!(
                    "With `calls`, no {}: a call-counted fault fails exactly the calls it counts, at any time.",
                    not_with_calls.join(", ")
                ),
                json!({ "if": { "required": ["calls"] }, "then": { "properties": refused } }),
            ),
            rule(
                &format!("`{at}` or `{phase}`, not both."),
                json!({ "not": { "required": AT_OR_PHASE } }),
            ),
            rule(
                &format!("`after` only with `{phase}` (it delays the fault after the phase starts)."),
                json!({ "dependencies": { "after": [phase] } }),
            ),
        ],
    );
}

/// `[[deploy]]`: `start` and `after_previous` are alternatives (`validate::deploy_start`).
pub(crate) fn deploy_rules(schema: &mut Schema) {
    push_rules(
        schema.ensure_object(),
        [rule(
            "`start` or `after_previous`, not both.",
            json!({ "not": { "required": ["start", "after_previous"] } }),
        )],
    );
}

/// `[[expect.machines]]`: one machine, and `launched` only for a green (`facts::machine`).
pub(crate) fn machine_expect_rules(schema: &mut Schema) {
    push_rules(
        schema.ensure_object(),
        [
            rule(
                "One machine: `green:*` names several.",
                json!({ "properties": { "machine": { "not": { "pattern": r"\*" } } } }),
            ),
            rule(
                "`launched` only for a green: the initial fleet was not launched by a deploy.",
                json!({
                    "if": {
                        "properties": { "machine": { "pattern": r"^\s*blue:" } },
                        "required": ["machine"]
                    },
                    "then": { "properties": { "launched": false } }
                }),
            ),
        ],
    );
}

/// `if kind = X then` X's required fields, one of its `one_of` fields, and no field X does not
/// take: what `FieldCheck` and the kind's builder check. Appended to the definition's `allOf`,
/// after its rules across fields.
fn add_kind_rules(definitions: &mut Map<String, Value>, name: &str, kinds: Vec<Kind>) {
    let definition = definitions
        .get_mut(name)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("the schema defines {name}"));
    let fields: Vec<String> = definition["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .cloned()
        .collect();
    let rules: Vec<Value> = kinds
        .iter()
        .map(|kind| {
            let refused: Map<String, Value> = fields
                .iter()
                .filter(|field| {
                    *field != "kind"
                        && !kind.required.contains(&field.as_str())
                        && !kind.optional.contains(&field.as_str())
                })
                .map(|field| (field.clone(), Value::Bool(false)))
                .collect();
            let mut then = json!({ "required": kind.required, "properties": refused });
            if !kind.one_of.is_empty() {
                let choices: Vec<Value> = kind
                    .one_of
                    .iter()
                    .map(|field| json!({ "required": [field] }))
                    .collect();
                then["anyOf"] = Value::Array(choices);
            }
            json!({
                "if": { "properties": { "kind": { "const": kind.name } }, "required": ["kind"] },
                "then": then
            })
        })
        .collect();
    push_rules(definition, rules);
    let kind = &mut definition["properties"]["kind"];
    kind["enum"] = json!(kinds.iter().map(|kind| kind.name).collect::<Vec<_>>());
    if kinds.iter().any(|kind| kind.summary.is_some()) {
        // One description per word, for editors that show them while completing.
        kind["x-enumDescriptions"] = json!(kinds
            .iter()
            .map(|kind| kind.summary.unwrap_or_default())
            .collect::<Vec<_>>());
    }
}

/// A string that must be one of `words`.
fn words(description: &str, words: impl IntoIterator<Item = &'static str>) -> Schema {
    let words: Vec<&str> = words.into_iter().collect();
    json_schema!({ "title": "word", "type": "string", "description": description, "enum": words })
}

/// A schema-only type: a string of some form, described by `$schema`.
macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $schema:expr) => {
        $(#[$doc])*
        pub(crate) struct $name;

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                $schema
            }
        }
    };
}

/// humantime's syntax: numbers with units, optionally separated by spaces (`1h 30m`).
const DURATION_PATTERN: &str = r"^\s*([0-9]+(\.[0-9]+)?\s*[a-zA-Zµ]+\s*)+$";

fn duration_schema(max: std::time::Duration) -> Schema {
    let description = format!(
        "A duration: a number and a unit (ns, us, ms, s, m, h, d), e.g. \"300ms\", \"1.5s\", \"1h 30m\"; at most {}h.",
        max.as_secs() / 3600
    );
    json_schema!({
        "title": "duration",
        "type": "string",
        "pattern": DURATION_PATTERN,
        "description": description
    })
}

text_type!(
    /// A duration of any field.
    DurationText,
    duration_schema(ranges::DURATION_MAX)
);
text_type!(
    /// A fault's `duration`, `period` or `lag`.
    FaultDurationText,
    duration_schema(ranges::FAULT_DURATION_MAX)
);
text_type!(
    /// A region code (`values::region`).
    RegionCode,
    json_schema!({
        "title": "region",
        "type": "string",
        "pattern": "^[a-z0-9]{2,8}$",
        "description": "A region code: 2 to 8 lowercase letters or digits, e.g. \"iad\"."
    })
);
text_type!(
    /// A signal name.
    SignalText,
    json_schema!({
        "title": "signal",
        "type": "string",
        "pattern": "^SIG.+$",
        "description": "A signal name, e.g. \"SIGINT\"."
    })
);
text_type!(
    /// A fault's or an expectation's machine (`values::machine_target`).
    MachineTargetText,
    json_schema!({
        "title": "machine",
        "type": "string",
        "pattern": r"^\s*(blue:[0-9]+|(deploy\[[0-9]+\]\.)?green:([0-9]+|\*))\s*$",
        "description": "A machine: \"blue:<i>\" (of the initial fleet), \"green:<i>\" or \"green:*\" (of deploy 0), \"deploy[<d>].green:<i>\" or \"deploy[<d>].green:*\"; 0-based."
    })
);
text_type!(
    /// A call range (`faults::call_range`).
    CallsText,
    json_schema!({
        "title": "calls",
        "type": "string",
        "pattern": r"^\s*[0-9]+(\.\.([0-9]+)?)?\s*$",
        "description": "Call numbers, from 1: \"2\", \"1..3\" (the first to the third), \"4..\" (the fourth on)."
    })
);
text_type!(
    /// A deploy strategy.
    StrategyWord,
    words(
        "A deploy strategy (`fleetsim strategies`).",
        StrategyName::ALL
            .iter()
            .map(|name| name.as_str())
            .chain(StrategyName::ALIASES.iter().map(|(alias, _)| *alias))
    )
);
text_type!(
    /// An invariant.
    InvariantWord,
    words(
        "An invariant (`fleetsim invariants`).",
        Invariant::ALL.iter().map(|invariant| invariant.as_str())
    )
);
text_type!(
    /// A Machines API operation.
    OperationWord,
    words(
        "A Machines API operation.",
        Operation::ALL.iter().map(|operation| operation.as_str())
    )
);
text_type!(
    /// A deploy phase.
    PhaseWord,
    words(
        "A deploy phase.",
        Phase::ALL.iter().map(|phase| phase.as_str())
    )
);
text_type!(
    /// A fault kind; `add_kind_rules` adds the summaries.
    FaultKindWord,
    words(
        "A fault kind (`fleetsim faults`).",
        FAULT_KINDS.iter().map(|kind| kind.name)
    )
);
text_type!(
    /// A distribution kind.
    DistributionKindWord,
    words(
        "A distribution's shape.",
        DISTRIBUTION_KINDS.iter().map(|kind| kind.kind)
    )
);
text_type!(
    /// A deploy outcome.
    OutcomeWord,
    words(
        "A deploy outcome.",
        OUTCOMES.iter().map(|outcome| outcome.as_str())
    )
);
text_type!(
    /// A deploy outcome, or `any`.
    OutcomeOrAnyWord,
    words(
        "A deploy outcome, or \"any\" (no expectation).",
        OUTCOMES
            .iter()
            .map(|outcome| outcome.as_str())
            .chain(["any"])
    )
);
text_type!(
    /// A state a machine may start the run in.
    InitialStateWord,
    words(
        "A machine state at the start of the run.",
        INITIAL_STATES.iter().map(|state| state.as_str())
    )
);
text_type!(
    /// Any machine state.
    MachineStateWord,
    words(
        "A machine state.",
        MachineState::ALL.iter().map(|state| state.as_str())
    )
);
text_type!(
    /// How a green was launched.
    LaunchedWord,
    words(
        "How a green's launch asked it to start.",
        [
            super::LaunchedAs::Started.as_str(),
            super::LaunchedAs::Stopped.as_str()
        ]
    )
);
text_type!(
    /// A service's protocol (`validate::service`).
    ProtocolWord,
    words("A service protocol.", ["tcp", "udp"])
);
text_type!(
    /// A check's kind (`validate::check_kind`).
    CheckKindWord,
    words("What a check probes.", ["http", "tcp"])
);
