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

// Guards the schema against rules across fields that are too strict: a fault of every kind, with
// every field its kind takes (a rate and a call count, a time and a phase), is valid.
#[test]
fn a_fault_of_every_kind_is_valid() {
    let text = format!("{MINIMAL}{}", common::EVERY_FAULT);
    parse(Path::new("every-fault.toml"), &text).expect("fleetsim accepts it");
    assert_eq!(errors(&validator(), &text), Vec::<String>::new());
}

// Guards the rules across fields (one of two fields, two that do not go together, a field that
// needs another, no duplicates): each broken one is refused by the schema, and by fleetsim with
// the field and the line of the offending value.
#[test]
fn rules_across_fields_are_in_the_schema_and_the_validator() {
    let validator = validator();
    // (what, addition, the field fleetsim names, a text on the line it points at)
    let cases = [
        (
            "api-error with neither rate nor calls",
            "[[faults]]\nkind = \"api-error\"\nstatus = 503\n",
            "faults[0].rate",
            "[[faults]]",
        ),
        (
            "api-ambiguous with neither rate nor calls",
            "[[faults]]\nkind = \"api-ambiguous\"\n",
            "faults[0].rate",
            "[[faults]]",
        ),
        (
            "calls with rate",
            "[[faults]]\nkind = \"api-error\"\ncalls = \"1\"\nrate = 0.5\n",
            "faults[0].rate",
            "rate = 0.5",
        ),
        (
            "calls with start",
            "[[faults]]\nkind = \"api-ambiguous\"\ncalls = \"2..\"\nstart = \"1s\"\n",
            "faults[0].start",
            "start = ",
        ),
        (
            "calls with duration",
            "[[faults]]\nkind = \"api-partition\"\ncalls = \"1\"\nduration = \"1s\"\n",
            "faults[0].duration",
            "duration = ",
        ),
        (
            "deployer fault with neither at nor phase",
            "[[faults]]\nkind = \"deployer-kill\"\ndeploy = 0\n",
            "faults[0]",
            "[[faults]]",
        ),
        (
            "deployer fault with at and phase",
            "[[faults]]\nkind = \"deployer-stall\"\nduration = \"5s\"\nat = \"1s\"\nphase = \"wait-healthy\"\n",
            "faults[0].phase",
            "phase = ",
        ),
        (
            "checks-fail with at and phase",
            "[[faults]]\nkind = \"checks-fail\"\nmachine = \"blue:0\"\nphase = \"wait-healthy\"\nat = \"1s\"\n",
            "faults[0].at",
            "at = ",
        ),
        (
            "after without phase",
            "[[faults]]\nkind = \"deployer-abort\"\nat = \"1s\"\nafter = \"2s\"\n",
            "faults[0].after",
            "after = ",
        ),
        (
            "deploy with start and after_previous",
            "[[deploy]]\nimage = \"web:v3\"\nstart = \"1s\"\nafter_previous = \"2s\"\n",
            "deploy[1].after_previous",
            "after_previous = ",
        ),
        (
            "an expectation about several machines",
            "[[expect.machines]]\nmachine = \"green:*\"\n",
            "expect.machines[0].machine",
            "green:*",
        ),
        (
            "launched of a blue",
            "[[expect.machines]]\nmachine = \"blue:0\"\nlaunched = \"started\"\n",
            "expect.machines[0].launched",
            "launched = ",
        ),
        (
            "an empty count range",
            "[expect]\ncalls = { launch = {} }\n",
            "expect.calls.launch",
            "calls = ",
        ),
        (
            "an invariant listed twice",
            "[expect]\nviolate = [\"no-downtime\", \"no-downtime\"]\n",
            "expect.violate[1]",
            "violate = ",
        ),
        (
            "a proxy region listed twice",
            "[proxy]\nregions = [\"iad\", \"iad\"]\n",
            "proxy.regions[1]",
            "regions = ",
        ),
    ];
    for (what, addition, field, line_text) in cases {
        let text = format!("{MINIMAL}\n{addition}");
        assert!(
            !errors(&validator, &text).is_empty(),
            "the schema accepted a file with {what}:\n{text}"
        );
        let error = parse(Path::new("rules.toml"), &text)
            .expect_err(&format!("fleetsim accepted a file with {what}"));
        let line = text
            .lines()
            .nth(error.line.saturating_sub(1))
            .unwrap_or_default();
        assert!(
            error.field == field && line.contains(line_text) && error.column > 0,
            "{what}: expected {field} on a line with `{line_text}`, got {error} (line: `{line}`)"
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
