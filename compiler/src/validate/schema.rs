//! Structural validation: the JSON Schema generated from the model checks the document, and
//! each error becomes a diagnostic at the right span with a message and a fix. Tagged unions
//! (`roots`, `upstreams`) are judged against the variant their `type` selects, not against all.

use super::doc::{ConfigDoc, display_path, escape};
use super::suggest;
use crate::diagnostics::{Diagnostic, Diagnostics, codes};
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use serde_json::Value;
use std::sync::OnceLock;

struct Compiled {
    schema: Value,
    validator: Validator,
    /// Every (parent path as displayed, key) in the schema, for keys written in the wrong place.
    everywhere: Vec<(String, String)>,
}

fn compiled() -> &'static Compiled {
    static COMPILED: OnceLock<Compiled> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let schema = airlock_schema::json_schema();
        let validator = jsonschema::draft7::new(&schema).expect("the generated schema compiles");
        let mut everywhere = Vec::new();
        collect_keys(&schema, &schema, String::new(), 0, &mut everywhere);
        Compiled {
            schema,
            validator,
            everywhere,
        }
    })
}

/// Follows `$ref` and single-element `allOf` wrappers, remembering the last definition name
/// (or the type an inlined scalar names).
fn resolve<'a>(
    root: &'a Value,
    mut schema: &'a Value,
    mut name: Option<&'a str>,
) -> (&'a Value, Option<&'a str>) {
    for _ in 0..16 {
        if let Some(inlined) = schema
            .get(airlock_schema::TYPE_KEYWORD)
            .and_then(Value::as_str)
        {
            name = Some(inlined);
        }
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let def = reference.trim_start_matches("#/definitions/");
            name = Some(def);
            schema = &root["definitions"][def];
        } else if let Some([only]) = schema
            .get("allOf")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            schema = only;
        } else {
            break;
        }
    }
    (schema, name)
}

/// The branch of a tagged union (`oneOf` whose branches fix `type`) the instance selects.
fn branch<'a>(root: &'a Value, schema: &'a Value, instance: &Value) -> Option<&'a Value> {
    let branches = schema.get("oneOf")?.as_array()?;
    let kind = instance.get("type")?.as_str()?;
    branches
        .iter()
        .map(|b| resolve(root, b, None).0)
        .find(|b| b.pointer("/properties/type/const").and_then(Value::as_str) == Some(kind))
}

fn union_tags<'a>(root: &'a Value, schema: &'a Value) -> Vec<String> {
    schema
        .get("oneOf")
        .and_then(Value::as_array)
        .map(|branches| {
            branches
                .iter()
                .filter_map(|b| {
                    resolve(root, b, None)
                        .0
                        .pointer("/properties/type/const")
                        .and_then(Value::as_str)
                        .map(String::from)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The schema at an instance pointer, resolved, with the definition it came from.
fn schema_at<'a>(
    root: &'a Value,
    pointer: &str,
    instance: &Value,
) -> Option<(&'a Value, Option<&'a str>)> {
    let (mut schema, mut name) = resolve(root, root, None);
    let mut value = instance;
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if let Some(selected) = branch(root, schema, value) {
            schema = selected;
        }
        let child = if let Some(props) = schema.get("properties").and_then(|p| p.get(&segment)) {
            props
        } else if let Some(items) = schema.get("items").filter(|_| value.is_array()) {
            items
        } else {
            schema
                .get("additionalProperties")
                .filter(|a| a.is_object())?
        };
        let resolved = resolve(root, child, None);
        schema = resolved.0;
        name = resolved.1;
        value = match value {
            Value::Object(map) => map.get(&segment)?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    if let Some(selected) = branch(root, schema, value) {
        schema = selected;
    }
    Some((schema, name))
}

fn collect_keys(
    root: &Value,
    schema: &Value,
    path: String,
    depth: usize,
    out: &mut Vec<(String, String)>,
) {
    if depth > 12 {
        return;
    }
    let (schema, _) = resolve(root, schema, None);
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (key, child) in props {
            out.push((path.clone(), key.clone()));
            let child_path = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            collect_keys(root, child, child_path, depth + 1, out);
        }
    }
    if let Some(items) = schema.get("items") {
        collect_keys(root, items, format!("{path}[]"), depth + 1, out);
    }
    for key in ["oneOf", "anyOf"] {
        for b in schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            collect_keys(root, b, path.clone(), depth + 1, out);
        }
    }
}

fn keys_of(schema: &Value) -> Vec<String> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// Validates the document against the schema, recording invalid pointers in `doc`.
pub fn check(doc: &mut ConfigDoc<'_>, out: &mut Diagnostics) {
    let compiled = compiled();
    if !doc.json.is_object() {
        let found = doc.root.type_name();
        out.push(
            Diagnostic::new(codes::AL1003, doc.at(doc.root.span), format!("expected a mapping at the top level, found {found}"))
                .help("an airlock.yaml starts with `version: 1`, `name:`, `image:`, `auth:`, `policy:` and `upstreams:`; see `airlockc schema`")
                .pointer(""),
        );
        doc.invalid.insert(String::new());
        return;
    }
    let errors: Vec<ValidationError<'_>> = compiled.validator.iter_errors(&doc.json).collect();
    let mut diagnostics = Vec::new();
    for error in &errors {
        convert(doc, compiled, error, &mut diagnostics);
    }
    for (pointer, diagnostic) in diagnostics {
        doc.invalid.insert(pointer);
        out.push(diagnostic);
    }
    let mut refused = Vec::new();
    typed_scalars(doc, compiled, &mut refused);
    float_integers(doc, compiled, &mut refused);
    for (pointer, diagnostic) in refused {
        doc.invalid.insert(pointer);
        out.push(diagnostic);
    }
}

/// Every scalar of a document with its JSON pointer, in document order.
pub fn leaves(value: &Value) -> Vec<(String, &Value)> {
    fn walk<'v>(value: &'v Value, pointer: String, out: &mut Vec<(String, &'v Value)>) {
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, format!("{pointer}/{i}"), out);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    walk(item, format!("{pointer}/{}", escape(key)), out);
                }
            }
            scalar => out.push((pointer, scalar)),
        }
    }
    let mut out = Vec::new();
    walk(value, String::new(), &mut out);
    out
}

