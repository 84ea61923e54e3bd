//! Reception content (owner of `speakers`, `agenda_sessions`,
//! `agenda_session_speakers` and `sponsors`): the agenda (sessions with times,
//! stage and speakers), speakers with bios and photos, and sponsors. Organisers
//! edit it; attendees see it with times in their own time zone.

use chrono::{DateTime, Utc};
use protocol::ids::{AgendaSessionId, EventId, SpeakerId, SponsorId, StageId};
use protocol::states::SponsorTier;
use sqlx::PgPool;
use tracing::instrument;
use uuid::Uuid;

use super::stages;
use crate::accounts::Organiser;
use crate::domain::parse_name;
use crate::error::{is_unique_violation, parse_state};
use crate::events;
use crate::time::{parse_local, parse_tz};
use crate::{Error, Result};

/// A speaker.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Speaker {
    /// Id.
    pub id: SpeakerId,
    /// Name.
    pub name: String,
    /// One line, e.g. "CTO at Example".
    pub headline: String,
    /// Plain-text bio.
    pub bio: String,
    /// Photo URL (https) or empty.
    pub photo_url: String,
}

/// A session of the agenda.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    /// Id.
    pub id: AgendaSessionId,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// Stage it runs on.
    pub stage_id: Option<StageId>,
    /// Stage name.
    pub stage_name: Option<String>,
    /// Speaker names.
    pub speakers: Vec<String>,
}

/// A sponsor.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Sponsor {
    /// Id.
    pub id: SponsorId,
    /// Name.
    pub name: String,
    /// Its tier.
    pub tier: SponsorTier,
    /// Website.
    pub url: String,
    /// Logo URL.
    pub logo_url: String,
}

/// An optional https URL (empty allowed).
pub fn parse_url(field: &str, raw: &str) -> Result<String> {
    let url = raw.trim();
    if url.is_empty() {
        return Ok(String::new());
    }
    if !url.starts_with("https://")
        || url.len() > 1000
        || url.contains(char::is_whitespace)
        || url.contains(['"', '<', '>'])
    {
        return Err(Error::invalid(format!("{field} must be an https:// URL")));
    }
    Ok(url.to_owned())
}

fn text(field: &str, raw: &str, max: usize) -> Result<String> {
    let t = raw.trim();
    if t.chars().count() > max {
        return Err(Error::invalid(format!(
            "{field} is longer than {max} characters"
        )));
    }
    Ok(t.chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .collect())
}

/// A speaker as the organiser types them.
#[derive(Debug, Clone, Copy)]
pub struct SpeakerInput<'a> {
    /// Name (unique in the event).
    pub name: &'a str,
    /// One line, e.g. "CTO at Example".
    pub headline: &'a str,
    /// Plain-text bio.
    pub bio: &'a str,
    /// Photo URL (https) or empty.
    pub photo_url: &'a str,
}

/// Adds a speaker to one of the organiser's events.
#[instrument(skip(pool, by, s), fields(org = %by.org_id))]
pub async fn add_speaker(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    s: SpeakerInput<'_>,
) -> Result<Speaker> {
    save_speaker(pool, by, slug, None, s).await
}

/// Changes a speaker of one of the organiser's events (their sessions keep them).
#[instrument(skip(pool, by, s), fields(org = %by.org_id))]
pub async fn update_speaker(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    id: SpeakerId,
    s: SpeakerInput<'_>,
) -> Result<Speaker> {
    save_speaker(pool, by, slug, Some(id), s).await
}

async fn save_speaker(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    id: Option<SpeakerId>,
    s: SpeakerInput<'_>,
) -> Result<Speaker> {
    let event = events::get_for_org(pool, by, slug).await?;
    let name = parse_name("speaker name", s.name, 100)?;
    let sql = match id {
        None => {
            "INSERT INTO speakers (id, event_id, name, headline, bio, photo_url) VALUES ($1, $2, $3, $4, $5, $6)
             RETURNING id, name, headline, bio, photo_url"
        }
        Some(_) => {
            "UPDATE speakers SET name = $3, headline = $4, bio = $5, photo_url = $6
             WHERE id = $1 AND event_id = $2 RETURNING id, name, headline, bio, photo_url"
        }
    };
    sqlx::query_as(sql)
        .bind(id.unwrap_or_default())
        .bind(event.id)
        .bind(&name)
        .bind(text("headline", s.headline, 200)?)
        .bind(text("bio", s.bio, 4000)?)
        .bind(parse_url("photo", s.photo_url)?)
        .fetch_optional(pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e, "speakers_event_name_key") {
                Error::Conflict(format!("{name} is already a speaker"))
            } else {
                e.into()
            }
        })?
        .ok_or_else(|| Error::not_found("no such speaker"))
}

/// Input for a new agenda session.
#[derive(Debug)]
pub struct NewSession<'a> {
    /// Title.
    pub title: &'a str,
    /// Description.
    pub description: &'a str,
    /// Local start in the event's zone (`datetime-local`).
    pub starts_local: &'a str,
    /// Local end.
    pub ends_local: &'a str,
    /// Stage (optional).
    pub stage: Option<StageId>,
    /// Speaker names, comma-separated (each must exist).
    pub speakers: &'a str,
}

