//! Events owned by organisations.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use sqlx::PgPool;
use uuid::Uuid;

use crate::accounts::Organiser;
use crate::domain::{parse_name, Slug};
use crate::error::is_unique_violation;
use crate::{Error, Result};

/// A stored event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Event {
    /// Event id.
    pub id: Uuid,
    /// Owning organisation.
    pub org_id: Uuid,
    /// Unique URL slug (`/e/{slug}`).
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Plain-text description.
    pub description: String,
    /// Start instant.
    pub starts_at: DateTime<Utc>,
    /// End instant (after the start).
    pub ends_at: DateTime<Utc>,
    /// IANA time zone the event is held in.
    pub time_zone: String,
}

/// Event input as typed in the form: local date-times in the event's time zone.
#[derive(Debug)]
pub struct NewEvent<'a> {
    /// Display name.
    pub name: &'a str,
    /// Wanted slug.
    pub slug: &'a str,
    /// Plain-text description (may be empty).
    pub description: &'a str,
    /// Local start, `YYYY-MM-DDTHH:MM` (HTML `datetime-local`).
    pub starts_local: &'a str,
    /// Local end, same format.
    pub ends_local: &'a str,
    /// IANA zone name, e.g. `Europe/Berlin`.
    pub time_zone: &'a str,
}

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

/// Parses an IANA time zone name.
pub fn parse_tz(raw: &str) -> Result<Tz> {
    raw.trim()
        .parse::<Tz>()
        .map_err(|_| Error::invalid(format!("'{}' is not a known time zone", raw.trim())))
}

/// Creates an event in the organiser's organisation, with one free ticket type.
pub async fn create(pool: &PgPool, by: &Organiser, input: NewEvent<'_>) -> Result<Event> {
    let name = parse_name("name", input.name, 200)?;
    let slug = Slug::parse(input.slug)?;
    let description = input.description.trim();
    if description.chars().count() > 10_000 {
        return Err(Error::invalid(
            "description must be at most 10000 characters",
        ));
    }
    let tz = parse_tz(input.time_zone)?;
    let starts_at = parse_local("start", input.starts_local, tz)?;
    let ends_at = parse_local("end", input.ends_local, tz)?;
    if ends_at <= starts_at {
        return Err(Error::invalid("the event must end after it starts"));
    }
    let event = Event {
        id: Uuid::new_v4(),
        org_id: by.org_id,
        slug: slug.as_str().to_owned(),
        name,
        description: description.to_owned(),
        starts_at,
        ends_at,
        time_zone: tz.name().to_owned(),
    };
    let mut tx = pool.begin().await?;
    // A taken address is reported before plan limits (the unique index still decides races).
    let taken: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM events WHERE slug = $1)")
        .bind(&event.slug)
        .fetch_one(&mut *tx)
        .await?;
    if taken {
        return Err(Error::Conflict(format!(
            "the address /e/{} is already taken",
            event.slug
        )));
    }
    crate::billing::check_event_limit(&mut tx, by.org_id).await?;
    sqlx::query(
        "INSERT INTO events (id, org_id, slug, name, description, starts_at, ends_at, time_zone)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(event.id)
    .bind(event.org_id)
    .bind(&event.slug)
    .bind(&event.name)
    .bind(&event.description)
    .bind(event.starts_at)
    .bind(event.ends_at)
    .bind(&event.time_zone)
    .execute(&mut *tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e, "events_slug_key") {
            Error::Conflict(format!("the address /e/{} is already taken", event.slug))
        } else {
            e.into()
        }
    })?;
    sqlx::query(
        "INSERT INTO ticket_types (id, event_id, name) VALUES ($1, $2, 'General admission')",
    )
    .bind(Uuid::new_v4())
    .bind(event.id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(event = %event.id, org = %event.org_id, "event created");
    Ok(event)
}

