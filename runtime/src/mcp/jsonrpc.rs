//! JSON-RPC 2.0 messages as MCP uses them: parsing a request body into one message with
//! precise errors (parse error, invalid request), and [`Json`], an answer as a tree or as the
//! text an upstream sent. Responses are built by the edge, from redacted values
//! (`enforce::dlp::Redacted`).
//!
//! The body is parsed strictly: an object with a duplicate key anywhere in the message is a
//! parse error. JSON parsers disagree on duplicates (first wins, last wins, error), and a
//! gateway that reads `{"method":"a","method":"b"}` differently from the server behind it
//! would authorize one request and let another through. serde_json's nesting limit (128) and
//! its refusal of invalid UTF-8 and lone surrogates apply unchanged.
//!
//! `params` is checked as strictly but kept as the text the client sent ([`Params`]): the
//! request path reads the few members it decides on from that text and forwards the rest as
//! text, so no tree is built, hashed and serialized again for a call it only passes on.

use crate::errors::{ErrorType, Failure};
use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::map::Entry;
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};
use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

/// One incoming message.
#[derive(Debug, Clone)]
pub struct Message {
    /// `None` for notifications; otherwise a string or an integer within 64 bits (never null,
    /// never a float).
    pub id: Option<Value>,
    pub method: String,
    pub params: Option<Params>,
}

impl Message {
    pub fn is_notification(&self) -> bool {
        self.id.is_none()
    }
    /// The id to answer with (`null` when the request could not be identified).
    pub fn reply_id(&self) -> Value {
        self.id.clone().unwrap_or(Value::Null)
    }
    /// A member of `params`, from its tree (built on first use).
    pub fn param(&self, key: &str) -> Option<&Value> {
        self.params.as_ref().and_then(|p| p.tree().get(key))
    }
    /// The texts of the named members of `params`, read without a tree (see [`members`]).
    pub fn raw_params<const N: usize>(&self, names: [&str; N]) -> [Option<&RawValue>; N] {
        match &self.params {
            Some(params) => members(params.text(), names),
            None => [None; N],
        }
    }
}

/// A request's `params`: a JSON object, checked strictly when the body was parsed (no
/// duplicate key at any depth, the body's nesting limit), kept as the text the client sent.
#[derive(Debug, Clone)]
pub struct Params {
    text: Box<RawValue>,
    tree: OnceLock<Map<String, Value>>,
}

impl Params {
    /// `text` must be a JSON object without duplicate keys (`parse` checked it).
    fn checked(text: Box<RawValue>) -> Self {
        Params {
            text,
            tree: OnceLock::new(),
        }
    }

    /// Params from a tree (tests build messages this way).
    #[cfg(test)]
    pub fn from_map(map: Map<String, Value>) -> Self {
        let text = serde_json::value::to_raw_value(&map).expect("a map serializes");
        Params {
            text,
            tree: OnceLock::from(map),
        }
    }

    /// The object as the client wrote it.
    pub fn text(&self) -> &RawValue {
        &self.text
    }

    /// The object as a tree, parsed once, on first use.
    pub fn tree(&self) -> &Map<String, Value> {
        self.tree
            .get_or_init(|| match from_slice_strict(self.text.get().as_bytes()) {
                Ok(Value::Object(map)) => map,
                // `parse` admitted only an object it had read strictly.
                _ => Map::new(),
            })
    }
}

/// The texts of the named members of a JSON object, in one pass over its top level without
/// building it; `None` for a member that is absent, and for all of them when `object` is not
/// an object. The object must have been checked for duplicate keys (each name is found once).
pub fn members<'a, const N: usize>(
    object: &'a RawValue,
    names: [&str; N],
) -> [Option<&'a RawValue>; N] {
    let mut deserializer = serde_json::Deserializer::from_str(object.get());
    // Anything but an object is a type error here: no member found.
    deserializer
        .deserialize_map(MembersVisitor { names })
        .unwrap_or([None; N])
}

struct MembersVisitor<'n, const N: usize> {
    names: [&'n str; N],
}

