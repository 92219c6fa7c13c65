//! Freezing: the runtime's view of the configuration, normalized (milliseconds, bytes, file
//! paths for secrets, the compiled policy embedded) and sealed with a content hash.

use super::secrets::{S3_KEYS, file};
use crate::policy::PolicyBundle;
use airlock_schema::Config;
use airlock_schema::config::{AuditBackend, Root, Upstream};
use airlock_schema::pins::ToolLock;
use airlock_schema::runtime::*;
use airlock_schema::types::{EnvValue, Rate};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// `sha256:<hex>` of some bytes.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The frozen config as written to `airlock.json`: pretty JSON (field order of the types) and a newline.
pub fn pretty(config: &FrozenConfig) -> String {
    let mut text = serde_json::to_string_pretty(config).expect("config serializes");
    text.push('\n');
    text
}

pub(crate) fn file_name(path: &str) -> String {
    path.rsplit(['/', '\\']).next().unwrap_or(path).to_string()
}

fn named_values(values: &BTreeMap<String, EnvValue>) -> Vec<NamedValue> {
    values
        .iter()
        .map(|(name, value)| match value {
            EnvValue::Plain(text) => NamedValue {
                name: name.clone(),
                value: Some(text.clone()),
                value_file: None,
            },
            EnvValue::Secret(s) => NamedValue {
                name: name.clone(),
                value: None,
                value_file: Some(file(&s.secret_ref.name, &s.secret_ref.key)),
            },
        })
        .collect()
}

fn s3_credentials(secret: Option<&str>) -> Option<S3Credentials> {
    secret.map(|name| S3Credentials {
        access_key_id_file: file(name, S3_KEYS[0]),
        secret_access_key_file: file(name, S3_KEYS[1]),
    })
}

fn limit(rate: Option<Rate>, burst: u32) -> Option<RateLimit> {
    rate.map(|r| RateLimit {
        count: r.count,
        period_ms: r.per.seconds() * 1000,
        burst,
    })
}

