//! Which tools a policy can ever allow, read from its AST: an over-approximation, so a tool left
//! out can never be allowed on a `tools/call`, and `Reach::Any` whenever the policy does not
//! say so plainly. The dead-pin lint (AL6006) uses it; it never decides anything at runtime.
//!
//! What is understood, in the bodies of the entrypoint rule (any other statement is ignored,
//! which only widens the answer):
//! - `input.tool == "x"` (or `=`, either side), `input.tool in {"x", "y"}` or `[...]`;
//! - `input.tool in name` where `name` is a rule of the same package that is a constant set
//!   (`name := {"x"}`) or a partial set (`name contains t if { some t in {...} }`, `t in c`,
//!   or a literal key), resolved through other such rules;
//! - `input.method == "m"` with `m` other than `tools/call`: the body never allows a tool call.
//!
//! A default other than `false`, a value other than `true`, a `with` modifier, or a tool
//! constraint it cannot resolve make the answer `Any`.

use super::ast::{package, path, rule_name};
use regorus::unstable::{AssignOp, BoolOp, Expr, Literal, Module, Query, Rule, RuleHead};
use std::collections::BTreeSet;

/// The tool names (as the gateway names them, prefix included) a policy may allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Any tool, as far as the policy's text tells.
    Any,
    /// Only these.
    Only(BTreeSet<String>),
}

impl Reach {
    pub fn allows(&self, tool: &str) -> bool {
        match self {
            Reach::Any => true,
            Reach::Only(tools) => tools.contains(tool),
        }
    }
}

/// Rule references are followed this deep (a cycle is a Rego error; this only bounds the walk).
const MAX_DEPTH: usize = 8;

/// The tools `entrypoint` (`data.airlock.authz.allow`) can be true for on a `tools/call`.
pub fn allowed_tools(modules: &[&Module], entrypoint: &str) -> Reach {
    let Some((pkg, rule)) = entrypoint
        .strip_prefix("data.")
        .and_then(|path| path.rsplit_once('.'))
    else {
        return Reach::Any;
    };
    let scope = Scope {
        rules: modules
            .iter()
            .filter(|m| package(m) == pkg)
            .flat_map(|m| m.policy.iter().map(|r| r.as_ref()))
            .collect(),
    };
    scope.rule_tools(rule, 0).map_or(Reach::Any, Reach::Only)
}

/// The rules of the entrypoint's package.
struct Scope<'a> {
    rules: Vec<&'a Rule>,
}

