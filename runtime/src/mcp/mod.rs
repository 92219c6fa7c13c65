//! MCP's vocabulary, independent of HTTP: JSON-RPC messages (`jsonrpc`), protocol revisions and
//! their negotiation (`protocol`).

pub mod jsonrpc;
pub(crate) mod protocol;
