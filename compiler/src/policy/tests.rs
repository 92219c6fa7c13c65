//! Policy tests, like `opa test`: every `test_*` rule of the test files is evaluated with
//! regorus against the policy; true passes, anything else fails with its location.

use super::{PolicyBundle, ast, from_regorus};
use crate::diagnostics::{Diagnostic, Location, codes};
use crate::syntax::{SourceFile, Span};
use crate::workspace::Workspace;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// The rule was false or undefined.
    Fail,
    /// Evaluation raised an error.
    Error(String),
}

#[derive(Clone, Debug)]
pub struct TestResult {
    /// `data.airlock.authz.test_allow_reader`
    pub name: String,
    pub location: Location,
    pub outcome: Outcome,
}

impl TestResult {
    /// The AL3010 diagnostic of a failed test.
    pub fn diagnostic(&self) -> Option<Diagnostic> {
        let message = match &self.outcome {
            Outcome::Pass => return None,
            Outcome::Fail => format!("policy test `{}` failed", self.name),
            Outcome::Error(error) => {
                format!("policy test `{}` raised an error: {error}", self.name)
            }
        };
        Some(Diagnostic::new(codes::AL3010, self.location.clone(), message).help("the policy does not decide as this test expects: fix the policy or the test, then run `airlockc test`"))
    }
}

/// Runs every test of the bundle. An error means the policy and tests could not be loaded together.
pub fn run(bundle: &PolicyBundle, workspace: &Workspace) -> Result<Vec<TestResult>, Diagnostic> {
    let mut results = Vec::new();
    let mut engine = bundle.engine(true, workspace)?;
    for (reference, index) in &bundle.files {
        if !bundle.tests.iter().any(|(t, _)| t == reference) {
            continue;
        }
        let file: &SourceFile = &workspace.files[*index];
        // The lint parsed every file of the bundle already.
        let Ok(module) = super::parse(file, *index) else {
            continue;
        };
        let package = ast::package(&module);
        let mut seen = std::collections::BTreeSet::new();
        for rule in &module.policy {
            let Some(name) = ast::rule_name(rule).filter(|n| n.starts_with("test_")) else {
                continue;
            };
            if !seen.insert(name.clone()) {
                continue;
            }
            let full = format!("data.{package}.{name}");
            let span = rule.span();
            let outcome = match engine.eval_rule(full.clone()) {
                Ok(regorus::Value::Bool(true)) => Outcome::Pass,
                Ok(_) => Outcome::Fail,
                Err(error) => Outcome::Error(
                    from_regorus(codes::AL3010, file, *index, &error.to_string()).message,
                ),
            };
            let location = Location {
                file: *index,
                span: Span::new(span.start as usize, span.start as usize + name.len()),
            };
            results.push(TestResult {
                name: full,
                location,
                outcome,
            });
        }
    }
    Ok(results)
}
