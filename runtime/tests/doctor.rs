//! `airlock doctor` and `airlock info`: a healthy set-up passes with exit 0, and each class of
//! failure is reported with its reason and fix — config, discovery, issuer, token (expired,
//! wrong audience, missing group), mounted policy (differs, does not compile, fails its tests),
//! audit store, roots, S3, upstreams — with exit 1 (78 for an unloadable config).

mod common;

use airlock::commands::doctor::{self, Check, Options, Status};
use airlock_schema::runtime::{AuditStore, FrozenConfig, PolicyModule, RootConfig};
use std::path::PathBuf;

const POLICY_TEST: &str = r#"package airlock.authz_test
import rego.v1
import data.airlock.authz

test_users_may_echo if {
    authz.allow with input as {"groups": ["mcp.users"], "tool": "echo", "resource": "", "method": "tools/call", "subject": "a", "tenant": "", "metadata": {}}
}
"#;

fn temp(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "airlock-doctor-{what}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A gateway set-up whose every dependency is up: issuer, upstream, SQLite audit, a root, policy tests.
async fn healthy() -> (common::Harness, FrozenConfig, PathBuf) {
    let dir = temp("root");
    std::fs::write(dir.join("a.md"), "hello").unwrap();
    let root = dir.clone();
    let h = common::start_with("roots:\n  - {name: repo, type: fs, virtual: \"mcp://repo/\", real: /mnt/repo, volume: {claimName: repo}}\n", move |config| {
        for r in &mut config.roots {
            if let RootConfig::Fs { path, .. } = r {
                *path = root.display().to_string();
            }
        }
        config.policy.tests = vec![PolicyModule { path: "policy_test.rego".into(), source: POLICY_TEST.into() }];
    })
    .await;
    let config = h.app.config.clone();
    (h, config, dir)
}

fn find<'a>(checks: &'a [Check], name: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name} in {checks:#?}"))
}

fn assert_check(checks: &[Check], name: &str, status: Status, reason: &str, fix: &str) {
    let check = find(checks, name);
    assert_eq!(check.status, status, "{check:#?}");
    assert!(
        check.reason.contains(reason),
        "reason of {name}: {check:#?}"
    );
    assert!(
        check.fix.as_deref().unwrap_or("").contains(fix),
        "fix of {name}: {check:#?}"
    );
}

