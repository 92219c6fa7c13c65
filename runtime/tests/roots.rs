//! Virtual roots through the real gateway: resources and built-in tools serve files, DLP and
//! size caps apply, read-only roots refuse writes, and a corpus of path-traversal attempts
//! (encodings, symlinks, special files, foreign schemes) never reads outside a root — each
//! attempt a 403 `path_violation`, a metric and an audit event.

mod common;

use airlock::enforce::roots::fs::{FsRoot, Resolver};
use airlock::enforce::roots::vpath;
use airlock_schema::metrics as m;
use airlock_schema::runtime::RootConfig;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// What must never be read through a root.
const OUTSIDE_MARKER: &str = "TOP-SECRET-OUTSIDE-THE-ROOT";

struct Tree {
    base: PathBuf,
    repo: PathBuf,
    work: PathBuf,
}

fn tree() -> Tree {
    let base =
        std::env::temp_dir().join(format!("airlock-roots-{}", uuid::Uuid::new_v4().simple()));
    let repo = base.join("repo");
    let work = base.join("work");
    let outside = base.join("outside");
    for dir in [
        &repo,
        &work,
        &outside,
        &repo.join("docs"),
        &repo.join(".git"),
    ] {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(outside.join("secret.txt"), OUTSIDE_MARKER).unwrap();
    std::fs::write(base.join("secret.txt"), OUTSIDE_MARKER).unwrap();
    std::fs::write(repo.join("README.md"), "# Repo\nSee docs/guide.md.\n").unwrap();
    std::fs::write(
        repo.join("docs/guide.md"),
        "guide: the deploy key is AKIAABCDEFGHIJKLMNOP\n",
    )
    .unwrap();
    std::fs::write(repo.join("docs/notes.txt"), "nothing here\n").unwrap();
    std::fs::write(repo.join(".git/config"), "[core]\n").unwrap();
    std::fs::write(
        repo.join("logo.png"),
        [0x89, b'P', b'N', b'G', 0xff, 0x00, 0x01],
    )
    .unwrap();
    let mut leaky = vec![0xffu8, 0xfe, 0x00];
    leaky.extend_from_slice(b"AKIAABCDEFGHIJKLMNOP");
    std::fs::write(repo.join("leaky.bin"), leaky).unwrap();
    std::fs::write(repo.join("big.txt"), "x".repeat(70 * 1024)).unwrap();
    let link =
        |target: &Path, name: &str| std::os::unix::fs::symlink(target, repo.join(name)).unwrap();
    link(&outside, "escape");
    link(&outside.join("secret.txt"), "secret-link.txt");
    link(Path::new("../secret.txt"), "relative-escape.txt");
    link(Path::new("/etc/passwd"), "passwd");
    link(Path::new("docs"), "inner");
    link(Path::new("/proc/self/root/etc/passwd"), "magic");
    let fifo = std::process::Command::new("mkfifo")
        .arg(repo.join("pipe"))
        .status()
        .unwrap();
    assert!(fifo.success());
    Tree { base, repo, work }
}

fn root_yaml() -> &'static str {
    r#"roots:
  - name: repo
    type: fs
    virtual: mcp://repo/
    real: /mnt/repo
    volume: {claimName: repo}
    maxFileSize: 64Ki
  - name: work
    type: fs
    virtual: mcp://work/
    real: /mnt/work
    readOnly: false
    volume: {claimName: work}
    maxFileSize: 64Ki
"#
}

async fn start(tree: &Tree) -> common::Harness {
    let (repo, work) = (tree.repo.clone(), tree.work.clone());
    common::start_with(root_yaml(), move |config| {
        for root in &mut config.roots {
            if let RootConfig::Fs { name, path, .. } = root {
                *path = if name == "repo" { &repo } else { &work }
                    .display()
                    .to_string();
            }
        }
    })
    .await
}

/// A token for a fresh subject (the per-token rate limit would otherwise throttle a corpus).
fn fresh(h: &common::Harness) -> String {
    let subject = format!("u{}@example.com", uuid::Uuid::new_v4().simple());
    h.idp.token(&subject, &["mcp.users"])
}

