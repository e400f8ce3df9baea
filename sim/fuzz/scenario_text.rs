//! Arbitrary scenario texts for fuzzing the loader and the simulator behind it: real scenario
//! files with values replaced by arbitrary TOML values (extreme numbers, NaN, durations, machine
//! targets, tables, arrays), keys removed, added or entries repeated; and arbitrary text. Used by
//! `tests/scenario_fuzz.rs` (the loader's fuzz target) and `examples/mutation_campaign.rs` (every
//! variant run through the binary under a timeout and a memory cap).

use std::path::{Path, PathBuf};

use proptest::prelude::*;

/// Every scenario file under `directory` (recursively, in path order), parsed as a TOML table.
/// Files that are not TOML are left out.
pub fn scenario_tables(directory: &Path) -> Vec<toml::Table> {
    let mut paths = Vec::new();
    toml_files(directory, &mut paths);
    paths
        .iter()
        .filter_map(|path| {
            std::fs::read_to_string(path)
                .ok()?
                .parse::<toml::Table>()
                .ok()
        })
        .collect()
}

fn toml_files(directory: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            toml_files(&path, found);
        } else if path
            .extension()
            .is_some_and(|extension| extension == "toml")
        {
            found.push(path);
        }
    }
}

/// One of `tables` with one to three [`Mutation`]s, as TOML text.
pub fn mutated_scenario(tables: Vec<toml::Table>) -> impl Strategy<Value = String> {
    mutated_scenario_by(tables, 1..=3)
}

/// One of `tables` with `mutations` [`Mutation`]s (a number in that range), as TOML text.
pub fn mutated_scenario_by(
    tables: Vec<toml::Table>,
    mutations: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = String> {
    assert!(
        !tables.is_empty(),
        "mutations need a scenario to start from"
    );
    let count = tables.len();
    let mutations = prop::collection::vec(mutation(), mutations);
    (0..count, mutations).prop_map(move |(file, mutations)| {
        let mut table = tables[file].clone();
        for mutation in &mutations {
            mutation.apply(&mut table);
        }
        toml::to_string(&table).unwrap_or_default()
    })
}

/// Arbitrary bytes (lossily UTF-8), or lines shaped like TOML tables and keys.
pub fn arbitrary_text() -> impl Strategy<Value = String> {
    let bytes = prop::collection::vec(any::<u8>(), 0..2_000)
        .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
    let tomlish = "(\\[\\[?[a-z.]{0,12}\\]\\]?\n|[a-z_]{1,14} = (\"[^\"\n]{0,12}\"|-?[0-9]{1,20}|[0-9.e+-]{1,12}|\\{[^}\n]{0,30}\\}|\\[[^\n]{0,20}\\])\n|#[^\n]{0,10}\n){0,40}";
    prop_oneof![bytes, tomlish]
}

/// One change to a scenario's table, at the place `path` leads to (each number picks a key or
/// an index, modulo what is there).
#[derive(Clone, Debug)]
pub struct Mutation {
    path: Vec<usize>,
    change: Change,
}

#[derive(Clone, Debug)]
pub enum Change {
    /// Replace the value found with one of the same type (an integer by an integer, a duration
    /// by a string, …), so that the file mostly still loads and its new values reach the
    /// simulator.
    Retype(Scalars),
    /// Replace the value found with this one.
    Replace(toml::Value),
    /// Remove the key or array element found.
    Remove,
    /// Add (or overwrite) a key of the table found.
    Insert(String, toml::Value),
    /// Repeat the array element found (a `[[fleet]]`, `[[faults]]` or `[[deploy]]` twice).
    Duplicate,
}

/// One change at an arbitrary place.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    let change = prop_oneof![
        10 => scalars().prop_map(Change::Retype),
        1 => value().prop_map(Change::Replace),
        1 => Just(Change::Remove),
        1 => (key(), value()).prop_map(|(key, value)| Change::Insert(key, value)),
        1 => Just(Change::Duplicate),
    ];
    (prop::collection::vec(any::<usize>(), 1..=4), change)
        .prop_map(|(path, change)| Mutation { path, change })
}

impl Mutation {
    /// Applies the change to `table`.
    pub fn apply(&self, table: &mut toml::Table) {
        apply_in_table(table, &self.path, &self.change);
    }
}

/// Walks one step of `path` into `table` and applies `change` where the path ends (or where it
/// cannot go deeper).
fn apply_in_table(table: &mut toml::Table, path: &[usize], change: &Change) {
    if table.is_empty() {
        if let Change::Insert(key, value) = change {
            table.insert(key.clone(), value.clone());
        }
        return;
    }
    let key = table
        .keys()
        .nth(path[0] % table.len())
        .expect("index below the length")
        .clone();
    if let Some(rest) = deeper(path, change, &table[&key]) {
        let value = table.get_mut(&key).expect("present");
        apply_in_value(value, rest, change);
        return;
    }
    match change {
        Change::Retype(scalars) => {
            let value = scalars.like(&table[&key]);
            table.insert(key, value);
        }
        Change::Replace(value) => {
            table.insert(key, value.clone());
        }
        Change::Remove => {
            table.remove(&key);
        }
        Change::Insert(new_key, value) => {
            table.insert(new_key.clone(), value.clone());
        }
        Change::Duplicate => {}
    }
}

