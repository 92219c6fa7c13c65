//! AL3012 print-call: the gateway's evaluator (regorus' RVM) has no `print`, so a policy that
//! calls it does not load; and printed input may leak into logs.

use super::super::Context;
use crate::diagnostics::{Diagnostic, Diagnostics, codes};
use crate::policy::ast;
use regorus::unstable::Expr;

pub(crate) fn check(context: &Context<'_>, out: &mut Diagnostics) {
    for parsed in context.modules.iter().filter(|m| !m.is_test) {
        ast::walk_module(&parsed.module, &mut |expr, _, _| {
            if let Expr::Call { fcn, .. } = expr
                && ast::path(fcn).as_deref() == Some("print")
            {
                out.push(
                        Diagnostic::new(codes::AL3012, context.location(parsed.file, ast::span(expr)), "`print` in a policy")
                            .help("remove it: the gateway's policy evaluator has no `print`, so this policy would not load (test what you were debugging with a `test_*` rule)"),
                    );
            }
        });
    }
}
