//! Necessary literals of a pattern: a set of byte strings such that every match of the pattern
//! contains at least one of them. Text that contains none of a pattern's literals cannot match
//! it, so the pattern's regex never runs over that text (the DLP prefilter).
//!
//! The analysis is conservative in one direction only: it may return `None` (no useful set)
//! for a pattern that has one, but a set it returns is always necessary. Literals are
//! normalized (`normalize`: ASCII letters lowercased, ASCII digits made `0`) and searched in
//! the text normalized the same way, which only widens what passes the prefilter — and lets
//! `\d{3}-\d{2}` become the one literal `000-00`.
//!
//! Two modes: `Scope::Any` is sound for any text; `Scope::Ascii` is sound for ASCII text only
//! (classes keep only their ASCII members, so Unicode `\d` is the ten digits), and is used when
//! the text is ASCII.

use regex_syntax::hir::{Class, Hir, HirKind};

/// Which texts a literal set must be sound for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Any,
    Ascii,
}

/// The byte the prefilter sees for `byte`: ASCII letters lowercased, ASCII digits `0`.
/// Branch-free, so normalizing a whole text vectorizes.
#[inline]
pub fn normalize(byte: u8) -> u8 {
    let digit = byte.wrapping_sub(b'0') < 10;
    let upper = byte.wrapping_sub(b'A') < 26;
    let lowered = byte | (u8::from(upper) << 5);
    if digit { b'0' } else { lowered }
}

/// A repetition `x{n}` of a single exact literal stays exact up to this many copies.
const MAX_REPEAT: u32 = 16;

/// At most this many literals per pattern; beyond it a set filters too little to be worth it.
const MAX_LITERALS: usize = 64;
/// A class of at most this many characters becomes single-character literals.
const MAX_CLASS_CHARS: usize = 16;

/// A set of literals; `exact` when every match of the node is exactly one of them (so the
/// set can be concatenated with its neighbours' sets).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Literals {
    set: Vec<Vec<u8>>,
    exact: bool,
}

impl Literals {
    fn exact(set: Vec<Vec<u8>>) -> Self {
        Self { set, exact: true }.normalized()
    }

    fn normalized(mut self) -> Self {
        for literal in &mut self.set {
            literal.iter_mut().for_each(|b| *b = normalize(*b));
        }
        self.set.sort();
        self.set.dedup();
        self
    }

    /// How well the set filters: longer shortest literal first, then fewer literals.
    fn rank(&self) -> (usize, std::cmp::Reverse<usize>) {
        let shortest = self.set.iter().map(Vec::len).min().unwrap_or(0);
        (shortest.min(4), std::cmp::Reverse(self.set.len()))
    }

    /// Every literal of `self` followed by every literal of `next`, if small enough.
    fn product(&self, next: &Literals) -> Option<Literals> {
        if self.set.len() * next.set.len() > MAX_LITERALS {
            return None;
        }
        let set = self
            .set
            .iter()
            .flat_map(|a| next.set.iter().map(move |b| [a.as_slice(), b].concat()))
            .collect();
        Some(Literals::exact(set))
    }
}

/// The necessary literals of `hir`, normalized, or `None` when no useful set exists (for
/// example when the pattern can match the empty string).
pub fn necessary(hir: &Hir, scope: Scope) -> Option<Vec<Vec<u8>>> {
    let literals = analyze(hir, scope)?;
    if literals.set.is_empty() || literals.set.iter().any(Vec::is_empty) {
        return None;
    }
    Some(literals.set)
}

fn analyze(hir: &Hir, scope: Scope) -> Option<Literals> {
    match hir.kind() {
        HirKind::Literal(literal) => Some(Literals::exact(vec![literal.0.to_vec()])),
        HirKind::Class(class) => class_literals(class, scope).map(Literals::exact),
        HirKind::Empty | HirKind::Look(_) => None,
        HirKind::Capture(capture) => analyze(&capture.sub, scope),
        HirKind::Repetition(repetition) if repetition.min == 0 => None,
        HirKind::Repetition(repetition) => {
            let inner = analyze(&repetition.sub, scope)?;
            // `x{n,m}` contains `x` n times in a row; when `x` is one literal, that run is a
            // longer literal (exact when n == m).
            match inner.set.as_slice() {
                [one] if inner.exact && repetition.min <= MAX_REPEAT => Some(Literals {
                    set: vec![one.repeat(repetition.min as usize)],
                    exact: repetition.max == Some(repetition.min),
                }),
                _ => Some(Literals {
                    exact: inner.exact && repetition.max == Some(1),
                    ..inner
                }),
            }
        }
        HirKind::Alternation(branches) => alternation(branches, scope),
        HirKind::Concat(parts) => concat(parts, scope),
    }
}

