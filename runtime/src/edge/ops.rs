//! Operations endpoints: `/live`, `/ready` (and the `/health/*` aliases), `/info`, `/metrics`,
//! the OAuth protected-resource metadata (RFC 9728), and the admin policy reload.

use super::authn::Throttle;
use super::mcp::{Answer, Pipeline};
use crate::app::App;
use crate::errors::{ErrorType, Failure};
use crate::record::exchange::Exchange;
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;

pub async fn live() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

pub async fn ready(State(app): State<Arc<App>>) -> Response {
    let waiting = app.readiness();
    if waiting.is_empty() {
        Json(json!({"status": "ready"})).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not_ready", "waiting": waiting})),
        )
            .into_response()
    }
}

pub async fn info(State(app): State<Arc<App>>) -> Response {
    let upstreams: Vec<Value> = app
        .upstreams
        .iter()
        .map(|u| {
            let state = u.state();
            let transport = match &u.config.transport {
                airlock_schema::runtime::Transport::Http { .. } => "http",
                airlock_schema::runtime::Transport::Unix { .. } => "unix",
                airlock_schema::runtime::Transport::Stdio { .. } => "stdio",
            };
            json!({
                "name": u.name(),
                "transport": transport,
                "status": state.status,
                "tools": state.catalog.tools.len(),
                "resources": state.catalog.resources.len(),
                "prompts": state.catalog.prompts.len(),
                "restarts": state.restarts,
                "withheld": state.catalog.withheld,
                "last_error": state.last_error,
            })
        })
        .collect();
    Json(json!({
        "name": app.config.name,
        "version": env!("CARGO_PKG_VERSION"),
        "config_hash": app.config.content_hash,
        "policy_hash": app.authz.sha256(),
        "policy_last_known_good": app.authz.last_known_good(),
        "uptime_seconds": app.started.elapsed().as_secs(),
        "ready": app.readiness().is_empty(),
        "sessions": app.sessions.len(),
        // Configured: every replica holding the key serves every session.
        "session_key": if app.sessions.shared() { "configured" } else { "per replica" },
        "jwks": app.auth.jwks.info(),
        "audit": app.audit.status(),
        "rate_limit_store": app.limits.store_up().map(|up| json!({"store": "redis", "state": if up { "up" } else { "down" }})),
        "upstreams": upstreams,
    }))
    .into_response()
}

pub async fn metrics(State(app): State<Arc<App>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.render(),
    )
        .into_response()
}

/// OAuth 2.0 Protected Resource Metadata (RFC 9728): where to get tokens for this gateway.
pub async fn protected_resource(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let base = app.base_url(host);
    let metadata = Json(json!({
        "resource": format!("{base}/mcp"),
        "authorization_servers": [app.config.auth.issuer],
        "bearer_methods_supported": ["header"],
        "resource_name": format!("Airlock MCP gateway {}", app.config.name),
    }));
    // Public by nature: browser clients on any origin read it to find the issuer.
    let mut response = metadata.into_response();
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        axum::http::HeaderValue::from_static("*"),
    );
    response
}

/// `POST /admin/policy/reload`: members of the admin groups reload the policy.
pub async fn reload_policy(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let mut pipeline = Pipeline::new(&app, &headers, "POST", peer.ip());
    pipeline.exchange.uri = "/admin/policy/reload".into();
    let served = reload(&mut pipeline, &app).await;
    let refused = served.is_err();
    let outcome = pipeline.answer(served);
    let response = pipeline.respond(outcome);
    if refused {
        audit_refusal(&app, &pipeline.exchange).await;
    }
    response
}

/// The reload's stages: an admin's token, then the reload (audited by `App::reload_policy`).
async fn reload(pipeline: &mut Pipeline<'_>, app: &Arc<App>) -> Result<Answer, Failure> {
    let principal = pipeline.authenticate(Throttle::Check).await?;
    if !app.auth.is_admin(&principal) {
        return Err(Failure::new(
            ErrorType::NotAdmin,
            "only members of the admin groups may reload the policy",
        ));
    }
    let outcome = app
        .reload_policy("admin_endpoint", Some(&principal.subject))
        .await;
    if outcome.result == "refused" {
        return Err(Failure::new(
            ErrorType::AuditUnavailable,
            "the audit trail cannot record the reload right now; retry shortly",
        )
        .retry_after(5));
    }
    let status = if outcome.result == "reloaded" {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let document = serde_json::to_value(&outcome).map_err(|_| Failure::internal())?;
    Ok(Answer::Document(status, document))
}

/// A refused admin action is an audit event too (who tried, and why it was refused).
async fn audit_refusal(app: &App, exchange: &Exchange) {
    let event = crate::record::audit::Event::new("policy_reload")
        .set("request_id", exchange.request_id.clone())
        .maybe("subject", exchange.subject.clone())
        .set("trigger", "admin_endpoint")
        .set("outcome", "failure")
        .set("status", exchange.status)
        .maybe("error_type", exchange.error_type.map(|e| e.as_str()))
        .maybe("auth_stage", exchange.auth_stage.map(|s| s.as_str()))
        .maybe("client_ip", exchange.client_ip.map(|ip| ip.to_string()));
    app.audit.record(event).await;
}
