//! AL3011 no-tests: a file listed in `policy.tests` without any `test_*` rule.

use super::super::Context;
use crate::diagnostics::{Diagnostic, Diagnostics, codes};
use crate::policy::ast;

pub(crate) fn check(context: &Context<'_>, out: &mut Diagnostics) {
    for parsed in context.modules.iter().filter(|m| m.is_test) {
        let has_tests = parsed
            .module
            .policy
            .iter()
            .any(|r| ast::rule_name(r).is_some_and(|n| n.starts_with("test_")));
        if !has_tests {
            out.push(
                Diagnostic::new(codes::AL3011, context.location(parsed.file, &parsed.module.package.span), "this test file has no `test_*` rule")
                    .help("add rules named `test_...` that are true when the policy decides as expected, e.g. `test_deny_anonymous if not allow with input as {}`"),
            );
        }
    }
}
