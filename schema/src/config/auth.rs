//! `auth`: OIDC bearer-token authentication.

use crate::examples as ex;
use crate::types::{Duration, HttpUrl, SecretKeyRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Client authentication.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Auth {
    /// OpenID Connect: bearer JWTs validated against the issuer's published keys.
    #[schemars(example = ex::oidc())]
    pub oidc: Oidc,
    /// Groups whose members may call the admin endpoints (e.g. `POST /admin/policy/reload`).
    #[serde(default = "default_admin_groups")]
    #[schemars(example = ex::list("airlock.admins"))]
    pub admin_groups: Vec<String>,
}

fn default_admin_groups() -> Vec<String> {
    vec!["airlock.admins".into()]
}

/// An OpenID Connect issuer whose access tokens the gateway accepts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Oidc {
    /// The issuer URL, exactly as in the tokens' `iss` claim. Discovery is fetched from
    /// `<issuer>/.well-known/openid-configuration`. Must be https outside localhost.
    #[schemars(example = &"https://idp.example.com")]
    pub issuer: HttpUrl,
    /// The audience tokens must be issued for (their `aud` claim must contain it).
    #[schemars(example = &"mcp-airlock-prod")]
    pub audience: String,
    /// Tolerance for clock differences when checking `exp` and `nbf`.
    #[serde(default = "default_clock_skew")]
    #[schemars(example = &"2m")]
    pub clock_skew: Duration,
    /// How long the issuer's signing keys (JWKS) are cached. An unknown `kid` refetches sooner.
    #[serde(default = "default_jwks_ttl", rename = "jwksCacheTTL")]
    #[schemars(example = &"5m")]
    pub jwks_cache_ttl: Duration,
    /// A token must carry at least one of these groups. Empty: any authenticated subject.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(example = ex::list("mcp.users"))]
    pub required_groups: Vec<String>,
    /// The claim holding the subject's groups.
    #[serde(default = "default_groups_claim")]
    #[schemars(example = &"groups")]
    pub groups_claim: String,
    /// The claim holding the tenant, used for per-tenant rate limits and decision caching.
    #[serde(default = "default_tenant_claim")]
    #[schemars(example = &"tid")]
    pub tenant_claim: String,
    /// The claim identifying the subject.
    #[serde(default = "default_subject_claim")]
    #[schemars(example = &"sub")]
    pub subject_claim: String,
    /// Signature algorithms accepted. Only asymmetric ones; the key's own `alg` must agree.
    #[serde(default = "default_algorithms")]
    #[schemars(length(min = 1), example = ex::list("RS256 ES256"))]
    pub algorithms: Vec<JwtAlgorithm>,
    /// The OIDC client secret, for deployments that also introspect tokens. Only ever a reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = ex::client_secret_ref())]
    pub client_secret_ref: Option<SecretKeyRef>,
}

fn default_clock_skew() -> Duration {
    Duration::from_secs(60)
}
fn default_jwks_ttl() -> Duration {
    Duration::from_secs(300)
}
fn default_groups_claim() -> String {
    "groups".into()
}
fn default_tenant_claim() -> String {
    "tid".into()
}
fn default_subject_claim() -> String {
    "sub".into()
}
fn default_algorithms() -> Vec<JwtAlgorithm> {
    vec![JwtAlgorithm::RS256, JwtAlgorithm::ES256]
}

/// An asymmetric JWS algorithm. Symmetric (`HS*`) and `none` are never accepted.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[allow(clippy::upper_case_acronyms)]
pub enum JwtAlgorithm {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    EdDSA,
}
