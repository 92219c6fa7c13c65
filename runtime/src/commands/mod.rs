//! The commands of the `airlock` binary: `serve`, `doctor` and `info`, `audit verify|export|
//! erase` (`audit_cli`), and the command line that dispatches to them (`cli`).

pub mod audit_cli;
pub mod cli;
pub mod doctor;
pub mod serve;
