//! The network the gateway reaches: no endpoint may be a cloud metadata service or a
//! link-local address (AL2039); every endpoint must be reachable through the egress
//! NetworkPolicy — internal hosts outside the cluster (AL2040), Service ports that may not be
//! the pods' (AL2041), the database's networks (AL2042) — and clients must reach the gateway
//! (AL2043).

use crate::diagnostics::{Diagnostics, codes};
use crate::validate::ConfigDoc;
use airlock_schema::config::{Audit, AuditBackend, Ingress, Network, Root, Upstream};
use airlock_schema::network::{self, Place, forbidden_host, is_private_suffix};
use airlock_schema::types::{DnsLabel, HttpUrl, IpCidr, RedisUrl};

/// One endpoint of the configuration: where it is written and the host it names.
pub struct Endpoint {
    pub pointer: String,
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    fn http(pointer: String, url: &HttpUrl) -> Self {
        Self {
            pointer,
            host: url.host().to_string(),
            port: url.port(),
        }
    }
}

/// Every endpoint the gateway connects to whose URL the configuration holds: the issuer, the
/// HTTP upstreams, S3 endpoints, the Redis store and the trace collector. (The PostgreSQL URL
/// arrives from a Secret; its egress excepts the metadata ranges instead.)
pub fn endpoints(doc: &ConfigDoc<'_>) -> Vec<Endpoint> {
    let mut out = Vec::new();
    let mut url = |pointer: &str| {
        if let Some(Some(url)) = doc.section::<Option<HttpUrl>>(pointer) {
            out.push(Endpoint::http(pointer.to_string(), &url));
        }
    };
    url("/auth/oidc/issuer");
    url("/audit/export/s3/endpoint");
    url("/observability/tracing/endpoint");
    for (index, upstream) in doc.items::<Upstream>("/upstreams") {
        if let Upstream::Http(http) = upstream {
            out.push(Endpoint::http(format!("/upstreams/{index}/url"), &http.url));
        }
    }
    for (index, root) in doc.items::<Root>("/roots") {
        if let Root::S3(s3) = root
            && let Some(endpoint) = &s3.endpoint
        {
            out.push(Endpoint::http(format!("/roots/{index}/endpoint"), endpoint));
        }
    }
    let redis = "/rateLimiting/store/redis/url";
    if let Some(Some(url)) = doc.section::<Option<RedisUrl>>(redis) {
        out.push(Endpoint {
            pointer: redis.to_string(),
            host: url.host().to_string(),
            port: url.port(),
        });
    }
    out
}

pub fn check(doc: &ConfigDoc<'_>, out: &mut Diagnostics) {
    let endpoints = endpoints(doc);
    for endpoint in &endpoints {
        if let Some(forbidden) = forbidden_host(&endpoint.host) {
            out.push(
                doc.value_diag(
                    codes::AL2039,
                    &endpoint.pointer,
                    format!("`{}` is {forbidden}", endpoint.host),
                )
                .help(METADATA_HELP),
            );
        }
    }
    forbidden_networks(doc, out);
    if let Some(network) = doc.section_or_default::<Network>("/network") {
        for endpoint in &endpoints {
            reachable(doc, &network, endpoint, out);
        }
    }
    database(doc, out);
    clients(doc, out);
}

const METADATA_HELP: &str = "a request the gateway makes there could read the node's cloud credentials: name the real service (an in-cluster Service name or a public host); the gateway reaches the cloud's APIs with the pod's own identity (IRSA, workload identity), never the metadata service";

/// AL2039 for networks written by hand that lie in a metadata range (a broader network has the
/// ranges excepted instead).
fn forbidden_networks(doc: &ConfigDoc<'_>, out: &mut Diagnostics) {
    let mut networks: Vec<(String, IpCidr)> = Vec::new();
    if let Some(network) = doc.section_or_default::<Network>("/network") {
        for (i, rule) in network.egress.iter().enumerate() {
            for (j, cidr) in rule.cidrs.iter().enumerate() {
                networks.push((format!("/network/egress/{i}/cidrs/{j}"), *cidr));
            }
        }
    }
    if let Some(audit) = doc.section_or_default::<Audit>("/audit") {
        for (j, cidr) in audit.database_networks.iter().enumerate() {
            networks.push((format!("/audit/databaseNetworks/{j}"), *cidr));
        }
    }
    let ranges: Vec<IpCidr> = network::METADATA_EXCEPT_V4
        .iter()
        .chain(network::METADATA_EXCEPT_V6.iter())
        .filter_map(|r| r.parse().ok())
        .collect();
    for (pointer, cidr) in networks {
        if let Some(range) = ranges.iter().find(|r| r.covers(&cidr)) {
            out.push(
                doc.value_diag(
                    codes::AL2039,
                    &pointer,
                    format!("`{cidr}` lies in `{range}`, a cloud metadata or link-local range"),
                )
                .help("remove it: no egress rule may open a metadata address (the node's cloud credentials live there); a broader network gets these ranges excepted"),
            );
        }
    }
}

