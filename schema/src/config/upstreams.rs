//! `upstreams`: the MCP servers behind the gateway, over HTTP, a unix socket or stdio.

use super::{PullPolicy, Resources};
use crate::examples as ex;
use crate::types::{DnsLabel, Duration, EnvValue, HttpUrl, ImageDigest, ToolName};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An upstream MCP server. The client's token is never forwarded to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Upstream {
    /// MCP streamable HTTP at a URL.
    Http(HttpUpstream),
    /// MCP streamable HTTP over a unix domain socket.
    Unix(UnixUpstream),
    /// A child process speaking MCP over stdin/stdout, restarted if it dies.
    Stdio(StdioUpstream),
}

/// What every upstream type shares, borrowed from the variant.
pub struct UpstreamCommon<'a> {
    pub name: &'a DnsLabel,
    pub timeout: Duration,
    pub allow_tools: Option<&'a [ToolName]>,
    pub tool_prefix: Option<&'a str>,
}

impl Upstream {
    pub fn common(&self) -> UpstreamCommon<'_> {
        let (name, timeout, allow_tools, tool_prefix) = match self {
            Upstream::Http(u) => (&u.name, u.timeout, &u.allow_tools, &u.tool_prefix),
            Upstream::Unix(u) => (&u.name, u.timeout, &u.allow_tools, &u.tool_prefix),
            Upstream::Stdio(u) => (&u.name, u.timeout, &u.allow_tools, &u.tool_prefix),
        };
        UpstreamCommon {
            name,
            timeout,
            allow_tools: allow_tools.as_deref(),
            tool_prefix: tool_prefix.as_deref(),
        }
    }
    pub fn name(&self) -> &DnsLabel {
        self.common().name
    }
    pub fn kind(&self) -> &'static str {
        match self {
            Upstream::Http(_) => "http",
            Upstream::Unix(_) => "unix",
            Upstream::Stdio(_) => "stdio",
        }
    }
}

/// An MCP server reached over HTTP (streamable HTTP transport).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpUpstream {
    /// The upstream's name, unique among upstreams.
    #[schemars(example = &"docs")]
    pub name: DnsLabel,
    /// The MCP endpoint URL. In-cluster service names become NetworkPolicy selectors.
    #[schemars(example = &"http://docs.mcp.svc.cluster.local:8080/mcp")]
    pub url: HttpUrl,
    /// The most one call may take before the client gets 504.
    #[serde(default = "default_timeout")]
    #[schemars(example = &"30s")]
    pub timeout: Duration,
    /// The only tools of this upstream clients may see and call. Omit to allow all its tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = ex::list("search_docs read_file"))]
    pub allow_tools: Option<Vec<ToolName>>,
    /// A prefix added to this upstream's tool names, to keep names unique across upstreams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_.-]{1,32}$"), example = &"docs_")]
    pub tool_prefix: Option<String>,
    /// Headers sent to the upstream (e.g. its own credentials, by Secret reference).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(example = ex::upstream_headers())]
    pub headers: BTreeMap<String, EnvValue>,
    /// A periodic probe of the upstream.
    #[serde(default)]
    #[schemars(example = ex::http_health_check())]
    pub health_check: HealthCheck,
    /// The container that runs this server beside the gateway, reached on `localhost`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = ex::sidecar())]
    pub sidecar: Option<Sidecar>,
}

/// An MCP server reached over a unix domain socket (streamable HTTP on the socket).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UnixUpstream {
    /// The upstream's name, unique among upstreams.
    #[schemars(example = &"docs-server")]
    pub name: DnsLabel,
    /// The absolute path of the socket inside the pod.
    #[schemars(regex(pattern = r"^/([^/\x00]+/?)+$"), example = &"/run/mcp/docs.sock")]
    pub socket: String,
    /// The most one call may take before the client gets 504.
    #[serde(default = "default_timeout")]
    #[schemars(example = &"30s")]
    pub timeout: Duration,
    /// The only tools of this upstream clients may see and call. Omit to allow all its tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = ex::list("search_docs read_file"))]
    pub allow_tools: Option<Vec<ToolName>>,
    /// A prefix added to this upstream's tool names, to keep names unique across upstreams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_.-]{1,32}$"), example = &"docs_")]
    pub tool_prefix: Option<String>,
    /// A periodic probe of the upstream.
    #[serde(default)]
    #[schemars(example = ex::health_check())]
    pub health_check: HealthCheck,
    /// The container that runs this server beside the gateway; it shares only the socket's
    /// directory with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = ex::sidecar())]
    pub sidecar: Option<Sidecar>,
}

