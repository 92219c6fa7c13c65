//! A minimal MCP upstream for benchmarks: answers `initialize`, `tools/list` and `tools/call`
//! with fixed JSON-RPC results over streamable HTTP, costing almost nothing, so a benchmark
//! measures the gateway and not its upstream. Usage: `fixed_upstream 127.0.0.1:9901`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

async fn mcp(Json(message): Json<Value>) -> Response {
    let Some(id) = message.get("id").cloned() else {
        return StatusCode::ACCEPTED.into_response();
    };
    let result = match message["method"].as_str().unwrap_or("") {
        "initialize" => {
            json!({"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "fixed", "version": "1"}})
        }
        "tools/list" => {
            json!({"tools": [{"name": "echo", "description": "echo", "inputSchema": {"type": "object"}}]})
        }
        "tools/call" => {
            json!({"content": [{"type": "text", "text": "a fixed result from the upstream, with nothing to redact"}]})
        }
        _ => json!({}),
    };
    Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9901".into());
    let listener = tokio::net::TcpListener::bind(&address).await.expect("bind");
    axum::serve(listener, axum::Router::new().route("/mcp", post(mcp)))
        .await
        .expect("serve");
}
