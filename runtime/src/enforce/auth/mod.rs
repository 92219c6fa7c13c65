//! Authentication: a bearer JWT from the `Authorization` header only, validated against the
//! OIDC issuer's published keys. Two stages, named in logs as `auth_stage`:
//! `token_extraction` (the header) and `token_validation` (signature, issuer, audience, times,
//! groups). A validated token is cached until it expires, so a repeated token costs a lookup.

mod cache;
pub mod jwks;

pub use jwks::{Jwks, KeySetInfo};

use crate::errors::{AuthStage, ErrorType, Failure};
use airlock_schema::runtime::AuthConfig;
use axum::http::HeaderMap;
use cache::TokenCache;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The largest token accepted: identity tokens are 1–4 KiB; anything larger is refused unread.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The bytes of a JWT in compact form: base64url and the two dots (a table: every request's
/// token, often a kilobyte, is checked byte by byte).
const JWT_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.');
        b += 1;
    }
    table
};

/// Who is calling, from a validated token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub tenant: String,
    pub groups: Vec<String>,
    /// `exp`, seconds since the epoch.
    pub expires_at: u64,
}

/// An authentication failure and the stage it happened in.
#[derive(Debug, Clone)]
pub struct AuthError {
    pub stage: AuthStage,
    pub failure: Failure,
}

/// A token's groups for a message: the first ten, and how many more.
fn describe_groups(groups: &[String]) -> String {
    match groups.len() {
        0 => "no groups".into(),
        n if n <= 10 => groups.join(", "),
        n => format!("{} and {} more", groups[..10].join(", "), n - 10),
    }
}

fn fail(stage: AuthStage, kind: ErrorType, message: &str) -> AuthError {
    AuthError {
        stage,
        failure: Failure::new(kind, message),
    }
}

