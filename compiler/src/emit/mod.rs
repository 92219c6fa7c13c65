//! The emit stage: the lowered [`Model`] becomes the files of a deployment, in memory. Pure:
//! the same model always gives the same bytes (sorted maps, no timestamps), and nothing here
//! touches the disk — `output` writes, atomically.
//!
//! ```text
//! chart/        Chart.yaml, values.yaml, values.schema.json, templates/*.yaml: every object
//!               but the Namespace, in the release's namespace
//! manifests/    the Namespace (with its Pod Security labels) and the chart's objects rendered
//!               with its default values, one file per kind
//! runtime/      airlock.json, the frozen runtime config
//! dashboards/   airlock.json, a Grafana dashboard
//! .trivyignore.yaml  the reason for the one scanner finding answered without a change
//! ```

pub mod alerts;
mod chart;
mod dashboard;
mod render;
mod scanners;

pub use render::TemplateError;
pub use scanners::IGNORE_FILE as TRIVY_IGNORE;

use crate::lower::Model;
use std::collections::BTreeMap;

/// Relative path → file content.
pub type Files = BTreeMap<String, String>;

/// The object templates, in apply order (the manifest file names carry the order).
pub const KINDS: [&str; 13] = [
    "namespace",
    "serviceaccount",
    "configmap",
    "persistentvolumeclaim",
    "service",
    "deployment",
    "horizontalpodautoscaler",
    "poddisruptionbudget",
    "networkpolicy",
    "ingress",
    "certificate",
    "servicemonitor",
    "prometheusrule",
];

/// The kinds only `manifests/` holds: the Namespace, which a Helm release is installed into
/// rather than owning.
pub const MANIFESTS_ONLY: [&str; 1] = ["namespace"];

/// Every file of the deployment.
pub fn emit(model: &Model) -> Result<Files, TemplateError> {
    let templates = render::Templates::new()?;
    let mut files = Files::new();
    for (index, kind) in KINDS.iter().enumerate() {
        let documents = templates.render(kind, model)?;
        if documents.is_empty() {
            continue;
        }
        files.insert(
            format!("manifests/{index:02}-{kind}.yaml"),
            render::manifest_text(&documents, model),
        );
        // Helm installs into a namespace that exists (`-n`) and cannot adopt one it did not
        // create: the chart leaves the Namespace to `manifests/` and the cluster's owner.
        if !MANIFESTS_ONLY.contains(kind) {
            files.insert(
                format!("chart/templates/{kind}.yaml"),
                render::chart_text(&documents),
            );
        }
    }
    chart::files(model, &mut files);
    scanners::files(&mut files);
    files.insert(
        "runtime/airlock.json".into(),
        model.config_files["airlock.json"].clone(),
    );
    files.insert("dashboards/airlock.json".into(), dashboard::json(model));
    Ok(files)
}
