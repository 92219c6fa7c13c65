//! `ingress`: the external entry point, its TLS certificate and who may reach the pods.

use crate::examples as ex;
use crate::types::{DnsLabel, DnsSubdomain, IpCidr};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An Ingress in front of the gateway's Service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Ingress {
    /// Create the Ingress. `false` keeps the section for later without emitting it.
    #[serde(default = "crate::examples::yes")]
    #[schemars(example = true)]
    pub enabled: bool,
    /// The public host name clients use.
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$"), example = &"mcp-airlock.example.com")]
    pub host: String,
    /// The IngressClass that serves this Ingress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"nginx")]
    pub class_name: Option<DnsSubdomain>,
    /// The URL path routed to the gateway. The default `/` routes the gateway's public surface
    /// only: `/mcp` (with the paths beneath it) and `/.well-known/oauth-protected-resource`;
    /// the operations endpoints (`/live`, `/ready`, `/info`, `/metrics`, `/admin/...`) stay
    /// inside the cluster. Any other path is routed as written, unchanged (AL2035 warns: the
    /// gateway serves MCP at `/mcp` only, so a prefix needs the controller's rewrite annotation).
    #[serde(default = "default_path")]
    #[schemars(regex(pattern = r"^/"), example = &"/")]
    pub path: String,
    /// Annotations for the ingress controller (e.g. ALB scheme and target type). Keys are
    /// Kubernetes annotation keys: `[prefix/]name`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(example = ex::ingress_annotations())]
    #[schemars(extend("propertyNames" = {"pattern": crate::types::QUALIFIED_NAME}))]
    pub annotations: BTreeMap<String, String>,
    /// The namespace of the ingress controller's pods: the only source the NetworkPolicy admits.
    #[serde(default = "default_controller_namespace")]
    #[schemars(example = &"ingress-nginx")]
    pub controller_namespace: DnsLabel,
    /// Extra sources admitted to the gateway port, as CIDRs: for load balancers that send traffic
    /// straight to pod IPs (AWS ALB with `target-type: ip`) instead of through the controller's pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(example = ex::list("10.0.0.0/16"))]
    pub source_cidrs: Vec<IpCidr>,
    /// TLS for the host. With `issuerRef`, cert-manager issues the certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = ex::tls())]
    pub tls: Option<Tls>,
}

fn default_path() -> String {
    "/".into()
}
fn default_controller_namespace() -> DnsLabel {
    "ingress-nginx".parse().expect("a valid label")
}

/// TLS termination at the ingress.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Tls {
    /// The Secret holding the certificate and key. Defaults to `<name>-tls`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"airlock-tls")]
    pub secret_name: Option<DnsSubdomain>,
    /// The cert-manager issuer. When set, a Certificate is emitted and renewed automatically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = ex::issuer_ref())]
    pub issuer_ref: Option<IssuerRef>,
}

/// A cert-manager issuer reference.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IssuerRef {
    /// The Issuer or ClusterIssuer name.
    #[schemars(length(min = 1), example = &"letsencrypt-prod")]
    pub name: String,
    /// `Issuer` (namespaced) or `ClusterIssuer`.
    #[serde(default)]
    #[schemars(example = &"ClusterIssuer")]
    pub kind: IssuerKind,
    /// The API group of the issuer.
    #[serde(default = "default_issuer_group")]
    #[schemars(example = &"cert-manager.io")]
    pub group: String,
}

fn default_issuer_group() -> String {
    "cert-manager.io".into()
}

/// The kind of a cert-manager issuer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum IssuerKind {
    #[default]
    ClusterIssuer,
    Issuer,
}
