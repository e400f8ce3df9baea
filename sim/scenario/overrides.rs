//! `--set PATH=VALUE`: a scenario field overridden from the command line by its dotted TOML path
//! (`deploy.0.wait_before_cordon=20s`, `proxy.propagation.p99=8s`, `fleet.0.count=20`).
//!
//! An override changes the parsed TOML document before validation, so the result is validated
//! exactly like a file that says the same. A problem an override causes names the override; a
//! problem the file has without its overrides keeps its file, line and column.

use std::fmt;
use std::path::Path;

use super::{parse_with_warnings, Scenario, ScenarioError};

/// Overrides in one command are at most this many.
pub const OVERRIDES_MAX: usize = 256;
/// A dotted path has at most this many segments.
const SEGMENTS_MAX: usize = 16;

/// One `PATH=VALUE`. The value is TOML (`20`, `true`, `"text"`, `{ kind = "constant", value =
/// "2s" }`), or else a string (`20s` needs no quotes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    /// The dotted path as given.
    pub path: String,
    /// The value as given.
    pub value: String,
}

impl Override {
    /// Parses `PATH=VALUE`.
    pub fn parse(text: &str) -> Result<Override, String> {
        let Some((path, value)) = text.split_once('=') else {
            return Err(format!(
                "`{text}` is not PATH=VALUE (e.g. deploy.0.wait_before_cordon=20s)"
            ));
        };
        let path = path.trim();
        let segments: Vec<&str> = path.split('.').collect();
        if path.is_empty() || segments.iter().any(|segment| segment.is_empty()) {
            return Err(format!(
                "`{text}`: the path `{path}` has an empty part (write keys and array indices \
                 separated by dots, e.g. fleet.0.count)"
            ));
        }
        if segments.len() > SEGMENTS_MAX {
            return Err(format!(
                "`{text}`: the path has more than {SEGMENTS_MAX} parts"
            ));
        }
        Ok(Override {
            path: path.to_string(),
            value: value.trim().to_string(),
        })
    }

    /// The path in the form errors name fields: `deploy[0].wait_before_cordon`.
    pub fn field(&self) -> String {
        let mut field = String::new();
        for segment in self.path.split('.') {
            if segment.parse::<usize>().is_ok() && !field.is_empty() {
                field.push_str(&format!("[{segment}]"));
            } else {
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(segment);
            }
        }
        field
    }

    /// The value as TOML: what it parses as, or else the text as a string.
    fn toml_value(&self) -> toml::Value {
        let document = format!("value = {}", self.value);
        match document.parse::<toml::Table>() {
            Ok(mut table) if table.len() == 1 => table
                .remove("value")
                .expect("the one key of `value = …` is `value`"),
            _ => toml::Value::String(self.value.clone()),
        }
    }

    /// Sets the value in `document`. An index past the end of an array, or a path through a
    /// value that is not a table, is an error (an unknown key is left to validation, which names
    /// the keys it knows).
    fn apply(&self, document: &mut toml::Table) -> Result<(), String> {
        let segments: Vec<&str> = self.path.split('.').collect();
        let mut root = toml::Value::Table(std::mem::take(document));
        let applied = set_in(&mut root, &segments, String::new(), self.toml_value());
        if let toml::Value::Table(table) = root {
            *document = table;
        }
        applied
    }
}

/// Puts `new` where `segments` lead from `value` (`walked`: the path so far). Recursion is
/// bounded by [`SEGMENTS_MAX`].
fn set_in(
    value: &mut toml::Value,
    segments: &[&str],
    mut walked: String,
    new: toml::Value,
) -> Result<(), String> {
    let Some((segment, rest)) = segments.split_first() else {
        *value = new;
        return Ok(());
    };
    let child = match value {
        toml::Value::Table(table) if rest.is_empty() => {
            table.insert((*segment).to_string(), new);
            return Ok(());
        }
        toml::Value::Table(table) => table
            .entry((*segment).to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new())),
        toml::Value::Array(items) => element(items, segment, &walked)?,
        other => {
            return Err(format!(
                "`{walked}` is {}, not a table or a list",
                type_words(other)
            ))
        }
    };
    extend(&mut walked, segment);
    set_in(child, rest, walked, new)
}

