//! `fleetsim schema`: every scenario file of the repository is valid against the JSON Schema
//! (read as JSON, the way an editor sees TOML), invalid files are not, and every default the
//! schema documents is the one validation applies.

use std::path::{Path, PathBuf};

use fleetsim::deploy::DeployParams;
use fleetsim::scenario::reference::{markdown, REGENERATE};
use fleetsim::scenario::{collect_files, parse, parse_with_warnings, schema::json_schema, to_toml};
use serde_json::{json, Value};

mod common;
use common::MINIMAL_SCENARIO as MINIMAL;

fn validator() -> jsonschema::Validator {
    jsonschema::draft7::new(&json_schema()).expect("the schema is a valid draft-07 schema")
}

/// A TOML text as the JSON document an editor validates.
fn as_json(text: &str) -> Value {
    let value: toml::Value = toml::from_str(text).expect("TOML");
    serde_json::to_value(value).expect("TOML converts to JSON")
}

fn errors(validator: &jsonschema::Validator, text: &str) -> Vec<String> {
    validator
        .iter_errors(&as_json(text))
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect()
}

// Guards against a schema that refuses a file fleetsim accepts (an editor would flag it red).
#[test]
fn every_scenario_of_the_repository_is_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = collect_files(&[root.join("scenarios")]).expect("scenario files");
    assert!(
        files.len() >= 40,
        "expected the repository's scenarios, found {}",
        files.len()
    );
    let validator = validator();
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable");
        for error in errors(&validator, &text) {
            failures.push(format!("{}: {error}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!("{} scenario files valid against the schema", files.len());
}

// Guards against a schema so loose it accepts anything: each of these is refused by both.
#[test]
fn invalid_files_are_rejected_by_the_schema_and_by_fleetsim() {
    let validator = validator();
    assert_eq!(errors(&validator, MINIMAL), Vec::<String>::new());
    let cases = [
        ("unknown top-level section", "[extra]\nx = 1\n"),
        ("unknown field", "[run]\nseeds = 3\n"),
        ("wrong type", "[run]\nseed = \"three\"\n"),
        ("duration without unit", "[run]\nsettle = \"30\"\n"),
        (
            "unknown strategy",
            "[[deploy]]\nimage = \"v3\"\nstrategy = \"bluegreen@1999\"\n",
        ),
        (
            "count out of range",
            "[[fleet]]\nregion = \"ams\"\ncount = 10001\n",
        ),
        (
            "bad region code",
            "[[fleet]]\nregion = \"IAD\"\ncount = 1\n",
        ),
        (
            "unknown invariant",
            "[expect]\nviolate = [\"no-explosion\"]\n",
        ),
        (
            "fault without its required field",
            "[[faults]]\nkind = \"machine-crash\"\nmachine = \"blue:0\"\n",
        ),
        (
            "fault with a field its kind does not take",
            "[[faults]]\nkind = \"unhealthy\"\nmachine = \"blue:0\"\nrate = 0.5\n",
        ),
        (
            "distribution with a field its kind does not take",
            "[proxy]\npropagation = { kind = \"constant\", value = \"1s\", p99 = \"2s\" }\n",
        ),
        (
            "rate above 1",
            "[[faults]]\nkind = \"api-error\"\nrate = 1.5\n",
        ),
        (
            "traffic rate of 0",
            "[traffic]\nregions = [{ region = \"iad\", rate = 0.0 }]\n",
        ),
    ];
    for (what, addition) in cases {
        let text = format!("{MINIMAL}\n{addition}");
        assert!(
            !errors(&validator, &text).is_empty(),
            "the schema accepted a file with {what}:\n{text}"
        );
        assert!(
            parse(Path::new("invalid.toml"), &text).is_err(),
            "fleetsim accepted a file with {what}:\n{text}"
        );
    }
}

/// The value at a dotted path with `[i]` indexes (`deploy[0].strategy`).
fn at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(value, |value, part| match part.split_once('[') {
            Some((name, index)) => {
                let index: usize = index.trim_end_matches(']').parse().ok()?;
                value.get(name)?.get(index)
            }
            None => value.get(part),
        })
}

// Guards against a documented default that is not the one applied: the writer spells out every
// value of the validated scenario, so a file that leaves a field out must read back with the
// schema's default there.
#[test]
fn the_schema_defaults_are_the_applied_defaults() {
    let schema = json_schema();
    let scenario = parse(&PathBuf::from("minimal.toml"), MINIMAL).expect("valid");
    let written = as_json(&to_toml(&scenario));
    let sections = [
        ("machine", "Machine"),
        ("api", "Api"),
        ("proxy", "Proxy"),
        ("traffic", "Traffic"),
        ("run", "Run"),
        ("check", "Bounds"),
        ("deploy[0]", "Deploy"),
        ("fleet[0]", "FleetGroup"),
    ];
    let mut checked = 0;
    for (path, definition) in sections {
        let properties = schema["definitions"][definition]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{definition} has properties"));
        for (field, property) in properties {
            let Some(default) = property.get("default") else {
                continue;
            };
            if (definition, field.as_str()) == ("Deploy", "max_unavailable") {
                // Left out, it stays unset in the scenario and the deploy applies flyctl's.
                assert_eq!(default, &json!(DeployParams::DEFAULT_MAX_UNAVAILABLE));
                checked += 1;
                continue;
            }
            let applied = at(&written, &format!("{path}.{field}"));
            assert_eq!(
                applied,
                Some(default),
                "{path}.{field}: the schema documents {default}, the writer wrote {applied:?}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} defaults checked");
}

/// Whether the checked-in `file` (under docs/) is `generated`; with UPDATE set, rewrites it.
fn is_current(file: &str, generated: &str) -> bool {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(file);
    if std::env::var_os("UPDATE").is_some() {
        std::fs::write(&path, generated).expect("writable");
    }
    std::fs::read_to_string(&path).unwrap_or_default() == generated
}

// Guards against a reference doc that no longer says what the types say.
#[test]
fn the_reference_doc_is_the_generated_one() {
    assert!(
        is_current("scenario-reference.md", &markdown(&json_schema())),
        "docs/scenario-reference.md differs from what the generator writes: regenerate it with \
         `{REGENERATE}` (or `UPDATE=1 cargo test --test schema`)"
    );
}

// Guards the schema file editors use (.taplo.toml points at it) against drifting from the types.
#[test]
fn the_checked_in_schema_is_the_generated_one() {
    let generated = format!(
        "{}\n",
        serde_json::to_string_pretty(&json_schema()).expect("JSON")
    );
    assert!(
        is_current("scenario.schema.json", &generated),
        "docs/scenario.schema.json differs from `fleetsim schema`: regenerate it with \
         `cargo run -- schema > docs/scenario.schema.json` (or `UPDATE=1 cargo test --test schema`)"
    );
}

// Guards against an unbounded log-normal or exponential tail going unnoticed: without `max` the
// file is valid but warned about, at the distribution; with `max` (or another kind) it is not.
#[test]
fn a_distribution_without_max_is_warned_about() {
    let warned = |distribution: &str| {
        let text = format!("{MINIMAL}\n[proxy]\npropagation = {distribution}\n");
        let (_, warnings) =
            parse_with_warnings(Path::new("tail.toml"), &text).expect("a valid scenario");
        warnings
            .iter()
            .map(|warning| warning.to_string())
            .collect::<Vec<_>>()
    };
    let lognormal = warned(r#"{ kind = "lognormal", median = "1s", p99 = "5s" }"#);
    assert_eq!(lognormal.len(), 1, "{lognormal:?}");
    assert!(
        lognormal[0].contains("proxy.propagation")
            && lognormal[0].contains("unbounded tail")
            && lognormal[0].contains("tail.toml:17:15:"),
        "{lognormal:?}"
    );
    assert_eq!(warned(r#"{ kind = "exponential", mean = "1s" }"#).len(), 1);
    for bounded in [
        r#"{ kind = "lognormal", median = "1s", p99 = "5s", max = "9s" }"#,
        r#"{ kind = "exponential", mean = "1s", max = "9s" }"#,
        r#"{ kind = "uniform", min = "1s", max = "2s" }"#,
    ] {
        assert_eq!(warned(bounded), Vec::<String>::new(), "{bounded}");
    }
}
