//! The attack corpus of `POST /mcp`: hostile JSON-RPC messages and hostile HTTP, as data.
//!
//! Each corpus is a table of cases — a name, what is sent, what must come back — so a new attack
//! is one line (the tables are `#[rustfmt::skip]` to keep it so). A refusal must carry the exact
//! HTTP status and `error.data.error_type`, and its `error.data.correlation_id` must equal the
//! `x-request-id` header (the error contract of `runtime/src/errors.rs`); an answer must be a
//! JSON-RPC result or a bare 202. Every assertion names its case.
//!
//! - **JSON text** (`json_text_corpus`): invalid UTF-8, a byte-order mark, UTF-16, lone surrogate
//!   escapes, control characters, trailing data, non-JSON literals, and nesting far beyond
//!   serde_json's limit of 128 (a clean 400 `parse_error`, never a stack overflow); nesting just
//!   under it is served.
//! - **Duplicate keys** (`duplicate_keys_corpus`): any object with a repeated key, anywhere in the
//!   message, is a 400 `parse_error` saying `duplicate key "<key>"`, so the gateway can never
//!   read a message differently from the server behind it (last wins, first wins). None of them
//!   reaches the upstream.
//! - **Message shape** (`message_shape_corpus`): batches (refused: MCP removed them), non-object
//!   bodies, wrong `jsonrpc`, `method` and `params`, notifications (202, no body; a refused
//!   notification gets a 4xx, never 200) and client responses.
//! - **Ids** (`id_corpus`): strings and integers within 64 bits are echoed exactly; null,
//!   booleans, objects, arrays and numbers serde_json can only read as floats (fractions,
//!   exponents, `-0`, beyond 64 bits) are 400 `invalid_request` with a null id.
//! - **Large inputs** (`large_inputs_are_answered`): a 50,000-element array, 10,000 keys, a
//!   140 KiB result to redact — all within the 256 KiB body limit, all answered promptly.
//! - **Headers** (`header_corpus`): `Content-Type` (415), `Accept` (406), `Origin` (403
//!   `origin_not_allowed`: `null`, look-alikes, repeated or unreadable origins), session ids
//!   (404) and protocol versions (400), including values with bytes beyond ASCII.
//! - **Methods** (`methods_on_the_endpoint`): everything but POST and DELETE is a 405
//!   `method_not_allowed` with `Allow: POST, DELETE`.
//! - **Transport** (`transport_corpus`, raw TCP): lying or malformed `Content-Length`,
//!   `Transfer-Encoding`, malformed chunks, invalid header bytes, huge and numerous headers.
//!   What hyper's parser refuses never reaches a handler; its answers are rewritten into the
//!   error contract on the way out (400 `malformed_http`, 431 `headers_too_large`).
//! - **Slow bodies** (`slow_bodies_time_out`): stalled or trickled bodies get 408 `read_timeout`
//!   after `server.timeouts.read`.
//! - **Slow heads and idle connections** (`slow_heads_and_idle_connections_time_out`): a head
//!   stalled or trickled gets 408 `read_timeout` at `server.timeouts.read` from its first byte;
//!   a connection with no request in progress closes at `server.timeouts.idle`.
//! - **Sessions** (`concurrent_sessions`): 200 parallel `initialize` calls each get a session of
//!   their own; forged, foreign, deleted and altered session ids get 404 `session_not_found`.
//! - **Concurrency** (`the_concurrency_limit_answers_503`): beyond
//!   `server.maxConcurrentRequests` the gateway answers 503 `overloaded` at once.
//!
//! The JWT corpus lives in `tests/auth.rs`, the path-traversal corpus in `tests/roots.rs`.

mod common;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use common::{Harness, assert_error, start};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The corpus sends hundreds of requests from one token and one address.
const LIMITS: &str =
    "rateLimiting: {perToken: 10000/s, burst: 100000, failedAuth: {maxAttempts: 1000}}\n";

/// What a case must get back.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// 200 with a JSON-RPC `result`.
    Result,
    /// 202 with no body: a notification or a client's response, accepted.
    Accepted,
    /// Refused by the gateway: status and `error_type`, in the error contract.
    Error(u16, &'static str),
}

const RESULT: Expect = Expect::Result;
const PARSE: Expect = Expect::Error(400, "parse_error");
const INVALID: Expect = Expect::Error(400, "invalid_request");
const MALFORMED: Expect = Expect::Error(400, "malformed_http");
const TOO_LARGE: Expect = Expect::Error(431, "headers_too_large");

type Response = (u16, HeaderMap, Value);

/// Asserts a case's response, naming the case in every message.
fn check(case: &str, response: &Response, expect: Expect) {
    let (status, headers, body) = response;
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok());
    match expect {
        Expect::Accepted => {
            assert_eq!(
                (*status, body),
                (202, &Value::Null),
                "{case}: accepted, no body"
            );
        }
        Expect::Result => {
            assert_eq!(*status, 200, "{case}: status ({body})");
            assert!(
                body.get("result").is_some() && body.get("error").is_none(),
                "{case}: a JSON-RPC result, got {body}"
            );
        }
        Expect::Error(want, error_type) => {
            assert_eq!(
                (*status, body["error"]["data"]["error_type"].as_str()),
                (want, Some(error_type)),
                "{case}: status and error_type ({body})"
            );
            assert_eq!(body["jsonrpc"], "2.0", "{case}: a JSON-RPC error ({body})");
            assert!(body["error"]["code"].is_i64(), "{case}: a code ({body})");
            assert_eq!(
                body["error"]["data"]["correlation_id"].as_str(),
                request_id,
                "{case}: the correlation id is the x-request-id"
            );
        }
    }
    assert!(
        request_id.is_some(),
        "{case}: x-request-id ({status} {body})"
    );
}

/// A JSON-RPC request body.
fn request(id: &str, method: &str, params: &str) -> Vec<u8> {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{params}}}"#).into_bytes()
}

/// `ping` (answered by the gateway itself) with these params.
fn ping(params: &str) -> Vec<u8> {
    request("1", "ping", params)
}

