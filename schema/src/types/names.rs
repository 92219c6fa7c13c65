//! Names: Kubernetes DNS-1123 labels, DLP pattern names, image digests and MCP tool names.

use std::fmt;
use std::str::FromStr;

/// Why a text is not a name of its kind.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error(
        "`{0}` is not a valid name: use 1 to 63 lowercase letters, digits and `-`, \
         starting and ending with a letter or digit (e.g. `mcp-airlock`)"
    )]
    DnsLabel(String),
    #[error(
        "`{0}` is not a valid Kubernetes name: use lowercase letters, digits, `-` and \
         `.`, at most 253 characters, each `.`-separated part starting and ending with a \
         letter or digit (e.g. `mcp-airlock`)"
    )]
    DnsSubdomain(String),
    #[error(
        "`{0}` is not a valid pattern name: use 1 to 63 lowercase letters, digits, `-` \
         and `_`, starting and ending with a letter or digit (e.g. `aws-key` or `aws_key`)"
    )]
    PatternName(String),
    #[error(
        "`{0}` is not an image digest: expected `sha256:` followed by 64 lowercase hex \
         digits (see `crane digest IMAGE` or `docker buildx imagetools inspect IMAGE`)"
    )]
    ImageDigest(String),
    #[error("`{0}` is not a tool name: use 1 to 128 letters, digits, `_`, `-`, `.` or `/`")]
    ToolName(String),
}

/// 1 to 63 lowercase letters, digits and the `separators`, starting and ending with a letter
/// or digit.
fn is_label(text: &str, separators: &[u8]) -> bool {
    let valid_chars = text
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || separators.contains(&b));
    let edges = text
        .bytes()
        .next()
        .zip(text.bytes().last())
        .is_some_and(|(a, z)| a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric());
    !text.is_empty() && text.len() <= 63 && valid_chars && edges
}

/// A DNS-1123 label: lowercase alphanumerics and `-`, at most 63 characters, starting and ending
/// with an alphanumeric. Used for object names, namespaces and the names of roots and upstreams.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DnsLabel(String);

impl DnsLabel {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for DnsLabel {
    type Err = NameError;

