//! What the gateway serves itself: its roots as MCP resources (`resources/list`,
//! `resources/templates/list`, `resources/read` of `mcp://ROOT/...`) and the built-in file
//! tools. Every URI is resolved by `roots` before policy sees it; a refusal is a security
//! violation (403, log line, metric, audit event). Listings and search results are filtered
//! entry by entry through policy (`authorize`); the edge redacts what is returned.

use super::Call;
use super::authorize::{Authorized, Target};
use crate::enforce::roots::listing::{Entry, EntryKind, Listing, SearchOutcome};
use crate::enforce::roots::tools::{self, Request};
use crate::enforce::roots::{Resolved, Root, RootError, Violation, VirtualPath, mime, truncate};
use crate::errors::{ErrorType, Failure};
use airlock_schema::metrics as m;
use base64::Engine;
use serde_json::{Value, json};

/// The most entries a directory listing returns.
const LIST_LIMIT: usize = 1000;

/// What a built-in tool did.
enum Done {
    Read(Vec<u8>),
    Listed(Listing),
    Found(SearchOutcome),
    Wrote(usize),
}

impl<'a> Call<'a, '_> {
    /// The roots whose top the caller may read.
    fn readable_roots(&self) -> impl Iterator<Item = &'a Root> + '_ {
        self.app.roots.roots.iter().filter(|root| {
            self.shows(&Target::RootEntry {
                uri: root.prefix(),
                root,
                tool: None,
            })
        })
    }

    /// The roots as resources: one directory resource per root the caller may read.
    pub(super) fn root_resources(&self) -> Vec<Value> {
        self.readable_roots()
            .map(|root| {
                json!({
                    "uri": root.prefix(),
                    "name": root.name(),
                    "title": format!("Root {}", root.name()),
                    "description": describe(root),
                    "mimeType": "inode/directory",
                })
            })
            .collect()
    }

    /// One URI template per root, for any path below it.
    pub(super) fn root_templates(&self) -> Vec<Value> {
        self.readable_roots()
            .map(|root| {
                json!({
                    "uriTemplate": format!("{}{{+path}}", root.prefix()),
                    "name": root.name(),
                    "title": format!("Files of root {}", root.name()),
                    "description": describe(root),
                })
            })
            .collect()
    }

    /// Resolves a URI to a root, or refuses it as a security violation.
    pub(super) fn resolve_root(&mut self, uri: &str) -> Result<Resolved<'a>, Failure> {
        self.about_resource(&truncate(uri));
        let app = self.app;
        match app.roots.resolve(uri) {
            Ok(resolved) => {
                self.record.root = Some(resolved.root.name().to_string());
                self.about_resource(&resolved.uri);
                Ok(resolved)
            }
            Err(violation) => Err(self.violation(app.roots.root_of(uri), violation)),
        }
    }

    /// Meters, logs and answers a refused path.
    pub(super) fn violation(&mut self, root: Option<&Root>, violation: Violation) -> Failure {
        let reason = violation.kind.as_str();
        let root_name = root
            .map(Root::name)
            .or(self.record.root.as_deref())
            .unwrap_or("none");
        self.app.metrics.inc(
            m::SECURITY_VIOLATIONS_TOTAL,
            &[("reason", reason), ("root", root_name)],
        );
        tracing::warn!(
            target: "airlock::security",
            event = "security_violation",
            request_id = crate::record::ids::current().as_deref(),
            violation = reason,
            root = root_name,
            subject = %self.principal.subject,
            tenant = %self.principal.tenant,
            resource = self.record.resource.as_deref().unwrap_or_default(),
            client_ip = %self.ip,
            "path traversal protection refused a request: {}",
            violation.message
        );
        self.record.violation = Some(violation.kind);
        Failure::new(
            ErrorType::PathViolation,
            format!("path violation: {}", violation.message),
        )
        .with("reason", reason)
    }

    /// A root failure as a JSON-RPC error (for `resources/read`).
    fn root_failure(&mut self, root: &Root, error: RootError) -> Failure {
        match error {
            RootError::Violation(violation) => self.violation(Some(root), violation),
            RootError::NotFound => Failure::new(
                ErrorType::ResourceNotFound,
                format!(
                    "resource not found: `{}`",
                    self.record.resource.as_deref().unwrap_or("")
                ),
            ),
            RootError::TooLarge { limit, size } => {
                Failure::new(ErrorType::ResourceTooLarge, too_large(limit, size))
            }
            RootError::NotAFile | RootError::NotADirectory => Failure::new(
                ErrorType::InvalidParams,
                "a directory was expected to be a file, or the other way round",
            ),
            RootError::Io(detail) => {
                tracing::error!(request_id = crate::record::ids::current().as_deref(), root = root.name(), error = %detail, "root access failed");
                Failure::new(
                    ErrorType::RootUnavailable,
                    format!("root `{}` could not be read", root.name()),
                )
            }
        }
    }

    /// `resources/read` of a root URI: a file's content, or a directory's listing as JSON.
    pub(super) async fn read_root_resource(&mut self, uri: &str) -> Result<Value, Failure> {
        let resolved = self.resolve_root(uri)?;
        let root = resolved.root;
        let allowed = self.authorize(&Target::RootEntry {
            uri: &resolved.uri,
            root,
            tool: None,
        })?;
        self.read_root_entry(&allowed, &resolved).await
    }

    async fn read_root_entry(
        &mut self,
        _allowed: &Authorized,
        resolved: &Resolved<'a>,
    ) -> Result<Value, Failure> {
        let root = resolved.root;
        let entry = root
            .stat(&resolved.path)
            .await
            .map_err(|e| self.root_failure(root, e))?;
        let content = if entry.kind == EntryKind::Directory {
            let listing = root
                .list(&resolved.path, LIST_LIMIT)
                .await
                .map_err(|e| self.root_failure(root, e))?;
            let body = self.listing_json(root, &resolved.path, listing, None);
            json!({
                "uri": directory_uri(root, &resolved.path),
                "mimeType": "application/json",
                "text": serde_json::to_string_pretty(&body).expect("JSON serializes"),
            })
        } else {
            let bytes = root
                .read(&resolved.path)
                .await
                .map_err(|e| self.root_failure(root, e))?;
            self.file_content(resolved, bytes)?
        };
        Ok(json!({ "contents": [content] }))
    }

    /// An MCP resource content for a file: text when it is UTF-8, else a base64 blob.
    fn file_content(&mut self, resolved: &Resolved<'_>, bytes: Vec<u8>) -> Result<Value, Failure> {
        let name = resolved.path.segments.last().map_or("", String::as_str);
        match String::from_utf8(bytes) {
            Ok(text) => Ok(json!({
                "uri": resolved.uri,
                "mimeType": mime::of(name, true),
                "text": text,
            })),
            Err(error) => {
                let bytes = error.into_bytes();
                self.guard_binary(&bytes)?;
                Ok(json!({
                    "uri": resolved.uri,
                    "mimeType": mime::of(name, false),
                    "blob": base64::engine::general_purpose::STANDARD.encode(&bytes),
                }))
            }
        }
    }

    /// Binary content cannot be redacted without corrupting it: when a DLP pattern occurs in
    /// it, it is withheld instead.
    fn guard_binary(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        let mut counts = crate::enforce::dlp::Counts::new();
        let lossy = String::from_utf8_lossy(bytes);
        if self.app.dlp.redact_str(&lossy, &mut counts).is_none() {
            return Ok(());
        }
        let patterns: Vec<String> = self
            .app
            .dlp
            .summarize(&counts)
            .map(|(pattern, n)| {
                self.app
                    .metrics
                    .add(m::DLP_REDACTIONS_TOTAL, &[("pattern", pattern)], n);
                self.record.redactions += n;
                pattern.to_string()
            })
            .collect();
        Err(Failure::new(
            ErrorType::Forbidden,
            format!(
                "forbidden: the binary content matches DLP pattern(s) {} and cannot be redacted, so it is withheld",
                patterns.join(", ")
            ),
        )
        .with("reason", "dlp_binary_content"))
    }

    /// A directory's entries the caller may see, reached by `resources/read` or by the
    /// built-in `tool`.
    fn listing_json(
        &self,
        root: &Root,
        directory: &VirtualPath,
        listing: Listing,
        tool: Option<&str>,
    ) -> Value {
        let entries: Vec<Value> = listing
            .entries
            .iter()
            .filter_map(|entry| {
                let path = entry_path(directory, entry);
                let uri = root.uri(&path);
                self.shows(&Target::RootEntry {
                    uri: &uri,
                    root,
                    tool,
                })
                .then(|| entry_json(entry, uri))
            })
            .collect();
        json!({
            "uri": directory_uri(root, directory),
            "entries": entries,
            "truncated": listing.truncated,
        })
    }

    /// A built-in file tool call (the caller has checked no upstream tool has the name).
    pub(super) async fn call_builtin(
        &mut self,
        name: &str,
        request: Request,
    ) -> Result<Value, Failure> {
        let resolved = self.resolve_root(request.uri())?;
        let allowed = self.authorize(&Target::RootEntry {
            uri: &resolved.uri,
            root: resolved.root,
            tool: Some(name),
        })?;
        self.serve_builtin(&allowed, name, &resolved, request).await
    }

    async fn serve_builtin(
        &mut self,
        _allowed: &Authorized,
        name: &str,
        resolved: &Resolved<'a>,
        request: Request,
    ) -> Result<Value, Failure> {
        let root = resolved.root;
        let done = match request {
            Request::Read { .. } => root.read(&resolved.path).await.map(Done::Read),
            Request::List { .. } => root
                .list(&resolved.path, LIST_LIMIT)
                .await
                .map(Done::Listed),
            Request::Search { query, .. } => {
                root.search(&resolved.path, &query).await.map(Done::Found)
            }
            Request::Write { content, .. } => {
                let size = content.len();
                root.write(&resolved.path, content)
                    .await
                    .map(|()| Done::Wrote(size))
            }
        };
        let result = match done {
            Ok(Done::Read(bytes)) => self.read_result(resolved, bytes)?,
            Ok(Done::Listed(listing)) => self.list_result(root, &resolved.path, listing, name),
            Ok(Done::Found(found)) => self.search_result(root, found, name),
            Ok(Done::Wrote(size)) => tool_result(
                format!("wrote {size} bytes to {}", resolved.uri),
                json!({ "uri": resolved.uri, "bytes": size }),
            ),
            Err(error @ (RootError::Violation(_) | RootError::Io(_))) => {
                return Err(self.root_failure(root, error));
            }
            Err(error) => tool_error(&resolved.uri, &error),
        };
        Ok(result)
    }

    fn read_result(&mut self, resolved: &Resolved<'_>, bytes: Vec<u8>) -> Result<Value, Failure> {
        let content = self.file_content(resolved, bytes)?;
        let item = if content.get("text").is_some() {
            json!({ "type": "text", "text": content["text"] })
        } else {
            json!({ "type": "resource", "resource": content })
        };
        Ok(json!({ "content": [item], "isError": false }))
    }

    fn list_result(
        &self,
        root: &Root,
        directory: &VirtualPath,
        listing: Listing,
        tool: &str,
    ) -> Value {
        let body = self.listing_json(root, directory, listing, Some(tool));
        let mut lines: Vec<String> = body["entries"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| match e["type"].as_str() {
                Some("directory") => format!("{}/", e["name"].as_str().unwrap_or("")),
                Some("file") => {
                    format!("{} ({} bytes)", e["name"].as_str().unwrap_or(""), e["size"])
                }
                _ => format!(
                    "{} ({})",
                    e["name"].as_str().unwrap_or(""),
                    e["type"].as_str().unwrap_or("")
                ),
            })
            .collect();
        if body["truncated"] == true {
            lines.push(format!("… (listing stopped at {LIST_LIMIT} entries)"));
        }
        if lines.is_empty() {
            lines.push("(empty directory)".into());
        }
        tool_result(lines.join("\n"), body)
    }

    fn search_result(&self, root: &Root, outcome: SearchOutcome, tool: &str) -> Value {
        let mut lines = Vec::new();
        let mut matches = Vec::new();
        for found in outcome.found {
            let uri = root.uri(&found.path);
            if !self.shows(&Target::RootEntry {
                uri: &uri,
                root,
                tool: Some(tool),
            }) {
                continue;
            }
            let mut entry = json!({ "uri": uri, "size": found.size });
            match &found.line {
                Some((number, text)) => {
                    lines.push(format!("{uri}:{number}: {text}"));
                    entry["line"] = (*number).into();
                    entry["text"] = text.clone().into();
                }
                None => lines.push(uri.clone()),
            }
            matches.push(entry);
        }
        if outcome.truncated {
            lines.push("… (the search stopped at its limit; narrow it down)".into());
        }
        if matches.is_empty() {
            lines.insert(0, "no files matched".into());
        }
        tool_result(
            lines.join("\n"),
            json!({ "matches": matches, "truncated": outcome.truncated }),
        )
    }

    /// The built-in tools callers may see: those no upstream tool shadows, under policy.
    pub(super) fn builtin_tools(&self, shadowed: &dyn Fn(&str) -> bool) -> Vec<Value> {
        if self.app.roots.is_empty() {
            return Vec::new();
        }
        tools::definitions(self.app.roots.any_writable())
            .into_iter()
            .filter(|tool| {
                let name = tool["name"].as_str().unwrap_or_default();
                !shadowed(name) && self.shows(&Target::BuiltinTool { name })
            })
            .collect()
    }
}

