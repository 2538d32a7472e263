//! Record times: RFC 3339 (a fast path for the common `…Z` form) and epoch seconds or
//! milliseconds, as numbers or strings.

use chrono::DateTime;

/// Epoch seconds or milliseconds (values above 1e11 are taken as milliseconds).
pub(super) fn epoch_ms(v: f64) -> Option<i64> {
    if !v.is_finite() || v <= 0.0 {
        return None;
    }
    let ms = if v > 1e11 { v } else { v * 1000.0 };
    (ms < 1e14).then_some(ms as i64)
}

/// RFC 3339, or epoch seconds/milliseconds written as a string.
pub fn parse_time(s: &str) -> Option<i64> {
    if let Some(ms) = parse_utc_fast(s.as_bytes()) {
        return Some(ms);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    s.parse::<f64>().ok().and_then(epoch_ms)
}

/// `YYYY-MM-DDTHH:MM:SS[.fff…]Z`, the common form, without the general parser.
fn parse_utc_fast(b: &[u8]) -> Option<i64> {
    if b.len() < 20 || b.len() > 30 || *b.last()? != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b.get(r)?.iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    if b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut ms = 0;
    let frac = &b[19..b.len() - 1];
    if !frac.is_empty() {
        if frac[0] != b'.' || frac.len() < 2 {
            return None;
        }
        let digits = &frac[1..];
        let mut scale = 100;
        for &c in digits {
            if !c.is_ascii_digit() {
                return None;
            }
            ms += i64::from(c - b'0') * scale;
            scale /= 10;
        }
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + h) * 60 + mi) * 60_000 + sec * 1000 + ms)
}
