//! AL6007: with `onUnpinned: block`, a tool `allowTools` names that the lock does not pin: the
//! config says to serve it, the lock makes sure it never is.

use super::Context;
use crate::diagnostics::{Diagnostic, Diagnostics, codes};
use airlock_schema::config::OnUnpinned;

pub(super) fn check(context: &Context<'_>, out: &mut Diagnostics) {
    if context.pinning.on_unpinned != OnUnpinned::Block {
        return;
    }
    for upstream in context.upstreams {
        let Some(allowed) = upstream.common().allow_tools else {
            continue;
        };
        let name = upstream.name().as_str();
        let pins = context.lock.upstreams.get(name);
        for tool in allowed.iter().map(|t| t.as_str()) {
            if pins.is_some_and(|p| p.contains_key(tool)) {
                continue;
            }
            let node = context.node(name, tool, "");
            out.push(
                Diagnostic::new(codes::AL6007, context.location(node), format!("`{tool}` of upstream `{name}` is allowed but not pinned: with `onUnpinned: block` it is never served"))
                    .help("pin it (`airlock tools pin`) and review its definition, or remove it from `allowTools`"),
            );
        }
    }
}
