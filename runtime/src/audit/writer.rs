//! The audit writer: the request path hands events to a bounded buffer and never waits for the
//! store; a background task takes everything waiting (group commit), appends it as one batch,
//! and on failure, or when the store does not answer within `WRITE_TIMEOUT`, keeps the batch,
//! counts and logs the error, and retries with backoff — when the store returns, the buffer
//! drains and nothing is lost. A full buffer rejects new requests (503) or blocks them, as
//! `audit.onBufferFull` says. Never silent.

use super::store::Store;
use crate::metrics::Metrics;
use airlock_schema::metrics as m;
use airlock_schema::runtime::{AuditConfig, AuditStore};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, OnceCell, mpsc};

/// The most events written in one transaction.
const MAX_BATCH: usize = 2000;

/// The longest one batch may take to be written (a batch takes milliseconds). A store that
/// stops answering without closing the connection, as after a network partition, would
/// otherwise hold the writer for ever with no error; past this the write counts as failed, is
/// reported, and retried on a fresh connection.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest `audit.onBufferFull: block` holds a served request's event waiting for room
/// (requests wait for room before they are served, within their timeout; this bounds the
/// rare case that the buffer filled while one was served).
const BLOCK_AT_MOST: Duration = Duration::from_secs(30);

pub struct AuditLog {
    sender: mpsc::Sender<Value>,
    capacity: usize,
    block_when_full: bool,
    metrics: Arc<Metrics>,
    replica: String,
    /// The store, once connected (doctor, verify, retention, export use it too).
    pub store: Arc<OnceCell<Store>>,
    /// Events written since start.
    pub written: AtomicU64,
    /// Events accepted into the buffer since start.
    accepted: AtomicU64,
    /// Events taken from the buffer per transaction at most.
    batch: usize,
    healthy: AtomicBool,
    idle: Arc<Notify>,
}

fn replica_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_else(|_| "airlock".into())
        })
}

/// Opens the configured store.
pub async fn open(config: &AuditConfig) -> Result<Store, String> {
    match &config.store {
        AuditStore::Sqlite { path } => Store::sqlite(path).await,
        AuditStore::Postgresql { url_file } => {
            let url = crate::config::read_secret(url_file).map_err(|e| e.to_string())?;
            Store::postgres(&url).await
        }
    }
}

impl AuditLog {
    /// Starts the writer. The store is connected in the background (and reconnected), so a
    /// database that is down at start delays writes, not the gateway.
    pub fn start(config: &AuditConfig, metrics: Arc<Metrics>) -> Arc<Self> {
        // The buffer (`audit.bufferSize`) holds the queue and the batch being written.
        let capacity = config.buffer_size.max(2) as usize;
        let batch = MAX_BATCH.min(capacity / 2);
        let (sender, receiver) = mpsc::channel(capacity - batch);
        let log = Arc::new(Self {
            sender,
            capacity,
            block_when_full: config.on_buffer_full == "block",
            metrics,
            replica: replica_name(),
            store: Arc::new(OnceCell::new()),
            written: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            batch,
            healthy: AtomicBool::new(true),
            idle: Arc::new(Notify::new()),
        });
        tokio::spawn(log.clone().run(
            config.clone(),
            receiver,
            Duration::from_millis(config.flush_interval_ms.max(1)),
        ));
        log
    }

    /// Events accepted but not written yet (queued, or in the batch being written).
    pub fn buffered(&self) -> usize {
        self.accepted
            .load(Ordering::Relaxed)
            .saturating_sub(self.written.load(Ordering::Relaxed)) as usize
    }

    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Records an event (the replica name is added). With `audit.onBufferFull: block` a full
    /// buffer is waited on, at most `BLOCK_AT_MOST`.
    pub async fn record(&self, event: Value) {
        self.offer(event, self.block_when_full).await;
    }

    /// Records an event only if the buffer has room now: the event of a request refused for
    /// want of room must not wait for that room.
    pub async fn record_if_room(&self, event: Value) {
        self.offer(event, false).await;
    }

