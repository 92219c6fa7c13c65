//! The pod's mount paths: paths that become a volume's `mountPath` are written in normal form
//! (AL2032), no two volumes share or overlap a mount path (AL2033), and no volume is mounted at
//! `/` or over a system directory (AL2034).
//!
//! The mounts mirror `lower::volumes`: the fixed ones (`/tmp`, the configuration, the secrets),
//! the SQLite audit directory, the directories of roots that have a volume and the socket
//! directories of unix upstreams.

use crate::diagnostics::{Diagnostics, codes};
use crate::validate::ConfigDoc;
use airlock_schema::config::{Audit, AuditBackend, Root, Upstream};
use airlock_schema::runtime::{CONFIG_DIR, SECRETS_DIR};

/// Directories of the image a volume must not hide. (`/run` is fine: the service account
/// token is not mounted, and the pod's own Secrets are under `/var/run/secrets/airlock`, which
/// AL2033 keeps free.)
const SYSTEM_DIRS: [&str; 10] = [
    "/bin",
    "/dev",
    "/etc",
    "/lib",
    "/lib64",
    "/proc",
    "/sbin",
    "/sys",
    "/usr",
    "/var/run/secrets",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tmp,
    Fixed,
    Audit,
    Root,
    Socket,
}

struct Mount {
    /// The mount path, without a trailing slash.
    path: String,
    kind: Kind,
    /// What the user reads in a message.
    what: String,
    /// Where the path is written in the config (user mounts only).
    pointer: String,
    read_only: bool,
}

pub fn check(doc: &ConfigDoc<'_>, out: &mut Diagnostics) {
    let mut mounts = vec![
        fixed("/tmp", Kind::Tmp, "the pod's writable `/tmp`", false),
        fixed(
            CONFIG_DIR,
            Kind::Fixed,
            "the configuration (read-only)",
            true,
        ),
        fixed(
            SECRETS_DIR,
            Kind::Fixed,
            "the referenced Secrets (read-only)",
            true,
        ),
    ];
    let mut user = Vec::new();
    if let Some(audit) = doc.section_or_default::<Audit>("/audit")
        && audit.backend == AuditBackend::Sqlite
    {
        let pointer = "/audit/sqlite/path";
        if normal(doc, pointer, &audit.sqlite.path, out) {
            user.push(Mount {
                path: parent(&audit.sqlite.path).into(),
                kind: Kind::Audit,
                what: "the audit volume (the directory of `audit.sqlite.path`)".into(),
                pointer: pointer.into(),
                read_only: false,
            });
        }
    }
    for (index, root) in doc.items::<Root>("/roots") {
        let Root::Fs(fs) = &root else { continue };
        let pointer = format!("/roots/{index}/real");
        if normal(doc, &pointer, &fs.real, out) && fs.volume.is_some() {
            let path = fs.real.trim_end_matches('/');
            user.push(Mount {
                path: if path.is_empty() { "/" } else { path }.into(),
                kind: Kind::Root,
                what: format!("root `{}`'s volume", fs.name),
                pointer,
                read_only: fs.read_only,
            });
        }
    }
    for (index, upstream) in doc.items::<Upstream>("/upstreams") {
        let Upstream::Unix(unix) = &upstream else {
            continue;
        };
        let pointer = format!("/upstreams/{index}/socket");
        if normal(doc, &pointer, &unix.socket, out) {
            user.push(Mount {
                path: parent(unix.socket.trim_end_matches('/')).into(),
                kind: Kind::Socket,
                what: format!("the socket directory of upstream `{}`", unix.name),
                pointer,
                read_only: false,
            });
        }
    }
    for mount in user {
        // A root in a system directory is AL2023's (sensitive-root) to report.
        let system_root = mount.kind == Kind::Root
            && (mount.path == "/" || SYSTEM_DIRS.iter().any(|d| inside(&mount.path, d)));
        // The clearest explanation first: the same path as another volume, then a system
        // directory, then any other overlap.
        let found = conflict(doc, &mount, &mounts, true)
            .or_else(|| system(doc, &mount))
            .or_else(|| conflict(doc, &mount, &mounts, false))
            .filter(|_| !system_root);
        if let Some(diagnostic) = found {
            out.push(diagnostic);
        } else {
            mounts.push(mount);
        }
    }
}

fn fixed(path: &str, kind: Kind, what: &str, read_only: bool) -> Mount {
    Mount {
        path: path.into(),
        kind,
        what: what.into(),
        pointer: String::new(),
        read_only,
    }
}

