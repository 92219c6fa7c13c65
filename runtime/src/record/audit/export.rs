//! Export of the chain to S3 as JSONL segments that verify offline.
//!
//! A segment is `<prefix><first_seq>-<last_seq>.jsonl` (sequence numbers zero-padded to 20
//! digits, so keys sort in chain order). Its first line is a header,
//! `{"airlock_audit_segment": {first_seq, last_seq, first_prev_hash, last_hash, count}}`, then
//! one stored event per line. `first_prev_hash` links it to the previous segment's
//! `last_hash`, so a set of segments verifies as one chain (`airlock audit verify --file ...`).
//!
//! Runs are idempotent: what was exported is recorded in the store (`audit_exports`), the
//! next run starts after it, and a segment uploaded by a run that died before recording it is
//! found in the bucket and adopted rather than written again. On PostgreSQL a transaction-level
//! advisory lock lets one replica export at a time.

use super::store::{Store, StoreError};
use super::verify::SEGMENT_HEADER;
use super::{AuditLog, Event};
use crate::s3::{Location, S3Error, client};
use airlock_schema::runtime::AuditExport;
use airlock_schema::types::Cron;
use aws_sdk_s3::primitives::{ByteStream, ByteStreamError};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// The most events in one segment (objects stay a few tens of MiB at most).
pub const SEGMENT_EVENTS: i64 = 50_000;

/// An exported segment.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Segment {
    pub key: String,
    pub first_seq: i64,
    pub last_seq: i64,
    pub first_prev_hash: String,
    pub last_hash: String,
    pub count: u64,
}

/// What one run did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Outcome {
    /// Segments written by this run.
    pub written: Vec<Segment>,
    /// Segments found already uploaded (by a run that died before recording them).
    pub adopted: Vec<Segment>,
    /// Another replica held the export lock; nothing was done.
    pub skipped: bool,
}

/// Why an export run stopped (it resumes where it stopped at the next run).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading what was exported, or the events to export, or recording a segment.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Listing, reading or writing the bucket.
    #[error(transparent)]
    S3(#[from] S3Error),
    /// The start of an uploaded segment could not be read.
    #[error("reading {key} failed: {source}")]
    ReadSegment {
        key: String,
        #[source]
        source: ByteStreamError,
    },
    /// An object where a segment should be does not start with a segment header.
    #[error("{key} does not start with a segment header: {source}")]
    NotSegment {
        key: String,
        #[source]
        source: serde_json::Error,
    },
}

/// The bucket and prefix segments go to.
pub struct Target {
    bucket: String,
    prefix: String,
    client: aws_sdk_s3::Client,
}

impl Target {
    pub async fn new(config: &AuditExport) -> Self {
        let prefix = if config.prefix.is_empty() || config.prefix.ends_with('/') {
            config.prefix.clone()
        } else {
            format!("{}/", config.prefix)
        };
        let location = Location {
            region: config.region.clone(),
            endpoint: config.endpoint.clone(),
            credentials: config.credentials.clone(),
        };
        Self {
            bucket: config.bucket.clone(),
            prefix,
            client: client(&location).await,
        }
    }

    fn key(&self, first: i64, last: i64) -> String {
        format!("{}{first:020}-{last:020}.jsonl", self.prefix)
    }

    /// A segment starting at `first` already in the bucket, from its key and header.
    async fn uploaded(&self, first: i64) -> Result<Option<Segment>, ExportError> {
        let page = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(format!("{}{first:020}-", self.prefix))
            .max_keys(1)
            .send()
            .await
            .map_err(S3Error::from)?;
        let Some(key) = page.contents().first().and_then(|o| o.key()) else {
            return Ok(None);
        };
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .range("bytes=0-4095")
            .send()
            .await
            .map_err(S3Error::from)?;
        let head = object
            .body
            .collect()
            .await
            .map_err(|source| ExportError::ReadSegment {
                key: key.to_string(),
                source,
            })?
            .into_bytes();
        let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
        let header: Value =
            serde_json::from_slice(line).map_err(|source| ExportError::NotSegment {
                key: key.to_string(),
                source,
            })?;
        let header = &header[SEGMENT_HEADER];
        let text = |k: &str| header[k].as_str().unwrap_or_default().to_string();
        Ok(Some(Segment {
            key: key.to_string(),
            first_seq: header["first_seq"].as_i64().unwrap_or(first),
            last_seq: header["last_seq"].as_i64().unwrap_or(first),
            first_prev_hash: text("first_prev_hash"),
            last_hash: text("last_hash"),
            count: header["count"].as_u64().unwrap_or(0),
        }))
    }

