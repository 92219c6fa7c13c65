//! [`Exchange`]: the typed record of one HTTP exchange, filled in as the request path learns
//! things (who called, what they asked, what was decided, how it ended). Everything said about
//! the request afterwards is built from it, so the log line, the metrics, the audit event and
//! the trace span cannot disagree: `finish` meters and logs it, `audit_event` and
//! `span_attributes` describe it. Classifications are enums, never strings.

use crate::errors::{AuthStage, ErrorType, ViolationKind};
use crate::record::metrics::Metrics;
use crate::record::traces::Timeline;
use airlock_schema::metrics as m;
use serde_json::Value;
use std::net::IpAddr;
use std::time::Duration;

/// The policy's answer to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Deny,
}

impl Verdict {
    pub fn of(allow: bool) -> Self {
        if allow { Self::Allow } else { Self::Deny }
    }
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
        }
    }
}

#[derive(Default)]
pub struct Exchange {
    pub request_id: String,
    /// The HTTP method, from a fixed set (`edge::mcp::method_name`).
    pub method: &'static str,
    /// The path only (a query string may hold a token), bounded in length.
    pub uri: String,
    pub client_ip: Option<IpAddr>,
    pub status: u16,
    /// The JSON-RPC method, once the body was read.
    pub mcp_method: Option<String>,
    pub auth_stage: Option<AuthStage>,
    pub error_type: Option<ErrorType>,
    pub subject: Option<String>,
    pub tenant: Option<String>,
    /// What the request was about, DLP-scrubbed when recorded (they repeat what the client sent).
    pub tool: Option<String>,
    pub resource: Option<String>,
    pub decision: Option<Verdict>,
    pub rule_id: Option<String>,
    pub upstream: Option<String>,
    pub root: Option<String>,
    pub violation: Option<ViolationKind>,
    pub redactions: u64,
    pub latency_ms: f64,
    /// `sha256:<hex>` of the request body, once read.
    pub input_digest: Option<String>,
    /// Child spans (auth, policy, upstream, DLP) for the trace.
    pub timeline: Timeline,
}

impl Exchange {
    /// The end of a request, answered by a handler or refused before one ran: its status and
    /// latency, the request metrics (total, duration, failures by `error_type`) and the log line.
    pub fn finish(&mut self, status: u16, metrics: &Metrics, elapsed: Duration) {
        self.status = status;
        self.latency_ms = (elapsed.as_secs_f64() * 1e6).round() / 1e3;
        let code = axum::http::StatusCode::from_u16(status).ok();
        let status = code.as_ref().map_or("000", axum::http::StatusCode::as_str);
        let method = self
            .mcp_method
            .as_deref()
            .map_or("none", crate::mcp::protocol::method_label);
        let labels = [("status", status), ("mcp_method", method)];
        metrics.inc(m::REQUESTS_TOTAL, &labels);
        let labels = [("mcp_method", method)];
        metrics.observe(m::REQUEST_DURATION_SECONDS, &labels, elapsed.as_secs_f64());
        if self.status >= 400 {
            let error_type = self.error_type.map_or("unknown", ErrorType::as_str);
            let labels = [("status", status), ("error_type", error_type)];
            metrics.inc(m::REQUESTS_FAILED_TOTAL, &labels);
        }
        self.emit();
    }

    /// Whether the request succeeded: a JSON-RPC error answered with 200 (the handshake
    /// revisions) is a failure too.
    pub fn succeeded(&self) -> bool {
        self.status < 400 && self.error_type.is_none()
    }

