//! S3 against a real S3 API (moto's server on 127.0.0.1): S3 roots through the gateway (read,
//! list, search, write under the prefix only, traversal refused, size cap), and the audit
//! export (segments that verify offline and link, idempotent re-runs, adoption of a segment a
//! dead run uploaded, tampering found, one exporter at a time on PostgreSQL).

mod common;

use airlock::record::audit::export::{Target, run_once};
use airlock::record::audit::store::Store;
use airlock::record::audit::{Event, verify};
use airlock_schema::runtime::{AuditExport, RootConfig};
use common::moto::{self, Moto};
use serde_json::{Value, json};

const BUCKET: &str = "acme-artifacts";
const OUTSIDE_MARKER: &str = "OUTSIDE-THE-PREFIX";

fn temp_dir(what: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("airlock-{what}-{}", uuid::Uuid::new_v4().simple()))
}

async fn gateway_with_s3_roots(s3: &Moto) -> common::Harness {
    let credentials = Moto::credentials(&temp_dir("s3-creds"));
    let endpoint = s3.endpoint.clone();
    let yaml = format!(
        r#"roots:
  - name: artifacts
    type: s3
    virtual: mcp://artifacts/
    real: s3://{BUCKET}/team/
    endpoint: {endpoint}
    region: us-east-1
    secretRef: {{name: airlock-s3}}
    maxObjectSize: 64Ki
  - name: drop
    type: s3
    virtual: mcp://drop/
    real: s3://{BUCKET}/drop/
    readOnly: false
    endpoint: {endpoint}
    region: us-east-1
    secretRef: {{name: airlock-s3}}
"#
    );
    common::start_with(&yaml, move |config| {
        for root in &mut config.roots {
            if let RootConfig::S3 { credentials: c, .. } = root {
                *c = Some(credentials.clone());
            }
        }
    })
    .await
}

fn fresh(h: &common::Harness) -> String {
    let subject = format!("u{}@example.com", uuid::Uuid::new_v4().simple());
    h.idp.token(&subject, &["mcp.users"])
}