/// Adds a session to the agenda of one of the organiser's events.
#[instrument(skip(pool, by, s), fields(org = %by.org_id))]
pub async fn add_session(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    s: NewSession<'_>,
) -> Result<AgendaSessionId> {
    save_session(pool, by, slug, None, s).await
}

/// Changes a session of the agenda of one of the organiser's events.
#[instrument(skip(pool, by, s), fields(org = %by.org_id))]
pub async fn update_session(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    id: AgendaSessionId,
    s: NewSession<'_>,
) -> Result<AgendaSessionId> {
    save_session(pool, by, slug, Some(id), s).await
}

async fn save_session(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    existing: Option<AgendaSessionId>,
    s: NewSession<'_>,
) -> Result<AgendaSessionId> {
    let event = events::get_for_org(pool, by, slug).await?;
    let tz = parse_tz(&event.time_zone)?;
    let title = parse_name("title", s.title, 200)?;
    let starts = parse_local("start", s.starts_local, tz)?;
    let ends = parse_local("end", s.ends_local, tz)?;
    if ends <= starts {
        return Err(Error::invalid("a session must end after it starts"));
    }
    if let Some(stage) = s.stage {
        stages::get(pool, event.id, stage).await?;
    }
    let names: Vec<String> = s
        .speakers
        .split(',')
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .collect();
    let speaker_ids: Vec<SpeakerId> =
        sqlx::query_scalar("SELECT id FROM speakers WHERE event_id = $1 AND name = ANY($2)")
            .bind(event.id)
            .bind(&names)
            .fetch_all(pool)
            .await?;
    if speaker_ids.len() != names.len() {
        return Err(Error::invalid(
            "every speaker must be added as a speaker first",
        ));
    }
    let description = text("description", s.description, 4000)?;
    let mut tx = pool.begin().await?;
    let id = match existing {
        None => {
            let id = AgendaSessionId::new();
            sqlx::query(
                "INSERT INTO agenda_sessions (id, event_id, title, description, starts_at, ends_at, stage_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(event.id)
            .bind(&title)
            .bind(&description)
            .bind(starts)
            .bind(ends)
            .bind(s.stage)
            .execute(&mut *tx)
            .await?;
            id
        }
        Some(id) => {
            let done = sqlx::query(
                "UPDATE agenda_sessions SET title = $3, description = $4, starts_at = $5, ends_at = $6, stage_id = $7
                 WHERE id = $1 AND event_id = $2",
            )
            .bind(id)
            .bind(event.id)
            .bind(&title)
            .bind(&description)
            .bind(starts)
            .bind(ends)
            .bind(s.stage)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(Error::not_found("no such session"));
            }
            sqlx::query("DELETE FROM agenda_session_speakers WHERE session_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            id
        }
    };
    sqlx::query("INSERT INTO agenda_session_speakers (session_id, speaker_id) SELECT $1, unnest($2::uuid[])")
        .bind(id)
        .bind(&speaker_ids)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// A sponsor as the organiser types it.
#[derive(Debug, Clone, Copy)]
pub struct SponsorInput<'a> {
    /// Name.
    pub name: &'a str,
    /// Tier: gold, silver, bronze or partner.
    pub tier: &'a str,
    /// Website (https) or empty.
    pub url: &'a str,
    /// Logo URL (https) or empty.
    pub logo_url: &'a str,
}

/// Adds a sponsor to one of the organiser's events.
#[instrument(skip(pool, by, s), fields(org = %by.org_id))]
pub async fn add_sponsor(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    s: SponsorInput<'_>,
) -> Result<Sponsor> {
    save_sponsor(pool, by, slug, None, s).await
}

/// Changes a sponsor of one of the organiser's events.
#[instrument(skip(pool, by, s), fields(org = %by.org_id))]
pub async fn update_sponsor(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    id: SponsorId,
    s: SponsorInput<'_>,
) -> Result<Sponsor> {
    save_sponsor(pool, by, slug, Some(id), s).await
}

async fn save_sponsor(
    pool: &PgPool,
    by: &Organiser,
    slug: &str,
    id: Option<SponsorId>,
    s: SponsorInput<'_>,
) -> Result<Sponsor> {
    let event = events::get_for_org(pool, by, slug).await?;
    let name = parse_name("sponsor name", s.name, 100)?;
    let tier: SponsorTier = parse_state(s.tier, "tier must be gold, silver, bronze or partner")?;
    let sql = match id {
        None => {
            "INSERT INTO sponsors (id, event_id, name, tier, url, logo_url) VALUES ($1, $2, $3, $4, $5, $6)
             RETURNING id, name, tier, url, logo_url"
        }
        Some(_) => {
            "UPDATE sponsors SET name = $3, tier = $4, url = $5, logo_url = $6
             WHERE id = $1 AND event_id = $2 RETURNING id, name, tier, url, logo_url"
        }
    };
    sqlx::query_as(sql)
        .bind(id.unwrap_or_default())
        .bind(event.id)
        .bind(&name)
        .bind(tier)
        .bind(parse_url("website", s.url)?)
        .bind(parse_url("logo", s.logo_url)?)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("no such sponsor"))
}

