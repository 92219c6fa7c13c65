//! The JSON-RPC/MCP message parser on any body. Oracle: an accepted request has an id that is a
//! string or an integer (never null, fractional, boolean or structured), a non-empty method,
//! and object params; and the body really was a single JSON object.
#![no_main]

use airlock::mcp::jsonrpc::{Parsed, parse};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(Parsed::Message(message)) = parse(data) else {
        return;
    };
    match &message.id {
        None | Some(Value::String(_)) => {}
        Some(Value::Number(n)) => assert!(n.is_i64() || n.is_u64(), "fractional id {n}"),
        Some(other) => panic!("accepted id {other}"),
    }
    assert!(!message.method.is_empty(), "empty method accepted");
    let body: Value = serde_json::from_slice(data).expect("an accepted body is JSON");
    assert!(body.is_object(), "an accepted body is one object");
});
