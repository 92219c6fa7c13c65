//! The tamper-evident audit trail. Every authentication attempt, policy decision, tool call,
//! resource access, security violation, policy reload and admin action becomes an event (never a
//! token or a payload: a digest of the input instead), chained by hash (`chain`), written in
//! batches to SQLite or PostgreSQL (`store`) by a background writer (`writer`), trimmed by
//! retention from a checkpoint, and exported as sealed JSONL segments to S3 (`export`).

pub mod chain;
mod event;
pub mod export;
mod queue;
pub mod retention;
pub mod store;
pub mod verify;
mod writer;

pub use event::Event;
pub use writer::{AuditLog, AuditSlot, AuditStatus, StoreState, WRITE_TIMEOUT, open};

/// The current time as RFC 3339 UTC with milliseconds (sortable as text).
pub fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    written(now)
}

/// Seconds since the epoch (schedules).
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// RFC 3339 UTC with milliseconds of a time in milliseconds since the epoch (before the epoch:
/// the epoch).
pub fn rfc3339(millis: i64) -> String {
    written(std::time::Duration::from_millis(millis.max(0) as u64))
}

fn written(since_epoch: std::time::Duration) -> String {
    let mut out = Vec::with_capacity(24);
    crate::record::clock::write_rfc3339(
        since_epoch,
        crate::record::clock::Fraction::Millis,
        &mut out,
    );
    String::from_utf8(out).expect("digits and separators are ASCII")
}

/// `sha256:<hex>` of a request's bytes: proves what was sent without keeping it.
pub fn digest(bytes: &[u8]) -> String {
    sha256_tag(bytes)
}

pub use airlock_schema::canonical::sha256_tag;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            sha256_tag(b"abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(rfc3339(1_795_394_460_123), "2026-11-23T00:41:00.123Z");
    }
}
