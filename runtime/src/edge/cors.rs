//! Browsers on the origins `server.allowedOrigins` names (and the gateway's own public origin)
//! may call `/mcp`: the preflight (`OPTIONS`) is answered, and answers carry
//! `Access-Control-Allow-Origin` for them. Every other origin is refused before any work
//! (`origin_not_allowed`), and requests without `Origin` (non-browser clients) are unaffected.

use crate::app::App;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The request headers a browser MCP client sends.
const ALLOWED_HEADERS: &str = "authorization, content-type, accept, mcp-session-id, \
     mcp-protocol-version, mcp-method, mcp-name, last-event-id, traceparent, tracestate";

/// The response headers a browser MCP client reads.
const EXPOSED_HEADERS: &str = "mcp-session-id, www-authenticate, x-request-id, retry-after";

/// How long a browser may reuse a preflight's answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

/// The request's origin, when it sent exactly one readable `Origin`; `Err` when it sent one
/// that cannot be read or several (refused, never mistaken for none).
fn origin(headers: &HeaderMap) -> Result<Option<&str>, ()> {
    let mut origins = headers.get_all(header::ORIGIN).iter();
    let Some(origin) = origins.next() else {
        return Ok(None);
    };
    match (origin.to_str(), origins.next()) {
        (Ok(origin), None) => Ok(Some(origin)),
        _ => Err(()),
    }
}

fn is_allowed(app: &App, origin: &str) -> bool {
    let origin = origin.trim_end_matches('/');
    let config = &app.config.server;
    config.allowed_origins.iter().any(|o| o == origin)
        || config
            .public_base_url
            .as_deref()
            .is_some_and(|base| url_origin(base) == origin)
}

/// Whether the request may go on: no `Origin`, or an allowed one.
pub fn origin_allowed(app: &App, headers: &HeaderMap) -> bool {
    match origin(headers) {
        Ok(None) => true,
        Ok(Some(origin)) => is_allowed(app, origin),
        Err(()) => false,
    }
}

/// Lets the browser read the answer, when the request came from an allowed origin.
pub fn expose(app: &App, headers: &HeaderMap, response: &mut Response) {
    let Some(origin) = allowed_origin(app, headers) else {
        return;
    };
    let Ok(origin) = HeaderValue::from_str(origin) else {
        return;
    };
    let out = response.headers_mut();
    out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    out.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED_HEADERS),
    );
    out.append(header::VARY, HeaderValue::from_static("origin"));
}

/// Whether `OPTIONS` is a CORS preflight (rather than a plain `OPTIONS`, which gets 405).
pub fn is_preflight(headers: &HeaderMap) -> bool {
    headers.contains_key(header::ORIGIN)
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The answer to an allowed origin's preflight: 204 with what it may send.
pub fn preflight_answer(origin: &str) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let out = response.headers_mut();
    if let Ok(origin) = HeaderValue::from_str(origin) {
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    out.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, DELETE"),
    );
    out.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOWED_HEADERS),
    );
    out.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(PREFLIGHT_MAX_AGE),
    );
    out.append(header::VARY, HeaderValue::from_static("origin"));
    response
}

/// The request's origin, when it sent one and it is allowed.
pub fn allowed_origin<'a>(app: &App, headers: &'a HeaderMap) -> Option<&'a str> {
    match origin(headers) {
        Ok(Some(origin)) if is_allowed(app, origin) => Some(origin),
        _ => None,
    }
}

/// The origin (`scheme://host[:port]`) of a URL.
pub fn url_origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}
