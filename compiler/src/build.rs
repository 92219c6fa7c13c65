//! The whole compile, in memory: analyze, run the policy tests, lower, emit. Nothing is
//! emitted unless the configuration is valid, the lints found no error and every policy test
//! passed. Writing is the caller's business (`output`).

use crate::analysis::analyze;
use crate::diagnostics::{Diagnostic, Diagnostics, Severity};
use crate::emit::{self, Files};
use crate::lint::rego::tests::{self, Outcome};
use crate::lower;
use crate::workspace::Workspace;

pub struct Build {
    pub diagnostics: Diagnostics,
    /// The files of the deployment, when nothing failed.
    pub files: Option<Files>,
    pub tests_passed: usize,
    pub config_hash: Option<String>,
}

pub fn build(workspace: &Workspace) -> Build {
    let analysis = analyze(workspace);
    let mut diagnostics = analysis.diagnostics;
    let failed = |d: &Diagnostics| d.iter().any(|x| x.severity == Severity::Error);
    let (Some(config), Some(policy)) = (analysis.config, analysis.policy) else {
        return Build {
            diagnostics,
            files: None,
            tests_passed: 0,
            config_hash: None,
        };
    };
    if failed(&diagnostics) {
        return Build {
            diagnostics,
            files: None,
            tests_passed: 0,
            config_hash: None,
        };
    }
    let results = match tests::run(&policy, workspace) {
        Ok(results) => results,
        Err(diagnostic) => {
            diagnostics.push(diagnostic);
            return Build {
                diagnostics,
                files: None,
                tests_passed: 0,
                config_hash: None,
            };
        }
    };
    let tests_passed = results
        .iter()
        .filter(|r| r.outcome == Outcome::Pass)
        .count();
    let failures: Vec<Diagnostic> = results
        .iter()
        .filter_map(tests::TestResult::diagnostic)
        .collect();
    if !failures.is_empty() {
        diagnostics.extend(failures);
        return Build {
            diagnostics: diagnostics.sorted(),
            files: None,
            tests_passed,
            config_hash: None,
        };
    }
    let model = lower::lower(&config, &policy);
    let files = emit::emit(&model).unwrap_or_else(|e| panic!("emitting a valid model failed: {e}"));
    Build {
        diagnostics,
        files: Some(files),
        tests_passed,
        config_hash: Some(model.config_hash),
    }
}
