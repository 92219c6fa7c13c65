//! DLP redaction. Every pattern is compiled once (`pattern.rs`: with an ASCII form for ASCII
//! text). A literal prefilter (`prefilter.rs`) finds which patterns can match a text in one
//! pass, so clean text costs one literal search and only candidate patterns run their regex
//! and replacement. Redactions are counted per pattern. Applied to every string of a JSON value (tool results, resource contents) and to
//! request arguments before they are logged or audited. An upstream's answer is redacted as
//! the text it sent, without a tree (`text.rs`).

mod literals;
mod pattern;
mod prefilter;
mod text;

use crate::mcp::jsonrpc::Json;
use airlock_schema::runtime::DlpRule;
use pattern::{NEST_LIMIT, Pattern};
use prefilter::Prefilter;
use serde_json::Value;

/// Why the DLP patterns cannot be built (airlockc lints them with the same limits, so this
/// means a config it did not build).
#[derive(Debug, thiserror::Error)]
pub enum DlpError {
    /// A pattern does not compile within the limits.
    #[error("DLP pattern {name}: {source}")]
    Pattern {
        name: String,
        #[source]
        source: regex::Error,
    },
    /// The literal automaton over every pattern cannot be built.
    #[error("DLP prefilter: {0}")]
    Prefilter(#[source] aho_corasick::BuildError),
}

pub struct Redactor {
    prefilter: Prefilter,
    patterns: Vec<Pattern>,
    /// Every pattern matches a string the same wherever the string lies (no `^`, `$` or other
    /// assertion about the text's ends; word boundaries only see a JSON string's quotes as
    /// the text's ends). Then a search of a whole JSON text finds every match its strings
    /// have (`text.rs`).
    context_free: bool,
}

/// A JSON value whose every string and key has passed DLP. Only [`Redactor::redact`] makes
/// one, and the edge writes only `Redacted` bodies, so no path reaches a client around DLP:
///
/// ```compile_fail
/// // Outside this module a `Redacted` cannot be built from a bare value.
/// let forged = airlock::enforce::dlp::Redacted(serde_json::json!({"leak": "AKIA..."}));
/// ```
#[derive(Debug)]
pub struct Redacted(Inner);

/// What a [`Redacted`] holds: a tree, an upstream's text that had nothing to redact (sent as
/// it came), or that text with strings replaced (written by `text.rs`, already JSON).
#[derive(Debug)]
enum Inner {
    Tree(Value),
    Text(Box<serde_json::value::RawValue>),
    Rewritten(Vec<u8>),
}

impl Inner {
    fn into_tree(self) -> serde_json::Result<Value> {
        match self {
            Inner::Tree(value) => Ok(value),
            Inner::Text(text) => serde_json::from_str(text.get()),
            Inner::Rewritten(text) => serde_json::from_slice(&text),
        }
    }
}

impl Redacted {
    /// The value as a response body.
    pub fn into_body(self) -> RedactedBody {
        let mut out = Vec::with_capacity(256);
        write_json(&self.0, &mut out);
        RedactedBody(out)
    }

    /// The JSON-RPC response whose `result` is this value. The envelope is the gateway's and
    /// the id the client's own, echoed unredacted so the client can match the answer. Written
    /// straight to bytes: no envelope object is built, and an upstream's text is copied as is.
    pub fn into_jsonrpc_result(self, id: &Value) -> RedactedBody {
        RedactedBody(envelope(id, "result", &self.0))
    }

    /// The JSON-RPC response whose `error` is this error object, its `data` completed with
    /// what the gateway itself says: `own` (the policy's reason, the caller's own subject), the
    /// `error_type` and the `correlation_id`, after redaction (a pattern that happened to
    /// match a request id must not break the correlation).
    pub fn into_jsonrpc_error(
        self,
        id: &Value,
        own: &serde_json::Map<String, Value>,
        error_type: &str,
        correlation_id: &str,
    ) -> RedactedBody {
        // Error objects are the gateway's own trees; a text that is not Unicode has none.
        let mut error = self.0.into_tree().unwrap_or_default();
        if let Some(data) = error.get_mut("data").and_then(Value::as_object_mut) {
            let relayed = std::mem::take(data);
            data.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
            data.extend(relayed);
            data.insert("error_type".into(), error_type.into());
            data.insert("correlation_id".into(), correlation_id.into());
        }
        RedactedBody(envelope(id, "error", &Inner::Tree(error)))
    }

