//! The audit writer: the request path hands events to an in-memory buffer and never waits for
//! the store; a background task takes everything waiting (group commit) and appends it as one
//! batch. What it promises, and how:
//!
//! - **Room before work.** The buffer has `audit.bufferSize` places. A request takes one when
//!   it is admitted (an [`AuditSlot`]) and gives it back only when its event is committed, so
//!   an admitted request always has room for its event, and a request that finds none is
//!   refused (503) before it reaches an upstream. `onBufferFull: block` waits for a place, at
//!   most the request timeout; `reject` does not wait.
//! - **Written means committed.** An event counts as written only after the transaction that
//!   holds it committed. A failed batch is kept and retried with backoff; a batch whose commit
//!   may or may not have landed (the connection died during it, or the write timed out) is
//!   looked up on the next attempt, under the chain head's lock, and never written twice.
//! - **Never silent.** A failed write, or a failed probe of an idle store (every second), marks
//!   the store down at once: `airlock_audit_store_up 0`, `airlock_audit_errors_total`, an error
//!   log line, and `/info`. The first successful write or probe marks it up again.

use super::Event;
use super::queue::Queue;
use super::store::{Store, StoreError};
use crate::record::metrics::{Gauge, Metrics};
use airlock_schema::config::BufferFullAction;
use airlock_schema::metrics as m;
use airlock_schema::runtime::{AuditConfig, AuditStore};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, OnceCell, OwnedSemaphorePermit, Semaphore};

/// The most events written in one transaction.
const MAX_BATCH: usize = 2000;

/// The longest one batch may take to be written (a batch takes milliseconds). A store that
/// stops answering without closing the connection, as after a network partition, would
/// otherwise hold the writer for ever with no error; past this the write counts as failed, is
/// reported, and retried on a fresh connection.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How often an idle writer probes the store, and how long a probe may take: an outage is
/// visible within about two seconds even when no event is waiting.
const PROBE_EVERY: Duration = Duration::from_secs(1);
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The longest `audit.onBufferFull: block` holds an event that is not a request's (a policy
/// reload, a retention run) waiting for room.
const BLOCK_AT_MOST: Duration = Duration::from_secs(30);

/// Whether the store takes writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreState {
    /// Not connected yet since the gateway started.
    Connecting,
    /// The last write or probe succeeded.
    Up,
    /// The last write or probe failed; events wait in the buffer.
    Down,
}

/// The store's state, when it last changed, and the last error.
struct Health {
    state: StoreState,
    since: String,
    last_error: Option<String>,
}

/// What `/info` shows of the audit trail.
#[derive(Debug, Serialize)]
pub struct AuditStatus {
    pub store: &'static str,
    pub store_state: StoreState,
    /// When the store entered its state (RFC 3339).
    pub since: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Events accepted and not yet committed.
    pub buffered: usize,
    /// Places held by requests in flight, for their events.
    pub reserved: usize,
    /// `audit.bufferSize`.
    pub capacity: usize,
    pub on_buffer_full: BufferFullAction,
    /// Events committed since the gateway started.
    pub written: u64,
    /// Events that could not be buffered since the gateway started (refused requests' own
    /// events, and events offered after the writer stopped).
    pub lost: u64,
}

pub struct AuditLog {
    queue: Queue,
    /// One permit per place in the buffer; a permit is taken when a request is admitted (or
    /// another event is offered) and returns when its event is committed.
    room: Arc<Semaphore>,
    capacity: usize,
    when_full: BufferFullAction,
    metrics: Arc<Metrics>,
    /// `airlock_audit_buffered_events`, set on every event queued and batch written.
    buffered_gauge: Gauge,
    replica: String,
    store_kind: &'static str,
    /// The store, once connected (doctor, verify, retention, export use it too).
    pub store: Arc<OnceCell<Store>>,
    accepted: AtomicU64,
    written: AtomicU64,
    lost: AtomicU64,
    health: Mutex<Health>,
    idle: Notify,
}