    fn from_str(text: &str) -> Result<Self, NameError> {
        if !is_label(text, b"-") {
            return Err(NameError::DnsLabel(text.to_string()));
        }
        Ok(Self(text.to_string()))
    }
}

impl fmt::Display for DnsLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

super::string_value!(
    DnsLabel,
    "DnsLabel",
    "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
    "A DNS-1123 label: lowercase letters, digits and `-`, at most 63 characters.",
    ["mcp-airlock"]
);

/// A DNS-1123 subdomain, as Kubernetes requires of most object names (ServiceAccount,
/// PriorityClass, StorageClass, IngressClass, Secret): dot-separated DNS-1123 labels, at most
/// 253 characters in all.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DnsSubdomain(String);

impl DnsSubdomain {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `text` is a DNS-1123 subdomain.
pub fn is_subdomain(text: &str) -> bool {
    text.len() <= 253
        && text.split('.').all(|part| {
            let edge =
                |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
            edge(part.bytes().next())
                && edge(part.bytes().last())
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

impl FromStr for DnsSubdomain {
    type Err = NameError;

    fn from_str(text: &str) -> Result<Self, NameError> {
        if !is_subdomain(text) {
            return Err(NameError::DnsSubdomain(text.to_string()));
        }
        Ok(Self(text.to_string()))
    }
}

impl fmt::Display for DnsSubdomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

super::string_value!(
    DnsSubdomain,
    "DnsSubdomain",
    "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
    "A Kubernetes object name (DNS-1123 subdomain): lowercase letters, digits, `-` and `.`, at most 253 characters.",
    ["mcp-airlock"]
);

/// The pattern of a Kubernetes label or annotation key (a qualified name): an optional DNS
/// subdomain prefix and `/`, then 1 to 63 letters, digits, `-`, `_` and `.`, starting and ending
/// with a letter or digit.
pub const QUALIFIED_NAME: &str = "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";
/// The pattern of a Kubernetes label value: empty, or at most 63 letters, digits, `-`, `_` and
/// `.`, starting and ending with a letter or digit.
pub const LABEL_VALUE: &str = "^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$";
/// The pattern of a Prometheus label name.
pub const PROMETHEUS_LABEL: &str = "^[a-zA-Z_][a-zA-Z0-9_]*$";

/// The name of a DLP pattern: a label of its metrics and of its default replacement, never a
/// Kubernetes object name, so `_` is allowed beside `-` (the seeds' `aws_key` and `aws-key`
/// alike). Lowercase letters, digits, `-` and `_`, at most 63 characters, starting and ending
/// with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PatternName(String);

impl PatternName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PatternName {
    type Err = NameError;

    fn from_str(text: &str) -> Result<Self, NameError> {
        if !is_label(text, b"-_") {
            return Err(NameError::PatternName(text.to_string()));
        }
        Ok(Self(text.to_string()))
    }
}

impl fmt::Display for PatternName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

super::string_value!(
    PatternName,
    "PatternName",
    "^[a-z0-9]([-_a-z0-9]{0,61}[a-z0-9])?$",
    "A DLP pattern name: lowercase letters, digits, `-` and `_`, at most 63 characters.",
    ["aws-key", "bearer_token"]
);

/// An OCI image digest, `sha256:` followed by 64 lowercase hex digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageDigest(String);

impl ImageDigest {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ImageDigest {
    type Err = NameError;

    fn from_str(text: &str) -> Result<Self, NameError> {
        let hex = text.strip_prefix("sha256:");
        match hex {
            Some(hex)
                if hex.len() == 64
                    && hex
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
            {
                Ok(Self(text.to_string()))
            }
            _ => Err(NameError::ImageDigest(text.to_string())),
        }
    }
}

impl fmt::Display for ImageDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

super::string_value!(
    ImageDigest,
    "ImageDigest",
    "^sha256:[a-f0-9]{64}$",
    "An image digest: `sha256:` followed by 64 lowercase hex digits.",
    ["sha256:4b2c1e0d9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c"]
);

/// The name of an MCP tool as an upstream advertises it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ToolName(String);

impl ToolName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ToolName {
    type Err = NameError;

    fn from_str(text: &str) -> Result<Self, NameError> {
        let valid = !text.is_empty()
            && text.len() <= 128
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'));
        if !valid {
            return Err(NameError::ToolName(text.to_string()));
        }
        Ok(Self(text.to_string()))
    }
}

impl fmt::Display for ToolName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

super::string_value!(
    ToolName,
    "ToolName",
    "^[A-Za-z0-9_./-]{1,128}$",
    "An MCP tool name as the upstream advertises it in `tools/list`.",
    ["search_docs", "read_file"]
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        assert!("mcp-airlock".parse::<DnsLabel>().is_ok());
        for bad in ["", "-a", "a-", "A", "a_b", &"a".repeat(64)] {
            assert!(bad.parse::<DnsLabel>().is_err(), "{bad}");
        }
    }

    #[test]
    fn pattern_names() {
        for good in ["aws-key", "aws_key", "bearer_token", "ssh-key2", "x"] {
            assert!(good.parse::<PatternName>().is_ok(), "{good}");
        }
        for bad in [
            "",
            "_a",
            "a_",
            "-a",
            "AWS_KEY",
            "a b",
            "a.b",
            &"a".repeat(64),
        ] {
            assert!(bad.parse::<PatternName>().is_err(), "{bad}");
        }
    }

    #[test]
    fn digests() {
        assert!(
            format!("sha256:{}", "a".repeat(64))
                .parse::<ImageDigest>()
                .is_ok()
        );
        assert!("sha256:abc".parse::<ImageDigest>().is_err());
        assert!(
            format!("sha256:{}", "A".repeat(64))
                .parse::<ImageDigest>()
                .is_err()
        );
    }

    #[test]
    fn tool_names() {
        assert!("search_docs".parse::<ToolName>().is_ok());
        assert!("".parse::<ToolName>().is_err());
        assert!("a b".parse::<ToolName>().is_err());
    }
}
