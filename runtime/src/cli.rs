//! The `airlock` command line. `main.rs` only calls [`main`].

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
        /// The frozen runtime config `airlockc build` wrote.
        #[arg(
            long,
            env = "AIRLOCK_CONFIG",
            default_value = "/etc/airlock/airlock.json"
        )]
        config: PathBuf,
        /// Listen here instead of 0.0.0.0:<server.port> (the metrics listener is then off).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config, listen } => serve(&config, listen),
    }
}

fn serve(path: &std::path::Path, listen: Option<SocketAddr>) -> ExitCode {
    let config = match crate::config::load(path) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("airlock: {error}");
            return ExitCode::from(78);
        }
    };
    crate::telemetry::init(
        &config.observability.log_level,
        &config.observability.log_format,
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("airlock: cannot start the async runtime: {error}");
            return ExitCode::from(70);
        }
    };
    runtime.block_on(async move {
        let app = match crate::app::App::new(config) {
            Ok(app) => app,
            Err(error) => {
                eprintln!("airlock: {error}");
                return ExitCode::from(78);
            }
        };
        crate::serve::reload_on_sighup(app.clone());
        match crate::serve::run(app, listen).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("airlock: {error}");
                ExitCode::from(1)
            }
        }
    })
}
