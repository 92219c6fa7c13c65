//! The issuer's signing keys: OIDC discovery (`<issuer>/.well-known/openid-configuration`, whose
//! `issuer` must match exactly), then the JWKS at its `jwks_uri`. Keys are cached for the
//! configured TTL and refreshed in the background; a token with an unknown `kid` triggers a
//! refetch (at most one every few seconds), so key rotation needs no restart. If the issuer is
//! unreachable, the last keys keep serving.

use crate::errors::ErrorType;
use arc_swap::ArcSwapOption;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The least time between two refetches triggered by unknown key ids.
const REFETCH_INTERVAL: Duration = Duration::from_secs(5);
/// The largest discovery or JWKS document read.
const MAX_DOCUMENT_BYTES: usize = 512 * 1024;

/// One usable verification key.
pub struct Key {
    pub kid: Option<String>,
    pub decoding: DecodingKey,
    /// The key's own `alg`, when it declares one: tokens must use exactly that.
    pub alg: Option<Algorithm>,
    pub family: Family,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Rsa,
    Ec,
    Okp,
}

impl Family {
    fn accepts(self, alg: Algorithm) -> bool {
        use Algorithm::*;
        match self {
            Family::Rsa => matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
            Family::Ec => matches!(alg, ES256 | ES384),
            Family::Okp => matches!(alg, EdDSA),
        }
    }
}

/// Why the issuer's keys could not be fetched or used (the previous keys, if any, stay).
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    /// The URL names a metadata or link-local address (a discovery document can name any).
    #[error("GET {url}: {source}")]
    Forbidden {
        url: String,
        #[source]
        source: crate::outbound::Refused,
    },
    /// The request did not get an answer.
    #[error("GET {url}: {}", crate::errors::error_chain(.source))]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The answer was not a success.
    #[error("GET {url}: HTTP {status}")]
    Status {
        url: String,
        status: reqwest::StatusCode,
    },
    /// The body of the answer could not be read.
    #[error("GET {url}: {source}")]
    Body {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("GET {url}: the document is larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge { url: String },
    #[error("GET {url}: not JSON ({source})")]
    NotJson {
        url: String,
        #[source]
        source: serde_json::Error,
    },
    /// Discovery names another issuer than the configured one.
    #[error("OIDC discovery at {discovery_url} names the issuer `{advertised}`, not `{expected}`")]
    IssuerMismatch {
        discovery_url: String,
        advertised: String,
        expected: String,
    },
    #[error("OIDC discovery at {discovery_url} has no jwks_uri")]
    NoJwksUri { discovery_url: String },
    /// The document is not a JWKS.
    #[error("the JWKS at {jwks_uri} is not valid: {source}")]
    InvalidJwks {
        jwks_uri: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("the JWKS at {jwks_uri} has no usable signing key (RSA, EC or OKP, use=sig)")]
    NoUsableKey { jwks_uri: String },
}

struct KeySet {
    keys: Vec<Arc<Key>>,
    fetched: Instant,
}

/// What `airlock doctor` and `/info` show about the keys.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KeySetInfo {
    pub jwks_uri: Option<String>,
    pub keys: Vec<String>,
    pub age_seconds: Option<u64>,
    pub last_error: Option<String>,
}

pub struct Jwks {
    issuer: String,
    ttl: Duration,
    client: reqwest::Client,
    current: ArcSwapOption<KeySet>,
    jwks_uri: std::sync::Mutex<Option<String>>,
    last_error: std::sync::Mutex<Option<String>>,
    refresh: Mutex<Option<Instant>>,
}

impl Jwks {
    pub fn new(issuer: &str, ttl_ms: u64, client: reqwest::Client) -> Self {
        Self {
            issuer: issuer.to_string(),
            ttl: Duration::from_millis(ttl_ms.max(1000)),
            client,
            current: ArcSwapOption::empty(),
            jwks_uri: std::sync::Mutex::new(None),
            last_error: std::sync::Mutex::new(None),
            refresh: Mutex::new(None),
        }
    }

