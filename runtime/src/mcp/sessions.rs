//! MCP sessions (`Mcp-Session-Id`) of the handshake-era protocol revisions: created by
//! `initialize`, bound to the subject that created them, expired when idle. Bounded in number.
//! Sessions live in one replica's memory; a client sent to another replica gets 404 and
//! initializes again, as the MCP specification prescribes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct Session {
    pub subject: String,
    pub protocol_version: String,
    last_seen: Instant,
}

pub struct Sessions {
    capacity: usize,
    idle: Duration,
    sessions: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    pub fn new(capacity: usize, idle: Duration) -> Self {
        Self {
            capacity,
            idle,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    pub fn create(&self, subject: &str, protocol_version: &str) -> String {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let now = Instant::now();
        let mut sessions = self.sessions.lock().expect("sessions lock");
        if sessions.len() >= self.capacity {
            sessions.retain(|_, s| now.duration_since(s.last_seen) < self.idle);
            if sessions.len() >= self.capacity
                && let Some(evicted) = least_recent_of_the_largest_holder(&sessions)
            {
                sessions.remove(&evicted);
            }
        }
        sessions.insert(
            id.clone(),
            Session {
                subject: subject.into(),
                protocol_version: protocol_version.into(),
                last_seen: now,
            },
        );
        id
    }

    /// The session, if it exists, is not idle-expired and belongs to `subject`.
    pub fn touch(&self, id: &str, subject: &str) -> Option<Session> {
        let now = Instant::now();
        let mut sessions = self.sessions.lock().expect("sessions lock");
        let session = sessions.get_mut(id)?;
        if now.duration_since(session.last_seen) > self.idle {
            sessions.remove(id);
            return None;
        }
        if session.subject != subject {
            return None;
        }
        session.last_seen = now;
        Some(session.clone())
    }

    pub fn remove(&self, id: &str, subject: &str) -> bool {
        let mut sessions = self.sessions.lock().expect("sessions lock");
        match sessions.get(id) {
            Some(s) if s.subject == subject => sessions.remove(id).is_some(),
            _ => false,
        }
    }

    pub fn len(&self) -> usize {
        self.sessions.lock().expect("sessions lock").len()
    }
}

/// The session to evict from a full table: the least recently used of the subject holding the
/// most sessions, so that one caller opening sessions in a loop evicts its own, not others'.
fn least_recent_of_the_largest_holder(sessions: &HashMap<String, Session>) -> Option<String> {
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

    #[test]
    fn sessions_belong_to_their_subject_and_are_bounded() {
        let sessions = Sessions::new(2, Duration::from_secs(60));
        let a = sessions.create("alice", "2025-06-18");
        assert!(sessions.touch(&a, "alice").is_some());
        assert!(
            sessions.touch(&a, "mallory").is_none(),
            "another subject cannot use the session"
        );
        assert!(sessions.touch("nope", "alice").is_none());
        sessions.create("bob", "2025-06-18");
        sessions.create("carol", "2025-06-18");
        assert_eq!(sessions.len(), 2);
        assert!(!sessions.remove(&a, "mallory"));
    }

    #[test]
    fn a_full_table_evicts_the_largest_holders_sessions_first() {
        let sessions = Sessions::new(4, Duration::from_secs(60));
        let alice = sessions.create("alice", "2025-06-18");
        let bob = sessions.create("bob", "2025-06-18");
        let floods: Vec<String> = (0..10)
            .map(|_| sessions.create("mallory", "2025-06-18"))
            .collect();
        assert_eq!(sessions.len(), 4);
        assert!(
            sessions.touch(&alice, "alice").is_some(),
            "alice keeps her session"
        );
        assert!(
            sessions.touch(&bob, "bob").is_some(),
            "bob keeps his session"
        );
        assert!(sessions.touch(&floods[9], "mallory").is_some());
        assert!(sessions.touch(&floods[0], "mallory").is_none());
    }
}
