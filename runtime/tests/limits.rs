//! Rate limits shared by replicas through Redis (`rateLimiting.store.redis`): the per-token
//! limit and the failed-authentication throttle hold across two gateways on one config, as one
//! gateway's would; a store that stops answering is reported (`/info`, the gauge) and, with
//! `onUnavailable: local`, the replicas limit on their own, with `deny` they answer 503
//! `rate_limit_store_unavailable` and are not ready; both recover without a restart.

mod common;

use common::{Harness, replica};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A key prefix of the test's own on the local Redis (127.0.0.1:6379).
fn prefix() -> String {
    format!("airlock-test:{}:", uuid::Uuid::new_v4().simple())
}

async fn call(h: &Harness, gateway: &str, token: &str) -> (u16, Value) {
    let response = h
        .client
        .post(format!("{gateway}/mcp"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                   "params": {"name": "echo", "arguments": {"text": "x"}}})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(h: &Harness, gateway: &str, path: &str) -> (u16, Value) {
    let response = h
        .client
        .get(format!("{gateway}{path}"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_limit_holds_across_replicas() {
    let store = format!(
        "rateLimiting: {{perToken: 60/min, burst: 10, store: {{redis: {{url: \"redis://127.0.0.1:6379/0\", keyPrefix: \"{}\"}}}}}}",
        prefix()
    );
    let h = common::start(&store).await;
    let b = replica(h.app.config.clone()).await;
    let token = h.user();
    let mut admitted = 0;
    for i in 0..30 {
        let gateway = if i % 2 == 0 { h.gateway.as_str() } else { &b };
        let (status, body) = call(&h, gateway, &token).await;
        match status {
            200 => admitted += 1,
            429 => assert_eq!(body["error"]["data"]["error_type"], "rate_limited"),
            other => panic!("{other}: {body}"),
        }
    }
    // One replica alone admits the burst, 10, plus what refills meanwhile (1/s).
    assert!(
        (10..=12).contains(&admitted),
        "{admitted} of 30 admitted by two replicas sharing the limit"
    );
    let (_, info) = get(&h, &b, "/info").await;
    assert_eq!(info["rate_limit_store"]["state"], "up", "{info}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_failed_authentication_throttle_holds_across_replicas() {
    let store = format!(
        "rateLimiting: {{failedAuth: {{maxAttempts: 3, window: 1m, blockFor: 1m}}, store: {{redis: {{url: \"redis://127.0.0.1:6379/0\", keyPrefix: \"{}\"}}}}}}",
        prefix()
    );
    let h = common::start(&store).await;
    let b = replica(h.app.config.clone()).await;
    for gateway in [h.gateway.as_str(), &b, &h.gateway] {
        let (status, _) = call(&h, gateway, "not-a-token").await;
        assert_eq!(status, 401);
    }
    // Three failures spread over two replicas block the IP on both, for a good token too.
    for gateway in [h.gateway.as_str(), &b] {
        let (status, body) = call(&h, gateway, &h.user()).await;
        assert_eq!(
            (status, body["error"]["data"]["error_type"].as_str()),
            (429, Some("auth_throttled")),
            "{body}"
        );
    }
}

/// A Redis server of the test's own, on its own port, that the test stops and starts.
struct PrivateRedis {
    port: u16,
    server: Option<Child>,
}

impl PrivateRedis {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = Self { port, server: None };
        redis.up();
        redis
    }
    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
    fn up(&mut self) {
        let server = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        self.server = Some(server);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not start");
    }
    fn down(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.down();
    }
}

async fn eventually(h: &Harness, gateway: &str, state: &str) -> Value {
    for _ in 0..100 {
        let (_, info) = get(h, gateway, "/info").await;
        if info["rate_limit_store"]["state"] == state {
            return info;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the store was never reported {state}");
}

fn gauge(metrics: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("airlock_ratelimit_store_up ")?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_stops_answering_falls_back_to_local_limits_or_denies() {
    let mut redis = PrivateRedis::start();
    for mode in ["local", "deny"] {
        let store = format!(
            "rateLimiting: {{perToken: 6000/min, burst: 100, store: {{redis: {{url: \"{}\", onUnavailable: {mode}, keyPrefix: \"{}\"}}}}}}",
            redis.url(),
            prefix()
        );
        let h = common::start(&store).await;
        let token = h.user();
        eventually(&h, &h.gateway, "up").await;
        assert_eq!(call(&h, &h.gateway, &token).await.0, 200);

        redis.down();
        let (status, body) = call(&h, &h.gateway, &token).await;
        let metrics = h
            .client
            .get(format!("{}/metrics", h.gateway))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(gauge(&metrics), Some(0.0), "{metrics}");
        eventually(&h, &h.gateway, "down").await;
        let (ready, _) = get(&h, &h.gateway, "/ready").await;
        if mode == "local" {
            assert_eq!(status, 200, "local limits serve: {body}");
            assert_eq!(ready, 200, "still ready");
        } else {
            assert_eq!(
                (status, body["error"]["data"]["error_type"].as_str()),
                (503, Some("rate_limit_store_unavailable")),
                "{body}"
            );
            assert_eq!(ready, 503, "not ready without the store");
        }

        redis.up();
        eventually(&h, &h.gateway, "up").await;
        assert_eq!(
            call(&h, &h.gateway, &token).await.0,
            200,
            "{mode}: recovered"
        );
        assert_eq!(get(&h, &h.gateway, "/ready").await.0, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_doctor_checks_the_store_and_the_session_key() {
    let dir = std::env::temp_dir().join(format!("airlock-doc-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("key"), "k".repeat(40)).unwrap();
    let store = format!(
        "rateLimiting: {{store: {{redis: {{url: \"redis://127.0.0.1:6379/0\", keyPrefix: \"{}\"}}}}}}",
        prefix()
    );
    let key = dir.join("key").display().to_string();
    let h = common::start_with(&store, move |config| {
        config.server.sessions.key_file = Some(key);
    })
    .await;
    let path = common::write_config(&h.app.config, &dir);
    let path = path.to_str().unwrap().to_string();
    let doctor = |path: String| {
        tokio::task::spawn_blocking(move || {
            common::airlock(&["doctor", "--config", &path, "--skip-upstreams"])
        })
    };
    let (_, out) = doctor(path.clone()).await.unwrap();
    assert!(out.contains("PASS  sessions.key"), "{out}");
    assert!(
        out.contains("PASS  ratelimit.store") && out.contains("Redis 7"),
        "{out}"
    );
    let mut broken = h.app.config.clone();
    broken.rate_limits.store.as_mut().unwrap().url = "redis://127.0.0.1:1/0".into();
    std::fs::write(dir.join("key"), "short").unwrap();
    let path = common::write_config(&broken, &dir);
    let (code, out) = doctor(path.to_str().unwrap().to_string()).await.unwrap();
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL  ratelimit.store"), "{out}");
    assert!(
        out.contains("FAIL  sessions.key") && out.contains("at least 32 random bytes"),
        "{out}"
    );
}
