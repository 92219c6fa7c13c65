//! The frozen runtime config (`deploy/runtime/airlock.json`): what `airlockc build` lowers
//! `airlock.yaml` to and the only input of the `airlock` runtime. Everything is normalized:
//! defaults applied, durations in milliseconds, sizes in bytes, secrets as file paths, the policy
//! embedded with its digest, and a content hash over the canonical JSON.
//!
//! Canonical JSON: object keys sorted by their UTF-8 bytes, no insignificant whitespace, numbers
//! as serde_json prints them; the hash is SHA-256 of the canonical JSON of the document with
//! `contentHash` removed, written as `sha256:<hex>`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The format version this build writes and reads. Bump it on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

/// Where the runtime finds Secret keys the deployment mounts (`<dir>/<secret>/<key>`).
pub const SECRETS_DIR: &str = "/var/run/secrets/airlock";

/// Where the deployment mounts its ConfigMap: the frozen config (`airlock.json`) and the policy
/// modules, which a policy reload re-reads from here (`policy.reloadDir`).
pub const CONFIG_DIR: &str = "/etc/airlock";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FrozenConfig {
    pub format_version: u32,
    /// `sha256:<hex>` over the canonical JSON of this document without this field.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub content_hash: String,
    pub name: String,
    pub namespace: String,
    pub server: ServerConfig,
    pub auth: AuthConfig,
    pub policy: PolicyConfig,
    pub roots: Vec<RootConfig>,
    pub dlp: Vec<DlpRule>,
    pub rate_limits: RateLimitConfig,
    pub upstreams: Vec<UpstreamConfig>,
    pub audit: AuditConfig,
    pub observability: ObservabilityConfig,
    /// The network destinations the deployment may reach (informational; the NetworkPolicy enforces).
    pub egress: Vec<EgressDestination>,
    /// Which versions of the upstreams' tools may be served (`toolPinning`, `toolScreening`).
    #[serde(default)]
    pub tools: ToolIntegrityConfig,
}

/// Tool integrity: pinned definitions and the screening of the others.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ToolIntegrityConfig {
    /// The reviewed definitions, when a lock is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pins: Option<PinsConfig>,
    /// Withhold an unpinned tool whose definition hides text or addresses the model.
    pub screen_unpinned: bool,
    /// Tools whose markers a reviewer accepted, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<crate::config::ToolException>,
}

impl Default for ToolIntegrityConfig {
    fn default() -> Self {
        Self {
            pins: None,
            screen_unpinned: true,
            exceptions: Vec::new(),
        }
    }
}

/// The pins of a lock: upstream → tool (the upstream's own name) → its hash and the reviewed
/// definition (the gateway compares listings with the definition, and reports the hash).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PinsConfig {
    pub on_drift: crate::config::OnDrift,
    pub on_unpinned: crate::config::OnUnpinned,
    pub upstreams: BTreeMap<String, BTreeMap<String, crate::pins::Pin>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServerConfig {
    pub port: u16,
    pub metrics_port: Option<u16>,
    pub metrics_path: String,
    pub public_base_url: Option<String>,
    pub max_request_bytes: u64,
    pub max_concurrent_requests: u32,
    pub request_timeout_ms: u64,
    pub read_timeout_ms: u64,
    pub idle_timeout_ms: u64,
    pub shutdown_timeout_ms: u64,
    pub allowed_origins: Vec<String>,
    /// CIDRs of the proxies whose `X-Forwarded-For` names the client.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_proxies: Vec<String>,
    /// How MCP session ids are sealed and how long sessions live.
    #[serde(default)]
    pub sessions: SessionsConfig,
}

