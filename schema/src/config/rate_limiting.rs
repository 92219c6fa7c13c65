//! `rateLimiting`: token buckets per token, IP and tenant, and failed-authentication throttling.

use crate::examples as ex;
use crate::types::{Duration, Rate, RedisUrl, SecretKeyRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Request rate limits. Each is a token bucket refilled at the rate, holding up to `burst`:
/// over any window of `W` seconds a key is admitted at most `burst + rate × W` requests (the
/// bucket starts full). Requests over a limit get 429 with `Retry-After`. Limits are per
/// replica unless `store` shares them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RateLimiting {
    /// Requests per bearer token (per subject).
    #[serde(default = "default_per_token", skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"200/min")]
    pub per_token: Option<Rate>,
    /// Requests per client IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"1000/min")]
    pub per_ip: Option<Rate>,
    /// Requests per tenant (the `tenantClaim` of the token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"5000/min")]
    pub per_tenant: Option<Rate>,
    /// The bucket size: the most requests admitted at once, after a quiet spell. Over a window
    /// of `W` seconds at most `burst + rate × W` are admitted.
    #[serde(default = "default_burst")]
    #[schemars(range(min = 1, max = 1000000), example = 50)]
    pub burst: u32,
    /// Throttling of clients that fail authentication repeatedly (brute-force protection).
    #[serde(default)]
    #[schemars(example = ex::failed_auth())]
    pub failed_auth: FailedAuth,
    /// Where the limits and the failed-authentication throttle live. Without a store each
    /// replica counts alone, so `N` replicas admit up to `N` times each limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = ex::rate_limit_store())]
    pub store: Option<LimitStore>,
}

/// A store shared by the replicas: the limits and the throttle hold across all of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LimitStore {
    /// Redis 7 or Valkey.
    #[schemars(example = ex::redis())]
    pub redis: RedisStore,
}

/// A Redis or Valkey server. Each request costs one round trip before authentication (the
/// per-IP limit and the throttle) and one after (the per-token and per-tenant limits), each an
/// atomic script (GCRA); `Retry-After` is the store's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RedisStore {
    /// The server: `redis://host:port/db`, or `rediss://` for TLS.
    #[schemars(example = &"redis://redis.mcp-airlock.svc.cluster.local:6379/0")]
    pub url: RedisUrl,
    /// The Secret key holding the password (Redis `AUTH`), if the server wants one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = ex::redis_password_ref())]
    pub password_secret_ref: Option<SecretKeyRef>,
    /// What a replica does while the store does not answer: `local` (the default) falls back
    /// to its own limits, logs it and exports `airlock_ratelimit_store_up 0`; `deny` answers
    /// 503 `rate_limit_store_unavailable` and the replica is not ready.
    #[serde(default)]
    #[schemars(example = &"local")]
    pub on_unavailable: StoreUnavailable,
    /// The prefix of every key the gateway writes; defaults to `airlock:<name>:`, so two
    /// deployments can share a server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"airlock:mcp-airlock:")]
    pub key_prefix: Option<String>,
}

/// What a replica does while the shared store does not answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StoreUnavailable {
    /// Limit with this replica's own counters meanwhile.
    #[default]
    Local,
    /// Refuse requests (503) meanwhile.
    Deny,
}

fn default_per_token() -> Option<Rate> {
    Some("600/min".parse().expect("built-in rate"))
}
fn default_burst() -> u32 {
    50
}

impl Default for RateLimiting {
    fn default() -> Self {
        Self {
            per_token: default_per_token(),
            per_ip: None,
            per_tenant: None,
            burst: default_burst(),
            failed_auth: FailedAuth::default(),
            store: None,
        }
    }
}

/// After `maxAttempts` failed authentications from one IP within `window`, that IP gets 429 for
/// `blockFor`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FailedAuth {
    /// Failed attempts allowed per IP within the window.
    #[serde(default = "default_max_attempts")]
    #[schemars(range(min = 1, max = 100000), example = 5)]
    pub max_attempts: u32,
    /// The window in which failures are counted.
    #[serde(default = "default_window")]
    #[schemars(example = &"1m")]
    pub window: Duration,
    /// How long a throttled IP is refused.
    #[serde(default = "default_block_for")]
    #[schemars(example = &"5m")]
    pub block_for: Duration,
}

fn default_max_attempts() -> u32 {
    5
}
fn default_window() -> Duration {
    Duration::from_secs(60)
}
fn default_block_for() -> Duration {
    Duration::from_secs(300)
}

impl Default for FailedAuth {
    fn default() -> Self {
        Self {
            max_attempts: default_max_attempts(),
            window: default_window(),
            block_for: default_block_for(),
        }
    }
}
