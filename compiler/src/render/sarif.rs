//! SARIF 2.1.0, as GitHub code scanning ingests it: one run, the rules that fired, one result
//! per diagnostic with its region.

use crate::diagnostics::{Resolved, Severity};
use serde_json::{Value, json};

pub fn render(diagnostics: &[Resolved<'_>]) -> String {
    let mut rules: Vec<&'static crate::diagnostics::Code> =
        diagnostics.iter().map(|d| d.diagnostic.code).collect();
    rules.sort_by_key(|c| c.id);
    rules.dedup_by_key(|c| c.id);
    let rule_objects: Vec<Value> = rules
        .iter()
        .map(|code| {
            json!({
                "id": code.id,
                "name": code.name,
                "shortDescription": { "text": code.summary },
                "fullDescription": { "text": code.summary },
                "help": { "text": code.docs, "markdown": code.docs },
                "helpUri": super::docs_url(code.id),
                "defaultConfiguration": { "level": level(code.severity) },
            })
        })
        .collect();
    let results: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let text = match d.help {
                Some(help) => format!("{}\nhelp: {help}", d.message),
                None => d.message.to_string(),
            };
            json!({
                "ruleId": d.code,
                "ruleIndex": rules.iter().position(|c| c.id == d.code).unwrap_or(0),
                "level": level(d.severity),
                "message": { "text": text },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": d.file.replace('\\', "/") },
                        "region": {
                            "startLine": d.line,
                            "startColumn": d.column,
                            "endLine": d.end_line,
                            "endColumn": d.end_column.max(d.column + usize::from(d.end_line == d.line)),
                        }
                    }
                }]
            })
        })
        .collect();
    let sarif = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "airlockc",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/acme/airlock",
                "rules": rule_objects,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    let mut text = serde_json::to_string_pretty(&sarif).expect("SARIF serializes");
    text.push('\n');
    text
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}
