//! Retention: on the cleanup schedule, events older than `audit.retention` are deleted and the
//! hash of the last one deleted becomes the checkpoint the chain verifies from. The deletion is
//! itself an audit event.

use super::store::StoreError;
use super::{AuditLog, Event, now_secs, rfc3339};
use airlock_schema::types::Cron;
use std::sync::Arc;
use std::time::Duration;

/// Why retention could not run now (it runs again at the next schedule).
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    /// The writer has not connected to the store yet.
    #[error("the audit store is not connected")]
    NotConnected,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Deletes what is older than the retention now; returns how many events went. With an
/// export configured, events not exported yet are kept whatever their age: retention never
/// destroys the only copy.
pub async fn apply(
    log: &AuditLog,
    retention_ms: u64,
    exporting: bool,
) -> Result<u64, RetentionError> {
    let store = log.store.get().ok_or(RetentionError::NotConnected)?;
    let cutoff = rfc3339(now_secs() * 1000 - retention_ms as i64);
    let keep_after = if exporting {
        Some(store.exported_up_to().await?)
    } else {
        None
    };
    let deleted = store.delete_before(&cutoff, keep_after).await?;
    if deleted > 0 {
        let checkpoint = store.checkpoint().await?;
        tracing::info!(deleted, cutoff = %cutoff, "audit retention applied");
        log.record(
            Event::new("audit_retention")
                .set("reason", format!("events before {cutoff} deleted"))
                .set("deleted", deleted)
                .maybe("checkpoint_seq", checkpoint.as_ref().map(|c| c.0))
                .maybe("checkpoint_hash", checkpoint.map(|c| c.1)),
        )
        .await;
    }
    Ok(deleted)
}

/// Runs retention on its schedule, forever.
pub async fn run(log: Arc<AuditLog>, schedule: String, retention_ms: u64, exporting: bool) {
    let Ok(cron) = schedule.parse::<Cron>() else {
        tracing::error!(schedule = %schedule, "the audit cleanup schedule does not parse; retention is off");
        return;
    };
    loop {
        let Some(next) = cron.next_after(now_secs()) else {
            return;
        };
        tokio::time::sleep(Duration::from_secs((next - now_secs()).max(1) as u64)).await;
        if let Err(error) = apply(&log, retention_ms, exporting).await {
            tracing::error!(error = %error, error_type = "audit_retention_failed", "audit retention failed; it runs again at the next schedule");
        }
    }
}