/// A place in the audit buffer, taken when a request is admitted and used for its event.
/// Dropped unused (a handler that panicked), it records a failure event for its request
/// rather than leave the request unaudited.
#[must_use = "an admitted request records its event with its slot"]
pub struct AuditSlot {
    log: Arc<AuditLog>,
    permit: Option<OwnedSemaphorePermit>,
    request_id: String,
}

impl AuditSlot {
    /// Records the request's event in the place reserved for it: this cannot fail for want of
    /// room.
    pub fn record(mut self, event: Event) {
        if let Some(permit) = self.permit.take() {
            self.log.enqueue(event, permit);
        }
    }
}

impl Drop for AuditSlot {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            tracing::error!(request_id = %self.request_id, error_type = "internal_error", "a request ended without its audit event; recording it as failed");
            let event = super::Event::new("unknown")
                .set("request_id", self.request_id.clone())
                .set("outcome", "failure")
                .set("error_type", "internal_error");
            self.log.enqueue(event, permit);
        }
    }
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
pub async fn open(config: &AuditConfig) -> Result<Store, StoreError> {
    match &config.store {
        AuditStore::Sqlite { path } => Store::sqlite(path).await,
        AuditStore::Postgresql { url_file } => {
            let url = crate::config::read_secret(url_file)?;
            Store::postgres(&url).await
        }
    }
}

/// Why the store is marked down: it failed, or did not answer in time.
#[derive(Debug, thiserror::Error)]
enum Outage {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A batch was not written within [`WRITE_TIMEOUT`].
    #[error("the store did not answer within {} s", WRITE_TIMEOUT.as_secs())]
    WriteTimeout,
    /// An idle store did not answer a probe within [`PROBE_TIMEOUT`].
    #[error("the store did not answer a probe within {} s", PROBE_TIMEOUT.as_secs())]
    ProbeTimeout,
}

impl AuditLog {
    /// Starts the writer. The store is connected in the background (and reconnected), so a
    /// database that is down at start delays writes, not the gateway.
    pub fn start(config: &AuditConfig, metrics: Arc<Metrics>) -> Arc<Self> {
        let capacity = config.buffer_size.max(1) as usize;
        let log = Arc::new(Self {
            queue: Queue::default(),
            room: Arc::new(Semaphore::new(capacity)),
            capacity,
            when_full: config.on_buffer_full,
            buffered_gauge: metrics.gauge_handle(m::AUDIT_BUFFERED_EVENTS),
            metrics,
            replica: replica_name(),
            store_kind: match config.store {
                AuditStore::Sqlite { .. } => "sqlite",
                AuditStore::Postgresql { .. } => "postgresql",
            },
            store: Arc::new(OnceCell::new()),
            accepted: AtomicU64::new(0),
            written: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            health: Mutex::new(Health {
                state: StoreState::Connecting,
                since: super::timestamp(),
                last_error: None,
            }),
            idle: Notify::new(),
        });
        log.metrics.set(m::AUDIT_STORE_UP, &[], 0);
        tokio::spawn(log.clone().run(
            config.clone(),
            Duration::from_millis(config.flush_interval_ms.max(1)),
        ));
        log
    }

    /// Events accepted but not committed yet (queued, or in the batch being written).
    pub fn buffered(&self) -> usize {
        self.accepted
            .load(Ordering::Acquire)
            .saturating_sub(self.written.load(Ordering::Acquire)) as usize
    }

