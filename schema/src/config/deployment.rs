//! `image`, `deployment`, `persistence` and `serviceAccount`: how the pod runs.

use crate::examples as ex;
use crate::types::{DnsSubdomain, Duration, ImageDigest, Quantity};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The runtime container image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Image {
    /// The image repository, without tag or digest.
    #[schemars(length(min = 1), regex(pattern = r"^[a-z0-9]+([._/:-][a-z0-9]+)*$"), example = &"ghcr.io/acme/airlock")]
    pub repository: String,
    /// A human-readable tag. With a digest, the digest wins; without one, a warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"), example = &"v1.0.0")]
    pub tag: Option<String>,
    /// The image digest the pods run: immutable, so what was reviewed is what runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"sha256:4b2c1e0d9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c")]
    pub digest: Option<ImageDigest>,
    /// When the kubelet pulls the image.
    #[serde(default)]
    #[schemars(example = &"IfNotPresent")]
    pub pull_policy: PullPolicy,
}

/// Kubernetes image pull policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PullPolicy {
    #[default]
    IfNotPresent,
    Always,
    Never,
}

/// How the gateway's pods are scheduled and sized.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Deployment {
    /// The number of pods when autoscaling is off (the HPA's floor when it is on). More than one
    /// needs `audit.backend: postgresql`.
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 1, max = 1000), example = 3)]
    pub replicas: u32,
    /// CPU and memory requests and limits of the gateway container.
    #[serde(default)]
    #[schemars(example = ex::resources())]
    pub resources: Resources,
    /// A HorizontalPodAutoscaler on CPU and memory.
    #[serde(default)]
    #[schemars(example = ex::autoscaling())]
    pub autoscaling: Autoscaling,
    /// A PodDisruptionBudget so voluntary disruptions keep enough pods serving.
    #[serde(default)]
    #[schemars(example = ex::pdb())]
    pub pod_disruption_budget: PodDisruptionBudget,
    /// The few security-context settings that may be changed safely. The rest is fixed: non-root,
    /// read-only root filesystem, no privilege escalation, ALL capabilities dropped, seccomp RuntimeDefault.
    #[serde(default)]
    #[schemars(example = ex::security_context())]
    pub security_context: SecurityContext,
    /// How long a pod may take to finish in-flight requests after SIGTERM.
    #[serde(default = "default_grace")]
    #[schemars(example = &"30s")]
    pub termination_grace_period: Duration,
    /// Node labels the pods must run on (Kubernetes label keys and values).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(example = ex::node_selector())]
    #[schemars(extend("propertyNames" = {"pattern": crate::types::QUALIFIED_NAME}, "additionalProperties" = {"type": "string", "pattern": crate::types::LABEL_VALUE, "description": "A Kubernetes label value: at most 63 letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit, or empty."}))]
    pub node_selector: BTreeMap<String, String>,
    /// The PriorityClass of the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"system-cluster-critical")]
    pub priority_class_name: Option<DnsSubdomain>,
    /// Extra annotations on the pods (e.g. for a service mesh). Keys are Kubernetes annotation
    /// keys: `[prefix/]name`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(example = ex::pod_annotations())]
    #[schemars(extend("propertyNames" = {"pattern": crate::types::QUALIFIED_NAME}))]
    pub pod_annotations: BTreeMap<String, String>,
}

fn default_replicas() -> u32 {
    1
}
fn default_grace() -> Duration {
    Duration::from_secs(30)
}

impl Default for Deployment {
    fn default() -> Self {
        Self {
            replicas: default_replicas(),
            resources: Resources::default(),
            autoscaling: Autoscaling::default(),
            pod_disruption_budget: PodDisruptionBudget::default(),
            security_context: SecurityContext::default(),
            termination_grace_period: default_grace(),
            node_selector: BTreeMap::new(),
            priority_class_name: None,
            pod_annotations: BTreeMap::new(),
        }
    }
}

