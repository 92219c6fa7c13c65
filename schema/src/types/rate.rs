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

impl FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let help = "write COUNT/PERIOD with PERIOD one of s, min, h (e.g. `200/min`, `10/s`)";
        let Some((count, period)) = text.split_once('/') else {
            return Err(format!("invalid rate `{text}`: {help}"));
        };
        let count = count.trim();
        let count: u32 = count.parse().map_err(|_| {
            if !count.is_empty() && count.bytes().all(|b| b.is_ascii_digit()) {
                format!(
                    "rate `{text}` is too large: the count is at most {} per period; use a longer period or remove the limit",
                    u32::MAX
                )
            } else {
                format!("invalid rate `{text}`: the count must be a whole number; {help}")
            }
        })?;
        if count == 0 {
            return Err(format!(
                "rate `{text}` allows nothing: use a positive count, or remove the limit"
            ));
        }
        let per = match period.trim() {
            "s" | "sec" | "second" => Period::Second,
            "m" | "min" | "minute" => Period::Minute,
            "h" | "hour" => Period::Hour,
            other => return Err(format!("unknown rate period `{other}` in `{text}`: {help}")),
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
        assert!("200".parse::<Rate>().unwrap_err().contains("COUNT/PERIOD"));
        assert!(
            "0/min"
                .parse::<Rate>()
                .unwrap_err()
                .contains("allows nothing")
        );
        assert!(
            "1.5/s"
                .parse::<Rate>()
                .unwrap_err()
                .contains("whole number")
        );
        assert!(
            "4294967296/s"
                .parse::<Rate>()
                .unwrap_err()
                .contains("too large")
        );
        assert!(
            "10/day"
                .parse::<Rate>()
                .unwrap_err()
                .contains("unknown rate period `day`")
        );
    }
}
