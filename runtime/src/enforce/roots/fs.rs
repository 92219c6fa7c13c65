//! Directory roots: every access resolves a checked [`VirtualPath`] strictly beneath the
//! root's directory, race-free.
//!
//! Resolution uses `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)` where the kernel has it
//! (Linux 5.6+): the kernel refuses any step — `..`, an absolute symlink, a symlink climbing
//! out — that would leave the root, atomically, so a symlink swapped in between a check and
//! the open cannot win. Where `openat2` is missing (or filtered by seccomp) the fallback walks
//! the path one component at a time with `O_NOFOLLOW`, each step relative to the previous
//! directory's descriptor, and refuses every symlink.
//!
//! Files are first resolved as `O_PATH` descriptors (opening nothing), checked with `fstat`,
//! and only regular files are reopened for reading — a device node or FIFO is never opened.
//! Reads stop at the root's size cap; writes go to a temporary file in the same directory,
//! are synced, then renamed over the target.

use super::listing::{
    Entry, EntryKind, Found, Listing, SearchOutcome, SearchQuery, first_line_containing,
    name_matches,
};
use super::{RootError, Violation, VirtualPath};
use crate::errors::ViolationKind;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{
    AtFlags, CWD, Dir, FileType, Mode, OFlags, ResolveFlags, Stat, fstat, openat, openat2,
    renameat, statat, unlinkat,
};
use rustix::io::Errno;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// How paths are resolved beneath a root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolver {
    /// `openat2` with `RESOLVE_BENEATH`: symlinks inside the root work, escapes are refused.
    Openat2,
    /// Component-by-component `O_NOFOLLOW`: every symlink is refused.
    Walk,
}

impl Resolver {
    /// The best resolver this kernel offers, probed once.
    pub fn detect() -> Resolver {
        static DETECTED: OnceLock<Resolver> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            let probe = openat2(
                CWD,
                ".",
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
                ResolveFlags::BENEATH,
            );
            match probe {
                Err(Errno::NOSYS | Errno::PERM | Errno::INVAL) => Resolver::Walk,
                _ => Resolver::Openat2,
            }
        })
    }
}

/// Bounds on one listing or search, so a huge tree costs a bounded amount of work.
const MAX_ENTRIES: usize = 100_000;
const SEARCH_MAX_DEPTH: usize = 32;

/// A directory root.
#[derive(Clone)]
pub struct FsRoot {
    dir: PathBuf,
    resolver: Resolver,
}

fn kind_of(stat: &Stat) -> EntryKind {
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::RegularFile => EntryKind::File,
        FileType::Directory => EntryKind::Directory,
        FileType::Symlink => EntryKind::Symlink,
        _ => EntryKind::Other,
    }
}

fn io_error(context: &str, errno: Errno) -> RootError {
    RootError::Io(format!("{context}: {errno}"))
}

fn symlink_violation() -> RootError {
    RootError::Violation(Violation::new(
        ViolationKind::Symlink,
        "a symbolic link in the path leads outside the root",
    ))
}

