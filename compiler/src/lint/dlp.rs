//! The DLP lint (AL4xxx): each pattern compiles within size and nesting limits, cannot match the
//! empty string, is not over-broad, refers only to groups it has, and passes its own examples.

use crate::diagnostics::{Diagnostics, Severity, codes};
use crate::validate::ConfigDoc;
use airlock_schema::config::DlpPattern;
use regex::{Regex, RegexBuilder};
use regex_syntax::hir::{Class, Hir, HirKind};

/// Compiled-program size limit per pattern: keeps the gateway's memory and scan time bounded.
pub const SIZE_LIMIT: usize = 1 << 20;
/// The lazy DFA cache per pattern.
pub const DFA_SIZE_LIMIT: usize = 2 << 20;
/// The deepest nesting of groups and repetitions accepted.
pub const NEST_LIMIT: u32 = 32;

/// Ordinary text a redaction pattern must leave alone.
const PROSE: [&str; 8] = [
    "The quick brown fox jumps over the lazy dog",
    "hello world",
    "Please review the attached document before Monday.",
    "GET /index.html HTTP/1.1",
    "user logged in at 10:42 from the office",
    "total 42 files, 3 directories",
    "function main() { return 0; }",
    "Status: OK",
];

/// Compiles a DLP pattern the way the runtime does.
pub fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(DFA_SIZE_LIMIT)
        .nest_limit(NEST_LIMIT)
        .build()
}

pub fn check(doc: &ConfigDoc<'_>, out: &mut Diagnostics) {
    let mut compiled: Vec<(usize, DlpPattern, Regex)> = Vec::new();
    for (index, pattern) in doc.items::<DlpPattern>("/dlp/patterns") {
        let base = format!("/dlp/patterns/{index}");
        let regex_pointer = format!("{base}/regex");
        let regex = match compile(&pattern.regex) {
            Ok(regex) => regex,
            Err(regex::Error::CompiledTooBig(limit)) => {
                out.push(doc.value_diag(codes::AL4002, &regex_pointer, format!("the pattern `{}` compiles to more than {limit} bytes", pattern.name))
                    .help("simplify it: bound large repetitions (`{1,64}` rather than `{1,10000}`) and avoid nested counted repetitions"));
                continue;
            }
            Err(error) => {
                let text = error.to_string();
                let (code, help) = if text.contains("nest limit") {
                    (
                        codes::AL4002,
                        format!("nesting is limited to {NEST_LIMIT} levels: flatten the groups"),
                    )
                } else {
                    (
                        codes::AL4001,
                        format!(
                            "the regex crate says:\n{}",
                            text.lines()
                                .filter(|l| !l.trim().is_empty())
                                .collect::<Vec<_>>()
                                .join("\n")
                        ),
                    )
                };
                let message = text
                    .lines()
                    .rev()
                    .find_map(|l| l.strip_prefix("error: "))
                    .unwrap_or("invalid regular expression")
                    .to_string();
                out.push(
                    doc.value_diag(
                        code,
                        &regex_pointer,
                        format!("the pattern `{}` does not compile: {message}", pattern.name),
                    )
                    .help(help),
                );
                continue;
            }
        };
        breadth(doc, &regex_pointer, &pattern, &regex, out);
        replacement(doc, &base, &pattern, &regex, out);
        examples(doc, &base, &pattern, &regex, out);
        if let Some((_, first, _)) = compiled.iter().find(|(_, p, _)| p.regex == pattern.regex) {
            out.push(
                doc.value_diag(
                    codes::AL4007,
                    &regex_pointer,
                    format!(
                        "the pattern `{}` has the same regex as `{}`",
                        pattern.name, first.name
                    ),
                )
                .help("remove one of them; the first already redacts every match"),
            );
        } else if let Some((_, earlier, _)) = {
            let own = own_matches(&regex, &pattern);
            compiled.iter().find(|(_, _, r)| covers(r, &own))
        } {
            out.push(
                doc.value_diag(
                    codes::AL4008,
                    &regex_pointer,
                    format!(
                        "every `match` example of `{}` is already redacted by `{}`",
                        pattern.name, earlier.name
                    ),
                )
                .help(format!(
                    "`{}` runs first and redacts the same text; remove `{}` or narrow `{}`",
                    earlier.name, pattern.name, earlier.name
                )),
            );
        }
        compiled.push((index, pattern, regex));
    }
}

