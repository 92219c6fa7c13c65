//! The lint stage: the Rego policy (AL3xxx), the DLP patterns (AL4xxx), a credential scan of
//! the config itself (AL5xxx) and the lock of reviewed tool definitions (AL6xxx).

pub mod dlp;
pub mod rego;
pub mod secrets;
pub mod tools;
