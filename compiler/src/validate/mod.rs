//! The validate stage: the JSON Schema first (structure, types, formats), then semantic checks
//! on the sections the schema found clean, so one mistake does not hide the others.

pub mod doc;
pub mod schema;
pub mod semantic;
pub mod suggest;

pub use doc::{ConfigDoc, display_path};
