//! Every alert the PrometheusRule can carry has a runbook at the URL it links to.

use airlockc::emit::alerts::ALERTS;

#[test]
fn every_alert_has_a_runbook() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/runbooks");
    let missing: Vec<&str> = ALERTS
        .iter()
        .copied()
        .filter(|alert| !dir.join(format!("{alert}.md")).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "alerts without a runbook in docs/runbooks: {missing:?}"
    );
}

#[test]
fn emitted_alerts_are_the_documented_ones() {
    let text =
        include_str!("../../snapshots/build/production__manifests__12-prometheusrule.yaml.snap");
    let emitted: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    assert_eq!(
        emitted, ALERTS,
        "the production example (with a Certificate) carries every alert, in order"
    );
}
