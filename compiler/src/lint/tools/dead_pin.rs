//! AL6006: a pin that can never serve: its upstream is not configured, the upstream's
//! `allowTools` leaves the tool out, or the policy never allows it on a `tools/call` (as far
//! as its text says plainly: `policy::reach`). A dead pin is review work nobody needs, and a
//! sign the lock, the config and the policy have drifted apart.

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
            const REPIN: &str =
                "pin again with `airlock tools pin` after changing the config, or remove the pin";
            let (why, help) = match configured {
                None => (
                    format!("no upstream named `{upstream}` is configured"),
                    REPIN.to_string(),
                ),
                Some(u) if !allows(u, tool) => (
                    format!("`allowTools` of upstream `{upstream}` leaves it out"),
                    REPIN.to_string(),
                ),
                Some(u) if !context.policy.0.allows(&gateway_name(u, tool)) => (
                    format!(
                        "the policy (`{}`) never allows `{}` on a tools/call",
                        context.policy.1,
                        gateway_name(u, tool)
                    ),
                    format!(
                        "if clients should call it, allow `{}` in the policy; otherwise remove the pin",
                        gateway_name(u, tool)
                    ),
                ),
                Some(_) => continue,
            };
            let node = context.node(upstream, tool, "");
            out.push(
                Diagnostic::new(
                    codes::AL6006,
                    context.location(node),
                    format!("{upstream}/{tool} is pinned but can never be served: {why}"),
                )
                .severity(Severity::Warning)
                .help(help),
            );
        }
    }
}

/// The name clients and the policy see: the upstream's `toolPrefix`, then its own name.
fn gateway_name(upstream: &Upstream, tool: &str) -> String {
    format!(
        "{}{tool}",
        upstream.common().tool_prefix.unwrap_or_default()
    )
}

fn allows(upstream: &Upstream, tool: &str) -> bool {
    upstream
        .common()
        .allow_tools
        .is_none_or(|list| list.iter().any(|t| t.as_str() == tool))
}
