//! The audit trail: a database reference that fits the backend (AL2004), persistence and
//! replicas that fit SQLite (AL2009, AL2010), valid schedules (AL2015), one export destination
//! (AL2017), a buffer with a place for every request served at once (AL2036).

use crate::diagnostics::{Diagnostics, Severity, codes};
use crate::validate::ConfigDoc;
use airlock_schema::config::{Audit, AuditBackend, Deployment, Persistence, Server};
use airlock_schema::types::{Cron, url_checks};

pub fn check(doc: &ConfigDoc<'_>, out: &mut Diagnostics) {
    let Some(audit) = doc.section_or_default::<Audit>("/audit") else {
        return;
    };
    match (audit.backend, &audit.database_secret_ref) {
        (AuditBackend::Postgresql, None) => out.push(
            doc.key_diag(codes::AL2004, "/audit/backend", "`audit.backend: postgresql` needs `audit.databaseSecretRef`")
                .help("reference the Secret key holding the PostgreSQL URL, e.g. `databaseSecretRef: {name: airlock-database, key: url}`"),
        ),
        (AuditBackend::Sqlite, Some(_)) => out.push(
            doc.key_diag(codes::AL2004, "/audit/databaseSecretRef", "`audit.databaseSecretRef` is ignored with the SQLite backend")
                .severity(Severity::Warning)
                .help("set `audit.backend: postgresql` to use the database, or remove the reference"),
        ),
        _ => {}
    }
    if audit.backend == AuditBackend::Sqlite {
        sqlite(doc, out);
    }
    buffer(doc, &audit, out);
    schedule(doc, "/audit/cleanup/schedule", &audit.cleanup.schedule, out);
    if let Some(export) = &audit.export {
        schedule(doc, "/audit/export/schedule", &export.schedule, out);
        match (&export.destination, &export.s3) {
            (Some(_), Some(_)) => out.push(
                doc.key_diag(codes::AL2017, "/audit/export/s3", "`audit.export` gives both `destination` and `s3`")
                    .help("keep one: `destination: s3://bucket/prefix/`, or `s3: {bucket, prefix, secretRef}`"),
            ),
            (None, None) if export.enabled => out.push(
                doc.key_diag(codes::AL2017, "/audit/export", "`audit.export` has no destination")
                    .help("add `s3: {bucket: acme-audit, prefix: airlock/}` or `destination: s3://acme-audit/airlock/`"),
            ),
            (None, Some(s3)) => {
                if let Err(reason) = url_checks::check_bucket_name(&s3.bucket) {
                    out.push(doc.value_diag(codes::AL2017, "/audit/export/s3/bucket", reason.to_string()));
                }
                if let Err(reason) = url_checks::check_key_prefix(&s3.prefix) {
                    out.push(doc.value_diag(codes::AL2017, "/audit/export/s3/prefix", reason.to_string()).help("e.g. `prefix: airlock/`"));
                }
            }
            _ => {}
        }
    }
}

fn sqlite(doc: &ConfigDoc<'_>, out: &mut Diagnostics) {
    if let Some(persistence) = doc.section_or_default::<Persistence>("/persistence")
        && !persistence.enabled
    {
        out.push(
                doc.value_diag(codes::AL2009, "/persistence/enabled", "the SQLite audit trail is not persisted")
                    .help("with `persistence.enabled: false` the database lives in an emptyDir and is lost with the pod: enable persistence or use `audit.backend: postgresql`"),
            );
    }
    if let Some(deployment) = doc.section_or_default::<Deployment>("/deployment") {
        let (pointer, what) = if deployment.autoscaling.enabled {
            ("/deployment/autoscaling/enabled", "autoscaling".to_string())
        } else if deployment.replicas > 1 {
            (
                "/deployment/replicas",
                format!("{} replicas", deployment.replicas),
            )
        } else {
            return;
        };
        out.push(
            doc.value_diag(codes::AL2010, pointer, format!("the SQLite audit backend cannot serve {what}"))
                .help("each pod would keep its own trail on a volume only one node can mount: use `audit.backend: postgresql` for more than one replica, or `replicas: 1`"),
        );
    }
}

/// Each request in flight holds a place in the audit buffer from its admission until its event
/// is committed, so a buffer smaller than the requests served at once caps them below it.
fn buffer(doc: &ConfigDoc<'_>, audit: &Audit, out: &mut Diagnostics) {
    let Some(server) = doc.section_or_default::<Server>("/server") else {
        return;
    };
    let (size, concurrent) = (audit.buffer_size, server.max_concurrent_requests);
    if size >= concurrent {
        return;
    }
    let pointer = if doc.root.pointer("/audit/bufferSize").is_some() {
        "/audit/bufferSize"
    } else {
        "/server/maxConcurrentRequests"
    };
    out.push(
        doc.value_diag(
            codes::AL2036,
            pointer,
            format!("the audit buffer holds {size} events, fewer than the {concurrent} requests `server.maxConcurrentRequests` serves at once"),
        )
        .severity(Severity::Warning)
        .help(format!("every request in flight holds a place in the buffer for its event, so at most {size} are served at once and the rest get 503 `audit_unavailable`: set `audit.bufferSize` to at least {concurrent} (the default is 10000)")),
    );
}

fn schedule(doc: &ConfigDoc<'_>, pointer: &str, text: &str, out: &mut Diagnostics) {
    match text.parse::<Cron>() {
        Err(reason) => out.push(
            doc.value_diag(
                codes::AL2015,
                pointer,
                format!("invalid schedule: {reason}"),
            )
            .help("write a 5-field cron expression in UTC, e.g. `0 1 * * *` for 01:00 every day"),
        ),
        Ok(cron) if cron.next_after(0).is_none() => out.push(
            doc.value_diag(
                codes::AL2015,
                pointer,
                format!("the schedule `{text}` never fires"),
            )
            .help("check the day-of-month and month fields (e.g. `31 2` is never a date)"),
        ),
        Ok(_) => {}
    }
}
