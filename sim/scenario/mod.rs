//! Scenario files: TOML schema, validation, and errors that name file, line, column and field.
//!
//! Loading is two steps. First serde reads the file into the raw structs of `raw` (types, required
//! fields, unknown fields), with `serde_path_to_error` tracking the field path and toml's spans the
//! position. Then `validate` checks ranges and cross-references and applies defaults, producing the
//! `model::Scenario` the simulator runs. Both steps report a `ScenarioError` pointing at the value.

mod error;
mod facts;
mod faults;
pub mod model;
pub mod overrides;
pub mod ranges;
mod raw;
pub mod reference;
pub mod schema;
mod settings;
mod template;
mod validate;
mod values;
pub mod writer;

use std::path::Path;

pub use error::ScenarioError;
pub use faults::{fault_kinds, FaultKindInfo, MAX_FAULT_DURATION};
pub use model::*;
pub use overrides::{load_with_overrides, Override, ScenarioProblem};
pub use template::{Observed, Template};
pub use validate::{MAX_GROUP_COUNT, MAX_RATE};
pub use writer::to_toml;

use error::Source;
use raw::RawFile;

/// A valid value that is likely not what the author meant (a fault aimed at a green the deploy
/// will probably never launch), located like an error. `fleetsim` prints it as `warning: ...`.
pub type ScenarioWarning = ScenarioError;

/// Reads and validates the scenario file at `path`.
///
/// A file that cannot be read (missing, unreadable, not UTF-8) is reported at line 0, column 0.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_with_warnings(path).map(|(scenario, _)| scenario)
}

/// [`load`], with the file's warnings in file order.
pub fn load_with_warnings(path: &Path) -> Result<(Scenario, Vec<ScenarioWarning>), ScenarioError> {
    parse_with_warnings(path, &read_text(path)?)
}

/// The text of the scenario file at `path`; one that cannot be read is an error at line 0.
pub(crate) fn read_text(path: &Path) -> Result<String, ScenarioError> {
    std::fs::read_to_string(path).map_err(|error| ScenarioError {
        file: path.to_path_buf(),
        line: 0,
        column: 0,
        field: "-".to_string(),
        message: format!("cannot read scenario file: {error}"),
    })
}

/// Scenario files in more than this many are refused (`check`, `fuzz --known`).
pub const FILES_MAX: usize = 100_000;

/// The scenario files named by `paths`: a file as given; a directory, every `*.toml` file under it
/// (recursively, sorted by path). The result has no duplicates and keeps the order of `paths`.
/// A path that does not exist, or a directory with no scenario file, is an error.
pub fn collect_files(paths: &[std::path::PathBuf]) -> Result<Vec<std::path::PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        let metadata =
            std::fs::metadata(path).map_err(|error| format!("{}: {error}", path.display()))?;
        if metadata.is_dir() {
            let before = files.len();
            collect_directory(path, &mut files)?;
            files[before..].sort();
            if files.len() == before {
                return Err(format!(
                    "{}: no scenario file (*.toml) in it",
                    path.display()
                ));
            }
        } else {
            files.push(path.clone());
        }
        if files.len() > FILES_MAX {
            return Err(format!("more than {FILES_MAX} scenario files"));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    files.retain(|file| seen.insert(file.clone()));
    Ok(files)
}

fn collect_directory(directory: &Path, files: &mut Vec<std::path::PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(directory)
        .map_err(|error| format!("{}: {error}", directory.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|error| format!("{}: {error}", directory.display()))?
            .path();
        if path.is_dir() {
            collect_directory(&path, files)?;
        } else if path
            .extension()
            .is_some_and(|extension| extension == "toml")
        {
            files.push(path);
        }
        if files.len() > FILES_MAX {
            return Err(format!("more than {FILES_MAX} scenario files"));
        }
    }
    Ok(())
}

/// Parses and validates scenario `text`; `path` is only used in messages and `Scenario::path`.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    parse_with_warnings(path, text).map(|(scenario, _)| scenario)
}

/// [`parse`], with the text's warnings in file order.
pub fn parse_with_warnings(
    path: &Path,
    text: &str,
) -> Result<(Scenario, Vec<ScenarioWarning>), ScenarioError> {
    let src = Source::new(path, text);
    let raw = deserialize(&src)?;
    let scenario = validate::scenario(&src, raw)?;
    let mut warnings = src.warnings.take();
    warnings.sort_by_key(|warning| (warning.line, warning.column));
    Ok((scenario, warnings))
}

/// TOML syntax, then serde's checks (types, required and unknown fields).
fn deserialize(src: &Source) -> Result<RawFile, ScenarioError> {
    let deserializer =
        toml::Deserializer::parse(src.text).map_err(|error| syntax_error(src, &error))?;
    serde_path_to_error::deserialize(deserializer).map_err(|error| serde_error(src, &error))
}

/// A TOML syntax error belongs to no field. toml says only "duplicate key", so name the key.
fn syntax_error(src: &Source, error: &toml::de::Error) -> ScenarioError {
    let span = error.span().unwrap_or(0..0);
    let mut message = error.message().trim_end().to_string();
    if message == "duplicate key" {
        if let Some(key) = src.text.get(span.clone()) {
            message = format!("duplicate key `{key}`");
        }
    }
    src.error(&span, "-", message)
}

/// Locates a serde error: toml gives the span, `serde_path_to_error` the field path. For a missing
/// field the path stops at the table, so the field's own name (from serde's message) is appended.
fn serde_error(src: &Source, error: &serde_path_to_error::Error<toml::de::Error>) -> ScenarioError {
    let inner = error.inner();
    let message = plain_types(inner.message().trim_end());
    let mut field = dotted_path(error.path());
    if let Some(name) = missing_field(&message) {
        if !field.is_empty() {
            field.push('.');
        }
        field.push_str(name);
    }
    if field.is_empty() {
        field.push('-');
    }
    src.error(&inner.span().unwrap_or(0..0), field, message)
}

/// serde names Rust types ("expected i64"); users wrote TOML, so say what TOML calls them.
fn plain_types(message: &str) -> String {
    let mut message = message.to_string();
    for (rust, toml) in [
        ("expected i64", "expected an integer"),
        ("expected u64", "expected a non-negative integer"),
        (
            "expected u32",
            "expected a non-negative integer (at most 4294967295)",
        ),
        ("expected f64", "expected a number"),
    ] {
        if message.ends_with(rust) {
            message.truncate(message.len() - rust.len());
            message.push_str(toml);
        }
    }
    message
}

/// The field serde names in "missing field `x`".
fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split_once('`').map(|(name, _)| name)
}

/// `deploy[0].wait_timeout` from serde_path_to_error's segments, without the private keys that
/// `toml::Spanned` uses to carry spans through serde.
fn dotted_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut dotted = String::new();
    for segment in path {
        match segment {
            Segment::Seq { index } => dotted.push_str(&format!("[{index}]")),
            Segment::Map { key } if key.starts_with("$__") => {}
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !dotted.is_empty() {
                    dotted.push('.');
                }
                dotted.push_str(key);
            }
            Segment::Unknown => {}
        }
    }
    dotted
}