/// Requests and limits for CPU and memory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Resources {
    /// What the scheduler reserves for each pod.
    #[serde(default = "default_requests")]
    #[schemars(example = ex::resource_list("100m", "128Mi"))]
    pub requests: ResourceList,
    /// The most each pod may use.
    #[serde(default = "default_limits")]
    #[schemars(example = ex::resource_list("1", "512Mi"))]
    pub limits: ResourceList,
}

impl Default for Resources {
    fn default() -> Self {
        Self {
            requests: default_requests(),
            limits: default_limits(),
        }
    }
}

fn quantity(text: &str) -> Quantity {
    text.parse().expect("built-in quantity")
}
fn default_requests() -> ResourceList {
    ResourceList {
        cpu: quantity("100m"),
        memory: quantity("128Mi"),
    }
}
fn default_limits() -> ResourceList {
    ResourceList {
        cpu: quantity("1"),
        memory: quantity("512Mi"),
    }
}

/// A CPU and memory amount.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourceList {
    /// CPU in cores or millicores.
    #[schemars(example = &"500m")]
    pub cpu: Quantity,
    /// Memory in bytes, usually with a binary suffix.
    #[schemars(example = &"512Mi")]
    pub memory: Quantity,
}

/// A HorizontalPodAutoscaler (autoscaling/v2) on CPU and memory utilisation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Autoscaling {
    /// Create the HorizontalPodAutoscaler.
    #[serde(default)]
    #[schemars(example = true)]
    pub enabled: bool,
    /// The fewest pods. Defaults to `deployment.replicas`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1), example = 3)]
    pub min_replicas: Option<u32>,
    /// The most pods.
    #[serde(default = "default_max_replicas")]
    #[schemars(range(min = 1, max = 1000), example = 10)]
    pub max_replicas: u32,
    /// Target average CPU utilisation, in percent of the request.
    #[serde(
        default = "default_cpu_target",
        rename = "targetCPUUtilizationPercentage"
    )]
    #[schemars(range(min = 1, max = 100), example = 70)]
    pub target_cpu_utilization_percentage: u32,
    /// Target average memory utilisation, in percent of the request. Omit to scale on CPU only.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "targetMemoryUtilizationPercentage"
    )]
    #[schemars(range(min = 1, max = 100), example = 80)]
    pub target_memory_utilization_percentage: Option<u32>,
}

fn default_max_replicas() -> u32 {
    10
}
fn default_cpu_target() -> u32 {
    70
}

impl Default for Autoscaling {
    fn default() -> Self {
        Self {
            enabled: false,
            min_replicas: None,
            max_replicas: default_max_replicas(),
            target_cpu_utilization_percentage: default_cpu_target(),
            target_memory_utilization_percentage: None,
        }
    }
}

/// A PodDisruptionBudget. Give `minAvailable` or `maxUnavailable`, not both.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodDisruptionBudget {
    /// Create the PodDisruptionBudget.
    #[serde(default = "crate::examples::yes")]
    #[schemars(example = true)]
    pub enabled: bool,
    /// Pods that must stay available during voluntary disruptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0), example = 2)]
    pub min_available: Option<u32>,
    /// Pods that may be unavailable during voluntary disruptions. The default when neither is given: 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1), example = 1)]
    pub max_unavailable: Option<u32>,
}

impl Default for PodDisruptionBudget {
    fn default() -> Self {
        Self {
            enabled: true,
            min_available: None,
            max_unavailable: None,
        }
    }
}

