//! The Rego lint (AL3xxx): every policy and test file parses; the entrypoint exists and denies by
//! default; calls resolve to hermetic builtins or the policy's own functions; a handful of
//! Regal-style rules catch the bugs that matter most in an authorization policy. The policy is
//! then compiled and dry-run with regorus, exactly as the runtime will run it, and handed on as
//! a [`PolicyBundle`] (the `policy` stage).

mod rules;

use crate::diagnostics::{Diagnostic, Diagnostics, Location, Severity, codes};
use crate::policy::{self, PolicyBundle};
use crate::syntax::Span;
use crate::validate::ConfigDoc;
use crate::workspace::Workspace;
use airlock_schema::config::Policy;
use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::vm::RegoVM;
use regorus::unstable::Module;

/// The input document the runtime provides; the keys a policy may read.
pub const INPUT_FIELDS: [&str; 7] = [
    "subject", "tenant", "groups", "tool", "resource", "method", "metadata",
];

/// Rules the runtime reads besides the entrypoint (decision reason, audit data).
pub const WELL_KNOWN_RULES: [&str; 4] = ["reason", "rule_id", "audit_metadata", "deny"];

/// One parsed Rego file.
pub(crate) struct Parsed {
    pub file: usize,
    pub module: Module,
    pub is_test: bool,
}

/// What the rules look at.
pub(crate) struct Context<'a> {
    pub modules: &'a [Parsed],
    pub policy: &'a Policy,
    /// `airlock.authz` and `allow` for `data.airlock.authz.allow`.
    pub entry_package: String,
    pub entry_rule: String,
}

impl Context<'_> {
    pub fn location(&self, file: usize, span: &regorus::unstable::Span) -> Location {
        Location {
            file,
            span: Span::new(span.start as usize, span.end as usize),
        }
    }
}

/// Lints the policy named by the config. Returns the bundle when it compiled; `None` only after
/// an error: its own, or the schema's at `/policy`.
pub fn check(
    doc: &ConfigDoc<'_>,
    workspace: &Workspace,
    out: &mut Diagnostics,
) -> Option<PolicyBundle> {
    let policy = doc.section::<Policy>("/policy")?;
    let mut parsed = Vec::new();
    let mut files = Vec::new();
    let mut failed = false;
    let named = std::iter::once(("/policy/file".to_string(), policy.file.clone(), false)).chain(
        policy
            .tests
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("/policy/tests/{i}"), t.clone(), true)),
    );
    for (pointer, reference, is_test) in named {
        match workspace.referenced.get(&reference) {
            Some(Ok(index)) => {
                files.push((reference.clone(), *index));
                match policy::parse(&workspace.files[*index], *index) {
                    Ok(module) => parsed.push(Parsed {
                        file: *index,
                        module,
                        is_test,
                    }),
                    Err(diagnostic) => {
                        out.push(diagnostic);
                        failed = true;
                    }
                }
            }
            other => {
                let reason = match other {
                    Some(Err(reason)) => reason.to_string(),
                    _ => "not read".into(),
                };
                out.push(
                    doc.value_diag(
                        codes::AL2008,
                        &pointer,
                        format!("cannot read `{reference}`: {reason}"),
                    )
                    .help(format!(
                        "paths are relative to the directory of {}",
                        doc.source.path
                    )),
                );
                failed = true;
            }
        }
    }
    if failed {
        return None;
    }
    let (entry_package, entry_rule) = split_entrypoint(&policy.entrypoint);
    let context = Context {
        modules: &parsed,
        policy: &policy,
        entry_package,
        entry_rule,
    };
    let before = out.len();
    rules::check(&context, out);
    let bundle = PolicyBundle::new(&policy, files, workspace);
    let lint_errors = out
        .iter()
        .skip(before)
        .any(|d| d.severity == Severity::Error);
    if lint_errors {
        return None;
    }
    match dry_run(&bundle, workspace) {
        Ok(()) => Some(bundle),
        Err(diagnostic) => {
            out.push(diagnostic);
            None
        }
    }
}

/// `data.airlock.authz.allow` → (`airlock.authz`, `allow`).
pub fn split_entrypoint(entrypoint: &str) -> (String, String) {
    let path = entrypoint.strip_prefix("data.").unwrap_or(entrypoint);
    match path.rsplit_once('.') {
        Some((package, rule)) => (package.to_string(), rule.to_string()),
        None => (String::new(), path.to_string()),
    }
}

/// The input the dry run evaluates the entrypoint with: every field present, nothing allowed.
pub fn sample_input() -> regorus::Value {
    regorus::Value::from_json_str(
        r#"{"subject":"airlockc-dry-run","tenant":"","groups":[],"tool":"","resource":"","method":"tools/call","metadata":{}}"#,
    )
    .expect("static JSON")
}

/// Compiles the entrypoint and evaluates it once, as the runtime would.
fn dry_run(bundle: &PolicyBundle, workspace: &Workspace) -> Result<(), Diagnostic> {
    let mut engine = bundle.engine(false, workspace)?;
    let entry = bundle.entrypoint.clone();
    let main = bundle
        .sources
        .first()
        .map(|(p, _)| p.clone())
        .unwrap_or_default();
    let located = |text: String| bundle.error(codes::AL3002, &main, &text, workspace);
    let compiled = engine
        .compile_with_entrypoint(&entry.as_str().into())
        .map_err(|e| located(e.to_string()))?;
    engine.set_input(sample_input());
    engine
        .eval_rule(entry.clone())
        .map_err(|e| located(e.to_string()))?;
    // The gateway decides on regorus' RVM, which runs less than the interpreter (no `with`,
    // no `print`, fewer builtins): what it cannot run, the gateway cannot load.
    let on_the_rvm = |error: String| {
        const WHY: &str = "the gateway's policy evaluator (regorus' RVM) cannot run this policy: ";
        let text = if error.contains("\nerror: ") {
            error.replacen("\nerror: ", &format!("\nerror: {WHY}"), 1)
        } else {
            format!(
                "{WHY}{}",
                error.trim().trim_start_matches("Compilation error: ")
            )
        };
        located(text)
    };
    let program = Compiler::compile_from_policy(&compiled, &[entry.as_str()])
        .map_err(|e| on_the_rvm(e.to_string()))?;
    let mut vm = RegoVM::new();
    vm.set_max_instructions(airlock_schema::rego::MAX_POLICY_INSTRUCTIONS);
    vm.load_program(program);
    vm.set_input(sample_input());
    vm.execute_entry_point_by_name(&entry)
        .map_err(|e| on_the_rvm(e.to_string()))?;
    Ok(())
}
