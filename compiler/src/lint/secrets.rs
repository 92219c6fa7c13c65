//! The credential scan of the config itself (AL5xxx): DLP detectors run over every string value,
//! and keys named like credentials may not hold literals. The findings never echo the value.

use crate::diagnostics::{Diagnostics, codes};
use crate::syntax::{Node, NodeKind};
use crate::validate::ConfigDoc;
use regex::{Regex, RegexSet};
use std::sync::OnceLock;

/// (what it is, pattern): the standard detectors.
const DETECTORS: [(&str, &str); 9] = [
    ("an AWS access key id", r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    (
        "a JSON Web Token",
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
    ),
    ("a bearer token", r"(?i)\bbearer\s+[a-z0-9._~+/-]{16,}"),
    ("a private key", r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----"),
    (
        "a GitHub token",
        r"\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b",
    ),
    ("a Slack token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    ("a Google API key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
    ("a Stripe secret key", r"\b[sr]k_live_[0-9A-Za-z]{24,}\b"),
    (
        "an AWS secret access key",
        r"(?i)aws.{0,20}secret.{0,20}[A-Za-z0-9/+=]{40}",
    ),
];

fn detectors() -> &'static (RegexSet, Regex) {
    static DETECTORS_SET: OnceLock<(RegexSet, Regex)> = OnceLock::new();
    DETECTORS_SET.get_or_init(|| {
        let set =
            RegexSet::new(DETECTORS.iter().map(|(_, p)| p)).expect("static detectors compile");
        // The user may be empty: Redis URLs carry a password alone (`redis://:secret@host`).
        let url_password = Regex::new(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:[^/\s@]+@")
            .expect("static pattern compiles");
        (set, url_password)
    })
}

/// Key names that say "credential".
fn sensitive_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase().replace(['-', '.'], "_");
    [
        "password",
        "passwd",
        "secret",
        "token",
        "api_key",
        "apikey",
        "private_key",
        "credential",
        "authorization",
        "access_key",
    ]
    .iter()
    .any(|word| key.contains(word))
}

/// Pointers whose strings are DLP test data or patterns, not configuration.
fn exempt(pointer: &str) -> bool {
    let mut parts = pointer.split('/').skip(1);
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (
            Some("dlp"),
            Some("patterns"),
            Some(_),
            Some("regex" | "examples" | "replace")
        )
    )
}

pub fn check(doc: &ConfigDoc<'_>, out: &mut Diagnostics) {
    let (set, url_password) = detectors();
    let mut pointer = String::new();
    doc.root.walk_strings(&mut pointer, &mut |pointer, _node, text| {
        if exempt(pointer) {
            return;
        }
        if let Some(index) = set.matches(text).iter().next() {
            let what = DETECTORS[index].0;
            out.push(
                doc.value_diag(codes::AL5001, pointer, format!("this value looks like {what}"))
                    .help("never put credentials in airlock.yaml: store it in a Kubernetes Secret and reference it (`secretRef: {name, key}`); rotate it, since it may already be in version control")
                    .conceal(),
            );
        } else if url_password.is_match(text) {
            out.push(
                doc.value_diag(codes::AL5002, pointer, "this URL contains a password")
                    .help("remove `user:password@` from the URL and supply the credential through a Secret reference")
                    .conceal(),
            );
        } else if let Some(key) = pointer.rsplit('/').next().filter(|k| sensitive_key(k))
            && !text.is_empty() && literal_allowed(doc.root, pointer) {
                out.push(
                    doc.value_diag(codes::AL5003, pointer, format!("`{}` holds a literal value", key.replace("~1", "/").replace("~0", "~")))
                        .help("a key named like a credential must take its value from a Secret: `{secretRef: {name: my-secret, key: token}}`")
                        .conceal(),
                );
            }
    });
}

/// Only values the user can replace with a `secretRef` (env and header values) are checked by
/// key name: `clientSecretRef.name` is a Secret's name, not a secret.
fn literal_allowed(root: &Node, pointer: &str) -> bool {
    let parent = &pointer[..pointer.rfind('/').unwrap_or(0)];
    let grandparent_key = parent.rsplit('/').next().unwrap_or_default();
    matches!(grandparent_key, "env" | "headers")
        && matches!(
            root.pointer(pointer).map(|n| &n.kind),
            Some(NodeKind::Str(..))
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detectors_fire_on_credentials_only() {
        let (set, url) = detectors();
        assert!(set.is_match("AKIAABCDEFGHIJKLMNOP"));
        assert!(set.is_match("Bearer abcdefghijklmnop0123"));
        assert!(set.is_match("-----BEGIN RSA PRIVATE KEY-----"));
        assert!(!set.is_match("https://idp.example.com"));
        assert!(!set.is_match("mcp-airlock-prod"));
        assert!(url.is_match("postgresql://user:pass@db:5432/airlock"));
        assert!(url.is_match("redis://:hunter2@redis:6379/0"));
        assert!(!url.is_match("redis://redis.ns.svc:6379/0"));
        assert!(!url.is_match("https://idp.example.com/path"));
    }

    #[test]
    fn sensitive_names() {
        assert!(
            sensitive_key("API_TOKEN")
                && sensitive_key("Authorization")
                && sensitive_key("db-password")
        );
        assert!(!sensitive_key("PYTHONPATH") && !sensitive_key("name"));
        assert!(exempt("/dlp/patterns/0/examples/match/0") && !exempt("/upstreams/0/env/X"));
    }
}
