//! The committed `schema/airlock.schema.json` must be exactly what the model generates, and
//! every property must carry a description and an example for editors.

use serde_json::Value;
use std::path::Path;

#[test]
fn committed_schema_matches_the_model() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("airlock.schema.json");
    let generated = airlock_schema::json_schema_text();
    if std::env::var_os("AIRLOCK_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schema/airlock.schema.json is stale: run `AIRLOCK_UPDATE_SCHEMA=1 cargo test -p airlock-schema` and commit it"
    );
}

fn check_properties(schema: &Value, path: &str, missing: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get("properties") {
                for (name, prop) in props {
                    let here = format!("{path}.{name}");
                    let resolved = prop.get("$ref").map(|_| prop).unwrap_or(prop);
                    if resolved.get("description").is_none() {
                        missing.push(format!("{here}: description"));
                    }
                    if resolved.get("examples").is_none() && resolved.get("const").is_none() {
                        missing.push(format!("{here}: examples"));
                    }
                }
            }
            for (key, child) in map {
                check_properties(child, &format!("{path}/{key}"), missing);
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|i| check_properties(i, path, missing)),
        _ => {}
    }
}

#[test]
fn every_property_has_a_description_and_an_example() {
    let schema = airlock_schema::json_schema();
    let mut missing = Vec::new();
    check_properties(&schema, "", &mut missing);
    assert!(
        missing.is_empty(),
        "properties without help:\n{}",
        missing.join("\n")
    );
}
