//! Limits on Rego source that `airlockc` and the runtime both apply before handing a policy to
//! regorus. Its parser takes time exponential in bracket nesting (22 levels of `[` take seconds,
//! 40 never finish), so a policy that nests deeper than any real one does is refused up front,
//! with its location, instead of hanging a build or a policy reload. Found by fuzzing the Rego
//! lint path (`tests/fuzz`, target `rego_lint`).

/// Deepest nesting of `[`, `{` and `(` accepted. Real policies stay under ten.
pub const MAX_NESTING: usize = 16;

/// The most RVM instructions one policy decision may run, in the gateway and in `airlockc`'s
/// dry run alike (regorus stops at 25,000 by default, which an allowlist of a few thousand
/// entries exceeds). It still stops a runaway policy: at roughly 10 ns an instruction, about a
/// tenth of a second, and the call is denied.
pub const MAX_POLICY_INSTRUCTIONS: usize = 10_000_000;

/// The byte offset of the first bracket that opens a level deeper than `MAX_NESTING`, if any.
/// Brackets inside strings, raw strings and comments do not count.
pub fn too_deep(source: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut chars = source.char_indices();
    while let Some((offset, c)) = chars.next() {
        match c {
            '#' => {
                chars.by_ref().find(|(_, c)| *c == '\n');
            }
            '"' => {
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' | '\n' => break,
                        _ => {}
                    }
                }
            }
            '`' => {
                chars.by_ref().find(|(_, c)| *c == '`');
            }
            '[' | '{' | '(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(offset);
                }
            }
            ']' | '}' | ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// `(line, column)`, both from 1, of a byte offset (columns count characters).
pub fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_is_found_where_it_starts() {
        let deep = format!("x := {}", "[".repeat(MAX_NESTING + 1));
        assert_eq!(too_deep(&deep), Some(5 + MAX_NESTING));
        let fine = format!("x := {}{}", "[{(".repeat(5), ")}]".repeat(5));
        assert_eq!(too_deep(&fine), None);
        assert_eq!(line_column("a\nbc[", 4), (2, 3));
    }

    #[test]
    fn strings_and_comments_do_not_count() {
        let text = format!(
            "# {}\nx := \"{}\\\"[\"\ny := `{}`\n",
            "[".repeat(40),
            "{".repeat(40),
            "(".repeat(40)
        );
        assert_eq!(too_deep(&text), None);
    }
}
