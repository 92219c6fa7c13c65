//! DLP over an upstream's answer as text (`enforce/dlp/text.rs`: the whole text searched
//! first, then string by string) against DLP over the same answer as a tree, on any JSON text.
//! Oracle: for every document the strict parser accepts, both give the same value and the same
//! counts per pattern, with context-free patterns (the whole-text search) and with an anchored
//! one (string by string only); and the text path's output is JSON.
#![no_main]

use airlock::enforce::dlp::{Counts, Redactor};
use airlock::mcp::jsonrpc::{Json, from_slice_strict};
use airlock_schema::runtime::DlpRule;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use serde_json::value::RawValue;
use std::sync::LazyLock;

fn redactor(rules: &[(&str, &str)]) -> Redactor {
    let rules: Vec<DlpRule> = rules
        .iter()
        .map(|(name, regex)| DlpRule {
            name: name.to_string(),
            regex: regex.to_string(),
            replacement: format!("[{name}]"),
        })
        .collect();
    Redactor::new(&rules).expect("the patterns compile")
}

static REDACTORS: LazyLock<[Redactor; 2]> = LazyLock::new(|| {
    let context_free = [
        ("aws", "AKIA[0-9A-Z]{16}"),
        ("email", r"(?i)[a-z0-9._%+-]{1,64}@[a-z0-9.-]+\.[a-z]{2,}"),
        ("word", r"\bkey\b|\Bx\B"),
        ("span", "q...z"),
    ];
    let anchored = [("whole", "^secret$"), ("aws", "AKIA[0-9A-Z]{16}")];
    [redactor(&context_free), redactor(&anchored)]
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The tree path's reading: duplicate keys and lone surrogates are refused there.
    let Ok(tree) = from_slice_strict(data) else {
        return;
    };
    let Ok(raw) = RawValue::from_string(text.trim().to_string()) else {
        return;
    };
    for redactor in REDACTORS.iter() {
        let (mut by_text, mut by_tree) = (Counts::new(), Counts::new());
        let as_text = redactor.redact(Json::Text(raw.clone()), &mut by_text).into_body();
        let as_tree = redactor.redact(Json::Tree(tree.clone()), &mut by_tree).into_body();
        let read: Value = serde_json::from_slice(as_text.as_bytes()).expect("the text path writes JSON");
        let expected: Value = serde_json::from_slice(as_tree.as_bytes()).expect("the tree path writes JSON");
        assert_eq!(read, expected, "text and tree paths disagree on {text}");
        let n = by_text.len().max(by_tree.len());
        by_text.resize(n, 0);
        by_tree.resize(n, 0);
        assert_eq!(by_text, by_tree, "counts differ on {text}");
    }
});