    async fn put(&self, segment: &Segment, body: Vec<u8>) -> Result<(), S3Error> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&segment.key)
            .content_type("application/x-ndjson")
            .content_length(body.len() as i64)
            .body(ByteStream::from(body))
            .send()
            .await
            .map(|_| ())
            .map_err(S3Error::from)
    }
}

/// The segment of `events` (in chain order) and its JSONL body.
pub fn segment(key: String, events: &[Value]) -> (Segment, Vec<u8>) {
    let text = |event: &Value, k: &str| event[k].as_str().unwrap_or_default().to_string();
    let (first, last) = (&events[0], &events[events.len() - 1]);
    let segment = Segment {
        key,
        first_seq: first["seq"].as_i64().unwrap_or(0),
        last_seq: last["seq"].as_i64().unwrap_or(0),
        first_prev_hash: text(first, "prev_hash"),
        last_hash: text(last, "hash"),
        count: events.len() as u64,
    };
    let header = json!({ SEGMENT_HEADER: {
        "first_seq": segment.first_seq,
        "last_seq": segment.last_seq,
        "first_prev_hash": segment.first_prev_hash,
        "last_hash": segment.last_hash,
        "count": segment.count,
    }});
    let mut body = Vec::with_capacity(events.len() * 512);
    for line in std::iter::once(&header).chain(events) {
        serde_json::to_writer(&mut body, line).expect("JSON serializes");
        body.push(b'\n');
    }
    (segment, body)
}

/// Exports everything not exported yet, segment by segment.
pub async fn run_once(store: &Store, target: &Target) -> Result<Outcome, ExportError> {
    let Some(_lock) = store.export_lock().await? else {
        return Ok(Outcome {
            skipped: true,
            ..Outcome::default()
        });
    };
    let mut outcome = Outcome::default();
    let mut after = store.exported_up_to().await?;
    loop {
        if let Some(found) = target.uploaded(after + 1).await? {
            record(store, &found).await?;
            after = found.last_seq;
            outcome.adopted.push(found);
            continue;
        }
        let events = store.read(after, SEGMENT_EVENTS).await?;
        if events.is_empty() {
            return Ok(outcome);
        }
        let first = events[0]["seq"].as_i64().unwrap_or(after + 1);
        if first != after + 1 {
            tracing::warn!(
                missing_from = after + 1,
                missing_to = first - 1,
                "audit events were deleted by retention before they were exported"
            );
        }
        let last = events[events.len() - 1]["seq"].as_i64().unwrap_or(first);
        let (segment, body) = segment(target.key(first, last), &events);
        target.put(&segment, body).await?;
        record(store, &segment).await?;
        after = segment.last_seq;
        outcome.written.push(segment);
    }
}

async fn record(store: &Store, segment: &Segment) -> Result<(), StoreError> {
    store
        .record_export(
            (segment.first_seq, &segment.first_prev_hash),
            (segment.last_seq, &segment.last_hash),
            &segment.key,
        )
        .await
}

/// Exports on the schedule, forever; each run is itself an audit event.
pub async fn run(log: Arc<AuditLog>, config: AuditExport) {
    let Ok(cron) = config.schedule.parse::<Cron>() else {
        tracing::error!(schedule = %config.schedule, "the audit export schedule does not parse; export is off");
        return;
    };
    let target = Target::new(&config).await;
    loop {
        let now = super::now_secs();
        let Some(next) = cron.next_after(now) else {
            return;
        };
        tokio::time::sleep(Duration::from_secs((next - now).max(1) as u64)).await;
        let Some(store) = log.store.get() else {
            tracing::error!(
                error_type = "audit_export_failed",
                "the audit store is not connected; the export runs again at the next schedule"
            );
            continue;
        };
        match run_once(store, &target).await {
            Ok(outcome) if outcome.skipped => {}
            Ok(outcome) => {
                let events: u64 = outcome.written.iter().map(|s| s.count).sum();
                tracing::info!(
                    segments = outcome.written.len(),
                    events,
                    "audit segments exported"
                );
                log.record(
                    Event::new("audit_export")
                        .set("outcome", "success")
                        .set("segments", outcome.written.len())
                        .set("events", events)
                        .maybe("last_key", outcome.written.last().map(|s| s.key.clone())),
                )
                .await;
            }
            Err(error) => {
                tracing::error!(error = %error, error_type = "audit_export_failed", "audit export failed; it resumes where it stopped at the next schedule");
                log.record(
                    Event::new("audit_export")
                        .set("outcome", "failure")
                        .set("reason", error.to_string()),
                )
                .await;
            }
        }
    }
}
