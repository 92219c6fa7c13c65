//! `rateLimiting`: token buckets per token, IP and tenant, and failed-authentication throttling.

use crate::examples as ex;
use crate::types::{Duration, Rate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Request rate limits. Each is a token bucket refilled at the rate, holding up to `burst`.
/// Requests over a limit get 429 with `Retry-After`.
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
    /// Requests allowed at once above the steady rate.
    #[serde(default = "default_burst")]
    #[schemars(range(min = 1, max = 1000000), example = 50)]
    pub burst: u32,
    /// Throttling of clients that fail authentication repeatedly (brute-force protection).
    #[serde(default)]
    #[schemars(example = ex::failed_auth())]
    pub failed_auth: FailedAuth,
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
