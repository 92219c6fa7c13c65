//! The request path end to end against a real (local) OIDC issuer and an MCP upstream over
//! HTTP: authentication, the MCP methods, policy, DLP, the error contract, sessions, the
//! stateless protocol revision, rate limits and upstream failures.

mod common;

use reqwest::header::HeaderMap;

use common::{assert_error, start};
use serde_json::{Value, json};

#[tokio::test]
async fn unauthenticated_requests_get_401_with_resource_metadata() {
    let h = start("").await;
    let response = h
        .post(
            None,
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
            &[],
        )
        .await;
    assert_error(&response, 401, "missing_token");
    let challenge = response.1["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer resource_metadata=\"http://127.0.0.1:"),
        "{challenge}"
    );
    assert!(
        challenge.ends_with("/.well-known/oauth-protected-resource\""),
        "{challenge}"
    );
    let metadata: Value = h
        .client
        .get(format!(
            "{}/.well-known/oauth-protected-resource",
            h.gateway
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["authorization_servers"][0], h.idp.issuer);
    assert!(metadata["resource"].as_str().unwrap().ends_with("/mcp"));
}

#[tokio::test]
async fn handshake_listing_and_calls() {
    let h = start("").await;
    let token = h.user();
    let (status, headers, body) = h.rpc(&token, "initialize", json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["protocolVersion"], "2025-06-18");
    let session = headers["mcp-session-id"].to_str().unwrap().to_string();
    let with_session = [
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-06-18"),
    ];
    let (status, _, _) = h
        .post(
            Some(&token),
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            &with_session,
        )
        .await;
    assert_eq!(status, 202);
    let (_, _, body) = h
        .post(
            Some(&token),
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
            &with_session,
        )
        .await;
    let names: Vec<&str> = body["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["echo", "leak", "slow", "fail"],
        "allowTools hides `hidden`, policy hides `denied_tool`"
    );
    let (status, _, body) = h.post(Some(&token), json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "hi"}}}), &with_session).await;
    assert_eq!(
        (status, body["result"]["content"][0]["text"].as_str()),
        (200, Some("hi"))
    );
    assert!(
        h.seen.lock().unwrap().authorization.is_empty(),
        "the client's token never reaches the upstream"
    );
    let (status, _, _) = h
        .post(
            Some(&token),
            json!({"jsonrpc": "2.0", "id": 4, "method": "ping"}),
            &with_session,
        )
        .await;
    assert_eq!(status, 200);
    let other = h.idp.token("mallory@example.com", &["mcp.users"]);
    let stolen = h
        .post(
            Some(&other),
            json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list"}),
            &with_session,
        )
        .await;
    assert_error(&stolen, 404, "session_not_found");
    let deleted = h
        .client
        .delete(format!("{}/mcp", h.gateway))
        .bearer_auth(&token)
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_error(
        &h.post(
            Some(&token),
            json!({"jsonrpc": "2.0", "id": 6, "method": "tools/list"}),
            &with_session,
        )
        .await,
        404,
        "session_not_found",
    );
}

#[tokio::test]
async fn policy_denials_say_why() {
    let h = start("").await;
    let response = h
        .rpc(
            &h.user(),
            "tools/call",
            json!({"name": "denied_tool", "arguments": {}}),
        )
        .await;
    assert_error(&response, 403, "policy_denied");
    let data = &response.2["error"]["data"];
    assert_eq!(
        (data["reason"].as_str(), data["rule_id"].as_str()),
        (Some("this tool is reserved"), Some("deny-tool"))
    );
    assert!(
        h.seen.lock().unwrap().calls.is_empty(),
        "a denied call never reaches the upstream"
    );
    let resource = h
        .rpc(
            &h.user(),
            "resources/read",
            json!({"uri": "docs://secret/plan"}),
        )
        .await;
    assert_error(&resource, 403, "policy_denied");
    let admins_only = h
        .rpc(
            &h.token(&["airlock.admins"]),
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "x"}}),
        )
        .await;
    assert_eq!(admins_only.2["error"]["data"]["rule_id"], "deny-group");
}

