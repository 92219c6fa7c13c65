//! The registry of diagnostic codes. Each code is a constant (`codes::AL2004`), so a call site
//! that names a code that does not exist does not compile, and two codes with one id do not
//! either. Each code's documentation lives in its own file under `src/codes/` (what it means,
//! why it matters, an example, the fix), included at compile time, so a code without its page
//! does not build; `airlockc explain` prints it and `docs/diagnostics.md` is generated from it.

use super::Severity;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    Syntax,
    Schema,
    Semantics,
    Rego,
    Dlp,
    Secrets,
    Tools,
}

impl Category {
    /// Schema and semantic errors mean the configuration cannot be compiled (exit 78); the
    /// others are lint findings (exit 1).
    pub fn invalidates_config(self) -> bool {
        matches!(
            self,
            Category::Syntax | Category::Schema | Category::Semantics
        )
    }
    pub fn title(self) -> &'static str {
        match self {
            Category::Syntax | Category::Schema => "Schema (AL1xxx)",
            Category::Semantics => "Semantics (AL2xxx)",
            Category::Rego => "Rego policy (AL3xxx)",
            Category::Dlp => "DLP patterns (AL4xxx)",
            Category::Secrets => "Secrets (AL5xxx)",
            Category::Tools => "Tool definitions (AL6xxx)",
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Code {
    pub id: &'static str,
    pub name: &'static str,
    pub category: Category,
    pub severity: Severity,
    pub summary: &'static str,
    pub docs: &'static str,
}

/// Defines one constant per code, named by its id, and [`CODES`], every code in id order.
macro_rules! codes {
    ($($id:ident $name:literal $category:ident $severity:ident $summary:literal;)+) => {
        $(
            #[doc = $summary]
            pub const $id: &Code = &Code {
                id: stringify!($id),
                name: $name,
                category: Category::$category,
                severity: Severity::$severity,
                summary: $summary,
                docs: include_str!(concat!("../codes/", stringify!($id), ".md")),
            };
        )+

        /// Every code, in id order (`airlockc explain all`, `docs/diagnostics.md`).
        pub static CODES: &[&Code] = &[$($id),+];
    };
}

codes! {
    AL1001 "yaml-syntax" Syntax Error "The file is not a single valid YAML document.";
    AL1002 "unknown-key" Schema Error "A key the schema does not know.";
    AL1003 "wrong-type" Schema Error "A value of the wrong type.";
    AL1004 "missing-key" Schema Error "A required key is missing.";
    AL1005 "invalid-choice" Schema Error "A value outside its fixed set of choices.";
    AL1006 "invalid-duration" Schema Error "A malformed duration.";
    AL1007 "invalid-rate" Schema Error "A malformed rate.";
    AL1008 "invalid-url" Schema Error "A malformed URL, S3 location or virtual prefix.";
    AL1009 "invalid-quantity" Schema Error "A malformed Kubernetes quantity.";
    AL1010 "invalid-value" Schema Error "A value that does not match its format.";
    AL1011 "out-of-range" Schema Error "A number outside its allowed range.";
    AL1012 "empty-value" Schema Error "A list or string that must not be empty.";
    AL1013 "duplicate-key" Syntax Error "A key defined twice in one mapping.";
    AL1014 "unsafe-override" Schema Error "An attempt to weaken built-in hardening.";
    AL1015 "unsupported-version" Schema Error "An unsupported or missing format version.";
    AL2001 "duplicate-name" Semantics Error "Two items share a name.";
    AL2002 "overlapping-prefix" Semantics Error "Two roots' virtual prefixes overlap.";
    AL2003 "variant-fields" Semantics Error "A field missing for, or foreign to, the item's type.";
    AL2004 "audit-database-ref" Semantics Error "The audit database reference does not fit the backend.";
    AL2005 "insecure-issuer" Semantics Error "The OIDC issuer is plain HTTP outside localhost.";
    AL2006 "empty-audience" Semantics Error "The OIDC audience is empty.";
    AL2007 "empty-allow-tools" Semantics Error "An allowTools list that names nothing.";
    AL2008 "missing-file" Semantics Error "A referenced file cannot be read.";
    AL2009 "ephemeral-audit" Semantics Warning "The SQLite audit trail is not persisted.";
    AL2010 "sqlite-replicas" Semantics Error "SQLite audit with more than one replica.";
    AL2011 "image-not-pinned" Semantics Warning "The image is not pinned by digest.";
    AL2012 "image-unreferenced" Semantics Error "The image has neither tag nor digest.";
    AL2013 "replica-bounds" Semantics Error "Inconsistent replica, autoscaling or disruption-budget bounds.";
    AL2014 "resource-bounds" Semantics Error "A resource request exceeds its limit.";
    AL2015 "invalid-cron" Semantics Error "A malformed cron schedule.";
    AL2016 "tracing-endpoint" Semantics Error "Tracing is enabled without an endpoint.";
    AL2017 "export-destination" Semantics Error "The audit export destination is missing, doubled or invalid.";
    AL2018 "insecure-public-url" Semantics Warning "The public base URL is plain HTTP.";
    AL2019 "issuer-discovery-path" Semantics Error "The issuer URL includes the discovery path.";
    AL2020 "tls-secret" Semantics Warning "TLS without cert-manager: the certificate is managed by hand.";
    AL2021 "invalid-env-name" Semantics Error "An invalid environment variable or header name.";
    AL2022 "tool-collision" Semantics Warning "Two upstreams may expose the same tool name.";
    AL2023 "sensitive-root" Semantics Error "A root exposes a system directory.";
    AL2024 "timeout-order" Semantics Warning "A timeout that another, shorter one always cuts first.";
    AL2025 "port-conflict" Semantics Error "Two listeners on the same port.";
    AL2026 "root-volume" Semantics Warning "A directory root without a volume.";
    AL2027 "builtin-tool-hidden" Semantics Warning "An upstream tool hides a built-in file tool of the roots.";
    AL2028 "client-ip-behind-ingress" Semantics Warning "Behind an ingress without `server.trustedProxies`.";
    AL2029 "tracing-endpoint-protocol" Semantics Warning "A tracing endpoint that does not take OTLP/HTTP.";
    AL2030 "system-namespace" Semantics Error "The namespace is one of the cluster's system namespaces.";
    AL2031 "config-map-size" Semantics Error "The emitted ConfigMap exceeds Kubernetes' 1 MiB object limit.";
    AL2032 "unnormalized-path" Semantics Error "A pod path with `.`, `..` or empty segments.";
    AL2033 "mount-conflict" Semantics Error "Two volumes share or overlap a mount path.";
    AL2034 "system-mount" Semantics Error "A volume mounted at `/` or over a system directory.";
    AL2035 "ingress-path-unserved" Semantics Warning "The Ingress routes a path the gateway does not serve.";
    AL2036 "audit-buffer-too-small" Semantics Warning "The audit buffer holds fewer events than requests served at once.";
    AL2037 "session-key-missing" Semantics Error "More than one replica without a shared session key.";
    AL2038 "limits-per-replica" Semantics Warning "Rate limits counted by each replica alone.";
    AL2039 "metadata-endpoint" Semantics Error "An endpoint at a cloud metadata service or a link-local address.";
    AL2040 "internal-host" Semantics Warning "A host outside the cluster that a public-only egress rule cannot reach.";
    AL2041 "service-port" Semantics Warning "An in-cluster URL's port that may be a Service port, not the pods'.";
    AL2042 "database-egress" Semantics Warning "PostgreSQL egress open to any address.";
    AL2043 "unreachable-gateway" Semantics Warning "No ingress and no client namespaces: nothing can reach the gateway.";
    AL2044 "sidecar-conflict" Semantics Error "A sidecar the gateway cannot reach in the pod, or that takes a name or port of another container.";
    AL3001 "rego-parse" Rego Error "The policy does not parse.";
    AL3002 "rego-compile" Rego Error "The policy does not compile.";
    AL3003 "missing-entrypoint" Rego Error "The entrypoint names no rule.";
    AL3004 "missing-default-deny" Rego Error "The entrypoint has no `default ... := false`.";
    AL3005 "non-hermetic-builtin" Rego Error "A builtin that depends on the outside world.";
    AL3006 "constant-condition" Rego Warning "A condition that is always true or always false.";
    AL3007 "shadowed-builtin" Rego Error "A rule named like a builtin.";
    AL3008 "unused-rule" Rego Warning "A rule nothing refers to.";
    AL3009 "unknown-input" Rego Error "A reference to an input field the gateway never provides.";
    AL3010 "test-failed" Rego Error "A policy test failed.";
    AL3011 "no-tests" Rego Warning "A policy test file without tests.";
    AL3012 "print-call" Rego Error "A print() call in a policy: the gateway cannot load it.";
    AL3013 "permissive-default" Rego Error "The entrypoint defaults to allow.";
    AL4001 "regex-syntax" Dlp Error "A DLP regex that does not compile.";
    AL4002 "regex-too-complex" Dlp Error "A DLP regex over the size or nesting limit.";
    AL4003 "empty-match" Dlp Error "A DLP regex that matches the empty string.";
    AL4004 "over-broad" Dlp Error "A DLP regex that matches ordinary text.";
    AL4005 "example-not-matched" Dlp Error "A `match` example the pattern does not match.";
    AL4006 "example-matched" Dlp Error "A `noMatch` example the pattern matches.";
    AL4007 "duplicate-pattern" Dlp Warning "Two DLP patterns with the same regex.";
    AL4008 "overlapping-pattern" Dlp Warning "A DLP pattern covered by an earlier one.";
    AL4009 "bad-replacement-group" Dlp Error "A replacement that refers to a missing group.";
    AL4010 "no-examples" Dlp Warning "A DLP pattern without examples.";
    AL5001 "inline-credential" Secrets Error "A value that looks like a credential.";
    AL5002 "url-credentials" Secrets Error "A URL with a password in it.";
    AL5003 "sensitive-key-literal" Secrets Error "A credential-named key with a literal value.";
    AL6001 "tool-hidden-text" Tools Error "A pinned tool definition hides text from its reader.";
    AL6002 "tool-model-instruction" Tools Error "A pinned tool definition addresses the model.";
    AL6003 "tool-link" Tools Warning "A pinned tool definition holds a link.";
    AL6004 "tool-oversized" Tools Warning "A pinned tool description far longer than a tool needs.";
    AL6005 "tool-shadowing" Tools Warning "A pinned tool names another upstream's tool.";
    AL6006 "dead-pin" Tools Warning "A pin no configured tool can ever be served under.";
    AL6007 "unpinned-tool" Tools Error "An allowed tool without a pin while unpinned tools are blocked.";
    AL6008 "lock-invalid" Tools Error "The tool lock cannot be trusted as written.";
}

/// The code with this id, case-insensitively, for `airlockc explain`.
pub fn lookup(id: &str) -> Option<&'static Code> {
    CODES
        .iter()
        .copied()
        .find(|c| c.id.eq_ignore_ascii_case(id) || c.name == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_sorted_and_documented() {
        for pair in CODES.windows(2) {
            assert!(
                pair[0].id < pair[1].id,
                "{} before {}",
                pair[0].id,
                pair[1].id
            );
        }
        for code in CODES {
            for section in [
                "**What it means.**",
                "**Why it matters.**",
                "**Example.**",
                "**Fix.**",
            ] {
                assert!(
                    code.docs.contains(section),
                    "{} docs lack {section}",
                    code.id
                );
            }
        }
    }

    /// The reverse of `include_str!`: every page under `src/codes/` documents a registered code.
    #[test]
    fn every_docs_page_has_its_code() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/codes");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let id = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            assert!(
                CODES.iter().any(|c| c.id == id),
                "{} documents no registered code",
                path.display()
            );
        }
    }
}