/// Typed scalars the schema's pattern lets through but the model refuses when it parses them:
/// a rate of `0/min`, a count or a duration that overflows, `999.1.1.1/8`, `::1/200`. Each
/// string the schema found clean is parsed as the model will parse it, so these are reported
/// at their span with the parser's reason instead of failing the build without a word.
fn typed_scalars(doc: &ConfigDoc<'_>, compiled: &Compiled, out: &mut Found) {
    let root = &compiled.schema;
    for (pointer, leaf) in leaves(&doc.json) {
        let Some(text) = leaf.as_str() else { continue };
        if !doc.is_clean(&pointer) {
            continue;
        }
        let Some((here, Some(definition))) = schema_at(root, &pointer, &doc.json) else {
            continue;
        };
        if airlock_schema::types::explain_invalid(definition, text).is_some() {
            let path = display_path(&pointer);
            let help = Some(field_help(root, here));
            let instance = Value::String(text.to_string());
            let diagnostic =
                invalid_format(doc, &pointer, &path, &instance, Some(definition), help);
            out.push((pointer, diagnostic));
        }
    }
}

/// Whole numbers written with a decimal point (`burst: 50.0`) where the model wants an integer:
/// JSON Schema counts `50.0` as an integer, the model's integer fields do not, so these are
/// reported here, at their span, like any other wrong type.
fn float_integers(doc: &ConfigDoc<'_>, compiled: &Compiled, out: &mut Found) {
    let root = &compiled.schema;
    for (pointer, leaf) in leaves(&doc.json) {
        let Some(number) = leaf.as_f64().filter(|_| leaf.is_f64()) else {
            continue;
        };
        if !doc.is_clean(&pointer) || number.fract() != 0.0 {
            continue;
        }
        let Some((here, _)) = schema_at(root, &pointer, &doc.json) else {
            continue;
        };
        let (resolved, _) = resolve(root, here, None);
        let is = |t: &Value| t.as_str() == Some("integer");
        let integer = match resolved.get("type") {
            Some(Value::Array(types)) => {
                types.iter().any(is) && !types.iter().any(|t| t.as_str() == Some("number"))
            }
            Some(t) => is(t),
            None => false,
        };
        if integer {
            let path = display_path(&pointer);
            let written = doc.json.pointer(&pointer).map(plain).unwrap_or_default();
            out.push((
                pointer.clone(),
                doc.value_diag(
                    codes::AL1003,
                    &pointer,
                    format!("expected an integer for `{path}`, found `{written}`"),
                )
                .help(format!(
                    "write the whole number without a decimal point: `{}`",
                    number as i64
                )),
            ));
        }
    }
}

