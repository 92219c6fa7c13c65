//! Authentication against a real (local) OIDC issuer: every JWT attack class the gateway must
//! refuse, each asserting the exact status and error type, and key rotation without restart.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Harness, assert_error, start};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// These tests send many bad tokens from one address; the throttle has its own test.
const MANY_ATTEMPTS: &str = "rateLimiting: {failedAuth: {maxAttempts: 1000}}\n";

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

async fn list(h: &Harness, token: &str) -> (u16, axum::http::HeaderMap, Value) {
    h.rpc(token, "tools/list", json!({})).await
}

fn signed(h: &Harness, mutate: impl FnOnce(&mut Value)) -> String {
    let mut claims = h.idp.claims("alice@example.com", &["mcp.users"]);
    mutate(&mut claims);
    h.idp.sign(&claims, Algorithm::RS256)
}

#[tokio::test]
async fn forged_and_invalid_tokens_are_refused() {
    let h = start(MANY_ATTEMPTS).await;
    let claims = h.idp.claims("alice@example.com", &["mcp.users"]);
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims)
    );
    assert_error(
        &list(&h, &format!("{none}x")).await,
        401,
        "unsupported_algorithm",
    );
    // HS256 keyed with the RSA public key: the classic algorithm confusion.
    let public = h.idp.key(Algorithm::RS256).jwk.to_string();
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("rsa-1".into());
    let confused =
        jsonwebtoken::encode(&hs, &claims, &EncodingKey::from_secret(public.as_bytes())).unwrap();
    assert_error(&list(&h, &confused).await, 401, "unsupported_algorithm");
    let now = airlock::devidp::now();
    assert_error(
        &list(&h, &signed(&h, |c| c["exp"] = json!(now - 3600))).await,
        401,
        "token_expired",
    );
    assert_error(
        &list(&h, &signed(&h, |c| c["nbf"] = json!(now + 3600))).await,
        401,
        "token_not_yet_valid",
    );
    assert_eq!(
        list(&h, &signed(&h, |c| c["nbf"] = json!(now + 30)))
            .await
            .0,
        200,
        "nbf within the clock skew (60s) is accepted"
    );
    assert_error(
        &list(
            &h,
            &signed(&h, |c| c["iss"] = json!("https://evil.example.com")),
        )
        .await,
        401,
        "invalid_issuer",
    );
    assert_error(
        &list(&h, &signed(&h, |c| c["aud"] = json!("another-service"))).await,
        401,
        "invalid_audience",
    );
    assert_eq!(
        list(&h, &signed(&h, |c| c["aud"] = json!(["x", "airlock-test"])))
            .await
            .0,
        200,
        "an audience array containing ours is accepted"
    );
    assert_error(
        &list(
            &h,
            &signed(&h, |c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
        )
        .await,
        401,
        "invalid_token",
    );
    let missing = list(&h, &signed(&h, |c| c["groups"] = json!(["other"]))).await;
    assert_error(&missing, 403, "missing_group");
    // The caller learns what the gateway read from its own token, to fix the claim.
    let data = &missing.2["error"]["data"];
    assert_eq!(
        (data["groups_claim"].clone(), data["token_groups"].clone()),
        (json!("groups"), json!(["other"]))
    );
    assert_eq!(data["subject"], "alice@example.com");
    let events = h.audit_events().await;
    let refusal = events
        .iter()
        .find(|e| e["error_type"] == "missing_group")
        .expect("the refusal is an event");
    assert_eq!(refusal["subject"], "alice@example.com", "{refusal}");
    let mut tampered = signed(&h, |_| {}).rsplit_once('.').unwrap().0.to_string();
    tampered.push_str(".AAAA");
    assert_error(&list(&h, &tampered).await, 401, "invalid_signature");
    let other_issuer_key = airlock::devidp::SigningKey::rsa("rsa-1");
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("rsa-1".into());
    let foreign = jsonwebtoken::encode(&header, &claims, &other_issuer_key.encoding).unwrap();
    assert_error(&list(&h, &foreign).await, 401, "invalid_signature");
}

