//! Rendering one object template: tera with the model, then YAML parsed and re-emitted
//! canonically. Helm-parameterized values stay placeholders until the last step, which makes
//! them literal values (manifests) or `.Values` references (chart templates) — one source for both.

use super::alerts;
use crate::lower::{Model, egress::PRIVATE_V4, egress::PRIVATE_V6};
use airlock_schema::network::METADATA_EXCEPT_V4;
use regex::Regex;
use serde_json::Value as Json;
use std::sync::OnceLock;
use tera::{Context, Kwargs, State, Tera, Value};
use yaml_serde::Value as Yaml;

const PLACEHOLDER: &str = "AIRLOCK_PARAM_";

/// Where the own namespace appears inside a text (an alert's PromQL): the literal namespace in
/// the manifests, the release's in the chart.
pub const NAMESPACE_IN_TEXT: &str = "AIRLOCK_INLINE_namespace";

/// The chart's parameters: (name, Go template expression). `namespace` is the release's: the
/// chart installs into the namespace `helm -n` names, which exists.
pub const PARAMS: [(&str, &str); 8] = [
    ("namespace", "{{ .Release.Namespace | quote }}"),
    ("replicas", "{{ .Values.replicas }}"),
    ("image", "{{ include \"airlock.image\" . }}"),
    ("pullPolicy", "{{ .Values.image.pullPolicy | quote }}"),
    (
        "requestsCpu",
        "{{ .Values.resources.requests.cpu | quote }}",
    ),
    (
        "requestsMemory",
        "{{ .Values.resources.requests.memory | quote }}",
    ),
    ("limitsCpu", "{{ .Values.resources.limits.cpu | quote }}"),
    (
        "limitsMemory",
        "{{ .Values.resources.limits.memory | quote }}",
    ),
];

macro_rules! template {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../../templates/", $name, ".yaml.tera")),
        )
    };
}

const SOURCES: [(&str, &str); 13] = [
    template!("namespace"),
    template!("serviceaccount"),
    template!("configmap"),
    template!("persistentvolumeclaim"),
    template!("service"),
    template!("deployment"),
    template!("horizontalpodautoscaler"),
    template!("poddisruptionbudget"),
    template!("networkpolicy"),
    template!("ingress"),
    template!("certificate"),
    template!("servicemonitor"),
    template!("prometheusrule"),
];

pub struct Templates {
    tera: Tera,
}

/// A template that does not load, render or give YAML: a bug of airlockc, never of the input.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template {name}: {source}")]
    Load {
        name: &'static str,
        source: tera::Error,
    },
    #[error("template {kind}: {source:?}")]
    Render { kind: String, source: tera::Error },
    #[error("template {kind} produced invalid YAML: {source}\n{text}")]
    Yaml {
        kind: String,
        source: yaml_serde::Error,
        text: String,
    },
}

fn to_json(value: &Value) -> Json {
    serde_json::to_value(value).unwrap_or(Json::Null)
}

impl Templates {
    pub fn new() -> Result<Self, TemplateError> {
        let mut tera = Tera::new();
        tera.autoescape_on(Vec::<&str>::new());
        // A JSON string is a valid YAML scalar: user text can never break out of its value.
        tera.register_filter("q", |value: Value, _: Kwargs, _: &State| {
            serde_json::to_string(&to_json(&value)).unwrap_or_default()
        });
        tera.register_filter("json", |value: Value, _: Kwargs, _: &State| {
            serde_json::to_string(&to_json(&value)).unwrap_or_default()
        });
        tera.register_filter("merge", |value: Value, kwargs: Kwargs, _: &State| {
            let mut base = to_json(&value);
            if let (Json::Object(map), Ok(Some(other))) = (&mut base, kwargs.get::<Value>("other"))
                && let Json::Object(extra) = to_json(&other)
            {
                map.extend(extra);
            }
            Value::from_serializable(&base)
        });
        tera.register_function("param", |kwargs: Kwargs, _: &State| {
            let name: String = kwargs.must_get("name")?;
            Ok::<String, tera::Error>(format!("{PLACEHOLDER}{name}"))
        });
        for (name, source) in SOURCES {
            tera.add_raw_template(name, source)
                .map_err(|error| TemplateError::Load {
                    name,
                    source: error,
                })?;
        }
        Ok(Self { tera })
    }

