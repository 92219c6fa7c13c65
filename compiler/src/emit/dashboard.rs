//! A Grafana dashboard over the runtime's metrics (names from `airlock_schema::metrics`), scoped
//! to this deployment's namespace and service, with the deployment guide's panels (Request Rate,
//! Response Time, Authentication Success Rate) first. Deterministic: fixed ids and positions.

use crate::lower::Model;
use airlock_schema::metrics as m;
use serde_json::{Value, json};

struct Panel {
    title: &'static str,
    kind: &'static str,
    unit: &'static str,
    targets: Vec<(String, &'static str)>,
}

pub fn json(model: &Model) -> String {
    let sel = r#"namespace="$namespace",service="$service""#;
    let rate = |metric: &str, by: &str| {
        format!("sum by ({by}) (rate({metric}{{{sel}}}[$__rate_interval]))")
    };
    let quantile = |q: &str, metric: &str| {
        format!(
            "histogram_quantile({q}, sum by (le) (rate({metric}_bucket{{{sel}}}[$__rate_interval])))"
        )
    };
    let panels = vec![
        Panel {
            title: "Request Rate",
            kind: "timeseries",
            unit: "reqps",
            targets: vec![(rate(m::REQUESTS_TOTAL, "status"), "{{status}}")],
        },
        Panel {
            title: "Error ratio (5xx)",
            kind: "timeseries",
            unit: "percentunit",
            targets: vec![(
                format!(
                    "sum(rate({}{{{sel},status=~\"5..\"}}[$__rate_interval])) / sum(rate({}{{{sel}}}[$__rate_interval]))",
                    m::REQUESTS_TOTAL,
                    m::REQUESTS_TOTAL
                ),
                "5xx",
            )],
        },
        Panel {
            title: "Response Time",
            kind: "timeseries",
            unit: "s",
            targets: vec![
                (quantile("0.5", m::REQUEST_DURATION_SECONDS), "p50"),
                (quantile("0.95", m::REQUEST_DURATION_SECONDS), "p95"),
                (quantile("0.99", m::REQUEST_DURATION_SECONDS), "p99"),
            ],
        },
        Panel {
            title: "Authentication Success Rate",
            kind: "stat",
            unit: "percentunit",
            targets: vec![(
                format!(
                    "sum(rate({}{{{sel}}}[$__rate_interval])) / sum(rate({}{{{sel}}}[$__rate_interval]))",
                    m::AUTH_SUCCESS_TOTAL,
                    m::AUTH_ATTEMPTS_TOTAL
                ),
                "success",
            )],
        },
        Panel {
            title: "Authentication failures by type",
            kind: "timeseries",
            unit: "reqps",
            targets: vec![(rate(m::AUTH_FAILURES_TOTAL, "error_type"), "{{error_type}}")],
        },
        Panel {
            title: "Policy decisions",
            kind: "timeseries",
            unit: "reqps",
            targets: vec![(
                rate(m::POLICY_DECISIONS_TOTAL, "decision, cache"),
                "{{decision}} ({{cache}})",
            )],
        },
        Panel {
            title: "Last-known-good policy active",
            kind: "stat",
            unit: "none",
            targets: vec![(format!("max({}{{{sel}}})", m::POLICY_LKG_ACTIVE), "LKG")],
        },
        Panel {
            title: "Rate limited by limit",
            kind: "timeseries",
            unit: "reqps",
            targets: vec![(rate(m::RATE_LIMITED_TOTAL, "limit"), "{{limit}}")],
        },
        Panel {
            title: "DLP redactions by pattern",
            kind: "timeseries",
            unit: "ops",
            targets: vec![(rate(m::DLP_REDACTIONS_TOTAL, "pattern"), "{{pattern}}")],
        },
        Panel {
            title: "Upstreams up",
            kind: "timeseries",
            unit: "none",
            targets: vec![(
                format!("min by (upstream) ({}{{{sel}}})", m::UPSTREAM_UP),
                "{{upstream}}",
            )],
        },
        Panel {
            title: "Upstream errors",
            kind: "timeseries",
            unit: "ops",
            targets: vec![(
                rate(m::UPSTREAM_ERRORS_TOTAL, "upstream, error_type"),
                "{{upstream}}: {{error_type}}",
            )],
        },
        Panel {
            title: "Upstream latency (p95)",
            kind: "timeseries",
            unit: "s",
            targets: vec![(
                format!(
                    "histogram_quantile(0.95, sum by (le, upstream) (rate({}_bucket{{{sel}}}[$__rate_interval])))",
                    m::UPSTREAM_DURATION_SECONDS
                ),
                "{{upstream}}",
            )],
        },
        Panel {
            title: "Audit events and errors",
            kind: "timeseries",
            unit: "ops",
            targets: vec![
                (rate(m::AUDIT_EVENTS_TOTAL, ""), "written"),
                (rate(m::AUDIT_ERRORS_TOTAL, "reason"), "error: {{reason}}"),
            ],
        },
        Panel {
            title: "Audit buffer",
            kind: "timeseries",
            unit: "none",
            targets: vec![(
                format!("sum({}{{{sel}}})", m::AUDIT_BUFFERED_EVENTS),
                "buffered events",
            )],
        },
        Panel {
            title: "Security violations",
            kind: "timeseries",
            unit: "ops",
            targets: vec![(rate(m::SECURITY_VIOLATIONS_TOTAL, ""), "violations")],
        },
        Panel {
            title: "In-flight requests",
            kind: "timeseries",
            unit: "none",
            targets: vec![(
                format!("sum({}{{{sel}}})", m::IN_FLIGHT_REQUESTS),
                "in flight",
            )],
        },
    ];
    let panels: Vec<Value> = panels
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let targets: Vec<Value> = p
                .targets
                .iter()
                .enumerate()
                .map(|(t, (expr, legend))| json!({ "refId": char::from(b'A' + t as u8).to_string(), "expr": expr, "legendFormat": legend, "datasource": { "type": "prometheus", "uid": "${datasource}" } }))
                .collect();
            json!({
                "id": i + 1,
                "title": p.title,
                "type": p.kind,
                "gridPos": { "h": 8, "w": 12, "x": (i % 2) * 12, "y": (i / 2) * 8 },
                "datasource": { "type": "prometheus", "uid": "${datasource}" },
                "fieldConfig": { "defaults": { "unit": p.unit }, "overrides": [] },
                "options": {},
                "targets": targets,
            })
        })
        .collect();
    let variable = |name: &str, value: &str| json!({ "name": name, "type": "constant", "query": value, "hide": 2 });
    let dashboard = json!({
        "title": format!("MCP Airlock: {}", model.name),
        "uid": format!("airlock-{}", model.name).chars().take(40).collect::<String>(),
        "tags": ["airlock", "mcp"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": false,
        "refresh": "30s",
        "time": { "from": "now-6h", "to": "now" },
        "templating": { "list": [
            { "name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source" },
            variable("namespace", &model.namespace),
            variable("service", &model.name),
        ]},
        "panels": panels,
    });
    let mut text = serde_json::to_string_pretty(&dashboard).expect("dashboard serializes");
    text.push('\n');
    text
}