pub fn freeze(config: &Config, policy: &PolicyBundle, tools: Option<&ToolLock>) -> FrozenConfig {
    let modules: Vec<PolicyModule> = policy
        .sources
        .iter()
        .map(|(path, source)| PolicyModule {
            path: file_name(path),
            source: source.clone(),
        })
        .collect();
    let mut digest_input = Vec::new();
    for module in &modules {
        digest_input.extend_from_slice(module.path.as_bytes());
        digest_input.push(0);
        digest_input.extend_from_slice(module.source.as_bytes());
        digest_input.push(0);
    }
    let server = &config.server;
    let metrics = &config.observability.metrics;
    let oidc = &config.auth.oidc;
    let public_base_url = server
        .public_base_url
        .as_ref()
        .map(|u| u.to_string())
        .or_else(|| {
            config
                .ingress
                .as_ref()
                .filter(|i| i.enabled)
                .map(|i| format!("https://{}", i.host))
        });
    let mut frozen = FrozenConfig {
        format_version: FORMAT_VERSION,
        content_hash: String::new(),
        name: config.name.to_string(),
        namespace: config.effective_namespace().to_string(),
        server: ServerConfig {
            port: server.port,
            metrics_port: metrics.enabled.then_some(metrics.port),
            metrics_path: metrics.path.clone(),
            public_base_url,
            max_request_bytes: server.max_request_size.as_u64(),
            max_concurrent_requests: server.max_concurrent_requests,
            request_timeout_ms: server.timeouts.request.as_millis(),
            read_timeout_ms: server.timeouts.read.as_millis(),
            idle_timeout_ms: server.timeouts.idle.as_millis(),
            shutdown_timeout_ms: server.timeouts.shutdown.as_millis(),
            allowed_origins: server
                .allowed_origins
                .iter()
                .map(|o| o.as_str().trim_end_matches('/').to_string())
                .collect(),
            trusted_proxies: server
                .trusted_proxies
                .iter()
                .map(ToString::to_string)
                .collect(),
            sessions: SessionsConfig {
                key_file: server
                    .sessions
                    .key_secret_ref
                    .as_ref()
                    .map(|r| file(&r.name, &r.key)),
                previous_key_file: server
                    .sessions
                    .previous_key_secret_ref
                    .as_ref()
                    .map(|r| file(&r.name, &r.key)),
                lifetime_ms: server.sessions.lifetime.as_millis(),
                idle_timeout_ms: server.sessions.idle_timeout.as_millis(),
            },
        },
        auth: AuthConfig {
            issuer: oidc.issuer.to_string(),
            audience: oidc.audience.clone(),
            clock_skew_ms: oidc.clock_skew.as_millis(),
            jwks_cache_ttl_ms: oidc.jwks_cache_ttl.as_millis(),
            required_groups: oidc.required_groups.clone(),
            admin_groups: config.auth.admin_groups.clone(),
            groups_claim: oidc.groups_claim.clone(),
            tenant_claim: oidc.tenant_claim.clone(),
            subject_claim: oidc.subject_claim.clone(),
            algorithms: oidc.algorithms.iter().map(|a| format!("{a:?}")).collect(),
        },
        policy: PolicyConfig {
            entrypoint: policy.entrypoint.clone(),
            modules,
            sha256: sha256(&digest_input),
            tests: policy
                .tests
                .iter()
                .map(|(path, source)| PolicyModule {
                    path: file_name(path),
                    source: source.clone(),
                })
                .collect(),
            reload_dir: Some(CONFIG_DIR.to_string()),
            cache_ttl_ms: config.policy.cache_ttl.as_millis(),
            cache_size: config.policy.cache_size,
        },
        roots: config.roots.iter().map(root).collect(),
        dlp: config
            .dlp
            .patterns
            .iter()
            .map(|p| DlpRule {
                name: p.name.to_string(),
                regex: p.regex.clone(),
                replacement: p.replacement(),
            })
            .collect(),
        rate_limits: RateLimitConfig {
            per_token: limit(config.rate_limiting.per_token, config.rate_limiting.burst),
            per_ip: limit(config.rate_limiting.per_ip, config.rate_limiting.burst),
            per_tenant: limit(config.rate_limiting.per_tenant, config.rate_limiting.burst),
            failed_auth_max_attempts: config.rate_limiting.failed_auth.max_attempts,
            failed_auth_window_ms: config.rate_limiting.failed_auth.window.as_millis(),
            failed_auth_block_ms: config.rate_limiting.failed_auth.block_for.as_millis(),
            store: config
                .rate_limiting
                .store
                .as_ref()
                .map(|store| RedisConfig {
                    url: store.redis.url.to_string(),
                    password_file: store
                        .redis
                        .password_secret_ref
                        .as_ref()
                        .map(|r| file(&r.name, &r.key)),
                    on_unavailable: store.redis.on_unavailable,
                    key_prefix: store
                        .redis
                        .key_prefix
                        .clone()
                        .unwrap_or_else(|| format!("airlock:{}:", config.name)),
                }),
        },
        upstreams: config.upstreams.iter().map(upstream).collect(),
        audit: audit(config),
        observability: ObservabilityConfig {
            log_level: format!("{:?}", config.observability.logging.level).to_lowercase(),
            log_format: format!("{:?}", config.observability.logging.format).to_lowercase(),
            tracing: config
                .observability
                .tracing
                .endpoint
                .as_ref()
                .filter(|_| config.observability.tracing.enabled)
                .map(|endpoint| TracingConfig {
                    endpoint: endpoint.to_string(),
                    sample_ratio: config.observability.tracing.sample_ratio,
                    service_name: config
                        .observability
                        .tracing
                        .service_name
                        .clone()
                        .unwrap_or_else(|| config.name.to_string()),
                }),
        },
        egress: Vec::new(),
        tools: ToolIntegrityConfig {
            pins: config
                .tool_pinning
                .as_ref()
                .zip(tools)
                .map(|(pinning, lock)| PinsConfig {
                    on_drift: pinning.on_drift,
                    on_unpinned: pinning.on_unpinned,
                    upstreams: lock.upstreams.clone(),
                }),
            screen_unpinned: config.tool_screening.enabled,
            exceptions: config.tool_screening.exceptions.clone(),
        },
    };
    frozen.egress = super::egress::derive(config).1;
    frozen.content_hash = sha256(frozen.hashed_text().as_bytes());
    frozen
}

