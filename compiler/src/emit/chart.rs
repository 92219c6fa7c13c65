//! The Helm chart around the rendered templates: `Chart.yaml`, `values.yaml` (image, replicas and
//! resources — the only parameters), `values.schema.json` (so a bad `--set` is refused) and the
//! image helper. With default values the chart renders exactly `manifests/`.

use super::Files;
use crate::lower::Model;
use serde_json::{Value, json};

/// The image helper. The digest in `values.yaml` pins the tag airlock.yaml names: when
/// `helm upgrade --set image.tag=...` asks for another tag (the deployment guide's rolling
/// update), that digest would still win and the old image keep running, so it is dropped
/// unless `image.digest` is set too. `PINNED_TAG` is replaced with the compiled tag.
const HELPERS: &str = r#"{{/* The image reference: repository:tag@digest, repository@digest or repository:tag. The digest belongs to the tag airlock.yaml names: with another tag (helm upgrade --set image.tag=...) and no new digest, the tag is used alone. */}}
{{- define "airlock.image" -}}
{{- $image := .Values.image -}}
{{- $digest := $image.digest -}}
{{- if and $image.tag (ne $image.tag "PINNED_TAG") (eq $digest "PINNED_DIGEST") -}}
{{- $digest = "" -}}
{{- end -}}
{{- if and $image.tag $digest -}}
{{- printf "%s:%s@%s" $image.repository $image.tag $digest | quote -}}
{{- else if $digest -}}
{{- printf "%s@%s" $image.repository $digest | quote -}}
{{- else -}}
{{- printf "%s:%s" $image.repository $image.tag | quote -}}
{{- end -}}
{{- end -}}
"#;

pub fn files(model: &Model, files: &mut Files) {
    let app_version = model
        .image
        .tag
        .clone()
        .or_else(|| model.image.digest.clone())
        .unwrap_or_else(|| "unknown".into());
    let chart = json!({
        "apiVersion": "v2",
        "name": model.name,
        "description": format!("The Airlock MCP gateway `{}`, compiled by airlockc from airlock.yaml. Edit airlock.yaml, not this chart.", model.name),
        "type": "application",
        "version": "1.0.0",
        "appVersion": app_version,
        "annotations": { "airlock.dev/config-hash": model.config_hash },
    });
    files.insert("chart/Chart.yaml".into(), yaml(&chart));
    files.insert("chart/values.yaml".into(), format!(
        "# The chart's parameters. Everything else is fixed by airlock.yaml: change it there and run\n# `airlockc build` again.\n{}",
        yaml(&values(model))
    ));
    let mut schema =
        serde_json::to_string_pretty(&values_schema(model)).expect("schema serializes");
    schema.push('\n');
    files.insert("chart/values.schema.json".into(), schema);
    let helpers = HELPERS
        .replace("PINNED_TAG", model.image.tag.as_deref().unwrap_or(""))
        .replace("PINNED_DIGEST", model.image.digest.as_deref().unwrap_or(""));
    files.insert("chart/templates/_helpers.tpl".into(), helpers);
}

fn yaml(value: &Value) -> String {
    yaml_serde::to_string(value).expect("JSON values serialize as YAML")
}

fn values(model: &Model) -> Value {
    let mut values = json!({
        "image": {
            "repository": model.image.repository,
            "tag": model.image.tag.clone().unwrap_or_default(),
            "digest": model.image.digest.clone().unwrap_or_default(),
            "pullPolicy": model.image.pull_policy,
        },
    });
    if let Some(replicas) = model.replicas {
        values["replicas"] = json!(replicas);
    }
    values["resources"] = json!({
        "requests": { "cpu": model.resources.requests_cpu, "memory": model.resources.requests_memory },
        "limits": { "cpu": model.resources.limits_cpu, "memory": model.resources.limits_memory },
    });
    values
}

fn values_schema(model: &Model) -> Value {
    // `--set cpu=2` arrives as a number: a quantity may be one, as in Kubernetes.
    let quantity = json!({ "type": ["string", "number"], "minimum": 0, "pattern": "^\\+?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?[0-9]+)?$" });
    let cpu_memory = json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["cpu", "memory"],
        "properties": { "cpu": quantity, "memory": quantity },
    });
    let mut properties = json!({
        "image": {
            "type": "object",
            "additionalProperties": false,
            "required": ["repository"],
            "properties": {
                "repository": { "type": "string", "minLength": 1 },
                "tag": { "type": "string", "pattern": "^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$" },
                "digest": { "type": "string", "pattern": "^(sha256:[a-f0-9]{64})?$" },
                "pullPolicy": { "type": "string", "enum": ["IfNotPresent", "Always", "Never"] },
            },
            "anyOf": [
                { "properties": { "digest": { "minLength": 1 } }, "required": ["digest"] },
                { "properties": { "tag": { "minLength": 1 } }, "required": ["tag"] },
            ],
        },
        "resources": {
            "type": "object",
            "additionalProperties": false,
            "required": ["requests", "limits"],
            "properties": { "requests": cpu_memory, "limits": cpu_memory },
        },
    });
    let mut required = vec!["image", "resources"];
    if model.replicas.is_some() {
        // A SQLite audit trail lives on a ReadWriteOnce volume: one replica only.
        let most = if model.persistence.is_some() { 1 } else { 1000 };
        properties["replicas"] = json!({ "type": "integer", "minimum": 1, "maximum": most });
        required.push("replicas");
    }
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": format!("Values of the {} chart", model.name),
        "type": "object",
        "additionalProperties": false,
        "required": required,
        "properties": properties,
    })
}
