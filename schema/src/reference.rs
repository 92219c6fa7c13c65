//! The configuration reference (`docs/configuration.md`), generated from the JSON Schema so it
//! cannot drift from what `airlockc` accepts: every key with its type, default, constraints and
//! description, section by section. `schema/tests/reference.rs` fails when the file is stale.

use serde_json::{Map, Value};

/// One documented key.
struct Row {
    key: String,
    kind: String,
    default: String,
    description: String,
}

struct Walker<'a> {
    definitions: &'a Map<String, Value>,
    rows: Vec<Row>,
}

/// Resolves `$ref` and `allOf: [{$ref}]` wrappers into one object of keywords (the wrapper's own
/// keywords, e.g. its description, win).
fn resolve(node: &Value, definitions: &Map<String, Value>) -> Map<String, Value> {
    let mut merged = Map::new();
    let mut own = node.as_object().cloned().unwrap_or_default();
    let mut targets = Vec::new();
    if let Some(Value::String(reference)) = own.remove("$ref") {
        targets.push(reference);
    }
    if let Some(Value::Array(all)) = own.remove("allOf") {
        for part in all {
            match part.get("$ref").and_then(Value::as_str) {
                Some(reference) => targets.push(reference.to_string()),
                None => own.extend(resolve(&part, definitions)),
            }
        }
    }
    for reference in targets {
        let name = reference.trim_start_matches("#/definitions/");
        if let Some(definition) = definitions.get(name) {
            merged.extend(resolve(definition, definitions));
        }
    }
    merged.extend(own);
    merged
}

fn one_line(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn compact(value: &Value) -> String {
    format!(
        "`{}`",
        serde_json::to_string(value).expect("JSON serializes")
    )
    .replace('|', "\\|")
}

/// The type column: the JSON type and what constrains it.
fn kind(node: &Map<String, Value>) -> String {
    if let Some(constant) = node.get("const") {
        return format!("{} (always)", compact(constant));
    }
    if let Some(Value::Array(choices)) = node.get("enum") {
        return choices
            .iter()
            .map(compact)
            .collect::<Vec<_>>()
            .join(" \\| ");
    }
    if let Some(Value::Array(alternatives)) = node.get("anyOf") {
        return alternatives
            .iter()
            .map(|a| kind(a.as_object().unwrap_or(&Map::new())))
            .collect::<Vec<_>>()
            .join(" or ");
    }
    let base = match node.get("type") {
        Some(Value::String(t)) if t == "array" => {
            match node.get("items").and_then(Value::as_object) {
                Some(items) if items.contains_key("type") => format!("array of {}", kind(items)),
                _ => "array".into(),
            }
        }
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" or "),
        _ if node.contains_key("oneOf") => "one of the variants below".into(),
        _ => "any".into(),
    };
    let mut notes = Vec::new();
    if let Some(pattern) = node.get("pattern").and_then(Value::as_str) {
        notes.push(format!("pattern `{}`", pattern.replace('|', "\\|")));
    }
    for (key, label) in [
        ("minimum", "≥"),
        ("maximum", "≤"),
        ("minLength", "length ≥"),
        ("maxLength", "length ≤"),
        ("minItems", "items ≥"),
        ("maxItems", "items ≤"),
    ] {
        if let Some(n) = node.get(key) {
            notes.push(format!("{label} {n}"));
        }
    }
    if notes.is_empty() {
        base
    } else {
        format!("{base}, {}", notes.join(", "))
    }
}

impl Walker<'_> {
    fn walk(&mut self, key: &str, node: &Value, required: bool) {
        let mut node = resolve(node, self.definitions);
        if let Some(items) = node.get("items") {
            let items = Value::Object(resolve(items, self.definitions));
            node.insert("items".into(), items);
        }
        let description = node
            .get("description")
            .and_then(Value::as_str)
            .map(one_line)
            .unwrap_or_default();
        let default = match (node.get("default"), required) {
            (Some(default), _) => compact(default),
            (None, true) => "required".into(),
            (None, false) => String::new(),
        };
        self.rows.push(Row {
            key: key.to_string(),
            kind: kind(&node),
            default,
            description,
        });
        self.children(key, &node);
    }

    fn children(&mut self, key: &str, node: &Map<String, Value>) {
        if let Some(Value::Object(properties)) = node.get("properties") {
            let required: Vec<&str> = node
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for (name, child) in properties {
                self.walk(
                    &format!("{key}.{name}"),
                    child,
                    required.contains(&name.as_str()),
                );
            }
        }
        if let Some(items) = node.get("items") {
            let items = resolve(items, self.definitions);
            self.children(&format!("{key}[]"), &items);
        }
        if let Some(Value::Object(values)) = node.get("additionalProperties") {
            let values = resolve(&Value::Object(values.clone()), self.definitions);
            self.children(&format!("{key}.<name>"), &values);
        }
        if let Some(Value::Array(variants)) = node.get("oneOf") {
            for variant in variants {
                let variant = resolve(variant, self.definitions);
                let tag = variant
                    .get("properties")
                    .and_then(|p| p.get("type"))
                    .and_then(|t| t.get("const"))
                    .and_then(Value::as_str);
                match tag {
                    Some(tag) => {
                        let before = self.rows.len();
                        self.children(key, &variant);
                        for row in &mut self.rows[before..] {
                            row.key = format!("{} (type: {tag})", row.key);
                        }
                    }
                    None => self.children(key, &variant),
                }
            }
        }
    }
}

/// The reference as Markdown.
pub fn markdown(schema: &Value) -> String {
    let empty = Map::new();
    let definitions = schema
        .get("definitions")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut out = String::from(
        "# Configuration reference\n\n\
         <!-- Generated from schema/airlock.schema.json by `AIRLOCK_UPDATE_DOCS=1 cargo test -p airlock-schema --test reference`; do not edit by hand. -->\n\n\
         Every key of `airlock.yaml`, as `airlockc` accepts it. Keys are camelCase; unknown keys are \
         errors (AL1002). Durations are written like `30s`, `5m`, `90d`; sizes as Kubernetes \
         quantities (`64Mi`); rates as `200/min`. Secrets are never values: they are references to \
         Kubernetes Secrets (`secretRef`, `databaseSecretRef`), mounted as files. `airlockc explain \
         CODE` explains any diagnostic; editors complete and check keys with the published schema \
         (see [editor-setup.md](editor-setup.md)).\n",
    );
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return out;
    };
    for (name, node) in properties {
        let mut walker = Walker {
            definitions,
            rows: Vec::new(),
        };
        walker.walk(name, node, required.contains(&name.as_str()));
        let top = walker.rows.remove(0);
        out.push_str(&format!("\n## `{name}`\n\n{}\n\n", top.description));
        out.push_str(&format!("Type: {}", top.kind));
        if !top.default.is_empty() {
            out.push_str(&format!(". Default: {}", top.default));
        }
        out.push_str(".\n");
        if !walker.rows.is_empty() {
            out.push_str("\n| Key | Type | Default | Description |\n|---|---|---|---|\n");
            for row in walker.rows {
                out.push_str(&format!(
                    "| `{}` | {} | {} | {} |\n",
                    row.key, row.kind, row.default, row.description
                ));
            }
        }
        if let Some(example) = node.get("examples").and_then(|e| e.get(0)) {
            let mut wrapped = Map::new();
            wrapped.insert(name.clone(), example.clone());
            let yaml = yaml_serde::to_string(&Value::Object(wrapped)).expect("YAML serializes");
            out.push_str(&format!("\nExample:\n\n```yaml\n{}```\n", yaml));
        }
    }
    out
}
