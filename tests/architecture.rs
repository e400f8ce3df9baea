//! The import rules of ARCHITECTURE.md ("Who may import whom"), checked by reading the source:
//! every `crate::<module>` path outside comments in a module's files names a module it may use.
//! Guards against the world, its judges and the strategies growing back into one another.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Each layer and the modules of the crate it may name (besides itself).
const RULES: &[(&str, &[&str])] = &[
    ("engine", &[]),
    ("api", &["engine"]),
    // The vocabulary of what happens: below the world, the judges and the strategies.
    ("observe", &["api", "engine"]),
    // A strategy must run unchanged on a real runtime: nothing of the simulator.
    ("deploy", &["api", "observe"]),
    // The world: it emits observations and knows neither its judges nor the algorithms.
    (
        "platform",
        &["api", "engine", "observe", "scenario", "faults"],
    ),
    (
        "faults",
        &["api", "engine", "observe", "scenario", "platform"],
    ),
    // The judges see only observations.
    ("check", &["api", "engine", "observe"]),
];

fn rust_files(path: &Path, files: &mut Vec<PathBuf>) {
    if path.is_file() {
        files.push(path.to_path_buf());
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.map(|entry| entry.unwrap().path()).collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() || entry.extension().is_some_and(|extension| extension == "rs") {
            rust_files(&entry, files);
        }
    }
}

/// The crate modules a file names outside comments: `crate::x` paths and `use crate::{x, ..}`.
fn named_modules(source: &str) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(position) = rest.find("crate::") {
            rest = &rest[position + "crate::".len()..];
            let rest_trimmed = rest.trim_start_matches('{');
            for module in rest_trimmed.split([',', '}']) {
                let name: String = module
                    .trim()
                    .chars()
                    .take_while(|character| character.is_ascii_alphanumeric() || *character == '_')
                    .collect();
                if !name.is_empty() {
                    named.insert(name);
                }
                if !rest.starts_with('{') {
                    break;
                }
            }
        }
    }
    named
}

#[test]
fn each_layer_imports_only_what_architecture_md_allows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sim");
    let mut breaches = Vec::new();
    for (module, allowed) in RULES {
        let mut files = Vec::new();
        rust_files(&root.join(module), &mut files);
        rust_files(&root.join(format!("{module}.rs")), &mut files);
        assert!(!files.is_empty(), "no source found for module {module}");
        for file in files {
            let source = std::fs::read_to_string(&file).unwrap();
            for named in named_modules(&source) {
                if named != *module && !allowed.contains(&named.as_str()) {
                    breaches.push(format!(
                        "{} names crate::{named}",
                        file.strip_prefix(&root).unwrap().display()
                    ));
                }
            }
        }
    }
    assert!(
        breaches.is_empty(),
        "imports ARCHITECTURE.md forbids:\n{}",
        breaches.join("\n")
    );
}

#[test]
fn the_reader_sees_grouped_and_plain_paths() {
    // A broken reader would let every rule pass.
    let named = named_modules(
        "use crate::{check::Checkers, deploy};\nlet x = crate::sim::run(); // crate::report\n",
    );
    let expected: BTreeSet<String> = ["check", "deploy", "sim"].map(String::from).into();
    assert_eq!(named, expected);
}
