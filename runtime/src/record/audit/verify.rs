//! `airlock audit verify`: walks the chain in the store (from the retention checkpoint) or an
//! exported segment file, and reports OK with counts or the first broken link.

use super::chain::{Report, Verifier};
use super::store::Store;
use serde_json::Value;
use std::io::BufRead;

/// The first line of an exported segment.
pub const SEGMENT_HEADER: &str = "airlock_audit_segment";

/// Verifies the whole chain in a store. A gateway may append while it runs: the head is read
/// after the events, and events appended meanwhile are read and verified too, so a live trail
/// verifies, and an event beyond the head is one no append recorded.
pub async fn store(store: &Store) -> Result<Report, String> {
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
pub fn segments<R: BufRead>(segments: Vec<(String, R)>) -> Result<Report, String> {
    let mut verifier: Option<Verifier> = None;
    for (name, reader) in segments {
        let mut lines = reader.lines();
        let header: Value = lines
            .next()
            .ok_or_else(|| format!("{name}: the segment is empty"))?
            .map_err(|e| format!("{name}: {e}"))
            .and_then(|l| {
                serde_json::from_str(&l)
                    .map_err(|e| format!("{name}: the segment header is not JSON: {e}"))
            })?;
        let header = header
            .get(SEGMENT_HEADER)
            .ok_or_else(|| format!("{name}: the first line is not a segment header"))?;
        let field = |k: &str| header.get(k).cloned().unwrap_or(Value::Null);
        let first_seq = field("first_seq")
            .as_i64()
            .ok_or_else(|| format!("{name}: the header has no first_seq"))?;
        let first_prev = field("first_prev_hash")
            .as_str()
            .unwrap_or_default()
            .to_string();
        // The first segment is taken as anchored by its header; later ones must continue the
        // chain where the previous one ended.
        let verifier = verifier.get_or_insert_with(|| Verifier::from_first(&first_prev, first_seq));
        let before = verifier.report.events;
        for (number, line) in lines.enumerate() {
            let line = line.map_err(|e| format!("{name}: {e}"))?;
            if line.trim().is_empty() {
                continue;
            }
            let event: Value = serde_json::from_str(&line)
                .map_err(|e| format!("{name}: line {} is not JSON: {e}", number + 2))?;
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
    let verifier = verifier.ok_or("no segment to verify")?;
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
