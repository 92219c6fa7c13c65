//! Rate limits: per client IP before authentication (with the failed-authentication throttle),
//! per token (subject) and per tenant after it. With `rateLimiting.store.redis` every replica
//! shares them (`enforce::shared`); without, or while the store does not answer and
//! `onUnavailable: local`, each replica counts alone (`local`). With `onUnavailable: deny` a
//! request is refused (503) while the store does not answer, and the replica is not ready.

mod local;

use super::shared::{SharedStore, StoreError};
use airlock_schema::config::StoreUnavailable;
use airlock_schema::runtime::RateLimitConfig;
use local::LocalLimits;
pub use local::RequestRate;
use std::net::IpAddr;
use std::sync::Arc;
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

/// What the store's answer means for a request.
enum Settled {
    /// Admitted or refused: the store decided (or its absence refuses, `deny`).
    Decided(Result<(), NotAdmitted>),
    /// The store did not answer: this replica's own limits decide (`local`).
    Fallback,
}

pub struct RateLimits {
    config: RateLimitConfig,
    local: LocalLimits,
    shared: Option<Arc<SharedStore>>,
    /// Requests per subject, for policies: always this replica's count.
    pub request_rate: RequestRate,
}

impl RateLimits {
    pub fn new(config: &RateLimitConfig, shared: Option<Arc<SharedStore>>) -> Self {
        Self {
            config: config.clone(),
            local: LocalLimits::new(config),
            shared,
            request_rate: RequestRate::default(),
        }
    }

    /// `Some(true)` while the shared store answers, `Some(false)` while it does not (or before it
    /// first did), `None` without one.
    pub fn store_up(&self) -> Option<bool> {
        self.shared.as_ref().map(|s| s.is_up())
    }

    /// Whether this replica refuses requests for want of the store (`onUnavailable: deny`).
    pub fn denies_without_store(&self) -> bool {
        self.shared
            .as_ref()
            .is_some_and(|s| s.on_unavailable == StoreUnavailable::Deny && !s.is_up())
    }

    /// Before authentication: the client IP's failed-authentication block, then its limit.
    pub async fn admit_ip(&self, ip: IpAddr, now: Instant) -> Result<(), NotAdmitted> {
        if let Some(shared) = &self.shared {
            let buckets: Vec<_> = self
                .config
                .per_ip
                .map(|limit| shared.bucket("ip", &ip.to_string(), limit))
                .into_iter()
                .collect();
            let decided = shared.admit(Some(ip), &buckets, &["ip"]).await;
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
            let decided = shared.admit(Some(ip), &[], &[]).await;
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
                buckets.push(shared.bucket("token", subject, limit));
                limits.push("token");
            }
            if let Some(limit) = self.config.per_tenant {
                buckets.push(shared.bucket("tenant", tenant, limit));
                limits.push("tenant");
            }
            if buckets.is_empty() {
                return Ok(());
            }
            let decided = shared.admit(None, &buckets, &limits).await;
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
                .failed(
                    ip,
                    self.config.failed_auth_max_attempts.max(1),
                    Duration::from_millis(self.config.failed_auth_window_ms.max(1)),
                    Duration::from_millis(self.config.failed_auth_block_ms),
                )
                .await;
            if let Ok(blocked) = counted {
                return blocked;
            }
        }
        self.local.failed_auth.failed(ip, now)
    }

    /// What the store's answer (or its silence) means for the request.
    fn settle(
        &self,
        shared: &SharedStore,
        decided: Result<Option<Refused>, StoreError>,
    ) -> Settled {
        match decided {
            Ok(None) => Settled::Decided(Ok(())),
            Ok(Some(refused)) => Settled::Decided(Err(NotAdmitted::Limited(refused))),
            Err(_) => match shared.on_unavailable {
                StoreUnavailable::Local => Settled::Fallback,
                StoreUnavailable::Deny => Settled::Decided(Err(NotAdmitted::StoreUnavailable)),
            },
        }
    }
}
