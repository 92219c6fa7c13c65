//! The lint stage: the Rego policy (AL3xxx), the DLP patterns (AL4xxx) and a credential scan
//! of the config itself (AL5xxx).

pub mod dlp;
pub mod rego;
pub mod secrets;
