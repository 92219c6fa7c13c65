//! Sessions across replicas: a session created on one gateway is served by another that holds
//! the same session key (`server.sessions.keySecretRef`), and refused, with 404
//! `session_not_found` and an audit event, by one that does not; a tampered id, another
//! subject's, and an id sealed with the previous key during a rotation.

mod common;

use airlock::app::App;
use common::{Harness, assert_error, replica};
use serde_json::{Value, json};
use std::path::Path;

fn key(dir: &Path, name: &str, value: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, value).unwrap();
    path.display().to_string()
}

async fn call(h: &Harness, gateway: &str, token: &str, session: &str) -> (u16, Value) {
    let response = h
        .client
        .post(format!("{gateway}/mcp"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", "2025-06-18")
        .body(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_session_is_served_by_every_replica_that_holds_the_key() {
    let dir = std::env::temp_dir().join(format!("airlock-keys-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let shared = key(&dir, "key", &"s".repeat(48));
    let h = common::start_with("", {
        let shared = shared.clone();
        move |config| config.server.sessions.key_file = Some(shared)
    })
    .await;
    let token = h.user();
    let (status, headers, body) = h
        .rpc(&token, "initialize", json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}))
        .await;
    assert_eq!(status, 200, "{body}");
    let session = headers["mcp-session-id"].to_str().unwrap().to_string();

    // Another replica with the key serves it, at the negotiated revision.
    let mut config = h.app.config.clone();
    let b = replica(config.clone()).await;
    let (status, body) = call(&h, &b, &token, &session).await;
    assert_eq!(status, 200, "{body}");

    // A replica with another key, another subject, a tampered id: unknown sessions.
    config.server.sessions.key_file = Some(key(&dir, "other", &"o".repeat(48)));
    let c = replica(config.clone()).await;
    let (status, body) = call(&h, &c, &token, &session).await;
    assert_eq!(
        (status, body["error"]["data"]["error_type"].as_str()),
        (404, Some("session_not_found")),
        "{body}"
    );
    let bob = h.idp.token("bob@example.com", &["mcp.users"]);
    let (status, _) = call(&h, &b, &bob, &session).await;
    assert_eq!(status, 404, "another subject's session");
    let mut tampered = session.clone();
    tampered.pop();
    tampered.push(if session.ends_with('A') { 'B' } else { 'A' });
    let (status, _) = call(&h, &b, &token, &tampered).await;
    assert_eq!(status, 404, "a tampered id");

    // Rotation: the new key seals, the previous one still opens.
    config.server.sessions.key_file = Some(key(&dir, "next", &"n".repeat(48)));
    config.server.sessions.previous_key_file = Some(shared);
    let rotating = replica(config).await;
    let (status, body) = call(&h, &rotating, &token, &session).await;
    assert_eq!(status, 200, "{body}");

    // The refusal is audited on the replica that refused it (the harness's trail is A's).
    let with_foreign = h
        .post(
            Some(&token),
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
            &[
                ("mcp-session-id", "s1.bm90LWEtc2Vzc2lvbg"),
                ("mcp-protocol-version", "2025-06-18"),
            ],
        )
        .await;
    assert_error(&with_foreign, 404, "session_not_found");
    let events = h.audit_events().await;
    assert!(
        events
            .iter()
            .any(|e| e["error_type"] == "session_not_found" && e["status"] == 404),
        "the refusal is an audit event"
    );
}

#[tokio::test]
async fn a_short_or_missing_session_key_stops_the_gateway_at_start() {
    let h = common::start("").await;
    let dir = std::env::temp_dir().join(format!("airlock-keys-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = h.app.config.clone();
    config.server.sessions.key_file = Some(key(&dir, "short", "too short"));
    let refused = App::new(config.clone())
        .err()
        .expect("a short key is refused");
    assert!(
        refused.to_string().contains("at least 32 random bytes"),
        "{refused}"
    );
    config.server.sessions.key_file = Some(dir.join("missing").display().to_string());
    let refused = App::new(config).err().expect("a missing key is refused");
    assert!(
        refused.to_string().contains("cannot read the session key"),
        "{refused}"
    );
    // The binary says so in one line and exits 78.
    let mut config = h.app.config.clone();
    config.server.sessions.key_file = Some(key(&dir, "short2", "short"));
    let path = common::write_config(&config, &dir);
    let (code, out) = common::airlock(&[
        "serve",
        "--config",
        path.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, 78, "{out}");
    assert!(out.contains("at least 32 random bytes"), "{out}");
}

/// With the shared store, what replicas must agree on about a session holds on all of them:
/// `DELETE` on one ends it on every one, and a session used on one is not idle on another,
/// while one used nowhere for `idleTimeout` ends everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_shared_store_a_session_ends_and_idles_out_on_every_replica() {
    let dir = std::env::temp_dir().join(format!("airlock-keys-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let shared = key(&dir, "key", &"s".repeat(48));
    let store = format!(
        "rateLimiting: {{store: {{redis: {{url: \"redis://127.0.0.1:6379/0\", keyPrefix: \"airlock-test:{}:\"}}}}}}",
        uuid::Uuid::new_v4().simple()
    );
    let h = common::start_with(&store, move |config| {
        config.server.sessions.key_file = Some(shared);
        config.server.sessions.idle_timeout_ms = 1500;
    })
    .await;
    let b = replica(h.app.config.clone()).await;
    let token = h.user();
    let initialize = async || {
        let (_, headers, _) = h
            .rpc(&token, "initialize", json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}))
            .await;
        headers["mcp-session-id"].to_str().unwrap().to_string()
    };
    // Ended on A, unknown on B.
    let ended = initialize().await;
    assert_eq!(call(&h, &b, &token, &ended).await.0, 200);
    let deleted = h
        .client
        .delete(format!("{}/mcp", h.gateway))
        .bearer_auth(&token)
        .header("mcp-session-id", &ended)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        call(&h, &b, &token, &ended).await.0,
        404,
        "ended on every replica"
    );

    // Used on A every half second: alive on B after three idle timeouts of B's own.
    let busy = initialize().await;
    assert_eq!(call(&h, &b, &token, &busy).await.0, 200);
    for _ in 0..8 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert_eq!(call(&h, &h.gateway, &token, &busy).await.0, 200);
    }
    assert_eq!(
        call(&h, &b, &token, &busy).await.0,
        200,
        "used elsewhere, not idle"
    );
    // Unused anywhere for longer than the idle timeout: gone everywhere.
    tokio::time::sleep(std::time::Duration::from_millis(2000)).await;
    assert_eq!(call(&h, &b, &token, &busy).await.0, 404, "idle everywhere");
    assert_eq!(call(&h, &h.gateway, &token, &busy).await.0, 404);
}
