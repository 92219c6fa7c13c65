//! AL3009 unknown-input: `input.X` where the gateway never provides X; the reference is always
//! undefined, so the rule silently never (or, under `not`, always) holds.

use super::super::{Context, INPUT_FIELDS};
use crate::diagnostics::{Diagnostic, Diagnostics, codes};
use crate::policy::ast;
use crate::validate::suggest;
use regorus::unstable::Expr;

pub(crate) fn check(context: &Context<'_>, out: &mut Diagnostics) {
    let fields: Vec<String> = INPUT_FIELDS.iter().map(|s| s.to_string()).collect();
    for parsed in context.modules.iter().filter(|m| !m.is_test) {
        ast::walk_module(&parsed.module, &mut |expr, _, _| {
            let (field, span) = match expr {
                Expr::RefDot { refr, field, .. } if matches!(refr.as_ref(), Expr::Var { span, .. } if span.text() == "input") => {
                    (
                        field
                            .1
                            .as_string()
                            .map(|s| s.to_string())
                            .unwrap_or_else(|_| field.0.text().to_string()),
                        &field.0,
                    )
                }
                Expr::RefBrack { refr, index, .. } if matches!(refr.as_ref(), Expr::Var { span, .. } if span.text() == "input") => {
                    match index.as_ref() {
                        Expr::String { span, value, .. } => (
                            value.as_string().map(|s| s.to_string()).unwrap_or_default(),
                            span,
                        ),
                        _ => return,
                    }
                }
                _ => return,
            };
            if !INPUT_FIELDS.contains(&field.as_str()) {
                let help = synonym(&field)
                    .map(|s| format!("did you mean `input.{s}`?"))
                    .or_else(|| suggest::choice(&field, &fields))
                    .unwrap_or_else(|| format!("the gateway provides {}", suggest::list(&fields)));
                out.push(
                    Diagnostic::new(
                        codes::AL3009,
                        context.location(parsed.file, span),
                        format!("`input.{field}` is never provided by the gateway"),
                    )
                    .help(help),
                );
            }
        });
    }
}

/// The input field people mean when they write another common name for it.
fn synonym(field: &str) -> Option<&'static str> {
    Some(match field.to_ascii_lowercase().as_str() {
        "user" | "username" | "user_id" | "sub" | "email" | "principal" | "identity" => "subject",
        "group" | "roles" | "role" => "groups",
        "tid" | "org" | "organization" | "organisation" | "team" | "tenant_id" => "tenant",
        "action" | "operation" | "verb" => "method",
        "path" | "uri" | "url" | "file" | "resource_uri" => "resource",
        "name" | "tool_name" | "function" => "tool",
        "args" | "arguments" | "params" | "context" | "request" => "metadata",
        _ => return None,
    })
}
