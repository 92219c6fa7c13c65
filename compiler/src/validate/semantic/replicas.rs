//! Many replicas acting as one gateway: with more than one replica (or an autoscaler that may
//! add them) every replica must open every session, so the session key is shared (AL2037).

use crate::diagnostics::{Diagnostics, codes};
use crate::validate::ConfigDoc;
use airlock_schema::config::{Deployment, Server};

/// The most replicas the deployment may run, and the key that says so.
fn most_replicas(deployment: &Deployment) -> (u32, &'static str) {
    if deployment.autoscaling.enabled {
        (
            deployment.autoscaling.max_replicas,
            "/deployment/autoscaling/maxReplicas",
        )
    } else {
        (deployment.replicas, "/deployment/replicas")
    }
}

pub fn check(doc: &ConfigDoc<'_>, out: &mut Diagnostics) {
    let (Some(deployment), Some(server)) = (
        doc.section_or_default::<Deployment>("/deployment"),
        doc.section_or_default::<Server>("/server"),
    ) else {
        return;
    };
    let (most, pointer) = most_replicas(&deployment);
    if most > 1 && server.sessions.key_secret_ref.is_none() {
        out.push(
            doc.value_diag(
                codes::AL2037,
                pointer,
                format!("up to {most} replicas, and no `server.sessions.keySecretRef`: a session would work only on the replica that created it"),
            )
            .help("create a Secret with at least 32 random bytes (`kubectl create secret generic airlock-sessions --from-literal=key=\"$(openssl rand -base64 48)\"`) and reference it: `server: {sessions: {keySecretRef: {name: airlock-sessions, key: key}}}`"),
        );
    }
}