fn bytes(text: impl AsRef<[u8]>) -> Vec<u8> {
    text.as_ref().to_vec()
}

/// `depth` arrays nested in each other around `1`.
fn arrays(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

/// A change to the default request headers (bearer token, JSON content type and accept).
#[derive(Clone, Copy)]
enum H {
    /// Replace the header.
    Set(&'static str, &'static [u8]),
    /// Add one more value.
    Add(&'static str, &'static [u8]),
    /// Send no such header.
    Drop(&'static str),
}

const fn set(name: &'static str, value: &'static str) -> H {
    H::Set(name, value.as_bytes())
}

async fn send(h: &Harness, token: &str, method: Method, body: Vec<u8>, changes: &[H]) -> Response {
    let mut headers = HeaderMap::new();
    let bearer = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
    headers.insert("authorization", bearer);
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    let accept = HeaderValue::from_static("application/json, text/event-stream");
    headers.insert("accept", accept);
    for change in changes {
        match *change {
            H::Set(name, value) => {
                headers.insert(name, HeaderValue::from_bytes(value).unwrap());
            }
            H::Add(name, value) => {
                headers.append(name, HeaderValue::from_bytes(value).unwrap());
            }
            H::Drop(name) => {
                headers.remove(name);
            }
        }
    }
    let url = format!("{}/mcp", h.gateway);
    let request = h.client.request(method, url).headers(headers).body(body);
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.unwrap();
    (status, headers, json_or_text(&body))
}

fn json_or_text(body: &[u8]) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into()))
}

/// POSTs a raw body with the default headers.
async fn post(h: &Harness, token: &str, body: Vec<u8>) -> Response {
    send(h, token, Method::POST, body, &[]).await
}

async fn assert_alive(h: &Harness) {
    let live = h.client.get(format!("{}/live", h.gateway)).send().await;
    assert_eq!(live.unwrap().status(), 200, "the gateway is still up");
}

