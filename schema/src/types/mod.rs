//! Typed scalar values of the contract: each one parses from the string users write in
//! `airlock.yaml`, serializes back to its canonical spelling, and publishes a JSON Schema with a
//! pattern, a description and examples so editors can check it as the user types.
//!
//! Every type here implements [`FromStr`](std::str::FromStr) with a typed error (`DurationError`,
//! `NameError`, …) whose message is written for the person who typed the value; the compiler
//! shows that message next to the offending span.

mod cidr;
mod cron;
mod duration;
mod names;
mod quantity;
mod rate;
mod refs;
pub mod urls;

pub use cidr::{CidrError, IpCidr};
pub use cron::{Cron, CronError, civil_from_days};
pub use duration::{Duration, DurationError};
pub use names::{
    DnsLabel, DnsSubdomain, ImageDigest, LABEL_VALUE, NameError, PROMETHEUS_LABEL, PatternName,
    QUALIFIED_NAME, ToolName, is_subdomain,
};
pub use quantity::{Quantity, QuantityError};
pub use rate::{Rate, RateError};
pub use refs::{EnvValue, SecretEnv, SecretKeyRef, SecretRef};
pub use urls as url_checks;
pub use urls::{
    HttpUrl, HttpUrlError, RedisUrl, RedisUrlError, S3Error, S3Uri, VirtualPrefix,
    VirtualPrefixError,
};

/// Implements `Serialize`/`Deserialize` through `Display`/`FromStr` and a string JSON Schema.
macro_rules! string_value {
    ($ty:ty, $name:literal, $pattern:expr, $description:literal, [$($example:literal),+]) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "pattern": $pattern,
                    "description": $description,
                    "examples": [$($example),+],
                })
            }
        }
    };
}
pub(crate) use string_value;

/// The kind of a typed scalar, named after its JSON Schema definition. The compiler uses it to
/// re-parse a value that failed the schema's pattern and show the precise reason.
pub fn explain_invalid(definition: &str, text: &str) -> Option<String> {
    fn reason<T: std::str::FromStr<Err: std::fmt::Display>>(text: &str) -> Option<String> {
        text.parse::<T>().err().map(|error| error.to_string())
    }
    match definition {
        "Duration" => reason::<Duration>(text),
        "Rate" => reason::<Rate>(text),
        "Quantity" => reason::<Quantity>(text),
        "HttpUrl" => reason::<HttpUrl>(text),
        "RedisUrl" => reason::<RedisUrl>(text),
        "S3Uri" => reason::<S3Uri>(text),
        "VirtualPrefix" => reason::<VirtualPrefix>(text),
        "DnsLabel" => reason::<DnsLabel>(text),
        "DnsSubdomain" => reason::<DnsSubdomain>(text),
        "IpCidr" => reason::<IpCidr>(text),
        "PatternName" => reason::<PatternName>(text),
        "ImageDigest" => reason::<ImageDigest>(text),
        "ToolName" => reason::<ToolName>(text),
        _ => None,
    }
}