#[tokio::test]
async fn dlp_redacts_results_and_resources() {
    let h = start("").await;
    let token = h.user();
    let (_, _, body) = h
        .rpc(
            &token,
            "tools/call",
            json!({"name": "leak", "arguments": {}}),
        )
        .await;
    assert_eq!(
        body["result"]["content"][0]["text"],
        "the key is [redacted-aws-key], mail [redacted-email]"
    );
    let (_, _, body) = h
        .rpc(&token, "resources/read", json!({"uri": "docs://readme"}))
        .await;
    assert_eq!(
        body["result"]["contents"][0]["text"],
        "contact [redacted-email]"
    );
    let metrics = h
        .client
        .get(format!("{}/metrics", h.gateway))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("airlock_dlp_redactions_total{pattern=\"aws-key\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("airlock_dlp_redactions_total{pattern=\"email\"} 2"),
        "{metrics}"
    );
}

/// DLP applies where every answer leaves the gateway (`edge::mcp::Pipeline::answer`), so no
/// method's path can skip it: results, resource contents, and the errors an upstream answers
/// (message and data) are all redacted; the id and the correlation id are left alone.
#[tokio::test]
async fn every_answer_passes_dlp_on_its_way_out() {
    let h = start("").await;
    let token = h.user();
    let secret = "AKIAABCDEFGHIJKLMNOP";
    let (status, headers, body) = h
        .post(
            Some(&token),
            json!({"jsonrpc": "2.0", "id": "abc@example.com", "method": "tools/call",
                   "params": {"name": "fail", "arguments": {"text": format!("key {secret}")}}}),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let text = body.to_string();
    assert!(!text.contains(secret), "{text}");
    assert_eq!(
        body["error"]["message"],
        "bad input for fail: key [redacted-aws-key]"
    );
    assert_eq!(
        body["error"]["data"]["upstream_data"]["input"],
        "key [redacted-aws-key]"
    );
    assert_eq!(
        body["id"], "abc@example.com",
        "the client's id is echoed as sent"
    );
    assert_eq!(
        body["error"]["data"]["correlation_id"].as_str(),
        headers["x-request-id"].to_str().ok()
    );
    for (method, params) in [
        ("tools/call", json!({"name": "leak", "arguments": {}})),
        ("resources/read", json!({"uri": "docs://readme"})),
    ] {
        let (_, _, body) = h.rpc(&token, method, params).await;
        let text = body.to_string();
        assert!(
            !text.contains(secret) && !text.contains("admin@example.com"),
            "{method}: {text}"
        );
    }
}

/// Authorization is decided in one place, and the upstream call demands its decision: a
/// caller the policy allows nothing sees nothing and reaches no upstream, whatever the method.
#[tokio::test]
async fn a_caller_the_policy_allows_nothing_reaches_nothing() {
    let h = start("").await;
    let token = h.token(&["airlock.admins"]);
    for (method, key) in [
        ("tools/list", "tools"),
        ("resources/list", "resources"),
        ("prompts/list", "prompts"),
    ] {
        let (status, _, body) = h.rpc(&token, method, json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"][key], json!([]), "{method}: {body}");
    }
    for (method, params) in [
        (
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "x"}}),
        ),
        ("resources/read", json!({"uri": "docs://readme"})),
        ("prompts/get", json!({"name": "greet"})),
    ] {
        let response = h.rpc(&token, method, params).await;
        assert_error(&response, 403, "policy_denied");
    }
    let seen = h.seen.lock().unwrap();
    assert!(
        seen.calls.is_empty(),
        "no upstream call without an allowing decision"
    );
}

#[tokio::test]
async fn json_rpc_errors() {
    let h = start("").await;
    let token = h.user();
    let raw = |body: &str| {
        h.client
            .post(format!("{}/mcp", h.gateway))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    let parse = raw("{not json").await.unwrap();
    assert_eq!(parse.status(), 400);
    assert_eq!(
        parse.json::<Value>().await.unwrap()["error"]["code"],
        -32700
    );
    let batch = raw(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#)
        .await
        .unwrap();
    assert_eq!(
        batch.json::<Value>().await.unwrap()["error"]["data"]["error_type"],
        "invalid_request"
    );
    assert_error(
        &h.rpc(&token, "no/such/method", json!({})).await,
        200,
        "method_not_found",
    );
    assert_error(
        &h.rpc(&token, "tools/call", json!({"name": "nope"})).await,
        200,
        "invalid_params",
    );
    assert_error(
        &h.rpc(
            &token,
            "tools/call",
            json!({"name": "echo", "arguments": [1]}),
        )
        .await,
        200,
        "invalid_params",
    );
    let relayed = h
        .rpc(
            &token,
            "tools/call",
            json!({"name": "fail", "arguments": {}}),
        )
        .await;
    assert_eq!(
        (
            relayed.0,
            relayed.2["error"]["code"].as_i64(),
            relayed.2["error"]["message"].as_str()
        ),
        (200, Some(-32602), Some("bad input for fail"))
    );
    let text = h
        .client
        .post(format!("{}/mcp", h.gateway))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), 415);
}