/// AL4003 and AL4004: empty matches, leading unbounded wildcards, matches in prose.
fn breadth(
    doc: &ConfigDoc<'_>,
    pointer: &str,
    pattern: &DlpPattern,
    regex: &Regex,
    out: &mut Diagnostics,
) {
    let hir = regex_syntax::ParserBuilder::new()
        .nest_limit(NEST_LIMIT)
        .build()
        .parse(&pattern.regex)
        .ok();
    if regex.is_match("")
        || hir
            .as_ref()
            .is_some_and(|h| h.properties().minimum_len() == Some(0))
    {
        let fix = match hir.as_ref().and_then(optional_part) {
            Some(Some(1)) => "the `?` makes its part optional, and nothing else is required: remove the `?`, or follow the optional part with the secret itself (e.g. `(sk-)?[A-Za-z0-9]{32}`)".to_string(),
            Some(Some(most)) => format!("`{{0,{most}}}` allows no repetition at all: require at least one (`{{1,{most}}}`)"),
            Some(None) | None => "require at least one character (`+` instead of `*`, `{1,}` instead of `{0,}`)".to_string(),
        };
        out.push(
            doc.value_diag(
                codes::AL4003,
                pointer,
                format!("the pattern `{}` can match the empty string", pattern.name),
            )
            .help(format!(
                "it would insert its replacement between every two characters: {fix}"
            )),
        );
        return;
    }
    if let Some(hir) = &hir
        && starts_unbounded(hir)
    {
        out.push(doc.value_diag(codes::AL4004, pointer, format!("the pattern `{}` starts with an unbounded wildcard", pattern.name))
                .help("a leading `.*`, `.+` or `\\S+` swallows the text before the secret and makes every scan quadratic: anchor the pattern on the secret's own prefix (e.g. `AKIA`), or bound the repetition (`{1,64}`)"));
        return;
    }
    if let Some(sample) = PROSE.iter().find(|text| regex.is_match(text)) {
        out.push(doc.value_diag(codes::AL4004, pointer, format!("the pattern `{}` matches ordinary text such as \"{sample}\"", pattern.name))
            .help("make it specific to the secret's format (a fixed prefix, a length, a character set) so innocent output is left alone"));
    }
}

/// The repetition that lets a pattern match nothing, by its upper bound: `Some(1)` for `?`,
/// `None` for `*`, `Some(n)` for `{0,n}`.
fn optional_part(hir: &Hir) -> Option<Option<u32>> {
    match hir.kind() {
        HirKind::Repetition(rep) if rep.min == 0 => Some(rep.max),
        HirKind::Repetition(rep) => optional_part(&rep.sub),
        HirKind::Capture(capture) => optional_part(&capture.sub),
        HirKind::Concat(parts) | HirKind::Alternation(parts) => {
            parts.iter().find_map(optional_part)
        }
        _ => None,
    }
}

/// True when the pattern begins with a repetition without upper bound over a broad class.
fn starts_unbounded(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Concat(parts) => parts
            .iter()
            .find(|h| !matches!(h.kind(), HirKind::Look(_)))
            .is_some_and(starts_unbounded),
        HirKind::Capture(capture) => starts_unbounded(&capture.sub),
        HirKind::Alternation(branches) => branches.iter().any(starts_unbounded),
        HirKind::Repetition(rep) => rep.max.is_none() && broad(&rep.sub),
        _ => false,
    }
}

/// A class matching more than half of printable ASCII (`.`, `\S`, `[^,]`, `\w`).
fn broad(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Class(Class::Unicode(class)) => {
            (32u8..127)
                .filter(|b| {
                    class
                        .ranges()
                        .iter()
                        .any(|r| r.start() <= *b as char && *b as char <= r.end())
                })
                .count()
                > 47
        }
        HirKind::Class(Class::Bytes(class)) => {
            (32u8..127)
                .filter(|b| {
                    class
                        .ranges()
                        .iter()
                        .any(|r| r.start() <= *b && *b <= r.end())
                })
                .count()
                > 47
        }
        HirKind::Capture(capture) => broad(&capture.sub),
        _ => false,
    }
}

/// AL4009: `$2` or `${name}` without such a group.
fn replacement(
    doc: &ConfigDoc<'_>,
    base: &str,
    pattern: &DlpPattern,
    regex: &Regex,
    out: &mut Diagnostics,
) {
    let Some(replace) = &pattern.replace else {
        return;
    };
    let groups = regex.captures_len();
    let names: Vec<&str> = regex.capture_names().flatten().collect();
    for reference in group_references(replace) {
        let exists = match reference.parse::<usize>() {
            Ok(number) => number < groups,
            Err(_) => names.contains(&reference.as_str()),
        };
        if !exists {
            let named = if names.is_empty() {
                String::new()
            } else {
                format!(" ({})", names.join(", "))
            };
            let have = match groups - 1 {
                0 => "no groups".to_string(),
                1 => format!("only group 1{named}"),
                n => format!("groups 1 to {n}{named}"),
            };
            out.push(doc.value_diag(codes::AL4009, &format!("{base}/replace"), format!("the replacement of `{}` refers to group `{reference}`, but the regex has {have}", pattern.name))
                .help("fix the reference, or write `$$` for a literal `$`"));
        }
    }
}