impl<'de, const N: usize> Visitor<'de> for MembersVisitor<'_, N> {
    type Value = [Option<&'de RawValue>; N];

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = [None; N];
        while let Some(Key(key)) = map.next_key()? {
            match self.names.iter().position(|name| *name == key) {
                Some(i) => found[i] = Some(map.next_value::<&'de RawValue>()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }
}

/// The string a JSON text holds, borrowed when it has no escapes; `None` for any other value.
pub fn text_of(value: &RawValue) -> Option<Cow<'_, str>> {
    let mut deserializer = serde_json::Deserializer::from_str(value.get());
    Key::deserialize(&mut deserializer)
        .ok()
        .map(|Key(text)| text)
}

/// Whether a JSON text is `null`.
pub fn is_null(value: &RawValue) -> bool {
    value.get() == "null"
}

/// Whether a JSON text is an object.
pub fn is_object(value: &RawValue) -> bool {
    value.get().starts_with('{')
}

/// A string read as a key, borrowed from the text when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v)))
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
/// `params` is the exception: its text is taken whole and checked by [`Checked`] afterwards.
#[derive(Default)]
struct Envelope<'de> {
    jsonrpc: Option<Value>,
    id: Option<Value>,
    method: Option<Value>,
    params: Option<&'de RawValue>,
    result: bool,
    error: bool,
}

/// What the body is at its top level.
// Returned once per request on the stack: boxing the envelope would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Body<'de> {
    Object(Envelope<'de>),
    /// A JSON array: a batch.
    Array,
    /// A string, number, boolean or null.
    Scalar,
}

impl<'de> Deserialize<'de> for Body<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BodyVisitor)
    }
}

/// How deep `params` may nest, counting its own object: serde_json refuses a 128th level, and
/// the body's object is the first.
const PARAMS_DEPTH: usize = 126;

/// serde_json's message for nesting past its limit.
const TOO_DEEP: &str = "recursion limit exceeded";

/// Walks a value as [`Strict`] reads it, refusing a duplicate key and nesting deeper than
/// `depth` levels, without building it.
#[derive(Clone, Copy)]
struct Checked {
    depth: usize,
}

