//! Snapshots of rendered diagnostics in every format, on one config with many problems.

use airlockc::render::{Format, render};
use airlockc::{analyze, load};

#[test]
fn rendered_diagnostics() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/cmd/many-errors.in/airlock.yaml");
    let mut workspace = load(&path).unwrap();
    workspace.files[0].path = "airlock.yaml".into();
    let diagnostics = analyze(&workspace).diagnostics.into_vec();
    insta::with_settings!({ snapshot_path => "../../snapshots/diagnostics", prepend_module_to_snapshot => false }, {
        for (name, format) in [("human", Format::Human), ("json", Format::Json), ("sarif", Format::Sarif), ("github", Format::Github)] {
            insta::assert_snapshot!(name, render(format, &diagnostics, &workspace.files, "airlock.yaml"));
        }
    });
}