#[tokio::test]
async fn a_healthy_setup_passes_with_exit_0_and_info_masks_secrets() {
    let (h, config, _) = healthy().await;
    let token = h.user();
    let path = common::write_config(&config, &temp("config"));
    let path = path.to_str().unwrap();
    let (code, out) = tokio::task::spawn_blocking({
        let (path, token) = (path.to_string(), token.clone());
        move || common::airlock(&["doctor", "--config", &path, "--token", &token])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}");
    for line in [
        "PASS  config",
        "PASS  oidc.discovery",
        "PASS  oidc.jwks",
        "PASS  token",
        "PASS  policy ",
        "PASS  policy.tests",
        "PASS  audit.store",
        "PASS  audit.chain",
        "PASS  root.repo",
        "PASS  upstream.fake",
    ] {
        assert!(out.contains(line), "{line} in\n{out}");
    }
    assert!(out.contains("0 failed"), "{out}");
    assert!(!out.contains(&token), "the token is never printed");

    let (code, json) = tokio::task::spawn_blocking({
        let path = path.to_string();
        move || common::airlock(&["doctor", "--config", &path, "--json", "--skip-upstreams"])
    })
    .await
    .unwrap();
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(
        report["checks"].as_array().unwrap().last().unwrap()["status"],
        "skip"
    );

    let (code, info) = tokio::task::spawn_blocking({
        let path = path.to_string();
        move || common::airlock(&["info", "--config", &path])
    })
    .await
    .unwrap();
    assert_eq!(code, 0);
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert!(info["effective"]["policy"]["modules"][0]["sha256"].is_string());
    assert!(
        info["effective"]["policy"]["modules"][0]
            .get("source")
            .is_none(),
        "policy sources are digested"
    );
}

#[test]
fn an_unloadable_config_is_exit_78() {
    let dir = temp("bad");
    let (code, out) = common::airlock(&[
        "doctor",
        "--config",
        dir.join("missing.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 78);
    assert!(
        out.contains("FAIL  config") && out.contains("fix: point --config"),
        "{out}"
    );
    std::fs::write(
        dir.join("tampered.json"),
        r#"{"formatVersion": 1, "contentHash": "sha256:00"}"#,
    )
    .unwrap();
    let (code, out) = common::airlock(&[
        "doctor",
        "--config",
        dir.join("tampered.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 78, "{out}");
}

#[tokio::test]
async fn identity_failures_name_the_claim_and_the_fix() {
    let (h, config, _) = healthy().await;
    let options = |token: String| Options {
        token: Some(token),
        skip_upstreams: true,
    };

    let guest = h.idp.token("bob@example.com", &["guests"]);
    let checks = doctor::diagnose(&config, &options(guest)).await;
    assert_check(
        &checks,
        "token",
        Status::Fail,
        "missing_group",
        "add the user to one of [\"mcp.users\", \"airlock.admins\"]",
    );

    let mut expired = h.idp.claims("carol@example.com", &["mcp.users"]);
    expired["exp"] = (airlock::devidp::now() - 3600).into();
    expired["iat"] = (airlock::devidp::now() - 7200).into();
    let token = h.idp.sign(&expired, jsonwebtoken::Algorithm::RS256);
    let checks = doctor::diagnose(&config, &options(token)).await;
    assert_check(
        &checks,
        "token",
        Status::Fail,
        "token_expired",
        "get a fresh token",
    );

    let mut foreign = h.idp.claims("dave@example.com", &["mcp.users"]);
    foreign["aud"] = "another-service".into();
    let token = h.idp.sign(&foreign, jsonwebtoken::Algorithm::RS256);
    let checks = doctor::diagnose(&config, &options(token)).await;
    assert_check(
        &checks,
        "token",
        Status::Fail,
        "invalid_audience",
        "request a token for the audience `airlock-test`",
    );

    let checks = doctor::diagnose(&config, &options("not-a-jwt".into())).await;
    assert_check(&checks, "token", Status::Fail, "malformed_token", "raw JWT");

    // An issuer URL that differs from what discovery says (localhost vs 127.0.0.1).
    let mut renamed = config.clone();
    renamed.auth.issuer = renamed.auth.issuer.replace("127.0.0.1", "localhost");
    let checks = doctor::diagnose(&renamed, &options(h.user())).await;
    assert_check(
        &checks,
        "oidc.discovery",
        Status::Fail,
        "names the issuer",
        "set auth.oidc.issuer to exactly",
    );

    // An issuer nobody answers for.
    let mut gone = config.clone();
    gone.auth.issuer = "http://127.0.0.1:9".into();
    let checks = doctor::diagnose(&gone, &options(h.user())).await;
    assert_check(
        &checks,
        "oidc.discovery",
        Status::Fail,
        "cannot reach",
        "reachable from the gateway",
    );
    assert_eq!(find(&checks, "token").status, Status::Skip);
}

#[tokio::test]
async fn policy_failures_in_the_mounted_configmap_are_found() {
    let (h, config, _) = healthy().await;
    let dir = h.policy_dir.clone();
    let options = Options {
        token: None,
        skip_upstreams: true,
    };

    let changed = common::POLICY.replace(
        "denied_tool if input.tool == \"denied_tool\"",
        "denied_tool if input.tool == \"echo\"",
    );
    std::fs::write(dir.join("policy.rego"), &changed).unwrap();
    let checks = doctor::diagnose(&config, &options).await;
    assert_check(
        &checks,
        "policy.mounted",
        Status::Warn,
        "differs from the built one",
        "rebuild with airlockc",
    );
    assert_check(
        &checks,
        "policy.tests",
        Status::Fail,
        "1 of 1 policy tests fail: test_users_may_echo",
        "airlockc test",
    );

    std::fs::write(dir.join("policy.rego"), "package airlock.authz\nallow if {").unwrap();
    let checks = doctor::diagnose(&config, &options).await;
    assert_check(
        &checks,
        "policy.mounted",
        Status::Fail,
        "does not compile",
        "fix the policy",
    );
}

#[tokio::test]
async fn unreachable_stores_roots_buckets_and_upstreams_fail_with_their_fix() {
    let (mut h, config, _) = healthy().await;
    let options = Options {
        token: None,
        skip_upstreams: false,
    };
    let mut broken = config.clone();
    let url_file = temp("pg").join("url");
    std::fs::write(&url_file, "postgres://postgres@127.0.0.1:9/none").unwrap();
    broken.audit.store = AuditStore::Postgresql {
        url_file: url_file.display().to_string(),
    };
    for root in &mut broken.roots {
        if let RootConfig::Fs { path, .. } = root {
            *path = "/nonexistent/airlock-root".into();
        }
    }
    let s3 = common::moto::Moto::start();
    broken.roots.push(RootConfig::S3 {
        name: "artifacts".into(),
        virtual_prefix: "mcp://artifacts/".into(),
        bucket: "no-such-bucket".into(),
        prefix: "team/".into(),
        region: Some("us-east-1".into()),
        endpoint: Some(s3.endpoint.clone()),
        credentials: Some(common::moto::Moto::credentials(&temp("s3"))),
        read_only: true,
        max_bytes: 1024,
    });
    if let Some(tools) = broken.upstreams[0].allow_tools.as_mut() {
        tools.push("no_such_tool".into());
    }
    let checks = doctor::diagnose(&broken, &options).await;
    assert_check(
        &checks,
        "audit.store",
        Status::Fail,
        "",
        "check audit.databaseSecretRef",
    );
    assert_check(
        &checks,
        "root.repo",
        Status::Fail,
        "cannot list /nonexistent/airlock-root",
        "mount the root's volume",
    );
    assert_check(
        &checks,
        "root.artifacts",
        Status::Fail,
        "NoSuchBucket",
        "check the bucket name",
    );
    assert_check(
        &checks,
        "upstream.fake",
        Status::Warn,
        "[\"no_such_tool\"]",
        "fix the names in allowTools",
    );

    h.stop_upstream();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let checks = doctor::diagnose(&config, &options).await;
    assert_check(
        &checks,
        "upstream.fake",
        Status::Fail,
        "initialize failed",
        "check the upstream's address",
    );
}
