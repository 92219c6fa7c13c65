//! MCP protocol revisions. Handshake-era revisions (2024-11-05 to 2025-11-25) negotiate in
//! `initialize` and use `Mcp-Session-Id`. The stateless 2026-07-28 revision has no handshake:
//! every request carries its envelope in `params._meta` and mirrors its method (and tool,
//! prompt or resource name) in headers, which must agree with the body; results say their
//! `resultType` and, for cacheable methods, `cacheScope` and `ttlMs`.

use crate::errors::{ErrorType, Failure};
use crate::mcp::jsonrpc::{self, Message};
use axum::http::{HeaderMap, HeaderName};
use serde_json::{Value, json};

/// Handshake-era revisions, oldest first; the last is offered when a client asks for another.
pub const HANDSHAKE_VERSIONS: [&str; 4] = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

/// The revision a request without `MCP-Protocol-Version` (and without a session to tell) is
/// assumed to speak (streamable HTTP transport, "Protocol Version Header").
const ASSUMED_VERSION: &str = "2025-03-26";
/// Stateless revisions.
pub const MODERN_VERSIONS: [&str; 1] = ["2026-07-28"];

pub const PROTOCOL_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";
pub const CLIENT_CAPABILITIES_KEY: &str = "io.modelcontextprotocol/clientCapabilities";
pub const SERVER_INFO_KEY: &str = "io.modelcontextprotocol/serverInfo";

/// Methods whose `Mcp-Name` header mirrors a body parameter.
fn name_param(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        _ => None,
    }
}

/// The MCP methods the gateway names in metrics; any other method a client sends is `other`.
const METRIC_METHODS: [&str; 21] = [
    "initialize",
    "ping",
    "server/discover",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "debug/token",
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/roots/list_changed",
    "notifications/message",
    "notifications/resources/updated",
];

/// A method as a metric label. Method names are the client's to choose: used as they come they
/// would make a new series, with a histogram, per name a client invents, without bound.
pub fn method_label(method: &str) -> &'static str {
    METRIC_METHODS
        .iter()
        .find(|known| **known == method)
        .copied()
        .unwrap_or("other")
}

pub fn all_versions() -> Vec<&'static str> {
    HANDSHAKE_VERSIONS
        .iter()
        .chain(MODERN_VERSIONS.iter())
        .copied()
        .collect()
}

/// The revision to answer `initialize` with.
pub fn negotiate(requested: Option<&str>) -> &'static str {
    HANDSHAKE_VERSIONS
        .iter()
        .find(|v| Some(**v) == requested)
        .copied()
        .unwrap_or(HANDSHAKE_VERSIONS[HANDSHAKE_VERSIONS.len() - 1])
}

/// MCP's headers, parsed once: a lookup by `&str` parses and validates the name every time.
pub const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
pub const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
pub const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
pub const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");

fn header<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Result<Option<&'a str>, Failure> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(Failure::new(
            ErrorType::HeaderMismatch,
            format!("the {name} header appears more than once"),
        ));
    }
    match first.map(|v| v.to_str()) {
        None => Ok(None),
        Some(Ok(value)) => Ok(Some(value)),
        // Present but unreadable (bytes beyond ASCII) is not absent: an unreadable
        // MCP-Protocol-Version must not be served as the default revision.
        Some(Err(_)) if name == MCP_PROTOCOL_VERSION => Err(unsupported("(not ASCII)")),
        Some(Err(_)) => Err(Failure::new(
            ErrorType::HeaderMismatch,
            format!("the {name} header is not ASCII"),
        )),
    }
}

/// How a request is to be served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Era {
    /// Handshake era, with the version the client announced in `MCP-Protocol-Version` (if any).
    Handshake(Option<String>),
    /// Stateless, at this version.
    Modern(String),
}

impl Era {
    pub fn is_modern(&self) -> bool {
        matches!(self, Era::Modern(_))
    }
    /// How errors reach the client in this revision.
    pub fn error_status(&self) -> crate::errors::ErrorStatus {
        match self {
            Era::Handshake(_) => crate::errors::ErrorStatus::InBody,
            Era::Modern(_) => crate::errors::ErrorStatus::InStatus,
        }
    }
    /// The revision the request is served under. With neither header nor session, the
    /// transport says to assume 2025-03-26.
    pub fn version(&self) -> &str {
        match self {
            Era::Handshake(v) => v.as_deref().unwrap_or(ASSUMED_VERSION),
            Era::Modern(v) => v,
        }
    }
}

