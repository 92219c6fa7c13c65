//! `roots`: directories and S3 prefixes served to clients under `mcp://` virtual prefixes.

use crate::examples as ex;
use crate::types::{DnsLabel, HttpUrl, Quantity, S3Uri, SecretRef, VirtualPrefix};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A virtual root. Clients address it as `<virtual><path>`; the gateway resolves the path strictly
/// inside `real` and never outside it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Root {
    /// A directory mounted into the pod.
    Fs(FsRoot),
    /// A prefix of an S3 bucket.
    S3(S3Root),
}

impl Root {
    pub fn name(&self) -> &DnsLabel {
        match self {
            Root::Fs(r) => &r.name,
            Root::S3(r) => &r.name,
        }
    }
    pub fn virtual_prefix(&self) -> &VirtualPrefix {
        match self {
            Root::Fs(r) => &r.virtual_prefix,
            Root::S3(r) => &r.virtual_prefix,
        }
    }
    pub fn read_only(&self) -> bool {
        match self {
            Root::Fs(r) => r.read_only,
            Root::S3(r) => r.read_only,
        }
    }
}

/// A directory root.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FsRoot {
    /// The root's name, unique among roots.
    #[schemars(example = &"repo")]
    pub name: DnsLabel,
    /// The prefix clients use, e.g. `mcp://repo/`.
    #[serde(rename = "virtual")]
    #[schemars(example = &"mcp://repo/")]
    pub virtual_prefix: VirtualPrefix,
    /// The absolute directory inside the pod.
    #[schemars(regex(pattern = r"^/([^/\x00]+/?)*$"), example = &"/mnt/repo")]
    pub real: String,
    /// Refuse every write. Roots are read-only unless you say otherwise.
    #[serde(default = "crate::examples::yes")]
    #[schemars(example = true)]
    pub read_only: bool,
    /// Always `true`: paths are confined to `real` (no `..`, absolute paths or symlink escapes).
    #[serde(default = "crate::examples::yes")]
    #[schemars(extend("const" = true), example = true)]
    pub path_sandboxing: bool,
    /// The volume mounted at `real`. Without it the directory must exist in the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = ex::root_volume())]
    pub volume: Option<RootVolume>,
    /// The largest file served or written; larger ones are refused.
    #[serde(default = "default_max_file_size")]
    #[schemars(example = &"10Mi")]
    pub max_file_size: Quantity,
}

/// The volume behind a directory root.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RootVolume {
    /// An existing PersistentVolumeClaim in the deployment's namespace.
    #[schemars(length(min = 1), example = &"repo-pvc")]
    pub claim_name: String,
}

/// An S3 root.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct S3Root {
    /// The root's name, unique among roots.
    #[schemars(example = &"artifacts")]
    pub name: DnsLabel,
    /// The prefix clients use, e.g. `mcp://artifacts/`.
    #[serde(rename = "virtual")]
    #[schemars(example = &"mcp://artifacts/")]
    pub virtual_prefix: VirtualPrefix,
    /// The bucket and key prefix, `s3://bucket/prefix/`.
    #[schemars(example = &"s3://acme-mcp-artifacts/")]
    pub real: S3Uri,
    /// Refuse every write. Roots are read-only unless you say otherwise.
    #[serde(default = "crate::examples::yes")]
    #[schemars(example = false)]
    pub read_only: bool,
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
    /// The largest object served or written; larger ones are refused.
    #[serde(default = "default_max_file_size")]
    #[schemars(example = &"10Mi")]
    pub max_object_size: Quantity,
}

fn default_max_file_size() -> Quantity {
    "10Mi".parse().expect("built-in quantity")
}
