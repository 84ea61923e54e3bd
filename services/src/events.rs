//! Events (owner of `events`): an organisation's events, looked up by the
//! organisation (another organisation's event is "not found") or publicly by
//! slug, and the sites allowed to embed an event's registration widget.

use chrono::{DateTime, Utc};
use protocol::ids::{EventId, OrgId};
use sqlx::{PgConnection, PgPool};
use tracing::instrument;

use crate::accounts::Organiser;
use crate::domain::{parse_accent, parse_image_url, parse_name, Slug};
use crate::error::is_unique_violation;
use crate::time::{parse_local, parse_tz};
use crate::{Error, Result};

/// A stored event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Event {
    /// Event id.
    pub id: EventId,
    /// Owning organisation.
    pub org_id: OrgId,
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
    /// Its own look.
    #[sqlx(flatten)]
    pub branding: Branding,
}

/// An event's own look on its landing page, Reception and widget.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Branding {
    /// Logo address (`https://…` or a path on this site), or empty.
    pub logo_url: String,
    /// Cover image address, or empty.
    pub cover_url: String,
    /// Accent colour `#rrggbb`, or empty for the platform's.
    pub accent: String,
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

const COLUMNS: &str = "id, org_id, slug, name, description, starts_at, ends_at, time_zone, \
                       logo_url, cover_url, accent";

/// Checks the form: name, slug, description, times in the zone.
pub fn parse(org_id: OrgId, input: &NewEvent<'_>) -> Result<Event> {
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
    Ok(Event {
        id: EventId::new(),
        org_id,
        slug: slug.as_str().to_owned(),
        name,
        description: description.to_owned(),
        starts_at,
        ends_at,
        time_zone: tz.name().to_owned(),
        branding: Branding::default(),
    })
}

fn taken(slug: &str) -> Error {
    Error::Conflict(format!("the address /e/{slug} is already taken"))
}

/// Fails with `Conflict` when the slug is taken (checked before plan limits,
/// so the organiser hears the more useful answer; the unique index decides races).
pub async fn check_slug_free(conn: &mut PgConnection, slug: &str) -> Result<()> {
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM events WHERE slug = $1)")
        .bind(slug)
        .fetch_one(conn)
        .await?;
    if exists {
        Err(taken(slug))
    } else {
        Ok(())
    }
}

/// Stores a parsed event (inside the creating transaction).
pub async fn insert(conn: &mut PgConnection, event: &Event) -> Result<()> {
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
    .execute(conn)
    .await
    .map_err(|e| {
        if is_unique_violation(&e, "events_slug_key") {
            taken(&event.slug)
        } else {
            e.into()
        }
    })?;
    Ok(())
}

/// Changes one of the organiser's events: name, description, times and time
/// zone (`input.slug` is ignored: the address stays, as links to it are out).
#[instrument(skip(pool, by, input), fields(org = %by.org_id))]
pub async fn update(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    input: &NewEvent<'_>,
) -> Result<Event> {
    let current = get_for_org(pool, by, slug).await?;
    let checked = parse(
        current.org_id,
        &NewEvent {
            slug: &current.slug,
            ..*input
        },
    )?;
    Ok(sqlx::query_as(&format!(
        "UPDATE events SET name = $2, description = $3, starts_at = $4, ends_at = $5, time_zone = $6
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(current.id)
    .bind(&checked.name)
    .bind(&checked.description)
    .bind(checked.starts_at)
    .bind(checked.ends_at)
    .bind(&checked.time_zone)
    .fetch_one(pool)
    .await?)
}

/// Sets the look of one of the organiser's events (each part may be empty).
#[instrument(skip(pool, by, logo_url, cover_url), fields(org = %by.org_id))]
pub async fn set_branding(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    logo_url: &str,
    cover_url: &str,
    accent: &str,
) -> Result<Branding> {
    let event = get_for_org(pool, by, slug).await?;
    let branding = Branding {
        logo_url: parse_image_url("logo", logo_url)?,
        cover_url: parse_image_url("cover image", cover_url)?,
        accent: parse_accent(accent)?,
    };
    sqlx::query("UPDATE events SET logo_url = $2, cover_url = $3, accent = $4 WHERE id = $1")
        .bind(event.id)
        .bind(&branding.logo_url)
        .bind(&branding.cover_url)
        .bind(&branding.accent)
        .execute(pool)
        .await?;
    Ok(branding)
}

/// How many events the organisation has.
pub async fn count_for_org(conn: &mut PgConnection, org_id: OrgId) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM events WHERE org_id = $1")
            .bind(org_id)
            .fetch_one(conn)
            .await?,
    )
}

/// The organisation's events, soonest first.
pub async fn list_for_org(pool: &PgPool, org_id: OrgId) -> Result<Vec<Event>> {
    Ok(sqlx::query_as::<_, Event>(&format!(
        "SELECT {COLUMNS} FROM events WHERE org_id = $1 ORDER BY starts_at, name"
    ))
    .bind(org_id)
    .fetch_all(pool)
    .await?)
}

/// An event of the organiser's organisation; another organisation's event is `NotFound`.
#[instrument(skip(pool, by), fields(org = %by.org_id))]
pub async fn get_for_org(pool: &PgPool, by: &Organiser, slug: &str) -> Result<Event> {
    sqlx::query_as::<_, Event>(&format!(
        "SELECT {COLUMNS} FROM events WHERE org_id = $1 AND slug = $2"
    ))
    .bind(by.org_id)
    .bind(slug)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::not_found("no such event"))
}

/// A public event by slug (landing page, registration).
pub async fn get_public(pool: &PgPool, slug: &str) -> Result<Event> {
    sqlx::query_as::<_, Event>(&format!("SELECT {COLUMNS} FROM events WHERE slug = $1"))
        .bind(slug.trim().to_lowercase())
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("no such event"))
}

/// An event by id.
pub async fn get<'e>(db: impl sqlx::PgExecutor<'e>, id: EventId) -> Result<Event> {
    sqlx::query_as::<_, Event>(&format!("SELECT {COLUMNS} FROM events WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or_else(|| Error::not_found("no such event"))
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
#[instrument(skip(pool, by, raw))]
pub async fn set_embed_origins(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    raw: &str,
) -> Result<Vec<String>> {
    let event = get_for_org(pool, by, slug).await?;
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
mod tests {
    use super::*;

    #[test]
    fn events_are_checked_before_they_are_stored() {
        let form = |starts, ends, tz| NewEvent {
            name: "Conf",
            slug: "conf-2027",
            description: "",
            starts_local: starts,
            ends_local: ends,
            time_zone: tz,
        };
        let org = OrgId::new();
        let e = parse(
            org,
            &form("2027-05-01T09:00", "2027-05-02T17:00", "Europe/Berlin"),
        )
        .unwrap();
        assert_eq!(e.starts_at.to_rfc3339(), "2027-05-01T07:00:00+00:00");
        assert!(parse(
            org,
            &form("2027-05-02T09:00", "2027-05-01T17:00", "Europe/Berlin")
        )
        .is_err());
        assert!(parse(
            org,
            &form("2027-05-01T09:00", "2027-05-02T17:00", "Nowhere/Land")
        )
        .is_err());
    }

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
