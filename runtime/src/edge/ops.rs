//! Operations endpoints: `/live`, `/ready` (and the `/health/*` aliases), `/info`, `/metrics`,
//! the OAuth protected-resource metadata (RFC 9728), and the admin policy reload.

use crate::app::App;
use crate::enforce::auth::www_authenticate;
use crate::errors::{ErrorType, Failure};
use crate::record::log::RequestLog;
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
        "jwks": app.auth.jwks.info(),
        "audit": app.audit.status(),
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
    let request_id = crate::record::ids::request_id();
    let client_ip = app.proxies.client_ip(peer.ip(), &headers);
    let mut log = RequestLog {
        request_id: request_id.clone(),
        method: "POST",
        uri: "/admin/policy/reload".into(),
        client_ip: Some(client_ip),
        ..RequestLog::default()
    };
    let refuse = |log: &mut RequestLog, failure: Failure| {
        log.error_type = Some(failure.kind.as_str());
        let status = failure.kind.status(false);
        log.status = status.as_u16();
        log.emit();
        let mut response = (
            status,
            [("x-request-id", request_id.clone())],
            Json(failure.to_jsonrpc(&Value::Null, &request_id)),
        )
            .into_response();
        if let Some(seconds) = failure.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, seconds.into());
        }
        if status == StatusCode::UNAUTHORIZED {
            let url =
                app.resource_metadata_url(headers.get(header::HOST).and_then(|h| h.to_str().ok()));
            if let Ok(value) = www_authenticate(&url, Some(&failure)).parse() {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    };
    let principal = match super::authn::authenticate(&app, &headers, client_ip, &request_id).await {
        Ok(principal) => principal,
        Err(super::authn::Refusal { stage, failure }) => {
            log.auth_stage = stage.map(|s| s.as_str());
            let response = refuse(&mut log, failure);
            audit_refusal(&app, &log).await;
            return response;
        }
    };
    log.subject = Some(principal.subject.clone());
    if !app.auth.is_admin(&principal) {
        let response = refuse(
            &mut log,
            Failure::new(
                ErrorType::NotAdmin,
                "only members of the admin groups may reload the policy",
            ),
        );
        audit_refusal(&app, &log).await;
        return response;
    }
    let outcome = app
        .reload_policy("admin_endpoint", Some(&principal.subject))
        .await;
    if outcome.result == "refused" {
        let failure = Failure::new(
            ErrorType::AuditUnavailable,
            "the audit trail cannot record the reload right now; retry shortly",
        )
        .retry_after(5);
        return refuse(&mut log, failure);
    }
    log.status = if outcome.result == "reloaded" {
        200
    } else {
        422
    };
    log.emit();
    let status = StatusCode::from_u16(log.status).unwrap_or(StatusCode::OK);
    (status, [("x-request-id", request_id)], Json(outcome)).into_response()
}

/// A refused admin action is an audit event too (who tried, and why it was refused).
async fn audit_refusal(app: &App, log: &RequestLog) {
    let event = crate::record::audit::Event::new("policy_reload")
        .set("request_id", log.request_id.clone())
        .maybe("subject", log.subject.clone())
        .set("trigger", "admin_endpoint")
        .set("outcome", "failure")
        .set("status", log.status)
        .maybe("error_type", log.error_type)
        .maybe("auth_stage", log.auth_stage)
        .maybe("client_ip", log.client_ip.map(|ip| ip.to_string()))
        .into_value();
    app.audit.record(event).await;
}