/// The union of every branch's set; `None` if any branch has none.
fn alternation(branches: &[Hir], scope: Scope) -> Option<Literals> {
    let mut set = Vec::new();
    let mut exact = true;
    for branch in branches {
        let literals = analyze(branch, scope)?;
        exact &= literals.exact;
        set.extend(literals.set);
        if set.len() > MAX_LITERALS {
            return None;
        }
    }
    Some(Literals { set, exact }.normalized())
}

/// The best of: each part's own set, and each run of adjacent exact parts concatenated
/// (zero-width assertions such as `\b` do not break a run). Exact only when every part is
/// exact and their product stayed small enough to be one run.
fn concat(parts: &[Hir], scope: Scope) -> Option<Literals> {
    let mut best: Option<Literals> = None;
    let mut consider = |candidate: &Literals| {
        if best.as_ref().is_none_or(|b| candidate.rank() > b.rank()) {
            best = Some(Literals {
                set: candidate.set.clone(),
                exact: false,
            });
        }
    };
    let mut run: Option<Literals> = None;
    let mut whole = true;
    for part in parts {
        if matches!(part.kind(), HirKind::Look(_)) {
            continue;
        }
        let literals = analyze(part, scope);
        match &literals {
            Some(next) if next.exact => {
                run = match run.take() {
                    None => Some(next.clone()),
                    Some(previous) => previous.product(next).or_else(|| {
                        whole = false;
                        consider(&previous);
                        Some(next.clone())
                    }),
                };
            }
            _ => {
                whole = false;
                if let Some(done) = run.take() {
                    consider(&done);
                }
            }
        }
        if let Some(own) = &literals {
            consider(own);
        }
    }
    match run {
        Some(all) if whole => Some(all),
        Some(last) => {
            consider(&last);
            best
        }
        None => best,
    }
}

