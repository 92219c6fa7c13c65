//! Request ids: UUID v4 strings from a per-thread generator seeded from the OS once, so the
//! request path makes no `getrandom` call per request. Unique and unguessable enough for
//! correlation; never used as a secret. The id of the request a task is serving is also a
//! task-local, so a log line written deep in the request path carries it without every layer
//! passing it down.

use std::cell::Cell;
use std::future::Future;

tokio::task_local! {
    static CURRENT: String;
}

/// Runs `work` (one request's handling) with `id` as the current request id.
pub async fn with_request_id<F: Future>(id: String, work: F) -> F::Output {
    CURRENT.scope(id, work).await
}

/// The id of the request this task is serving, for a log field:
/// `request_id = ids::current().as_deref()` (the field is left out outside a request).
pub fn current() -> Option<String> {
    CURRENT.try_with(String::clone).ok()
}

thread_local! {
    static STATE: Cell<(u64, u64)> = Cell::new(seed());
}

fn seed() -> (u64, u64) {
    let mut bytes = [0u8; 16];
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    let a = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) | 1;
    let b = u64::from_le_bytes(bytes[8..].try_into().expect("8 bytes")) | 2;
    (a, b)
}

/// xorshift128+.
fn next() -> u64 {
    STATE.with(|state| {
        let (mut s1, s0) = state.get();
        let result = s0.wrapping_add(s1);
        s1 ^= s1 << 23;
        s1 ^= s1 >> 17 ^ s0 ^ (s0 >> 26);
        state.set((s0, s1));
        result
    })
}

/// A fresh request id in UUID v4 form.
pub fn request_id() -> String {
    let (hi, lo) = (next(), next());
    let hi = (hi & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    uuid::Uuid::from_u64_pair(hi, lo).to_string()
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_current_id_is_the_scoped_one() {
        assert_eq!(super::current(), None);
        let inside = super::with_request_id("abc".into(), async { super::current() });
        assert_eq!(inside.await.as_deref(), Some("abc"));
    }

    #[test]
    fn ids_are_v4_and_distinct() {
        let a = super::request_id();
        let b = super::request_id();
        assert_ne!(a, b);
        assert_eq!(uuid::Uuid::parse_str(&a).unwrap().get_version_num(), 4);
    }
}
