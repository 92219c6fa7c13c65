//! The HTTP surface: `POST /mcp` (and `DELETE`/`GET` answers), operations endpoints, the
//! protected-resource metadata, the admin reload, and a metrics-only listener.

mod authn;
mod client_ip;
pub mod connection;
mod log;
pub mod mcp;
mod ops;

use crate::app::App;
use axum::Router;
use axum::routing::{any, get, post};
use std::sync::Arc;

pub use client_ip::TrustedProxies;
pub use log::write_json_directly as write_request_logs_directly;

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
        .route("/live", get(ops::live))
        .route("/health/live", get(ops::live))
        .route("/ready", get(ops::ready))
        .route("/health/ready", get(ops::ready))
        .route("/info", get(ops::info))
        .route("/metrics", get(ops::metrics))
        .route(
            "/.well-known/oauth-protected-resource",
            get(ops::protected_resource),
        )
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            get(ops::protected_resource),
        )
        .route("/admin/policy/reload", post(ops::reload_policy))
        .fallback(mcp::not_found)
        .with_state(app)
}

/// The metrics listener's routes.
pub fn metrics_router(app: Arc<App>, path: &str) -> Router {
    Router::new()
        .route(path, get(ops::metrics))
        .route("/live", get(ops::live))
        .with_state(app)
}
