//! `airlock doctor`: checks every dependency of a deployment from where the gateway runs, each
//! with pass / warn / fail, a one-line reason and the fix — the config and its hash, the
//! identity provider (discovery, keys, a supplied token), the policy and its tests, the audit
//! store, the roots and S3 buckets, and each upstream's handshake and tools. Exit 0 when
//! nothing failed, 1 otherwise, 78 when the config itself cannot be loaded; for CI and probes.
//!
//! `airlock info` prints the effective configuration with secrets masked (`info`).

mod der;
mod identity;
pub mod info;
mod replicas;
mod stores;
mod upstreams;

use airlock_schema::runtime::FrozenConfig;
use serde::Serialize;
use std::path::Path;
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
    /// Not applicable (nothing configured) or impossible after an earlier failure.
    Skip,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
}

/// One check's verdict.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn pass(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(name, Status::Pass, reason, None::<String>)
    }
    pub fn skip(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(name, Status::Skip, reason, None::<String>)
    }
    pub fn warn(
        name: impl Into<String>,
        reason: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(name, Status::Warn, reason, Some(fix))
    }
    pub fn fail(
        name: impl Into<String>,
        reason: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(name, Status::Fail, reason, Some(fix))
    }
    fn new(
        name: impl Into<String>,
        status: Status,
        reason: impl Into<String>,
        fix: Option<impl Into<String>>,
    ) -> Self {
        Self {
            name: name.into(),
            status,
            reason: reason.into(),
            fix: fix.map(Into::into),
        }
    }
}

/// Every check's verdict, in order.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub config: String,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Fail)
    }

    fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    pub fn human(&self) -> String {
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        let mut out = format!("airlock doctor: {}\n", self.config);
        for check in &self.checks {
            out.push_str(&format!(
                "{}  {:width$}  {}\n",
                check.status.label(),
                check.name,
                check.reason
            ));
            if let Some(fix) = &check.fix {
                out.push_str(&format!("      {:width$}  fix: {fix}\n", ""));
            }
        }
        out.push_str(&format!(
            "{} checks: {} passed, {} warnings, {} failed, {} skipped\n",
            self.checks.len(),
            self.count(Status::Pass),
            self.count(Status::Warn),
            self.count(Status::Fail),
            self.count(Status::Skip)
        ));
        out
    }
}

/// What to check beyond the config.
pub struct Options {
    /// A bearer token to validate as the gateway would.
    pub token: Option<String>,
    /// Skip the upstream handshakes (they start stdio servers).
    pub skip_upstreams: bool,
}

/// Runs every check against a loaded config.
pub async fn diagnose(config: &FrozenConfig, options: &Options) -> Vec<Check> {
    let mut checks = Vec::new();
    checks.extend(identity::check(config, options.token.as_deref()).await);
    checks.extend(stores::policy(config));
    checks.extend(stores::audit(config).await);
    checks.extend(stores::roots(config).await);
    checks.extend(stores::export(config).await);
    checks.push(replicas::sessions(config));
    checks.push(replicas::rate_limit_store(config).await);
    if options.skip_upstreams {
        checks.push(Check::skip("upstreams", "skipped (--skip-upstreams)"));
    } else {
        checks.extend(upstreams::check(config).await);
    }
    checks
}

/// `airlock doctor`.
pub fn run(config_path: &Path, options: Options, json: bool) -> ExitCode {
    let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    else {
        return ExitCode::from(70);
    };
    let mut report = Report {
        config: config_path.display().to_string(),
        checks: Vec::new(),
    };
    let loaded = crate::config::load(config_path);
    let code = match loaded {
        Err(error) => {
            report.checks.push(Check::fail(
                "config",
                error.to_string(),
                "point --config at the airlock.json that `airlockc build` wrote (deploy/runtime/airlock.json, mounted at /etc/airlock/airlock.json); never edit it by hand: rebuild it",
            ));
            ExitCode::from(78)
        }
        Ok(config) => {
            report.checks.push(Check::pass(
                "config",
                format!(
                    "`{}` loaded: format version {}, content hash {} verified",
                    config.name, config.format_version, config.content_hash
                ),
            ));
            report
                .checks
                .extend(runtime.block_on(diagnose(&config, &options)));
            if report.failed() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
    };
    if json {
        let value = serde_json::json!({
            "ok": !report.failed(),
            "config": report.config,
            "checks": report.checks,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&value).expect("JSON serializes")
        );
    } else {
        print!("{}", report.human());
    }
    code
}
