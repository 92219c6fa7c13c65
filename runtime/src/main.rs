//! The `airlock` binary: everything lives in the library; see `airlock::commands::cli`.

/// mimalloc: the request path allocates many small, short-lived buffers; glibc's allocator
/// spent a fifth of the gateway's CPU on them under load (profile in docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    airlock::allocator::tune();
    airlock::commands::cli::main()
}
