//! `dlp`: data-loss prevention patterns.

use crate::examples as ex;
use crate::types::PatternName;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Patterns redacted from tool results and resource contents before they reach a client, and
/// from request arguments before they are logged or audited.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Dlp {
    /// The patterns, applied in order.
    #[serde(default)]
    #[schemars(example = ex::dlp_patterns())]
    pub patterns: Vec<DlpPattern>,
}

/// One redaction pattern, with examples that `airlockc` runs as tests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DlpPattern {
    /// The pattern's name, unique; the label of its redaction metrics and of its default
    /// replacement. Lowercase letters, digits, `-` and `_`.
    #[schemars(example = &"aws-key")]
    pub name: PatternName,
    /// A Rust `regex` pattern (no look-around or back-references, linear time).
    #[schemars(length(min = 1, max = 4096), example = &"AKIA[0-9A-Z]{16}")]
    pub regex: String,
    /// The replacement text. `$1` or `${name}` insert capture groups. Defaults to `[redacted-<name>]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"[redacted-aws-key]")]
    pub replace: Option<String>,
    /// Texts the pattern must and must not match, checked at compile time.
    #[serde(default)]
    #[schemars(example = ex::dlp_examples())]
    pub examples: DlpExamples,
}

impl DlpPattern {
    /// The replacement text, `replace` or the default `[redacted-<name>]`.
    pub fn replacement(&self) -> String {
        self.replace
            .clone()
            .unwrap_or_else(|| format!("[redacted-{}]", self.name))
    }
}

/// Examples of a DLP pattern.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DlpExamples {
    /// Texts in which the pattern must find a match.
    #[serde(default, rename = "match", skip_serializing_if = "Vec::is_empty")]
    #[schemars(example = ex::list("AKIAABCDEFGHIJKLMNOP"))]
    pub must_match: Vec<String>,
    /// Texts in which the pattern must find nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(example = ex::list("AKIA-short"))]
    pub no_match: Vec<String>,
}
