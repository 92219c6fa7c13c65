//! The alerts of the PrometheusRule: the seeds' three (`AirlockHighErrorRate`,
//! `AirlockHighLatency`, `AirlockAuditStorageFailure`), the classes the production checklist
//! asks for (authentication failures, authorization and security violations, rate limiting)
//! and the ones on-call needs besides, with thresholds from `observability.alerts` and a
//! runbook for each in `docs/runbooks/`.

use crate::lower::Model;
use airlock_schema::metrics as m;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Serialize)]
pub struct AlertRule {
    pub alert: String,
    pub expr: String,
    #[serde(rename = "for")]
    pub for_: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// Every alert name, for the runbook check.
pub const ALERTS: [&str; 13] = [
    "AirlockDown",
    "AirlockHighErrorRate",
    "AirlockHighLatency",
    "AirlockAuditStorageFailure",
    "AirlockAuthFailureSpike",
    "AirlockPolicyDenialSpike",
    "AirlockSecurityViolation",
    "AirlockPolicyLastKnownGood",
    "AirlockRateLimitSaturation",
    "AirlockUpstreamDown",
    "AirlockRateLimitStoreDown",
    "AirlockToolDefinitionDrift",
    "AirlockCertificateExpiring",
];

/// The alerting rules; `namespace` is how the own namespace is written in their text.
pub fn rules(model: &Model, namespace: &str) -> Vec<AlertRule> {
    let Some(alerts) = &model.alerts else {
        return Vec::new();
    };
    let sel = format!("namespace=\"{}\",service=\"{}\"", namespace, model.name);
    let rate = |metric: &str, extra: &str| format!("sum(rate({metric}{{{sel}{extra}}}[5m]))");
    let mut rules = Vec::new();
    let mut add = |alert: &str,
                   expr: String,
                   for_: &str,
                   severity: &str,
                   summary: &str,
                   description: &str| {
        let mut labels = alerts.labels.clone();
        labels.insert("severity".into(), severity.into());
        let annotations = BTreeMap::from([
            ("summary".to_string(), summary.to_string()),
            ("description".to_string(), description.to_string()),
            (
                "runbook_url".to_string(),
                runbook_url(&alerts.runbook_base_url, alert),
            ),
        ]);
        rules.push(AlertRule {
            alert: alert.into(),
            expr,
            for_: for_.into(),
            labels,
            annotations,
        });
    };
    add(
        "AirlockDown",
        format!("absent(up{{{sel}}} == 1)"),
        "5m",
        "critical",
        "No Airlock pod is being scraped",
        &format!(
            "Prometheus has scraped no healthy target of {}/{} for 5 minutes: the gateway may be down.",
            namespace, model.name
        ),
    );
    add(
        "AirlockHighErrorRate",
        format!(
            "{} / {} > {}",
            rate(m::REQUESTS_TOTAL, ",status=~\"5..\""),
            rate(m::REQUESTS_TOTAL, ""),
            alerts.error_rate
        ),
        "2m",
        "critical",
        "High error rate in MCP Airlock",
        "{{ $value | humanizePercentage }} of requests are failing with 5xx.",
    );
    add(
        "AirlockHighLatency",
        format!(
            "histogram_quantile(0.95, sum by (le) (rate({}_bucket{{{sel}}}[5m]))) > {}",
            m::REQUEST_DURATION_SECONDS,
            alerts.p95_latency_seconds
        ),
        "5m",
        "warning",
        "High latency in MCP Airlock",
        "95th percentile latency is {{ $value | humanizeDuration }}.",
    );
    add(
        "AirlockAuditStorageFailure",
        // Also fires before the buffer fills: at 80 % the store is not keeping up.
        format!(
            "sum(increase({}{{{sel}}}[5m])) > 0 or max({}{{{sel}}}) > {}",
            m::AUDIT_ERRORS_TOTAL,
            m::AUDIT_BUFFERED_EVENTS,
            alerts.audit_buffer_size * 4 / 5
        ),
        "1m",
        "critical",
        "Audit storage is failing or falling behind",
        "Audit writes fail or the in-memory buffer is over 80 % full ({{ $value }}); events wait in memory until the store returns.",
    );
    add(
        "AirlockAuthFailureSpike",
        format!(
            "({attempts} - {success}) / {attempts} > {ratio} and {attempts} > 0.1",
            attempts = rate(m::AUTH_ATTEMPTS_TOTAL, ""),
            success = rate(m::AUTH_SUCCESS_TOTAL, ""),
            ratio = alerts.auth_failure_ratio
        ),
        "5m",
        "warning",
        "Many authentication failures",
        "{{ $value | humanizePercentage }} of authentication attempts fail: expired tokens, a misconfigured client, or credential stuffing.",
    );
    let denied = rate(m::REQUESTS_FAILED_TOTAL, ",error_type=\"policy_denied\"");
    add(
        "AirlockPolicyDenialSpike",
        format!(
            "{denied} / {} > {} and {denied} > 0.1",
            rate(m::REQUESTS_TOTAL, ""),
            alerts.policy_denial_ratio
        ),
        "5m",
        "warning",
        "Many requests are denied by policy",
        "{{ $value | humanizePercentage }} of requests get 403 policy_denied: a policy change that revokes too much, a misconfigured client, or someone probing for access.",
    );
    add(
        "AirlockSecurityViolation",
        format!(
            "sum(increase({}{{{sel}}}[5m])) > 0",
            m::SECURITY_VIOLATIONS_TOTAL
        ),
        "0m",
        "warning",
        "Path sandbox violations on the virtual roots",
        "{{ $value }} requests in 5 minutes tried to leave a virtual root (traversal, encoded separators, symlinks, other schemes) or write a read-only root.",
    );
    add(
        "AirlockPolicyLastKnownGood",
        format!("max({}{{{sel}}}) > 0", m::POLICY_LKG_ACTIVE),
        "1m",
        "warning",
        "A policy reload failed; the last-known-good policy is serving",
        "The newest policy did not compile. Requests are decided by the previous policy until a valid one is loaded.",
    );
    add(
        "AirlockRateLimitSaturation",
        format!(
            "{} / {} > {}",
            // Brute-force blocks are AirlockAuthFailureSpike's (its runbook says so).
            rate(m::RATE_LIMITED_TOTAL, ",limit!=\"failed_auth\""),
            rate(m::REQUESTS_TOTAL, ""),
            alerts.rate_limited_ratio
        ),
        "10m",
        "warning",
        "Many requests are rate limited",
        "{{ $value | humanizePercentage }} of requests are answered 429.",
    );
    add(
        "AirlockUpstreamDown",
        format!("max by (upstream) ({}{{{sel}}}) == 0", m::UPSTREAM_UP),
        "2m",
        "critical",
        "An upstream MCP server is down",
        "Upstream {{ $labels.upstream }} has failed its health checks on every pod for 2 minutes.",
    );
    if alerts.shared_limits {
        add(
            "AirlockRateLimitStoreDown",
            format!("min({}{{{sel}}}) == 0", m::RATELIMIT_STORE_UP),
            "2m",
            "critical",
            "The shared rate-limit store does not answer",
            "A replica has not reached Redis for 2 minutes: limits are per replica (onUnavailable: local) or requests are refused (deny).",
        );
    }
    if alerts.tool_pinning {
        add(
            "AirlockToolDefinitionDrift",
            format!(
                "sum by (upstream, tool) (increase({}{{{sel}}}[10m])) > 0",
                m::TOOL_DRIFT_TOTAL
            ),
            "0m",
            "warning",
            "An upstream changed a pinned tool's definition",
            "The definition of {{ $labels.upstream }}/{{ $labels.tool }} no longer matches its pin: the tool is withheld (onDrift: block) or served unreviewed (warn).",
        );
    }
    if let Some(certificate) = model.ingress.as_ref().and_then(|i| i.certificate.as_ref()) {
        add(
            "AirlockCertificateExpiring",
            // cert-manager's own ServiceMonitor does not honor labels by default, so the
            // certificate's namespace may arrive as `exported_namespace`.
            format!(
                "min(certmanager_certificate_expiration_timestamp_seconds{{exported_namespace=\"{ns}\",name=\"{name}\"}} or certmanager_certificate_expiration_timestamp_seconds{{namespace=\"{ns}\",name=\"{name}\"}}) - time() < {}",
                alerts.certificate_expiry_seconds,
                ns = namespace,
                name = certificate.name,
            ),
            "1h",
            "warning",
            "The TLS certificate of MCP Airlock expires soon",
            "The certificate expires in {{ $value | humanizeDuration }} and cert-manager has not renewed it.",
        );
    }
    rules
}

/// The runbook of `alert` under `base`, joined with exactly one `/` whether or not the
/// configured base URL ends with one.
fn runbook_url(base: &str, alert: &str) -> String {
    format!("{}/{alert}.md", base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::runbook_url;

    #[test]
    fn runbook_urls_have_one_slash_before_the_alert() {
        for base in [
            "https://wiki.example.com/runbooks",
            "https://wiki.example.com/runbooks/",
            "https://wiki.example.com/runbooks//",
        ] {
            assert_eq!(
                runbook_url(base, "AirlockDown"),
                "https://wiki.example.com/runbooks/AirlockDown.md"
            );
        }
    }
}
