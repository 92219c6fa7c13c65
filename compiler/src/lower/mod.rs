//! The lower stage: a validated [`Config`] and its compiled policy become the normalized
//! [`Model`] every emitter reads — defaults applied, derived facts (labels, volumes, secret
//! mounts, egress destinations, the frozen runtime config and its hash) computed once, here.

pub mod egress;
mod frozen;
mod secrets;
mod sidecars;

pub use egress::{EgressPeer, EgressRule, NamespacePeer};
pub(crate) use frozen::file_name;
pub use secrets::{SecretMount, SecretSource};
pub use sidecars::{EnvModel, SidecarModel};

use crate::policy::PolicyBundle;
use airlock_schema::Config;
use airlock_schema::config::{AuditBackend, Root, Upstream};
use airlock_schema::pins::ToolLock;
use airlock_schema::runtime::{CONFIG_DIR, FrozenConfig};
use serde::Serialize;
use std::collections::BTreeMap;

/// The annotation carrying the config path an object came from.
pub const SOURCE_ANNOTATION: &str = "airlock.dev/source";
/// The pod-template annotation carrying the frozen config's content hash.
pub const HASH_ANNOTATION: &str = "airlock.dev/config-hash";

/// Everything the emitters need, computed once.
#[derive(Clone, Debug, Serialize)]
pub struct Model {
    pub name: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub selector: BTreeMap<String, String>,
    pub image: ImageModel,
    pub replicas: Option<u32>,
    pub resources: ResourcesModel,
    pub autoscaling: Option<AutoscalingModel>,
    pub pdb: Option<PdbModel>,
    pub security: SecurityModel,
    pub termination_grace_seconds: u64,
    pub recreate: bool,
    pub node_selector: BTreeMap<String, String>,
    pub priority_class_name: Option<String>,
    pub pod_annotations: BTreeMap<String, String>,
    pub port: u16,
    pub metrics: Option<MetricsModel>,
    pub ingress: Option<IngressModel>,
    pub client_namespaces: Vec<String>,
    pub service_account: ServiceAccountModel,
    pub persistence: Option<PvcModel>,
    pub volumes: Vec<VolumeModel>,
    pub secret_mounts: Vec<SecretMount>,
    /// The secret mounts grouped by Secret, for the projected volume.
    pub secret_sources: Vec<SecretSource>,
    pub egress: Vec<EgressRule>,
    /// Containers beside the gateway that run upstream servers.
    pub sidecars: Vec<SidecarModel>,
    /// Sidecars read a Secret through their environment (checkov's reason is written then).
    pub sidecar_secret_env: bool,
    pub alerts: Option<AlertsModel>,
    pub config_hash: String,
    pub config_map_name: String,
    /// ConfigMap data: `airlock.json` and the policy modules by file name.
    pub config_files: BTreeMap<String, String>,
    #[serde(skip)]
    pub frozen: FrozenConfig,
}