    /// Events committed since start.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    pub fn is_healthy(&self) -> bool {
        self.state() == StoreState::Up
    }

    pub fn state(&self) -> StoreState {
        self.health.lock().expect("health lock").state
    }

    /// The trail's state for `/info`.
    pub fn status(&self) -> AuditStatus {
        let health = self.health.lock().expect("health lock");
        let buffered = self.buffered();
        let held = self.capacity.saturating_sub(self.room.available_permits());
        AuditStatus {
            store: self.store_kind,
            store_state: health.state,
            since: health.since.clone(),
            last_error: health.last_error.clone(),
            buffered,
            reserved: held.saturating_sub(buffered),
            capacity: self.capacity,
            on_buffer_full: self.when_full,
            written: self.written(),
            lost: self.lost.load(Ordering::Relaxed),
        }
    }

    /// A place for the event of the request `request_id`, taken at its admission: `None` when
    /// the buffer has none (after waiting at most `wait` with `onBufferFull: block`), and the
    /// request must then be refused before it does anything.
    pub async fn reserve(self: &Arc<Self>, request_id: &str, wait: Duration) -> Option<AuditSlot> {
        let permit = self.take_room(wait).await?;
        Some(AuditSlot {
            log: self.clone(),
            permit: Some(permit),
            request_id: request_id.to_string(),
        })
    }

    /// Records an event that no request reserved room for (a policy reload, a retention run):
    /// with `onBufferFull: block` a full buffer is waited on, at most `BLOCK_AT_MOST`.
    pub async fn record(&self, event: Event) {
        match self.take_room(BLOCK_AT_MOST).await {
            Some(permit) => self.enqueue(event, permit),
            None => self.lost("buffer_full", &event),
        }
    }

    /// Records the event of a request refused for want of room, if room appeared meanwhile: it
    /// must not wait for the room it was refused for.
    pub fn record_if_room(&self, event: Event) {
        match self.room.clone().try_acquire_owned() {
            Ok(permit) => self.enqueue(event, permit),
            Err(_) => self.lost("buffer_full", &event),
        }
    }

    async fn take_room(&self, wait: Duration) -> Option<OwnedSemaphorePermit> {
        match self.when_full {
            BufferFullAction::Reject => self.room.clone().try_acquire_owned().ok(),
            BufferFullAction::Block => {
                tokio::time::timeout(wait, self.room.clone().acquire_owned())
                    .await
                    .ok()?
                    .ok()
            }
        }
    }

    /// Queues an event in the place `permit` holds; the place returns when it is committed.
    fn enqueue(&self, event: Event, permit: OwnedSemaphorePermit) {
        let event = event.set("replica", self.replica.clone());
        self.accepted.fetch_add(1, Ordering::AcqRel);
        match self.queue.push(event) {
            Ok(()) => permit.forget(),
            Err(event) => {
                self.accepted.fetch_sub(1, Ordering::AcqRel);
                self.lost("writer_stopped", &event);
            }
        }
        self.buffered_gauge.set(self.buffered() as i64);
    }

    fn lost(&self, reason: &'static str, event: &Event) {
        self.lost.fetch_add(1, Ordering::Relaxed);
        self.metrics
            .inc(m::AUDIT_ERRORS_TOTAL, &[("reason", reason)]);
        let request_id = event.text("request_id");
        let request_id = request_id.as_deref();
        let action = event.text("action");
        let action = action.as_deref();
        if reason == "writer_stopped" {
            tracing::error!(
                request_id,
                action,
                error_type = "audit_writer_stopped",
                "the audit writer stopped: an event was lost"
            );
        } else {
            tracing::error!(
                request_id,
                action,
                error_type = "audit_buffer_full",
                capacity = self.capacity,
                "the audit buffer is full: the event of a refused request was not recorded"
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

    /// Closes the store's connections (at shutdown, after `flush`): SQLite merges its
    /// write-ahead log into the database file, so the file alone holds the whole trail.
    pub async fn close(&self) {
        if let Some(store) = self.store.get() {
            store.close().await;
        }
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
                    self.down(Some("store_unavailable"), &error.into());
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    /// Marks the store down and reports `error`; `count` names the `airlock_audit_errors_total`
    /// reason to count, if any.
    fn down(&self, count: Option<&'static str>, error: &Outage) {
        {
            let mut health = self.health.lock().expect("health lock");
            if health.state != StoreState::Down {
                health.state = StoreState::Down;
                health.since = super::timestamp();
            }
            health.last_error = Some(error.to_string());
        }
        self.metrics.set(m::AUDIT_STORE_UP, &[], 0);
        if let Some(reason) = count {
            self.metrics
                .inc(m::AUDIT_ERRORS_TOTAL, &[("reason", reason)]);
        }
        tracing::error!(
            error_type = "audit_store_unavailable",
            store = self.store_kind,
            error = %error,
            buffered = self.buffered(),
            "audit events could not be written; they are buffered and retried"
        );
    }

    fn up(&self) {
        let was = {
            let mut health = self.health.lock().expect("health lock");
            let was = health.state;
            if was != StoreState::Up {
                health.state = StoreState::Up;
                health.since = super::timestamp();
                health.last_error = None;
            }
            was
        };
        self.metrics.set(m::AUDIT_STORE_UP, &[], 1);
        if was == StoreState::Down {
            tracing::info!(
                store = self.store_kind,
                buffered = self.buffered(),
                "audit store is back; the buffered events are being written"
            );
        }
    }

    /// Probes an idle store; an outage is counted once, when it starts.
    async fn probe(&self, store: &Store) {
        match tokio::time::timeout(PROBE_TIMEOUT, store.ping()).await {
            Ok(Ok(())) => self.up(),
            Ok(Err(error)) => self.probe_failed(&error.into()),
            Err(_) => self.probe_failed(&Outage::ProbeTimeout),
        }
    }

    fn probe_failed(&self, error: &Outage) {
        let count = (self.state() != StoreState::Down).then_some("store_unavailable");
        self.down(count, error);
    }

    async fn run(self: Arc<Self>, config: AuditConfig, linger: Duration) {
        let _stopped = Stopped(&self);
        let store = self.connect(&config).await;
        let _ = self.store.set(store.clone());
        self.up();
        let mut batch: Vec<Event> = Vec::with_capacity(64);
        loop {
            self.idle.notify_waiters();
            tokio::select! {
                () = self.queue.arrival() => {}
                () = tokio::time::sleep(PROBE_EVERY) => {
                    self.probe(&store).await;
                    continue;
                }
            }
            // Group commit: whatever arrives within the linger joins this batch. The writer
            // sleeps rather than waiting on the queue, so producers do not wake it once per
            // event (on a busy gateway that wake-up cost more than the write).
            if self.queue.len() < MAX_BATCH {
                tokio::time::sleep(linger.min(Duration::from_millis(5))).await;
            }
            self.queue.take(&mut batch, MAX_BATCH);
            self.write(&store, &mut batch).await;
            let committed = batch.len();
            batch.clear();
            self.written.fetch_add(committed as u64, Ordering::AcqRel);
            self.room.add_permits(committed);
            self.metrics
                .add(m::AUDIT_EVENTS_TOTAL, &[], committed as u64);
            self.buffered_gauge.set(self.buffered() as i64);
        }
    }

    /// Writes one batch, retrying until it is committed.
    async fn write(&self, store: &Store, batch: &mut [Event]) {
        let mut backoff = Duration::from_millis(100);
        // The head an earlier attempt sealed the batch to, if that attempt reached its commit.
        let mut sealed = None;
        loop {
            let written = tokio::time::timeout(
                WRITE_TIMEOUT,
                Box::pin(store.append_once(batch, &mut sealed)),
            )
            .await
            .map_err(|_| Outage::WriteTimeout)
            .and_then(|appended| appended.map_err(Outage::from));
            match written {
                Ok(_) => {
                    self.up();
                    return;
                }
                Err(error) => {
                    self.down(Some("store_unavailable"), &error);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

/// Held by the writer while it runs: when it stops (the runtime shuts down), the queue closes,
/// and the events it still held are reported lost rather than dropped without a word.
struct Stopped<'a>(&'a AuditLog);

impl Drop for Stopped<'_> {
    fn drop(&mut self) {
        let log = self.0;
        for event in log.queue.close() {
            log.accepted.fetch_sub(1, Ordering::AcqRel);
            log.lost("writer_stopped", &event);
        }
    }
}
