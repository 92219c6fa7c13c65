//! Fault injection on the real audit stores under steady `tools/call` load, each call carrying
//! a unique marker: a SQLite disk that fills up and is freed again, a PostgreSQL server of the
//! test's own stopped and restarted (with `onBufferFull: reject` and `block`, slow tool calls in
//! flight), and a store held by a lock so that the buffer fills. Each run asserts the promise
//! of the audit trail: every call answered 200 has its event, exactly once; every call the
//! upstream ran was answered and audited; every other answer is 503 `audit_unavailable`; the
//! events the gateway counts as written are the events the store holds; `audit verify`
//! passes; and the gateway recovers without a restart.

mod common;

use airlock::record::audit::verify;
use airlock_schema::config::BufferFullAction;
use airlock_schema::metrics as m;
use airlock_schema::runtime::AuditStore;
use common::Harness;
use common::faults::{PgCluster, Tmpfs, eventually};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// One answer the load got.
#[derive(Debug)]
struct Answer {
    marker: String,
    status: u16,
    request_id: String,
    error_type: Option<String>,
}

/// Clients calling `echo` (each call takes `tool_ms` at the upstream) with unique markers.
struct Load {
    stop: Arc<AtomicBool>,
    workers: Vec<tokio::task::JoinHandle<Vec<Answer>>>,
}

impl Load {
    fn start(h: &Harness, clients: usize, tool_ms: u64) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let token = h.user();
        let workers = (0..clients)
            .map(|worker| {
                let (client, url, token, stop) = (
                    h.client.clone(),
                    format!("{}/mcp", h.gateway),
                    token.clone(),
                    stop.clone(),
                );
                tokio::spawn(async move {
                    let mut answers = Vec::new();
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let marker = format!("w{worker}-c{n}");
                        let body = json!({"jsonrpc": "2.0", "id": n, "method": "tools/call",
                            "params": {"name": "echo", "arguments": {"text": marker, "ms": tool_ms}}});
                        let response = client
                            .post(&url)
                            .bearer_auth(&token)
                            .header("content-type", "application/json")
                            .header("accept", "application/json, text/event-stream")
                            .body(body.to_string())
                            .send()
                            .await
                            .expect("the gateway answers every call");
                        let status = response.status().as_u16();
                        let request_id = response.headers()["x-request-id"]
                            .to_str()
                            .unwrap()
                            .to_string();
                        let body: Value = response.json().await.unwrap_or(Value::Null);
                        let error_type = body["error"]["data"]["error_type"]
                            .as_str()
                            .map(str::to_string);
                        if status == 503 {
                            // A refused client backs off a little, as the Retry-After asks.
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        answers.push(Answer {
                            marker,
                            status,
                            request_id,
                            error_type,
                        });
                    }
                    answers
                })
            })
            .collect();
        Self { stop, workers }
    }

    async fn stop(self) -> Vec<Answer> {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for worker in self.workers {
            all.extend(worker.await.unwrap());
        }
        all
    }
}

/// Limits far above the load: the tests are about the audit trail, not about rate limits.
const UNLIMITED: &str = "rateLimiting: {perToken: 1000000/min, perIp: 1000000/min, burst: 100000}";

/// `/info`'s audit section.
async fn audit_info(h: &Harness) -> Value {
    let info: Value = h
        .client
        .get(format!("{}/info", h.gateway))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    info["audit"].clone()
}

/// A gauge or counter without labels, read from `/metrics` as a scraper would.
async fn scraped(h: &Harness, name: &str) -> f64 {
    let text = h
        .client
        .get(format!("{}/metrics", h.gateway))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} is not exported"))
}

/// Waits until `/info` says the store is in `state` (`up` or `down`).
async fn store_becomes(h: &Harness, state: &str, within: Duration) {
    let started = std::time::Instant::now();
    let deadline = started + within;
    loop {
        let info = audit_info(h).await;
        if info["store_state"] == state {
            let up = scraped(h, m::AUDIT_STORE_UP).await;
            assert_eq!(
                up,
                f64::from(u8::from(state == "up")),
                "the gauge agrees: {info}"
            );
            println!(
                "the store was reported {state} after {:?}",
                started.elapsed()
            );
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the audit store was not reported {state} within {within:?}: {info}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The promise, checked after the load: see the module doc.
async fn assert_nothing_lost(h: &Harness, answers: &[Answer]) {
    assert!(
        h.app.audit.flush(Duration::from_secs(60)).await,
        "the buffer drains once the store is back"
    );
    let store = h.app.audit.store.get().expect("the store is connected");
    let mut events = Vec::new();
    loop {
        let after = events
            .last()
            .map_or(0, |e: &Value| e["seq"].as_i64().unwrap());
        let page = store.read(after, 10_000).await.unwrap();
        if page.is_empty() {
            break;
        }
        events.extend(page);
    }
    let mut audited: HashMap<&str, usize> = HashMap::new();
    for event in &events {
        if let Some(id) = event["request_id"].as_str() {
            *audited.entry(id).or_default() += 1;
        }
    }
    let answered: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
    let unaudited: Vec<&&Answer> = answered
        .iter()
        .filter(|a| audited.get(a.request_id.as_str()) != Some(&1))
        .collect();
    assert!(
        unaudited.is_empty(),
        "{} of {} calls answered 200 are not audited exactly once, e.g. {:?}",
        unaudited.len(),
        answered.len(),
        unaudited.first()
    );
    for answer in answers.iter().filter(|a| a.status != 200) {
        assert_eq!(
            (answer.status, answer.error_type.as_deref()),
            (503, Some("audit_unavailable")),
            "{answer:?}"
        );
    }
    let by_marker: HashMap<&str, &Answer> =
        answers.iter().map(|a| (a.marker.as_str(), a)).collect();
    let ran = h.seen.lock().unwrap().echoed.clone();
    for marker in &ran {
        let answer = by_marker[marker.as_str()];
        assert_eq!(
            answer.status, 200,
            "the upstream ran a call that was then refused: {answer:?}"
        );
    }
    let written = h.app.metrics.counter(m::AUDIT_EVENTS_TOTAL, &[]);
    let gateway_events = events.iter().filter(|e| e["action"] != "doctor_check");
    assert_eq!(
        written,
        gateway_events.count() as u64,
        "the events the gateway counts as written are the events the store holds"
    );
    let report = verify::store(store).await.unwrap();
    assert!(report.ok(), "{report:?}");
    // Still serving, without a restart.
    let after = h
        .rpc(
            &h.user(),
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "after"}}),
        )
        .await;
    assert_eq!(after.0, 200, "{after:?}");
    println!(
        "{} answered 200, {} refused 503, {} events",
        answered.len(),
        answers.len() - answered.len(),
        events.len()
    );
}

