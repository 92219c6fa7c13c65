//! Sidecar upstreams: each declared `sidecar` becomes a container of the gateway's pod, run as
//! a Kubernetes sidecar (an init container that keeps running), with the gateway's hardening, a
//! `/tmp` of its own, and only the socket directory of its upstream shared with the gateway.

use super::VolumeModel;
use airlock_schema::Config;
use airlock_schema::config::Upstream;
use airlock_schema::types::EnvValue;
use serde::Serialize;

/// One sidecar container.
#[derive(Clone, Debug, Serialize)]
pub struct SidecarModel {
    /// The upstream's name (airlockc refuses `airlock`, the gateway's).
    pub name: String,
    pub image: String,
    pub pull_policy: String,
    pub command: Vec<String>,
    pub args: Vec<String>,
    pub env: Vec<EnvModel>,
    pub requests_cpu: String,
    pub requests_memory: String,
    pub limits_cpu: String,
    pub limits_memory: String,
    /// Its own `/tmp` (an emptyDir named `sidecar-tmp-<n>`).
    pub tmp_volume: String,
    /// The gateway's volume holding the upstream's socket.
    pub socket_volume: Option<SocketMount>,
    /// The config path it came from.
    pub source: String,
}

/// The socket directory a sidecar shares with the gateway.
#[derive(Clone, Debug, Serialize)]
pub struct SocketMount {
    pub volume: String,
    pub path: String,
}

/// An environment variable: a literal, or a Secret key the kubelet reads.
#[derive(Clone, Debug, Serialize)]
pub struct EnvModel {
    pub name: String,
    pub value: Option<String>,
    pub secret: Option<SecretKeyModel>,
}

/// A Secret key.
#[derive(Clone, Debug, Serialize)]
pub struct SecretKeyModel {
    pub name: String,
    pub key: String,
}

/// The sidecars of the configuration, in upstream order. `volumes` are the gateway's, among
/// them the socket directories.
pub fn sidecars(config: &Config, volumes: &[VolumeModel]) -> Vec<SidecarModel> {
    let mut out = Vec::new();
    for (index, upstream) in config.upstreams.iter().enumerate() {
        let Some(sidecar) = upstream.sidecar() else {
            continue;
        };
        let name = upstream.name().to_string();
        // No probes: the kubelet probes the pod's IP, where a server bound to loopback or a
        // socket does not answer; the gateway's own health check of the upstream watches it.
        let socket_volume = match upstream {
            Upstream::Unix(unix) => {
                let dir = super::parent_dir(&unix.socket);
                volumes
                    .iter()
                    .find(|v| v.kind == "emptyDir" && v.mount_path == dir)
                    .map(|v| SocketMount {
                        volume: v.name.clone(),
                        path: dir,
                    })
            }
            Upstream::Http(_) | Upstream::Stdio(_) => None,
        };
        let image = &sidecar.image;
        let reference = match &image.tag {
            Some(tag) => format!("{}:{tag}@{}", image.repository, image.digest),
            None => format!("{}@{}", image.repository, image.digest),
        };
        out.push(SidecarModel {
            tmp_volume: format!("sidecar-tmp-{}", out.len()),
            image: reference,
            pull_policy: format!("{:?}", image.pull_policy),
            command: sidecar.command.clone(),
            args: sidecar.args.clone(),
            env: sidecar
                .env
                .iter()
                .map(|(key, value)| match value {
                    EnvValue::Plain(text) => EnvModel {
                        name: key.clone(),
                        value: Some(text.clone()),
                        secret: None,
                    },
                    EnvValue::Secret(secret) => EnvModel {
                        name: key.clone(),
                        value: None,
                        secret: Some(SecretKeyModel {
                            name: secret.secret_ref.name.clone(),
                            key: secret.secret_ref.key.clone(),
                        }),
                    },
                })
                .collect(),
            requests_cpu: sidecar.resources.requests.cpu.to_string(),
            requests_memory: sidecar.resources.requests.memory.to_string(),
            limits_cpu: sidecar.resources.limits.cpu.to_string(),
            limits_memory: sidecar.resources.limits.memory.to_string(),
            socket_volume,
            source: format!("/upstreams/{index}/sidecar"),
            name,
        });
    }
    out
}