type Found = Vec<(String, Diagnostic)>;

fn convert(doc: &ConfigDoc<'_>, compiled: &Compiled, error: &ValidationError<'_>, out: &mut Found) {
    let pointer = error.instance_path().as_str().to_string();
    let root = &compiled.schema;
    let instance = doc.json.pointer(&pointer).unwrap_or(&Value::Null);
    let (here, definition) = schema_at(root, &pointer, &doc.json).unzip();
    let definition = definition.flatten();
    let path = display_path(&pointer);
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            for key in unexpected {
                let child = format!("{pointer}/{}", escape(key));
                match misspelt_required(doc, compiled, &pointer, key) {
                    // The typo is the one mistake: lead with the fix, and let this stand for
                    // the missing key too (its pointer is the invalid one).
                    Some(required) => out.push((
                        format!("{pointer}/{}", escape(&required)),
                        doc.key_diag(
                            codes::AL1002,
                            &child,
                            format!(
                                "unknown key `{key}` {}: did you mean `{required}`?",
                                place(&pointer)
                            ),
                        )
                        .help(format!(
                            "rename `{key}` to `{required}`, a required key that is missing"
                        )),
                    )),
                    None => out.push((
                        child.clone(),
                        unknown_key(doc, compiled, &pointer, key, &child),
                    )),
                }
            }
        }
        ValidationErrorKind::Required { property }
            if misspelling_of(
                doc,
                compiled,
                &pointer,
                property.as_str().unwrap_or_default(),
            )
            .is_some() =>
        {
            // Reported at the misspelt key (above).
        }
        ValidationErrorKind::Required { property } => {
            let key = property.as_str().unwrap_or_default();
            let child = format!("{pointer}/{}", escape(key));
            let diagnostic = if pointer.is_empty() && key == "version" {
                doc.key_diag(codes::AL1015, &pointer, "missing `version`")
                    .help("add `version: 1` as the first key: it is the format version of airlock.yaml")
            } else if let Some(kind) = instance
                .get("type")
                .and_then(Value::as_str)
                .filter(|_| is_union_item(&pointer))
            {
                doc.key_diag(
                    codes::AL2003,
                    &pointer,
                    format!("`{path}` is of type `{kind}`, which requires `{key}`"),
                )
                .maybe_help(
                    here.and_then(|h| h.pointer(&format!("/properties/{key}")))
                        .map(|s| field_help(root, s)),
                )
            } else {
                let described = here
                    .and_then(|h| h.pointer(&format!("/properties/{}", escape(key))))
                    .map(|s| field_help(root, s));
                let mut d = doc.key_diag(
                    codes::AL1004,
                    &pointer,
                    format!("missing required key `{key}` {}", place(&pointer)),
                );
                if pointer.is_empty() {
                    d.location.span = crate::syntax::Span::new(0, 0);
                }
                d.maybe_help(described)
            };
            out.push((child, diagnostic));
        }
        ValidationErrorKind::OneOfNotValid { context }
        | ValidationErrorKind::OneOfMultipleValid { context } => {
            union_error(doc, compiled, &pointer, here, context, out);
        }
        ValidationErrorKind::Type { .. }
            if instance.is_number() && matches!(definition, Some("Duration" | "Rate")) =>
        {
            let (code, fix) = if definition == Some("Duration") {
                (codes::AL1006, format!("`{}s`", plain(instance)))
            } else {
                (codes::AL1007, format!("`{}/min`", plain(instance)))
            };
            let message = format!("`{path}: {}` has no unit", plain(instance));
            out.push((
                pointer.clone(),
                doc.value_diag(code, &pointer, message)
                    .help(format!("write the unit, e.g. {fix}")),
            ));
        }
        ValidationErrorKind::Type { kind } => {
            let expected = type_kind(kind);
            let found = doc
                .root
                .pointer(&pointer)
                .map_or("nothing", |n| n.type_name());
            let mut help = here.map(|h| field_help(root, h));
            if expected == "boolean"
                && matches!(
                    instance.as_str(),
                    Some("yes" | "no" | "on" | "off" | "y" | "n" | "Yes" | "No" | "On" | "Off")
                )
            {
                help = Some("YAML 1.2 reads `yes`, `no`, `on` and `off` as strings: write `true` or `false`".into());
            }
            let message = if found == "null" {
                format!("`{path}` is empty: expected {expected}")
            } else {
                format!("expected {expected} for `{path}`, found {found}")
            };
            out.push((
                pointer.clone(),
                doc.value_diag(codes::AL1003, &pointer, message)
                    .maybe_help(help),
            ));
        }
        ValidationErrorKind::Enum { options } => {
            let options: Vec<String> = options
                .as_array()
                .into_iter()
                .flatten()
                .map(plain)
                .collect();
            let value = plain(instance);
            let help = suggest::choice(&value, &options)
                .unwrap_or_else(|| format!("expected {}", suggest::list(&options)));
            out.push((
                pointer.clone(),
                doc.value_diag(
                    codes::AL1005,
                    &pointer,
                    format!("`{value}` is not a valid value for `{path}`"),
                )
                .help(help),
            ));
        }
        ValidationErrorKind::Constant { expected_value } => {
            out.push((
                pointer.clone(),
                constant(
                    doc,
                    &pointer,
                    &path,
                    instance,
                    expected_value,
                    here.map(|h| field_help(root, h)),
                ),
            ));
        }
        ValidationErrorKind::PropertyNames { error: inner } => {
            let key = plain(inner.instance());
            let child = format!("{pointer}/{}", escape(&key));
            let prometheus = matches!(
                inner.kind(),
                ValidationErrorKind::Pattern { pattern } if pattern.as_str() == airlock_schema::types::PROMETHEUS_LABEL
            );
            let what = if prometheus {
                "a Prometheus label name: letters, digits and `_`, not starting with a digit (e.g. `team`)"
            } else {
                "a Kubernetes label or annotation key: an optional DNS subdomain prefix and `/`, then 1 to 63 letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit (e.g. `team` or `example.com/team`)"
            };
            out.push((
                child.clone(),
                doc.key_diag(
                    codes::AL1010,
                    &child,
                    format!("invalid key `{key}` in `{path}`"),
                )
                .help(format!("a key here is {what}")),
            ));
        }
        ValidationErrorKind::Pattern { .. }
        | ValidationErrorKind::AnyOf { .. }
        | ValidationErrorKind::Format { .. } => {
            out.push((
                pointer.clone(),
                invalid_format(
                    doc,
                    &pointer,
                    &path,
                    instance,
                    definition,
                    here.map(|h| field_help(root, h)),
                ),
            ));
        }
        ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::Maximum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit }
        | ValidationErrorKind::ExclusiveMaximum { limit } => {
            let below = matches!(
                error.kind(),
                ValidationErrorKind::Minimum { .. } | ValidationErrorKind::ExclusiveMinimum { .. }
            );
            let mut message = format!(
                "`{}` is {} the {} allowed for `{path}`",
                plain(instance),
                if below { "below" } else { "above" },
                if below {
                    format!("minimum {limit}")
                } else {
                    format!("maximum {limit}")
                }
            );
            let mut help = here.map(|h| field_help(root, h));
            if pointer.ends_with("/port") && below {
                help = Some("the container runs as a non-root user, which cannot bind ports below 1024; the Service still exposes 80/443".into());
            }
            if pointer.starts_with("/deployment/securityContext") && below {
                message = format!(
                    "`{path}: {}` would run the container as root",
                    plain(instance)
                );
                out.push((pointer.clone(), doc.value_diag(codes::AL1014, &pointer, message).help("Airlock always runs as a non-root user: use a UID/GID of 1 or more (65532 by default)")));
                return;
            }
            out.push((
                pointer.clone(),
                doc.value_diag(codes::AL1011, &pointer, message)
                    .maybe_help(help),
            ));
        }
        ValidationErrorKind::MinItems { .. } | ValidationErrorKind::MinLength { .. } => {
            let what = if instance.is_array() { "list" } else { "value" };
            out.push((
                pointer.clone(),
                doc.value_diag(
                    codes::AL1012,
                    &pointer,
                    format!("the {what} `{path}` must not be empty"),
                )
                .maybe_help(here.map(|h| field_help(root, h))),
            ));
        }
        _ => {
            out.push((
                pointer.clone(),
                doc.value_diag(
                    codes::AL1010,
                    &pointer,
                    format!("invalid `{path}`: {error}"),
                )
                .maybe_help(here.map(|h| field_help(root, h))),
            ));
        }
    }
}

