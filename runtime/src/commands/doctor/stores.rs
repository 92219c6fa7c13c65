//! The policy (built and mounted, and its tests), the audit store (reachable, writable, room
//! on SQLite's volume, its chain's tail), the roots (directories and buckets) and the export
//! bucket.

use super::Check;
use crate::enforce::authz;
use crate::record::audit::{self, Event, chain::Verifier};
use airlock_schema::runtime::{FrozenConfig, PolicyModule, RootConfig};
use regex::Regex;
use std::time::Duration;

/// How many of the newest events the tail check verifies (`airlock audit verify` does all).
const TAIL: i64 = 1000;

pub fn policy(config: &FrozenConfig) -> Vec<Check> {
    let policy = &config.policy;
    let mut checks = Vec::new();
    let built = match authz::check(&policy.entrypoint, &policy.modules) {
        Ok(sha) => {
            checks.push(Check::pass(
                "policy",
                format!(
                    "the built policy compiles ({sha}, entrypoint {})",
                    policy.entrypoint
                ),
            ));
            policy.modules.clone()
        }
        Err(error) => {
            checks.push(Check::fail(
                "policy",
                format!("the built policy does not compile: {error}"),
                "this config was not built by this version of airlockc: rebuild it",
            ));
            return checks;
        }
    };
    let paths: Vec<String> = policy.modules.iter().map(|m| m.path.clone()).collect();
    let live = match policy.reload_dir.as_deref() {
        Some(dir)
            if paths
                .iter()
                .all(|p| std::path::Path::new(dir).join(p).exists()) =>
        {
            match authz::read_modules(dir, &paths) {
                Ok(modules) => Some((dir, modules)),
                Err(error) => {
                    checks.push(Check::fail(
                        "policy.mounted",
                        error.to_string(),
                        "mount the policy ConfigMap where the config says (policy.reloadDir)",
                    ));
                    None
                }
            }
        }
        Some(dir) => {
            checks.push(Check::skip(
                "policy.mounted",
                format!("no policy mounted in {dir} (outside Kubernetes, the built policy serves)"),
            ));
            None
        }
        None => None,
    };
    let mut tested = built;
    if let Some((dir, modules)) = live {
        match authz::check(&policy.entrypoint, &modules) {
            Ok(sha) if sha == policy.sha256 => checks.push(Check::pass("policy.mounted", format!("the policy in {dir} is the built one"))),
            Ok(sha) => {
                checks.push(Check::warn("policy.mounted", format!("the policy in {dir} ({sha}) differs from the built one ({}); a reload serves it", policy.sha256), "rebuild with airlockc so the frozen config and the ConfigMap agree"));
                tested = modules;
            }
            Err(error) => checks.push(Check::fail("policy.mounted", format!("the policy in {dir} does not compile: {error}; a reload keeps the last-known-good policy"), "fix the policy (airlockc validate shows where) and update the ConfigMap")),
        }
    }
    checks.push(policy_tests(&tested, &policy.tests));
    checks
}

/// Runs the `test_*` rules of the test modules against `modules`.
fn policy_tests(modules: &[PolicyModule], tests: &[PolicyModule]) -> Check {
    if tests.is_empty() {
        return Check::warn(
            "policy.tests",
            "the config carries no policy tests",
            "add `policy.tests` to airlock.yaml: tests catch a policy that allows too much",
        );
    }
    let mut engine = regorus::Engine::new();
    for module in modules.iter().chain(tests) {
        if let Err(error) = engine.add_policy(module.path.clone(), module.source.clone()) {
            return Check::fail(
                "policy.tests",
                format!(
                    "{}: {}",
                    module.path,
                    error.to_string().lines().last().unwrap_or_default()
                ),
                "run `airlockc test airlock.yaml` to see the failure with its location",
            );
        }
    }
    let package = Regex::new(r"(?m)^\s*package\s+([A-Za-z0-9_.]+)").expect("valid regex");
    let rule = Regex::new(r"(?m)^\s*(test_[A-Za-z0-9_]+)\b").expect("valid regex");
    let (mut passed, mut failed) = (0, Vec::new());
    for test in tests {
        let Some(package) = package.captures(&test.source).map(|c| c[1].to_string()) else {
            continue;
        };
        let mut seen = std::collections::BTreeSet::new();
        for name in rule.captures_iter(&test.source).map(|c| c[1].to_string()) {
            if !seen.insert(name.clone()) {
                continue;
            }
            match engine.eval_rule(format!("data.{package}.{name}")) {
                Ok(regorus::Value::Bool(true)) => passed += 1,
                _ => failed.push(name),
            }
        }
    }
    if failed.is_empty() {
        Check::pass("policy.tests", format!("{passed} policy tests pass"))
    } else {
        Check::fail(
            "policy.tests",
            format!(
                "{} of {} policy tests fail: {}",
                failed.len(),
                failed.len() + passed,
                failed.join(", ")
            ),
            "the policy no longer decides as its tests expect: run `airlockc test airlock.yaml`, fix, rebuild",
        )
    }
}