#[tokio::test]
async fn key_reference_tricks_are_refused() {
    let h = start(MANY_ATTEMPTS).await;
    let claims = h.idp.claims("alice@example.com", &["mcp.users"]);
    let key = h.idp.key(Algorithm::RS256);
    let sign = |header: Header| jsonwebtoken::encode(&header, &claims, &key.encoding).unwrap();
    let mut traversal = Header::new(Algorithm::RS256);
    traversal.kid = Some("../../../../etc/passwd".into());
    assert_error(&list(&h, &sign(traversal)).await, 401, "unknown_key");
    let mut jku = Header::new(Algorithm::RS256);
    jku.kid = Some("rsa-1".into());
    jku.jku = Some("https://evil.example.com/jwks.json".into());
    assert_error(&list(&h, &sign(jku)).await, 401, "invalid_token");
    let mut x5u = Header::new(Algorithm::RS256);
    x5u.kid = Some("rsa-1".into());
    x5u.x5u = Some("https://evil.example.com/cert.pem".into());
    assert_error(&list(&h, &sign(x5u)).await, 401, "invalid_token");
    // Signed by the trusted key, but naming an extension the gateway must understand.
    let mut crit = Header::new(Algorithm::RS256);
    crit.kid = Some("rsa-1".into());
    crit.crit = Some(vec!["x-unknown".into()]);
    let refused = list(&h, &sign(crit)).await;
    assert_error(&refused, 401, "invalid_token");
    assert!(
        refused.2["error"]["message"]
            .as_str()
            .unwrap()
            .contains("crit")
    );
}

#[tokio::test]
async fn tokens_only_come_from_one_authorization_header() {
    let h = start(MANY_ATTEMPTS).await;
    let token = h.user();
    let query = h
        .client
        .post(format!("{}/mcp?access_token={token}", h.gateway))
        .header("content-type", "application/json")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        query.status(),
        401,
        "a token in the query string is ignored"
    );
    let twice = h
        .post(
            Some(&token),
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await;
    assert_error(&twice, 401, "malformed_token");
    let huge = format!("{}.{}.{}", "a".repeat(10_000), "b".repeat(10_000), "c");
    assert_error(&list(&h, &huge).await, 401, "malformed_token");
    assert_error(
        &h.post(
            None,
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
            &[("authorization", "Basic YWxpY2U6cHc=")],
        )
        .await,
        401,
        "malformed_token",
    );
}

#[tokio::test]
async fn key_rotation_needs_no_restart() {
    let h = start("").await;
    assert_eq!(list(&h, &h.user()).await.0, 200);
    let kid = h.idp.rotate();
    let rotated = h.user();
    let header = jsonwebtoken::decode_header(&rotated).unwrap();
    assert_eq!(header.kid.as_deref(), Some(kid.as_str()));
    assert_eq!(
        list(&h, &rotated).await.0,
        200,
        "an unknown kid refetches the JWKS"
    );
}

#[tokio::test]
async fn repeated_failures_throttle_the_client_ip() {
    let h = start("rateLimiting: {failedAuth: {maxAttempts: 3, window: 1m, blockFor: 1m}}\n").await;
    let bad = signed(&h, |c| c["aud"] = json!("nope"));
    for _ in 0..3 {
        assert_error(&list(&h, &bad).await, 401, "invalid_audience");
    }
    let blocked = list(&h, &h.user()).await;
    assert_error(&blocked, 429, "auth_throttled");
    assert!(blocked.1.contains_key("retry-after"));
    // Audited as the authentication attempt it is.
    let events = h.audit_events().await;
    let refusal = events
        .iter()
        .find(|e| e["error_type"] == "auth_throttled")
        .expect("the refusal is an event");
    assert_eq!(refusal["action"], "authentication", "{refusal}");
    // No other path that takes a token is a way around the block.
    for (method, path) in [
        (reqwest::Method::DELETE, "/mcp"),
        (reqwest::Method::GET, "/mcp/v1/initialize"),
        (reqwest::Method::POST, "/admin/policy/reload"),
    ] {
        let response = h
            .client
            .request(method.clone(), format!("{}{path}", h.gateway))
            .bearer_auth(h.user())
            .header("mcp-session-id", "any")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let retry = response.headers().contains_key("retry-after");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            (status, body["error"]["data"]["error_type"].as_str(), retry),
            (429, Some("auth_throttled"), true),
            "{method} {path}: {body}"
        );
    }
}

#[tokio::test]
async fn failures_on_the_admin_endpoint_count_toward_the_throttle() {
    let h = start("rateLimiting: {failedAuth: {maxAttempts: 3, window: 1m, blockFor: 1m}}\n").await;
    for _ in 0..3 {
        let refused = h
            .client
            .post(format!("{}/admin/policy/reload", h.gateway))
            .bearer_auth("not.a.token")
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
    }
    assert_error(&list(&h, &h.user()).await, 429, "auth_throttled");
}