/// A small class as single-character literals (UTF-8 encoded, normalized: so `[0-9]` is the
/// one literal `0`). With `Scope::Ascii` only the class's ASCII members count.
fn class_literals(class: &Class, scope: Scope) -> Option<Vec<Vec<u8>>> {
    let mut set: Vec<Vec<u8>> = Vec::new();
    let mut add = |literal: Vec<u8>| {
        let literal: Vec<u8> = literal.into_iter().map(normalize).collect();
        if !set.contains(&literal) {
            if set.len() == MAX_CLASS_CHARS {
                return false;
            }
            set.push(literal);
        }
        true
    };
    match class {
        Class::Unicode(unicode) => {
            for range in unicode.ranges() {
                let end = match scope {
                    Scope::Ascii if !range.start().is_ascii() => continue,
                    Scope::Ascii => range.end().min('\x7f'),
                    Scope::Any => range.end(),
                };
                for c in range.start()..=end {
                    if !add(c.to_string().into_bytes()) {
                        return None;
                    }
                }
            }
        }
        Class::Bytes(bytes) => {
            for range in bytes.ranges() {
                let end = match scope {
                    Scope::Ascii if !range.start().is_ascii() => continue,
                    Scope::Ascii => range.end().min(0x7f),
                    Scope::Any => range.end(),
                };
                for b in range.start()..=end {
                    if !add(vec![b]) {
                        return None;
                    }
                }
            }
        }
    }
    // A class with no member in scope cannot match: no literal can prove it possible.
    (!set.is_empty()).then_some(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literals(pattern: &str, scope: Scope) -> Option<Vec<String>> {
        let hir = regex_syntax::parse(pattern).unwrap();
        necessary(&hir, scope).map(|set| {
            set.into_iter()
                .map(|l| String::from_utf8(l).unwrap())
                .collect()
        })
    }

    fn of(pattern: &str) -> Option<Vec<String>> {
        literals(pattern, Scope::Any)
    }

    fn strings(items: &[&str]) -> Option<Vec<String>> {
        Some(items.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn normalization_folds_case_and_digits_only() {
        for byte in 0..=255u8 {
            let expected = if byte.is_ascii_digit() {
                b'0'
            } else {
                byte.to_ascii_lowercase()
            };
            assert_eq!(normalize(byte), expected, "{byte}");
        }
    }

    #[test]
    fn literals_of_common_patterns() {
        assert_eq!(of("AKIA[0-9A-Z]{16}"), strings(&["akia"]));
        assert_eq!(
            of(r"(?i)[a-z0-9._%+-]{1,64}@[a-z0-9.-]+\.[a-z]{2,}"),
            strings(&["@"])
        );
        assert_eq!(
            of("gh[pousr]_[A-Za-z0-9]{36}"),
            strings(&["gho_", "ghp_", "ghr_", "ghs_", "ghu_"])
        );
        assert_eq!(
            of("-----BEGIN (?:RSA |EC )?PRIVATE KEY-----"),
            strings(&["-----begin "])
        );
        assert_eq!(of(r"xox[baprs]-[0-9a-z-]+").map(|s| s.len()), Some(5));
        let bearer = of(r"(?i)\bbearer\s+[a-z0-9]{16,}").unwrap();
        assert!(bearer.contains(&"bearer".to_string()), "{bearer:?}");
    }

    #[test]
    fn digits_normalize_and_ascii_scope_narrows_classes() {
        let ssn = r"\b\d{3}-\d{2}-\d{4}\b";
        assert_eq!(of(ssn), strings(&["-"]), "Unicode \\d has too many members");
        assert_eq!(literals(ssn, Scope::Ascii), strings(&["000-00-0000"]));
        assert_eq!(of("(?-u:[0-9])"), strings(&["0"]));
        assert_eq!(of("v[0-9]{3}"), strings(&["v000"]));
        assert_eq!(literals(r"\w", Scope::Ascii), None, "63 ASCII members");
    }

    #[test]
    fn no_set_when_a_match_can_avoid_every_literal() {
        assert_eq!(of("a*"), None);
        assert_eq!(of(r"\d{16}"), None, "Unicode \\d is too large a class");
        assert_eq!(of("a|[0-9a-z]+"), None);
        assert_eq!(of(r"\b"), None);
        assert_eq!(of("(?:abc)?"), None);
    }

    #[test]
    fn alternations_and_small_classes() {
        assert_eq!(of("cat|dog"), strings(&["cat", "dog"]));
        assert_eq!(of("x(?:ab|cd)y"), strings(&["xaby", "xcdy"]));
    }

    /// The property that makes the prefilter sound: every match contains a literal.
    #[test]
    fn every_match_contains_a_literal() {
        let cases = [
            ("AKIA[0-9A-Z]{16}", "id AKIAABCDEFGHIJKLMNOP!"),
            (
                r"(?i)\bbearer\s+[a-z0-9]{4,}",
                "Authorization: BeArEr abcd1234",
            ),
            ("x(?:ab|cd)y", "zzxcdyzz"),
            (r"\d{3}-\d{2}-\d{4}", "ssn 123-45-6789"),
            (
                r"\bSK[0-9a-fA-F]{32}\b",
                "SK0123456789abcdefABCDEF0123456789",
            ),
        ];
        for (pattern, text) in cases {
            let regex = regex::Regex::new(pattern).unwrap();
            let found: Vec<u8> = regex
                .find(text)
                .unwrap()
                .as_str()
                .bytes()
                .map(normalize)
                .collect();
            let found = String::from_utf8(found).unwrap();
            for scope in [Scope::Any, Scope::Ascii] {
                let set = literals(pattern, scope).unwrap();
                assert!(
                    set.iter().any(|l| found.contains(l.as_str())),
                    "{pattern}: {set:?}"
                );
            }
        }
    }
}