impl FsRoot {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self::with_resolver(dir, Resolver::detect())
    }

    pub fn with_resolver(dir: impl Into<PathBuf>, resolver: Resolver) -> Self {
        Self {
            dir: dir.into(),
            resolver,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The root directory itself (the configured path may be a symlink: the operator's choice).
    fn open_root(&self) -> Result<OwnedFd, RootError> {
        openat(
            CWD,
            &self.dir,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|errno| io_error("cannot open the root directory", errno))
    }

    /// An `O_PATH` descriptor for `path` and its metadata, resolved beneath the root.
    pub fn resolve(&self, path: &VirtualPath) -> Result<(OwnedFd, Stat), RootError> {
        let root = self.open_root()?;
        let fd = match self.resolver {
            Resolver::Openat2 => resolve_openat2(root.as_fd(), &path.relative())?,
            Resolver::Walk => resolve_walk(root, &path.segments)?,
        };
        let stat = fstat(&fd).map_err(|e| io_error("fstat", e))?;
        match kind_of(&stat) {
            EntryKind::File | EntryKind::Directory => Ok((fd, stat)),
            EntryKind::Symlink => Err(RootError::Violation(Violation::new(
                ViolationKind::Symlink,
                "symbolic links are not followed on this system",
            ))),
            EntryKind::Other => Err(RootError::Violation(Violation::new(
                ViolationKind::SpecialFile,
                "devices, FIFOs and sockets are never served",
            ))),
        }
    }

    /// Metadata of the entry at `path`.
    pub fn stat(&self, path: &VirtualPath) -> Result<Entry, RootError> {
        let (_, stat) = self.resolve(path)?;
        Ok(Entry {
            name: path.segments.last().cloned().unwrap_or_default(),
            kind: kind_of(&stat),
            size: stat.st_size.max(0) as u64,
        })
    }

    /// The content of the file at `path`, refused when larger than `max_bytes`.
    pub fn read(&self, path: &VirtualPath, max_bytes: u64) -> Result<Vec<u8>, RootError> {
        let (fd, stat) = self.resolve(path)?;
        if kind_of(&stat) != EntryKind::File {
            return Err(RootError::NotAFile);
        }
        read_capped(fd, &stat, max_bytes)
    }

    /// The entries of the directory at `path`, at most `limit`.
    pub fn list(&self, path: &VirtualPath, limit: usize) -> Result<Listing, RootError> {
        let dir = self.open_dir(path)?;
        let (mut entries, cut) = read_entries(&dir, MAX_ENTRIES)?;
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let truncated = cut || entries.len() > limit;
        entries.truncate(limit);
        Ok(Listing { entries, truncated })
    }

    fn open_dir(&self, path: &VirtualPath) -> Result<OwnedFd, RootError> {
        let (fd, stat) = self.resolve(path)?;
        if kind_of(&stat) != EntryKind::Directory {
            return Err(RootError::NotADirectory);
        }
        openat(
            &fd,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| io_error("cannot open the directory", e))
    }

    /// Files below the directory at `path` matching `query`, depth-first in name order.
    /// Symlinks are never followed; the walk is bounded in entries and depth.
    pub fn search(
        &self,
        path: &VirtualPath,
        query: &SearchQuery,
        max_bytes: u64,
    ) -> Result<SearchOutcome, RootError> {
        let start = self.open_dir(path)?;
        let mut outcome = SearchOutcome::default();
        let mut budget = MAX_ENTRIES;
        let mut stack = vec![(start, path.clone(), 0usize)];
        while let Some((dir, dir_path, depth)) = stack.pop() {
            let (mut entries, cut) = read_entries(&dir, budget)?;
            outcome.truncated |= cut;
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            let mut subdirs = Vec::new();
            for entry in entries {
                if budget == 0 || outcome.found.len() >= query.max_results {
                    outcome.truncated = true;
                    return Ok(outcome);
                }
                budget -= 1;
                match entry.kind {
                    EntryKind::Directory if depth < SEARCH_MAX_DEPTH => {
                        subdirs.push(entry.name);
                    }
                    EntryKind::Directory => outcome.truncated = true,
                    EntryKind::File => {
                        if let Some(found) =
                            match_file(dir.as_fd(), &dir_path, &entry, query, max_bytes)
                        {
                            outcome.found.push(found);
                        }
                    }
                    EntryKind::Symlink | EntryKind::Other => {}
                }
            }
            for name in subdirs.into_iter().rev() {
                let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                // A directory swapped for a symlink since it was listed fails here (ELOOP or
                // ENOTDIR) and is skipped.
                if let Ok(child) = openat(&dir, name.as_str(), flags, Mode::empty()) {
                    stack.push((child, dir_path.child(&name), depth + 1));
                }
            }
        }
        Ok(outcome)
    }

    /// Replaces (or creates) the file at `path` with `content`. The parent directory must exist.
    pub fn write(&self, path: &VirtualPath, content: &[u8]) -> Result<(), RootError> {
        let (parent, name) = path.split_last().ok_or(RootError::NotAFile)?;
        let dir = self.open_dir(&parent)?;
        match statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => match kind_of(&stat) {
                EntryKind::File => {}
                EntryKind::Directory => return Err(RootError::NotAFile),
                EntryKind::Symlink => {
                    return Err(RootError::Violation(Violation::new(
                        ViolationKind::Symlink,
                        "writing through a symbolic link is not allowed",
                    )));
                }
                EntryKind::Other => {
                    return Err(RootError::Violation(Violation::new(
                        ViolationKind::SpecialFile,
                        "devices, FIFOs and sockets are never written",
                    )));
                }
            },
            Err(Errno::NOENT) => {}
            Err(errno) => return Err(io_error("stat", errno)),
        }
        let temporary = format!(".{name}.airlock-{}.tmp", uuid::Uuid::new_v4().simple());
        let result = write_new(&dir, &temporary, content).and_then(|()| {
            renameat(&dir, temporary.as_str(), &dir, name).map_err(|e| io_error("rename", e))
        });
        if result.is_err() {
            let _ = unlinkat(&dir, temporary.as_str(), AtFlags::empty());
        }
        result
    }
}

fn resolve_openat2(root: BorrowedFd<'_>, relative: &str) -> Result<OwnedFd, RootError> {
    let target = if relative.is_empty() { "." } else { relative };
    let mut attempts = 0;
    loop {
        let result = openat2(
            root,
            target,
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS,
        );
        return match result {
            Ok(fd) => Ok(fd),
            // The kernel could not rule out an escape because the tree changed during the
            // lookup (a concurrent rename): try again, a bounded number of times.
            Err(Errno::AGAIN) if attempts < 8 => {
                attempts += 1;
                continue;
            }
            Err(Errno::XDEV | Errno::LOOP) => Err(symlink_violation()),
            Err(Errno::NOENT | Errno::NOTDIR) => Err(RootError::NotFound),
            Err(errno) => Err(io_error("openat2", errno)),
        };
    }
}

fn resolve_walk(root: OwnedFd, segments: &[String]) -> Result<OwnedFd, RootError> {
    let mut current = root;
    for (index, segment) in segments.iter().enumerate() {
        let last = index + 1 == segments.len();
        let mut flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        if !last {
            flags |= OFlags::DIRECTORY;
        }
        current = match openat(&current, segment.as_str(), flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Err(RootError::NotFound),
            Err(Errno::NOTDIR | Errno::LOOP) => {
                let linked = statat(&current, segment.as_str(), AtFlags::SYMLINK_NOFOLLOW)
                    .is_ok_and(|s| kind_of(&s) == EntryKind::Symlink);
                return Err(if linked {
                    RootError::Violation(Violation::new(
                        ViolationKind::Symlink,
                        "symbolic links are not followed on this system",
                    ))
                } else {
                    RootError::NotFound
                });
            }
            Err(errno) => return Err(io_error("openat", errno)),
        };
    }
    Ok(current)
}

/// Reopens a resolved regular file for reading. Through `/proc/self/fd` the very inode that
/// was checked is opened; the device/inode comparison guards against a fake `/proc`.
fn reopen_for_read(fd: &OwnedFd, stat: &Stat) -> Result<std::fs::File, RootError> {
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
    let proc_path = format!("/proc/self/fd/{}", rustix::fd::AsRawFd::as_raw_fd(fd));
    let file = openat(CWD, proc_path.as_str(), flags, Mode::empty())
        .map_err(|e| io_error("cannot reopen the file", e))?;
    let reopened = fstat(&file).map_err(|e| io_error("fstat", e))?;
    if (reopened.st_dev, reopened.st_ino) != (stat.st_dev, stat.st_ino)
        || kind_of(&reopened) != EntryKind::File
    {
        return Err(RootError::Io("the file changed while it was opened".into()));
    }
    Ok(std::fs::File::from(file))
}

fn read_capped(fd: OwnedFd, stat: &Stat, max_bytes: u64) -> Result<Vec<u8>, RootError> {
    let size = stat.st_size.max(0) as u64;
    if size > max_bytes {
        return Err(RootError::TooLarge {
            limit: max_bytes,
            size: Some(size),
        });
    }
    let file = reopen_for_read(&fd, stat)?;
    let mut content = Vec::with_capacity(size as usize);
    // The file may grow after the fstat: never read more than the cap (plus one byte to notice).
    file.take(max_bytes + 1)
        .read_to_end(&mut content)
        .map_err(|e| RootError::Io(format!("read: {e}")))?;
    if content.len() as u64 > max_bytes {
        return Err(RootError::TooLarge {
            limit: max_bytes,
            size: None,
        });
    }
    Ok(content)
}

/// The entries of an open directory with their metadata (not following symlinks). Names that
/// are not UTF-8 cannot be addressed by a URI and are left out. Stops after `limit` entries
/// (and says so).
fn read_entries(dir: &OwnedFd, limit: usize) -> Result<(Vec<Entry>, bool), RootError> {
    let reader = Dir::read_from(dir).map_err(|e| io_error("cannot read the directory", e))?;
    let mut entries = Vec::new();
    for item in reader {
        if entries.len() >= limit {
            return Ok((entries, true));
        }
        let item = item.map_err(|e| io_error("cannot read the directory", e))?;
        let Ok(name) = item.file_name().to_str() else {
            continue;
        };
        if name == "." || name == ".." {
            continue;
        }
        let Ok(stat) = statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) else {
            continue; // removed since it was listed
        };
        entries.push(Entry {
            name: name.to_string(),
            kind: kind_of(&stat),
            size: stat.st_size.max(0) as u64,
        });
    }
    Ok((entries, false))
}

