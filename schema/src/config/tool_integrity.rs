//! `toolPinning` and `toolScreening`: which versions of the upstreams' tools the gateway serves.
//! Tool descriptions are instructions to the model, so a changed description is a changed
//! program: definitions are reviewed, pinned in a lock (`airlock tools pin`), and enforced.

use crate::poisoning::Kind;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Reviewed tool definitions: the lock `airlock tools pin` writes, linted by `airlockc` and
/// enforced by the gateway on every listing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ToolPinning {
    /// The lock file, relative to airlock.yaml (like `policy.file`).
    #[schemars(example = &"airlock.tools.json")]
    pub lock_file: String,
    /// A tool whose definition no longer matches its pin: `block` withholds it (403
    /// `tool_definition_changed`), `warn` serves it and reports the drift.
    #[serde(default)]
    #[schemars(example = &"block")]
    pub on_drift: OnDrift,
    /// A tool the lock does not pin: `block` withholds it (403 `tool_not_pinned`), `allow`
    /// serves it (after screening, see `toolScreening`).
    #[serde(default)]
    #[schemars(example = &"block")]
    pub on_unpinned: OnUnpinned,
}

/// What the gateway does with a tool whose definition changed since it was pinned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnDrift {
    /// Withhold it: hidden from `tools/list`, a call gets 403 `tool_definition_changed`.
    #[default]
    Block,
    /// Serve it, and report the drift (audit event, log line, metric, alert).
    Warn,
}

/// What the gateway does with a tool the lock does not pin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnUnpinned {
    /// Withhold it: hidden from `tools/list`, a call gets 403 `tool_not_pinned`.
    #[default]
    Block,
    /// Serve it (it is still screened).
    Allow,
}

/// The screening of tool definitions for poisoning: hidden text, instructions addressed to the
/// model, links, oversized descriptions. Lints the lock in `airlockc`; at runtime, an unpinned
/// tool with hidden text or model-directed instructions is withheld.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ToolScreening {
    /// Withhold unpinned tools whose definitions hide text or address the model.
    #[serde(default = "crate::examples::yes")]
    #[schemars(example = true)]
    pub enabled: bool,
    /// Markers a reviewer accepted for one tool, with the reason (never for all tools).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(example = crate::examples::tool_exceptions())]
    pub exceptions: Vec<ToolException>,
}

impl Default for ToolScreening {
    fn default() -> Self {
        Self {
            enabled: true,
            exceptions: Vec::new(),
        }
    }
}

/// Markers accepted for one tool of one upstream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ToolException {
    /// The upstream's name.
    #[schemars(example = &"docs")]
    pub upstream: String,
    /// The tool, as the upstream names it.
    #[schemars(example = &"search_docs")]
    pub tool: String,
    /// The markers accepted: `hidden_text`, `model_instruction`, `link`, `oversized`.
    #[schemars(length(min = 1), example = crate::examples::list("link"))]
    pub markers: Vec<Kind>,
    /// Why they are acceptable (a reviewer's words, kept in the config).
    #[schemars(length(min = 10), example = &"links to our own documentation site")]
    pub reason: String,
}