/// Classifies a request by its `MCP-Protocol-Version` header and, for the stateless revision,
/// runs its validation ladder: envelope in `_meta`, headers agreeing with the body, a supported version.
pub fn classify(headers: &HeaderMap, message: &Message) -> Result<Era, Failure> {
    let version = header(headers, &MCP_PROTOCOL_VERSION)?;
    header(headers, &MCP_METHOD)?;
    header(headers, &MCP_NAME)?;
    // Read only for a version the gateway does not know: no tree of `params` is built for it.
    let has_envelope = || {
        let [meta] = message.raw_params(["_meta"]);
        meta.is_some_and(jsonrpc::is_object)
    };
    if let Some(v) = version
        && !HANDSHAKE_VERSIONS.contains(&v)
        && !MODERN_VERSIONS.contains(&v)
        && (!is_dated(v) || !has_envelope())
    {
        // Not a revision at all, or a later one without its envelope: say which are served
        // (the envelope ladder below would only complain about `_meta`).
        return Err(unsupported(v));
    }
    let announces_modern =
        version.is_some_and(|v| MODERN_VERSIONS.contains(&v) || (is_dated(v) && v > "2026"));
    if !announces_modern && message.method != "server/discover" {
        return match version {
            Some(v) if !HANDSHAKE_VERSIONS.contains(&v) => Err(unsupported(v)),
            v => Ok(Era::Handshake(v.map(str::to_string))),
        };
    }
    let meta = message.param("_meta").and_then(Value::as_object).ok_or_else(|| {
        Failure::new(ErrorType::InvalidParams, format!("params._meta must be an object carrying `{PROTOCOL_VERSION_KEY}` and `{CLIENT_CAPABILITIES_KEY}`"))
    })?;
    let missing: Vec<&str> = [PROTOCOL_VERSION_KEY, CLIENT_CAPABILITIES_KEY]
        .into_iter()
        .filter(|k| !meta.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        return Err(Failure::new(
            ErrorType::InvalidParams,
            format!("params._meta is missing {}", missing.join(", ")),
        ));
    }
    let body_version = &meta[PROTOCOL_VERSION_KEY];
    if version.is_none() || body_version.as_str() != version {
        return Err(Failure::new(
            ErrorType::HeaderMismatch,
            "the MCP-Protocol-Version header does not match params._meta",
        ));
    }
    if header(headers, &MCP_METHOD)? != Some(message.method.as_str()) {
        return Err(Failure::new(
            ErrorType::HeaderMismatch,
            "the Mcp-Method header does not match the request's method",
        ));
    }
    if let Some(key) = name_param(&message.method)
        && let Some(body_name) = message.param(key).and_then(Value::as_str)
        && header(headers, &MCP_NAME)?
            .map(decode_header_value)
            .as_deref()
            != Some(body_name)
    {
        return Err(Failure::new(
            ErrorType::HeaderMismatch,
            format!("the Mcp-Name header does not match the request's `{key}`"),
        ));
    }
    let version = body_version.as_str().unwrap_or_default();
    if !MODERN_VERSIONS.contains(&version) {
        return Err(unsupported(version));
    }
    Ok(Era::Modern(version.to_string()))
}

/// A revision name: a date, `YYYY-MM-DD`.
fn is_dated(version: &str) -> bool {
    let bytes = version.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        })
}

fn unsupported(requested: &str) -> Failure {
    Failure::new(
        ErrorType::UnsupportedProtocolVersion,
        format!("unsupported protocol version `{requested}`"),
    )
    .with("supported", all_versions())
    .with("requested", requested)
}

/// Header values that are not plain ASCII arrive as `=?base64?...?=`.
fn decode_header_value(value: &str) -> String {
    use base64::Engine as _;
    value
        .strip_prefix("=?base64?")
        .and_then(|rest| rest.strip_suffix("?="))
        .and_then(|payload| {
            base64::engine::general_purpose::STANDARD
                .decode(payload)
                .ok()
        })
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_else(|| value.to_string())
}

pub fn server_info() -> Value {
    json!({"name": "airlock", "title": "Airlock MCP gateway", "version": env!("CARGO_PKG_VERSION")})
}

pub fn capabilities() -> Value {
    json!({"tools": {"listChanged": false}, "resources": {}, "prompts": {}})
}

