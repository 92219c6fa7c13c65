//! `docs/configuration.md` is generated from the schema: it must be exactly what the schema
//! says now.

use std::path::Path;

#[test]
fn the_configuration_reference_matches_the_schema() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md");
    let generated = airlock_schema::reference::markdown(&airlock_schema::json_schema());
    if std::env::var_os("AIRLOCK_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/configuration.md is stale: run `AIRLOCK_UPDATE_DOCS=1 cargo test -p airlock-schema --test reference` and commit it"
    );
}

#[test]
fn every_top_level_key_and_nested_key_is_documented() {
    let text = airlock_schema::reference::markdown(&airlock_schema::json_schema());
    for key in [
        "## `auth`",
        "`auth.oidc.issuer`",
        "`roots[].real (type: fs)`",
        "`roots[].endpoint (type: s3)`",
        "`audit.export.schedule`",
        "`upstreams[].command (type: stdio)`",
        "`rateLimiting.perToken`",
    ] {
        assert!(text.contains(key), "{key} is missing from the reference");
    }
}
