//! Traces, exported with OTLP/HTTP in its JSON encoding (`POST <endpoint>/v1/traces`): one
//! server span per request and child spans for authentication, policy, the upstream call and
//! DLP, carrying tenant, tool, decision, upstream and latency. A W3C `traceparent` from the
//! client continues its trace. Spans are batched; when the collector is slow or down they are
//! dropped (counted, logged) — tracing never delays or fails a request.

use airlock_schema::runtime::TracingConfig;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// Spans waiting for export at most; beyond, new spans are dropped.
const QUEUE: usize = 4096;
const BATCH: usize = 512;
const FLUSH: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
pub struct Span {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub parent: Option<[u8; 8]>,
    pub name: &'static str,
    pub kind: u8,
    pub start_ns: u64,
    pub end_ns: u64,
    pub attributes: Vec<(&'static str, Value)>,
    pub error: bool,
}

pub const KIND_INTERNAL: u8 = 1;
pub const KIND_SERVER: u8 = 2;
pub const KIND_CLIENT: u8 = 3;

pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    while bytes.iter().all(|b| *b == 0) {
        let _ = aws_lc_rs::rand::fill(&mut bytes);
    }
    bytes
}

pub fn new_span_id() -> [u8; 8] {
    random()
}

/// The trace a request belongs to: its own, or the client's from `traceparent`.
#[derive(Clone, Copy, Debug)]
pub struct TraceContext {
    pub trace_id: [u8; 16],
    pub parent: Option<[u8; 8]>,
    pub sampled: bool,
}

impl TraceContext {
    /// A context from a `traceparent` header (`00-<32 hex>-<16 hex>-<2 hex>`), or a new trace.
    pub fn from_traceparent(header: Option<&str>, ratio: f64) -> Self {
        if let Some(parsed) = header.and_then(parse_traceparent) {
            return parsed;
        }
        let trace_id = random::<16>();
        let draw = u64::from_be_bytes(trace_id[8..16].try_into().expect("8 bytes")) as f64
            / u64::MAX as f64;
        Self {
            trace_id,
            parent: None,
            sampled: draw < ratio,
        }
    }
}

fn parse_traceparent(header: &str) -> Option<TraceContext> {
    let parts: Vec<&str> = header.trim().split('-').collect();
    let [version, trace, parent, flags] = parts.as_slice() else {
        return None;
    };
    if *version != "00" || trace.len() != 32 || parent.len() != 16 || flags.len() != 2 {
        return None;
    }
    let trace_id: [u8; 16] = hex::decode(trace).ok()?.try_into().ok()?;
    let parent: [u8; 8] = hex::decode(parent).ok()?.try_into().ok()?;
    if trace_id.iter().all(|b| *b == 0) || parent.iter().all(|b| *b == 0) {
        return None;
    }
    let sampled = u8::from_str_radix(flags, 16).ok()? & 1 == 1;
    Some(TraceContext {
        trace_id,
        parent: Some(parent),
        sampled,
    })
}

pub struct Tracer {
    pub ratio: f64,
    sender: mpsc::Sender<Span>,
    pub dropped: AtomicU64,
}

