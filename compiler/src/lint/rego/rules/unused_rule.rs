//! AL3008 unused-rule: a rule of the policy that nothing refers to (dead code in an
//! authorization policy is usually a rule someone believes is in effect).

use super::super::{Context, WELL_KNOWN_RULES};
use crate::diagnostics::{Diagnostic, Diagnostics, codes};
use crate::policy::ast;
use regorus::unstable::Expr;
use std::collections::BTreeSet;

pub(crate) fn check(context: &Context<'_>, out: &mut Diagnostics) {
    let mut referenced = BTreeSet::new();
    for parsed in context.modules {
        let package = ast::package(&parsed.module);
        ast::walk_module(&parsed.module, &mut |expr, place, _| {
            if place == ast::Place::Head {
                return;
            }
            if let Expr::Var { span, .. } = expr {
                referenced.insert(span.text().to_string());
            }
            if let Some(path) = ast::path(expr) {
                if let Some(rest) = path.strip_prefix(&format!("data.{package}.")) {
                    referenced.insert(rest.split('.').next().unwrap_or_default().to_string());
                }
                if let Some(rest) = path.strip_prefix("data.") {
                    referenced.insert(rest.rsplit('.').next().unwrap_or_default().to_string());
                }
            }
        });
    }
    let mut reported = BTreeSet::new();
    for parsed in context.modules.iter().filter(|m| !m.is_test) {
        for rule in &parsed.module.policy {
            let Some(name) = ast::rule_name(rule) else {
                continue;
            };
            let exempt = name == context.entry_rule
                || name.starts_with("test_")
                || WELL_KNOWN_RULES.contains(&name.as_str());
            if exempt || referenced.contains(&name) || !reported.insert(name.clone()) {
                continue;
            }
            out.push(
                Diagnostic::new(codes::AL3008, context.location(parsed.file, rule.span()), format!("the rule `{name}` is never used"))
                    .help(format!("nothing refers to `{name}`, so it has no effect on decisions: use it from `{}`, or remove it", context.entry_rule)),
            );
        }
    }
}
