//! Upstreams and roots: valid environment and header names (AL2021), roots that stay out of
//! system directories (AL2023) and have a volume (AL2026), sidecars reached inside the pod on
//! a port of their own (AL2044).

use crate::diagnostics::{Diagnostics, codes};
use crate::validate::ConfigDoc;
use crate::validate::doc::escape;
use airlock_schema::config::{Audit, Observability, Root, Server, Upstream};

/// The gateway's container name, which a sidecar's may not take.
const GATEWAY_CONTAINER: &str = "airlock";

const SYSTEM_DIRS: [&str; 8] = [
    "/proc",
    "/sys",
    "/dev",
    "/etc",
    "/var/run/secrets",
    "/run/secrets",
    "/bin",
    "/usr",
];

pub fn check(doc: &ConfigDoc<'_>, out: &mut Diagnostics) {
    sidecars(doc, out);
    for (index, upstream) in doc.items::<Upstream>("/upstreams") {
        match &upstream {
            Upstream::Stdio(stdio) => {
                env_names(
                    doc,
                    &format!("/upstreams/{index}/env"),
                    stdio.env.keys(),
                    out,
                );
            }
            Upstream::Http(http) => {
                for name in http.headers.keys() {
                    let pointer = format!("/upstreams/{index}/headers/{}", escape(name));
                    if !header_name(name) {
                        out.push(
                            doc.key_diag(
                                codes::AL2021,
                                &pointer,
                                format!("`{name}` is not a valid HTTP header name"),
                            )
                            .help("use letters, digits and `-` (e.g. `X-Api-Key`)"),
                        );
                    } else if [
                        "host",
                        "content-length",
                        "transfer-encoding",
                        "connection",
                        "mcp-session-id",
                    ]
                    .contains(&name.to_ascii_lowercase().as_str())
                    {
                        out.push(
                            doc.key_diag(
                                codes::AL2021,
                                &pointer,
                                format!("the `{name}` header is managed by the gateway"),
                            )
                            .help("remove it: the gateway sets it for every upstream request"),
                        );
                    }
                }
            }
            Upstream::Unix(_) => {}
        }
    }
    let audit_dir = doc
        .section_or_default::<Audit>("/audit")
        .map(|a| parent(&a.sqlite.path).to_string());
    for (index, root) in doc.items::<Root>("/roots") {
        let Root::Fs(fs) = &root else { continue };
        let real = fs.real.trim_end_matches('/');
        let real = if real.is_empty() { "/" } else { real };
        let pointer = format!("/roots/{index}/real");
        let inside = |dir: &str| real == dir || real.starts_with(&format!("{dir}/"));
        let exposed = if real == "/" {
            Some("/".to_string())
        } else {
            SYSTEM_DIRS
                .iter()
                .find(|d| inside(d))
                .map(|d| d.to_string())
                .or_else(|| {
                    audit_dir
                        .as_deref()
                        // The database is exposed when it lies in the root; a root beside
                        // it (a sibling directory) does not reach it.
                        .filter(|d| *d == real || real == "/" || d.starts_with(&format!("{real}/")))
                        .map(|d| format!("{d} (the audit database)"))
                })
        };
        if let Some(dir) = exposed {
            out.push(
                doc.value_diag(codes::AL2023, &pointer, format!("root `{}` exposes `{dir}`", fs.name))
                    .help("serve a dedicated directory such as `/mnt/repo`, mounted from a volume; never a system directory or the audit store"),
            );
        } else if fs.volume.is_none() {
            out.push(
                doc.key_diag(codes::AL2026, &format!("/roots/{index}"), format!("root `{}` has no `volume`", fs.name))
                    .help(format!("mount the data at `{}` with `volume: {{claimName: <pvc>}}`; the image is minimal and read-only, so the directory would be empty", fs.real)),
            );
        }
    }
}

/// AL2021 for each invalid name among the keys of the environment at `pointer`.
fn env_names<'a>(
    doc: &ConfigDoc<'_>,
    pointer: &str,
    names: impl Iterator<Item = &'a String>,
    out: &mut Diagnostics,
) {
    for name in names.filter(|n| !env_name(n)) {
        out.push(
            doc.key_diag(
                codes::AL2021,
                &format!("{pointer}/{}", escape(name)),
                format!("`{name}` is not a valid environment variable name"),
            )
            .help("use letters, digits and `_`, not starting with a digit (e.g. `API_TOKEN`)"),
        );
    }
}

/// A sidecar runs beside the gateway in one pod: its container is named after its upstream,
/// which must not be the gateway's (`airlock`); it is reached over its unix socket, or on
/// `localhost` at a port no other container of the pod listens on (AL2044); its environment
/// names are valid (AL2021).
fn sidecars(doc: &ConfigDoc<'_>, out: &mut Diagnostics) {
    let server = doc.section_or_default::<Server>("/server").map(|s| s.port);
    let metrics = doc
        .section_or_default::<Observability>("/observability")
        .filter(|o| o.metrics.enabled)
        .map(|o| o.metrics.port);
    let mut taken: Vec<(u16, String)> = [server, metrics]
        .into_iter()
        .flatten()
        .map(|port| (port, "the gateway".to_string()))
        .collect();
    for (index, upstream) in doc.items::<Upstream>("/upstreams") {
        let Some(sidecar) = upstream.sidecar() else {
            continue;
        };
        let base = format!("/upstreams/{index}");
        env_names(doc, &format!("{base}/sidecar/env"), sidecar.env.keys(), out);
        if upstream.name().as_str() == GATEWAY_CONTAINER {
            out.push(
                doc.value_diag(codes::AL2044, &format!("{base}/name"), format!("upstream `{GATEWAY_CONTAINER}` has a sidecar, whose container would take the gateway's name"))
                    .help("a sidecar's container is named after its upstream: rename the upstream (e.g. `airlock-docs`)"),
            );
        }
        let Upstream::Http(http) = &upstream else {
            continue;
        };
        if !http.url.is_loopback() {
            out.push(
                doc.value_diag(codes::AL2044, &format!("{base}/url"), format!("upstream `{}` has a sidecar but its URL `{}` is not on localhost", http.name, http.url))
                    .help(format!("a sidecar shares the pod's loopback with the gateway: point the URL at it, e.g. `http://127.0.0.1:{}{}`, or remove `sidecar`", http.url.port(), http.url.url().path())),
            );
            continue;
        }
        let port = http.url.port();
        match taken.iter().find(|(p, _)| *p == port) {
            Some((_, owner)) => out.push(
                doc.value_diag(codes::AL2044, &format!("{base}/url"), format!("upstream `{}`'s sidecar would listen on port {port}, where {owner} listens", http.name))
                    .help("containers of one pod share its ports: run the sidecar's server on another port and put that port in the URL"),
            ),
            None => taken.push((port, format!("the sidecar of upstream `{}`", http.name))),
        }
    }
}

fn parent(path: &str) -> &str {
    path.rfind('/')
        .map_or("/", |i| if i == 0 { "/" } else { &path[..i] })
}

fn env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(
            env_name("PYTHONPATH")
                && env_name("_X1")
                && !env_name("1X")
                && !env_name("A-B")
                && !env_name("")
        );
        assert!(header_name("X-Api-Key") && !header_name("X Api") && !header_name(""));
        assert_eq!(parent("/var/lib/airlock/audit.db"), "/var/lib/airlock");
    }
}
