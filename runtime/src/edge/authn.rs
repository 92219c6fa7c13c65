//! Authentication of one HTTP request, the same on every path that takes a token (`/mcp`, the
//! paths beneath it, `DELETE /mcp`, the admin endpoint), so no path is a way around the
//! brute-force throttle: a client IP throttled for failed attempts is refused first; every
//! attempt, success and failure is metered; every failure but a missing token or an
//! unreachable identity provider counts toward the throttle.

use crate::app::App;
use crate::enforce::auth::{AuthError, Authenticator, Principal};
use crate::enforce::ratelimit::{NotAdmitted, Refused};
use crate::errors::AuthStage;
use crate::errors::{ErrorType, Failure};
use airlock_schema::metrics as m;
use axum::http::HeaderMap;
use std::net::IpAddr;
use std::time::Instant;

/// Why a request was not authenticated; `stage` is `None` when no attempt was made (the client
/// IP is throttled).
pub struct Refusal {
    pub stage: Option<AuthStage>,
    pub failure: Failure,
}

/// Whether the client IP's failed-authentication block is still to be checked: the `POST /mcp`
/// pipeline checks it with the per-IP limit, in the same round trip to a shared store.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    Check,
    Checked,
}

/// The failure of a request a limit did not admit: 429 for a limit (counted in
/// `airlock_rate_limited_total`), 503 for a shared store that does not answer (`deny`).
pub fn not_admitted(app: &App, refusal: NotAdmitted) -> Failure {
    match refusal {
        NotAdmitted::Limited(Refused { limit, seconds }) => limited(app, limit, seconds),
        NotAdmitted::StoreUnavailable => Failure::new(
            ErrorType::RateLimitStoreUnavailable,
            "the rate-limit store does not answer; retry shortly",
        )
        .retry_after(1),
    }
}

/// A 429 for the rate limit `limit`, counted in `airlock_rate_limited_total`.
fn limited(app: &App, limit: &'static str, seconds: u64) -> Failure {
    app.metrics.inc(m::RATE_LIMITED_TOTAL, &[("limit", limit)]);
    let kind = if limit == "failed_auth" {
        ErrorType::AuthThrottled
    } else {
        ErrorType::RateLimited
    };
    Failure::new(
        kind,
        format!("rate limit exceeded ({limit}); retry in {seconds} s"),
    )
    .retry_after(seconds)
}

/// Authenticates the bearer token of `headers`, sent from `client_ip`.
pub async fn authenticate(
    app: &App,
    headers: &HeaderMap,
    client_ip: IpAddr,
    request_id: &str,
    throttle: Throttle,
) -> Result<std::sync::Arc<Principal>, Refusal> {
    if throttle == Throttle::Check
        && let Err(refusal) = app.limits.check_blocked(client_ip, Instant::now()).await
    {
        return Err(Refusal {
            stage: None,
            failure: not_admitted(app, refusal),
        });
    }
    app.metrics.inc(m::AUTH_ATTEMPTS_TOTAL, &[]);
    let result = match Authenticator::extract(headers) {
        Ok(token) => app.auth.validate(token).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(principal) => {
            app.metrics.inc(m::AUTH_SUCCESS_TOTAL, &[]);
            Ok(principal)
        }
        Err(AuthError { stage, failure }) => {
            app.metrics.inc(
                m::AUTH_FAILURES_TOTAL,
                &[("error_type", failure.kind.as_str())],
            );
            let counts = !matches!(
                failure.kind,
                ErrorType::MissingToken | ErrorType::IdentityProviderUnavailable
            );
            if counts
                && app
                    .limits
                    .failed_authentication(client_ip, Instant::now())
                    .await
            {
                tracing::warn!(request_id, client_ip = %client_ip, error_type = "auth_throttled", "too many failed authentications; the client IP is throttled");
            }
            Err(Refusal {
                stage: Some(stage),
                failure,
            })
        }
    }
}
