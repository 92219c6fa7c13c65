//! The names of the tools the gateway itself offers on its virtual roots: a contract between
//! the runtime that serves them and the compiler that warns when an upstream tool hides one.

pub const READ_FILE: &str = "read_file";
pub const LIST_DIRECTORY: &str = "list_directory";
pub const SEARCH_FILES: &str = "search_files";
pub const WRITE_FILE: &str = "write_file";

/// Every built-in tool, in the order `tools/list` shows them.
pub const BUILTIN_TOOLS: [&str; 4] = [READ_FILE, LIST_DIRECTORY, SEARCH_FILES, WRITE_FILE];
