//! `network`: what the egress NetworkPolicy cannot derive from the endpoints alone — the
//! cluster's DNS domain, the pod ports behind Service ports, and destinations no URL names.

use crate::examples as ex;
use crate::types::{DnsSubdomain, IpCidr};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The cluster network, as the egress NetworkPolicy needs to know it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Network {
    /// The cluster's DNS domain. A host `<service>.<namespace>.svc.<clusterDomain>` (also with
    /// a trailing dot) is an in-cluster Service, and its egress a namespace selector.
    #[serde(default = "default_cluster_domain")]
    #[schemars(example = &"cluster.local")]
    pub cluster_domain: DnsSubdomain,
    /// The pod port behind an in-cluster Service port. NetworkPolicies match the destination
    /// pod's port, after the Service translated it: when `http://docs.mcp.svc:80` reaches pods
    /// listening on 8080, egress must open 8080.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(example = ex::target_ports())]
    pub target_ports: Vec<TargetPort>,
    /// Egress beyond what the configuration's endpoints need: internal hosts outside the
    /// cluster (a database on 10.x, an intranet service a stdio tool calls), by network and port.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(example = ex::extra_egress())]
    pub egress: Vec<ExtraEgress>,
}

fn default_cluster_domain() -> DnsSubdomain {
    "cluster.local".parse().expect("built-in domain")
}

impl Default for Network {
    fn default() -> Self {
        Self {
            cluster_domain: default_cluster_domain(),
            target_ports: Vec::new(),
            egress: Vec::new(),
        }
    }
}

/// The port the pods of an in-cluster Service listen on, for one port of a host the
/// configuration names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TargetPort {
    /// The host as written in the URL (`docs.mcp.svc.cluster.local`, `docs.mcp.svc`, `docs`).
    #[schemars(length(min = 1), example = &"docs.mcp.svc.cluster.local")]
    pub host: String,
    /// The Service port, as in the URL (its scheme's default when the URL has none).
    #[schemars(range(min = 1), example = 80)]
    pub port: u16,
    /// The port the Service forwards to: the pods' `containerPort`.
    #[schemars(range(min = 1), example = 8080)]
    pub target_port: u16,
}

/// An egress rule written by hand: TCP to these networks on these ports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExtraEgress {
    /// What it is for, shown in the NetworkPolicy's annotation.
    #[schemars(length(min = 1), example = &"Jira, called by the tickets stdio tool")]
    pub description: String,
    /// The destination networks. The link-local range and cloud metadata addresses are always
    /// excepted.
    #[schemars(length(min = 1), example = ex::list("10.20.0.0/16"))]
    pub cidrs: Vec<IpCidr>,
    /// The destination TCP ports.
    #[schemars(length(min = 1), inner(range(min = 1)), example = ex::https_port())]
    pub ports: Vec<u16>,
    /// Hosts of the configuration this rule is for: their derived rule (public addresses only)
    /// is replaced by this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(example = ex::list("confluence.corp.internal"))]
    pub hosts: Vec<String>,
}