pub struct Authenticator {
    config: AuthConfig,
    pub jwks: Arc<Jwks>,
    algorithms: Vec<Algorithm>,
    cache: TokenCache,
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Authenticator {
    pub fn new(config: &AuthConfig, jwks: Arc<Jwks>) -> Self {
        let algorithms = config
            .algorithms
            .iter()
            .filter_map(|a| a.parse::<Algorithm>().ok())
            .filter(|a| !matches!(a, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512))
            .collect();
        Self {
            config: config.clone(),
            jwks,
            algorithms,
            cache: TokenCache::new(10_000),
        }
    }

    /// Extracts the bearer token from the headers (stage `token_extraction`; its shape is
    /// checked by `validate`, for a token not in the cache).
    pub fn extract(headers: &HeaderMap) -> Result<&str, AuthError> {
        let stage = AuthStage::Extraction;
        let mut values = headers.get_all(axum::http::header::AUTHORIZATION).iter();
        let Some(value) = values.next() else {
            return Err(fail(
                stage,
                ErrorType::MissingToken,
                "missing bearer token: send `Authorization: Bearer <token>`",
            ));
        };
        if values.next().is_some() {
            return Err(fail(
                stage,
                ErrorType::MalformedToken,
                "more than one Authorization header",
            ));
        }
        if value.len() > MAX_TOKEN_BYTES + 7 {
            return Err(fail(
                stage,
                ErrorType::MalformedToken,
                "the bearer token is too large",
            ));
        }
        let value = value.to_str().map_err(|_| {
            fail(
                stage,
                ErrorType::MalformedToken,
                "the Authorization header is not ASCII",
            )
        })?;
        let Some((scheme, token)) = value.split_once(' ') else {
            return Err(fail(
                stage,
                ErrorType::MalformedToken,
                "the Authorization header must be `Bearer <token>`",
            ));
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(fail(
                stage,
                ErrorType::MalformedToken,
                "only the Bearer authorization scheme is accepted",
            ));
        }
        Ok(token.trim())
    }

    /// Whether an extracted token has the shape of a JWT (stage `token_extraction`): three
    /// base64url parts. A cached token passed this check when it was validated.
    pub fn check_shape(token: &str) -> Result<(), AuthError> {
        let shape_ok = token.bytes().filter(|&b| b == b'.').count() == 2
            && token.bytes().all(|b| JWT_BYTES[usize::from(b)]);
        if shape_ok {
            Ok(())
        } else {
            Err(fail(
                AuthStage::Extraction,
                ErrorType::MalformedToken,
                "the bearer token is not a JWT (three base64url parts)",
            ))
        }
    }

    /// Validates a token (stage `token_validation`), from the cache when it was seen before
    /// (the exact same text: it had the shape of a JWT then).
    pub async fn validate(&self, token: &str) -> Result<Arc<Principal>, AuthError> {
        let now = now_secs();
        if let Some(principal) = self.cache.get(token, now) {
            return Ok(principal);
        }
        Self::check_shape(token)?;
        let principal = Arc::new(self.validate_uncached(token, now).await?);
        self.cache.insert(token, principal.clone(), now);
        Ok(principal)
    }

    async fn validate_uncached(&self, token: &str, now: u64) -> Result<Principal, AuthError> {
        let stage = AuthStage::Validation;
        let alg = raw_algorithm(token).ok_or_else(|| {
            fail(
                stage,
                ErrorType::MalformedToken,
                "the token header is not valid",
            )
        })?;
        if !self.algorithms.iter().any(|a| format!("{a:?}") == alg) {
            return Err(fail(
                stage,
                ErrorType::UnsupportedAlgorithm,
                &format!("the algorithm `{alg}` is not accepted"),
            ));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
            ErrorKind::InvalidAlgorithmName | ErrorKind::UnsupportedAlgorithm => fail(
                stage,
                ErrorType::UnsupportedAlgorithm,
                "the token's algorithm is not accepted",
            ),
            _ => fail(
                stage,
                ErrorType::MalformedToken,
                "the token header is not valid",
            ),
        })?;
        if header.jku.is_some() || header.x5u.is_some() || header.jwk.is_some() {
            return Err(fail(
                stage,
                ErrorType::InvalidToken,
                "tokens naming their own keys (jku, x5u, jwk) are refused",
            ));
        }
        // RFC 7515 §4.1.11: a recipient that does not understand a critical extension must
        // refuse the token; the gateway understands none.
        if header.crit.is_some() {
            return Err(fail(
                stage,
                ErrorType::InvalidToken,
                "tokens with critical header extensions (crit) are refused",
            ));
        }
        if !self.algorithms.contains(&header.alg) {
            return Err(fail(
                stage,
                ErrorType::UnsupportedAlgorithm,
                &format!("the algorithm {:?} is not accepted", header.alg),
            ));
        }
        let keys = self
            .jwks
            .keys_for(header.kid.as_deref(), header.alg)
            .await
            .map_err(|kind| {
                let message = match kind {
                    ErrorType::UnknownKey => {
                        "the token was signed with a key the issuer does not publish"
                    }
                    _ => "the identity provider's keys are unavailable",
                };
                fail(stage, kind, message)
            })?;
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.leeway = self.config.clock_skew_ms / 1000;
        validation.set_issuer(&[self.config.issuer.as_str()]);
        validation.set_audience(&[self.config.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        let mut last = ErrorType::InvalidSignature;
        for key in &keys {
            match jsonwebtoken::decode::<Map<String, Value>>(token, &key.decoding, &validation) {
                Ok(data) => return self.principal(&data.claims, now),
                Err(error) => {
                    last = match error.kind() {
                        ErrorKind::InvalidSignature
                        | ErrorKind::InvalidAlgorithm
                        | ErrorKind::InvalidKeyFormat => ErrorType::InvalidSignature,
                        ErrorKind::ExpiredSignature => {
                            return Err(fail(
                                stage,
                                ErrorType::TokenExpired,
                                "the token has expired",
                            ));
                        }
                        ErrorKind::ImmatureSignature => {
                            return Err(fail(
                                stage,
                                ErrorType::TokenNotYetValid,
                                "the token is not valid yet (nbf)",
                            ));
                        }
                        ErrorKind::InvalidIssuer => {
                            return Err(fail(
                                stage,
                                ErrorType::InvalidIssuer,
                                "the token was issued by another issuer",
                            ));
                        }
                        ErrorKind::InvalidAudience => {
                            return Err(fail(
                                stage,
                                ErrorType::InvalidAudience,
                                "the token was issued for another audience",
                            ));
                        }
                        ErrorKind::MissingRequiredClaim(claim) => {
                            return Err(fail(
                                stage,
                                ErrorType::InvalidToken,
                                &format!("the token has no `{claim}` claim"),
                            ));
                        }
                        _ => ErrorType::InvalidToken,
                    }
                }
            }
        }
        Err(fail(
            stage,
            last,
            if last == ErrorType::InvalidSignature {
                "the token signature is not valid"
            } else {
                "the token is not valid"
            },
        ))
    }

    fn principal(&self, claims: &Map<String, Value>, now: u64) -> Result<Principal, AuthError> {
        let stage = AuthStage::Validation;
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_string);
        let subject = text(&self.config.subject_claim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                fail(
                    stage,
                    ErrorType::InvalidToken,
                    &format!("the token has no `{}` claim", self.config.subject_claim),
                )
            })?;
        let groups = match claims.get(&self.config.groups_claim) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(Value::String(s)) => s
                .split([' ', ','])
                .filter(|g| !g.is_empty())
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        if !self.config.required_groups.is_empty()
            && !groups
                .iter()
                .any(|g| self.config.required_groups.contains(g))
        {
            // The caller's own groups, as the gateway read them, answer the usual question
            // (is the claim there, under this name, in this form?) without a token decoder.
            let failure = Failure::new(
                ErrorType::MissingGroup,
                format!(
                    "the token carries none of the groups this gateway requires (its `{}` claim holds {})",
                    self.config.groups_claim,
                    describe_groups(&groups)
                ),
            )
            .with("subject", subject.clone())
            .with("groups_claim", self.config.groups_claim.clone())
            .with("token_groups", groups);
            return Err(AuthError { stage, failure });
        }
        let expires_at = claims.get("exp").and_then(Value::as_u64).unwrap_or(now);
        Ok(Principal {
            subject,
            tenant: text(&self.config.tenant_claim).unwrap_or_default(),
            groups,
            expires_at,
        })
    }