fn describe(root: &Root) -> String {
    let access = if root.read_only() {
        "read-only"
    } else {
        "read-write"
    };
    format!(
        "Files of root `{}` ({access}); read them as `{}PATH`.",
        root.name(),
        root.prefix()
    )
}

fn entry_path(directory: &VirtualPath, entry: &Entry) -> VirtualPath {
    let mut path = directory.child(&entry.name);
    path.trailing_slash = entry.kind == EntryKind::Directory;
    path
}

fn directory_uri(root: &Root, directory: &VirtualPath) -> String {
    let mut path = directory.clone();
    path.trailing_slash = true;
    root.uri(&path)
}

fn entry_json(entry: &Entry, uri: String) -> Value {
    let mut value = json!({ "name": entry.name, "uri": uri, "type": entry.kind.as_str() });
    if entry.kind == EntryKind::File {
        value["size"] = entry.size.into();
    }
    value
}

fn too_large(limit: u64, size: Option<u64>) -> String {
    match size {
        Some(size) => format!("the file is {size} bytes, more than the root's limit of {limit}"),
        None => format!("the file is larger than the root's limit of {limit} bytes"),
    }
}

fn tool_result(text: String, structured: Value) -> Value {
    json!({
        "content": [{ "type": "text", "text": text }],
        "structuredContent": structured,
        "isError": false,
    })
}

/// A tool-level failure (the model sees it and can correct course), not a protocol error.
fn tool_error(uri: &str, error: &RootError) -> Value {
    let text = match error {
        RootError::NotFound => format!("not found: {uri}"),
        RootError::NotAFile => format!("not a file: {uri}"),
        RootError::NotADirectory => format!("not a directory: {uri}"),
        RootError::TooLarge { limit, size } => too_large(*limit, *size),
        RootError::Violation(violation) => violation.message.clone(),
        RootError::Io(_) => format!("cannot access {uri}"),
    };
    json!({ "content": [{ "type": "text", "text": text }], "isError": true })
}