    #[cfg(test)]
    fn into_tree(self) -> Value {
        self.0.into_tree().unwrap()
    }
}

/// A response body (JSON) made only from a [`Redacted`] value: what the edge writes.
#[derive(Debug)]
pub struct RedactedBody(Vec<u8>);

impl RedactedBody {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// `{"jsonrpc":"2.0","id":<id>,"<member>":<value>}`.
fn envelope(id: &Value, member: &str, value: &Inner) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    serde_json::to_writer(&mut out, id).expect("a JSON value serializes into memory");
    out.extend_from_slice(b",\"");
    out.extend_from_slice(member.as_bytes());
    out.extend_from_slice(b"\":");
    write_json(value, &mut out);
    out.push(b'}');
    out
}

fn write_json(value: &Inner, out: &mut Vec<u8>) {
    match value {
        Inner::Tree(value) => {
            serde_json::to_writer(out, value).expect("a JSON value serializes into memory");
        }
        Inner::Text(text) => out.extend_from_slice(text.get().as_bytes()),
        Inner::Rewritten(text) => out.extend_from_slice(text),
    }
}

/// Whether a pattern asserts nothing about the text around a match but word boundaries. A
/// word boundary holds at a string's ends exactly when it holds there inside a JSON text, as a
/// string's quotes, like the ends of a text, are not word characters.
fn context_free(hir: &regex_syntax::hir::Hir) -> bool {
    use regex_syntax::hir::Look;
    hir.properties().look_set().iter().all(|look| {
        !matches!(
            look,
            Look::Start | Look::End | Look::StartLF | Look::EndLF | Look::StartCRLF | Look::EndCRLF
        )
    })
}

/// Redactions per pattern index.
pub type Counts = Vec<u64>;

impl Redactor {
    pub fn new(rules: &[DlpRule]) -> Result<Self, DlpError> {
        let patterns = rules
            .iter()
            .map(|rule| Pattern::new(&rule.name, &rule.regex, &rule.replacement))
            .collect::<Result<Vec<_>, _>>()?;
        // The same syntax the regex crate parsed; a pattern it cannot analyze always runs.
        let hirs: Vec<_> = rules
            .iter()
            .map(|rule| {
                regex_syntax::ParserBuilder::new()
                    .nest_limit(NEST_LIMIT)
                    .build()
                    .parse(&rule.regex)
                    .ok()
            })
            .collect();
        let context_free = hirs
            .iter()
            .all(|hir| hir.as_ref().is_some_and(context_free));
        Ok(Self {
            prefilter: Prefilter::new(&hirs)?,
            patterns,
            context_free,
        })
    }

