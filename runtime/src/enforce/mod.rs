//! Enforcement: who the caller is (`auth`, `client_ip`), what they may do (`authz`), how often
//! (`ratelimit`), what they may see (`dlp`), which files they may reach (`roots`) and which
//! MCP sessions they hold (`sessions`). Each decides; none knows HTTP or the request path that
//! calls it. What replicas share (limits, sessions' state) lives in `shared`.

pub mod auth;
pub mod authz;
pub(crate) mod client_ip;
pub mod dlp;
pub(crate) mod ratelimit;
pub mod roots;
pub(crate) mod sessions;
pub(crate) mod shared;