fn text_of(body: &Value) -> String {
    body["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn roots_are_served_as_resources_and_through_builtin_tools() {
    let tree = tree();
    let h = start(&tree).await;
    let rpc = |method: &'static str, params: Value| {
        let token = fresh(&h);
        let h = &h;
        async move { h.rpc(&token, method, params).await }
    };

    let (status, _, body) = rpc("resources/list", json!({})).await;
    assert_eq!(status, 200);
    let uris: Vec<&str> = body["result"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["uri"].as_str())
        .collect();
    assert!(
        uris.contains(&"mcp://repo/") && uris.contains(&"mcp://work/"),
        "{uris:?}"
    );
    assert!(
        uris.contains(&"docs://readme"),
        "upstream resources stay listed: {uris:?}"
    );
    let (_, _, body) = rpc("resources/templates/list", json!({})).await;
    assert_eq!(
        body["result"]["resourceTemplates"][0]["uriTemplate"],
        "mcp://repo/{+path}"
    );

    let (status, _, body) = rpc("resources/read", json!({"uri": "mcp://repo/README.md"})).await;
    assert_eq!(status, 200, "{body}");
    let content = &body["result"]["contents"][0];
    assert_eq!(content["mimeType"], "text/markdown");
    assert_eq!(content["text"], "# Repo\nSee docs/guide.md.\n");

    // DLP applies to root content.
    let (_, _, body) = rpc("resources/read", json!({"uri": "mcp://repo/docs/guide.md"})).await;
    let text = body["result"]["contents"][0]["text"].as_str().unwrap();
    assert!(!text.contains("AKIA") && text.contains("guide:"), "{text}");

    // Binary content is base64; binary content holding a secret is withheld.
    let (_, _, body) = rpc("resources/read", json!({"uri": "mcp://repo/logo.png"})).await;
    assert_eq!(body["result"]["contents"][0]["mimeType"], "image/png");
    assert!(body["result"]["contents"][0]["blob"].is_string());
    let refused = rpc("resources/read", json!({"uri": "mcp://repo/leaky.bin"})).await;
    common::assert_error(&refused, 403, "policy_denied");

    // A directory reads as a JSON listing.
    let (_, _, body) = rpc("resources/read", json!({"uri": "mcp://repo/docs"})).await;
    let listing: Value =
        serde_json::from_str(body["result"]["contents"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(listing["uri"], "mcp://repo/docs/");
    assert_eq!(listing["entries"][0]["uri"], "mcp://repo/docs/guide.md");

    // A file is named without a trailing slash only (policies decide on that spelling): with
    // one it does not exist, as `file/` is ENOTDIR in POSIX, for reads and for read_file.
    for uri in ["mcp://repo/README.md/", "mcp://repo/docs/guide.md/"] {
        let slashed = rpc("resources/read", json!({"uri": uri})).await;
        common::assert_error(&slashed, 200, "resource_not_found");
        let tool = rpc(
            "tools/call",
            json!({"name": "read_file", "arguments": {"path": uri}}),
        )
        .await;
        assert!(!tool.2.to_string().contains("# Repo"), "{uri}: {}", tool.2);
    }

    let missing = rpc("resources/read", json!({"uri": "mcp://repo/nope.md"})).await;
    common::assert_error(&missing, 200, "resource_not_found");
    assert_eq!(missing.2["error"]["code"], -32002);
    let big = rpc("resources/read", json!({"uri": "mcp://repo/big.txt"})).await;
    common::assert_error(&big, 200, "resource_too_large");
    let unknown = rpc("resources/read", json!({"uri": "gopher://x/y"})).await;
    common::assert_error(&unknown, 200, "resource_not_found");

    // The built-in tools.
    let (_, _, body) = rpc("tools/list", json!({})).await;
    let names: Vec<&str> = body["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for tool in [
        "read_file",
        "list_directory",
        "search_files",
        "write_file",
        "echo",
    ] {
        assert!(names.contains(&tool), "{tool} in {names:?}");
    }
    let call = |name: &'static str, arguments: Value| {
        rpc("tools/call", json!({"name": name, "arguments": arguments}))
    };
    let (_, _, body) = call("read_file", json!({"uri": "mcp://repo/README.md"})).await;
    assert_eq!(text_of(&body), "# Repo\nSee docs/guide.md.\n");
    let (_, _, body) = call("list_directory", json!({"uri": "mcp://repo/"})).await;
    let entries = &body["result"]["structuredContent"]["entries"];
    let listed: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(
        listed.contains(&"README.md") && listed.contains(&"docs"),
        "{listed:?}"
    );
    assert!(text_of(&body).contains("docs/"));
    let (_, _, body) = call(
        "search_files",
        json!({"uri": "mcp://repo/", "pattern": "*.md"}),
    )
    .await;
    let found: Vec<&str> = body["result"]["structuredContent"]["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["uri"].as_str().unwrap())
        .collect();
    assert_eq!(
        found,
        ["mcp://repo/README.md", "mcp://repo/docs/guide.md"],
        "symlinks are not followed"
    );
    let (_, _, body) = call(
        "search_files",
        json!({"uri": "mcp://repo/", "contains": "deploy key"}),
    )
    .await;
    let hit = &body["result"]["structuredContent"]["matches"][0];
    assert_eq!(hit["line"], 1);
    assert!(
        !hit["text"].as_str().unwrap().contains("AKIA"),
        "DLP redacts snippets: {hit}"
    );

    let (_, _, body) = call("read_file", json!({"uri": "mcp://repo/missing.md"})).await;
    assert_eq!(body["result"]["isError"], true);
    assert!(text_of(&body).contains("not found"));
    let bad = call("read_file", json!({})).await;
    common::assert_error(&bad, 200, "invalid_params");

    // Writes: only on writable roots, atomically, within the cap.
    let (_, _, body) = call(
        "write_file",
        json!({"uri": "mcp://work/out.txt", "content": "hello"}),
    )
    .await;
    assert_eq!(body["result"]["isError"], false, "{body}");
    assert_eq!(
        std::fs::read_to_string(tree.work.join("out.txt")).unwrap(),
        "hello"
    );
    let (_, _, body) = call("read_file", json!({"uri": "mcp://work/out.txt"})).await;
    assert_eq!(text_of(&body), "hello");
    let refused = call(
        "write_file",
        json!({"uri": "mcp://repo/README.md", "content": "pwned"}),
    )
    .await;
    common::assert_error(&refused, 403, "path_violation");
    assert_eq!(refused.2["error"]["data"]["reason"], "read_only_root");
    assert_eq!(
        std::fs::read_to_string(tree.repo.join("README.md")).unwrap(),
        "# Repo\nSee docs/guide.md.\n"
    );
    let (_, _, body) = call(
        "write_file",
        json!({"uri": "mcp://work/huge.txt", "content": "x".repeat(70 * 1024)}),
    )
    .await;
    assert_eq!(body["result"]["isError"], true);
    assert!(!tree.work.join("huge.txt").exists());
    let leftovers: Vec<_> = std::fs::read_dir(&tree.work)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temporary files are left behind: {leftovers:?}"
    );
    std::fs::remove_dir_all(&tree.base).unwrap();
}

/// Every attempt to leave a root, through `resources/read` and through `read_file`.
fn corpus() -> Vec<&'static str> {
    vec![
        "mcp://repo/../secret.txt",
        "mcp://repo/../../../../etc/passwd",
        "mcp://repo/docs/../../secret.txt",
        "mcp://repo/./../secret.txt",
        "mcp://repo/..",
        "mcp://repo/%2e%2e/secret.txt",
        "mcp://repo/%2E%2E/secret.txt",
        "mcp://repo/.%2e/secret.txt",
        "mcp://repo/%2e./secret.txt",
        "mcp://repo/..%2fsecret.txt",
        "mcp://repo/..%2Fsecret.txt",
        "mcp://repo/%2e%2e%2fsecret.txt",
        "mcp://repo/docs%2f..%2f..%2fsecret.txt",
        "mcp://repo/..\\secret.txt",
        "mcp://repo/..%5csecret.txt",
        "mcp://repo/..%5Csecret.txt",
        "mcp://repo/%252e%252e/secret.txt",
        "mcp://repo/%252e%252e%252fsecret.txt",
        "mcp://repo/%25%32%65%25%32%65/secret.txt",
        "mcp://repo/%c0%ae%c0%ae/secret.txt",
        "mcp://repo/%c0%ae%c0%ae%c0%afsecret.txt",
        "mcp://repo/%e0%80%ae%e0%80%ae/secret.txt",
        "mcp://repo/%f0%80%80%ae%f0%80%80%ae/secret.txt",
        "mcp://repo/%c1%9c",
        "mcp://repo//etc/passwd",
        "mcp://repo/%2fetc/passwd",
        "mcp://repo/README.md%00.png",
        "mcp://repo/README.md\u{0}",
        "mcp://repo/docs%0a../secret.txt",
        "mcp://repo/docs//guide.md",
        "mcp://repo/docs/guide.md?x=../../secret.txt",
        "mcp://repo/docs/guide.md#../../secret.txt",
        "mcp://repo/escape/secret.txt",
        "mcp://repo/secret-link.txt",
        "mcp://repo/relative-escape.txt",
        "mcp://repo/passwd",
        "mcp://repo/magic",
        "mcp://repo/pipe",
        "mcp://other/secret.txt",
        "mcp://repo.evil/secret.txt",
        "mcp://user@repo/README.md",
        "mcp://repo:80/README.md",
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "http://169.254.169.254/latest/meta-data/",
        "https://example.com/secret.txt",
        "/etc/passwd",
        "../secret.txt",
    ]
}

