//! The airlock.yaml front end: any text, through parse → schema → semantic checks → lints, and
//! every diagnostic rendered in every format. It must never panic; each diagnostic must point
//! inside the file it names.
#![no_main]

use airlockc::render::{Format, render};
use libfuzzer_sys::fuzz_target;

const POLICY: &str = "package airlock.authz\nimport rego.v1\ndefault allow := false\nallow if \"mcp.users\" in input.groups\n";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let workspace =
        airlockc::Workspace::from_texts(("airlock.yaml", &text), &[("policy.rego", POLICY)]);
    let diagnostics = airlockc::analyze(&workspace).diagnostics.into_vec();
    for format in [Format::Human, Format::Json, Format::Sarif, Format::Github] {
        let _ = render(format, &diagnostics, &workspace.files, "airlock.yaml");
    }
});