/// The organiser's organisation's events, soonest first.
pub async fn list_for_org(pool: &PgPool, org_id: Uuid) -> Result<Vec<Event>> {
    Ok(sqlx::query_as::<_, Event>(
        "SELECT id, org_id, slug, name, description, starts_at, ends_at, time_zone
         FROM events WHERE org_id = $1 ORDER BY starts_at, name",
    )
    .bind(org_id)
    .fetch_all(pool)
    .await?)
}

/// An event of the organiser's organisation; another organisation's event is `NotFound`.
pub async fn get_for_org(pool: &PgPool, org_id: Uuid, slug: &str) -> Result<Event> {
    sqlx::query_as::<_, Event>(
        "SELECT id, org_id, slug, name, description, starts_at, ends_at, time_zone
         FROM events WHERE org_id = $1 AND slug = $2",
    )
    .bind(org_id)
    .bind(slug)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::not_found("no such event"))
}

/// A public event by slug (landing page, registration).
pub async fn get_public(pool: &PgPool, slug: &str) -> Result<Event> {
    sqlx::query_as::<_, Event>(
        "SELECT id, org_id, slug, name, description, starts_at, ends_at, time_zone
         FROM events WHERE slug = $1",
    )
    .bind(slug.trim().to_lowercase())
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::not_found("no such event"))
}

/// Formats an instant in the event's zone, e.g. `2026-05-01 09:00 CEST`.
pub fn local_time(at: DateTime<Utc>, tz_name: &str) -> String {
    match tz_name.parse::<Tz>() {
        Ok(tz) => at
            .with_timezone(&tz)
            .format("%a %e %b %Y, %H:%M %Z")
            .to_string(),
        Err(_) => at.format("%a %e %b %Y, %H:%M UTC").to_string(),
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
        assert!(parse_tz("Mars/Olympus").is_err());
        assert!(parse_local("start", "tomorrow", tz).is_err());
        // 02:30 does not exist on the spring-forward night in Berlin.
        assert!(parse_local("start", "2026-03-29T02:30", tz).is_err());
    }
}

/// Parses one embedding site: `https://host[:port]`, no path.
pub fn parse_origin(raw: &str) -> Result<String> {
    let s = raw.trim().trim_end_matches('/').to_lowercase();
    let bad = || {
        Error::invalid(format!(
            "'{}' is not a site address like https://example.org",
            raw.trim()
        ))
    };
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(bad)?;
    let (host, port) = rest.split_once(':').unwrap_or((rest, ""));
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    let port_ok = port.is_empty() || port.parse::<u16>().is_ok();
    if !host_ok || !port_ok {
        return Err(bad());
    }
    Ok(s)
}

/// Replaces the sites allowed to embed the event's widget (one per line or comma).
pub async fn set_embed_origins(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    raw: &str,
) -> Result<Vec<String>> {
    let event = get_for_org(pool, by.org_id, slug).await?;
    let mut origins = Vec::new();
    for part in raw
        .split(['\n', ','])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let o = parse_origin(part)?;
        if !origins.contains(&o) {
            origins.push(o);
        }
    }
    if origins.len() > 20 {
        return Err(Error::invalid("at most 20 sites may embed the widget"));
    }
    sqlx::query("UPDATE events SET embed_origins = $2 WHERE id = $1")
        .bind(event.id)
        .bind(&origins)
        .execute(pool)
        .await?;
    Ok(origins)
}

/// The sites allowed to embed the widget of the event `slug` (empty if unknown).
pub async fn embed_origins(pool: &PgPool, slug: &str) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT embed_origins FROM events WHERE slug = $1")
            .bind(slug.trim().to_lowercase())
            .fetch_optional(pool)
            .await?
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod origin_tests {
    use super::parse_origin;

    #[test]
    fn origins() {
        assert_eq!(
            parse_origin(" https://Shop.Example.org/ ").unwrap(),
            "https://shop.example.org"
        );
        assert_eq!(
            parse_origin("http://localhost:8080").unwrap(),
            "http://localhost:8080"
        );
        for bad in [
            "example.org",
            "https://",
            "https://a b",
            "https://x.org/path",
            "javascript:alert(1)",
            "https://x.org:99999",
            "https://x.org; script-src *",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }
}
