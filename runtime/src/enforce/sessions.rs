//! MCP sessions (`Mcp-Session-Id`) of the handshake-era protocol revisions. A session id is
//! sealed (AES-256-GCM, a key derived with HKDF-SHA256 from `server.sessions.keySecretRef`)
//! around what any replica needs to serve it: the subject it is bound to, the negotiated
//! revision, when it was issued and when it expires. So every replica that holds the key opens
//! every session, and an id that was tampered with, sealed with another key, expired, or is
//! shown by another subject opens to nothing (404 `session_not_found`).
//!
//! Without a configured key each replica draws one at start: its sessions are its own, and this
//! replica's table decides (idle expiry, a bounded number, eviction of the largest holder's).
//! With a shared key the table only remembers what this replica saw; idle expiry and the end of
//! a session by `DELETE` then hold on every replica through the shared store
//! (`rateLimiting.store`), and without one (or while it does not answer): idle sessions live to
//! their lifetime, and a `DELETE` ends the session on the replica that received it (see
//! docs/replicas.md).

use super::shared::SharedStore;
use airlock_schema::runtime::SessionsConfig;
use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The shortest session key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 32;
/// The sessions one replica's table holds (local keys) or remembers (shared keys).
const CAPACITY: usize = 10_000;
/// What a sealed id starts with: the format, so a future one can be told apart.
const PREFIX: &str = "s1.";
/// Bound into every seal, so a key used elsewhere cannot seal a session id.
const AAD: &[u8] = b"airlock mcp session v1";

/// Why the session key cannot be used (the gateway does not start: exit 78).
#[derive(Debug, thiserror::Error)]
pub enum SessionKeyError {
    #[error("cannot read the session key {path}: {source}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the session key {path} holds {bytes} bytes; it needs at least {MIN_KEY_BYTES} random bytes (e.g. `openssl rand -base64 48`)"
    )]
    TooShort { path: String, bytes: usize },
}

/// An open session: what the request path needs of it.
#[derive(Clone, Debug)]
pub struct Session {
    pub protocol_version: String,
}

/// What a sealed id holds.
#[derive(Serialize, Deserialize)]
struct Sealed {
    /// The subject the session is bound to.
    s: String,
    /// The negotiated protocol revision.
    v: String,
    /// Issued and expiring, seconds since the epoch.
    i: u64,
    e: u64,
    /// Random: tells two sessions of the same subject apart (and names it in a revocation).
    n: String,
}

/// The keys ids are sealed and opened with.
struct Keys {
    current: RandomizedNonceKey,
    /// Opens ids sealed before a rotation.
    previous: Option<RandomizedNonceKey>,
    /// Whether the keys came from the configuration (and so are shared by replicas).
    shared: bool,
}

/// What this replica knows of a session.
struct Seen {
    subject: String,
    last_seen: Instant,
    /// Ended by `DELETE` on this replica.
    ended: bool,
}

pub struct Sessions {
    keys: Keys,
    lifetime: Duration,
    idle: Duration,
    seen: Mutex<HashMap<String, Seen>>,
    /// Where the replicas keep what they must agree on (ended, last used), if configured.
    shared: Option<Arc<SharedStore>>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The AES-256 key derived from a session secret.
fn derive(secret: &[u8]) -> RandomizedNonceKey {
    use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
    let mut key = [0u8; 32];
    Salt::new(HKDF_SHA256, b"airlock")
        .extract(secret)
        .expand(&[b"mcp session key v1"], &AES_256_GCM)
        .and_then(|okm| okm.fill(&mut key))
        .expect("HKDF yields 32 bytes");
    RandomizedNonceKey::new(&AES_256_GCM, &key).expect("a 32-byte AES-256-GCM key")
}

fn read_key(path: &str) -> Result<RandomizedNonceKey, SessionKeyError> {
    let bytes = std::fs::read(crate::config::secret_path(path)).map_err(|source| {
        SessionKeyError::Unreadable {
            path: path.to_string(),
            source,
        }
    })?;
    // A Secret created from a file often ends with a newline; it is not key material.
    let trimmed = bytes.trim_ascii_end();
    if trimmed.len() < MIN_KEY_BYTES {
        return Err(SessionKeyError::TooShort {
            path: path.to_string(),
            bytes: trimmed.len(),
        });
    }
    Ok(derive(trimmed))
}

impl Sessions {
    /// The sessions of `config`: its keys read now (a missing or short one is refused).
    pub fn new(
        config: &SessionsConfig,
        shared: Option<Arc<SharedStore>>,
    ) -> Result<Self, SessionKeyError> {
        let keys = match &config.key_file {
            Some(path) => Keys {
                current: read_key(path)?,
                previous: config
                    .previous_key_file
                    .as_deref()
                    .map(read_key)
                    .transpose()?,
                shared: true,
            },
            None => {
                let mut secret = [0u8; 32];
                aws_lc_rs::rand::fill(&mut secret).expect("the OS random source works");
                Keys {
                    current: derive(&secret),
                    previous: None,
                    shared: false,
                }
            }
        };
        Ok(Self {
            keys,
            lifetime: Duration::from_millis(config.lifetime_ms.max(1000)),
            idle: Duration::from_millis(config.idle_timeout_ms.max(1000)),
            seen: Mutex::new(HashMap::new()),
            shared,
        })
    }

