//! The audit trail on SQLite and on the local PostgreSQL service: every request is an event
//! without tokens or payloads; the chain verifies; every kind of tampering is found; several
//! writers never fork the chain; a store that goes down or stops answering loses nothing; retention keeps the
//! chain verifiable from its checkpoint.

mod common;

use airlock::record::audit::store::Store;
use airlock::record::audit::{AuditLog, Event, WRITE_TIMEOUT, verify};
use airlock::record::metrics::Metrics;
use airlock_schema::config::BufferFullAction;
use airlock_schema::runtime::{AuditConfig, AuditStore};
use serde_json::json;
use sqlx::Connection;
use std::sync::Arc;
use std::time::Duration;

fn config(store: AuditStore) -> AuditConfig {
    AuditConfig {
        store,
        retention_ms: 90 * 86_400_000,
        buffer_size: 10_000,
        flush_interval_ms: 5,
        on_buffer_full: BufferFullAction::Reject,
        cleanup_schedule: None,
        export: None,
    }
}

fn temp_sqlite() -> String {
    let dir = std::env::temp_dir().join(format!("airlock-audit-{}", uuid::Uuid::new_v4().simple()));
    dir.join("audit.db").display().to_string()
}

async fn fill(store: &Store, n: usize) {
    let mut events: Vec<Event> = (0..n)
        .map(|i| {
            Event::new("tools/call")
                .set("subject", format!("user{i}"))
                .set("decision", "allow")
        })
        .collect();
    store.append(&mut events).await.unwrap();
}

#[tokio::test]
async fn requests_are_audited_without_secrets_and_the_chain_verifies() {
    let h = common::start("").await;
    let token = h.user();
    h.rpc(
        &token,
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "secret payload"}}),
    )
    .await;
    h.rpc(
        &token,
        "tools/call",
        json!({"name": "denied_tool", "arguments": {}}),
    )
    .await;
    h.rpc("not-a-jwt", "tools/list", json!({})).await;
    // A JSON-RPC error the handshake era answers with 200 is a failed request all the same.
    h.rpc(&token, "tools/call", json!({"name": "no_such_tool"}))
        .await;
    assert!(h.app.audit.flush(Duration::from_secs(10)).await);
    let store = h.app.audit.store.get().unwrap();
    let report = verify::store(store).await.unwrap();
    assert!(report.ok(), "{report:?}");
    assert!(report.events >= 3);
    let events = store.read(0, 100).await.unwrap();
    let text = serde_json::to_string(&events).unwrap();
    assert!(
        !text.contains(&token) && !text.contains("secret payload"),
        "no token, no payload in the trail"
    );
    let call = events.iter().find(|e| e["tool"] == "echo").unwrap();
    assert_eq!(
        (
            call["action"].as_str(),
            call["decision"].as_str(),
            call["outcome"].as_str()
        ),
        (Some("tools/call"), Some("allow"), Some("success"))
    );
    assert!(
        call["input_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let unknown = events.iter().find(|e| e["tool"] == "no_such_tool").unwrap();
    assert_eq!(
        (unknown["status"].as_u64(), unknown["outcome"].as_str()),
        (Some(200), Some("failure")),
        "{unknown}"
    );
    let denied = events.iter().find(|e| e["tool"] == "denied_tool").unwrap();
    assert_eq!(
        (
            denied["decision"].as_str(),
            denied["rule_id"].as_str(),
            denied["status"].as_u64()
        ),
        (Some("deny"), Some("deny-tool"), Some(403))
    );
    let failed = events
        .iter()
        .find(|e| e["action"] == "authentication")
        .unwrap();
    assert_eq!(
        (failed["auth_stage"].as_str(), failed["error_type"].as_str()),
        (Some("token_extraction"), Some("malformed_token"))
    );
}

/// A batch larger than one SQLite INSERT is written in chunks, each a prepared statement of its
/// size reused by later batches: every size stores the same rows in the same chain.
#[tokio::test]
async fn batches_of_every_size_chain_on_sqlite() {
    let path = temp_sqlite();
    let store = Store::sqlite(&path).await.unwrap();
    let sizes = [150, 1, 64, 65, 22, 150];
    for n in sizes {
        fill(&store, n).await;
    }
    let total: usize = sizes.iter().sum();
    let report = verify::store(&store).await.unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.events as usize, total);
    let events = store.read(0, total as i64 + 10).await.unwrap();
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=total as i64).collect::<Vec<_>>());
    // `fill` names its events user0, user1, …: a chunk boundary keeps the batch's order.
    let subjects: Vec<&str> = events[..150]
        .iter()
        .map(|e| e["subject"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..150).map(|i| format!("user{i}")).collect();
    assert_eq!(subjects, expected);
    assert_eq!(store.head().await.unwrap().0, total as i64);
    let _ = std::fs::remove_dir_all(std::path::Path::new(&path).parent().unwrap());
}

