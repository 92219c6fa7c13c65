//! AL6008: the lock reads as a lock of this format, and every pin hashes to what it records (a
//! definition edited by hand after pinning would be served under a hash nobody reviewed).

use super::Context;
use crate::diagnostics::{Diagnostic, Diagnostics, Location, codes};
use crate::syntax::{self, Node, Span};
use crate::validate::ConfigDoc;
use crate::workspace::Workspace;
use airlock_schema::pins::{LOCK_VERSION, ToolLock, pin_hash};

/// The lock's file index, its parsed text and the lock; `None` after a diagnostic says why.
pub(super) fn load(
    doc: &ConfigDoc<'_>,
    workspace: &Workspace,
    reference: &str,
    out: &mut Diagnostics,
) -> Option<(usize, Node, ToolLock)> {
    let file = match workspace.referenced.get(reference) {
        Some(Ok(index)) => *index,
        other => {
            let reason = match other {
                Some(Err(reason)) => reason.to_string(),
                _ => "not read".into(),
            };
            out.push(
                doc.value_diag(
                    codes::AL2008,
                    "/toolPinning/lockFile",
                    format!("cannot read `{reference}`: {reason}"),
                )
                .help(format!(
                    "write it with `airlock tools pin --config deploy/runtime/airlock.json -o {reference}`; paths are relative to the directory of {}",
                    doc.source.path
                )),
            );
            return None;
        }
    };
    let source = &workspace.files[file];
    let whole = Location {
        file,
        span: Span::new(0, source.text.len().min(1)),
    };
    let document = match syntax::parse(source) {
        Ok(document) => document,
        Err(error) => {
            out.push(
                Diagnostic::new(
                    codes::AL6008,
                    Location {
                        file,
                        span: error.span,
                    },
                    format!("the lock is not JSON: {}", error.message),
                )
                .help("write it again with `airlock tools pin`; do not edit it by hand"),
            );
            return None;
        }
    };
    let lock: ToolLock = match serde_json::from_value(document.root.to_json()) {
        Ok(lock) => lock,
        Err(error) => {
            out.push(
                Diagnostic::new(
                    codes::AL6008,
                    whole,
                    format!("the lock is not a tool lock: {error}"),
                )
                .help("write it again with `airlock tools pin`"),
            );
            return None;
        }
    };
    if lock.version != LOCK_VERSION {
        let at = document
            .root
            .pointer("/version")
            .map_or(whole, |n| Location { file, span: n.span });
        out.push(
            Diagnostic::new(
                codes::AL6008,
                at,
                format!(
                    "the lock is format version {}; this airlockc reads version {LOCK_VERSION}",
                    lock.version
                ),
            )
            .help("write it again with this release's `airlock tools pin`"),
        );
        return None;
    }
    Some((file, document.root, lock))
}

/// Every pin's hash is its definition's: false when one is not.
pub(super) fn hashes(context: &Context<'_>, out: &mut Diagnostics) -> bool {
    let mut sound = true;
    for (upstream, tools) in &context.lock.upstreams {
        for (tool, pin) in tools {
            let actual = pin_hash(&pin.definition);
            if actual != pin.sha256 {
                sound = false;
                let node = context.node(upstream, tool, "/sha256");
                out.push(
                    Diagnostic::new(
                        codes::AL6008,
                        context.location(node),
                        format!("the pin of {upstream}/{tool} records {} but its definition hashes to {actual}: it was edited after pinning", pin.sha256),
                    )
                    .help("pin again with `airlock tools pin` and review the change; a lock is written, not edited"),
                );
            }
        }
    }
    sound
}
