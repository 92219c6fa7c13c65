//! rustc-style rendering: a header, the location, the source line with carets, help.

use crate::diagnostics::{Resolved, Severity};
use crate::syntax::SourceFile;
use std::fmt::Write;

pub fn render(diagnostics: &[Resolved<'_>], files: &[SourceFile], subject: &str) -> String {
    let mut out = String::new();
    // Every credential a detector found is masked in its own excerpt and in the excerpts of
    // other diagnostics on the same line (messages are masked in `analysis`).
    let secrets: Vec<Secret> = diagnostics
        .iter()
        .filter(|d| d.diagnostic.conceal)
        .map(|d| {
            let file = &files[d.diagnostic.location.file];
            Secret {
                file: d.diagnostic.location.file,
                line: d.line,
                column: d.column,
                width: excerpt_width(d, file.line(d.line)),
            }
        })
        .collect();
    for d in diagnostics {
        diagnostic(&mut out, d, files, &secrets);
    }
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diagnostics.len() - errors;
    match (errors, warnings) {
        (0, 0) => writeln!(out, "{subject}: no problems found").unwrap(),
        _ => writeln!(out, "{subject}: {}", counts(errors, warnings)).unwrap(),
    }
    out
}

fn counts(errors: usize, warnings: usize) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    match (errors, warnings) {
        (e, 0) => plural(e, "error"),
        (0, w) => plural(w, "warning"),
        (e, w) => format!("{} and {}", plural(e, "error"), plural(w, "warning")),
    }
}

/// A credential's place in the source.
struct Secret {
    file: usize,
    line: usize,
    column: usize,
    width: usize,
}

/// The width of a diagnostic's carets on its line.
fn excerpt_width(d: &Resolved<'_>, line: &str) -> usize {
    if d.end_line == d.line {
        d.end_column.saturating_sub(d.column).max(1)
    } else {
        line.chars().count().saturating_sub(d.column - 1).max(1)
    }
}

fn diagnostic(out: &mut String, d: &Resolved<'_>, files: &[SourceFile], secrets: &[Secret]) {
    let file = &files[d.diagnostic.location.file];
    writeln!(out, "{}[{}]: {}", d.severity.as_str(), d.code, d.message).unwrap();
    let gutter = d.line.to_string().len();
    let pad = " ".repeat(gutter);
    writeln!(out, "{pad}--> {}:{}:{}", d.file, d.line, d.column).unwrap();
    let line = file.line(d.line).replace('\t', " ");
    if !line.is_empty() || d.line <= file.text.lines().count() {
        let width = excerpt_width(d, &line);
        let mut shown = if d.diagnostic.conceal {
            conceal(&line, d.column, width)
        } else {
            line
        };
        for secret in secrets
            .iter()
            .filter(|s| s.file == d.diagnostic.location.file && s.line == d.line)
        {
            shown = conceal(&shown, secret.column, secret.width);
        }
        writeln!(out, "{pad} |").unwrap();
        writeln!(out, "{} | {}", d.line, shown.trim_end()).unwrap();
        writeln!(
            out,
            "{pad} | {}{}",
            " ".repeat(d.column - 1),
            "^".repeat(width)
        )
        .unwrap();
    }
    if let Some(help) = d.help {
        for (i, text) in help.lines().enumerate() {
            let lead = if i == 0 { "= help: " } else { "        " };
            writeln!(out, "{pad} {lead}{text}").unwrap();
        }
    }
    writeln!(out, "{pad} = see: airlockc explain {}", d.code).unwrap();
    out.push('\n');
}

/// Masks a credential in the excerpt, keeping its first four characters as a hint.
fn conceal(line: &str, column: usize, width: usize) -> String {
    line.chars()
        .enumerate()
        .map(|(i, c)| {
            if i + 1 >= column + 4 && i + 1 < column + width {
                '*'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conceals_all_but_a_prefix() {
        assert_eq!(conceal("key: AKIAABCDEF", 6, 10), "key: AKIA******");
    }
}
