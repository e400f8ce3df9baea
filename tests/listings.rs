//! `fleetsim init`, `fleetsim invariants` and `fleetsim faults`: the template runs as written,
//! and the listings are the lists the checkers and the loader use.

use std::path::Path;

use fleetsim::check::{Bounds, Invariant};
use fleetsim::deploy::StrategyName;
use fleetsim::scenario::{fault_kinds, parse};
use serde_json::Value;

mod common;
use common::{fleetsim, stdout, MINIMAL_SCENARIO as MINIMAL};

// Guards the promise of `init`: for every strategy, the file it writes passes `fleetsim run`
// as written; for HEAD bluegreen and rolling that means a healthy deploy violating nothing.
#[test]
fn init_writes_a_scenario_that_passes_for_every_strategy() {
    let directory = std::env::temp_dir().join(format!("fleetsim-init-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("a temporary directory");
    for strategy in StrategyName::ALL {
        let file = directory.join(format!("{}.toml", strategy.as_str().replace('@', "-")));
        let _ = std::fs::remove_file(&file);
        let file_text = file.to_str().expect("UTF-8 path");
        let written = fleetsim(&["init", "--strategy", strategy.as_str(), file_text]);
        assert_eq!(
            written.status.code(),
            Some(0),
            "init {strategy}: {written:?}"
        );
        let run = fleetsim(&["run", "--quiet", file_text]);
        assert_eq!(
            run.status.code(),
            Some(0),
            "init --strategy {strategy} wrote a file that fails:\n{}",
            stdout(&run)
        );
        let text = std::fs::read_to_string(&file).expect("written");
        if matches!(strategy.as_str(), "bluegreen" | "rolling") {
            assert!(text.contains("violate = []\n"), "{strategy}:\n{text}");
            assert!(text.contains("expect_outcome = \"succeeded\""), "{text}");
        }
        // Never over an existing file.
        let again = fleetsim(&["init", file_text]);
        assert_eq!(again.status.code(), Some(2), "overwrote {file_text}");
        assert_eq!(std::fs::read_to_string(&file).expect("kept"), text);
    }
    let _ = std::fs::remove_dir_all(&directory);
}

// Guards the template's arguments: machines spread over regions (spaces allowed in the list),
// and bad input refused with status 2.
#[test]
fn init_spreads_the_fleet_and_refuses_bad_arguments() {
    let output = fleetsim(&["init", "--machines", "5", "--regions", "iad, ams,syd"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let scenario = parse(Path::new("init.toml"), &stdout(&output)).expect("valid");
    let fleet: Vec<(String, u32)> = scenario
        .fleet
        .iter()
        .map(|group| (group.region.clone(), group.count))
        .collect();
    let expected =
        [("iad", 2), ("ams", 2), ("syd", 1)].map(|(region, count)| (region.to_string(), count));
    assert_eq!(fleet, expected);
    assert_eq!(scenario.proxy.regions, ["ams", "iad", "syd"]);
    for bad in [
        vec!["init", "--regions", "IAD"],
        vec!["init", "--regions", "iad,iad"],
        vec!["init", "--machines", "1", "--regions", "iad,ams"],
        vec!["init", "--strategy", "bluegreen@1999"],
    ] {
        let output = fleetsim(&bad);
        assert_eq!(output.status.code(), Some(2), "{bad:?}: {output:?}");
        assert!(output.stdout.is_empty(), "{bad:?} printed a scenario");
    }
}

// Guards `fleetsim invariants --json` against drifting from `Invariant::ALL` and each strategy's
// applicable set.
#[test]
fn the_invariants_listing_is_invariant_all() {
    let output = fleetsim(&["invariants", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let listing: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(listing["schema"], "fleetsim.invariants/1");
    let entries = listing["invariants"].as_array().expect("a list");
    assert_eq!(entries.len(), Invariant::ALL.len());
    for (entry, invariant) in entries.iter().zip(Invariant::ALL) {
        assert_eq!(entry["name"], invariant.as_str());
        assert_eq!(entry["promise"], invariant.promise(&Bounds::default()));
        let kind = serde_json::to_value(invariant.kind()).expect("a kind");
        assert_eq!(entry["kind"], kind);
        let strategies: Vec<&str> = StrategyName::ALL
            .iter()
            .filter(|strategy| strategy.invariants().contains(invariant))
            .map(|strategy| strategy.as_str())
            .collect();
        assert_eq!(
            entry["strategies"],
            serde_json::json!(strategies),
            "{invariant:?}"
        );
    }
    let table = stdout(&fleetsim(&["invariants"]));
    for invariant in Invariant::ALL {
        assert!(
            table.contains(&format!("{}  (", invariant.as_str())),
            "{table}"
        );
    }
}

/// A value for a fault field that the loader accepts on the minimal scenario.
fn field_value(field: &str) -> &'static str {
    match field {
        "machine" => "\"blue:0\"",
        "at" | "ttl" | "duration" | "lag" | "period" | "after" | "start" => "\"5s\"",
        "probability" | "rate" => "0.5",
        "delay" | "extra" => "{ kind = \"constant\", value = \"1s\" }",
        "after_creates" | "deploy" => "0",
        "region" => "\"iad\"",
        "owner" => "\"someone\"",
        "phase" => "\"create-greens\"",
        "operation" => "\"launch\"",
        "status" => "503",
        "calls" => "\"1\"",
        other => panic!("no example value for fault field `{other}`"),
    }
}

// Guards `fleetsim faults --json` against drifting from the kinds the loader accepts: each listed
// kind loads with just its required fields and one of its `one_of` (and not without it), and the
// loader knows no kind the listing lacks.
#[test]
fn the_faults_listing_is_what_the_loader_accepts() {
    let output = fleetsim(&["faults", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let listing: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(listing["schema"], "fleetsim.faults/1");
    let names: Vec<&str> = listing["faults"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|entry| entry["name"].as_str().expect("a name"))
        .collect();
    let kinds = fault_kinds();
    assert_eq!(
        names,
        kinds.iter().map(|kind| kind.name).collect::<Vec<_>>()
    );
    for kind in &kinds {
        let mut text = format!("{MINIMAL}\n[[faults]]\nkind = \"{}\"\n", kind.name);
        for field in &kind.required {
            text.push_str(&format!("{field} = {}\n", field_value(field)));
        }
        // Of the alternatives (`rate` or `calls`, `at` or `phase`) it needs one: the first.
        if let Some(field) = kind.one_of.first() {
            let error = parse(Path::new("faults.toml"), &text).expect_err("none of one_of");
            assert!(error.message.contains(field), "{}: {error}", kind.name);
            text.push_str(&format!("{field} = {}\n", field_value(field)));
        }
        if let Err(error) = parse(Path::new("faults.toml"), &text) {
            panic!("kind `{}` with its required fields: {error}", kind.name);
        }
    }
    let unknown = format!("{MINIMAL}\n[[faults]]\nkind = \"no-such-kind\"\n");
    let error = parse(Path::new("faults.toml"), &unknown).expect_err("unknown kind");
    assert!(
        error
            .message
            .ends_with(&format!("(known: {})", names.join(", "))),
        "{}",
        error.message
    );
}
