//! What a program around the library provides it: the clock, `SOURCE_DATE_EPOCH`, times as
//! users type them, and removing temporaries on a signal. The library itself never reads the
//! clock or the environment: callers pass what these return.

use crate::error::Error;

/// `SOURCE_DATE_EPOCH` from the environment, when set to a number (for callers that honour it:
/// the library never reads the environment itself).
pub fn source_date_epoch() -> Option<i64> {
    std::env::var("SOURCE_DATE_EPOCH").ok()?.trim().parse().ok()
}

/// A time as `verify --at` takes it: RFC 3339 (`2027-01-01T00:00:00Z`), a date
/// (`2027-01-01`, midnight UTC) or Unix seconds.
pub fn parse_time(text: &str) -> Result<i64, Error> {
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(secs);
    }
    if let Some(t) = trustbake_certs::parse_timestamp(text) {
        return Ok(t);
    }
    let date = time::Date::parse(text, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| Error::BadArgument {
            what: "--at".into(),
            reason: format!(
                "'{text}' is not a time (RFC 3339 like 2027-01-01T00:00:00Z, a date 2027-01-01, or Unix seconds)"
            ),
        })?;
    Ok(date.midnight().assume_utc().unix_timestamp())
}

/// The current time, Unix seconds (for callers: the library never reads the clock itself).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Removes every temporary a bake or an apply in this process is staging: for a signal handler,
/// which runs no destructors (the command line installs one for SIGINT, SIGTERM and SIGHUP).
pub fn remove_temporaries() {
    trustbake_image::cleanup::remove_pending();
}
