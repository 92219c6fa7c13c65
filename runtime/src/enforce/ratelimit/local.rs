//! This replica's own counters: token buckets (`Limiter`), the failed-authentication throttle
//! (`AuthThrottle`), and the request rate per subject that a policy can read as
//! `input.metadata.requests_per_minute` (`RequestRate`, always per replica). Idle keys are
//! swept so memory stays bounded.

use airlock_schema::runtime::{RateLimit, RateLimitConfig};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most keys a limiter tracks before it sweeps idle ones early.
const MAX_KEYS: usize = 100_000;

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// One token-bucket limiter keyed by `K`.
pub struct Limiter<K> {
    rate_per_sec: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    pub fn new(limit: RateLimit) -> Self {
        Self {
            rate_per_sec: f64::from(limit.count) / (limit.period_ms.max(1) as f64 / 1000.0),
            burst: f64::from(limit.burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds until `key` would have a token, taking none (0 when it has one now).
    pub fn wait<Q: Hash + Eq + ?Sized>(&self, key: &Q, now: Instant) -> u64
    where
        K: Borrow<Q>,
    {
        let buckets = self.buckets.lock().expect("limiter lock");
        let Some(bucket) = buckets.get(key) else {
            return 0;
        };
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        let tokens = (bucket.tokens + elapsed * self.rate_per_sec).min(self.burst);
        if tokens >= 1.0 {
            0
        } else {
            ((1.0 - tokens) / self.rate_per_sec).ceil().max(1.0) as u64
        }
    }

    /// Gives back the token a request took when a later limit refused it.
    pub fn refund<Q: Hash + Eq + ?Sized>(&self, key: &Q)
    where
        K: Borrow<Q>,
    {
        let mut buckets = self.buckets.lock().expect("limiter lock");
        if let Some(bucket) = buckets.get_mut(key) {
            bucket.tokens = (bucket.tokens + 1.0).min(self.burst);
        }
    }

    /// Takes a token for `key`: `Ok`, or `Err(seconds to wait)`.
    pub fn check<Q: Hash + Eq + ToOwned<Owned = K> + ?Sized>(
        &self,
        key: &Q,
        now: Instant,
    ) -> Result<(), u64>
    where
        K: Borrow<Q>,
    {
        let mut buckets = self.buckets.lock().expect("limiter lock");
        if buckets.len() >= MAX_KEYS {
            let full = self.burst / self.rate_per_sec;
            buckets.retain(|_, b| now.duration_since(b.updated).as_secs_f64() < full);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate_per_sec).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / self.rate_per_sec).ceil().max(1.0) as u64)
        }
    }
}

struct Failures {
    window_start: Instant,
    count: u32,
    blocked_until: Option<Instant>,
}

/// Counts failed authentications per IP; after too many in a window, the IP is blocked.
pub struct AuthThrottle {
    max_attempts: u32,
    window: Duration,
    block: Duration,
    ips: Mutex<HashMap<std::net::IpAddr, Failures>>,
}

