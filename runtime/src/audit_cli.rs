//! `airlock audit verify` and `airlock audit erase`.

use crate::audit::{self, Event, verify};
use crate::cli::AuditCommand;
use std::path::Path;
use std::process::ExitCode;

pub fn run(command: AuditCommand) -> ExitCode {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return ExitCode::from(70);
    };
    runtime.block_on(async move {
        match command {
            AuditCommand::Verify {
                file: Some(file),
                json,
                ..
            } => verify_file(&file, json),
            AuditCommand::Verify { config, json, .. } => verify_store(&config, json).await,
            AuditCommand::Erase {
                config,
                subject,
                reason,
            } => erase(&config, &subject, &reason).await,
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

fn verify_file(file: &Path, json: bool) -> ExitCode {
    let reader = match std::fs::File::open(file) {
        Ok(f) => std::io::BufReader::new(f),
        Err(error) => {
            eprintln!(
                "airlock audit verify: cannot read {}: {error}",
                file.display()
            );
            return ExitCode::from(2);
        }
    };
    match verify::segment(reader) {
        Ok(report) => print_report(&report, &file.display().to_string(), json),
        Err(error) => {
            eprintln!("airlock audit verify: {}: {error}", file.display());
            ExitCode::from(1)
        }
    }
}

async fn open(config: &Path) -> Result<audit::store::Store, ExitCode> {
    let config = crate::config::load(config).map_err(|e| {
        eprintln!("airlock audit: {e}");
        ExitCode::from(78)
    })?;
    audit::open(&config.audit).await.map_err(|e| {
        eprintln!("airlock audit: cannot open the audit store: {e}");
        ExitCode::from(1)
    })
}

async fn verify_store(config: &Path, json: bool) -> ExitCode {
    let store = match open(config).await {
        Ok(store) => store,
        Err(code) => return code,
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
        .set("outcome", "success")
        .into_value()];
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
