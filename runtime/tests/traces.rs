//! Traces reach an OTLP/HTTP receiver: one server span per request with child spans for auth,
//! policy, the upstream call and DLP, carrying tenant, tool, decision, upstream and latency; a
//! client's `traceparent` continues its trace.

mod common;

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

type Received = Arc<Mutex<Vec<Value>>>;

async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let router = axum::Router::new()
        .route(
            "/v1/traces",
            post(
                |State(r): State<Received>, Json(body): Json<Value>| async move {
                    r.lock().unwrap().push(body);
                    Json(json!({}))
                },
            ),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, router).into_future());
    (format!("http://{address}"), received)
}

fn spans(received: &Received) -> Vec<Value> {
    received
        .lock()
        .unwrap()
        .iter()
        .flat_map(|body| {
            body["resourceSpans"][0]["scopeSpans"][0]["spans"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

fn attribute<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    span["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

#[tokio::test]
async fn requests_are_traced_over_otlp() {
    let (endpoint, received) = receiver().await;
    let h = common::start(&format!("observability: {{tracing: {{enabled: true, endpoint: \"{endpoint}\", sampleRatio: 1.0}}}}\n")).await;
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "leak", "arguments": {}}});
    let (status, _, _) = h
        .post(Some(&h.user()), body, &[("traceparent", parent)])
        .await;
    assert_eq!(status, 200);
    let mut all = Vec::new();
    for _ in 0..60 {
        all = spans(&received);
        if all.iter().any(|s| s["name"] == "POST /mcp") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let server = all
        .iter()
        .find(|s| s["name"] == "POST /mcp")
        .expect("a server span arrives within the flush interval");
    assert_eq!(
        server["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736",
        "the client's trace continues"
    );
    assert_eq!(server["parentSpanId"], "00f067aa0ba902b7");
    assert_eq!(attribute(server, "tool").unwrap()["stringValue"], "leak");
    assert_eq!(
        attribute(server, "decision").unwrap()["stringValue"],
        "allow"
    );
    assert_eq!(attribute(server, "tenant").unwrap()["stringValue"], "dev");
    assert_eq!(
        attribute(server, "upstream").unwrap()["stringValue"],
        "fake"
    );
    assert!(attribute(server, "latency_ms").is_some());
    let children: Vec<&str> = all
        .iter()
        .filter(|s| s["parentSpanId"] == server["spanId"])
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for name in ["auth", "policy", "upstream", "dlp"] {
        assert!(
            children.contains(&name),
            "missing child span {name} in {children:?}"
        );
    }
    let dlp = all
        .iter()
        .find(|s| s["name"] == "dlp" && s["parentSpanId"] == server["spanId"])
        .unwrap();
    assert_eq!(attribute(dlp, "redactions").unwrap()["intValue"], "2");
}