/// AL2032: a path with `.` or `..` segments (or empty ones) is refused.
fn normal(doc: &ConfigDoc<'_>, pointer: &str, path: &str, out: &mut Diagnostics) -> bool {
    let body = path.strip_prefix('/').unwrap_or(path);
    let body = body.strip_suffix('/').unwrap_or(body);
    let bad = body
        .split('/')
        .find(|s| matches!(*s, "." | ".." | ""))
        .filter(|_| !body.is_empty());
    let problem = match bad {
        Some("") => "an empty segment (`//`)",
        Some(".") => "a `.` segment",
        Some(_) => "a `..` segment",
        None if !path.starts_with('/') => "no leading `/`",
        None => return true,
    };
    out.push(
        doc.value_diag(codes::AL2032, pointer, format!("`{path}` is not a normalized absolute path: it has {problem}"))
            .help("write the absolute path the way it resolves, without `.` or `..` segments (e.g. `/mnt/data`): it becomes a volume's mount path and is given to the gateway as written"),
    );
    false
}

fn inside(path: &str, dir: &str) -> bool {
    dir == "/" || path == dir || path.starts_with(&format!("{dir}/"))
}

/// AL2033: the same mount path as another volume; inside a read-only volume or a root; or
/// holding the pod's own mounts, or, for a root, any other volume.
fn conflict(
    doc: &ConfigDoc<'_>,
    mount: &Mount,
    others: &[Mount],
    same_only: bool,
) -> Option<crate::diagnostics::Diagnostic> {
    let other = others.iter().find(|other| {
        if other.path == mount.path {
            // Upstreams whose sockets share a directory share its volume.
            return !(other.kind == Kind::Socket && mount.kind == Kind::Socket);
        }
        if same_only {
            return false;
        }
        if inside(&mount.path, &other.path) {
            // No mount point can be made in a read-only volume, and a root would serve the
            // volume inside it.
            other.read_only || other.kind == Kind::Root
        } else if inside(&other.path, &mount.path) {
            // Hiding the pod's own mounts, or a root serving another volume (a root holding
            // the audit database is AL2023's to report).
            matches!(other.kind, Kind::Tmp | Kind::Fixed)
                || (mount.kind == Kind::Root && other.kind != Kind::Audit)
        } else {
            false
        }
    })?;
    let relation = if other.path == mount.path {
        "the same mount path as"
    } else if inside(&mount.path, &other.path) {
        "inside the mount path of"
    } else {
        "a directory holding the mount path of"
    };
    let at = if other.pointer.is_empty() {
        format!("`{}`", other.path)
    } else {
        format!(
            "`{}` (`{}`)",
            other.path,
            crate::validate::display_path(&other.pointer)
        )
    };
    Some(
        doc.value_diag(
            codes::AL2033,
            &mount.pointer,
            format!(
                "{} would be mounted at `{}`, {relation} {} at {at}",
                mount.what, mount.path, other.what
            ),
        )
        .help(
            "give each volume a directory of its own, e.g. `/var/lib/airlock/audit.db`, `/mnt/<root>`, `/run/mcp/<upstream>.sock`; the pod itself mounts `/tmp`, `/etc/airlock` and `/var/run/secrets/airlock`",
        ),
    )
}

/// AL2034: a volume at `/` or over a system directory. Roots
/// are left to AL2023 (sensitive-root), which also covers their reading of those directories.
fn system(doc: &ConfigDoc<'_>, mount: &Mount) -> Option<crate::diagnostics::Diagnostic> {
    if mount.kind == Kind::Root {
        return None;
    }
    let over = if mount.path == "/" {
        "over the whole file system of the image".to_string()
    } else {
        let dir = SYSTEM_DIRS.iter().find(|d| inside(&mount.path, d))?;
        format!("over the system directory `{dir}`")
    };
    Some(
        doc.value_diag(
            codes::AL2034,
            &mount.pointer,
            format!("{} would be mounted at `{}`, {over}", mount.what, mount.path),
        )
        .help("use a dedicated directory such as `/var/lib/airlock/audit.db` or `/run/mcp/<upstream>.sock`"),
    )
}

fn parent(path: &str) -> &str {
    path.rfind('/')
        .map_or("/", |i| if i == 0 { "/" } else { &path[..i] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting() {
        assert!(inside("/tmp/a", "/tmp") && inside("/tmp", "/tmp") && inside("/x", "/"));
        assert!(!inside("/tmpx", "/tmp") && !inside("/tmp", "/tmp/a"));
        assert_eq!(parent("/audit.db"), "/");
        assert_eq!(parent("/run/mcp/a.sock"), "/run/mcp");
    }
}
