//! docs/scenario-reference.md, generated from the JSON Schema (`fleetsim schema --markdown`):
//! every section and field with its type, default, range, meaning and an example.

use std::fmt::Write as _;

use serde_json::{Map, Value};

/// The sections in the order a scenario file usually has them; a section the schema has and this
/// list lacks still appears, after them.
const SECTION_ORDER: [&str; 12] = [
    "scenario", "app", "machine", "fleet", "api", "proxy", "traffic", "deploy", "faults", "run",
    "check", "expect",
];

/// The command that writes the reference.
pub const REGENERATE: &str = "cargo run -- schema --markdown > docs/scenario-reference.md";

/// The reference as Markdown.
pub fn markdown(schema: &Value) -> String {
    let reference = Reference { schema };
    let mut out = String::new();
    reference.preamble(&mut out);
    let properties = object(&schema["properties"]);
    let required = names(&schema["required"]);
    let mut sections: Vec<&str> = SECTION_ORDER
        .iter()
        .copied()
        .filter(|name| properties.contains_key(*name))
        .collect();
    sections.extend(
        properties
            .keys()
            .map(String::as_str)
            .filter(|name| !SECTION_ORDER.contains(name)),
    );
    for name in sections {
        reference.section(&mut out, name, &properties[name], required.contains(&name));
    }
    reference.kinds(&mut out, "Distribution", "Distributions", "distribution");
    reference.kinds(&mut out, "Fault", "Fault kinds", "fault");
    reference.value_types(&mut out);
    out
}

struct Reference<'a> {
    schema: &'a Value,
}