impl Scope<'_> {
    fn named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Rule> + 's {
        self.rules
            .iter()
            .copied()
            .filter(move |r| rule_name(r).as_deref() == Some(name))
    }

    /// The tools for which the boolean rule `name` can be true on a tool call; `None`: any.
    fn rule_tools(&self, name: &str, depth: usize) -> Option<BTreeSet<String>> {
        if depth > MAX_DEPTH {
            return None;
        }
        let mut tools = BTreeSet::new();
        let mut defined = false;
        for rule in self.named(name) {
            defined = true;
            match rule {
                Rule::Default { value, .. } => {
                    if !matches!(value.as_ref(), Expr::Bool { span, .. } if span.text() == "false")
                    {
                        return None;
                    }
                }
                Rule::Spec { head, bodies, .. } => {
                    let RuleHead::Compr { assign, .. } = head else {
                        return None;
                    };
                    if !assign.as_ref().is_none_or(|a| is_true(&a.value)) {
                        return None;
                    }
                    for body in bodies {
                        if !body.assign.as_ref().is_none_or(|a| is_true(&a.value)) {
                            return None;
                        }
                        tools.extend(self.body_tools(&body.query, depth)?);
                    }
                }
            }
        }
        defined.then_some(tools)
    }

    /// The tools a body can be true for; `None`: any. Its statements all hold, so each one
    /// that says something narrows the answer; one that says nothing is passed over.
    fn body_tools(&self, query: &Query, depth: usize) -> Option<BTreeSet<String>> {
        if query.stmts.iter().any(|stmt| !stmt.with_mods.is_empty()) {
            return None;
        }
        let mut constraint: Option<BTreeSet<String>> = None;
        for stmt in &query.stmts {
            let Literal::Expr { expr, .. } = &stmt.literal else {
                continue;
            };
            let allowed = if excludes_tool_calls(expr) {
                Some(BTreeSet::new())
            } else if let Expr::Var { span, .. } = expr.as_ref() {
                // A helper rule (`is_resource_read`, `tool_ok`).
                self.rule_tools(span.text(), depth + 1)
            } else {
                self.tool_constraint(expr).flatten()
            };
            if let Some(allowed) = allowed {
                constraint = Some(match constraint {
                    None => allowed,
                    Some(before) => before.intersection(&allowed).cloned().collect(),
                });
            }
        }
        constraint
    }

    /// `Some(set)` when `expr` constrains `input.tool` (`Some(None)`: to something unknown).
    fn tool_constraint(&self, expr: &Expr) -> Option<Option<BTreeSet<String>>> {
        if let Some(other) = compared_with_input(expr, "tool") {
            return Some(string(other).map(|s| BTreeSet::from([s])));
        }
        match expr {
            Expr::Membership {
                key: None,
                value,
                collection,
                ..
            } if is_input(value, "tool") => Some(self.set(collection, 0)),
            _ => None,
        }
    }

    /// The strings a collection can hold; `None`: unknown.
    fn set(&self, expr: &Expr, depth: usize) -> Option<BTreeSet<String>> {
        if depth > MAX_DEPTH {
            return None;
        }
        match expr {
            Expr::Set { items, .. } | Expr::Array { items, .. } => {
                items.iter().map(|item| string(item)).collect()
            }
            Expr::Var { span, .. } => self.rule_set(span.text(), depth + 1),
            _ => None,
        }
    }

    /// The strings rule `name` of this package can hold, when every definition says plainly.
    fn rule_set(&self, name: &str, depth: usize) -> Option<BTreeSet<String>> {
        let mut values = BTreeSet::new();
        let mut defined = false;
        for rule in self.named(name) {
            defined = true;
            let Rule::Spec { head, bodies, .. } = rule else {
                return None;
            };
            match head {
                // `name := {...}`
                RuleHead::Compr {
                    assign: Some(assign),
                    ..
                } => values.extend(self.set(&assign.value, depth)?),
                // `name contains key if { ... }`
                RuleHead::Set { key: Some(key), .. } => {
                    if bodies.is_empty() {
                        values.insert(string(key)?);
                    }
                    for body in bodies {
                        values.extend(self.key_values(key, &body.query, depth)?);
                    }
                }
                _ => return None,
            }
        }
        defined.then_some(values)
    }

    /// The values a partial set's key takes in one body.
    fn key_values(&self, key: &Expr, query: &Query, depth: usize) -> Option<BTreeSet<String>> {
        if let Some(literal) = string(key) {
            return Some(BTreeSet::from([literal]));
        }
        let Expr::Var { span, .. } = key else {
            return None;
        };
        let var = span.text();
        let binds = |value: &Expr| matches!(value, Expr::Var { span, .. } if span.text() == var);
        query.stmts.iter().find_map(|stmt| {
            let (value, collection) = match &stmt.literal {
                Literal::SomeIn {
                    key: None,
                    value,
                    collection,
                    ..
                } => (value, collection),
                Literal::Expr { expr, .. } => match expr.as_ref() {
                    Expr::Membership {
                        key: None,
                        value,
                        collection,
                        ..
                    } => (value, collection),
                    _ => return None,
                },
                _ => return None,
            };
            binds(value).then(|| self.set(collection, depth))
        })?
    }
}

/// `input.method == "m"` (or `=`) with `m` other than `tools/call`.
fn excludes_tool_calls(expr: &Expr) -> bool {
    compared_with_input(expr, "method")
        .and_then(string)
        .is_some_and(|m| m != "tools/call")
}

/// The other side of `input.<field> == x` or `input.<field> = x` (either way round).
fn compared_with_input<'e>(expr: &'e Expr, field: &str) -> Option<&'e Expr> {
    let (lhs, rhs) = match expr {
        Expr::BoolExpr {
            op: BoolOp::Eq,
            lhs,
            rhs,
            ..
        }
        | Expr::AssignExpr {
            op: AssignOp::Eq,
            lhs,
            rhs,
            ..
        } => (lhs, rhs),
        _ => return None,
    };
    if is_input(lhs, field) {
        Some(rhs)
    } else if is_input(rhs, field) {
        Some(lhs)
    } else {
        None
    }
}

/// `input.<field>` or `input["<field>"]`.
fn is_input(expr: &Expr, field: &str) -> bool {
    match expr {
        Expr::RefBrack { refr, index, .. } => {
            path(refr).as_deref() == Some("input") && string(index).as_deref() == Some(field)
        }
        _ => path(expr).is_some_and(|p| p.strip_prefix("input.") == Some(field)),
    }
}

