//! Source files and spans. A [`Span`] is a byte range; line and column (1-based, counted in
//! characters) are computed from it when a diagnostic is rendered.

/// A file the compiler read, with its text and the path as the user gave it.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
    line_starts: Vec<usize>,
}

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub const fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }
}

impl SourceFile {
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            path: path.into(),
            text,
            line_starts,
        }
    }

    /// The 1-based line and 1-based character column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let start = self.line_starts[line];
        let column = self.text[start..floor_char_boundary(&self.text, offset)]
            .chars()
            .count()
            + 1;
        (line + 1, column)
    }

    /// The byte offset of a 1-based line and 1-based character column (clamped to the text).
    pub fn offset(&self, line: usize, column: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let line_text = self.line_text_at(start);
        let within = line_text
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(line_text.len(), |(i, _)| i);
        start + within
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line(&self, line: usize) -> &str {
        self.line_starts
            .get(line.saturating_sub(1))
            .map_or("", |&start| self.line_text_at(start))
    }

    fn line_text_at(&self, start: usize) -> &str {
        let rest = &self.text[start..];
        let end = rest.find('\n').unwrap_or(rest.len());
        rest[..end].strip_suffix('\r').unwrap_or(&rest[..end])
    }

    /// The byte offset of the `index`-th character (saphyr reports character indices).
    pub fn char_to_byte(&self, index: usize) -> usize {
        self.text
            .char_indices()
            .nth(index)
            .map_or(self.text.len(), |(i, _)| i)
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column() {
        let file = SourceFile::new("a.yaml", "ab\ncdé\nf");
        assert_eq!(file.line_col(0), (1, 1));
        assert_eq!(file.line_col(3), (2, 1));
        assert_eq!(file.line_col(7), (2, 4));
        assert_eq!(file.line_col(8), (3, 1));
        assert_eq!(file.line(2), "cdé");
        assert_eq!(file.offset(2, 3), 5);
        assert_eq!(file.offset(9, 1), file.text.len());
    }
}
