//! What many replicas need to act as one gateway: the session key they share (read and long
//! enough, as the gateway will refuse it at start otherwise) and the rate-limit store (reachable,
//! the password accepted, its round trip and version).

use super::Check;
use crate::enforce::sessions::Sessions;
use airlock_schema::runtime::FrozenConfig;

pub fn sessions(config: &FrozenConfig) -> Check {
    let sessions = &config.server.sessions;
    if sessions.key_file.is_none() {
        return Check::pass(
            "sessions.key",
            "no session key: each replica seals its own sessions (one replica only)",
        );
    }
    match Sessions::new(sessions, None) {
        Ok(_) if sessions.previous_key_file.is_some() => Check::pass(
            "sessions.key",
            "the session key and the previous one (a rotation) are readable and long enough",
        ),
        Ok(_) => Check::pass(
            "sessions.key",
            "the session key is readable and long enough: every replica opens every session",
        ),
        Err(error) => Check::fail(
            "sessions.key",
            error.to_string(),
            "create the Secret of server.sessions.keySecretRef with at least 32 random bytes: kubectl create secret generic airlock-sessions --from-literal=key=\"$(openssl rand -base64 48)\"",
        ),
    }
}

pub async fn rate_limit_store(config: &FrozenConfig) -> Check {
    let Some(store) = &config.rate_limits.store else {
        return Check::skip(
            "ratelimit.store",
            "no shared store: each replica counts its own limits",
        );
    };
    let probed = match crate::enforce::shared::SharedStore::new(
        store,
        std::sync::Arc::new(crate::record::metrics::Metrics::default()),
    ) {
        Ok(shared) => shared.probe().await.map_err(|e| e.to_string()),
        Err(error) => Err(error.to_string()),
    };
    match probed {
        Ok((version, round_trip)) => {
            let ms = round_trip.as_secs_f64() * 1000.0;
            let reason = format!("{version} at {} answers in {ms:.1} ms", store.url);
            if round_trip.as_millis() > 50 {
                Check::warn(
                    "ratelimit.store",
                    reason,
                    "every request waits for two round trips to the store: run it close to the gateway (same zone)",
                )
            } else {
                Check::pass("ratelimit.store", reason)
            }
        }
        Err(error) => Check::fail(
            "ratelimit.store",
            format!("{} does not answer: {error}", store.url),
            "check that Redis runs, that the egress NetworkPolicy allows its host and port, and that the Secret of passwordSecretRef holds its password (NOAUTH/WRONGPASS)",
        ),
    }
}