fn string(expr: &Expr) -> Option<String> {
    match expr {
        Expr::String { value, .. } | Expr::RawString { value, .. } => {
            value.as_string().ok().map(|s| s.to_string())
        }
        _ => None,
    }
}

fn is_true(expr: &Expr) -> bool {
    matches!(expr, Expr::Bool { span, .. } if span.text() == "true")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::SourceFile;

    fn reach(source: &str) -> Reach {
        let file = SourceFile::new("policy.rego", source);
        let module = crate::policy::parse(&file, 0).unwrap();
        allowed_tools(&[&module], "data.airlock.authz.allow")
    }

    fn only(tools: &[&str]) -> Reach {
        Reach::Only(tools.iter().map(|t| t.to_string()).collect())
    }

    const HEAD: &str = "package airlock.authz\nimport rego.v1\ndefault allow := false\n";

    #[test]
    fn plain_tool_constraints_are_read() {
        let cases = [
            ("allow if { input.tool == \"a\" }", only(&["a"])),
            (
                "allow if { \"b\" == input.tool; \"g\" in input.groups }",
                only(&["b"]),
            ),
            (
                "allow if { input.tool in {\"a\", \"b\"} }\nallow if input.tool = \"c\"",
                only(&["a", "b", "c"]),
            ),
            ("allow if { input[\"tool\"] in [\"a\"] }", only(&["a"])),
            // Two constraints in one body: both hold.
            (
                "allow if { input.tool in {\"a\", \"b\"}; input.tool in {\"b\", \"c\"} }",
                only(&["b"]),
            ),
            // A body only for resource reads allows no tool call.
            (
                "allow if { input.tool in {\"a\"} }\nallow if { input.method == \"resources/read\"; input.resource != \"\" }",
                only(&["a"]),
            ),
            (
                "allow if { input.tool in tools }\ntools := {\"a\"}\ntools := {\"z\"} if input.tenant == \"t\"",
                only(&["a", "z"]),
            ),
            (
                "allow if { input.tool in allowed }\nallowed contains t if { some t in base }\nallowed contains \"x\" if input.tenant == \"t\"\nbase := [\"a\", \"b\"]",
                only(&["a", "b", "x"]),
            ),
            (
                "allow if { input.tool in allowed }\nallowed contains t if { \"admins\" in input.groups; t in base }\nbase := {\"k\"}",
                only(&["k"]),
            ),
            // Helper rules: one that only reads resources, one that names the tool.
            (
                "allow if { reads; \"g\" in input.groups }\nreads if input.method == \"resources/read\"\nallow if tool_ok\ntool_ok if input.tool == \"a\"\ntool_ok if input.tool == \"b\"",
                only(&["a", "b"]),
            ),
        ];
        for (rules, expected) in cases {
            assert_eq!(reach(&format!("{HEAD}{rules}\n")), expected, "{rules}");
        }
    }

    #[test]
    fn anything_less_plain_allows_any_tool() {
        let cases = [
            "allow if \"mcp.users\" in input.groups",
            "allow if { input.tool in {\"a\"} }\nallow if { \"admins\" in input.groups }",
            "allow if { startswith(input.tool, \"read_\") }",
            "allow if { input.tool in tools }\ntools := {t | some t in input.metadata.tools}",
            "allow if { input.tool in allowed }\nallowed contains t if { t := lower(input.tool) }",
            "allow if { input.tool == x }\nx := \"a\"",
            "allow if { input.tool in {\"a\"} with input.tool as \"b\" }",
            "allow := input.tenant == \"t\"",
            "allow if { input.tool in undefined_rule }",
        ];
        for rules in cases {
            assert_eq!(reach(&format!("{HEAD}{rules}\n")), Reach::Any, "{rules}");
        }
        let default_true = "package airlock.authz\nimport rego.v1\ndefault allow := true\nallow if input.tool == \"a\"\n";
        assert_eq!(reach(default_true), Reach::Any);
    }

    #[test]
    fn the_production_example_allows_its_tool_lists() {
        let source = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/production/policy.rego"
        ))
        .unwrap();
        let Reach::Only(tools) = reach(&source) else {
            panic!("the production policy's tools are plain sets");
        };
        assert_eq!(
            tools,
            BTreeSet::from(
                [
                    "search_docs",
                    "web_search_docs",
                    "read_file",
                    "list_directory",
                    "search_files",
                    "explain_diff",
                    "find_symbol",
                    "write_file",
                    "execute_command"
                ]
                .map(String::from)
            )
        );
    }
}
