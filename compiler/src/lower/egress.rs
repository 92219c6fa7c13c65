//! Egress derived from the configuration: DNS, the OIDC issuer, the audit database, S3, the
//! HTTP upstreams and the trace collector — nothing else. In-cluster service names become
//! namespace selectors; external hosts become `ipBlock`s that exclude private, link-local (cloud
//! metadata) and carrier-grade NAT ranges, because a NetworkPolicy cannot name a DNS host.

use airlock_schema::Config;
use airlock_schema::config::{AuditBackend, Root, Upstream};
use airlock_schema::runtime::EgressDestination;
use airlock_schema::types::HttpUrl;
use serde::Serialize;
use std::net::IpAddr;

/// Who the pod may talk to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "camelCase")]
pub enum EgressPeer {
    /// The cluster DNS (kube-dns / CoreDNS in kube-system).
    Dns,
    /// Pods of a namespace (an in-cluster service).
    Namespace(String),
    /// One address (an IP literal in the config).
    Cidr(String),
    /// Public addresses: everything but private, link-local and CGNAT ranges.
    Internet,
    /// Any address: for the audit database, whose host is only known at runtime (from a Secret).
    AnyAddress,
}

/// One egress rule: a peer, its ports, and why (the config paths that need it).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct EgressRule {
    pub peer: EgressPeer,
    pub ports: Vec<u16>,
    pub purposes: Vec<String>,
    pub sources: Vec<String>,
}

/// Private, link-local (cloud metadata) and carrier-grade NAT ranges excluded from `Internet`.
pub const PRIVATE_V4: [&str; 5] = [
    "10.0.0.0/8",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
];
pub const PRIVATE_V6: [&str; 2] = ["fc00::/7", "fe80::/10"];

/// Where a host lives, as far as a NetworkPolicy can say.
fn classify(host: &str, own_namespace: &str) -> Option<EgressPeer> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        if ip.is_loopback() {
            return None;
        }
        return Some(EgressPeer::Cidr(match ip {
            IpAddr::V4(v4) => format!("{v4}/32"),
            IpAddr::V6(v6) => format!("{v6}/128"),
        }));
    }
    if host == "localhost" || host.ends_with(".localhost") {
        return None;
    }
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() == 1 {
        return Some(EgressPeer::Namespace(own_namespace.to_string()));
    }
    if let Some(svc) = labels.iter().position(|l| *l == "svc")
        && svc >= 1
        && (svc + 1 == labels.len() || labels[svc + 1..] == ["cluster", "local"])
    {
        let namespace = if svc >= 2 {
            labels[svc - 1]
        } else {
            own_namespace
        };
        return Some(EgressPeer::Namespace(namespace.to_string()));
    }
    Some(EgressPeer::Internet)
}

struct Collector<'a> {
    rules: Vec<EgressRule>,
    destinations: Vec<EgressDestination>,
    namespace: &'a str,
}

impl Collector<'_> {
    fn add(&mut self, host: &str, peer: EgressPeer, port: u16, purpose: &str, source: &str) {
        self.destinations.push(EgressDestination {
            host: host.to_string(),
            port,
            purpose: purpose.to_string(),
        });
        match self.rules.iter_mut().find(|r| r.peer == peer) {
            Some(rule) => {
                rule.ports.push(port);
                rule.purposes.push(purpose.to_string());
                rule.sources.push(source.to_string());
            }
            None => self.rules.push(EgressRule {
                peer,
                ports: vec![port],
                purposes: vec![purpose.into()],
                sources: vec![source.into()],
            }),
        }
    }
    fn url(&mut self, url: &HttpUrl, purpose: &str, source: &str) {
        self.host(url.host(), url.port(), purpose, source);
    }
    fn host(&mut self, host: &str, port: u16, purpose: &str, source: &str) {
        if let Some(peer) = classify(host, self.namespace) {
            self.add(host, peer, port, purpose, source);
        }
    }
}

