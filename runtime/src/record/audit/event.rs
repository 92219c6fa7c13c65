//! [`Event`]: an audit event as it is built, queued, sealed and stored. Its fields are kept in
//! the chain's canonical order (sorted by the bytes of their names), so sealing writes the
//! canonical form in one pass, with no map to hash into and no sort per event; the store reads
//! its indexed columns by name from the same fields. An event never holds a token or a payload
//! (the body only as its digest: `record::exchange`).

use airlock_schema::canonical::{self, Nulls};
use serde_json::{Map, Value};
use std::borrow::Cow;

type Name = Cow<'static, str>;

/// One audit event: named fields in canonical order, without null members.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Event {
    fields: Vec<(Name, Value)>,
}

impl Event {
    /// An event of `action`, stamped with the current time.
    pub fn new(action: &str) -> Self {
        // Room for a request's fields and the seal, so building one never reallocates.
        let event = Self {
            fields: Vec::with_capacity(28),
        };
        event.set("action", action).set("time", super::timestamp())
    }

    /// Sets a field; an empty value (null, `""`, `{}`) is left out.
    pub fn set(mut self, name: &'static str, value: impl Into<Value>) -> Self {
        let value = value.into();
        let empty = match &value {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Object(o) => o.is_empty(),
            _ => false,
        };
        if !empty {
            self.put(Cow::Borrowed(name), value);
        }
        self
    }

    pub fn maybe(self, name: &'static str, value: Option<impl Into<Value>>) -> Self {
        match value {
            Some(v) => self.set(name, v),
            None => self,
        }
    }

    /// An event read back as JSON (tests, tools that re-append what they read): every member
    /// but the nulls.
    pub fn from_object(object: Map<String, Value>) -> Self {
        let mut event = Self::default();
        for (name, value) in object {
            if !value.is_null() {
                event.put(Cow::Owned(name), value);
            }
        }
        event
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.position(name).ok().map(|i| &self.fields[i].1)
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    pub fn into_value(self) -> Value {
        Value::Object(
            self.fields
                .into_iter()
                .map(|(name, value)| (name.into_owned(), value))
                .collect(),
        )
    }

    /// Sets (or replaces) a field, keeping the canonical order.
    pub(super) fn put(&mut self, name: Name, value: Value) {
        // Built in canonical order (`Exchange::into_audit_event`), a field goes at the end.
        if self
            .fields
            .last()
            .is_none_or(|(last, _)| last.as_bytes() < name.as_bytes())
        {
            self.fields.push((name, value));
            return;
        }
        match self.position(&name) {
            Ok(i) => self.fields[i].1 = value,
            Err(i) => self.fields.insert(i, (name, value)),
        }
    }

    fn remove(&mut self, name: &str) {
        if let Ok(i) = self.position(name) {
            self.fields.remove(i);
        }
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.fields
            .binary_search_by(|(field, _)| field.as_bytes().cmp(name.as_bytes()))
    }

    /// The canonical JSON of the event without its `hash` (`chain::canonical` of the same
    /// event as a JSON object, byte for byte).
    pub fn canonical(&self) -> String {
        let mut out = Vec::with_capacity(512);
        out.push(b'{');
        let mut first = true;
        for (name, value) in &self.fields {
            if name == "hash" || value.is_null() {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            canonical::write_string(name, &mut out);
            out.push(b':');
            canonical::write(value, Nulls::Omit, &mut out);
        }
        out.push(b'}');
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }

    /// Seals the event: sets `seq`, `prev_hash` and `hash`. Returns its stored text: the
    /// canonical form with the hash added (the event is serialized once).
    pub fn seal(&mut self, seq: i64, prev_hash: &str) -> String {
        self.put(Cow::Borrowed("seq"), seq.into());
        self.put(Cow::Borrowed("prev_hash"), prev_hash.into());
        self.remove("hash");
        let mut text = self.canonical();
        let hash = super::sha256_tag(text.as_bytes());
        text.pop(); // the closing brace
        if text.len() > 1 {
            text.push(',');
        }
        text.push_str("\"hash\":\"");
        text.push_str(&hash);
        text.push_str("\"}");
        self.put(Cow::Borrowed("hash"), hash.into());
        text
    }
}

#[cfg(test)]
mod tests {
    use super::super::chain;
    use super::*;
    use serde_json::json;

    fn sample() -> Event {
        Event::new("tools/call")
            .set("subject", "alice")
            .set("tool", "search")
            .set("status", 200)
            .set("latency_ms", 1.25)
            .set("reason", "")
            .maybe("resource", None::<String>)
            .set(
                "data",
                json!({"z": 1, "a": [true, {"y": null, "b": "é\"\n"}]}),
            )
            .set("zeta", "last")
            .set("Upper", "sorts first")
    }

    #[test]
    fn empty_fields_are_left_out_and_later_values_replace_earlier_ones() {
        let event = sample().set("tool", "fetch");
        assert_eq!(event.text("tool"), Some("fetch"));
        assert!(event.get("reason").is_none() && event.get("resource").is_none());
    }

    #[test]
    fn the_canonical_form_is_the_chains_canonical_form_of_the_same_object() {
        let event = sample();
        assert_eq!(
            event.canonical(),
            chain::canonical(&event.clone().into_value())
        );
        let read_back = Event::from_object(match event.clone().into_value() {
            Value::Object(map) => map,
            _ => unreachable!(),
        });
        assert_eq!(read_back.canonical(), event.canonical());
    }

    #[test]
    fn sealing_matches_the_chains_seal_and_verifies() {
        let mut event = sample();
        let mut value = event.clone().into_value();
        let text = event.seal(7, chain::GENESIS);
        assert_eq!(text, chain::seal(&mut value, 7, chain::GENESIS));
        assert_eq!(event.clone().into_value(), value);
        let stored: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(chain::hash_of(&stored), event.text("hash").unwrap());
        // Sealed again (a retried batch), the old hash is not part of the new one.
        let again = event.seal(8, "sha256:ab");
        let stored: Value = serde_json::from_str(&again).unwrap();
        assert_eq!(chain::hash_of(&stored), event.text("hash").unwrap());
        assert_eq!(stored["seq"], 8);
    }
}
