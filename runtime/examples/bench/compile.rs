//! `airlockc build` in memory (parse, validate, lint, policy tests, lower, emit): the
//! production example, and generated configs of growing size to show the growth is linear.

use crate::stats::{median, show};
use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

const POLICY: &str = "package airlock.authz\nimport rego.v1\ndefault allow := false\nallow if \"mcp.users\" in input.groups\n";

pub fn run(repository: &Path) {
    let production = airlockc::load(&repository.join("examples/production/airlock.yaml"))
        .expect("the production example loads");
    let time = median(20, || assert_built(&production));
    println!("production example        {:>9}", show(time));
    for size in [125, 250, 500, 1000] {
        let workspace = generated(size);
        let time = median(if size > 500 { 5 } else { 10 }, || assert_built(&workspace));
        println!(
            "{size:>4} upstreams + {size:>4} DLP {:>9}  ({:.2} ms per 100 of each)",
            show(time),
            per_hundred(time, size)
        );
    }
}

fn per_hundred(time: Duration, size: usize) -> f64 {
    time.as_secs_f64() * 1e3 * 100.0 / size as f64
}

fn assert_built(workspace: &airlockc::Workspace) {
    let build = airlockc::build::build(workspace);
    assert!(
        build.files().is_some(),
        "the benchmark config does not build: {:?}",
        build
            .diagnostics()
            .iter()
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
    );
}

/// A valid config with `size` HTTP upstreams and `size` DLP patterns, each distinct.
fn generated(size: usize) -> airlockc::Workspace {
    let mut yaml = String::from(
        "version: 1\nname: bench\nimage: {repository: ghcr.io/acme/airlock, digest: \"sha256:",
    );
    yaml.push_str(&"0".repeat(64));
    yaml.push_str("\"}\nauth:\n  oidc: {issuer: https://idp.example.com, audience: bench}\npolicy: {file: policy.rego}\ndlp:\n  patterns:\n");
    for i in 0..size {
        let _ = writeln!(
            yaml,
            "    - {{name: secret-{i}, regex: 'tok{i}_[A-Za-z0-9]{{24}}', examples: {{match: [tok{i}_abcdefghijklmnopqrstuvwx]}}}}"
        );
    }
    yaml.push_str("upstreams:\n");
    for i in 0..size {
        let _ = writeln!(
            yaml,
            "  - {{name: service-{i}, type: http, url: 'http://service-{i}.mcp.svc.cluster.local:8080/mcp'}}"
        );
    }
    airlockc::Workspace::from_texts(("airlock.yaml", &yaml), &[("policy.rego", POLICY)])
}
