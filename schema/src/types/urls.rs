//! URLs: HTTP(S) endpoints, `s3://bucket/prefix/` locations and `mcp://name/` virtual prefixes.

use std::fmt;
use std::str::FromStr;

/// An absolute `http://` or `https://` URL with a host.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HttpUrl {
    url: url::Url,
    /// The URL as written, shown back to the user.
    text: String,
}

impl HttpUrl {
    pub fn url(&self) -> &url::Url {
        &self.url
    }
    pub fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }
    /// The port, explicit or the scheme's default.
    pub fn port(&self) -> u16 {
        self.url.port_or_known_default().unwrap_or(443)
    }
    /// True for `localhost`, `127.0.0.0/8` and `::1`: hosts where plain HTTP is acceptable.
    pub fn is_loopback(&self) -> bool {
        match self.url.host() {
            Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
    }
    pub fn has_credentials(&self) -> bool {
        !self.url.username().is_empty() || self.url.password().is_some()
    }
    /// The URL as written in the configuration.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Why a text is not an HTTP(S) URL.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HttpUrlError {
    #[error(
        "`{text}` is not a valid URL ({source}): write an absolute URL such as `https://idp.example.com`"
    )]
    Invalid {
        text: String,
        source: url::ParseError,
    },
    #[error(
        "`{text}` uses the scheme `{scheme}`: only `http://` and `https://` URLs are accepted here"
    )]
    Scheme { text: String, scheme: String },
    #[error("`{text}` has no host")]
    NoHost { text: String },
}

impl FromStr for HttpUrl {
    type Err = HttpUrlError;

    fn from_str(text: &str) -> Result<Self, HttpUrlError> {
        let url = url::Url::parse(text).map_err(|source| HttpUrlError::Invalid {
            text: text.to_string(),
            source,
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(HttpUrlError::Scheme {
                text: text.to_string(),
                scheme: url.scheme().to_string(),
            });
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(HttpUrlError::NoHost {
                text: text.to_string(),
            });
        }
        Ok(Self {
            url,
            text: text.to_string(),
        })
    }
}

impl fmt::Display for HttpUrl {
    /// The URL as the user wrote it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

super::string_value!(
    HttpUrl,
    "HttpUrl",
    "^https?://[^\\s/?#]+([/?#]\\S*)?$",
    "An absolute http:// or https:// URL.",
    ["https://idp.example.com", "http://docs.mcp.svc:8080/mcp"]
);

/// An S3 location `s3://bucket/` or `s3://bucket/prefix/`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct S3Uri {
    bucket: String,
    prefix: String,
}

impl S3Uri {
    pub fn bucket(&self) -> &str {
        &self.bucket
    }
    /// The key prefix, empty or ending with `/`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

/// Why a text is not an S3 location, or a bucket name or key prefix is invalid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum S3Error {
    #[error("`{text}` is not an S3 location: write `s3://bucket/` or `s3://bucket/prefix/`")]
    NotS3 { text: String },
    #[error("`{text}` must end with `/` (e.g. `s3://{rest}/`) so the prefix is unambiguous")]
    NoSlash { text: String, rest: String },
    #[error(
        "`{bucket}` is not a valid S3 bucket name: use 3 to 63 lowercase letters, digits, `.` \
         and `-`, starting and ending with a letter or digit"
    )]
    Bucket { bucket: String },
    #[error("the prefix `{prefix}` must end with `/`")]
    PrefixEnd { prefix: String },
    #[error("the prefix `{prefix}` must be relative segments without empty, `.` or `..` parts")]
    PrefixSegments { prefix: String },
}

/// Checks an S3 bucket name against AWS's naming rules.
pub fn check_bucket_name(bucket: &str) -> Result<(), S3Error> {
    let chars_ok = bucket
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let edges_ok = bucket
        .bytes()
        .next()
        .zip(bucket.bytes().last())
        .is_some_and(|(a, z)| a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric());
    if !(3..=63).contains(&bucket.len()) || !chars_ok || !edges_ok || bucket.contains("..") {
        return Err(S3Error::Bucket {
            bucket: bucket.to_string(),
        });
    }
    Ok(())
}

/// Checks a key prefix: empty, or relative segments ending with `/`, without `.`/`..` segments.
pub fn check_key_prefix(prefix: &str) -> Result<(), S3Error> {
    if prefix.is_empty() {
        return Ok(());
    }
    if !prefix.ends_with('/') {
        return Err(S3Error::PrefixEnd {
            prefix: prefix.to_string(),
        });
    }
    let bad_segment = prefix[..prefix.len() - 1]
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == ".." || s.contains('\\'));
    if prefix.starts_with('/') || bad_segment || prefix.chars().any(char::is_control) {
        return Err(S3Error::PrefixSegments {
            prefix: prefix.to_string(),
        });
    }
    Ok(())
}

