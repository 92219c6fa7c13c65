//! Secret references become files: each referenced Secret key is projected into the pod at
//! `/var/run/secrets/airlock/<secret>/<key>`, and the frozen config names those paths. Files, not
//! environment variables: they are not inherited by child processes or dumped with the env.

use airlock_schema::Config;
use airlock_schema::config::{Root, Upstream};
use airlock_schema::runtime::SECRETS_DIR;
use airlock_schema::types::{EnvValue, SecretKeyRef};
use serde::Serialize;

/// One Secret key mounted into the pod.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SecretMount {
    pub secret: String,
    pub key: String,
    /// Relative to the secrets directory: `<secret>/<key>`.
    pub path: String,
}

/// The absolute path a Secret key is mounted at.
pub fn file(secret: &str, key: &str) -> String {
    format!("{SECRETS_DIR}/{secret}/{key}")
}

/// The keys of an S3 credentials Secret.
pub const S3_KEYS: [&str; 2] = ["access-key-id", "secret-access-key"];

/// Every Secret key the configuration references, sorted and unique.
pub fn mounts(config: &Config) -> Vec<SecretMount> {
    let mut refs: Vec<(String, String)> = Vec::new();
    let mut add = |r: &SecretKeyRef| refs.push((r.name.clone(), r.key.clone()));
    if let Some(r) = &config.audit.database_secret_ref
        && config.audit.backend == airlock_schema::config::AuditBackend::Postgresql
    {
        add(r);
    }
    if let Some(r) = &config.auth.oidc.client_secret_ref {
        add(r);
    }
    if let Some(store) = &config.rate_limiting.store
        && let Some(r) = &store.redis.password_secret_ref
    {
        add(r);
    }
    let sessions = &config.server.sessions;
    for r in [&sessions.key_secret_ref, &sessions.previous_key_secret_ref]
        .into_iter()
        .flatten()
    {
        add(r);
    }
    for upstream in &config.upstreams {
        let values = match upstream {
            Upstream::Http(http) => http.headers.values().collect::<Vec<_>>(),
            Upstream::Stdio(stdio) => stdio.env.values().collect(),
            Upstream::Unix(_) => Vec::new(),
        };
        for value in values {
            if let EnvValue::Secret(secret) = value {
                add(&secret.secret_ref);
            }
        }
    }
    let mut s3_secrets: Vec<&str> = config
        .roots
        .iter()
        .filter_map(|r| match r {
            Root::S3(s3) => s3.secret_ref.as_ref().map(|s| s.name.as_str()),
            Root::Fs(_) => None,
        })
        .collect();
    if let Some(secret) = config
        .audit
        .export
        .as_ref()
        .filter(|e| e.enabled)
        .and_then(|e| e.s3.as_ref())
        .and_then(|s| s.secret_ref.as_ref())
    {
        s3_secrets.push(&secret.name);
    }
    for secret in s3_secrets {
        for key in S3_KEYS {
            refs.push((secret.to_string(), key.to_string()));
        }
    }
    let mut mounts: Vec<SecretMount> = refs
        .into_iter()
        .map(|(secret, key)| SecretMount {
            path: format!("{secret}/{key}"),
            secret,
            key,
        })
        .collect();
    mounts.sort();
    mounts.dedup();
    mounts
}

/// The keys of one Secret projected into the pod.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SecretSource {
    pub secret: String,
    pub items: Vec<SecretMount>,
}

/// Mounts grouped by Secret, in order.
pub fn group(mounts: &[SecretMount]) -> Vec<SecretSource> {
    let mut sources: Vec<SecretSource> = Vec::new();
    for mount in mounts {
        match sources.last_mut().filter(|s| s.secret == mount.secret) {
            Some(source) => source.items.push(mount.clone()),
            None => sources.push(SecretSource {
                secret: mount.secret.clone(),
                items: vec![mount.clone()],
            }),
        }
    }
    sources
}
