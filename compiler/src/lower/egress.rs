//! Egress derived from the configuration: DNS, the OIDC issuer, the audit database, S3, the
//! HTTP upstreams, the Redis store and the trace collector, plus the rules `network.egress`
//! writes by hand — nothing else. In-cluster service names (for `network.clusterDomain`, with or
//! without the trailing dot) become namespace selectors on the pods' port
//! (`network.targetPorts`); external hosts become `ipBlock`s that exclude private, link-local
//! (cloud metadata) and carrier-grade NAT ranges, because a NetworkPolicy cannot name a DNS
//! host. No rule ever opens a metadata address: broad blocks except them, and a host that is
//! one gets no rule (the compiler refuses it, AL2039).

use airlock_schema::Config;
use airlock_schema::config::{AuditBackend, Root, Upstream};
use airlock_schema::network::{self, METADATA_EXCEPT_V4, METADATA_EXCEPT_V6, Place};
use airlock_schema::runtime::EgressDestination;
use airlock_schema::types::{HttpUrl, IpCidr};
use serde::Serialize;
use std::net::IpAddr;

/// Who the pod may talk to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "camelCase")]
pub enum EgressPeer {
    /// The cluster DNS (kube-dns / CoreDNS in kube-system).
    Dns,
    /// Pods of a namespace (an in-cluster service).
    Namespace(NamespacePeer),
    /// A network: an IP literal of the config, the database's networks, a hand-written rule.
    Cidr(Block),
    /// Public addresses: everything but private, link-local and CGNAT ranges.
    Internet,
    /// Any address but the metadata ranges: for the audit database, whose host is only known at
    /// runtime (from a Secret).
    AnyAddress,
}

/// A namespace by name; `own` when the host named none (`svc`, `svc.svc`), so it is the
/// namespace the gateway is installed in (the release's, in the chart).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct NamespacePeer {
    pub name: String,
    pub own: bool,
}

/// An `ipBlock`: a network and the metadata ranges inside it it must not open.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Block {
    pub cidr: String,
    pub except: Vec<String>,
}

impl Block {
    fn new(cidr: &IpCidr) -> Self {
        let ranges: &[&str] = if cidr.is_ipv4() {
            &METADATA_EXCEPT_V4
        } else {
            &METADATA_EXCEPT_V6
        };
        let except = ranges
            .iter()
            .filter_map(|r| r.parse::<IpCidr>().ok())
            .filter(|r| cidr.covers(r) && r != cidr)
            .map(|r| r.to_string())
            .collect();
        Self {
            cidr: cidr.to_string(),
            except,
        }
    }
    fn address(ip: IpAddr) -> Self {
        let cidr = match ip {
            IpAddr::V4(v4) => format!("{v4}/32"),
            IpAddr::V6(v6) => format!("{v6}/128"),
        };
        Self {
            cidr,
            except: Vec::new(),
        }
    }
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

/// Where a host lives, as far as a NetworkPolicy can say; `None` for no rule (loopback, or a
/// metadata address, which is never opened).
fn classify(host: &str, own_namespace: &str, cluster_domain: &str) -> Option<EgressPeer> {
    match network::classify(host, cluster_domain) {
        Place::Loopback | Place::Forbidden(_) => None,
        Place::Address(ip) => Some(EgressPeer::Cidr(Block::address(ip))),
        Place::Service { namespace } => Some(EgressPeer::Namespace(NamespacePeer {
            own: namespace.is_none(),
            name: namespace.unwrap_or_else(|| own_namespace.to_string()),
        })),
        Place::External => Some(EgressPeer::Internet),
    }
}

/// A host as written, for comparisons: lowercase, without brackets or the trailing dot.
pub fn normalize_host(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

struct Collector<'a> {
    rules: Vec<EgressRule>,
    destinations: Vec<EgressDestination>,
    config: &'a Config,
}

impl Collector<'_> {
    fn add(&mut self, host: &str, peer: EgressPeer, port: u16, purpose: &str, source: &str) {
        self.destinations.push(EgressDestination {
            host: host.to_string(),
            port,
            purpose: purpose.to_string(),
        });
        self.rule(peer, port, purpose, source);
    }
    fn rule(&mut self, peer: EgressPeer, port: u16, purpose: &str, source: &str) {
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
        let network = &self.config.network;
        let Some(peer) = classify(
            host,
            self.config.effective_namespace().as_str(),
            network.cluster_domain.as_str(),
        ) else {
            return;
        };
        self.destinations.push(EgressDestination {
            host: host.to_string(),
            port,
            purpose: purpose.to_string(),
        });
        // A hand-written rule for this host replaces the derived one.
        let name = normalize_host(host);
        if network
            .egress
            .iter()
            .any(|e| e.ports.contains(&port) && e.hosts.iter().any(|h| normalize_host(h) == name))
        {
            return;
        }
        // NetworkPolicies match the pod's port, after the Service translated it.
        let rule_port = match peer {
            EgressPeer::Namespace(_) => target_port(self.config, host, port),
            _ => port,
        };
        self.rule(peer, rule_port, purpose, source);
    }
}