/// MCP sessions (`Mcp-Session-Id`): ids sealed with a key every replica holds, so any replica
/// serves any session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SessionsConfig {
    /// The mounted Secret file holding the session key; without one, each replica seals with a
    /// key of its own, drawn at start (sessions then stay on the replica that created them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// The previous key during a rotation: ids it sealed are still opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_key_file: Option<String>,
    /// The longest a session lives, however active.
    pub lifetime_ms: u64,
    /// A session unused this long ends.
    pub idle_timeout_ms: u64,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        Self {
            key_file: None,
            previous_key_file: None,
            lifetime_ms: 24 * 3_600_000,
            idle_timeout_ms: 3_600_000,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuthConfig {
    pub issuer: String,
    pub audience: String,
    pub clock_skew_ms: u64,
    pub jwks_cache_ttl_ms: u64,
    pub required_groups: Vec<String>,
    pub admin_groups: Vec<String>,
    pub groups_claim: String,
    pub tenant_claim: String,
    pub subject_claim: String,
    /// JWS algorithm names (`RS256`, `ES256`, ...).
    pub algorithms: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyConfig {
    pub entrypoint: String,
    /// The policy modules as compiled and tested by airlockc.
    pub modules: Vec<PolicyModule>,
    /// `sha256:<hex>` over the modules (path, NUL, source, NUL, in order).
    pub sha256: String,
    /// The policy tests airlockc ran (rules named `test_*`), so `airlock doctor` can run them
    /// again against the policy the pod actually has.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<PolicyModule>,
    /// Where `SIGHUP` and `POST /admin/policy/reload` re-read the modules from (same file names).
    pub reload_dir: Option<String>,
    pub cache_ttl_ms: u64,
    pub cache_size: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyModule {
    /// The file name (the ConfigMap key it is mounted as).
    pub path: String,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", tag = "type")]
pub enum RootConfig {
    #[serde(rename_all = "camelCase")]
    Fs {
        name: String,
        virtual_prefix: String,
        path: String,
        read_only: bool,
        max_bytes: u64,
    },
    #[serde(rename_all = "camelCase")]
    S3 {
        name: String,
        virtual_prefix: String,
        bucket: String,
        prefix: String,
        region: Option<String>,
        endpoint: Option<String>,
        credentials: Option<S3Credentials>,
        read_only: bool,
        max_bytes: u64,
    },
}

/// Static S3 credentials, as files mounted from a Secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct S3Credentials {
    pub access_key_id_file: String,
    pub secret_access_key_file: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DlpRule {
    pub name: String,
    pub regex: String,
    pub replacement: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RateLimitConfig {
    pub per_token: Option<RateLimit>,
    pub per_ip: Option<RateLimit>,
    pub per_tenant: Option<RateLimit>,
    pub failed_auth_max_attempts: u32,
    pub failed_auth_window_ms: u64,
    pub failed_auth_block_ms: u64,
    /// The store shared by the replicas, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<RedisConfig>,
}

/// A Redis or Valkey server holding the limits, the throttle and the sessions' state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RedisConfig {
    /// `redis://host:port/db` or `rediss://...`, without credentials.
    pub url: String,
    /// The mounted Secret file holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<String>,
    pub on_unavailable: crate::config::StoreUnavailable,
    /// Prepended to every key.
    pub key_prefix: String,
}

/// A token bucket: `count` requests per `periodMs`, holding up to `burst`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RateLimit {
    pub count: u32,
    pub period_ms: u64,
    pub burst: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpstreamConfig {
    pub name: String,
    pub transport: Transport,
    pub timeout_ms: u64,
    /// `None`: every tool of the upstream; otherwise only these.
    pub allow_tools: Option<Vec<String>>,
    pub tool_prefix: String,
    pub health_check: Option<HealthCheckConfig>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", tag = "type")]
pub enum Transport {
    #[serde(rename_all = "camelCase")]
    Http {
        url: String,
        headers: Vec<NamedValue>,
    },
    #[serde(rename_all = "camelCase")]
    Unix { socket: String },
    #[serde(rename_all = "camelCase")]
    Stdio {
        command: Vec<String>,
        env: Vec<NamedValue>,
        working_dir: Option<String>,
    },
}

/// A header or environment variable: a literal, or the content of a mounted Secret file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NamedValue {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_file: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HealthCheckConfig {
    /// For HTTP upstreams, the path probed with GET; otherwise an MCP ping.
    pub path: Option<String>,
    pub interval_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuditConfig {
    pub store: AuditStore,
    pub retention_ms: u64,
    pub buffer_size: u32,
    pub flush_interval_ms: u64,
    pub on_buffer_full: crate::config::BufferFullAction,
    pub cleanup_schedule: Option<String>,
    pub export: Option<AuditExport>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", tag = "type")]
pub enum AuditStore {
    #[serde(rename_all = "camelCase")]
    Sqlite { path: String },
    #[serde(rename_all = "camelCase")]
    Postgresql { url_file: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuditExport {
    pub bucket: String,
    pub prefix: String,
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub credentials: Option<S3Credentials>,
    pub schedule: String,
    pub format: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ObservabilityConfig {
    pub log_level: String,
    pub log_format: String,
    pub tracing: Option<TracingConfig>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TracingConfig {
    pub endpoint: String,
    pub sample_ratio: f64,
    pub service_name: String,
}

/// A destination the gateway talks to, and why.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EgressDestination {
    pub host: String,
    pub port: u16,
    pub purpose: String,
}

impl FrozenConfig {
    /// The canonical JSON of the document without `contentHash`: what the hash covers.
    pub fn hashed_text(&self) -> String {
        let mut value = serde_json::to_value(self).expect("config serializes");
        if let Value::Object(map) = &mut value {
            map.remove("contentHash");
        }
        crate::canonical::to_string(&value, crate::canonical::Nulls::Keep)
    }
}