/// The `server/discover` result.
pub fn discover_result() -> Value {
    json!({
        "supportedVersions": all_versions(),
        "capabilities": capabilities(),
        "resultType": "complete",
        "cacheScope": "public",
        "ttlMs": 60_000,
        "_meta": { SERVER_INFO_KEY: server_info() },
    })
}

/// Adds what the stateless revision requires of results.
pub fn finish(method: &str, mut result: Value, era: &Era) -> Value {
    if let (Era::Modern(_), Value::Object(map)) = (era, &mut result) {
        map.entry("resultType").or_insert_with(|| "complete".into());
        let cacheable = matches!(
            method,
            "tools/list"
                | "resources/list"
                | "resources/templates/list"
                | "prompts/list"
                | "resources/read"
        );
        if cacheable {
            // Gateway answers depend on the caller's authorization: never shared.
            map.insert("cacheScope".into(), "private".into());
            map.entry("ttlMs").or_insert_with(|| 0.into());
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn message(method: &str, params: Value) -> Message {
        Message {
            id: Some(1.into()),
            method: method.into(),
            params: params.as_object().cloned().map(jsonrpc::Params::from_map),
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    fn envelope(version: &str) -> Value {
        json!({PROTOCOL_VERSION_KEY: version, CLIENT_CAPABILITIES_KEY: {}})
    }

    #[test]
    fn handshake_requests() {
        assert_eq!(
            classify(&headers(&[]), &message("tools/list", json!({}))).unwrap(),
            Era::Handshake(None)
        );
        let e = classify(
            &headers(&[("mcp-protocol-version", "1999-01-01")]),
            &message("tools/list", json!({})),
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorType::UnsupportedProtocolVersion);
        // Not revision names, or a later revision without its envelope: the versions served.
        for header in [
            "garbage",
            "latest",
            "v2025-06-18",
            "9999",
            "2099-01-01",
            "2026-13",
        ] {
            let e = classify(
                &headers(&[("mcp-protocol-version", header)]),
                &message("initialize", json!({"protocolVersion": "2025-06-18"})),
            )
            .unwrap_err();
            assert_eq!(e.kind, ErrorType::UnsupportedProtocolVersion, "{header}");
        }
        assert_eq!(
            Era::Handshake(None).version(),
            "2025-03-26",
            "the transport's assumption"
        );
        assert_eq!(negotiate(Some("2025-06-18")), "2025-06-18");
        assert_eq!(negotiate(Some("2030-01-01")), "2025-11-25");
    }

    #[test]
    fn modern_ladder() {
        let ok = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "echo"),
        ]);
        let call = message(
            "tools/call",
            json!({"name": "echo", "_meta": envelope("2026-07-28")}),
        );
        assert_eq!(
            classify(&ok, &call).unwrap(),
            Era::Modern("2026-07-28".into())
        );
        let wrong_name = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "other"),
        ]);
        assert_eq!(
            classify(&wrong_name, &call).unwrap_err().kind,
            ErrorType::HeaderMismatch
        );
        let no_meta = message("tools/call", json!({"name": "echo"}));
        assert_eq!(
            classify(&ok, &no_meta).unwrap_err().kind,
            ErrorType::InvalidParams
        );
        let discover = message("server/discover", json!({"_meta": envelope("2027-01-01")}));
        let h = headers(&[
            ("mcp-protocol-version", "2027-01-01"),
            ("mcp-method", "server/discover"),
        ]);
        let e = classify(&h, &discover).unwrap_err();
        assert_eq!(e.kind, ErrorType::UnsupportedProtocolVersion);
        assert!(
            e.data["supported"]
                .as_array()
                .unwrap()
                .contains(&json!("2026-07-28"))
        );
        let twice = headers(&[("mcp-method", "a"), ("mcp-method", "b")]);
        assert_eq!(
            classify(&twice, &call).unwrap_err().kind,
            ErrorType::HeaderMismatch
        );
    }

    #[test]
    fn modern_results_are_decorated() {
        let result = finish(
            "tools/list",
            json!({"tools": []}),
            &Era::Modern("2026-07-28".into()),
        );
        assert_eq!(
            (
                result["resultType"].as_str(),
                result["cacheScope"].as_str(),
                result["ttlMs"].as_u64()
            ),
            (Some("complete"), Some("private"), Some(0))
        );
        assert!(
            finish("tools/list", json!({"tools": []}), &Era::Handshake(None))
                .get("resultType")
                .is_none()
        );
        assert_eq!(decode_header_value("=?base64?w6k=?="), "é");
    }
}
