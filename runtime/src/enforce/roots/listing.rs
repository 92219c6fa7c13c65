//! What root back ends return: directory entries, listings and search results, and the
//! matching rules searches share (so directory and S3 roots search alike).

use super::VirtualPath;

/// An entry of a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub kind: EntryKind,
    pub size: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Directory,
    Symlink,
    Other,
}

impl EntryKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Directory => "directory",
            Self::Symlink => "symlink",
            Self::Other => "other",
        }
    }
}

/// A directory's entries, sorted by name, and whether the listing stopped at its limit.
#[derive(Debug, Default)]
pub struct Listing {
    pub entries: Vec<Entry>,
    pub truncated: bool,
}

/// A file search below a directory.
#[derive(Clone, Debug)]
pub struct SearchQuery {
    /// Matched against file names: a glob (`*`, `?`) or, without wildcards, a
    /// case-insensitive substring. `None` matches every file.
    pub pattern: Option<String>,
    /// Only files whose content holds this text (files larger than the cap are skipped).
    pub contains: Option<String>,
    pub max_results: usize,
}

/// A file a search found, with the first matching line for content searches.
#[derive(Debug)]
pub struct Found {
    pub path: VirtualPath,
    pub size: u64,
    pub line: Option<(usize, String)>,
}

#[derive(Debug, Default)]
pub struct SearchOutcome {
    pub found: Vec<Found>,
    /// The search stopped at `max_results` or at the walk's bounds.
    pub truncated: bool,
}

/// The longest matching line returned by a content search.
const SNIPPET_CHARS: usize = 200;

/// The first line (1-based) of `content` holding `needle`, trimmed to a snippet.
pub fn first_line_containing(content: &[u8], needle: &str) -> Option<(usize, String)> {
    let text = std::str::from_utf8(content).ok()?;
    text.lines().enumerate().find_map(|(index, line)| {
        line.contains(needle).then(|| {
            let snippet: String = line.trim().chars().take(SNIPPET_CHARS).collect();
            (index + 1, snippet)
        })
    })
}

/// Glob (`*`, `?`) when the pattern has wildcards, else a case-insensitive substring.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return name.to_lowercase().contains(&pattern.to_lowercase());
    }
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((star_p, star_n)) = star {
            pi = star_p + 1;
            ni = star_n + 1;
            star = Some((star_p, star_n + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_substrings_match_names() {
        assert!(name_matches("*.md", "README.md"));
        assert!(!name_matches("*.md", "README.mdx"));
        assert!(name_matches("a?c*", "abcdef"));
        assert!(name_matches("*a*b*", "xxaxxbxx"));
        assert!(name_matches("readme", "README.md"));
        assert!(!name_matches("*.rs", "main.py"));
    }
}