    /// The objects of one template, as YAML values with placeholders.
    pub fn render(&self, kind: &str, model: &Model) -> Result<Vec<Yaml>, TemplateError> {
        let mut context = Context::new();
        context.insert("m", model);
        context.insert("private_v4", &PRIVATE_V4);
        context.insert("private_v6", &PRIVATE_V6);
        context.insert("metadata_v4", &METADATA_EXCEPT_V4);
        context.insert("egress_sources", &egress_sources(model));
        context.insert("alert_rules", &alerts::rules(model, NAMESPACE_IN_TEXT));
        let text = self
            .tera
            .render(kind, &context)
            .map_err(|source| TemplateError::Render {
                kind: kind.to_string(),
                source,
            })?;
        let mut documents = Vec::new();
        for document in yaml_serde::Deserializer::from_str(&text) {
            let mut value: Yaml = serde::Deserialize::deserialize(document).map_err(|source| {
                TemplateError::Yaml {
                    kind: kind.to_string(),
                    source,
                    text: text.clone(),
                }
            })?;
            drop_nulls(&mut value);
            if !matches!(value, Yaml::Null) {
                documents.push(value);
            }
        }
        Ok(documents)
    }
}

fn egress_sources(model: &Model) -> String {
    let mut sources: Vec<&str> = model
        .egress
        .iter()
        .flat_map(|r| r.sources.iter().map(String::as_str))
        .collect();
    sources.sort_unstable();
    sources.dedup();
    sources.join(", ")
}

/// Keys with null values are left out (an empty `ingress:` list means "none" either way).
fn drop_nulls(value: &mut Yaml) {
    match value {
        Yaml::Mapping(map) => {
            map.retain(|_, v| !matches!(v, Yaml::Null));
            map.values_mut().for_each(drop_nulls);
        }
        Yaml::Sequence(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

fn emit(documents: &[Yaml]) -> String {
    documents
        .iter()
        .map(|d| yaml_serde::to_string(d).expect("YAML values serialize"))
        .collect::<Vec<_>>()
        .join("---\n")
}

/// The literal value of a parameter in the manifests.
fn param_value(name: &str, model: &Model) -> Yaml {
    let text = |s: &str| Yaml::String(s.to_string());
    match name {
        "namespace" => text(&model.namespace),
        "replicas" => Yaml::Number(model.replicas.unwrap_or(1).into()),
        "image" => text(&model.image.reference),
        "pullPolicy" => text(&model.image.pull_policy),
        "requestsCpu" => text(&model.resources.requests_cpu),
        "requestsMemory" => text(&model.resources.requests_memory),
        "limitsCpu" => text(&model.resources.limits_cpu),
        "limitsMemory" => text(&model.resources.limits_memory),
        other => panic!("template uses unknown parameter {other}"),
    }
}

fn substitute(value: &mut Yaml, model: &Model) {
    match value {
        Yaml::String(s) if s.starts_with(PLACEHOLDER) => {
            *value = param_value(&s[PLACEHOLDER.len()..], model)
        }
        Yaml::String(s) if s.contains(NAMESPACE_IN_TEXT) => {
            *s = s.replace(NAMESPACE_IN_TEXT, &model.namespace);
        }
        Yaml::Mapping(map) => map.values_mut().for_each(|v| substitute(v, model)),
        Yaml::Sequence(items) => items.iter_mut().for_each(|v| substitute(v, model)),
        _ => {}
    }
}

/// The objects as plain manifests: parameters replaced by their values.
pub fn manifest_text(documents: &[Yaml], model: &Model) -> String {
    let mut documents = documents.to_vec();
    documents.iter_mut().for_each(|d| substitute(d, model));
    emit(&documents)
}

/// The objects as Helm chart templates: literal braces escaped, parameters as `.Values`.
/// Every run of two or more braces (`{{`, `}}`, but also `{}}` or `{{{`, which would otherwise
/// touch an escape and open an action) becomes a template string literal of that run.
pub fn chart_text(documents: &[Yaml]) -> String {
    static BRACES: OnceLock<Regex> = OnceLock::new();
    let braces = BRACES.get_or_init(|| Regex::new(r"[{}]{2,}").expect("static regex"));
    let text = emit(documents);
    let mut text = braces
        .replace_all(&text, |c: &regex::Captures<'_>| {
            format!("{{{{ \"{}\" }}}}", &c[0])
        })
        .into_owned();
    for (name, expression) in PARAMS {
        text = text.replace(&format!("{PLACEHOLDER}{name}"), expression);
    }
    // A DNS label: safe inside any YAML scalar.
    text.replace(NAMESPACE_IN_TEXT, "{{ .Release.Namespace }}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_text_escapes_literal_braces_and_fills_parameters() {
        let doc: Yaml = yaml_serde::from_str("a: '{{ x }}'\nb: AIRLOCK_PARAM_replicas\n").unwrap();
        let text = chart_text(&[doc]);
        assert_eq!(
            text,
            "a: '{{ \"{{\" }} x {{ \"}}\" }}'\nb: {{ .Values.replicas }}\n"
        );
        let doc: Yaml = yaml_serde::from_str("a: 'x {}} y {{{ z {}'\n").unwrap();
        assert_eq!(
            chart_text(&[doc]),
            "a: x {{ \"{}}\" }} y {{ \"{{{\" }} z {{ \"{}\" }}\n",
            "runs of braces never touch an escape"
        );
    }
}
