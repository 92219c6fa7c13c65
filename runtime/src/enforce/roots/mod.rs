//! Virtual roots: directories and S3 prefixes the gateway itself serves under `mcp://` URIs,
//! as MCP resources and through the built-in file tools (`tools`).
//!
//! Every URI goes through [`Roots::resolve`] first: it finds the root by prefix and checks the
//! rest with `vpath` (one canonical spelling, no escape). The back ends (`fs`, `s3`) then
//! confine the checked path again with their own means (`openat2` beneath the root's
//! directory, key prefixes). A refusal on the way is a [`Violation`]: the request gets a 403
//! `path_violation`, a security log line, an audit event and a metric.

pub mod fs;
pub mod listing;
pub mod mime;
pub mod s3;
pub mod tools;
pub mod vpath;

use crate::errors::ViolationKind;
use airlock_schema::runtime::RootConfig;
use listing::{Entry, EntryKind, Listing, SearchOutcome, SearchQuery};
pub use vpath::VirtualPath;

/// A refused path, with a message safe to show the client (it never names the real directory).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub kind: ViolationKind,
    pub message: String,
}

impl Violation {
    pub fn new(kind: ViolationKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
    pub fn traversal(message: &str) -> Self {
        Self::new(ViolationKind::Traversal, message)
    }
    pub fn encoding(message: &str) -> Self {
        Self::new(ViolationKind::Encoding, message)
    }
    pub fn control(message: &str) -> Self {
        Self::new(ViolationKind::ControlCharacter, message)
    }
    pub fn absolute(message: &str) -> Self {
        Self::new(ViolationKind::AbsolutePath, message)
    }
}

/// What a root operation can fail with, short of a violation.
#[derive(Debug)]
pub enum RootError {
    Violation(Violation),
    NotFound,
    NotAFile,
    NotADirectory,
    /// The object is larger than the root's cap (its size, when known).
    TooLarge {
        limit: u64,
        size: Option<u64>,
    },
    /// The store failed; the message is for logs, not for clients.
    Io(String),
}

impl From<Violation> for RootError {
    fn from(violation: Violation) -> Self {
        RootError::Violation(violation)
    }
}

/// A configured root.
pub struct Root {
    pub config: RootConfig,
    pub backend: Backend,
}

pub enum Backend {
    Fs(fs::FsRoot),
    S3(s3::S3Root),
}

impl Root {
    pub fn name(&self) -> &str {
        match &self.config {
            RootConfig::Fs { name, .. } | RootConfig::S3 { name, .. } => name,
        }
    }
    pub fn prefix(&self) -> &str {
        match &self.config {
            RootConfig::Fs { virtual_prefix, .. } | RootConfig::S3 { virtual_prefix, .. } => {
                virtual_prefix
            }
        }
    }
    pub fn read_only(&self) -> bool {
        match &self.config {
            RootConfig::Fs { read_only, .. } | RootConfig::S3 { read_only, .. } => *read_only,
        }
    }
    pub fn max_bytes(&self) -> u64 {
        match &self.config {
            RootConfig::Fs { max_bytes, .. } | RootConfig::S3 { max_bytes, .. } => *max_bytes,
        }
    }
    // The S3 branches are boxed: the AWS SDK's futures are ~12 KiB, and unboxed they made
    // every request's future that large, copied at each await layer (docs/performance.md).

    /// Metadata of the entry at `path` (is it a file or a directory). A path spelled with a
    /// trailing slash names a directory only, as in POSIX (`file/` is ENOTDIR): the file's
    /// canonical URI has no slash, and policies decide on that spelling.
    pub async fn stat(&self, path: &VirtualPath) -> Result<Entry, RootError> {
        let entry = match &self.backend {
            Backend::Fs(fs) => {
                let (fs, path) = (fs.clone(), path.clone());
                blocking(move || fs.stat(&path)).await
            }
            Backend::S3(s3) => Box::pin(s3.stat(path)).await,
        }?;
        if path.trailing_slash && entry.kind != EntryKind::Directory {
            return Err(RootError::NotFound);
        }
        Ok(entry)
    }

    /// The content of the file at `path`, at most the root's cap. Never through a spelling
    /// with a trailing slash (see `stat`).
    pub async fn read(&self, path: &VirtualPath) -> Result<Vec<u8>, RootError> {
        if path.trailing_slash {
            return Err(RootError::NotFound);
        }
        let max = self.max_bytes();
        match &self.backend {
            Backend::Fs(fs) => {
                let (fs, path) = (fs.clone(), path.clone());
                blocking(move || fs.read(&path, max)).await
            }
            Backend::S3(s3) => Box::pin(s3.read(path, max)).await,
        }
    }