#[tokio::test]
async fn oversized_bodies_get_413_unread() {
    let h = start("").await;
    let token = h.user();
    let huge = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "x".repeat(300 * 1024)}}});
    assert_error(
        &h.post(Some(&token), huge.clone(), &[]).await,
        413,
        "payload_too_large",
    );
    let stream = futures_util::stream::iter(
        (0..40).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 10 * 1024]))),
    );
    let chunked = h
        .client
        .post(format!("{}/mcp", h.gateway))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(
        chunked.status(),
        413,
        "a body without Content-Length is cut at the limit too"
    );
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let h = start("rateLimiting: {perToken: 2/min, burst: 2}\n").await;
    let token = h.user();
    for _ in 0..2 {
        assert_eq!(h.rpc(&token, "tools/list", json!({})).await.0, 200);
    }
    let limited = h.rpc(&token, "tools/list", json!({})).await;
    assert_error(&limited, 429, "rate_limited");
    let retry: u64 = limited.1["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(
        h.rpc(
            &h.idp.token("bob@example.com", &["mcp.users"]),
            "tools/list",
            json!({})
        )
        .await
        .0,
        200,
        "limits are per token"
    );
}

#[tokio::test]
async fn behind_trusted_proxies_clients_are_told_apart_by_x_forwarded_for() {
    let per_ip = "rateLimiting: {perIp: 2/min, burst: 2}\n";
    // A new caller each time, so only the per-IP limit (burst 2) can refuse.
    async fn call(h: &common::Harness, forwarded: &str) -> (u16, HeaderMap, Value) {
        let subject = format!("u{}@example.com", uuid::Uuid::new_v4().simple());
        h.post(
            Some(&h.idp.token(&subject, &["mcp.users"])),
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
            &[("x-forwarded-for", forwarded)],
        )
        .await
    }
    // The test client connects from 127.0.0.1, a trusted proxy here: the client is the
    // rightmost untrusted X-Forwarded-For entry, and entries left of it are ignored.
    let h = start(&format!(
        "{per_ip}server: {{trustedProxies: [127.0.0.0/8]}}\n"
    ))
    .await;
    for forwarded in ["198.51.100.1", "203.0.113.99, 198.51.100.1"] {
        assert_eq!(call(&h, forwarded).await.0, 200);
    }
    assert_error(&call(&h, "198.51.100.1").await, 429, "rate_limited");
    assert_eq!(call(&h, "198.51.100.2").await.0, 200, "another client");
    let events = h.audit_events().await;
    assert!(
        events.iter().any(|e| e["client_ip"] == "198.51.100.2"),
        "audited as the client"
    );
    // Without trusted proxies, X-Forwarded-For is the client's to forge and is ignored.
    let h = start(per_ip).await;
    for forwarded in ["198.51.100.1", "198.51.100.2"] {
        assert_eq!(call(&h, forwarded).await.0, 200);
    }
    assert_error(&call(&h, "198.51.100.3").await, 429, "rate_limited");
}

#[tokio::test]
async fn a_slow_or_dead_upstream_fails_only_its_calls() {
    let mut h = start("").await;
    let token = h.user();
    let started = std::time::Instant::now();
    let (slow, fast) = tokio::join!(
        h.rpc(
            &token,
            "tools/call",
            json!({"name": "slow", "arguments": {}})
        ),
        h.rpc(
            &token,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "still here"}})
        ),
    );
    assert_error(&slow, 504, "upstream_timeout");
    assert!(
        started.elapsed() < std::time::Duration::from_millis(2500),
        "the upstream timeout (1s) bounds the wait"
    );
    assert_eq!(fast.2["result"]["content"][0]["text"], "still here");
    h.stop_upstream();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_error(
        &h.rpc(
            &token,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "x"}}),
        )
        .await,
        502,
        "upstream_unavailable",
    );
    let live = h
        .client
        .get(format!("{}/live", h.gateway))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200, "the gateway itself stays up");
}