/// AL2040 and AL2041: an endpoint the derived egress would not let through.
fn reachable(doc: &ConfigDoc<'_>, network: &Network, endpoint: &Endpoint, out: &mut Diagnostics) {
    let host = &endpoint.host;
    let port = endpoint.port;
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    let hand_written = network.egress.iter().any(|e| {
        e.ports.contains(&port)
            && e.hosts
                .iter()
                .any(|h| h.trim_end_matches('.').eq_ignore_ascii_case(&name))
    });
    match network::classify(host, network.cluster_domain.as_str()) {
        Place::External if hand_written => {}
        // `<service>.<namespace>.svc.<domain>`: a Service of a cluster with another domain.
        Place::External if name.split('.').skip(2).any(|l| l == "svc") => out.push(
            doc.value_diag(
                codes::AL2040,
                &endpoint.pointer,
                format!("`{host}` looks like an in-cluster Service, but not of the cluster domain `{}`: its egress opens only public addresses", network.cluster_domain),
            )
            .help(format!(
                "if your cluster's DNS domain is another, say which: `network: {{clusterDomain: {}}}`",
                name.split_once(".svc.").map_or("<your cluster domain>", |(_, d)| d)
            )),
        ),
        Place::External if is_private_suffix(&name) => out.push(
            doc.value_diag(
                codes::AL2040,
                &endpoint.pointer,
                format!("`{host}` is a private name: it resolves to an internal address, and its derived egress opens only public ones"),
            )
            .help(format!(
                "a NetworkPolicy cannot name a DNS host: write the network it is in, e.g. `network: {{egress: [{{description: \"{host}\", cidrs: [10.0.0.0/8], ports: [{port}], hosts: [{host}]}}]}}` with its real network"
            )),
        ),
        Place::Service { .. }
            if port < 1024
                && !network
                    .target_ports
                    .iter()
                    .any(|t| t.port == port && t.host.trim_end_matches('.').eq_ignore_ascii_case(&name)) =>
        {
            out.push(
                doc.value_diag(
                    codes::AL2041,
                    &endpoint.pointer,
                    format!("`{host}:{port}` is an in-cluster Service port, and NetworkPolicies match the port its pods listen on, after the Service translated it"),
                )
                .help(format!(
                    "pods rarely listen on a port below 1024 (it needs root or a capability): say which port they listen on, `network: {{targetPorts: [{{host: {host}, port: {port}, targetPort: 8080}}]}}` with their real `containerPort` (the same {port} if it is theirs)"
                )),
            );
        }
        _ => {}
    }
}

/// AL2042: PostgreSQL egress to any address.
fn database(doc: &ConfigDoc<'_>, out: &mut Diagnostics) {
    if let Some(audit) = doc.section_or_default::<Audit>("/audit")
        && audit.backend == AuditBackend::Postgresql
        && audit.database_networks.is_empty()
    {
        out.push(
            doc.value_diag(
                codes::AL2042,
                "/audit/backend",
                "the gateway may reach port 5432 at any address: the database's host comes from a Secret, so its egress cannot be narrowed without its network",
            )
            .help("say where the database is: `audit: {databaseNetworks: [10.0.5.0/24]}` with its real network (for a managed database, its subnet)"),
        );
    }
}

/// AL2043: no client can reach the gateway.
fn clients(doc: &ConfigDoc<'_>, out: &mut Diagnostics) {
    let ingress = doc.section::<Option<Ingress>>("/ingress");
    let namespaces = doc.section::<Option<Vec<DnsLabel>>>("/server/clientNamespaces");
    // An issuer on loopback is a local run (the quickstart): no cluster, no NetworkPolicy.
    let local = doc
        .section::<HttpUrl>("/auth/oidc/issuer")
        .is_some_and(|issuer| issuer.is_loopback());
    if let (Some(ingress), Some(namespaces)) = (ingress, namespaces)
        && !local
        && !ingress.is_some_and(|i| i.enabled)
        && namespaces.is_none_or(|n| n.is_empty())
    {
        out.push(
            doc.value_diag(
                codes::AL2043,
                "/name",
                "nothing can reach the gateway: it has no ingress and no `server.clientNamespaces`, and its NetworkPolicy admits only the listed sources",
            )
            .help("list the namespaces its MCP clients run in, `server: {clientNamespaces: [agents]}`, or enable `ingress` for clients outside the cluster"),
        );
    }
}
