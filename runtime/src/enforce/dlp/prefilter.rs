//! The DLP prefilter: which patterns can match a text, in one pass over it. Each pattern with
//! necessary literals (`literals.rs`) is gated by them; one Aho-Corasick automaton over every
//! literal, searched in a normalized copy of the text, finds which gates are open. Patterns without
//! literals always run. A pattern whose gate stays closed cannot match, so its regex never
//! scans the text: clean text costs one literal search instead of one pass per pattern.

use super::DlpError;
use super::literals::{Scope, necessary, normalize};
use aho_corasick::{AhoCorasick, Input, MatchKind};
use regex_syntax::hir::Hir;
use std::collections::HashMap;

thread_local! {
    /// The text normalized as the literals are (`literals::normalize`): searching a normalized
    /// copy case-sensitively is many times faster than a case-insensitive search (the
    /// automaton can use its SIMD searcher).
    static NORMALIZED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    /// Per pattern, whether its gate is open (reused: most texts are short and clean, and a
    /// fresh vector per text was a heap allocation per JSON string).
    static OPEN: std::cell::RefCell<Vec<bool>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A per-thread normalized buffer larger than this is freed after use.
const KEEP_BUFFER_BYTES: usize = 4 << 20;

/// Shorter literals (a digit, `-`, `@`) occur in most text: the gate would nearly always open,
/// and every occurrence would cost a search restart. Such patterns run their own regex, whose
/// engine has literal optimizations of its own.
const MIN_LITERAL_LEN: usize = 3;

/// A pattern gated by more literals than this has them cut to their first bytes: case
/// variants (`(?i)` Unicode folding gives `ſ` for `s`, `K` for `k`) multiply literals, and a
/// search over many literals is much slower than over a few. A prefix of a necessary literal is
/// necessary too.
const MAX_LITERALS_PER_PATTERN: usize = 4;

fn shorten(mut set: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    for keep in [4, MIN_LITERAL_LEN] {
        if set.len() <= MAX_LITERALS_PER_PATTERN {
            break;
        }
        set.iter_mut().for_each(|literal| literal.truncate(keep));
        set.sort();
        set.dedup();
    }
    set
}

pub struct Prefilter {
    /// Sound for any text.
    any: Gates,
    /// Sound for ASCII text only, and sharper: `\d` is the ten digits there.
    ascii: Gates,
    patterns: usize,
}

/// One automaton over every gated pattern's literals.
struct Gates {
    searcher: Option<AhoCorasick>,
    /// Per literal of the automaton: the patterns an occurrence of it proves possible. That is
    /// the patterns of the literal and of every literal that is a prefix of it, because a
    /// leftmost-longest search reports only the longest literal at a position.
    opens: Vec<Vec<usize>>,
    /// Patterns that have no gate and always run.
    always: Vec<usize>,
    gated: usize,
}

impl Prefilter {
    /// `hirs[i]` is pattern i's syntax tree (`None` when it could not be analyzed: it always runs).
    pub fn new(hirs: &[Option<Hir>]) -> Result<Self, DlpError> {
        Ok(Self {
            any: Gates::new(hirs, Scope::Any)?,
            ascii: Gates::new(hirs, Scope::Ascii)?,
            patterns: hirs.len(),
        })
    }

    /// The patterns that may match `text`, in pattern order.
    pub fn candidates(&self, text: &str) -> Vec<usize> {
        let gates = if text.is_ascii() {
            &self.ascii
        } else {
            &self.any
        };
        OPEN.with_borrow_mut(|open| {
            open.clear();
            open.resize(self.patterns, false);
            for &index in &gates.always {
                open[index] = true;
            }
            if let Some(searcher) = &gates.searcher {
                NORMALIZED.with_borrow_mut(|normalized| {
                    normalized.clear();
                    normalized.extend(text.bytes().map(normalize));
                    gates.open(searcher, normalized, open);
                    if normalized.capacity() > KEEP_BUFFER_BYTES {
                        *normalized = Vec::new();
                    }
                });
            }
            // Empty for clean text without ungated patterns: no allocation.
            open.iter()
                .enumerate()
                .filter_map(|(index, open)| open.then_some(index))
                .collect()
        })
    }
}

impl Gates {
    fn new(hirs: &[Option<Hir>], scope: Scope) -> Result<Self, DlpError> {
        let mut owners: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
        let mut always = Vec::new();
        for (index, hir) in hirs.iter().enumerate() {
            let gate = hir
                .as_ref()
                .and_then(|hir| necessary(hir, scope))
                .map(shorten)
                .filter(|set| set.iter().all(|literal| literal.len() >= MIN_LITERAL_LEN));
            match gate {
                Some(set) => set
                    .into_iter()
                    .for_each(|literal| owners.entry(literal).or_default().push(index)),
                None => always.push(index),
            }
        }
        let mut literals: Vec<Vec<u8>> = owners.keys().cloned().collect();
        literals.sort();
        let opens = literals
            .iter()
            .map(|literal| {
                let mut opened: Vec<usize> = (1..=literal.len())
                    .filter_map(|end| owners.get(&literal[..end]))
                    .flatten()
                    .copied()
                    .collect();
                opened.sort_unstable();
                opened.dedup();
                opened
            })
            .collect();
        let searcher = if literals.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&literals)
                    .map_err(DlpError::Prefilter)?,
            )
        };
        Ok(Self {
            searcher,
            opens,
            gated: hirs.len() - always.len(),
            always,
        })
    }

    /// Searches again one byte after each match start, so every occurrence of every literal is
    /// seen (a literal at the same position as a longer one is its prefix: `opens` covers it).
    fn open(&self, searcher: &AhoCorasick, text: &[u8], open: &mut [bool]) {
        let mut closed = self.gated;
        let mut at = 0;
        while closed > 0 {
            let Some(found) = searcher.find(Input::new(text).span(at..text.len())) else {
                break;
            };
            for &index in &self.opens[found.pattern().as_usize()] {
                if !open[index] {
                    open[index] = true;
                    closed -= 1;
                }
            }
            at = found.start() + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefilter(patterns: &[&str]) -> Prefilter {
        let hirs: Vec<_> = patterns
            .iter()
            .map(|p| regex_syntax::parse(p).ok())
            .collect();
        Prefilter::new(&hirs).unwrap()
    }

    #[test]
    fn only_patterns_whose_literals_occur_are_candidates() {
        let p = prefilter(&["AKIA[0-9A-Z]{16}", r"(?i)bearer\s+\S+", r"\d{16}"]);
        assert_eq!(p.candidates("nothing to see"), Vec::<usize>::new());
        assert_eq!(p.candidates("an akia prefix"), vec![0]);
        assert_eq!(p.candidates("BEARER x and AKIA"), vec![0, 1]);
        assert_eq!(p.candidates("card 1234567812345678"), vec![2]);
        // Not ASCII: Unicode `\d` has no literal, so that pattern always runs.
        assert_eq!(p.candidates("naïve akia"), vec![0, 2]);
    }

    #[test]
    fn a_literal_shadowed_by_a_longer_one_still_opens_its_gate() {
        let p = prefilter(&["abc", "abcdef", "bcd"]);
        assert_eq!(p.candidates("xabcdefx"), vec![0, 1, 2]);
        assert_eq!(p.candidates("xabcx"), vec![0]);
        assert_eq!(p.candidates("bcde"), vec![2]);
    }

    /// Soundness against the regexes themselves: whenever a pattern matches, it is a candidate.
    #[test]
    fn never_skips_a_pattern_that_matches() {
        let patterns = [
            "AKIA[0-9A-Z]{16}",
            r"(?i)\bbearer\s+[a-z0-9._~+/-]{16,}=*",
            r"(?i)[a-z0-9._%+-]{1,64}@[a-z0-9.-]+\.[a-z]{2,}",
            "gh[pousr]_[A-Za-z0-9]{36}",
            r"\b\d{3}-\d{2}-\d{4}\b",
            "abc|abcd|bcde",
            "(?i)k",
        ];
        let p = prefilter(&patterns);
        let regexes: Vec<_> = patterns
            .iter()
            .map(|p| regex::Regex::new(p).unwrap())
            .collect();
        let alphabet = [
            "a",
            "b",
            "c",
            "d",
            "e",
            "K",
            "\u{212A}",
            "@",
            "x.io",
            "AKIA",
            "ghp_",
            " ",
            "123-45-6789",
            "Bearer ",
        ];
        let mut random = super::super::RandomText(0x9e37_79b9_7f4a_7c15);
        for _ in 0..5_000 {
            let text = random.text(&alphabet, 12, "A1b2C3d4E5f6G7h8I9j0KkLlMmNnOoPpQqRr");
            let candidates = p.candidates(&text);
            for (index, regex) in regexes.iter().enumerate() {
                if regex.is_match(&text) {
                    assert!(
                        candidates.contains(&index),
                        "{} in {text:?}",
                        patterns[index]
                    );
                }
            }
        }
    }
}