/// `roots/0`, `upstreams/3`: items of the tagged unions.
fn is_union_item(pointer: &str) -> bool {
    let mut parts = pointer.split('/').skip(1);
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some("roots" | "upstreams"), Some(_), None)
    )
}

fn unknown_key(
    doc: &ConfigDoc<'_>,
    compiled: &Compiled,
    parent: &str,
    key: &str,
    child: &str,
) -> Diagnostic {
    let root = &compiled.schema;
    let here = schema_at(root, parent, &doc.json).map(|(s, _)| s);
    let known = here.map(keys_of).unwrap_or_default();
    let path = display_path(parent);
    if is_union_item(parent) {
        let list_pointer = &parent[..parent.rfind('/').unwrap_or(0)];
        let union = schema_at(root, list_pointer, &doc.json)
            .and_then(|(s, _)| s.get("items"))
            .map(|items| resolve(root, items, None).0);
        if let (Some(union), Some(kind)) = (
            union,
            doc.json
                .pointer(parent)
                .and_then(|v| v.get("type"))
                .and_then(Value::as_str),
        ) {
            let owners: Vec<String> = union
                .get("oneOf")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|b| resolve(root, b, None).0)
                .filter(|b| b.pointer(&format!("/properties/{}", escape(key))).is_some())
                .filter_map(|b| {
                    b.pointer("/properties/type/const")
                        .and_then(Value::as_str)
                        .map(|s| format!("`{s}`"))
                })
                .collect();
            if !owners.is_empty() {
                return doc
                    .key_diag(
                        codes::AL2003,
                        child,
                        format!("`{key}` is not a field of `{kind}` items in `{path}`"),
                    )
                    .help(format!(
                        "`{key}` belongs to items of type {}; check `type`, or remove `{key}`",
                        owners.join(" or ")
                    ));
            }
        }
    }
    let help = suggest::unknown_key(key, parent, &known, &compiled.everywhere);
    doc.key_diag(
        codes::AL1002,
        child,
        format!("unknown key `{key}` {}", place(parent)),
    )
    .maybe_help(help)
}

