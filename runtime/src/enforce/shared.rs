//! What the replicas share, in Redis or Valkey (`rateLimiting.store.redis`): the rate limits,
//! the failed-authentication throttle, and the state of sessions (ended, last used).
//!
//! Each limit is a GCRA cell (the "theoretical arrival time" of the next request, one key per
//! limited thing), equivalent to the local token bucket: `burst` at once, then `rate`. A
//! decision is one atomic script on the server, on the server's clock (replicas' clocks never
//! meet), so the buckets a request draws from are taken all or none and `Retry-After` is the
//! server's answer. Keys carry `keyPrefix` and expire on their own; a subject or tenant is named
//! by a digest, never as written.
//!
//! The store knows whether it answers: every command's outcome moves its state, a change is
//! logged once and exported as `airlock_ratelimit_store_up`, and while it is down a probe every
//! second notices its return (`watch`).

use super::ratelimit::Refused;
use crate::record::metrics::Metrics;
use airlock_schema::config::StoreUnavailable;
use airlock_schema::metrics as m;
use airlock_schema::runtime::{RateLimit, RedisConfig};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{IntoConnectionInfo, Script};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

/// The longest a decision waits for the store before the replica treats it as unavailable.
pub const ANSWER_WITHIN: Duration = Duration::from_millis(250);

/// Admission against up to three buckets, after checking an IP's failed-authentication block.
/// KEYS: [block key or "", bucket...]; ARGV: [interval_us, tolerance_us] per bucket. Returns
/// {1} admitted, {0, wait_ms, bucket index} refused, {-1, wait_ms} blocked.
const ADMIT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
if KEYS[1] ~= '' then
  local blocked = redis.call('PTTL', KEYS[1])
  if blocked > 0 then return {-1, blocked} end
end
local worst, refused, tats = 0, 0, {}
for i = 2, #KEYS do
  local interval = tonumber(ARGV[2 * (i - 1) - 1])
  local tolerance = tonumber(ARGV[2 * (i - 1)])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  local wait = tat - tolerance - now
  if wait > 0 and wait > worst then worst, refused = wait, i - 1 end
  tats[i] = tat + interval
end
if refused > 0 then return {0, math.ceil(worst / 1000), refused} end
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], string.format('%.0f', tats[i]), 'PX', math.ceil((tats[i] - now) / 1000) + 1000)
end
return {1}
"#;

/// A failed authentication. KEYS: [failures, block]; ARGV: [max attempts, window ms, block ms].
/// Returns 1 when this failure blocked the IP.
const FAILED: &str = r#"
local failures = redis.call('INCR', KEYS[1])
if failures == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if failures >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"#;

/// A session's state. KEYS: [ended, last used]; ARGV: [idle ms, 1 when the session is younger
/// than the idle timeout (a use the store may not have seen)]. Returns 1 while it lives.
const TOUCH_SESSION: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('PEXPIRE', KEYS[2], ARGV[1]) == 1 then return 1 end
if ARGV[2] == '1' then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
  return 1
end
return 0
"#;

/// Why the store did not decide.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the rate-limit store did not answer within {} ms", ANSWER_WITHIN.as_millis())]
    Timeout,
    #[error("the rate-limit store failed: {0}")]
    Redis(#[from] redis::RedisError),
}

/// Why the store cannot be set up at all (the gateway does not start).
#[derive(Debug, thiserror::Error)]
pub enum StoreSetupError {
    #[error("cannot read the rate-limit store's password {path}: {source}")]
    Password {
        path: String,
        source: std::io::Error,
    },
    #[error("the rate-limit store URL is not valid: {0}")]
    Url(redis::RedisError),
}

/// A limit as a GCRA cell: the emission interval and the burst tolerance, in microseconds.
#[derive(Clone, Copy)]
pub struct Cell {
    interval_us: u64,
    tolerance_us: u64,
}

impl From<RateLimit> for Cell {
    fn from(limit: RateLimit) -> Self {
        let interval_us = (limit.period_ms.max(1) * 1000) / u64::from(limit.count.max(1));
        Self {
            interval_us: interval_us.max(1),
            tolerance_us: interval_us.max(1) * u64::from(limit.burst.max(1) - 1),
        }
    }
}

/// A bucket a request draws from: its key and its limit.
pub struct Bucket {
    key: String,
    cell: Cell,
}

pub struct SharedStore {
    manager: ConnectionManager,
    prefix: String,
    admit: Script,
    failed: Script,
    touch_session: Script,
    /// What a replica does while the store does not answer.
    pub on_unavailable: StoreUnavailable,
    /// UNKNOWN, UP or DOWN.
    state: AtomicU8,
    metrics: Arc<Metrics>,
}

