//! The `airlock.yaml` model: one strict struct per section, camelCase keys, unknown keys
//! rejected. Doc comments are the JSON Schema descriptions editors show; every field carries an
//! example. Defaults live here (and therefore in the schema), not in the compiler.

mod audit;
mod auth;
mod deployment;
mod dlp;
mod ingress;
mod network;
mod observability;
mod policy;
mod rate_limiting;
mod roots;
mod server;
mod tool_integrity;
mod upstreams;

pub use audit::*;
pub use auth::*;
pub use deployment::*;
pub use dlp::*;
pub use ingress::*;
pub use network::*;
pub use observability::*;
pub use policy::*;
pub use rate_limiting::*;
pub use roots::*;
pub use server::*;
pub use tool_integrity::*;
pub use upstreams::*;

use crate::examples as ex;
use crate::types::DnsLabel;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The version of the `airlock.yaml` format this build understands.
pub const CONFIG_VERSION: u32 = 1;

/// One Airlock deployment: the gateway, its identity provider, policy, roots, upstreams, audit
/// trail and observability, compiled by `airlockc build` into Kubernetes manifests and a frozen
/// runtime config.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "airlock.yaml", example = ex::minimal_config())]
pub struct Config {
    /// The format version of this file. Always `1`.
    #[schemars(extend("const" = 1), example = 1)]
    pub version: u32,
    /// The deployment's name: prefix of every Kubernetes object and the `app.kubernetes.io/instance` label.
    #[schemars(example = &"mcp-airlock")]
    pub name: DnsLabel,
    /// The Kubernetes namespace every object is created in. Defaults to `name`.
    /// `manifests/` creates it with the Pod Security labels; the Helm chart is installed into
    /// it (`-n`). It must not be a system namespace (`default`, `kube-*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"mcp-airlock")]
    pub namespace: Option<DnsLabel>,
    /// The runtime container image. Pin it by digest.
    #[schemars(example = ex::image())]
    pub image: Image,
    /// Replicas, resources, autoscaling, disruption budget and safe security-context overrides.
    #[serde(default)]
    #[schemars(example = ex::deployment())]
    pub deployment: Deployment,
    /// How clients reach the gateway from outside the cluster. Omit for in-cluster use only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = ex::ingress())]
    pub ingress: Option<Ingress>,
    /// The gateway's HTTP listener and request limits.
    #[serde(default)]
    #[schemars(example = ex::server())]
    pub server: Server,
    /// Client authentication.
    #[schemars(example = ex::auth())]
    pub auth: Auth,
    /// The Rego authorization policy.
    #[schemars(example = ex::policy())]
    pub policy: Policy,
    /// Virtual roots: directories and S3 prefixes the gateway serves as MCP resources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(example = ex::roots())]
    pub roots: Vec<Root>,
    /// Data-loss prevention: patterns redacted from everything the gateway returns or logs.
    #[serde(default)]
    #[schemars(example = ex::dlp())]
    pub dlp: Dlp,
    /// Request rate limits and brute-force protection.
    #[serde(default)]
    #[schemars(example = ex::rate_limiting())]
    pub rate_limiting: RateLimiting,
    /// The MCP servers behind the gateway.
    #[schemars(length(min = 1), example = ex::upstreams())]
    pub upstreams: Vec<Upstream>,
    /// The cluster's DNS domain, pod ports behind Service ports, and egress no endpoint names.
    #[serde(default)]
    #[schemars(example = ex::network())]
    pub network: Network,
    /// The tamper-evident audit trail.
    #[serde(default)]
    #[schemars(example = ex::audit())]
    pub audit: Audit,
    /// The volume that holds the SQLite audit database.
    #[serde(default)]
    #[schemars(example = ex::persistence())]
    pub persistence: Persistence,
    /// Metrics, tracing, logging and alert thresholds.
    #[serde(default)]
    #[schemars(example = ex::observability())]
    pub observability: Observability,
    /// The pod's Kubernetes ServiceAccount (e.g. IRSA role annotations for S3).
    #[serde(default)]
    #[schemars(example = ex::service_account())]
    pub service_account: ServiceAccount,
    /// Reviewed tool definitions, enforced by the gateway (`airlock tools pin` writes the lock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = ex::tool_pinning())]
    pub tool_pinning: Option<ToolPinning>,
    /// The screening of tool definitions for poisoning (hidden text, instructions to the model).
    #[serde(default)]
    #[schemars(example = ex::tool_screening())]
    pub tool_screening: ToolScreening,
}

impl Config {
    /// The namespace objects go to: `namespace`, or `name` when it is omitted.
    pub fn effective_namespace(&self) -> &DnsLabel {
        self.namespace.as_ref().unwrap_or(&self.name)
    }
}
