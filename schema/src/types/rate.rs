//! Rates written as `200/min`, `10/s` or `5000/h`.

use std::fmt;
use std::str::FromStr;

/// A number of events allowed per period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rate {
    pub count: u32,
    pub per: Period,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Period {
    Second,
    Minute,
    Hour,
}

impl Period {
    pub const fn seconds(self) -> u64 {
        match self {
            Period::Second => 1,
            Period::Minute => 60,
            Period::Hour => 3_600,
        }
    }
    const fn suffix(self) -> &'static str {
        match self {
            Period::Second => "s",
            Period::Minute => "min",
            Period::Hour => "h",
        }
    }
}

impl Rate {
    /// Events per second, for token-bucket refill.
    pub fn per_second(self) -> f64 {
        f64::from(self.count) / self.per.seconds() as f64
    }
}

const HELP: &str = "write COUNT/PERIOD with PERIOD one of s, min, h (e.g. `200/min`, `10/s`)";

/// Why a text is not a rate.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    #[error("invalid rate `{text}`: {}", HELP)]
    NoPeriod { text: String },
    #[error("invalid rate `{text}`: the count must be a whole number; {}", HELP)]
    CountNotANumber { text: String },
    #[error(
        "rate `{text}` is too large: the count is at most {} per period; use a longer period or remove the limit",
        u32::MAX
    )]
    TooLarge { text: String },
    #[error("rate `{text}` allows nothing: use a positive count, or remove the limit")]
    Zero { text: String },
    #[error("unknown rate period `{period}` in `{text}`: {}", HELP)]
    UnknownPeriod { period: String, text: String },
}

impl FromStr for Rate {
    type Err = RateError;

    fn from_str(text: &str) -> Result<Self, RateError> {
        let text_owned = || text.to_string();
        let Some((count, period)) = text.split_once('/') else {
            return Err(RateError::NoPeriod { text: text_owned() });
        };
        let count = count.trim();
        let count: u32 = count.parse().map_err(|_| {
            if !count.is_empty() && count.bytes().all(|b| b.is_ascii_digit()) {
                RateError::TooLarge { text: text_owned() }
            } else {
                RateError::CountNotANumber { text: text_owned() }
            }
        })?;
        if count == 0 {
            return Err(RateError::Zero { text: text_owned() });
        }
        let per = match period.trim() {
            "s" | "sec" | "second" => Period::Second,
            "m" | "min" | "minute" => Period::Minute,
            "h" | "hour" => Period::Hour,
            other => {
                return Err(RateError::UnknownPeriod {
                    period: other.to_string(),
                    text: text_owned(),
                });
            }
        };
        Ok(Self { count, per })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.count, self.per.suffix())
    }
}

super::string_value!(
    Rate,
    "Rate",
    "^[0-9]+ */ *(s|sec|second|m|min|minute|h|hour)$",
    "A rate: COUNT/PERIOD where PERIOD is s, min or h, e.g. `200/min`.",
    ["200/min", "10/s"]
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let rate: Rate = "200/min".parse().unwrap();
        assert_eq!((rate.count, rate.per), (200, Period::Minute));
        assert!((rate.per_second() - 200.0 / 60.0).abs() < 1e-9);
        assert_eq!("10/s".parse::<Rate>().unwrap().to_string(), "10/s");
        assert_eq!("5/minute".parse::<Rate>().unwrap().to_string(), "5/min");
    }

    #[test]
    fn rejects_with_reason() {
        assert!(
            "200"
                .parse::<Rate>()
                .unwrap_err()
                .to_string()
                .contains("COUNT/PERIOD")
        );
        assert!(
            "0/min"
                .parse::<Rate>()
                .unwrap_err()
                .to_string()
                .contains("allows nothing")
        );
        assert!(
            "1.5/s"
                .parse::<Rate>()
                .unwrap_err()
                .to_string()
                .contains("whole number")
        );
        assert!(
            "4294967296/s"
                .parse::<Rate>()
                .unwrap_err()
                .to_string()
                .contains("too large")
        );
        assert!(
            "10/day"
                .parse::<Rate>()
                .unwrap_err()
                .to_string()
                .contains("unknown rate period `day`")
        );
    }
}
