//! `airlock info`: the effective configuration, as the runtime reads it, with secrets masked —
//! policy sources reduced to their digests, secret files shown as paths (and whether they are
//! mounted, never their content), the database URL without its password, and literal header
//! or environment values that look like credentials replaced by `***`.

use airlock_schema::runtime::FrozenConfig;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const MASK: &str = "***";

/// Names whose literal values are masked.
fn sensitive(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "passwd",
        "key",
        "auth",
        "credential",
        "cookie",
    ]
    .iter()
    .any(|s| name.contains(s))
}

/// A database URL without its password, in the userinfo or in the query
/// (`?password=...`, `sslpassword`, ... as libpq and JDBC accept them).
pub fn mask_url(url: &str) -> String {
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        return MASK.to_string();
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some(MASK));
    }
    if parsed.query_pairs().any(|(name, _)| sensitive(&name)) {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(name, value)| {
                let value = if sensitive(&name) {
                    MASK.into()
                } else {
                    value.into_owned()
                };
                (name.into_owned(), value)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

fn module_summary(module: &Value) -> Value {
    let source = module["source"].as_str().unwrap_or_default();
    json!({
        "path": module["path"],
        "sha256": format!("sha256:{}", hex::encode(Sha256::digest(source.as_bytes()))),
        "lines": source.lines().count(),
    })
}

/// Walks the config: masks literal values of sensitive names and annotates secret files.
fn mask(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let name = map.get("name").and_then(Value::as_str).map(str::to_string);
            if let (Some(name), Some(literal)) = (&name, map.get_mut("value"))
                && sensitive(name)
                && literal.is_string()
            {
                *literal = MASK.into();
            }
            for (key, entry) in map.iter_mut() {
                if key.ends_with("File")
                    && let Some(path) = entry.as_str()
                {
                    let mounted = crate::config::read_secret(path).is_ok();
                    *entry = json!({ "path": path, "mounted": mounted });
                } else {
                    mask(entry);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask),
        _ => {}
    }
}

/// The masked configuration as JSON.
pub fn effective(config: &FrozenConfig, path: &str) -> Value {
    let mut value = serde_json::to_value(config).expect("the config serializes");
    for list in ["modules", "tests"] {
        if let Some(Value::Array(modules)) = value["policy"].get_mut(list) {
            *modules = modules.iter().map(module_summary).collect();
        }
    }
    if let Value::Object(store) = &mut value["audit"]["store"]
        && let Some(url_file) = store
            .get("urlFile")
            .and_then(Value::as_str)
            .map(str::to_string)
    {
        let url = crate::config::read_secret(&url_file)
            .ok()
            .map(|u| mask_url(&u));
        store.insert("url".into(), url.map_or(Value::Null, Value::String));
    }
    mask(&mut value);
    json!({
        "airlock": env!("CARGO_PKG_VERSION"),
        "config": path,
        "effective": value,
    })
}

/// `airlock info`.
pub fn run(path: &std::path::Path) -> std::process::ExitCode {
    match crate::config::load(path) {
        Ok(config) => {
            let info = effective(&config, &path.display().to_string());
            println!(
                "{}",
                serde_json::to_string_pretty(&info).expect("JSON serializes")
            );
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("airlock info: {error}");
            std::process::ExitCode::from(78)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_credential_literals_are_masked() {
        assert_eq!(
            mask_url("postgres://airlock:hunter2@db:5432/audit"),
            "postgres://airlock:***@db:5432/audit"
        );
        assert_eq!(
            mask_url("postgres://db:5432/audit"),
            "postgres://db:5432/audit"
        );
        assert_eq!(
            mask_url("postgres://u:S3cret@db/audit?sslmode=require&password=Other"),
            "postgres://u:***@db/audit?sslmode=require&password=***"
        );
        let mut value = json!({"env": [{"name": "API_TOKEN", "value": "s3cr3t"}, {"name": "LOG_LEVEL", "value": "debug"}],
            "credentials": {"accessKeyIdFile": "/nonexistent/key"}});
        mask(&mut value);
        assert_eq!(value["env"][0]["value"], MASK);
        assert_eq!(value["env"][1]["value"], "debug");
        assert_eq!(
            value["credentials"]["accessKeyIdFile"],
            json!({"path": "/nonexistent/key", "mounted": false})
        );
    }
}
