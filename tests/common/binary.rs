//! The `fleetsim` binary from end-to-end tests: run it in the crate's directory, and scratch
//! directories named by the test process.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs `fleetsim ARGUMENTS…` in the crate's directory.
pub fn fleetsim(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(arguments)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the fleetsim binary runs")
}

/// An empty scratch directory path for this test process (removed first if it exists).
pub fn scratch(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("fleetsim-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    directory
}
