//! GitHub Actions workflow commands: one `::error`/`::warning` annotation per diagnostic.

use crate::diagnostics::Resolved;
use std::fmt::Write;

pub fn render(diagnostics: &[Resolved<'_>]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let mut message = d.message.to_string();
        if let Some(help) = d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        writeln!(
            out,
            "::{} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            d.severity.as_str(),
            property(d.file),
            d.line,
            d.column,
            d.end_line,
            d.end_column,
            property(&format!("{} {}", d.code, d.diagnostic.code.name)),
            data(&message)
        )
        .unwrap();
    }
    out
}

/// Escapes a workflow command's message.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command property value.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(data("a%b\nc"), "a%25b%0Ac");
        assert_eq!(property("a:b,c"), "a%3Ab%2Cc");
    }
}
