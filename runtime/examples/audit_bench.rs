//! Audit throughput alone (the `audit` section of the `bench` example):
//!
//!     cargo run --release -p airlock --example audit_bench -- [--events 200000] [--producers 8]
//!         [--postgres postgres://postgres@127.0.0.1:5432]

#[path = "bench/audit.rs"]
mod audit;

use audit::Options;

/// The allocator the `airlock` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn options() -> Options {
    let mut options = Options {
        events: 200_000,
        producers: 8,
        postgres: "postgres://postgres@127.0.0.1:5432".into(),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--events" => options.events = value.parse().expect("--events N"),
            "--producers" => options.producers = value.parse().expect("--producers N"),
            "--postgres" => options.postgres = value,
            other => panic!("unknown option {other}"),
        }
    }
    options
}

#[tokio::main]
async fn main() {
    audit::run(&options()).await;
}