/// The egress rules of a configuration, merged by peer and sorted, and every destination
/// (host, port, purpose) they stand for.
pub fn derive(config: &Config) -> (Vec<EgressRule>, Vec<EgressDestination>) {
    let mut c = Collector {
        rules: Vec::new(),
        destinations: Vec::new(),
        namespace: config.effective_namespace().as_str(),
    };
    c.add("kube-dns.kube-system", EgressPeer::Dns, 53, "DNS", "/");
    c.url(
        &config.auth.oidc.issuer,
        "OIDC discovery and JWKS",
        "/auth/oidc/issuer",
    );
    if config.audit.backend == AuditBackend::Postgresql {
        c.add(
            "(from the database URL Secret)",
            EgressPeer::AnyAddress,
            5432,
            "audit database (PostgreSQL)",
            "/audit/databaseSecretRef",
        );
    }
    if let Some(store) = &config.rate_limiting.store {
        let url = &store.redis.url;
        c.host(
            url.host(),
            url.port(),
            "rate-limit and session store (Redis)",
            "/rateLimiting/store/redis/url",
        );
    }
    for (index, root) in config.roots.iter().enumerate() {
        if let Root::S3(s3) = root {
            let source = format!("/roots/{index}");
            match &s3.endpoint {
                Some(endpoint) => c.url(endpoint, "S3 root", &source),
                None => c.add(
                    &aws_s3_host(s3.region.as_deref()),
                    EgressPeer::Internet,
                    443,
                    "S3 root",
                    &source,
                ),
            }
        }
    }
    if let Some(export) = config.audit.export.as_ref().filter(|e| e.enabled) {
        match export.s3.as_ref().and_then(|s| s.endpoint.as_ref()) {
            Some(endpoint) => c.url(endpoint, "audit export to S3", "/audit/export"),
            None => {
                let region = export.s3.as_ref().and_then(|s| s.region.as_deref());
                c.add(
                    &aws_s3_host(region),
                    EgressPeer::Internet,
                    443,
                    "audit export to S3",
                    "/audit/export",
                )
            }
        }
    }
    for (index, upstream) in config.upstreams.iter().enumerate() {
        if let Upstream::Http(http) = upstream {
            c.url(
                &http.url,
                &format!("upstream {}", http.name),
                &format!("/upstreams/{index}/url"),
            );
        }
    }
    if config.observability.tracing.enabled
        && let Some(endpoint) = &config.observability.tracing.endpoint
    {
        c.url(
            endpoint,
            "trace export (OTLP)",
            "/observability/tracing/endpoint",
        );
    }
    for rule in &mut c.rules {
        rule.ports.sort_unstable();
        rule.ports.dedup();
        rule.purposes.dedup();
        rule.sources.dedup();
    }
    c.rules.sort();
    c.destinations.sort();
    c.destinations.dedup();
    (c.rules, c.destinations)
}