fn root(root: &Root) -> RootConfig {
    match root {
        Root::Fs(fs) => RootConfig::Fs {
            name: fs.name.to_string(),
            virtual_prefix: fs.virtual_prefix.to_string(),
            path: fs.real.clone(),
            read_only: fs.read_only,
            max_bytes: fs.max_file_size.as_u64(),
        },
        Root::S3(s3) => RootConfig::S3 {
            name: s3.name.to_string(),
            virtual_prefix: s3.virtual_prefix.to_string(),
            bucket: s3.real.bucket().to_string(),
            prefix: s3.real.prefix().to_string(),
            region: s3.region.clone(),
            endpoint: s3.endpoint.as_ref().map(ToString::to_string),
            credentials: s3_credentials(s3.secret_ref.as_ref().map(|s| s.name.as_str())),
            read_only: s3.read_only,
            max_bytes: s3.max_object_size.as_u64(),
        },
    }
}

fn upstream(upstream: &Upstream) -> UpstreamConfig {
    let common = upstream.common();
    let (transport, health) = match upstream {
        Upstream::Http(http) => (
            Transport::Http {
                url: http.url.to_string(),
                headers: named_values(&http.headers),
            },
            &http.health_check,
        ),
        Upstream::Unix(unix) => (
            Transport::Unix {
                socket: unix.socket.clone(),
            },
            &unix.health_check,
        ),
        Upstream::Stdio(stdio) => (
            Transport::Stdio {
                command: stdio.command.clone(),
                env: named_values(&stdio.env),
                working_dir: stdio.working_dir.clone(),
            },
            &stdio.health_check,
        ),
    };
    UpstreamConfig {
        name: common.name.to_string(),
        transport,
        timeout_ms: common.timeout.as_millis(),
        allow_tools: common
            .allow_tools
            .map(|tools| tools.iter().map(ToString::to_string).collect()),
        tool_prefix: common.tool_prefix.unwrap_or_default().to_string(),
        health_check: health.enabled.then(|| HealthCheckConfig {
            path: health.path.clone(),
            interval_ms: health.interval.as_millis(),
        }),
    }
}

fn audit(config: &Config) -> AuditConfig {
    let audit = &config.audit;
    let store = match (audit.backend, &audit.database_secret_ref) {
        (AuditBackend::Postgresql, Some(r)) => AuditStore::Postgresql {
            url_file: file(&r.name, &r.key),
        },
        _ => AuditStore::Sqlite {
            path: audit.sqlite.path.clone(),
        },
    };
    let export = audit.export.as_ref().filter(|e| e.enabled).map(|e| {
        let (bucket, prefix, region, endpoint, secret) = match (&e.s3, &e.destination) {
            (Some(s3), _) => (
                s3.bucket.clone(),
                s3.prefix.clone(),
                s3.region.clone(),
                s3.endpoint.as_ref().map(ToString::to_string),
                s3.secret_ref.as_ref().map(|s| s.name.as_str()),
            ),
            (None, Some(uri)) => (
                uri.bucket().to_string(),
                uri.prefix().to_string(),
                None,
                None,
                None,
            ),
            (None, None) => (String::new(), String::new(), None, None, None),
        };
        AuditExport {
            bucket,
            prefix,
            region,
            endpoint,
            credentials: s3_credentials(secret),
            schedule: e.schedule.clone(),
            format: "jsonl".into(),
        }
    });
    AuditConfig {
        store,
        retention_ms: audit.retention.as_millis(),
        buffer_size: audit.buffer_size,
        flush_interval_ms: audit.flush_interval.as_millis(),
        on_buffer_full: audit.on_buffer_full,
        cleanup_schedule: audit
            .cleanup
            .enabled
            .then(|| audit.cleanup.schedule.clone()),
        export,
    }
}
