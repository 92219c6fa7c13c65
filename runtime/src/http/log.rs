//! One structured log line per request, with the fields on-call filters by: `request_id`,
//! `method`, `uri` (the path only: a query string may hold a token), `status`, `mcp_method`,
//! `auth_stage`, `error_type`, `subject`, `tenant`, `tool`, `decision`, `upstream`, `root`, `violation`,
//! `latency_ms`. Never a token, never a payload.

use std::net::IpAddr;

#[derive(Default)]
pub struct RequestLog {
    pub request_id: String,
    pub method: &'static str,
    pub uri: String,
    pub client_ip: Option<IpAddr>,
    pub status: u16,
    pub mcp_method: Option<String>,
    pub auth_stage: Option<&'static str>,
    pub error_type: Option<&'static str>,
    pub subject: Option<String>,
    pub tenant: Option<String>,
    pub tool: Option<String>,
    pub resource: Option<String>,
    pub decision: Option<&'static str>,
    pub rule_id: Option<String>,
    pub upstream: Option<String>,
    pub root: Option<String>,
    pub violation: Option<&'static str>,
    pub redactions: u64,
    pub latency_ms: f64,
}

impl RequestLog {
    pub fn emit(&self) {
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
                    auth_stage = self.auth_stage,
                    error_type = self.error_type,
                    subject = self.subject.as_deref(),
                    tenant = self.tenant.as_deref(),
                    tool = self.tool.as_deref(),
                    resource = self.resource.as_deref(),
                    decision = self.decision,
                    rule_id = self.rule_id.as_deref(),
                    upstream = self.upstream.as_deref(),
                    root = self.root.as_deref(),
                    violation = self.violation,
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
