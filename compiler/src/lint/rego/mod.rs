//! The Rego lint (AL3xxx): every policy and test file parses; the entrypoint exists and denies by
//! default; calls resolve to hermetic builtins or the policy's own functions; a handful of
//! Regal-style rules catch the bugs that matter most in an authorization policy. The policy is
//! then compiled and dry-run with regorus, exactly as the runtime will run it.

mod ast;
mod rules;
pub mod tests;

use crate::diagnostics::{Diagnostic, Diagnostics, Location, codes};
use crate::syntax::{SourceFile, Span};
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

/// A policy that parsed and compiled, ready to embed and to test.
#[derive(Clone, Debug)]
pub struct PolicyBundle {
    pub entrypoint: String,
    /// Policy files as (path as written in the config, text).
    pub sources: Vec<(String, String)>,
    /// Test files as (path as written in the config, text).
    pub tests: Vec<(String, String)>,
    /// Workspace file index of each policy file and test file, for locations.
    pub(crate) files: Vec<(String, usize)>,
}

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

/// Lints the policy named by the config. Returns the bundle when it compiled.
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
                match parse(&workspace.files[*index]) {
                    Ok(module) => parsed.push(Parsed {
                        file: *index,
                        module,
                        is_test,
                    }),
                    Err(diagnostic) => {
                        out.push(Diagnostic {
                            location: Location {
                                file: *index,
                                ..diagnostic.location
                            },
                            ..diagnostic
                        });
                        failed = true;
                    }
                }
            }
            other => {
                let reason = match other {
                    Some(Err(reason)) => reason.clone(),
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
    let sources: Vec<(String, String)> = files_of(&files, workspace, &policy.file, false, &policy);
    let tests: Vec<(String, String)> = files_of(&files, workspace, &policy.file, true, &policy);
    let bundle = PolicyBundle {
        entrypoint: policy.entrypoint.clone(),
        sources,
        tests,
        files,
    };
    let lint_errors = out
        .iter()
        .skip(before)
        .any(|d| d.severity == crate::diagnostics::Severity::Error);
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

fn files_of(
    files: &[(String, usize)],
    workspace: &Workspace,
    main: &str,
    tests: bool,
    policy: &Policy,
) -> Vec<(String, String)> {
    files
        .iter()
        .filter(|(name, _)| (name == main) != tests && (!tests || policy.tests.contains(name)))
        .map(|(name, index)| (name.clone(), workspace.files[*index].text.clone()))
        .collect()
}

/// `data.airlock.authz.allow` → (`airlock.authz`, `allow`).
pub fn split_entrypoint(entrypoint: &str) -> (String, String) {
    let path = entrypoint.strip_prefix("data.").unwrap_or(entrypoint);
    match path.rsplit_once('.') {
        Some((package, rule)) => (package.to_string(), rule.to_string()),
        None => (String::new(), path.to_string()),
    }
}

fn parse(file: &SourceFile) -> Result<Module, Diagnostic> {
    if let Some(offset) = airlock_schema::rego::too_deep(&file.text) {
        let (line, column) = airlock_schema::rego::line_column(&file.text, offset);
        let message = format!(
            "--> {}:{line}:{column}\nerror: brackets nest deeper than {} levels here; \
             flatten the expression into helper rules",
            file.path,
            airlock_schema::rego::MAX_NESTING
        );
        return Err(from_regorus(codes::AL3001, file, 0, &message));
    }
    let source = regorus::Source::from_contents(file.path.clone(), file.text.clone())
        .map_err(|e| from_regorus(codes::AL3001, file, 0, &e.to_string()))?;
    let mut parser = regorus::unstable::Parser::new(&source)
        .map_err(|e| from_regorus(codes::AL3001, file, 0, &e.to_string()))?;
    parser
        .parse()
        .map_err(|e| from_regorus(codes::AL3001, file, 0, &e.to_string()))
}

/// A diagnostic from a regorus error message (`--> path:line:col`, …, `error: message`).
pub(crate) fn from_regorus(
    code: &'static crate::diagnostics::Code,
    file: &SourceFile,
    index: usize,
    text: &str,
) -> Diagnostic {
    let position = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("--> "))
        .and_then(|location| {
            let mut parts = location.rsplitn(3, ':');
            let column = parts.next()?.parse::<usize>().ok()?;
            let line = parts.next()?.parse::<usize>().ok()?;
            Some((line, column))
        });
    let message = text
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("error: "))
        .unwrap_or_else(|| text.trim())
        .to_string();
    let span = match position {
        Some((line, column)) => {
            let start = file.offset(line, column);
            let end = file.text[start..]
                .find(|c: char| c.is_whitespace())
                .map_or(file.text.len(), |n| start + n.max(1));
            Span::new(start, end)
        }
        None => Span::new(0, 0),
    };
    Diagnostic::new(code, Location { file: index, span }, message)
}

/// The input the dry run evaluates the entrypoint with: every field present, nothing allowed.
pub fn sample_input() -> regorus::Value {
    regorus::Value::from_json_str(
        r#"{"subject":"airlockc-dry-run","tenant":"","groups":[],"tool":"","resource":"","method":"tools/call","metadata":{}}"#,
    )
    .expect("static JSON")
}

/// A regorus engine holding the bundle's policy files (and test files when asked).
pub fn engine(
    bundle: &PolicyBundle,
    with_tests: bool,
) -> Result<regorus::Engine, (String, String)> {
    let mut engine = regorus::Engine::new();
    engine.set_strict_builtin_errors(true);
    // `print` output is collected (and discarded), never written to the terminal.
    engine.set_gather_prints(true);
    let files = bundle.sources.iter().chain(if with_tests {
        bundle.tests.iter()
    } else {
        [].iter()
    });
    for (path, text) in files {
        engine
            .add_policy(path.clone(), text.clone())
            .map_err(|e| (path.clone(), e.to_string()))?;
    }
    Ok(engine)
}

/// Compiles the entrypoint and evaluates it once, as the runtime would.
fn dry_run(bundle: &PolicyBundle, workspace: &Workspace) -> Result<(), Diagnostic> {
    let located = |(path, text): (String, String)| {
        let index = bundle
            .files
            .iter()
            .find(|(name, _)| *name == path)
            .map_or(0, |(_, i)| *i);
        let file = &workspace.files[index];
        let message = text.replace(&format!("{path}:"), &format!("{}:", file.path));
        from_regorus(codes::AL3002, file, index, &message)
    };
    let mut engine = engine(bundle, false).map_err(located)?;
    let entry = bundle.entrypoint.clone();
    let main = bundle
        .sources
        .first()
        .map(|(p, _)| p.clone())
        .unwrap_or_default();
    let compiled = engine
        .compile_with_entrypoint(&entry.as_str().into())
        .map_err(|e| located((main.clone(), e.to_string())))?;
    engine.set_input(sample_input());
    engine
        .eval_rule(entry.clone())
        .map_err(|e| located((main.clone(), e.to_string())))?;
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
        located((main.clone(), text))
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