#[tokio::test]
async fn stateless_protocol_revision() {
    let h = start("").await;
    let token = h.user();
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
    let modern = |method: &'static str| {
        [
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", method),
        ]
    };
    let (status, _, body) = h.post(Some(&token), json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": meta}}), &modern("server/discover")).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["result"]["supportedVersions"]
            .as_array()
            .unwrap()
            .contains(&json!("2026-07-28"))
    );
    assert_eq!(body["result"]["resultType"], "complete");
    let (_, _, body) = h
        .post(
            Some(&token),
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": meta}}),
            &modern("tools/list"),
        )
        .await;
    assert_eq!(
        (
            body["result"]["cacheScope"].as_str(),
            body["result"]["resultType"].as_str()
        ),
        (Some("private"), Some("complete"))
    );
    let mut call_headers = modern("tools/call").to_vec();
    call_headers.push(("mcp-name", "echo"));
    let (_, _, body) = h.post(Some(&token), json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "modern"}, "_meta": meta}}), &call_headers).await;
    assert_eq!(body["result"]["content"][0]["text"], "modern");
    let mismatch = h
        .post(
            Some(&token),
            json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list", "params": {"_meta": meta}}),
            &modern("tools/call"),
        )
        .await;
    assert_error(&mismatch, 400, "header_mismatch");
    assert_eq!(mismatch.2["error"]["code"], -32020);
    let future = json!({"io.modelcontextprotocol/protocolVersion": "2099-01-01", "io.modelcontextprotocol/clientCapabilities": {}});
    let unsupported = h.post(Some(&token), json!({"jsonrpc": "2.0", "id": 5, "method": "server/discover", "params": {"_meta": future}}), &[("mcp-protocol-version", "2099-01-01"), ("mcp-method", "server/discover")]).await;
    assert_error(&unsupported, 400, "unsupported_protocol_version");
    assert_eq!(unsupported.2["error"]["code"], -32022);
    let missing = h
        .post(
            Some(&token),
            json!({"jsonrpc": "2.0", "id": 6, "method": "nope", "params": {"_meta": meta}}),
            &modern("nope"),
        )
        .await;
    assert_error(&missing, 404, "method_not_found");
}

#[tokio::test]
async fn operations_endpoints() {
    let h = start("").await;
    let token = h.user();
    h.rpc(&token, "tools/list", json!({})).await;
    let info: Value = h
        .client
        .get(format!("{}/info", h.gateway))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["config_hash"], h.app.config.content_hash);
    assert!(info["policy_hash"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(info["upstreams"][0]["status"], "up");
    assert_eq!(info["upstreams"][0]["tools"], 6);
    for path in ["/live", "/ready", "/health/live", "/health/ready"] {
        assert_eq!(
            h.client
                .get(format!("{}{path}", h.gateway))
                .send()
                .await
                .unwrap()
                .status(),
            200,
            "{path}"
        );
    }
    let metrics = h
        .client
        .get(format!("{}/metrics", h.gateway))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "airlock_requests_total{status=\"200\",mcp_method=\"tools/list\"} 1",
        "airlock_auth_attempts_total 1",
        "airlock_auth_success_total 1",
        "airlock_request_duration_seconds_bucket",
        "airlock_upstream_up{upstream=\"fake\"} 1",
        "airlock_policy_decisions_total",
        // Series the alerts watch exist at zero before their first event.
        "airlock_audit_errors_total{reason=\"store_unavailable\"} 0",
        "airlock_audit_errors_total{reason=\"buffer_full\"} 0",
        "airlock_policy_reloads_total{result=\"failure\"} 0",
        "airlock_rate_limited_total{limit=\"failed_auth\"} 0",
    ] {
        assert!(metrics.contains(name), "missing {name} in\n{metrics}");
    }
}

