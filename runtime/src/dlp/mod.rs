//! DLP redaction. Every pattern is compiled once; a `RegexSet` finds which patterns occur, so
//! clean text costs one pass, and only matching patterns run their replacement. Redactions are
//! counted per pattern. Applied to every string of a JSON value (tool results, resource
//! contents) and to request arguments before they are logged or audited.

use airlock_schema::runtime::DlpRule;
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde_json::Value;

/// The compile limits, the same `airlockc` lints with.
const SIZE_LIMIT: usize = 1 << 20;
const DFA_SIZE_LIMIT: usize = 2 << 20;
const NEST_LIMIT: u32 = 32;

pub struct Redactor {
    set: Option<RegexSet>,
    rules: Vec<(String, Regex, String)>,
}

/// Redactions per pattern index.
pub type Counts = Vec<u64>;

impl Redactor {
    pub fn new(rules: &[DlpRule]) -> Result<Self, String> {
        let mut compiled = Vec::new();
        for rule in rules {
            let regex = RegexBuilder::new(&rule.regex)
                .size_limit(SIZE_LIMIT)
                .dfa_size_limit(DFA_SIZE_LIMIT)
                .nest_limit(NEST_LIMIT)
                .build()
                .map_err(|e| format!("DLP pattern {}: {e}", rule.name))?;
            compiled.push((rule.name.clone(), regex, rule.replacement.clone()));
        }
        let set = if rules.is_empty() {
            None
        } else {
            Some(
                RegexSetBuilder::new(rules.iter().map(|r| &r.regex))
                    .size_limit(SIZE_LIMIT * rules.len().max(1))
                    .dfa_size_limit(DFA_SIZE_LIMIT * 4)
                    .nest_limit(NEST_LIMIT)
                    .build()
                    .map_err(|e| format!("DLP patterns: {e}"))?,
            )
        };
        Ok(Self {
            set,
            rules: compiled,
        })
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|(n, _, _)| n.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The text with every pattern replaced, or `None` when nothing matched.
    pub fn redact_str(&self, text: &str, counts: &mut Counts) -> Option<String> {
        let set = self.set.as_ref()?;
        let matched = set.matches(text);
        if !matched.matched_any() {
            return None;
        }
        counts.resize(self.rules.len(), 0);
        let mut current = text.to_string();
        for index in matched.iter() {
            let (_, regex, replacement) = &self.rules[index];
            let found = regex.find_iter(&current).count() as u64;
            if found > 0 {
                counts[index] += found;
                current = regex
                    .replace_all(&current, replacement.as_str())
                    .into_owned();
            }
        }
        Some(current)
    }

    /// Redacts every string (and object key) of a JSON value in place.
    pub fn redact_json(&self, value: &mut Value, counts: &mut Counts) {
        if self.set.is_none() {
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
                let keys: Vec<String> = map.keys().cloned().collect();
                for key in keys {
                    let mut entry = map.remove(&key).unwrap_or(Value::Null);
                    self.redact_json(&mut entry, counts);
                    let key = self.redact_str(&key, counts).unwrap_or(key);
                    map.insert(key, entry);
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
            .map(|(i, c)| (self.rules[i].0.as_str(), *c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
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
