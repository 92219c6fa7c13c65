//! Upstreams and roots: valid environment and header names (AL2021), roots that stay out of
//! system directories (AL2023) and have a volume (AL2026).

use crate::diagnostics::{Diagnostics, codes};
use crate::validate::ConfigDoc;
use crate::validate::doc::escape;
use airlock_schema::config::{Audit, Root, Upstream};

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
    for (index, upstream) in doc.items::<Upstream>("/upstreams") {
        match &upstream {
            Upstream::Stdio(stdio) => {
                for name in stdio.env.keys().filter(|n| !env_name(n)) {
                    out.push(
                        doc.key_diag(codes::AL2021, &format!("/upstreams/{index}/env/{}", escape(name)), format!("`{name}` is not a valid environment variable name"))
                            .help("use letters, digits and `_`, not starting with a digit (e.g. `API_TOKEN`)"),
                    );
                }
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
