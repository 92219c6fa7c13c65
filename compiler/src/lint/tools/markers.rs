//! AL6001–AL6004: the poisoning markers in each pinned definition (`airlock_schema::poisoning`):
//! hidden text and instructions addressed to the model are errors, links and an oversized
//! description are warnings for the reviewer. A marker accepted in `toolScreening.exceptions`
//! for that tool is not reported.

use super::Context;
use crate::diagnostics::{Code, Diagnostic, Diagnostics, codes};
use airlock_schema::poisoning::{self, Finding, Kind};

fn code(kind: Kind) -> &'static Code {
    match kind {
        Kind::HiddenText => codes::AL6001,
        Kind::ModelInstruction => codes::AL6002,
        Kind::Link => codes::AL6003,
        Kind::Oversized => codes::AL6004,
    }
}

fn message(upstream: &str, tool: &str, finding: &Finding) -> String {
    let what = &finding.what;
    match finding.kind {
        Kind::HiddenText => format!(
            "{upstream}/{tool}: `{}` holds an invisible character ({what}) a reviewer cannot see and a model reads",
            finding.field
        ),
        Kind::ModelInstruction => format!(
            "{upstream}/{tool}: `{}` addresses the model: \"{what}\"",
            finding.field
        ),
        Kind::Link => format!(
            "{upstream}/{tool}: `{}` holds a link: {what}",
            finding.field
        ),
        Kind::Oversized => format!("{upstream}/{tool}: the description is {what}"),
    }
}

fn help(kind: Kind, upstream: &str, tool: &str) -> String {
    let accept = format!(
        "if a reviewer finds it sound, accept it for this tool only: `toolScreening: {{exceptions: [{{upstream: {upstream}, tool: {tool}, markers: [{}], reason: \"...\"}}]}}`",
        kind.as_str()
    );
    match kind {
        Kind::HiddenText | Kind::ModelInstruction => format!(
            "do not pin this definition: report it to the server's maintainers and leave the tool unpinned (it is then withheld); {accept}"
        ),
        Kind::Link => {
            format!("check where the link leads and why a tool's description needs it; {accept}")
        }
        Kind::Oversized => format!(
            "a tool needs a few sentences; a long description is where instructions hide: read all of it; {accept}"
        ),
    }
}

pub(super) fn check(context: &Context<'_>, out: &mut Diagnostics) {
    for (upstream, tools) in &context.lock.upstreams {
        for (tool, pin) in tools {
            for finding in poisoning::scan(&pin.definition) {
                if context.accepted(upstream, tool, finding.kind) {
                    continue;
                }
                let rest = format!("/definition/{}", dotted_to_pointer(&finding.field));
                let node = context.node(upstream, tool, &rest);
                out.push(
                    Diagnostic::new(
                        code(finding.kind),
                        context.location(node),
                        message(upstream, tool, &finding),
                    )
                    .help(help(finding.kind, upstream, tool)),
                );
            }
        }
    }
}

/// `inputSchema.properties.note.description` → `inputSchema/properties/note/description`.
fn dotted_to_pointer(field: &str) -> String {
    field.replace(['.', '['], "/").replace(']', "")
}
