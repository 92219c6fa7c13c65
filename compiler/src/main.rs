//! The `airlockc` binary: everything lives in the library; see `airlockc::cli`.

fn main() -> std::process::ExitCode {
    airlockc::cli::main()
}
