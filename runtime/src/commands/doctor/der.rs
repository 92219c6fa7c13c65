//! Just enough DER to read an X.509 certificate's `notAfter` (for the expiry of `x5c`
//! certificates in a key set); no signature or chain is checked here.

/// One TLV: its tag, its content, and what follows it.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let count = (first & 0x7f) as usize;
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let length = rest[..count]
            .iter()
            .fold(0usize, |n, &b| (n << 8) | b as usize);
        (length, &rest[count..])
    };
    (rest.len() >= length).then(|| (tag, &rest[..length], &rest[length..]))
}

/// Seconds since the epoch of the certificate's `notAfter`.
pub fn not_after(certificate: &[u8]) -> Option<i64> {
    let (0x30, certificate, _) = tlv(certificate)? else {
        return None;
    };
    let (0x30, mut tbs, _) = tlv(certificate)? else {
        return None;
    };
    // [0] version (optional), serialNumber, signature, issuer, then validity.
    if tbs.first() == Some(&0xa0) {
        tbs = tlv(tbs)?.2;
    }
    for _ in 0..3 {
        tbs = tlv(tbs)?.2;
    }
    let (0x30, validity, _) = tlv(tbs)? else {
        return None;
    };
    let (_, _, rest) = tlv(validity)?;
    let (tag, time, _) = tlv(rest)?;
    parse_time(tag, std::str::from_utf8(time).ok()?)
}

fn parse_time(tag: u8, text: &str) -> Option<i64> {
    let digits = text.strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 => {
            let yy: i64 = digits.get(..2)?.parse().ok()?;
            (
                if yy >= 50 { 1900 + yy } else { 2000 + yy },
                digits.get(2..)?,
            )
        }
        0x18 => (digits.get(..4)?.parse().ok()?, digits.get(4..)?),
        _ => return None,
    };
    let field = |i: usize| -> Option<i64> { rest.get(i..i + 2)?.parse().ok() };
    let (month, day, hour, minute, second) =
        (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_convert_to_epoch_seconds() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(parse_time(0x17, "491231235959Z"), Some(2_524_607_999));
        assert_eq!(parse_time(0x18, "20000301000000Z"), Some(951_868_800));
        assert_eq!(parse_time(0x17, "500101000000Z"), Some(-631_152_000));
    }

    #[test]
    fn a_real_certificate_yields_its_not_after() {
        // A self-signed certificate (`openssl req -x509 -days 400`); cert.not_after holds its notAfter
        // as `openssl x509 -enddate` printed it, converted with `date +%s`.
        let pem = include_str!("testdata/cert.pem");
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        use base64::Engine;
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        let expected = include_str!("testdata/cert.not_after")
            .trim()
            .parse::<i64>()
            .unwrap();
        assert_eq!(not_after(&der), Some(expected));
        assert_eq!(
            not_after(&der[..40]),
            None,
            "truncated input is refused, not misread"
        );
    }
}
