//! The policy stage: the Rego files the config names, as regorus reads them. It parses a file
//! (within the nesting bound the runtime also applies), walks the AST ([`ast`]), holds the
//! compiled policy ([`PolicyBundle`]) and loads it into a regorus engine, and runs the policy
//! tests ([`tests`]). `lint::rego` checks the policy and makes the bundle; `build` and
//! `airlockc test` run its tests; `lower` embeds it in the frozen config.

pub mod ast;
pub mod reach;
pub mod tests;

use crate::diagnostics::{Code, Diagnostic, Location, codes};
use crate::syntax::{SourceFile, Span};
use crate::workspace::Workspace;
use airlock_schema::config::Policy;
use regorus::unstable::Module;

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

impl PolicyBundle {
    /// The bundle of `policy`, whose files (as written in the config, with their workspace
    /// index) were all read.
    pub(crate) fn new(policy: &Policy, files: Vec<(String, usize)>, workspace: &Workspace) -> Self {
        let of = |tests: bool| {
            files
                .iter()
                .filter(|(name, _)| {
                    (*name == policy.file) != tests && (!tests || policy.tests.contains(name))
                })
                .map(|(name, index)| (name.clone(), workspace.files[*index].text.clone()))
                .collect()
        };
        Self {
            entrypoint: policy.entrypoint.clone(),
            sources: of(false),
            tests: of(true),
            files,
        }
    }

    /// The parsed policy files (not the tests); a file that does not parse is left out (the
    /// Rego lint reported it).
    pub(crate) fn modules(&self, workspace: &Workspace) -> Vec<Module> {
        self.files
            .iter()
            .filter(|(name, _)| self.sources.iter().any(|(source, _)| source == name))
            .filter_map(|(_, index)| parse(&workspace.files[*index], *index).ok())
            .collect()
    }

    /// A regorus engine holding the policy files (and the test files when asked). A file regorus
    /// refuses is an AL3002 at the place it names.
    pub fn engine(
        &self,
        with_tests: bool,
        workspace: &Workspace,
    ) -> Result<regorus::Engine, Diagnostic> {
        let mut engine = regorus::Engine::new();
        engine.set_strict_builtin_errors(true);
        // `print` output is collected (and discarded), never written to the terminal.
        engine.set_gather_prints(true);
        let files = self.sources.iter().chain(if with_tests {
            self.tests.iter()
        } else {
            [].iter()
        });
        for (path, text) in files {
            engine
                .add_policy(path.clone(), text.clone())
                .map_err(|e| self.error(codes::AL3002, path, &e.to_string(), workspace))?;
        }
        Ok(engine)
    }

    /// A diagnostic from a regorus error about the file `path` of the bundle (the first policy
    /// file's workspace index when `path` is none of them), with the path as the user sees it.
    pub(crate) fn error(
        &self,
        code: &'static Code,
        path: &str,
        text: &str,
        workspace: &Workspace,
    ) -> Diagnostic {
        let index = self
            .files
            .iter()
            .find(|(name, _)| name == path)
            .map_or(0, |(_, i)| *i);
        let file = &workspace.files[index];
        let text = text.replace(&format!("{path}:"), &format!("{}:", file.path));
        from_regorus(code, file, index, &text)
    }
}

/// Parses one Rego file (workspace index `index`); a parse error, or brackets nested deeper than
/// the runtime accepts, is an AL3001.
pub fn parse(file: &SourceFile, index: usize) -> Result<Module, Diagnostic> {
    if let Some(offset) = airlock_schema::rego::too_deep(&file.text) {
        let (line, column) = airlock_schema::rego::line_column(&file.text, offset);
        let message = format!(
            "--> {}:{line}:{column}\nerror: brackets nest deeper than {} levels here; \
             flatten the expression into helper rules",
            file.path,
            airlock_schema::rego::MAX_NESTING
        );
        return Err(from_regorus(codes::AL3001, file, index, &message));
    }
    let refused =
        |e: &dyn std::fmt::Display| from_regorus(codes::AL3001, file, index, &e.to_string());
    let source = regorus::Source::from_contents(file.path.clone(), file.text.clone())
        .map_err(|e| refused(&e))?;
    let mut parser = regorus::unstable::Parser::new(&source).map_err(|e| refused(&e))?;
    parser.parse().map_err(|e| refused(&e))
}

/// A diagnostic from a regorus error message (`--> path:line:col`, …, `error: message`).
pub(crate) fn from_regorus(
    code: &'static Code,
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
