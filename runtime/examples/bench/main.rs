//! Every performance figure of `docs/performance.md`, from one command:
//!
//!     cargo run --release -p airlock --example bench -- [SECTION ...]
//!
//! SECTION is any of `compile dlp policy jwt audit tools gateway` (default: all). `gateway` runs
//! `tests/bench/gateway.py` (Debian's wrk; `tests/bench/install.sh` installs it) and is skipped
//! with a note when wrk is missing. `audit` needs the local PostgreSQL service
//! (`--postgres URL` to point elsewhere). Figures are medians of repeated runs; the machine's
//! other load shows in them, so compare runs of the same session.

mod audit;
mod compile;
mod dlp;
mod jwt;
mod policy;
mod stats;
mod tools;

use std::path::PathBuf;

/// The allocator the `airlock` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SECTIONS: [&str; 7] = [
    "compile", "dlp", "policy", "jwt", "audit", "tools", "gateway",
];

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the runtime crate is in the workspace")
        .to_path_buf()
}

fn main() {
    let mut sections = Vec::new();
    let mut postgres = "postgres://postgres@127.0.0.1:5432".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--postgres" => postgres = args.next().expect("--postgres URL"),
            "--bench" => {} // passed by `cargo bench`-style runners
            section if SECTIONS.contains(&section) => sections.push(section.to_string()),
            other => {
                eprintln!("unknown argument {other}; sections: {}", SECTIONS.join(" "));
                std::process::exit(2);
            }
        }
    }
    if sections.is_empty() {
        sections = SECTIONS.iter().map(|s| s.to_string()).collect();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    for section in &sections {
        println!("\n## {section}\n");
        match section.as_str() {
            "compile" => compile::run(&repository()),
            "dlp" => dlp::run(),
            "policy" => policy::run(&repository()),
            "jwt" => runtime.block_on(jwt::run(&repository())),
            "audit" => runtime.block_on(audit::run(&audit::Options {
                events: 200_000,
                producers: 8,
                postgres: postgres.clone(),
            })),
            "tools" => tools::run(),
            "gateway" => gateway(),
            _ => unreachable!("sections are checked above"),
        }
    }
}

/// The gateway figures need three processes and a load generator: the script has them.
fn gateway() {
    let root = repository();
    if !root.join(".tools/wrk/wrk").exists() {
        println!("skipped: wrk is not installed (run tests/bench/install.sh)");
        return;
    }
    let status = std::process::Command::new("python3")
        .arg(root.join("tests/bench/gateway.py"))
        .args(["--duration", "5"])
        .current_dir(&root)
        .status()
        .expect("python3 runs tests/bench/gateway.py");
    assert!(status.success(), "tests/bench/gateway.py failed: {status}");
}
