//! DLP over the JSON text an upstream answered, without parsing it into a tree. One pass finds
//! every string token (object keys too) of the text, which serde_json already validated; a
//! string without escapes is searched where it lies, one with escapes is decoded first, and
//! only a string with something to redact is written again. A text with nothing to redact is
//! forwarded as it came. What the client reads is what redacting the same value as a tree
//! gives (`tests` compare the two on random documents): the same strings redacted, counted the
//! same way.
//!
//! Most answers are clean, so the whole text is searched first: with patterns that do not
//! depend on where a string lies (`Redactor::context_free`), a string without escapes lies in
//! the text as it reads, and a text in which no pattern matches has no such string to redact.
//! Then only the strings with escapes are decoded and searched, one by one. A match found in
//! the whole text but in no string (across two strings, in JSON syntax) only costs the
//! string-by-string search.
//!
//! A string whose escapes do not make Unicode (a lone surrogate, which JSON's grammar allows)
//! is written again from its lossy decoding, so what leaves the gateway is always Unicode.

use super::{Counts, Inner, Redactor};
use serde::de::{Deserializer, Error, Visitor};
use serde_json::value::RawValue;

impl Redactor {
    /// `raw` with every string and key redacted, counted into `counts`.
    pub(super) fn redact_text(&self, raw: Box<RawValue>, counts: &mut Counts) -> Inner {
        if self.patterns.is_empty() {
            return Inner::Text(raw);
        }
        let text = raw.get();
        let bytes = text.as_bytes();
        let plain_strings_clean = self.context_free && !self.matches_anywhere(text);
        if plain_strings_clean && memchr::memchr(b'\\', bytes).is_none() {
            return Inner::Text(raw);
        }
        let mut rewritten: Option<Vec<u8>> = None;
        let mut copied = 0;
        let mut at = 0;
        while let Some(offset) = memchr::memchr(b'"', &bytes[at..]) {
            let open = at + offset;
            let close = closing_quote(bytes, open + 1);
            let inner = &text[open + 1..close];
            let replacement = if memchr::memchr(b'\\', inner.as_bytes()).is_some() {
                match decode(&text[open..=close]) {
                    Decoded::Unicode(decoded) => self.redact_str(&decoded, counts),
                    Decoded::Lossy(decoded) => {
                        Some(self.redact_str(&decoded, counts).unwrap_or(decoded))
                    }
                }
            } else if plain_strings_clean {
                None
            } else {
                self.redact_str(inner, counts)
            };
            if let Some(replacement) = replacement {
                let out = rewritten.get_or_insert_with(|| Vec::with_capacity(text.len() + 64));
                out.extend_from_slice(&bytes[copied..open]);
                serde_json::to_writer(&mut *out, &replacement).expect("a string serializes");
                copied = close + 1;
            }
            at = close + 1;
        }
        match rewritten {
            None => Inner::Text(raw),
            // JSON still: only whole string tokens were replaced, by JSON strings.
            Some(mut out) => {
                out.extend_from_slice(&bytes[copied..]);
                Inner::Rewritten(out)
            }
        }
    }
}

/// The index of the quote that closes the string whose contents start at `from`, in JSON text
/// serde_json validated (so there is one).
fn closing_quote(bytes: &[u8], mut from: usize) -> usize {
    loop {
        let found = from
            + memchr::memchr2(b'"', b'\\', &bytes[from..])
                .expect("validated JSON closes every string");
        if bytes[found] == b'"' {
            return found;
        }
        from = found + 2;
    }
}

enum Decoded {
    Unicode(String),
    /// Escapes that are not Unicode, replaced by U+FFFD.
    Lossy(String),
}

/// Decodes one string token (quotes included) that has escapes.
fn decode(token: &str) -> Decoded {
    if let Ok(decoded) = serde_json::from_str::<String>(token) {
        return Decoded::Unicode(decoded);
    }
    // serde_json writes lone surrogates as WTF-8 when it decodes into bytes.
    let bytes = serde_json::Deserializer::from_str(token)
        .deserialize_bytes(BytesVisitor)
        .unwrap_or_default();
    Decoded::Lossy(String::from_utf8_lossy(&bytes).into_owned())
}

