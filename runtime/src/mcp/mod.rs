//! MCP's vocabulary, independent of HTTP: JSON-RPC messages (`jsonrpc`), protocol revisions and
//! their negotiation (`protocol`), and the sessions of the handshake revisions (`sessions`).

pub mod jsonrpc;
pub(crate) mod protocol;
pub(crate) mod sessions;
