//! The built-in file tools the gateway offers on its roots: their definitions (what
//! `tools/list` shows) and their arguments (what `tools/call` accepts). Serving them is the
//! gateway's job (`gateway::roots`), under the same policy, DLP and audit as upstream tools.
//!
//! An upstream tool with the same name wins: the built-in is hidden, and `airlockc` warns
//! about the collision when it can see it (an upstream's `allowTools`).

use super::listing::SearchQuery;
use serde_json::{Value, json};

pub use airlock_schema::tools::{LIST_DIRECTORY, READ_FILE, SEARCH_FILES, WRITE_FILE};

/// The default and largest number of search results.
const DEFAULT_RESULTS: u64 = 50;
const MAX_RESULTS: u64 = 1000;

/// Why the arguments of a built-in tool call are refused (the client sees this as the
/// `invalid_params` message, after the tool's name).
#[derive(Debug, thiserror::Error)]
pub enum ArgumentError {
    #[error("`{0}` is required")]
    Missing(&'static str),
    #[error("`{0}` must be a string")]
    NotAString(&'static str),
    #[error("`max_results` must be an integer from 1 to {MAX_RESULTS}")]
    MaxResults,
    #[error("`content` is not valid base64: {0}")]
    Base64(#[source] base64::DecodeError),
    #[error("`encoding` must be `utf-8` or `base64`, not `{0}`")]
    Encoding(String),
}

/// A parsed call of a built-in tool.
#[derive(Debug)]
pub enum Request {
    Read { uri: String },
    List { uri: String },
    Search { uri: String, query: SearchQuery },
    Write { uri: String, content: Vec<u8> },
}

impl Request {
    /// The URI the call is about (what policy sees as `input.resource`).
    pub fn uri(&self) -> &str {
        match self {
            Request::Read { uri }
            | Request::List { uri }
            | Request::Search { uri, .. }
            | Request::Write { uri, .. } => uri,
        }
    }

    pub fn is_write(&self) -> bool {
        matches!(self, Request::Write { .. })
    }

    /// Parses the arguments of tool `name`; `None` when `name` is not a built-in tool.
    pub fn parse(name: &str, arguments: &Value) -> Option<Result<Request, ArgumentError>> {
        let uri = || string(arguments, "uri", true).map(Option::unwrap_or_default);
        let request = match name {
            READ_FILE => uri().map(|uri| Request::Read { uri }),
            LIST_DIRECTORY => uri().map(|uri| Request::List { uri }),
            SEARCH_FILES => search(arguments),
            WRITE_FILE => write(arguments),
            _ => return None,
        };
        Some(request)
    }
}

fn string(
    arguments: &Value,
    key: &'static str,
    required: bool,
) -> Result<Option<String>, ArgumentError> {
    match arguments.get(key) {
        Some(Value::String(text)) => Ok(Some(text.clone())),
        None | Some(Value::Null) if !required => Ok(None),
        None | Some(Value::Null) => Err(ArgumentError::Missing(key)),
        Some(_) => Err(ArgumentError::NotAString(key)),
    }
}

fn search(arguments: &Value) -> Result<Request, ArgumentError> {
    let uri = string(arguments, "uri", true)?.unwrap_or_default();
    let pattern = string(arguments, "pattern", false)?.filter(|p| !p.is_empty());
    let contains = string(arguments, "contains", false)?.filter(|c| !c.is_empty());
    let max_results = match arguments.get("max_results") {
        None | Some(Value::Null) => DEFAULT_RESULTS,
        Some(value) => value
            .as_u64()
            .filter(|n| (1..=MAX_RESULTS).contains(n))
            .ok_or(ArgumentError::MaxResults)?,
    };
    Ok(Request::Search {
        uri,
        query: SearchQuery {
            pattern,
            contains,
            max_results: max_results as usize,
        },
    })
}

fn write(arguments: &Value) -> Result<Request, ArgumentError> {
    let uri = string(arguments, "uri", true)?.unwrap_or_default();
    let content = string(arguments, "content", true)?.unwrap_or_default();
    let content = match string(arguments, "encoding", false)?.as_deref() {
        None | Some("utf-8") => content.into_bytes(),
        Some("base64") => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(content.as_bytes())
                .map_err(ArgumentError::Base64)?
        }
        Some(other) => return Err(ArgumentError::Encoding(other.to_string())),
    };
    Ok(Request::Write { uri, content })
}

/// The definitions of the built-in tools (`write_file` only when a root is writable).
pub fn definitions(any_writable: bool) -> Vec<Value> {
    let uri = |what: &str| json!({ "type": "string", "description": what });
    let read_only = json!({ "readOnlyHint": true, "openWorldHint": false });
    let mut tools = vec![
        json!({
            "name": READ_FILE,
            "title": "Read a file",
            "description": "Read a file below one of the gateway's roots, e.g. `mcp://repo/README.md`. Text comes back as text, other content as a base64 resource.",
            "inputSchema": {
                "type": "object",
                "properties": { "uri": uri("The file, as `mcp://ROOT/path`.") },
                "required": ["uri"],
                "additionalProperties": false,
            },
            "annotations": read_only,
        }),
        json!({
            "name": LIST_DIRECTORY,
            "title": "List a directory",
            "description": "List the entries of a directory below one of the gateway's roots, e.g. `mcp://repo/docs/`.",
            "inputSchema": {
                "type": "object",
                "properties": { "uri": uri("The directory, as `mcp://ROOT/path/`.") },
                "required": ["uri"],
                "additionalProperties": false,
            },
            "annotations": read_only,
        }),
        json!({
            "name": SEARCH_FILES,
            "title": "Search files",
            "description": "Find files below a directory of one of the gateway's roots by name (a glob such as `*.md`, or a substring) and optionally by content.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "uri": uri("The directory to search, as `mcp://ROOT/path/`."),
                    "pattern": { "type": "string", "description": "A file-name glob (`*`, `?`) or, without wildcards, a case-insensitive substring." },
                    "contains": { "type": "string", "description": "Only files whose content holds this text." },
                    "max_results": { "type": "integer", "minimum": 1, "maximum": MAX_RESULTS, "default": DEFAULT_RESULTS },
                },
                "required": ["uri"],
                "additionalProperties": false,
            },
            "annotations": read_only,
        }),
    ];
    if any_writable {
        tools.push(json!({
            "name": WRITE_FILE,
            "title": "Write a file",
            "description": "Create or replace a file below one of the gateway's writable roots. The parent directory must exist.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "uri": uri("The file, as `mcp://ROOT/path`."),
                    "content": { "type": "string", "description": "The new content." },
                    "encoding": { "type": "string", "enum": ["utf-8", "base64"], "default": "utf-8" },
                },
                "required": ["uri", "content"],
                "additionalProperties": false,
            },
            "annotations": { "readOnlyHint": false, "destructiveHint": true, "idempotentHint": true, "openWorldHint": false },
        }));
    }
    tools
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_checked() {
        let parse = |name, args: Value| Request::parse(name, &args).unwrap();
        assert!(matches!(
            parse(READ_FILE, json!({"uri": "mcp://repo/a"})),
            Ok(Request::Read { .. })
        ));
        // The messages are the client's `invalid_params` text: they stay as they are.
        let refused = |name, args: Value| parse(name, args).unwrap_err().to_string();
        assert_eq!(refused(READ_FILE, json!({})), "`uri` is required");
        assert_eq!(
            refused(READ_FILE, json!({"uri": 3})),
            "`uri` must be a string"
        );
        assert_eq!(
            refused(SEARCH_FILES, json!({"uri": "mcp://r/", "max_results": 0})),
            "`max_results` must be an integer from 1 to 1000"
        );
        assert_eq!(
            refused(
                WRITE_FILE,
                json!({"uri": "mcp://r/a", "content": "x", "encoding": "latin-1"})
            ),
            "`encoding` must be `utf-8` or `base64`, not `latin-1`"
        );
        assert!(
            refused(
                WRITE_FILE,
                json!({"uri": "mcp://r/a", "content": "!", "encoding": "base64"})
            )
            .starts_with("`content` is not valid base64: ")
        );
        let Ok(Request::Write { content, .. }) = parse(
            WRITE_FILE,
            json!({"uri": "mcp://r/a", "content": "aGk=", "encoding": "base64"}),
        ) else {
            panic!("a base64 write parses");
        };
        assert_eq!(content, b"hi");
        assert!(Request::parse("execute_command", &json!({})).is_none());
    }

    #[test]
    fn write_file_is_offered_only_with_a_writable_root() {
        assert_eq!(definitions(false).len(), 3);
        assert_eq!(definitions(true).len(), 4);
    }
}
