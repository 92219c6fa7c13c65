//! Example values shown in the JSON Schema for object-valued fields, so an editor's hover and
//! completion show a realistic snippet. Kept consistent with `examples/production/airlock.yaml`.

use serde_json::{Value, json};

pub(crate) fn yes() -> bool {
    true
}

pub fn minimal_config() -> Value {
    json!({
        "version": 1,
        "name": "mcp-airlock",
        "image": image(),
        "auth": { "oidc": { "issuer": "https://idp.example.com", "audience": "mcp-airlock" } },
        "policy": { "file": "policy.rego" },
        "upstreams": [{ "name": "docs", "type": "http", "url": "http://docs.mcp.svc.cluster.local:8080/mcp" }]
    })
}
pub fn image() -> Value {
    json!({
        "repository": "ghcr.io/acme/airlock",
        "tag": "v1.0.0",
        "digest": "sha256:4b2c1e0d9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c"
    })
}
pub fn deployment() -> Value {
    json!({ "replicas": 3, "resources": resources(), "autoscaling": autoscaling(), "podDisruptionBudget": pdb() })
}
pub fn resources() -> Value {
    json!({ "requests": resource_list("500m", "512Mi"), "limits": resource_list("1", "1Gi") })
}
pub fn resource_list(cpu: &str, memory: &str) -> Value {
    json!({ "cpu": cpu, "memory": memory })
}
pub fn autoscaling() -> Value {
    json!({ "enabled": true, "minReplicas": 3, "maxReplicas": 10, "targetCPUUtilizationPercentage": 70 })
}
pub fn pdb() -> Value {
    json!({ "enabled": true, "minAvailable": 2 })
}
pub fn security_context() -> Value {
    json!({ "runAsUser": 65534, "runAsGroup": 65534, "fsGroup": 65534 })
}
pub fn seccomp() -> Value {
    json!({ "type": "RuntimeDefault" })
}
pub fn capabilities() -> Value {
    json!({ "drop": ["ALL"] })
}
pub fn node_selector() -> Value {
    json!({ "kubernetes.io/os": "linux" })
}
pub fn pod_annotations() -> Value {
    json!({ "sidecar.istio.io/inject": "false" })
}
pub fn ingress() -> Value {
    json!({ "host": "mcp-airlock.example.com", "className": "nginx", "tls": tls() })
}
pub fn ingress_annotations() -> Value {
    json!({ "alb.ingress.kubernetes.io/scheme": "internet-facing", "alb.ingress.kubernetes.io/target-type": "ip" })
}
pub fn tls() -> Value {
    json!({ "secretName": "airlock-tls", "issuerRef": issuer_ref() })
}
pub fn issuer_ref() -> Value {
    json!({ "name": "letsencrypt-prod", "kind": "ClusterIssuer" })
}
pub fn server() -> Value {
    json!({ "port": 8080, "publicBaseUrl": "https://mcp-airlock.example.com", "maxRequestSize": "256Ki" })
}
pub fn timeouts() -> Value {
    json!({ "request": "60s", "read": "10s", "idle": "90s", "shutdown": "20s" })
}
pub fn auth() -> Value {
    json!({ "oidc": oidc() })
}
pub fn oidc() -> Value {
    json!({
        "issuer": "https://idp.example.com",
        "audience": "mcp-airlock-prod",
        "clockSkew": "2m",
        "jwksCacheTTL": "5m",
        "requiredGroups": ["mcp.users"]
    })
}
pub fn client_secret_ref() -> Value {
    json!({ "name": "airlock-oidc", "key": "client-secret" })
}
pub fn policy() -> Value {
    json!({ "file": "policy.rego", "entrypoint": "data.airlock.authz.allow", "tests": ["policy_test.rego"], "cacheTTL": "1m" })
}
pub fn roots() -> Value {
    json!([
        { "name": "repo", "type": "fs", "virtual": "mcp://repo/", "real": "/mnt/repo", "readOnly": true },
        { "name": "artifacts", "type": "s3", "virtual": "mcp://artifacts/", "real": "s3://acme-mcp-artifacts/", "readOnly": false }
    ])
}
pub fn root_volume() -> Value {
    json!({ "claimName": "repo-pvc" })
}
pub fn secret_ref(name: &str) -> Value {
    json!({ "name": name })
}
pub fn secret_key_ref() -> Value {
    json!({ "name": "code-server", "key": "api-token" })
}
pub fn dlp() -> Value {
    json!({ "patterns": dlp_patterns() })
}
pub fn dlp_patterns() -> Value {
    json!([{
        "name": "aws-key",
        "regex": "AKIA[0-9A-Z]{16}",
        "replace": "[redacted-aws-key]",
        "examples": dlp_examples()
    }])
}
pub fn dlp_examples() -> Value {
    json!({ "match": ["AKIAABCDEFGHIJKLMNOP"], "noMatch": ["AKIA-short"] })
}
pub fn rate_limiting() -> Value {
    json!({ "perToken": "200/min", "perIp": "1000/min", "burst": 50 })
}
pub fn failed_auth() -> Value {
    json!({ "maxAttempts": 5, "window": "1m", "blockFor": "5m" })
}
pub fn upstreams() -> Value {
    json!([
        { "name": "docs", "type": "http", "url": "http://docs.mcp.svc.cluster.local:8080/mcp", "timeout": "30s", "allowTools": ["search_docs", "read_file"] },
        { "name": "code", "type": "stdio", "command": ["python", "-m", "mcp_server.code"], "timeout": "30s" },
        { "name": "local", "type": "unix", "socket": "/run/mcp/docs.sock" }
    ])
}
pub fn upstream_headers() -> Value {
    json!({ "Authorization": { "secretRef": { "name": "docs-upstream", "key": "authorization" } } })
}
pub fn http_health_check() -> Value {
    json!({ "enabled": true, "path": "/health", "interval": "30s" })
}
pub fn health_check() -> Value {
    json!({ "enabled": true, "interval": "30s" })
}
pub fn stdio_env() -> Value {
    json!({ "PYTHONPATH": "/opt/mcp-servers", "API_TOKEN": { "secretRef": secret_key_ref() } })
}
pub fn audit() -> Value {
    json!({ "backend": "postgresql", "databaseSecretRef": database_secret_ref(), "retention": "90d", "export": export() })
}
pub fn sqlite() -> Value {
    json!({ "path": "/var/lib/airlock/audit.db" })
}
pub fn tool_pinning() -> Value {
    json!({ "lockFile": "airlock.tools.json", "onDrift": "block", "onUnpinned": "block" })
}
pub fn tool_screening() -> Value {
    json!({ "enabled": true, "exceptions": tool_exceptions() })
}
pub fn tool_exceptions() -> Value {
    json!([{ "upstream": "docs", "tool": "search_docs", "markers": ["link"], "reason": "links to our own documentation site" }])
}
pub fn rate_limit_store() -> Value {
    json!({ "redis": redis() })
}
pub fn redis() -> Value {
    json!({ "url": "redis://redis.mcp-airlock.svc.cluster.local:6379/0", "passwordSecretRef": redis_password_ref(), "onUnavailable": "local" })
}
pub fn redis_password_ref() -> Value {
    json!({ "name": "airlock-redis", "key": "password" })
}
pub fn sessions() -> Value {
    json!({ "keySecretRef": session_key_ref(), "lifetime": "24h", "idleTimeout": "1h" })
}
pub fn session_key_ref() -> Value {
    json!({ "name": "airlock-sessions", "key": "key" })
}
pub fn previous_session_key_ref() -> Value {
    json!({ "name": "airlock-sessions", "key": "previous" })
}
pub fn database_secret_ref() -> Value {
    json!({ "name": "airlock-database", "key": "url" })
}
pub fn cleanup() -> Value {
    json!({ "enabled": true, "schedule": "0 2 * * *" })
}
pub fn export() -> Value {
    json!({ "enabled": true, "format": "jsonl", "schedule": "0 1 * * *", "s3": export_s3() })
}
pub fn export_s3() -> Value {
    json!({ "bucket": "acme-audit", "prefix": "airlock/", "secretRef": secret_ref("airlock-s3") })
}
pub fn persistence() -> Value {
    json!({ "enabled": true, "storageClass": "gp3", "size": "100Gi", "accessMode": "ReadWriteOnce" })
}
pub fn observability() -> Value {
    json!({ "metrics": metrics(), "tracing": tracing(), "logging": logging(), "alerts": alerts() })
}
pub fn metrics() -> Value {
    json!({ "enabled": true, "path": "/metrics", "serviceMonitor": service_monitor() })
}
pub fn service_monitor() -> Value {
    json!({ "enabled": true, "namespace": "monitoring", "interval": "30s" })
}
pub fn release_labels() -> Value {
    json!({ "release": "prometheus" })
}
pub fn tracing() -> Value {
    json!({ "enabled": true, "endpoint": "http://otel-collector.monitoring.svc:4318", "sampleRatio": 0.1 })
}
pub fn logging() -> Value {
    json!({ "level": "info", "format": "json" })
}
pub fn alerts() -> Value {
    json!({ "errorRate": 0.05, "p95Latency": "100ms" })
}
pub fn alert_labels() -> Value {
    json!({ "team": "platform" })
}
pub fn service_account() -> Value {
    json!({ "create": true, "annotations": irsa() })
}
pub fn irsa() -> Value {
    json!({ "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/mcp-airlock" })
}
pub fn network() -> Value {
    json!({ "clusterDomain": "cluster.local", "targetPorts": target_ports(), "egress": extra_egress() })
}
pub fn target_ports() -> Value {
    json!([{ "host": "docs.mcp.svc.cluster.local", "port": 80, "targetPort": 8080 }])
}
pub fn extra_egress() -> Value {
    json!([{ "description": "Confluence, for the docs upstream's tools", "cidrs": ["10.20.0.0/16"], "ports": [443], "hosts": ["confluence.corp.internal"] }])
}
pub fn sidecar() -> Value {
    json!({ "image": sidecar_image(), "args": ["--socket", "/run/mcp/docs.sock"], "env": { "DOCS_TOKEN": { "secretRef": { "name": "docs-mcp", "key": "token" } } } })
}
pub fn sidecar_image() -> Value {
    json!({ "repository": "ghcr.io/acme/docs-mcp", "tag": "v2.1.0", "digest": "sha256:4b2c1e0d9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c" })
}
pub fn https_port() -> Value {
    json!([443])
}
pub fn database_networks() -> Value {
    json!(["10.0.5.0/24"])
}
/// A list of strings, written as one space-separated string to keep attributes short.
pub fn list(items: &str) -> Value {
    Value::Array(
        items
            .split_whitespace()
            .map(|s| Value::String(s.into()))
            .collect(),
    )
}
