//! [`Event`]: an audit event as it is built, queued, sealed and stored. It is kept as the text
//! it is stored as: its members, `"name":value`, written in the chain's canonical order (sorted
//! by the bytes of their names) as they are set, with where each one is. A request's event is
//! written member by member as its fields are known (`Event::next`), with no tree of values
//! and no string per field; sealing copies the text with `prev_hash` and `seq` in their places
//! and hashes the same bytes it stores, so nothing is serialized twice. The store reads its
//! indexed columns by name from the same text. An event never holds a token or a payload (the
//! body only as its digest: `record::exchange`).

use airlock_schema::canonical::{self, Nulls};
use serde_json::{Map, Value};
use std::borrow::Cow;

type Name = Cow<'static, str>;

/// One audit event: named members in canonical order, without null or empty members.
#[derive(Clone, Default, PartialEq)]
pub struct Event {
    /// The members, joined by commas, without the braces: canonical JSON bytes.
    text: Vec<u8>,
    /// Where each member is in `text`, in the same (canonical) order.
    members: Vec<Member>,
}

#[derive(Clone, Debug, PartialEq)]
struct Member {
    name: Name,
    /// The member, `"name":value`, is `text[start..end]`; its value starts at `value`.
    start: usize,
    value: usize,
    end: usize,
}

/// A value written straight into an event's text (`Event::next`).
pub trait Field {
    /// Left out of the event: an empty string, a number that is not finite.
    fn is_empty(&self) -> bool;
    /// Appends the value's canonical JSON.
    fn write(&self, out: &mut Vec<u8>);
}

impl Field for &str {
    fn is_empty(&self) -> bool {
        str::is_empty(self)
    }
    fn write(&self, out: &mut Vec<u8>) {
        canonical::write_string(self, out);
    }
}

impl Field for String {
    fn is_empty(&self) -> bool {
        String::is_empty(self)
    }
    fn write(&self, out: &mut Vec<u8>) {
        canonical::write_string(self, out);
    }
}

macro_rules! integer_field {
    ($($t:ty),*) => {$(
        impl Field for $t {
            fn is_empty(&self) -> bool {
                false
            }
            fn write(&self, out: &mut Vec<u8>) {
                serde_json::to_writer(out, self).expect("integers serialize");
            }
        }
    )*};
}
integer_field!(u16, u64, i64);

impl Field for f64 {
    /// `Value::from` makes a null of a non-finite number, and nulls are left out.
    fn is_empty(&self) -> bool {
        !self.is_finite()
    }
    fn write(&self, out: &mut Vec<u8>) {
        serde_json::to_writer(out, self).expect("finite numbers serialize");
    }
}

impl Field for Value {
    fn is_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Object(o) => o.is_empty(),
            _ => false,
        }
    }
    fn write(&self, out: &mut Vec<u8>) {
        canonical::write(self, Nulls::Omit, out);
    }
}

/// Room for a request's event and its seal, so building one never reallocates.
const TEXT_CAPACITY: usize = 768;
const MEMBERS_CAPACITY: usize = 24;

impl Event {
    /// An event of `action`, stamped with the current time.
    pub fn new(action: &str) -> Self {
        Self::ordered(action).set("time", super::timestamp())
    }

    /// An event of `action` built with [`Event::next`], field by field in canonical order,
    /// its `time` included: each member is appended, none inserted (a request's event:
    /// `Exchange::into_audit_event`).
    pub fn ordered(action: &str) -> Self {
        let mut event = Self {
            text: Vec::with_capacity(TEXT_CAPACITY),
            members: Vec::with_capacity(MEMBERS_CAPACITY),
        };
        event.append(Cow::Borrowed("action"), &action);
        event
    }

    /// Sets a field that sorts after every field so far, so that it is appended; `None` or
    /// an empty value is left out. Debug builds assert the order; a release build still
    /// places a field out of order where it belongs (`put`), only more slowly.
    pub fn next(mut self, name: &'static str, value: Option<impl Field>) -> Self {
        if let Some(value) = value.filter(|value| !value.is_empty()) {
            let in_order = self
                .members
                .last()
                .is_none_or(|member| member.name.as_bytes() < name.as_bytes());
            debug_assert!(in_order, "`{name}` is out of canonical order");
            if in_order {
                self.append(Cow::Borrowed(name), &value);
            } else {
                self.put(Cow::Borrowed(name), &value);
            }
        }
        self
    }