#[tokio::test]
async fn debug_token_shows_what_the_gateway_read_from_the_callers_token() {
    // The troubleshooting guide's "verify groups in token", with its exact request.
    let h = start("").await;
    let token = h.token(&["mcp.users", "team-a"]);
    let (status, _, body) = h
        .post(
            Some(&token),
            json!({"jsonrpc": "2.0", "id": "debug", "method": "debug/token"}),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let result = &body["result"];
    assert_eq!(result["groups"], json!(["mcp.users", "team-a"]));
    assert_eq!(result["claims"]["groups"], "groups");
    assert!(result["expiresInSeconds"].as_u64().unwrap() > 0);
    assert!(!body.to_string().contains(&token), "never the token itself");
}

/// GET (or any method) on `path` with an optional token.
async fn fetch(h: &common::Harness, path: &str, token: Option<&str>) -> (u16, HeaderMap, Value) {
    let mut request = h.client.get(format!("{}{path}", h.gateway));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap())
}

#[tokio::test]
async fn other_paths_answer_inside_the_error_contract() {
    let h = start("").await;
    // The deployment guide's check: a bad token on a path beneath /mcp is a 401, as on /mcp.
    let refused = fetch(&h, "/mcp/v1/initialize", Some("invalid-token")).await;
    common::assert_error(&refused, 401, "malformed_token");
    assert!(refused.1.contains_key("www-authenticate"));
    common::assert_error(
        &fetch(&h, "/mcp/v1/initialize", None).await,
        401,
        "missing_token",
    );
    let found = fetch(&h, "/mcp/v1/initialize", Some(&h.user())).await;
    common::assert_error(&found, 404, "not_found");
    assert!(
        found.2["error"]["message"]
            .as_str()
            .unwrap()
            .contains("POST /mcp")
    );
    common::assert_error(&fetch(&h, "/nowhere", None).await, 404, "not_found");
    // A method an operations path does not serve: 405 with Allow, in the contract.
    for (method, path, allow) in [
        (reqwest::Method::POST, "/live", "GET, HEAD"),
        (reqwest::Method::DELETE, "/metrics", "GET, HEAD"),
        (
            reqwest::Method::POST,
            "/.well-known/oauth-protected-resource",
            "GET, HEAD",
        ),
        (reqwest::Method::GET, "/admin/policy/reload", "POST"),
    ] {
        let response = h
            .client
            .request(method.clone(), format!("{}{path}", h.gateway))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let refused = (status, headers, response.json::<Value>().await.unwrap());
        common::assert_error(&refused, 405, "method_not_allowed");
        assert_eq!(refused.1["allow"], allow, "{method} {path}");
    }
    // `/mcp/` is `/mcp`, as SDK servers mount it.
    let listed = h
        .client
        .post(format!("{}/mcp/", h.gateway))
        .bearer_auth(h.user())
        .header("content-type", "application/json")
        .body(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    assert!(listed.json::<Value>().await.unwrap()["result"]["tools"].is_array());
}

/// `POST /mcp` skips the router (`edge::Routes`); `POST /mcp/` goes through it. Both must
/// answer alike: status, headers (`content-length` included) and body, served or refused.
#[tokio::test]
async fn post_mcp_answers_alike_without_the_router_and_through_it() {
    let h = start("").await;
    for token in [None, Some(h.user())] {
        let mut answers = Vec::new();
        for path in ["/mcp", "/mcp/"] {
            let mut request = h
                .client
                .post(format!("{}{path}", h.gateway))
                .header("content-type", "application/json")
                .body(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string());
            if let Some(token) = &token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let mut headers: Vec<(String, String)> = response
                .headers()
                .iter()
                .filter(|(name, _)| !matches!(name.as_str(), "date" | "x-request-id"))
                .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_string()))
                .collect();
            headers.sort();
            assert!(response.headers().contains_key("x-request-id"), "{path}");
            let mut body: Value = response.json().await.unwrap();
            if let Some(data) = body
                .pointer_mut("/error/data")
                .and_then(Value::as_object_mut)
            {
                assert!(data.remove("correlation_id").is_some(), "{path}");
            }
            answers.push((status, headers, body));
        }
        assert_eq!(answers[0], answers[1], "token: {}", token.is_some());
    }
}

