//! The edge: the HTTP surface. `POST /mcp` (and `DELETE`/`GET` answers), operations
//! endpoints, the protected-resource metadata, the admin reload, and a metrics-only listener;
//! the accept loop with its deadlines (`connection`). [`Routes`] is what a listener serves:
//! the router, and on the main port `POST /mcp` taken before it.

pub(crate) mod authn;
pub mod connection;
mod cors;
pub mod mcp;
mod ops;

use crate::app::App;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::routing::{MethodRouter, any, get, post};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use tower_service::Service;

/// What a listener serves.
#[derive(Clone)]
pub struct Routes {
    router: Router,
    /// On the main port: `POST /mcp` goes straight to its pipeline. Nearly every request is
    /// one, and the router's dispatch, its extractors and their copy of the headers were
    /// 2.6 % of a call's instructions and 10 of its 113 allocations (`docs/performance.md`);
    /// every other request, `/mcp/` included, is routed.
    mcp: Option<Arc<App>>,
}

impl Routes {
    /// The gateway's main port.
    pub fn main(app: Arc<App>) -> Self {
        Self {
            router: router(app.clone()),
            mcp: Some(app),
        }
    }

    /// The metrics listener.
    pub fn metrics(app: Arc<App>, path: &str) -> Self {
        Self {
            router: metrics_router(app, path),
            mcp: None,
        }
    }

    /// Serves one request from `peer`.
    pub async fn call(
        mut self,
        peer: SocketAddr,
        mut request: axum::http::Request<Body>,
    ) -> Result<Response, Infallible> {
        if let Some(app) = self.mcp
            && request.method() == Method::POST
            && request.uri().path() == "/mcp"
        {
            let (parts, body) = request.into_parts();
            return Ok(mcp::post_from(app, peer, parts.headers, body).await);
        }
        request.extensions_mut().insert(ConnectInfo(peer));
        self.router.call(request).await
    }
}

/// The gateway's routes on the main port (`Routes::main` takes `POST /mcp` before them; the
/// route stays, for the same answer through the router).
fn router(app: Arc<App>) -> Router {
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
fn metrics_router(app: Arc<App>, path: &str) -> Router {
    Router::new()
        .route(path, only_get(get(ops::metrics)))
        .route("/live", only_get(get(ops::live)))
        .with_state(app)
}
