//! The `airlock` binary: everything lives in the library; see `airlock::cli`.

fn main() -> std::process::ExitCode {
    airlock::cli::main()
}
