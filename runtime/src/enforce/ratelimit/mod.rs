//! Rate limits: per client IP before authentication (with the failed-authentication throttle),
//! per token (subject) and per tenant after it. With `rateLimiting.store.redis` every replica
//! shares them (`shared`); without, or while the store does not answer and
//! `onUnavailable: local`, each replica counts alone (`local`). With `onUnavailable: deny` a
//! request is refused (503) while the store does not answer, and the replica is not ready.
//! Every change of the store's state is logged once and exported as
//! `airlock_ratelimit_store_up`.

mod local;
mod shared;

use local::LocalLimits;
pub use local::RequestRate;
pub use shared::StoreSetupError;

/// Connects to the configured store and reports its version and a round trip (`airlock
/// doctor`).
pub async fn probe_store(
    config: &airlock_schema::runtime::RedisConfig,
) -> Result<(String, Duration), String> {
    let store = SharedStore::new(config).map_err(|e| e.to_string())?;
    store.probe().await.map_err(|e| e.to_string())
}
use shared::{SharedStore, StoreError};

use crate::record::metrics::Metrics;
use airlock_schema::config::StoreUnavailable;
use airlock_schema::metrics as m;
use airlock_schema::runtime::RateLimitConfig;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// A request a limit refused: which (`ip`, `token`, `tenant`, `failed_auth`) and how long until
/// a retry can succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused {
    pub limit: &'static str,
    pub seconds: u64,
}

/// Why a request is not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotAdmitted {
    Limited(Refused),
    /// The shared store does not answer and `onUnavailable: deny`.
    StoreUnavailable,
}

/// The shared store and what to do without it.
struct Shared {
    store: SharedStore,
    on_unavailable: StoreUnavailable,
    /// 0 not known yet, 1 up, 2 down.
    state: AtomicU8,
}

/// What the store's answer means for a request.
enum Settled {
    /// Admitted or refused: the store decided (or its absence refuses, `deny`).
    Decided(Result<(), NotAdmitted>),
    /// The store did not answer: this replica's own limits decide (`local`).
    Fallback,
}

const UNKNOWN: u8 = 0;
const UP: u8 = 1;
const DOWN: u8 = 2;

pub struct RateLimits {
    config: RateLimitConfig,
    local: LocalLimits,
    shared: Option<Shared>,
    metrics: Arc<Metrics>,
    /// Requests per subject, for policies: always this replica's count.
    pub request_rate: RequestRate,
}

impl RateLimits {
    pub fn new(config: &RateLimitConfig, metrics: Arc<Metrics>) -> Result<Self, StoreSetupError> {
        let shared = match &config.store {
            Some(store) => Some(Shared {
                store: SharedStore::new(store)?,
                on_unavailable: store.on_unavailable,
                state: AtomicU8::new(UNKNOWN),
            }),
            None => None,
        };
        Ok(Self {
            config: config.clone(),
            local: LocalLimits::new(config),
            shared,
            metrics,
            request_rate: RequestRate::default(),
        })
    }

    /// `Some(true)` while the shared store answers, `Some(false)` while it does not (or before it
    /// first did), `None` without one.
    pub fn store_up(&self) -> Option<bool> {
        self.shared
            .as_ref()
            .map(|s| s.state.load(Ordering::Relaxed) == UP)
    }

    /// Whether this replica refuses requests for want of the store (`onUnavailable: deny`).
    pub fn denies_without_store(&self) -> bool {
        self.shared
            .as_ref()
            .is_some_and(|s| s.on_unavailable == StoreUnavailable::Deny)
            && self.store_up() != Some(true)
    }

    /// Before authentication: the client IP's failed-authentication block, then its limit.
    pub async fn admit_ip(&self, ip: IpAddr, now: Instant) -> Result<(), NotAdmitted> {
        if let Some(shared) = &self.shared {
            let buckets: Vec<_> = self
                .config
                .per_ip
                .map(|limit| shared.store.bucket("ip", &ip.to_string(), limit))
                .into_iter()
                .collect();
            let decided = shared.store.admit(Some(ip), &buckets, &["ip"]).await;
            if let Settled::Decided(verdict) = self.settle(shared, decided) {
                return verdict;
            }
        }
        self.local
            .admit_ip(ip, now)
            .map_err(|(limit, seconds)| NotAdmitted::Limited(Refused { limit, seconds }))
    }

