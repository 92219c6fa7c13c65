//! The Rego lint path: a valid config whose policy file is the fuzz input, so regorus parses it
//! and every AL3xxx rule walks whatever AST comes out. It must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

const CONFIG: &str = r#"version: 1
name: fuzz
image: {repository: ghcr.io/acme/airlock, digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000"}
auth: {oidc: {issuer: "https://idp.example.com", audience: fuzz}}
policy: {file: policy.rego}
upstreams: [{name: docs, type: http, url: "http://docs.mcp.svc.cluster.local:8080/mcp"}]
"#;

fuzz_target!(|data: &[u8]| {
    let policy = String::from_utf8_lossy(data);
    let workspace =
        airlockc::Workspace::from_texts(("airlock.yaml", CONFIG), &[("policy.rego", &policy)]);
    let _ = airlockc::analyze(&workspace);
});
