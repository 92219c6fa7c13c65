//! Audit throughput: events per second through the real writer (bounded buffer, group commit,
//! hash chain) into SQLite and into the local PostgreSQL service, with concurrent producers
//! the way request handlers record events. Each run uses a fresh database. After writing, the
//! chain is verified (and its verification speed reported), so the figure is for events that
//! really are chained.

use airlock::record::audit::{AuditLog, Event, verify};
use airlock::record::metrics::Metrics;
use airlock_schema::runtime::{AuditConfig, AuditStore};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Options {
    pub events: usize,
    pub producers: usize,
    pub postgres: String,
}

fn config(store: AuditStore, buffer: u32) -> AuditConfig {
    AuditConfig {
        store,
        retention_ms: 90 * 86_400_000,
        buffer_size: buffer,
        flush_interval_ms: 5,
        on_buffer_full: airlock_schema::config::BufferFullAction::Block,
        cleanup_schedule: None,
        export: None,
    }
}

/// An event the size of a real request's: subject, tenant, tool, resource, decision, digest.
fn event(i: usize) -> Event {
    Event::new("tools/call")
        .set("request_id", format!("7f0c2a4e-{i:012}"))
        .set("subject", format!("user{}@example.com", i % 1000))
        .set("tenant", "acme")
        .set("tool", "read_file")
        .set("resource", format!("mcp://repo/docs/page-{}.md", i % 5000))
        .set("decision", "allow")
        .set("outcome", "success")
        .set("status", 200)
        .set("upstream", "docs")
        .set("redactions", 0)
        .set("latency_ms", 1.234)
        .set("input_digest", format!("sha256:{:064x}", i))
}

async fn run_store(name: &str, store: AuditStore, options: &Options) {
    let log = AuditLog::start(&config(store, 10_000), Arc::new(Metrics::default()));
    // Connect and create the schema before timing.
    log.record(event(0)).await;
    assert!(
        log.flush(Duration::from_secs(30)).await,
        "{name}: the store never connected"
    );
    let started = Instant::now();
    let per_producer = options.events / options.producers;
    let tasks: Vec<_> = (0..options.producers)
        .map(|p| {
            let log = log.clone();
            tokio::spawn(async move {
                for i in 0..per_producer {
                    log.record(event(p * per_producer + i)).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert!(
        log.flush(Duration::from_secs(600)).await,
        "{name}: flush timed out"
    );
    let elapsed = started.elapsed();
    let written = per_producer * options.producers;
    let store = log.store.get().unwrap();
    let verify_started = Instant::now();
    let report = verify::store(store).await.unwrap();
    let verify_elapsed = verify_started.elapsed();
    assert!(report.ok(), "{name}: {report:?}");
    println!(
        "{name:<10} {written} events in {:.2} s = {:>7.0} events/s appended and chained; verify {:>7.0} events/s",
        elapsed.as_secs_f64(),
        written as f64 / elapsed.as_secs_f64(),
        report.events as f64 / verify_elapsed.as_secs_f64(),
    );
}

/// SQLite in a temporary directory, then a fresh database in the PostgreSQL service.
pub async fn run(options: &Options) {
    println!(
        "{} events, {} producers, group commit (buffer 10000, flush 5 ms)",
        options.events, options.producers
    );
    let dir = std::env::temp_dir().join(format!("airlock-bench-{}", std::process::id()));
    let path = dir.join("audit.db").display().to_string();
    run_store("sqlite", AuditStore::Sqlite { path: path.clone() }, options).await;
    let _ = std::fs::remove_dir_all(&dir);

    let name = format!("airlock_bench_{}", std::process::id());
    let admin = sqlx::PgPool::connect(&format!("{}/postgres", options.postgres))
        .await
        .expect("the PostgreSQL server answers");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    let url_file = std::env::temp_dir().join(format!("{name}.url"));
    std::fs::write(&url_file, format!("{}/{name}", options.postgres)).unwrap();
    run_store(
        "postgresql",
        AuditStore::Postgresql {
            url_file: url_file.display().to_string(),
        },
        options,
    )
    .await;
    let _ = std::fs::remove_file(url_file);
}