/// Where a key is, in words: `at the top level` or ``in `auth.oidc` ``.
fn place(pointer: &str) -> String {
    if pointer.is_empty() {
        "at the top level".to_string()
    } else {
        format!("in `{}`", display_path(pointer))
    }
}

/// The required key of the mapping at `parent` that its unknown key `key` misspells, if that
/// key is missing.
fn misspelt_required(
    doc: &ConfigDoc<'_>,
    compiled: &Compiled,
    parent: &str,
    key: &str,
) -> Option<String> {
    let here = schema_at(&compiled.schema, parent, &doc.json)?.0;
    let known = keys_of(here);
    let close = suggest::closest(key, &known)?;
    let object = doc.json.pointer(parent)?.as_object()?;
    let required = here.get("required")?.as_array()?;
    (required.iter().any(|r| r.as_str() == Some(close.as_str())) && !object.contains_key(close))
        .then(|| close.clone())
}

/// The unknown key of the mapping at `parent` that misspells its missing required key
/// `required`, if there is one.
fn misspelling_of(
    doc: &ConfigDoc<'_>,
    compiled: &Compiled,
    parent: &str,
    required: &str,
) -> Option<String> {
    let here = schema_at(&compiled.schema, parent, &doc.json)?.0;
    let known = keys_of(here);
    doc.json
        .pointer(parent)?
        .as_object()?
        .keys()
        .filter(|k| !known.contains(k))
        .find(|k| misspelt_required(doc, compiled, parent, k).as_deref() == Some(required))
        .cloned()
}

