//! The input edge: reads `airlock.yaml` and the files it references (policy and tests).
//! Everything after this is pure: stages see only a [`Workspace`].

use crate::syntax::{self, SourceFile};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Largest `airlock.yaml` read; real ones are a few kilobytes.
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;
/// Largest policy or test file read.
pub const MAX_POLICY_BYTES: u64 = 1024 * 1024;

/// The config file and everything it references, as read from disk.
#[derive(Debug)]
pub struct Workspace {
    /// File 0 is `airlock.yaml`; referenced files follow.
    pub files: Vec<SourceFile>,
    /// The directory relative paths in the config are resolved against.
    pub base_dir: PathBuf,
    /// Each referenced path as written in the config: the file index, or why it could not be read.
    pub referenced: BTreeMap<String, Result<usize, String>>,
    /// Why the config file is not text, and the byte offset where it stops being text.
    pub unreadable: Option<(String, usize)>,
}

/// Why the config file could not be opened at all (a usage problem: wrong path).
#[derive(Debug)]
pub struct LoadError {
    pub path: String,
    pub reason: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot read `{}`: {}", self.path, self.reason)
    }
}

fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let metadata = std::fs::metadata(path).map_err(|e| io_reason(&e))?;
    if metadata.is_dir() {
        return Err("it is a directory".into());
    }
    if metadata.len() > limit {
        return Err(format!("it is larger than {} KiB", limit / 1024));
    }
    std::fs::read(path).map_err(|e| io_reason(&e))
}

fn io_reason(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => error.to_string(),
    }
}

/// Reads the config and its references. Fails only when the config path cannot be read.
pub fn load(path: &Path) -> Result<Workspace, LoadError> {
    let display = path.display().to_string();
    let bytes = read_limited(path, MAX_CONFIG_BYTES).map_err(|reason| LoadError {
        path: display.clone(),
        reason,
    })?;
    let (text, unreadable) = match String::from_utf8(bytes) {
        Ok(text) => (text, None),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let reason = format!("the file is not UTF-8 text (invalid byte at offset {at})");
            (
                String::from_utf8_lossy(e.as_bytes()).into_owned(),
                Some((reason, at)),
            )
        }
    };
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut workspace = Workspace {
        files: vec![SourceFile::new(display, text)],
        base_dir,
        referenced: BTreeMap::new(),
        unreadable,
    };
    for reference in references(&workspace.files[0]) {
        workspace.read_reference(&reference);
    }
    Ok(workspace)
}

impl Workspace {
    /// A workspace from in-memory texts (tests, fuzzing): `(path, text)` pairs, config first.
    pub fn from_texts(config: (&str, &str), others: &[(&str, &str)]) -> Self {
        let mut workspace = Workspace {
            files: vec![SourceFile::new(config.0, config.1)],
            base_dir: PathBuf::new(),
            referenced: BTreeMap::new(),
            unreadable: None,
        };
        for reference in references(&workspace.files[0]) {
            let entry = match others.iter().find(|(p, _)| *p == reference) {
                Some((p, text)) => {
                    workspace.files.push(SourceFile::new(*p, *text));
                    Ok(workspace.files.len() - 1)
                }
                None => Err("no such file".to_string()),
            };
            workspace.referenced.insert(reference, entry);
        }
        workspace
    }

    fn read_reference(&mut self, reference: &str) {
        if self.referenced.contains_key(reference) {
            return;
        }
        let path = self.base_dir.join(reference);
        let entry = read_limited(&path, MAX_POLICY_BYTES).and_then(|bytes| {
            String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string())
        });
        let entry = entry.map(|text| {
            self.files
                .push(SourceFile::new(path.display().to_string(), text));
            self.files.len() - 1
        });
        self.referenced.insert(reference.to_string(), entry);
    }

    /// The file a config reference resolved to.
    pub fn file_for(&self, reference: &str) -> Option<&SourceFile> {
        match self.referenced.get(reference) {
            Some(Ok(index)) => Some(&self.files[*index]),
            _ => None,
        }
    }
}

/// The files the config names: `policy.file` and `policy.tests`, when they are strings.
fn references(config: &SourceFile) -> Vec<String> {
    let Ok(document) = syntax::parse(config) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    if let Some(file) = document
        .root
        .pointer("/policy/file")
        .and_then(|n| n.as_str())
    {
        found.push(file.to_string());
    }
    if let Some(syntax::NodeKind::Seq(tests)) =
        document.root.pointer("/policy/tests").map(|n| &n.kind)
    {
        found.extend(tests.iter().filter_map(|t| t.as_str()).map(String::from));
    }
    found.retain(|f| !f.is_empty());
    found
}
