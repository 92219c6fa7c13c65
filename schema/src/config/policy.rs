//! `policy`: the Rego authorization policy and its tests.

use crate::examples as ex;
use crate::types::Duration;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The Rego policy that authorizes every tool call and resource access.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Policy {
    /// The policy file, relative to this file. Embedded into the build output.
    #[schemars(length(min = 1), example = &"policy.rego")]
    pub file: String,
    /// The rule that decides: a boolean rule, `default`ed to `false`.
    #[serde(default = "default_entrypoint")]
    #[schemars(regex(pattern = r"^data(\.[A-Za-z_][A-Za-z0-9_]*)+$"), example = &"data.airlock.authz.allow")]
    pub entrypoint: String,
    /// Rego test files (rules named `test_*`), run by `airlockc test` and `airlockc build`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(example = ex::list("policy_test.rego"))]
    pub tests: Vec<String>,
    /// How long a decision is cached, per tenant. `0s` disables the cache.
    #[serde(default = "default_cache_ttl", rename = "cacheTTL")]
    #[schemars(example = &"1m")]
    pub cache_ttl: Duration,
    /// The most decisions kept in the cache.
    #[serde(default = "default_cache_size")]
    #[schemars(range(min = 0, max = 10000000), example = 10000)]
    pub cache_size: u32,
    /// The signal that reloads the policy. Only `SIGHUP`.
    #[serde(default)]
    #[schemars(example = &"SIGHUP")]
    pub reload_signal: ReloadSignal,
}

fn default_entrypoint() -> String {
    "data.airlock.authz.allow".into()
}
fn default_cache_ttl() -> Duration {
    Duration::from_secs(60)
}
fn default_cache_size() -> u32 {
    10_000
}

/// The signal that triggers a policy reload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[allow(clippy::upper_case_acronyms)]
pub enum ReloadSignal {
    #[default]
    SIGHUP,
}
