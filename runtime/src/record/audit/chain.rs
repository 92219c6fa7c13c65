//! The hash chain, pure: the canonical form of an event, its hash, and verification of a
//! sequence of stored events. Algorithm (also in `docs/audit.md`):
//!
//! - canonical form: the event as a JSON object without its `hash` field, keys sorted by their
//!   UTF-8 bytes, no whitespace, `null` fields left out;
//! - `hash = "sha256:" + hex(SHA-256(canonical form))`;
//! - `prev_hash` is the previous event's `hash`; the first event's is the genesis value, or the
//!   retention checkpoint (the hash of the last deleted event);
//! - `seq` increases by exactly one from event to event.
//!
//! So any edited, deleted, inserted or reordered event breaks a link at a position that
//! verification reports.

use airlock_schema::canonical::{self, Nulls};
use serde_json::Value;

pub const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// The canonical JSON of an event without its `hash`: keys sorted by their bytes at every
/// depth, `null` members left out, no whitespace (`airlock_schema::canonical`, which also
/// writes the config and pin hashes). Written straight from the borrowed value: it runs for
/// every request.
pub fn canonical(event: &Value) -> String {
    let mut out = Vec::with_capacity(512);
    match event {
        Value::Object(map) => canonical::write_object(
            map.iter()
                .filter(|(k, _)| *k != "hash")
                .map(|(k, v)| (k.as_str(), v)),
            Nulls::Omit,
            &mut out,
        ),
        other => canonical::write(other, Nulls::Omit, &mut out),
    }
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

pub fn hash_of(event: &Value) -> String {
    super::sha256_tag(canonical(event).as_bytes())
}

/// Seals an event: sets `seq`, `prev_hash` and `hash`. Returns the event's stored text: its
/// canonical form with the hash added (so the event is serialized once).
pub fn seal(event: &mut Value, seq: i64, prev_hash: &str) -> String {
    event["seq"] = seq.into();
    event["prev_hash"] = prev_hash.into();
    let mut text = canonical(event);
    let hash = super::sha256_tag(text.as_bytes());
    text.pop(); // the closing brace: events are objects
    if text.len() > 1 {
        text.push(',');
    }
    text.push_str("\"hash\":\"");
    text.push_str(&hash);
    text.push_str("\"}");
    event["hash"] = hash.into();
    text
}

/// The outcome of a verification.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub events: u64,
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
    pub last_hash: Option<String>,
    /// The first broken link: the sequence number where it was found and why.
    pub broken: Option<(i64, String)>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.broken.is_none()
    }
}

/// Verifies events in storage order, starting after `anchor` (seq, hash) when the chain was
/// trimmed by retention, or from the genesis.
pub struct Verifier {
    expected_seq: Option<i64>,
    expected_prev: String,
    pub report: Report,
}

impl Verifier {
    pub fn new(anchor: Option<(i64, String)>) -> Self {
        let (expected_seq, expected_prev) = match anchor {
            Some((seq, hash)) => (Some(seq + 1), hash),
            None => (Some(1), GENESIS.to_string()),
        };
        Self {
            expected_seq,
            expected_prev,
            report: Report {
                events: 0,
                first_seq: None,
                last_seq: None,
                last_hash: None,
                broken: None,
            },
        }
    }

    /// A verifier for an exported segment that starts anywhere: its first event's link is
    /// taken as given (the segment's header records it).
    pub fn from_first(first_prev: &str, first_seq: i64) -> Self {
        let mut verifier = Self::new(None);
        verifier.expected_seq = Some(first_seq);
        verifier.expected_prev = first_prev.to_string();
        verifier
    }

    /// Checks the next event; returns false once a link is broken (further events are ignored).
    /// Records a break found outside the chain itself (a column edited beside the event).
    pub fn break_at(&mut self, seq: i64, why: String) {
        self.report.broken.get_or_insert((seq, why));
    }

    pub fn push(&mut self, event: &Value) -> bool {
        if self.report.broken.is_some() {
            return false;
        }
        let seq = event.get("seq").and_then(Value::as_i64).unwrap_or(-1);
        let fail = |verifier: &mut Self, why: String| {
            verifier.report.broken = Some((seq, why));
            false
        };
        if let Some(expected) = self.expected_seq
            && seq != expected
        {
            let why = if seq > expected {
                format!(
                    "event {seq} follows event {}: events {expected}..{} are missing (deleted)",
                    expected - 1,
                    seq - 1
                )
            } else {
                format!(
                    "event {seq} appears where event {expected} was expected (inserted or reordered)"
                )
            };
            return fail(self, why);
        }
        let prev = event
            .get("prev_hash")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if prev != self.expected_prev {
            return fail(
                self,
                format!(
                    "event {seq} does not link to its predecessor (prev_hash {prev}, expected {})",
                    self.expected_prev
                ),
            );
        }
        let stored = event
            .get("hash")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let actual = hash_of(event);
        if stored != actual {
            return fail(
                self,
                format!(
                    "event {seq} was modified (stored hash {stored}, content hashes to {actual})"
                ),
            );
        }
        self.report.events += 1;
        self.report.first_seq.get_or_insert(seq);
        self.report.last_seq = Some(seq);
        self.report.last_hash = Some(stored.to_string());
        self.expected_seq = Some(seq + 1);
        self.expected_prev = stored.to_string();
        true
    }

