//! Loading the frozen runtime config: the only input of the runtime. A config written by
//! another format version, or whose content no longer matches its hash, is refused with a
//! one-line reason — the runtime never guesses.

use airlock_schema::runtime::{FORMAT_VERSION, FrozenConfig, SECRETS_DIR};
use std::path::{Path, PathBuf};

/// Why a config cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Reads and verifies `airlock.json`.
pub fn load(path: &Path) -> Result<FrozenConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
    parse(&text).map_err(|ConfigError(reason)| ConfigError(format!("{}: {reason}", path.display())))
}

/// Parses and verifies the text of a frozen config.
pub fn parse(text: &str) -> Result<FrozenConfig, ConfigError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ConfigError(format!("not valid JSON ({e})")))?;
    let declared = value.get("formatVersion");
    match declared.and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(FORMAT_VERSION) => {}
        Some(v) => {
            return Err(ConfigError(format!(
                "format version {v} is not supported by this airlock (it reads version {FORMAT_VERSION}); rebuild with a matching airlockc"
            )));
        }
        None if declared.is_some() => {
            return Err(ConfigError(format!(
                "formatVersion is {}, not a number: the file was edited after airlockc built it; rebuild it instead",
                declared.map(ToString::to_string).unwrap_or_default()
            )));
        }
        None => {
            return Err(ConfigError(
                "no formatVersion: this is not a config written by airlockc build".into(),
            ));
        }
    }
    let config: FrozenConfig = serde_json::from_value(value).map_err(|e| {
        ConfigError(format!(
            "does not match format version {FORMAT_VERSION} ({e})"
        ))
    })?;
    let actual = airlock_schema::canonical::sha256_tag(config.hashed_text().as_bytes());
    if actual != config.content_hash {
        return Err(ConfigError(format!(
            "content hash mismatch (declared {}, actual {actual}): the file was edited after airlockc built it; rebuild it instead",
            if config.content_hash.is_empty() {
                "none"
            } else {
                &config.content_hash
            }
        )));
    }
    refuse_forbidden_endpoints(&config)?;
    refuse_unreviewed_pins(&config)?;
    Ok(config)
}

/// A pin whose definition does not hash to it: the gateway compares listings with the
/// definition and reports the hash, so the two must be the same review. airlockc refuses such a
/// lock (AL6008); a file written by hand with a recomputed hash is refused here too.
fn refuse_unreviewed_pins(config: &FrozenConfig) -> Result<(), ConfigError> {
    let Some(pins) = &config.tools.pins else {
        return Ok(());
    };
    for (upstream, tools) in &pins.upstreams {
        for (tool, pin) in tools {
            let actual = airlock_schema::pins::pin_hash(&pin.definition);
            if actual != pin.sha256 {
                return Err(ConfigError(format!(
                    "tools.pins.upstreams.{upstream}.{tool}: the definition hashes to {actual}, not to its pin {}: the file was edited after airlockc built it; rebuild it instead",
                    pin.sha256
                )));
            }
        }
    }
    Ok(())
}

/// Every endpoint the gateway connects to, by where it is in the config. airlockc refuses a
/// metadata or link-local host (AL2039); a file written by hand with a recomputed hash is
/// refused here too, before anything connects.
fn endpoints(config: &FrozenConfig) -> Vec<(String, &str)> {
    use airlock_schema::runtime::{RootConfig, Transport};
    let mut found = vec![("auth.issuer".to_string(), config.auth.issuer.as_str())];
    for upstream in &config.upstreams {
        if let Transport::Http { url, .. } = &upstream.transport {
            found.push((format!("upstreams[{}].url", upstream.name), url.as_str()));
        }
    }
    for root in &config.roots {
        if let RootConfig::S3 {
            name,
            endpoint: Some(endpoint),
            ..
        } = root
        {
            found.push((format!("roots[{name}].endpoint"), endpoint.as_str()));
        }
    }
    if let Some(endpoint) = config
        .audit
        .export
        .as_ref()
        .and_then(|e| e.endpoint.as_deref())
    {
        found.push(("audit.export.endpoint".into(), endpoint));
    }
    if let Some(tracing) = &config.observability.tracing {
        found.push((
            "observability.tracing.endpoint".into(),
            tracing.endpoint.as_str(),
        ));
    }
    if let Some(store) = &config.rate_limits.store {
        found.push(("rateLimits.store.url".into(), store.url.as_str()));
    }
    found
}

fn refuse_forbidden_endpoints(config: &FrozenConfig) -> Result<(), ConfigError> {
    for (place, url) in endpoints(config) {
        if let Err(refused) = crate::outbound::check_url(url) {
            return Err(ConfigError(format!("{place}: {refused}")));
        }
    }
    Ok(())
}

/// Where mounted Secret files live: `/var/run/secrets/airlock`, or `AIRLOCK_SECRETS_DIR`
/// outside Kubernetes (local runs and tests).
pub fn secret_path(path: &str) -> PathBuf {
    match std::env::var_os("AIRLOCK_SECRETS_DIR") {
        Some(dir) => match path.strip_prefix(SECRETS_DIR) {
            Some(rest) => PathBuf::from(dir).join(rest.trim_start_matches('/')),
            None => PathBuf::from(path),
        },
        None => PathBuf::from(path),
    }
}

/// Reads a mounted Secret value (trailing newline removed, as `kubectl create secret` leaves one).
pub fn read_secret(path: &str) -> Result<String, ConfigError> {
    let resolved = secret_path(path);
    let text = std::fs::read_to_string(&resolved).map_err(|e| {
        ConfigError(format!(
            "cannot read secret file {}: {e}",
            resolved.display()
        ))
    })?;
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn the_format_version_is_checked_first_and_named() {
        let message = |text: &str| parse(text).err().unwrap().to_string();
        assert!(message("{}").contains("no formatVersion"));
        assert!(message(r#"{"formatVersion": 2}"#).contains("format version 2 is not supported"));
        let quoted = message(r#"{"formatVersion": "1"}"#);
        assert!(
            quoted.contains(r#"formatVersion is "1", not a number"#),
            "{quoted}"
        );
    }
}
