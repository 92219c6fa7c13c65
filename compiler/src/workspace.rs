//! The input edge: reads `airlock.yaml` and the files it references (policy and tests, the
//! tool lock).
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
    pub referenced: BTreeMap<String, Result<usize, ReadError>>,
    /// Why the config file cannot be analysed at all (not text, too large): reported as AL1001.
    pub unreadable: Option<Unreadable>,
}

/// A config file airlockc read but will not analyse.
#[derive(Debug)]
pub struct Unreadable {
    pub reason: String,
    /// The byte offset of the problem in the (possibly partial) text.
    pub at: usize,
    pub help: String,
}

/// Why the config file could not be opened at all (a usage problem: wrong path).
#[derive(Debug, thiserror::Error)]
#[error("cannot read `{path}`: {reason}")]
pub struct LoadError {
    pub path: String,
    pub reason: ReadError,
}

/// Why a file could not be read, as the message after "cannot read `path`: " says it.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("no such file")]
    NotFound,
    #[error("permission denied")]
    PermissionDenied,
    #[error("it is a directory")]
    Directory,
    #[error("it is larger than {} KiB", .limit / 1024)]
    TooLarge { limit: u64 },
    #[error("it is not UTF-8 text")]
    NotText,
    #[error(transparent)]
    Io(std::io::Error),
}

impl From<std::io::Error> for ReadError {
    fn from(error: std::io::Error) -> Self {
        match error.kind() {
            std::io::ErrorKind::NotFound => ReadError::NotFound,
            std::io::ErrorKind::PermissionDenied => ReadError::PermissionDenied,
            _ => ReadError::Io(error),
        }
    }
}

fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let metadata = std::fs::metadata(path)?;
    if metadata.is_dir() {
        return Err(ReadError::Directory);
    }
    if metadata.len() > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(std::fs::read(path)?)
}

/// A config over [`MAX_CONFIG_BYTES`]: an invalid config (exit 78), not a usage error. Only its
/// first line is read, for the excerpt.
fn too_large(path: &Path, size: u64) -> Result<(String, Option<Unreadable>), ReadError> {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(path).and_then(|f| f.take(1024).read_to_end(&mut head))?;
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    Ok((
        String::from_utf8_lossy(line).into_owned(),
        Some(Unreadable {
            reason: format!(
                "the file is {size} bytes; airlockc reads at most {} MiB ({MAX_CONFIG_BYTES} bytes)",
                MAX_CONFIG_BYTES / (1024 * 1024)
            ),
            at: 0,
            help:
                "an airlock.yaml is a few kilobytes: check that this is the right file, and keep \
                   large data (policies, patterns) in the files it references"
                    .into(),
        }),
    ))
}

/// Reads the config and its references. Fails only when the config path cannot be read.
pub fn load(path: &Path) -> Result<Workspace, LoadError> {
    let display = path.display().to_string();
    let load_error = |reason| LoadError {
        path: display.clone(),
        reason,
    };
    let size = std::fs::metadata(path)
        .map_err(|e| load_error(e.into()))?
        .len();
    let (text, unreadable) = if size > MAX_CONFIG_BYTES && !path.is_dir() {
        too_large(path, size).map_err(load_error)?
    } else {
        let bytes = read_limited(path, MAX_CONFIG_BYTES).map_err(load_error)?;
        match String::from_utf8(bytes) {
            Ok(text) => (text, None),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let reason = format!("the file is not UTF-8 text (invalid byte at offset {at})");
                (
                    String::from_utf8_lossy(e.as_bytes()).into_owned(),
                    Some(Unreadable {
                        reason,
                        at,
                        help: "save the file as UTF-8".into(),
                    }),
                )
            }
        }
    };
    if unreadable.is_some() {
        // Nothing in it is read: not even the files it names.
        return Ok(Workspace {
            files: vec![SourceFile::new(display, text)],
            base_dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            referenced: BTreeMap::new(),
            unreadable,
        });
    }
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
                None => Err(ReadError::NotFound),
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
        let entry = read_limited(&path, MAX_POLICY_BYTES)
            .and_then(|bytes| String::from_utf8(bytes).map_err(|_| ReadError::NotText));
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
    if let Some(lock) = document
        .root
        .pointer("/toolPinning/lockFile")
        .and_then(|n| n.as_str())
    {
        found.push(lock.to_string());
    }
    found.retain(|f| !f.is_empty());
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{EXIT_INVALID_CONFIG, FailLevel, exit_code};

    /// A config over the limit is an invalid config with a located AL1001, not a usage error.
    #[test]
    fn an_oversized_config_is_a_diagnostic() {
        let dir = std::env::temp_dir().join(format!("airlockc-huge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("airlock.yaml");
        let mut text = String::from("version: 1\npolicy: {file: policy.rego}\n");
        text.push_str(&"#".repeat(MAX_CONFIG_BYTES as usize));
        std::fs::write(&path, &text).unwrap();
        let workspace = load(&path).expect("an oversized config still loads");
        assert_eq!(workspace.files.len(), 1, "nothing it names is read");
        assert_eq!(workspace.files[0].text, "version: 1");
        let analysis = crate::analyze(&workspace);
        let diagnostics: Vec<_> = analysis.diagnostics.iter().collect();
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].code.id, "AL1001");
        assert!(diagnostics[0].message.contains("at most 4 MiB"));
        assert!(diagnostics[0].help.is_some());
        assert_eq!(
            exit_code(&analysis.diagnostics, FailLevel::Error),
            EXIT_INVALID_CONFIG
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