/// SQLite on a small tmpfs that is filled mid-load, then freed.
async fn disk_full(buffer_size: u32) {
    let disk = Tmpfs::mount(32 << 20);
    let path = disk.dir.join("audit.db").display().to_string();
    let h = common::start_with(UNLIMITED, |config| {
        config.audit.store = AuditStore::Sqlite { path };
        config.audit.buffer_size = buffer_size;
        config.audit.on_buffer_full = BufferFullAction::Reject;
    })
    .await;
    let load = Load::start(&h, 8, 20);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    store_becomes(&h, "up", Duration::from_secs(5)).await;
    disk.fill();
    store_becomes(&h, "down", Duration::from_secs(15)).await;
    // What on-call sees from the pod: the doctor names the full volume.
    let config = common::write_config(&h.app.config, &h.policy_dir);
    let doctor = tokio::task::spawn_blocking(move || {
        common::airlock(&[
            "doctor",
            "--config",
            config.to_str().unwrap(),
            "--skip-upstreams",
        ])
    })
    .await
    .unwrap();
    assert_eq!(doctor.0, 1, "{}", doctor.1);
    for failed in ["FAIL  audit.store", "FAIL  audit.space"] {
        assert!(doctor.1.contains(failed), "{failed} in\n{}", doctor.1);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(audit_info(&h).await["store_state"], "down", "still full");
    disk.free();
    store_becomes(&h, "up", Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let answers = load.stop().await;
    assert_nothing_lost(&h, &answers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_disk_full_mid_load_loses_no_answered_call() {
    disk_full(10_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_disk_full_with_a_small_buffer_refuses_instead_of_losing() {
    disk_full(100).await;
}

/// A PostgreSQL server of the test's own, stopped mid-load (as a crash: `immediate`) and
/// started again, with slow calls (300 ms at the upstream) in flight.
async fn postgres_restart(mode: BufferFullAction) {
    let cluster = PgCluster::start();
    let dir = std::env::temp_dir().join(format!("airlock-pgurl-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("url"), cluster.url()).unwrap();
    let url_file = dir.join("url").display().to_string();
    let h = common::start_with(UNLIMITED, |config| {
        config.audit.store = AuditStore::Postgresql { url_file };
        config.audit.buffer_size = 100;
        config.audit.on_buffer_full = mode;
        config.server.request_timeout_ms = 2000;
        config.upstreams[0].timeout_ms = 5000;
    })
    .await;
    store_becomes(&h, "up", Duration::from_secs(10)).await;
    let load = Load::start(&h, 24, 300);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cluster.down();
    store_becomes(&h, "down", Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    cluster.up();
    store_becomes(&h, "up", Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let answers = load.stop().await;
    assert!(
        answers.iter().any(|a| a.status == 503),
        "the outage outlasted the buffer (the test tests refusal)"
    );
    assert_nothing_lost(&h, &answers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_mid_load_in_reject_mode_loses_no_answered_call() {
    postgres_restart(BufferFullAction::Reject).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_mid_load_in_block_mode_loses_no_answered_call() {
    postgres_restart(BufferFullAction::Block).await;
}

/// A store that answers slowly: another connection holds SQLite's write lock for 4 s, so the
/// writer waits, the buffer (100 events) fills, and calls are refused before they reach the
/// upstream, never answered without their event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_store_fills_the_buffer_and_calls_are_refused_before_the_upstream() {
    let h = common::start_with(UNLIMITED, |config| {
        config.audit.buffer_size = 100;
        config.audit.on_buffer_full = BufferFullAction::Reject;
        config.upstreams[0].timeout_ms = 5000;
    })
    .await;
    store_becomes(&h, "up", Duration::from_secs(10)).await;
    let AuditStore::Sqlite { path } = &h.app.config.audit.store else {
        unreachable!()
    };
    let load = Load::start(&h, 24, 300);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let mut holder =
        <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!("sqlite://{path}"))
            .await
            .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .unwrap();
    let full = eventually(Duration::from_secs(5), || h.app.audit.buffered() >= 90).await;
    assert!(full, "the buffer fills while the store is held");
    tokio::time::sleep(Duration::from_secs(3)).await;
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    drop(holder);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let answers = load.stop().await;
    assert!(answers.iter().any(|a| a.status == 503));
    assert_nothing_lost(&h, &answers).await;
}