impl FromStr for S3Uri {
    type Err = S3Error;

    fn from_str(text: &str) -> Result<Self, S3Error> {
        let rest = text.strip_prefix("s3://").ok_or_else(|| S3Error::NotS3 {
            text: text.to_string(),
        })?;
        let (bucket, prefix) = rest.split_once('/').ok_or_else(|| S3Error::NoSlash {
            text: text.to_string(),
            rest: rest.to_string(),
        })?;
        check_bucket_name(bucket)?;
        check_key_prefix(prefix)?;
        Ok(Self {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }
}

impl fmt::Display for S3Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

super::string_value!(
    S3Uri,
    "S3Uri",
    "^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/([^/\\s]+/)*$",
    "An S3 location: `s3://bucket/` or `s3://bucket/prefix/` (ending with `/`).",
    ["s3://acme-mcp-artifacts/", "s3://acme-audit/airlock/"]
);

/// A virtual prefix clients use to address a root, `mcp://name/` or `mcp://name/sub/`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VirtualPrefix(String);

impl VirtualPrefix {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// True when one prefix contains the other, so a URI could resolve to either root.
    pub fn overlaps(&self, other: &VirtualPrefix) -> bool {
        self.0.starts_with(&other.0) || other.0.starts_with(&self.0)
    }
}

const PREFIX_HELP: &str = "write `mcp://NAME/` with a lowercase name, e.g. `mcp://repo/`";

/// Why a text is not a virtual prefix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VirtualPrefixError {
    #[error("`{text}` is not a virtual prefix: {}", PREFIX_HELP)]
    NotMcp { text: String },
    #[error("`{text}` must end with `/`: {}", PREFIX_HELP)]
    NoSlash { text: String },
    #[error("`{text}` is not a valid virtual prefix: {}", PREFIX_HELP)]
    Invalid { text: String },
}

impl FromStr for VirtualPrefix {
    type Err = VirtualPrefixError;

    fn from_str(text: &str) -> Result<Self, VirtualPrefixError> {
        let text_owned = || text.to_string();
        let rest = text
            .strip_prefix("mcp://")
            .ok_or_else(|| VirtualPrefixError::NotMcp { text: text_owned() })?;
        let Some(path) = rest.strip_suffix('/') else {
            return Err(VirtualPrefixError::NoSlash { text: text_owned() });
        };
        let segment_ok = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
                })
        };
        if !path.split('/').all(segment_ok) {
            return Err(VirtualPrefixError::Invalid { text: text_owned() });
        }
        Ok(Self(text.to_string()))
    }
}

impl fmt::Display for VirtualPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

super::string_value!(
    VirtualPrefix,
    "VirtualPrefix",
    "^mcp://[a-z0-9._-]+/([a-z0-9._-]+/)*$",
    "The virtual prefix clients use for a root, `mcp://NAME/` (ending with `/`).",
    ["mcp://repo/", "mcp://artifacts/"]
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_urls() {
        let url: HttpUrl = "http://docs.mcp.svc:8080/mcp".parse().unwrap();
        assert_eq!(
            (url.host(), url.port(), url.is_https()),
            ("docs.mcp.svc", 8080, false)
        );
        assert_eq!(
            "https://idp.example.com".parse::<HttpUrl>().unwrap().port(),
            443
        );
        assert!(
            "http://127.0.0.1:9000"
                .parse::<HttpUrl>()
                .unwrap()
                .is_loopback()
        );
        assert!("http://localhost".parse::<HttpUrl>().unwrap().is_loopback());
        assert!(
            !"http://example.com"
                .parse::<HttpUrl>()
                .unwrap()
                .is_loopback()
        );
        assert!(
            "ftp://x"
                .parse::<HttpUrl>()
                .unwrap_err()
                .to_string()
                .contains("scheme `ftp`")
        );
        assert!("idp.example.com".parse::<HttpUrl>().is_err());
        assert!(
            "https://u:p@x.com"
                .parse::<HttpUrl>()
                .unwrap()
                .has_credentials()
        );
    }

    #[test]
    fn s3_uris() {
        let uri: S3Uri = "s3://acme-audit/airlock/".parse().unwrap();
        assert_eq!((uri.bucket(), uri.prefix()), ("acme-audit", "airlock/"));
        assert_eq!("s3://acme-audit/".parse::<S3Uri>().unwrap().prefix(), "");
        assert!(
            "s3://acme-audit"
                .parse::<S3Uri>()
                .unwrap_err()
                .to_string()
                .contains("must end with `/`")
        );
        assert!("s3://Bad_Bucket/".parse::<S3Uri>().is_err());
        assert!("s3://bucket/../x/".parse::<S3Uri>().is_err());
        assert!("s3://bucket/a//".parse::<S3Uri>().is_err());
        assert!("s3://bucket/a/b".parse::<S3Uri>().is_err());
    }

    #[test]
    fn virtual_prefixes() {
        let repo: VirtualPrefix = "mcp://repo/".parse().unwrap();
        let docs: VirtualPrefix = "mcp://repo/docs/".parse().unwrap();
        let other: VirtualPrefix = "mcp://repository/".parse().unwrap();
        assert!(repo.overlaps(&docs));
        assert!(!repo.overlaps(&other));
        assert!("mcp://repo".parse::<VirtualPrefix>().is_err());
        assert!("file://repo/".parse::<VirtualPrefix>().is_err());
        assert!("mcp://../".parse::<VirtualPrefix>().is_err());
        assert!("mcp://Repo/".parse::<VirtualPrefix>().is_err());
    }
}

