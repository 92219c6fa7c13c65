//! Where a host is, as both sides of the contract judge it: the compiler's checks and its egress
//! derivation, and the runtime.
//!
//! - Addresses no endpoint may name: cloud instance-metadata services and link-local ranges. A
//!   request that reaches one from inside a pod can read the node's cloud credentials (SSRF), so
//!   `airlockc` refuses them as the host of every endpoint in `airlock.yaml` (AL2039), and the
//!   egress it derives never opens them. Loopback is not on the list: a sidecar upstream on
//!   `localhost` and a local run of the gateway are legitimate.
//! - [`classify`]: loopback, an address, an in-cluster Service (given the cluster's DNS domain,
//!   with or without the trailing dot), or a host outside the cluster.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an endpoint's host is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forbidden {
    /// A cloud provider's metadata service, by address or by name.
    Metadata(&'static str),
    /// An IPv4 (169.254.0.0/16) or IPv6 (fe80::/10) link-local address, where metadata services
    /// and other node-local endpoints live.
    LinkLocal,
}

impl fmt::Display for Forbidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Forbidden::Metadata(service) => write!(f, "the address of {service}"),
            Forbidden::LinkLocal => f.write_str(
                "a link-local address (169.254.0.0/16 or fe80::/10), where cloud metadata services live",
            ),
        }
    }
}

/// Metadata services by address.
pub const METADATA_ADDRESSES: [(IpAddr, &str); 6] = [
    (
        IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
        "the cloud instance metadata service (AWS, Google Cloud, Azure, Oracle, OpenStack, DigitalOcean)",
    ),
    (
        IpAddr::V4(Ipv4Addr::new(169, 254, 170, 2)),
        "the Amazon ECS task metadata and credentials endpoint",
    ),
    (
        IpAddr::V4(Ipv4Addr::new(169, 254, 170, 23)),
        "the Amazon EKS Pod Identity credentials endpoint",
    ),
    (
        IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
        "the AWS instance metadata service (IPv6)",
    ),
    (
        IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23)),
        "the Amazon EKS Pod Identity credentials endpoint (IPv6)",
    ),
    (
        IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
        "the Alibaba Cloud metadata service",
    ),
];

/// Metadata services by DNS name (compared without case and without a trailing dot).
pub const METADATA_NAMES: [(&str, &str); 3] = [
    (
        "metadata.google.internal",
        "the Google Cloud metadata service",
    ),
    ("metadata.goog", "the Google Cloud metadata service"),
    (
        "instance-data.ec2.internal",
        "the AWS instance metadata service",
    ),
];

/// The networks egress derived by `airlockc` always excepts from a broad `ipBlock`: the
/// link-local range and the metadata addresses outside it. (The public-only block excepts
/// them too: they lie in its private, link-local and carrier-grade NAT ranges.)
pub const METADATA_EXCEPT_V4: [&str; 2] = ["169.254.0.0/16", "100.100.100.200/32"];

/// The same for IPv6 networks.
pub const METADATA_EXCEPT_V6: [&str; 3] = ["fe80::/10", "fd00:ec2::254/128", "fd00:ec2::23/128"];

/// Where a host is, as far as a NetworkPolicy can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// `localhost`, 127.0.0.0/8, `::1`: inside the pod.
    Loopback,
    /// A metadata service or a link-local address: never reached.
    Forbidden(Forbidden),
    /// An IP address.
    Address(IpAddr),
    /// An in-cluster Service: `name` or `name.svc` (the own namespace, `namespace: None`),
    /// `name.ns.svc` or `name.ns.svc.<cluster domain>`.
    Service { namespace: Option<String> },
    /// A DNS name outside the cluster.
    External,
}

/// Where `host` (as in a URL: a name, an IPv4 address or a bracketed IPv6 address) is, in a
/// cluster whose DNS domain is `cluster_domain`.
pub fn classify(host: &str, cluster_domain: &str) -> Place {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return match forbidden_ip(ip) {
            Some(forbidden) => Place::Forbidden(forbidden),
            None if ip.to_canonical().is_loopback() => Place::Loopback,
            None => Place::Address(ip),
        };
    }
    if let Some(forbidden) = forbidden_host(bare) {
        return Place::Forbidden(forbidden);
    }
    let name = bare.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return Place::Loopback;
    }
    let labels: Vec<&str> = name.split('.').collect();
    let domain: Vec<&str> = cluster_domain.trim_end_matches('.').split('.').collect();
    if labels.len() == 1 {
        return Place::Service { namespace: None };
    }
    match labels.iter().position(|l| *l == "svc") {
        Some(svc) if svc >= 1 && (svc + 1 == labels.len() || labels[svc + 1..] == domain[..]) => {
            Place::Service {
                namespace: (svc >= 2).then(|| labels[svc - 1].to_string()),
            }
        }
        _ => Place::External,
    }
}

