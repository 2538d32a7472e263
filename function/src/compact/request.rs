//! Pure: which hours an invocation compacts. A scheduled EventBridge event compacts every
//! closed hour the mapping could still deliver into; an operator names hours explicitly.

use chrono::{DateTime, NaiveDateTime};
use serde::Deserialize;

use crate::Error;
use crate::extract::parse_time;

const HOUR_MS: i64 = 3_600_000;

/// What the compactor is invoked with.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Request {
    /// `{"hours": ["2026-12-06T22", …]}`: exactly these hours (UTC), closed or not.
    Hours { hours: Vec<String> },
    /// EventBridge's scheduled event (`"detail-type": "Scheduled Event"`): its `time` is now.
    Scheduled { time: String },
}

/// Reads `2026-12-06T22` (an hour, UTC) as the epoch ms it starts at.
pub fn parse_hour(text: &str) -> Option<i64> {
    let t = NaiveDateTime::parse_from_str(&format!("{text}:00:00"), "%Y-%m-%dT%H:%M:%S").ok()?;
    Some(t.and_utc().timestamp_millis())
}

/// The hour an epoch ms falls in, as [`parse_hour`] reads it.
pub fn hour_label(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H")
        .to_string()
}

/// Hour starts (epoch ms, ascending) closed `delay_minutes` before `now_ms` and ending at
/// most `lookback_hours` before it.
pub fn closed_hours(now_ms: i64, lookback_hours: u32, delay_minutes: u32) -> Vec<i64> {
    let newest_end = now_ms - i64::from(delay_minutes) * 60_000;
    let newest = newest_end.div_euclid(HOUR_MS) * HOUR_MS - HOUR_MS;
    let oldest = (now_ms - i64::from(lookback_hours) * HOUR_MS).div_euclid(HOUR_MS) * HOUR_MS;
    (0..)
        .map(|i| oldest + i * HOUR_MS)
        .take_while(|h| *h <= newest)
        .collect()
}

/// The event EventBridge sends a scheduled rule's Lambda target (the local schedule and
/// `compact` send the same).
pub fn scheduled_event(rule_arn: &str, now_ms: i64) -> serde_json::Value {
    let (account, region) = {
        let parts: Vec<&str> = rule_arn.split(':').collect();
        (
            parts.get(4).copied().unwrap_or_default().to_owned(),
            parts.get(3).copied().unwrap_or_default().to_owned(),
        )
    };
    let time = DateTime::from_timestamp_millis(now_ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    serde_json::json!({
        "version": "0",
        "id": format!("local-{now_ms}"),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": time,
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    })
}

impl Request {
    /// The hour starts this request covers.
    pub fn hours(&self, lookback_hours: u32, delay_minutes: u32) -> Result<Vec<i64>, Error> {
        match self {
            Request::Hours { hours } => hours
                .iter()
                .map(|h| {
                    parse_hour(h).ok_or_else(|| {
                        Error::Event(format!("hour {h:?} is not YYYY-MM-DDTHH (UTC)"))
                    })
                })
                .collect(),
            Request::Scheduled { time } => parse_time(time)
                .map(|now| closed_hours(now, lookback_hours, delay_minutes))
                .ok_or_else(|| Error::Event(format!("time {time:?} is not an RFC 3339 time"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hour_closes_after_its_delay_and_stays_until_the_lookback() {
        let at = |s: &str| parse_time(s).expect("time");
        // 23:15 with a 10-minute delay: 22:00-23:00 closed at 23:10.
        let hours = closed_hours(at("2026-12-06T23:15:00Z"), 26, 10);
        assert_eq!(
            hours.last().map(|h| hour_label(*h)),
            Some("2026-12-06T22".into())
        );
        assert_eq!(
            hours.first().map(|h| hour_label(*h)),
            Some("2026-12-05T21".into())
        );
        assert_eq!(hours.len(), 26);
        // 23:05: 22:00 is not closed yet.
        let hours = closed_hours(at("2026-12-06T23:05:00Z"), 26, 10);
        assert_eq!(
            hours.last().map(|h| hour_label(*h)),
            Some("2026-12-06T21".into())
        );
    }

    #[test]
    fn requests_read_as_eventbridge_and_operators_write_them() {
        let scheduled: Request = serde_json::from_str(
            r#"{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
                "detail-type":"Scheduled Event","source":"aws.events",
                "account":"123456789012","time":"2026-12-06T23:15:00Z","region":"us-east-1",
                "resources":["arn:aws:events:us-east-1:123456789012:rule/compact"],
                "detail":{}}"#,
        )
        .expect("a scheduled event");
        assert_eq!(scheduled.hours(26, 10).expect("hours").len(), 26);
        let named: Request =
            serde_json::from_str(r#"{"hours":["2026-12-06T22"]}"#).expect("named hours");
        let hours = named.hours(26, 10).expect("hours");
        assert_eq!(
            hours.iter().map(|h| hour_label(*h)).collect::<Vec<_>>(),
            ["2026-12-06T22"]
        );
        let ours: Request = serde_json::from_value(scheduled_event(
            "arn:aws:events:us-east-1:123456789012:rule/compact",
            parse_time("2026-12-06T23:15:00Z").expect("time"),
        ))
        .expect("the event the local schedule sends");
        assert_eq!(ours, scheduled);
        let bad: Request = serde_json::from_str(r#"{"hours":["yesterday"]}"#).expect("json");
        assert!(matches!(bad.hours(26, 10), Err(Error::Event(_))));
    }
}
