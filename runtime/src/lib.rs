//! `airlock`: the runtime of the Airlock MCP gateway. It loads only the frozen config that
//! `airlockc build` writes and enforces it in front of the upstream MCP servers.
//!
//! One request path, in layers (`http::mcp`): limits → authentication (`auth`) → rate limits
//! (`ratelimit`) → JSON-RPC (`jsonrpc`) → protocol revision (`protocol`) → the method
//! (`gateway`: authorization with `authz`, the `upstream`s, DLP with `dlp`) → response, with
//! `metrics` and structured logs around it.

pub mod allocator;
pub mod app;
pub mod audit;
pub mod audit_cli;
pub mod auth;
pub mod authz;
pub mod cli;
pub mod config;
pub mod devidp;
pub mod dlp;
pub mod doctor;
pub mod errors;
pub mod gateway;
pub mod http;
pub mod ids;
pub mod jsonrpc;
pub mod log_sink;
pub mod metrics;
pub mod protocol;
pub mod ratelimit;
pub mod roots;
pub mod s3;
pub mod serve;
pub mod sessions;
pub mod telemetry;
pub mod traces;
pub mod upstream;