#[tokio::test]
async fn s3_roots_serve_their_prefix_and_nothing_else() {
    let s3 = Moto::start();
    let client = s3.bucket(BUCKET).await;
    moto::put(
        &client,
        BUCKET,
        "team/report.md",
        "# Q3 report\nkey AKIAABCDEFGHIJKLMNOP\n",
    )
    .await;
    moto::put(&client, BUCKET, "team/docs/guide.md", "the guide\n").await;
    moto::put(&client, BUCKET, "team/big.bin", vec![b'x'; 70 * 1024]).await;
    moto::put(&client, BUCKET, "team/odd//name.txt", "unaddressable").await;
    moto::put(&client, BUCKET, "other/secret.txt", OUTSIDE_MARKER).await;
    moto::put(&client, BUCKET, "team-secret.txt", OUTSIDE_MARKER).await;
    let h = gateway_with_s3_roots(&s3).await;
    let rpc = |method: &'static str, params: Value| {
        let token = fresh(&h);
        let h = &h;
        async move { h.rpc(&token, method, params).await }
    };

    let (status, _, body) = rpc(
        "resources/read",
        json!({"uri": "mcp://artifacts/report.md"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let text = body["result"]["contents"][0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("# Q3 report") && !text.contains("AKIA"),
        "{text}"
    );

    let (_, _, body) = rpc(
        "tools/call",
        json!({"name": "list_directory", "arguments": {"uri": "mcp://artifacts/"}}),
    )
    .await;
    let names: Vec<&str> = body["result"]["structuredContent"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["big.bin", "docs", "odd", "report.md"], "{body}");

    let (_, _, body) = rpc("tools/call", json!({"name": "search_files", "arguments": {"uri": "mcp://artifacts/", "pattern": "*.md"}})).await;
    let found: Vec<&str> = body["result"]["structuredContent"]["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["uri"].as_str().unwrap())
        .collect();
    assert_eq!(
        found,
        ["mcp://artifacts/docs/guide.md", "mcp://artifacts/report.md"]
    );
    let (_, _, body) = rpc("tools/call", json!({"name": "search_files", "arguments": {"uri": "mcp://artifacts/", "contains": "guide"}})).await;
    assert_eq!(
        body["result"]["structuredContent"]["matches"][0]["line"], 1,
        "{body}"
    );

    let big = rpc("resources/read", json!({"uri": "mcp://artifacts/big.bin"})).await;
    common::assert_error(&big, 200, "resource_too_large");
    let missing = rpc("resources/read", json!({"uri": "mcp://artifacts/nope.md"})).await;
    common::assert_error(&missing, 200, "resource_not_found");

    // Writes land under the writable root's prefix; the read-only root refuses them.
    let (_, _, body) = rpc("tools/call", json!({"name": "write_file", "arguments": {"uri": "mcp://drop/out/result.txt", "content": "done"}})).await;
    assert_eq!(body["result"]["isError"], false, "{body}");
    assert_eq!(
        moto::get(&client, BUCKET, "drop/out/result.txt")
            .await
            .unwrap(),
        b"done"
    );
    let refused = rpc("tools/call", json!({"name": "write_file", "arguments": {"uri": "mcp://artifacts/report.md", "content": "pwned"}})).await;
    common::assert_error(&refused, 403, "path_violation");

    for uri in [
        "mcp://artifacts/../other/secret.txt",
        "mcp://artifacts/%2e%2e/other/secret.txt",
        "mcp://artifacts/..%2fother%2fsecret.txt",
        "mcp://artifacts/..\\other\\secret.txt",
        "mcp://artifacts//other/secret.txt",
        "mcp://artifacts/%c0%ae%c0%ae/other/secret.txt",
        "mcp://artifacts/odd//name.txt",
        "s3://acme-artifacts/other/secret.txt",
    ] {
        for (method, params) in [
            ("resources/read", json!({"uri": uri})),
            (
                "tools/call",
                json!({"name": "read_file", "arguments": {"uri": uri}}),
            ),
        ] {
            let response = rpc(method, params).await;
            assert!(
                !response.2.to_string().contains(OUTSIDE_MARKER),
                "{uri}: {}",
                response.2
            );
            assert!(
                !response.2.to_string().contains("unaddressable"),
                "{uri}: {}",
                response.2
            );
            common::assert_error(&response, 403, "path_violation");
        }
    }
    let (_, _, body) = rpc("tools/call", json!({"name": "write_file", "arguments": {"uri": "mcp://drop/../team/report.md", "content": "x"}})).await;
    assert_eq!(body["error"]["data"]["error_type"], "path_violation");
    assert_eq!(
        moto::keys(&client, BUCKET, "").await,
        [
            "drop/out/result.txt",
            "other/secret.txt",
            "team-secret.txt",
            "team/big.bin",
            "team/docs/guide.md",
            "team/odd//name.txt",
            "team/report.md"
        ],
        "nothing was written outside the writable prefix"
    );
}

fn export_config(s3: &Moto, prefix: &str) -> AuditExport {
    AuditExport {
        bucket: "acme-audit".into(),
        prefix: prefix.into(),
        region: Some("us-east-1".into()),
        endpoint: Some(s3.endpoint.clone()),
        credentials: Some(Moto::credentials(&temp_dir("s3-creds"))),
        schedule: "0 1 * * *".into(),
        format: "jsonl".into(),
    }
}

async fn append(store: &Store, n: usize) {
    let mut events: Vec<Event> = (0..n)
        .map(|i| Event::new("tools/call").set("subject", format!("user{i}")))
        .collect();
    store.append(&mut events).await.unwrap();
}

async fn download(client: &aws_sdk_s3::Client, prefix: &str) -> Vec<(String, Vec<u8>)> {
    let mut segments = Vec::new();
    for key in moto::keys(client, "acme-audit", prefix).await {
        let body = moto::get(client, "acme-audit", &key).await.unwrap();
        segments.push((key, body));
    }
    segments
}

fn verify_all(segments: &[(String, Vec<u8>)]) -> airlock::record::audit::chain::Report {
    verify::segments(
        segments
            .iter()
            .map(|(key, body)| (key.clone(), std::io::Cursor::new(body.clone())))
            .collect(),
    )
    .unwrap()
}

#[tokio::test]
async fn exported_segments_link_verify_offline_and_reruns_are_idempotent() {
    let s3 = Moto::start();
    let client = s3.bucket("acme-audit").await;
    let store = Store::sqlite(&temp_dir("audit").join("audit.db").display().to_string())
        .await
        .unwrap();
    let target = Target::new(&export_config(&s3, "airlock/")).await;

    append(&store, 120).await;
    let first = run_once(&store, &target).await.unwrap();
    assert_eq!(first.written.len(), 1);
    assert_eq!(
        (first.written[0].first_seq, first.written[0].last_seq),
        (1, 120)
    );
    assert_eq!(
        first.written[0].key,
        format!("airlock/{:020}-{:020}.jsonl", 1, 120)
    );
    let again = run_once(&store, &target).await.unwrap();
    assert!(
        again.written.is_empty() && again.adopted.is_empty(),
        "{again:?}"
    );

    append(&store, 30).await;
    let second = run_once(&store, &target).await.unwrap();
    assert_eq!(
        (second.written[0].first_seq, second.written[0].last_seq),
        (121, 150)
    );
    assert_eq!(
        second.written[0].first_prev_hash,
        first.written[0].last_hash
    );

    let segments = download(&client, "airlock/").await;
    assert_eq!(segments.len(), 2);
    let report = verify_all(&segments);
    assert!(report.ok(), "{report:?}");
    assert_eq!((report.events, report.last_seq), (150, Some(150)));

    // The CLI verifies the same files, as an auditor would offline.
    let dir = temp_dir("segments");
    std::fs::create_dir_all(&dir).unwrap();
    let mut args = vec!["audit".to_string(), "verify".into()];
    for (key, body) in &segments {
        let file = dir.join(key.rsplit('/').next().unwrap());
        std::fs::write(&file, body).unwrap();
        args.extend(["--file".into(), file.display().to_string()]);
    }
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(&args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.starts_with("OK: 2 segments: 150 events"),
        "{stdout}"
    );

    // Tampering with an exported event, dropping a segment or reordering them is found.
    let mut edited = segments.clone();
    let text = String::from_utf8(edited[1].1.clone())
        .unwrap()
        .replacen("user3", "user4", 1);
    edited[1].1 = text.into_bytes();
    assert!(!verify_all(&edited).ok());
    let reordered = vec![segments[1].clone(), segments[0].clone()];
    assert!(!verify_all(&reordered).ok());
    let mut truncated = segments.clone();
    let body = String::from_utf8(truncated[0].1.clone()).unwrap();
    let lines: Vec<&str> = body.lines().collect();
    truncated[0].1 = (lines[..lines.len() - 1].join("\n") + "\n").into_bytes();
    assert!(!verify_all(&truncated).ok());
}

#[tokio::test]
async fn a_segment_uploaded_by_a_run_that_died_is_adopted_not_duplicated() {
    let s3 = Moto::start();
    let client = s3.bucket("acme-audit").await;
    let store = Store::sqlite(&temp_dir("audit").join("audit.db").display().to_string())
        .await
        .unwrap();
    let target = Target::new(&export_config(&s3, "")).await;
    append(&store, 10).await;
    // A run that uploaded events 1..10 and died before recording it.
    let events = store.read(0, 100).await.unwrap();
    let (segment, body) =
        airlock::record::audit::export::segment(format!("{:020}-{:020}.jsonl", 1, 10), &events);
    moto::put(&client, "acme-audit", &segment.key, body).await;
    append(&store, 5).await;
    let outcome = run_once(&store, &target).await.unwrap();
    assert_eq!(outcome.adopted.len(), 1);
    assert_eq!(
        (outcome.written[0].first_seq, outcome.written[0].last_seq),
        (11, 15)
    );
    let segments = download(&client, "").await;
    assert_eq!(segments.len(), 2);
    assert!(verify_all(&segments).ok());
}

#[tokio::test]
async fn replicas_on_postgres_export_one_at_a_time_without_duplicates() {
    let s3 = Moto::start();
    let client = s3.bucket("acme-audit").await;
    let url = common::temp_postgres().await;
    let store = Store::postgres(&url).await.unwrap();
    append(&store, 500).await;
    let (a, b) = (
        Store::postgres(&url).await.unwrap(),
        Store::postgres(&url).await.unwrap(),
    );
    let config = export_config(&s3, "pg/");
    let (ta, tb) = (Target::new(&config).await, Target::new(&config).await);
    let (ra, rb) = tokio::join!(run_once(&a, &ta), run_once(&b, &tb));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let written = ra.written.len() + rb.written.len();
    assert_eq!(
        written, 1,
        "exactly one replica wrote the segment: {ra:?} {rb:?}"
    );
    let segments = download(&client, "pg/").await;
    assert_eq!(segments.len(), 1);
    let report = verify_all(&segments);
    assert!(report.ok() && report.events == 500, "{report:?}");
}