fn union_error(
    doc: &ConfigDoc<'_>,
    compiled: &Compiled,
    pointer: &str,
    here: Option<&Value>,
    context: &[Vec<ValidationError<'static>>],
    out: &mut Found,
) {
    let root = &compiled.schema;
    let instance = doc.json.pointer(pointer).unwrap_or(&Value::Null);
    let path = display_path(pointer);
    // `schema_at` already selected the branch when `type` is valid; the union is the parent's items.
    let list_pointer = &pointer[..pointer.rfind('/').unwrap_or(0)];
    let union = schema_at(root, list_pointer, &doc.json)
        .and_then(|(s, _)| s.get("items"))
        .map(|items| resolve(root, items, None).0)
        .or(here);
    let tags = union.map(|u| union_tags(root, u)).unwrap_or_default();
    let Some(object) = instance.as_object() else {
        let found = doc
            .root
            .pointer(pointer)
            .map_or("nothing", |n| n.type_name());
        out.push((
            pointer.into(),
            doc.value_diag(
                codes::AL1003,
                pointer,
                format!("expected a mapping for `{path}`, found {found}"),
            ),
        ));
        return;
    };
    let kind = match object.get("type") {
        None => {
            out.push((
                pointer.into(),
                doc.key_diag(codes::AL2003, pointer, format!("`{path}` has no `type`"))
                    .help(format!("add `type:` with one of {}", suggest::list(&tags))),
            ));
            return;
        }
        Some(kind) => plain(kind),
    };
    let Some(index) = tags.iter().position(|t| *t == kind) else {
        let type_pointer = format!("{pointer}/type");
        let help = suggest::choice(&kind, &tags)
            .unwrap_or_else(|| format!("expected {}", suggest::list(&tags)));
        out.push((
            type_pointer.clone(),
            doc.value_diag(
                codes::AL2003,
                &type_pointer,
                format!("unknown type `{kind}` for `{path}`"),
            )
            .help(help),
        ));
        return;
    };
    for error in context.get(index).into_iter().flatten() {
        convert(doc, compiled, error, out);
    }
}

fn constant(
    doc: &ConfigDoc<'_>,
    pointer: &str,
    path: &str,
    instance: &Value,
    expected: &Value,
    help: Option<String>,
) -> Diagnostic {
    let expected_text = plain(expected);
    if pointer == "/version" {
        let message = if instance.is_string() {
            format!(
                "`version` is the string \"{}\", not a number",
                plain(instance)
            )
        } else {
            format!("unsupported version `{}`", plain(instance))
        };
        return doc
            .value_diag(codes::AL1015, pointer, message)
            .help(format!(
                "this airlockc understands `version: {}`",
                airlock_schema::CONFIG_VERSION
            ));
    }
    if pointer.starts_with("/deployment/securityContext") || pointer.ends_with("/pathSandboxing") {
        return doc
            .value_diag(
                codes::AL1014,
                pointer,
                format!("`{path}` cannot be weakened: Airlock enforces `{expected_text}`"),
            )
            .help(format!(
                "remove the key or set it to `{expected_text}`; hardening is built in, not optional"
            ));
    }
    doc.value_diag(
        codes::AL1005,
        pointer,
        format!("`{path}` must be `{expected_text}`"),
    )
    .maybe_help(help)
}

fn invalid_format(
    doc: &ConfigDoc<'_>,
    pointer: &str,
    path: &str,
    instance: &Value,
    definition: Option<&str>,
    help: Option<String>,
) -> Diagnostic {
    let text = plain(instance);
    let reason = definition.and_then(|d| airlock_schema::types::explain_invalid(d, &text));
    let code = match definition {
        Some("Duration") => codes::AL1006,
        Some("Rate") => codes::AL1007,
        Some("HttpUrl" | "RedisUrl" | "S3Uri" | "VirtualPrefix") => codes::AL1008,
        Some("Quantity") => codes::AL1009,
        _ => codes::AL1010,
    };
    let message = match &reason {
        Some(reason) => format!("invalid `{path}`: {reason}"),
        None => format!("invalid `{path}`: `{text}` does not have the expected format"),
    };
    let help = if reason.is_some() { None } else { help };
    doc.value_diag(code, pointer, message).maybe_help(help)
}

/// The help of a field: its description (and an example when there is one).
fn field_help(root: &Value, schema: &Value) -> String {
    let description = schema.get("description").and_then(Value::as_str);
    let (resolved, _) = resolve(root, schema, None);
    let description = description
        .or_else(|| resolved.get("description").and_then(Value::as_str))
        .unwrap_or("");
    let example = schema
        .get("examples")
        .or_else(|| resolved.get("examples"))
        .and_then(|e| e.get(0))
        .filter(|e| !e.is_object() && !e.is_array())
        .map(|e| format!(" Example: `{}`.", plain(e)));
    format!("{description}{}", example.unwrap_or_default())
        .trim()
        .to_string()
}

fn type_kind(kind: &TypeKind) -> String {
    let name = |t: &jsonschema::JsonType| match t.to_string().as_str() {
        "object" => "a mapping".to_string(),
        "array" => "a list".to_string(),
        "string" => "a string".to_string(),
        "integer" => "a whole number".to_string(),
        "number" => "a number".to_string(),
        "boolean" => "boolean".to_string(),
        other => other.to_string(),
    };
    match kind {
        TypeKind::Single(t) => name(t),
        TypeKind::Multiple(types) => types
            .iter()
            .map(|t| name(&t))
            .collect::<Vec<_>>()
            .join(" or "),
    }
}

/// A JSON value as a user wrote it: strings without quotes.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