#[tokio::test]
async fn client_chosen_method_names_do_not_become_metric_series() {
    let h = start("").await;
    let token = h.user();
    for i in 0..20 {
        h.rpc(&token, &format!("invented/method-{i}"), json!({}))
            .await;
    }
    let metrics = h.app.metrics.render();
    assert!(!metrics.contains("invented/"), "{metrics}");
    assert!(metrics.contains("airlock_requests_total{status=\"200\",mcp_method=\"other\"} 20"));
}

#[tokio::test]
async fn a_policy_can_limit_by_the_callers_requests_per_minute() {
    // The production guide's rule, `rate_limited if input.metadata.requests_per_minute > 200`,
    // with a lower bound.
    const RATE_POLICY: &str = r#"package airlock.authz
import rego.v1
default allow := false
allow if {
    "mcp.users" in input.groups
    not rate_limited
}
rate_limited if input.metadata.requests_per_minute > 3
reason := "more than 3 requests a minute" if rate_limited
"#;
    let h = common::start_with("", |config| {
        config.policy.modules[0].source = RATE_POLICY.into();
    })
    .await;
    let (alice, bob) = (
        h.token(&["mcp.users"]),
        h.idp.token("bob@example.com", &["mcp.users"]),
    );
    let call = json!({"name": "echo", "arguments": {"text": "hi"}});
    for n in 1..=3 {
        let (status, _, body) = h.rpc(&alice, "tools/call", call.clone()).await;
        assert_eq!(status, 200, "call {n}: {body}");
        assert!(body["result"].is_object(), "call {n}: {body}");
    }
    let fourth = h.rpc(&alice, "tools/call", call.clone()).await;
    assert_error(&fourth, 403, "policy_denied");
    assert_eq!(
        fourth.2["error"]["data"]["reason"],
        "more than 3 requests a minute"
    );
    let (status, _, body) = h.rpc(&bob, "tools/call", call).await;
    assert!(
        status == 200 && body["result"].is_object(),
        "counted per caller: {body}"
    );
}

#[tokio::test]
async fn admin_reload_keeps_the_last_known_good_policy() {
    let h = start("").await;
    let reload = |token: String| {
        h.client
            .post(format!("{}/admin/policy/reload", h.gateway))
            .bearer_auth(token)
            .send()
    };
    let refused = reload(h.user()).await.unwrap();
    assert_eq!(refused.status(), 403, "only admins reload");
    let request_id = refused.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["data"]["correlation_id"], request_id.as_str());
    let events = h.audit_events().await;
    assert!(
        events.iter().any(|e| e["action"] == "policy_reload"
            && e["outcome"] == "failure"
            && e["request_id"] == request_id.as_str()),
        "the refused admin action is audited: {events:?}"
    );
    std::fs::write(
        h.policy_dir.join("policy.rego"),
        "package airlock.authz\nallow if {",
    )
    .unwrap();
    let admin = h.token(&["airlock.admins", "mcp.users"]);
    let response = reload(admin.clone()).await.unwrap();
    assert_eq!(response.status(), 422);
    let outcome: Value = response.json().await.unwrap();
    assert_eq!(
        (
            outcome["result"].as_str(),
            outcome["last_known_good"].as_bool()
        ),
        (Some("failed"), Some(true))
    );
    assert_eq!(
        h.rpc(
            &h.user(),
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "lkg"}})
        )
        .await
        .0,
        200,
        "the last-known-good policy keeps serving"
    );
    let metrics = h
        .client
        .get(format!("{}/metrics", h.gateway))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("airlock_policy_lkg_active 1"));
    std::fs::write(
        h.policy_dir.join("policy.rego"),
        common::POLICY.replace("input.tool == \"denied_tool\"", "input.tool == \"echo\""),
    )
    .unwrap();
    assert_eq!(reload(admin).await.unwrap().status(), 200);
    assert_error(
        &h.rpc(
            &h.user(),
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "x"}}),
        )
        .await,
        403,
        "policy_denied",
    );
}

