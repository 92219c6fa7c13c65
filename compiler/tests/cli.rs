//! CLI tests as data: every `tests/cmd/*.toml` case runs `airlockc` and compares its exit code
//! and output with the `.stdout`/`.stderr` files beside it. Refresh expectations with
//! `TRYCMD=overwrite cargo test -p airlockc --test cli` and review the diff.

#[test]
fn cli_cases() {
    trycmd::TestCases::new()
        .register_bin("airlockc", trycmd::cargo::cargo_bin!("airlockc"))
        .case(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/cmd/*.toml"))
        .case(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/cmd/*.md"));
}

/// Every diagnostic code is exercised by at least one CLI case.
#[test]
fn every_code_has_a_cli_case() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/cmd");
    let mut outputs = String::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("stdout" | "stderr")
        ) {
            outputs.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
    let missing: Vec<&str> = airlockc::diagnostics::CODES
        .iter()
        .map(|c| c.id)
        .filter(|id| {
            !outputs.contains(&format!("[{id}]")) && !outputs.contains(&format!("\"{id}\""))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a CLI case in tests/cmd: {missing:?}"
    );
}
