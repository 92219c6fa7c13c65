//! The edge: the HTTP surface. `POST /mcp` (and `DELETE`/`GET` answers), operations
//! endpoints, the protected-resource metadata, the admin reload, and a metrics-only listener;
//! the accept loop with its deadlines (`connection`).

pub(crate) mod authn;
pub mod connection;
mod cors;
pub mod mcp;
mod ops;

use crate::app::App;
use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::routing::{MethodRouter, any, get, post};
use std::net::SocketAddr;
use std::sync::Arc;

/// The gateway's routes on the main port.
pub fn router(app: Arc<App>) -> Router {
    let endpoint = || {
        post(mcp::post)
            .delete(mcp::delete)
            .get(mcp::method_not_allowed)
            .fallback(mcp::method_not_allowed)
    };
    Router::new()
        .route("/mcp", endpoint())
        // Clients configured for SDK servers, which mount MCP at `/mcp/`, reach the same endpoint.
        .route("/mcp/", endpoint())
        .route("/mcp/{*rest}", any(mcp::beneath))
        .route("/live", only_get(get(ops::live)))
        .route("/health/live", only_get(get(ops::live)))
        .route("/ready", only_get(get(ops::ready)))
        .route("/health/ready", only_get(get(ops::ready)))
        .route("/info", only_get(get(ops::info)))
        .route("/metrics", only_get(get(ops::metrics)))
        .route(
            "/.well-known/oauth-protected-resource",
            only_get(get(ops::protected_resource)),
        )
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            only_get(get(ops::protected_resource)),
        )
        .route(
            "/admin/policy/reload",
            with_allow(post(ops::reload_policy), "POST"),
        )
        .fallback(mcp::not_found)
        .with_state(app)
}

fn only_get(route: MethodRouter<Arc<App>>) -> MethodRouter<Arc<App>> {
    with_allow(route, "GET, HEAD")
}

/// Other methods on the route get a 405 inside the error contract, with `Allow`.
fn with_allow(route: MethodRouter<Arc<App>>, allow: &'static str) -> MethodRouter<Arc<App>> {
    route.fallback(
        move |State(app): State<Arc<App>>,
              ConnectInfo(peer): ConnectInfo<SocketAddr>,
              method: Method,
              uri: Uri,
              headers: HeaderMap| {
            mcp::wrong_method(app, peer, method, uri, headers, allow)
        },
    )
}

/// The metrics listener's routes.
pub fn metrics_router(app: Arc<App>, path: &str) -> Router {
    Router::new()
        .route(path, only_get(get(ops::metrics)))
        .route("/live", only_get(get(ops::live)))
        .with_state(app)
}
