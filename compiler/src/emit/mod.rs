//! The emit stage: the lowered [`Model`] becomes the files of a deployment, in memory. Pure:
//! the same model always gives the same bytes (sorted maps, no timestamps), and nothing here
//! touches the disk — `output` writes, atomically.
//!
//! ```text
//! chart/        Chart.yaml, values.yaml, values.schema.json, templates/*.yaml
//! manifests/    the same objects rendered with the chart's default values, one file per kind
//! runtime/      airlock.json, the frozen runtime config
//! dashboards/   airlock.json, a Grafana dashboard
//! ```

pub mod alerts;
mod chart;
mod dashboard;
mod render;

pub use render::TemplateError;

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
        files.insert(
            format!("chart/templates/{kind}.yaml"),
            render::chart_text(&documents),
        );
    }
    chart::files(model, &mut files);
    files.insert(
        "runtime/airlock.json".into(),
        model.config_files["airlock.json"].clone(),
    );
    files.insert("dashboards/airlock.json".into(), dashboard::json(model));
    Ok(files)
}
