//! AL3005 non-hermetic-builtin and AL3002 for calls that resolve to nothing: every call must be
//! a hermetic builtin or a function the policy defines.

use super::super::Context;
use crate::diagnostics::{Diagnostic, Diagnostics, codes};
use crate::policy::ast;
use regorus::unstable::{BUILTINS, Expr};
use std::collections::BTreeSet;

/// Builtins whose result depends on the world outside the input: never in an authorization policy.
const NON_HERMETIC: [&str; 6] = [
    "http.",
    "time.now_ns",
    "rand.",
    "uuid.",
    "opa.runtime",
    "net.",
];

fn is_non_hermetic(name: &str) -> bool {
    NON_HERMETIC.iter().any(|prefix| {
        if prefix.ends_with('.') {
            name.starts_with(prefix)
        } else {
            name == *prefix
        }
    })
}

pub(crate) fn check(context: &Context<'_>, out: &mut Diagnostics) {
    let mut functions = BTreeSet::new();
    for parsed in context.modules {
        let package = ast::package(&parsed.module);
        for rule in &parsed.module.policy {
            if let Some(name) = ast::rule_name(rule).filter(|_| ast::is_function(rule)) {
                functions.insert(format!("data.{package}.{name}"));
                functions.insert(name);
            }
        }
    }
    for parsed in context.modules {
        let imports: BTreeSet<String> = parsed
            .module
            .imports
            .iter()
            .filter_map(|i| {
                i.r#as.as_ref().map(|s| s.text().to_string()).or_else(|| {
                    ast::path(&i.refr).and_then(|p| p.rsplit('.').next().map(String::from))
                })
            })
            .collect();
        ast::walk_module(&parsed.module, &mut |expr, _, _| {
            let Expr::Call { fcn, .. } = expr else { return };
            let Some(name) = ast::path(fcn) else { return };
            let span = ast::span(fcn);
            if is_non_hermetic(&name) {
                out.push(
                    Diagnostic::new(codes::AL3005, context.location(parsed.file, span), format!("`{name}` makes the decision depend on the outside world"))
                        .help("decisions must be reproducible, testable and cacheable, and never call out on the request path: pass such facts in `input.metadata` instead"),
                );
                return;
            }
            let first = name.split('.').next().unwrap_or_default();
            let known = BUILTINS.contains_key(name.as_str())
                || name == "print"
                || functions.contains(&name)
                || name.starts_with("data.")
                || imports.contains(first);
            if !known {
                out.push(
                    Diagnostic::new(codes::AL3002, context.location(parsed.file, span), format!("unknown function `{name}`"))
                        .help("it is neither a builtin regorus provides nor a function this policy defines"),
                );
            }
        });
    }
}
