//! The output edge: writes a build's files into the output directory atomically (a new
//! directory is written beside it and swapped in), and compares a build with what is on disk
//! for `build --check` and `diff`. A failed build never leaves a half-written directory.

use crate::emit::Files;
use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The top-level entries a build owns in its output directory.
pub const OWNED: [&str; 5] = [
    "chart",
    "manifests",
    "runtime",
    "dashboards",
    crate::emit::TRIVY_IGNORE,
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Added(String),
    Modified {
        path: String,
        old: String,
        new: String,
    },
    Removed(String),
}

impl Change {
    pub fn path(&self) -> &str {
        match self {
            Change::Added(p) | Change::Removed(p) | Change::Modified { path: p, .. } => p,
        }
    }
}

/// Why the output directory cannot be compared or written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "`{}` {what}; `-o` names the output directory, which airlockc creates or replaces: choose a new or empty directory",
        dir.display()
    )]
    NotADirectory { dir: PathBuf, what: NotADirectory },
    #[error(
        "refusing to replace `{}`: it holds files airlockc did not write ({}); choose an empty or new directory",
        dir.display(),
        foreign.join(", ")
    )]
    Foreign { dir: PathBuf, foreign: Vec<String> },
    #[error("`{}` changed while building and is no longer a directory", dir.display())]
    Changed { dir: PathBuf },
}

/// What `-o` names instead of a directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotADirectory {
    #[error("is a symbolic link to something that is not a directory")]
    LinkToOther,
    #[error("is a symbolic link to nothing")]
    DanglingLink,
    #[error("is a file, not a directory")]
    File,
    #[error("exists and is not a directory")]
    Other,
}

fn io(path: &Path, source: std::io::Error) -> OutputError {
    OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The directory `-o` names, checked before anything is read or written: a missing path (it
/// will be created), a directory, or a symbolic link to a directory (resolved, so the link
/// keeps pointing at the new output). Anything else — a file, a link to a file, a dangling
/// link, a socket — is refused: replacing it would destroy something that is not ours.
pub fn destination(dir: &Path) -> Result<PathBuf, OutputError> {
    let not_a_directory = |what| {
        Err(OutputError::NotADirectory {
            dir: dir.to_path_buf(),
            what,
        })
    };
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(dir.to_path_buf()),
        Err(e) => Err(io(dir, e)),
        Ok(meta) if meta.is_dir() => Ok(dir.to_path_buf()),
        Ok(meta) if meta.is_symlink() => match fs::metadata(dir) {
            Ok(target) if target.is_dir() => fs::canonicalize(dir).map_err(|e| io(dir, e)),
            Ok(_) => not_a_directory(NotADirectory::LinkToOther),
            Err(_) => not_a_directory(NotADirectory::DanglingLink),
        },
        Ok(meta) if meta.is_file() => not_a_directory(NotADirectory::File),
        Ok(_) => not_a_directory(NotADirectory::Other),
    }
}

/// Refuses a directory holding files a build did not write: replacing it would delete them.
fn check_owned(dir: &Path) -> Result<(), OutputError> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    let mut foreign: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !OWNED.contains(&name.as_str()))
        .collect();
    foreign.sort();
    if foreign.is_empty() {
        Ok(())
    } else {
        Err(OutputError::Foreign {
            dir: dir.to_path_buf(),
            foreign,
        })
    }
}

/// Every file under the owned entries of `dir`, relative, with `/` separators.
pub fn read_tree(dir: &Path) -> Result<Files, OutputError> {
    let mut files = Files::new();
    let mut stack: Vec<PathBuf> = OWNED
        .iter()
        .map(|o| dir.join(o))
        .filter(|p| p.exists())
        .collect();
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in fs::read_dir(&path).map_err(|e| io(&path, e))? {
                stack.push(entry.map_err(|e| io(&path, e))?.path());
            }
        } else {
            let relative = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let text = fs::read(&path).map_err(|e| io(&path, e))?;
            files.insert(relative, String::from_utf8_lossy(&text).into_owned());
        }
    }
    Ok(files)
}

/// What writing `files` would change in `dir`, sorted by path.
pub fn compare(dir: &Path, files: &Files) -> Result<Vec<Change>, OutputError> {
    let dir = &destination(dir)?;
    let existing = read_tree(dir)?;
    let paths: BTreeSet<&String> = existing.keys().chain(files.keys()).collect();
    Ok(paths
        .into_iter()
        .filter_map(|path| match (existing.get(path), files.get(path)) {
            (None, Some(_)) => Some(Change::Added(path.clone())),
            (Some(_), None) => Some(Change::Removed(path.clone())),
            (Some(old), Some(new)) if old != new => Some(Change::Modified {
                path: path.clone(),
                old: old.clone(),
                new: new.clone(),
            }),
            _ => None,
        })
        .collect())
}

