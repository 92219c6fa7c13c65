//! The identity provider, as the gateway sees it: OIDC discovery (reachable, naming this exact
//! issuer), the key set (usable keys, algorithms the config accepts, certificate expiry), and
//! a supplied token validated exactly as requests are, with the precise reason when it fails.

use super::{Check, der};
use crate::enforce::auth::{Authenticator, Jwks};
use crate::errors::ErrorType;
use airlock_schema::runtime::FrozenConfig;
use base64::Engine;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Certificates expiring sooner than this are a warning.
const EXPIRY_WARNING_DAYS: i64 = 14;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .dns_resolver(crate::outbound::GuardedResolver)
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("the HTTP client builds")
}

/// Why a document of the issuer (discovery, the key set) could not be read.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("will not fetch {url}: {source}")]
    Forbidden {
        url: String,
        #[source]
        source: crate::outbound::Refused,
    },
    #[error("cannot reach {url}: {}", crate::errors::error_chain(.source))]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} answered HTTP {status}")]
    Status {
        url: String,
        status: reqwest::StatusCode,
    },
    #[error("{url} did not answer JSON: {source}")]
    NotJson {
        url: String,
        #[source]
        source: reqwest::Error,
    },
}

async fn get_json(client: &reqwest::Client, url: &str) -> Result<Value, FetchError> {
    let url = url.to_string();
    if let Err(source) = crate::outbound::check_url(&url) {
        return Err(FetchError::Forbidden { url, source });
    }
    let response = match client.get(&url).send().await {
        Ok(response) => response,
        Err(source) => return Err(FetchError::Unreachable { url, source }),
    };
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::Status { url, status });
    }
    response
        .json()
        .await
        .map_err(|source| FetchError::NotJson { url, source })
}

pub async fn check(config: &FrozenConfig, token: Option<&str>) -> Vec<Check> {
    let issuer = &config.auth.issuer;
    let client = client();
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let mut checks = Vec::new();
    let discovery = match get_json(&client, &url).await {
        Ok(document) => document,
        Err(error) => {
            checks.push(Check::fail(
                "oidc.discovery",
                error.to_string(),
                "check auth.oidc.issuer and that the issuer is reachable from the gateway (DNS, egress NetworkPolicy, proxy, TLS trust)",
            ));
            checks.push(Check::skip("oidc.jwks", "needs discovery"));
            if token.is_some() {
                checks.push(Check::skip("token", "needs the issuer's keys"));
            }
            return checks;
        }
    };
    let advertised = discovery["issuer"].as_str().unwrap_or_default();
    let Some(jwks_uri) = discovery["jwks_uri"].as_str() else {
        checks.push(Check::fail(
            "oidc.discovery",
            format!("{url} has no jwks_uri"),
            "the issuer is not an OIDC provider, or the URL points at the wrong path",
        ));
        return checks;
    };
    if advertised != issuer {
        checks.push(Check::fail(
            "oidc.discovery",
            format!("the discovery document names the issuer `{advertised}`, the config says `{issuer}`; tokens carry `{advertised}` and would all be refused"),
            format!("set auth.oidc.issuer to exactly `{advertised}` (trailing slash included) and rebuild"),
        ));
    } else {
        checks.push(Check::pass(
            "oidc.discovery",
            format!("{url} names issuer `{issuer}`"),
        ));
    }
    checks.push(keys(&client, jwks_uri, config).await);
    if let Some(token) = token {
        checks.push(validate(config, token).await);
    }
    checks
}

