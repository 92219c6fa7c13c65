//! `airlock`: the runtime of the Airlock MCP gateway. It loads only the frozen config that
//! `airlockc build` writes and enforces it in front of the upstream MCP servers.
//!
//! Layers, each depending only on those below it:
//!
//! - `commands`: the binary's commands (`serve`, `doctor`, `audit ...`);
//! - `edge`: HTTP, the accept loop and the request pipeline of `POST /mcp`;
//! - `gateway`: the MCP methods (routing, aggregation, the upstream call);
//! - `app`: the gateway's state, built once from the config;
//! - `enforce` (authentication, authorization, rate limits, DLP, roots) and `upstream` (MCP
//!   client sessions);
//! - `record` (audit trail, logs, metrics, traces) and `mcp` (JSON-RPC, protocol revisions,
//!   sessions);
//! - `config` (the frozen config), `errors` (the error contract), `s3`.

pub mod allocator;
pub mod app;
pub mod commands;
pub mod config;
#[cfg(feature = "dev-idp")]
pub mod devidp;
mod edge;
pub mod enforce;
pub mod errors;
pub mod gateway;
pub mod mcp;
pub mod outbound;
pub mod record;
pub mod s3;
pub mod upstream;