    /// The audit event: what was asked, by whom, what was decided and what happened. Never a
    /// token and never a payload (the body only as its digest). The record is spent: the
    /// event takes its text rather than copies of it.
    pub fn into_audit_event(self) -> crate::record::audit::Event {
        let refused_authentication =
            self.auth_stage.is_some() || self.error_type == Some(ErrorType::AuthThrottled);
        let succeeded = self.succeeded();
        let (action, mcp_method) = match (self.violation, refused_authentication, self.mcp_method) {
            // A violation keeps the method it was found in.
            (Some(_), _, method) => ("security_violation".to_string(), method),
            (None, true, _) => ("authentication".to_string(), None),
            (None, false, Some(method)) => (method, None),
            // Refused before its body was read (a size or rate limit): which MCP method it
            // carried is not known, and the HTTP request says what is.
            (None, false, None) => ("unknown".to_string(), None),
        };
        let unread = action == "unknown";
        // In the event's canonical order (by name): each field is appended, none inserted.
        crate::record::audit::Event::ordered(&action)
            .next("auth_stage", self.auth_stage.map(AuthStage::as_str))
            .next(
                "client_ip",
                self.client_ip.map(crate::enforce::client_ip::text),
            )
            .next("decision", self.decision.map(Verdict::as_str))
            .next("error_type", self.error_type.map(ErrorType::as_str))
            .next("http_method", unread.then_some(self.method))
            .next("input_digest", self.input_digest)
            .next("latency_ms", Some(self.latency_ms))
            .next("mcp_method", mcp_method)
            .next(
                "outcome",
                Some(if succeeded { "success" } else { "failure" }),
            )
            .next("path", unread.then_some(self.uri))
            .next("redactions", Some(self.redactions))
            .next("request_id", Some(self.request_id))
            .next("resource", self.resource)
            .next("root", self.root)
            .next("rule_id", self.rule_id)
            .next("status", Some(self.status))
            .next("subject", self.subject)
            .next("tenant", self.tenant)
            .next("time", Some(crate::record::audit::timestamp()))
            .next("tool", self.tool)
            .next("upstream", self.upstream)
            .next("violation", self.violation.map(ViolationKind::as_str))
    }

    /// The attributes of the request's server span.
    pub fn span_attributes(&self) -> Vec<(&'static str, Value)> {
        let mut attributes: Vec<(&'static str, Value)> = vec![
            ("http.request.method", self.method.into()),
            ("url.path", self.uri.clone().into()),
            ("http.response.status_code", self.status.into()),
            ("request_id", self.request_id.clone().into()),
            ("latency_ms", self.latency_ms.into()),
        ];
        let optional = [
            ("mcp.method", &self.mcp_method),
            ("tenant", &self.tenant),
            ("tool", &self.tool),
            ("upstream", &self.upstream),
        ];
        attributes.extend(
            optional
                .into_iter()
                .filter_map(|(k, v)| v.clone().map(|v| (k, Value::from(v)))),
        );
        if let Some(decision) = self.decision {
            attributes.push(("decision", decision.as_str().into()));
        }
        if let Some(error_type) = self.error_type {
            attributes.push(("error_type", error_type.as_str().into()));
        }
        attributes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_refused_before_its_body_names_what_is_known() {
        let refused = Exchange {
            request_id: "r1".into(),
            method: "POST",
            uri: "/mcp".into(),
            status: 413,
            error_type: Some(ErrorType::PayloadTooLarge),
            ..Exchange::default()
        };
        let event = refused.into_audit_event();
        assert_eq!(
            (
                event.text("action").as_deref(),
                event.text("http_method").as_deref(),
                event.text("path").as_deref(),
                event.text("outcome").as_deref()
            ),
            (Some("unknown"), Some("POST"), Some("/mcp"), Some("failure"))
        );
        let called = Exchange {
            mcp_method: Some("tools/call".into()),
            status: 200,
            decision: Some(Verdict::Allow),
            ..Exchange::default()
        };
        let event = called.into_audit_event();
        assert_eq!(event.text("action").as_deref(), Some("tools/call"));
        assert_eq!(event.text("decision").as_deref(), Some("allow"));
        assert!(event.get("http_method").is_none());
    }

    #[test]
    fn a_request_event_is_built_in_canonical_order_with_its_time() {
        // Every field set: `Event::next` checks the order in debug builds.
        let everything = Exchange {
            request_id: "r1".into(),
            method: "POST",
            uri: "/mcp".into(),
            client_ip: Some([10, 0, 0, 1].into()),
            status: 403,
            mcp_method: Some("tools/call".into()),
            auth_stage: Some(AuthStage::Validation),
            error_type: Some(ErrorType::Forbidden),
            subject: Some("alice".into()),
            tenant: Some("acme".into()),
            tool: Some("search".into()),
            resource: Some("file:///a".into()),
            decision: Some(Verdict::Deny),
            rule_id: Some("no-search".into()),
            upstream: Some("docs".into()),
            root: Some("workspace".into()),
            violation: Some(ViolationKind::Traversal),
            redactions: 2,
            latency_ms: 1.5,
            input_digest: Some("sha256:00".into()),
            timeline: Timeline::default(),
        };
        let event = everything.into_audit_event();
        assert!(event.text("time").is_some_and(|t| t.ends_with('Z')));
        let value = event.clone().into_value();
        assert_eq!(
            event.canonical(),
            crate::record::audit::chain::canonical(&value)
        );
        // All but `http_method` and `path`, which only a request refused before its body has.
        assert_eq!(value.as_object().unwrap().len(), 21, "{value}");
    }
}