/// The group references of a replacement string, as the `regex` crate reads them.
fn group_references(replace: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = replace;
    while let Some(i) = rest.find('$') {
        rest = &rest[i + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            rest = after;
        } else if let Some(braced) = rest.strip_prefix('{') {
            if let Some(end) = braced.find('}') {
                found.push(braced[..end].to_string());
                rest = &braced[end + 1..];
            }
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if end > 0 {
                found.push(rest[..end].to_string());
            }
            rest = &rest[end..];
        }
    }
    found
}

/// AL4005, AL4006, AL4010: the pattern's own examples.
fn examples(
    doc: &ConfigDoc<'_>,
    base: &str,
    pattern: &DlpPattern,
    regex: &Regex,
    out: &mut Diagnostics,
) {
    if pattern.examples.must_match.is_empty() {
        out.push(doc.key_diag(codes::AL4010, &format!("{base}/name"), format!("the pattern `{}` has no `examples.match`", pattern.name))
            .severity(Severity::Warning)
            .help("add texts it must redact (and `noMatch` texts it must leave alone): airlockc runs them on every build"));
    }
    for (i, text) in pattern.examples.must_match.iter().enumerate() {
        if !regex.is_match(text) {
            out.push(
                doc.value_diag(
                    codes::AL4005,
                    &format!("{base}/examples/match/{i}"),
                    format!("the pattern `{}` does not match this example", pattern.name),
                )
                .help("fix the regex or the example: every `match` example must be found"),
            );
        }
    }
    for (i, text) in pattern.examples.no_match.iter().enumerate() {
        // An empty match is AL4003's finding, not the example's.
        if let Some(found) = regex.find_iter(text).find(|m| !m.is_empty()) {
            out.push(
                doc.value_diag(
                    codes::AL4006,
                    &format!("{base}/examples/noMatch/{i}"),
                    format!(
                        "the pattern `{}` matches `{}` in this example",
                        pattern.name,
                        found.as_str()
                    ),
                )
                .help("narrow the regex: `noMatch` examples must be left alone"),
            );
        }
    }
}

/// Each `match` example of `pattern` with the spans its own regex finds in it (computed once per
/// pattern: comparing it with every earlier pattern must not recompile or rescan it).
fn own_matches<'a>(own: &Regex, pattern: &'a DlpPattern) -> Vec<(&'a str, Vec<(usize, usize)>)> {
    pattern
        .examples
        .must_match
        .iter()
        .map(|text| {
            let spans = own.find_iter(text).map(|m| (m.start(), m.end())).collect();
            (text.as_str(), spans)
        })
        .collect()
}

/// True when `regex` redacts every span the pattern's own regex finds in its `match` examples.
/// An example its own regex does not match (AL4005) proves nothing either way.
fn covers(regex: &Regex, examples: &[(&str, Vec<(usize, usize)>)]) -> bool {
    !examples.is_empty()
        && examples.iter().all(|(text, spans)| {
            !spans.is_empty()
                && regex.is_match(text)
                && spans.iter().all(|&(start, end)| {
                    regex
                        .find_iter(text)
                        .any(|r| r.start() <= start && end <= r.end())
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hir(p: &str) -> Hir {
        regex_syntax::parse(p).unwrap()
    }

    #[test]
    fn the_repetition_that_allows_an_empty_match() {
        assert_eq!(optional_part(&hir("(sk-[a-z]{32})?")), Some(Some(1)));
        assert_eq!(optional_part(&hir("[0-9]*")), Some(None));
        assert_eq!(optional_part(&hir("a{0,4}")), Some(Some(4)));
        assert_eq!(optional_part(&hir("abc|x?")), Some(Some(1)));
        assert_eq!(optional_part(&hir("abc")), None);
    }

    #[test]
    fn leading_wildcards() {
        assert!(starts_unbounded(&hir(".*secret")));
        assert!(starts_unbounded(&hir(r"\S+@example\.com")));
        assert!(starts_unbounded(&hir(r"(?i)(.+)=x")));
        assert!(!starts_unbounded(&hir("AKIA[0-9A-Z]{16}")));
        assert!(!starts_unbounded(&hir(r"[A-Z0-9._%+-]{1,64}@x")));
        assert!(!starts_unbounded(&hir(r"[0-9]+-[0-9]+")));
    }

    #[test]
    fn replacement_groups() {
        assert_eq!(
            group_references("[$1] ${name} $$ $x_y."),
            vec!["1", "name", "x_y"]
        );
    }
}
