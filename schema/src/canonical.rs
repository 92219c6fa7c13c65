//! Canonical JSON and `sha256:` tags: the one writer behind every hash Airlock takes over JSON
//! (the frozen config's content hash, tool pins, the audit chain), so the three cannot drift
//! apart. Canonical means: object members sorted by their keys' UTF-8 bytes at every depth, no
//! whitespace, strings and numbers exactly as `serde_json` writes them. It is written straight
//! from the borrowed value (no sorted copy), because the gateway hashes on its request path.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// What becomes of an object member whose value is `null`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nulls {
    /// Written like any other member (the config hash, tool pins).
    Keep,
    /// Left out at every depth, so an absent field and a `null` one hash alike (the audit
    /// chain; array items are kept either way).
    Omit,
}

/// The canonical JSON of `value`.
pub fn to_string(value: &Value, nulls: Nulls) -> String {
    let mut out = Vec::with_capacity(512);
    write(value, nulls, &mut out);
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Appends the canonical JSON of `value` to `out`.
pub fn write(value: &Value, nulls: Nulls, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            write_object(map.iter().map(|(k, v)| (k.as_str(), v)), nulls, out);
        }
        Value::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write(item, nulls, out);
            }
            out.push(b']');
        }
        Value::String(text) => write_string(text, out),
        scalar => serde_json::to_writer(&mut *out, scalar).expect("JSON scalars serialize"),
    }
}

/// Appends the canonical JSON of an object made of `members`, given in any order (a caller
/// leaves out members that are not part of what it hashes). Keys must be distinct.
pub fn write_object<'a>(
    members: impl IntoIterator<Item = (&'a str, &'a Value)>,
    nulls: Nulls,
    out: &mut Vec<u8>,
) {
    let mut members: Vec<(&str, &Value)> = members
        .into_iter()
        .filter(|(_, v)| nulls == Nulls::Keep || !v.is_null())
        .collect();
    members.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    out.push(b'{');
    for (index, (key, member)) in members.into_iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        write_string(key, out);
        out.push(b':');
        write(member, nulls, out);
    }
    out.push(b'}');
}

/// Appends `text` as a JSON string, escaped exactly as `serde_json` escapes it. Most strings
/// need no escape (no quote, backslash or control character): those are copied whole, where
/// `serde_json` writes them in pieces through `io::Write`. The audit chain, the log line and
/// the config hash write several per request.
pub fn write_string(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    // No early exit: the whole fold compiles to a vector loop.
    let needs_escape = bytes.iter().fold(false, |found, &b| {
        found | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if needs_escape {
        serde_json::to_writer(&mut *out, text).expect("strings serialize");
    } else {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
    }
}

/// `sha256:<hex>` of some bytes, written into one string without the formatting machinery
/// (the gateway takes several per request).
pub fn sha256_tag(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut tag = [0u8; 71];
    tag[..7].copy_from_slice(b"sha256:");
    for (i, byte) in Sha256::digest(bytes).into_iter().enumerate() {
        tag[7 + 2 * i] = DIGITS[usize::from(byte >> 4)];
        tag[8 + 2 * i] = DIGITS[usize::from(byte & 0x0f)];
    }
    String::from_utf8(tag.to_vec()).expect("hex digits are ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    /// An independent formulation: a sorted copy of the tree, written by `serde_json`.
    fn reference(value: &Value, nulls: Nulls) -> String {
        fn sorted(value: &Value, nulls: Nulls) -> Value {
            match value {
                Value::Object(map) => {
                    let members: BTreeMap<&String, Value> = map
                        .iter()
                        .filter(|(_, v)| nulls == Nulls::Keep || !v.is_null())
                        .map(|(k, v)| (k, sorted(v, nulls)))
                        .collect();
                    Value::Object(members.into_iter().map(|(k, v)| (k.clone(), v)).collect())
                }
                Value::Array(items) => {
                    Value::Array(items.iter().map(|v| sorted(v, nulls)).collect())
                }
                other => other.clone(),
            }
        }
        serde_json::to_string(&sorted(value, nulls)).unwrap()
    }

    #[test]
    fn the_writer_agrees_with_a_sorted_copy_written_by_serde_json() {
        let values = [
            json!({"b": 1, "a": null, "hash": "x", "c": {"z": 1, "y": [null, {"q": null, "p": 2}]}}),
            json!({"é": 1, "e": 2, "E": 3, "\u{0}": "\u{7}\"\\\n\u{2028}\u{1F600}", "n": [1.5, -0.0, 18446744073709551615u64, -9223372036854775808i64]}),
            json!([{"b": true, "a": false}, null, "s", 0]),
            json!("plain"),
            json!({}),
        ];
        for value in &values {
            for nulls in [Nulls::Keep, Nulls::Omit] {
                assert_eq!(
                    to_string(value, nulls),
                    reference(value, nulls),
                    "{value} {nulls:?}"
                );
            }
        }
        assert_eq!(
            to_string(&json!({"b": null, "a": [null]}), Nulls::Omit),
            r#"{"a":[null]}"#
        );
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut texts: Vec<String> = (0u8..0x80).map(|b| char::from(b).to_string()).collect();
        texts.extend((0u8..0x80).map(|b| format!("before {} after", char::from(b))));
        texts.extend(
            [
                "",
                "plain",
                "é\u{7f}\u{80}\u{2028}\u{2029}",
                "😀 \"quoted\" \\ tab\t",
                "\u{0}",
            ]
            .map(String::from),
        );
        // Every two-character string over a mix of plain, escaped and multi-byte characters.
        let alphabet = [
            'a', '"', '\\', '\n', '\u{1f}', '\u{7f}', 'é', '€', '😀', '/',
        ];
        for x in alphabet {
            for y in alphabet {
                texts.push(format!("{x}{y}"));
            }
        }
        for text in texts {
            let mut ours = b"prefix".to_vec();
            write_string(&text, &mut ours);
            let theirs = format!("prefix{}", serde_json::to_string(&text).unwrap());
            assert_eq!(String::from_utf8(ours).unwrap(), theirs, "{text:?}");
        }
    }

    #[test]
    fn a_tag_is_the_hex_sha256() {
        assert_eq!(
            sha256_tag(b"abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