/// The pods' port behind `host:port`: from `network.targetPorts`, or the port itself.
pub fn target_port(config: &Config, host: &str, port: u16) -> u16 {
    let name = normalize_host(host);
    config
        .network
        .target_ports
        .iter()
        .find(|t| t.port == port && normalize_host(&t.host) == name)
        .map_or(port, |t| t.target_port)
}

/// The egress rules of a configuration, merged by peer and sorted, and every destination
/// (host, port, purpose) they stand for.
pub fn derive(config: &Config) -> (Vec<EgressRule>, Vec<EgressDestination>) {
    let mut c = Collector {
        rules: Vec::new(),
        destinations: Vec::new(),
        config,
    };
    c.add("kube-dns.kube-system", EgressPeer::Dns, 53, "DNS", "/");
    c.url(
        &config.auth.oidc.issuer,
        "OIDC discovery and JWKS",
        "/auth/oidc/issuer",
    );
    if config.audit.backend == AuditBackend::Postgresql {
        let purpose = "audit database (PostgreSQL)";
        let host = "(from the database URL Secret)";
        if config.audit.database_networks.is_empty() {
            c.add(
                host,
                EgressPeer::AnyAddress,
                5432,
                purpose,
                "/audit/databaseSecretRef",
            );
        } else {
            c.destinations.push(EgressDestination {
                host: host.into(),
                port: 5432,
                purpose: purpose.into(),
            });
            for cidr in &config.audit.database_networks {
                c.rule(
                    EgressPeer::Cidr(Block::new(cidr)),
                    5432,
                    purpose,
                    "/audit/databaseNetworks",
                );
            }
        }
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
    for (index, extra) in config.network.egress.iter().enumerate() {
        for cidr in &extra.cidrs {
            for port in &extra.ports {
                c.rule(
                    EgressPeer::Cidr(Block::new(cidr)),
                    *port,
                    &extra.description,
                    &format!("/network/egress/{index}"),
                );
            }
        }
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
        let ns = |n: &str| Some(namespace(n));
        let own = |n: &str| {
            Some(EgressPeer::Namespace(NamespacePeer {
                name: n.into(),
                own: true,
            }))
        };
        let at = |h: &str| classify(h, "gw", "cluster.local");
        assert_eq!(at("docs.mcp.svc.cluster.local"), ns("mcp"));
        assert_eq!(at("docs.mcp.svc.cluster.local."), ns("mcp"));
        assert_eq!(
            classify("docs.mcp.svc.k8s.corp", "gw", "k8s.corp"),
            ns("mcp")
        );
        assert_eq!(at("docs.mcp.svc"), ns("mcp"));
        assert_eq!(at("docs-server"), own("gw"));
        assert_eq!(at("docs-server.svc"), own("gw"));
        assert_eq!(at("idp.example.com"), Some(EgressPeer::Internet));
        assert_eq!(
            at("10.1.2.3"),
            Some(EgressPeer::Cidr(Block::address(
                "10.1.2.3".parse().unwrap()
            )))
        );
        assert_eq!(
            at("[::2]"),
            Some(EgressPeer::Cidr(Block::address("::2".parse().unwrap())))
        );
        assert_eq!(at("127.0.0.1"), None);
        assert_eq!(at("localhost"), None);
        assert_eq!(at("169.254.169.254"), None, "metadata is never opened");
        assert_eq!(at("metadata.google.internal"), None);
        assert_eq!(at("svc.example.com"), Some(EgressPeer::Internet));
    }

    #[test]
    fn broad_blocks_except_the_metadata_ranges() {
        let block = |c: &str| Block::new(&c.parse().unwrap());
        assert_eq!(
            block("0.0.0.0/0").except,
            vec!["169.254.0.0/16", "100.100.100.200/32"]
        );
        assert_eq!(block("10.0.0.0/8").except, Vec::<String>::new());
        assert_eq!(block("100.64.0.0/10").except, vec!["100.100.100.200/32"]);
        assert_eq!(block("::/0").except.len(), 3);
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

    fn namespace(name: &str) -> EgressPeer {
        EgressPeer::Namespace(NamespacePeer {
            name: name.into(),
            own: false,
        })
    }

    fn own(name: &str) -> EgressPeer {
        EgressPeer::Namespace(NamespacePeer {
            name: name.into(),
            own: true,
        })
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
                (own("mcp"), vec![9000]),
                (namespace("tools"), vec![8080, 8081]),
                (
                    EgressPeer::Cidr(Block::address("10.0.0.7".parse().unwrap())),
                    vec![7000]
                ),
                (EgressPeer::Internet, vec![443]),
            ]
        );
        let tools = rules.iter().find(|r| r.peer == namespace("tools")).unwrap();
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
                (namespace("monitoring"), vec![4318]),
                (namespace("storage"), vec![9000]),
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

    #[test]
    fn cluster_domain_target_ports_and_extra_rules() {
        let (rules, destinations) = derive(&config(serde_json::json!({
            "upstreams": [
                {"name": "a", "type": "http", "url": "http://docs.tools.svc.k8s.corp.:80/mcp"},
                {"name": "b", "type": "http", "url": "https://confluence.corp.internal/mcp"},
                {"name": "c", "type": "http", "url": "http://search:9000/mcp"}
            ],
            "network": {
                "clusterDomain": "k8s.corp",
                "targetPorts": [{"host": "docs.tools.svc.k8s.corp", "port": 80, "targetPort": 8080}],
                "egress": [{"description": "intranet", "cidrs": ["10.20.0.0/16"], "ports": [443],
                            "hosts": ["confluence.corp.internal"]}]
            },
            "audit": {"backend": "postgresql", "databaseSecretRef": {"name": "db", "key": "url"},
                      "databaseNetworks": ["10.0.5.0/24"]}
        })));
        let cidr = |c: &str| EgressPeer::Cidr(Block::new(&c.parse().unwrap()));
        assert_eq!(
            peers(&rules),
            vec![
                (EgressPeer::Dns, vec![53]),
                (own("mcp"), vec![9000]),
                (namespace("tools"), vec![8080]),
                (cidr("10.0.5.0/24"), vec![5432]),
                (cidr("10.20.0.0/16"), vec![443]),
                (EgressPeer::Internet, vec![443]),
            ],
            "the issuer alone is public; confluence is the hand-written rule"
        );
        assert!(
            destinations
                .iter()
                .any(|d| d.host == "confluence.corp.internal" && d.port == 443),
            "the runtime still knows the destination"
        );
    }

    #[test]
    fn the_database_rule_never_opens_metadata() {
        let (rules, _) = derive(&config(serde_json::json!({
            "audit": {"backend": "postgresql", "databaseSecretRef": {"name": "db", "key": "url"}}
        })));
        assert!(rules.iter().any(|r| r.peer == EgressPeer::AnyAddress));
    }
}