#[derive(Clone, Debug, Serialize)]
pub struct ImageModel {
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
    pub pull_policy: String,
    /// `repo:tag@digest`, `repo@digest` or `repo:tag`.
    pub reference: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ResourcesModel {
    pub requests_cpu: String,
    pub requests_memory: String,
    pub limits_cpu: String,
    pub limits_memory: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct AutoscalingModel {
    pub min_replicas: u32,
    pub max_replicas: u32,
    pub cpu: u32,
    pub memory: Option<u32>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PdbModel {
    pub min_available: Option<u32>,
    pub max_unavailable: Option<u32>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SecurityModel {
    pub run_as_user: i64,
    pub run_as_group: i64,
    pub fs_group: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct MetricsModel {
    pub port: u16,
    pub path: String,
    pub prometheus_namespace: String,
    pub service_monitor: Option<ServiceMonitorModel>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ServiceMonitorModel {
    pub namespace: String,
    pub interval: String,
    pub labels: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct IngressModel {
    pub host: String,
    pub class_name: Option<String>,
    /// The path prefixes routed to the gateway.
    pub paths: Vec<String>,
    pub annotations: BTreeMap<String, String>,
    pub controller_namespace: String,
    pub source_cidrs: Vec<String>,
    pub tls_secret: Option<String>,
    pub certificate: Option<CertificateModel>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CertificateModel {
    pub name: String,
    pub issuer_name: String,
    pub issuer_kind: String,
    pub issuer_group: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ServiceAccountModel {
    pub name: String,
    pub create: bool,
    pub annotations: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PvcModel {
    pub name: String,
    pub storage_class: Option<String>,
    pub size: String,
    pub access_mode: String,
}

/// A pod volume and where the container mounts it.
#[derive(Clone, Debug, Serialize)]
pub struct VolumeModel {
    pub name: String,
    pub mount_path: String,
    pub read_only: bool,
    /// `emptyDir`, `pvc`, `configMap` or `secrets`.
    pub kind: String,
    pub claim_name: Option<String>,
    pub size_limit: Option<String>,
    pub source: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct AlertsModel {
    pub error_rate: f64,
    pub p95_latency_seconds: f64,
    pub auth_failure_ratio: f64,
    pub rate_limited_ratio: f64,
    pub policy_denial_ratio: f64,
    pub certificate_expiry_seconds: u64,
    pub runbook_base_url: String,
    pub labels: BTreeMap<String, String>,
    pub namespace: String,
    pub audit_buffer_size: u32,
    /// Whether the replicas share a rate-limit store (its alert is emitted only then).
    pub shared_limits: bool,
    /// Whether tool definitions are pinned (the drift alert is emitted only then).
    pub tool_pinning: bool,
}

/// What the Ingress routes for `ingress.path`: the default `/` means the gateway's public
/// surface — the MCP endpoint (and the paths beneath it) and the protected-resource metadata
/// clients discover the issuer from. The operations endpoints (`/live`, `/ready`, `/info`,
/// `/metrics`, `/admin/...`) stay inside the cluster, where probes, Prometheus and on-call's
/// port-forward reach them. Any other path is routed as written.
fn ingress_paths(path: &str) -> Vec<String> {
    if path == "/" {
        vec![
            "/mcp".into(),
            "/.well-known/oauth-protected-resource".into(),
        ]
    } else {
        vec![path.to_string()]
    }
}

/// Lowers a valid configuration and its compiled policy. `policy_files` are the policy
/// modules as (file name, source), in the order they were compiled.
pub fn lower(config: &Config, policy: &PolicyBundle, tools: Option<&ToolLock>) -> Model {
    let name = config.name.to_string();
    let namespace = config.effective_namespace().to_string();
    let selector = BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), "airlock".to_string()),
        ("app.kubernetes.io/instance".to_string(), name.clone()),
    ]);
    let mut labels = selector.clone();
    labels.insert("app.kubernetes.io/component".into(), "gateway".into());
    labels.insert("app.kubernetes.io/managed-by".into(), "airlockc".into());
    if let Some(version) = config.image.tag.as_ref().filter(|t| t.len() <= 63) {
        labels.insert("app.kubernetes.io/version".into(), version.clone());
    }
    let image = image(config);
    let sqlite = config.audit.backend == AuditBackend::Sqlite;
    let persistence = (sqlite && config.persistence.enabled).then(|| PvcModel {
        name: format!("{name}-audit"),
        storage_class: config
            .persistence
            .storage_class
            .as_ref()
            .map(ToString::to_string),
        size: config.persistence.size.to_string(),
        access_mode: format!("{:?}", config.persistence.access_mode),
    });
    let secret_mounts = secrets::mounts(config);
    let volumes = volumes(config, &name, persistence.as_ref(), &secret_mounts);
    let sidecars = sidecars::sidecars(config, &volumes);
    let frozen = frozen::freeze(config, policy, tools);
    let config_hash = frozen.content_hash.clone();
    let mut config_files = BTreeMap::new();
    config_files.insert("airlock.json".to_string(), frozen::pretty(&frozen));
    for module in &frozen.policy.modules {
        config_files.insert(module.path.clone(), module.source.clone());
    }
    let deployment = &config.deployment;
    let autoscaling = deployment.autoscaling.enabled.then(|| AutoscalingModel {
        min_replicas: deployment
            .autoscaling
            .min_replicas
            .unwrap_or(deployment.replicas),
        max_replicas: deployment.autoscaling.max_replicas,
        cpu: deployment.autoscaling.target_cpu_utilization_percentage,
        memory: deployment.autoscaling.target_memory_utilization_percentage,
    });
    let pdb = deployment.pod_disruption_budget.enabled.then(|| {
        let budget = &deployment.pod_disruption_budget;
        PdbModel {
            min_available: budget.min_available,
            max_unavailable: if budget.min_available.is_none() {
                Some(budget.max_unavailable.unwrap_or(1))
            } else {
                None
            },
        }
    });
    let metrics = config.observability.metrics.enabled.then(|| MetricsModel {
        port: config.observability.metrics.port,
        path: config.observability.metrics.path.clone(),
        prometheus_namespace: config
            .observability
            .metrics
            .prometheus_namespace
            .to_string(),
        service_monitor: config
            .observability
            .metrics
            .service_monitor
            .enabled
            .then(|| ServiceMonitorModel {
                namespace: config
                    .observability
                    .metrics
                    .service_monitor
                    .namespace
                    .as_ref()
                    .map_or_else(|| namespace.clone(), ToString::to_string),
                interval: format!(
                    "{}s",
                    config
                        .observability
                        .metrics
                        .service_monitor
                        .interval
                        .as_secs()
                        .max(1)
                ),
                labels: config.observability.metrics.service_monitor.labels.clone(),
            }),
    });
    let ingress = config.ingress.as_ref().filter(|i| i.enabled).map(|i| {
        let tls_secret = i.tls.as_ref().map(|t| {
            t.secret_name
                .as_ref()
                .map_or_else(|| format!("{name}-tls"), ToString::to_string)
        });
        IngressModel {
            host: i.host.clone(),
            class_name: i.class_name.as_ref().map(ToString::to_string),
            paths: ingress_paths(&i.path),
            annotations: i.annotations.clone(),
            controller_namespace: i.controller_namespace.to_string(),
            source_cidrs: i.source_cidrs.iter().map(ToString::to_string).collect(),
            certificate: i
                .tls
                .as_ref()
                .and_then(|t| t.issuer_ref.as_ref())
                .map(|issuer| CertificateModel {
                    name: tls_secret.clone().unwrap_or_default(),
                    issuer_name: issuer.name.clone(),
                    issuer_kind: format!("{:?}", issuer.kind),
                    issuer_group: issuer.group.clone(),
                }),
            tls_secret,
        }
    });
    let alerts_config = &config.observability.alerts;
    let alerts = (alerts_config.enabled
        && metrics
            .as_ref()
            .is_some_and(|m| m.service_monitor.is_some()))
    .then(|| AlertsModel {
        error_rate: alerts_config.error_rate,
        p95_latency_seconds: alerts_config.p95_latency.as_secs_f64(),
        auth_failure_ratio: alerts_config.auth_failure_ratio,
        rate_limited_ratio: alerts_config.rate_limited_ratio,
        policy_denial_ratio: alerts_config.policy_denial_ratio,
        certificate_expiry_seconds: alerts_config.certificate_expiry.as_secs(),
        runbook_base_url: alerts_config.runbook_base_url.to_string(),
        labels: alerts_config.labels.clone(),
        audit_buffer_size: config.audit.buffer_size,
        shared_limits: config.rate_limiting.store.is_some(),
        tool_pinning: config.tool_pinning.is_some(),
        namespace: metrics
            .as_ref()
            .and_then(|m| m.service_monitor.as_ref())
            .map(|s| s.namespace.clone())
            .unwrap_or_else(|| namespace.clone()),
    });
    Model {
        labels,
        selector,
        image,
        replicas: (!deployment.autoscaling.enabled).then_some(deployment.replicas),
        resources: ResourcesModel {
            requests_cpu: deployment.resources.requests.cpu.to_string(),
            requests_memory: deployment.resources.requests.memory.to_string(),
            limits_cpu: deployment.resources.limits.cpu.to_string(),
            limits_memory: deployment.resources.limits.memory.to_string(),
        },
        autoscaling,
        pdb,
        security: SecurityModel {
            run_as_user: deployment.security_context.run_as_user,
            run_as_group: deployment.security_context.run_as_group,
            fs_group: deployment.security_context.fs_group,
        },
        termination_grace_seconds: deployment.termination_grace_period.as_secs().max(1),
        recreate: persistence.is_some(),
        node_selector: deployment.node_selector.clone(),
        priority_class_name: deployment
            .priority_class_name
            .as_ref()
            .map(ToString::to_string),
        pod_annotations: deployment.pod_annotations.clone(),
        port: config.server.port,
        metrics,
        ingress,
        client_namespaces: config
            .server
            .client_namespaces
            .iter()
            .map(ToString::to_string)
            .collect(),
        service_account: ServiceAccountModel {
            name: config
                .service_account
                .name
                .as_ref()
                .map_or_else(|| name.clone(), ToString::to_string),
            create: config.service_account.create,
            annotations: config.service_account.annotations.clone(),
        },
        persistence,
        volumes,
        secret_sources: secrets::group(&secret_mounts),
        secret_mounts,
        egress: egress::derive(config).0,
        sidecar_secret_env: sidecars
            .iter()
            .any(|s| s.env.iter().any(|e| e.secret.is_some())),
        sidecars,
        alerts,
        config_hash,
        config_map_name: format!("{name}-config"),
        config_files,
        frozen,
        name,
        namespace,
    }
}

fn image(config: &Config) -> ImageModel {
    let image = &config.image;
    let digest = image.digest.as_ref().map(|d| d.to_string());
    let reference = match (&image.tag, &digest) {
        (Some(tag), Some(digest)) => format!("{}:{tag}@{digest}", image.repository),
        (None, Some(digest)) => format!("{}@{digest}", image.repository),
        (Some(tag), None) => format!("{}:{tag}", image.repository),
        (None, None) => image.repository.clone(),
    };
    ImageModel {
        repository: image.repository.clone(),
        tag: image.tag.clone(),
        digest,
        pull_policy: format!("{:?}", image.pull_policy),
        reference,
    }
}

/// The pod's volumes: /tmp, the config, the audit store, secrets, roots and socket directories.
fn volumes(
    config: &Config,
    name: &str,
    pvc: Option<&PvcModel>,
    secrets: &[SecretMount],
) -> Vec<VolumeModel> {
    let volume = |name: &str, mount_path: &str, kind: &str, source: &str| VolumeModel {
        name: name.into(),
        mount_path: mount_path.into(),
        read_only: false,
        kind: kind.into(),
        claim_name: None,
        size_limit: None,
        source: source.into(),
    };
    let mut volumes = vec![
        VolumeModel {
            size_limit: Some("64Mi".into()),
            ..volume("tmp", "/tmp", "emptyDir", "/deployment")
        },
        VolumeModel {
            read_only: true,
            ..volume("config", CONFIG_DIR, "configMap", "/policy")
        },
    ];
    if config.audit.backend == AuditBackend::Sqlite {
        let dir = parent_dir(&config.audit.sqlite.path);
        volumes.push(match pvc {
            Some(pvc) => VolumeModel {
                claim_name: Some(pvc.name.clone()),
                ..volume("audit", &dir, "pvc", "/persistence")
            },
            None => VolumeModel {
                size_limit: Some("1Gi".into()),
                ..volume("audit", &dir, "emptyDir", "/audit/sqlite")
            },
        });
    }
    if !secrets.is_empty() {
        volumes.push(VolumeModel {
            read_only: true,
            ..volume(
                "secrets",
                airlock_schema::runtime::SECRETS_DIR,
                "secrets",
                "/",
            )
        });
    }
    for (index, root) in config.roots.iter().enumerate() {
        if let Root::Fs(fs) = root
            && let Some(claim) = &fs.volume
        {
            volumes.push(VolumeModel {
                read_only: fs.read_only,
                claim_name: Some(claim.claim_name.clone()),
                ..volume(
                    &format!("root-{}", fs.name),
                    &fs.real,
                    "pvc",
                    &format!("/roots/{index}"),
                )
            });
        }
    }
    let mut socket_dirs: Vec<(String, usize)> = Vec::new();
    for (index, upstream) in config.upstreams.iter().enumerate() {
        if let Upstream::Unix(unix) = upstream {
            let dir = parent_dir(&unix.socket);
            if !socket_dirs.iter().any(|(d, _)| *d == dir) {
                socket_dirs.push((dir, index));
            }
        }
    }
    for (n, (dir, index)) in socket_dirs.iter().enumerate() {
        volumes.push(VolumeModel {
            size_limit: Some("1Mi".into()),
            ..volume(
                &format!("sockets-{n}"),
                dir,
                "emptyDir",
                &format!("/upstreams/{index}/socket"),
            )
        });
    }
    let _ = name;
    volumes
}

fn parent_dir(path: &str) -> String {
    match path.rfind('/') {
        Some(0) | None => "/".into(),
        Some(i) => path[..i].to_string(),
    }
}
