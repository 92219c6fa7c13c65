//! Semantic checks (AL2xxx): rules a schema cannot express — uniqueness, cross-section
//! consistency, security properties. Each check reads typed sections from [`ConfigDoc`] and
//! skips what the schema already reported.

mod audit;
mod auth;
mod deployment;
mod mounts;
mod names;
mod network;
mod replicas;
mod upstreams;

use super::ConfigDoc;
use crate::diagnostics::Diagnostics;

/// Runs every semantic check.
pub fn check(doc: &ConfigDoc<'_>, out: &mut Diagnostics) {
    names::check(doc, out);
    auth::check(doc, out);
    audit::check(doc, out);
    deployment::check(doc, out);
    upstreams::check(doc, out);
    network::check(doc, out);
    mounts::check(doc, out);
    replicas::check(doc, out);
}
