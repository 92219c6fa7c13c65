//! `/mcp` and every answer the router gives outside the operations endpoints: `POST` (the
//! request pipeline, `pipeline`), `DELETE` (ending a session), other methods (405), paths
//! beneath `/mcp` and unknown paths (404). Each handler runs a [`Pipeline`]: stages, then the
//! one answer, then the record (log line, metrics, audit event, spans).

mod headers;
mod pipeline;

use super::authn::Throttle;
use super::cors;
use crate::app::App;
use crate::errors::{ErrorType, Failure};
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
pub use pipeline::{Answer, Pipeline};
use std::net::SocketAddr;
use std::sync::Arc;

/// `POST /mcp`. The request runs to its end on a task of its own: a client that hangs up
/// mid-call drops only the wait for the answer, not the call (the upstream may already be
/// acting on it), its audit event, log line and metrics.
pub async fn post(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    post_from(app, peer, headers, body).await
}

/// `POST /mcp` from `peer`, without the router's extractors (`edge::Routes`).
pub async fn post_from(
    app: Arc<App>,
    peer: SocketAddr,
    headers: HeaderMap,
    body: Body,
) -> Response {
    to_the_end(app.clone(), serve_post(app, peer, headers, body)).await
}

/// Runs a request handler on its own task, so that it finishes when the client goes away; a
/// handler that panics answers 500 in the error contract (its audit slot records the failure).
async fn to_the_end(
    app: Arc<App>,
    handler: impl Future<Output = Response> + Send + 'static,
) -> Response {
    match tokio::spawn(handler).await {
        Ok(response) => response,
        Err(error) => {
            tracing::error!(error_type = "internal_error", error = %error, "a request handler failed");
            let headers = HeaderMap::new();
            let mut pipeline = Pipeline::new(&app, &headers, "POST", [0, 0, 0, 0].into());
            let outcome = pipeline.answer(Err(Failure::internal()));
            pipeline.respond(outcome)
        }
    }
}

async fn serve_post(app: Arc<App>, peer: SocketAddr, headers: HeaderMap, body: Body) -> Response {
    app.in_flight.add(1);
    let mut pipeline = Pipeline::new(&app, &headers, "POST", peer.ip());
    let request_id = pipeline.exchange.request_id.clone();
    // Boxed: the stages' state is large, and this future is moved (into its task) whole.
    let stages = Box::pin(pipeline.serve_post(body));
    let served = crate::record::ids::with_request_id(request_id, stages).await;
    app.in_flight.add(-1);
    let outcome = pipeline.answer(served);
    let mut response = pipeline.respond(outcome);
    cors::expose(&app, &headers, &mut response);
    pipeline.trace();
    pipeline.audit();
    response
}

/// `DELETE /mcp`: ends the caller's session (to the end, as `post`).
pub async fn delete(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    to_the_end(app.clone(), serve_delete(app, peer, headers)).await
}

async fn serve_delete(app: Arc<App>, peer: SocketAddr, headers: HeaderMap) -> Response {
    let mut pipeline = Pipeline::new(&app, &headers, "DELETE", peer.ip());
    let served = pipeline.serve_delete().await;
    let outcome = pipeline.answer(served);
    let mut response = pipeline.respond(outcome);
    cors::expose(&app, &headers, &mut response);
    pipeline.audit();
    response
}

/// `GET /mcp` (the gateway opens no server-to-client stream) and every other method but `POST`
/// and `DELETE`: 405 with `Allow`, inside the error contract, logged, metered and audited like
/// any refusal. An allowed origin's CORS preflight is answered here too.
pub async fn method_not_allowed(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: axum::http::Method,
    headers: HeaderMap,
) -> Response {
    let mut pipeline = Pipeline::new(&app, &headers, method_name(&method), peer.ip());
    if method == axum::http::Method::OPTIONS && cors::is_preflight(&headers) {
        if let Some(origin) = cors::allowed_origin(&app, &headers) {
            pipeline.exchange.finish(
                axum::http::StatusCode::NO_CONTENT.as_u16(),
                &app.metrics,
                std::time::Duration::ZERO,
            );
            return cors::preflight_answer(origin);
        }
        let outcome = pipeline.answer(Err(Failure::new(
            ErrorType::OriginNotAllowed,
            "this Origin may not call the gateway",
        )));
        return pipeline.respond(outcome);
    }
    let outcome = pipeline
        .answer(Err(Failure::new(
            ErrorType::MethodNotAllowed,
            format!("{method} is not served on /mcp: send JSON-RPC messages with POST"),
        )))
        .with_header(header::ALLOW, "POST, DELETE");
    let mut response = pipeline.respond(outcome);
    cors::expose(&app, &headers, &mut response);
    pipeline.audit();
    response
}

/// A method an operations path does not serve (`POST /live`, `GET /admin/policy/reload`): 405
/// with `Allow`, inside the error contract, logged and metered like any refusal.
pub async fn wrong_method(
    app: Arc<App>,
    peer: SocketAddr,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    allow: &'static str,
) -> Response {
    let mut pipeline = for_path(&app, &headers, &method, &uri, peer);
    let message = format!(
        "{method} is not served on {}: use {allow}",
        pipeline.exchange.uri
    );
    let outcome = pipeline
        .answer(Err(Failure::new(ErrorType::MethodNotAllowed, message)))
        .with_header(header::ALLOW, allow);
    pipeline.respond(outcome)
}

/// An HTTP method as a log field (methods beyond the standard ones are the client's to invent).
fn method_name(method: &axum::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "other",
    }
}

/// The longest path a log line repeats of a request for a path the gateway does not serve.
const LOGGED_PATH_MAX: usize = 256;

/// The 404 of a path the gateway does not serve.
fn not_served(path: &str) -> Failure {
    Failure::new(
        ErrorType::NotFound,
        format!("nothing is served at `{path}`: MCP is served at POST /mcp"),
    )
}

/// A pipeline for `uri`, which is not `/mcp`: its log line names the path (bounded).
fn for_path<'a>(
    app: &'a App,
    headers: &'a HeaderMap,
    method: &axum::http::Method,
    uri: &axum::http::Uri,
    peer: SocketAddr,
) -> Pipeline<'a> {
    let mut pipeline = Pipeline::new(app, headers, method_name(method), peer.ip());
    let path = uri.path();
    pipeline.exchange.uri = path[..path.floor_char_boundary(LOGGED_PATH_MAX)].to_string();
    pipeline
}

/// A path the gateway does not serve: 404 inside the error contract, logged and metered.
pub async fn not_found(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let mut pipeline = for_path(&app, &headers, &method, &uri, peer);
    let failure = not_served(&pipeline.exchange.uri.clone());
    let outcome = pipeline.answer(Err(failure));
    pipeline.respond(outcome)
}

/// Paths beneath `/mcp` (clients of other gateways try `/mcp/v1/...`): the caller is
/// authenticated first, so a bad token gets 401 here as on `/mcp`, and a good one learns
/// where MCP is served (404). Audited like any authentication.
pub async fn beneath(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let mut pipeline = for_path(&app, &headers, &method, &uri, peer);
    let served = match pipeline.authenticate(Throttle::Check).await {
        Err(failure) => Err(failure),
        Ok(_) => Err(not_served(&pipeline.exchange.uri.clone())),
    };
    let outcome = pipeline.answer(served);
    let mut response = pipeline.respond(outcome);
    cors::expose(&app, &headers, &mut response);
    pipeline.audit();
    response
}