/// Security-context overrides. Only the user and group IDs may change (never to root); the
/// other keys exist so values copied from a Helm chart validate, and accept only the safe value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecurityContext {
    /// The UID the container runs as. Never 0.
    #[serde(default = "default_uid")]
    #[schemars(range(min = 1, max = 2147483647), example = 65532)]
    pub run_as_user: i64,
    /// The primary GID of the container. Never 0.
    #[serde(default = "default_uid")]
    #[schemars(range(min = 1, max = 2147483647), example = 65532)]
    pub run_as_group: i64,
    /// The GID that owns mounted volumes (the audit database). Never 0.
    #[serde(default = "default_uid")]
    #[schemars(range(min = 1, max = 2147483647), example = 65532)]
    pub fs_group: i64,
    /// Always `true`: the container never runs as root.
    #[serde(default = "crate::examples::yes")]
    #[schemars(extend("const" = true), example = true)]
    pub run_as_non_root: bool,
    /// Always `true`: the root filesystem is read-only (`/tmp` is an emptyDir).
    #[serde(default = "crate::examples::yes")]
    #[schemars(extend("const" = true), example = true)]
    pub read_only_root_filesystem: bool,
    /// Always `false`: no process may gain more privileges than its parent.
    #[serde(default)]
    #[schemars(extend("const" = false), example = false)]
    pub allow_privilege_escalation: bool,
    /// Always `{type: RuntimeDefault}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = ex::seccomp())]
    pub seccomp_profile: Option<SeccompProfile>,
    /// Always `{drop: [ALL]}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = ex::capabilities())]
    pub capabilities: Option<Capabilities>,
}

fn default_uid() -> i64 {
    65532
}

impl Default for SecurityContext {
    fn default() -> Self {
        Self {
            run_as_user: default_uid(),
            run_as_group: default_uid(),
            fs_group: default_uid(),
            run_as_non_root: true,
            read_only_root_filesystem: true,
            allow_privilege_escalation: false,
            seccomp_profile: None,
            capabilities: None,
        }
    }
}

/// The seccomp profile. Only `RuntimeDefault` is accepted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SeccompProfile {
    /// Always `RuntimeDefault`.
    #[serde(rename = "type")]
    #[schemars(extend("const" = "RuntimeDefault"), example = &"RuntimeDefault")]
    pub kind: String,
}

/// Linux capabilities. Only dropping `ALL` is accepted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Capabilities {
    /// Always `[ALL]`.
    #[schemars(extend("const" = ["ALL"]), example = ex::list("ALL"))]
    pub drop: Vec<String>,
}

/// The volume behind the SQLite audit database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Persistence {
    /// Create a PersistentVolumeClaim for the audit database. Without it the SQLite audit trail
    /// lives in an emptyDir and is lost when the pod goes.
    #[serde(default = "crate::examples::yes")]
    #[schemars(example = true)]
    pub enabled: bool,
    /// The StorageClass of the claim. Omit for the cluster default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"gp3")]
    pub storage_class: Option<DnsSubdomain>,
    /// The size of the claim.
    #[serde(default = "default_size")]
    #[schemars(example = &"100Gi")]
    pub size: Quantity,
    /// The access mode of the claim.
    #[serde(default)]
    #[schemars(example = &"ReadWriteOnce")]
    pub access_mode: AccessMode,
}

fn default_size() -> Quantity {
    quantity("10Gi")
}

impl Default for Persistence {
    fn default() -> Self {
        Self {
            enabled: true,
            storage_class: None,
            size: default_size(),
            access_mode: AccessMode::default(),
        }
    }
}

/// A PersistentVolumeClaim access mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AccessMode {
    #[default]
    ReadWriteOnce,
    ReadWriteOncePod,
    ReadWriteMany,
}

/// The pod's ServiceAccount. Its API token is never mounted: the gateway does not talk to the
/// Kubernetes API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceAccount {
    /// Create the ServiceAccount (otherwise one named `name` must exist).
    #[serde(default = "crate::examples::yes")]
    #[schemars(example = true)]
    pub create: bool,
    /// The ServiceAccount's name. Defaults to the deployment's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"mcp-airlock")]
    pub name: Option<DnsSubdomain>,
    /// Annotations, e.g. `eks.amazonaws.com/role-arn` for IAM Roles for Service Accounts. Keys are
    /// Kubernetes annotation keys: `[prefix/]name`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(example = ex::irsa())]
    #[schemars(extend("propertyNames" = {"pattern": crate::types::QUALIFIED_NAME}))]
    pub annotations: BTreeMap<String, String>,
}

impl Default for ServiceAccount {
    fn default() -> Self {
        Self {
            create: true,
            name: None,
            annotations: BTreeMap::new(),
        }
    }
}