/// Writes `files` as the whole content of `dir`, atomically.
pub fn write(dir: &Path, files: &Files) -> Result<(), OutputError> {
    let dir = &destination(dir)?;
    check_owned(dir)?;
    let name = dir
        .file_name()
        .map_or_else(|| "deploy".into(), |n| n.to_string_lossy().into_owned());
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| io(&parent, e))?;
    let staging = parent.join(format!(".{name}.airlockc-new-{}", std::process::id()));
    let retired = parent.join(format!(".{name}.airlockc-old-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    let result = write_tree(&staging, files).and_then(|()| swap(dir, &staging, &retired));
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    result
}

fn write_tree(root: &Path, files: &Files) -> Result<(), OutputError> {
    for (relative, content) in files {
        let path = root.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        let mut file = fs::File::create(&path).map_err(|e| io(&path, e))?;
        file.write_all(content.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| io(&path, e))?;
    }
    Ok(())
}

fn swap(dir: &Path, staging: &Path, retired: &Path) -> Result<(), OutputError> {
    // Checked again just before the rename: only a real directory is ever moved aside.
    let existing = fs::symlink_metadata(dir).ok();
    if existing.as_ref().is_some_and(|m| !m.is_dir()) {
        return Err(OutputError::Changed {
            dir: dir.to_path_buf(),
        });
    }
    if existing.is_some() {
        fs::rename(dir, retired).map_err(|e| io(dir, e))?;
        if let Err(e) = fs::rename(staging, dir) {
            let _ = fs::rename(retired, dir);
            return Err(io(dir, e));
        }
        fs::remove_dir_all(retired).map_err(|e| io(retired, e))?;
    } else {
        fs::rename(staging, dir).map_err(|e| io(dir, e))?;
    }
    Ok(())
}

/// A unified diff of one change, for `airlockc diff`.
pub fn unified(change: &Change) -> String {
    match change {
        Change::Added(path) => format!("added: {path}\n"),
        Change::Removed(path) => format!("removed: {path}\n"),
        Change::Modified { path, old, new } => similar::TextDiff::from_lines(old, new)
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{path}"), &format!("b/{path}"))
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(pairs: &[(&str, &str)]) -> Files {
        pairs
            .iter()
            .map(|(p, c)| (p.to_string(), c.to_string()))
            .collect()
    }

    #[test]
    fn writes_replaces_and_compares() {
        let base = std::env::temp_dir().join(format!("airlockc-output-{}", std::process::id()));
        let dir = base.join("deploy");
        let first = files(&[
            ("manifests/a.yaml", "a\n"),
            ("runtime/airlock.json", "{}\n"),
        ]);
        write(&dir, &first).unwrap();
        assert!(compare(&dir, &first).unwrap().is_empty());
        let second = files(&[("manifests/a.yaml", "b\n"), ("chart/Chart.yaml", "x\n")]);
        let changes = compare(&dir, &second).unwrap();
        let paths: Vec<&str> = changes.iter().map(Change::path).collect();
        assert_eq!(
            paths,
            [
                "chart/Chart.yaml",
                "manifests/a.yaml",
                "runtime/airlock.json"
            ]
        );
        write(&dir, &second).unwrap();
        assert_eq!(read_tree(&dir).unwrap(), second);
        assert!(
            !base.read_dir().unwrap().any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.'))
        );
        fs::write(dir.join("notes.txt"), "mine").unwrap();
        assert!(
            write(&dir, &first)
                .unwrap_err()
                .to_string()
                .contains("notes.txt")
        );
        assert_eq!(fs::read_to_string(dir.join("notes.txt")).unwrap(), "mine");
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn never_moves_aside_what_is_not_a_directory() {
        let base = std::env::temp_dir().join(format!("airlockc-dest-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(&base).unwrap();
        let build = files(&[("manifests/a.yaml", "a\n")]);
        let file = base.join("airlock.yaml");
        fs::write(&file, "mine").unwrap();
        let link_to_file = base.join("link-to-file");
        let dangling = base.join("dangling");
        std::os::unix::fs::symlink(&file, &link_to_file).unwrap();
        std::os::unix::fs::symlink(base.join("gone"), &dangling).unwrap();
        for target in [&file, &link_to_file, &dangling] {
            assert!(destination(target).is_err(), "{}", target.display());
            assert!(write(target, &build).is_err(), "{}", target.display());
            assert!(compare(target, &build).is_err(), "{}", target.display());
        }
        assert_eq!(fs::read_to_string(&file).unwrap(), "mine");
        assert!(fs::symlink_metadata(&link_to_file).unwrap().is_symlink());
        assert!(fs::symlink_metadata(&dangling).unwrap().is_symlink());
        let names: BTreeSet<String> = fs::read_dir(&base)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["airlock.yaml", "dangling", "link-to-file"]
                .map(String::from)
                .into()
        );

        // A link to a directory is followed: the link stays, the directory gets the build.
        let real = base.join("real");
        let link_to_dir = base.join("link-to-dir");
        fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, &link_to_dir).unwrap();
        write(&link_to_dir, &build).unwrap();
        assert!(fs::symlink_metadata(&link_to_dir).unwrap().is_symlink());
        assert_eq!(read_tree(&real).unwrap(), build);
        assert!(compare(&link_to_dir, &build).unwrap().is_empty());
        fs::remove_dir_all(&base).unwrap();
    }
}