    /// The shared store, when the keys are shared too (per-replica sessions need none).
    fn store(&self) -> Option<&SharedStore> {
        self.shared.as_deref().filter(|_| self.keys.shared)
    }

    /// Whether every replica holding the configured key serves these sessions.
    pub fn shared(&self) -> bool {
        self.keys.shared
    }

    /// A new session for `subject`, at `protocol_version`: its sealed id.
    pub async fn create(&self, subject: &str, protocol_version: &str) -> String {
        let mut nonce = [0u8; 12];
        aws_lc_rs::rand::fill(&mut nonce).expect("the OS random source works");
        let issued = now_secs();
        let sealed = Sealed {
            s: subject.into(),
            v: protocol_version.into(),
            i: issued,
            e: issued + self.lifetime.as_secs(),
            n: hex::encode(nonce),
        };
        let mut bytes = serde_json::to_vec(&sealed).expect("a session serializes");
        let nonce = self
            .keys
            .current
            .seal_in_place_append_tag(Aad::from(AAD), &mut bytes)
            .expect("AES-GCM seals");
        let mut id = nonce.as_ref().to_vec();
        id.extend_from_slice(&bytes);
        self.remember(&sealed.n, subject);
        if let Some(store) = self.store() {
            // A store that does not answer now sees the session's first use later as fresh.
            let _ = store.session_began(&sealed.n, self.idle).await;
        }
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(id))
    }

    /// The session `id` names, if it opens with a key of ours, has not expired or ended, and
    /// belongs to `subject`.
    pub async fn touch(&self, id: &str, subject: &str) -> Option<Session> {
        let sealed = self.open(id)?;
        if sealed.s != subject || sealed.e <= now_secs() {
            return None;
        }
        if let Some(store) = self.store() {
            let fresh = now_secs().saturating_sub(sealed.i) < self.idle.as_secs();
            match store.session_used(&sealed.n, self.idle, fresh).await {
                Ok(false) => return None,
                Ok(true) => {
                    self.remember(&sealed.n, subject);
                    return Some(Session {
                        protocol_version: sealed.v,
                    });
                }
                // Without an answer, what this replica knows decides.
                Err(_) => {}
            }
        }
        let now = Instant::now();
        let mut seen = self.seen.lock().expect("sessions lock");
        match seen.get_mut(&sealed.n) {
            Some(known) => {
                let idle = now.duration_since(known.last_seen) > self.idle;
                // A replica's own sessions (local keys) end when idle here; with shared keys
                // another replica may have served it meanwhile.
                if known.ended || (idle && !self.keys.shared) {
                    return None;
                }
                known.last_seen = now;
            }
            // A local key's session this table does not know was evicted or idle-expired.
            None if !self.keys.shared => return None,
            None => {
                drop(seen);
                self.remember(&sealed.n, subject);
            }
        }
        Some(Session {
            protocol_version: sealed.v,
        })
    }

