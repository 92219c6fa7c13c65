//! JWT header and claims handling, with the real `Authenticator` and a key set loaded from the
//! development issuer (no network). Two shapes of input: a raw `Authorization` header value,
//! and a (header, claims) pair of JSON texts signed with the issuer's trusted ES256 key, which
//! reaches the claim checks. Oracle: a token is accepted only if it names our issuer and
//! audience, is unexpired, and its subject and groups are what the principal says.
#![no_main]

use airlock::enforce::auth::{Authenticator, jwks::Jwks};
use airlock::devidp::DevIdp;
use airlock_schema::runtime::AuthConfig;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Port 9 (discard) on loopback: an unknown kid's refetch fails at once, never hangs.
const ISSUER: &str = "http://127.0.0.1:9";

struct Fixture {
    runtime: tokio::runtime::Runtime,
    idp: Arc<DevIdp>,
    auth: Authenticator,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // The HTTP client behind the key set needs a runtime to be built in.
        let _entered = runtime.enter();
        let idp = DevIdp::new(ISSUER, "fuzz");
        let config = AuthConfig {
            issuer: ISSUER.into(),
            audience: "fuzz".into(),
            clock_skew_ms: 60_000,
            jwks_cache_ttl_ms: 86_400_000,
            required_groups: vec!["mcp.users".into()],
            admin_groups: vec![],
            groups_claim: "groups".into(),
            tenant_claim: "tenant".into(),
            subject_claim: "sub".into(),
            algorithms: vec!["RS256".into(), "ES256".into()],
        };
        let jwks = Arc::new(Jwks::new(
            ISSUER,
            config.jwks_cache_ttl_ms,
            Default::default(),
        ));
        jwks.install(idp.jwks()).expect("the issuer's keys load");
        let auth = Authenticator::new(&config, jwks);
        drop(_entered);
        Fixture { runtime, idp, auth }
    })
}

fn validate(token: &str) -> Option<std::sync::Arc<airlock::enforce::auth::Principal>> {
    let f = fixture();
    f.runtime
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(5), f.auth.validate(token)).await
        })
        .expect("validation never hangs")
        .ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let f = fixture();
    if mode % 2 == 0 {
        let mut headers = axum::http::HeaderMap::new();
        if let Ok(value) = axum::http::HeaderValue::from_bytes(rest) {
            headers.insert(axum::http::header::AUTHORIZATION, value);
        }
        if let Ok(token) = Authenticator::extract(&headers) {
            let token = token.to_string();
            let _ = validate(&token);
        }
        return;
    }
    let text = String::from_utf8_lossy(rest);
    let (header, claims) = text.split_once('\u{1f}').unwrap_or(("", &text));
    let header = if header.is_empty() {
        serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": f.idp.key(Algorithm::ES256).kid})
            .to_string()
    } else {
        header.to_string()
    };
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.as_bytes()),
        URL_SAFE_NO_PAD.encode(claims.as_bytes())
    );
    let key = f.idp.key(Algorithm::ES256);
    let signature =
        jsonwebtoken::crypto::sign(signing_input.as_bytes(), &key.encoding, Algorithm::ES256)
            .expect("ES256 signs");
    let token = format!("{signing_input}.{signature}");
    if let Some(principal) = validate(&token) {
        let claims: Value = serde_json::from_str(claims).expect("accepted claims are JSON");
        assert_eq!(claims["iss"], ISSUER, "accepted another issuer");
        let aud_ok = claims["aud"] == "fuzz"
            || claims["aud"]
                .as_array()
                .is_some_and(|a| a.iter().any(|v| v == "fuzz"));
        assert!(aud_ok, "accepted another audience: {}", claims["aud"]);
        assert!(claims["exp"].as_f64().is_some(), "accepted without exp");
        assert_eq!(
            claims["sub"],
            principal.subject.as_str(),
            "subject mismatch"
        );
        assert!(
            principal.groups.iter().any(|g| g == "mcp.users"),
            "required group missing"
        );
    }
});
