//! The error contract: every failure a client sees is an HTTP status and a JSON-RPC error
//! object whose `data` carries a stable `error_type` and the request's `correlation_id`. A 500
//! says nothing about internals. Also the closed sets a request's record is classified by:
//! the authentication stage that refused it and the kind of path violation.

use axum::http::StatusCode;
use serde_json::{Value, json};

/// How an error reaches the client besides its JSON-RPC body. The handshake revisions answer
/// a JSON-RPC error about the message (unknown method, invalid params) with 200; the stateless
/// revision says it with a 4xx status too, and so does a message with no id to answer (there
/// is no JSON-RPC response to carry the error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorStatus {
    /// Message-level errors are answered with 200 and the error in the body.
    InBody,
    /// Every error has its own HTTP status.
    InStatus,
}

/// Where authentication refused a request: `auth_stage` in logs and audit events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthStage {
    /// No bearer token, or one that is not a JWT.
    Extraction,
    /// A JWT that does not validate (signature, issuer, audience, time, groups).
    Validation,
}

impl AuthStage {
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthStage::Extraction => "token_extraction",
            AuthStage::Validation => "token_validation",
        }
    }
}

/// Why a path was refused: a bounded set, the `reason` label of
/// `airlock_security_violations_total` and the `violation` field of audit events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViolationKind {
    /// A `.`/`..` segment, raw or percent-encoded.
    Traversal,
    /// An encoding trick: encoded separators, backslashes, double or overlong encoding.
    Encoding,
    /// NUL or another control character.
    ControlCharacter,
    /// An absolute path below a root.
    AbsolutePath,
    /// A symbolic link leading outside the root (or any link, where the kernel lacks `openat2`).
    Symlink,
    /// A device, FIFO or socket.
    SpecialFile,
    /// A scheme no root serves (`file://`, `http://`, ...).
    Scheme,
    /// An `mcp://` URI naming no configured root.
    UnknownRoot,
    /// A write to a read-only root.
    ReadOnly,
}

impl ViolationKind {
    pub const ALL: [ViolationKind; 9] = [
        Self::Traversal,
        Self::Encoding,
        Self::ControlCharacter,
        Self::AbsolutePath,
        Self::Symlink,
        Self::SpecialFile,
        Self::Scheme,
        Self::UnknownRoot,
        Self::ReadOnly,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Traversal => "path_traversal",
            Self::Encoding => "encoding",
            Self::ControlCharacter => "control_character",
            Self::AbsolutePath => "absolute_path",
            Self::Symlink => "symlink_escape",
            Self::SpecialFile => "special_file",
            Self::Scheme => "scheme_not_allowed",
            Self::UnknownRoot => "unknown_root",
            Self::ReadOnly => "read_only_root",
        }
    }
}

/// A stable error classification: the `error_type` of responses, logs and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorType {
    ParseError,
    InvalidRequest,
    MethodNotFound,
    InvalidParams,
    HeaderMismatch,
    UnsupportedProtocolVersion,
    SessionNotFound,
    MissingToken,
    MalformedToken,
    InvalidToken,
    TokenExpired,
    TokenNotYetValid,
    InvalidIssuer,
    InvalidAudience,
    InvalidSignature,
    UnsupportedAlgorithm,
    UnknownKey,
    MissingGroup,
    IdentityProviderUnavailable,
    Forbidden,
    NotAdmin,
    OriginNotAllowed,
    PathViolation,
    /// A tool whose definition changed since it was pinned (`toolPinning.onDrift: block`).
    ToolDefinitionChanged,
    /// A tool the lock does not pin (`toolPinning.onUnpinned: block`).
    ToolNotPinned,
    /// An unpinned tool whose definition hides text or addresses the model.
    ToolWithheld,
    /// A resource URI no root or upstream serves (MCP's -32002).
    ResourceNotFound,
    /// A file or object larger than its root's cap.
    ResourceTooLarge,
    /// A root's directory or bucket failed (the detail is logged, not sent).
    RootUnavailable,
    RateLimited,
    AuthThrottled,
    PayloadTooLarge,
    UnsupportedMediaType,
    NotAcceptable,
    /// An HTTP method `/mcp` does not serve (anything but POST and DELETE).
    MethodNotAllowed,
    /// A path the gateway does not serve.
    NotFound,
    Overloaded,
    UpstreamUnavailable,
    UpstreamError,
    UpstreamTimeout,
    RequestTimeout,
    /// The client took too long to send its request head or body.
    ReadTimeout,
    /// A request head that is not HTTP/1.1 (hyper's parser refused it).
    MalformedHttp,
    /// A request target beyond hyper's limit.
    UriTooLong,
    /// Request headers beyond hyper's limits (size or count).
    HeadersTooLarge,
    AuditUnavailable,
    /// The shared rate-limit store does not answer and `onUnavailable: deny`.
    RateLimitStoreUnavailable,
    /// A JSON-RPC error the upstream answered, relayed to the client.
    UpstreamRpcError,
    InternalError,
}