    /// Ends the session `id` of `subject`: on every replica through the shared store, and on
    /// this one in any case.
    pub async fn remove(&self, id: &str, subject: &str) -> bool {
        let Some(sealed) = self.open(id).filter(|s| s.s == subject) else {
            return false;
        };
        if let Some(store) = self.store() {
            let remaining = Duration::from_secs(sealed.e.saturating_sub(now_secs()));
            let _ = store.session_ended(&sealed.n, remaining).await;
        }
        let mut seen = self.seen.lock().expect("sessions lock");
        match seen.get_mut(&sealed.n) {
            Some(known) if known.ended => false,
            Some(known) => {
                known.ended = true;
                true
            }
            None if self.keys.shared => {
                seen.insert(
                    sealed.n,
                    Seen {
                        subject: sealed.s,
                        last_seen: Instant::now(),
                        ended: true,
                    },
                );
                true
            }
            None => false,
        }
    }

    /// Live sessions this replica knows.
    pub fn len(&self) -> usize {
        let now = Instant::now();
        let seen = self.seen.lock().expect("sessions lock");
        seen.values()
            .filter(|s| !s.ended && now.duration_since(s.last_seen) <= self.idle)
            .count()
    }

    fn open(&self, id: &str) -> Option<Sealed> {
        let bytes = URL_SAFE_NO_PAD.decode(id.strip_prefix(PREFIX)?).ok()?;
        if bytes.len() <= NONCE_LEN {
            return None;
        }
        let keys = std::iter::once(&self.keys.current).chain(self.keys.previous.as_ref());
        keys.into_iter().find_map(|key| {
            let (nonce, sealed) = bytes.split_at(NONCE_LEN);
            let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
            let mut sealed = sealed.to_vec();
            let plain = key.open_in_place(nonce, Aad::from(AAD), &mut sealed).ok()?;
            serde_json::from_slice(plain).ok()
        })
    }

    fn remember(&self, n: &str, subject: &str) {
        let now = Instant::now();
        let mut seen = self.seen.lock().expect("sessions lock");
        if seen.len() >= CAPACITY {
            seen.retain(|_, s| now.duration_since(s.last_seen) < self.idle);
            if seen.len() >= CAPACITY
                && let Some(evicted) = least_recent_of_the_largest_holder(&seen)
            {
                seen.remove(&evicted);
            }
        }
        seen.insert(
            n.to_string(),
            Seen {
                subject: subject.into(),
                last_seen: now,
                ended: false,
            },
        );
    }
}