/// DNS suffixes reserved or customary for private networks: a name under one is never public.
pub const PRIVATE_SUFFIXES: [&str; 8] = [
    "internal",
    "local",
    "corp",
    "lan",
    "intranet",
    "private",
    "home.arpa",
    "localdomain",
];

/// Whether `name` ends in a private-network suffix (`confluence.corp.internal`), so it resolves
/// to a private address a public-only egress rule does not open.
pub fn is_private_suffix(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    PRIVATE_SUFFIXES
        .iter()
        .any(|s| name == *s || name.ends_with(&format!(".{s}")))
}

/// Whether `ip` may not be an endpoint. IPv4-mapped (`::ffff:a.b.c.d`) and NAT64
/// (`64:ff9b::a.b.c.d`) forms are judged by the IPv4 address they carry.
pub fn forbidden_ip(ip: IpAddr) -> Option<Forbidden> {
    let ip = match ip.to_canonical() {
        IpAddr::V6(v6) if v6.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0] => {
            let [.., a, b, c, d] = v6.octets();
            IpAddr::V4(Ipv4Addr::new(a, b, c, d))
        }
        other => other,
    };
    if let Some((_, service)) = METADATA_ADDRESSES.iter().find(|(a, _)| *a == ip) {
        return Some(Forbidden::Metadata(service));
    }
    let link_local = match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    };
    link_local.then_some(Forbidden::LinkLocal)
}

/// Whether a URL's host (a name, an IPv4 address, or an IPv6 address with or without brackets)
/// may not be an endpoint.
pub fn forbidden_host(host: &str) -> Option<Forbidden> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return forbidden_ip(ip);
    }
    let name = bare.trim_end_matches('.').to_ascii_lowercase();
    METADATA_NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, service)| Forbidden::Metadata(service))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places() {
        let ns = |n: &str| Place::Service {
            namespace: Some(n.into()),
        };
        let own = Place::Service { namespace: None };
        assert_eq!(
            classify("docs.mcp.svc.cluster.local", "cluster.local"),
            ns("mcp")
        );
        assert_eq!(
            classify("docs.mcp.svc.cluster.local.", "cluster.local"),
            ns("mcp")
        );
        assert_eq!(classify("docs.mcp.svc.k8s.corp", "k8s.corp"), ns("mcp"));
        assert_eq!(classify("docs.mcp.svc.k8s.corp.", "k8s.corp."), ns("mcp"));
        assert_eq!(
            classify("docs.mcp.svc.k8s.corp", "cluster.local"),
            Place::External
        );
        assert_eq!(classify("docs.mcp.svc", "cluster.local"), ns("mcp"));
        assert_eq!(classify("docs.svc", "cluster.local"), own);
        assert_eq!(classify("docs", "cluster.local"), own);
        assert_eq!(
            classify("idp.example.com", "cluster.local"),
            Place::External
        );
        assert_eq!(classify("localhost.", "cluster.local"), Place::Loopback);
        assert_eq!(classify("[::1]", "cluster.local"), Place::Loopback);
        assert_eq!(
            classify("10.1.2.3", "cluster.local"),
            Place::Address("10.1.2.3".parse().unwrap())
        );
        assert!(matches!(
            classify("169.254.169.254", "cluster.local"),
            Place::Forbidden(_)
        ));
        assert!(
            is_private_suffix("confluence.corp.internal") && is_private_suffix("nas.home.arpa.")
        );
        assert!(
            !is_private_suffix("api.example.com") && !is_private_suffix("internal.example.com")
        );
    }

    #[test]
    fn metadata_and_link_local_are_forbidden() {
        for host in [
            "169.254.169.254",
            "169.254.170.2",
            "[fd00:ec2::254]",
            "100.100.100.200",
            "metadata.google.internal",
            "Metadata.Google.Internal.",
            "[::ffff:169.254.169.254]",
            "[64:ff9b::a9fe:a9fe]",
        ] {
            assert!(
                matches!(forbidden_host(host), Some(Forbidden::Metadata(_))),
                "{host}"
            );
        }
        for host in [
            "169.254.1.1",
            "[fe80::1]",
            "[febf::1]",
            "[::ffff:169.254.0.9]",
        ] {
            assert_eq!(forbidden_host(host), Some(Forbidden::LinkLocal), "{host}");
        }
        for host in [
            "127.0.0.1",
            "localhost",
            "[::1]",
            "10.0.0.1",
            "100.100.100.201",
            "idp.example.com",
            "metadata",
            "[fec0::1]",
        ] {
            assert_eq!(forbidden_host(host), None, "{host}");
        }
    }
}