impl ErrorType {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ParseError => "parse_error",
            Self::InvalidRequest => "invalid_request",
            Self::MethodNotFound => "method_not_found",
            Self::InvalidParams => "invalid_params",
            Self::HeaderMismatch => "header_mismatch",
            Self::UnsupportedProtocolVersion => "unsupported_protocol_version",
            Self::SessionNotFound => "session_not_found",
            Self::MissingToken => "missing_token",
            Self::MalformedToken => "malformed_token",
            Self::InvalidToken => "invalid_token",
            Self::TokenExpired => "token_expired",
            Self::TokenNotYetValid => "token_not_yet_valid",
            Self::InvalidIssuer => "invalid_issuer",
            Self::InvalidAudience => "invalid_audience",
            Self::InvalidSignature => "invalid_signature",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::UnknownKey => "unknown_key",
            Self::MissingGroup => "missing_group",
            Self::IdentityProviderUnavailable => "identity_provider_unavailable",
            Self::Forbidden => "policy_denied",
            Self::NotAdmin => "not_admin",
            Self::OriginNotAllowed => "origin_not_allowed",
            Self::PathViolation => "path_violation",
            Self::ToolDefinitionChanged => "tool_definition_changed",
            Self::ToolNotPinned => "tool_not_pinned",
            Self::ToolWithheld => "tool_withheld",
            Self::ResourceNotFound => "resource_not_found",
            Self::ResourceTooLarge => "resource_too_large",
            Self::RootUnavailable => "root_unavailable",
            Self::RateLimited => "rate_limited",
            Self::AuthThrottled => "auth_throttled",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::NotAcceptable => "not_acceptable",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::NotFound => "not_found",
            Self::Overloaded => "overloaded",
            Self::UpstreamUnavailable => "upstream_unavailable",
            Self::UpstreamError => "upstream_error",
            Self::UpstreamTimeout => "upstream_timeout",
            Self::RequestTimeout => "request_timeout",
            Self::ReadTimeout => "read_timeout",
            Self::MalformedHttp => "malformed_http",
            Self::UriTooLong => "uri_too_long",
            Self::HeadersTooLarge => "headers_too_large",
            Self::AuditUnavailable => "audit_unavailable",
            Self::RateLimitStoreUnavailable => "rate_limit_store_unavailable",
            Self::UpstreamRpcError => "upstream_rpc_error",
            Self::InternalError => "internal_error",
        }
    }

    /// The HTTP status of a failure, relayed codes included (the stateless revision maps
    /// JSON-RPC codes to statuses).
    pub fn status_of(failure: &Failure, statuses: ErrorStatus) -> StatusCode {
        let in_status = statuses == ErrorStatus::InStatus;
        match (failure.kind, failure.code) {
            (Self::UpstreamRpcError, Some(-32602 | -32600 | -32700)) if in_status => {
                StatusCode::BAD_REQUEST
            }
            (Self::UpstreamRpcError, Some(-32601)) if in_status => StatusCode::NOT_FOUND,
            (kind, _) => kind.status(statuses),
        }
    }

    /// The HTTP status of this error.
    pub fn status(self, statuses: ErrorStatus) -> StatusCode {
        use ErrorType::*;
        let modern = statuses == ErrorStatus::InStatus;
        match self {
            ParseError
            | InvalidRequest
            | HeaderMismatch
            | UnsupportedProtocolVersion
            | MalformedHttp => StatusCode::BAD_REQUEST,
            UriTooLong => StatusCode::URI_TOO_LONG,
            HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            InvalidParams | ResourceTooLarge if modern => StatusCode::BAD_REQUEST,
            ResourceNotFound if modern => StatusCode::NOT_FOUND,
            ResourceNotFound | ResourceTooLarge => StatusCode::OK,
            MethodNotFound if modern => StatusCode::NOT_FOUND,
            MethodNotFound | InvalidParams => StatusCode::OK,
            SessionNotFound => StatusCode::NOT_FOUND,
            MissingToken | MalformedToken | InvalidToken | TokenExpired | TokenNotYetValid
            | InvalidIssuer | InvalidAudience | InvalidSignature | UnsupportedAlgorithm
            | UnknownKey => StatusCode::UNAUTHORIZED,
            MissingGroup
            | Forbidden
            | NotAdmin
            | OriginNotAllowed
            | PathViolation
            | ToolDefinitionChanged
            | ToolNotPinned
            | ToolWithheld => StatusCode::FORBIDDEN,
            RateLimited | AuthThrottled => StatusCode::TOO_MANY_REQUESTS,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            NotFound => StatusCode::NOT_FOUND,
            Overloaded
            | AuditUnavailable
            | RateLimitStoreUnavailable
            | IdentityProviderUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            UpstreamUnavailable | UpstreamError | RootUnavailable => StatusCode::BAD_GATEWAY,
            UpstreamTimeout | RequestTimeout => StatusCode::GATEWAY_TIMEOUT,
            ReadTimeout => StatusCode::REQUEST_TIMEOUT,
            UpstreamRpcError => StatusCode::OK,
            InternalError => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON-RPC error code.
    pub const fn code(self) -> i64 {
        use ErrorType::*;
        match self {
            ParseError => -32700,
            InvalidRequest => -32600,
            MethodNotFound => -32601,
            InvalidParams | PathViolation | ResourceTooLarge => -32602,
            ResourceNotFound => -32002,
            HeaderMismatch => -32020,
            UnsupportedProtocolVersion => -32022,
            InternalError => -32603,
            // Server-defined errors (-32000 to -32099 are reserved for implementations).
            SessionNotFound => -32001,
            MissingToken | MalformedToken | InvalidToken | TokenExpired | TokenNotYetValid
            | InvalidIssuer | InvalidAudience | InvalidSignature | UnsupportedAlgorithm
            | UnknownKey => -32001,
            MissingGroup
            | Forbidden
            | NotAdmin
            | OriginNotAllowed
            | ToolDefinitionChanged
            | ToolNotPinned
            | ToolWithheld => -32003,
            RateLimited | AuthThrottled => -32029,
            PayloadTooLarge => -32013,
            UnsupportedMediaType | NotAcceptable | MethodNotAllowed | NotFound | MalformedHttp
            | UriTooLong | HeadersTooLarge => -32600,
            Overloaded
            | AuditUnavailable
            | RateLimitStoreUnavailable
            | IdentityProviderUnavailable => -32050,
            UpstreamUnavailable | UpstreamError | RootUnavailable => -32052,
            UpstreamTimeout | RequestTimeout | ReadTimeout => -32054,
            UpstreamRpcError => -32603,
        }
    }

    /// True for errors of authentication (the `auth_stage` logs and metrics care about).
    pub fn is_auth(self) -> bool {
        self.status(ErrorStatus::InBody) == StatusCode::UNAUTHORIZED || self == Self::MissingGroup
    }
}

/// An error and its causes on one line (for logs and `doctor`).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A failure on its way to the client (boxed: it travels in `Result`s through the request path).
#[derive(Debug, Clone)]
pub struct Failure(Box<FailureDetail>);

impl std::ops::Deref for Failure {
    type Target = FailureDetail;
    fn deref(&self) -> &FailureDetail {
        &self.0
    }
}

impl std::ops::DerefMut for Failure {
    fn deref_mut(&mut self) -> &mut FailureDetail {
        &mut self.0
    }
}

#[derive(Debug, Clone)]
pub struct FailureDetail {
    pub kind: ErrorType,
    /// Safe to show the client. Never a token, a stack trace or an internal detail.
    pub message: String,
    /// Extra `data` fields (e.g. the policy's reason and rule id, `retry_after`).
    pub data: serde_json::Map<String, Value>,
    pub retry_after: Option<u64>,
    /// The JSON-RPC code to send instead of the kind's (relayed upstream errors).
    pub code: Option<i64>,
    /// The `data` of an upstream's error, relayed as `upstream_data`: not the gateway's own
    /// words, so it passes DLP like any answer from an upstream.
    pub relayed: Option<Value>,
}

impl Failure {
    pub fn new(kind: ErrorType, message: impl Into<String>) -> Self {
        Self(Box::new(FailureDetail {
            kind,
            message: message.into(),
            data: serde_json::Map::new(),
            retry_after: None,
            code: None,
            relayed: None,
        }))
    }
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.data.insert(key.to_string(), value.into());
        self
    }
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self.data
            .insert("retry_after".into(), seconds.max(1).into());
        self
    }
    /// An internal error: the detail is logged by the caller, the client sees a generic text.
    pub fn internal() -> Self {
        Self::new(
            ErrorType::InternalError,
            "internal error; the correlation id identifies it in the gateway's logs",
        )
    }

    /// What of the error DLP must see: the message (it may repeat what a client or an
    /// upstream sent) and an upstream's relayed data. The gateway's own `data` (the policy's
    /// reason, the caller's own subject) joins after (`Redacted::into_jsonrpc_error`).
    pub fn error_object(&self) -> Value {
        let mut error = json!({ "code": self.code.unwrap_or(self.kind.code()), "message": self.message, "data": {} });
        if let Some(relayed) = &self.relayed {
            error["data"]["upstream_data"] = relayed.clone();
        }
        error
    }

    /// The JSON-RPC error response for request `id`, for refusals no request path saw (the
    /// connection's own: a head that never arrived, one hyper could not parse).
    pub fn to_jsonrpc(&self, id: &Value, correlation_id: &str) -> Value {
        let mut data = self.data.clone();
        data.insert("error_type".into(), self.kind.as_str().into());
        data.insert("correlation_id".into(), correlation_id.into());
        json!({ "jsonrpc": "2.0", "id": id, "error": { "code": self.code.unwrap_or(self.kind.code()), "message": self.message, "data": data } })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_contract() {
        use ErrorStatus::*;
        assert_eq!(ErrorType::Forbidden.status(InBody), StatusCode::FORBIDDEN);
        assert_eq!(ErrorType::MethodNotFound.status(InBody), StatusCode::OK);
        assert_eq!(
            ErrorType::MethodNotFound.status(InStatus),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            ErrorType::UpstreamTimeout.status(InBody),
            StatusCode::GATEWAY_TIMEOUT
        );
        let body = Failure::new(ErrorType::RateLimited, "slow down")
            .retry_after(3)
            .to_jsonrpc(&json!(7), "abc");
        assert_eq!(body["error"]["data"]["error_type"], "rate_limited");
        assert_eq!(body["error"]["data"]["correlation_id"], "abc");
        assert_eq!(body["error"]["data"]["retry_after"], 3);
        assert_eq!(body["id"], 7);
    }
}