async fn keys(client: &reqwest::Client, jwks_uri: &str, config: &FrozenConfig) -> Check {
    let document = match get_json(client, jwks_uri).await {
        Ok(document) => document,
        Err(error) => {
            return Check::fail(
                "oidc.jwks",
                error.to_string(),
                "the key set must be reachable from the gateway: check DNS, egress and TLS trust",
            );
        }
    };
    let keys = document["keys"].as_array().cloned().unwrap_or_default();
    let signing: Vec<&Value> = keys
        .iter()
        .filter(|k| {
            matches!(k["kty"].as_str(), Some("RSA" | "EC" | "OKP"))
                && k["use"].as_str() != Some("enc")
        })
        .collect();
    if signing.is_empty() {
        return Check::fail(
            "oidc.jwks",
            format!("{jwks_uri} has no signing key (RSA, EC or OKP with use=sig)"),
            "configure a signing key at the identity provider",
        );
    }
    let accepted = &config.auth.algorithms;
    let usable = signing
        .iter()
        .filter(|k| match k["alg"].as_str() {
            Some(alg) => accepted.iter().any(|a| a == alg),
            None => true,
        })
        .count();
    if usable == 0 {
        let algs: Vec<&str> = signing.iter().filter_map(|k| k["alg"].as_str()).collect();
        return Check::fail(
            "oidc.jwks",
            format!("every key is for {algs:?}, none for the accepted algorithms {accepted:?}"),
            "add the provider's algorithm to auth.oidc.algorithms, or configure the provider to sign with an accepted one",
        );
    }
    let now = crate::record::audit::now_secs();
    for key in &signing {
        let Some(cert) = key["x5c"][0].as_str() else {
            continue;
        };
        let kid = key["kid"].as_str().unwrap_or("(no kid)");
        let Some(not_after) = base64::engine::general_purpose::STANDARD
            .decode(cert)
            .ok()
            .and_then(|der| der::not_after(&der))
        else {
            return Check::warn(
                "oidc.jwks",
                format!("the certificate of key {kid} cannot be read"),
                "check the key set's x5c entries",
            );
        };
        let days = (not_after - now).div_euclid(86_400);
        if not_after <= now {
            return Check::fail(
                "oidc.jwks",
                format!("the certificate of key {kid} expired {} days ago", -days),
                "rotate the identity provider's signing key",
            );
        }
        if days < EXPIRY_WARNING_DAYS {
            return Check::warn(
                "oidc.jwks",
                format!("the certificate of key {kid} expires in {days} days"),
                "plan the identity provider's key rotation",
            );
        }
    }
    Check::pass(
        "oidc.jwks",
        format!(
            "{usable} usable signing key(s) of {} at {jwks_uri}",
            keys.len()
        ),
    )
}

/// The token's claims, unverified, to explain a failure.
fn claims(token: &str) -> Value {
    token
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(Value::Null)
}

async fn validate(config: &FrozenConfig, token: &str) -> Check {
    let jwks = Arc::new(Jwks::new(
        &config.auth.issuer,
        config.auth.jwks_cache_ttl_ms,
        client(),
    ));
    let _ = jwks.refresh().await;
    let authenticator = Authenticator::new(&config.auth, jwks);
    match authenticator.validate(token.trim()).await {
        Ok(principal) => {
            let minutes = principal
                .expires_at
                .saturating_sub(crate::enforce::auth::now_secs())
                / 60;
            Check::pass(
                "token",
                format!(
                    "valid: subject `{}`, tenant `{}`, groups {:?}, expires in {minutes} min",
                    principal.subject, principal.tenant, principal.groups
                ),
            )
        }
        Err(error) => {
            let claims = claims(token.trim());
            let auth = &config.auth;
            let fix = match error.failure.kind {
                ErrorType::TokenExpired => format!("get a fresh token (it expired at exp={})", claims["exp"]),
                ErrorType::TokenNotYetValid => "check the clocks of the identity provider and the gateway (nbf/iat are in the future)".to_string(),
                ErrorType::InvalidAudience => format!("request a token for the audience `{}` (the token's aud is {})", auth.audience, claims["aud"]),
                ErrorType::InvalidIssuer => format!("use a token from `{}` (the token's iss is {})", auth.issuer, claims["iss"]),
                ErrorType::MissingGroup => format!("add the user to one of {:?} at the identity provider, or check auth.oidc.groupsClaim (`{}`; the token has {})", auth.required_groups, auth.groups_claim, claims[&auth.groups_claim]),
                ErrorType::UnsupportedAlgorithm => format!("the gateway accepts {:?} (auth.oidc.algorithms)", auth.algorithms),
                ErrorType::InvalidSignature | ErrorType::UnknownKey => "the token was not signed by this issuer's current keys: get a token from this issuer".to_string(),
                ErrorType::MalformedToken => "pass the raw JWT (three base64url parts), without the `Bearer ` prefix".to_string(),
                ErrorType::IdentityProviderUnavailable => "the issuer's keys could not be fetched: see the oidc checks above".to_string(),
                _ => "see the reason".to_string(),
            };
            Check::fail(
                "token",
                format!(
                    "{} ({})",
                    error.failure.message,
                    error.failure.kind.as_str()
                ),
                fix,
            )
        }
    }
}
