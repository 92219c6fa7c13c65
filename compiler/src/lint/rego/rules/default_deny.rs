//! AL3003 missing-entrypoint, AL3004 missing-default-deny, AL3013 permissive-default: the
//! entrypoint rule exists in the policy file and is `default <rule> := false`.

use super::super::Context;
use crate::diagnostics::{Diagnostic, Diagnostics, Location, codes};
use crate::policy::ast;
use crate::syntax::Span;
use regorus::unstable::{Expr, Rule};

pub(crate) fn check(context: &Context<'_>, out: &mut Diagnostics) {
    let rule_name = &context.entry_rule;
    let policies: Vec<_> = context.modules.iter().filter(|m| !m.is_test).collect();
    let in_package: Vec<_> = policies
        .iter()
        .filter(|m| ast::package(&m.module) == context.entry_package)
        .collect();
    let Some(first_policy) = policies.first() else {
        return;
    };
    let entry = &context.policy.entrypoint;
    if in_package.is_empty() {
        let package = &first_policy.module.package;
        let found = ast::package(&first_policy.module);
        out.push(
            Diagnostic::new(codes::AL3003, context.location(first_policy.file, &package.span), format!("the entrypoint `{entry}` names package `{}`, but the policy is `package {found}`", context.entry_package))
                .help(format!("set `policy.entrypoint: data.{found}.{rule_name}`, or rename the package to `{}`", context.entry_package)),
        );
        return;
    }
    let rules: Vec<(usize, &Rule)> = in_package
        .iter()
        .flat_map(|m| m.module.policy.iter().map(move |r| (m.file, r.as_ref())))
        .filter(|(_, r)| ast::rule_name(r).as_deref() == Some(rule_name.as_str()))
        .collect();
    let module = in_package[0];
    if rules.is_empty() {
        out.push(
            Diagnostic::new(codes::AL3003, context.location(module.file, &module.module.package.span), format!("the entrypoint `{entry}` names no rule: `package {}` has no `{rule_name}`", context.entry_package))
                .help(format!("add `default {rule_name} := false` and the `{rule_name} if {{ ... }}` rules, or point `policy.entrypoint` at the deciding rule")),
        );
        return;
    }
    let default = rules.iter().find_map(|(file, r)| match r {
        Rule::Default { value, span, .. } => Some((*file, span, value)),
        Rule::Spec { .. } => None,
    });
    match default {
        None => {
            let (file, rule) = rules[0];
            let span = rule.span();
            out.push(
                Diagnostic::new(codes::AL3004, Location { file, span: Span::new(span.start as usize, span.start as usize + rule_name.len()) }, format!("`{rule_name}` has no `default {rule_name} := false`"))
                    .help(format!("add `default {rule_name} := false` so every request no rule allows is denied explicitly")),
            );
        }
        Some((file, span, value)) => {
            if !matches!(value.as_ref(), Expr::Bool { span, .. } if span.text() == "false") {
                out.push(
                    Diagnostic::new(codes::AL3013, context.location(file, span), format!("`{rule_name}` defaults to `{}`", ast::span(value).text()))
                        .help(format!("deny by default: write `default {rule_name} := false` and allow with explicit rules")),
                );
            }
        }
    }
}