/// How a field's value is written, once `$ref`s are followed.
enum Shape<'a> {
    /// A table: a struct definition (by name).
    Table(&'a str),
    /// An array of tables.
    Tables(&'a str),
    /// A table of tables, keyed by `key` (a word type's name, or "name").
    Keyed(&'a str, String),
    /// Anything else: a value in a cell.
    Value,
}

impl Reference<'_> {
    fn preamble(&self, out: &mut String) {
        let _ = writeln!(out, "# Scenario file reference\n");
        let _ = writeln!(
            out,
            "Generated from the scenario types by `fleetsim schema --markdown`: do not edit by \
             hand. A test fails when this file differs from what the generator writes; \
             regenerate it with `{REGENERATE}`.\n"
        );
        let _ = writeln!(
            out,
            "{}\n",
            one_line(self.schema["description"].as_str().unwrap_or_default())
        );
        let _ = writeln!(
            out,
            "A field marked **required** must be written; every other field may be left out, \
             and then has its default. `fleetsim schema` prints the same description as a JSON \
             Schema for editors; `fleetsim init` writes a commented scenario to start from. \
             Value types (duration, region, machine, ...) are described at the end.\n"
        );
    }

    fn definition(&self, name: &str) -> &Value {
        &self.schema["definitions"][name]
    }

    /// The definition a property refers to (directly or through `allOf`), with its name.
    fn referenced<'v>(&'v self, property: &'v Value) -> Option<(&'v str, &'v Value)> {
        let reference = property
            .get("$ref")
            .or_else(|| property["allOf"].get(0).and_then(|inner| inner.get("$ref")))?;
        let name = reference.as_str()?.rsplit('/').next()?;
        Some((name, self.definition(name)))
    }

    /// A table keyed by a list of words (an operation, a strategy): every value of the same
    /// definition, which this returns with the keys.
    fn keyed<'v>(&'v self, property: &'v Value) -> Option<(&'v str, Vec<&'v str>)> {
        let values = property["properties"].as_object()?;
        let mut names = values
            .values()
            .map(|value| self.referenced(value).map(|(name, _)| name));
        let first = names.next()??;
        if property["type"] != "object" || !names.all(|name| name == Some(first)) {
            return None;
        }
        Some((first, values.keys().map(String::as_str).collect()))
    }

    fn is_table(&self, name: &str) -> bool {
        name != "Distribution" && self.definition(name).get("properties").is_some()
    }

    fn shape<'v>(&'v self, property: &'v Value) -> Shape<'v> {
        if let Some((name, _)) = self.referenced(property) {
            if self.is_table(name) {
                return Shape::Table(name);
            }
        }
        if let Some((name, _)) = self.referenced(&property["items"]) {
            if self.is_table(name) {
                return Shape::Tables(name);
            }
        }
        if let Some((name, _)) = self.keyed(property) {
            if self.is_table(name) {
                return Shape::Keyed(name, "name".to_string());
            }
        }
        Shape::Value
    }

    fn section(&self, out: &mut String, name: &str, property: &Value, required: bool) {
        let mark = if required { " (required)" } else { "" };
        let heading = |text: String| format!("`{text}`{mark}");
        match self.shape(property) {
            Shape::Table(definition) => self.table(
                out,
                &heading(format!("[{name}]")),
                name,
                definition,
                property,
            ),
            Shape::Tables(definition) => self.table(
                out,
                &heading(format!("[[{name}]]")),
                name,
                definition,
                property,
            ),
            Shape::Keyed(definition, key) => self.table(
                out,
                &heading(format!("[{name}.<{key}>]")),
                name,
                definition,
                property,
            ),
            Shape::Value => {}
        }
    }

    /// One table's fields, then its nested tables.
    fn table(&self, out: &mut String, heading: &str, path: &str, name: &str, property: &Value) {
        let definition = self.definition(name);
        let _ = writeln!(out, "## {heading}\n");
        if let Some(text) = property["description"].as_str() {
            let _ = writeln!(out, "{}\n", one_line(text));
        }
        // A definition's own description adds to the field's unless it only names the table.
        if let Some(text) = definition["description"]
            .as_str()
            .filter(|text| text.len() > 20)
        {
            let _ = writeln!(out, "{}\n", one_line(text));
        }
        let properties = object(&definition["properties"]);
        let required = names(&definition["required"]);
        let _ = writeln!(
            out,
            "| Field | Type | Default | Range | Meaning | Example |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|");
        let mut nested = Vec::new();
        for (field, property) in properties {
            let shape = self.shape(property);
            if !matches!(shape, Shape::Value) {
                nested.push((field, property, shape));
            }
            let default = match (property.get("default"), required.contains(&field.as_str())) {
                (_, true) => "**required**".to_string(),
                (Some(value), false) => format!("`{}`", toml_literal(value)),
                (None, false) => String::new(),
            };
            let _ = writeln!(
                out,
                "| `{field}` | {} | {default} | {} | {} | {} |",
                self.type_of(property),
                cell(&self.range_of(property)),
                cell(property["description"].as_str().unwrap_or_default()),
                self.example_of(property)
                    .map_or(String::new(), |example| format!(
                        "`{field} = {}`",
                        cell(&toml_literal(&example))
                    )),
            );
        }
        let _ = writeln!(out);
        let rules: Vec<&str> = definition["allOf"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|rule| rule["description"].as_str())
            .collect();
        if !rules.is_empty() {
            let _ = writeln!(out, "Rules across fields:\n");
            for rule in rules {
                let _ = writeln!(out, "- {}", one_line(rule));
            }
            let _ = writeln!(out);
        }
        for (field, property, shape) in nested {
            let child = format!("{path}.{field}");
            match shape {
                Shape::Table(name) => {
                    self.table(out, &format!("`[{child}]`"), &child, name, property)
                }
                Shape::Tables(name) => {
                    self.table(out, &format!("`[[{child}]]`"), &child, name, property)
                }
                Shape::Keyed(name, key) => {
                    self.table(out, &format!("`[{child}.<{key}>]`"), &child, name, property)
                }
                Shape::Value => {}
            }
        }
    }

    /// A definition's type name: a value type's title, `distribution`, `count`, `status`.
    fn type_name(&self, name: &str, definition: &Value) -> String {
        let definition = if definition.is_null() {
            self.definition(name)
        } else {
            definition
        };
        match definition["title"].as_str() {
            Some(title) => title.to_string(),
            None => name.to_lowercase(),
        }
    }

    fn type_of(&self, property: &Value) -> String {
        if let Some((name, definition)) = self.referenced(property) {
            return match self.is_table(name) {
                true => "table".to_string(),
                false => self.type_name(name, definition),
            };
        }
        match property["type"].as_str() {
            Some("array") => match self.shape(property) {
                Shape::Tables(_) => "array of tables".to_string(),
                _ => format!("array of {}", self.type_of(&property["items"])),
            },
            Some("object") => match self.keyed(property) {
                Some((name, _)) if self.is_table(name) => "tables by name".to_string(),
                Some((name, _)) => format!("table of {}", self.type_name(name, &Value::Null)),
                None => "table of strings".to_string(),
            },
            Some("number") => "number".to_string(),
            Some(other) => other.to_string(),
            None => "value".to_string(),
        }
    }

    fn range_of(&self, property: &Value) -> String {
        let mut parts = Vec::new();
        let words = self
            .referenced(property)
            .or_else(|| self.referenced(&property["items"]))
            .and_then(|(_, definition)| definition["enum"].as_array());
        if let Some(words) = words {
            let words: Vec<String> = words
                .iter()
                .map(|word| format!("`{}`", plain(word)))
                .collect();
            parts.push(format!("one of {}", words.join(", ")));
        }
        if let Some((_, keys)) = self.keyed(property) {
            let keys: Vec<String> = keys.iter().map(|key| format!("`{key}`")).collect();
            parts.push(format!("names: {}", keys.join(", ")));
        }
        let bound = |key: &str| property.get(key).map(plain);
        match (
            bound("minimum"),
            bound("exclusiveMinimum"),
            bound("maximum"),
        ) {
            (Some(min), _, Some(max)) => parts.push(format!("{min} to {max}")),
            (None, Some(min), Some(max)) => parts.push(format!("> {min}, ≤ {max}")),
            (None, Some(min), None) => parts.push(format!("> {min}")),
            (Some(min), _, None) => parts.push(format!("≥ {min}")),
            (None, None, Some(max)) => parts.push(format!("≤ {max}")),
            (None, None, None) => {}
        }
        match (bound("minItems"), bound("maxItems")) {
            (Some(min), Some(max)) => parts.push(format!("{min} to {max} entries")),
            (None, Some(max)) => parts.push(format!("at most {max} entries")),
            _ => {}
        }
        if property["uniqueItems"] == true {
            parts.push("no duplicates".to_string());
        }
        parts.join("; ")
    }

    /// The schema's example, else its default, else one made from the type.
    fn example_of(&self, property: &Value) -> Option<Value> {
        if let Some(example) = property["examples"].get(0) {
            return Some(example.clone());
        }
        if let Some(default) = property.get("default") {
            return Some(default.clone());
        }
        if !matches!(self.shape(property), Shape::Value) {
            return None;
        }
        let typical = |name: &str, definition: &Value| -> Value {
            if let Some(first) = definition["enum"].get(0) {
                return first.clone();
            }
            Value::String(
                match self.type_name(name, definition).as_str() {
                    "duration" => "10s",
                    "region" => "iad",
                    "machine" => "blue:0",
                    "calls" => "1..2",
                    "signal" => "SIGINT",
                    "distribution" => {
                        return serde_json::json!({ "kind": "lognormal", "median": "1s", "p99": "5s", "max": "10s" })
                    }
                    "count" => return serde_json::json!(1),
                    "status" => return serde_json::json!(503),
                    _ => "",
                }
                .to_string(),
            )
        };
        if let Some((name, definition)) = self.referenced(property) {
            return Some(typical(name, definition));
        }
        if let Some((name, definition)) = self.referenced(&property["items"]) {
            return Some(Value::Array(vec![typical(name, definition)]));
        }
        if let Some((name, keys)) = self.keyed(property) {
            let value = typical(name, self.definition(name));
            return Some(serde_json::json!({ keys[0]: value }));
        }
        match property["type"].as_str() {
            Some("integer") => Some(property.get("minimum").cloned().unwrap_or(1.into())),
            Some("number") => Some(serde_json::json!(0.5)),
            Some("boolean") => Some(Value::Bool(true)),
            Some("string") => Some(Value::String("text".to_string())),
            Some("array") => Some(Value::Array(vec![Value::String("text".to_string())])),
            Some("object") => Some(serde_json::json!({ "key": "value" })),
            _ => None,
        }
    }

    /// The kinds of a tagged definition: required and allowed fields, what each does.
    fn kinds(&self, out: &mut String, name: &str, heading: &str, what: &str) {
        let definition = self.definition(name);
        let fields: Vec<&String> = object(&definition["properties"]).keys().collect();
        let summaries = definition["properties"]["kind"]["x-enumDescriptions"].as_array();
        let _ = writeln!(out, "## {heading}\n");
        let _ = writeln!(
            out,
            "Which fields a {what} takes depends on its `kind`; any other field is refused.\n"
        );
        let with_summary = summaries.is_some();
        let _ = writeln!(
            out,
            "| Kind | Required | Optional |{}",
            if with_summary { " What it does |" } else { "" }
        );
        let _ = writeln!(
            out,
            "|---|---|---|{}",
            if with_summary { "---|" } else { "" }
        );
        let rules = definition["allOf"].as_array().cloned().unwrap_or_default();
        let kind_rules = rules
            .iter()
            .filter(|rule| rule["if"]["properties"]["kind"]["const"].is_string());
        for (index, rule) in kind_rules.enumerate() {
            let kind = plain(&rule["if"]["properties"]["kind"]["const"]);
            let required = names(&rule["then"]["required"]);
            let one_of: Vec<&str> = rule["then"]["anyOf"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|choice| names(&choice["required"]))
                .collect();
            let refused = object(&rule["then"]["properties"]);
            let optional: Vec<&str> = fields
                .iter()
                .map(|field| field.as_str())
                .filter(|field| {
                    *field != "kind"
                        && !required.contains(field)
                        && !one_of.contains(field)
                        && !refused.contains_key(*field)
                })
                .collect();
            let mut required = code_list(&required);
            if !one_of.is_empty() {
                let choices: Vec<String> =
                    one_of.iter().map(|field| format!("`{field}`")).collect();
                if !required.is_empty() {
                    required.push_str(", ");
                }
                required.push_str(&choices.join(" or "));
            }
            let summary = summaries
                .and_then(|summaries| summaries.get(index))
                .map(|summary| format!(" {} |", cell(&plain(summary))))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| `{kind}` | {required} | {} |{summary}",
                code_list(&optional)
            );
        }
        let _ = writeln!(out);
    }

    fn value_types(&self, out: &mut String) {
        let _ = writeln!(out, "## Value types\n");
        let definitions = object(&self.schema["definitions"]);
        let mut seen = Vec::new();
        for (name, definition) in definitions {
            if self.is_table(name) || definition["enum"].is_array() {
                continue;
            }
            let type_name = self.type_name(name, definition);
            let description = definition["description"].as_str().unwrap_or_default();
            if seen.contains(&(type_name.clone(), description)) {
                continue;
            }
            let _ = writeln!(out, "- **{type_name}**: {}", one_line(description));
            seen.push((type_name, description));
        }
        let _ = writeln!(
            out,
            "- **word**: one of the words listed in the field's Range column.\n"
        );
    }
}

fn object(value: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
    value.as_object().unwrap_or(&EMPTY)
}

fn names(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn code_list(names: &[&str]) -> String {
    let names: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    names.join(", ")
}

/// A value as text without JSON's quotes.
fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Text for a table cell: pipes escaped, on one line.
fn cell(text: &str) -> String {
    one_line(text).replace('|', "\\|")
}

/// A doc comment's lines joined into one.
fn one_line(text: &str) -> String {
    text.replace('\n', " ")
}

/// A JSON value as TOML writes it (strings quoted, tables inline).
fn toml_literal(value: &Value) -> String {
    match value {
        Value::String(text) => format!("{text:?}"),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(toml_literal).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(key, value)| format!("{key} = {}", toml_literal(value)))
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
        other => other.to_string(),
    }
}
