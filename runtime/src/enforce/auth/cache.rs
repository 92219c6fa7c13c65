//! Validated tokens, remembered until they expire: a repeated token skips signature checks.
//! Bounded: when full, expired entries go first, then the whole cache is cleared (a burst of
//! unique tokens must not grow memory). A hit shares the principal (`Arc`), not a copy of its
//! subject and groups. Only tokens whose signature verified are keys, hashed with a seeded
//! fast hasher (a token is 1–4 KiB: SipHash over it cost more than the rest of the lookup).

use super::Principal;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

type Entries = HashMap<Box<str>, Arc<Principal>, foldhash::fast::RandomState>;

pub struct TokenCache {
    capacity: usize,
    entries: RwLock<Entries>,
}

impl TokenCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: RwLock::new(Entries::default()),
        }
    }

    pub fn get(&self, token: &str, now: u64) -> Option<Arc<Principal>> {
        let entries = self.entries.read().expect("token cache lock");
        entries.get(token).filter(|p| p.expires_at > now).cloned()
    }

    pub fn insert(&self, token: &str, principal: Arc<Principal>, now: u64) {
        let mut entries = self.entries.write().expect("token cache lock");
        if entries.len() >= self.capacity {
            entries.retain(|_, p| p.expires_at > now);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(token.into(), principal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(expires_at: u64) -> Arc<Principal> {
        Arc::new(Principal {
            subject: "s".into(),
            tenant: String::new(),
            groups: vec![],
            expires_at,
        })
    }

    #[test]
    fn expiry_and_bounds() {
        let cache = TokenCache::new(2);
        cache.insert("a", principal(100), 10);
        assert!(cache.get("a", 50).is_some());
        assert!(
            cache.get("a", 100).is_none(),
            "an expired token is never served from the cache"
        );
        cache.insert("b", principal(20), 10);
        cache.insert("c", principal(200), 30);
        assert!(cache.get("b", 30).is_none());
        assert!(cache.get("c", 30).is_some());
        assert!(cache.entries.read().unwrap().len() <= 2);
    }
}
