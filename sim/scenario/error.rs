//! `ScenarioError`: every problem with a scenario file, located by file, line, column and field, so
//! a user can jump straight to the offending value.

use std::cell::RefCell;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A scenario file that could not be read, parsed or validated.
///
/// Displays as `{file}:{line}:{column}: {field}: {message}` (the format editors and terminals turn
/// into a link). Line and column are 1-based; both are 0 when the file could not be read at all.
/// `field` is the dotted path of the offending value (`deploy[0].wait_timeout`), or `-` when the
/// error is a TOML syntax error that belongs to no field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub field: String,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{}:{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.field,
            self.message
        )
    }
}

impl std::error::Error for ScenarioError {}

/// Where errors of one file are reported: turns byte spans into line and column. Warnings (a
/// value that is valid but likely not what the author meant) are collected on the side.
pub(crate) struct Source<'a> {
    pub file: &'a Path,
    pub text: &'a str,
    pub warnings: RefCell<Vec<ScenarioError>>,
}

impl<'a> Source<'a> {
    pub fn new(file: &'a Path, text: &'a str) -> Source<'a> {
        Source {
            file,
            text,
            warnings: RefCell::new(Vec::new()),
        }
    }

    /// Records a warning at the start of `span`, in the same form as an error.
    pub fn warn(&self, span: &Range<usize>, field: impl Into<String>, message: impl Into<String>) {
        let warning = self.error(span, field, message);
        self.warnings.borrow_mut().push(warning);
    }

    /// An error at the start of `span`.
    pub fn error(
        &self,
        span: &Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> ScenarioError {
        let (line, column) = line_column(self.text, span.start);
        ScenarioError {
            file: self.file.to_path_buf(),
            line,
            column,
            field: field.into(),
            message: message.into(),
        }
    }
}

/// 1-based line and column (in characters, not bytes) of byte `offset` in `text`.
///
/// Offsets past the end, or inside a multi-byte character, are clamped so a bad span from a
/// dependency can never panic the loader.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::line_column;

    #[test]
    fn line_column_is_one_based_and_counts_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        // `=` on line 2 is after "bé " (4 bytes, 3 characters).
        assert_eq!(line_column(text, 10), (2, 4));
        assert_eq!(line_column(text, 1000), (3, 1));
        // Inside the two-byte `é`: clamped back to its start.
        assert_eq!(line_column(text, 8), (2, 2));
    }
}
