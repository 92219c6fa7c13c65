//! Test harness: a development OIDC issuer, a scriptable MCP upstream over HTTP and the gateway,
//! all on 127.0.0.1 with ephemeral ports, configured through the real compiler (airlock.yaml →
//! frozen config), as a deployment would be.

#![allow(dead_code)]

pub mod faults;
pub mod moto;

use airlock::app::App;
use airlock::devidp::DevIdp;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const POLICY: &str = r#"package airlock.authz
import rego.v1

default allow := false

allow if {
    "mcp.users" in input.groups
    not denied_tool
    not secret_resource
}

denied_tool if input.tool == "denied_tool"

secret_resource if startswith(input.resource, "docs://secret")

reason := "this tool is reserved" if denied_tool
else := "this resource is reserved" if secret_resource
else := "you are not in mcp.users"

rule_id := "deny-tool" if denied_tool
else := "deny-resource" if secret_resource
else := "deny-group"
"#;

/// What the fake upstream saw.
#[derive(Default)]
pub struct Seen {
    pub authorization: Vec<String>,
    pub calls: Vec<String>,
    /// The `text` of every `echo` call, in the order the calls arrived.
    pub echoed: Vec<String>,
    /// Every `tools/call` body as it arrived, byte for byte.
    pub call_bodies: Vec<String>,
}

#[derive(Clone)]
struct Upstream {
    seen: Arc<Mutex<Seen>>,
}

async fn upstream_handler(
    State(up): State<Upstream>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let Ok(message) = serde_json::from_str::<Value>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if let Some(auth) = headers.get("authorization") {
        up.seen
            .lock()
            .unwrap()
            .authorization
            .push(auth.to_str().unwrap_or("").to_string());
    }
    let id = message.get("id").cloned();
    let method = message["method"].as_str().unwrap_or("").to_string();
    let Some(id) = id else {
        return StatusCode::ACCEPTED.into_response();
    };
    let params = message.get("params").cloned().unwrap_or(json!({}));
    let result = match method.as_str() {
        "initialize" => {
            json!({"protocolVersion": "2025-06-18", "capabilities": {"tools": {}, "resources": {}, "prompts": {}}, "serverInfo": {"name": "fake", "version": "1"}})
        }
        "tools/list" => {
            let tools: Vec<Value> = ["echo", "leak", "slow", "fail", "denied_tool", "hidden"]
                .iter()
                .map(|n| json!({"name": n, "description": format!("the {n} tool"), "inputSchema": {"type": "object"}}))
                .collect();
            json!({ "tools": tools })
        }
        "tools/call" => {
            let name = params["name"].as_str().unwrap_or("").to_string();
            up.seen.lock().unwrap().calls.push(name.clone());
            up.seen.lock().unwrap().call_bodies.push(body.clone());
            match name.as_str() {
                "echo" => {
                    // `ms` makes the call take that long (slow tools in flight).
                    let text = params["arguments"]["text"].as_str().unwrap_or("").to_string();
                    up.seen.lock().unwrap().echoed.push(text.clone());
                    if let Some(ms) = params["arguments"]["ms"].as_u64() {
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                    }
                    json!({"content": [{"type": "text", "text": text}]})
                }
                "leak" => json!({"content": [{"type": "text", "text": "the key is AKIAABCDEFGHIJKLMNOP, mail ops@example.com"}]}),
                "slow" => {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    json!({"content": []})
                }
                "fail" => {
                    // With `text`, the error repeats it in its message and data (what DLP must
                    // catch in an upstream's errors too).
                    let error = match params["arguments"]["text"].as_str() {
                        Some(text) => json!({"code": -32602, "message": format!("bad input for fail: {text}"), "data": {"input": text}}),
                        None => json!({"code": -32602, "message": "bad input for fail"}),
                    };
                    return (StatusCode::OK, Json(json!({"jsonrpc": "2.0", "id": id, "error": error}))).into_response();
                }
                other => return Json(json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32602, "message": format!("Unknown tool {other}")}})).into_response(),
            }
        }
        "resources/list" => {
            json!({"resources": [{"uri": "docs://readme", "name": "readme"}, {"uri": "docs://secret/plan", "name": "plan"}]})
        }
        "resources/templates/list" => json!({"resourceTemplates": []}),
        "resources/read" => {
            json!({"contents": [{"uri": params["uri"], "mimeType": "text/plain", "text": "contact admin@example.com"}]})
        }
        "prompts/list" => json!({"prompts": [{"name": "greet"}]}),
        "prompts/get" => {
            json!({"messages": [{"role": "user", "content": {"type": "text", "text": "hello"}}]})
        }
        "ping" => json!({}),
        _ => {
            return Json(
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "no"}}),
            )
            .into_response();
        }
    };
    let mut response = Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response();
    if method == "initialize" {
        response
            .headers_mut()
            .insert("mcp-session-id", "upstream-session".parse().unwrap());
    }
    response
}

