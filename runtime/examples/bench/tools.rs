//! Tool integrity at listing time: one `tools/list` of 100 realistic tools held against 100
//! pins (each definition walked against its reviewed one), against 100 pins it no longer
//! matches (each definition also hashed, to report its drift), and screened for poisoning
//! without a lock (the default). A `tools/call` pays none of it: its tool is one map lookup in
//! the catalog the listing built.

use airlock::upstream::integrity::Integrity;
use airlock_schema::config::{OnDrift, OnUnpinned};
use airlock_schema::pins::Pin;
use airlock_schema::runtime::{PinsConfig, ToolIntegrityConfig};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const TOOLS: usize = 100;

/// A tool as servers describe them: a paragraph of description, four typed parameters with
/// their own descriptions, annotations.
fn tool(i: usize) -> Value {
    json!({
        "name": format!("tool_{i:03}"),
        "title": format!("Tool number {i}"),
        "description": format!("Looks up records of kind {i} in the team's knowledge base and returns the matching entries with their titles, owners and last-modified dates. Use it when the user asks about existing documents; results are limited to what the caller may read, newest first, at most `limit` entries."),
        "inputSchema": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "Words to look for, in any order."},
                "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20, "description": "At most this many entries."},
                "owner": {"type": "string", "description": "Only entries owned by this person."},
                "since": {"type": "string", "format": "date", "description": "Only entries changed since this day."}
            },
            "required": ["query"]
        },
        "annotations": {"readOnlyHint": true, "openWorldHint": false}
    })
}

fn time_listings(integrity: &Integrity, listing: &[Value], runs: usize) -> (Duration, Duration) {
    // Each run screens its own copy, made before the clock starts: the gateway owns the listing
    // it parsed, so the copy is not part of the cost.
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let copy = listing.to_vec();
            let started = Instant::now();
            let screened = integrity.screen(copy);
            let elapsed = started.elapsed();
            assert_eq!(screened.served.len(), TOOLS, "every tool is served");
            elapsed
        })
        .collect();
    samples.sort();
    (
        crate::stats::percentile(&samples, 0.50),
        crate::stats::percentile(&samples, 0.99),
    )
}

/// Holds listings against pins of `reviewed`; a drift is served (and reported), so every
/// run serves the whole listing.
fn pinned_to(reviewed: &[Value]) -> Integrity {
    let pins: BTreeMap<String, Pin> = reviewed
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_string(), Pin::of(t)))
        .collect();
    Integrity::new(
        &ToolIntegrityConfig {
            pins: Some(PinsConfig {
                on_drift: OnDrift::Warn,
                on_unpinned: OnUnpinned::Block,
                upstreams: BTreeMap::from([("docs".to_string(), pins)]),
            }),
            screen_unpinned: true,
            exceptions: vec![],
        },
        "docs",
    )
}

pub fn run() {
    let listing: Vec<Value> = (0..TOOLS).map(tool).collect();
    let pinned = pinned_to(&listing);
    // Every tool drifted: each walk fails, so each definition is hashed to report it.
    let earlier: Vec<Value> = listing
        .iter()
        .map(|t| {
            let mut t = t.clone();
            t["description"] = json!("An earlier description.");
            t
        })
        .collect();
    let drifted = pinned_to(&earlier);
    let screened = Integrity::new(
        &ToolIntegrityConfig {
            pins: None,
            screen_unpinned: true,
            exceptions: vec![],
        },
        "docs",
    );
    let bytes = serde_json::to_vec(&listing).unwrap().len();
    println!("a tools/list of {TOOLS} tools ({bytes} bytes of definitions), per listing:");
    for (what, integrity) in [
        ("held against 100 pins", &pinned),
        ("every tool drifted", &drifted),
        ("screened, no lock", &screened),
    ] {
        let (p50, p99) = time_listings(integrity, &listing, 2_000);
        println!(
            "  {what:<22} p50 {:>7.1} µs   p99 {:>7.1} µs",
            p50.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6
        );
    }
}
