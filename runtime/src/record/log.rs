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
use std::io::Write;
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
        rfc3339_micros(now, &mut line.0);
        line.0.extend_from_slice(b"\",\"level\":\"");
        line.0.extend_from_slice(level.as_str().as_bytes());
        line.0.push(b'"');
        line.field("message", message);
        line.field("request_id", &self.request_id);
        line.field("method", self.method);
        line.field("uri", &self.uri);
        line.field("status", self.status);
        line.field("client_ip", self.client_ip.map(|ip| ip.to_string()));
        line.field("mcp_method", &self.mcp_method);
        line.field("auth_stage", self.auth_stage.map(|s| s.as_str()));
        line.field("error_type", self.error_type.map(|e| e.as_str()));
        line.field("subject", &self.subject);
        line.field("tenant", &self.tenant);
        line.field("tool", &self.tool);
        line.field("resource", &self.resource);
        line.field("decision", self.decision.map(|d| d.as_str()));
        line.field("rule_id", &self.rule_id);
        line.field("upstream", &self.upstream);
        line.field("root", &self.root);
        line.field("violation", self.violation.map(|v| v.as_str()));
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
    /// `,"name":value`; nothing for `None`, as `tracing` records no absent field.
    fn field(&mut self, name: &str, value: impl serde::Serialize) {
        let start = self.0.len();
        self.0.extend_from_slice(b",\"");
        self.0.extend_from_slice(name.as_bytes());
        self.0.extend_from_slice(b"\":");
        let value_start = self.0.len();
        if serde_json::to_writer(&mut self.0, &value).is_err() || self.0[value_start..] == *b"null"
        {
            self.0.truncate(start);
        }
    }
}

/// `2026-11-23T09:08:13.698624Z`: UTC with microseconds, as `tracing`'s default timer writes.
fn rfc3339_micros(now: SystemTime, out: &mut Vec<u8>) {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since.as_secs();
    let (days, second_of_day) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
        since.subsec_micros()
    );
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::{AuthStage, ErrorType, ViolationKind};
    use crate::record::exchange::Verdict;
    use crate::record::log_sink::Captured;
    use std::time::Duration;

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

    #[test]
    fn timestamps_are_utc_with_microseconds() {
        let at = |seconds: u64, micros: u64| {
            let mut out = Vec::new();
            let time = UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_micros(micros);
            rfc3339_micros(time, &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.000005Z");
        assert_eq!(at(1_795_423_693, 698_624), "2026-11-23T08:48:13.698624Z");
        assert_eq!(at(4_107_542_399, 999_999), "2100-02-28T23:59:59.999999Z");
    }
}
