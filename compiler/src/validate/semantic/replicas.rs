//! Many replicas acting as one gateway: with more than one replica (or an autoscaler that may
//! add them) every replica must open every session, so the session key is shared (AL2037), and
//! without a shared rate-limit store each replica counts alone, which multiplies every limit
//! (AL2038).

use crate::diagnostics::{Diagnostics, Severity, codes};
use crate::validate::ConfigDoc;
use airlock_schema::config::{Deployment, RateLimiting, Server};
use airlock_schema::types::Rate;

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
    if most > 1
        && let Some(limits) = doc.section_or_default::<RateLimiting>("/rateLimiting")
        && limits.store.is_none()
    {
        local_limits(doc, &limits, most, pointer, out);
    }
}

/// Without a shared store, what each limit admits at the most replicas.
fn local_limits(
    doc: &ConfigDoc<'_>,
    limits: &RateLimiting,
    most: u32,
    pointer: &str,
    out: &mut Diagnostics,
) {
    let scaled = |name: &str, rate: Option<Rate>| {
        rate.map(|rate| {
            let total = Rate {
                count: rate.count.saturating_mul(most),
                per: rate.per,
            };
            format!("{name} {rate} admits up to {total}")
        })
    };
    let mut effects: Vec<String> = [
        scaled("perToken", limits.per_token),
        scaled("perIp", limits.per_ip),
        scaled("perTenant", limits.per_tenant),
    ]
    .into_iter()
    .flatten()
    .collect();
    effects.push(format!(
        "and the failed-authentication throttle allows {} failed attempts per IP instead of {}",
        limits.failed_auth.max_attempts.saturating_mul(most),
        limits.failed_auth.max_attempts
    ));
    out.push(
        doc.value_diag(
            codes::AL2038,
            pointer,
            format!(
                "up to {most} replicas count their rate limits alone: at {most} replicas {}",
                effects.join(", ")
            ),
        )
        .severity(Severity::Warning)
        .help("share them through Redis or Valkey: `rateLimiting: {store: {redis: {url: \"redis://redis.<namespace>.svc.cluster.local:6379/0\"}}}`; or set each limit to what one replica may admit, divided by the replicas"),
    );
}
