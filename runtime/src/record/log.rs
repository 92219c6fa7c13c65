//! One structured log line per request ([`Exchange`]), with the fields on-call filters by: `request_id`,
//! `method`, `uri` (the path only: a query string may hold a token), `status`, `mcp_method`,
//! `auth_stage`, `error_type`, `subject`, `tenant`, `tool`, `decision`, `upstream`, `root`, `violation`,
//! `latency_ms`. Never a token, never a payload.
//!
//! With JSON logs the line is written directly, not through `tracing`'s JSON formatter, which
//! cost a tenth of the gateway's instructions per call (callgrind; docs/performance.md). The
//! line is the one the formatter writes (a unit test compares them); `tracing`'s filter still
//! decides whether it is written.

use crate::record::exchange::Exchange;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::Level;

/// Set when the logs are JSON lines on stderr (`telemetry::init`).
static DIRECT_JSON: AtomicBool = AtomicBool::new(false);

pub fn write_json_directly() {
    DIRECT_JSON.store(true, Ordering::Relaxed);
}

impl Exchange {
    /// Writes the request's log line.
    pub fn emit(&self) {
        if DIRECT_JSON.load(Ordering::Relaxed) {
            let (level, message) = self.level();
            let enabled = match level {
                Level::ERROR => tracing::enabled!(Level::ERROR),
                Level::WARN => tracing::enabled!(Level::WARN),
                _ => tracing::enabled!(Level::INFO),
            };
            if enabled {
                let line = self.json_line(level, message, SystemTime::now());
                crate::record::log_sink::write(&line);
            }
            return;
        }
        self.emit_through_tracing();
    }

    fn level(&self) -> (Level, &'static str) {
        match self.status {
            500..=599 => (Level::ERROR, "request failed"),
            400..=499 => (Level::WARN, "request refused"),
            _ => (Level::INFO, "request completed"),
        }
    }

    /// The line `tracing`'s JSON formatter writes for this event (flattened, no target).
    fn json_line(&self, level: Level, message: &str, now: SystemTime) -> Vec<u8> {
        let mut line = JsonLine(Vec::with_capacity(512));
        line.0.extend_from_slice(b"{\"timestamp\":\"");
        crate::record::clock::write_rfc3339(
            now.duration_since(UNIX_EPOCH).unwrap_or_default(),
            crate::record::clock::Fraction::Micros,
            &mut line.0,
        );
        line.0.extend_from_slice(b"\",\"level\":\"");
        line.0.extend_from_slice(level.as_str().as_bytes());
        line.0.push(b'"');
        line.text("message", Some(message));
        line.text("request_id", Some(&self.request_id));
        line.text("method", Some(self.method));
        line.text("uri", Some(&self.uri));
        line.field("status", self.status);
        let client_ip = self.client_ip.map(crate::enforce::client_ip::text);
        line.text("client_ip", client_ip.as_deref());
        line.text("mcp_method", self.mcp_method.as_deref());
        line.text("auth_stage", self.auth_stage.map(|s| s.as_str()));
        line.text("error_type", self.error_type.map(|e| e.as_str()));
        line.text("subject", self.subject.as_deref());
        line.text("tenant", self.tenant.as_deref());
        line.text("tool", self.tool.as_deref());
        line.text("resource", self.resource.as_deref());
        line.text("decision", self.decision.map(|d| d.as_str()));
        line.text("rule_id", self.rule_id.as_deref());
        line.text("upstream", self.upstream.as_deref());
        line.text("root", self.root.as_deref());
        line.text("violation", self.violation.map(|v| v.as_str()));
        line.field("redactions", self.redactions);
        line.field("latency_ms", self.latency_ms);
        line.0.extend_from_slice(b"}\n");
        line.0
    }