    /// The entries of the directory at `path`, at most `limit`.
    pub async fn list(&self, path: &VirtualPath, limit: usize) -> Result<Listing, RootError> {
        match &self.backend {
            Backend::Fs(fs) => {
                let (fs, path) = (fs.clone(), path.clone());
                blocking(move || fs.list(&path, limit)).await
            }
            Backend::S3(s3) => Box::pin(s3.list(path, limit)).await,
        }
    }

    /// Files below the directory at `path` matching `query`.
    pub async fn search(
        &self,
        path: &VirtualPath,
        query: &SearchQuery,
    ) -> Result<SearchOutcome, RootError> {
        let max = self.max_bytes();
        match &self.backend {
            Backend::Fs(fs) => {
                let (fs, path, query) = (fs.clone(), path.clone(), query.clone());
                blocking(move || fs.search(&path, &query, max)).await
            }
            Backend::S3(s3) => Box::pin(s3.search(path, query, max)).await,
        }
    }

    /// Replaces or creates the file at `path`. Read-only roots refuse, whatever the back end.
    pub async fn write(&self, path: &VirtualPath, content: Vec<u8>) -> Result<(), RootError> {
        if self.read_only() {
            return Err(RootError::Violation(Violation::new(
                ViolationKind::ReadOnly,
                format!("root `{}` is read-only", self.name()),
            )));
        }
        if path.is_root() || path.trailing_slash {
            return Err(RootError::NotAFile);
        }
        let limit = self.max_bytes();
        if content.len() as u64 > limit {
            return Err(RootError::TooLarge {
                limit,
                size: Some(content.len() as u64),
            });
        }
        match &self.backend {
            Backend::Fs(fs) => {
                let (fs, path) = (fs.clone(), path.clone());
                blocking(move || fs.write(&path, &content)).await
            }
            Backend::S3(s3) => Box::pin(s3.write(path, content)).await,
        }
    }

    /// The canonical URI of a path in this root.
    pub fn uri(&self, path: &VirtualPath) -> String {
        let mut uri = format!("{}{}", self.prefix(), vpath::encode(&path.relative()));
        if path.trailing_slash && !path.is_root() {
            uri.push('/');
        }
        uri
    }
}

/// Runs blocking file-system work off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, RootError> + Send + 'static,
) -> Result<T, RootError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| RootError::Io(format!("the file-system task failed: {e}")))?
}

/// A URI resolved to a root and a checked path.
pub struct Resolved<'a> {
    pub root: &'a Root,
    pub path: VirtualPath,
    /// The canonical spelling (what policy, logs and audit see).
    pub uri: String,
}

/// Every configured root.
#[derive(Default)]
pub struct Roots {
    pub roots: Vec<Root>,
}

impl Roots {
    /// Opens nothing: a root's directory or bucket is reached on first use, so a root that is
    /// missing fails its own calls, not the gateway's start.
    pub fn new(configs: &[RootConfig]) -> Self {
        let roots = configs
            .iter()
            .map(|config| {
                let backend = match config {
                    RootConfig::Fs { path, .. } => Backend::Fs(fs::FsRoot::new(path)),
                    RootConfig::S3 {
                        bucket,
                        prefix,
                        region,
                        endpoint,
                        credentials,
                        ..
                    } => Backend::S3(s3::S3Root::new(
                        bucket,
                        prefix,
                        crate::s3::Location {
                            region: region.clone(),
                            endpoint: endpoint.clone(),
                            credentials: credentials.clone(),
                        },
                    )),
                };
                Root {
                    config: config.clone(),
                    backend,
                }
            })
            .collect();
        Self { roots }
    }

    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    pub fn any_writable(&self) -> bool {
        self.roots.iter().any(|r| !r.read_only())
    }

    /// True when `uri` falls under a root's prefix (whether or not its path is acceptable).
    pub fn serves(&self, uri: &str) -> bool {
        normalize(uri).is_some_and(|n| self.roots.iter().any(|r| n.starts_with(r.prefix())))
    }

    /// The root serving `uri` and the checked path inside it.
    /// The root whose prefix begins `uri` (the longest), whether or not the rest is a valid
    /// path: a refusal below a root is counted and logged under that root.
    pub fn root_of(&self, uri: &str) -> Option<&Root> {
        self.root_named_by(&normalize(uri).unwrap_or_default())
    }

    fn root_named_by(&self, normalized: &str) -> Option<&Root> {
        self.roots
            .iter()
            .filter(|r| normalized.starts_with(r.prefix()))
            .max_by_key(|r| r.prefix().len())
    }

