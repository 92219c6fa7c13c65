//! `docs/diagnostics.md` is generated from the code registry (the docs under
//! `compiler/src/codes/`); this test fails when it is stale. Refresh it with
//! `AIRLOCK_UPDATE_DOCS=1 cargo test -p airlockc --test docs`.

use airlockc::diagnostics::CODES;
use std::fmt::Write;

fn generate() -> String {
    let mut out = String::from(
        "# Diagnostics reference\n\n\
         <!-- Generated from compiler/src/codes/*.md by `AIRLOCK_UPDATE_DOCS=1 cargo test -p airlockc --test docs`. Do not edit. -->\n\n\
         Every problem `airlockc` reports has a stable code. `airlockc explain CODE` prints the same text.\n\
         Codes `AL1xxx` and `AL2xxx` make the configuration invalid (exit code 78); `AL3xxx`, `AL4xxx` and\n\
         `AL5xxx` are lint findings (exit code 1 at or above `--fail-level`).\n\n\
         | Code | Name | Severity | Summary |\n|---|---|---|---|\n",
    );
    for code in CODES {
        writeln!(
            out,
            "| [{}](#{}) | `{}` | {} | {} |",
            code.id,
            code.id.to_ascii_lowercase(),
            code.name,
            code.severity.as_str(),
            code.summary
        )
        .unwrap();
    }
    let mut category = "";
    for code in CODES {
        if code.category.title() != category {
            category = code.category.title();
            write!(out, "\n## {category}\n").unwrap();
        }
        write!(
            out,
            "\n### {}\n\n`{}` · default severity: {}\n\n{}\n",
            code.id,
            code.name,
            code.severity.as_str(),
            code.docs.trim_end()
        )
        .unwrap();
    }
    out
}

#[test]
fn diagnostics_reference_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/diagnostics.md");
    let generated = generate();
    if std::env::var_os("AIRLOCK_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/diagnostics.md is stale: run `AIRLOCK_UPDATE_DOCS=1 cargo test -p airlockc --test docs`"
    );
}