#[tokio::test]
async fn json_text_corpus() {
    let h = start(LIMITS).await;
    let token = h.user();
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        ("invalid UTF-8 byte in a string", bytes(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\xffing\"}"), PARSE),
        ("overlong UTF-8 encoding of '/'", bytes(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xc0\xafping\"}"), PARSE),
        ("UTF-8-encoded surrogate (CESU-8)", bytes(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"s\":\"\xed\xa0\x80\"}}"), PARSE),
        ("truncated UTF-8 sequence", bytes(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"s\":\"\xe2\x82\"}}"), PARSE),
        ("invalid UTF-8 between tokens", bytes(b"{\"jsonrpc\":\"2.0\",\xff\"id\":1,\"method\":\"ping\"}"), PARSE),
        ("UTF-8 byte-order mark before the object", [&b"\xef\xbb\xbf"[..], &ping("{}")].concat(), PARSE),
        ("UTF-16 body", r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#.encode_utf16().flat_map(u16::to_le_bytes).collect(), PARSE),
        ("lone high surrogate escape", ping(r#"{"s":"\ud800"}"#), PARSE),
        ("lone low surrogate escape", ping(r#"{"s":"\udc00"}"#), PARSE),
        ("high surrogate then a non-surrogate escape", ping(r#"{"s":"\ud800\u0041"}"#), PARSE),
        ("lone surrogate escape in a key", ping(r#"{"\ud800":1}"#), PARSE),
        ("lone surrogate escape in the method", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"ping\udfff"}"#), PARSE),
        ("surrogate pair escape (valid)", ping(r#"{"s":"\ud83d\ude00"}"#), RESULT),
        ("NUL escape in a string (valid)", ping(r#"{"s":"a\u0000b"}"#), RESULT),
        ("raw control character in a string", bytes(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"s\":\"a\x01b\"}}"), PARSE),
        ("raw NUL byte in a string", bytes(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"s\":\"a\x00b\"}}"), PARSE),
        ("invalid escape", ping(r#"{"s":"\x41"}"#), PARSE),
        ("empty body", bytes(""), PARSE),
        ("whitespace only", bytes(" \r\n\t"), PARSE),
        ("trailing garbage", [ping("{}"), bytes(" x")].concat(), PARSE),
        ("two messages concatenated", [ping("{}"), ping("{}")].concat(), PARSE),
        ("trailing whitespace (valid)", [ping("{}"), bytes(" \r\n")].concat(), RESULT),
        ("truncated object", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"ping""#), PARSE),
        ("single-quoted strings", bytes("{'jsonrpc':'2.0','id':1,'method':'ping'}"), PARSE),
        ("a comment", bytes(r#"{"jsonrpc":"2.0",/* hi */"id":1,"method":"ping"}"#), PARSE),
        ("trailing comma", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"ping",}"#), PARSE),
        ("unquoted key", bytes(r#"{jsonrpc:"2.0","id":1,"method":"ping"}"#), PARSE),
        ("NaN", ping(r#"{"n":NaN}"#), PARSE),
        ("Infinity", ping(r#"{"n":-Infinity}"#), PARSE),
        ("number out of range", ping(r#"{"n":1e400}"#), PARSE),
        ("leading zeros", ping(r#"{"n":007}"#), PARSE),
        ("10,000 nested arrays in params", ping(&format!(r#"{{"a":{}}}"#, arrays(10_000))), PARSE),
        ("10,000 nested objects in params", ping(&format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000))), PARSE),
        ("100,000 unclosed arrays", bytes("[".repeat(100_000)), PARSE),
        ("50,000 unclosed objects", bytes(r#"{"a":"#.repeat(50_000)), PARSE),
        ("nesting at serde_json's limit (127 levels)", ping(&format!(r#"{{"a":{}}}"#, arrays(125))), RESULT),
        ("nesting one level beyond the limit", ping(&format!(r#"{{"a":{}}}"#, arrays(126))), PARSE),
    ];
    for (name, body, expect) in cases {
        check(name, &post(&h, &token, body).await, expect);
    }
    assert!(h.seen.lock().unwrap().calls.is_empty());
    assert_alive(&h).await;
}

#[tokio::test]
async fn duplicate_keys_corpus() {
    let h = start(LIMITS).await;
    let token = h.user();
    let call = |params: &str| request("1", "tools/call", params);
    let many_keys: String = (0..1000).map(|i| format!("\"k{i}\":{i},")).collect();
    // (case, body, the key the error names)
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("two methods", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call"}"#), "method"),
        ("two ids", bytes(r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}"#), "id"),
        ("two jsonrpc members", bytes(r#"{"jsonrpc":"1.0","jsonrpc":"2.0","id":1,"method":"ping"}"#), "jsonrpc"),
        ("two params", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"denied_tool"},"params":{"name":"echo"}}"#), "params"),
        ("two tool names, the denied one first", call(r#"{"name":"denied_tool","name":"echo","arguments":{}}"#), "name"),
        ("two tool names, the denied one last", call(r#"{"name":"echo","name":"denied_tool","arguments":{}}"#), "name"),
        ("two arguments objects", call(r#"{"name":"echo","arguments":{"text":"a"},"arguments":{"text":"b"}}"#), "arguments"),
        ("a key twice inside arguments", call(r#"{"name":"echo","arguments":{"text":"a","text":"b"}}"#), "text"),
        ("a key twice in an object inside an array", call(r#"{"name":"echo","arguments":{"list":[{},{"k":1,"k":2}]}}"#), "k"),
        ("a key twice in _meta", call(r#"{"name":"echo","arguments":{},"_meta":{"progressToken":1,"progressToken":2}}"#), "progressToken"),
        ("the same key through an escape", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"ping","\u006dethod":"tools/list"}"#), "method"),
        ("the same key through a surrogate pair", ping(r#"{"😀":1,"\ud83d\ude00":2}"#), "😀"),
        ("the empty key twice", ping(r#"{"":1,"":2}"#), ""),
        ("a duplicate after 1,000 distinct keys", ping(&format!(r#"{{{many_keys}"k0":0}}"#)), "k0"),
        ("a notification with two methods", bytes(r#"{"jsonrpc":"2.0","method":"notifications/initialized","method":"tools/list"}"#), "method"),
        ("a client response with two results", bytes(r#"{"jsonrpc":"2.0","id":1,"result":{},"result":{}}"#), "result"),
        ("a batch element with a duplicate", bytes(r#"[{"jsonrpc":"2.0","id":1,"method":"ping","method":"x"}]"#), "method"),
    ];
    for (name, body, key) in cases {
        let response = post(&h, &token, body).await;
        check(name, &response, PARSE);
        let message = response.2["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("duplicate key {key:?}")),
            "{name}: the message names the key: {message}"
        );
    }
    #[rustfmt::skip]
    let distinct: Vec<(&str, Vec<u8>)> = vec![
        ("keys differing in case", ping(r#"{"a":1,"A":2}"#)),
        ("the same key in sibling objects", ping(r#"{"x":{"a":1},"y":{"a":1}}"#)),
        ("the same key at different depths", ping(r#"{"a":{"a":{"a":1}}}"#)),
    ];
    for (name, body) in distinct {
        check(name, &post(&h, &token, body).await, RESULT);
    }
    assert!(
        h.seen.lock().unwrap().calls.is_empty(),
        "no message with a duplicate key reaches the upstream"
    );
}

#[tokio::test]
async fn message_shape_corpus() {
    let h = start(LIMITS).await;
    let token = h.user();
    let one = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    let thousand = vec![one; 1000].join(",");
    let not_found = Expect::Error(200, "method_not_found");
    let bad_params = Expect::Error(200, "invalid_params");
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        ("empty batch", bytes("[]"), INVALID),
        ("batch of one", bytes(format!("[{one}]")), INVALID),
        ("batch of 1,000", bytes(format!("[{thousand}]")), INVALID),
        ("batch of notifications", bytes(r#"[{"jsonrpc":"2.0","method":"notifications/initialized"}]"#), INVALID),
        ("batch of junk", bytes("[1,2,3]"), INVALID),
        ("a number", bytes("1"), INVALID),
        ("a string", bytes(r#""ping""#), INVALID),
        ("null", bytes("null"), INVALID),
        ("true", bytes("true"), INVALID),
        ("an empty object", bytes("{}"), INVALID),
        ("jsonrpc 1.0", bytes(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#), INVALID),
        ("jsonrpc the number 2", bytes(r#"{"jsonrpc":2,"id":1,"method":"ping"}"#), INVALID),
        ("jsonrpc the number 2.0", bytes(r#"{"jsonrpc":2.0,"id":1,"method":"ping"}"#), INVALID),
        ("jsonrpc with a trailing space", bytes(r#"{"jsonrpc":"2.0 ","id":1,"method":"ping"}"#), INVALID),
        ("jsonrpc null", bytes(r#"{"jsonrpc":null,"id":1,"method":"ping"}"#), INVALID),
        ("jsonrpc missing", bytes(r#"{"id":1,"method":"ping"}"#), INVALID),
        ("method a number", bytes(r#"{"jsonrpc":"2.0","id":1,"method":1}"#), INVALID),
        ("method null", bytes(r#"{"jsonrpc":"2.0","id":1,"method":null}"#), INVALID),
        ("method empty", bytes(r#"{"jsonrpc":"2.0","id":1,"method":""}"#), INVALID),
        ("method an array", bytes(r#"{"jsonrpc":"2.0","id":1,"method":["ping"]}"#), INVALID),
        ("method an object", bytes(r#"{"jsonrpc":"2.0","id":1,"method":{"name":"ping"}}"#), INVALID),
        ("method missing", bytes(r#"{"jsonrpc":"2.0","id":1}"#), INVALID),
        ("method unknown", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"no/such"}"#), not_found),
        ("params an array", ping("[]"), bad_params),
        ("params by position", request("1", "tools/call", r#"["echo",{"text":"x"}]"#), bad_params),
        ("params a string", ping(r#""x""#), bad_params),
        ("params a number", ping("1"), bad_params),
        ("params false", ping("false"), bad_params),
        ("params null (as if absent)", ping("null"), RESULT),
        ("params empty", ping("{}"), RESULT),
        ("an extra top-level member", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"ping","extra":true}"#), RESULT),
        ("notification", bytes(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#), Expect::Accepted),
        ("notification of a request method (not dispatched)", bytes(r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"echo"}}"#), Expect::Accepted),
        ("notification of an unknown method", bytes(r#"{"jsonrpc":"2.0","method":"no/such"}"#), Expect::Accepted),
        ("notification with params an array", bytes(r#"{"jsonrpc":"2.0","method":"notifications/initialized","params":[]}"#), Expect::Error(400, "invalid_params")),
        ("notification with jsonrpc 1.0", bytes(r#"{"jsonrpc":"1.0","method":"notifications/initialized"}"#), INVALID),
        ("notification with method a number", bytes(r#"{"jsonrpc":"2.0","method":7}"#), INVALID),
        ("client response with a result", bytes(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#), Expect::Accepted),
        ("client response with an error", bytes(r#"{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"no"}}"#), Expect::Accepted),
        ("client error response to an unreadable request (id null)", bytes(r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}"#), Expect::Accepted),
        ("client response without jsonrpc", bytes(r#"{"id":1,"result":{}}"#), INVALID),
        ("client response with a fractional id", bytes(r#"{"jsonrpc":"2.0","id":1.5,"result":{}}"#), INVALID),
    ];
    for (name, body, expect) in cases {
        check(name, &post(&h, &token, body).await, expect);
    }
    assert!(
        h.seen.lock().unwrap().calls.is_empty(),
        "notifications are not forwarded"
    );
}

#[tokio::test]
async fn id_corpus() {
    let h = start(LIMITS).await;
    let token = h.user();
    // (case, the id as written, answered?): an answered id is echoed exactly; a refused one gets
    // 400 invalid_request with a null id.
    #[rustfmt::skip]
    let cases: &[(&str, &str, bool)] = &[
        ("string", r#""abc""#, true),
        ("empty string", r#""""#, true),
        ("string with escapes", r#""\u00e9\n\"""#, true),
        ("integer", "1", true),
        ("zero", "0", true),
        ("negative", "-1", true),
        ("above 2^53", "9007199254740993", true),
        ("u64::MAX", "18446744073709551615", true),
        ("i64::MIN", "-9223372036854775808", true),
        ("beyond u64", "18446744073709551616", false),
        ("below i64", "-9223372036854775809", false),
        ("fractional", "1.5", false),
        ("integral with a fraction", "1.0", false),
        ("exponent", "1e3", false),
        ("negative exponent", "100e-2", false),
        ("negative zero", "-0", false),
        ("null", "null", false),
        ("true", "true", false),
        ("false", "false", false),
        ("empty object", "{}", false),
        ("object", r#"{"id":1}"#, false),
        ("empty array", "[]", false),
        ("array", "[1]", false),
    ];
    for &(name, id, answered) in cases {
        let response = post(&h, &token, request(id, "ping", "{}")).await;
        let case = format!("id {name} ({id})");
        if answered {
            check(&case, &response, RESULT);
            let sent: Value = serde_json::from_str(id).unwrap();
            assert_eq!(response.2["id"], sent, "{case}: echoed exactly");
        } else {
            check(&case, &response, INVALID);
            assert_eq!(
                response.2["id"],
                Value::Null,
                "{case}: the reply id is null"
            );
        }
    }
    let notification = bytes(r#"{"jsonrpc":"2.0","method":"ping"}"#);
    let response = post(&h, &token, notification).await;
    check("id missing (a notification)", &response, Expect::Accepted);
}

#[tokio::test]
async fn large_inputs_are_answered() {
    let h = start(LIMITS).await;
    let token = h.user();
    let echo = |arguments: String| {
        let params = format!(r#"{{"name":"echo","arguments":{arguments}}}"#);
        request("1", "tools/call", &params)
    };
    let zeros = vec!["0"; 50_000].join(",");
    let strings = vec![r#""ab""#; 40_000].join(",");
    let keys: String = (0..10_000).map(|i| format!("\"k{i}\":{i},")).collect();
    let emails = "a@example.com ".repeat(10_000);
    let redacted = "[redacted-email] ".repeat(10_000);
    // (case, body, the text echoed back)
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("50,000-element array in arguments", echo(format!(r#"{{"text":"big","list":[{zeros}]}}"#)), "big"),
        ("40,000 strings in arguments", echo(format!(r#"{{"text":"many","list":[{strings}]}}"#)), "many"),
        ("10,000 keys in arguments", echo(format!(r#"{{{keys}"text":"keys"}}"#)), "keys"),
        ("100 nested arrays in arguments", echo(format!(r#"{{"text":"deep","a":{}}}"#, arrays(100))), "deep"),
        ("a 140 KiB result to redact", echo(format!(r#"{{"text":"{emails}"}}"#)), &redacted),
    ];
    for (name, body, text) in cases {
        assert!(body.len() < 256 * 1024, "{name}: within the body limit");
        let started = Instant::now();
        let response = post(&h, &token, body).await;
        check(name, &response, RESULT);
        let echoed = response.2["result"]["content"][0]["text"].as_str();
        assert_eq!(echoed, Some(text), "{name}: the echoed text");
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(20),
            "{name}: answered in {took:?}"
        );
    }
}

#[tokio::test]
async fn header_corpus() {
    let origins = "server:\n  allowedOrigins: [https://app.example.com]\n  publicBaseUrl: https://mcp.example.com\n";
    let h = start(&format!("{LIMITS}{origins}")).await;
    let token = h.user();
    let media = Expect::Error(415, "unsupported_media_type");
    let accept = Expect::Error(406, "not_acceptable");
    let origin = Expect::Error(403, "origin_not_allowed");
    let session = Expect::Error(404, "session_not_found");
    let version = Expect::Error(400, "unsupported_protocol_version");
    #[rustfmt::skip]
    let cases: &[(&str, &[H], Expect)] = &[
        ("Content-Type text/plain", &[set("content-type", "text/plain")], media),
        ("no Content-Type", &[H::Drop("content-type")], media),
        ("Content-Type of a form (CSRF without preflight)", &[set("content-type", "application/x-www-form-urlencoded")], media),
        ("Content-Type multipart", &[set("content-type", "multipart/form-data; boundary=x")], media),
        ("Content-Type application/jsonp", &[set("content-type", "application/jsonp")], media),
        ("Content-Type application/json-patch+json", &[set("content-type", "application/json-patch+json")], media),
        ("Content-Type text/json", &[set("content-type", "text/json")], media),
        ("Content-Type with bytes beyond ASCII", &[H::Set("content-type", b"application/json\xff")], media),
        ("Content-Type with a charset", &[set("content-type", "application/json; charset=utf-8")], RESULT),
        ("Content-Type in capitals", &[set("content-type", "Application/JSON")], RESULT),
        ("Accept text/html", &[set("accept", "text/html")], accept),
        ("Accept application/xml", &[set("accept", "application/xml")], accept),
        ("Accept image/*", &[set("accept", "image/*")], accept),
        ("Accept with bytes beyond ASCII", &[H::Set("accept", b"application/json\xff")], accept),
        ("no Accept", &[H::Drop("accept")], RESULT),
        ("Accept */*", &[set("accept", "*/*")], RESULT),
        ("Accept application/json", &[set("accept", "application/json")], RESULT),
        ("Accept text/event-stream", &[set("accept", "text/event-stream")], RESULT),
        ("Accept application/*", &[set("accept", "application/*")], RESULT),
        ("Accept of a type that only starts like JSON", &[set("accept", "application/jsonx")], accept),
        ("Accept refusing JSON with q=0", &[set("accept", "application/json;q=0, text/html")], accept),
        ("Content-Type with a charset that is not UTF-8", &[set("content-type", "application/json; charset=latin-1")], media),
        ("Content-Encoding gzip", &[set("content-encoding", "gzip")], media),
        ("Transfer-Encoding other than chunked", &[set("transfer-encoding", "gzip, chunked")], Expect::Error(400, "malformed_http")),
        ("no Origin", &[], RESULT),
        ("allowed Origin", &[set("origin", "https://app.example.com")], RESULT),
        ("allowed Origin with a trailing slash", &[set("origin", "https://app.example.com/")], RESULT),
        ("the public base URL's origin", &[set("origin", "https://mcp.example.com")], RESULT),
        ("Origin null", &[set("origin", "null")], origin),
        ("foreign Origin", &[set("origin", "https://evil.example.com")], origin),
        ("look-alike Origin (suffix)", &[set("origin", "https://app.example.com.evil.com")], origin),
        ("look-alike Origin (userinfo)", &[set("origin", "https://app.example.com@evil.com")], origin),
        ("allowed host over http", &[set("origin", "http://app.example.com")], origin),
        ("allowed host on another port", &[set("origin", "https://app.example.com:8443")], origin),
        ("Origin with a path", &[set("origin", "https://app.example.com/app")], origin),
        ("empty Origin", &[set("origin", "")], origin),
        ("Origin with bytes beyond ASCII", &[H::Set("origin", b"https://app.example.com\xff")], origin),
        ("two Origins, allowed then foreign", &[set("origin", "https://app.example.com"), H::Add("origin", b"https://evil.example.com")], origin),
        ("two Origins, foreign then allowed", &[set("origin", "https://evil.example.com"), H::Add("origin", b"https://app.example.com")], origin),
        ("a foreign Origin is refused before a wrong Content-Type", &[set("origin", "https://evil.example.com"), set("content-type", "text/plain")], origin),
        ("unknown session id", &[set("mcp-session-id", "0123456789abcdef0123456789abcdef")], session),
        ("empty session id", &[set("mcp-session-id", "")], session),
        ("session id with bytes beyond ASCII", &[H::Set("mcp-session-id", b"abc\xff")], session),
        ("8 KiB session id", &[H::Set("mcp-session-id", &[b'a'; 8 * 1024])], session),
        ("a known protocol version", &[set("mcp-protocol-version", "2025-06-18")], RESULT),
        ("an unknown protocol version", &[set("mcp-protocol-version", "1999-01-01")], version),
        ("an empty protocol version", &[set("mcp-protocol-version", "")], version),
        ("a protocol version with bytes beyond ASCII", &[H::Set("mcp-protocol-version", b"2025-06-18\xff")], version),
        ("two protocol versions", &[set("mcp-protocol-version", "2025-06-18"), H::Add("mcp-protocol-version", b"2025-03-26")], Expect::Error(400, "header_mismatch")),
        ("a 64 KiB header the gateway ignores", &[H::Set("x-filler", &[b'a'; 64 * 1024])], RESULT),
    ];
    let list = bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#);
    for &(name, changes, expect) in cases {
        let response = send(&h, &token, Method::POST, list.clone(), changes).await;
        check(name, &response, expect);
    }
    cors(&h, &token, list).await;
}

/// Browsers on an allowed origin get their preflight answered and may read the answers; other
/// origins get neither.
async fn cors(h: &Harness, token: &str, list: Vec<u8>) {
    let allowed = set("origin", "https://app.example.com");
    let foreign = set("origin", "https://evil.example.com");
    let answer = send(h, token, Method::POST, list.clone(), &[allowed]).await;
    assert_eq!(
        answer.1["access-control-allow-origin"],
        "https://app.example.com"
    );
    let exposed = answer.1["access-control-expose-headers"].to_str().unwrap();
    assert!(exposed.contains("mcp-session-id") && exposed.contains("www-authenticate"));
    let refused = send(h, token, Method::POST, list, &[foreign]).await;
    assert!(!refused.1.contains_key("access-control-allow-origin"));
    let asks = set("access-control-request-method", "POST");
    let preflight = send(h, token, Method::OPTIONS, Vec::new(), &[allowed, asks]).await;
    assert_eq!(preflight.0, 204, "{:?}", preflight.2);
    assert_eq!(
        preflight.1["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert_eq!(preflight.1["access-control-allow-methods"], "POST, DELETE");
    let headers = preflight.1["access-control-allow-headers"]
        .to_str()
        .unwrap();
    for name in [
        "authorization",
        "content-type",
        "mcp-session-id",
        "mcp-protocol-version",
    ] {
        assert!(headers.contains(name), "{name} in {headers}");
    }
    let foreign_preflight = send(h, token, Method::OPTIONS, Vec::new(), &[foreign, asks]).await;
    check(
        "a foreign origin's preflight",
        &foreign_preflight,
        Expect::Error(403, "origin_not_allowed"),
    );
    assert!(
        !foreign_preflight
            .1
            .contains_key("access-control-allow-origin")
    );
}

#[tokio::test]
async fn methods_on_the_endpoint() {
    let h = start(LIMITS).await;
    let token = h.user();
    let not_allowed = Expect::Error(405, "method_not_allowed");
    let no_session = Expect::Error(404, "session_not_found");
    let no_token: &[H] = &[H::Drop("authorization")];
    #[rustfmt::skip]
    let cases: &[(&str, Method, &[H], Expect)] = &[
        ("GET opens no stream", Method::GET, &[], not_allowed),
        ("GET without a token", Method::GET, no_token, not_allowed),
        ("PUT", Method::PUT, &[], not_allowed),
        ("PATCH", Method::PATCH, &[], not_allowed),
        ("OPTIONS", Method::OPTIONS, &[], not_allowed),
        ("a made-up method", Method::from_bytes(b"BREW").unwrap(), &[], not_allowed),
        ("DELETE without a session", Method::DELETE, &[], Expect::Error(400, "invalid_request")),
        ("DELETE of a forged session", Method::DELETE, &[set("mcp-session-id", "forged")], no_session),
        ("DELETE without a token", Method::DELETE, no_token, Expect::Error(401, "missing_token")),
    ];
    for (name, method, changes, expect) in cases {
        let response = send(&h, &token, method.clone(), Vec::new(), changes).await;
        check(name, &response, *expect);
        if matches!(expect, Expect::Error(405, _)) {
            assert_eq!(response.1["allow"], "POST, DELETE", "{name}: Allow");
        }
    }
    let head = send(&h, &token, Method::HEAD, Vec::new(), &[]).await;
    assert_eq!(
        (head.0, head.1.contains_key("x-request-id"), &head.2),
        (405, true, &Value::Null),
        "HEAD: 405 with a request id and, as HEAD demands, no body"
    );
}

/// What a raw client writes: pieces of a request, each after a pause.
type Pieces = Vec<(Duration, Vec<u8>)>;

/// One raw HTTP/1.1 exchange on a fresh connection: writes `pieces`, each after its pause,
/// keeps the connection open for writing, and reads one response (`None`: none within 10 s).
async fn raw(h: &Harness, pieces: Pieces) -> Option<Response> {
    let address = h.gateway.trim_start_matches("http://");
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        for (pause, piece) in pieces {
            tokio::time::sleep(pause).await;
            if writer.write_all(&piece).await.is_err() {
                break;
            }
        }
        // Dropping the write half would half-close the connection: an end of the body.
        std::future::pending::<()>().await;
        drop(writer);
    });
    let reading = read_response(&mut reader);
    let response = tokio::time::timeout(Duration::from_secs(10), reading).await;
    writing.abort();
    response.ok().flatten()
}

/// Reads one HTTP/1.1 response (its body by `Content-Length`, which every answer here has).
async fn read_response(reader: &mut (impl AsyncReadExt + Unpin)) -> Option<Response> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = reader.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let name = HeaderName::from_bytes(name.trim().as_bytes()).ok()?;
        headers.append(name, HeaderValue::from_str(value.trim()).ok()?);
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let n = reader.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((status, headers, json_or_text(&body)))
}

/// A raw `POST /mcp` head with a token, the JSON media types and `extra` header lines.
fn head(token: &str, extra: &str) -> String {
    format!(
        "POST /mcp HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nAccept: application/json\r\nConnection: close\r\n\
         {extra}\r\n"
    )
}

#[tokio::test]
async fn transport_corpus() {
    let h = start(LIMITS).await;
    let token = h.user();
    let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let n = list.len();
    let length = |n: usize| format!("Content-Length: {n}\r\n");
    let with = |extra: &str, body: &str| format!("{}{body}", head(&token, extra)).into_bytes();
    let chunked = "Transfer-Encoding: chunked\r\n";
    let huge = format!("X-Filler: {}\r\n", "a".repeat(512 * 1024));
    let many: String = (0..200).map(|i| format!("X-H{i}: v\r\n")).collect();
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        ("a plain request (control)", with(&length(n), list), RESULT),
        ("Content-Length above the limit, small body", with(&length(300_000), list), Expect::Error(413, "payload_too_large")),
        ("Content-Length near u64::MAX", with(&length(usize::MAX - 2), list), Expect::Error(413, "payload_too_large")),
        ("Content-Length of u64::MAX (hyper: too large)", with(&length(usize::MAX), list), TOO_LARGE),
        ("Content-Length shorter than the body", with(&length(10), list), PARSE),
        ("Content-Length 0 with a body", with(&length(0), list), PARSE),
        ("two equal Content-Lengths", with(&format!("{}{}", length(n), length(n)), list), RESULT),
        ("two different Content-Lengths", with(&format!("{}{}", length(n), length(n + 1)), list), MALFORMED),
        ("Content-Length not a number", with("Content-Length: ten\r\n", list), MALFORMED),
        ("negative Content-Length", with("Content-Length: -1\r\n", list), MALFORMED),
        ("Content-Length beyond u64", with("Content-Length: 99999999999999999999\r\n", list), MALFORMED),
        ("chunked (control)", with(chunked, &format!("{n:x}\r\n{list}\r\n0\r\n\r\n")), RESULT),
        ("chunked with a Content-Length too", with(&format!("{chunked}{}", length(3)), &format!("{n:x}\r\n{list}\r\n0\r\n\r\n")), RESULT),
        ("a malformed chunk size", with(chunked, &format!("zz\r\n{list}\r\n0\r\n\r\n")), INVALID),
        ("a chunk longer than its size", with(chunked, &format!("4\r\n{list}\r\n0\r\n\r\n")), INVALID),
        ("a chunk size beyond u64", with(chunked, &format!("fffffffffffffffffff\r\n{list}\r\n0\r\n\r\n")), INVALID),
        ("Transfer-Encoding other than chunked", with("Transfer-Encoding: gzip\r\n", list), MALFORMED),
        ("a control byte in a header value", with("X-Note: a\x01b\r\n", list), MALFORMED),
        ("a NUL byte in a header value", with("X-Note: a\x00b\r\n", list), MALFORMED),
        ("a space in a header name", with("X Note: a\r\n", list), MALFORMED),
        ("a folded header line", with(&format!("{}X-Note: a\r\n b\r\n", length(n)), list), MALFORMED),
        ("a 512 KiB header value", with(&huge, list), TOO_LARGE),
        ("200 headers", with(&many, list), TOO_LARGE),
        ("not an HTTP request line", bytes("HELLO THERE\r\n\r\n"), MALFORMED),
        ("an unknown HTTP version", bytes("POST /mcp HTTP/7.1\r\nHost: g\r\n\r\n"), MALFORMED),
        ("a 70,000-byte request target", bytes(format!("POST /mcp?{} HTTP/1.1\r\nHost: g\r\n\r\n", "a".repeat(70_000))), Expect::Error(414, "uri_too_long")),
    ];
    for (name, request, expect) in cases {
        let response = raw(&h, vec![(Duration::ZERO, request)]).await;
        let response = response.unwrap_or_else(|| panic!("{name}: no response within 10 s"));
        check(name, &response, expect);
    }
    assert_alive(&h).await;
}

#[tokio::test]
async fn slow_bodies_time_out() {
    let h = start(&format!("{LIMITS}server: {{timeouts: {{read: 300ms}}}}\n")).await;
    let token = h.user();
    let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let sized = head(&token, &format!("Content-Length: {}\r\n", list.len()));
    let chunked = head(&token, "Transfer-Encoding: chunked\r\n");
    let now = Duration::ZERO;
    let later = |ms: u64| Duration::from_millis(ms);
    let timeout = Expect::Error(408, "read_timeout");
    let trickle: Pieces = std::iter::once((now, bytes(&sized)))
        .chain(list.bytes().map(|b| (later(50), vec![b])))
        .collect();
    #[rustfmt::skip]
    let cases: Vec<(&str, Pieces, Expect)> = vec![
        ("the whole body at once (control)", vec![(now, bytes(format!("{sized}{list}")))], RESULT),
        ("the body a little late, within the timeout", vec![(now, bytes(&sized)), (later(50), bytes(list))], RESULT),
        ("headers, then no body", vec![(now, bytes(&sized))], timeout),
        ("ten bytes, then nothing", vec![(now, bytes(format!("{sized}{}", &list[..10])))], timeout),
        ("a byte every 50 ms", trickle, timeout),
        ("a chunked body never finished", vec![(now, bytes(format!("{chunked}{:x}\r\n{list}\r\n", list.len())))], timeout),
    ];
    timed_cases(&h, cases, later(300), Duration::from_secs(5)).await;
    assert_alive(&h).await;
}

/// Sends each case on a fresh connection and checks its answer; a 408 must come no sooner than
/// `timeout` and before `at_most`.
async fn timed_cases(
    h: &Harness,
    cases: Vec<(&str, Pieces, Expect)>,
    timeout: Duration,
    at_most: Duration,
) {
    for (name, pieces, expect) in cases {
        let started = Instant::now();
        let response = raw(h, pieces).await;
        let response = response.unwrap_or_else(|| panic!("{name}: no response within 10 s"));
        check(name, &response, expect);
        let took = started.elapsed();
        if matches!(expect, Expect::Error(408, _)) {
            assert!(
                took >= timeout && took < at_most,
                "{name}: refused at the read timeout, took {took:?}"
            );
        }
    }
}

/// Slowloris and idle keep-alive: a request head has `server.timeouts.read` from its first byte
/// (408 `read_timeout`, in the error contract); a connection with no request in progress closes
/// after `server.timeouts.idle`; a request slower than both is still served.
#[tokio::test]
async fn slow_heads_and_idle_connections_time_out() {
    let h = start(&format!(
        "{LIMITS}server: {{timeouts: {{read: 300ms, idle: 700ms}}}}\n"
    ))
    .await;
    let token = h.user();
    let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let full = format!(
        "{}{list}",
        head(&token, &format!("Content-Length: {}\r\n", list.len()))
    );
    let now = Duration::ZERO;
    let later = |ms: u64| Duration::from_millis(ms);
    let timeout = Expect::Error(408, "read_timeout");
    let trickle: Pieces = full.bytes().map(|b| (later(40), vec![b])).collect();
    #[rustfmt::skip]
    let cases: Vec<(&str, Pieces, Expect)> = vec![
        ("a whole request (control)", vec![(now, bytes(&full))], RESULT),
        ("the head in two pieces within the timeout", vec![(now, bytes(&full[..20])), (later(100), bytes(&full[20..]))], RESULT),
        ("a request line, then nothing", vec![(now, bytes("POST /mcp HTTP/1.1\r\n"))], timeout),
        ("half the headers, then nothing", vec![(now, bytes(&full[..60]))], timeout),
        ("a header byte every 40 ms", trickle, timeout),
    ];
    // From the first byte: the trickled head is not given a new deadline per byte.
    timed_cases(&h, cases, later(300), Duration::from_millis(1500)).await;

    let address = h.gateway.trim_start_matches("http://");
    let mut silent = tokio::net::TcpStream::connect(address).await.unwrap();
    let started = Instant::now();
    let mut buffer = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(10), silent.read(&mut buffer)).await;
    let took = started.elapsed();
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "a silent connection is closed without an answer: {read:?}"
    );
    assert!(
        took >= later(650) && took < Duration::from_secs(3),
        "closed at the idle timeout, took {took:?}"
    );

    let keep_alive = |id: u32| {
        let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list"}}"#);
        let head = head(&token, &format!("Content-Length: {}\r\n", body.len()));
        format!("{}{body}", head.replace("Connection: close\r\n", ""))
    };
    let mut connection = tokio::net::TcpStream::connect(address).await.unwrap();
    connection
        .write_all(keep_alive(1).as_bytes())
        .await
        .unwrap();
    check(
        "keep-alive, first request",
        &read_response(&mut connection).await.unwrap(),
        RESULT,
    );
    tokio::time::sleep(later(400)).await;
    connection
        .write_all(keep_alive(2).as_bytes())
        .await
        .unwrap();
    check(
        "keep-alive, a second request before the idle timeout",
        &read_response(&mut connection).await.unwrap(),
        RESULT,
    );
    let idle = Instant::now();
    let read = tokio::time::timeout(Duration::from_secs(10), connection.read(&mut buffer)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the idle keep-alive connection is closed: {read:?}"
    );
    assert!(
        idle.elapsed() >= later(650),
        "not before the idle timeout: {:?}",
        idle.elapsed()
    );

    // The upstream's `slow` tool outlasts its 1 s upstream timeout, beyond both deadlines: the
    // answer is the gateway's 504, not a connection cut by a deadline.
    let started = Instant::now();
    let slow = h
        .rpc(
            &token,
            "tools/call",
            json!({"name": "slow", "arguments": {}}),
        )
        .await;
    assert_error(&slow, 504, "upstream_timeout");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_alive(&h).await;
}

#[tokio::test]
async fn concurrent_sessions() {
    let h = start(LIMITS).await;
    let token = &h.user();
    let initialize = json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}});
    let calls = (0..200).map(|_| h.rpc(token, "initialize", initialize.clone()));
    let responses = futures_util::future::join_all(calls).await;
    let mut sessions = HashSet::new();
    for (i, response) in responses.iter().enumerate() {
        check(&format!("initialize #{i}"), response, RESULT);
        let session = response.1["mcp-session-id"].to_str().unwrap().to_string();
        assert!(
            sessions.insert(session),
            "initialize #{i}: a session of its own"
        );
    }
    let sessions: Vec<String> = sessions.into_iter().collect();
    let list = || json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let harness = &h;
    let in_session = move |caller: &str, session: &str| {
        let (caller, session) = (caller.to_string(), session.to_string());
        async move {
            let headers = [("mcp-session-id", session.as_str())];
            harness.post(Some(&caller), list(), &headers).await
        }
    };
    let served =
        futures_util::future::join_all(sessions.iter().map(|s| in_session(token, s))).await;
    for (i, response) in served.iter().enumerate() {
        check(&format!("tools/list in session #{i}"), response, RESULT);
    }
    let delete = |caller: &str, session: &str| {
        let request = h.client.delete(format!("{}/mcp", h.gateway));
        request
            .bearer_auth(caller)
            .header("mcp-session-id", session)
            .send()
    };
    let deleted = &sessions[1];
    assert_eq!(delete(token, deleted).await.unwrap().status(), 204);
    let mallory = &h.idp.token("mallory@example.com", &["mcp.users"]);
    let forged = &uuid::Uuid::new_v4().simple().to_string();
    #[rustfmt::skip]
    let cases: &[(&str, &str, &str)] = &[
        ("a forged session id", token, forged),
        ("another subject's session id", mallory, &sessions[0]),
        ("a deleted session id", token, deleted),
        ("a session id in capitals", token, &sessions[2].to_uppercase()),
        ("a session id with a suffix", token, &format!("{}x", sessions[3])),
        ("a session id's prefix", token, &sessions[4][..16]),
    ];
    for &(name, caller, session) in cases {
        let response = in_session(caller, session).await;
        check(name, &response, Expect::Error(404, "session_not_found"));
    }
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let headers = [("mcp-session-id", forged.as_str())];
    let notification = h.post(Some(token), initialized, &headers).await;
    let not_found = Expect::Error(404, "session_not_found");
    check(
        "a notification in a forged session",
        &notification,
        not_found,
    );
    let foreign = delete(mallory, &sessions[0]).await.unwrap();
    assert_eq!(
        foreign.status(),
        404,
        "another subject cannot end a session"
    );
    let kept = in_session(token, &sessions[0]).await;
    check("the session outlives a foreign DELETE", &kept, RESULT);
}

#[tokio::test]
async fn the_concurrency_limit_answers_503() {
    let h = start(&format!("{LIMITS}server: {{maxConcurrentRequests: 1}}\n")).await;
    let token = h.user();
    // A client that sends its headers and then stalls holds the only slot while its body is
    // awaited (up to the read timeout, 10 s by default).
    let address = h.gateway.trim_start_matches("http://");
    let mut holder = tokio::net::TcpStream::connect(address).await.unwrap();
    let stalled = head(&token, "Content-Length: 100\r\n");
    holder.write_all(stalled.as_bytes()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let refused = loop {
        let response = h.rpc(&token, "tools/list", json!({})).await;
        if response.0 != 200 || Instant::now() > deadline {
            break response;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_error(&refused, 503, "overloaded");
    assert_eq!(refused.1["retry-after"], "1", "Retry-After: 1");
    let ready = h.client.get(format!("{}/ready", h.gateway)).send().await;
    assert_eq!(
        ready.unwrap().status(),
        200,
        "health checks are not limited"
    );
    drop(holder);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let response = h.rpc(&token, "tools/list", json!({})).await;
        if response.0 == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slot is freed when the stalled client leaves: {response:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
