//! One compiled DLP pattern, twice: as written (Unicode-aware, for any text) and, when the
//! pattern allows, with Unicode off, for ASCII text. On ASCII text the two match the same spans
//! (`\d`, `\w`, `\s`, `\b`, `.` and case folding differ only on non-ASCII characters), and the
//! ASCII form is often several times faster: the regex engine can use its literal
//! optimizations where Unicode classes would defeat them. Most tool output is ASCII. Not
//! always: a pattern that starts with a frequent byte class can be slower in ASCII form, so
//! each pattern is timed once in both forms on a sample of typical text and keeps the faster
//! for ASCII text (the choice changes speed only, never what matches).

use super::DlpError;
use regex::bytes::{Captures as ByteCaptures, Regex as ByteRegex, RegexBuilder as ByteBuilder};
use regex::{Captures, Regex, RegexBuilder};

/// The compile limits, the same `airlockc` lints with.
pub const SIZE_LIMIT: usize = 1 << 20;
const DFA_SIZE_LIMIT: usize = 2 << 20;
pub const NEST_LIMIT: u32 = 32;

pub struct Pattern {
    pub name: String,
    unicode: Regex,
    ascii: Option<ByteRegex>,
    replacement: String,
}

impl Pattern {
    pub fn new(name: &str, regex: &str, replacement: &str) -> Result<Self, DlpError> {
        let unicode = RegexBuilder::new(regex)
            .size_limit(SIZE_LIMIT)
            .dfa_size_limit(DFA_SIZE_LIMIT)
            .nest_limit(NEST_LIMIT)
            .build()
            .map_err(|source| DlpError::Pattern {
                name: name.to_string(),
                source,
            })?;
        // Patterns that need Unicode (`\p{..}`, say) have no ASCII form and always use theirs.
        let ascii = ByteBuilder::new(regex)
            .unicode(false)
            .size_limit(SIZE_LIMIT)
            .dfa_size_limit(DFA_SIZE_LIMIT)
            .nest_limit(NEST_LIMIT)
            .build()
            .ok()
            .filter(|ascii| faster_than_unicode(ascii, &unicode));
        Ok(Self {
            name: name.to_string(),
            unicode,
            ascii,
            replacement: replacement.to_string(),
        })
    }

    /// Whether the pattern matches somewhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.is_match_in(self.ascii_form(text), text)
    }

    /// The ASCII form, when it has one and `text` is ASCII.
    fn ascii_form(&self, text: &str) -> Option<&ByteRegex> {
        self.ascii.as_ref().filter(|_| text.is_ascii())
    }

    fn is_match_in(&self, ascii: Option<&ByteRegex>, text: &str) -> bool {
        match ascii {
            Some(ascii) => ascii.is_match(text.as_bytes()),
            None => self.unicode.is_match(text),
        }
    }

    /// `text` with every match replaced and the number of matches, or `None` when none.
    pub fn replace(&self, text: &str) -> Option<(String, u64)> {
        let mut found = 0;
        // `replace_all` sets up capture slots (a heap allocation) before it searches; most
        // texts that reach a pattern are clean, and a plain match test needs none.
        let ascii = self.ascii_form(text);
        if !self.is_match_in(ascii, text) {
            return None;
        }
        match ascii {
            Some(ascii) => {
                let replaced = ascii.replace_all(text.as_bytes(), |captures: &ByteCaptures| {
                    found += 1;
                    let mut out = Vec::new();
                    captures.expand(self.replacement.as_bytes(), &mut out);
                    out
                });
                // ASCII text with UTF-8 replacements and ASCII capture groups: valid UTF-8.
                let replaced = replaced.into_owned();
                (found > 0).then(|| (String::from_utf8_lossy(&replaced).into_owned(), found))
            }
            None => {
                let replaced = self.unicode.replace_all(text, |captures: &Captures| {
                    found += 1;
                    let mut out = String::new();
                    captures.expand(&self.replacement, &mut out);
                    out
                });
                (found > 0).then(|| (replaced.into_owned(), found))
            }
        }
    }
}

