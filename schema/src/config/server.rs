//! `server`: the HTTP listener, its timeouts and request limits.

use crate::examples as ex;
use crate::types::{DnsLabel, Duration, HttpUrl, IpCidr, Quantity, SecretKeyRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The gateway's HTTP listener.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Server {
    /// The container port of the MCP endpoint and health checks.
    #[serde(default = "default_port")]
    #[schemars(range(min = 1024, max = 65535), example = 8080)]
    pub port: u16,
    /// The public URL clients use, advertised in the OAuth protected-resource metadata (RFC 9728).
    /// Defaults to `https://<ingress.host>` when there is an ingress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"https://mcp-airlock.example.com")]
    pub public_base_url: Option<HttpUrl>,
    /// Timeouts of the HTTP listener.
    #[serde(default)]
    #[schemars(example = ex::timeouts())]
    pub timeouts: Timeouts,
    /// The largest request body accepted; larger ones get 413 before being read.
    #[serde(default = "default_max_request_size")]
    #[schemars(example = &"256Ki")]
    pub max_request_size: Quantity,
    /// Requests served at once; beyond it the gateway answers 503 at once instead of queueing.
    #[serde(default = "default_max_concurrent")]
    #[schemars(range(min = 1, max = 100000), example = 512)]
    pub max_concurrent_requests: u32,
    /// Browser origins allowed to call `/mcp` (checked against the `Origin` header; their CORS
    /// preflight is answered and answers carry `Access-Control-Allow-Origin`). Any other origin
    /// gets 403 `origin_not_allowed`. Requests without an `Origin` header (non-browser clients)
    /// are always accepted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(example = ex::list("https://app.example.com"))]
    pub allowed_origins: Vec<HttpUrl>,
    /// Namespaces whose pods may call the gateway directly (in-cluster MCP clients), besides the
    /// ingress controller. The NetworkPolicy admits nothing else.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(example = ex::list("agents"))]
    pub client_namespaces: Vec<DnsLabel>,
    /// The proxies in front of the gateway (the ingress controller's pods, a load balancer), as
    /// networks. When a request's TCP peer is one of them, the client's address — for per-IP
    /// limits, the failed-authentication throttle, logs, the audit trail and the policy's
    /// `metadata.client_ip` — is the rightmost address of `X-Forwarded-For` that is not a
    /// trusted proxy. Empty: the TCP peer is the client, and behind an ingress every client
    /// shares the ingress controller's address.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(example = ex::list("10.0.0.0/8"))]
    pub trusted_proxies: Vec<IpCidr>,
    /// MCP sessions (`Mcp-Session-Id`, the handshake revisions): how their ids are sealed and
    /// how long they live.
    #[serde(default)]
    #[schemars(example = ex::sessions())]
    pub sessions: Sessions,
}

/// MCP sessions. A session id is sealed (AES-256-GCM) around the subject it belongs to, its
/// protocol revision and its expiry, so every replica holding the key serves every session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Sessions {
    /// The Secret key holding the session key: at least 32 random bytes (e.g.
    /// `openssl rand -base64 48`). Required with more than one replica; without it each
    /// replica seals with a key of its own and a session works only on the replica that
    /// created it. A missing or shorter key stops the gateway at start (exit 78).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = ex::session_key_ref())]
    pub key_secret_ref: Option<SecretKeyRef>,
    /// The key being replaced, during a rotation: sessions it sealed are still accepted, new
    /// ones are sealed with `keySecretRef`. Remove it once `lifetime` has passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = ex::previous_session_key_ref())]
    pub previous_key_secret_ref: Option<SecretKeyRef>,
    /// The longest a session lives, however active; the client then initializes again.
    #[serde(default = "default_session_lifetime")]
    #[schemars(example = &"24h")]
    pub lifetime: Duration,
    /// A session unused this long ends. Exact with one replica (or without a session key); with
    /// several, it holds across replicas only with `rateLimiting.store.redis`, otherwise an idle
    /// session lives to its `lifetime`.
    #[serde(default = "default_session_idle")]
    #[schemars(example = &"1h")]
    pub idle_timeout: Duration,
}

fn default_session_lifetime() -> Duration {
    Duration::from_secs(24 * 3600)
}
fn default_session_idle() -> Duration {
    Duration::from_secs(3600)
}

impl Default for Sessions {
    fn default() -> Self {
        Self {
            key_secret_ref: None,
            previous_key_secret_ref: None,
            lifetime: default_session_lifetime(),
            idle_timeout: default_session_idle(),
        }
    }
}

fn default_port() -> u16 {
    8080
}
fn default_max_request_size() -> Quantity {
    "256Ki".parse().expect("built-in quantity")
}
fn default_max_concurrent() -> u32 {
    512
}

impl Default for Server {
    fn default() -> Self {
        Self {
            port: default_port(),
            public_base_url: None,
            timeouts: Timeouts::default(),
            max_request_size: default_max_request_size(),
            max_concurrent_requests: default_max_concurrent(),
            allowed_origins: Vec::new(),
            client_namespaces: Vec::new(),
            trusted_proxies: Vec::new(),
            sessions: Sessions::default(),
        }
    }
}

/// Listener timeouts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Timeouts {
    /// The most a whole request may take, upstream call included.
    #[serde(default = "default_request_timeout")]
    #[schemars(example = &"60s")]
    pub request: Duration,
    /// How long a client may take to send a request head (from its first byte), and its body.
    #[serde(default = "default_read_timeout")]
    #[schemars(example = &"10s")]
    pub read: Duration,
    /// How long an idle keep-alive connection stays open. Keep it above the idle timeout of the
    /// load balancer in front (60 s for AWS ALB and nginx), so the gateway never closes a
    /// connection the balancer is about to reuse.
    #[serde(default = "default_idle_timeout")]
    #[schemars(example = &"90s")]
    pub idle: Duration,
    /// How long in-flight requests may run after SIGTERM before they are cut.
    #[serde(default = "default_shutdown_timeout")]
    #[schemars(example = &"20s")]
    pub shutdown: Duration,
}

fn default_request_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_read_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_idle_timeout() -> Duration {
    Duration::from_secs(90)
}
fn default_shutdown_timeout() -> Duration {
    Duration::from_secs(20)
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            request: default_request_timeout(),
            read: default_read_timeout(),
            idle: default_idle_timeout(),
            shutdown: default_shutdown_timeout(),
        }
    }
}
