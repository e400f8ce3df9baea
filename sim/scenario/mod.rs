//! Scenario files: TOML schema, validation, and errors that name file, line, column and field.

pub mod model;

pub use model::*;
