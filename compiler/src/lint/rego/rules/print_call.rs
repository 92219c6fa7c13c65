//! AL3012 print-call: `print` output is discarded at runtime and may leak input into logs.

use super::super::{Context, ast};
use crate::diagnostics::{Diagnostic, Diagnostics, code};
use regorus::unstable::Expr;

pub(crate) fn check(context: &Context<'_>, out: &mut Diagnostics) {
    for parsed in context.modules.iter().filter(|m| !m.is_test) {
        ast::walk_module(&parsed.module, &mut |expr, _, _| {
            if let Expr::Call { fcn, .. } = expr
                && ast::path(fcn).as_deref() == Some("print")
            {
                out.push(
                        Diagnostic::new(code("AL3012"), context.location(parsed.file, ast::span(expr)), "`print` in a policy")
                            .help("remove it: the gateway discards print output, and input printed while debugging may hold personal data"),
                    );
            }
        });
    }
}