#[tokio::test]
async fn the_traversal_corpus_never_escapes_and_every_attempt_is_audited() {
    let tree = tree();
    let h = start(&tree).await;
    let cases = corpus();
    let mut refused = 0;
    for uri in &cases {
        let attempts = [
            ("resources/read", json!({"uri": uri})),
            (
                "tools/call",
                json!({"name": "read_file", "arguments": {"uri": uri}}),
            ),
            (
                "tools/call",
                json!({"name": "list_directory", "arguments": {"uri": uri}}),
            ),
        ];
        for (method, params) in attempts {
            let response = h.rpc(&fresh(&h), method, params.clone()).await;
            let text = response.2.to_string();
            assert!(
                !text.contains(OUTSIDE_MARKER),
                "{uri} escaped via {method}: {text}"
            );
            assert!(
                !text.contains("root:x:0"),
                "{uri} read /etc/passwd via {method}: {text}"
            );
            // A relative bare path is no URI of any scheme: for resources/read it is unknown.
            // (An absolute one, `/etc/passwd`, is a probe: refused like the tools refuse it.)
            if response.2["error"]["data"]["error_type"] == "resource_not_found"
                && !uri.contains("://")
                && !uri.starts_with('/')
            {
                continue;
            }
            common::assert_error(&response, 403, "path_violation");
            refused += 1;
        }
    }
    assert!(refused >= cases.len() * 3 - 4, "{refused} refusals");
    let violations: u64 = [
        "path_traversal",
        "encoding",
        "control_character",
        "absolute_path",
        "symlink_escape",
        "special_file",
        "scheme_not_allowed",
        "unknown_root",
    ]
    .iter()
    .map(|reason| {
        ["repo", "none"]
            .iter()
            .map(|root| {
                h.app.metrics.counter(
                    m::SECURITY_VIOLATIONS_TOTAL,
                    &[("reason", reason), ("root", root)],
                )
            })
            .sum::<u64>()
    })
    .sum();
    assert_eq!(violations, refused as u64, "every refusal is counted");
    let under_repo = h.app.metrics.counter(
        m::SECURITY_VIOLATIONS_TOTAL,
        &[("reason", "path_traversal"), ("root", "repo")],
    );
    assert!(under_repo > 0, "a refusal below a root is counted under it");

    // Each attempt is an audit event with the violation's reason; the chain verifies.
    assert!(h.app.audit.flush(Duration::from_secs(10)).await);
    let store = h.app.audit.store.get().unwrap();
    let events = store.read(0, 100_000).await.unwrap();
    let audited: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "security_violation")
        .collect();
    assert_eq!(audited.len(), refused, "every refusal is audited");
    assert!(
        audited
            .iter()
            .all(|e| e["violation"].is_string() && e["status"] == 403)
    );
    let report = airlock::record::audit::verify::store(store).await.unwrap();
    assert!(report.ok(), "{report:?}");
    std::fs::remove_dir_all(&tree.base).unwrap();
}

