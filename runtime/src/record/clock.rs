//! RFC 3339 timestamps in UTC, as the audit trail (milliseconds) and the log lines
//! (microseconds) write them: digits written directly, no formatter, because every request
//! writes two of them.

use airlock_schema::types::civil_from_days;
use std::time::Duration;

/// How many digits of the second's fraction a timestamp carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fraction {
    Millis,
    Micros,
}

/// Appends `since_epoch` as `YYYY-MM-DDTHH:MM:SS.fffZ` (or `.ffffffZ`).
pub fn write_rfc3339(since_epoch: Duration, fraction: Fraction, out: &mut Vec<u8>) {
    let seconds = since_epoch.as_secs();
    let (days, second_of_day) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    digits(year.clamp(0, 9999) as u64, 4, out);
    out.push(b'-');
    digits(u64::from(month), 2, out);
    out.push(b'-');
    digits(u64::from(day), 2, out);
    out.push(b'T');
    digits(second_of_day / 3600, 2, out);
    out.push(b':');
    digits(second_of_day / 60 % 60, 2, out);
    out.push(b':');
    digits(second_of_day % 60, 2, out);
    out.push(b'.');
    match fraction {
        Fraction::Millis => digits(u64::from(since_epoch.subsec_millis()), 3, out),
        Fraction::Micros => digits(u64::from(since_epoch.subsec_micros()), 6, out),
    }
    out.push(b'Z');
}

/// `value` in exactly `width` decimal digits, zero-padded (`value` < 10^width).
fn digits(mut value: u64, width: usize, out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + width, b'0');
    for slot in out[start..].iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(since_epoch: Duration, fraction: Fraction) -> String {
        let mut out = Vec::new();
        write_rfc3339(since_epoch, fraction, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn timestamps_are_rfc3339_with_their_fraction() {
        let cases = [
            (Duration::ZERO, Fraction::Millis, "1970-01-01T00:00:00.000Z"),
            (
                Duration::from_millis(1_795_394_460_123),
                Fraction::Millis,
                "2026-11-23T00:41:00.123Z",
            ),
            (
                Duration::from_micros(1_795_394_460_123_456),
                Fraction::Micros,
                "2026-11-23T00:41:00.123456Z",
            ),
            (
                Duration::from_micros(951_782_400_000_007),
                Fraction::Micros,
                "2000-02-29T00:00:00.000007Z",
            ),
            (
                Duration::from_secs(253_402_300_799),
                Fraction::Millis,
                "9999-12-31T23:59:59.000Z",
            ),
            (
                Duration::from_micros(4_107_542_399_999_999),
                Fraction::Micros,
                "2100-02-28T23:59:59.999999Z",
            ),
        ];
        for (since_epoch, fraction, expected) in cases {
            assert_eq!(written(since_epoch, fraction), expected);
        }
    }
}
