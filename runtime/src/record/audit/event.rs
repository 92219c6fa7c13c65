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

    /// An event of `action` built with [`Event::next`], field by field in canonical order,
    /// its `time` included: each field is appended, none inserted (a request's event:
    /// `Exchange::into_audit_event`).
    pub fn ordered(action: &str) -> Self {
        let mut fields = Vec::with_capacity(28);
        fields.push((Cow::Borrowed("action"), action.into()));
        Self { fields }
    }

    /// Sets a field that sorts after every field so far, so that it is appended; `None` or
    /// an empty value is left out. Debug builds assert the order; a release build still
    /// places a field out of order where it belongs (`put`), only more slowly.
    pub fn next(mut self, name: &'static str, value: Option<impl Into<Value>>) -> Self {
        if let Some(value) = value.map(Into::into).filter(|value| !is_empty(value)) {
            debug_assert!(
                self.fields
                    .last()
                    .is_none_or(|(last, _)| last.as_bytes() < name.as_bytes()),
                "`{name}` is out of canonical order"
            );
            self.put(Cow::Borrowed(name), value);
        }
        self
    }

    /// Sets a field; an empty value (null, `""`, `{}`) is left out.
    pub fn set(mut self, name: &'static str, value: impl Into<Value>) -> Self {
        let value = value.into();
        if !is_empty(&value) {
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

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.fields
            .binary_search_by(|(field, _)| field.as_bytes().cmp(name.as_bytes()))
    }

    /// The canonical JSON of the event without its `hash` (`chain::canonical` of the same
    /// event as a JSON object, byte for byte).
    pub fn canonical(&self) -> String {
        let mut out = Vec::with_capacity(512);
        self.write_canonical(None, &mut out);
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }

    /// The event sealed as number `seq` of the chain, after `prev_hash`: its stored text is
    /// its canonical form with `seq` and `prev_hash` (written in their places, whatever the
    /// event held under those names), then its `hash`. The event is not changed, so a batch
    /// retried on another head is sealed again from the same fields, and the text is written
    /// in one pass with no field inserted into the event.
    pub fn seal(&self, seq: i64, prev_hash: &str) -> Sealed {
        let mut out = Vec::with_capacity(768);
        self.write_canonical(Some((seq, prev_hash)), &mut out);
        let hash = super::sha256_tag(&out);
        out.pop(); // the closing brace
        if out.len() > 1 {
            out.push(b',');
        }
        out.extend_from_slice(b"\"hash\":\"");
        out.extend_from_slice(hash.as_bytes());
        out.extend_from_slice(b"\"}");
        Sealed {
            text: String::from_utf8(out).expect("serde_json writes UTF-8"),
            hash,
        }
    }

    /// The canonical JSON of the fields, without `hash`; with a seal, the seal's `seq` and
    /// `prev_hash` in their places instead of the event's own.
    fn write_canonical(&self, seal: Option<(i64, &str)>, out: &mut Vec<u8>) {
        let (replaced, added): (&[&str], &[(&str, Part)]) = match &seal {
            Some((seq, prev_hash)) => (
                &["hash", "prev_hash", "seq"],
                &[
                    ("prev_hash", Part::Text(prev_hash)),
                    ("seq", Part::Number(*seq)),
                ],
            ),
            None => (&["hash"], &[]),
        };
        let mut added = added.iter().peekable();
        let mut members = Members::new(out);
        for (name, value) in &self.fields {
            if value.is_null() || replaced.contains(&name.as_ref()) {
                continue;
            }
            while let Some((seal_name, part)) =
                added.next_if(|(seal_name, _)| seal_name.as_bytes() < name.as_bytes())
            {
                members.write(seal_name, part);
            }
            members.write(name, &Part::Field(value));
        }
        for (seal_name, part) in added {
            members.write(seal_name, part);
        }
        members.end();
    }
}

/// A member's value: one of the event's fields, or a part of its seal.
enum Part<'v> {
    Field(&'v Value),
    Text(&'v str),
    Number(i64),
}

/// Whether a value is left out of an event: null, `""` or `{}`.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// A sealed event: its stored text and its hash.
#[derive(Debug)]
pub struct Sealed {
    pub text: String,
    pub hash: String,
}

/// Writes an object's members in the order given.
struct Members<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> Members<'o> {
    fn new(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, first: true }
    }

    fn write(&mut self, name: &str, value: &Part) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        canonical::write_string(name, self.out);
        self.out.push(b':');
        match value {
            Part::Field(value) => canonical::write(value, Nulls::Omit, self.out),
            Part::Text(text) => canonical::write_string(text, self.out),
            Part::Number(n) => {
                serde_json::to_writer(&mut *self.out, n).expect("integers serialize");
            }
        }
    }

    fn end(self) {
        self.out.push(b'}');
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
        let event = sample();
        let mut value = event.clone().into_value();
        let sealed = event.seal(7, chain::GENESIS);
        assert_eq!(sealed.text, chain::seal(&mut value, 7, chain::GENESIS));
        assert_eq!(value["hash"], sealed.hash.as_str());
        let stored: Value = serde_json::from_str(&sealed.text).unwrap();
        assert_eq!(chain::hash_of(&stored), sealed.hash);
        // The event is not changed: sealed again (a retried batch), it is sealed afresh.
        assert_eq!(event, sample());
        let again = event.seal(8, "sha256:ab");
        let stored: Value = serde_json::from_str(&again.text).unwrap();
        assert_eq!(chain::hash_of(&stored), again.hash);
        assert_eq!(
            (&stored["seq"], &stored["prev_hash"]),
            (&json!(8), &json!("sha256:ab"))
        );
    }

    #[test]
    fn an_event_that_holds_a_seal_is_sealed_anew() {
        // An event read back (a tool re-appending what it read) holds `seq`, `prev_hash` and
        // `hash`: the new seal replaces all three, as the chain's seal of the same object does.
        let stored: Value = serde_json::from_str(&sample().seal(3, chain::GENESIS).text).unwrap();
        let Value::Object(object) = stored.clone() else {
            unreachable!()
        };
        let event = Event::from_object(object);
        let mut value = stored;
        let sealed = event.seal(9, "sha256:cd");
        assert_eq!(sealed.text, chain::seal(&mut value, 9, "sha256:cd"));
        let text: Value = serde_json::from_str(&sealed.text).unwrap();
        assert_eq!(text, value);
        // Fields named around the seal's keep their order.
        let around = Event::new("x")
            .set("prev", 1)
            .set("prev_hash_not", 2)
            .set("sep", 3)
            .set("seq0", 4);
        let mut value = around.clone().into_value();
        assert_eq!(
            around.seal(1, chain::GENESIS).text,
            chain::seal(&mut value, 1, chain::GENESIS)
        );
    }
}