/// Typical ASCII tool output: prose, code, JSON, logs, numbers and dates.
const SAMPLE_LINES: [&str; 6] = [
    "Deployed 42 pods in 3.2s on 2026-11-23; see the runbook (section 7) for the rollback.",
    "fn main() -> Result<(), Error> { let total = items.iter().map(|i| i.size).sum::<u64>(); }",
    "{\"id\": 1842, \"name\": \"report-q3\", \"size\": 20480, \"tags\": [\"a\", \"b\"]}",
    "2026-11-23T04:17:59Z INFO handled method=tools/call status=200 latency_ms=3.2 bytes=10482",
    "| region    | requests | errors |\n| eu-west-1 | 10,482   | 3      |",
    "Users may read the repository and write artifacts; everything else is denied by default.",
];

/// Whether the ASCII form scans the sample faster than the Unicode form (best of three).
fn faster_than_unicode(ascii: &ByteRegex, unicode: &Regex) -> bool {
    // Built once for every pattern of every policy generation, not once per pattern.
    static SAMPLE: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| SAMPLE_LINES.join("\n").repeat(32));
    let sample = SAMPLE.as_str();
    let best = |scan: &dyn Fn() -> usize| {
        (0..3)
            .map(|_| {
                let started = std::time::Instant::now();
                std::hint::black_box(scan());
                started.elapsed()
            })
            .min()
            .unwrap_or_default()
    };
    let ascii_time = best(&|| ascii.find_iter(sample.as_bytes()).count());
    let unicode_time = best(&|| unicode.find_iter(sample).count());
    ascii_time <= unicode_time
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On ASCII text both forms find the same spans, for the constructs whose meaning Unicode
    /// changes.
    #[test]
    fn ascii_and_unicode_forms_agree_on_ascii_text() {
        let patterns = [
            r"\b\d{3}-\d{2}-\d{4}\b",
            r"(?i)\bbearer\s+[a-z0-9._~+/-]{4,}=*",
            r"(?i)k\w+",
            r"(?i)s[^\s:@/]+",
            r"a.c",
            r"\W+x",
            r"(?i)[a-z0-9._%+-]{1,64}@[a-z0-9.-]+\.[a-z]{2,}",
            r"\B\w{2}\b",
        ];
        let alphabet = [
            "a", "c", "k", "K", "s", "S", "x", "_", "-", " ", "\t", "\n", "1", "23", "@", ".",
            "bearer ", "Bearer ", ":", "/",
        ];
        let mut random = super::super::RandomText(0x2545_f491_4f6c_dd1d);
        for pattern in patterns {
            let p = Pattern::new("p", pattern, "[$0]").unwrap();
            let ascii = ByteBuilder::new(pattern).unicode(false).build().unwrap();
            for _ in 0..3_000 {
                let text = random.text(&alphabet, 16, "");
                let unicode: Vec<_> = p
                    .unicode
                    .find_iter(&text)
                    .map(|m| (m.start(), m.end()))
                    .collect();
                let bytes: Vec<_> = ascii
                    .find_iter(text.as_bytes())
                    .map(|m| (m.start(), m.end()))
                    .collect();
                assert_eq!(unicode, bytes, "{pattern} on {text:?}");
            }
        }
    }

    #[test]
    fn non_ascii_text_uses_the_unicode_form() {
        let p = Pattern::new("digits", r"\d+", "#").unwrap();
        assert_eq!(p.replace("a ٣٤ b 12").unwrap(), ("a # b #".to_string(), 2));
        assert_eq!(p.replace("a 12 b 3").unwrap(), ("a # b #".to_string(), 2));
        assert!(p.replace("none").is_none());
    }

    #[test]
    fn patterns_that_need_unicode_keep_one_form() {
        let p = Pattern::new("letters", r"\p{Greek}+", "[greek]").unwrap();
        assert!(p.ascii.is_none());
        assert_eq!(p.replace("abc").map(|r| r.1), None);
        assert_eq!(p.replace("αβγ").map(|r| r.1), Some(1));
    }
}