pub struct Harness {
    pub idp: Arc<DevIdp>,
    pub gateway: String,
    pub app: Arc<App>,
    pub client: reqwest::Client,
    pub seen: Arc<Mutex<Seen>>,
    pub policy_dir: std::path::PathBuf,
    upstream_stop: Option<tokio::sync::oneshot::Sender<()>>,
}

async fn listen() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    (listener, address)
}

/// Starts everything. `extra` is YAML appended to the base airlock.yaml.
pub async fn start(extra: &str) -> Harness {
    start_with(extra, |_| {}).await
}

/// Starts everything, letting the test adjust the frozen config first (e.g. point a root at a
/// temporary directory: the compiler rightly refuses roots in system directories like `/tmp`).
pub async fn start_with(
    extra: &str,
    adjust: impl FnOnce(&mut airlock_schema::runtime::FrozenConfig),
) -> Harness {
    let (idp_listener, idp_address) = listen().await;
    let issuer = format!("http://{idp_address}");
    let idp = DevIdp::new(&issuer, "airlock-test");
    tokio::spawn(axum::serve(idp_listener, idp.clone().router()).into_future());

    let seen = Arc::new(Mutex::new(Seen::default()));
    let (up_listener, up_address) = listen().await;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let router = Router::new()
        .route("/mcp", post(upstream_handler))
        .route("/health", axum::routing::get(|| async { "ok" }))
        .with_state(Upstream { seen: seen.clone() });
    tokio::spawn(async move {
        let _ = axum::serve(up_listener, router)
            .with_graceful_shutdown(async move {
                let _ = stop_rx.await;
            })
            .await;
    });

    let yaml = format!(
        r#"version: 1
name: test-gw
image: {{repository: ghcr.io/acme/airlock, digest: "sha256:{digest}"}}
auth:
  oidc:
    issuer: {issuer}
    audience: airlock-test
    requiredGroups: [mcp.users, airlock.admins]
  adminGroups: [airlock.admins]
policy:
  file: policy.rego
  cacheTTL: 1m
dlp:
  patterns:
    - name: aws-key
      regex: 'AKIA[0-9A-Z]{{16}}'
      examples: {{match: [AKIAABCDEFGHIJKLMNOP]}}
    - name: email
      regex: '(?i)[a-z0-9._%+-]{{1,64}}@[a-z0-9.-]+\.[a-z]{{2,}}'
      examples: {{match: [a@example.com]}}
upstreams:
  - name: fake
    type: http
    url: http://{up_address}/mcp
    timeout: 1s
    allowTools: [echo, leak, slow, fail, denied_tool]
{extra}"#,
        digest = "0".repeat(64),
    );
    let workspace =
        airlockc::Workspace::from_texts(("airlock.yaml", &yaml), &[("policy.rego", POLICY)]);
    let build = airlockc::build::build(&workspace);
    let files = build.files().unwrap_or_else(|| {
        panic!(
            "the test config does not build: {:?}",
            build
                .diagnostics()
                .iter()
                .map(|d| d.message.clone())
                .collect::<Vec<_>>()
        )
    });
    let mut config =
        airlock::config::parse(&files["runtime/airlock.json"]).expect("the frozen config verifies");
    let policy_dir =
        std::env::temp_dir().join(format!("airlock-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&policy_dir).unwrap();
    std::fs::write(policy_dir.join("policy.rego"), POLICY).unwrap();
    config.policy.reload_dir = Some(policy_dir.display().to_string());
    config.audit.store = airlock_schema::runtime::AuditStore::Sqlite {
        path: policy_dir.join("audit.db").display().to_string(),
    };
    adjust(&mut config);
    let app = App::new(config).expect("the gateway starts");
    let (listener, address) = listen().await;
    tokio::spawn(airlock::commands::serve::serve(
        app.clone(),
        listener,
        std::future::pending(),
    ));
    let harness = Harness {
        idp,
        gateway: format!("http://{address}"),
        app,
        client: reqwest::Client::new(),
        seen,
        policy_dir,
        upstream_stop: Some(stop_tx),
    };
    harness.wait_ready().await;
    harness
}

impl Harness {
    pub async fn wait_ready(&self) {
        for _ in 0..200 {
            if let Ok(r) = self
                .client
                .get(format!("{}/ready", self.gateway))
                .send()
                .await
                && r.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the gateway never became ready");
    }

    pub fn token(&self, groups: &[&str]) -> String {
        self.idp.token("alice@example.com", groups)
    }

    pub fn user(&self) -> String {
        self.token(&["mcp.users"])
    }

    /// POSTs a JSON-RPC body with a token (and extra headers).
    pub async fn post(
        &self,
        token: Option<&str>,
        body: Value,
        headers: &[(&str, &str)],
    ) -> (u16, HeaderMap, Value) {
        let mut request = self
            .client
            .post(format!("{}/mcp", self.gateway))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body.to_string());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, headers, body)
    }

    pub async fn rpc(&self, token: &str, method: &str, params: Value) -> (u16, HeaderMap, Value) {
        self.post(
            Some(token),
            json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}),
            &[],
        )
        .await
    }

    /// The audit trail so far (the first 100 events), once everything recorded is written.
    pub async fn audit_events(&self) -> Vec<Value> {
        assert!(self.app.audit.flush(Duration::from_secs(10)).await);
        let store = self
            .app
            .audit
            .store
            .get()
            .expect("the audit store is connected");
        store.read(0, 100).await.unwrap()
    }

    pub fn stop_upstream(&mut self) {
        if let Some(stop) = self.upstream_stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Asserts an error response: status, `error_type`, and a correlation id equal to `x-request-id`.
pub fn assert_error(response: &(u16, HeaderMap, Value), status: u16, error_type: &str) {
    let (got, headers, body) = response;
    assert_eq!(*got, status, "status of {body}");
    assert_eq!(body["error"]["data"]["error_type"], error_type, "{body}");
    let correlation = body["error"]["data"]["correlation_id"].as_str().unwrap();
    assert_eq!(headers["x-request-id"].to_str().unwrap(), correlation);
}

/// Another gateway on `config`, beside the harness's (same issuer and upstream): a replica.
pub async fn replica(config: airlock_schema::runtime::FrozenConfig) -> String {
    let app = App::new(config).expect("the replica starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(airlock::commands::serve::serve(
        app,
        listener,
        std::future::pending(),
    ));
    format!("http://{address}")
}

/// Writes a frozen config with a correct content hash (the harness adjusts configs after
/// building) to `dir/airlock.json`, for the `airlock` binary.
pub fn write_config(
    config: &airlock_schema::runtime::FrozenConfig,
    dir: &std::path::Path,
) -> std::path::PathBuf {
    use sha2::Digest;
    let mut config = config.clone();
    config.content_hash = format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(config.hashed_text().as_bytes()))
    );
    let path = dir.join("airlock.json");
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    path
}

/// Runs the `airlock` binary; its exit code and stdout + stderr.
pub fn airlock(args: &[&str]) -> (i32, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap_or(-1), text)
}

/// A fresh PostgreSQL database on the local service (`AIRLOCK_TEST_POSTGRES` overrides the server).
pub async fn temp_postgres() -> String {
    let server = std::env::var("AIRLOCK_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let name = format!("airlock_test_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&format!("{server}/postgres"))
        .await
        .expect("the local PostgreSQL service at 127.0.0.1:5432 is running (.ci/run starts it)");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    format!("{server}/{name}")
}
