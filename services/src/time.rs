//! Times as organisers type them (local to the event's IANA zone) and as
//! pages show them.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::{Error, Result};

/// Parses a `datetime-local` value in `tz` into an instant.
pub fn parse_local(field: &str, raw: &str, tz: Tz) -> Result<DateTime<Utc>> {
    let raw = raw.trim();
    let naive = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| Error::invalid(format!("{field} must look like 2026-05-01T09:00")))?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|d| d.with_timezone(&Utc))
        .ok_or_else(|| Error::invalid(format!("{field} does not exist in {tz} (clock change)")))
}

/// Parses an optional `datetime-local` value (empty: none) in the zone named `tz`.
pub fn parse_local_opt(field: &str, raw: Option<&str>, tz: &str) -> Result<Option<DateTime<Utc>>> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(raw) => Ok(Some(parse_local(field, raw, parse_tz(tz)?)?)),
    }
}

/// Parses an IANA time zone name.
pub fn parse_tz(raw: &str) -> Result<Tz> {
    raw.trim()
        .parse::<Tz>()
        .map_err(|_| Error::invalid(format!("'{}' is not a known time zone", raw.trim())))
}

/// Formats an instant in the event's zone, e.g. `Fri  1 May 2026, 09:00 CEST`.
pub fn local_time(at: DateTime<Utc>, tz_name: &str) -> String {
    match tz_name.parse::<Tz>() {
        Ok(tz) => at
            .with_timezone(&tz)
            .format("%a %e %b %Y, %H:%M %Z")
            .to_string(),
        Err(_) => at.format("%a %e %b %Y, %H:%M UTC").to_string(),
    }
}

/// An instant as a `datetime-local` form value in the event's zone
/// (`2026-07-01T09:00`), the inverse of [`parse_local`].
pub fn local_input(at: DateTime<Utc>, tz_name: &str) -> String {
    match tz_name.parse::<Tz>() {
        Ok(tz) => at.with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string(),
        Err(_) => at.format("%Y-%m-%dT%H:%M").to_string(),
    }
}

/// "from … until …" in the event's time zone (empty when unbounded).
pub fn window_words(from: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>, tz: &str) -> String {
    let at = |t| local_time(t, tz);
    match (from, until) {
        (None, None) => String::new(),
        (Some(f), None) => format!("from {}", at(f)),
        (None, Some(u)) => format!("until {}", at(u)),
        (Some(f), Some(u)) => format!("from {} until {}", at(f), at(u)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_follow_the_zone() {
        let tz = parse_tz("Europe/Berlin").unwrap();
        let at = parse_local("start", "2026-07-01T09:00", tz).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-07-01T07:00:00+00:00");
        assert!(local_time(at, "Europe/Berlin").contains("09:00 CEST"));
        assert_eq!(local_input(at, "Europe/Berlin"), "2026-07-01T09:00");
        assert!(parse_tz("Mars/Olympus").is_err());
        assert!(parse_local("start", "tomorrow", tz).is_err());
        // 02:30 does not exist on the spring-forward night in Berlin.
        assert!(parse_local("start", "2026-03-29T02:30", tz).is_err());
        assert_eq!(
            parse_local_opt("x", Some("  "), "Europe/Berlin").unwrap(),
            None
        );
        assert_eq!(window_words(None, None, "Europe/Berlin"), "");
        assert!(window_words(Some(at), None, "Europe/Berlin").starts_with("from "));
    }
}
