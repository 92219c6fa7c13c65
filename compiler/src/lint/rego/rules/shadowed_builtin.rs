//! AL3007 shadowed-builtin: a rule or function named like a builtin hides it in the package.

use super::super::Context;
use crate::diagnostics::{Diagnostic, Diagnostics, codes};
use crate::policy::ast;
use regorus::unstable::BUILTINS;

pub(crate) fn check(context: &Context<'_>, out: &mut Diagnostics) {
    for parsed in context.modules {
        for rule in &parsed.module.policy {
            let Some(name) = ast::rule_name(rule) else {
                continue;
            };
            if BUILTINS.contains_key(name.as_str()) || name == "print" {
                out.push(
                    Diagnostic::new(codes::AL3007, context.location(parsed.file, rule.span()), format!("the rule `{name}` shadows the builtin `{name}`"))
                        .help(format!("rename the rule (e.g. `{name}_of`); inside this package `{name}(...)` no longer means the builtin")),
                );
            }
        }
    }
}
