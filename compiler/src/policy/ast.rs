//! Walking regorus' AST: every expression of a module with the rule it belongs to, and helpers
//! to name references (`http.send`, `input.user`, `data.lib.f`).

use regorus::unstable::{Expr, Literal, Module, Query, Rule, RuleHead};

/// Where an expression sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// In a rule's head (its name, key or value).
    Head,
    /// In a rule's body or a default value.
    Body,
}

/// Calls `visit` on every expression of the module, outermost first.
pub fn walk_module(module: &Module, visit: &mut dyn FnMut(&Expr, Place, Option<&Query>)) {
    for rule in &module.policy {
        walk_rule(rule, visit);
    }
}

pub fn walk_rule(rule: &Rule, visit: &mut dyn FnMut(&Expr, Place, Option<&Query>)) {
    match rule {
        Rule::Spec { head, bodies, .. } => {
            match head {
                RuleHead::Compr { refr, assign, .. } => {
                    walk_expr(refr, Place::Head, None, visit);
                    if let Some(assign) = assign {
                        walk_expr(&assign.value, Place::Body, None, visit);
                    }
                }
                RuleHead::Set { refr, key, .. } => {
                    walk_expr(refr, Place::Head, None, visit);
                    if let Some(key) = key {
                        walk_expr(key, Place::Body, None, visit);
                    }
                }
                RuleHead::Func {
                    refr, args, assign, ..
                } => {
                    walk_expr(refr, Place::Head, None, visit);
                    for arg in args {
                        walk_expr(arg, Place::Head, None, visit);
                    }
                    if let Some(assign) = assign {
                        walk_expr(&assign.value, Place::Body, None, visit);
                    }
                }
            }
            for body in bodies {
                if let Some(assign) = &body.assign {
                    walk_expr(&assign.value, Place::Body, None, visit);
                }
                walk_query(&body.query, visit);
            }
        }
        Rule::Default {
            refr, args, value, ..
        } => {
            walk_expr(refr, Place::Head, None, visit);
            for arg in args {
                walk_expr(arg, Place::Head, None, visit);
            }
            walk_expr(value, Place::Body, None, visit);
        }
    }
}

pub fn walk_query(query: &Query, visit: &mut dyn FnMut(&Expr, Place, Option<&Query>)) {
    for stmt in &query.stmts {
        match &stmt.literal {
            Literal::SomeVars { .. } => {}
            Literal::SomeIn {
                key,
                value,
                collection,
                ..
            } => {
                if let Some(key) = key {
                    walk_expr(key, Place::Body, Some(query), visit);
                }
                walk_expr(value, Place::Body, Some(query), visit);
                walk_expr(collection, Place::Body, Some(query), visit);
            }
            Literal::Expr { expr, .. } | Literal::NotExpr { expr, .. } => {
                walk_expr(expr, Place::Body, Some(query), visit)
            }
            Literal::Every {
                domain,
                query: inner,
                ..
            } => {
                walk_expr(domain, Place::Body, Some(query), visit);
                walk_query(inner, visit);
            }
        }
        for with in &stmt.with_mods {
            walk_expr(&with.refr, Place::Body, Some(query), visit);
            walk_expr(&with.r#as, Place::Body, Some(query), visit);
        }
    }
}

pub fn walk_expr(
    expr: &Expr,
    place: Place,
    query: Option<&Query>,
    visit: &mut dyn FnMut(&Expr, Place, Option<&Query>),
) {
    visit(expr, place, query);
    let mut child = |e: &Expr| walk_expr(e, place, query, visit);
    match expr {
        Expr::Array { items, .. } | Expr::Set { items, .. } => items.iter().for_each(|i| child(i)),
        Expr::Object { fields, .. } => {
            for (_, k, v) in fields {
                child(k);
                child(v);
            }
        }
        Expr::ArrayCompr {
            term, query: inner, ..
        }
        | Expr::SetCompr {
            term, query: inner, ..
        } => {
            child(term);
            walk_query(inner, visit);
        }
        Expr::ObjectCompr {
            key,
            value,
            query: inner,
            ..
        } => {
            child(key);
            child(value);
            walk_query(inner, visit);
        }
        Expr::Call { fcn, params, .. } => {
            child(fcn);
            params.iter().for_each(|p| child(p));
        }
        Expr::UnaryExpr { expr, .. } => child(expr),
        Expr::RefDot { refr, .. } => child(refr),
        Expr::RefBrack { refr, index, .. } => {
            child(refr);
            child(index);
        }
        Expr::BinExpr { lhs, rhs, .. }
        | Expr::BoolExpr { lhs, rhs, .. }
        | Expr::ArithExpr { lhs, rhs, .. }
        | Expr::AssignExpr { lhs, rhs, .. } => {
            child(lhs);
            child(rhs);
        }
        Expr::Membership {
            key,
            value,
            collection,
            ..
        } => {
            if let Some(key) = key {
                child(key);
            }
            child(value);
            child(collection);
        }
        _ => {}
    }
}

/// The dotted path of a reference made of variables and `.field`s: `http.send`, `input.tool`.
pub fn path(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Var { span, .. } => Some(span.text().to_string()),
        Expr::RefDot { refr, field, .. } => Some(format!("{}.{}", path(refr)?, field.0.text())),
        _ => None,
    }
}

/// The name of the rule a head defines (`allow`, `allowed_tool`, `a.b` for ref heads).
pub fn rule_name(rule: &Rule) -> Option<String> {
    match rule {
        Rule::Spec { head, .. } => match head {
            RuleHead::Compr { refr, .. }
            | RuleHead::Set { refr, .. }
            | RuleHead::Func { refr, .. } => path(refr),
        },
        Rule::Default { refr, .. } => path(refr),
    }
}

/// True when the rule is a function (`f(x) := ...`).
pub fn is_function(rule: &Rule) -> bool {
    matches!(
        rule,
        Rule::Spec {
            head: RuleHead::Func { .. },
            ..
        }
    ) || matches!(rule, Rule::Default { args, .. } if !args.is_empty())
}

/// The package of a module without the `data.` prefix: `airlock.authz`.
pub fn package(module: &Module) -> String {
    path(&module.package.refr).unwrap_or_default()
}

/// The span of any expression.
pub fn span(expr: &Expr) -> &regorus::unstable::Span {
    match expr {
        Expr::String { span, .. }
        | Expr::RawString { span, .. }
        | Expr::Number { span, .. }
        | Expr::Bool { span, .. }
        | Expr::Null { span, .. }
        | Expr::Var { span, .. }
        | Expr::Array { span, .. }
        | Expr::Set { span, .. }
        | Expr::Object { span, .. }
        | Expr::ArrayCompr { span, .. }
        | Expr::SetCompr { span, .. }
        | Expr::ObjectCompr { span, .. }
        | Expr::Call { span, .. }
        | Expr::UnaryExpr { span, .. }
        | Expr::RefDot { span, .. }
        | Expr::RefBrack { span, .. }
        | Expr::BinExpr { span, .. }
        | Expr::BoolExpr { span, .. }
        | Expr::ArithExpr { span, .. }
        | Expr::AssignExpr { span, .. }
        | Expr::Membership { span, .. } => span,
    }
}
