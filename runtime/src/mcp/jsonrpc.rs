//! JSON-RPC 2.0 messages as MCP uses them: parsing a request body into one message with
//! precise errors (parse error, invalid request), and [`Json`], an answer as a tree or as the
//! text an upstream sent. Responses are built by the edge, from redacted values
//! (`enforce::dlp::Redacted`).
//!
//! The body is parsed strictly, in one pass: an object with a duplicate key anywhere in the
//! message is a parse error. JSON parsers disagree on duplicates (first wins, last wins, error),
//! and a gateway that reads `{"method":"a","method":"b"}` differently from the server behind it
//! would authorize one request and let another through. serde_json's nesting limit (128) and
//! its refusal of invalid UTF-8 and lone surrogates apply unchanged.

use crate::errors::{ErrorType, Failure};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};
use std::fmt;

/// One incoming message.
#[derive(Debug, Clone)]
pub struct Message {
    /// `None` for notifications; otherwise a string or an integer within 64 bits (never null,
    /// never a float).
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

/// A JSON value as the gateway holds an answer: a tree it built or parsed, or the text an
/// upstream sent, forwarded without being parsed into a tree (DLP reads it as text:
/// `enforce::dlp`).
#[derive(Debug)]
pub enum Json {
    Tree(Value),
    Text(Box<serde_json::value::RawValue>),
}

impl Json {
    /// The value as a tree: the text parsed (it is valid JSON; it fails only on a string whose
    /// escapes are not Unicode).
    pub fn into_tree(self) -> serde_json::Result<Value> {
        match self {
            Json::Tree(value) => Ok(value),
            Json::Text(text) => serde_json::from_str(text.get()),
        }
    }
}

impl From<Value> for Json {
    fn from(value: Value) -> Self {
        Json::Tree(value)
    }
}

/// What the client sent, when it was not a request or notification.
pub enum Parsed {
    Message(Message),
    /// A response from the client (to a server request the gateway never sends): acknowledged.
    Response,
}

/// A JSON value whose objects have no duplicate keys (see the module documentation).
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

/// Builds a `Value` like serde_json's own visitor, but refuses a key an object already has.
/// (It also never treats serde_json's private `$serde_json::private::RawValue` key specially, as
/// `Value` does when the `raw_value` feature is on somewhere in the build.)
struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            // One hash lookup per key: the vacant entry is where the value goes.
            match object.entry(key) {
                Entry::Occupied(entry) => return Err(duplicate(entry.key())),
                Entry::Vacant(entry) => {
                    let Strict(value) = map.next_value()?;
                    entry.insert(value);
                }
            }
        }
        Ok(Value::Object(object))
    }
}

/// Parses one JSON text strictly: duplicate keys refused, nothing but whitespace after it.
pub fn from_slice_strict(body: &[u8]) -> serde_json::Result<Value> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let Strict(value) = Strict::deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// The members of a message's top-level object that `parse` reads, each parsed strictly; the
/// others are parsed strictly too (a duplicate key anywhere is an error) and dropped. Read
/// straight from the body: no map of the top level is built, hashed and taken apart again.
#[derive(Default)]
struct Envelope {
    jsonrpc: Option<Value>,
    id: Option<Value>,
    method: Option<Value>,
    params: Option<Value>,
    result: bool,
    error: bool,
}

/// What the body is at its top level.
// Returned once per request on the stack: boxing the envelope would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Body {
    Object(Envelope),
    /// A JSON array: a batch.
    Array,
    /// A string, number, boolean or null.
    Scalar,
}

impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BodyVisitor)
    }
}

/// A top-level member's name: one `parse` reads, or another (kept to find its duplicates).
enum Member {
    Jsonrpc,
    Id,
    Method,
    Params,
    Result,
    Error,
    Other(String),
}

impl<'de> Deserialize<'de> for Member {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(MemberVisitor)
    }
}

struct MemberVisitor;