fn match_file(
    dir: BorrowedFd<'_>,
    dir_path: &VirtualPath,
    entry: &Entry,
    query: &SearchQuery,
    max_bytes: u64,
) -> Option<Found> {
    if let Some(pattern) = &query.pattern
        && !name_matches(pattern, &entry.name)
    {
        return None;
    }
    let line = match &query.contains {
        None => None,
        Some(needle) => {
            if entry.size > max_bytes {
                return None;
            }
            let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let fd = openat(dir, entry.name.as_str(), flags, Mode::empty()).ok()?;
            let stat = fstat(&fd).ok()?;
            if kind_of(&stat) != EntryKind::File {
                return None;
            }
            let content = read_capped(fd, &stat, max_bytes).ok()?;
            Some(first_line_containing(&content, needle)?)
        }
    };
    Some(Found {
        path: dir_path.child(&entry.name),
        size: entry.size,
        line,
    })
}

fn write_new(dir: &OwnedFd, name: &str, content: &[u8]) -> Result<(), RootError> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = openat(dir, name, flags, Mode::from_raw_mode(0o644))
        .map_err(|e| io_error("cannot create the file", e))?;
    let mut file = std::fs::File::from(fd);
    file.write_all(content)
        .and_then(|()| file.sync_all())
        .map_err(|e| RootError::Io(format!("write: {e}")))
}
