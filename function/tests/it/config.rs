//! Configuration: every problem in one error.

use function::{Config, Error};

#[test]
fn every_missing_or_invalid_variable_is_listed_at_once() {
    let err = Config::from_vars(|k| match k {
        "WINDOW_SECONDS" => Some("0".into()),
        "METRICS_TTL_DAYS" => Some("ninety".into()),
        _ => None,
    })
    .expect_err("invalid");
    let Error::Config(text) = err else {
        panic!("wrong error")
    };
    for name in [
        "ARCHIVE_BUCKET",
        "METRICS_TABLE",
        "WINDOW_SECONDS",
        "METRICS_TTL_DAYS",
    ] {
        assert!(text.contains(name), "{name} not reported in:\n{text}");
    }
}

#[test]
fn defaults_and_overrides() {
    let c = Config::from_vars(|k| match k {
        "ARCHIVE_BUCKET" => Some("b".into()),
        "METRICS_TABLE" => Some("t".into()),
        "ID_FIELDS" => Some("deviceId, userId".into()),
        "WINDOW_SECONDS" => Some("300".into()),
        _ => None,
    })
    .expect("valid");
    assert_eq!(c.window_secs, 300);
    assert_eq!(c.ttl_days, 90);
    assert_eq!(c.rules.id_fields, ["deviceId", "userId"]);
}
