//! AL6006: a pin that can never serve: its upstream is not configured, or the upstream's
//! `allowTools` leaves the tool out. A dead pin is review work nobody needs, and a sign the lock
//! and the config have drifted apart.

use super::Context;
use crate::diagnostics::{Diagnostic, Diagnostics, Severity, codes};
use airlock_schema::config::Upstream;

pub(super) fn check(context: &Context<'_>, out: &mut Diagnostics) {
    for (upstream, tools) in &context.lock.upstreams {
        let configured = context
            .upstreams
            .iter()
            .find(|u| u.name().as_str() == upstream);
        for tool in tools.keys() {
            let why = match configured {
                None => format!("no upstream named `{upstream}` is configured"),
                Some(u) if !allows(u, tool) => {
                    format!("`allowTools` of upstream `{upstream}` leaves it out")
                }
                Some(_) => continue,
            };
            let node = context.node(upstream, tool, "");
            out.push(
                Diagnostic::new(codes::AL6006, context.location(node), format!("{upstream}/{tool} is pinned but can never be served: {why}"))
                    .severity(Severity::Warning)
                    .help("pin again with `airlock tools pin` after changing the config, or remove the pin"),
            );
        }
    }
}

fn allows(upstream: &Upstream, tool: &str) -> bool {
    upstream
        .common()
        .allow_tools
        .is_none_or(|list| list.iter().any(|t| t.as_str() == tool))
}
