//! Names and prefixes: unique names (AL2001), non-overlapping virtual prefixes (AL2002),
//! meaningful allow-lists (AL2007), tool names that cannot collide (AL2022) and upstream tools
//! that would hide the roots' built-in file tools (AL2027), and a namespace of its own, not one
//! of the cluster's system namespaces (AL2030).

use crate::diagnostics::{Diagnostics, Severity, codes};
use crate::validate::ConfigDoc;
use airlock_schema::config::{DlpPattern, Root, Upstream};
use airlock_schema::tools::BUILTIN_TOOLS;
use std::collections::BTreeMap;

pub fn check(doc: &ConfigDoc<'_>, out: &mut Diagnostics) {
    let roots = doc.items::<Root>("/roots");
    let upstreams = doc.items::<Upstream>("/upstreams");
    let patterns = doc.items::<DlpPattern>("/dlp/patterns");
    unique(
        doc,
        "/roots",
        "root",
        roots.iter().map(|(i, r)| (*i, r.name().as_str())),
        out,
    );
    unique(
        doc,
        "/upstreams",
        "upstream",
        upstreams.iter().map(|(i, u)| (*i, u.name().as_str())),
        out,
    );
    unique(
        doc,
        "/dlp/patterns",
        "DLP pattern",
        patterns.iter().map(|(i, p)| (*i, p.name.as_str())),
        out,
    );
    prefixes(doc, &roots, out);
    allow_lists(doc, &upstreams, !roots.is_empty(), out);
    namespace(doc, out);
}

/// Namespaces Kubernetes creates and runs itself; `kube-` is reserved for more of them.
const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

/// The build emits a Namespace object (labelled for the restricted Pod Security level) and
/// owns it: in a system namespace that would restrict the cluster's own pods, and a GitOps
/// prune could try to delete it.
fn namespace(doc: &ConfigDoc<'_>, out: &mut Diagnostics) {
    // `namespace` defaults to `name`.
    let pointer = if doc.json.get("namespace").is_some() {
        "/namespace"
    } else {
        "/name"
    };
    if !doc.is_clean(pointer) {
        return;
    }
    let Some(namespace) = doc.json.pointer(pointer).and_then(|v| v.as_str()) else {
        return;
    };
    if !SYSTEM_NAMESPACES.contains(&namespace) && !namespace.starts_with("kube-") {
        return;
    }
    let message = if pointer == "/name" {
        format!(
            "the namespace would be `{namespace}` (`name`, as `namespace` is omitted), a Kubernetes system namespace"
        )
    } else {
        format!("`{namespace}` is a Kubernetes system namespace")
    };
    out.push(doc.value_diag(codes::AL2030, pointer, message).help(
        "airlockc creates and owns its namespace and enforces the `restricted` Pod Security \
             level on it: choose a dedicated namespace such as `namespace: mcp-airlock`",
    ));
}

fn unique<'a>(
    doc: &ConfigDoc<'_>,
    list: &str,
    what: &str,
    names: impl Iterator<Item = (usize, &'a str)>,
    out: &mut Diagnostics,
) {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, name) in names {
        if let Some(first) = seen.get(name) {
            let first_line = doc
                .source
                .line_col(doc.value_span(&format!("{list}/{first}/name")).start)
                .0;
            out.push(
                doc.value_diag(
                    codes::AL2001,
                    &format!("{list}/{index}/name"),
                    format!("duplicate {what} name `{name}`"),
                )
                .help(format!(
                    "the first {what} named `{name}` is on line {first_line}; names must be unique"
                )),
            );
        } else {
            seen.insert(name, index);
        }
    }
}

fn prefixes(doc: &ConfigDoc<'_>, roots: &[(usize, Root)], out: &mut Diagnostics) {
    for (n, (i, a)) in roots.iter().enumerate() {
        for (j, b) in roots.iter().skip(n + 1) {
            if a.virtual_prefix().overlaps(b.virtual_prefix()) {
                out.push(
                    doc.value_diag(codes::AL2002, &format!("/roots/{j}/virtual"), format!(
                        "the virtual prefix `{}` of root `{}` overlaps `{}` of root `{}`",
                        b.virtual_prefix(), b.name(), a.virtual_prefix(), a.name()
                    ))
                    .help(format!("give each root its own prefix (e.g. `mcp://{}/`) so every URI resolves to exactly one root (line {})",
                        b.name(), doc.source.line_col(doc.value_span(&format!("/roots/{i}/virtual")).start).0)),
                );
            }
        }
    }
}

fn allow_lists(
    doc: &ConfigDoc<'_>,
    upstreams: &[(usize, Upstream)],
    has_roots: bool,
    out: &mut Diagnostics,
) {
    let mut exposed: BTreeMap<String, (usize, &str)> = BTreeMap::new();
    for (index, upstream) in upstreams {
        let common = upstream.common();
        let pointer = format!("/upstreams/{index}/allowTools");
        if let Some(tools) = common.allow_tools {
            if tools.is_empty() {
                out.push(
                    doc.value_diag(codes::AL2007, &pointer, format!("`allowTools` of upstream `{}` names no tool, so it exposes nothing", common.name))
                        .help("list the tools clients may use, or remove `allowTools` to expose all of the upstream's tools"),
                );
            }
            let mut seen = BTreeMap::new();
            for (t, tool) in tools.iter().enumerate() {
                if seen.insert(tool.as_str(), t).is_some() {
                    out.push(
                        doc.value_diag(
                            codes::AL2007,
                            &format!("{pointer}/{t}"),
                            format!(
                                "`{tool}` is listed twice in `allowTools` of upstream `{}`",
                                common.name
                            ),
                        )
                        .severity(Severity::Warning)
                        .help("remove the repeated entry"),
                    );
                }
            }
            for (t, tool) in tools.iter().enumerate() {
                let name = format!("{}{}", common.tool_prefix.unwrap_or(""), tool);
                if has_roots && BUILTIN_TOOLS.contains(&name.as_str()) {
                    out.push(
                        doc.value_diag(codes::AL2027, &format!("{pointer}/{t}"), format!(
                            "upstream `{}` exposes `{name}`, which hides the gateway's built-in `{name}` on the roots", common.name
                        ))
                        .help(format!("set `toolPrefix` on upstream `{}` (e.g. `toolPrefix: {}_`) to offer both; otherwise the upstream's tool answers and the roots' sandbox does not apply", common.name, common.name)),
                    );
                }
                if let Some((other, other_name)) = exposed.get(&name) {
                    out.push(
                        doc.value_diag(codes::AL2022, &pointer, format!(
                            "upstreams `{other_name}` and `{}` both expose a tool named `{name}`", common.name
                        ))
                        .help(format!("set `toolPrefix` on one of them (e.g. `toolPrefix: {}_`) so clients can call both; upstream #{other} wins otherwise", common.name)),
                    );
                } else {
                    exposed.insert(name, (*index, common.name.as_str()));
                }
            }
        }
    }
}
