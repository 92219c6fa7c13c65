//! The gateway's state, built once from the frozen config, and its background tasks (key
//! refresh, upstream supervisors). Everything the request path needs hangs off [`App`].

use crate::enforce::auth::{Authenticator, Jwks};
use crate::enforce::authz::{Authorizer, PolicyError};
use crate::enforce::client_ip::TrustedProxyError;
use crate::enforce::dlp::{DlpError, Redactor};
use crate::enforce::ratelimit::RateLimits;
use crate::enforce::sessions::{SessionKeyError, Sessions};
use crate::enforce::shared::{SharedStore, StoreSetupError};
use crate::record::metrics::Metrics;
use crate::upstream::{SetupError, Upstream};
use airlock_schema::metrics as m;
use airlock_schema::runtime::FrozenConfig;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

pub struct App {
    pub config: FrozenConfig,
    pub metrics: Arc<Metrics>,
    pub(crate) auth: Authenticator,
    pub(crate) authz: Authorizer,
    pub(crate) limits: RateLimits,
    /// What the replicas share (limits, sessions' state), when configured.
    pub(crate) shared: Option<Arc<SharedStore>>,
    pub(crate) dlp: Redactor,
    pub(crate) upstreams: Vec<Arc<Upstream>>,
    pub(crate) sessions: Sessions,
    pub(crate) concurrency: Arc<Semaphore>,
    /// `airlock_in_flight_requests`, moved by every request.
    pub(crate) in_flight: crate::record::metrics::Gauge,
    pub(crate) started: Instant,
    pub(crate) tracer: Option<crate::record::traces::Tracer>,
    pub audit: Arc<crate::record::audit::AuditLog>,
    pub(crate) roots: crate::enforce::roots::Roots,
    /// The proxies whose `X-Forwarded-For` names the client.
    pub(crate) proxies: crate::enforce::client_ip::TrustedProxies,
}

/// An HTTP client that cannot be built (its TLS backend did not initialize).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct HttpClientError(#[source] reqwest::Error);

