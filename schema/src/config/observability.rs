//! `observability`: metrics, traces, logs and the thresholds of the emitted alerts.

use crate::examples as ex;
use crate::types::{DnsLabel, Duration, HttpUrl};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Metrics, tracing, logging and alerting.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Observability {
    /// Prometheus metrics.
    #[serde(default)]
    #[schemars(example = ex::metrics())]
    pub metrics: Metrics,
    /// OpenTelemetry traces.
    #[serde(default)]
    #[schemars(example = ex::tracing())]
    pub tracing: Tracing,
    /// Structured logs.
    #[serde(default)]
    #[schemars(example = ex::logging())]
    pub logging: Logging,
    /// The PrometheusRule alerts and their thresholds.
    #[serde(default)]
    #[schemars(example = ex::alerts())]
    pub alerts: Alerts,
}

/// Prometheus metrics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metrics {
    /// Serve metrics.
    #[serde(default = "crate::examples::yes")]
    #[schemars(example = true)]
    pub enabled: bool,
    /// The path metrics are served on.
    #[serde(default = "default_metrics_path")]
    #[schemars(regex(pattern = r"^/[A-Za-z0-9/_.-]*$"), example = &"/metrics")]
    pub path: String,
    /// The port of the dedicated metrics listener (the Service port `http-metrics`).
    #[serde(default = "default_metrics_port")]
    #[schemars(range(min = 1024, max = 65535), example = 9090)]
    pub port: u16,
    /// The namespace Prometheus runs in: the only source admitted to the metrics port.
    #[serde(default = "default_monitoring_namespace")]
    #[schemars(example = &"monitoring")]
    pub prometheus_namespace: DnsLabel,
    /// A Prometheus Operator ServiceMonitor.
    #[serde(default)]
    #[schemars(example = ex::service_monitor())]
    pub service_monitor: ServiceMonitor,
}

fn default_metrics_path() -> String {
    "/metrics".into()
}
fn default_metrics_port() -> u16 {
    9090
}
fn default_monitoring_namespace() -> DnsLabel {
    "monitoring".parse().expect("a valid label")
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            enabled: true,
            path: default_metrics_path(),
            port: default_metrics_port(),
            prometheus_namespace: default_monitoring_namespace(),
            service_monitor: ServiceMonitor::default(),
        }
    }
}

/// A Prometheus Operator ServiceMonitor for the metrics port.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceMonitor {
    /// Emit the ServiceMonitor (and the PrometheusRule).
    #[serde(default = "crate::examples::yes")]
    #[schemars(example = true)]
    pub enabled: bool,
    /// The namespace of the ServiceMonitor. Defaults to the deployment's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"monitoring")]
    pub namespace: Option<DnsLabel>,
    /// How often Prometheus scrapes.
    #[serde(default = "default_scrape_interval")]
    #[schemars(example = &"30s")]
    pub interval: Duration,
    /// Labels your Prometheus selects ServiceMonitors and rules by (e.g. `release: prometheus`):
    /// Kubernetes label keys and values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(example = ex::release_labels())]
    #[schemars(extend("propertyNames" = {"pattern": crate::types::QUALIFIED_NAME}, "additionalProperties" = {"type": "string", "pattern": crate::types::LABEL_VALUE, "description": "A Kubernetes label value: at most 63 letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit, or empty."}))]
    pub labels: BTreeMap<String, String>,
}

fn default_scrape_interval() -> Duration {
    Duration::from_secs(30)
}

impl Default for ServiceMonitor {
    fn default() -> Self {
        Self {
            enabled: true,
            namespace: None,
            interval: default_scrape_interval(),
            labels: BTreeMap::new(),
        }
    }
}

/// OpenTelemetry tracing: one span per request with children for auth, policy, upstream and DLP.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Tracing {
    /// Export traces.
    #[serde(default)]
    #[schemars(example = true)]
    pub enabled: bool,
    /// The OTLP/HTTP endpoint of the collector (traces are POSTed to `<endpoint>/v1/traces`, or
    /// to the endpoint itself when it already ends in `/v1/traces`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"http://otel-collector.monitoring.svc:4318")]
    pub endpoint: Option<HttpUrl>,
    /// The fraction of requests traced, from 0 to 1.
    #[serde(default = "default_sample_ratio")]
    #[schemars(range(min = 0.0, max = 1.0), example = 0.1)]
    pub sample_ratio: f64,
    /// The `service.name` resource attribute. Defaults to the deployment's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"mcp-airlock")]
    pub service_name: Option<String>,
}

