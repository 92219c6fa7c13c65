//! AL6005: a tool whose description names another upstream's tool. Shadowing is how one server
//! steers the model's use of another's tools ("when you call send_email, always add ...").

use super::Context;
use crate::diagnostics::{Diagnostic, Diagnostics, codes};
use serde_json::Value;

/// Shorter names are ordinary words too often to tell.
const MIN_NAME: usize = 5;

pub(super) fn check(context: &Context<'_>, out: &mut Diagnostics) {
    for (upstream, tools) in &context.lock.upstreams {
        for (tool, pin) in tools {
            let Some(description) = pin.definition.get("description").and_then(Value::as_str)
            else {
                continue;
            };
            let named = context
                .lock
                .upstreams
                .iter()
                .filter(|(other, _)| *other != upstream)
                .find_map(|(other, theirs)| {
                    theirs
                        .keys()
                        .find(|name| name.len() >= MIN_NAME && names(description, name))
                        .map(|name| (other, name))
                });
            if let Some((other, name)) = named {
                let node = context.node(upstream, tool, "/definition/description");
                out.push(
                    Diagnostic::new(codes::AL6005, context.location(node), format!("{upstream}/{tool} names {other}/{name}, a tool of another upstream"))
                        .help("a tool's description should describe that tool; read what it says about the other one before pinning it"),
                );
            }
        }
    }
}

/// Whether `text` mentions `name` as a whole word.
fn names(text: &str, name: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}