    /// Sets a field; an empty value (null, `""`, `{}`) is left out.
    pub fn set(mut self, name: &'static str, value: impl Into<Value>) -> Self {
        let value = value.into();
        if !Field::is_empty(&value) {
            self.put(Cow::Borrowed(name), &value);
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
                event.put(Cow::Owned(name), &value);
            }
        }
        event
    }

    /// The value of a member, read back from the text.
    pub fn get(&self, name: &str) -> Option<Value> {
        let member = &self.members[self.position(name).ok()?];
        serde_json::from_slice(&self.text[member.value..member.end]).ok()
    }

    /// The value of a string member; borrowed from the text unless it holds an escape.
    pub fn text(&self, name: &str) -> Option<Cow<'_, str>> {
        let member = &self.members[self.position(name).ok()?];
        let json = &self.text[member.value..member.end];
        let inner = json.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
        if inner.contains(&b'\\') {
            serde_json::from_slice::<String>(json).ok().map(Cow::Owned)
        } else {
            std::str::from_utf8(inner).ok().map(Cow::Borrowed)
        }
    }

    pub fn into_value(self) -> Value {
        let mut object = Vec::with_capacity(self.text.len() + 2);
        object.push(b'{');
        object.extend_from_slice(&self.text);
        object.push(b'}');
        serde_json::from_slice(&object).expect("an event's text is a JSON object")
    }

    /// Appends a member that sorts after every member so far.
    fn append(&mut self, name: Name, value: &dyn Field) {
        if !self.members.is_empty() {
            self.text.push(b',');
        }
        let start = self.text.len();
        let value_at = start + write_member(&name, value, &mut self.text);
        self.members.push(Member {
            name,
            start,
            value: value_at,
            end: self.text.len(),
        });
    }

    /// Sets (or replaces) a member, keeping the canonical order.
    fn put(&mut self, name: Name, value: &dyn Field) {
        let at = match self.position(&name) {
            Ok(i) => i,
            Err(i) if i == self.members.len() => return self.append(name, value),
            Err(i) => {
                // Written before the member now at `i`, followed by a comma.
                let mut written = Vec::with_capacity(64);
                let value_offset = write_member(&name, value, &mut written);
                let end = written.len();
                written.push(b',');
                let start = self.members[i].start;
                self.splice(i, start..start, &written);
                self.members.insert(
                    i,
                    Member {
                        name,
                        start,
                        value: start + value_offset,
                        end: start + end,
                    },
                );
                return;
            }
        };
        let mut written = Vec::with_capacity(64);
        value.write(&mut written);
        let Member {
            value: from, end, ..
        } = self.members[at];
        self.splice(at + 1, from..end, &written);
        self.members[at].end = from + written.len();
    }

    /// Replaces `text[range]` with `with`, moving the members from `first_after` on.
    fn splice(&mut self, first_after: usize, range: std::ops::Range<usize>, with: &[u8]) {
        let removed = range.len();
        self.text.splice(range, with.iter().copied());
        for member in &mut self.members[first_after..] {
            for offset in [&mut member.start, &mut member.value, &mut member.end] {
                *offset = *offset + with.len() - removed;
            }
        }
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.members
            .binary_search_by(|member| member.name.as_bytes().cmp(name.as_bytes()))
    }

    /// The canonical JSON of the event without its `hash` (`chain::canonical` of the same
    /// event as a JSON object, byte for byte).
    pub fn canonical(&self) -> String {
        let mut out = Vec::with_capacity(self.text.len() + 2);
        self.write_canonical(None, &mut out);
        String::from_utf8(out).expect("an event's text is UTF-8")
    }

    /// The event sealed as number `seq` of the chain, after `prev_hash`: its stored text is
    /// its canonical form with `seq` and `prev_hash` (written in their places, whatever the
    /// event held under those names), then its `hash`, which is the SHA-256 of the same bytes
    /// without it. The event is not changed, so a batch retried on another head is sealed
    /// again from the same text.
    pub fn seal(&self, seq: i64, prev_hash: &str) -> Sealed {
        let mut out = Vec::with_capacity(self.text.len() + 256);
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
            text: String::from_utf8(out).expect("an event's text is UTF-8"),
            hash,
        }
    }

    /// The canonical JSON of the members, without `hash`; with a seal, the seal's `seq` and
    /// `prev_hash` in their places instead of the event's own. Runs of members are copied
    /// whole: a request's event is three copies and the seal's two members.
    fn write_canonical(&self, seal: Option<(i64, &str)>, out: &mut Vec<u8>) {
        let (replaced, added): (&[&str], &[(&str, &dyn Field)]) = match &seal {
            Some((seq, prev_hash)) => (
                &["hash", "prev_hash", "seq"],
                &[("prev_hash", prev_hash), ("seq", seq)],
            ),
            None => (&["hash"], &[]),
        };
        let mut added = added.iter().peekable();
        out.push(b'{');
        let mut first = true;
        let mut separate = |out: &mut Vec<u8>| {
            if !std::mem::take(&mut first) {
                out.push(b',');
            }
        };
        // The run of members not yet copied: `text[run..end of the last member seen]`.
        let mut run: Option<(usize, usize)> = None;
        for member in &self.members {
            let seal_first = added
                .peek()
                .is_some_and(|(name, _)| name.as_bytes() < member.name.as_bytes());
            if (seal_first || replaced.contains(&member.name.as_ref()))
                && let Some((start, end)) = run.take()
            {
                separate(out);
                out.extend_from_slice(&self.text[start..end]);
            }
            while let Some((name, value)) =
                added.next_if(|(name, _)| name.as_bytes() < member.name.as_bytes())
            {
                separate(out);
                write_member(name, *value, out);
            }
            if replaced.contains(&member.name.as_ref()) {
                continue;
            }
            run = Some((run.map_or(member.start, |(start, _)| start), member.end));
        }
        if let Some((start, end)) = run {
            separate(out);
            out.extend_from_slice(&self.text[start..end]);
        }
        for (name, value) in added {
            separate(out);
            write_member(name, *value, out);
        }
        out.push(b'}');
    }
}

