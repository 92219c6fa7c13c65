//! AL3006 constant-condition: a body expression that is a literal, or compares two literals.

use super::super::Context;
use crate::diagnostics::{Diagnostic, Diagnostics, codes};
use crate::policy::ast;
use regorus::unstable::{Expr, Literal};

fn is_scalar_literal(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::Bool { .. }
            | Expr::Number { .. }
            | Expr::String { .. }
            | Expr::RawString { .. }
            | Expr::Null { .. }
    )
}

fn constant(expr: &Expr) -> bool {
    match expr {
        Expr::BoolExpr { lhs, rhs, .. } => is_scalar_literal(lhs) && is_scalar_literal(rhs),
        other => is_scalar_literal(other),
    }
}

pub(crate) fn check(context: &Context<'_>, out: &mut Diagnostics) {
    for parsed in context.modules.iter().filter(|m| !m.is_test) {
        for rule in &parsed.module.policy {
            ast::walk_rule(rule, &mut |_, _, query| {
                let Some(query) = query else { return };
                for stmt in &query.stmts {
                    let (Literal::Expr { expr, span } | Literal::NotExpr { expr, span }) =
                        &stmt.literal
                    else {
                        continue;
                    };
                    if constant(expr) {
                        let text = span.text();
                        out.push(
                            Diagnostic::new(
                                codes::AL3006,
                                context.location(parsed.file, span),
                                format!("`{text}` is always the same, whatever the input"),
                            )
                            .help("compare against `input` or a rule, or remove the condition"),
                        );
                    }
                }
            });
        }
    }
    // A query is visited once per expression in it; report each statement once.
    dedup(out);
}

fn dedup(out: &mut Diagnostics) {
    let all = std::mem::take(out).sorted();
    out.extend(all.into_vec());
}
