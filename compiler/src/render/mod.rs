//! Renderers of diagnostics: `human` (rustc-style with a source excerpt), `json`, `sarif`
//! (SARIF 2.1.0 for code scanning) and `github` (workflow annotations). Pure: text in, text out.

mod github;
mod human;
mod sarif;

use crate::diagnostics::{Diagnostic, Resolved};
use crate::syntax::SourceFile;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Github,
}

/// Renders diagnostics in a format. `subject` names what was checked, for the human summary.
pub fn render(
    format: Format,
    diagnostics: &[Diagnostic],
    files: &[SourceFile],
    subject: &str,
) -> String {
    let resolved: Vec<Resolved<'_>> = diagnostics.iter().map(|d| d.resolve(files)).collect();
    match format {
        Format::Human => human::render(&resolved, files, subject),
        Format::Json => json(&resolved),
        Format::Sarif => sarif::render(&resolved),
        Format::Github => github::render(&resolved),
    }
}

fn json(diagnostics: &[Resolved<'_>]) -> String {
    let mut text = serde_json::to_string_pretty(&serde_json::json!({ "diagnostics": diagnostics }))
        .expect("diagnostics serialize");
    text.push('\n');
    text
}

/// The docs link of a code, for SARIF `helpUri` and human output.
pub fn docs_url(code: &str) -> String {
    format!(
        "https://github.com/acme/airlock/blob/main/docs/diagnostics.md#{}",
        code.to_ascii_lowercase()
    )
}