    /// Whether some pattern matches somewhere in `text`: the prefilter's candidates, each
    /// searched once over the whole text.
    fn matches_anywhere(&self, text: &str) -> bool {
        self.prefilter
            .candidates(text)
            .into_iter()
            .any(|index| self.patterns[index].is_match(text))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.patterns.iter().map(|p| p.name.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The text with every pattern replaced, or `None` when nothing matched.
    pub fn redact_str(&self, text: &str, counts: &mut Counts) -> Option<String> {
        if self.patterns.is_empty() {
            return None;
        }
        let mut current: Option<String> = None;
        for index in self.prefilter.candidates(text) {
            let input = current.as_deref().unwrap_or(text);
            if let Some((replaced, found)) = self.patterns[index].replace(input) {
                counts.resize(self.patterns.len(), 0);
                counts[index] += found;
                current = Some(replaced);
            }
        }
        current
    }

    /// `text` with every pattern replaced, uncounted: for the gateway's own messages and log
    /// fields, which repeat what the client sent (a tool name, a URI).
    pub fn scrub(&self, text: String) -> String {
        self.redact_str(&text, &mut Counts::new()).unwrap_or(text)
    }

    /// `value` with every string and key redacted, counted into `counts`: a tree walked, an
    /// upstream's text scanned (`text.rs`).
    pub fn redact(&self, value: impl Into<Json>, counts: &mut Counts) -> Redacted {
        match value.into() {
            Json::Tree(mut value) => {
                self.redact_json(&mut value, counts);
                Redacted(Inner::Tree(value))
            }
            Json::Text(text) => Redacted(self.redact_text(text, counts)),
        }
    }

    /// Redacts every string (and object key) of a JSON value in place.
    fn redact_json(&self, value: &mut Value, counts: &mut Counts) {
        if self.patterns.is_empty() {
            return;
        }
        match value {
            Value::String(s) => {
                if let Some(redacted) = self.redact_str(s, counts) {
                    *s = redacted;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v, counts)),
            Value::Object(map) => {
                map.values_mut().for_each(|v| self.redact_json(v, counts));
                let redacted_keys: Vec<Option<String>> =
                    map.keys().map(|key| self.redact_str(key, counts)).collect();
                if redacted_keys.iter().any(Option::is_some) {
                    // Rebuilt in order: removing and re-inserting would reorder the object.
                    *map = std::mem::take(map)
                        .into_iter()
                        .zip(redacted_keys)
                        .map(|((key, v), redacted)| (redacted.unwrap_or(key), v))
                        .collect();
                }
            }
            _ => {}
        }
    }

    /// (pattern name, count) for every pattern that redacted something.
    pub fn summarize<'a>(
        &'a self,
        counts: &'a Counts,
    ) -> impl Iterator<Item = (&'a str, u64)> + 'a {
        counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, c)| (self.patterns[i].name.as_str(), *c))
    }
}

/// Deterministic random texts for the property tests of this module (xorshift64).
#[cfg(test)]
struct RandomText(u64);

#[cfg(test)]
impl RandomText {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// `pieces` picks from `alphabet`, each followed, one time in five, by a prefix of `tail`.
    fn text(&mut self, alphabet: &[&str], pieces: usize, tail: &str) -> String {
        let mut text = String::new();
        for _ in 0..pieces {
            let n = self.next();
            text.push_str(alphabet[(n % alphabet.len() as u64) as usize]);
            if !tail.is_empty() && n.is_multiple_of(5) {
                text.push_str(&tail[..(n % (tail.len() as u64 + 1)) as usize]);
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn redactor() -> Redactor {
        Redactor::new(&[
            DlpRule {
                name: "aws-key".into(),
                regex: "AKIA[0-9A-Z]{16}".into(),
                replacement: "[redacted-aws-key]".into(),
            },
            DlpRule {
                name: "email".into(),
                regex: r"(?i)[a-z0-9._%+-]{1,64}@[a-z0-9.-]+\.[a-z]{2,}".into(),
                replacement: "[redacted-email]".into(),
            },
        ])
        .unwrap()
    }

    #[test]
    fn redacts_and_counts() {
        let r = redactor();
        let mut counts = Counts::new();
        assert_eq!(r.redact_str("nothing here", &mut counts), None);
        let text = r
            .redact_str(
                "key AKIAABCDEFGHIJKLMNOP and AKIAABCDEFGHIJKLMNOQ for bob@example.com",
                &mut counts,
            )
            .unwrap();
        assert_eq!(
            text,
            "key [redacted-aws-key] and [redacted-aws-key] for [redacted-email]"
        );
        assert_eq!(
            r.summarize(&counts).collect::<Vec<_>>(),
            vec![("aws-key", 2), ("email", 1)]
        );
    }

    #[test]
    fn redacts_json_deeply() {
        let r = redactor();
        let mut value = serde_json::json!({"content": [{"type": "text", "text": "mail bob@example.com"}], "bob@example.com": 1});
        let mut counts = Counts::new();
        r.redact_json(&mut value, &mut counts);
        assert_eq!(value["content"][0]["text"], "mail [redacted-email]");
        assert!(value.get("[redacted-email]").is_some());
        assert_eq!(counts.iter().sum::<u64>(), 2);
    }
}
