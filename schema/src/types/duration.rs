//! Durations written as `250ms`, `30s`, `2m`, `720h`, `90d` or compounds such as `1h30m`.

use std::fmt;
use std::str::FromStr;

/// A non-negative span of time with millisecond resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration {
    millis: u64,
}

const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

impl Duration {
    pub const fn from_millis(millis: u64) -> Self {
        Self { millis }
    }
    pub const fn from_secs(secs: u64) -> Self {
        Self {
            millis: secs * 1_000,
        }
    }
    pub const fn as_millis(self) -> u64 {
        self.millis
    }
    pub const fn as_secs(self) -> u64 {
        self.millis / 1_000
    }
    pub fn as_secs_f64(self) -> f64 {
        self.millis as f64 / 1_000.0
    }
    pub const fn as_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.millis)
    }
    pub const fn is_zero(self) -> bool {
        self.millis == 0
    }
}

const HELP: &str =
    "write a number followed by a unit: ms, s, m, h or d (e.g. `30s`, `2m`, `90d`, `1h30m`)";

/// Why a text is not a duration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration: {}", HELP)]
    Empty,
    #[error("invalid duration `{text}`: {}", HELP)]
    Invalid { text: String },
    #[error("duration `{text}` has no unit: {}", HELP)]
    NoUnit { text: String },
    #[error("unknown duration unit `{unit}` in `{text}`: {}", HELP)]
    UnknownUnit { unit: String, text: String },
    #[error("duration `{text}` is too large")]
    TooLarge { text: String },
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, DurationError> {
        let text_owned = || text.to_string();
        if text.is_empty() {
            return Err(DurationError::Empty);
        }
        let bytes = text.as_bytes();
        let mut total: u64 = 0;
        let mut pos = 0;
        while pos < bytes.len() {
            let digits_start = pos;
            while pos < bytes.len() && bytes[pos].is_ascii_digit() {
                pos += 1;
            }
            if digits_start == pos {
                return Err(DurationError::Invalid { text: text_owned() });
            }
            let number: u64 = text[digits_start..pos]
                .parse()
                .map_err(|_| DurationError::TooLarge { text: text_owned() })?;
            let unit_start = pos;
            while pos < bytes.len() && bytes[pos].is_ascii_alphabetic() {
                pos += 1;
            }
            let unit = &text[unit_start..pos];
            let Some((_, factor)) = UNITS.iter().find(|(name, _)| *name == unit) else {
                return Err(if unit.is_empty() {
                    DurationError::NoUnit { text: text_owned() }
                } else {
                    DurationError::UnknownUnit {
                        unit: unit.to_string(),
                        text: text_owned(),
                    }
                });
            };
            total = number
                .checked_mul(*factor)
                .and_then(|part| total.checked_add(part))
                .ok_or_else(|| DurationError::TooLarge { text: text_owned() })?;
        }
        Ok(Self { millis: total })
    }
}

impl fmt::Display for Duration {
    /// The canonical spelling: the largest units first, e.g. `90000ms` prints as `1m30s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.millis == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.millis;
        for (unit, factor) in UNITS {
            if rest >= factor {
                write!(f, "{}{unit}", rest / factor)?;
                rest %= factor;
            }
        }
        Ok(())
    }
}

super::string_value!(
    Duration,
    "Duration",
    "^([0-9]+(ms|s|m|h|d))+$",
    "A duration: a number followed by a unit (ms, s, m, h, d), e.g. `30s`, `2m`, `90d`, `1h30m`.",
    ["30s", "2m", "90d"]
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_compounds() {
        assert_eq!("250ms".parse::<Duration>().unwrap().as_millis(), 250);
        assert_eq!("30s".parse::<Duration>().unwrap().as_secs(), 30);
        assert_eq!("2m".parse::<Duration>().unwrap().as_secs(), 120);
        assert_eq!("720h".parse::<Duration>().unwrap().as_secs(), 720 * 3600);
        assert_eq!("90d".parse::<Duration>().unwrap().as_secs(), 90 * 86_400);
        assert_eq!("1h30m".parse::<Duration>().unwrap().as_secs(), 5_400);
    }

    #[test]
    fn rejects_with_reason() {
        assert!(
            "".parse::<Duration>()
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        assert!(
            "30".parse::<Duration>()
                .unwrap_err()
                .to_string()
                .contains("no unit")
        );
        assert!(
            "30sec"
                .parse::<Duration>()
                .unwrap_err()
                .to_string()
                .contains("unknown duration unit `sec`")
        );
        assert!("-1s".parse::<Duration>().is_err());
        assert!("1.5s".parse::<Duration>().is_err());
        assert!(
            "99999999999999999999d"
                .parse::<Duration>()
                .unwrap_err()
                .to_string()
                .contains("too large")
        );
        assert!(
            "999999999999999d"
                .parse::<Duration>()
                .unwrap_err()
                .to_string()
                .contains("too large")
        );
    }

    #[test]
    fn prints_canonically() {
        assert_eq!("90000ms".parse::<Duration>().unwrap().to_string(), "1m30s");
        assert_eq!("0s".parse::<Duration>().unwrap().to_string(), "0s");
        assert_eq!("48h".parse::<Duration>().unwrap().to_string(), "2d");
    }
}