fn aws_s3_host(region: Option<&str>) -> String {
    match region {
        Some(region) => format!("s3.{region}.amazonaws.com"),
        None => "s3.amazonaws.com".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_classify() {
        let ns = |n: &str| Some(EgressPeer::Namespace(n.into()));
        assert_eq!(classify("docs.mcp.svc.cluster.local", "gw"), ns("mcp"));
        assert_eq!(classify("docs.mcp.svc", "gw"), ns("mcp"));
        assert_eq!(classify("docs-server", "gw"), ns("gw"));
        assert_eq!(
            classify("idp.example.com", "gw"),
            Some(EgressPeer::Internet)
        );
        assert_eq!(
            classify("10.1.2.3", "gw"),
            Some(EgressPeer::Cidr("10.1.2.3/32".into()))
        );
        assert_eq!(
            classify("[::2]", "gw"),
            Some(EgressPeer::Cidr("::2/128".into()))
        );
        assert_eq!(classify("127.0.0.1", "gw"), None);
        assert_eq!(classify("localhost", "gw"), None);
        assert_eq!(
            classify("svc.example.com", "gw"),
            Some(EgressPeer::Internet)
        );
    }

    fn config(extra: serde_json::Value) -> Config {
        let mut base = serde_json::json!({
            "version": 1, "name": "gw", "namespace": "mcp",
            "image": {"repository": "r", "tag": "t"},
            "auth": {"oidc": {"issuer": "https://idp.example.com", "audience": "gw"}},
            "policy": {"file": "p.rego"},
            "upstreams": [{"name": "u", "type": "stdio", "command": ["x"]}],
        });
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    fn peers(rules: &[EgressRule]) -> Vec<(EgressPeer, Vec<u16>)> {
        rules
            .iter()
            .map(|r| (r.peer.clone(), r.ports.clone()))
            .collect()
    }

    #[test]
    fn stdio_and_sqlite_need_only_dns_and_the_issuer() {
        let (rules, destinations) = derive(&config(serde_json::json!({})));
        assert_eq!(
            peers(&rules),
            vec![
                (EgressPeer::Dns, vec![53]),
                (EgressPeer::Internet, vec![443])
            ]
        );
        assert!(
            destinations
                .iter()
                .any(|d| d.host == "idp.example.com" && d.port == 443)
        );
    }

    #[test]
    fn upstream_shapes() {
        let (rules, _) = derive(&config(serde_json::json!({"upstreams": [
            {"name": "a", "type": "http", "url": "http://docs.tools.svc.cluster.local:8080/mcp"},
            {"name": "b", "type": "http", "url": "http://search:9000/mcp"},
            {"name": "c", "type": "http", "url": "https://api.example.org/mcp"},
            {"name": "d", "type": "http", "url": "http://10.0.0.7:7000/mcp"},
            {"name": "e", "type": "http", "url": "http://127.0.0.1:7000/mcp"},
            {"name": "f", "type": "unix", "socket": "/run/mcp/f.sock"},
            {"name": "g", "type": "http", "url": "http://docs.tools.svc.cluster.local:8081/mcp"}
        ]})));
        assert_eq!(
            peers(&rules),
            vec![
                (EgressPeer::Dns, vec![53]),
                (EgressPeer::Namespace("mcp".into()), vec![9000]),
                (EgressPeer::Namespace("tools".into()), vec![8080, 8081]),
                (EgressPeer::Cidr("10.0.0.7/32".into()), vec![7000]),
                (EgressPeer::Internet, vec![443]),
            ]
        );
        let tools = rules
            .iter()
            .find(|r| r.peer == EgressPeer::Namespace("tools".into()))
            .unwrap();
        assert_eq!(tools.sources, vec!["/upstreams/0/url", "/upstreams/6/url"]);
    }

    #[test]
    fn database_s3_and_tracing() {
        let (rules, destinations) = derive(&config(serde_json::json!({
            "audit": {"backend": "postgresql", "databaseSecretRef": {"name": "db", "key": "url"},
                      "export": {"s3": {"bucket": "audit-bucket", "prefix": "a/", "region": "eu-west-1"}}},
            "roots": [{"name": "r", "type": "s3", "virtual": "mcp://r/", "real": "s3://bucket-x/",
                       "endpoint": "https://minio.storage.svc:9000"}],
            "observability": {"tracing": {"enabled": true, "endpoint": "http://otel.monitoring.svc:4318"}}
        })));
        assert_eq!(
            peers(&rules),
            vec![
                (EgressPeer::Dns, vec![53]),
                (EgressPeer::Namespace("monitoring".into()), vec![4318]),
                (EgressPeer::Namespace("storage".into()), vec![9000]),
                (EgressPeer::Internet, vec![443]),
                (EgressPeer::AnyAddress, vec![5432]),
            ]
        );
        assert!(
            destinations.iter().any(
                |d| d.host == "s3.eu-west-1.amazonaws.com" && d.purpose == "audit export to S3"
            )
        );
    }
}
