//! How the pod runs: a pinned image (AL2011, AL2012), consistent replica bounds (AL2013) and
//! resources (AL2014), distinct ports (AL2025), managed TLS (AL2020), a tracing endpoint
//! (AL2016) that speaks OTLP/HTTP (AL2029), timeouts in a sensible order (AL2024), clients told
//! apart behind an ingress (AL2028), an Ingress path that reaches the gateway's endpoints (AL2035).

use crate::diagnostics::{Diagnostics, codes};
use crate::validate::ConfigDoc;
use airlock_schema::config::{Deployment, Image, Ingress, Observability, Server, Upstream};

pub fn check(doc: &ConfigDoc<'_>, out: &mut Diagnostics) {
    if let Some(image) = doc.section::<Image>("/image") {
        image_pinning(doc, &image, out);
    }
    if let Some(deployment) = doc.section_or_default::<Deployment>("/deployment") {
        replicas(doc, &deployment, out);
        resources(doc, &deployment, out);
    }
    let server = doc.section_or_default::<Server>("/server");
    let observability = doc.section_or_default::<Observability>("/observability");
    if let (Some(server), Some(observability)) = (&server, &observability)
        && observability.metrics.enabled
        && server.port == observability.metrics.port
    {
        let pointer = ["/observability/metrics/port", "/server/port"]
            .into_iter()
            .find(|p| doc.root.pointer(p).is_some())
            .unwrap_or("/server");
        out.push(
                doc.value_diag(codes::AL2025, pointer, format!("`server.port` and `observability.metrics.port` are both {}", server.port))
                    .help("metrics get their own listener so the NetworkPolicy can admit Prometheus to it alone: pick another port (default 9090)"),
            );
    }
    if let Some(observability) = &observability
        && observability.tracing.enabled
        && observability.tracing.endpoint.is_none()
    {
        out.push(
                doc.key_diag(codes::AL2016, "/observability/tracing", "tracing is enabled without an `endpoint`")
                    .help("add the OTLP/HTTP endpoint of your collector, e.g. `endpoint: http://otel-collector.monitoring.svc:4318`, or set `enabled: false`"),
            );
    }
    if let Some(observability) = &observability
        && observability.tracing.enabled
        && let Some(endpoint) = &observability.tracing.endpoint
        && let Some(problem) = not_otlp_http(endpoint)
    {
        out.push(
            doc.value_diag(codes::AL2029, "/observability/tracing/endpoint", format!("`{endpoint}` {problem}"))
                .help("the gateway POSTs OTLP/HTTP to `<endpoint>/v1/traces`: use the collector's OTLP/HTTP port, e.g. `http://otel-collector.monitoring.svc:4318` (Jaeger takes OTLP/HTTP on 4318 too)"),
        );
    }
    if let (Some(Some(ingress)), Some(server)) =
        (doc.section::<Option<Ingress>>("/ingress"), &server)
        && ingress.enabled
        && server.trusted_proxies.is_empty()
    {
        out.push(
            doc.key_diag(codes::AL2028, "/ingress", "behind the ingress every request comes from the ingress controller, and `server.trustedProxies` is empty")
                .help("per-IP rate limits and the failed-authentication throttle would count all clients as one address (five bad tokens from anyone would throttle everyone): set `server.trustedProxies` to the ingress controller pods' network, e.g. `[10.0.0.0/8]`, so the client is read from `X-Forwarded-For`"),
        );
    }
    if let Some(Some(ingress)) = doc.section::<Option<Ingress>>("/ingress")
        && ingress.enabled
        && let Some(problem) = unserved_ingress_path(&ingress.path)
    {
        out.push(
            doc.value_diag(codes::AL2035, "/ingress/path", problem)
                .help("use the default `path: /`, which routes `/mcp` and `/.well-known/oauth-protected-resource`; to publish the gateway under a prefix, add your controller's rewrite annotation (e.g. ingress-nginx `rewrite-target`) so requests arrive at those paths"),
        );
    }
    if let Some(Some(ingress)) = doc.section::<Option<Ingress>>("/ingress")
        && let Some(tls) = ingress
            .tls
            .as_ref()
            .filter(|tls| tls.issuer_ref.is_none() && ingress.enabled)
    {
        let secret = tls.secret_name.as_ref().map_or_else(
            || format!("{}-tls", doc.json["name"].as_str().unwrap_or("airlock")),
            ToString::to_string,
        );
        out.push(
                doc.key_diag(codes::AL2020, "/ingress/tls", format!("TLS without `issuerRef`: the Secret `{secret}` must be created and renewed by hand"))
                    .help("add `issuerRef: {name: letsencrypt-prod, kind: ClusterIssuer}` so cert-manager issues and renews the certificate"),
            );
    }
    if let (Some(server), Some(deployment)) =
        (&server, doc.section_or_default::<Deployment>("/deployment"))
        && server.timeouts.shutdown >= deployment.termination_grace_period
    {
        let pointer = [
            "/deployment/terminationGracePeriod",
            "/server/timeouts/shutdown",
        ]
        .into_iter()
        .find(|p| doc.root.pointer(p).is_some())
        .unwrap_or("/server");
        out.push(
            doc.value_diag(codes::AL2024, pointer, format!(
                "`server.timeouts.shutdown` ({}) is not shorter than `deployment.terminationGracePeriod` ({}): Kubernetes kills the pod before the gateway's own grace period ends",
                server.timeouts.shutdown, deployment.termination_grace_period
            ))
            .help("keep `terminationGracePeriod` a few seconds above `server.timeouts.shutdown` (defaults 30s and 20s), so calls in flight finish and are audited before the pod is killed"),
        );
    }
    if let Some(server) = &server {
        for (index, upstream) in doc.items::<Upstream>("/upstreams") {
            let timeout = upstream.common().timeout;
            if timeout > server.timeouts.request {
                out.push(
                    doc.value_diag(codes::AL2024, &format!("/upstreams/{index}/timeout"), format!(
                        "upstream `{}` may take {timeout}, but `server.timeouts.request` ends every request after {}",
                        upstream.name(), server.timeouts.request
                    ))
                    .help("lower the upstream's `timeout` or raise `server.timeouts.request`, so clients see the upstream's 504 and not a cut connection"),
                );
            }
        }
    }
}