    pub fn is_admin(&self, principal: &Principal) -> bool {
        principal
            .groups
            .iter()
            .any(|g| self.config.admin_groups.contains(g))
    }
}

/// The `alg` of a token's header, read before any parsing that could reject it less precisely.
fn raw_algorithm(token: &str) -> Option<String> {
    use base64::Engine as _;
    let header = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value.get("alg")?.as_str().map(str::to_string)
}

/// A message as RFC 6750 allows in `error_description`: printable ASCII without `"` or `\`
/// (a token's header can put anything into the message).
fn error_description(message: &str) -> String {
    message
        .chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            ' '..='~' => c,
            _ => '?',
        })
        .collect()
}

/// A 401's `WWW-Authenticate` header (RFC 6750 and RFC 9728 `resource_metadata`).
pub fn www_authenticate(resource_metadata: &str, failure: Option<&Failure>) -> String {
    match failure.filter(|f| f.kind != ErrorType::MissingToken) {
        Some(f) => format!(
            "Bearer resource_metadata=\"{resource_metadata}\", error=\"invalid_token\", error_description=\"{}\"",
            error_description(&f.message)
        ),
        None => format!("Bearer resource_metadata=\"{resource_metadata}\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(
                axum::http::header::AUTHORIZATION,
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn extraction() {
        assert_eq!(
            Authenticator::extract(&headers(&["Bearer a.b.c"])).unwrap(),
            "a.b.c"
        );
        assert_eq!(
            Authenticator::extract(&headers(&["bearer a.b.c"])).unwrap(),
            "a.b.c"
        );
        let kind = |h: &[&str]| {
            Authenticator::extract(&headers(h))
                .and_then(|token| Authenticator::check_shape(token).map(|()| token))
                .unwrap_err()
                .failure
                .kind
        };
        assert_eq!(kind(&[]), ErrorType::MissingToken);
        assert_eq!(
            kind(&["Bearer a.b.c", "Bearer d.e.f"]),
            ErrorType::MalformedToken
        );
        assert_eq!(kind(&["Basic dXNlcjpw"]), ErrorType::MalformedToken);
        assert_eq!(kind(&["Bearer abc"]), ErrorType::MalformedToken);
        assert_eq!(kind(&["Bearer a.b.c/../x"]), ErrorType::MalformedToken);
        let huge = format!("Bearer {}.b.c", "a".repeat(MAX_TOKEN_BYTES));
        assert_eq!(kind(&[&huge]), ErrorType::MalformedToken);
    }

    #[test]
    fn error_descriptions_stay_in_rfc_6750s_characters() {
        let f = Failure::new(
            ErrorType::InvalidToken,
            "alg \"\u{fc}n\u{ef}\" \\ is\nnot allowed",
        );
        let header = www_authenticate("u", Some(&f));
        assert!(
            header.ends_with("error_description=\"alg '?n?' ' is?not allowed\""),
            "{header}"
        );
    }

    #[test]
    fn www_authenticate_names_the_metadata() {
        assert_eq!(
            www_authenticate("https://x/.well-known/oauth-protected-resource", None),
            "Bearer resource_metadata=\"https://x/.well-known/oauth-protected-resource\""
        );
        let f = Failure::new(ErrorType::TokenExpired, "the token has expired");
        assert!(
            www_authenticate("u", Some(&f))
                .contains("error=\"invalid_token\", error_description=\"the token has expired\"")
        );
    }
}