pub async fn audit(config: &FrozenConfig) -> Vec<Check> {
    let opened = tokio::time::timeout(Duration::from_secs(15), audit::open(&config.audit)).await;
    let store = match opened {
        Ok(Ok(store)) => store,
        Ok(Err(error)) => {
            return vec![Check::fail(
                "audit.store",
                error.to_string(),
                "check audit.databaseSecretRef (PostgreSQL URL, network, credentials) or the SQLite path's volume",
            )];
        }
        Err(_) => {
            return vec![Check::fail(
                "audit.store",
                "the audit store did not answer within 15 s",
                "check the database's address and the egress NetworkPolicy",
            )];
        }
    };
    let mut checks = Vec::new();
    if let airlock_schema::runtime::AuditStore::Sqlite { path } = &config.audit.store {
        checks.push(sqlite_space(path));
    }
    let mut probe = [Event::new("doctor_check").set("outcome", "success")];
    match store.append(&mut probe).await {
        Ok((seq, _)) => checks.push(Check::pass(
            "audit.store",
            format!(
                "{} store reachable and writable (wrote event {seq}, a doctor_check)",
                store.kind()
            ),
        )),
        Err(error) => {
            checks.push(Check::fail(
                "audit.store",
                format!("{} store reachable but not writable: {error}", store.kind()),
                "grant INSERT/UPDATE on the audit tables, or give the SQLite volume write access",
            ));
            return checks;
        }
    }
    checks.push(tail(&store).await);
    if config.audit.export.is_some()
        && let (Ok((head, _)), Ok(exported)) = (store.head().await, store.exported_up_to().await)
    {
        let pending = head - exported;
        let check = if pending > 500_000 {
            Check::warn(
                "audit.export.lag",
                format!(
                    "{pending} events are not exported yet (exported up to {exported}, head {head})"
                ),
                "check the export's logs (error_type=audit_export_failed) or run `airlock audit export`",
            )
        } else {
            Check::pass(
                "audit.export.lag",
                format!("{pending} events wait for the next export (exported up to {exported})"),
            )
        };
        checks.push(check);
    }
    checks
}

/// Free space on the SQLite database's volume: a full volume fails every audit write (the
/// gateway buffers, then refuses requests), so it is reported before it happens.
fn sqlite_space(path: &str) -> Check {
    const MIB: u64 = 1 << 20;
    let dir = std::path::Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let stats = match rustix::fs::statvfs(dir) {
        Ok(stats) => stats,
        Err(error) => {
            return Check::warn(
                "audit.space",
                format!("cannot read the free space of {}: {error}", dir.display()),
                "check the audit volume's mount",
            );
        }
    };
    let free = stats.f_bavail.saturating_mul(stats.f_frsize);
    let total = stats.f_blocks.saturating_mul(stats.f_frsize).max(1);
    let reason = format!(
        "{} MiB free of {} MiB on {} ({}% used)",
        free / MIB,
        total / MIB,
        dir.display(),
        100 - free.saturating_mul(100) / total
    );
    let fix =
        "raise `persistence.size`, lower `audit.retention`, or check that `audit.cleanup` runs";
    if free < 16 * MIB {
        Check::fail("audit.space", reason, fix)
    } else if free < 256 * MIB || free.saturating_mul(10) < total {
        Check::warn("audit.space", reason, fix)
    } else {
        Check::pass("audit.space", reason)
    }
}