fn default_sample_ratio() -> f64 {
    1.0
}

impl Default for Tracing {
    fn default() -> Self {
        Self {
            enabled: false,
            endpoint: None,
            sample_ratio: default_sample_ratio(),
            service_name: None,
        }
    }
}

/// Log output.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Logging {
    /// The least severe level logged.
    #[serde(default)]
    #[schemars(example = &"info")]
    pub level: LogLevel,
    /// `json` (one object per line, for aggregation) or `text` (for humans).
    #[serde(default)]
    #[schemars(example = &"json")]
    pub format: LogFormat,
}

/// A log level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    #[default]
    Info,
    Warn,
    Error,
}

/// A log format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Json,
    Text,
}

/// Thresholds of the alerts in the emitted PrometheusRule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Alerts {
    /// Emit the PrometheusRule.
    #[serde(default = "crate::examples::yes")]
    #[schemars(example = true)]
    pub enabled: bool,
    /// `AirlockHighErrorRate`: the fraction of requests answered 5xx, over 5 minutes.
    #[serde(default = "default_error_rate")]
    #[schemars(range(min = 0.0, max = 1.0), example = 0.05)]
    pub error_rate: f64,
    /// `AirlockHighLatency`: the 95th percentile request duration.
    #[serde(default = "default_p95_latency")]
    #[schemars(example = &"100ms")]
    pub p95_latency: Duration,
    /// `AirlockAuthFailureSpike`: the fraction of authentication attempts that fail, over 5 minutes.
    #[serde(default = "default_auth_failure_ratio")]
    #[schemars(range(min = 0.0, max = 1.0), example = 0.2)]
    pub auth_failure_ratio: f64,
    /// `AirlockRateLimitSaturation`: the fraction of requests answered 429, over 5 minutes.
    #[serde(default = "default_rate_limited_ratio")]
    #[schemars(range(min = 0.0, max = 1.0), example = 0.1)]
    pub rate_limited_ratio: f64,
    /// `AirlockPolicyDenialSpike`: the fraction of requests the policy denies (403
    /// `policy_denied`), over 5 minutes.
    #[serde(default = "default_policy_denial_ratio")]
    #[schemars(range(min = 0.0, max = 1.0), example = 0.1)]
    pub policy_denial_ratio: f64,
    /// `AirlockCertificateExpiring`: warn when the TLS certificate expires within this time.
    #[serde(default = "default_certificate_expiry")]
    #[schemars(example = &"14d")]
    pub certificate_expiry: Duration,
    /// The base URL of the runbooks linked from each alert.
    #[serde(default = "default_runbook_base_url")]
    #[schemars(example = &"https://github.com/acme/airlock/blob/main/docs/runbooks/")]
    pub runbook_base_url: HttpUrl,
    /// Extra labels on every alert (e.g. `team: platform`). Keys are Prometheus label names.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(example = ex::alert_labels())]
    #[schemars(extend("propertyNames" = {"pattern": crate::types::PROMETHEUS_LABEL}))]
    pub labels: BTreeMap<String, String>,
}

fn default_error_rate() -> f64 {
    0.05
}
fn default_p95_latency() -> Duration {
    Duration::from_millis(500)
}
fn default_auth_failure_ratio() -> f64 {
    0.2
}
fn default_rate_limited_ratio() -> f64 {
    0.1
}
fn default_policy_denial_ratio() -> f64 {
    0.1
}
fn default_certificate_expiry() -> Duration {
    Duration::from_secs(14 * 86_400)
}
fn default_runbook_base_url() -> HttpUrl {
    "https://github.com/acme/airlock/blob/main/docs/runbooks/"
        .parse()
        .expect("built-in URL")
}

impl Default for Alerts {
    fn default() -> Self {
        Self {
            enabled: true,
            error_rate: default_error_rate(),
            p95_latency: default_p95_latency(),
            auth_failure_ratio: default_auth_failure_ratio(),
            rate_limited_ratio: default_rate_limited_ratio(),
            policy_denial_ratio: default_policy_denial_ratio(),
            certificate_expiry: default_certificate_expiry(),
            runbook_base_url: default_runbook_base_url(),
            labels: BTreeMap::new(),
        }
    }
}
