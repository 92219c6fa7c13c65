//! `airlock audit verify`: walks the chain in the store (from the retention checkpoint) or an
//! exported segment file, and reports OK with counts or the first broken link.

use super::chain::{Report, Verifier};
use super::store::{Store, StoreError};
use serde_json::Value;
use std::io::BufRead;

/// The first line of an exported segment.
pub const SEGMENT_HEADER: &str = "airlock_audit_segment";

/// Why exported segments could not be verified at all (a broken chain is a [`Report`], not an
/// error). `name` is the segment's name, as given.
#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    #[error("{name}: the segment is empty")]
    Empty { name: String },
    #[error("{name}: {source}")]
    Read {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{name}: the segment header is not JSON: {source}")]
    HeaderNotJson {
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{name}: the first line is not a segment header")]
    NoHeader { name: String },
    #[error("{name}: the header has no first_seq")]
    NoFirstSeq { name: String },
    /// `line` counts from 1, the header included.
    #[error("{name}: line {line} is not JSON: {source}")]
    LineNotJson {
        name: String,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("no segment to verify")]
    NoSegment,
}

/// Verifies the whole chain in a store. A gateway may append while it runs: the head is read
/// after the events, and events appended meanwhile are read and verified too, so a live trail
/// verifies, and an event beyond the head is one no append recorded.
pub async fn store(store: &Store) -> Result<Report, StoreError> {
    let anchor = store.checkpoint().await?;
    let mut verifier = Verifier::new(anchor.clone());
    let mut after = anchor.map_or(0, |(seq, _)| seq);
    loop {
        loop {
            let page = store.read_checked(after, 10_000).await?;
            let Some((last, _)) = page.last() else { break };
            after = last["seq"].as_i64().unwrap_or(after + 1);
            for (event, column_edit) in &page {
                if !verifier.push(event) {
                    return Ok(verifier.finish(None));
                }
                if let Some(why) = column_edit {
                    verifier.break_at(event["seq"].as_i64().unwrap_or(-1), why.clone());
                    return Ok(verifier.finish(None));
                }
            }
        }
        let head = store.head().await?;
        let more = store.read_checked(after, 1).await?;
        if head.0 <= after || more.is_empty() {
            return Ok(verifier.finish(Some(head)));
        }
    }
}

/// Verifies exported JSONL segments, in order, as one chain: each segment's events, its
/// header (last event, count), and the link from one segment to the next.
pub fn segments<R: BufRead>(segments: Vec<(String, R)>) -> Result<Report, SegmentError> {
    let mut verifier: Option<Verifier> = None;
    for (name, reader) in segments {
        let mut lines = reader.lines();
        let read = |source| SegmentError::Read {
            name: name.clone(),
            source,
        };
        let first = lines
            .next()
            .ok_or_else(|| SegmentError::Empty { name: name.clone() })?
            .map_err(read)?;
        let header: Value =
            serde_json::from_str(&first).map_err(|source| SegmentError::HeaderNotJson {
                name: name.clone(),
                source,
            })?;
        let header = header
            .get(SEGMENT_HEADER)
            .ok_or_else(|| SegmentError::NoHeader { name: name.clone() })?;
        let field = |k: &str| header.get(k).cloned().unwrap_or(Value::Null);
        let first_seq = field("first_seq")
            .as_i64()
            .ok_or_else(|| SegmentError::NoFirstSeq { name: name.clone() })?;
        let first_prev = field("first_prev_hash")
            .as_str()
            .unwrap_or_default()
            .to_string();
        // The first segment is taken as anchored by its header; later ones must continue the
        // chain where the previous one ended.
        let verifier = verifier.get_or_insert_with(|| Verifier::from_first(&first_prev, first_seq));
        let before = verifier.report.events;
        for (number, line) in lines.enumerate() {
            let line = line.map_err(read)?;
            if line.trim().is_empty() {
                continue;
            }
            let event: Value =
                serde_json::from_str(&line).map_err(|source| SegmentError::LineNotJson {
                    name: name.clone(),
                    line: number + 2,
                    source,
                })?;
            if !verifier.push(&event) {
                break;
            }
        }
        if verifier.report.broken.is_some() {
            break;
        }
        let last = (
            field("last_seq").as_i64().unwrap_or(0),
            field("last_hash").as_str().unwrap_or_default().to_string(),
        );
        let held = verifier.report.events - before;
        if (
            verifier.report.last_seq,
            verifier.report.last_hash.as_deref(),
        ) != (Some(last.0), Some(last.1.as_str()))
        {
            verifier.report.broken = Some((
                last.0,
                format!(
                    "{name}: the header says the segment ends at event {}, its events end at {} (truncated or extended)",
                    last.0,
                    verifier.report.last_seq.unwrap_or(0)
                ),
            ));
        } else if Some(held) != field("count").as_u64() {
            verifier.report.broken = Some((
                last.0,
                format!(
                    "{name}: the header counts {} events, the segment holds {held}",
                    field("count")
                ),
            ));
        }
        if verifier.report.broken.is_some() {
            break;
        }
    }
    let verifier = verifier.ok_or(SegmentError::NoSegment)?;
    Ok(verifier.report)
}

/// One line for humans.
pub fn describe(report: &Report, what: &str) -> String {
    match &report.broken {
        None => format!(
            "OK: {what}: {} events verified (seq {}..{}), chain head {}",
            report.events,
            report.first_seq.map_or("-".into(), |s| s.to_string()),
            report.last_seq.map_or("-".into(), |s| s.to_string()),
            report.last_hash.as_deref().unwrap_or("(empty)")
        ),
        Some((seq, why)) => format!(
            "BROKEN: {what}: at seq {seq}: {why} ({} events verified before it)",
            report.events
        ),
    }
}