impl AuthThrottle {
    pub fn new(config: &RateLimitConfig) -> Self {
        Self {
            max_attempts: config.failed_auth_max_attempts.max(1),
            window: Duration::from_millis(config.failed_auth_window_ms.max(1)),
            block: Duration::from_millis(config.failed_auth_block_ms),
            ips: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds)` while the IP is blocked.
    pub fn check(&self, ip: std::net::IpAddr, now: Instant) -> Result<(), u64> {
        let ips = self.ips.lock().expect("throttle lock");
        match ips.get(&ip).and_then(|f| f.blocked_until) {
            Some(until) if until > now => Err(until.duration_since(now).as_secs().max(1)),
            _ => Ok(()),
        }
    }

    /// Records a failure; true when it blocked the IP.
    pub fn failed(&self, ip: std::net::IpAddr, now: Instant) -> bool {
        let mut ips = self.ips.lock().expect("throttle lock");
        if ips.len() >= MAX_KEYS {
            let horizon = self.window.max(self.block);
            ips.retain(|_, f| {
                now.duration_since(f.window_start) < horizon
                    || f.blocked_until.is_some_and(|u| u > now)
            });
        }
        let entry = ips.entry(ip).or_insert(Failures {
            window_start: now,
            count: 0,
            blocked_until: None,
        });
        if now.duration_since(entry.window_start) > self.window {
            entry.window_start = now;
            entry.count = 0;
        }
        entry.count += 1;
        if entry.count >= self.max_attempts {
            entry.blocked_until = Some(now + self.block);
            entry.count = 0;
            entry.window_start = now;
            return true;
        }
        false
    }
}

/// This minute's and the last minute's request counts of one subject.
struct Minutes {
    minute: u64,
    current: u32,
    previous: u32,
}

/// Requests per subject over the last 60 s, for policies that rate-limit with their own rules
/// (`input.metadata.requests_per_minute`). A sliding window estimated from two fixed minutes:
/// this minute's count plus the share of the last minute's count still inside the window.
pub struct RequestRate {
    epoch: Instant,
    subjects: Mutex<HashMap<String, Minutes>>,
}

impl Default for RequestRate {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            subjects: Mutex::new(HashMap::new()),
        }
    }
}

impl RequestRate {
    /// Counts a request of `subject` at `now`; its requests in the last 60 s, this one included.
    pub fn hit(&self, subject: &str, now: Instant) -> u32 {
        let since = now.saturating_duration_since(self.epoch);
        let minute = since.as_secs() / 60;
        let into_minute = (since.as_millis() % 60_000) as f64 / 60_000.0;
        let mut subjects = self.subjects.lock().expect("request rate lock");
        if subjects.len() >= MAX_KEYS {
            subjects.retain(|_, m| minute.saturating_sub(m.minute) <= 1);
        }
        if !subjects.contains_key(subject) {
            subjects.insert(
                subject.to_string(),
                Minutes {
                    minute,
                    current: 0,
                    previous: 0,
                },
            );
        }
        let entry = subjects.get_mut(subject).expect("inserted above");
        match minute.saturating_sub(entry.minute) {
            0 => {}
            1 => (entry.previous, entry.current) = (entry.current, 0),
            _ => (entry.previous, entry.current) = (0, 0),
        }
        entry.minute = minute;
        entry.current = entry.current.saturating_add(1);
        (f64::from(entry.previous) * (1.0 - into_minute)).round() as u32 + entry.current
    }
}

/// The limiters of this replica alone.
pub struct LocalLimits {
    pub per_token: Option<Limiter<String>>,
    pub per_ip: Option<Limiter<std::net::IpAddr>>,
    pub per_tenant: Option<Limiter<String>>,
    pub failed_auth: AuthThrottle,
}

impl LocalLimits {
    pub fn new(config: &RateLimitConfig) -> Self {
        Self {
            per_token: config.per_token.map(Limiter::new),
            per_ip: config.per_ip.map(Limiter::new),
            per_tenant: config.per_tenant.map(Limiter::new),
            failed_auth: AuthThrottle::new(config),
        }
    }

    /// Before authentication: a blocked IP (the failed-authentication throttle), then the
    /// per-IP limit, whose wait is the longer of it and a block (so that `Retry-After` says
    /// when a retry can succeed).
    pub fn admit_ip(&self, ip: std::net::IpAddr, now: Instant) -> Result<(), (&'static str, u64)> {
        self.failed_auth
            .check(ip, now)
            .map_err(|wait| ("failed_auth", wait))?;
        let Some(limiter) = &self.per_ip else {
            return Ok(());
        };
        limiter.check(&ip, now).map_err(|wait| ("ip", wait))
    }

    /// The per-token and per-tenant limits together, after authentication: a request takes a
    /// token from both or from neither, and a refusal waits for the longer of the two. The
    /// error names the limit that refused (`token` or `tenant`).
    pub fn admit_caller(
        &self,
        subject: &str,
        tenant: &str,
        now: Instant,
    ) -> Result<(), (&'static str, u64)> {
        let tenant_wait = |now| self.per_tenant.as_ref().map_or(0, |l| l.wait(tenant, now));
        if let Some(limiter) = &self.per_token
            && let Err(wait) = limiter.check(subject, now)
        {
            return Err(("token", wait.max(tenant_wait(now))));
        }
        if let Some(limiter) = &self.per_tenant
            && let Err(wait) = limiter.check(tenant, now)
        {
            let token_wait = self.per_token.as_ref().map_or(0, |l| {
                l.refund(subject);
                l.wait(subject, now)
            });
            return Err(("tenant", wait.max(token_wait)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refills() {
        let limiter = Limiter::new(RateLimit {
            count: 60,
            period_ms: 60_000,
            burst: 3,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(&"a", t0).is_ok());
        }
        assert_eq!(limiter.check(&"a", t0), Err(1));
        assert!(limiter.check(&"b", t0).is_ok(), "keys are independent");
        assert!(
            limiter
                .check(&"a", t0 + Duration::from_millis(1100))
                .is_ok()
        );
    }

    #[test]
    fn request_rate_slides_over_the_last_minute() {
        let rate = RequestRate::default();
        let t0 = rate.epoch;
        for n in 1..=10 {
            assert_eq!(rate.hit("alice", t0), n);
        }
        assert_eq!(rate.hit("bob", t0), 1, "subjects are counted apart");
        // Halfway into the next minute, half of the last minute's 10 still count.
        assert_eq!(rate.hit("alice", t0 + Duration::from_secs(90)), 5 + 1);
        // Two minutes on, nothing of the first minute is left.
        assert_eq!(rate.hit("alice", t0 + Duration::from_secs(185)), 1);
    }

    #[test]
    fn failed_auth_blocks_after_the_threshold() {
        let config = RateLimitConfig {
            per_token: None,
            per_ip: None,
            per_tenant: None,
            failed_auth_max_attempts: 3,
            failed_auth_window_ms: 60_000,
            failed_auth_block_ms: 300_000,
            store: None,
        };
        let throttle = AuthThrottle::new(&config);
        let ip = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        assert!(!throttle.failed(ip, t0));
        assert!(!throttle.failed(ip, t0));
        assert!(throttle.check(ip, t0).is_ok());
        assert!(throttle.failed(ip, t0));
        assert_eq!(throttle.check(ip, t0), Err(300));
        assert!(throttle.check(ip, t0 + Duration::from_secs(301)).is_ok());
    }

    #[test]
    fn a_refusal_waits_for_the_longest_limit_and_takes_nothing() {
        let limit = |per_minute| RateLimit {
            count: per_minute,
            period_ms: 60_000,
            burst: 2,
        };
        let limits = LocalLimits::new(&RateLimitConfig {
            per_token: Some(limit(60)),
            per_ip: None,
            per_tenant: Some(limit(30)),
            failed_auth_max_attempts: 5,
            failed_auth_window_ms: 60_000,
            failed_auth_block_ms: 60_000,
            store: None,
        });
        let t0 = Instant::now();
        for _ in 0..2 {
            assert!(limits.admit_caller("alice", "acme", t0).is_ok());
        }
        // Both are empty: the token limit refuses first, and the tenant's 2 s is the wait.
        assert_eq!(limits.admit_caller("alice", "acme", t0), Err(("token", 2)));
        // After 1 s the token limit would admit, the tenant's not: refused, no token taken.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(limits.admit_caller("alice", "acme", t1), Err(("tenant", 1)));
        assert_eq!(
            limits
                .per_token
                .as_ref()
                .unwrap()
                .wait(&"alice".to_string(), t1),
            0
        );
        let t2 = t0 + Duration::from_secs(2);
        assert!(limits.admit_caller("alice", "acme", t2).is_ok());
    }

    #[test]
    fn a_blocked_ip_is_refused_before_its_ip_limit_is_counted() {
        let limits = LocalLimits::new(&RateLimitConfig {
            per_token: None,
            per_ip: Some(RateLimit {
                count: 60,
                period_ms: 60_000,
                burst: 1,
            }),
            per_tenant: None,
            failed_auth_max_attempts: 1,
            failed_auth_window_ms: 60_000,
            failed_auth_block_ms: 59_000,
            store: None,
        });
        let (ip, t0) = ("10.0.0.1".parse().unwrap(), Instant::now());
        assert!(limits.admit_ip(ip, t0).is_ok());
        assert!(limits.failed_auth.failed(ip, t0), "blocked");
        assert_eq!(limits.admit_ip(ip, t0), Err(("failed_auth", 59)));
    }
}