/// The log lines of this test binary, as the gateway writes them in JSON.
fn captured_logs() -> Arc<std::sync::Mutex<Vec<u8>>> {
    static LOGS: std::sync::OnceLock<Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = logs.clone();
        tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_writer(move || LogWriter(sink.clone()))
            .try_init()
            .expect("the only subscriber of this test binary");
        logs
    })
    .clone()
}

struct LogWriter(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_violation_is_logged_with_the_request_id_the_client_got() {
    let logs = captured_logs();
    let tree = tree();
    let h = start(&tree).await;
    let response = h
        .rpc(
            &fresh(&h),
            "resources/read",
            json!({"uri": "mcp://repo/../secret.txt"}),
        )
        .await;
    common::assert_error(&response, 403, "path_violation");
    let request_id = response.1["x-request-id"].to_str().unwrap().to_string();
    let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    let line = text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["event"] == "security_violation" && line["request_id"] == request_id);
    assert!(
        line.is_some(),
        "no security_violation line with request_id {request_id} in:\n{text}"
    );
    std::fs::remove_dir_all(&tree.base).unwrap();
}

#[test]
fn symlinks_inside_the_root_work_only_with_openat2_and_never_escape() {
    let tree = tree();
    let inside = vpath::parse("inner/guide.md").unwrap();
    let with_openat2 = FsRoot::with_resolver(&tree.repo, Resolver::Openat2);
    if Resolver::detect() == Resolver::Openat2 {
        assert!(with_openat2.read(&inside, 1 << 20).is_ok());
    }
    let walking = FsRoot::with_resolver(&tree.repo, Resolver::Walk);
    assert!(matches!(
        walking.read(&inside, 1 << 20),
        Err(airlock::enforce::roots::RootError::Violation(_))
    ));
    for resolver in [Resolver::Openat2, Resolver::Walk] {
        if resolver == Resolver::Openat2 && Resolver::detect() != Resolver::Openat2 {
            continue;
        }
        let root = FsRoot::with_resolver(&tree.repo, resolver);
        for raw in [
            "escape/secret.txt",
            "secret-link.txt",
            "relative-escape.txt",
            "passwd",
            "magic",
            "pipe",
        ] {
            let path = vpath::parse(raw).unwrap();
            let outcome = root.read(&path, 1 << 20);
            assert!(
                matches!(
                    outcome,
                    Err(airlock::enforce::roots::RootError::Violation(_))
                ),
                "{resolver:?} {raw}: {outcome:?}"
            );
        }
    }
    std::fs::remove_dir_all(&tree.base).unwrap();
}