/// The rest of `path` to walk into `child`, if the change goes deeper: while the path lasts, and
/// for `Retype` down to a scalar (walking the path again from its start).
fn deeper<'p>(path: &'p [usize], change: &Change, child: &toml::Value) -> Option<&'p [usize]> {
    if !matches!(child, toml::Value::Table(_) | toml::Value::Array(_)) {
        return None;
    }
    match (&path[1..], change) {
        ([], Change::Retype(_)) => Some(path),
        ([], _) => None,
        (rest, _) => Some(rest),
    }
}

fn apply_in_value(value: &mut toml::Value, path: &[usize], change: &Change) {
    match value {
        toml::Value::Table(table) => apply_in_table(table, path, change),
        toml::Value::Array(items) if !items.is_empty() => {
            let index = path[0] % items.len();
            if let Some(rest) = deeper(path, change, &items[index]) {
                apply_in_value(&mut items[index], rest, change);
                return;
            }
            match change {
                Change::Retype(scalars) => items[index] = scalars.like(&items[index]),
                Change::Replace(new) => items[index] = new.clone(),
                Change::Remove => {
                    items.remove(index);
                }
                Change::Insert(..) => {
                    if let toml::Value::Table(table) = &mut items[index] {
                        apply_in_table(table, &[path[0]], change);
                    }
                }
                Change::Duplicate => {
                    let copy = items[index].clone();
                    items.insert(index, copy);
                }
            }
        }
        _ => {}
    }
}

/// One value of each scalar type, to replace a value by one of its own type.
#[derive(Clone, Debug)]
pub struct Scalars {
    pub integer: i64,
    pub float: f64,
    pub text: String,
    pub boolean: bool,
}

impl Scalars {
    /// The value of `original`'s type (a table or an array: the integer).
    fn like(&self, original: &toml::Value) -> toml::Value {
        match original {
            toml::Value::Float(_) => toml::Value::Float(self.float),
            toml::Value::String(_) => toml::Value::String(self.text.clone()),
            toml::Value::Boolean(_) => toml::Value::Boolean(self.boolean),
            _ => toml::Value::Integer(self.integer),
        }
    }
}

fn scalars() -> impl Strategy<Value = Scalars> {
    (integer(), float(), text(), any::<bool>()).prop_map(|(integer, float, text, boolean)| {
        Scalars {
            integer,
            float,
            text,
            boolean,
        }
    })
}

/// Keys a scenario has somewhere (so that an added key is often a real field in a new place).
fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "seed",
        "time_limit",
        "event_limit",
        "machine_limit",
        "settle",
        "deploy_time_bound",
        "count",
        "rate",
        "start",
        "after_previous",
        "wait_timeout",
        "lease_ttl",
        "max_concurrent",
        "max_unavailable",
        "clock_skew_seconds",
        "at",
        "after",
        "phase",
        "duration",
        "period",
        "lag",
        "ttl",
        "machine",
        "deploy",
        "status",
        "probability",
        "after_creates",
        "connect_retries",
        "retry_delay",
        "hold_timeout",
        "interval",
        "grace_period",
        "timeout",
        "kill_timeout",
        "list_lag",
        "wait_timeout_max",
        "region",
        "regions",
        "strategy",
        "kind",
        "value",
        "min",
        "max",
        "median",
        "p99",
        "mean",
        "extra",
        "delay",
        "autostop",
        "detached",
        "state",
        "exit_status",
        "hold",
        "violate",
        "outcomes",
    ])
    .prop_map(str::to_string)
}

/// Any TOML value, with the extremes and the words scenario files use drawn often.
pub fn value() -> impl Strategy<Value = toml::Value> {
    let leaf = prop_oneof![
        3 => integer().prop_map(toml::Value::Integer),
        2 => float().prop_map(toml::Value::Float),
        4 => text().prop_map(toml::Value::String),
        1 => any::<bool>().prop_map(toml::Value::Boolean),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(toml::Value::Array),
            prop::collection::btree_map(key(), inner, 0..4)
                .prop_map(|map| toml::Value::Table(map.into_iter().collect())),
        ]
    })
}

fn integer() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => prop::sample::select(vec![
            0,
            1,
            -1,
            2,
            3,
            8,
            100,
            10_000,
            10_001,
            1_000_000,
            1_000_001,
            4_294_967_295,
            4_294_967_296,
            10_000_000_000,
            i64::MAX,
            i64::MIN,
        ]),
        1 => any::<i64>(),
    ]
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => prop::sample::select(vec![
            0.0,
            -0.0,
            1e-20,
            1e-300,
            5e-324,
            0.001,
            0.5,
            1.0,
            1.5,
            100_000.0,
            1e300,
            f64::MAX,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ]),
        1 => any::<f64>(),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "0s", "1ns", "1us", "1ms", "10s", "5m", "2h", "24h", "25h", "30days", "720h", "721h",
            "100000h", "200000000000y", "18446744073709551615s", "-1s", "", " ", "1h 30m",
            "blue:0", "blue:1", "blue:999999", "green:0", "green:500", "green:*",
            "deploy[1].green:0", "deploy[99].green:*", "iad", "ams", "x", "bluegreen",
            "bluegreen@2023-06", "rolling", "canary", "immediate", "stop-blues", "create-greens",
            "wait-healthy", "SIGINT", "started", "stopped", "constant", "uniform", "lognormal",
            "exponential", "api-error", "machine-crash", "deployer-kill", "checks-flap",
            "host-unreachable", "capacity-error", "launch", "destroy", "http", "tcp",
            "no-downtime", "succeeded", "any", "é", "\u{0}",
        ])
        .prop_map(str::to_string),
        1 => "\\PC{0,20}",
    ]
}