    fn emit_through_tracing(&self) {
        let ip = self.client_ip.map(|ip| ip.to_string());
        macro_rules! event {
            ($level:ident, $message:literal) => {
                tracing::$level!(
                    request_id = %self.request_id,
                    method = self.method,
                    uri = %self.uri,
                    status = self.status,
                    client_ip = ip.as_deref(),
                    mcp_method = self.mcp_method.as_deref(),
                    auth_stage = self.auth_stage.map(|s| s.as_str()),
                    error_type = self.error_type.map(|e| e.as_str()),
                    subject = self.subject.as_deref(),
                    tenant = self.tenant.as_deref(),
                    tool = self.tool.as_deref(),
                    resource = self.resource.as_deref(),
                    decision = self.decision.map(|d| d.as_str()),
                    rule_id = self.rule_id.as_deref(),
                    upstream = self.upstream.as_deref(),
                    root = self.root.as_deref(),
                    violation = self.violation.map(|v| v.as_str()),
                    redactions = self.redactions,
                    latency_ms = self.latency_ms,
                    $message
                )
            };
        }
        match self.status {
            500..=599 => event!(error, "request failed"),
            400..=499 => event!(warn, "request refused"),
            _ => event!(info, "request completed"),
        }
    }
}

struct JsonLine(Vec<u8>);

impl JsonLine {
    /// `,"name":"text"`; nothing for `None`, as `tracing` records no absent field.
    fn text(&mut self, name: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.name(name);
            airlock_schema::canonical::write_string(text, &mut self.0);
        }
    }

    fn name(&mut self, name: &str) {
        self.0.extend_from_slice(b",\"");
        self.0.extend_from_slice(name.as_bytes());
        self.0.extend_from_slice(b"\":");
    }

    /// `,"name":value`; nothing for `None`, as `tracing` records no absent field.
    fn field(&mut self, name: &str, value: impl serde::Serialize) {
        let start = self.0.len();
        self.name(name);
        let value_start = self.0.len();
        if serde_json::to_writer(&mut self.0, &value).is_err() || self.0[value_start..] == *b"null"
        {
            self.0.truncate(start);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::{AuthStage, ErrorType, ViolationKind};
    use crate::record::exchange::Verdict;
    use crate::record::log_sink::Captured;

    /// The line `tracing`'s JSON formatter writes, configured as `telemetry::init` does.
    fn through_tracing(log: &Exchange) -> serde_json::Value {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_target(false)
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || log.emit_through_tracing());
        let bytes = captured.0.lock().unwrap().clone();
        serde_json::from_slice(&bytes).unwrap()
    }

    fn direct(log: &Exchange) -> (String, serde_json::Value) {
        let (level, message) = log.level();
        let line = String::from_utf8(log.json_line(level, message, SystemTime::now())).unwrap();
        assert!(
            line.ends_with("}\n") && line.matches('\n').count() == 1,
            "{line}"
        );
        let value = serde_json::from_str(&line).unwrap();
        (line, value)
    }

    #[test]
    fn the_direct_line_is_the_formatters_line() {
        let complete = Exchange {
            request_id: "req-\"1\"".into(),
            method: "POST",
            uri: "/mcp".into(),
            client_ip: Some("10.1.2.3".parse().unwrap()),
            status: 200,
            mcp_method: Some("tools/call".into()),
            subject: Some("alice\u{e9}\n".into()),
            tenant: Some("acme".into()),
            tool: Some("echo".into()),
            decision: Some(Verdict::Allow),
            upstream: Some("fixed".into()),
            redactions: 2,
            latency_ms: 0.428,
            ..Default::default()
        };
        let refused = Exchange {
            request_id: "req-2".into(),
            status: 403,
            auth_stage: Some(AuthStage::Validation),
            error_type: Some(ErrorType::Forbidden),
            rule_id: Some("deny-tool".into()),
            root: Some("repo".into()),
            violation: Some(ViolationKind::Traversal),
            resource: Some("mcp://repo/x".into()),
            latency_ms: 5.0,
            ..Default::default()
        };
        let failed = Exchange {
            status: 502,
            latency_ms: 1234.5678,
            ..Default::default()
        };
        for log in [complete, refused, failed] {
            let (line, mut value) = direct(&log);
            let mut expected = through_tracing(&log);
            let stamp = value["timestamp"].take();
            expected["timestamp"].take();
            assert_eq!(value, expected, "{line}");
            let stamp = stamp.as_str().unwrap().to_string();
            assert_eq!(
                (stamp.len(), &stamp[10..11], &stamp[26..]),
                (27, "T", "Z"),
                "{stamp}"
            );
        }
    }
}
