//! `airlockc`: compiles one `airlock.yaml` into a hardened deployment.
//!
//! The pipeline is a chain of pure stages; only [`workspace::load`] reads files and only the
//! emit edge writes them:
//!
//! ```text
//! workspace::load ─▶ syntax::parse ─▶ validate (schema, semantic) ─▶ lint (rego, dlp, secrets)
//!                                                     └──────────▶ analysis::Analysis
//! Verdict::Ready ─▶ policy::tests ─▶ lower ─▶ emit ─▶ build::Build (Compiled | Refused)
//! ```
//!
//! See `ARCHITECTURE.md` at the repository root for the code map and the invariants.

pub mod analysis;
pub mod build;
pub mod cli;
pub mod diagnostics;
pub mod emit;
pub mod lint;
pub mod lower;
pub mod output;
pub mod policy;
pub mod render;
pub mod syntax;
pub mod validate;
pub mod workspace;

pub use analysis::{Analysis, Verdict, analyze};
pub use workspace::{Workspace, load};