async fn tamper_detection(store: Store, execute: impl AsyncFn(&str)) {
    fill(&store, 10).await;
    assert!(verify::store(&store).await.unwrap().ok());
    let broken = |sql: &'static str, seq: i64| (sql, seq);
    let cases = [
        broken(
            "UPDATE audit_events SET event = replace(event, '\"allow\"', '\"deny\"') WHERE seq = 4",
            4,
        ),
        broken("DELETE FROM audit_events WHERE seq = 6", 7),
        // The indexed columns beside the event are what queries read: edits there count too.
        broken("UPDATE audit_events SET subject = 'eve' WHERE seq = 3", 3),
        broken("UPDATE audit_events SET action = 'ping' WHERE seq = 5", 5),
        broken(
            "UPDATE audit_events SET time = '2020-01-01T00:00:00.000Z' WHERE seq = 2",
            2,
        ),
        broken(
            "UPDATE audit_events SET hash = 'sha256:00' WHERE seq = 10",
            10,
        ),
        broken("UPDATE audit_events SET seq = 100 WHERE seq = 8", 9),
        broken("DELETE FROM audit_events WHERE seq >= 9", 10),
    ];
    for (sql, seq) in cases {
        // Each case starts from a fresh copy of the chain: re-fill after undoing the previous one.
        execute("DELETE FROM audit_events").await;
        execute("UPDATE audit_head SET seq = 0, hash = 'sha256:0000000000000000000000000000000000000000000000000000000000000000'").await;
        fill(&store, 10).await;
        execute(sql).await;
        let report = verify::store(&store).await.unwrap();
        assert_eq!(
            report.broken.as_ref().map(|b| b.0),
            Some(seq),
            "{sql}: {report:?}"
        );
    }
    // An inserted event whose links were forged still breaks the chain at the next event.
    execute("DELETE FROM audit_events").await;
    execute("UPDATE audit_head SET seq = 0, hash = 'sha256:0000000000000000000000000000000000000000000000000000000000000000'").await;
    fill(&store, 10).await;
    // Make room at 6 (in two steps: the primary key is checked row by row).
    execute("UPDATE audit_events SET seq = seq + 1000 WHERE seq > 5").await;
    execute("UPDATE audit_events SET seq = seq - 999 WHERE seq > 1000").await;
    let forged = store.read(4, 1).await.unwrap()[0]["hash"]
        .as_str()
        .unwrap()
        .to_string();
    let mut fake =
        json!({"action": "tools/call", "subject": "mallory", "time": "2026-01-01T00:00:00.000Z"});
    airlock::record::audit::chain::seal(&mut fake, 6, &forged);
    let statement = format!(
        "INSERT INTO audit_events (seq, time, subject, action, event, prev_hash, hash) VALUES (6, '2026-01-01T00:00:00.000Z', 'mallory', 'tools/call', '{}', '{}', '{}')",
        fake,
        forged,
        fake["hash"].as_str().unwrap()
    );
    execute(&statement).await;
    let report = verify::store(&store).await.unwrap();
    let (_, why) = report.broken.as_ref().expect("the forged event is found");
    assert!(why.contains("inserted or reordered"), "{report:?}");
    assert_eq!(
        report.events, 6,
        "the chain is trusted up to the forgery, not past it"
    );
    // An event forged after the head, linked to the last one: no append recorded it.
    execute("DELETE FROM audit_events").await;
    execute("UPDATE audit_head SET seq = 0, hash = 'sha256:0000000000000000000000000000000000000000000000000000000000000000'").await;
    fill(&store, 10).await;
    let last = store.read(9, 1).await.unwrap()[0]["hash"]
        .as_str()
        .unwrap()
        .to_string();
    let mut fake =
        json!({"action": "tools/call", "subject": "mallory", "time": "2026-01-01T00:00:00.000Z"});
    airlock::record::audit::chain::seal(&mut fake, 11, &last);
    execute(&format!(
        "INSERT INTO audit_events (seq, time, subject, action, event, prev_hash, hash) VALUES (11, '2026-01-01T00:00:00.000Z', 'mallory', 'tools/call', '{}', '{}', '{}')",
        fake,
        last,
        fake["hash"].as_str().unwrap()
    ))
    .await;
    let report = verify::store(&store).await.unwrap();
    let (seq, why) = report.broken.as_ref().expect("the forged tail is found");
    assert_eq!(*seq, 11, "{report:?}");
    assert!(why.contains("beyond the recorded head"), "{why}");
}