/// Appends the member `"name":value`; returns where its value starts, from where it began.
fn write_member(name: &str, value: &dyn Field, out: &mut Vec<u8>) -> usize {
    let start = out.len();
    canonical::write_string(name, out);
    out.push(b':');
    let value_at = out.len() - start;
    value.write(out);
    value_at
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Event({{{}}})", String::from_utf8_lossy(&self.text))
    }
}

/// A sealed event: its stored text and its hash.
#[derive(Debug)]
pub struct Sealed {
    pub text: String,
    pub hash: String,
}

#[cfg(test)]
mod tests {
    use super::super::chain;
    use super::*;
    use serde_json::json;

    fn sample() -> Event {
        // A fixed time: `Event::new` stamps the clock, and two samples must be equal.
        Event::new("tools/call")
            .set("time", "2026-12-07T00:00:00.000Z")
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
        assert_eq!(event.text("tool").as_deref(), Some("fetch"));
        assert!(event.get("reason").is_none() && event.get("resource").is_none());
        // Every member is still where the event says, after the replacements and insertions.
        let value = event.clone().into_value();
        for (name, member) in value.as_object().unwrap() {
            assert_eq!(event.get(name).as_ref(), Some(member), "{name}");
        }
        assert_eq!(value["tool"], "fetch");
        assert_eq!(value["data"], json!({"z": 1, "a": [true, {"b": "é\"\n"}]}));
    }

    #[test]
    fn a_text_is_read_back_as_it_was_set_escapes_included() {
        let event = Event::new("x")
            .set("plain", "abc")
            .set("escaped", "a\"b\\c\n\u{1}é");
        assert!(matches!(event.text("plain"), Some(Cow::Borrowed("abc"))));
        assert_eq!(event.text("escaped").as_deref(), Some("a\"b\\c\n\u{1}é"));
        assert_eq!(event.text("missing"), None);
        assert_eq!(Event::new("x").set("n", 3).text("n"), None, "not a string");
    }

    #[test]
    fn a_request_event_built_in_order_is_the_event_set_in_any_order() {
        let ordered = Event::ordered("tools/call")
            .next("client_ip", Some("127.0.0.1"))
            .next("decision", None::<&str>)
            .next("latency_ms", Some(1.5))
            .next("nan", Some(f64::NAN))
            .next("outcome", Some(String::new()))
            .next("redactions", Some(0u64))
            .next("status", Some(200u16))
            .next("time", Some("2026-12-07T00:00:00.000Z".to_string()));
        let set = Event::ordered("tools/call")
            .set("time", "2026-12-07T00:00:00.000Z")
            .set("status", 200)
            .set("latency_ms", 1.5)
            .set("redactions", 0)
            .set("client_ip", "127.0.0.1");
        assert_eq!(ordered.canonical(), set.canonical());
        assert_eq!(
            ordered.seal(4, "sha256:x").text,
            set.seal(4, "sha256:x").text
        );
        assert_eq!(
            ordered.canonical(),
            r#"{"action":"tools/call","client_ip":"127.0.0.1","latency_ms":1.5,"redactions":0,"status":200,"time":"2026-12-07T00:00:00.000Z"}"#
        );
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