    /// True once keys were fetched (readiness).
    pub fn is_loaded(&self) -> bool {
        self.current.load().is_some()
    }

    pub fn info(&self) -> KeySetInfo {
        let current = self.current.load();
        KeySetInfo {
            jwks_uri: self.jwks_uri.lock().expect("jwks lock").clone(),
            keys: current
                .as_ref()
                .map(|set| {
                    set.keys
                        .iter()
                        .map(|k| {
                            format!(
                                "{} ({:?}{})",
                                k.kid.as_deref().unwrap_or("no kid"),
                                k.family,
                                k.alg.map(|a| format!(", {a:?}")).unwrap_or_default()
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            age_seconds: current.as_ref().map(|s| s.fetched.elapsed().as_secs()),
            last_error: self.last_error.lock().expect("jwks lock").clone(),
        }
    }

    /// Fetches discovery and keys now. On failure the previous keys stay.
    pub async fn refresh(&self) -> Result<usize, JwksError> {
        match self.fetch().await {
            Ok(set) => {
                let count = set.keys.len();
                self.current.store(Some(Arc::new(KeySet {
                    keys: set.keys.clone(),
                    fetched: Instant::now(),
                })));
                *self.last_error.lock().expect("jwks lock") = None;
                tracing::info!(issuer = %self.issuer, keys = count, "JWKS fetched");
                Ok(count)
            }
            Err(error) => {
                *self.last_error.lock().expect("jwks lock") = Some(error.to_string());
                if self.current.load().is_some() {
                    tracing::warn!(issuer = %self.issuer, error = %error, error_type = "identity_provider_unavailable", "JWKS fetch failed; the previous keys keep serving");
                } else {
                    tracing::warn!(issuer = %self.issuer, error = %error, error_type = "identity_provider_unavailable", "JWKS fetch failed and no keys were fetched yet: tokens cannot be validated until the issuer answers");
                }
                Err(error)
            }
        }
    }

    async fn get_json(&self, url: &str) -> Result<serde_json::Value, JwksError> {
        let url = url.to_string();
        if let Err(source) = crate::outbound::check_url(&url) {
            return Err(JwksError::Forbidden { url, source });
        }
        let response = match self.client.get(&url).send().await {
            Ok(response) => response,
            Err(source) => return Err(JwksError::Unreachable { url, source }),
        };
        let status = response.status();
        if !status.is_success() {
            return Err(JwksError::Status { url, status });
        }
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(source) => return Err(JwksError::Body { url, source }),
        };
        if bytes.len() > MAX_DOCUMENT_BYTES {
            return Err(JwksError::TooLarge { url });
        }
        serde_json::from_slice(&bytes).map_err(|source| JwksError::NotJson { url, source })
    }

    async fn fetch(&self) -> Result<KeySet, JwksError> {
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        );
        let discovery = self.get_json(&discovery_url).await?;
        let advertised = discovery
            .get("issuer")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        if advertised != self.issuer {
            return Err(JwksError::IssuerMismatch {
                discovery_url,
                advertised: advertised.to_string(),
                expected: self.issuer.clone(),
            });
        }
        let jwks_uri = discovery
            .get("jwks_uri")
            .and_then(|v| v.as_str())
            .ok_or(JwksError::NoJwksUri { discovery_url })?
            .to_string();
        *self.jwks_uri.lock().expect("jwks lock") = Some(jwks_uri.clone());
        let document = self.get_json(&jwks_uri).await?;
        key_set(document, &jwks_uri)
    }

    /// Uses a JWKS document given in hand instead of fetching one (benchmarks and fuzzing,
    /// which must not depend on the network); the number of usable keys.
    pub fn install(&self, document: serde_json::Value) -> Result<usize, JwksError> {
        let set = key_set(document, "(installed)")?;
        let count = set.keys.len();
        self.current.store(Some(Arc::new(set)));
        Ok(count)
    }

    /// The candidate keys for a token: by `kid` when it has one, else every key of the right family.
    pub async fn keys_for(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Vec<Arc<Key>>, ErrorType> {
        let stale = self
            .current
            .load()
            .as_ref()
            .is_none_or(|set| set.fetched.elapsed() > self.ttl);
        if stale {
            self.refresh_single_flight(Duration::ZERO).await;
        }
        if let Some(found) = self.lookup(kid, alg) {
            return Ok(found);
        }
        if self.current.load().is_none() {
            return Err(ErrorType::IdentityProviderUnavailable);
        }
        // An unknown kid may be a rotated key: refetch, rate-limited.
        self.refresh_single_flight(REFETCH_INTERVAL).await;
        self.lookup(kid, alg).ok_or(ErrorType::UnknownKey)
    }

    fn lookup(&self, kid: Option<&str>, alg: Algorithm) -> Option<Vec<Arc<Key>>> {
        let current = self.current.load();
        let set = current.as_ref()?;
        let found: Vec<Arc<Key>> = set
            .keys
            .iter()
            .filter(|k| match kid {
                Some(kid) => k.kid.as_deref() == Some(kid),
                None => true,
            })
            .filter(|k| k.family.accepts(alg) && k.alg.is_none_or(|a| a == alg))
            .cloned()
            .collect();
        (!found.is_empty()).then_some(found)
    }

    /// Refreshes unless another caller did within `min_interval`; concurrent callers wait for one fetch.
    async fn refresh_single_flight(&self, min_interval: Duration) {
        let mut last = self.refresh.lock().await;
        if last.is_some_and(|t| t.elapsed() < min_interval.max(Duration::from_millis(200))) {
            return;
        }
        let _ = self.refresh().await;
        *last = Some(Instant::now());
    }

    /// Refreshes the keys every TTL, forever.
    pub async fn run_refresher(self: Arc<Self>) {
        let mut delay = Duration::from_secs(1);
        loop {
            let ok = self.refresh().await.is_ok();
            delay = if ok {
                self.ttl
            } else {
                (delay * 2).min(Duration::from_secs(30))
            };
            tokio::time::sleep(delay).await;
        }
    }
}

/// A JWK the gateway may verify with: asymmetric, for signatures, with a known algorithm.
fn usable_key(jwk: &jsonwebtoken::jwk::Jwk) -> Option<Key> {
    let family = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Family::Rsa,
        AlgorithmParameters::EllipticCurve(_) => Family::Ec,
        AlgorithmParameters::OctetKeyPair(_) => Family::Okp,
        _ => return None,
    };
    if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return None;
    }
    let alg = match jwk.common.key_algorithm {
        None => None,
        Some(a) => Some(match a {
            KeyAlgorithm::RS256 => Algorithm::RS256,
            KeyAlgorithm::RS384 => Algorithm::RS384,
            KeyAlgorithm::RS512 => Algorithm::RS512,
            KeyAlgorithm::PS256 => Algorithm::PS256,
            KeyAlgorithm::PS384 => Algorithm::PS384,
            KeyAlgorithm::PS512 => Algorithm::PS512,
            KeyAlgorithm::ES256 => Algorithm::ES256,
            KeyAlgorithm::ES384 => Algorithm::ES384,
            KeyAlgorithm::EdDSA => Algorithm::EdDSA,
            _ => return None,
        }),
    };
    let decoding = DecodingKey::from_jwk(jwk).ok()?;
    Some(Key {
        kid: jwk.common.key_id.clone(),
        decoding,
        alg,
        family,
    })
}

/// The usable signing keys of a JWKS document fetched from `jwks_uri`.
fn key_set(document: serde_json::Value, jwks_uri: &str) -> Result<KeySet, JwksError> {
    let set: JwkSet =
        serde_json::from_value(document).map_err(|source| JwksError::InvalidJwks {
            jwks_uri: jwks_uri.to_string(),
            source,
        })?;
    let keys: Vec<Arc<Key>> = set
        .keys
        .iter()
        .filter_map(usable_key)
        .map(Arc::new)
        .collect();
    if keys.is_empty() {
        return Err(JwksError::NoUsableKey {
            jwks_uri: jwks_uri.to_string(),
        });
    }
    Ok(KeySet {
        keys,
        fetched: Instant::now(),
    })
}
