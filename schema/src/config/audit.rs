//! `audit`: the hash-chained audit trail, its retention and its export to S3.

use crate::examples as ex;
use crate::types::{Duration, HttpUrl, IpCidr, S3Uri, SecretKeyRef, SecretRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The tamper-evident audit trail: every authentication, decision and data access, each event
/// chained to the previous one by its hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Audit {
    /// Where events are stored: `sqlite` (a file on the persistent volume) or `postgresql`.
    #[serde(default)]
    #[schemars(example = &"postgresql")]
    pub backend: AuditBackend,
    /// SQLite settings, for `backend: sqlite`.
    #[serde(default)]
    #[schemars(example = ex::sqlite())]
    pub sqlite: Sqlite,
    /// The Secret key holding the PostgreSQL URL, for `backend: postgresql`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = ex::database_secret_ref())]
    pub database_secret_ref: Option<SecretKeyRef>,
    /// The networks the PostgreSQL server is in, for the egress NetworkPolicy (port 5432).
    /// Omitted, the gateway may reach port 5432 at any address but link-local ones: its host
    /// is only known from the Secret.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(example = ex::database_networks())]
    pub database_networks: Vec<IpCidr>,
    /// How long events are kept. Older events are deleted; the chain stays verifiable from a checkpoint.
    #[serde(default = "default_retention")]
    #[schemars(example = &"90d")]
    pub retention: Duration,
    /// Places in the in-memory buffer of events not yet committed to the store. A request takes
    /// one when it is admitted and keeps it until its event is committed, so every answered
    /// call has its event; when none is free, `onBufferFull` decides. Keep it at least
    /// `server.maxConcurrentRequests`, plus what arrives while the store is briefly unavailable.
    #[serde(default = "default_buffer_size")]
    #[schemars(range(min = 100, max = 1000000), example = 10000)]
    pub buffer_size: u32,
    /// The longest an event waits before it is written (events are written in batches).
    #[serde(default = "default_flush_interval")]
    #[schemars(example = &"1s")]
    pub flush_interval: Duration,
    /// What happens to a new request when the buffer is full: `reject` answers 503
    /// `audit_unavailable` at once (fail closed); `block` waits for a free place, at most
    /// `server.timeouts.request`, then answers the same 503. Either way a request is refused
    /// before it reaches an upstream, never served without its event.
    #[serde(default)]
    #[schemars(example = &"reject")]
    pub on_buffer_full: BufferFullAction,
    /// Deletion of events older than `retention`.
    #[serde(default)]
    #[schemars(example = ex::cleanup())]
    pub cleanup: Cleanup,
    /// Scheduled export of sealed segments to S3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = ex::export())]
    pub export: Option<Export>,
}

fn default_retention() -> Duration {
    Duration::from_secs(90 * 86_400)
}
fn default_buffer_size() -> u32 {
    10_000
}
fn default_flush_interval() -> Duration {
    Duration::from_secs(1)
}

impl Default for Audit {
    fn default() -> Self {
        Self {
            backend: AuditBackend::default(),
            sqlite: Sqlite::default(),
            database_secret_ref: None,
            database_networks: Vec::new(),
            retention: default_retention(),
            buffer_size: default_buffer_size(),
            flush_interval: default_flush_interval(),
            on_buffer_full: BufferFullAction::default(),
            cleanup: Cleanup::default(),
            export: None,
        }
    }
}

/// The audit store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuditBackend {
    #[default]
    Sqlite,
    Postgresql,
}

/// What to do with new requests when the audit buffer is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BufferFullAction {
    #[default]
    Reject,
    Block,
}

/// SQLite audit store settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Sqlite {
    /// The database file, on the persistent volume.
    #[serde(default = "default_sqlite_path")]
    #[schemars(regex(pattern = r"^/([^/\x00]+/)*[^/\x00]+$"), example = &"/var/lib/airlock/audit.db")]
    pub path: String,
}

fn default_sqlite_path() -> String {
    "/var/lib/airlock/audit.db".into()
}

impl Default for Sqlite {
    fn default() -> Self {
        Self {
            path: default_sqlite_path(),
        }
    }
}

/// Deletion of expired events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Cleanup {
    /// Delete events older than `retention`.
    #[serde(default = "crate::examples::yes")]
    #[schemars(example = true)]
    pub enabled: bool,
    /// When, as a 5-field cron expression in UTC.
    #[serde(default = "default_cleanup_schedule")]
    #[schemars(example = &"0 2 * * *")]
    pub schedule: String,
}

fn default_cleanup_schedule() -> String {
    "0 2 * * *".into()
}

impl Default for Cleanup {
    fn default() -> Self {
        Self {
            enabled: true,
            schedule: default_cleanup_schedule(),
        }
    }
}

/// Export of sealed audit segments (JSONL, each with its first and last hash) to S3.
/// Give the location as `destination` or as `s3`, not both.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Export {
    /// Run the export.
    #[serde(default = "crate::examples::yes")]
    #[schemars(example = true)]
    pub enabled: bool,
    /// The format of exported segments.
    #[serde(default)]
    #[schemars(example = &"jsonl")]
    pub format: ExportFormat,
    /// When, as a 5-field cron expression in UTC.
    #[serde(default = "default_export_schedule")]
    #[schemars(example = &"0 1 * * *")]
    pub schedule: String,
    /// The location as one URI, `s3://bucket/prefix/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"s3://acme-audit/airlock/")]
    pub destination: Option<S3Uri>,
    /// The location and credentials as separate fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = ex::export_s3())]
    pub s3: Option<ExportS3>,
}

fn default_export_schedule() -> String {
    "0 1 * * *".into()
}

/// The export format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    #[default]
    Jsonl,
}

/// An S3 export target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExportS3 {
    /// The bucket.
    #[schemars(example = &"acme-audit")]
    pub bucket: String,
    /// The key prefix, ending with `/`.
    #[serde(default)]
    #[schemars(example = &"airlock/")]
    pub prefix: String,
    /// The bucket's region. Defaults to the SDK's (environment, IRSA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"us-west-2")]
    pub region: Option<String>,
    /// An S3-compatible endpoint (path-style addressing). Omit for AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"https://minio.storage.svc:9000")]
    pub endpoint: Option<HttpUrl>,
    /// A Secret with keys `access-key-id` and `secret-access-key`. Omit to use IRSA or the environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = ex::secret_ref("airlock-s3"))]
    pub secret_ref: Option<SecretRef>,
}