    async fn offer(&self, event: Value, wait: bool) {
        let mut event = event;
        event["replica"] = self.replica.clone().into();
        let sent = match self.sender.try_send(event) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(event)) if wait => {
                match tokio::time::timeout(BLOCK_AT_MOST, self.sender.send(event)).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(_)) => Err("writer_stopped"),
                    Err(_) => Err("buffer_full"),
                }
            }
            Err(mpsc::error::TrySendError::Full(_)) => Err("buffer_full"),
            Err(mpsc::error::TrySendError::Closed(_)) => Err("writer_stopped"),
        };
        match sent {
            Ok(()) => {
                self.accepted.fetch_add(1, Ordering::Relaxed);
            }
            Err(reason) => self.lost(reason),
        }
        self.metrics
            .set(m::AUDIT_BUFFERED_EVENTS, &[], self.buffered() as i64);
    }

    /// Waits, with `audit.onBufferFull: block`, until the buffer has room for this request's
    /// event, at most `limit`: false when it has none (the request is then refused, 503).
    pub async fn room_within(&self, limit: Duration) -> bool {
        if !self.block_when_full {
            return self.sender.capacity() > 0;
        }
        matches!(
            tokio::time::timeout(limit, self.sender.reserve()).await,
            Ok(Ok(_))
        )
    }

    fn lost(&self, reason: &'static str) {
        self.metrics
            .inc(m::AUDIT_ERRORS_TOTAL, &[("reason", reason)]);
        if reason == "writer_stopped" {
            tracing::error!(
                error_type = "audit_writer_stopped",
                "the audit writer stopped: an event was lost"
            );
        } else {
            tracing::error!(
                error_type = "audit_buffer_full",
                capacity = self.capacity,
                "the audit buffer is full: an event was lost"
            );
        }
    }

    /// Waits until every event recorded so far is written (tests, shutdown), at most `timeout`.
    pub async fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.buffered() > 0 {
            if Instant::now() > deadline {
                return false;
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), self.idle.notified()).await;
        }
        true
    }

    async fn connect(&self, config: &AuditConfig) -> Store {
        let mut backoff = Duration::from_millis(200);
        loop {
            match open(config).await {
                Ok(store) => {
                    tracing::info!(store = store.kind(), "audit store connected");
                    return store;
                }
                Err(error) => {
                    self.fail("store_unavailable", &error);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    fn fail(&self, reason: &'static str, error: &str) {
        self.healthy.store(false, Ordering::Relaxed);
        self.metrics
            .inc(m::AUDIT_ERRORS_TOTAL, &[("reason", reason)]);
        tracing::error!(error_type = "audit_store_unavailable", reason, error = %error, buffered = self.buffered(), "audit events could not be written; they are buffered and retried");
    }

    async fn run(
        self: Arc<Self>,
        config: AuditConfig,
        mut receiver: mpsc::Receiver<Value>,
        linger: Duration,
    ) {
        let store = self.connect(&config).await;
        let _ = self.store.set(store.clone());
        let mut batch: Vec<Value> = Vec::with_capacity(self.batch);
        loop {
            if batch.is_empty() {
                self.idle.notify_waiters();
                match receiver.recv().await {
                    Some(event) => batch.push(event),
                    None => return,
                }
                // Group commit: whatever arrives within the linger joins this batch. The writer
                // sleeps rather than waiting on the queue, so producers do not wake it once
                // per event (on a busy gateway that wake-up cost more than the write).
                if receiver.len() < self.batch {
                    tokio::time::sleep(linger.min(Duration::from_millis(5))).await;
                }
            }
            while batch.len() < self.batch {
                match receiver.try_recv() {
                    Ok(event) => batch.push(event),
                    Err(_) => break,
                }
            }
            let mut backoff = Duration::from_millis(100);
            loop {
                // Sealing sets seq, prev_hash and hash; a retry seals again over them.
                let written = tokio::time::timeout(WRITE_TIMEOUT, store.append(&mut batch))
                    .await
                    .unwrap_or_else(|_| {
                        Err(format!(
                            "the store did not answer within {} s",
                            WRITE_TIMEOUT.as_secs()
                        ))
                    });
                match written {
                    Ok(_) => {
                        self.written
                            .fetch_add(batch.len() as u64, Ordering::Relaxed);
                        self.metrics
                            .add(m::AUDIT_EVENTS_TOTAL, &[], batch.len() as u64);
                        if !self.healthy.swap(true, Ordering::Relaxed) {
                            tracing::info!(
                                buffered = self.buffered(),
                                "audit store is back; the buffered events are being written"
                            );
                        }
                        break;
                    }
                    Err(error) => {
                        self.fail("store_unavailable", &error);
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(10));
                    }
                }
            }
            batch.clear();
            self.metrics
                .set(m::AUDIT_BUFFERED_EVENTS, &[], self.buffered() as i64);
        }
    }
}
