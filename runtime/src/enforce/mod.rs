//! Enforcement: who the caller is (`auth`, `client_ip`), what they may do (`authz`), how often
//! (`ratelimit`), what they may see (`dlp`) and which files they may reach (`roots`). Each
//! decides; none knows HTTP or the request path that calls it.

pub mod auth;
pub mod authz;
pub(crate) mod client_ip;
pub mod dlp;
pub(crate) mod ratelimit;
pub mod roots;
