//! What one POST to an HTTP upstream got back, whichever client carried it (hyper's pool for
//! `http://` and unix sockets, reqwest for `https://`), and how much of it is read.

use bytes::Bytes;

/// The largest upstream response read (a resource or tool result).
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// What one POST got back.
pub struct Exchanged {
    pub(super) status: u16,
    pub(super) content_type: String,
    pub(super) session: Option<String>,
    pub(super) bytes: Bytes,
}

impl Exchanged {
    pub fn new(status: u16, headers: &axum::http::HeaderMap, bytes: Bytes) -> Self {
        Self {
            status,
            content_type: header_text(headers, &axum::http::header::CONTENT_TYPE),
            session: headers
                .get(crate::mcp::protocol::MCP_SESSION_ID)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            bytes,
        }
    }
}

fn header_text(headers: &axum::http::HeaderMap, name: &axum::http::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase()
}