impl Checked {
    fn deeper<E: de::Error>(self) -> Result<Checked, E> {
        match self.depth.checked_sub(1) {
            Some(depth) => Ok(Checked { depth }),
            None => Err(E::custom(TOO_DEEP)),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Checked {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Checked {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.deeper()?;
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.deeper()?;
        let mut seen = Seen::default();
        while let Some(Key(key)) = map.next_key()? {
            if let Err(key) = seen.insert(key) {
                return Err(duplicate(&key));
            }
            map.next_value_seed(inner)?;
        }
        Ok(())
    }
}

/// The keys of one object so far. Objects are small: a few keys are compared in a list, more
/// go into a set (DoS-resistant hashing), so a large object costs no more than linear time.
enum Seen<'k> {
    Few(Vec<Cow<'k, str>>),
    Many(std::collections::HashSet<Cow<'k, str>>),
}

impl Default for Seen<'_> {
    fn default() -> Self {
        // An empty `Vec` does not allocate: an empty object costs nothing.
        Seen::Few(Vec::new())
    }
}

impl<'k> Seen<'k> {
    const FEW: usize = 16;

    /// Adds a key; gives it back if the object had it already.
    fn insert(&mut self, key: Cow<'k, str>) -> Result<(), Cow<'k, str>> {
        match self {
            Seen::Few(keys) if keys.contains(&key) => return Err(key),
            Seen::Few(keys) if keys.len() < Self::FEW => keys.push(key),
            Seen::Few(keys) => {
                let mut set: std::collections::HashSet<_> = keys.drain(..).collect();
                set.insert(key);
                *self = Seen::Many(set);
            }
            Seen::Many(keys) if keys.contains(&key) => return Err(key),
            Seen::Many(keys) => {
                keys.insert(key);
            }
        }
        Ok(())
    }
}

/// Checks `params` (taken whole from `body`) as strictly as the rest of the body, with the
/// error's line and column counted in the body.
fn check_params(body: &[u8], params: &RawValue) -> Result<(), String> {
    let mut deserializer = serde_json::Deserializer::from_str(params.get());
    Checked {
        depth: PARAMS_DEPTH,
    }
    .deserialize(&mut deserializer)
    .map_err(|e| placed_in_body(&e, body, params.get()))
}

/// An error's message with the position serde_json gave it (in `part`, which `body` holds)
/// moved to where it is in `body`.
fn placed_in_body(error: &serde_json::Error, body: &[u8], part: &str) -> String {
    let message = error.to_string();
    if error.line() == 0 {
        return message;
    }
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let what = message.strip_suffix(&suffix).unwrap_or(&message);
    let offset = (part.as_ptr() as usize)
        .checked_sub(body.as_ptr() as usize)
        .filter(|offset| *offset <= body.len())
        .unwrap_or(0);
    let before = &body[..offset];
    let lines_before = before.iter().filter(|b| **b == b'\n').count();
    let (line, column) = if error.line() == 1 {
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        (lines_before + 1, offset - line_start + error.column())
    } else {
        (lines_before + error.line(), error.column())
    };
    // serde_json places its own nesting error on the bracket that opens the level too many;
    // `Checked` sees that level once the bracket is read.
    let column = if what == TOO_DEEP {
        column.saturating_sub(1)
    } else {
        column
    };
    format!("{what} at line {line} column {column}")
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
    type Value = Body<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Body<'de>, E> {
        Ok(Body::Scalar)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Body<'de>, E> {
        Ok(Body::Scalar)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Body<'de>, E> {
        Ok(Body::Scalar)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Body<'de>, E> {
        Ok(Body::Scalar)
    }
    fn visit_str<E>(self, _: &str) -> Result<Body<'de>, E> {
        Ok(Body::Scalar)
    }
    fn visit_unit<E>(self) -> Result<Body<'de>, E> {
        Ok(Body::Scalar)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Body<'de>, A::Error> {
        // Read whole, strictly: a batch that is not valid JSON is a parse error.
        while seq.next_element::<Strict>()?.is_some() {}
        Ok(Body::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Body<'de>, A::Error> {
        let mut envelope = Envelope::default();
        // Other members are rare; a set (DoS-resistant hashing) finds their duplicates.
        let mut others = std::collections::HashSet::new();
        while let Some(member) = map.next_key::<Member>()? {
            match member {
                Member::Jsonrpc => Self::member(&mut map, &mut envelope.jsonrpc, "jsonrpc")?,
                Member::Id => Self::member(&mut map, &mut envelope.id, "id")?,
                Member::Method => Self::member(&mut map, &mut envelope.method, "method")?,
                Member::Params => {
                    if envelope.params.is_some() {
                        return Err(duplicate("params"));
                    }
                    envelope.params = Some(map.next_value()?);
                }
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
    let parse_error = |message: String| {
        Err((
            Value::Null,
            Failure::new(
                ErrorType::ParseError,
                format!("the body is not valid JSON: {message}"),
            ),
        ))
    };
    let envelope = match read() {
        Ok(Body::Object(envelope)) => envelope,
        Ok(Body::Array) => {
            return not_an_object("a batch (JSON array); send one JSON-RPC message per request");
        }
        Ok(Body::Scalar) => return not_an_object("not a JSON-RPC object"),
        Err(e) => return parse_error(e.to_string()),
    };
    if let Some(params) = envelope.params
        && let Err(message) = check_params(body, params)
    {
        return parse_error(message);
    }
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
        None => None,
        Some(params) if is_null(params) => None,
        Some(params) if is_object(params) => Some(Params::checked(params.to_owned())),
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

    /// `params` is checked apart from the rest of the body: its errors must read as if the body
    /// had been parsed in one pass, position included.
    #[test]
    fn errors_in_params_read_as_the_whole_bodys() {
        let deep = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{{\"a\":{}{}}}}}",
            "[".repeat(126),
            "]".repeat(126)
        );
        for body in [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"rm"}}"#,
            "{\"jsonrpc\":\"2.0\",\n \"id\":1,\n \"method\":\"x\", \"params\": {\"a\":\n[{\"b\":1,\n \"b\":2}]}}",
            "{\"params\":\n  {\"k\":{\"x\":1,\"x\":2}}, \"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"}",
            r#"{"jsonrpc":"2.0","id":1,"method":"x","params":{"s":"\ud800"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"x","params":{"n":1e400}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12,"m":13,"n":14,"o":15,"p":16,"q":17,"r":18,"a":19}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12,"m":13,"n":14,"o":15,"p":16,"q":17,"r":18,"r":19}}"#,
            &deep,
        ] {
            let reference = from_slice_strict(body.as_bytes()).unwrap_err();
            assert_eq!(
                message_of(body.as_bytes()),
                format!("the body is not valid JSON: {reference}"),
                "{body}"
            );
        }
    }

    #[test]
    fn members_are_read_from_the_text() {
        let Ok(Parsed::Message(m)) = parse(
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"n\u0061me":"ec\"ho","arguments": {"uri":"mcp://a", "x":[1,{"y":2}]},"_meta":7}}"#,
        ) else {
            panic!()
        };
        let [name, arguments, meta, missing] = m.raw_params(["name", "arguments", "_meta", "uri"]);
        assert_eq!(text_of(name.unwrap()).as_deref(), Some("ec\"ho"));
        let arguments = arguments.unwrap();
        assert_eq!(arguments.get(), r#"{"uri":"mcp://a", "x":[1,{"y":2}]}"#);
        assert!(is_object(arguments));
        assert_eq!(meta.unwrap().get(), "7");
        assert!(missing.is_none());
        let [uri, x] = members(arguments, ["uri", "x"]);
        assert_eq!(text_of(uri.unwrap()).as_deref(), Some("mcp://a"));
        assert_eq!(text_of(x.unwrap()), None);
        assert!(members(meta.unwrap(), ["a"])[0].is_none());
        // The tree, when asked for, is the strict parser's.
        let params = m.params.as_ref().unwrap();
        assert_eq!(
            Value::Object(params.tree().clone()),
            from_slice_strict(params.text().get().as_bytes()).unwrap()
        );
        assert_eq!(m.param("_meta"), Some(&Value::from(7)));
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