impl fmt::Display for Override {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}={}", self.path, self.value)
    }
}

fn extend(walked: &mut String, segment: &str) {
    if !walked.is_empty() {
        walked.push('.');
    }
    walked.push_str(segment);
}

fn element<'a>(
    items: &'a mut [toml::Value],
    index: &str,
    walked: &str,
) -> Result<&'a mut toml::Value, String> {
    let count = items.len();
    let Ok(index) = index.parse::<usize>() else {
        return Err(format!(
            "`{walked}` is a list: the next part of the path must be an index (0 to {}), not \
             `{index}`",
            count.saturating_sub(1)
        ));
    };
    let range = if count == 0 {
        "it is empty".to_string()
    } else {
        format!("indices 0 to {}", count - 1)
    };
    items
        .get_mut(index)
        .ok_or_else(|| format!("`{walked}` has {count} entries: no index {index} ({range})"))
}

fn type_words(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a number",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "a list",
        toml::Value::Table(_) => "a table",
    }
}

/// A problem with a scenario and its overrides: located in the file, or caused by overrides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScenarioProblem {
    /// The file has it as written.
    File(ScenarioError),
    /// The overrides (`--set PATH=VALUE …`) cause it.
    Override {
        /// `--set PATH=VALUE`, each override to blame.
        overrides: String,
        field: String,
        message: String,
    },
}

impl fmt::Display for ScenarioProblem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScenarioProblem::File(error) => write!(formatter, "{error}"),
            ScenarioProblem::Override {
                overrides,
                field,
                message,
            } => write!(formatter, "{overrides}: {field}: {message}"),
        }
    }
}

impl From<ScenarioError> for ScenarioProblem {
    fn from(error: ScenarioError) -> ScenarioProblem {
        ScenarioProblem::File(error)
    }
}

/// Reads the scenario at `path` with `overrides` applied, and its warnings.
pub fn load_with_overrides(
    path: &Path,
    overrides: &[Override],
) -> Result<(Scenario, Vec<ScenarioProblem>), ScenarioProblem> {
    let text = std::fs::read_to_string(path).map_err(|error| ScenarioError {
        file: path.to_path_buf(),
        line: 0,
        column: 0,
        field: "-".to_string(),
        message: format!("cannot read scenario file: {error}"),
    })?;
    parse_with_overrides(path, &text, overrides)
}

/// [`load_with_overrides`] of `text`.
pub fn parse_with_overrides(
    path: &Path,
    text: &str,
    overrides: &[Override],
) -> Result<(Scenario, Vec<ScenarioProblem>), ScenarioProblem> {
    let as_written = || parse_with_warnings(path, text);
    if overrides.is_empty() {
        let (scenario, warnings) = as_written()?;
        return Ok((scenario, warnings.into_iter().map(Into::into).collect()));
    }
    if overrides.len() > OVERRIDES_MAX {
        return Err(ScenarioProblem::Override {
            overrides: "--set".to_string(),
            field: "-".to_string(),
            message: format!("more than {OVERRIDES_MAX} overrides"),
        });
    }
    // A file that is not TOML is the file's problem, located by the loader.
    let mut document: toml::Table = match text.parse() {
        Ok(document) => document,
        Err(_) => {
            return Err(match as_written() {
                Err(error) => error.into(),
                Ok(_) => ScenarioProblem::Override {
                    overrides: blame_all(overrides),
                    field: "-".to_string(),
                    message: "the scenario file is not a TOML table".to_string(),
                },
            })
        }
    };
    for change in overrides {
        change
            .apply(&mut document)
            .map_err(|message| ScenarioProblem::Override {
                overrides: format!("--set {change}"),
                field: change.field(),
                message,
            })?;
    }
    let changed = toml::to_string(&document).map_err(|error| ScenarioProblem::Override {
        overrides: blame_all(overrides),
        field: "-".to_string(),
        message: format!("the overridden document cannot be written as TOML: {error}"),
    })?;
    let written = as_written();
    match parse_with_warnings(path, &changed) {
        Ok((mut scenario, warnings)) => {
            let known = written.map(|(_, warnings)| warnings).unwrap_or_default();
            let warnings = warnings
                .into_iter()
                .map(|warning| locate(warning, overrides, &known))
                .collect();
            scenario.overrides = overrides.iter().map(ToString::to_string).collect();
            Ok((scenario, warnings))
        }
        Err(error) => {
            let known: Vec<ScenarioError> = written.err().into_iter().collect();
            Err(locate(error, overrides, &known))
        }
    }
}