/// `healthCheck.path` probes the upstream's origin with GET: a failing path marks it down (and
/// keeps it down even though MCP answers); a 2xx keeps it up.
#[tokio::test]
async fn an_http_health_path_decides_upstream_health() {
    let up = |path: &'static str| {
        common::start_with("", move |config| {
            config.upstreams[0].health_check = Some(airlock_schema::runtime::HealthCheckConfig {
                path: Some(path.into()),
                interval_ms: 1000,
            });
        })
    };
    let series = "airlock_upstream_up{upstream=\"fake\"}";
    let healthy = up("/health").await;
    let failing = up("/missing").await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert!(
        healthy
            .app
            .metrics
            .render()
            .contains(&format!("{series} 1"))
    );
    assert!(
        failing
            .app
            .metrics
            .render()
            .contains(&format!("{series} 0"))
    );
    let info: Value = failing
        .client
        .get(format!("{}/info", failing.gateway))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        info["upstreams"][0]["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("404"),
        "the reason names the failed probe: {info}"
    );
}

#[tokio::test]
async fn a_client_that_hangs_up_mid_call_is_still_audited_and_metered() {
    let h = start("").await;
    let token = h.user();
    // The upstream takes 3 s (past its 1 s timeout); the client gives up after 200 ms.
    let gone = h
        .client
        .post(format!("{}/mcp", h.gateway))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .timeout(std::time::Duration::from_millis(200))
        .body(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "slow", "arguments": {}}}).to_string())
        .send()
        .await;
    assert!(gone.is_err(), "the client timed out");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let events = h.audit_events().await;
    let call = events
        .iter()
        .find(|e| e["tool"] == "slow")
        .expect("the abandoned call is an audit event");
    assert_eq!(call["error_type"], "upstream_timeout", "{call}");
    assert_eq!(h.seen.lock().unwrap().calls, ["slow"]);
    let metrics = fetch_text(&h, "/metrics").await;
    assert!(
        metrics.contains("airlock_in_flight_requests 0"),
        "the in-flight gauge comes back to 0"
    );
}

async fn fetch_text(h: &common::Harness, path: &str) -> String {
    let response = h
        .client
        .get(format!("{}{path}", h.gateway))
        .send()
        .await
        .unwrap();
    response.text().await.unwrap()
}

#[tokio::test]
async fn a_forged_host_is_not_repeated_in_the_challenge_or_the_metadata() {
    let h = start("").await;
    let raw = |host: &str, request: &str| {
        let address = h.gateway.trim_start_matches("http://").to_string();
        let request = request.replace("{host}", host);
        async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).await.unwrap();
            String::from_utf8_lossy(&answer).into_owned()
        }
    };
    let forged = r#"evil.example.com/x" error="y"#;
    let challenge = raw(
        forged,
        "POST /mcp HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    )
    .await;
    assert!(challenge.starts_with("HTTP/1.1 401"), "{challenge}");
    assert!(
        challenge.contains(
            "resource_metadata=\"http://localhost/.well-known/oauth-protected-resource\""
        ),
        "{challenge}"
    );
    assert!(!challenge.contains("evil"), "{challenge}");
    let metadata = raw(
        "evil.example.com:443/x",
        "GET /.well-known/oauth-protected-resource HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        metadata.contains("\"resource\":\"http://localhost/mcp\""),
        "{metadata}"
    );
    // A plain authority is the client's view of the gateway, and is used.
    let plain = raw(
        "gw.example.com:8443",
        "GET /.well-known/oauth-protected-resource HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        plain.contains("\"resource\":\"http://gw.example.com:8443/mcp\""),
        "{plain}"
    );
}

#[tokio::test]
async fn a_prompt_or_resource_two_upstreams_offer_is_listed_once() {
    let h = common::start_with("", |config| {
        let mut twin = config.upstreams[0].clone();
        twin.name = "twin".into();
        twin.tool_prefix = "twin_".into();
        config.upstreams.push(twin);
    })
    .await;
    let token = h.user();
    let prompts = h.rpc(&token, "prompts/list", json!({})).await.2;
    assert_eq!(prompts["result"]["prompts"], json!([{"name": "greet"}]));
    let resources = h.rpc(&token, "resources/list", json!({})).await.2;
    let uris: Vec<&Value> = resources["result"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["uri"])
        .collect();
    assert_eq!(uris, [&json!("docs://readme")], "{resources}");
    // Tools are told apart by their prefix: both are listed.
    let tools = h.rpc(&token, "tools/list", json!({})).await.2;
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        names.contains(&"echo") && names.contains(&"twin_echo"),
        "{names:?}"
    );
}