/// Why a tracing endpoint is not an OTLP/HTTP receiver, when its port or path says so.
fn not_otlp_http(endpoint: &airlock_schema::types::HttpUrl) -> Option<&'static str> {
    let path = endpoint.url().path();
    if path.contains("/api/traces") || path.contains("/api/v2/spans") {
        return Some("is a Jaeger or Zipkin collector API, not OTLP");
    }
    match endpoint.port() {
        14268 | 14250 => Some("is Jaeger's own collector port, not OTLP/HTTP"),
        9411 => Some("is Zipkin's port, not OTLP/HTTP"),
        4317 => Some("is the OTLP/gRPC port; the gateway sends OTLP over HTTP"),
        _ => None,
    }
}

fn image_pinning(doc: &ConfigDoc<'_>, image: &Image, out: &mut Diagnostics) {
    match (&image.tag, &image.digest) {
        (None, None) => out.push(
            doc.key_diag(codes::AL2012, "/image", "the image has neither `tag` nor `digest`")
                .help("add `digest: sha256:...` (the digest of the image you reviewed); a `tag` alone is mutable"),
        ),
        (Some(tag), None) => out.push(
            doc.value_diag(codes::AL2011, "/image/tag", format!("the image `{}:{tag}` is not pinned by digest", image.repository))
                .help(format!(
                    "a tag can be moved to other content{}; add `digest: sha256:...` (e.g. from `crane digest {}:{tag}`)",
                    if tag == "latest" { ", and `latest` moves all the time" } else { "" },
                    image.repository
                )),
        ),
        _ => {}
    }
}

fn replicas(doc: &ConfigDoc<'_>, deployment: &Deployment, out: &mut Diagnostics) {
    let scaling = &deployment.autoscaling;
    let floor = if scaling.enabled {
        scaling.min_replicas.unwrap_or(deployment.replicas)
    } else {
        deployment.replicas
    };
    if scaling.enabled && floor > scaling.max_replicas {
        out.push(
            doc.value_diag(codes::AL2013, "/deployment/autoscaling/maxReplicas", format!(
                "`maxReplicas` {} is below the minimum of {floor} replicas", scaling.max_replicas
            ))
            .help("raise `maxReplicas` or lower `minReplicas` (which defaults to `deployment.replicas`)"),
        );
    }
    let pdb = &deployment.pod_disruption_budget;
    if !pdb.enabled {
        return;
    }
    if pdb.min_available.is_some() && pdb.max_unavailable.is_some() {
        out.push(
            doc.key_diag(
                codes::AL2013,
                "/deployment/podDisruptionBudget/maxUnavailable",
                "a PodDisruptionBudget takes `minAvailable` or `maxUnavailable`, not both",
            )
            .help("keep one of them"),
        );
    }
    if let Some(min) = pdb.min_available.filter(|min| *min >= floor) {
        out.push(
            doc.value_diag(codes::AL2013, "/deployment/podDisruptionBudget/minAvailable", format!(
                "`minAvailable: {min}` with {floor} replica{} forbids every voluntary eviction", if floor == 1 { "" } else { "s" }
            ))
            .help("node drains and cluster upgrades would wait forever: keep `minAvailable` below the replica count, or use `maxUnavailable: 1`"),
        );
    }
}

fn resources(doc: &ConfigDoc<'_>, deployment: &Deployment, out: &mut Diagnostics) {
    let (requests, limits) = (&deployment.resources.requests, &deployment.resources.limits);
    for (name, request, limit) in [
        ("cpu", &requests.cpu, &limits.cpu),
        ("memory", &requests.memory, &limits.memory),
    ] {
        if request.value() > limit.value() {
            out.push(
                doc.value_diag(
                    codes::AL2014,
                    &format!("/deployment/resources/requests/{name}"),
                    format!("the {name} request `{request}` exceeds its limit `{limit}`"),
                )
                .help("Kubernetes rejects such a pod: keep each request at or below its limit"),
            );
        }
    }
}

/// What clients miss when the Ingress routes `path`, unchanged, instead of the gateway's
/// public surface (`/`).
fn unserved_ingress_path(path: &str) -> Option<String> {
    match path.trim_end_matches('/') {
        "" => None,
        "/mcp" => Some("the Ingress routes only `/mcp`: clients cannot fetch the protected-resource metadata (`/.well-known/oauth-protected-resource`) that names the issuer".into()),
        other => Some(format!("the Ingress routes `{other}` to the gateway unchanged, and the gateway serves MCP at `/mcp` only")),
    }
}