/// Blames the override whose field the problem is at (or under, or above); a problem the file
/// has as written (`known`) keeps its place in the file; any other is the overrides' together.
fn locate(
    problem: ScenarioError,
    overrides: &[Override],
    known: &[ScenarioError],
) -> ScenarioProblem {
    let related = |field: &str, other: &str| {
        field == other
            || field
                .strip_prefix(other)
                .is_some_and(|rest| rest.starts_with(['.', '[']))
    };
    let blamed: Vec<&Override> = overrides
        .iter()
        .filter(|change| {
            let field = change.field();
            related(&problem.field, &field) || related(&field, &problem.field)
        })
        .collect();
    if let Some(change) = blamed.last() {
        return ScenarioProblem::Override {
            overrides: format!("--set {change}"),
            field: problem.field,
            message: problem.message,
        };
    }
    if let Some(original) = known
        .iter()
        .find(|original| original.field == problem.field && original.message == problem.message)
    {
        return ScenarioProblem::File(original.clone());
    }
    ScenarioProblem::Override {
        overrides: blame_all(overrides),
        field: problem.field,
        message: problem.message,
    }
}

fn blame_all(overrides: &[Override]) -> String {
    overrides
        .iter()
        .map(|change| format!("--set {change}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `path --set A=1 --set B=2`, quoted for a POSIX shell: how a command names a scenario with its
/// overrides (replay commands).
pub fn command_words(path: &str, overrides: &[String]) -> String {
    let mut words = vec![quote(path)];
    for change in overrides {
        words.push("--set".to_string());
        words.push(quote(change));
    }
    words.join(" ")
}

/// A word as is when a shell reads it so (`proxy.propagation.p99=8s`), else quoted by shlex.
fn quote(word: &str) -> String {
    let plain =
        |character: char| character.is_ascii_alphanumeric() || "_./:=,@%+-".contains(character);
    if !word.is_empty() && word.chars().all(plain) {
        return word.to_string();
    }
    shlex::try_quote(word).map_or_else(|_| word.to_string(), |quoted| quoted.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str) -> Override {
        Override::parse(text).expect("a valid override")
    }

    // Guards the value rule: TOML when it parses as TOML, else the text as a string.
    #[test]
    fn values_are_toml_or_strings() {
        assert_eq!(
            set("fleet.0.count=20").toml_value(),
            toml::Value::Integer(20)
        );
        assert_eq!(
            set("deploy.0.wait_before_cordon=20s").toml_value(),
            toml::Value::String("20s".to_string())
        );
        assert_eq!(
            set("a=\"quoted\"").toml_value(),
            toml::Value::String("quoted".to_string())
        );
        assert!(set("a={ kind = \"constant\", value = \"2s\" }")
            .toml_value()
            .is_table());
        // A second key smuggled in by a newline is not TOML for one value: a string.
        assert!(set("a=1\nb = 2").toml_value().is_str());
    }

    // Guards the field names errors use, so a problem is blamed on its override.
    #[test]
    fn fields_are_named_like_errors() {
        assert_eq!(
            set("deploy.0.wait_before_cordon=1s").field(),
            "deploy[0].wait_before_cordon"
        );
        assert_eq!(
            set("proxy.propagation.p99=8s").field(),
            "proxy.propagation.p99"
        );
    }

    // Guards malformed overrides.
    #[test]
    fn malformed_overrides_are_refused() {
        assert!(Override::parse("no-equals").is_err());
        assert!(Override::parse("=1").is_err());
        assert!(Override::parse("fleet..count=1").is_err());
    }

    // Guards shell quoting of replay commands.
    #[test]
    fn replay_words_are_quoted() {
        assert_eq!(
            command_words("s.toml", &["proxy.propagation.p99=8s".to_string()]),
            "s.toml --set proxy.propagation.p99=8s"
        );
        assert_eq!(
            command_words("s.toml", &["a={ x = 1 }".to_string()]),
            "s.toml --set 'a={ x = 1 }'"
        );
    }
}
