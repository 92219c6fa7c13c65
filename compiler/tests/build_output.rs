//! Snapshots of every emitted file for the bundled examples and the build corpus, plus the
//! properties every build must keep: byte-for-byte determinism, a frozen config whose hash
//! verifies, the hash on the pod template, an explicit namespace and source on every object.

use airlock_schema::runtime::FrozenConfig;
use airlockc::build::{Build, build};
use airlockc::emit::Files;
use std::path::{Path, PathBuf};

fn configs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut configs = Vec::new();
    for dir in ["examples", "tests/build"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let config = entry.unwrap().path().join("airlock.yaml");
            if config.exists() {
                configs.push(config);
            }
        }
    }
    configs.sort();
    configs
}

fn compile(config: &Path) -> Files {
    let workspace = airlockc::load(config).unwrap();
    let result = build(&workspace);
    let errors: Vec<_> = result
        .diagnostics()
        .iter()
        .filter(|d| d.severity == airlockc::diagnostics::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{}: {errors:?}", config.display());
    match result {
        Build::Compiled(compiled) => compiled.files,
        Build::Refused(_) => panic!("{} built nothing", config.display()),
    }
}

#[test]
fn every_emitted_file_is_snapshotted() {
    let mut expected = std::collections::BTreeSet::new();
    for config in configs() {
        let name = config
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let files = compile(&config);
        insta::with_settings!({ snapshot_path => "../../snapshots/build", prepend_module_to_snapshot => false, omit_expression => true }, {
            for (path, content) in &files {
                let snapshot = format!("{name}__{}", path.replace('/', "__"));
                expected.insert(format!("{snapshot}.snap"));
                insta::assert_snapshot!(snapshot, content);
            }
        });
    }
    // insta's `--unreferenced` does not see this custom snapshot path: a file a build no longer
    // emits would keep its snapshot forever and hide that the output lost a file.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../snapshots/build");
    let stale: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|file| file.ends_with(".snap") && !expected.contains(file))
        .collect();
    assert!(
        stale.is_empty(),
        "snapshots of files no build emits (delete them): {stale:?}"
    );
}

#[test]
fn builds_are_deterministic_and_sealed() {
    for config in configs() {
        let first = compile(&config);
        assert_eq!(
            first,
            compile(&config),
            "{}: two builds differ",
            config.display()
        );
        let frozen: FrozenConfig = serde_json::from_str(&first["runtime/airlock.json"]).unwrap();
        let expected = format!("sha256:{}", hex_sha256(frozen.hashed_text().as_bytes()));
        assert_eq!(
            frozen.content_hash,
            expected,
            "{}: content hash does not verify",
            config.display()
        );
        assert!(
            first["manifests/05-deployment.yaml"]
                .contains(&format!("airlock.dev/config-hash: {}", frozen.content_hash))
        );
        for (path, text) in first.iter().filter(|(p, _)| p.starts_with("manifests/")) {
            for document in text.split("\n---\n") {
                let object: serde_json::Value = yaml_serde::from_str(document).unwrap();
                let kind = object["kind"].as_str().unwrap();
                let metadata = &object["metadata"];
                assert!(
                    kind == "Namespace" || metadata["namespace"].is_string(),
                    "{path}: {kind} without a namespace"
                );
                assert!(
                    metadata["annotations"]["airlock.dev/source"].is_string(),
                    "{path}: {kind} without its source"
                );
            }
        }
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// AL2031 names the tool lock when its reviewed definitions, carried in `airlock.json`, are
/// what pushes the ConfigMap over Kubernetes' limit.
#[test]
fn a_lock_too_large_for_the_config_map_is_named_as_the_cause() {
    use airlock_schema::pins::{LOCK_VERSION, Pin, ToolLock};
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/build/tool-pinning");
    let dir = std::env::temp_dir().join(format!("airlockc-big-lock-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["airlock.yaml", "policy.rego", "policy_test.rego"] {
        std::fs::copy(source.join(file), dir.join(file)).unwrap();
    }
    let mut lock: ToolLock =
        serde_json::from_str(&std::fs::read_to_string(source.join("airlock.tools.json")).unwrap())
            .unwrap();
    assert_eq!(lock.version, LOCK_VERSION);
    // Just under the 1 MiB airlockc reads a lock up to; three levels deeper in `airlock.json`,
    // it no longer fits the ConfigMap.
    let padding = "Returns the matching records of the knowledge base. ".repeat(12);
    for i in 0.. {
        let name = format!("lookup_{i:04}");
        let tool = serde_json::json!({"name": name, "description": padding, "inputSchema": {"type": "object"}});
        let search = lock.upstreams.get_mut("search").unwrap();
        search.insert(name, Pin::of(&tool));
        if i % 50 == 0 && lock.to_text().len() > 1_000_000 {
            break;
        }
    }
    std::fs::write(dir.join("airlock.tools.json"), lock.to_text()).unwrap();

    let workspace = airlockc::load(&dir.join("airlock.yaml")).unwrap();
    let result = build(&workspace);
    let size = result
        .diagnostics()
        .iter()
        .find(|d| d.code.id == "AL2031")
        .unwrap_or_else(|| {
            panic!(
                "AL2031 is reported: {:?}",
                result
                    .diagnostics()
                    .iter()
                    .map(|d| (d.code.id, &d.message))
                    .collect::<Vec<_>>()
            )
        });
    assert_eq!(size.pointer.as_deref(), Some("/toolPinning/lockFile"));
    let help = size.help.as_deref().unwrap();
    assert!(
        help.contains("the reviewed tool definitions of this lock"),
        "{help}"
    );
    assert!(matches!(result, Build::Refused(_)));
    std::fs::remove_dir_all(&dir).unwrap();
}
