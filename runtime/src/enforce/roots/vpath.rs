//! Virtual paths: the part of an `mcp://root/...` URI after the root's prefix, checked and
//! decoded into plain segments before anything touches a file system or a bucket.
//!
//! The rule is "one canonical spelling or nothing": percent-encoding is decoded exactly once,
//! and every spelling that some other layer might interpret differently is refused rather than
//! normalized — dot segments, encoded or doubled separators, backslashes, control characters,
//! invalid (including overlong) UTF-8, and double encoding. What survives is a list of
//! segments that contains no separator and no `.`/`..`, so joining them can never climb.

use super::Violation;

/// The longest virtual path accepted, in bytes after decoding (Linux's `PATH_MAX`).
const MAX_PATH_BYTES: usize = 4096;
/// The longest segment (Linux's `NAME_MAX`; S3 keys are shorter than `MAX_PATH_BYTES` anyway).
const MAX_SEGMENT_BYTES: usize = 255;

/// A checked path below a root: plain segments, and whether it named a directory (`a/b/`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VirtualPath {
    pub segments: Vec<String>,
    pub trailing_slash: bool,
}

impl VirtualPath {
    /// The path relative to the root, segments joined with `/` (`""` for the root itself).
    pub fn relative(&self) -> String {
        self.segments.join("/")
    }

    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// The path of a child entry.
    pub fn child(&self, name: &str) -> VirtualPath {
        let mut segments = self.segments.clone();
        segments.push(name.to_string());
        VirtualPath {
            segments,
            trailing_slash: false,
        }
    }

    /// The parent directory and the last segment, or `None` for the root.
    pub fn split_last(&self) -> Option<(VirtualPath, &str)> {
        let (last, parent) = self.segments.split_last()?;
        let parent = VirtualPath {
            segments: parent.to_vec(),
            trailing_slash: true,
        };
        Some((parent, last.as_str()))
    }
}

/// Checks and decodes the path part of a virtual URI (after the root's prefix).
pub fn parse(raw: &str) -> Result<VirtualPath, Violation> {
    if raw.contains('\\') {
        return Err(Violation::encoding(
            "a backslash is not a path separator here",
        ));
    }
    if raw.contains(['?', '#']) {
        return Err(Violation::encoding(
            "a query or fragment is not part of a path (percent-encode `?` and `#` in names)",
        ));
    }
    let bytes = decode_percent(raw)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Violation::encoding("the path is not valid UTF-8 (overlong or malformed encoding)")
    })?;
    if text.len() > MAX_PATH_BYTES {
        return Err(Violation::encoding("the path is longer than 4096 bytes"));
    }
    if text.chars().any(char::is_control) {
        return Err(Violation::control(
            "the path holds a control character or NUL",
        ));
    }
    if text.contains('\\') {
        return Err(Violation::encoding("an encoded backslash is not allowed"));
    }
    if has_percent_escape(&text) {
        return Err(Violation::encoding(
            "the path is percent-encoded twice; encode it once",
        ));
    }
    if text.starts_with('/') {
        return Err(Violation::absolute(
            "absolute paths are not allowed below a root",
        ));
    }
    let trailing_slash = text.ends_with('/');
    let body = text.strip_suffix('/').unwrap_or(&text);
    let mut segments = Vec::new();
    if !body.is_empty() {
        for segment in body.split('/') {
            check_segment(segment)?;
            segments.push(segment.to_string());
        }
    }
    Ok(VirtualPath {
        segments,
        trailing_slash,
    })
}

fn check_segment(segment: &str) -> Result<(), Violation> {
    match segment {
        "" => Err(Violation::encoding("empty path segment (`//`)")),
        "." | ".." => Err(Violation::traversal(
            "`.` and `..` segments are not allowed in virtual paths",
        )),
        s if s.len() > MAX_SEGMENT_BYTES => Err(Violation::encoding(
            "a path segment is longer than 255 bytes",
        )),
        _ => Ok(()),
    }
}

/// Decodes `%XX` escapes once. An encoded `/` is refused: it would hide a separator inside a
/// segment from every check that splits on `/`.
fn decode_percent(raw: &str) -> Result<Vec<u8>, Violation> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let value = bytes
            .get(i + 1..i + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .ok_or_else(|| Violation::encoding("malformed percent-encoding"))?;
        if value == b'/' {
            return Err(Violation::encoding("an encoded `/` is not allowed"));
        }
        out.push(value);
        i += 3;
    }
    Ok(out)
}

/// True when decoded text still holds a `%XX` escape (the input was encoded twice).
fn has_percent_escape(text: &str) -> bool {
    text.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

/// Percent-encodes a decoded path for use in a URI: everything outside RFC 3986's unreserved
/// set and `/` is escaped, so the result parses back to the same segments.
pub fn encode(relative: &str) -> String {
    let mut out = String::with_capacity(relative.len());
    for byte in relative.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::ViolationKind;

    fn kind(raw: &str) -> ViolationKind {
        parse(raw).expect_err(raw).kind
    }

    #[test]
    fn plain_paths_decode_to_segments() {
        let path = parse("docs/a%20b.md").unwrap();
        assert_eq!(path.segments, ["docs", "a b.md"]);
        assert!(!path.trailing_slash);
        assert!(parse("").unwrap().is_root());
        assert!(parse("docs/").unwrap().trailing_slash);
        assert_eq!(parse("caf%C3%A9.txt").unwrap().segments, ["café.txt"]);
        assert_eq!(
            parse("..hidden/x..y").unwrap().segments,
            ["..hidden", "x..y"]
        );
    }

    #[test]
    fn every_escape_spelling_is_refused() {
        use ViolationKind::*;
        let cases = [
            ("..", Traversal),
            ("../etc/passwd", Traversal),
            ("docs/../../etc", Traversal),
            ("docs/./a", Traversal),
            ("%2e%2e/etc", Traversal),
            ("%2E%2E/etc", Traversal),
            ("%2e./etc", Traversal),
            (".%2e/etc", Traversal),
            ("..%2fetc", Encoding),
            ("..%2Fetc", Encoding),
            ("docs%2f..%2f..%2fetc", Encoding),
            ("..\\etc", Encoding),
            ("..%5cetc", Encoding),
            ("%252e%252e/etc", Encoding),
            ("%25%32%65%25%32%65/etc", Encoding),
            ("%c0%ae%c0%ae/etc", Encoding),
            ("%c0%af", Encoding),
            ("%e0%80%ae%e0%80%ae/etc", Encoding),
            ("%ff", Encoding),
            ("%2", Encoding),
            ("%zz", Encoding),
            ("/etc/passwd", AbsolutePath),
            ("%2fetc/passwd", Encoding),
            ("a//b", Encoding),
            ("a%00.md", ControlCharacter),
            ("a\u{0}b", ControlCharacter),
            ("a%0ab", ControlCharacter),
            ("a%7fb", ControlCharacter),
            ("a?x=1", Encoding),
            ("a#frag", Encoding),
        ];
        for (raw, expected) in cases {
            assert_eq!(kind(raw), expected, "{raw}");
        }
    }

    #[test]
    fn encoding_round_trips() {
        for relative in ["a b/c%d.md", "café/x", "plain/path.txt", "#?/[]"] {
            let parsed = parse(&encode(relative)).unwrap();
            assert_eq!(parsed.relative(), relative);
        }
    }

    #[test]
    fn overlong_segments_and_paths_are_refused() {
        assert_eq!(kind(&"a".repeat(256)), ViolationKind::Encoding);
        assert_eq!(kind(&"a/".repeat(2100)), ViolationKind::Encoding);
    }
}
