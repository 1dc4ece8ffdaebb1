//! The one RFC 3339 form of the workspace: certificates' validity, outcomes and messages are
//! written with [`format_timestamp`], times read back with [`parse_timestamp`].

use ::time::OffsetDateTime;
use ::time::format_description::well_known::Rfc3339;

/// Formats a Unix timestamp as RFC 3339 in UTC (`2034-01-01T00:00:00Z`); a time beyond what
/// RFC 3339 can write (past year 9999) as `@` and its seconds.
pub fn format_timestamp(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("@{unix}"))
}

/// Reads an RFC 3339 time (`2034-01-01T00:00:00Z`, any offset) as Unix seconds.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_names_what_it_cannot_write() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse_timestamp("2034-01-01T00:00:00Z"), Some(2_019_686_400));
        assert_eq!(
            parse_timestamp("2034-01-01T01:00:00+01:00"),
            Some(2_019_686_400)
        );
        assert_eq!(
            parse_timestamp(&format_timestamp(1_700_000_000)),
            Some(1_700_000_000)
        );
        assert_eq!(format_timestamp(i64::MAX), format!("@{}", i64::MAX));
        assert_eq!(parse_timestamp("yesterday"), None);
    }
}
