//! The `airlock` command line. `main.rs` only calls [`main`].

use super::ConfigPath;
use super::audit_cli::AuditCommand;
use super::tools_cli::ToolsCommand;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "airlock", version, about = "The Airlock MCP gateway runtime")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the gateway described by a frozen config (deploy/runtime/airlock.json).
    Serve {
        #[command(flatten)]
        config: ConfigPath,
        /// Listen here instead of 0.0.0.0:<server.port> (the metrics listener is then off).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Reload the policy from this directory instead of the config's (outside Kubernetes).
        #[arg(long)]
        policy_dir: Option<PathBuf>,
        /// Worker threads (default: the CPUs available to the container).
        #[arg(long, env = "AIRLOCK_WORKER_THREADS")]
        threads: Option<usize>,
    },
    /// Check every dependency from here: config, identity provider, a token, the policy and its
    /// tests, the audit store, roots, S3, upstreams. Each check passes, warns or fails with a
    /// reason and a fix; exit 1 when one fails (78 when the config cannot be loaded).
    Doctor {
        #[command(flatten)]
        config: ConfigPath,
        /// A bearer token to validate as the gateway would (`-` reads it from stdin).
        #[arg(long, env = "AIRLOCK_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Do not start or call the upstreams.
        #[arg(long)]
        skip_upstreams: bool,
        /// Print the checks as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the effective configuration with secrets masked.
    Info {
        #[command(flatten)]
        config: ConfigPath,
    },
    /// Pin the upstreams' tool definitions (`pin`), or compare them with the pins (`diff`).
    Tools {
        #[command(subcommand)]
        command: ToolsCommand,
    },
    /// The audit trail: verify its hash chain, record a subject erasure.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// DEVELOPMENT ONLY: an OIDC issuer on loopback that signs tokens for anyone who asks
    /// (`POST /token {"sub": "...", "groups": [...]}`). Never expose it. Only in development
    /// builds (`--features dev-idp`).
    #[cfg_attr(not(feature = "dev-idp"), command(hide = true))]
    DevIdp {
        /// The loopback address to listen on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
        /// The audience of the tokens it signs (the gateway's `auth.oidc.audience`).
        #[arg(long, default_value = "mcp-airlock")]
        audience: String,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            config,
            listen,
            policy_dir,
            threads,
        } => serve(&config.path, listen, policy_dir, threads),
        #[cfg(feature = "dev-idp")]
        Command::DevIdp { listen, audience } => dev_idp(listen, &audience),
        #[cfg(not(feature = "dev-idp"))]
        Command::DevIdp { .. } => {
            eprintln!(
                "airlock dev-idp: this airlock is a production build, without the development issuer (it signs a token for anyone). For local runs, build a development binary: cargo build -p airlock --features dev-idp"
            );
            ExitCode::from(2)
        }
        Command::Audit { command } => crate::commands::audit_cli::run(command),
        Command::Tools { command } => crate::commands::tools_cli::run(command),
        Command::Doctor {
            config,
            token,
            skip_upstreams,
            json,
        } => {
            let token = match token.as_deref() {
                Some("-") => {
                    let mut text = String::new();
                    if std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).is_err() {
                        eprintln!("airlock doctor: cannot read the token from stdin");
                        return ExitCode::from(2);
                    }
                    Some(text.trim().to_string())
                }
                other => other.map(str::to_string),
            };
            let options = crate::commands::doctor::Options {
                token,
                skip_upstreams,
            };
            crate::commands::doctor::run(&config.path, options, json)
        }
        Command::Info { config } => crate::commands::doctor::info::run(&config.path),
    }
}

#[cfg(feature = "dev-idp")]
fn dev_idp(listen: SocketAddr, audience: &str) -> ExitCode {
    if !listen.ip().is_loopback() {
        eprintln!(
            "airlock dev-idp: refusing to listen on {listen}: the development issuer signs tokens for anyone and only listens on loopback (127.0.0.1 or ::1)"
        );
        return ExitCode::from(2);
    }
    let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    else {
        return ExitCode::from(70);
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(listen).await {
            Ok(listener) => listener,
            Err(error) => {
                eprintln!("airlock dev-idp: cannot listen on {listen}: {error}");
                return ExitCode::from(1);
            }
        };
        let issuer = format!("http://{}", listener.local_addr().map_or(listen, |a| a));
        let idp = crate::devidp::DevIdp::new(&issuer, audience);
        eprintln!("airlock dev-idp: DEVELOPMENT ONLY issuer {issuer} (audience {audience})");
        eprintln!("  token: curl -s -X POST {issuer}/token -H 'content-type: application/json' -d '{{\"sub\":\"alice\",\"groups\":[\"mcp.users\"]}}'");
        match axum::serve(listener, idp.router()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("airlock dev-idp: {error}");
                ExitCode::from(1)
            }
        }
    })
}

fn serve(
    path: &std::path::Path,
    listen: Option<SocketAddr>,
    policy_dir: Option<PathBuf>,
    threads: Option<usize>,
) -> ExitCode {
    let mut config = match crate::config::load(path) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("airlock: {error}");
            return ExitCode::from(78);
        }
    };
    if let Some(dir) = policy_dir {
        config.policy.reload_dir = Some(dir.display().to_string());
    }
    crate::record::telemetry::init(
        &config.observability.log_level,
        &config.observability.log_format,
    );
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = threads.filter(|t| *t > 0) {
        builder.worker_threads(threads);
    }
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("airlock: cannot start the async runtime: {error}");
            return ExitCode::from(70);
        }
    };
    let outcome = runtime.block_on(async move {
        let app = crate::app::App::new(config).map_err(|error| (error.to_string(), 78))?;
        crate::commands::serve::reload_on_sighup(app.clone());
        crate::commands::serve::run(app, listen)
            .await
            .map_err(|error| (error.to_string(), 1))
    });
    // The logged lines come before the reason, and none is left in the buffer.
    crate::record::log_sink::flush();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err((error, code)) => {
            eprintln!("airlock: {error}");
            ExitCode::from(code)
        }
    }
}