/// An MCP server run as a child process of the gateway, speaking MCP over stdio.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StdioUpstream {
    /// The upstream's name, unique among upstreams.
    #[schemars(example = &"code-server")]
    pub name: DnsLabel,
    /// The program and its arguments. Run without a shell, with a clean environment plus `env`.
    #[schemars(length(min = 1), example = ex::list("python -m mcp_server.code"))]
    pub command: Vec<String>,
    /// Environment variables of the process. Credentials only as Secret references.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(example = ex::stdio_env())]
    pub env: BTreeMap<String, EnvValue>,
    /// The working directory of the process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^/"), example = &"/opt/mcp-servers")]
    pub working_dir: Option<String>,
    /// The most one call may take before the client gets 504.
    #[serde(default = "default_timeout")]
    #[schemars(example = &"30s")]
    pub timeout: Duration,
    /// The only tools of this upstream clients may see and call. Omit to allow all its tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = ex::list("analyze_code"))]
    pub allow_tools: Option<Vec<ToolName>>,
    /// A prefix added to this upstream's tool names, to keep names unique across upstreams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_.-]{1,32}$"), example = &"code_")]
    pub tool_prefix: Option<String>,
    /// A periodic probe of the upstream (an MCP `ping`).
    #[serde(default)]
    #[schemars(example = ex::health_check())]
    pub health_check: HealthCheck,
}

/// A container in the gateway's pod that runs an upstream's server. It gets the gateway's
/// hardening (non-root, read-only root filesystem, no privilege escalation, ALL capabilities
/// dropped, seccomp `RuntimeDefault`, no service-account token), a `/tmp` of its own, and shares
/// only the socket's directory (unix upstreams) or the pod's loopback (HTTP on `localhost`). It
/// runs as a Kubernetes sidecar: started before the gateway, restarted when it exits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Sidecar {
    /// The server's image, pinned by digest.
    #[schemars(example = ex::sidecar_image())]
    pub image: SidecarImage,
    /// The program, replacing the image's entrypoint. Omit to run the image's own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(example = ex::list("/usr/local/bin/docs-mcp"))]
    pub command: Vec<String>,
    /// The program's arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(example = ex::list("--socket /run/mcp/docs.sock"))]
    pub args: Vec<String>,
    /// Environment variables of the container. Credentials only as Secret references.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(example = ex::stdio_env())]
    pub env: BTreeMap<String, EnvValue>,
    /// CPU and memory requests and limits of the container.
    #[serde(default)]
    #[schemars(example = ex::resources())]
    pub resources: Resources,
}

/// A sidecar's image: always by digest, so what was reviewed is what runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SidecarImage {
    /// The image repository, without tag or digest.
    #[schemars(length(min = 1), regex(pattern = r"^[a-z0-9]+([._/:-][a-z0-9]+)*$"), example = &"ghcr.io/acme/docs-mcp")]
    pub repository: String,
    /// A human-readable tag, shown beside the digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"), example = &"v2.1.0")]
    pub tag: Option<String>,
    /// The image digest the container runs.
    #[schemars(example = &"sha256:4b2c1e0d9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c")]
    pub digest: ImageDigest,
    /// When the kubelet pulls the image.
    #[serde(default)]
    #[schemars(example = &"IfNotPresent")]
    pub pull_policy: PullPolicy,
}

impl Upstream {
    /// The upstream's sidecar, if it declares one.
    pub fn sidecar(&self) -> Option<&Sidecar> {
        match self {
            Upstream::Http(u) => u.sidecar.as_ref(),
            Upstream::Unix(u) => u.sidecar.as_ref(),
            Upstream::Stdio(_) => None,
        }
    }
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

/// A periodic health probe. For HTTP upstreams a GET of `path`; otherwise an MCP `ping`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HealthCheck {
    /// Probe the upstream periodically and report it in `/info` and metrics.
    #[serde(default = "crate::examples::yes")]
    #[schemars(example = true)]
    pub enabled: bool,
    /// For HTTP upstreams: the path probed with GET (relative to the URL's origin). Omit to send an MCP `ping`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^/"), example = &"/health")]
    pub path: Option<String>,
    /// Time between probes.
    #[serde(default = "default_interval")]
    #[schemars(example = &"30s")]
    pub interval: Duration,
}

fn default_interval() -> Duration {
    Duration::from_secs(30)
}

impl Default for HealthCheck {
    fn default() -> Self {
        Self {
            enabled: true,
            path: None,
            interval: default_interval(),
        }
    }
}
