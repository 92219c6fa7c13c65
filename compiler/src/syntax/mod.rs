//! The first pipeline stage: source text in, a YAML tree with a span on every node out.

pub mod source;
pub mod yaml;

pub use source::{SourceFile, Span};
pub use yaml::{Document, Node, NodeKind, ParseError, parse};