impl Tracer {
    /// Starts the exporter task.
    pub fn start(config: &TracingConfig, client: reqwest::Client) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        // The endpoint is the collector's base URL; one that already names the traces path
        // (as OTEL_EXPORTER_OTLP_TRACES_ENDPOINT does) is used as it is.
        let base = config.endpoint.trim_end_matches('/');
        let url = if base.ends_with("/v1/traces") {
            base.to_string()
        } else {
            format!("{base}/v1/traces")
        };
        tokio::spawn(export(receiver, client, url, config.service_name.clone()));
        Self {
            ratio: config.sample_ratio,
            sender,
            dropped: AtomicU64::new(0),
        }
    }

    pub fn record(&self, span: Span) {
        if self.sender.try_send(span).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn attribute(key: &str, value: &Value) -> Value {
    let value = match value {
        Value::Bool(b) => json!({"boolValue": b}),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({"intValue": n.to_string()}),
        Value::Number(n) => json!({"doubleValue": n.as_f64()}),
        Value::String(s) => json!({"stringValue": s}),
        other => json!({"stringValue": other.to_string()}),
    };
    json!({"key": key, "value": value})
}

/// The OTLP/JSON body of a batch of spans.
pub fn encode(spans: &[Span], service_name: &str) -> Value {
    let spans: Vec<Value> = spans
        .iter()
        .map(|s| {
            let mut span = json!({
                "traceId": hex::encode(s.trace_id),
                "spanId": hex::encode(s.span_id),
                "name": s.name,
                "kind": s.kind,
                "startTimeUnixNano": s.start_ns.to_string(),
                "endTimeUnixNano": s.end_ns.to_string(),
                "attributes": s.attributes.iter().map(|(k, v)| attribute(k, v)).collect::<Vec<_>>(),
                "status": {"code": if s.error { 2 } else { 1 }},
            });
            if let Some(parent) = s.parent {
                span["parentSpanId"] = hex::encode(parent).into();
            }
            span
        })
        .collect();
    json!({"resourceSpans": [{
        "resource": {"attributes": [attribute("service.name", &Value::from(service_name))]},
        "scopeSpans": [{"scope": {"name": "airlock", "version": env!("CARGO_PKG_VERSION")}, "spans": spans}]
    }]})
}

async fn export(
    mut receiver: mpsc::Receiver<Span>,
    client: reqwest::Client,
    url: String,
    service_name: String,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut last_error_log = None::<std::time::Instant>;
    loop {
        let deadline = tokio::time::sleep(FLUSH);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                span = receiver.recv() => match span {
                    Some(span) => {
                        batch.push(span);
                        if batch.len() >= BATCH {
                            break;
                        }
                    }
                    None => return,
                },
                () = &mut deadline => break,
            }
        }
        if batch.is_empty() {
            continue;
        }
        let body = encode(&batch, &service_name);
        batch.clear();
        let sent = client
            .post(&url)
            .timeout(Duration::from_secs(5))
            .json(&body)
            .send()
            .await;
        let failed = match sent {
            Ok(response) if response.status().is_success() => None,
            Ok(response) => Some(format!("HTTP {}", response.status())),
            Err(error) => Some(crate::errors::error_chain(&error)),
        };
        if let Some(error) = failed
            && last_error_log.is_none_or(|t| t.elapsed() > Duration::from_secs(60))
        {
            tracing::warn!(endpoint = %url, error = %error, error_type = "trace_export_failed", "trace export failed; spans were dropped");
            last_error_log = Some(std::time::Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_continues_the_client_trace() {
        let ctx = TraceContext::from_traceparent(
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            0.0,
        );
        assert_eq!(
            hex::encode(ctx.trace_id),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert!(ctx.sampled && ctx.parent.is_some());
        assert!(!TraceContext::from_traceparent(Some("garbage"), 0.0).sampled);
        assert!(TraceContext::from_traceparent(None, 1.0).sampled);
    }

    #[test]
    fn encodes_otlp_json() {
        let span = Span {
            trace_id: [1; 16],
            span_id: [2; 8],
            parent: Some([3; 8]),
            name: "policy",
            kind: KIND_INTERNAL,
            start_ns: 5,
            end_ns: 9,
            attributes: vec![("decision", "allow".into()), ("latency_ms", 1.5.into())],
            error: false,
        };
        let body = encode(&[span], "gw");
        let s = &body["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        assert_eq!(s["traceId"], "01010101010101010101010101010101");
        assert_eq!(s["parentSpanId"], "0303030303030303");
        assert_eq!(s["attributes"][0]["value"]["stringValue"], "allow");
        assert_eq!(
            body["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"],
            "gw"
        );
    }
}

/// Child spans recorded while a request runs, turned into [`Span`]s when it ends. Off unless
/// the gateway traces: then a mark costs one clock read, and its attributes are never built.
#[derive(Default, Debug)]
pub struct Timeline {
    pub marks: Vec<Mark>,
    recording: Recording,
}

#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
enum Recording {
    #[default]
    Off,
    On,
}

#[derive(Debug)]
pub struct Mark {
    pub name: &'static str,
    pub kind: u8,
    pub start_ns: u64,
    pub end_ns: u64,
    pub attributes: Vec<(&'static str, Value)>,
    pub error: bool,
}

impl Timeline {
    /// A timeline that keeps its marks (the gateway has a tracer).
    pub fn recording() -> Self {
        Self {
            marks: Vec::with_capacity(4),
            recording: Recording::On,
        }
    }

    pub fn mark(
        &mut self,
        name: &'static str,
        kind: u8,
        start_ns: u64,
        attributes: impl FnOnce() -> Vec<(&'static str, Value)>,
        error: bool,
    ) {
        if self.recording == Recording::Off {
            return;
        }
        self.marks.push(Mark {
            name,
            kind,
            start_ns,
            end_ns: now_ns(),
            attributes: attributes(),
            error,
        });
    }

    /// The request's server span and its children, all in `context`'s trace.
    pub fn spans(self, context: &TraceContext, server: Mark) -> Vec<Span> {
        let server_id = new_span_id();
        let mut spans = vec![Span {
            trace_id: context.trace_id,
            span_id: server_id,
            parent: context.parent,
            name: server.name,
            kind: server.kind,
            start_ns: server.start_ns,
            end_ns: server.end_ns,
            attributes: server.attributes,
            error: server.error,
        }];
        spans.extend(self.marks.into_iter().map(|m| Span {
            trace_id: context.trace_id,
            span_id: new_span_id(),
            parent: Some(server_id),
            name: m.name,
            kind: m.kind,
            start_ns: m.start_ns,
            end_ns: m.end_ns,
            attributes: m.attributes,
            error: m.error,
        }));
        spans
    }
}
