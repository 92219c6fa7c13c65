//! JSON-RPC 2.0 messages as MCP uses them: parsing a request body into one message with
//! precise errors (parse error, invalid request), and building results.

use crate::errors::{ErrorType, Failure};
use serde_json::{Map, Value};

/// One incoming message.
#[derive(Debug, Clone)]
pub struct Message {
    /// `None` for notifications; otherwise a string or a number (never null, never fractional).
    pub id: Option<Value>,
    pub method: String,
    pub params: Option<Map<String, Value>>,
}

impl Message {
    pub fn is_notification(&self) -> bool {
        self.id.is_none()
    }
    /// The id to answer with (`null` when the request could not be identified).
    pub fn reply_id(&self) -> Value {
        self.id.clone().unwrap_or(Value::Null)
    }
    pub fn param(&self, key: &str) -> Option<&Value> {
        self.params.as_ref().and_then(|p| p.get(key))
    }
}

/// What the client sent, when it was not a request or notification.
pub enum Parsed {
    Message(Message),
    /// A response from the client (to a server request the gateway never sends): acknowledged.
    Response,
}

/// Parses a request body. Batches (removed from MCP in 2025-06-18) are refused.
pub fn parse(body: &[u8]) -> Result<Parsed, (Value, Failure)> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        (
            Value::Null,
            Failure::new(
                ErrorType::ParseError,
                format!("the body is not valid JSON: {e}"),
            ),
        )
    })?;
    let Value::Object(mut object) = value else {
        let what = if value.is_array() {
            "a batch (JSON array); send one JSON-RPC message per request"
        } else {
            "not a JSON-RPC object"
        };
        return Err((
            Value::Null,
            Failure::new(ErrorType::InvalidRequest, format!("the body is {what}")),
        ));
    };
    let id = match object.remove("id") {
        None => None,
        Some(id @ (Value::String(_) | Value::Number(_)))
            if id.as_f64().is_none_or(|f| f.fract() == 0.0) =>
        {
            Some(id)
        }
        Some(other) => {
            return Err((
                Value::Null,
                Failure::new(
                    ErrorType::InvalidRequest,
                    format!("`id` must be a string or an integer, not {other}"),
                ),
            ));
        }
    };
    let reply_id = id.clone().unwrap_or(Value::Null);
    let invalid = |message: &str| {
        (
            reply_id.clone(),
            Failure::new(ErrorType::InvalidRequest, message),
        )
    };
    if object.get("jsonrpc") != Some(&Value::String("2.0".into())) {
        return Err(invalid("`jsonrpc` must be \"2.0\""));
    }
    let method = match object.remove("method") {
        Some(Value::String(method)) if !method.is_empty() => method,
        Some(_) => return Err(invalid("`method` must be a non-empty string")),
        None if object.contains_key("result") || object.contains_key("error") => {
            return Ok(Parsed::Response);
        }
        None => return Err(invalid("`method` is missing")),
    };
    let params = match object.remove("params") {
        None | Some(Value::Null) => None,
        Some(Value::Object(params)) => Some(params),
        Some(_) => {
            return Err((
                reply_id,
                Failure::new(ErrorType::InvalidParams, "`params` must be an object"),
            ));
        }
    };
    Ok(Parsed::Message(Message { id, method, params }))
}

/// A JSON-RPC result response.
pub fn result(id: &Value, result: Value) -> Value {
    serde_json::json!({ "jsonrpc": "2.0", "id": id, "result": result })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> ErrorType {
        match parse(body.as_bytes()) {
            Err((_, f)) => f.kind,
            Ok(_) => panic!("{body} parsed"),
        }
    }

    #[test]
    fn parses_requests_and_rejects_the_rest() {
        let Ok(Parsed::Message(m)) =
            parse(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#)
        else {
            panic!()
        };
        assert_eq!((m.method.as_str(), m.id), ("tools/list", Some(1.into())));
        assert!(
            matches!(parse(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#), Ok(Parsed::Message(m)) if m.is_notification())
        );
        assert!(matches!(
            parse(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#),
            Ok(Parsed::Response)
        ));
        assert_eq!(err("{"), ErrorType::ParseError);
        assert_eq!(err("[]"), ErrorType::InvalidRequest);
        assert_eq!(
            err(r#"{"jsonrpc":"1.0","id":1,"method":"x"}"#),
            ErrorType::InvalidRequest
        );
        assert_eq!(
            err(r#"{"jsonrpc":"2.0","id":{},"method":"x"}"#),
            ErrorType::InvalidRequest
        );
        assert_eq!(
            err(r#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#),
            ErrorType::InvalidRequest
        );
        assert_eq!(
            err(r#"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#),
            ErrorType::InvalidParams
        );
        assert_eq!(
            err(r#"{"jsonrpc":"2.0","id":1}"#),
            ErrorType::InvalidRequest
        );
    }
}
