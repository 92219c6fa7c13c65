//! `airlock audit verify`, `airlock audit export` and `airlock audit erase`.

use super::ConfigPath;
use crate::record::audit::{self, Event, verify};
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Verify the chain: every event's hash and link, in the configured store or in exported
    /// segments. Exit 0 when intact, 1 with the first broken link.
    Verify {
        /// The frozen config naming the audit store.
        #[arg(
            long,
            env = "AIRLOCK_CONFIG",
            default_value = "/etc/airlock/airlock.json",
            conflicts_with = "file"
        )]
        config: PathBuf,
        /// Exported JSONL segments to verify offline instead, in chain order (repeat
        /// `--file`); consecutive segments must link.
        #[arg(long)]
        file: Vec<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Export the events not exported yet to the configured S3 location now, as the schedule
    /// would. Idempotent: a re-run continues where the last one stopped.
    Export {
        #[command(flatten)]
        config: ConfigPath,
        /// Print what was exported as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Record the erasure of a subject: a tombstone event (events are never deleted out of the chain).
    Erase {
        #[command(flatten)]
        config: ConfigPath,
        /// The subject to erase.
        #[arg(long)]
        subject: String,
        /// Why (e.g. the request reference).
        #[arg(long)]
        reason: String,
    },
}

pub fn run(command: AuditCommand) -> ExitCode {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return ExitCode::from(70);
    };
    runtime.block_on(async move {
        match command {
            AuditCommand::Verify { file, json, .. } if !file.is_empty() => {
                verify_files(&file, json)
            }
            AuditCommand::Verify { config, json, .. } => verify_store(&config, json).await,
            AuditCommand::Export { config, json } => export(&config.path, json).await,
            AuditCommand::Erase {
                config,
                subject,
                reason,
            } => erase(&config.path, &subject, &reason).await,
        }
    })
}

fn print_report(report: &audit::chain::Report, what: &str, json: bool) -> ExitCode {
    if json {
        println!(
            "{}",
            serde_json::json!({ "ok": report.ok(), "report": report })
        );
    } else {
        println!("{}", verify::describe(report, what));
    }
    if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn verify_files(files: &[std::path::PathBuf], json: bool) -> ExitCode {
    let mut readers = Vec::new();
    for file in files {
        match std::fs::File::open(file) {
            Ok(f) => readers.push((file.display().to_string(), std::io::BufReader::new(f))),
            Err(error) => {
                eprintln!(
                    "airlock audit verify: cannot read {}: {error}",
                    file.display()
                );
                return ExitCode::from(2);
            }
        }
    }
    let what = match files {
        [one] => one.display().to_string(),
        many => format!("{} segments", many.len()),
    };
    match verify::segments(readers) {
        Ok(report) => print_report(&report, &what, json),
        Err(error) => {
            eprintln!("airlock audit verify: {error}");
            ExitCode::from(1)
        }
    }
}

async fn open(config: &Path) -> Result<audit::store::Store, ExitCode> {
    let config = load(config)?;
    audit::open(&config.audit).await.map_err(|e| {
        eprintln!("airlock audit: cannot open the audit store: {e}");
        ExitCode::from(1)
    })
}

fn load(config: &Path) -> Result<airlock_schema::runtime::FrozenConfig, ExitCode> {
    crate::config::load(config).map_err(|e| {
        eprintln!("airlock audit: {e}");
        ExitCode::from(78)
    })
}

async fn export(config: &Path, json: bool) -> ExitCode {
    let frozen = match load(config) {
        Ok(frozen) => frozen,
        Err(code) => return code,
    };
    let Some(target) = &frozen.audit.export else {
        eprintln!("airlock audit export: the config has no audit.export");
        return ExitCode::from(78);
    };
    let store = match open(config).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    let target = audit::export::Target::new(target).await;
    match audit::export::run_once(&store, &target).await {
        Ok(outcome) if json => {
            println!(
                "{}",
                serde_json::to_string(&outcome).expect("JSON serializes")
            );
            ExitCode::SUCCESS
        }
        Ok(outcome) if outcome.skipped => {
            println!("another replica is exporting; nothing was done");
            ExitCode::SUCCESS
        }
        Ok(outcome) => {
            for segment in &outcome.adopted {
                println!(
                    "adopted {} ({} events, already uploaded)",
                    segment.key, segment.count
                );
            }
            for segment in &outcome.written {
                println!(
                    "exported {} ({} events, seq {}..{})",
                    segment.key, segment.count, segment.first_seq, segment.last_seq
                );
            }
            if outcome.written.is_empty() && outcome.adopted.is_empty() {
                println!("nothing to export: every event is already exported");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("airlock audit export: {error}");
            ExitCode::from(1)
        }
    }
}

async fn verify_store(config: &Path, json: bool) -> ExitCode {
    let config = match load(config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    if let airlock_schema::runtime::AuditStore::Sqlite { path } = &config.audit.store
        && let Err(problem) = audit::store::Store::sqlite_trail_exists(path).await
    {
        eprintln!("airlock audit verify: {problem}");
        return ExitCode::from(2);
    }
    let store = match audit::open(&config.audit).await {
        Ok(store) => store,
        Err(error) => {
            eprintln!("airlock audit verify: cannot open the audit store: {error}");
            return ExitCode::from(2);
        }
    };
    match verify::store(&store).await {
        Ok(report) => print_report(&report, &format!("{} audit store", store.kind()), json),
        Err(error) => {
            eprintln!("airlock audit verify: {error}");
            ExitCode::from(1)
        }
    }
}

async fn erase(config: &Path, subject: &str, reason: &str) -> ExitCode {
    let store = match open(config).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    let mut events = [Event::new("subject_erasure")
        .set("subject", subject)
        .set("reason", reason)
        .set("outcome", "success")];
    match store.append(&mut events).await {
        Ok((seq, _)) => {
            println!("recorded the erasure of {subject} as audit event {seq}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("airlock audit erase: {error}");
            ExitCode::from(1)
        }
    }
}
