//! Diagnostics: a stable [`Code`], a severity, a message, a help text and a location. Every
//! stage reports through [`Diagnostics`]; nothing stops at the first problem.

pub mod codes;

pub use codes::{CODES, Category, Code, lookup};

use crate::syntax::{SourceFile, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Where a diagnostic points: a file and a byte span in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// Index into the [`crate::Workspace`] files.
    pub file: usize,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: &'static Code,
    pub severity: Severity,
    pub message: String,
    pub help: Option<String>,
    pub location: Location,
    /// The config path (JSON pointer) the diagnostic is about, when it is about the config.
    pub pointer: Option<String>,
    /// Mask the value in rendered excerpts (the value may be a credential).
    pub conceal: bool,
}

impl Diagnostic {
    pub fn new(code: &'static Code, location: Location, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: code.severity,
            message: message.into(),
            help: None,
            location,
            pointer: None,
            conceal: false,
        }
    }
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    pub fn maybe_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }
    pub fn pointer(mut self, pointer: impl Into<String>) -> Self {
        self.pointer = Some(pointer.into());
        self
    }
    pub fn conceal(mut self) -> Self {
        self.conceal = true;
        self
    }
}

/// A diagnostic with its location resolved to a path, line and column, as renderers need it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Resolved<'a> {
    pub code: &'static str,
    pub severity: Severity,
    pub message: &'a str,
    pub help: Option<&'a str>,
    pub file: &'a str,
    pub line: usize,
    pub column: usize,
    #[serde(skip)]
    pub end_line: usize,
    #[serde(skip)]
    pub end_column: usize,
    #[serde(skip)]
    pub diagnostic: &'a Diagnostic,
}

impl Diagnostic {
    pub fn resolve<'a>(&'a self, files: &'a [SourceFile]) -> Resolved<'a> {
        let file = &files[self.location.file];
        let (line, column) = file.line_col(self.location.span.start);
        let (end_line, end_column) = file.line_col(self.location.span.end);
        Resolved {
            code: self.code.id,
            severity: self.severity,
            message: &self.message,
            help: self.help.as_deref(),
            file: &file.path,
            line,
            column,
            end_line,
            end_column,
            diagnostic: self,
        }
    }
}

/// The diagnostics of one run, in the order stages produced them until [`Self::sorted`].
#[derive(Clone, Debug, Default)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }
    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        self.0.extend(other);
    }
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }
    /// True when an error makes the configuration itself invalid (schema or semantics), as
    /// opposed to a lint finding.
    pub fn config_invalid(&self) -> bool {
        self.0
            .iter()
            .any(|d| d.severity == Severity::Error && d.code.category.invalidates_config())
    }
    pub fn count(&self, severity: Severity) -> usize {
        self.0.iter().filter(|d| d.severity == severity).count()
    }
    /// Sorted by file, position and code, without exact duplicates: the stable output order.
    pub fn sorted(mut self) -> Self {
        self.0.sort_by(|a, b| {
            (
                a.location.file,
                a.location.span.start,
                a.code.id,
                &a.message,
            )
                .cmp(&(
                    b.location.file,
                    b.location.span.start,
                    b.code.id,
                    &b.message,
                ))
        });
        self.0.dedup_by(|a, b| {
            a.code.id == b.code.id && a.location == b.location && a.message == b.message
        });
        self
    }
    pub fn as_slice(&self) -> &[Diagnostic] {
        &self.0
    }
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.0
    }
}
