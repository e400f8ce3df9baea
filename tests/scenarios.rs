//! Every scenario file under `scenarios/` meets its own `[expect]` section, run through the library
//! as `fleetsim run --quiet FILE` runs it (once per strategy it lists expectations for).
//!
//! `scripts/test.sh` also runs them through the release binary; this test puts them into
//! `cargo test`, so that `cargo mutants` (which runs only `cargo test`) judges a mutant of a
//! checker against the scenarios too.

use std::path::{Path, PathBuf};

fn scenario_files(directory: &Path, found: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(directory)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", directory.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            scenario_files(&path, found);
        } else if path
            .extension()
            .is_some_and(|extension| extension == "toml")
        {
            found.push(path);
        }
    }
}

// Guards every scenario's promise (its [expect] section), so a checker or strategy mutant that
// only a scenario notices fails `cargo test`.
#[test]
fn every_scenario_meets_its_expectations() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    scenario_files(&root.join("scenarios"), &mut files);
    assert!(files.len() >= 20, "found only {files:?}");
    let mut failed = Vec::new();
    for file in &files {
        let command = fleetsim::cli::try_parse_from([
            "fleetsim".as_ref(),
            "run".as_ref(),
            "--quiet".as_ref(),
            file.as_os_str(),
        ])
        .expect("valid arguments");
        let status = fleetsim::cli::execute(command);
        if status != fleetsim::cli::EXIT_OK {
            failed.push(format!("{} (exit status {status})", file.display()));
        }
    }
    assert!(failed.is_empty(), "scenarios that failed: {failed:#?}");
}