/// The event's agenda, by start time.
pub async fn sessions(pool: &PgPool, event: EventId) -> Result<Vec<Session>> {
    Ok(sqlx::query_as(
        "SELECT s.id, s.title, s.description, s.starts_at, s.ends_at, s.stage_id, st.name AS stage_name,
                coalesce(array_agg(sp.name ORDER BY sp.name) FILTER (WHERE sp.id IS NOT NULL), '{}') AS speakers
         FROM agenda_sessions s
         LEFT JOIN stages st ON st.id = s.stage_id
         LEFT JOIN agenda_session_speakers ss ON ss.session_id = s.id
         LEFT JOIN speakers sp ON sp.id = ss.speaker_id
         WHERE s.event_id = $1
         GROUP BY s.id, st.name
         ORDER BY s.starts_at, s.title",
    )
    .bind(event)
    .fetch_all(pool)
    .await?)
}

/// The event's speakers by name.
pub async fn speakers(pool: &PgPool, event: EventId) -> Result<Vec<Speaker>> {
    Ok(sqlx::query_as(
        "SELECT id, name, headline, bio, photo_url FROM speakers WHERE event_id = $1 ORDER BY lower(name)",
    )
    .bind(event)
    .fetch_all(pool)
    .await?)
}

/// The event's sponsors, biggest tier first.
pub async fn sponsors(pool: &PgPool, event: EventId) -> Result<Vec<Sponsor>> {
    Ok(sqlx::query_as(
        "SELECT id, name, tier, url, logo_url FROM sponsors WHERE event_id = $1
         ORDER BY array_position(ARRAY['gold', 'silver', 'bronze', 'partner'], tier), lower(name)",
    )
    .bind(event)
    .fetch_all(pool)
    .await?)
}

/// What of the Reception content an organiser removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// An agenda session.
    Session,
    /// A speaker.
    Speaker,
    /// A sponsor.
    Sponsor,
}

impl std::str::FromStr for Item {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "session" => Ok(Item::Session),
            "speaker" => Ok(Item::Speaker),
            "sponsor" => Ok(Item::Sponsor),
            _ => Err(Error::invalid("kind must be session, speaker or sponsor")),
        }
    }
}

/// Removes a session, speaker or sponsor from one of the organiser's events.
#[instrument(skip(pool, by), fields(org = %by.org_id))]
pub async fn remove(pool: &PgPool, by: &Organiser, slug: &str, item: Item, id: Uuid) -> Result<()> {
    let event = events::get_for_org(pool, by, slug).await?;
    let (table, kind) = match item {
        Item::Session => ("agenda_sessions", "session"),
        Item::Speaker => ("speakers", "speaker"),
        Item::Sponsor => ("sponsors", "sponsor"),
    };
    let done = sqlx::query(&format!(
        "DELETE FROM {table} WHERE id = $1 AND event_id = $2"
    ))
    .bind(id)
    .bind(event.id)
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found(format!("no such {kind}")));
    }
    Ok(())
}

/// Which sessions are happening at `now` and which come next (the earliest to start).
pub fn now_and_next(
    sessions: &[Session],
    now: DateTime<Utc>,
) -> (Vec<AgendaSessionId>, Vec<AgendaSessionId>) {
    let happening = sessions
        .iter()
        .filter(|s| s.starts_at <= now && now < s.ends_at)
        .map(|s| s.id)
        .collect();
    let next_start = sessions
        .iter()
        .filter(|s| s.starts_at > now)
        .map(|s| s.starts_at)
        .min();
    let next = sessions
        .iter()
        .filter(|s| Some(s.starts_at) == next_start)
        .map(|s| s.id)
        .collect();
    (happening, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn session(start_min: i64, end_min: i64, now: DateTime<Utc>) -> Session {
        Session {
            id: AgendaSessionId::new(),
            title: "t".into(),
            description: String::new(),
            starts_at: now + Duration::minutes(start_min),
            ends_at: now + Duration::minutes(end_min),
            stage_id: None,
            stage_name: None,
            speakers: vec![],
        }
    }

    #[test]
    fn happening_now_and_up_next() {
        let now = Utc::now();
        let s = vec![
            session(-30, 30, now),
            session(60, 90, now),
            session(60, 120, now),
            session(180, 200, now),
            session(-90, -60, now),
        ];
        let (happening, next) = now_and_next(&s, now);
        assert_eq!(happening, vec![s[0].id]);
        assert_eq!(next, vec![s[1].id, s[2].id]);
    }

    #[test]
    fn urls_must_be_https() {
        assert_eq!(parse_url("photo", "").unwrap(), "");
        assert!(parse_url("photo", "javascript:alert(1)").is_err());
        assert!(parse_url("photo", "http://x").is_err());
        assert!(parse_url("photo", "https://x/\"onerror=").is_err());
        assert!(parse_url("photo", "https://cdn.example.org/a.jpg").is_ok());
    }
}
