//! AL6xxx: the lock of reviewed tool definitions (`toolPinning.lockFile`). The lock is read with
//! spans, so each finding points at `file:line:col` in the lock; its pins must hash to what
//! they record (AL6008). Each rule is a file: the poisoning markers of `airlock_schema::poisoning`
//! (hidden text AL6001, instructions to the model AL6002, links AL6003, size AL6004), a tool that
//! names another upstream's tool (AL6005), a pin `allowTools` or the policy can never serve (AL6006), and a tool
//! `allowTools` serves that has no pin while `onUnpinned: block` (AL6007). A reviewer accepts a
//! marker for one tool in `toolScreening.exceptions`, with a reason.

mod dead_pin;
mod lock;
mod markers;
mod shadowing;
mod unpinned;

use crate::diagnostics::Diagnostics;
use crate::policy::PolicyBundle;
use crate::policy::reach::{self, Reach};
use crate::syntax::Node;
use crate::validate::ConfigDoc;
use crate::workspace::Workspace;
use airlock_schema::config::{ToolException, ToolPinning, ToolScreening, Upstream};
use airlock_schema::pins::ToolLock;
use airlock_schema::poisoning::Kind;

/// What every rule reads.
struct Context<'a> {
    lock: &'a ToolLock,
    /// The lock's parsed text, for spans.
    root: &'a Node,
    /// The lock's file index in the workspace.
    file: usize,
    pinning: &'a ToolPinning,
    upstreams: &'a [Upstream],
    exceptions: &'a [ToolException],
    /// The tools the policy can ever allow on a `tools/call`, and its entrypoint.
    policy: (Reach, &'a str),
}

impl Context<'_> {
    /// Whether a reviewer accepted `marker` for this tool.
    fn accepted(&self, upstream: &str, tool: &str, marker: Kind) -> bool {
        self.exceptions
            .iter()
            .any(|e| e.upstream == upstream && e.tool == tool && e.markers.contains(&marker))
    }

    /// The node of a pin's field (`definition/description`), or the closest one that exists.
    fn node(&self, upstream: &str, tool: &str, rest: &str) -> &Node {
        let base = format!(
            "/upstreams/{}/{}",
            crate::validate::doc::escape(upstream),
            crate::validate::doc::escape(tool)
        );
        let mut pointer = format!("{base}{rest}");
        loop {
            if let Some(node) = self.root.pointer(&pointer) {
                return node;
            }
            match pointer.rfind('/') {
                Some(i) if i > 0 => pointer.truncate(i),
                _ => return self.root,
            }
        }
    }

    fn location(&self, node: &Node) -> crate::diagnostics::Location {
        crate::diagnostics::Location {
            file: self.file,
            span: node.span,
        }
    }
}

/// Lints the lock, when `toolPinning` names one; the lock, when it is readable and sound.
pub fn check(
    doc: &ConfigDoc<'_>,
    workspace: &Workspace,
    policy: Option<&PolicyBundle>,
    out: &mut Diagnostics,
) -> Option<ToolLock> {
    let pinning = doc.section::<ToolPinning>("/toolPinning")?;
    let (file, root, lock) = lock::load(doc, workspace, &pinning.lock_file, out)?;
    let screening = doc
        .section_or_default::<ToolScreening>("/toolScreening")
        .unwrap_or_default();
    let upstreams: Vec<Upstream> = doc
        .items::<Upstream>("/upstreams")
        .into_iter()
        .map(|(_, u)| u)
        .collect();
    let policy = match policy {
        Some(bundle) => {
            let modules = bundle.modules(workspace);
            let reach =
                reach::allowed_tools(&modules.iter().collect::<Vec<_>>(), &bundle.entrypoint);
            (reach, bundle.entrypoint.as_str())
        }
        None => (Reach::Any, ""),
    };
    let context = Context {
        policy,
        lock: &lock,
        root: &root,
        file,
        pinning: &pinning,
        upstreams: &upstreams,
        exceptions: &screening.exceptions,
    };
    let sound = lock::hashes(&context, out);
    markers::check(&context, out);
    shadowing::check(&context, out);
    dead_pin::check(&context, out);
    unpinned::check(&context, out);
    sound.then_some(lock)
}
