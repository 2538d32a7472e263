//! `query --from/--to`: times as a user types them, checked and turned into window starts.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

use crate::error::Error;

/// A value the user typed that is not a time or span: a usage error, said as it is.
fn usage(message: String) -> Error {
    Error::Usage(message)
}

/// `--since`: a span back from now (`90s`, `15m`, `2h`, `1d`), in whole minutes (rounded
/// up), at most 30 days.
/// `--since` (90s, 15m, 2h, 1d) before `now`, as an RFC 3339 time (to the minute).
pub fn since(text: &str, now: chrono::DateTime<chrono::Utc>) -> Result<String, Error> {
    let back = chrono::Duration::minutes(i64::from(minutes_ago(text)?));
    Ok((now - back).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

pub fn minutes_ago(text: &str) -> Result<u32, Error> {
    let t = text.trim();
    let (n, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = n.parse().map_err(|_| {
        usage(format!(
            "--since {text:?}: a number and a unit, e.g. 90s, 15m, 2h, 1d"
        ))
    })?;
    let secs = match unit {
        "s" => n,
        "m" | "" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => return Err(usage(format!("--since {text:?}: the unit is s, m, h or d"))),
    };
    if secs == 0 || secs > 30 * 86_400 {
        return Err(usage(format!("--since {text:?}: between 1s and 30d")));
    }
    Ok(secs.div_ceil(60) as u32)
}

/// The window-start format of the metrics table's sort key.
const WINDOW_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// A time: RFC 3339 with `Z` or an offset (a space may replace the `T`), or epoch seconds
/// (up to 11 digits) or milliseconds, as UTC epoch seconds.
pub fn parse(text: &str) -> Result<i64, Error> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = t
            .parse()
            .map_err(|_| usage(format!("{text:?}: too large for a time")))?;
        // The function's own rule: above 1e11, milliseconds.
        let secs = if n > 100_000_000_000 { n / 1000 } else { n };
        return Utc
            .timestamp_opt(secs, 0)
            .single()
            .map(|d| d.timestamp())
            .ok_or_else(|| usage(format!("{text:?}: out of range")));
    }
    let rfc = t.replacen(' ', "T", 1);
    if let Ok(d) = DateTime::parse_from_rfc3339(&rfc) {
        return Ok(d.timestamp());
    }
    if NaiveDateTime::parse_from_str(&rfc, "%Y-%m-%dT%H:%M:%S").is_ok() {
        return Err(usage(format!(
            "{text:?} has no UTC offset: add Z (UTC) or one like +01:00, e.g. {rfc}Z"
        )));
    }
    Err(usage(format!(
        "{text:?} is not a time: use RFC 3339 (2026-11-30T05:56:00Z, \
         2026-11-30T06:56:00+01:00) or epoch seconds or milliseconds"
    )))
}

/// Window starts `[from, to]` for a query: `from` moves back to the start of its window, so
/// the window holding it is included; `from` after `to` is an error.
pub fn window_range(
    from: Option<&str>,
    to: Option<&str>,
    window_secs: i64,
) -> Result<(String, String), Error> {
    let from = from.map(parse).transpose()?;
    let to = to.map(parse).transpose()?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(usage("--from is after --to".into()));
    }
    let format = |secs: i64| {
        Utc.timestamp_opt(secs, 0)
            .single()
            .map(|d| d.format(WINDOW_FORMAT).to_string())
            .ok_or_else(|| usage(format!("{secs}: out of range")))
    };
    let from = from.map_or(Ok("0000-01-01T00:00:00Z".to_owned()), |f| {
        format(f - f.rem_euclid(window_secs.max(1)))
    })?;
    let to = to.map_or(Ok("9999-12-31T23:59:59Z".to_owned()), format)?;
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(from: &str, to: &str) -> Result<(String, String), String> {
        window_range(Some(from), Some(to), 60).map_err(|e| e.to_string())
    }

    /// `parse`, its error as the text the user reads.
    fn parsed(text: &str) -> Result<i64, String> {
        parse(text).map_err(|e| e.to_string())
    }

    #[test]
    fn good_forms_name_the_same_instant() {
        let want = Ok(1_796_018_160); // 2026-11-30T05:56:00Z, by `date -d … +%s`
        for text in [
            "2026-11-30T05:56:00Z",
            "2026-11-30 05:56:00Z",
            "2026-11-30T06:56:00+01:00",
            "2026-11-30T05:56:00.000Z",
            "1796018160",
            "1796018160000",
        ] {
            assert_eq!(parsed(text), want, "{text}");
        }
    }

    #[test]
    fn bad_forms_are_refused_with_a_reason() {
        for (text, reason) in [
            ("2026-11-30 05:56:00", "no UTC offset"),
            ("2026-13-45T99:00:00Z", "not a time"),
            ("yesterday", "not a time"),
            ("", "not a time"),
            ("99999999999999999999", "too large"),
        ] {
            let e = parsed(text).expect_err(text);
            assert!(e.contains(reason), "{text}: {e}");
        }
    }

    #[test]
    fn ranges_start_at_the_window_holding_from() {
        assert_eq!(
            range("2026-11-30T05:56:30Z", "2026-11-30T05:58:00Z"),
            Ok(("2026-11-30T05:56:00Z".into(), "2026-11-30T05:58:00Z".into()))
        );
        assert_eq!(
            range("2026-11-30T05:59:00Z", "2026-11-30T05:58:00Z"),
            Err("--from is after --to".into())
        );
        assert_eq!(
            window_range(None, None, 60).ok(),
            Some(("0000-01-01T00:00:00Z".into(), "9999-12-31T23:59:59Z".into()))
        );
    }

    #[test]
    fn since_takes_a_span_back_from_now() {
        for (text, minutes) in [
            ("90s", 2),
            ("15m", 15),
            ("15", 15),
            ("2h", 120),
            ("1d", 1440),
        ] {
            assert_eq!(minutes_ago(text).ok(), Some(minutes), "{text}");
        }
        for bad in ["", "m", "0m", "31d", "5w", "-5m", "1.5h"] {
            assert!(minutes_ago(bad).is_err(), "{bad}");
        }
        let now = chrono::DateTime::from_timestamp(1_796_018_160, 0).expect("time");
        assert_eq!(
            since("2h", now).ok().as_deref(),
            Some("2026-11-30T03:56:00Z")
        );
        assert!(since("5w", now).is_err());
    }
}