/// Why the gateway cannot start from a config: what cannot work at all.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    HttpClient(#[from] HttpClientError),
    #[error("the policy does not compile: {0}")]
    Policy(#[source] PolicyError),
    #[error(transparent)]
    Dlp(#[from] DlpError),
    #[error(transparent)]
    Upstream(#[from] SetupError),
    #[error(transparent)]
    SharedStore(#[from] StoreSetupError),
    #[error(transparent)]
    Sessions(#[from] SessionKeyError),
    #[error(transparent)]
    TrustedProxies(#[from] TrustedProxyError),
}

/// The HTTP client for the identity provider and HTTP upstreams: TLS verified against the
/// system roots, bounded connect time, no redirects (a redirect is not an MCP answer), and
/// never a metadata or link-local address whatever DNS answers.
pub fn http_client() -> Result<reqwest::Client, HttpClientError> {
    reqwest::Client::builder()
        .dns_resolver(crate::outbound::GuardedResolver)
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(300))
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(60))
        .user_agent(concat!("airlock/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(HttpClientError)
}

/// Creates at zero the series that alerts and runbooks watch with `increase()` and `rate()`,
/// which cannot see the first event of a series that did not exist before it: the first audit
/// failure or refused reload after a pod starts must count, not only the second.
fn zero_series(metrics: &Metrics, config: &FrozenConfig) {
    for name in [
        m::AUTH_ATTEMPTS_TOTAL,
        m::AUTH_SUCCESS_TOTAL,
        m::AUDIT_EVENTS_TOTAL,
    ] {
        metrics.add(name, &[], 0);
    }
    for reason in ["store_unavailable", "buffer_full", "writer_stopped"] {
        metrics.add(m::AUDIT_ERRORS_TOTAL, &[("reason", reason)], 0);
    }
    for result in ["success", "failure"] {
        metrics.add(m::POLICY_RELOADS_TOTAL, &[("result", result)], 0);
    }
    for limit in ["token", "ip", "tenant", "failed_auth"] {
        metrics.add(m::RATE_LIMITED_TOTAL, &[("limit", limit)], 0);
    }
    metrics.add(
        m::REQUESTS_FAILED_TOTAL,
        &[("status", "403"), ("error_type", "policy_denied")],
        0,
    );
    let roots = config.roots.iter().map(|root| match root {
        airlock_schema::runtime::RootConfig::Fs { name, .. }
        | airlock_schema::runtime::RootConfig::S3 { name, .. } => name.as_str(),
    });
    for root in roots.chain(["none"]) {
        for reason in crate::errors::ViolationKind::ALL {
            metrics.add(
                m::SECURITY_VIOLATIONS_TOTAL,
                &[("reason", reason.as_str()), ("root", root)],
                0,
            );
        }
    }
    for pattern in &config.dlp {
        metrics.add(m::DLP_REDACTIONS_TOTAL, &[("pattern", &pattern.name)], 0);
    }
    for gauge in [
        m::AUDIT_BUFFERED_EVENTS,
        m::AUDIT_STORE_UP,
        m::IN_FLIGHT_REQUESTS,
    ] {
        metrics.set(gauge, &[], 0);
    }
}

impl App {
    /// Builds the gateway from a verified config. Fails only on what cannot work at all
    /// (a policy that does not compile, an unreadable secret, a DLP pattern that does not build).
    pub fn new(config: FrozenConfig) -> Result<Arc<Self>, StartError> {
        let metrics = Arc::new(Metrics::default());
        zero_series(&metrics, &config);
        let client = http_client()?;
        let discovery_client = reqwest::Client::builder()
            .dns_resolver(crate::outbound::GuardedResolver)
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(HttpClientError)?;
        let jwks = Arc::new(Jwks::new(
            &config.auth.issuer,
            config.auth.jwks_cache_ttl_ms,
            discovery_client,
        ));
        let auth = Authenticator::new(&config.auth, jwks);
        let authz = Authorizer::new(&config.policy, metrics.clone()).map_err(StartError::Policy)?;
        let dlp = Redactor::new(&config.dlp)?;
        let audit = crate::record::audit::AuditLog::start(&config.audit, metrics.clone());
        let upstreams = config
            .upstreams
            .iter()
            .map(|u| {
                let integrity = crate::upstream::Integrity::new(&config.tools, &u.name);
                Upstream::new(
                    u,
                    client.clone(),
                    metrics.clone(),
                    integrity,
                    Some(audit.clone()),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let tracer = config
            .observability
            .tracing
            .as_ref()
            .map(|t| crate::record::traces::Tracer::start(t, client.clone()));
        let roots = crate::enforce::roots::Roots::new(&config.roots);
        let proxies =
            crate::enforce::client_ip::TrustedProxies::new(&config.server.trusted_proxies)?;
        let shared = config
            .rate_limits
            .store
            .as_ref()
            .map(|store| SharedStore::new(store, metrics.clone()).map(Arc::new))
            .transpose()?;
        Ok(Arc::new(Self {
            proxies,
            audit,
            roots,
            tracer,
            limits: RateLimits::new(&config.rate_limits, shared.clone()),
            concurrency: Arc::new(Semaphore::new(
                config.server.max_concurrent_requests.max(1) as usize
            )),
            sessions: Sessions::new(&config.server.sessions, shared.clone())?,
            shared,
            started: Instant::now(),
            in_flight: metrics.gauge_handle(m::IN_FLIGHT_REQUESTS),
            metrics,
            auth,
            authz,
            dlp,
            upstreams,
            config,
        }))
    }

    /// Starts the background tasks: key refresh and one supervisor per upstream.
    pub fn start(self: &Arc<Self>) {
        tokio::spawn(self.auth.jwks.clone().run_refresher());
        if let Some(shared) = &self.shared {
            tokio::spawn(shared.clone().watch());
        }
        for upstream in &self.upstreams {
            tokio::spawn(upstream.clone().run());
        }
        if let Some(schedule) = &self.config.audit.cleanup_schedule {
            tokio::spawn(crate::record::audit::retention::run(
                self.audit.clone(),
                schedule.clone(),
                self.config.audit.retention_ms,
                self.config.audit.export.is_some(),
            ));
        }
        if let Some(export) = &self.config.audit.export {
            tokio::spawn(crate::record::audit::export::run(
                self.audit.clone(),
                export.clone(),
            ));
        }
    }

    /// Reloads the policy and records the reload in the audit trail. Room for the reload's
    /// event is taken first: a reload the trail could not record is not made.
    pub async fn reload_policy(
        self: &Arc<Self>,
        trigger: &str,
        subject: Option<&str>,
    ) -> crate::enforce::authz::ReloadOutcome {
        let Some(slot) = self
            .audit
            .reserve(&crate::record::ids::request_id(), Duration::from_secs(30))
            .await
        else {
            tracing::error!(
                error_type = "audit_unavailable",
                trigger,
                "the policy was not reloaded: the audit trail cannot record the reload right now"
            );
            return crate::enforce::authz::ReloadOutcome {
                result: "refused",
                policy_sha256: self.authz.sha256(),
                error: Some(
                    "the audit trail cannot record the reload right now; retry shortly".into(),
                ),
                last_known_good: self.authz.last_known_good(),
            };
        };
        let app = self.clone();
        let outcome = tokio::task::spawn_blocking(move || app.authz.reload())
            .await
            .unwrap_or_else(|_| crate::enforce::authz::ReloadOutcome {
                result: "failed",
                policy_sha256: self.authz.sha256(),
                error: Some("the reload task failed".into()),
                last_known_good: true,
            });
        let event = crate::record::audit::Event::new("policy_reload")
            .set("trigger", trigger)
            .maybe("subject", subject)
            .set(
                "outcome",
                if outcome.result == "reloaded" {
                    "success"
                } else {
                    "failure"
                },
            )
            .set("policy_sha256", outcome.policy_sha256.clone())
            .maybe("reason", outcome.error.clone());
        slot.record(event);
        outcome
    }

    /// Ready: keys fetched, policy compiled, every upstream's first handshake done.
    pub fn readiness(&self) -> Vec<String> {
        let mut waiting = Vec::new();
        if !self.auth.jwks.is_loaded() {
            waiting.push("the identity provider's keys are not fetched yet".to_string());
        }
        if self.limits.denies_without_store() {
            waiting.push("the rate-limit store does not answer (onUnavailable: deny)".to_string());
        }
        for upstream in &self.upstreams {
            if !upstream.state().attempted {
                waiting.push(format!(
                    "upstream {} is still initializing",
                    upstream.name()
                ));
            }
        }
        waiting
    }

    /// The URL of the protected-resource metadata (RFC 9728) for `WWW-Authenticate`.
    pub fn resource_metadata_url(&self, host: Option<&str>) -> String {
        format!(
            "{}/.well-known/oauth-protected-resource",
            self.base_url(host)
        )
    }

    /// The public base URL: configured, or derived from the request's Host when that is a
    /// plain `host[:port]` (anything else could inject into `WWW-Authenticate` or the
    /// protected-resource metadata, so it is not repeated).
    pub fn base_url(&self, host: Option<&str>) -> String {
        match &self.config.server.public_base_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!(
                "http://{}",
                host.filter(|h| is_authority(h)).unwrap_or("localhost")
            ),
        }
    }

    pub fn shutdown(&self) {
        for upstream in &self.upstreams {
            upstream.shutdown();
        }
    }
}

/// A Host header that is only an authority: a DNS name or IPv4 address, or a bracketed IPv6
/// address, with an optional port.
fn is_authority(host: &str) -> bool {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') || name.ends_with(']') => (name, Some(port)),
        _ => (host, None),
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    let name_ok = match name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => {
            !name.is_empty()
                && name.len() <= 253
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        }
    };
    port_ok && name_ok
}

#[cfg(test)]
mod authority_tests {
    use super::is_authority;

    #[test]
    fn only_plain_authorities_are_repeated() {
        for good in [
            "localhost",
            "gw.example.com:8443",
            "10.0.0.1:80",
            "[::1]:8080",
            "[fe80::1]",
        ] {
            assert!(is_authority(good), "{good}");
        }
        for bad in [
            "",
            "evil.example.com/x\" error=\"y",
            "a b",
            "host:port",
            "host:",
            "[::1",
            "::1",
            "h\u{e9}te",
            "user@host",
            "host:123456",
        ] {
            assert!(!is_authority(bad), "{bad}");
        }
    }
}