    /// The failed-authentication block alone (the paths without a per-IP limit: `DELETE`, the
    /// admin endpoint, paths beneath `/mcp`).
    pub async fn check_blocked(&self, ip: IpAddr, now: Instant) -> Result<(), NotAdmitted> {
        if let Some(shared) = &self.shared {
            let decided = shared.store.admit(Some(ip), &[], &[]).await;
            if let Settled::Decided(verdict) = self.settle(shared, decided) {
                return verdict;
            }
        }
        self.local.failed_auth.check(ip, now).map_err(|seconds| {
            NotAdmitted::Limited(Refused {
                limit: "failed_auth",
                seconds,
            })
        })
    }

    /// After authentication: the per-token and per-tenant limits together; a request takes
    /// from both or from neither, and a refusal waits for the longer of the two.
    pub async fn admit_caller(
        &self,
        subject: &str,
        tenant: &str,
        now: Instant,
    ) -> Result<(), NotAdmitted> {
        if let Some(shared) = &self.shared {
            let mut buckets = Vec::new();
            let mut limits = Vec::new();
            if let Some(limit) = self.config.per_token {
                buckets.push(shared.store.bucket("token", subject, limit));
                limits.push("token");
            }
            if let Some(limit) = self.config.per_tenant {
                buckets.push(shared.store.bucket("tenant", tenant, limit));
                limits.push("tenant");
            }
            if buckets.is_empty() {
                return Ok(());
            }
            let decided = shared.store.admit(None, &buckets, &limits).await;
            if let Settled::Decided(verdict) = self.settle(shared, decided) {
                return verdict;
            }
        }
        self.local
            .admit_caller(subject, tenant, now)
            .map_err(|(limit, seconds)| NotAdmitted::Limited(Refused { limit, seconds }))
    }

    /// Counts a failed authentication from `ip`: true when it blocked the IP.
    pub async fn failed_authentication(&self, ip: IpAddr, now: Instant) -> bool {
        if let Some(shared) = &self.shared {
            let counted = shared
                .store
                .failed(
                    ip,
                    self.config.failed_auth_max_attempts.max(1),
                    Duration::from_millis(self.config.failed_auth_window_ms.max(1)),
                    Duration::from_millis(self.config.failed_auth_block_ms),
                )
                .await;
            match counted {
                Ok(blocked) => {
                    self.store_is(shared, UP, None);
                    return blocked;
                }
                Err(error) => self.store_is(shared, DOWN, Some(&error)),
            }
        }
        self.local.failed_auth.failed(ip, now)
    }

    /// Probes the shared store (`PING`), so its state is known while no request asks (at start,
    /// and while it is down): the background task of `App::start`.
    pub async fn watch_store(self: Arc<Self>) {
        let Some(shared) = &self.shared else {
            return;
        };
        loop {
            match shared.store.ping().await {
                Ok(()) => self.store_is(shared, UP, None),
                Err(error) => self.store_is(shared, DOWN, Some(&error)),
            }
            let wait = if shared.state.load(Ordering::Relaxed) == UP {
                Duration::from_secs(5)
            } else {
                Duration::from_secs(1)
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// What the store's answer (or its silence) means for the request.
    fn settle(&self, shared: &Shared, decided: Result<Option<Refused>, StoreError>) -> Settled {
        match decided {
            Ok(refused) => {
                self.store_is(shared, UP, None);
                Settled::Decided(match refused {
                    None => Ok(()),
                    Some(refused) => Err(NotAdmitted::Limited(refused)),
                })
            }
            Err(error) => {
                self.store_is(shared, DOWN, Some(&error));
                match shared.on_unavailable {
                    StoreUnavailable::Local => Settled::Fallback,
                    StoreUnavailable::Deny => Settled::Decided(Err(NotAdmitted::StoreUnavailable)),
                }
            }
        }
    }

    /// Records the store's state; a change is logged once and exported.
    fn store_is(&self, shared: &Shared, state: u8, error: Option<&StoreError>) {
        let was = shared.state.swap(state, Ordering::Relaxed);
        self.metrics
            .set(m::RATELIMIT_STORE_UP, &[], i64::from(state == UP));
        if was == state {
            return;
        }
        match (state, error) {
            (UP, _) => {
                tracing::info!("the rate-limit store answers: limits are shared by the replicas")
            }
            (_, error) => {
                let error = error.map(ToString::to_string).unwrap_or_default();
                match shared.on_unavailable {
                    StoreUnavailable::Local => {
                        tracing::error!(error_type = "rate_limit_store_unavailable", error = %error, "the rate-limit store does not answer: this replica limits on its own meanwhile")
                    }
                    StoreUnavailable::Deny => {
                        tracing::error!(error_type = "rate_limit_store_unavailable", error = %error, "the rate-limit store does not answer: requests are refused meanwhile (onUnavailable: deny)")
                    }
                }
            }
        }
    }
}
