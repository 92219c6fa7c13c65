//! Policy decisions with the production example's policy: evaluated on the RVM (decision cache
//! off), denied with an explanation, and served from the decision cache.

use crate::stats::{per_op, show};
use airlock::enforce::authz::{Authorizer, Input};
use airlock::record::metrics::Metrics;
use airlock_schema::runtime::FrozenConfig;
use std::path::Path;
use std::sync::Arc;

/// The frozen config `airlockc build` makes of an example.
pub fn frozen(repository: &Path, example: &str) -> FrozenConfig {
    let workspace = airlockc::load(&repository.join(example)).expect("the example loads");
    let build = airlockc::build::build(&workspace);
    let files = build.files().expect("the example builds");
    airlock::config::parse(&files["runtime/airlock.json"]).expect("the frozen config verifies")
}

fn input<'a>(tool: &'a str, resource: &'a str) -> Input<'a> {
    let mut metadata = airlock::enforce::authz::Metadata::new();
    metadata.insert("client_ip", "10.1.2.3".into());
    metadata.insert("protocol_version", "2025-06-18".into());
    Input {
        subject: "alice@example.com".into(),
        tenant: "acme".into(),
        groups: vec!["mcp.users".into(), "engineering".into()].into(),
        tool: tool.into(),
        resource: resource.into(),
        method: "tools/call".into(),
        metadata,
    }
}

pub fn run(repository: &Path) {
    for example in ["production", "minimal"] {
        one(repository, example);
    }
}

fn one(repository: &Path, example: &str) {
    let config = frozen(repository, &format!("examples/{example}/airlock.yaml"));
    let allowed = input("read_file", "mcp://repo/docs/guide.md");
    let mut denied = input("execute_command", "");
    if example == "minimal" {
        denied.groups = Vec::new().into();
    }
    let mut uncached = config.policy.clone();
    uncached.cache_ttl_ms = 0;
    let evaluate = Authorizer::new(&uncached, Arc::new(Metrics::default())).expect("compiles");
    assert!(evaluate.decide(&allowed).allow && !evaluate.decide(&denied).allow);
    let cached = Authorizer::new(&config.policy, Arc::new(Metrics::default())).expect("compiles");
    assert!(cached.decide(&allowed).allow && cached.decide(&allowed).cached);

    println!("\n{example} example policy ({})", config.policy.entrypoint);
    let row = |name: &str, (p50, p99): (std::time::Duration, std::time::Duration)| {
        println!("{name:<34} p50 {:>9}  p99 {:>9}", show(p50), show(p99));
    };
    row(
        "allow, evaluated (cache off)",
        per_op(200, 50, || {
            assert!(evaluate.decide(&allowed).allow);
        }),
    );
    row(
        "deny + reason/rule_id, evaluated",
        per_op(100, 10, || {
            assert!(!evaluate.decide(&denied).allow);
        }),
    );
    row(
        "allow, from the decision cache",
        per_op(200, 5_000, || {
            assert!(cached.decide(&allowed).cached);
        }),
    );
}
