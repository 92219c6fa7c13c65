//! A development OpenID Connect issuer: discovery and JWKS on a loopback address, keys generated
//! at start (RSA and EC), and a token endpoint that signs tokens for any subject and groups you
//! ask for. For the quickstart, tests and benchmarks only — it authenticates nobody, so
//! `airlock dev-idp` refuses to listen on anything but loopback.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// A signing key and its public JWK.
pub struct SigningKey {
    pub kid: String,
    pub alg: Algorithm,
    pub encoding: EncodingKey,
    pub jwk: Value,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl SigningKey {
    /// A fresh RSA-2048 key for RS256.
    pub fn rsa(kid: &str) -> Self {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::rsa::{KeyPair, KeySize};
        use aws_lc_rs::signature::KeyPair as _;
        let pair = KeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).expect("PKCS#8 export");
        let public = pair.public_key();
        let jwk = json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": b64(public.modulus().big_endian_without_leading_zero()),
            "e": b64(public.exponent().big_endian_without_leading_zero()),
        });
        let pkcs1 = pkcs8_inner_key(der.as_ref()).expect("PKCS#8 holds a PKCS#1 key");
        Self {
            kid: kid.into(),
            alg: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_der(pkcs1),
            jwk,
        }
    }

    /// A fresh P-256 key for ES256.
    pub fn ec(kid: &str) -> Self {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("EC key generation");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .expect("EC key parse");
        let point = pair.public_key().as_ref();
        let jwk = json!({
            "kty": "EC", "use": "sig", "alg": "ES256", "kid": kid, "crv": "P-256",
            "x": b64(&point[1..33]), "y": b64(&point[33..65]),
        });
        Self {
            kid: kid.into(),
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk,
        }
    }
}

/// One DER TLV: (tag, content, rest).
fn der_tlv(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        (
            rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b)),
            &rest[n..],
        )
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 `PrivateKeyInfo` (its `privateKey` OCTET STRING).
fn pkcs8_inner_key(der: &[u8]) -> Option<&[u8]> {
    let (0x30, info, _) = der_tlv(der)? else {
        return None;
    };
    let (0x02, _, rest) = der_tlv(info)? else {
        return None;
    };
    let (0x30, _, rest) = der_tlv(rest)? else {
        return None;
    };
    let (0x04, key, _) = der_tlv(rest)? else {
        return None;
    };
    Some(key)
}

pub struct DevIdp {
    pub issuer: String,
    pub audience: String,
    keys: RwLock<Vec<Arc<SigningKey>>>,
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl DevIdp {
    pub fn new(issuer: &str, audience: &str) -> Arc<Self> {
        Arc::new(Self {
            issuer: issuer.into(),
            audience: audience.into(),
            keys: RwLock::new(vec![
                Arc::new(SigningKey::rsa("rsa-1")),
                Arc::new(SigningKey::ec("ec-1")),
            ]),
        })
    }

    /// The published keys.
    pub fn jwks(&self) -> Value {
        json!({ "keys": self.keys.read().expect("keys lock").iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
    }

    /// Replaces the keys (rotation); returns the new RSA key's id.
    pub fn rotate(&self) -> String {
        let mut keys = self.keys.write().expect("keys lock");
        let n = keys.len() + 1;
        let kid = format!("rsa-{n}");
        *keys = vec![Arc::new(SigningKey::rsa(&kid))];
        kid
    }

    /// The first key of an algorithm.
    pub fn key(&self, alg: Algorithm) -> Arc<SigningKey> {
        self.keys
            .read()
            .expect("keys lock")
            .iter()
            .find(|k| k.alg == alg)
            .cloned()
            .expect("a key of that algorithm")
    }

    /// Standard claims for a subject: issuer, audience, one hour of validity.
    pub fn claims(&self, subject: &str, groups: &[&str]) -> Value {
        let now = now();
        json!({ "iss": self.issuer, "aud": self.audience, "sub": subject, "groups": groups, "tid": "dev", "iat": now, "nbf": now, "exp": now + 3600 })
    }

    /// Signs claims with a key of `alg` (RS256 unless said otherwise).
    pub fn sign(&self, claims: &Value, alg: Algorithm) -> String {
        let key = self.key(alg);
        let mut header = Header::new(key.alg);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding).expect("signing")
    }

    pub fn token(&self, subject: &str, groups: &[&str]) -> String {
        self.sign(&self.claims(subject, groups), Algorithm::RS256)
    }

    /// Discovery, JWKS and a token endpoint (`POST /token {"sub": ..., "groups": [...]}`).
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route(
                "/jwks",
                get(|State(idp): State<Arc<DevIdp>>| async move { Json(idp.jwks()) }),
            )
            .route("/token", post(mint))
            .with_state(self)
    }
}

async fn discovery(State(idp): State<Arc<DevIdp>>) -> Json<Value> {
    let base = idp.issuer.trim_end_matches('/');
    Json(json!({
        "issuer": idp.issuer,
        "jwks_uri": format!("{base}/jwks"),
        "token_endpoint": format!("{base}/token"),
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
    }))
}

async fn mint(State(idp): State<Arc<DevIdp>>, Json(request): Json<Value>) -> Json<Value> {
    let subject = request
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or("dev-user");
    let groups: Vec<&str> = request
        .get("groups")
        .and_then(Value::as_array)
        .map(|g| g.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut claims = idp.claims(subject, &groups);
    if let Some(tenant) = request.get("tid").and_then(Value::as_str) {
        claims["tid"] = tenant.into();
    }
    if let Some(ttl) = request.get("expires_in").and_then(Value::as_u64) {
        claims["exp"] = (now() + ttl).into();
    }
    Json(
        json!({ "access_token": idp.sign(&claims, Algorithm::RS256), "token_type": "Bearer", "expires_in": 3600 }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_with_the_published_keys() {
        let idp = DevIdp::new("http://127.0.0.1:1", "aud");
        for alg in [Algorithm::RS256, Algorithm::ES256] {
            let token = idp.sign(&idp.claims("alice", &["g"]), alg);
            let key = idp.key(alg);
            let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.jwk.clone()).unwrap();
            let mut validation = jsonwebtoken::Validation::new(alg);
            validation.set_audience(&["aud"]);
            let data = jsonwebtoken::decode::<Value>(
                &token,
                &jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap(),
                &validation,
            )
            .unwrap();
            assert_eq!(data.claims["sub"], "alice");
        }
    }
}
