//! Kubernetes resource quantities (`500m`, `1`, `512Mi`, `100Gi`, `1e3`).

use std::fmt;
use std::str::FromStr;

/// A Kubernetes quantity, kept in the user's spelling (so manifests show what they wrote) with
/// its numeric value for comparisons such as "request must not exceed limit".
#[derive(Clone, Debug, PartialEq)]
pub struct Quantity {
    text: String,
    value: f64,
}

const SUFFIXES: [(&str, f64); 13] = [
    ("Ki", 1024.0),
    ("Mi", 1_048_576.0),
    ("Gi", 1_073_741_824.0),
    ("Ti", 1_099_511_627_776.0),
    ("Pi", 1_125_899_906_842_624.0),
    ("Ei", 1_152_921_504_606_846_976.0),
    ("n", 1e-9),
    ("u", 1e-6),
    ("m", 1e-3),
    ("k", 1e3),
    ("M", 1e6),
    ("G", 1e9),
    ("T", 1e12),
];

impl Quantity {
    /// The numeric value in base units (cores, bytes).
    pub fn value(&self) -> f64 {
        self.value
    }
    pub fn as_str(&self) -> &str {
        &self.text
    }
    /// The value as a whole number of base units, rounded up (bytes for sizes).
    pub fn as_u64(&self) -> u64 {
        self.value.ceil().clamp(0.0, u64::MAX as f64) as u64
    }
}

/// Why a text is not a Kubernetes quantity.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error(
        "invalid quantity `{text}`: write a Kubernetes quantity such as `500m`, `2`, `512Mi` or `100Gi`"
    )]
    Invalid { text: String },
    #[error("quantity `{text}` is too large")]
    TooLarge { text: String },
}

impl FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(text: &str) -> Result<Self, QuantityError> {
        let invalid = || QuantityError::Invalid {
            text: text.to_string(),
        };
        let trimmed = text.strip_prefix('+').unwrap_or(text);
        let (number, factor) = SUFFIXES
            .iter()
            .chain([("P", 1e15), ("E", 1e18)].iter())
            .find_map(|(suffix, factor)| trimmed.strip_suffix(suffix).map(|n| (n, *factor)))
            .unwrap_or((trimmed, 1.0));
        let plain = !number.is_empty()
            && number.chars().all(|c| c.is_ascii_digit() || c == '.')
            && number.chars().filter(|c| *c == '.').count() <= 1
            && number != ".";
        let exponent_form = factor == 1.0
            && number.contains(['e', 'E'])
            && number.split(['e', 'E']).count() == 2
            && number.parse::<f64>().is_ok();
        if !(plain || exponent_form) {
            return Err(invalid());
        }
        let base: f64 = number.parse().map_err(|_| invalid())?;
        let value = base * factor;
        if !value.is_finite() {
            return Err(QuantityError::TooLarge {
                text: text.to_string(),
            });
        }
        Ok(Self {
            text: text.to_string(),
            value,
        })
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl serde::Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Quantity {
    /// Accepts `cpu: 1` and `cpu: 0.5` as YAML numbers as well as strings, as kubectl does.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Unsigned(u64),
            Float(f64),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Text(text) => text,
            Raw::Unsigned(n) => n.to_string(),
            Raw::Float(n) => n.to_string(),
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Quantity {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Quantity".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A Kubernetes quantity, e.g. `500m` (CPU), `512Mi` or `100Gi` (bytes).",
            "anyOf": [
                {
                    "type": "string",
                    "pattern": "^\\+?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
                },
                { "type": "number", "minimum": 0 }
            ],
            "examples": ["500m", "512Mi", "100Gi"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_values() {
        assert_eq!("500m".parse::<Quantity>().unwrap().value(), 0.5);
        assert_eq!(
            "512Mi".parse::<Quantity>().unwrap().as_u64(),
            512 * 1024 * 1024
        );
        assert_eq!("1".parse::<Quantity>().unwrap().value(), 1.0);
        assert_eq!("1e3".parse::<Quantity>().unwrap().value(), 1000.0);
        assert_eq!("256Ki".parse::<Quantity>().unwrap().as_u64(), 262_144);
        assert_eq!("1.5Gi".parse::<Quantity>().unwrap().as_str(), "1.5Gi");
    }

    #[test]
    fn rejects() {
        for bad in ["", "Mi", "12MB", "1..2", "abc", "-1", "1 Gi", ".", "1e"] {
            assert!(bad.parse::<Quantity>().is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers_deserialize() {
        let q: Quantity = serde_json::from_str("0.5").unwrap();
        assert_eq!(q.value(), 0.5);
        let q: Quantity = serde_json::from_str("2").unwrap();
        assert_eq!(q.as_str(), "2");
    }
}