async fn tail(store: &audit::store::Store) -> Check {
    let (head, events) = match store.head().await {
        Ok(head) => {
            let from = (head.0 - TAIL).max(0);
            (head.clone(), store.read(from, TAIL).await)
        }
        Err(error) => return Check::fail("audit.chain", error.to_string(), "see audit.store"),
    };
    let events = match events {
        Ok(events) => events,
        Err(error) => return Check::fail("audit.chain", error.to_string(), "see audit.store"),
    };
    let Some(first) = events.first() else {
        return Check::pass("audit.chain", "the chain is empty");
    };
    let mut verifier = Verifier::from_first(
        first["prev_hash"].as_str().unwrap_or_default(),
        first["seq"].as_i64().unwrap_or(0),
    );
    for event in &events {
        if !verifier.push(event) {
            break;
        }
    }
    let report = verifier.finish(Some(head.clone()));
    match report.broken {
        None => Check::pass(
            "audit.chain",
            format!(
                "the newest {} events verify up to the head (seq {})",
                report.events, head.0
            ),
        ),
        Some((seq, why)) => Check::fail(
            "audit.chain",
            format!("broken at seq {seq}: {why}"),
            "run `airlock audit verify` for the whole chain and treat the store as tampered with until explained",
        ),
    }
}

pub async fn roots(config: &FrozenConfig) -> Vec<Check> {
    let mut checks = Vec::new();
    for root in &config.roots {
        checks.push(match root {
            RootConfig::Fs {
                name,
                path,
                read_only,
                ..
            } => fs_root(name, path, *read_only),
            RootConfig::S3 {
                name,
                bucket,
                prefix,
                region,
                endpoint,
                credentials,
                ..
            } => {
                let location = crate::s3::Location {
                    region: region.clone(),
                    endpoint: endpoint.clone(),
                    credentials: credentials.clone(),
                };
                bucket_check(&format!("root.{name}"), &location, bucket, prefix).await
            }
        });
    }
    checks
}

fn fs_root(name: &str, path: &str, read_only: bool) -> Check {
    let check = format!("root.{name}");
    match std::fs::read_dir(path) {
        Err(error) => Check::fail(
            check,
            format!("cannot list {path}: {error}"),
            format!("mount the root's volume at {path} (roots[].volume) or fix its permissions"),
        ),
        Ok(entries) => {
            let count = entries.count();
            if !read_only && rustix::fs::access(path, rustix::fs::Access::WRITE_OK).is_err() {
                return Check::fail(
                    check,
                    format!("{path} is not writable, but the root is not read-only"),
                    "mount the volume read-write, or set readOnly: true",
                );
            }
            Check::pass(
                check,
                format!(
                    "{path} readable ({count} entries){}",
                    if read_only { "" } else { " and writable" }
                ),
            )
        }
    }
}

pub async fn export(config: &FrozenConfig) -> Vec<Check> {
    let Some(export) = &config.audit.export else {
        return Vec::new();
    };
    let location = crate::s3::Location {
        region: export.region.clone(),
        endpoint: export.endpoint.clone(),
        credentials: export.credentials.clone(),
    };
    vec![bucket_check("audit.export", &location, &export.bucket, &export.prefix).await]
}

async fn bucket_check(
    name: &str,
    location: &crate::s3::Location,
    bucket: &str,
    prefix: &str,
) -> Check {
    let client = crate::s3::client(location).await;
    let listed = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .max_keys(1)
        .send()
        .await;
    match listed {
        Ok(_) => Check::pass(
            name,
            format!("s3://{bucket}/{prefix} is reachable and listable"),
        ),
        Err(error) => Check::fail(
            name,
            format!("s3://{bucket}/{prefix}: {}", crate::s3::describe(&error)),
            "check the bucket name and region, the credentials (secretRef or IRSA role) and their s3:ListBucket/GetObject/PutObject permissions",
        ),
    }
}