/// The session to evict from a full table: the least recently used of the subject holding the
/// most sessions, so that one caller opening sessions in a loop evicts its own, not others'.
fn least_recent_of_the_largest_holder(sessions: &HashMap<String, Seen>) -> Option<String> {
    let mut holders: HashMap<&str, (usize, &str, Instant)> = HashMap::new();
    for (id, session) in sessions {
        let holder =
            holders
                .entry(session.subject.as_str())
                .or_insert((0, id.as_str(), session.last_seen));
        holder.0 += 1;
        if session.last_seen < holder.2 {
            (holder.1, holder.2) = (id.as_str(), session.last_seen);
        }
    }
    holders
        .into_values()
        .max_by_key(|(count, _, last_seen)| (*count, std::cmp::Reverse(*last_seen)))
        .map(|(_, id, _)| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> Sessions {
        Sessions::new(&SessionsConfig::default(), None).unwrap()
    }

    fn keyed(dir: &std::path::Path, key: &str, previous: Option<&str>) -> Sessions {
        let write = |name: &str, value: &str| {
            let path = dir.join(name);
            std::fs::write(&path, value).unwrap();
            path.display().to_string()
        };
        Sessions::new(
            &SessionsConfig {
                key_file: Some(write("key", key)),
                previous_key_file: previous.map(|p| write("previous", p)),
                ..SessionsConfig::default()
            },
            None,
        )
        .unwrap()
    }

    fn temp() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("airlock-sessions-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn sessions_belong_to_their_subject() {
        let sessions = local();
        let a = sessions.create("alice", "2025-06-18").await;
        assert!(a.starts_with("s1."));
        assert_eq!(
            sessions.touch(&a, "alice").await.unwrap().protocol_version,
            "2025-06-18"
        );
        assert!(
            sessions.touch(&a, "mallory").await.is_none(),
            "another subject cannot use the session"
        );
        assert!(sessions.touch("nope", "alice").await.is_none());
        assert!(!sessions.remove(&a, "mallory").await);
        assert!(sessions.remove(&a, "alice").await);
        assert!(
            sessions.touch(&a, "alice").await.is_none(),
            "an ended session"
        );
    }

    #[tokio::test]
    async fn every_replica_with_the_key_opens_a_session_and_nothing_else_does() {
        let dir = temp();
        let key = "k".repeat(40);
        let a = keyed(&dir.join("a").tap_mkdir(), &key, None);
        let b = keyed(&dir.join("b").tap_mkdir(), &key, None);
        let id = a.create("alice", "2025-06-18").await;
        assert!(
            b.touch(&id, "alice").await.is_some(),
            "another replica serves it"
        );
        let other = keyed(&dir.join("c").tap_mkdir(), &"x".repeat(40), None);
        assert!(
            other.touch(&id, "alice").await.is_none(),
            "a foreign key opens nothing"
        );
        // Any change to the sealed bytes.
        let mut tampered = id.clone().into_bytes();
        let last = tampered.len() - 5;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(
            b.touch(std::str::from_utf8(&tampered).unwrap(), "alice")
                .await
                .is_none()
        );
        assert!(local().touch(&id, "alice").await.is_none());
    }

    #[tokio::test]
    async fn a_rotated_key_still_opens_the_sessions_it_sealed() {
        let dir = temp();
        let (old, new) = ("o".repeat(32), "n".repeat(32));
        let before = keyed(&dir.join("a").tap_mkdir(), &old, None);
        let id = before.create("alice", "2025-06-18").await;
        let rotating = keyed(&dir.join("b").tap_mkdir(), &new, Some(&old));
        assert!(rotating.touch(&id, "alice").await.is_some());
        let fresh = rotating.create("bob", "2025-06-18").await;
        let after = keyed(&dir.join("c").tap_mkdir(), &new, None);
        assert!(after.touch(&fresh, "bob").await.is_some());
        assert!(
            after.touch(&id, "alice").await.is_none(),
            "the old key is retired"
        );
    }

    #[tokio::test]
    async fn expired_sessions_and_short_keys_are_refused() {
        let dir = temp();
        let sessions = keyed(&dir, &"k".repeat(32), None);
        let id = sessions.create("alice", "2025-06-18").await;
        let expired = Sessions {
            lifetime: Duration::ZERO,
            ..keyed(&dir, &"k".repeat(32), None)
        };
        let stale = expired.create("alice", "2025-06-18").await;
        assert!(sessions.touch(&id, "alice").await.is_some());
        assert!(sessions.touch(&stale, "alice").await.is_none(), "expired");
        std::fs::write(dir.join("short"), "short key\n").unwrap();
        let short = Sessions::new(
            &SessionsConfig {
                key_file: Some(dir.join("short").display().to_string()),
                ..SessionsConfig::default()
            },
            None,
        );
        assert!(matches!(
            short,
            Err(SessionKeyError::TooShort { bytes: 9, .. })
        ));
    }

    #[tokio::test]
    async fn a_full_table_evicts_the_largest_holders_sessions_first() {
        let sessions = local();
        let alice = sessions.create("alice", "2025-06-18").await;
        let bob = sessions.create("bob", "2025-06-18").await;
        let mut floods = Vec::new();
        for _ in 0..CAPACITY {
            floods.push(sessions.create("mallory", "2025-06-18").await);
        }
        assert!(
            sessions.touch(&alice, "alice").await.is_some(),
            "alice keeps hers"
        );
        assert!(sessions.touch(&bob, "bob").await.is_some(), "bob keeps his");
        assert!(
            sessions
                .touch(&floods[CAPACITY - 1], "mallory")
                .await
                .is_some()
        );
        assert!(sessions.touch(&floods[0], "mallory").await.is_none());
    }

    trait TapMkdir {
        fn tap_mkdir(self) -> Self;
    }
    impl TapMkdir for std::path::PathBuf {
        fn tap_mkdir(self) -> Self {
            std::fs::create_dir_all(&self).unwrap();
            self
        }
    }
}