/// A directory and a symlink to the outside are exchanged atomically (`renameat2`
/// `RENAME_EXCHANGE`) as fast as possible while readers resolve a path through them: the
/// outside file is never read, with either resolver.
#[test]
fn a_symlink_swapped_in_concurrently_never_escapes() {
    let tree = tree();
    let swap = tree.repo.join("swap");
    let staged = tree.repo.join("staged");
    std::fs::create_dir(&swap).unwrap();
    std::fs::write(swap.join("secret.txt"), "inside").unwrap();
    std::os::unix::fs::symlink(tree.base.join("outside"), &staged).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicUsize::new(0));
    let swapper = {
        let (stop, swaps, swap, staged) =
            (stop.clone(), swaps.clone(), swap.clone(), staged.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                rustix::fs::renameat_with(
                    rustix::fs::CWD,
                    &swap,
                    rustix::fs::CWD,
                    &staged,
                    rustix::fs::RenameFlags::EXCHANGE,
                )
                .unwrap();
                swaps.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let path = vpath::parse("swap/secret.txt").unwrap();
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for resolver in [Resolver::Openat2, Resolver::Walk] {
        if resolver == Resolver::Openat2 && Resolver::detect() != Resolver::Openat2 {
            continue;
        }
        let root = FsRoot::with_resolver(&tree.repo, resolver);
        for _ in 0..20_000 {
            let key = match root.read(&path, 1 << 20) {
                Ok(bytes) => {
                    assert_ne!(bytes, OUTSIDE_MARKER.as_bytes(), "{resolver:?} escaped");
                    assert_eq!(bytes, b"inside");
                    "read inside".to_string()
                }
                Err(airlock::enforce::roots::RootError::Violation(v)) => format!("{:?}", v.kind),
                Err(other) => format!("{other:?}"),
            };
            *outcomes.entry(format!("{resolver:?}: {key}")).or_default() += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    assert!(
        swaps.load(Ordering::Relaxed) > 100,
        "the swap raced the readers"
    );
    assert!(
        outcomes.keys().any(|k| k.ends_with("read inside")),
        "{outcomes:?}"
    );
    assert!(
        outcomes.keys().any(|k| k.ends_with("Symlink")),
        "{outcomes:?}"
    );
    std::fs::remove_dir_all(&tree.base).unwrap();
}