#[tokio::test]
async fn tampering_is_found_on_sqlite() {
    let path = temp_sqlite();
    let store = Store::sqlite(&path).await.unwrap();
    let Store::Sqlite(pool) = store.clone() else {
        unreachable!()
    };
    tamper_detection(store, async |sql| {
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&pool)
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn tampering_is_found_on_postgres() {
    let store = Store::postgres(&common::temp_postgres().await)
        .await
        .unwrap();
    let Store::Postgres(pool) = store.clone() else {
        unreachable!()
    };
    tamper_detection(store, async |sql| {
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&pool)
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn replicas_writing_to_one_postgres_never_fork_the_chain() {
    let url = common::temp_postgres().await;
    let dir = std::env::temp_dir().join(format!("airlock-pg-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("url"), &url).unwrap();
    let store_config = AuditStore::Postgresql {
        url_file: dir.join("url").display().to_string(),
    };
    let replicas: Vec<Arc<AuditLog>> = (0..3)
        .map(|_| AuditLog::start(&config(store_config.clone()), Arc::new(Metrics::default())))
        .collect();
    let mut writers = Vec::new();
    for (r, log) in replicas.iter().enumerate() {
        let log = log.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..500 {
                log.record(Event::new("tools/call").set("subject", format!("r{r}-{i}")))
                    .await;
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    for log in &replicas {
        assert!(log.flush(Duration::from_secs(20)).await);
    }
    let store = Store::postgres(&url).await.unwrap();
    let report = verify::store(&store).await.unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.events, 1500, "every replica's events, one chain");
}

/// What the proxy does with connections: forward them, close them (an outage), or hold them
/// open and forward nothing (a network partition: the client sees no error, only silence).
#[derive(Clone, Copy, PartialEq)]
enum Link {
    Up,
    Down,
    Silent,
}

/// A TCP proxy standing in for the network to the database. Going down is synchronous: when
/// `set(Link::Down)` returns, every proxied connection is closed, so nothing the test records
/// afterwards can slip through a connection that is still open.
struct Proxy {
    address: std::net::SocketAddr,
    link: tokio::sync::watch::Sender<Link>,
    open: Arc<std::sync::atomic::AtomicUsize>,
}

/// Counts a proxied connection as open until it is dropped.
struct OpenConnection(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Proxy {
    async fn start(target: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let link = tokio::sync::watch::Sender::new(Link::Up);
        let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (link2, open2) = (link.clone(), open.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                let accepted_as = *link2.borrow();
                if accepted_as == Link::Down {
                    continue;
                }
                let mut state = link2.subscribe();
                open2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let counted = OpenConnection(open2.clone());
                tokio::spawn(async move {
                    let _counted = counted;
                    if accepted_as == Link::Up {
                        let Ok(mut server) = tokio::net::TcpStream::connect(target).await else {
                            return;
                        };
                        tokio::select! {
                            biased;
                            _ = state.wait_for(|link| *link != Link::Up) => {}
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => return,
                        }
                        // Silent: hold both ends until the link changes again.
                        let _ = state.wait_for(|link| *link != Link::Silent).await;
                    } else {
                        let _ = state.wait_for(|link| *link != Link::Silent).await;
                    }
                });
            }
        });
        Self {
            address,
            link,
            open,
        }
    }

    /// Changes the link; going down waits until every proxied connection is closed.
    async fn set(&self, link: Link) {
        self.link.send_replace(link);
        while link == Link::Down && self.open.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

#[tokio::test]
async fn a_store_outage_loses_nothing() {
    // Every connection is closed, so the next write fails as soon as the pool finds its idle
    // connection dead and cannot open a new one: within its acquire timeout (5 s).
    outage_loses_nothing(Outage::Link(Link::Down), Duration::from_secs(30)).await;
}

#[tokio::test]
async fn a_network_partition_is_reported_and_loses_nothing() {
    // No error reaches the driver, only silence: the pool's ping of its idle connection times
    // out (5 s).
    outage_loses_nothing(Outage::Link(Link::Silent), Duration::from_secs(30)).await;
}

#[tokio::test]
async fn a_write_that_never_finishes_is_reported_and_loses_nothing() {
    // The store answers pings but the write waits for ever, as behind a replica frozen while
    // holding the chain head: only the writer's timeout notices.
    let started = std::time::Instant::now();
    outage_loses_nothing(Outage::HeadLocked, WRITE_TIMEOUT + Duration::from_secs(20)).await;
    assert!(
        started.elapsed() >= WRITE_TIMEOUT,
        "noticed by the write timeout"
    );
}

/// How the store fails in `outage_loses_nothing`.
enum Outage {
    /// The network to PostgreSQL goes down or silent.
    Link(Link),
    /// Another session holds the chain head's row lock.
    HeadLocked,
}

/// 100 events written, then the store fails as `outage` says and 300 more are recorded: the
/// failure must be counted within `noticed_within`, the events must wait in the buffer, and
/// when the store is back all 400 must be in one verifiable chain.
async fn outage_loses_nothing(outage: Outage, noticed_within: Duration) {
    let url = common::temp_postgres().await;
    let proxy = Proxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let proxied = url.replace("127.0.0.1:5432", &proxy.address.to_string());
    let dir =
        std::env::temp_dir().join(format!("airlock-outage-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("url"), &proxied).unwrap();
    let metrics = Arc::new(Metrics::default());
    let log = AuditLog::start(
        &config(AuditStore::Postgresql {
            url_file: dir.join("url").display().to_string(),
        }),
        metrics.clone(),
    );
    let record = async |phase: &str, n: usize| {
        for i in 0..n {
            log.record(Event::new("tools/call").set("subject", format!("{phase}-{i}")))
                .await;
        }
    };
    record("before", 100).await;
    assert!(log.flush(Duration::from_secs(20)).await);
    let head_lock = match outage {
        Outage::Link(link) => {
            proxy.set(link).await;
            None
        }
        Outage::HeadLocked => {
            let mut holder = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
            sqlx::query("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE")
                .execute(&mut holder)
                .await
                .unwrap();
            Some(holder)
        }
    };
    record("during", 300).await;
    let counted = || {
        metrics.counter(
            airlock_schema::metrics::AUDIT_ERRORS_TOTAL,
            &[("reason", "store_unavailable")],
        ) > 0
    };
    let deadline = std::time::Instant::now() + noticed_within;
    while !counted() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(counted(), "the outage is counted");
    assert!(!log.is_healthy());
    assert!(log.buffered() > 0, "events wait in the buffer");
    proxy.set(Link::Up).await;
    if let Some(mut holder) = head_lock {
        sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    }
    assert!(
        log.flush(Duration::from_secs(30)).await,
        "the buffer drains when the store returns"
    );
    let store = Store::postgres(&url).await.unwrap();
    let report = verify::store(&store).await.unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.events, 400, "nothing was lost");
}

#[tokio::test]
async fn retention_keeps_the_chain_verifiable() {
    let store = Store::sqlite(&temp_sqlite()).await.unwrap();
    let mut old: Vec<Event> = (0..5)
        .map(|i| {
            Event::new("tools/call")
                .set("subject", format!("old{i}"))
                .set("time", "2020-01-01T00:00:00.000Z")
        })
        .collect();
    store.append(&mut old).await.unwrap();
    fill(&store, 5).await;
    assert_eq!(
        store
            .delete_before("2025-01-01T00:00:00.000Z", None)
            .await
            .unwrap(),
        5
    );
    assert_eq!(store.checkpoint().await.unwrap().map(|c| c.0), Some(5));
    let report = verify::store(&store).await.unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!((report.events, report.first_seq), (5, Some(6)));
}

#[tokio::test]
async fn a_full_buffer_in_block_mode_refuses_within_the_request_timeout() {
    let dir = std::env::temp_dir().join(format!("airlock-block-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url_file = dir.join("database-url");
    // Nothing listens on port 1: the store never connects, and the buffer (4 events) fills.
    std::fs::write(&url_file, "postgres://postgres@127.0.0.1:1/audit").unwrap();
    let h = common::start_with("", |config| {
        config.audit.store = airlock_schema::runtime::AuditStore::Postgresql {
            url_file: url_file.display().to_string(),
        };
        config.audit.buffer_size = 4;
        config.audit.on_buffer_full = airlock_schema::config::BufferFullAction::Block;
        config.server.request_timeout_ms = 1000;
    })
    .await;
    let token = h.user();
    for _ in 0..4 {
        assert_eq!(h.rpc(&token, "tools/list", json!({})).await.0, 200);
    }
    let started = std::time::Instant::now();
    let refused = h.rpc(&token, "tools/list", json!({})).await;
    common::assert_error(&refused, 503, "audit_unavailable");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "refused after the request timeout, not never: {waited:?}"
    );
}

/// A SQLite database that cannot grow (`max_page_count`, the portable stand-in for a full
/// disk): appends fail while it is full, and each failed append leaves no transaction open
/// behind it. Before, a failed commit left sqlx one transaction deep on a pooled connection;
/// later batches then "committed" inside a transaction that never was, and were lost while
/// counted as written. When room returns, every append that reported success is in the chain,
/// and another connection can take the write lock.
#[tokio::test]
async fn a_full_sqlite_database_fails_appends_and_loses_none_that_succeeded() {
    use sqlx::sqlite::SqlitePoolOptions;
    use std::sync::atomic::{AtomicU64, Ordering};
    let path = temp_sqlite();
    let limit = Arc::new(AtomicU64::new(u64::from(u32::MAX)));
    let pages = limit.clone();
    let pool = SqlitePoolOptions::new()
        .max_connections(2)
        .after_connect(move |connection, _| {
            let pages = pages.load(Ordering::SeqCst);
            Box::pin(async move {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "PRAGMA max_page_count = {pages}"
                )))
                .execute(connection)
                .await
                .map(|_| ())
            })
        })
        .connect_with(Store::sqlite_options(&path).unwrap())
        .await
        .unwrap();
    let store = Store::sqlite_pool(pool.clone()).await.unwrap();
    fill(&store, 20).await;
    let Store::Sqlite(ref sqlite) = store else {
        unreachable!()
    };
    let size: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(sqlite)
        .await
        .unwrap();
    // Full from here on: for connections opened from now on, and for those already open.
    limit.store(size as u64, Ordering::SeqCst);
    for _ in 0..2 {
        let mut connection = sqlite.acquire().await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "PRAGMA max_page_count = {size}"
        )))
        .execute(&mut *connection)
        .await
        .unwrap();
    }
    let big = "x".repeat(2000);
    let mut succeeded = 20;
    let mut failed = 0;
    for round in 0..30 {
        let mut batch: Vec<Event> = (0..20)
            .map(|i| {
                Event::new("tools/call")
                    .set("subject", format!("full-{round}-{i}"))
                    .set("reason", big.clone())
            })
            .collect();
        match store.append(&mut batch).await {
            Ok(_) => succeeded += batch.len(),
            Err(error) => {
                assert!(error.to_string().contains("full"), "{error}");
                failed += 1;
            }
        }
    }
    assert!(failed > 0, "the database filled up");
    // Room again: new connections get it; the append path never reuses a failed connection.
    limit.store(u64::from(u32::MAX), Ordering::SeqCst);
    let mut after = Vec::new();
    for _ in 0..5 {
        let mut batch: Vec<Event> = (0..10)
            .map(|i| Event::new("tools/call").set("subject", format!("after-{i}")))
            .collect();
        if store.append(&mut batch).await.is_ok() {
            after.push(batch.len());
        }
    }
    assert!(!after.is_empty(), "appends succeed once there is room");
    succeeded += after.iter().sum::<usize>();
    // Another process can take the write lock: no transaction was left open.
    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite://{path}"))
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    let report = verify::store(&store).await.unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(
        report.events as usize, succeeded,
        "every append that reported success is in the chain, and nothing else"
    );
}

/// `audit.bufferSize` is the number of events the buffer holds: requests in flight hold a
/// place each, taken at admission, and the next one is refused at once (`reject`).
#[tokio::test]
async fn the_buffer_holds_exactly_buffer_size_events() {
    let dir = std::env::temp_dir().join(format!("airlock-size-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("url"), "postgres://postgres@127.0.0.1:1/audit").unwrap();
    let mut settings = config(AuditStore::Postgresql {
        url_file: dir.join("url").display().to_string(),
    });
    settings.buffer_size = 100;
    let log = AuditLog::start(&settings, Arc::new(Metrics::default()));
    let mut slots = Vec::new();
    for i in 0..100 {
        let slot = log.reserve(&format!("r{i}"), Duration::ZERO).await;
        slots.push(slot.expect("a place for each of the first 100"));
    }
    assert!(log.reserve("r100", Duration::ZERO).await.is_none());
    assert_eq!(log.status().reserved, 100);
    for (i, slot) in slots.into_iter().enumerate() {
        slot.record(Event::new("tools/call").set("request_id", format!("r{i}")));
    }
    let status = log.status();
    assert_eq!((status.buffered, status.reserved), (100, 0));
    log.record_if_room(Event::new("tools/call"));
    assert_eq!(log.status().lost, 1, "no room: the refused request's event");
}
