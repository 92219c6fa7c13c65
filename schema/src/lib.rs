//! The Airlock contract: the `airlock.yaml` model that `airlockc` compiles, the typed values it
//! is made of, and the JSON Schema generated from it (published for editors as
//! `schema/airlock.schema.json`).
//!
//! Invariants:
//! - Every struct rejects unknown keys (`deny_unknown_fields`); the schema says
//!   `additionalProperties: false` everywhere, so editors and `airlockc` agree.
//! - Defaults are declared here with serde, so they appear in the schema.
//! - Credentials never appear as values: only [`types::SecretKeyRef`] / [`types::SecretRef`].

pub mod canonical;
pub mod config;
mod examples;
pub mod metrics;
pub mod network;
pub mod pins;
pub mod poisoning;
pub mod reference;
pub mod rego;
pub mod runtime;
pub mod tools;
pub mod types;

pub use config::{CONFIG_VERSION, Config};

use schemars::generate::SchemaSettings;
use serde_json::Value;

/// The `$id` under which the schema is published.
pub const SCHEMA_ID: &str =
    "https://raw.githubusercontent.com/acme/airlock/main/schema/airlock.schema.json";

/// The JSON Schema of `airlock.yaml` (draft-07, the dialect editors support best).
pub fn json_schema() -> Value {
    let generator = SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<Config>();
    let mut value = schema.to_value();
    strip_null(&mut value);
    describe_discriminators(&mut value);
    inline_scalar_definitions(&mut value);
    if let Value::Object(map) = &mut value {
        map.insert("$id".into(), Value::String(SCHEMA_ID.into()));
    }
    value
}

/// The schema as committed: pretty JSON with a trailing newline.
pub fn json_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&json_schema()).expect("schema serializes");
    text.push('\n');
    text
}

/// The extension keyword naming the type of an inlined scalar (ignored by validators).
pub const TYPE_KEYWORD: &str = "x-airlock-type";

/// Keys typed by a scalar definition (`issuer` -> `HttpUrl`, `timeout` -> `Duration`) get the
/// definition's constraints inline instead of an `allOf: [{$ref}]` wrapper: editors then hover
/// with the key's own description, not the definition's. Object and union definitions stay
/// references; definitions nothing refers to any more are dropped.
fn inline_scalar_definitions(root: &mut Value) {
    let Some(Value::Object(definitions)) = root.get("definitions").cloned() else {
        return;
    };
    let scalar = |name: &str| {
        definitions.get(name).is_some_and(|d| {
            d.get("properties").is_none()
                && d.get("oneOf").is_none()
                && d.get("type").is_none_or(|t| t != "object")
        })
    };
    fn target(node: &serde_json::Map<String, Value>) -> Option<String> {
        let reference = match node.get("allOf") {
            Some(Value::Array(all)) if all.len() == 1 => all[0].get("$ref"),
            _ => node.get("$ref"),
        }?;
        Some(
            reference
                .as_str()?
                .trim_start_matches("#/definitions/")
                .to_string(),
        )
    }
    fn walk(value: &mut Value, inline: &dyn Fn(&str) -> Option<serde_json::Map<String, Value>>) {
        match value {
            Value::Object(map) => {
                if let Some(name) = target(map)
                    && let Some(definition) = inline(&name)
                {
                    map.remove("allOf");
                    map.remove("$ref");
                    for (key, keyword) in definition {
                        map.entry(key).or_insert(keyword);
                    }
                    // airlockc words its messages by type (`DnsLabel`, `Duration`, ...).
                    map.insert(TYPE_KEYWORD.into(), Value::String(name));
                }
                map.values_mut().for_each(|v| walk(v, inline));
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, inline)),
            _ => {}
        }
    }
    let inline = |name: &str| {
        scalar(name)
            .then(|| definitions.get(name).and_then(Value::as_object).cloned())
            .flatten()
    };
    walk(root, &inline);
    // Drop definitions no longer referenced anywhere.
    let text = serde_json::to_string(root).expect("schema serializes");
    if let Some(Value::Object(kept)) = root.get_mut("definitions") {
        kept.retain(|name, _| text.contains(&format!("\"#/definitions/{name}\"")));
    }
}

/// Tagged unions (`roots`, `upstreams`) select their variant by `type`; give that key help too.
fn describe_discriminators(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let variant = map
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if let Some(Value::Object(tag)) =
                map.get_mut("properties").and_then(|p| p.get_mut("type"))
                && let Some(kind) = tag.get("const").cloned()
            {
                let what = variant.unwrap_or_default();
                tag.insert(
                    "description".into(),
                    Value::String(format!("`{}`: {what}", kind.as_str().unwrap_or_default())),
                );
                tag.insert("examples".into(), Value::Array(vec![kind]));
            }
            map.values_mut().for_each(describe_discriminators);
        }
        Value::Array(items) => items.iter_mut().for_each(describe_discriminators),
        _ => {}
    }
}

/// `Option<T>` fields are optional keys, not nullable values: remove the `null` alternatives
/// schemars adds so editors do not offer `null`.
fn strip_null(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            for key in ["anyOf", "oneOf"] {
                if let Some(Value::Array(branches)) = map.get_mut(key) {
                    branches.retain(|b| {
                        b.get("type").is_none_or(|t| t != "null")
                            || b.as_object().is_some_and(|o| o.len() > 1)
                    });
                    if branches.len() == 1 && key == "anyOf" {
                        let only = branches.remove(0);
                        map.remove(key);
                        if let Value::Object(inner) = only {
                            for (k, v) in inner {
                                map.entry(k).or_insert(v);
                            }
                        }
                    }
                }
            }
            map.values_mut().for_each(strip_null);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_null),
        _ => {}
    }
}