    pub fn resolve(&self, uri: &str) -> Result<Resolved<'_>, Violation> {
        if is_file_system_path(uri) {
            return Err(Violation::new(
                ViolationKind::AbsolutePath,
                "a file-system path is not a resource: use an `mcp://ROOT/path` URI",
            ));
        }
        let Some(scheme) = scheme_of(uri) else {
            return Err(Violation::new(
                ViolationKind::Scheme,
                "expected an `mcp://ROOT/path` URI",
            ));
        };
        if !scheme.eq_ignore_ascii_case("mcp") {
            return Err(Violation::new(
                ViolationKind::Scheme,
                format!("the `{scheme}:` scheme is not served; use an `mcp://ROOT/path` URI"),
            ));
        }
        let normalized = normalize(uri).unwrap_or_default();
        let root = self.root_named_by(&normalized).ok_or_else(|| {
            Violation::new(
                ViolationKind::UnknownRoot,
                format!("no root serves `{}`", truncate(uri)),
            )
        })?;
        let path = vpath::parse(&normalized[root.prefix().len()..])?;
        let uri = root.uri(&path);
        Ok(Resolved { root, path, uri })
    }
}

/// An `mcp://` URI with its scheme and authority lowercased (RFC 3986: they are
/// case-insensitive; the path is not) and a `/` after the authority.
fn normalize(uri: &str) -> Option<String> {
    let scheme = scheme_of(uri).filter(|s| s.eq_ignore_ascii_case("mcp"))?;
    let after_scheme = &uri[scheme.len() + 3..];
    let (authority, path) = after_scheme.split_once('/').unwrap_or((after_scheme, ""));
    Some(format!("mcp://{}/{path}", authority.to_ascii_lowercase()))
}

/// True for URIs whose scheme only roots may serve, or that read local files or fetch URLs:
/// when no upstream advertises them they are refused as violations, not "not found".
pub fn is_guarded_scheme(uri: &str) -> bool {
    is_file_system_path(uri)
        || scheme_of(uri).is_some_and(|s| {
            ["mcp", "file", "http", "https", "s3", "ftp"]
                .iter()
                .any(|g| s.eq_ignore_ascii_case(g))
        })
}

/// A file-system path rather than a URI: `/etc/passwd`, `\\server\share`.
fn is_file_system_path(uri: &str) -> bool {
    uri.starts_with(['/', '\\'])
}

/// The scheme of an absolute URI (`mcp` of `mcp://...`), if it has the `scheme://` form.
fn scheme_of(uri: &str) -> Option<&str> {
    let (scheme, _) = uri.split_once("://")?;
    let valid = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(scheme)
}

/// A URI shortened for messages (a hostile one can be megabytes long).
pub fn truncate(text: &str) -> String {
    const LIMIT: usize = 200;
    if text.len() <= LIMIT {
        return text.to_string();
    }
    let mut end = LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots() -> Roots {
        Roots::new(&[
            RootConfig::Fs {
                name: "repo".into(),
                virtual_prefix: "mcp://repo/".into(),
                path: "/nonexistent/repo".into(),
                read_only: true,
                max_bytes: 1024,
            },
            RootConfig::Fs {
                name: "repo-docs".into(),
                virtual_prefix: "mcp://repo/docs/".into(),
                path: "/nonexistent/docs".into(),
                read_only: true,
                max_bytes: 1024,
            },
        ])
    }

    #[test]
    fn the_longest_prefix_wins_and_uris_are_canonical() {
        let roots = roots();
        let resolved = roots.resolve("MCP://Repo/docs/a%2Db.md").unwrap();
        assert_eq!(resolved.root.name(), "repo-docs");
        assert_eq!(resolved.path.segments, ["a-b.md"]);
        assert_eq!(resolved.uri, "mcp://repo/docs/a-b.md");
        let resolved = roots.resolve("mcp://repo").unwrap();
        assert!(resolved.path.is_root());
        assert_eq!(resolved.uri, "mcp://repo/");
    }

    #[test]
    fn foreign_schemes_and_unknown_roots_are_violations() {
        let roots = roots();
        let kind = |uri: &str| roots.resolve(uri).err().unwrap().kind;
        assert_eq!(kind("file:///etc/passwd"), ViolationKind::Scheme);
        assert_eq!(kind("http://repo/a"), ViolationKind::Scheme);
        assert_eq!(kind("/etc/passwd"), ViolationKind::AbsolutePath);
        assert_eq!(kind("\\\\server\\share"), ViolationKind::AbsolutePath);
        assert_eq!(kind("mcp://other/a"), ViolationKind::UnknownRoot);
        assert_eq!(kind("mcp://repox/a"), ViolationKind::UnknownRoot);
        assert_eq!(kind("mcp://user@repo/a"), ViolationKind::UnknownRoot);
        assert_eq!(kind("mcp://repo/../etc"), ViolationKind::Traversal);
        assert!(roots.serves("MCP://Repo/x"));
        assert!(!roots.serves("mcp://other/x"));
        assert!(super::is_guarded_scheme("FILE:///etc/passwd"));
        assert!(!super::is_guarded_scheme("docs://x"));
    }
}