struct BytesVisitor;

impl Visitor<'_> for BytesVisitor {
    type Value = Vec<u8>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON string")
    }
    fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }
    fn visit_borrowed_bytes<E: Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }
    fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::super::RandomText;
    use super::super::tests::redactor;
    use super::*;
    use serde_json::{Value, json};

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_string()).unwrap()
    }

    /// The text a redaction gives, checked to be JSON.
    fn text_of(redacted: Inner) -> String {
        let text = match redacted {
            Inner::Text(text) => text.get().to_string(),
            Inner::Rewritten(text) => String::from_utf8(text).expect("redacted text is UTF-8"),
            Inner::Tree(_) => unreachable!("text stays text"),
        };
        serde_json::from_str::<serde::de::IgnoredAny>(&text).expect("redacted text is JSON");
        text
    }

    /// The text path and the tree path on the same document: the same value, the same counts.
    fn agree(text: &str) {
        agree_with(&redactor(), text);
    }

    fn agree_with(r: &Redactor, text: &str) {
        let (mut by_text, mut by_tree) = (Counts::new(), Counts::new());
        let redacted = text_of(r.redact_text(raw(text), &mut by_text));
        let tree = r
            .redact(serde_json::from_str::<Value>(text).unwrap(), &mut by_tree)
            .into_tree();
        let read: Value = serde_json::from_str(&redacted).unwrap();
        assert_eq!(read, tree, "{text}");
        by_text.resize(r.patterns.len(), 0);
        by_tree.resize(r.patterns.len(), 0);
        assert_eq!(by_text, by_tree, "{text}");
    }

    #[test]
    fn strings_and_keys_are_redacted_where_they_lie() {
        let r = redactor();
        let text = r#"{"content": [{"type": "text", "text": "mail bob@example.com"}], "bob@example.com": 1, "n": -1.5e3}"#;
        let mut counts = Counts::new();
        let redacted = text_of(r.redact_text(raw(text), &mut counts));
        assert_eq!(
            redacted,
            r#"{"content": [{"type": "text", "text": "mail [redacted-email]"}], "[redacted-email]": 1, "n": -1.5e3}"#
        );
        assert_eq!(counts.iter().sum::<u64>(), 2);
        agree(text);
    }

    #[test]
    fn clean_text_is_forwarded_as_it_came() {
        let r = redactor();
        let text = "{ \"a\" : [1, 2.50, \"caf\\u00e9\", null, true],\n \"b\": {} }";
        let redacted = r.redact_text(raw(text), &mut Counts::new());
        assert!(matches!(&redacted, Inner::Text(_)), "forwarded as it came");
        assert_eq!(text_of(redacted), text);
    }

    #[test]
    fn secrets_hidden_behind_escapes_are_found() {
        for text in [
            r#"{"k": "\u0041KIAABCDEFGHIJKLMNOP"}"#,
            r#"{"k": "bob\u0040example.com"}"#,
            r#"["quote \" then bob@example.com \\ and \n AKIAABCDEFGHIJKLMNOP"]"#,
            r#"{"\u0062ob@example.com": "x", "esc\\aped\"key": "AKIAABCDEFGHIJKLMNOP"}"#,
            r#""only a string: bob@example.com""#,
        ] {
            agree(text);
            let redacted = text_of(redactor().redact_text(raw(text), &mut Counts::new()));
            assert!(
                !redacted.contains("example.com") && !redacted.contains("BCDEFGH"),
                "{text} -> {redacted}"
            );
        }
    }

    fn with_rule(name: &str, regex: &str) -> Redactor {
        Redactor::new(&[airlock_schema::runtime::DlpRule {
            name: name.into(),
            regex: regex.into(),
            replacement: format!("[redacted-{name}]"),
        }])
        .unwrap()
    }

    #[test]
    fn an_anchored_pattern_is_searched_string_by_string() {
        let r = with_rule("whole", "^secret$");
        assert!(!r.context_free);
        let text = r#"{"a": "secret", "b": "a secret", "secret": ["secret"]}"#;
        let mut counts = Counts::new();
        let redacted = text_of(r.redact_text(raw(text), &mut counts));
        assert_eq!(
            redacted,
            r#"{"a": "[redacted-whole]", "b": "a secret", "[redacted-whole]": ["[redacted-whole]"]}"#
        );
        assert_eq!(counts, [3]);
        agree_with(&r, text);
    }

    #[test]
    fn word_boundaries_see_a_strings_quotes_as_its_ends() {
        let r = with_rule("word", r"\bkey\b|\Bx\B");
        assert!(r.context_free);
        for text in [
            r#"["key", "akey", "key_", "-key-", "axa", "x"]"#,
            r#"{"key":"x"}"#,
        ] {
            agree_with(&r, text);
        }
        let redacted = text_of(r.redact_text(raw(r#"["key","akey","axa"]"#), &mut Counts::new()));
        assert_eq!(
            redacted,
            r#"["[redacted-word]","akey","a[redacted-word]a"]"#
        );
    }

    #[test]
    fn a_match_across_strings_redacts_nothing() {
        // The whole text matches (`x","y`), no string does: forwarded as it came.
        let r = with_rule("span", "x...y");
        let text = r#"["x","y"]"#;
        let mut counts = Counts::new();
        let redacted = r.redact_text(raw(text), &mut counts);
        assert!(matches!(&redacted, Inner::Text(_)));
        assert!(counts.iter().all(|&n| n == 0));
        agree_with(&r, text);
    }

    #[test]
    fn a_lone_surrogate_is_written_again_as_unicode() {
        let r = redactor();
        let text = r#"{"a": "x\ud800y", "b": "bob@example.com\udc00"}"#;
        let redacted = text_of(r.redact_text(raw(text), &mut Counts::new()));
        let read: Value = serde_json::from_str(&redacted).unwrap();
        // Each byte of the surrogate's WTF-8 form becomes one U+FFFD.
        let unknown = "\u{fffd}".repeat(3);
        assert_eq!(
            read,
            json!({"a": format!("x{unknown}y"), "b": format!("[redacted-email]{unknown}")})
        );
    }

    /// Random documents: nested objects and arrays whose strings and keys mix plain text,
    /// escapes, non-ASCII and secrets, written compact and pretty.
    #[test]
    fn the_text_path_agrees_with_the_tree_path_on_random_documents() {
        let mut random = RandomText(0x5eed_1234_abcd_0001);
        let alphabet = [
            "a",
            " ",
            "\"",
            "\\",
            "\n",
            "é",
            "日本",
            "bob@example.com",
            "AKIA",
            "ABCDEFGHIJKLMNOP",
            "Bearer ",
            "abcdefghijklmnopqrstu",
            "\u{1f600}",
            "/",
            "\t",
        ];
        // Context-free patterns (the whole text searched first), and an anchored one.
        let redactors = [redactor(), with_rule("whole", r"(?i)^bob@example\.com$")];
        for _ in 0..300 {
            let document = random_value(&mut random, &alphabet, 0);
            for r in &redactors {
                agree_with(r, &serde_json::to_string(&document).unwrap());
                agree_with(r, &serde_json::to_string_pretty(&document).unwrap());
            }
        }
    }

    fn random_value(random: &mut RandomText, alphabet: &[&str], depth: u32) -> Value {
        let n = random.next();
        let string = |random: &mut RandomText| random.text(alphabet, (n % 6) as usize, "");
        match (n >> 8) % if depth > 3 { 3 } else { 5 } {
            0 => Value::String(string(random)),
            1 => json!(n % 1000),
            2 => json!(null),
            3 => Value::Array(
                (0..n % 4)
                    .map(|_| random_value(random, alphabet, depth + 1))
                    .collect(),
            ),
            _ => Value::Object(
                (0..n % 4)
                    .map(|i| {
                        (
                            format!("{}{i}", string(random)),
                            random_value(random, alphabet, depth + 1),
                        )
                    })
                    .collect(),
            ),
        }
    }
}