#[tokio::test]
async fn what_the_client_sent_is_redacted_from_the_gateways_own_errors_logs_and_audit() {
    let h = start("").await;
    let token = h.user();
    let key = "AKIAABCDEFGHIJKLMNOP";
    let unknown = h
        .rpc(
            &token,
            "tools/call",
            json!({"name": format!("nonexist_{key}")}),
        )
        .await;
    assert_eq!(unknown.2["error"]["data"]["error_type"], "invalid_params");
    let message = unknown.2["error"]["message"].as_str().unwrap();
    assert!(
        !message.contains(key) && message.contains("nonexist_"),
        "{message}"
    );
    let read = h
        .rpc(
            &token,
            "resources/read",
            json!({"uri": format!("docs://{key}/x")}),
        )
        .await;
    assert!(!read.2.to_string().contains(key), "{}", read.2);
    let events = h.audit_events().await;
    let trail = serde_json::to_string(&events).unwrap();
    assert!(!trail.contains(key), "{trail}");
    assert!(
        trail.contains("nonexist_"),
        "the event names the tool, redacted"
    );
}

/// A stdio server that changes its tools without `notifications/tools/list_changed` is
/// re-listed by its health check (a `ping` and a fresh listing every `healthCheck.interval`);
/// before, the check never ran for stdio upstreams and the new tool stayed invisible.
#[tokio::test]
async fn a_stdio_server_that_changes_its_tools_silently_is_relisted_by_its_health_check() {
    const SERVER: &str = r#"
import json, sys
tools = sys.argv[1]
for line in sys.stdin:
    message = json.loads(line)
    if "id" not in message:
        continue
    method = message["method"]
    if method == "initialize":
        result = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "silent", "version": "1"}}
    elif method == "tools/list":
        result = {"tools": [{"name": name, "inputSchema": {"type": "object"}} for name in open(tools).read().split()]}
    elif method == "ping":
        result = {}
    else:
        print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "error": {"code": -32601, "message": "unknown"}}), flush=True)
        continue
    print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}), flush=True)
"#;
    let dir =
        std::env::temp_dir().join(format!("airlock-silent-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("server.py"), SERVER).unwrap();
    let tools = dir.join("tools");
    std::fs::write(&tools, "alpha").unwrap();
    let (script, listed) = (dir.join("server.py"), tools.clone());
    let h = common::start_with("", move |config| {
        config
            .upstreams
            .push(airlock_schema::runtime::UpstreamConfig {
                name: "silent".into(),
                transport: airlock_schema::runtime::Transport::Stdio {
                    command: vec![
                        "python3".into(),
                        script.display().to_string(),
                        listed.display().to_string(),
                    ],
                    env: Vec::new(),
                    working_dir: None,
                },
                timeout_ms: 5000,
                allow_tools: None,
                tool_prefix: String::new(),
                health_check: Some(airlock_schema::runtime::HealthCheckConfig {
                    path: None,
                    interval_ms: 1000,
                }),
            });
    })
    .await;
    let token = h.user();
    let names = async || -> Vec<String> {
        let (_, _, body) = h.rpc(&token, "tools/list", json!({})).await;
        body["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(names().await.contains(&"alpha".to_string()));
    std::fs::write(&tools, "alpha beta").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !names().await.contains(&"beta".to_string()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the new tool was never listed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// The client's arguments reach the upstream as the text the client sent: a number beyond 64
/// bits, an exponent, an escape and the spacing are not rewritten by a parse and a
/// serialization on the way.
#[tokio::test]
async fn arguments_are_forwarded_as_the_client_wrote_them() {
    let h = start("").await;
    let token = h.user();
    let arguments = r#"{ "text" : "caf\u00e9", "big": 18446744073709551616, "e": 1E2, "f": 1.50 }"#;
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{{"name":"echo","arguments":{arguments}}}}}"#
    );
    let response = h
        .client
        .post(format!("{}/mcp", h.gateway))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .bearer_auth(&token)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["result"]["content"][0]["text"], "caf\u{e9}");
    let forwarded = h.seen.lock().unwrap().call_bodies.last().cloned().unwrap();
    assert!(
        forwarded.contains(&format!(r#""arguments":{arguments}"#)),
        "{forwarded}"
    );
}