/// A Redis or Valkey server: `redis://host[:port][/db]`, or `rediss://` for TLS. The password
/// comes from a Secret (`passwordSecretRef`), never from the URL.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RedisUrl {
    url: url::Url,
    text: String,
}

impl RedisUrl {
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }
    /// The port, explicit or 6379.
    pub fn port(&self) -> u16 {
        self.url.port().unwrap_or(6379)
    }
    pub fn is_tls(&self) -> bool {
        self.url.scheme() == "rediss"
    }
    /// The URL as written in the configuration.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Why a text is not a Redis URL.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RedisUrlError {
    #[error("`{text}` is not a valid URL ({source}): write `redis://host:6379/0`")]
    Invalid {
        text: String,
        source: url::ParseError,
    },
    #[error(
        "`{text}` uses the scheme `{scheme}`: write `redis://host:port/db`, or `rediss://` for TLS"
    )]
    Scheme { text: String, scheme: String },
    #[error("`{text}` has no host")]
    NoHost { text: String },
    #[error(
        "`{text}` holds credentials: put the password in a Secret and reference it with `passwordSecretRef`"
    )]
    Credentials { text: String },
    #[error("`{text}`: the path must be a database number, such as `/0`")]
    Database { text: String },
    #[error("`{text}` has a query or fragment: write `redis://host:port/db` only")]
    Extra { text: String },
}

impl FromStr for RedisUrl {
    type Err = RedisUrlError;

    fn from_str(text: &str) -> Result<Self, RedisUrlError> {
        let owned = || text.to_string();
        let url = url::Url::parse(text).map_err(|source| RedisUrlError::Invalid {
            text: owned(),
            source,
        })?;
        if !matches!(url.scheme(), "redis" | "rediss") {
            return Err(RedisUrlError::Scheme {
                text: owned(),
                scheme: url.scheme().to_string(),
            });
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(RedisUrlError::NoHost { text: owned() });
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(RedisUrlError::Credentials { text: owned() });
        }
        let path = url.path().trim_start_matches('/');
        if !path.is_empty() && path.parse::<u16>().is_err() {
            return Err(RedisUrlError::Database { text: owned() });
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(RedisUrlError::Extra { text: owned() });
        }
        Ok(Self {
            url,
            text: text.to_string(),
        })
    }
}

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

super::string_value!(
    RedisUrl,
    "RedisUrl",
    "^rediss?://[^\\s/?#@]+(/[0-9]+)?$",
    "A Redis or Valkey server: redis://host:port/db, or rediss:// for TLS.",
    [
        "redis://redis.mcp-airlock.svc.cluster.local:6379/0",
        "rediss://redis.example.com:6380/1"
    ]
);

#[cfg(test)]
mod redis_url_tests {
    use super::*;

    #[test]
    fn redis_urls_name_a_server_and_a_database_only() {
        let url: RedisUrl = "redis://redis.ns.svc:6380/2".parse().unwrap();
        assert_eq!(
            (url.host(), url.port(), url.is_tls()),
            ("redis.ns.svc", 6380, false)
        );
        assert_eq!(
            "rediss://r.example.com".parse::<RedisUrl>().unwrap().port(),
            6379
        );
        for (bad, why) in [
            ("http://redis:6379", "scheme"),
            ("redis://:secret@redis:6379/0", "passwordSecretRef"),
            ("redis://redis:6379/zero", "database number"),
            ("redis://redis:6379/0?timeout=1", "query"),
            ("redis:///0", "no host"),
        ] {
            let error = bad.parse::<RedisUrl>().unwrap_err().to_string();
            assert!(error.contains(why), "{bad}: {error}");
        }
    }
}