    /// Checks that the chain ends where the store's head says it does: not before it (the
    /// tail was truncated), not after it (events were added that no append recorded), and at
    /// the event the head names.
    pub fn finish(mut self, head: Option<(i64, String)>) -> Report {
        let Some((seq, hash)) = head else {
            return self.report;
        };
        let last = self.report.last_seq.unwrap_or(0);
        let last_hash = self.report.last_hash.as_deref().unwrap_or(GENESIS);
        let empty_at_anchor = self.report.events == 0 && hash == self.expected_prev;
        if self.report.broken.is_some() || empty_at_anchor || (last == seq && last_hash == hash) {
            return self.report;
        }
        self.report.broken = Some(if last < seq {
            (
                seq,
                format!(
                    "the chain ends at event {last} but the head records event {seq}: events were truncated"
                ),
            )
        } else if last > seq {
            (
                seq + 1,
                format!(
                    "event {} lies beyond the recorded head (event {seq}): it was added outside the gateway's appends, or the head was rolled back",
                    seq + 1
                ),
            )
        } else {
            (
                seq,
                format!("event {seq} is not the event the head records: the tail was rewritten"),
            )
        });
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chain(n: i64) -> Vec<Value> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let mut event = json!({"action": "tools/call", "subject": format!("user{seq}"), "decision": "allow", "time": "2026-11-23T00:00:00Z", "reason": null});
                seal(&mut event, seq, &prev);
                prev = event["hash"].as_str().unwrap().to_string();
                event
            })
            .collect()
    }

    fn verify(events: &[Value]) -> Report {
        let mut verifier = Verifier::new(None);
        for event in events {
            verifier.push(event);
        }
        let head = events.last().map(|e| {
            (
                e["seq"].as_i64().unwrap(),
                e["hash"].as_str().unwrap().to_string(),
            )
        });
        verifier.finish(head)
    }

    #[test]
    fn an_intact_chain_verifies() {
        let report = verify(&chain(5));
        assert!(report.ok(), "{report:?}");
        assert_eq!((report.events, report.last_seq), (5, Some(5)));
        assert_eq!(
            canonical(&json!({"b": 1, "a": null, "hash": "x", "c": {"z": 1, "y": 2}})),
            r#"{"b":1,"c":{"y":2,"z":1}}"#
        );
        assert_eq!(
            canonical(&json!({"a": 1, "hash": "x", "z": 2})),
            canonical(&json!({"z": 2, "a": 1})),
            "hash's position never matters"
        );
    }

    /// The documented algorithm, checked against an independent implementation: Python's
    /// `json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False)` with `None`
    /// members removed, then SHA-256 (docs/audit.md).
    #[test]
    fn the_hash_matches_an_independent_implementation() {
        let event = json!({
            "seq": 1, "prev_hash": GENESIS, "action": "tools/call", "subject": "alice@example.com",
            "latency_ms": 1.5, "redactions": 0, "tool": "read_file", "note": "café ✓ \"q\" \\ \n",
            "nested": {"b": [1, null, "x"], "a": true}, "gone": null,
        });
        assert_eq!(
            hash_of(&event),
            "sha256:6954932057a16fb5e5486e1136e9905626c825ffada176e543e3f0429c52ed0e"
        );
    }

    #[test]
    fn every_kind_of_tampering_is_found() {
        let mut edited = chain(5);
        edited[2]["decision"] = "deny".into();
        assert_eq!(verify(&edited).broken.unwrap().0, 3);
        let mut deleted = chain(5);
        deleted.remove(2);
        assert!(verify(&deleted).broken.unwrap().1.contains("missing"));
        let mut reordered = chain(5);
        reordered.swap(1, 3);
        assert_eq!(verify(&reordered).broken.unwrap().0, 4);
        let mut inserted = chain(5);
        let mut forged = json!({"action": "x"});
        seal(&mut forged, 3, inserted[1]["hash"].as_str().unwrap());
        inserted.insert(2, forged);
        assert!(verify(&inserted).broken.is_some());
        let mut rehashed = chain(5);
        rehashed[2]["decision"] = "deny".into();
        let prev = rehashed[1]["hash"].as_str().unwrap().to_string();
        seal(&mut rehashed[2], 3, &prev);
        assert_eq!(
            verify(&rehashed).broken.unwrap().0,
            4,
            "re-hashing an edited event breaks the next link"
        );
        let full = chain(5);
        let mut verifier = Verifier::new(None);
        for event in &full[..3] {
            verifier.push(event);
        }
        let head = Some((5, full[4]["hash"].as_str().unwrap().to_string()));
        assert!(
            verifier
                .finish(head)
                .broken
                .unwrap()
                .1
                .contains("truncated")
        );
    }

    #[test]
    fn a_checkpoint_anchors_a_trimmed_chain() {
        let full = chain(6);
        let anchor = Some((3, full[2]["hash"].as_str().unwrap().to_string()));
        let mut verifier = Verifier::new(anchor);
        for event in &full[3..] {
            assert!(verifier.push(event));
        }
        assert!(verifier.finish(None).ok());
    }
}
