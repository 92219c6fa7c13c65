//! Crash consistency: the `airlock` binary is killed with SIGKILL while it writes audit events
//! under load; the SQLite chain it leaves behind still verifies with `airlock audit verify`.
//! Stopped with SIGTERM, it closes the store: `audit.db` alone holds the whole trail.

mod common;

use serde_json::json;
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_gateway_leaves_a_verifiable_chain() {
    let h = common::start("").await;
    let dir = std::env::temp_dir().join(format!("airlock-crash-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = h.app.config.clone();
    config.audit.store = airlock_schema::runtime::AuditStore::Sqlite {
        path: dir.join("audit.db").display().to_string(),
    };
    let config_path = common::write_config(&config, &dir);
    let port = {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let mut gateway = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args([
            "serve",
            "--config",
            config_path.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if h.client
            .get(format!("{url}/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let token = h.idp.token("crash@example.com", &["mcp.users"]);
    let load: Vec<_> = (0..8)
        .map(|_| {
            let (client, url, token) = (h.client.clone(), url.clone(), token.clone());
            tokio::spawn(async move {
                loop {
                    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
                    if client
                        .post(format!("{url}/mcp"))
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .body(body.to_string())
                        .send()
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    gateway.kill().unwrap();
    gateway.wait().unwrap();
    for task in load {
        let _ = task.await;
    }
    let verify = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["audit", "verify", "--config", config_path.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(text.starts_with("OK: sqlite audit store: "), "{text}");
    let events: u64 = text.split_whitespace().nth(4).unwrap().parse().unwrap();
    assert!(
        events > 50,
        "the gateway wrote events before it was killed: {text}"
    );
    // A trail that is gone, or a file that holds none, is unreadable input (2), never an
    // intact empty trail, and checking it creates nothing.
    let db = dir.join("audit.db");
    std::fs::rename(&db, dir.join("moved.db")).unwrap();
    let verify_missing = || {
        Command::new(env!("CARGO_BIN_EXE_airlock"))
            .args(["audit", "verify", "--config", config_path.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let missing = verify_missing();
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));
    assert!(!db.exists(), "verify created an empty database");
    std::fs::write(&db, b"").unwrap();
    let empty = verify_missing();
    assert_eq!(empty.status.code(), Some(2), "{empty:?}");
    assert!(String::from_utf8_lossy(&empty.stderr).contains("no audit trail"));
}

/// After SIGTERM the store is closed cleanly: SQLite merges its write-ahead log, so no `-wal`
/// file is left and a copy of `audit.db` alone holds every event (it used to have no tables).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_gateway_leaves_the_whole_trail_in_the_database_file() {
    let h = common::start("").await;
    let dir = std::env::temp_dir().join(format!("airlock-stop-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = h.app.config.clone();
    let db = dir.join("audit.db");
    config.audit.store = airlock_schema::runtime::AuditStore::Sqlite {
        path: db.display().to_string(),
    };
    let config_path = common::write_config(&config, &dir);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut gateway = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["serve", "--config", config_path.to_str().unwrap()])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if h.client
            .get(format!("{url}/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let token = h.idp.token("stop@example.com", &["mcp.users"]);
    for id in 0..20 {
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"});
        let response = h
            .client
            .post(format!("{url}/mcp"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let killed = Command::new("kill")
        .args(["-TERM", &gateway.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(gateway.wait().unwrap().success(), "a clean stop");
    let wal = dir.join("audit.db-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "the write-ahead log was merged into audit.db"
    );
    // The database file alone, as a backup copies it.
    let copy = dir.join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(&db, copy.join("audit.db")).unwrap();
    let mut copied = config.clone();
    copied.audit.store = airlock_schema::runtime::AuditStore::Sqlite {
        path: copy.join("audit.db").display().to_string(),
    };
    let copied_path = common::write_config(&copied, &copy);
    let (code, out) =
        common::airlock(&["audit", "verify", "--config", copied_path.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("OK: sqlite audit store: 20 events"),
        "{out}"
    );
}
