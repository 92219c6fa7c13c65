//! Five-field cron schedules (`minute hour day-of-month month day-of-week`, UTC), as used by the
//! audit cleanup and export jobs, with the next time a schedule fires.

use std::str::FromStr;

/// A parsed cron schedule: the allowed values of each field as bit sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u32,
    days: u32,
    months: u16,
    weekdays: u8,
    /// When both day fields are restricted, cron fires when either matches.
    day_or: bool,
}

const FIELDS: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
];
const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// Why a text is not a cron schedule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    #[error(
        "`{text}` has {count} fields: a schedule has 5 (minute hour day-of-month month day-of-week), e.g. `0 1 * * *`"
    )]
    FieldCount { text: String, count: usize },
    #[error("`{text}` is not a valid {field}")]
    NotAValue { text: String, field: &'static str },
    #[error("{field} `{text}` is outside {min}-{max}")]
    OutOfRange {
        field: &'static str,
        text: String,
        min: u32,
        max: u32,
    },
    #[error("`{step}` is not a valid step in the {field} field")]
    InvalidStep { step: String, field: &'static str },
    #[error("a step of 0 in the {field} field never fires")]
    ZeroStep { field: &'static str },
    #[error("the range `{range}` in the {field} field is reversed")]
    Reversed { range: String, field: &'static str },
}

fn value(text: &str, field: usize) -> Result<u32, CronError> {
    let upper = text.to_ascii_uppercase();
    let named = match field {
        3 => MONTHS
            .iter()
            .position(|m| *m == upper)
            .map(|i| i as u32 + 1),
        4 => DAYS.iter().position(|d| *d == upper).map(|i| i as u32),
        _ => None,
    };
    let (name, min, max) = FIELDS[field];
    let number = match named {
        Some(n) => n,
        None => text.parse().map_err(|_| CronError::NotAValue {
            text: text.to_string(),
            field: name,
        })?,
    };
    if number < min || number > max {
        return Err(CronError::OutOfRange {
            field: name,
            text: text.to_string(),
            min,
            max,
        });
    }
    Ok(number)
}

fn field_bits(text: &str, field: usize) -> Result<u64, CronError> {
    let (name, min, max) = FIELDS[field];
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step.parse().map_err(|_| CronError::InvalidStep {
                    step: step.to_string(),
                    field: name,
                })?;
                if step == 0 {
                    return Err(CronError::ZeroStep { field: name });
                }
                (range, step)
            }
            None => (part, 1),
        };
        let (start, end) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (value(a, field)?, value(b, field)?);
            if a > b {
                return Err(CronError::Reversed {
                    range: range.to_string(),
                    field: name,
                });
            }
            (a, b)
        } else {
            let a = value(range, field)?;
            (a, if part.contains('/') { max } else { a })
        };
        let mut v = start;
        while v <= end {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

impl FromStr for Cron {
    type Err = CronError;

    fn from_str(text: &str) -> Result<Self, CronError> {
        let expanded = match text.trim() {
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            "@yearly" | "@annually" => "0 0 1 1 *",
            other => other,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(CronError::FieldCount {
                text: text.to_string(),
                count: fields.len(),
            });
        }
        let mut bits = [0u64; 5];
        for (i, field) in fields.iter().enumerate() {
            bits[i] = field_bits(field, i)?;
        }
        // Sunday is 0 or 7.
        let weekdays = ((bits[4] | (bits[4] >> 7)) & 0x7f) as u8;
        Ok(Self {
            minutes: bits[0],
            hours: bits[1] as u32,
            days: bits[2] as u32,
            months: bits[3] as u16,
            weekdays,
            day_or: fields[2] != "*" && fields[4] != "*",
        })
    }
}

impl Cron {
    /// The first whole minute strictly after `unix_seconds` at which the schedule fires
    /// (seconds since the epoch, UTC), or `None` if it never fires within 5 years (e.g. 31 Feb).
    pub fn next_after(&self, unix_seconds: i64) -> Option<i64> {
        let mut minute = unix_seconds.div_euclid(60) + 1;
        let limit = minute + 5 * 366 * 24 * 60;
        while minute < limit {
            let days_since_epoch = minute.div_euclid(1440);
            let (_, month, day) = civil_from_days(days_since_epoch);
            let weekday = (days_since_epoch + 4).rem_euclid(7) as u32; // 1970-01-01 was a Thursday.
            let day_ok = if self.day_or {
                self.days & (1 << day) != 0 || self.weekdays & (1 << weekday) != 0
            } else {
                self.days & (1 << day) != 0 && self.weekdays & (1 << weekday) != 0
            };
            if self.months & (1 << month) == 0 || !day_ok {
                minute = (days_since_epoch + 1) * 1440;
                continue;
            }
            let hour = (minute.rem_euclid(1440) / 60) as u32;
            if self.hours & (1 << hour) == 0 {
                minute = minute - minute.rem_euclid(60) + 60;
                continue;
            }
            if self.minutes & (1 << minute.rem_euclid(60)) != 0 {
                return Some(minute * 60);
            }
            minute += 1;
        }
        None
    }
}

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert!("0 1 * * *".parse::<Cron>().is_ok());
        assert!("*/15 0-6,22 1 JAN-MAR mon-fri".parse::<Cron>().is_ok());
        assert!("@daily".parse::<Cron>().is_ok());
        assert!(
            "0 1 * *"
                .parse::<Cron>()
                .unwrap_err()
                .to_string()
                .contains("4 fields")
        );
        assert!(
            "60 1 * * *"
                .parse::<Cron>()
                .unwrap_err()
                .to_string()
                .contains("outside 0-59")
        );
        assert!(
            "0 5-1 * * *"
                .parse::<Cron>()
                .unwrap_err()
                .to_string()
                .contains("reversed")
        );
        assert!(
            "*/0 * * * *"
                .parse::<Cron>()
                .unwrap_err()
                .to_string()
                .contains("never fires")
        );
    }

    #[test]
    fn next_fire_times() {
        // 2026-11-23T00:41:00Z
        let now = 1_795_394_460;
        let daily = "0 1 * * *".parse::<Cron>().unwrap();
        assert_eq!(daily.next_after(now), Some(1_795_394_460 - 41 * 60 + 3600));
        let never = "0 0 31 2 *".parse::<Cron>().unwrap();
        assert_eq!(never.next_after(now), None);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_780), (2026, 11, 23));
    }
}
