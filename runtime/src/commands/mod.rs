//! The commands of the `airlock` binary: `serve`, `doctor` and `info`, `audit verify|export|
//! erase` (`audit_cli`), and the command line that dispatches to them (`cli`).

mod audit_cli;
pub mod cli;
pub mod doctor;
pub mod serve;
mod tools_cli;

use std::path::PathBuf;

/// The frozen runtime config (`airlockc build` writes it).
#[derive(clap::Args, Debug)]
pub struct ConfigPath {
    /// The frozen runtime config `airlockc build` wrote.
    #[arg(
        long = "config",
        env = "AIRLOCK_CONFIG",
        default_value = "/etc/airlock/airlock.json"
    )]
    pub path: PathBuf,
}