impl Visitor<'_> for MemberVisitor {
    type Value = Member;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_str<E>(self, name: &str) -> Result<Member, E> {
        Ok(match name {
            "jsonrpc" => Member::Jsonrpc,
            "id" => Member::Id,
            "method" => Member::Method,
            "params" => Member::Params,
            "result" => Member::Result,
            "error" => Member::Error,
            other => Member::Other(other.to_owned()),
        })
    }
}

struct BodyVisitor;

impl BodyVisitor {
    /// A member's value, strictly; a member seen before is a duplicate key.
    fn member<'de, A: MapAccess<'de>>(
        map: &mut A,
        slot: &mut Option<Value>,
        name: &str,
    ) -> Result<(), A::Error> {
        if slot.is_some() {
            return Err(duplicate(name));
        }
        let Strict(value) = map.next_value()?;
        *slot = Some(value);
        Ok(())
    }

    /// A member whose presence alone counts (`result`, `error`).
    fn present<'de, A: MapAccess<'de>>(
        map: &mut A,
        seen: &mut bool,
        name: &str,
    ) -> Result<(), A::Error> {
        if std::mem::replace(seen, true) {
            return Err(duplicate(name));
        }
        map.next_value::<Strict>().map(drop)
    }
}

fn duplicate<E: de::Error>(name: &str) -> E {
    E::custom(format_args!("duplicate key {name:?}"))
}

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = Body;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Body, E> {
        Ok(Body::Scalar)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Body, E> {
        Ok(Body::Scalar)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Body, E> {
        Ok(Body::Scalar)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Body, E> {
        Ok(Body::Scalar)
    }
    fn visit_str<E>(self, _: &str) -> Result<Body, E> {
        Ok(Body::Scalar)
    }
    fn visit_unit<E>(self) -> Result<Body, E> {
        Ok(Body::Scalar)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Body, A::Error> {
        // Read whole, strictly: a batch that is not valid JSON is a parse error.
        while seq.next_element::<Strict>()?.is_some() {}
        Ok(Body::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Body, A::Error> {
        let mut envelope = Envelope::default();
        // Other members are rare; a set (DoS-resistant hashing) finds their duplicates.
        let mut others = std::collections::HashSet::new();
        while let Some(member) = map.next_key::<Member>()? {
            match member {
                Member::Jsonrpc => Self::member(&mut map, &mut envelope.jsonrpc, "jsonrpc")?,
                Member::Id => Self::member(&mut map, &mut envelope.id, "id")?,
                Member::Method => Self::member(&mut map, &mut envelope.method, "method")?,
                Member::Params => Self::member(&mut map, &mut envelope.params, "params")?,
                Member::Result => Self::present(&mut map, &mut envelope.result, "result")?,
                Member::Error => Self::present(&mut map, &mut envelope.error, "error")?,
                Member::Other(name) => {
                    if others.contains(&name) {
                        return Err(duplicate(&name));
                    }
                    map.next_value::<Strict>()?;
                    others.insert(name);
                }
            }
        }
        Ok(Body::Object(envelope))
    }
}

/// Parses a request body. Batches (removed from MCP in 2025-06-18) are refused.
pub fn parse(body: &[u8]) -> Result<Parsed, (Value, Failure)> {
    let read = || -> serde_json::Result<Body> {
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let parsed = Body::deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(parsed)
    };
    let not_an_object = |what: &str| {
        Err((
            Value::Null,
            Failure::new(ErrorType::InvalidRequest, format!("the body is {what}")),
        ))
    };
    let envelope = match read() {
        Ok(Body::Object(envelope)) => envelope,
        Ok(Body::Array) => {
            return not_an_object("a batch (JSON array); send one JSON-RPC message per request");
        }
        Ok(Body::Scalar) => return not_an_object("not a JSON-RPC object"),
        Err(e) => {
            return Err((
                Value::Null,
                Failure::new(
                    ErrorType::ParseError,
                    format!("the body is not valid JSON: {e}"),
                ),
            ));
        }
    };
    let Envelope {
        jsonrpc,
        id,
        method,
        params,
        result,
        error,
    } = envelope;
    let id = match id {
        None => None,
        // Only integers written as integers that fit 64 bits: serde_json reads `1e3`, `1.0`,
        // `-0` and integers beyond 64 bits as floats, which would be echoed back as `1000.0`,
        // `1.0`, `-0.0` or a rounded number — not the id the client sent, as JSON-RPC requires.
        Some(id @ Value::String(_)) => Some(id),
        // A client's error response to a request it could not read carries `"id": null`.
        Some(Value::Null) if method.is_none() && error => None,
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Some(Value::Number(n)),
        Some(other) => {
            return Err((
                Value::Null,
                Failure::new(
                    ErrorType::InvalidRequest,
                    format!(
                        "`id` must be a string or an integer (without fraction or exponent, \
                         within 64 bits), not {other}"
                    ),
                ),
            ));
        }
    };
    let reply_id = || id.clone().unwrap_or(Value::Null);
    let invalid = |message: &str| (reply_id(), Failure::new(ErrorType::InvalidRequest, message));
    if !matches!(&jsonrpc, Some(Value::String(version)) if version == "2.0") {
        return Err(invalid("`jsonrpc` must be \"2.0\""));
    }
    let method = match method {
        Some(Value::String(method)) if !method.is_empty() => method,
        Some(_) => return Err(invalid("`method` must be a non-empty string")),
        None if result || error => return Ok(Parsed::Response),
        None => return Err(invalid("`method` is missing")),
    };
    let params = match params {
        None | Some(Value::Null) => None,
        Some(Value::Object(params)) => Some(params),
        Some(_) => {
            return Err((
                reply_id(),
                Failure::new(ErrorType::InvalidParams, "`params` must be an object"),
            ));
        }
    };
    Ok(Parsed::Message(Message { id, method, params }))
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
        assert!(matches!(
            parse(br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}"#),
            Ok(Parsed::Response)
        ));
        assert_eq!(
            err(r#"{"jsonrpc":"2.0","id":null,"method":"x"}"#),
            ErrorType::InvalidRequest
        );
        assert_eq!(err("{"), ErrorType::ParseError);
        assert_eq!(err("[]"), ErrorType::InvalidRequest);
        assert_eq!(err("[1,"), ErrorType::ParseError);
        assert!(message_of(b"[{}]").contains("a batch"));
        for scalar in ["1", "\"ping\"", "null", "true"] {
            assert!(message_of(scalar.as_bytes()).contains("not a JSON-RPC object"));
        }
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

    fn message_of(body: &[u8]) -> String {
        match parse(body) {
            Err((_, f)) => f.message.clone(),
            Ok(_) => panic!("{} parsed", String::from_utf8_lossy(body)),
        }
    }

    #[test]
    fn duplicate_keys_anywhere_are_parse_errors() {
        for (body, key) in [
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call"}"#,
                "method",
            ),
            (r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}"#, "id"),
            (
                r#"{"jsonrpc":"2.0","jsonrpc":"2.0","id":1,"method":"ping"}"#,
                "jsonrpc",
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{},"params":{}}"#,
                "params",
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"rm"}}"#,
                "name",
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":[{"b":{"c":1,"c":2}}]}}"#,
                "c",
            ),
            // The same key spelled with an escape is the same key.
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"a","\u006dethod":"b"}"#,
                "method",
            ),
            // Notifications and responses too.
            (r#"{"jsonrpc":"2.0","method":"a","method":"b"}"#, "method"),
            (
                r#"{"jsonrpc":"2.0","id":1,"result":{},"result":{}}"#,
                "result",
            ),
            (
                r#"{"jsonrpc":"2.0","id":null,"error":{},"error":{}}"#,
                "error",
            ),
            // Members the gateway does not read, and what they hold.
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"ping","x":1,"y":2,"x":3}"#,
                "x",
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"ping","x":{"k":1,"k":2}}"#,
                "k",
            ),
            // Inside a batch, which is refused only once it is read as JSON.
            (r#"[{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}]"#, "id"),
        ] {
            assert_eq!(err(body), ErrorType::ParseError, "{body}");
            let message = message_of(body.as_bytes());
            assert!(
                message.contains(&format!("duplicate key \"{key}\"")),
                "{body}: {message}"
            );
        }
        // Keys that differ (case, escapes of other characters) are not duplicates.
        assert!(matches!(
            parse(
                br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":1,"A":2,"a\u0000":3}}"#
            ),
            Ok(Parsed::Message(_))
        ));
        // Sibling objects may reuse keys.
        assert!(matches!(
            parse(
                br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":{"a":1},"y":{"a":1}}}"#
            ),
            Ok(Parsed::Message(_))
        ));
    }

    #[test]
    fn the_strict_parser_builds_what_serde_json_builds() {
        for text in [
            r#"{"a":[1,-2,3.5,1e3,18446744073709551615,18446744073709551616,-9223372036854775808],"b":null,"c":true,"d":"\u00e9\ud83d\ude00\n","e":{},"f":[]}"#,
            r#"[{"z":1,"a":2},"x",0.1,-0]"#,
            "  \"s\"  ",
            "12",
        ] {
            let strict = from_slice_strict(text.as_bytes()).unwrap();
            let reference: Value = serde_json::from_str(text).unwrap();
            assert_eq!(strict, reference, "{text}");
            assert_eq!(
                strict.to_string(),
                reference.to_string(),
                "key order kept: {text}"
            );
        }
        // serde_json's `Value` turns its private raw-value key into the parsed string (when the
        // `raw_value` feature is on); the strict parser keeps it as the plain key it is.
        let raw = from_slice_strict(br#"{"$serde_json::private::RawValue":"[1]"}"#).unwrap();
        assert_eq!(raw["$serde_json::private::RawValue"], "[1]");
    }

    #[test]
    fn nesting_is_limited_without_overflowing_the_stack() {
        // The message is depth 1 and params depth 2: 125 arrays inside reach serde_json's 127.
        let nested = |depth: usize| {
            format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"x","params":{{"a":{}{}}}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            )
        };
        assert!(matches!(
            parse(nested(125).as_bytes()),
            Ok(Parsed::Message(_))
        ));
        assert_eq!(err(&nested(126)), ErrorType::ParseError);
        assert!(message_of(nested(126).as_bytes()).contains("recursion limit exceeded"));
        for body in [
            nested(10_000),
            format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000)),
            format!("{}{}", r#"{"a":"#.repeat(100_000), "}".repeat(100_000)),
            "[".repeat(100_000),
        ] {
            assert_eq!(err(&body), ErrorType::ParseError);
        }
    }

    #[test]
    fn bytes_that_are_not_json_text_are_parse_errors() {
        for body in [
            &b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\xffing\"}"[..],
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xc0\xafping\"}",
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xed\xa0\x80\"}",
            b"\xef\xbb\xbf{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
            br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"s":"\ud800"}}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"s":"\udc00x"}}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"ping"} {}"#,
            b"",
            b"  ",
            br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"n":1e400}}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"n":NaN}}"#,
        ] {
            assert!(
                matches!(parse(body), Err((Value::Null, f)) if f.kind == ErrorType::ParseError),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn ids_are_strings_or_integers_echoed_exactly() {
        for id in [
            r#""abc""#,
            r#""""#,
            "0",
            "-1",
            "9007199254740993",
            "18446744073709551615",
            "-9223372036854775808",
        ] {
            let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#);
            let Ok(Parsed::Message(m)) = parse(body.as_bytes()) else {
                panic!("{body}")
            };
            assert_eq!(m.reply_id().to_string(), id, "{body}");
        }
        for id in [
            "null",
            "true",
            "{}",
            "[]",
            "[1]",
            "1.5",
            "1.0",
            "1e3",
            "-0",
            "18446744073709551616",
            "-9223372036854775809",
        ] {
            let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#);
            assert!(
                matches!(parse(body.as_bytes()), Err((Value::Null, f)) if f.kind == ErrorType::InvalidRequest),
                "{body}"
            );
        }
    }
}