const UNKNOWN: u8 = 0;
const UP: u8 = 1;
const DOWN: u8 = 2;

impl SharedStore {
    /// Connects lazily (the first command connects), so a store that is down at start delays
    /// nothing.
    pub fn new(config: &RedisConfig, metrics: Arc<Metrics>) -> Result<Self, StoreSetupError> {
        let mut info = config
            .url
            .as_str()
            .into_connection_info()
            .map_err(StoreSetupError::Url)?;
        if let Some(path) = &config.password_file {
            let password =
                std::fs::read_to_string(crate::config::secret_path(path)).map_err(|source| {
                    StoreSetupError::Password {
                        path: path.clone(),
                        source,
                    }
                })?;
            let settings = info
                .redis_settings()
                .clone()
                .set_password(password.trim_end());
            info = info.set_redis_settings(settings);
        }
        let client = redis::Client::open(info).map_err(StoreSetupError::Url)?;
        let manager = client
            .get_connection_manager_lazy(
                ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_millis(500)))
                    .set_response_timeout(Some(ANSWER_WITHIN))
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_millis(500)),
            )
            .map_err(StoreSetupError::Url)?;
        metrics.set(m::RATELIMIT_STORE_UP, &[], 0);
        Ok(Self {
            manager,
            prefix: config.key_prefix.clone(),
            admit: Script::new(ADMIT),
            failed: Script::new(FAILED),
            touch_session: Script::new(TOUCH_SESSION),
            on_unavailable: config.on_unavailable,
            state: AtomicU8::new(UNKNOWN),
            metrics,
        })
    }

    /// Whether the store answered last time.
    pub fn is_up(&self) -> bool {
        self.state.load(Ordering::Relaxed) == UP
    }

    /// Probes the store (`PING`) so its state is known while no request asks: at start, every
    /// second while it is down, every five while it answers.
    pub async fn watch(self: Arc<Self>) {
        loop {
            let _ = self.ping().await;
            let wait = if self.is_up() { 5 } else { 1 };
            tokio::time::sleep(Duration::from_secs(wait)).await;
        }
    }

    /// Runs a command within the answer budget, recording whether the store answered.
    async fn run<T>(
        &self,
        command: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        let result = match tokio::time::timeout(ANSWER_WITHIN, command).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(StoreError::Redis(error)),
            Err(_) => Err(StoreError::Timeout),
        };
        self.record(result.as_ref().err());
        result
    }

    /// Moves the state; a change is logged once and exported.
    fn record(&self, error: Option<&StoreError>) {
        let state = if error.is_none() { UP } else { DOWN };
        let was = self.state.swap(state, Ordering::Relaxed);
        self.metrics
            .set(m::RATELIMIT_STORE_UP, &[], i64::from(state == UP));
        if was == state {
            return;
        }
        match error {
            None => tracing::info!(
                "the shared store answers: limits and sessions are shared by the replicas"
            ),
            Some(error) => match self.on_unavailable {
                StoreUnavailable::Local => {
                    tracing::error!(error_type = "rate_limit_store_unavailable", error = %error, "the shared store does not answer: this replica limits on its own meanwhile")
                }
                StoreUnavailable::Deny => {
                    tracing::error!(error_type = "rate_limit_store_unavailable", error = %error, "the shared store does not answer: requests are refused meanwhile (onUnavailable: deny)")
                }
            },
        }
    }

    /// The bucket of the limit `kind` (`ip`, `token`, `tenant`) for `who`.
    pub fn bucket(&self, kind: &str, who: &str, limit: RateLimit) -> Bucket {
        Bucket {
            key: format!("{}rl:{kind}:{}", self.prefix, digest(who)),
            cell: limit.into(),
        }
    }

    fn block_key(&self, ip: IpAddr) -> String {
        format!("{}block:{ip}", self.prefix)
    }

    /// Takes from every bucket or none: `Ok(None)` admitted, `Ok(Some(refusal))` refused by
    /// the longest wait (`limits` names the buckets, in order), or the IP's throttle block.
    pub async fn admit(
        &self,
        block: Option<IpAddr>,
        buckets: &[Bucket],
        limits: &[&'static str],
    ) -> Result<Option<Refused>, StoreError> {
        let mut invocation = self.admit.prepare_invoke();
        invocation.key(block.map(|ip| self.block_key(ip)).unwrap_or_default());
        for bucket in buckets {
            invocation
                .key(&bucket.key)
                .arg(bucket.cell.interval_us)
                .arg(bucket.cell.tolerance_us);
        }
        let mut connection = self.manager.clone();
        let answer: Vec<i64> = self.run(invocation.invoke_async(&mut connection)).await?;
        let seconds = |ms: i64| (ms.max(1) as u64).div_ceil(1000);
        Ok(match answer.as_slice() {
            [1, ..] => None,
            [-1, wait, ..] => Some(Refused {
                limit: "failed_auth",
                seconds: seconds(*wait),
            }),
            [0, wait, index, ..] => Some(Refused {
                limit: limits
                    .get((*index as usize).saturating_sub(1))
                    .copied()
                    .unwrap_or("token"),
                seconds: seconds(*wait),
            }),
            _ => None,
        })
    }

    /// Counts a failed authentication from `ip`: true when it blocked the IP.
    pub async fn failed(
        &self,
        ip: IpAddr,
        max_attempts: u32,
        window: Duration,
        block: Duration,
    ) -> Result<bool, StoreError> {
        let mut invocation = self.failed.prepare_invoke();
        invocation
            .key(format!("{}fail:{ip}", self.prefix))
            .key(self.block_key(ip))
            .arg(max_attempts)
            .arg(window.as_millis() as u64)
            .arg(block.as_millis() as u64);
        let mut connection = self.manager.clone();
        let blocked: i64 = self.run(invocation.invoke_async(&mut connection)).await?;
        Ok(blocked == 1)
    }

    fn session_keys(&self, session: &str) -> (String, String) {
        (
            format!("{}session:ended:{session}", self.prefix),
            format!("{}session:used:{session}", self.prefix),
        )
    }

    /// A session began: its last use is now.
    pub async fn session_began(&self, session: &str, idle: Duration) -> Result<(), StoreError> {
        let (_, used) = self.session_keys(session);
        let mut connection = self.manager.clone();
        self.run(
            redis::cmd("SET")
                .arg(used)
                .arg(1)
                .arg("PX")
                .arg(idle.as_millis() as u64)
                .query_async::<()>(&mut connection),
        )
        .await
    }

    /// A session is used: `false` when it was ended or has been idle too long, on any
    /// replica. `fresh`: it began less than `idle` ago, so a missing last use is one the store
    /// did not see (it was down), not idleness.
    pub async fn session_used(
        &self,
        session: &str,
        idle: Duration,
        fresh: bool,
    ) -> Result<bool, StoreError> {
        let (ended, used) = self.session_keys(session);
        let mut invocation = self.touch_session.prepare_invoke();
        invocation
            .key(ended)
            .key(used)
            .arg(idle.as_millis() as u64)
            .arg(u8::from(fresh));
        let mut connection = self.manager.clone();
        let alive: i64 = self.run(invocation.invoke_async(&mut connection)).await?;
        Ok(alive == 1)
    }

    /// A session ended (`DELETE /mcp`), on every replica, until it would have expired.
    pub async fn session_ended(
        &self,
        session: &str,
        remaining: Duration,
    ) -> Result<(), StoreError> {
        let (ended, used) = self.session_keys(session);
        let mut connection = self.manager.clone();
        self.run(
            redis::pipe()
                .atomic()
                .cmd("SET")
                .arg(ended)
                .arg(1)
                .arg("PX")
                .arg(remaining.as_millis().max(1) as u64)
                .ignore()
                .cmd("DEL")
                .arg(used)
                .ignore()
                .query_async::<()>(&mut connection),
        )
        .await
    }

    /// The server's version and one round trip's time (`airlock doctor`): connects, checks the
    /// password (`AUTH`), asks `INFO server`.
    pub async fn probe(&self) -> Result<(String, Duration), StoreError> {
        let started = std::time::Instant::now();
        self.ping().await?;
        let round_trip = started.elapsed();
        let mut connection = self.manager.clone();
        let info: String = self
            .run(
                redis::cmd("INFO")
                    .arg("server")
                    .query_async(&mut connection),
            )
            .await?;
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .map(str::trim)
                .map(str::to_string)
        };
        let version = match (field("valkey_version"), field("redis_version")) {
            (Some(valkey), _) => format!("Valkey {valkey}"),
            (None, Some(redis)) => format!("Redis {redis}"),
            (None, None) => "an unknown server".into(),
        };
        Ok((version, round_trip))
    }

    /// Whether the store answers (`PING`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut connection = self.manager.clone();
        self.run(redis::cmd("PING").query_async::<String>(&mut connection))
            .await?;
        Ok(())
    }
}

/// A bounded, opaque name for a subject or tenant (what a client sends is never a key).
fn digest(who: &str) -> String {
    hex::encode(&Sha256::digest(who.as_bytes())[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_becomes_its_cell() {
        let cell = Cell::from(RateLimit {
            count: 60,
            period_ms: 60_000,
            burst: 10,
        });
        assert_eq!(
            (cell.interval_us, cell.tolerance_us),
            (1_000_000, 9_000_000)
        );
    }
}
